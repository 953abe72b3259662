//! Production monitoring for axum/tokio services, from one attribute.
//!
//! `#[monitored]` on a function records, for every call, Prometheus RED metrics through
//! handles cached at the call site:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `function_calls_total` | counter | `function`, `module`, `result` (`ok`, `error`, `panic`, `cancelled`) |
//! | `function_call_duration_seconds` | histogram | `function`, `module`, `result` |
//! | `function_calls_in_flight` | gauge | `function`, `module` |
//! | `function_errors_total` | counter | `function`, `module`, `kind` |
//!
//! [`init!`] reads the [`Config`] from the environment, installs the Prometheus recorder
//! ([`Exporter`]), starts the Sentry client when `SENTRY_DSN` is set, and returns a
//! [`Monitor`]: its router serves `GET /metrics` and the [`health`] endpoints (`/health`,
//! `/ready`, `/startup`), and its layer ([`HttpMetricsLayer`]) records `http_requests_total`,
//! `http_request_duration_seconds` and `http_requests_in_flight` per method, matched route
//! template and status, and one Sentry transaction per sampled request, in which every
//! monitored call is a span ([`spans`]).
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use vk_monitor::monitored;
//!
//! #[monitored]
//! async fn get_call() -> &'static str {
//!     "call"
//! }
//!
//! # fn main() -> Result<(), vk_monitor::InitError> {
//! let monitor = vk_monitor::init!()?;
//! let app: Router = Router::new()
//!     .route("/calls/{id}", get(get_call))
//!     .merge(monitor.router())
//!     .layer(monitor.layer());
//! # Ok(()) }
//! ```
//!
//! # What counts as an error
//!
//! The outcome of a call follows from its return type, with no bound on the user's types:
//!
//! - `Result<T, E>`: `Err` is an error, unless `E` implements [`MonitoredError`] and says
//!   otherwise (an API error enum can report its 4xx variants as not errors, and name each
//!   variant in the `kind` label). `Ok` is ok, unless it holds a 5xx response.
//! - `http::Response<B>` (axum's `Response`), `http::StatusCode`, `(StatusCode, T)`: an error
//!   when the status is 5xx.
//! - Anything else, including generic return types: ok.
//!
//! `#[monitored(ok_if = path)]` or `#[monitored(error_if = path)]` override this with a
//! `fn(&ReturnType) -> bool`. A panic is counted as `result="panic"` (and keeps unwinding), a
//! future dropped before it completes as `result="cancelled"`.
//!
//! # Arguments
//!
//! - `name = "..."`: the `function` label (default: the fn name, `Type::method` for methods
//!   with a `self` receiver).
//! - `op = "..."`: the operation kind, such as `"db.query"` (default `"function"`).
//! - `ok_if = path`, `error_if = path`: see above; at most one of them.
//! - `crate = path`: where `vk_monitor` is, if the dependency is renamed.
//!
//! # Features
//!
//! - `enabled` (default): instrumentation on. Without it, `#[monitored]` still checks its
//!   arguments and emits the function unchanged.
//! - `profiling`: [`profiling::router`], on-demand CPU profiles of the process at
//!   `GET /debug/pprof/profile` (flame graph SVG or pprof protobuf), for the admin listener.

#![warn(missing_docs)]

mod call_site;
mod config;
pub mod context;
mod exporter;
pub mod health;
mod histogram;
pub mod http_metrics;
mod http_tracing;
mod in_flight;
pub mod metric_names;
mod monitor;
mod outcome;
#[cfg(feature = "profiling")]
pub mod profiling;
mod sentry_client;
pub mod spans;
mod transport;

pub use config::{Config, ConfigBuilder, ConfigError, InvalidVariable};
pub use exporter::{CONTENT_TYPE, DEFAULT_BUCKETS, Exporter, ExporterBuilder, ExporterError};
pub use http_metrics::HttpMetricsLayer;
pub use monitor::{InitError, Monitor, MonitorBuilder};
pub use outcome::{MonitoredError, Outcome};
pub use vk_monitor_macros::{health_check, monitored};

/// Support for the macro expansions. Not public API: no semver promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::call_site::{CallGuard, CallSite};
    pub use crate::health::{AnnotatedCheck, CheckKind, run_async, run_blocking};
    pub use crate::outcome::Outcome;
    pub use crate::outcome::probe::{
        ByDefault, ByErrorOnly, ByResultOnly, ByStatus, ByValueAndError, ByValueOnly, Probe,
    };
    pub use crate::spans::probe::{EventByDebug, EventByError, EventByStatus, EventByType};
    pub use inventory;

    /// Classifies a returned value by its type (autoref specialization: the most specific
    /// trait whose impl applies wins, with no bound required of the user's types).
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __vk_outcome_of {
        ($value:expr) => {{
            #[allow(unused_imports)]
            use $crate::__private::{
                ByDefault as _, ByErrorOnly as _, ByResultOnly as _, ByStatus as _,
                ByValueAndError as _, ByValueOnly as _,
            };
            (&&&&$crate::__private::Probe($value)).__vk_outcome()
        }};
    }
    pub use crate::__vk_outcome_of as outcome_of;

    /// The Sentry event of an error outcome, by the value's type (see `outcome_of`).
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __vk_error_event_of {
        ($value:expr) => {{
            #[allow(unused_imports)]
            use $crate::__private::{
                EventByDebug as _, EventByError as _, EventByStatus as _, EventByType as _,
            };
            (&&&$crate::__private::Probe($value)).__vk_event()
        }};
    }
    pub use crate::__vk_error_event_of as error_event_of;
}
