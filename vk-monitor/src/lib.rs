#![doc = include_str!("../docs/crate.md")]
#![warn(missing_docs)]

// One folder per concern; the small files beside them hold the rules several of them share.
mod admin;
mod catch_panic;
pub mod client;
mod config;
pub mod health;
pub mod http;
mod instrument;
mod method;
pub mod metrics;
mod monitor;
mod routes;
mod sentry;
mod service_info;
mod status;
#[cfg(feature = "tracing-subscriber")]
pub mod tracing;

#[cfg(feature = "profiling")]
pub use crate::admin::profiling;
pub use crate::admin::{ListenerLimits, MonitorToken};
pub use crate::config::{
    AppSettings, Config, ConfigBuilder, ConfigError, InvalidVariable, PropagationTargets,
    SamplingContext, TracesSampler,
};
pub use crate::instrument::{MonitoredError, Outcome};
pub use crate::metrics::error::ExporterError;
pub use crate::metrics::exporter::{Exporter, ExporterBuilder};
pub use crate::monitor::{InitError, Monitor, MonitorBuilder};
pub use crate::sentry::{context, trace};

#[doc = include_str!("../docs/monitored.md")]
pub use vk_monitor_macros::monitored;

#[doc = include_str!("../docs/health_check.md")]
pub use vk_monitor_macros::health_check;

/// Support for the macro expansions. Not public API: no semver promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::health::CheckKind;
    pub use crate::health::annotated::{AnnotatedCheck, run_async, run_blocking};
    #[cfg(feature = "tracing")]
    pub use crate::instrument::trace_span::*;
    pub use crate::instrument::{CallSite, Outcome, probe};
    pub use crate::{__vk_error_event_of as error_event_of, __vk_outcome_of as outcome_of};
    pub use inventory;
    #[cfg(feature = "tracing")]
    pub use tracing;
}
