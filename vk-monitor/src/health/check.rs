//! What a health check is and what it reports: statuses, kinds, reports, and the conversions
//! from what a check function returns.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The result of a check, or of a group of checks: the worst one wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HealthStatus {
    /// Healthy.
    Pass,
    /// Degraded but serving: answered with `200`.
    Warn,
    /// Unhealthy: answered with `503`.
    Fail,
}

impl HealthStatus {
    /// `pass`, `warn` or `fail`, as in the health-check response format.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Pass => "pass",
            HealthStatus::Warn => "warn",
            HealthStatus::Fail => "fail",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which probe a check answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// `GET /health`: is the process alive? Must not depend on other systems, or an outage
    /// of one restarts every replica.
    Liveness,
    /// `GET /ready`: can it serve traffic now? Dependencies belong here.
    Readiness,
    /// `GET /startup`: has it finished starting? Readiness fails until these pass once.
    Startup,
}

impl CheckKind {
    /// `liveness`, `readiness` or `startup`: the `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Liveness => "liveness",
            CheckKind::Readiness => "readiness",
            CheckKind::Startup => "startup",
        }
    }
}

/// What one run of a check found.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// The check's status.
    pub status: HealthStatus,
    /// Why, in words: shown only when details are enabled.
    pub output: Option<String>,
    /// A value the check observed (a pool size, a lag), with its unit.
    pub observed: Option<(f64, Cow<'static, str>)>,
}

impl CheckReport {
    /// A passing report.
    pub fn pass() -> Self {
        CheckReport {
            status: HealthStatus::Pass,
            output: None,
            observed: None,
        }
    }

    /// A degraded report, with the reason.
    pub fn warn(output: impl Into<String>) -> Self {
        CheckReport {
            status: HealthStatus::Warn,
            output: Some(output.into()),
            observed: None,
        }
    }

    /// A failing report, with the reason.
    pub fn fail(output: impl Into<String>) -> Self {
        CheckReport {
            status: HealthStatus::Fail,
            output: Some(output.into()),
            observed: None,
        }
    }

    /// Adds an observed value, such as `(3.0, "connections")`.
    pub fn observed(mut self, value: f64, unit: impl Into<Cow<'static, str>>) -> Self {
        self.observed = Some((value, unit.into()));
        self
    }
}

/// What a health check function may return.
///
/// `Result<(), E>` with `E: Display` (an `Err` fails with its text), `bool`, [`HealthStatus`]
/// or [`CheckReport`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a health check result",
    label = "a health check returns `Result<(), E: Display>`, `bool`, `HealthStatus` or `CheckReport`",
    note = "for a check that needs application state, register a closure with `HealthRegistry::register`"
)]
pub trait IntoCheckReport {
    /// The report for this value.
    fn into_check_report(self) -> CheckReport;
}

impl IntoCheckReport for CheckReport {
    fn into_check_report(self) -> CheckReport {
        self
    }
}

impl IntoCheckReport for HealthStatus {
    fn into_check_report(self) -> CheckReport {
        CheckReport {
            status: self,
            output: None,
            observed: None,
        }
    }
}

impl IntoCheckReport for bool {
    fn into_check_report(self) -> CheckReport {
        if self {
            CheckReport::pass()
        } else {
            CheckReport::fail("check returned false")
        }
    }
}

impl<E: fmt::Display> IntoCheckReport for Result<(), E> {
    fn into_check_report(self) -> CheckReport {
        match self {
            Ok(()) => CheckReport::pass(),
            Err(error) => CheckReport::fail(error.to_string()),
        }
    }
}

/// A boxed future of a report.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckReport> + Send + 'a>>;

/// A check that needs state (a database pool, a client): implement it, or register a closure
/// returning a future of any [`IntoCheckReport`] value.
///
/// ```
/// use vk_monitor::health::{CheckFuture, CheckReport, HealthCheck};
///
/// struct QueueDepth(std::sync::Arc<std::sync::atomic::AtomicUsize>);
///
/// impl HealthCheck for QueueDepth {
///     fn check(&self) -> CheckFuture<'_> {
///         let depth = self.0.load(std::sync::atomic::Ordering::Relaxed);
///         Box::pin(async move {
///             let report = if depth < 1000 { CheckReport::pass() } else { CheckReport::warn("backlog") };
///             report.observed(depth as f64, "jobs")
///         })
///     }
/// }
/// ```
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check once.
    fn check(&self) -> CheckFuture<'_>;
}

impl<F, Fut, R> HealthCheck for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoCheckReport,
{
    fn check(&self) -> CheckFuture<'_> {
        let future = self();
        Box::pin(async move { future.await.into_check_report() })
    }
}

/// How a check is registered: its name, kind, timeout, criticality.
#[derive(Clone, Debug)]
pub struct CheckSpec {
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: CheckKind,
    pub(crate) timeout: Duration,
    pub(crate) critical: bool,
    pub(crate) component_type: Cow<'static, str>,
}

impl CheckSpec {
    /// The default time a check may take before it counts as failed.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// A check of `kind` named `name`: critical, with the default timeout.
    pub fn new(name: impl Into<Cow<'static, str>>, kind: CheckKind) -> Self {
        CheckSpec {
            name: name.into(),
            kind,
            timeout: Self::DEFAULT_TIMEOUT,
            critical: true,
            component_type: Cow::Borrowed("component"),
        }
    }

    /// A liveness check.
    pub fn liveness(name: impl Into<Cow<'static, str>>) -> Self {
        CheckSpec::new(name, CheckKind::Liveness)
    }

    /// A readiness check.
    pub fn readiness(name: impl Into<Cow<'static, str>>) -> Self {
        CheckSpec::new(name, CheckKind::Readiness)
    }

    /// A startup check.
    pub fn startup(name: impl Into<Cow<'static, str>>) -> Self {
        CheckSpec::new(name, CheckKind::Startup)
    }

    /// How long the check may run; past it, it fails. Default 2 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether a failure fails the aggregate (default) or only degrades it to `warn`.
    pub fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }

    /// The `componentType` in the response (`datastore`, `system`, `component`...).
    pub fn component_type(mut self, component_type: impl Into<Cow<'static, str>>) -> Self {
        self.component_type = component_type.into();
        self
    }
}
