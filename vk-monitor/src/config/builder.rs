//! Values set in code, then the environment: how the settings are read and validated.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use sentry::types::Dsn;

use super::env::{EnvReader, Found};
use super::error::ConfigError;
use super::sampler::{SamplingContext, TracesSampler};
use super::sentry_names::{ENVIRONMENT_EXPECTED, RELEASE_EXPECTED, is_environment, is_release};
use super::settings::Config;
use super::targets::{PropagationTargets, TARGETS_EXPECTED};
use crate::admin::{MIN_TOKEN_LEN, MonitorToken};
use crate::metrics::DEFAULT_MAX_SERIES;
use crate::service_info::DEFAULT_ENVIRONMENT;

impl Config {
    /// Reads the process environment, after a `.env` file in the working directory or one of
    /// its parents when there is one (the process environment wins over the file).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::builder().from_env()
    }

    /// Starts setting values in code.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }
}

/// Values set in code, which win over the environment. See [`Config`].
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    sentry_dsn: Option<String>,
    traces_sample_rate: Option<f64>,
    traces_sampler: Option<TracesSampler>,
    profiles_sample_rate: Option<f64>,
    release: Option<String>,
    enable_metrics: Option<bool>,
    metrics_max_series: Option<usize>,
    apm_enabled: Option<bool>,
    environment: Option<String>,
    send_default_pii: Option<bool>,
    debug: Option<bool>,
    follow_incoming_sampling: Option<bool>,
    trace_propagation_targets: Option<Vec<String>>,
    health_show_details: Option<bool>,
    metrics_addr: Option<SocketAddr>,
    monitor_token: Option<HiddenText>,
}

/// A secret set in code: kept out of `Debug` output until it is validated.
#[derive(Clone, Default)]
struct HiddenText(String);

impl fmt::Debug for HiddenText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        impl ConfigBuilder {
            $(
                $(#[$doc])*
                pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
            )*
        }
    };
}

setters! {
    /// `SENTRY_DSN`.
    sentry_dsn: String,
    /// `SENTRY_TRACES_SAMPLE_RATE`.
    traces_sample_rate: f64,
    /// `SENTRY_PROFILES_SAMPLE_RATE`.
    profiles_sample_rate: f64,
    /// `RELEASE_VERSION`.
    release: String,
    /// `ENABLE_METRICS`.
    enable_metrics: bool,
    /// `METRICS_MAX_SERIES`.
    metrics_max_series: usize,
    /// `APM_ENABLED`.
    apm_enabled: bool,
    /// `APM_ENVIRONMENT`.
    environment: String,
    /// `SENTRY_SEND_DEFAULT_PII`.
    send_default_pii: bool,
    /// `SENTRY_DEBUG`.
    debug: bool,
    /// `SENTRY_FOLLOW_INCOMING_SAMPLING`.
    follow_incoming_sampling: bool,
    /// `HEALTH_SHOW_DETAILS`.
    health_show_details: bool,
    /// `METRICS_ADDR`.
    metrics_addr: SocketAddr,
}

impl ConfigBuilder {
    /// Chooses the sampling rate of each trace that starts here (0 to 1), from the
    /// transaction's name, op and route, in place of `SENTRY_TRACES_SAMPLE_RATE`; see
    /// [`TracesSampler`]. Tracing off (`APM_ENABLED=false` or a rate of 0) stays off and
    /// excluded routes are never traced. The sampler decides even when a caller sent its own
    /// decision, which it is told (`SamplingContext::parent_sampled`): return 1.0 for
    /// `Some(true)` to keep callers' traces whole.
    ///
    /// ```
    /// let config = vk_monitor::Config::builder()
    ///     .traces_sampler(|context| match context.route {
    ///         Some("/checkout") => 1.0,
    ///         Some(route) if route.starts_with("/static") => 0.0,
    ///         _ => 0.1,
    ///     })
    ///     .from_lookup(|_| None)?;
    /// assert!(config.traces_sampler.is_some());
    /// # Ok::<(), vk_monitor::ConfigError>(())
    /// ```
    pub fn traces_sampler(
        mut self,
        sampler: impl Fn(&SamplingContext<'_>) -> f32 + Send + Sync + 'static,
    ) -> Self {
        self.traces_sampler = Some(TracesSampler::new(sampler));
        self
    }

    /// `SENTRY_TRACE_PROPAGATION_TARGETS`: one pattern per item (see [`PropagationTargets`]).
    ///
    /// ```
    /// let config = vk_monitor::Config::builder()
    ///     .trace_propagation_targets(["speech.internal", "*.svc.cluster.local"])
    ///     .from_lookup(|_| None)?;
    /// assert!(config.trace_propagation_targets.matches("speech.internal"));
    /// assert!(!config.trace_propagation_targets.matches("api.payments.example"));
    /// # Ok::<(), vk_monitor::ConfigError>(())
    /// ```
    pub fn trace_propagation_targets<S: Into<String>>(
        mut self,
        patterns: impl IntoIterator<Item = S>,
    ) -> Self {
        self.trace_propagation_targets = Some(patterns.into_iter().map(Into::into).collect());
        self
    }

    /// `MONITOR_TOKEN`.
    pub fn monitor_token(mut self, token: impl Into<String>) -> Self {
        self.monitor_token = Some(HiddenText(token.into()));
        self
    }
}

impl ConfigBuilder {
    /// Completes the configuration from the environment (and `.env`).
    #[allow(clippy::wrong_self_convention)] // reads like English: `builder().from_env()`
    pub fn from_env(self) -> Result<Config, ConfigError> {
        self.read(EnvReader::environment())
    }

