//! Installing a [`Monitor`]: configuration in code, then the environment; the metrics
//! listener's address bound first, so that a taken port or an invalid setting fails start-up
//! before anything process-wide is installed; then the exporter, the Sentry client and the
//! listener's thread.

use std::borrow::Cow;
use std::sync::Arc;

use super::{InitError, Monitor};
use crate::admin::{self, ListenerLimits};
use crate::config::{AppSettings, ConfigBuilder, ConfigError};
use crate::health::HealthRegistry;
use crate::http::MonitorLayer;
use crate::metrics::exporter::{Exporter, ExporterBuilder};
use crate::sentry::client::{self, AdjustOptions, Filters, PrepareError};
use crate::service_info::{self, ServiceInfo};

/// Configures and installs a [`Monitor`]; [`Monitor::builder`] starts one.
///
/// ```
/// # fn main() -> Result<(), vk_monitor::InitError> {
/// let monitor = vk_monitor::Monitor::builder("voice-calls", env!("CARGO_PKG_VERSION"))
///     .config(|config| config.environment("staging").traces_sample_rate(0.25))
///     .exporter(|exporter| exporter.buckets_for("voice_call_duration_seconds", &[1.0, 60.0]))
///     .layer(|layer| layer.exclude("/internal/status"))
///     .ignore_error("ConnectionReset")
///     .install()?;
///
/// let exposition = monitor.exporter().expect("metrics are on by default").render();
/// assert!(exposition.contains(r#"environment="staging""#));
/// # Ok(()) }
/// ```
#[must_use = "nothing is installed until `install` is called"]
pub struct MonitorBuilder {
    name: &'static str,
    version: &'static str,
    config: ConfigBuilder,
    exporter: Box<dyn FnOnce(ExporterBuilder) -> ExporterBuilder>,
    layer: MonitorLayer,
    ignore_errors: Vec<String>,
    listener_limits: ListenerLimits,
    app_settings: Option<AppSettings>,
    sentry_options: Option<AdjustOptions>,
}

impl MonitorBuilder {
    pub(super) fn new(name: &'static str, version: &'static str) -> Self {
        MonitorBuilder {
            name,
            version,
            config: ConfigBuilder::default(),
            exporter: Box::new(|exporter| exporter),
            layer: MonitorLayer::new(),
            ignore_errors: Vec::new(),
            listener_limits: ListenerLimits::default(),
            app_settings: None,
            sentry_options: None,
        }
    }

