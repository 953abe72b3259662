//! The entry point: [`Monitor`] ties the exporter, the monitoring routes, the HTTP layer and
//! the health registry together, so an application wires everything in three lines.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::admin::{self, MonitorToken};
use crate::config::{ConfigBuilder, ConfigError};
use crate::exporter::{Exporter, ExporterBuilder, ExporterError};
use crate::health::Details;
use crate::health::HealthRegistry;
use crate::http_metrics::HttpMetricsLayer;
use crate::sentry_client::SentryGuard;

/// Everything an axum application mounts: the monitoring routes and the HTTP metrics layer;
/// and what it keeps alive: the Sentry client, flushed when the last clone is dropped.
///
/// ```
/// use axum::{Router, http::StatusCode, routing::get};
/// # use axum::{body::Body, http::Request, response::Response};
/// # // What `axum::serve` does with each request, here for one at a time.
/// # async fn send(app: &mut Router, uri: &str) -> Response {
/// #     use tower_service::Service;
/// #     std::future::poll_fn(|cx| Service::<Request<Body>>::poll_ready(app, cx)).await.unwrap();
/// #     app.call(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap()
/// # }
/// # async fn text(response: Response) -> String {
/// #     let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
/// #     String::from_utf8(bytes.to_vec()).unwrap()
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), vk_monitor::InitError> {
/// let monitor = vk_monitor::init!()?;
/// let mut app: Router = Router::new()
///     .route("/calls/{id}", get(|| async { "call" }))
///     .merge(monitor.router()) // GET /metrics, /health, /ready, /startup
///     .layer(monitor.layer()); // http_* metrics per route
///
/// // Served with `axum::serve` in an application; here `send` stands for a client.
/// assert_eq!(send(&mut app, "/calls/7").await.status(), StatusCode::OK);
/// let scrape = text(send(&mut app, "/metrics").await).await;
/// assert!(scrape.contains(r#"http_requests_total{method="GET",route="/calls/{id}",status="200"} 1"#));
/// assert_eq!(send(&mut app, "/health").await.status(), StatusCode::OK);
///
/// // On SIGTERM: `/ready` fails so that load balancers stop sending traffic.
/// monitor.shutdown();
/// assert_eq!(send(&mut app, "/ready").await.status(), StatusCode::SERVICE_UNAVAILABLE);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Monitor {
    exporter: Option<Exporter>,
    layer: HttpMetricsLayer,
    health: HealthRegistry,
    sentry: Option<SentryGuard>,
    token: Option<MonitorToken>,
    admin_addr: Option<SocketAddr>,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("metrics", &self.exporter.is_some())
            .field("sentry", &self.sentry.is_some())
            .field("health", &self.health)
            .field("token", &self.token.is_some())
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// A monitor around an installed exporter, with the default HTTP layer, the global health
    /// registry (every `#[health_check]` function of the binary) and no Sentry client.
    pub fn new(exporter: Exporter) -> Self {
        Monitor {
            exporter: Some(exporter),
            layer: HttpMetricsLayer::new(),
            health: HealthRegistry::global().clone(),
            sentry: None,
            token: None,
            admin_addr: None,
        }
    }

    /// Requires `Authorization: Bearer <token>` on the admin routes (`MONITOR_TOKEN`).
    pub fn with_token(mut self, token: MonitorToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Replaces the HTTP layer, for example to exclude more routes.
    pub fn with_layer(mut self, layer: HttpMetricsLayer) -> Self {
        self.layer = layer;
        self
    }

    /// The monitoring routes for the application's port: `/health`, `/ready` and `/startup`,
    /// and, unless the admin routes have a listener of their own (`METRICS_ADDR`), `GET /metrics`
    /// (when metrics are enabled) behind the token when one is set. With a token, requests
    /// that carry it see health details.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let details = match &self.token {
            Some(token) => Details::ConfiguredOrToken(token.clone()),
            None => Details::Configured,
        };
        let health = self.health.routes(details);
        if self.admin_addr.is_some() {
            return health;
        }
        health.merge(admin::guard(self.admin_routes(false), self.token.as_ref()))
    }

    /// The admin routes, for serving them yourself: `GET /metrics` (when metrics are enabled),
    /// `/health`, `/ready` and `/startup` with details, and `/debug/pprof/profile` (feature
    /// `profiling`), all behind the token when one is set.
    pub fn admin_router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let routes = self
            .admin_routes(true)
            .merge(self.health.routes(Details::Always));
        admin::guard(routes, self.token.as_ref())
    }

    /// `/metrics`, and profiles where they are protected: on an admin listener, or behind a
    /// token (a profile costs CPU for seconds, so an open one would invite abuse).
    #[cfg_attr(not(feature = "profiling"), allow(unused_variables))]
    fn admin_routes<S>(&self, on_admin_listener: bool) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let routes = match &self.exporter {
            Some(exporter) => exporter.router(),
            None => Router::new(),
        };
        #[cfg(feature = "profiling")]
        if on_admin_listener || self.token.is_some() {
            return routes.merge(crate::profiling::router());
        }
        routes
    }

    /// Where the admin listener (`METRICS_ADDR`) accepts connections; `None` without one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The HTTP metrics layer, for `Router::layer` or `Router::route_layer`.
    pub fn layer(&self) -> HttpMetricsLayer {
        self.layer.clone()
    }

    /// The installed exporter; `None` when metrics are disabled (`ENABLE_METRICS=false`).
    pub fn exporter(&self) -> Option<&Exporter> {
        self.exporter.as_ref()
    }

    /// The health registry: register checks that need application state here.
    pub fn health(&self) -> &HealthRegistry {
        &self.health
    }

    /// Whether a Sentry client is running (a DSN is configured).
    pub fn sentry_enabled(&self) -> bool {
        self.sentry.is_some()
    }

    /// Sends what Sentry has queued, waiting at most `timeout`; `true` when all was sent.
    /// Dropping the last clone of the monitor does the same with a 2 s bound.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.sentry
            .as_ref()
            .is_none_or(|guard| guard.flush(Some(timeout)))
    }

    /// Graceful shutdown has begun: `/ready` fails from now on, `/health` keeps passing.
    pub fn shutdown(&self) {
        self.health.shutdown();
    }
}

