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
#[cfg(feature = "tracing-subscriber")]
pub mod tracing;
mod work;

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
pub use crate::work::Objective;

#[doc = include_str!("../docs/monitored.md")]
pub use vk_monitor_macros::monitored;

#[doc = include_str!("../docs/health_check.md")]
pub use vk_monitor_macros::health_check;

#[doc = include_str!("../docs/derive_monitored_error.md")]
pub use vk_monitor_macros::MonitoredError;

/// Support for the macro expansions. Not public API: no semver promise. Each item is here
/// because an expansion names it; none reaches into the runtime's internals.
#[doc(hidden)]
pub mod __private {
    /// `#[health_check(kind = ..)]`.
    pub use crate::health::CheckKind;
    /// `#[health_check]`: what it submits, and how its function is run.
    pub use crate::health::annotated::{AnnotatedCheck, run_async, run_blocking};
    /// The autoref probes `outcome_of!` and `error_event_of!` expand to.
    pub use crate::instrument::probe;
    /// `#[monitored]`'s `tracing` span: its callsite, metadata and the span.
    #[cfg(feature = "tracing")]
    pub use crate::instrument::trace_span::{DefaultCallsite, Metadata, call_span, span_metadata};
    /// `#[monitored]`: the `static` per fn, and `ok_if`/`error_if` outcomes.
    pub use crate::instrument::{CallSite, Outcome};
    /// How a returned value is classified and reported, by its type.
    pub use crate::{__vk_error_event_of as error_event_of, __vk_outcome_of as outcome_of};
    /// `#[health_check]` registers at link time.
    pub use inventory;
    /// `tracing::Instrument` for an async body, without the user depending on `tracing`.
    #[cfg(feature = "tracing")]
    pub use tracing;
}