    /// Completes the configuration from `lookup` instead of the process environment.
    ///
    /// Every invalid value is reported at once, with what was expected:
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use vk_monitor::Config;
    ///
    /// let vars = HashMap::from([
    ///     ("SENTRY_TRACES_SAMPLE_RATE", "1.5"),
    ///     ("ENABLE_METRICS", "maybe"),
    ///     ("APM_ENVIRONMENT", "production"),
    /// ]);
    /// let lookup = |name: &str| vars.get(name).map(|value| value.to_string());
    ///
    /// let error = Config::builder().from_lookup(lookup).unwrap_err();
    /// let invalid: Vec<&str> = error.invalid.iter().map(|variable| variable.name).collect();
    /// assert_eq!(invalid, ["SENTRY_TRACES_SAMPLE_RATE", "ENABLE_METRICS"]);
    ///
    /// // A value set in code is not read from the lookup.
    /// let config = Config::builder()
    ///     .traces_sample_rate(0.25)
    ///     .enable_metrics(true)
    ///     .from_lookup(lookup)?;
    /// assert_eq!(config.environment, "production");
    /// assert_eq!(config.traces_sample_rate, 0.25);
    /// assert!(config.sentry_dsn.is_none());
    /// # Ok::<(), vk_monitor::ConfigError>(())
    /// ```
    pub fn from_lookup(
        self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        self.read(EnvReader::new(move |name: &str| Found::from(lookup(name))))
    }

    pub(super) fn read<L: Fn(&str) -> Found>(
        self,
        mut env: EnvReader<L>,
    ) -> Result<Config, ConfigError> {
        let dsn_text = self
            .sentry_dsn
            .map(Some)
            .unwrap_or_else(|| env.text("SENTRY_DSN"));
        // Empty is the Sentry SDKs' way of saying "Sentry off", so it is not an error here; a
        // value that is set but empty means nothing for the other settings, which refuse it.
        let sentry_dsn = dsn_text
            .filter(|dsn| !dsn.trim().is_empty())
            .and_then(|dsn| {
                // The value is reported as found: stray whitespace may be why it is invalid.
                env.check(
                    "SENTRY_DSN",
                    &dsn,
                    "a Sentry DSN such as https://KEY@HOST/PROJECT",
                    |v| Dsn::from_str(v.trim()).ok(),
                )
            });
        let traces_sample_rate =
            env.rate("SENTRY_TRACES_SAMPLE_RATE", self.traces_sample_rate, 0.1);
        let profiles_explicit = self.profiles_sample_rate.is_some()
            || env.text("SENTRY_PROFILES_SAMPLE_RATE").is_some();
        let profiles_sample_rate = env.rate(
            "SENTRY_PROFILES_SAMPLE_RATE",
            self.profiles_sample_rate,
            0.1,
        );
        let mut warnings = Vec::new();
        let release = self
            .release
            .map(|r| ("RELEASE_VERSION", r))
            .or_else(|| first_set(&mut env, &RELEASE_VARIABLES, &mut warnings))
            .and_then(|(name, r)| {
                env.check(name, &r, RELEASE_EXPECTED, |v| {
                    is_release(v).then(|| v.to_owned())
                })
            });
        let enable_metrics = self
            .enable_metrics
            .unwrap_or_else(|| env.bool("ENABLE_METRICS", true));
        let metrics_max_series = env.positive(
            "METRICS_MAX_SERIES",
            self.metrics_max_series,
            DEFAULT_MAX_SERIES,
        );
        let prometheus_multiproc_dir = env.text("PROMETHEUS_MULTIPROC_DIR");
        let apm_enabled = self
            .apm_enabled
            .unwrap_or_else(|| env.bool("APM_ENABLED", true));
        let environment = self
            .environment
            .map(|e| ("APM_ENVIRONMENT", e))
            .or_else(|| first_set(&mut env, &ENVIRONMENT_VARIABLES, &mut warnings))
            .and_then(|(name, e)| {
                env.check(name, &e, ENVIRONMENT_EXPECTED, |v| {
                    is_environment(v).then(|| v.to_owned())
                })
            })
            .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned());
        let send_default_pii = self
            .send_default_pii
            .unwrap_or_else(|| env.bool("SENTRY_SEND_DEFAULT_PII", false));
        let debug = self
            .debug
            .unwrap_or_else(|| env.bool("SENTRY_DEBUG", false));
        let follow_incoming_sampling = self
            .follow_incoming_sampling
            .unwrap_or_else(|| env.bool("SENTRY_FOLLOW_INCOMING_SAMPLING", true));
        let trace_propagation_targets = self
            .trace_propagation_targets
            .map(|patterns| patterns.join(","))
            .or_else(|| env.text(TARGETS_VARIABLE))
            .and_then(|value| {
                env.check(
                    TARGETS_VARIABLE,
                    &value,
                    TARGETS_EXPECTED,
                    PropagationTargets::parse,
                )
            })
            .unwrap_or_default();
        let health_show_details = self
            .health_show_details
            .unwrap_or_else(|| env.bool("HEALTH_SHOW_DETAILS", false));
        let metrics_addr = self.metrics_addr.or_else(|| {
            let value = env.text("METRICS_ADDR")?;
            env.check(
                "METRICS_ADDR",
                &value,
                "a socket address such as 127.0.0.1:9464",
                |v| v.trim().parse().ok(),
            )
        });
        let monitor_token = self
            .monitor_token
            .map(|HiddenText(token)| token)
            .or_else(|| env.text("MONITOR_TOKEN"))
            .and_then(|token| {
                env.secret("MONITOR_TOKEN", &token, TOKEN_EXPECTED, |t| {
                    MonitorToken::new(t)
                })
            });
        env.finish()?;

