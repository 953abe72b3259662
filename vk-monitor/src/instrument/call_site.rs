//! Per-call-site metric handles and the guard that records one call.
//!
//! Each `#[monitored]` function owns one `static CallSite`. Its handles are registered on the
//! first call after the exporter is installed, then reused: the steady state is a few adds to
//! the calling thread's own copy of the site's counts and two raw clock reads, with no
//! registry lookup, label hashing, allocation or write to a line another core writes. A
//! traced call also leaves its trace as the exemplar of its duration bucket and of its count.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics::SharedString;
use sentry::protocol::Event;

use super::body::{InBody, in_body};
use super::outcome::Outcome;
use super::type_name::short_name_of;
use crate::metrics::is_recording;
use crate::metrics::names::{
    FUNCTION_CALL_DURATION_SECONDS, FUNCTION_CALLS_IN_FLIGHT, FUNCTION_CALLS_TOTAL,
    FUNCTION_ERRORS_TOTAL,
};
use crate::sentry::spans::{self, Reports};
use crate::sentry::{events, state};
use crate::work::{Ending, Families, LabelStyle, Objective, Unit, Work};

static FAMILIES: Families = Families {
    total: FUNCTION_CALLS_TOTAL,
    duration: FUNCTION_CALL_DURATION_SECONDS,
    in_flight: FUNCTION_CALLS_IN_FLIGHT,
    errors: Some(FUNCTION_ERRORS_TOTAL),
    ending_label: "result",
    style: LabelStyle::FunctionResult,
};

/// Series whose labels are known in advance start at zero, so that `rate()` and alerts see a
/// 0 rather than no data: every `result` of the call counter (`ok` first, so that it is the
/// first slot read), and the `error` and `panic` kinds of the error counter. Durations are
/// registered by the first call that ends each way: a function that never panics exports no
/// panic histogram.
const RESULTS: [Ending; 4] = [
    Ending::Ok,
    Ending::Failed("error"),
    Ending::Panicked,
    Ending::Cancelled,
];

/// The `static` each `#[monitored]` function owns.
pub struct CallSite {
    name: &'static str,
    module: &'static str,
    /// The Sentry span operation (`op = "..."`).
    op: &'static str,
    /// Static tags of the call's span and error events (`tags(key = "value")`).
    tags: &'static [(&'static str, &'static str)],
    /// `objective = ...`: its labels go on the calls counter and the duration histogram.
    objective: Option<&'static Objective>,
    /// The `function` label: the fn name, or `Type::method`.
    label: OnceLock<SharedString>,
    /// `module::function`, the Sentry span's description.
    description: OnceLock<Box<str>>,
    /// The site's series, registered on its first recorded call.
    unit: OnceLock<Unit>,
}

impl CallSite {
    /// A site labelled `name` (or `Type::name` for methods) in `module`, whose spans have the
    /// operation `op` and, with its error events, the `tags`.
    pub const fn new(
        name: &'static str,
        module: &'static str,
        op: &'static str,
        tags: &'static [(&'static str, &'static str)],
    ) -> Self {
        CallSite {
            name,
            module,
            op,
            tags,
            objective: None,
            label: OnceLock::new(),
            description: OnceLock::new(),
            unit: OnceLock::new(),
        }
    }

    /// The site, with the labels of `objective` on its calls and durations.
    pub const fn with_objective(mut self, objective: &'static Objective) -> Self {
        self.objective = Some(objective);
        self
    }

    /// Starts recording a call of a free function: `function` is the fn name.
    #[inline]
    pub fn start_call(&'static self) -> CallGuard {
        self.start_labelled(|| SharedString::const_str(self.name))
    }

    /// Starts recording a call of a method of `T`: `function` is `T::method`.
    #[inline]
    pub fn start_method_call<T: ?Sized>(&'static self) -> CallGuard {
        self.start_labelled(|| {
            let owner = short_name_of::<T>();
            SharedString::from(format!("{owner}::{}", self.name))
        })
    }

    #[inline]
    fn start_labelled(&'static self, function: impl FnOnce() -> SharedString) -> CallGuard {
        let (metrics_on, sentry_on) = (is_recording(), state::active());
        if !metrics_on && !sentry_on {
            return CallGuard::idle(self);
        }
        let function = self.label.get_or_init(function);
        let work = if metrics_on {
            Work::start(Some(self.unit.get_or_init(|| self.register(function))))
        } else {
            Work::idle()
        };
        let span = if sentry_on {
            self.start_span().map(Box::new)
        } else {
            None
        };
        CallGuard {
            site: self,
            work,
            span,
            sentry_on,
            nested_reports: Reports::new(),
            outcome: None,
            early_exit: Ending::Cancelled,
            suspended: AtomicBool::new(false),
        }
    }

    /// The call's span when it is traced: nothing is kept for a call that is not.
    #[cold]
    fn start_span(&'static self) -> Option<spans::Traced> {
        let description = self.description.get_or_init(|| {
            let function = self.label.get().map_or(self.name, |label| label);
            format!("{}::{function}", self.module).into_boxed_str()
        });
        let traced = spans::start(self.op, description)?;
        for (key, value) in self.tags {
            traced.set_tag(key, value);
        }
        Some(traced)
    }