    /// Sets configuration in code; it wins over the environment.
    pub fn config(mut self, configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Self {
        self.config = configure(self.config);
        self
    }

    /// Adjusts the exporter (buckets, service name...) before it is installed; calls add up,
    /// as for [`config`](Self::config).
    pub fn exporter(
        mut self,
        configure: impl FnOnce(ExporterBuilder) -> ExporterBuilder + 'static,
    ) -> Self {
        let previous = self.exporter;
        self.exporter = Box::new(move |exporter| configure(previous(exporter)));
        self
    }

    /// Adjusts the HTTP layer, for example to exclude more routes; Sentry leaves out the same
    /// routes.
    pub fn layer(mut self, configure: impl FnOnce(MonitorLayer) -> MonitorLayer) -> Self {
        self.layer = configure(self.layer);
        self
    }

    /// The limits of the metrics listener (`METRICS_ADDR`): header-read timeout, which is also
    /// its idle timeout, and connection cap. See [`ListenerLimits`].
    pub fn metrics_listener_limits(mut self, limits: ListenerLimits) -> Self {
        self.listener_limits = limits;
        self
    }

    /// Never sends errors whose type or message contains `pattern` to Sentry.
    pub fn ignore_error(mut self, pattern: impl Into<String>) -> Self {
        self.ignore_errors.push(pattern.into());
        self
    }

    /// Adjusts the Sentry client's options before it starts (with a DSN only): the error
    /// rate (`event_sampling_strategy`), `server_name`, `before_send`, `before_breadcrumb`,
    /// `in_app_include`, integrations, `max_breadcrumbs`, a transport of the application's
    /// own... Calls add up.
    ///
    /// The options arrive with what the configuration decided. The application's `before_send`
    /// runs after the crate's: events of excluded routes, rate-limit errors and ignored errors
    /// never reach it, nor do request details the allow-list keeps out of Sentry; it sees each
    /// event as it would be sent, and can change or drop it. The fields the configuration owns,
    /// `dsn`, `release`, `environment`, `debug`, `send_default_pii` and the traces sampling,
    /// are set through it ([`config`](Self::config) or the variables): changing one here fails
    /// [`install`](Self::install) with [`InitError::SentryOption`]. A transport set here
    /// replaces the crate's, and with it `sentry_envelopes_dropped_total`.
    ///
    /// ```
    /// # fn main() -> Result<(), vk_monitor::InitError> {
    /// let monitor = vk_monitor::Monitor::builder("voice-calls", "1.0.0")
    ///     .config(|config| config.sentry_dsn("http://public@127.0.0.1:9/1"))
    ///     .sentry_options(|options| {
    ///         options.server_name = Some("pod-7".into());
    ///         options.max_breadcrumbs = 50;
    ///         options.before_send = Some(std::sync::Arc::new(|mut event| {
    ///             event.tags.insert("team".into(), "voice".into());
    ///             Some(event)
    ///         }));
    ///     })
    ///     .install()?;
    /// assert!(monitor.sentry_enabled());
    /// # Ok(()) }
    /// ```
    pub fn sentry_options(
        mut self,
        adjust: impl FnOnce(&mut sentry::ClientOptions) + 'static,
    ) -> Self {
        self.sentry_options = Some(match self.sentry_options.take() {
            None => Box::new(adjust),
            Some(previous) => Box::new(move |options| {
                previous(options);
                adjust(options);
            }),
        });
        self
    }

    /// The application's own settings, read before: their invalid variables fail
    /// [`install`](Self::install) in one [`ConfigError`] with the crate's, theirs first.
    ///
    /// ```
    /// let mut settings = vk_monitor::AppSettings::from_lookup(|name| {
    ///     (name == "LISTEN_ADDR").then(String::new) // set, but empty
    /// });
    /// let _listen = settings.get("LISTEN_ADDR", "a socket address", |v| v.parse::<std::net::SocketAddr>().ok());
    /// let error = vk_monitor::Monitor::builder("voice-calls", "1.0.0")
    ///     .app_settings(settings)
    ///     .install()
    ///     .unwrap_err();
    /// assert!(error.to_string().contains(r#"LISTEN_ADDR="" (expected a value"#), "{error}");
    /// ```
    pub fn app_settings(mut self, settings: AppSettings) -> Self {
        self.app_settings = Some(settings);
        self
    }

    /// Reads the configuration, installs the exporter (unless metrics are disabled) and starts
    /// the Sentry client (when a DSN is set); fails before any of it when the configuration is
    /// invalid or two `#[health_check]` functions share a name. Warnings about accepted but ineffective settings
    /// are printed once, to standard error.
    pub fn install(self) -> Result<Monitor, InitError> {
        let mut invalid = self
            .app_settings
            .map(AppSettings::into_invalid)
            .unwrap_or_default();
        let config = match self.config.from_env() {
            Ok(config) if invalid.is_empty() => config,
            Ok(_) => return Err(InitError::Config(ConfigError { invalid })),
            Err(error) => {
                // A malformed `.env` is found by both readers: named once.
                for variable in error.invalid {
                    if !invalid.contains(&variable) {
                        invalid.push(variable);
                    }
                }
                return Err(InitError::Config(ConfigError { invalid }));
            }
        };
        for warning in &config.warnings {
            eprintln!("vk-monitor: warning: {warning}");
        }
        if let Some(conflict) = HealthRegistry::annotated_conflict() {
            return Err(InitError::DuplicateHealthCheck(conflict.clone()));
        }
        // Before anything global is installed: a taken port fails start-up with no side effects.
        let metrics_listener = config
            .metrics_addr
            .map(|addr| admin::bind(addr).map_err(|error| InitError::Listen { addr, error }))
            .transpose()?;
        // `RELEASE_VERSION` names the release and is the version `build_info` shows.
        let version = config
            .release
            .clone()
            .map_or(Cow::Borrowed(self.version), Cow::Owned);
        let info = ServiceInfo::new(
            self.name.into(),
            version,
            config.environment.clone().into(),
            config.release.clone().map(Cow::Owned),
        );
        let release = info.release.clone();
        let filters = Filters {
            ignore: self.ignore_errors,
            excluded: self.layer.excluded().clone(),
        };
        let sentry =
            client::prepare(&config, &release, filters, self.sentry_options).map_err(|error| {
                match error {
                    PrepareError::AlreadyInitialized => InitError::SentryAlreadyInitialized,
                    PrepareError::Owned { field, set_with } => {
                        InitError::SentryOption { field, set_with }
                    }
                }
            })?;
        let exporter = if config.enable_metrics {
            let builder = Exporter::builder()
                .max_series(config.metrics_max_series)
                .service(info.service)
                .version(info.version)
                .environment(info.environment)
                .release(info.release);
            Some((self.exporter)(builder).install()?)
        } else {
            service_info::set(info);
            None
        };
        let sentry = client::start(sentry).map(Arc::new);
        let health = HealthRegistry::global().clone();
        health.set_show_details(config.health_show_details);
        let mut monitor = Monitor {
            exporter,
            layer: self.layer,
            health,
            sentry,
            token: config.monitor_token,
            metrics_addr: None,
        };
        if let Some(listener) = metrics_listener {
            let addr = listener.local_addr().map_err(|error| InitError::Listen {
                addr: config.metrics_addr.unwrap_or(([0, 0, 0, 0], 0).into()),
                error,
            })?;
            monitor.metrics_addr = Some(addr);
            admin::serve(listener, monitor.admin_router(), self.listener_limits)
                .map_err(|error| InitError::Listen { addr, error })?;
        }
        Ok(monitor)
    }
}

/// Configures everything from the environment ([`Config`](crate::Config)) and returns the
/// application's [`Monitor`]: `Monitor::builder(name, version).install()` with the calling
/// crate's name and version (`CARGO_PKG_NAME`, `CARGO_PKG_VERSION` where the macro is
/// written), which name the service and its release. Returns `Result<Monitor, InitError>`.
///
/// Call it once, at start-up, before serving: it installs the process's metrics recorder, and
/// a second call fails with [`ExporterError::AlreadyInstalled`](crate::ExporterError::AlreadyInstalled).
///
/// ```
/// use vk_monitor::{ExporterError, InitError};
///
/// # fn main() -> Result<(), InitError> {
/// let monitor = vk_monitor::init!()?;
/// let again = vk_monitor::init!();
/// assert!(matches!(again, Err(InitError::Exporter(ExporterError::AlreadyInstalled))));
/// # drop(monitor);
/// # Ok(()) }
/// ```
///
/// [`InitError`]: crate::InitError
/// [`Monitor`]: crate::Monitor
#[macro_export]
macro_rules! init {
    () => {
        $crate::Monitor::builder(
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
        )
        .install()
    };
}
