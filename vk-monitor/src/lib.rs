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
//! ```
//! use axum::{Router, routing::get};
//! use vk_monitor::monitored;
//!
//! #[monitored]
//! async fn get_call() -> &'static str {
//!     "call"
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let monitor = vk_monitor::init!()?;
//! let app: Router = Router::new()
//!     .route("/calls/{id}", get(get_call))
//!     .merge(monitor.router())
//!     .layer(monitor.layer());
//! # // One request and one scrape, as `axum::serve` would pass them to the router.
//! # use axum::{body::Body, http::Request};
//! # use tower_service::Service;
//! # let mut app = app;
//! # for uri in ["/calls/7", "/metrics"] {
//! #     std::future::poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut app, cx)).await?;
//! #     let response = app.call(Request::get(uri).body(Body::empty())?).await?;
//! #     let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
//! #     if uri == "/metrics" {
//! #         let scrape = String::from_utf8(body.to_vec())?;
//! #         assert!(scrape.contains(r#"http_requests_total{method="GET",route="/calls/{id}",status="200"} 1"#));
//! #         assert!(scrape.contains(r#"function_calls_total{function="get_call""#));
//! #     }
//! # }
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
//! The attribute's arguments (`name`, `op`, `ok_if`, `error_if`, `tags`, `crate`) are described
//! on [`monitored`]; health checks on [`health_check`] and in [`health`]; the environment
//! variables on [`Config`].
//!
//! # Features
//!
//! - `enabled` (default): instrumentation on. Without it, `#[monitored]` still checks its
//!   arguments and emits the function unchanged.
//! - `profiling`: [`profiling::router`], on-demand CPU profiles of the process at
//!   `GET /debug/pprof/profile` (flame graph SVG or pprof protobuf), for the admin listener.
//! - `bench-compare`: only for this crate's overhead benchmark, which compares `#[monitored]`
//!   with other instrumentation libraries. Not needed to use the crate.

#![warn(missing_docs)]

mod admin;
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
mod sentry_panics;
pub mod spans;
mod transport;

pub use admin::MonitorToken;
pub use config::{Config, ConfigBuilder, ConfigError, InvalidVariable};
pub use exporter::{CONTENT_TYPE, DEFAULT_BUCKETS, Exporter, ExporterBuilder, ExporterError};
pub use http_metrics::HttpMetricsLayer;
pub use monitor::{InitError, Monitor, MonitorBuilder};
pub use outcome::{MonitoredError, Outcome};
/// Records Prometheus RED metrics for every call of the annotated function and, with Sentry
/// on, a span per call and an event per error.
///
/// Every call adds to `function_calls_total{function, module, result}` and
/// `function_call_duration_seconds{function, module, result}`, is counted in
/// `function_calls_in_flight{function, module}` while it runs, and, when it fails, adds to
/// `function_errors_total{function, module, kind}`. `result` is `ok`, `error`, `panic` or
/// `cancelled` (a future dropped before it completed); what counts as an error follows from
/// the return type (see the [crate documentation](crate#what-counts-as-an-error)). The metric
/// handles are created on the first call and kept at the call site, so a call costs a few
/// atomic operations and two clock reads. Calls made before the exporter is installed
/// ([`init!`] or [`Exporter::install`]) are not recorded.
///
/// Inside a request traced by the [`HttpMetricsLayer`], a call is a child span of the request's
/// transaction; an error outcome is sent to Sentry as an event tagged with `function` and
/// `module` (see [`spans`]).
///
/// The attribute goes on sync and async functions, methods with any receiver (`&self`,
/// `&mut self`, `self`, `self: Arc<Self>`), generic functions, functions returning
/// `impl Trait`, `async fn` in traits and `#[async_trait]` methods. It adds no `Send`,
/// `Sync`, `Debug` or `'static` requirement: an axum handler stays a handler.
///
/// # Arguments
///
/// - `name = "..."`: the `function` label. Default: the function's name, `Type::method` for
///   a method with a `self` receiver.
/// - `op = "..."`: the operation of the Sentry span, such as `"db.query"`. Default:
///   `"function"`.
/// - `ok_if = path` or `error_if = path` (at most one): a `fn(&ReturnType) -> bool` that
///   decides the outcome instead of the return type.
/// - `tags(key = "value", ...)`: tags of the call's Sentry span and error events.
/// - `crate = path`: the path of this crate, when the dependency is renamed.
///
/// Without the default `enabled` feature the arguments are still checked and the function is
/// emitted unchanged.
///
/// # Examples
///
/// A sync function whose `Err` counts as an error:
///
/// ```
/// use vk_monitor::monitored;
///
/// #[monitored]
/// fn parse_id(text: &str) -> Result<u64, std::num::ParseIntError> {
///     text.parse()
/// }
///
/// # fn main() -> Result<(), vk_monitor::ExporterError> {
/// // Once per process, before the calls to record (`vk_monitor::init!()` in an application).
/// let exporter = vk_monitor::Exporter::install()?;
///
/// assert_eq!(parse_id("7"), Ok(7));
/// assert!(parse_id("seven").is_err());
///
/// let exposition = exporter.render();
/// let module = module_path!();
/// for result in ["ok", "error"] {
///     let calls = format!(
///         r#"function_calls_total{{function="parse_id",module="{module}",result="{result}"}} 1"#
///     );
///     assert!(exposition.contains(&calls));
/// }
/// # Ok(()) }
/// ```
///
/// Async functions and methods, with the arguments:
///
/// ```
/// use vk_monitor::monitored;
///
/// struct Calls;
///
/// impl Calls {
///     // Labelled `Calls::find`; its Sentry span is a database query.
///     #[monitored(op = "db.query")]
///     async fn find(&self, id: u64) -> Result<Option<String>, std::io::Error> {
///         Ok((id == 7).then(|| "call 7".to_owned()))
///     }
/// }
///
/// fn is_empty(transcript: &String) -> bool {
///     transcript.is_empty()
/// }
///
/// // An empty transcript is a failure, although the type cannot say so.
/// #[monitored(name = "transcribe", error_if = is_empty, tags(provider = "speech"))]
/// async fn transcribe_call(audio: &[u8]) -> String {
///     String::from_utf8_lossy(audio).into_owned()
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let exporter = vk_monitor::Exporter::install()?;
///
///     assert_eq!(Calls.find(7).await?, Some("call 7".to_owned()));
///     assert_eq!(transcribe_call(b"").await, "");
///
///     let exposition = exporter.render();
///     let module = module_path!();
///     assert!(exposition.contains(&format!(
///         r#"function_calls_total{{function="Calls::find",module="{module}",result="ok"}} 1"#
///     )));
///     assert!(exposition.contains(&format!(
///         r#"function_errors_total{{function="transcribe",module="{module}",kind="error"}} 1"#
///     )));
///     Ok(())
/// }
/// ```
pub use vk_monitor_macros::monitored;

