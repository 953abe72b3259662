//! Health checks: a registry of liveness, readiness and startup checks, served as `/health`,
//! `/ready` and `/startup` in the `application/health+json` format.
//!
//! Checks of a kind run concurrently, each under its timeout (default 2 s) with its panics
//! caught, so a response never waits for a hung dependency longer than the slowest timeout.
//! Results are cached briefly (default 1 s) and concurrent probes share one run. Readiness
//! fails until every startup check has passed once, and again once
//! [`HealthRegistry::shutdown`] is called, while liveness keeps passing.
//!
//! Functions marked `#[health_check]` register themselves:
//!
//! ```
//! use vk_monitor::health_check;
//!
//! #[health_check(kind = liveness, timeout = "100ms")]
//! fn event_loop() -> bool {
//!     true
//! }
//!
//! #[health_check(name = "cache", critical = false)]
//! async fn cache_reachable() -> Result<(), std::io::Error> {
//!     Ok(())
//! }
//! ```
//!
//! Every run updates `health_check_up{check, kind}` (1 for pass or warn, 0 for fail) and
//! `health_check_duration_seconds{check, kind}`.

pub(crate) mod annotated;
mod check;
mod duplicate;
mod endpoint;
mod registry;

pub use check::{
    CheckFuture, CheckKind, CheckReport, CheckSpec, HealthCheck, HealthStatus, IntoCheckReport,
};
pub use duplicate::DuplicateCheck;
pub(crate) use endpoint::Audience;
pub use endpoint::{CONTENT_TYPE, HealthView};
pub use registry::{CheckResult, HealthRegistry, HealthReport, aggregate};
