//! The registry: runs the checks of a kind concurrently, each under its timeout and with its
//! panics caught, caches the result briefly and shares one run among concurrent probes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::annotated::AnnotatedCheck;
use super::check::{CheckKind, CheckReport, CheckSpec, HealthCheck, HealthStatus};
use super::duplicate::DuplicateCheck;
use crate::catch_panic::{self, CatchPanic};
use crate::metrics::gauge::{self, Gauge};
use crate::metrics::names::{HEALTH_CHECK_DURATION_SECONDS, HEALTH_CHECK_UP, help};
use crate::metrics::{HandleCache, Histogram, histogram, is_recording};

/// One check's result in a report.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// Its `componentType`.
    pub component_type: String,
    /// Whether its failure fails the aggregate.
    pub critical: bool,
    /// What it reported (a timeout or a panic is a failing report saying so).
    pub report: CheckReport,
    /// How long it ran.
    pub duration: Duration,
    /// When it ran.
    pub time: SystemTime,
}

/// The result of running every check of a kind.
#[derive(Clone, Debug)]
pub struct HealthReport {
    /// The aggregate: the worst of the checks, a non-critical failure counting as `warn`.
    pub status: HealthStatus,
    /// Each check's result, in registration order.
    pub checks: Vec<CheckResult>,
}

impl HealthReport {
    fn from_checks(checks: Vec<CheckResult>) -> Self {
        let status = aggregate(checks.iter().map(|c| (c.report.status, c.critical)));
        HealthReport { status, checks }
    }
}

/// The worst status; a non-critical check's failure only degrades the aggregate to `warn`.
/// No checks: `pass`.
pub fn aggregate(statuses: impl IntoIterator<Item = (HealthStatus, bool)>) -> HealthStatus {
    statuses
        .into_iter()
        .map(|(status, critical)| match status {
            HealthStatus::Fail if !critical => HealthStatus::Warn,
            status => status,
        })
        .max()
        .unwrap_or(HealthStatus::Pass)
}

/// A check's `health_check_up` and `health_check_duration_seconds` series.
type CheckSeries = (&'static Gauge, &'static Histogram);

struct Registered {
    spec: CheckSpec,
    /// The `#[health_check]` function, for an annotated check.
    function: Option<&'static str>,
    check: Box<dyn HealthCheck>,
    metrics: OnceLock<CheckSeries>,
}

struct Cached {
    at: Instant,
    report: Arc<HealthReport>,
}

struct Inner {
    checks: RwLock<Vec<Arc<Registered>>>,
    cache_nanos: AtomicU64,
    show_details: AtomicBool,
    startup_passed: AtomicBool,
    shutting_down: AtomicBool,
    /// One per kind: the lock is the single flight, the value the cache.
    runs: [tokio::sync::Mutex<Option<Cached>>; 3],
    started: Instant,
}

/// The health checks of a service, and their last results.
///
/// [`HealthRegistry::global`] holds every `#[health_check]` function linked into the binary;
/// add checks that need state with [`register`](HealthRegistry::register).
///
/// ```
/// use std::time::Duration;
/// use vk_monitor::health::{CheckKind, CheckSpec, HealthRegistry, HealthStatus};
///
/// # #[derive(Clone)]
/// # struct Pool;
/// # impl Pool {
/// #     async fn ping(&self) -> Result<(), std::io::Error> { Ok(()) }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), vk_monitor::health::DuplicateCheck> {
/// # let pool = Pool;
/// // In an application, `monitor.health()`: the registry its router serves.
/// let registry = HealthRegistry::new();
/// registry.register(
///     CheckSpec::readiness("database")
///         .component_type("datastore")
///         .timeout(Duration::from_millis(500)),
///     move || {
///         let pool = pool.clone();
///         async move { pool.ping().await }
///     },
/// )?;
/// registry.register(CheckSpec::readiness("speech_provider").critical(false), || async {
///     Err::<(), _>("connection refused")
/// })?;
///
/// let report = registry.readiness().await;
/// // The provider is down but not critical: ready, degraded.
/// assert_eq!(report.status, HealthStatus::Warn);
/// assert_eq!(report.checks[1].report.output.as_deref(), Some("connection refused"));
///
/// registry.shutdown();
/// assert_eq!(registry.readiness().await.status, HealthStatus::Fail);
/// assert_eq!(registry.report(CheckKind::Liveness).await.status, HealthStatus::Pass);
/// # Ok::<(), vk_monitor::health::DuplicateCheck>(())
/// # }
/// ```
#[derive(Clone)]
pub struct HealthRegistry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HealthRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let checks = self
            .inner
            .checks
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let names: Vec<&str> = checks.iter().map(|c| &*c.spec.name).collect();
        f.debug_struct("HealthRegistry")
            .field("checks", &names)
            .finish_non_exhaustive()
    }
}

impl Default for HealthRegistry {
    fn default() -> Self {
        HealthRegistry::new()
    }
}