        if profiles_explicit && profiles_sample_rate > 0.0 {
            warnings.push(
                "SENTRY_PROFILES_SAMPLE_RATE is accepted but the Rust Sentry SDK has no profiler; \
                 take CPU profiles on demand from `GET /debug/pprof/profile` (cargo feature \
                 `profiling`) instead"
                    .to_owned(),
            );
        }
        let https = sentry_dsn
            .as_ref()
            .is_some_and(|dsn| dsn.scheme() == sentry::types::Scheme::Https);
        if https && !cfg!(any(feature = "native-tls", feature = "rustls")) {
            warnings.push(
                "SENTRY_DSN is https:// but vk-monitor was built without TLS (cargo features \
                 `native-tls` and `rustls` both off): no event can reach Sentry"
                    .to_owned(),
            );
        }
        if prometheus_multiproc_dir.is_some() {
            warnings.push(
                "PROMETHEUS_MULTIPROC_DIR is not needed: one Rust process serves all cores and \
                 exports all of its metrics itself; the variable is ignored"
                    .to_owned(),
            );
        }
        Ok(Config {
            sentry_dsn,
            traces_sample_rate,
            traces_sampler: self.traces_sampler,
            profiles_sample_rate,
            release,
            enable_metrics,
            metrics_max_series,
            prometheus_multiproc_dir,
            apm_enabled,
            environment,
            send_default_pii,
            debug,
            follow_incoming_sampling,
            trace_propagation_targets,
            health_show_details,
            metrics_addr,
            monitor_token,
            warnings,
        })
    }
}

/// Where the release is read, first match wins: ours, then the one every Sentry SDK reads.
const RELEASE_VARIABLES: [&str; 2] = ["RELEASE_VERSION", "SENTRY_RELEASE"];
/// Where the environment is read, first match wins: ours, the Sentry SDKs', the generic one.
const ENVIRONMENT_VARIABLES: [&str; 3] = ["APM_ENVIRONMENT", "SENTRY_ENVIRONMENT", "ENVIRONMENT"];

/// The first of `names` that is set, with its name. One after it set to another value is
/// ignored, but not silently: two tools reading different variables would disagree on what
/// this deployment is called.
fn first_set<L: Fn(&str) -> Found>(
    env: &mut EnvReader<L>,
    names: &[&'static str],
    warnings: &mut Vec<String>,
) -> Option<(&'static str, String)> {
    let (position, name, value) = names
        .iter()
        .enumerate()
        .find_map(|(position, &name)| Some((position, name, env.text(name)?)))?;
    for &other in &names[position + 1..] {
        if let Some(ignored) = env.peek(other)
            && ignored.trim() != value.trim()
        {
            warnings.push(format!(
                "{name}={value:?} and {other}={ignored:?} differ: {name} is used, {other} is ignored"
            ));
        }
    }
    Some((name, value))
}

const TARGETS_VARIABLE: &str = "SENTRY_TRACE_PROPAGATION_TARGETS";
const TOKEN_EXPECTED: &str = "at least 16 visible ASCII characters (no spaces)";
// The message above spells the minimum out.
const _: () = assert!(MIN_TOKEN_LEN == 16);
