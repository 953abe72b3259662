//! Per-call-site metric handles and the guard that records one call.
//!
//! Each `#[monitored]` function owns one `static CallSite`. Its handles are registered on the
//! first call after the exporter is installed, then reused: the steady state is a few adds to
//! the calling thread's own copy of the site's counts and two raw clock reads, with no
//! registry lookup, label hashing, allocation or write to a line another core writes. A
//! traced call also leaves its trace as the exemplar of its duration bucket and of its count.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use metrics::{Counter, SharedString};
use quanta::Clock;
use sentry::protocol::{Event, SpanStatus};

use super::body::{InBody, in_body};
use super::outcome::Outcome;
use super::type_name::short_name_of;
use crate::metrics::counter::{self, Counter as CallCounter};
use crate::metrics::exemplar::TraceIds;
use crate::metrics::names::{
    FUNCTION_CALL_DURATION_HELP, FUNCTION_CALL_DURATION_SECONDS, FUNCTION_CALLS_HELP,
    FUNCTION_CALLS_IN_FLIGHT, FUNCTION_CALLS_TOTAL, FUNCTION_ERRORS_TOTAL,
};
use crate::metrics::{HandleCache, Histogram, InFlight, histogram, is_recording, record_finished};
use crate::sentry::{events, spans, state};

/// The `result` label of a finished call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallResult {
    Ok = 0,
    Error = 1,
    Panic = 2,
    Cancelled = 3,
}

const RESULTS: [CallResult; 4] = [
    CallResult::Ok,
    CallResult::Error,
    CallResult::Panic,
    CallResult::Cancelled,
];

impl CallResult {
    /// The status of the call's Sentry span.
    fn span_status(self) -> SpanStatus {
        match self {
            CallResult::Ok => SpanStatus::Ok,
            CallResult::Error => SpanStatus::InternalError,
            CallResult::Panic => SpanStatus::Aborted,
            CallResult::Cancelled => SpanStatus::Cancelled,
        }
    }

    const fn label(self) -> &'static str {
        match self {
            CallResult::Ok => "ok",
            CallResult::Error => "error",
            CallResult::Panic => "panic",
            CallResult::Cancelled => "cancelled",
        }
    }
}

/// Handles shared by every call of a site, registered on its first recorded call.
///
/// Series whose labels are known in advance start at zero, so that `rate()` and alerts see a
/// 0 rather than no data: every `result` of the call counter, and the `error` and `panic`
/// kinds of the error counter.
struct SiteHandles {
    function: SharedString,
    clock: &'static Clock,
    in_flight: &'static InFlight,
    calls: [&'static CallCounter; 4],
}

/// The `static` each `#[monitored]` function owns.
pub struct CallSite {
    name: &'static str,
    module: &'static str,
    /// The Sentry span operation (`op = "..."`).
    op: &'static str,
    /// Static tags of the call's span and error events (`tags(key = "value")`).
    tags: &'static [(&'static str, &'static str)],
    /// The `function` label: the fn name, or `Type::method`.
    label: OnceLock<SharedString>,
    /// `module::function`, the Sentry span's description.
    description: OnceLock<Box<str>>,
    handles: OnceLock<SiteHandles>,
    /// Per `CallResult`, registered on the first call that ends that way, so a function that
    /// never panics exports no panic histogram.
    durations: [OnceLock<&'static Histogram>; 4],
    /// `function_errors_total` per kind. Kinds are `&'static str` and few.
    error_kinds: HandleCache<&'static str, Counter>,
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
            label: OnceLock::new(),
            description: OnceLock::new(),
            handles: OnceLock::new(),
            durations: [const { OnceLock::new() }; 4],
            error_kinds: HandleCache::new(),
        }
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
        let call = metrics_on.then(|| {
            let handles = self.handles.get_or_init(|| self.register(function.clone()));
            handles.in_flight.enter();
            ActiveCall {
                handles,
                start: handles.clock.raw(),
            }
        });
        let span = if sentry_on {
            self.start_span().map(Box::new)
        } else {
            None
        };
        CallGuard {
            site: self,
            call,
            span,
            sentry_on,
            nested_reports: AtomicU32::new(0),
            outcome: None,
            early_exit: CallResult::Cancelled,
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
            traced.span.set_tag(key, value);
        }
        Some(traced)
    }

    fn register(&self, function: SharedString) -> SiteHandles {
        let in_flight = InFlight::register(metrics::gauge!(
            FUNCTION_CALLS_IN_FLIGHT,
            "function" => function.clone(),
            "module" => self.module,
        ));
        let calls = RESULTS.map(|result| {
            let labels = [
                ("function", &*function),
                ("module", self.module),
                ("result", result.label()),
            ];
            counter::register(FUNCTION_CALLS_TOTAL, FUNCTION_CALLS_HELP, &labels)
        });
        for kind in ["error", "panic"] {
            self.error_counter(&function, kind);
        }
        SiteHandles {
            function,
            clock: clock(),
            in_flight,
            calls,
        }
    }

