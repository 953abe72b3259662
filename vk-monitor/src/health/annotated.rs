//! `#[health_check]` functions: what the expansion registers at link time, and how each kind
//! of function is run (an async one as a future, a sync one on tokio's blocking pool, at most
//! one run at a time).

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::check::{CheckFuture, CheckKind, CheckReport, CheckSpec, HealthCheck, IntoCheckReport};

/// A `#[health_check]` function, collected at link time. Its defaults are [`CheckSpec`]'s.
pub struct AnnotatedCheck {
    name: &'static str,
    /// `module::function`, named when another check has the same name.
    function: &'static str,
    kind: CheckKind,
    timeout: Duration,
    critical: bool,
    run: fn() -> CheckFuture<'static>,
}

inventory::collect!(AnnotatedCheck);

impl AnnotatedCheck {
    /// A critical readiness check of `function` with the default timeout.
    pub const fn new(
        name: &'static str,
        function: &'static str,
        run: fn() -> CheckFuture<'static>,
    ) -> Self {
        AnnotatedCheck {
            name,
            function,
            kind: CheckKind::Readiness,
            timeout: CheckSpec::DEFAULT_TIMEOUT,
            critical: true,
            run,
        }
    }

    /// `kind = ...`.
    pub const fn kind(mut self, kind: CheckKind) -> Self {
        self.kind = kind;
        self
    }

    /// `timeout = "..."`.
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `critical = ...`.
    pub const fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }

    /// What the registry registers for it, and the function it names in a conflict.
    pub(super) fn registration(&self) -> (CheckSpec, &'static str, impl HealthCheck + 'static) {
        let spec = CheckSpec::new(self.name, self.kind)
            .timeout(self.timeout)
            .critical(self.critical);
        (spec, self.function, AnnotatedRun(self.run))
    }
}

/// A `#[health_check]` function as a [`HealthCheck`].
struct AnnotatedRun(fn() -> CheckFuture<'static>);

impl HealthCheck for AnnotatedRun {
    fn check(&self) -> CheckFuture<'_> {
        (self.0)()
    }
}

/// Runs an async `#[health_check]` function.
pub fn run_async<F, R>(future: F) -> CheckFuture<'static>
where
    F: Future<Output = R> + Send + 'static,
    R: IntoCheckReport,
{
    Box::pin(async move { future.await.into_check_report() })
}

/// Runs a sync `#[health_check]` function on the blocking pool, so a check that blocks cannot
/// stall the server, and its timeout still applies. A blocking thread cannot be cancelled: while
/// a run has not returned, the next ones fail at once instead of taking another thread each,
/// so a check stuck for good holds one thread, not the whole pool.
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
        // The caller's Sentry hub goes along: events of a check run for an excluded route
        // (`/ready`) are known as that route's on the blocking thread too.
        let hub = sentry::Hub::current();
        let run = tokio::task::spawn_blocking(move || {
            let _running = running;
            sentry::Hub::run(hub, check)
        });
        match run.await {
            Ok(result) => result.into_check_report(),
            Err(error) => CheckReport::fail(format!("the check did not complete: {error}")),
        }
    })
}

/// Sync checks with a run on a blocking thread; the mark is removed when that run returns.
static BLOCKING_RUNS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

struct BlockingRun(usize);

impl BlockingRun {
    fn start(check: usize) -> Option<Self> {
        let mut runs = BLOCKING_RUNS.lock().unwrap_or_else(PoisonError::into_inner);
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
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|&check| check != self.0);
    }
}