impl HealthRegistry {
    /// The default interval results are reused for.
    pub const DEFAULT_CACHE: Duration = Duration::from_secs(1);

    /// An empty registry.
    pub fn new() -> Self {
        HealthRegistry {
            inner: Arc::new(Inner {
                checks: RwLock::new(Vec::new()),
                cache_nanos: AtomicU64::new(Self::DEFAULT_CACHE.as_nanos() as u64),
                show_details: AtomicBool::new(false),
                startup_passed: AtomicBool::new(false),
                shutting_down: AtomicBool::new(false),
                runs: [const { tokio::sync::Mutex::const_new(None) }; 3],
                started: Instant::now(),
            }),
        }
    }

    /// The process's registry, holding every `#[health_check]` function of the binary. Of two
    /// functions with one name, the first linked is registered and the conflict kept:
    /// [`Monitor`](crate::Monitor)'s start-up fails with it ([`annotated_conflict`]).
    ///
    /// [`annotated_conflict`]: Self::annotated_conflict
    pub fn global() -> &'static HealthRegistry {
        &global().0
    }

    /// Two `#[health_check]` functions of the binary with one name, if there are.
    pub fn annotated_conflict() -> Option<&'static DuplicateCheck> {
        global().1.as_ref()
    }

    /// Adds every `#[health_check]` function linked into the binary; of two with one name (or
    /// with a check registered before), the first, and the conflict is returned once all the
    /// others are added.
    pub fn register_annotated(&self) -> Result<(), DuplicateCheck> {
        let mut conflict = None;
        for annotated in inventory::iter::<AnnotatedCheck> {
            let (spec, function, check) = annotated.registration();
            if let Err(duplicate) = self.add(spec, Some(function), Box::new(check)) {
                conflict.get_or_insert(duplicate);
            }
        }
        conflict.map_or(Ok(()), Err)
    }

    /// Adds a check, unless the registry has one with its name already: the responses and the
    /// `check` label would show two results nobody could tell apart.
    pub fn register(&self, spec: CheckSpec, check: impl HealthCheck) -> Result<(), DuplicateCheck> {
        self.add(spec, None, Box::new(check))
    }

    fn add(
        &self,
        spec: CheckSpec,
        function: Option<&'static str>,
        check: Box<dyn HealthCheck>,
    ) -> Result<(), DuplicateCheck> {
        let mut checks = self
            .inner
            .checks
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(taken) = checks.iter().find(|taken| taken.spec.name == spec.name) {
            return Err(DuplicateCheck::new(spec.name, taken.function, function));
        }
        checks.push(Arc::new(Registered {
            spec,
            function,
            check,
            metrics: OnceLock::new(),
        }));
        Ok(())
    }

    /// The names and kinds of the registered checks.
    pub fn checks(&self) -> Vec<(String, CheckKind)> {
        let checks = self
            .inner
            .checks
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        checks
            .iter()
            .map(|c| (c.spec.name.to_string(), c.spec.kind))
            .collect()
    }

    /// How long a result is reused before the checks run again. Default 1 s. Callers that
    /// arrive while the checks run share that run's result, whatever the interval, zero
    /// included.
    pub fn set_cache_interval(&self, interval: Duration) {
        self.inner
            .cache_nanos
            .store(interval.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Whether responses include each check's `output` (failure reasons). Default: off, since
    /// a public probe must not leak internals.
    pub fn set_show_details(&self, show: bool) {
        self.inner.show_details.store(show, Ordering::Relaxed);
    }

    pub(crate) fn show_details(&self) -> bool {
        self.inner.show_details.load(Ordering::Relaxed)
    }

    /// Graceful shutdown has begun: readiness fails from now on (liveness does not), so load
    /// balancers stop sending traffic before the process exits.
    pub fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Relaxed)
    }

    pub(crate) fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// The report of a kind's checks: cached for the cache interval, and run once for all
    /// concurrent callers.
    pub async fn report(&self, kind: CheckKind) -> Arc<HealthReport> {
        let asked = Instant::now();
        let slot = &self.inner.runs[kind as usize];
        let mut cached = slot.lock().await;
        let fresh_for = Duration::from_nanos(self.inner.cache_nanos.load(Ordering::Relaxed));
        // A report that ended after this caller asked comes from a run it waited for: taking
        // it is the single flight. Without that, callers queued behind a run would each run the
        // checks again in turn once the interval is shorter than a run, up to a timeout each.
        if let Some(cached) = cached
            .as_ref()
            .filter(|c| c.at >= asked || c.at.elapsed() < fresh_for)
        {
            return Arc::clone(&cached.report);
        }
        let report = Arc::new(self.run(kind).await);
        *cached = Some(Cached {
            at: Instant::now(),
            report: Arc::clone(&report),
        });
        report
    }

    /// What `/ready` answers: the readiness checks, failing until the startup checks have
    /// passed once and after shutdown has begun.
    pub async fn readiness(&self) -> HealthReport {
        // Both kinds at once while start-up is pending, so a probe waits for the slowest
        // timeout of the two, not their sum.
        let (readiness, startup) = if self.inner.startup_passed.load(Ordering::Relaxed) {
            (self.report(CheckKind::Readiness).await, None)
        } else {
            let (readiness, startup) = futures_util::future::join(
                self.report(CheckKind::Readiness),
                self.report(CheckKind::Startup),
            )
            .await;
            (readiness, Some(startup))
        };
        let mut report = HealthReport::clone(&*readiness);
        if let Some(startup) = startup {
            if startup.status == HealthStatus::Fail {
                report.status = HealthStatus::Fail;
                report.checks.extend(startup.checks.iter().cloned());
            } else {
                self.inner.startup_passed.store(true, Ordering::Relaxed);
            }
        }
        if self.is_shutting_down() {
            report.status = HealthStatus::Fail;
            report.checks.push(CheckResult {
                name: "shutdown".into(),
                component_type: "system".into(),
                critical: true,
                report: CheckReport::fail("the service is shutting down"),
                duration: Duration::ZERO,
                time: SystemTime::now(),
            });
        }
        report
    }

    async fn run(&self, kind: CheckKind) -> HealthReport {
        let checks: Vec<Arc<Registered>> = {
            let all = self
                .inner
                .checks
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            all.iter()
                .filter(|c| c.spec.kind == kind)
                .cloned()
                .collect()
        };
        let results = futures_util::future::join_all(checks.iter().map(|c| run_one(c))).await;
        HealthReport::from_checks(results)
    }
}