    fn labels(
        &self,
        function: &SharedString,
        key: &'static str,
        value: &'static str,
    ) -> [(&'static str, SharedString); 3] {
        [
            ("function", function.clone()),
            ("module", SharedString::const_str(self.module)),
            (key, SharedString::const_str(value)),
        ]
    }

    #[inline]
    fn duration(&self, handles: &SiteHandles, result: CallResult) -> &'static Histogram {
        match self.durations[result as usize].get() {
            Some(histogram) => histogram,
            None => self.register_duration(handles, result),
        }
    }

    /// The first call that ends with `result`: out of line, so the others stay small.
    #[cold]
    #[inline(never)]
    fn register_duration(&self, handles: &SiteHandles, result: CallResult) -> &'static Histogram {
        self.durations[result as usize].get_or_init(|| {
            histogram::register(
                FUNCTION_CALL_DURATION_SECONDS,
                FUNCTION_CALL_DURATION_HELP,
                &[
                    ("function", &handles.function),
                    ("module", self.module),
                    ("result", result.label()),
                ],
            )
        })
    }

    /// `function_errors_total` of `kind`, registered on its first use.
    fn error_counter(&self, function: &SharedString, kind: &'static str) -> &'static Counter {
        self.error_kinds.get_or_insert(&kind, |&kind| {
            let counter =
                metrics::counter!(FUNCTION_ERRORS_TOTAL, &self.labels(function, "kind", kind));
            (kind, counter)
        })
    }

    fn count_error(&self, handles: &SiteHandles, kind: &'static str) {
        self.error_counter(&handles.function, kind).increment(1);
    }
}

/// The clock calls are timed with: the TSC where there is one, read raw at both ends and
/// scaled once (`quanta::Instant` would scale both reads, and look for a mocked clock first).
fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(Clock::new)
}

struct ActiveCall {
    handles: &'static SiteHandles,
    /// A raw reading of `handles.clock`.
    start: u64,
}

/// Records one call when dropped: with the outcome given to [`CallGuard::finish`], or as a
/// panic (the thread is unwinding) or a cancellation (the future was dropped) without one.
#[must_use = "the call is recorded when the guard is dropped"]
pub struct CallGuard {
    site: &'static CallSite,
    /// The metrics side, when a recorder is installed.
    call: Option<ActiveCall>,
    /// The call's Sentry span, when it is traced; boxed so a guard without one stays small.
    span: Option<Box<spans::Traced>>,
    /// Whether a Sentry client runs: error outcomes are then captured.
    sentry_on: bool,
    /// Error events captured while the call's code ran (nested calls reporting): a failure
    /// that follows one already reported is the same failure, and is not captured again.
    nested_reports: AtomicU32,
    outcome: Option<Outcome>,
    early_exit: CallResult,
    /// An async body between polls: a panic unwinding the thread now is another future's.
    suspended: AtomicBool,
}

impl CallGuard {
    fn idle(site: &'static CallSite) -> Self {
        CallGuard {
            site,
            call: None,
            span: None,
            sentry_on: false,
            nested_reports: AtomicU32::new(0),
            outcome: None,
            early_exit: CallResult::Cancelled,
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
        if self.nested_reports.load(Ordering::Relaxed) > 0 {
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
        self.early_exit = CallResult::Ok;
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
        if let (Some(call), None, Some(Outcome::Ok)) = (&self.call, &self.span, self.outcome) {
            call.record(self.site, CallResult::Ok, call.elapsed(), None);
        } else if self.call.is_some() || self.span.is_some() {
            self.record_unusual();
        }
    }
}

impl CallGuard {
    /// Errors, panics, early exits and traced calls: out of line so the ok path stays small.
    #[cold]
    #[inline(never)]
    fn record_unusual(&mut self) {
        let (result, error_kind) = match self.outcome {
            Some(Outcome::Ok) => (CallResult::Ok, None),
            Some(Outcome::Error { kind }) => (CallResult::Error, Some(kind)),
            // Only the call the panic went through: a future dropped, suspended, while another
            // one's panic unwinds the thread (a `join!` sibling) was cancelled.
            None if std::thread::panicking() && !self.suspended.load(Ordering::Relaxed) => {
                (CallResult::Panic, Some("panic"))
            }
            None => (self.early_exit, None),
        };
        if let Some(call) = &self.call {
            let elapsed = call.elapsed();
            let trace = self.span.as_deref().map(spans::Traced::ids);
            call.record(self.site, result, elapsed, trace);
            if let Some(kind) = error_kind {
                self.site.count_error(call.handles, kind);
            }
        }
        if let Some(traced) = self.span.take() {
            traced.span.set_status(result.span_status());
            (*traced).finish();
        }
    }
}

impl ActiveCall {
    #[inline]
    fn elapsed(&self) -> Duration {
        let clock = self.handles.clock;
        clock.delta(self.start, clock.raw())
    }

    /// Records the call; a traced one leaves its trace as the exemplar of its count and its
    /// duration's bucket.
    #[inline]
    fn record(
        &self,
        site: &CallSite,
        result: CallResult,
        elapsed: Duration,
        trace: Option<TraceIds>,
    ) {
        let duration = site.duration(self.handles, result);
        record_finished(
            self.handles.calls[result as usize],
            duration,
            elapsed,
            trace,
        );
        self.handles.in_flight.exit();
    }
}
