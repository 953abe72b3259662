//! The settings, validated: what every other part of the crate reads.

use std::net::SocketAddr;

use sentry::types::Dsn;

use super::{PropagationTargets, TracesSampler};
use crate::admin::MonitorToken;

/// vk-monitor's settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `SENTRY_DSN` | unset: Sentry off | Sentry DSN |
/// | `SENTRY_TRACES_SAMPLE_RATE` | 0.1 | share of transactions sent, 0..=1 |
/// | `SENTRY_PROFILES_SAMPLE_RATE` | 0.1 | accepted; the Rust SDK has no profiler (a value set above 0 warns): use `GET /debug/pprof/profile` (feature `profiling`) |
/// | `RELEASE_VERSION`, else `SENTRY_RELEASE` | the application's `name@version` | release of every event and `build_info` |
/// | `ENABLE_METRICS` | true | Prometheus metrics on or off (off: no `/metrics`, recording is a no-op) |
/// | `METRICS_MAX_SERIES` | 1000 | label sets per metric of the application's own (`metrics` macros); more fold into one overflow series |
/// | `PROMETHEUS_MULTIPROC_DIR` | unset | accepted for compatibility; not needed (warns) |
/// | `APM_ENABLED` | true | Sentry tracing on or off |
/// | `APM_ENVIRONMENT`, else `SENTRY_ENVIRONMENT`, else `ENVIRONMENT` | `development` | environment of events and `build_info` |
/// | `SENTRY_SEND_DEFAULT_PII` | false | let personal data reach Sentry |
/// | `SENTRY_DEBUG` | false | the SDK's debug logging |
/// | `SENTRY_FOLLOW_INCOMING_SAMPLING` | true | follow the sampling decision of an incoming `sentry-trace`/`traceparent` (false: continue its trace id, decide here; for a public edge) |
/// | `SENTRY_TRACE_PROPAGATION_TARGETS` | `*`: every host | hosts outgoing requests carry the trace headers to, comma-separated; see [`PropagationTargets`] |
/// | `HEALTH_SHOW_DETAILS` | false | failure details in the health endpoints |
/// | `METRICS_ADDR` | unset: on the public port | a listener of its own for `/metrics`, detailed health and profiles |
/// | `MONITOR_TOKEN` | unset: no token | bearer token those admin routes require (16+ visible ASCII characters) |
///
/// Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, in any case; `METRICS_MAX_SERIES` a
/// whole number of 1 or more.
///
/// ```
/// # fn main() -> Result<(), vk_monitor::ConfigError> {
/// // Values set in code win over the environment; both are validated.
/// let config = vk_monitor::Config::builder()
///     .environment("staging")
///     .traces_sample_rate(0.25)
///     .from_env()?;
/// assert_eq!(config.environment, "staging");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Where Sentry events go; `None`: Sentry is off.
    pub sentry_dsn: Option<Dsn>,
    /// Share of transactions sent to Sentry.
    pub traces_sample_rate: f32,
    /// Chooses the rate per trace in place of `traces_sample_rate`, when set (in code only).
    pub traces_sampler: Option<TracesSampler>,
    /// Accepted and validated; the Rust SDK has no profiler.
    pub profiles_sample_rate: f32,
    /// The release; `None`: the application's `name@version`.
    pub release: Option<String>,
    /// Whether Prometheus metrics are recorded and served.
    pub enable_metrics: bool,
    /// How many label sets each metric recorded with the `metrics` macros may have; see
    /// [`ExporterBuilder::max_series`](crate::ExporterBuilder::max_series).
    pub metrics_max_series: usize,
    /// Accepted for compatibility and ignored.
    pub prometheus_multiproc_dir: Option<String>,
    /// Whether Sentry tracing (transactions and spans) is on.
    pub apm_enabled: bool,
    /// The deployment environment.
    pub environment: String,
    /// Whether personal data may reach Sentry.
    pub send_default_pii: bool,
    /// The Sentry SDK's debug logging.
    pub debug: bool,
    /// Without a traces sampler, whether an incoming request's sampling decision is followed;
    /// `false`: its trace is continued but whether to sample it is decided here, as at the head
    /// of a trace. A configured sampler always decides, told the caller's decision.
    pub follow_incoming_sampling: bool,
    /// The hosts outgoing requests carry the trace headers to.
    pub trace_propagation_targets: PropagationTargets,
    /// Whether the health endpoints show failure details.
    pub health_show_details: bool,
    /// Where the admin routes are served; `None`: beside the application's routes.
    pub metrics_addr: Option<SocketAddr>,
    /// The bearer token the admin routes require; `None`: they are open.
    pub monitor_token: Option<MonitorToken>,
    /// Things worth saying once at start-up, such as accepted settings that do nothing.
    pub warnings: Vec<String>,
}
