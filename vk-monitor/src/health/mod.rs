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

mod check;
mod endpoint;
mod registry;

pub use check::{
    CheckFuture, CheckKind, CheckReport, CheckSpec, HealthCheck, HealthStatus, IntoCheckReport,
};
pub(crate) use endpoint::Details;
pub use endpoint::HEALTH_CONTENT_TYPE;
pub use registry::{CheckResult, HealthRegistry, HealthReport, aggregate};

#[doc(hidden)]
pub use registry::AnnotatedCheck;

/// Runs an async `#[health_check]` function.
#[doc(hidden)]
pub fn run_async<F, R>(future: F) -> CheckFuture<'static>
where
    F: std::future::Future<Output = R> + Send + 'static,
    R: IntoCheckReport,
{
    Box::pin(async move { future.await.into_check_report() })
}

/// Runs a sync `#[health_check]` function on the blocking pool, so a check that blocks cannot
/// stall the server, and its timeout still applies. A blocking thread cannot be cancelled: while
/// a run has not returned, the next ones fail at once instead of taking another thread each,
/// so a check stuck for good holds one thread, not the whole pool.
#[doc(hidden)]
pub fn run_blocking<R>(check: fn() -> R) -> CheckFuture<'static>
where
    R: IntoCheckReport + Send + 'static,
{
    Box::pin(async move {
        // The function's address identifies the check.
        let Some(running) = BlockingRun::start(check as usize) else {
            return CheckReport::fail(
                "the previous run has not returned yet; no other is started until it does",
            );
        };
        let run = tokio::task::spawn_blocking(move || {
            let _running = running;
            check()
        });
        match run.await {
            Ok(result) => result.into_check_report(),
            Err(error) => CheckReport::fail(format!("the check did not complete: {error}")),
        }
    })
}

/// Sync checks with a run on a blocking thread; the mark is removed when that run returns.
static BLOCKING_RUNS: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

struct BlockingRun(usize);

impl BlockingRun {
    fn start(check: usize) -> Option<Self> {
        let mut runs = BLOCKING_RUNS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if runs.contains(&check) {
            return None;
        }
        runs.push(check);
        Some(BlockingRun(check))
    }
}

impl Drop for BlockingRun {
    fn drop(&mut self) {
        BLOCKING_RUNS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|&check| check != self.0);
    }
}