    #[cold]
    fn register(&self, function: &str) -> Unit {
        let unit = Unit::new(
            &FAMILIES,
            &[("function", function), ("module", self.module)],
            self.objective,
        );
        unit.start_at_zero(&RESULTS, &["error", "panic"]);
        unit
    }
}

/// Records one call when dropped: with the outcome given to [`CallGuard::finish`], or as a
/// panic (the thread is unwinding) or a cancellation (the future was dropped) without one.
#[must_use = "the call is recorded when the guard is dropped"]
pub struct CallGuard {
    site: &'static CallSite,
    /// The metrics side: idle unless a recorder is installed.
    work: Work,
    /// The call's Sentry span, when it is traced; boxed so a guard without one stays small.
    span: Option<Box<spans::Traced>>,
    /// Whether a Sentry client runs: error outcomes are then captured.
    sentry_on: bool,
    /// Error events captured while the call's code ran (nested calls reporting): a failure
    /// that follows one already reported is the same failure, and is not captured again.
    nested_reports: Reports,
    outcome: Option<Outcome>,
    /// How a call that leaves without a value ends (a body run inline: its early return).
    early_exit: Ending,
    /// An async body between polls: a panic unwinding the thread now is another future's.
    suspended: AtomicBool,
}

impl CallGuard {
    fn idle(site: &'static CallSite) -> Self {
        CallGuard {
            site,
            work: Work::idle(),
            span: None,
            sentry_on: false,
            nested_reports: Reports::new(),
            outcome: None,
            early_exit: Ending::Cancelled,
            suspended: AtomicBool::new(false),
        }
    }

    /// Records the call with this outcome; for an error outcome with Sentry on, captures the
    /// event `error_event` makes of the returned value. A `dyn` closure, called only for an
    /// error, so that this and [`CallGuard::capture`] are compiled once, not per annotated fn.
    #[inline]
    pub fn finish(mut self, outcome: Outcome, error_event: &dyn Fn() -> Option<Event<'static>>) {
        self.outcome = Some(outcome);
        if let Outcome::Error { .. } = outcome
            && self.sentry_on
        {
            self.capture(error_event);
        }
    }

    #[cold]
    #[inline(never)]
    fn capture(&self, error_event: &dyn Fn() -> Option<Event<'static>>) {
        if self.nested_reports.any() {
            return;
        }
        let Some(mut event) = error_event() else {
            return;
        };
        let site = self.site;
        for (key, value) in site.tags {
            event.tags.insert((*key).to_owned(), (*value).to_owned());
        }
        let function = site.label.get().map_or(site.name, |label| label);
        events::capture(event, function, site.module, self.span.as_deref());
    }

    /// For bodies that run inline (`#[track_caller]` fns): leaving without a value is an early
    /// `return` or `?`, not a cancellation, and its value cannot be seen; count it as ok.
    #[inline]
    pub fn count_early_exit_as_ok(&mut self) {
        self.early_exit = Ending::Ok;
    }

    /// The call's `function` label: `Type::method` for methods, the name otherwise.
    #[inline]
    pub fn function(&self) -> &str {
        self.site.label.get().map_or(self.site.name, |label| label)
    }

    /// Makes the call's span current, and watches for nested reports, until the returned value
    /// is dropped (sync bodies, so that calls inside them are its children).
    #[inline]
    pub fn enter(&self) -> Option<spans::Entered<'_>> {
        self.sentry_on
            .then(|| spans::enter_call(self.span.as_deref(), Some(&self.nested_reports)))
    }

    /// Polls an async body with the call's span current.
    #[inline]
    pub fn instrument<F>(&self, body: F) -> InBody<'_, F> {
        let nested = self.sentry_on.then_some(&self.nested_reports);
        in_body(
            spans::in_span(self.span.as_deref(), nested, body),
            &self.suspended,
        )
    }
}

impl Drop for CallGuard {
    #[inline]
    fn drop(&mut self) {
        if let (true, None, Some(Outcome::Ok)) = (self.work.is_recorded(), &self.span, self.outcome)
        {
            self.work.end(Ending::Ok, None);
        } else if self.work.is_recorded() || self.span.is_some() {
            self.record_unusual();
        }
    }
}

impl CallGuard {
    /// Errors, panics, early exits and traced calls: out of line so the ok path stays small.
    #[cold]
    #[inline(never)]
    fn record_unusual(&mut self) {
        let ending = match self.outcome {
            Some(Outcome::Ok) => Ending::Ok,
            Some(Outcome::Error { kind }) => Ending::Failed(kind),
            // Only the call the panic went through: a future dropped, suspended, while another
            // one's panic unwinds the thread (a `join!` sibling) was cancelled.
            None if std::thread::panicking() && !self.suspended.load(Ordering::Relaxed) => {
                Ending::Panicked
            }
            None => self.early_exit,
        };
        let trace = self.span.as_deref().map(spans::Traced::ids);
        self.work.end(ending, trace);
        if let Some(traced) = self.span.take() {
            (*traced).end(ending);
        }
    }
}