async fn run_one(registered: &Registered) -> CheckResult {
    let spec = &registered.spec;
    let time = SystemTime::now();
    let start = Instant::now();
    // `check` is the check's own code too, run before there is a future to poll: a panic in
    // it is caught like one while polling, or it would fail the whole probe.
    let outcome = match catch_panic::call(|| registered.check.check()) {
        Ok(check) => tokio::time::timeout(spec.timeout, CatchPanic::new(check)).await,
        Err(panic) => Ok(Err(panic)),
    };
    let duration = start.elapsed();
    let report = match outcome {
        Ok(Ok(report)) => report,
        Ok(Err(panic)) => CheckReport::fail(format!(
            "the check panicked: {}",
            catch_panic::message(&panic)
        )),
        Err(_) => CheckReport::fail(format!("the check timed out after {:?}", spec.timeout)),
    };
    record_metrics(registered, report.status, duration);
    CheckResult {
        name: spec.name.to_string(),
        component_type: spec.component_type.to_string(),
        critical: spec.critical,
        report,
        duration,
        time,
    }
}

fn record_metrics(registered: &Registered, status: HealthStatus, duration: Duration) {
    if !is_recording() {
        return;
    }
    let &(up, seconds) = registered.metrics.get_or_init(|| {
        // One series per check name and kind in the process, however many registries have it.
        static SERIES: HandleCache<(String, &'static str), CheckSeries> = HandleCache::new();
        let key = (
            registered.spec.name.to_string(),
            registered.spec.kind.as_str(),
        );
        *SERIES.get_or_insert(&key, |key| {
            let labels = [("check", &*key.0), ("kind", key.1)];
            let up = gauge::set(HEALTH_CHECK_UP, help(HEALTH_CHECK_UP), &labels, 0.0);
            let seconds = HEALTH_CHECK_DURATION_SECONDS;
            let series = (up, histogram::register(seconds, help(seconds), &labels));
            (key.clone(), series)
        })
    });
    up.set(if status == HealthStatus::Fail {
        0.0
    } else {
        1.0
    });
    seconds.record(duration);
}

/// The process's registry and the conflict its annotated checks had, if any.
fn global() -> &'static (HealthRegistry, Option<DuplicateCheck>) {
    static GLOBAL: LazyLock<(HealthRegistry, Option<DuplicateCheck>)> = LazyLock::new(|| {
        let registry = HealthRegistry::new();
        let conflict = registry.register_annotated().err();
        (registry, conflict)
    });
    &GLOBAL
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthStatus::{Fail, Pass, Warn};

    #[test]
    fn the_worst_status_wins_and_non_critical_failures_only_warn() {
        let table = [
            (vec![], Pass),
            (vec![(Pass, true)], Pass),
            (vec![(Pass, true), (Warn, true)], Warn),
            (vec![(Pass, true), (Fail, true)], Fail),
            (vec![(Pass, true), (Fail, false)], Warn),
            (vec![(Warn, false), (Fail, false)], Warn),
            (vec![(Fail, false), (Fail, true)], Fail),
            (vec![(Warn, true), (Pass, false)], Warn),
            (vec![(Pass, false), (Pass, false)], Pass),
        ];
        for (checks, expected) in table {
            assert_eq!(aggregate(checks.clone()), expected, "{checks:?}");
        }
    }
}