/// Configures and installs a [`Monitor`]; [`builder!`](crate::builder) starts one with the
/// calling crate's name and version.
///
/// ```
/// # fn main() -> Result<(), vk_monitor::InitError> {
/// let monitor = vk_monitor::builder!()
///     .config(|config| config.environment("staging").traces_sample_rate(0.25))
///     .exporter(|exporter| exporter.buckets_for("voice_call_duration_seconds", &[1.0, 60.0]))
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
    ignore_errors: Vec<String>,
}

impl MonitorBuilder {
    /// A builder for the application `name` at `version` (use [`builder!`](crate::builder)).
    pub fn new(name: &'static str, version: &'static str) -> Self {
        MonitorBuilder {
            name,
            version,
            config: ConfigBuilder::default(),
            exporter: Box::new(|exporter| exporter),
            ignore_errors: Vec::new(),
        }
    }

    /// Sets configuration in code; it wins over the environment.
    pub fn config(mut self, configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Self {
        self.config = configure(self.config);
        self
    }

    /// Adjusts the exporter (buckets, service name...) before it is installed.
    pub fn exporter(
        mut self,
        configure: impl FnOnce(ExporterBuilder) -> ExporterBuilder + 'static,
    ) -> Self {
        self.exporter = Box::new(configure);
        self
    }

    /// Never sends errors whose type or message contains `pattern` to Sentry.
    pub fn ignore_error(mut self, pattern: impl Into<String>) -> Self {
        self.ignore_errors.push(pattern.into());
        self
    }

    /// Reads the configuration, installs the exporter (unless metrics are disabled) and starts
    /// the Sentry client (when a DSN is set). Warnings about accepted but ineffective settings
    /// are printed once, to standard error.
    pub fn install(self) -> Result<Monitor, InitError> {
        let config = self.config.from_env()?;
        for warning in &config.warnings {
            eprintln!("vk-monitor: warning: {warning}");
        }
        // Before anything global is installed: a taken port fails start-up with no side effects.
        let admin_listener = config
            .metrics_addr
            .map(|addr| admin::bind(addr).map_err(|error| InitError::Listen { addr, error }))
            .transpose()?;
        let release = config
            .release
            .clone()
            .unwrap_or_else(|| format!("{}@{}", self.name, self.version));
        let exporter = if config.enable_metrics {
            let builder = Exporter::builder()
                .service(self.name)
                .version(
                    config
                        .release
                        .clone()
                        .unwrap_or_else(|| self.version.to_owned()),
                )
                .environment(config.environment.clone())
                .release(release.clone());
            Some((self.exporter)(builder).install()?)
        } else {
            crate::exporter::set_build_info(crate::exporter::BuildInfo {
                service: self.name.into(),
                version: config
                    .release
                    .clone()
                    .unwrap_or_else(|| self.version.to_owned())
                    .into(),
                environment: config.environment.clone().into(),
                release: Some(release.clone().into()),
            });
            None
        };
        let sentry =
            crate::sentry_client::init(&config, &release, self.ignore_errors).map(Arc::new);
        let health = HealthRegistry::global().clone();
        health.set_show_details(config.health_show_details);
        let mut monitor = Monitor {
            exporter,
            layer: HttpMetricsLayer::new(),
            health,
            sentry,
            token: config.monitor_token,
            admin_addr: None,
        };
        if let Some(listener) = admin_listener {
            let addr = listener.local_addr().map_err(|error| InitError::Listen {
                addr: config.metrics_addr.unwrap_or(([0, 0, 0, 0], 0).into()),
                error,
            })?;
            monitor.admin_addr = Some(addr);
            admin::serve(listener, monitor.admin_router())
                .map_err(|error| InitError::Listen { addr, error })?;
        }
        Ok(monitor)
    }
}

/// Why [`init!`](crate::init) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// An environment variable has a value that cannot be used.
    Config(ConfigError),
    /// The exporter could not be installed.
    Exporter(ExporterError),
    /// The admin listener (`METRICS_ADDR`) could not be started.
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why the listener could not be started.
        error: io::Error,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::Exporter(error) => error.fmt(f),
            InitError::Listen { addr, error } => {
                write!(
                    f,
                    "METRICS_ADDR={addr}: cannot serve the admin routes there: {error}"
                )
            }
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(error) => Some(error),
            InitError::Exporter(error) => Some(error),
            InitError::Listen { error, .. } => Some(error),
        }
    }
}

impl From<ExporterError> for InitError {
    fn from(error: ExporterError) -> Self {
        InitError::Exporter(error)
    }
}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        InitError::Config(error)
    }
}

/// A [`MonitorBuilder`] for the calling crate: its name and version (`CARGO_PKG_NAME`,
/// `CARGO_PKG_VERSION` where the macro is written) name the service and its release.
///
/// See [`MonitorBuilder`] for an example.
#[macro_export]
macro_rules! builder {
    () => {
        $crate::MonitorBuilder::new(
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
        )
    };
}

/// Configures everything from the environment ([`Config`](crate::Config)) and returns the
/// application's [`Monitor`]: `vk_monitor::builder!().install()`. Returns
/// `Result<Monitor, InitError>`.
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
#[macro_export]
macro_rules! init {
    () => {
        $crate::builder!().install()
    };
}