/// Registers the annotated function as a health check, served by the routes of
/// [`Monitor::router`]: `/health` (liveness), `/ready` (readiness) or `/startup`.
///
/// The function takes no arguments, may be async, and returns `bool`, `Result<(), E>` with
/// `E: Display` (an `Err` fails with its text), [`HealthStatus`](health::HealthStatus) or
/// [`CheckReport`](health::CheckReport). A sync function runs on tokio's blocking pool, so a
/// check that blocks cannot stall the server. Annotated functions are collected at link time
/// into [`HealthRegistry::global`](health::HealthRegistry::global), the registry the
/// [`Monitor`] serves; a check that needs application state (a database pool) is registered
/// with [`HealthRegistry::register`](health::HealthRegistry::register) instead.
///
/// # Arguments
///
/// - `name = "..."`: the check's name in responses and in the `check` label; unique in the
///   crate. Default: the function's name.
/// - `kind = liveness`, `readiness` or `startup`. Default: `readiness`.
/// - `timeout = "500ms"` (`ms`, `s` or `m`): past it, the run fails. Default: 2 s.
/// - `critical = false`: a failure only degrades the aggregate status to `warn`. Default:
///   `true`.
/// - `crate = path`: the path of this crate, when the dependency is renamed.
///
/// # Examples
///
/// ```rust,standalone_crate
/// use vk_monitor::health::{CheckKind, HealthRegistry, HealthStatus};
/// use vk_monitor::health_check;
///
/// #[health_check(kind = liveness, timeout = "100ms")]
/// async fn event_loop() -> bool {
///     tokio::task::yield_now().await;
///     true
/// }
///
/// #[health_check(name = "feature_flags", critical = false)]
/// fn flags_loaded() -> Result<(), String> {
///     Err("no flags loaded yet".to_owned())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let registry = HealthRegistry::global();
/// assert_eq!(registry.report(CheckKind::Liveness).await.status, HealthStatus::Pass);
/// // A non-critical failure keeps the service ready, degraded: `/ready` answers 200, "warn".
/// assert_eq!(registry.readiness().await.status, HealthStatus::Warn);
/// # }
/// ```
pub use vk_monitor_macros::health_check;

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
