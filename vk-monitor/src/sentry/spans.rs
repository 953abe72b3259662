//! The span monitored code runs in, per thread, and the spans and transactions it starts.
//!
//! Sampling is decided before the SDK is touched: with Sentry off a call pays one relaxed
//! atomic load, and a call sampled out pays a random draw. The current span is kept in a
//! thread-local that monitored bodies set while they run (for async bodies, on every poll),
//! so a call made inside another becomes its child without reading the SDK's scope. The same
//! thread-local counts the error events captured on the thread, so that a call learns whether
//! code it ran already reported its failure.
//!
//! Each span carries its trace's baggage (the dynamic sampling context and the members passed
//! on). The transport asks here, on the thread that sends an envelope, which trace's baggage
//! the envelope belongs to: the one being finished or captured for, else the current span's.
//!
//! A `tracing` span the application opens inside a recorded span may become a child of it (the
//! `tracing` layer's opt-in): while it is entered it is current, like a monitored call's span,
//! and each transaction takes at most [`MAX_TRACING_SPANS`] of them.
//!
//! A request sampled out is current too, as a trace not recorded (`sentry/unsampled.rs`): no
//! call inside it starts a transaction of its own, and its outgoing calls pass the decision on.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use sentry::protocol::{SpanId, TraceContext, TraceId};
use sentry::{TransactionContext, TransactionOrSpan};

use super::baggage::TraceBaggage;
use super::sampling::{self, Candidate, Parent};
use super::unsampled::Unsampled;
use crate::work::Ending;

/// The trace code on a thread runs in.
#[derive(Clone)]
enum Current {
    /// A span being recorded.
    Sampled(Traced),
    /// A request's trace that is not recorded.
    Unsampled(Arc<Unsampled>),
}

/// A span being recorded, with its trace's baggage. The other folders start, describe and end
/// it through these methods; its fields are this folder's.
#[derive(Clone)]
pub struct Traced {
    pub(super) span: TransactionOrSpan,
    pub(super) baggage: Arc<TraceBaggage>,
    /// `tracing` spans offered to this span's transaction so far, made or not.
    tracing_spans: Arc<AtomicU64>,
}

/// `tracing` spans made Sentry spans per transaction, at most: half of the 1,000 spans Sentry
/// keeps in one, so that `#[monitored]` calls and outgoing requests keep the other half.
pub(crate) const MAX_TRACING_SPANS: u64 = 500;

impl Traced {
    /// The ids of the trace and of this span: what an exemplar links to.
    pub(crate) fn ids(&self) -> (TraceId, SpanId) {
        ids(&self.span)
    }

    /// A child span of this one, in the same trace.
    pub(crate) fn child(&self, op: &str, description: &str) -> Traced {
        Traced {
            span: self.span.start_child(op, description).into(),
            baggage: Arc::clone(&self.baggage),
            tracing_spans: Arc::clone(&self.tracing_spans),
        }
    }

    /// Sets a data field of the span.
    pub(crate) fn set_data(&self, key: &str, value: sentry::protocol::Value) {
        self.span.set_data(key, value);
    }

    /// Sets a tag of the span.
    pub(crate) fn set_tag(&self, key: &str, value: &str) {
        self.span.set_tag(key, value);
    }

    /// Ends the span with the status of how its work ended.
    pub(crate) fn end(self, ending: Ending) {
        self.span.set_status(ending.span_status());
        self.finish();
    }

    /// Finishes the span; a transaction is sent with its trace's baggage.
    pub(crate) fn finish(self) {
        let Traced {
            span,
            baggage,
            tracing_spans,
        } = self;
        if matches!(span, TransactionOrSpan::Transaction(_)) {
            let left_out = tracing_spans
                .load(Ordering::Relaxed)
                .saturating_sub(MAX_TRACING_SPANS);
            if left_out > 0 {
                span.set_data("vk_monitor.tracing_spans_left_out", left_out.into());
            }
        }
        sending(&baggage, || span.finish());
    }
}

/// Runs `send` (which sends an envelope of `baggage`'s trace) with `baggage` as the one the
/// transport finds.
pub(crate) fn sending<R>(baggage: &Arc<TraceBaggage>, send: impl FnOnce() -> R) -> R {
    let previous = SENDING.with(|sending| sending.borrow_mut().replace(Arc::clone(baggage)));
    let result = send();
    SENDING.with(|sending| *sending.borrow_mut() = previous);
    result
}

/// The baggage of `trace_id` as this thread knows it: the trace an envelope is being sent
/// for, else the current span's, if it is that trace's.
pub(crate) fn baggage_of(trace_id: TraceId) -> Option<Arc<TraceBaggage>> {
    let sending = SENDING
        .try_with(|sending| sending.try_borrow().ok()?.clone())
        .ok()
        .flatten();
    sending
        .or_else(|| {
            CURRENT
                .try_with(|current| match current.try_borrow().ok()?.as_ref()? {
                    Current::Sampled(traced) => Some(traced.baggage.clone()),
                    Current::Unsampled(_) => None,
                })
                .ok()
                .flatten()
        })
        .filter(|baggage| baggage.is_of(trace_id))
}

/// The ids of `span`'s trace and of `span` itself.
pub(crate) fn ids(span: &TransactionOrSpan) -> (TraceId, SpanId) {
    match span {
        TransactionOrSpan::Transaction(transaction) => {
            let context = transaction.get_trace_context();
            (context.trace_id, context.span_id)
        }
        // A child's trace context is its transaction's: the span id is its own.
        TransactionOrSpan::Span(span) => (span.get_trace_context().trace_id, span.get_span_id()),
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
    /// Error events captured on this thread so far: a call compares the count around the code
    /// it runs to learn whether a nested call already reported its failure.
    static REPORTED: Cell<u64> = const { Cell::new(0) };
    /// The baggage of the trace an envelope is being finished or captured for.
    static SENDING: RefCell<Option<Arc<TraceBaggage>>> = const { RefCell::new(None) };
}

fn reported() -> u64 {
    REPORTED.with(Cell::get)
}

/// Counts an error event captured on this thread, for the calls around.
pub(crate) fn count_report() {
    REPORTED.with(|count| count.set(count.get() + 1));
}

/// A child of the current span, or, outside any trace, a transaction when the call is
/// sampled in (a background job is its own trace). `None`: nothing to record, which is also
/// the answer inside a request sampled out.
pub(crate) fn start(op: &str, description: &str) -> Option<Traced> {
    match CURRENT.with(|current| current.borrow().clone()) {
        Some(Current::Sampled(parent)) => {
            let span = parent.span.start_child(op, description).into();
            return Some(Traced {
                span,
                baggage: parent.baggage,
                tracing_spans: parent.tracing_spans,
            });
        }
        Some(Current::Unsampled(_)) => return None,
        None => {}
    }
    let candidate = Candidate {
        name: description,
        op,
        route: None,
    };
    let decision = sampling::decide(&candidate, &Parent::default())?;
    if !decision.sampled {
        return None;
    }
    let mut context = TransactionContext::new(description, op);
    context.set_sampled(Some(true));
    let baggage = sampling::trace_baggage(context.trace_id(), decision, description, None);
    Some(start_transaction(context, baggage))
}

/// Starts a sampled transaction with its trace's baggage.
pub(crate) fn start_transaction(context: TransactionContext, baggage: TraceBaggage) -> Traced {
    DECIDED_HERE.set(true);
    let span = sentry::start_transaction(context);
    DECIDED_HERE.set(false);
    Traced {
        span: span.into(),
        baggage: Arc::new(baggage),
        tracing_spans: Arc::default(),
    }
}

/// A child for a `tracing` span: of `parent` when given, else of the current span; `None`
/// outside a recorded span and once the transaction has taken [`MAX_TRACING_SPANS`].
#[cfg(feature = "tracing-subscriber")]
pub(crate) fn start_tracing_child(
    parent: Option<&Traced>,
    op: &str,
    description: &str,
) -> Option<Traced> {
    let parent = parent.cloned().or_else(current_traced)?;
    let offered = parent.tracing_spans.fetch_add(1, Ordering::Relaxed);
    (offered < MAX_TRACING_SPANS).then(|| parent.child(op, description))
}

#[cfg(feature = "tracing-subscriber")]
thread_local! {
    /// Per `tracing` span with a Sentry span entered on this thread (by its id), what was
    /// current before it, innermost last.
    static BEFORE_TRACING: RefCell<Vec<(u64, Option<Current>)>> = const { RefCell::new(Vec::new()) };
}

/// The `tracing` span `id`'s Sentry span is current while it is entered.
#[cfg(feature = "tracing-subscriber")]
pub(crate) fn enter_tracing(id: u64, span: &Traced) {
    let _ = CURRENT.try_with(|current| {
        let before = current.borrow_mut().replace(Current::Sampled(span.clone()));
        let _ = BEFORE_TRACING.try_with(|stack| stack.borrow_mut().push((id, before)));
    });
}

/// The `tracing` span `id` is exited: what was current before it is again, when it is the
/// span entered last. A span exited out of order (an `Entered` guard held across an `.await`)
/// only leaves the stack: what is current stays, and the span entered after it will restore
/// what was current before both.
#[cfg(feature = "tracing-subscriber")]
pub(crate) fn exit_tracing(id: u64) {
    let before = BEFORE_TRACING.try_with(|stack| {
        let mut stack = stack.borrow_mut();
        match stack.iter().rposition(|(entered, _)| *entered == id) {
            Some(last) if last + 1 == stack.len() => stack.pop().map(|(_, before)| before),
            Some(inner) => {
                // The span entered after it restores what was current before both.
                let (_, before) = stack.remove(inner);
                stack[inner].1 = before;
                None
            }
            None => None,
        }
    });
    if let Ok(Some(before)) = before {
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = before);
    }
}

thread_local! {
    /// Set while this crate starts a transaction it has already sampled, so that the SDK's
    /// sampler tells it apart from one the application starts itself.
    static DECIDED_HERE: Cell<bool> = const { Cell::new(false) };
}

/// Whether the transaction the SDK is sampling now is one this crate decided on.
pub(crate) fn decided_here() -> bool {
    DECIDED_HERE.get()
}

/// The current span on this thread, if any.
pub(crate) fn current_traced() -> Option<Traced> {
    CURRENT.with(|current| match current.borrow().as_ref()? {
        Current::Sampled(traced) => Some(traced.clone()),
        Current::Unsampled(_) => None,
    })
}

/// The current trace on this thread when it is a request's that is not recorded.
pub(crate) fn current_unsampled() -> Option<Arc<Unsampled>> {
    CURRENT.with(|current| match current.borrow().as_ref()? {
        Current::Sampled(_) => None,
        Current::Unsampled(unsampled) => Some(Arc::clone(unsampled)),
    })
}

/// The trace context of the current span, if any, or of the request sampled out that this
/// thread runs: its logs and errors name the trace the services it calls continue. Safe in a
/// panic hook: whatever state a panic left the thread-local in, this does not panic in turn.
pub(crate) fn current_trace_context() -> Option<TraceContext> {
    CURRENT
        .try_with(|current| match current.try_borrow().ok()?.as_ref()? {
            Current::Sampled(traced) => Some(traced.span.get_trace_context()),
            Current::Unsampled(unsampled) => Some(unsampled.trace_context()),
        })
        .ok()
        .flatten()
}

/// The error events captured while some work's code ran, on whichever threads it ran: the
/// work's own failure after one of them is the same failure, and is not reported again. A
/// request's panic, which the panic hook reports, is noted here too.
#[derive(Debug, Default)]
pub(crate) struct Reports(AtomicU32);

impl Reports {
    pub(crate) const fn new() -> Self {
        Reports(AtomicU32::new(0))
    }

    /// Whether anything was reported.
    pub(crate) fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }

    /// A failure reported by other means (the panic hook).
    pub(crate) fn note(&self) {
        self.add(1);
    }

    fn add(&self, events: u64) {
        let events = u32::try_from(events).unwrap_or(u32::MAX);
        self.0.fetch_add(events, Ordering::Relaxed);
    }
}

/// While alive: the call's span is current (when it has one), and error events captured on
/// this thread are added to the call's [`Reports`] (when Sentry is on).
pub struct Entered<'a> {
    previous_span: Option<Option<Current>>,
    nested: Option<(&'a Reports, u64)>,
}

pub(crate) fn enter_call<'a>(span: Option<&Traced>, nested: Option<&'a Reports>) -> Entered<'a> {
    enter(span.map(|span| Current::Sampled(span.clone())), nested)
}

/// As [`enter_call`], for a request: its transaction when it is sampled in, else its trace
/// not recorded when tracing is on.
pub(crate) fn enter_request<'a>(
    transaction: Option<&Traced>,
    unsampled: Option<&Arc<Unsampled>>,
    nested: Option<&'a Reports>,
) -> Entered<'a> {
    let current = match (transaction, unsampled) {
        (Some(traced), _) => Some(Current::Sampled(traced.clone())),
        (None, Some(unsampled)) => Some(Current::Unsampled(Arc::clone(unsampled))),
        (None, None) => None,
    };
    enter(current, nested)
}

fn enter(current: Option<Current>, nested: Option<&Reports>) -> Entered<'_> {
    let previous_span = current.map(|span| CURRENT.with(|slot| slot.borrow_mut().replace(span)));
    Entered {
        previous_span,
        nested: nested.map(|count| (count, reported())),
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if let Some(previous) = self.previous_span.take() {
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
        if let Some((reports, since)) = self.nested {
            let inside = reported().wrapping_sub(since);
            if inside > 0 {
                reports.add(inside);
            }
        }
    }
}

pin_project! {
    /// Runs a future with a span current during each poll, however often it moves between
    /// threads.
    pub struct InSpan<'a, F> {
        #[pin]
        inner: F,
        span: Option<&'a Traced>,
        nested: Option<&'a Reports>,
    }
}

pub(crate) fn in_span<'a, F>(
    span: Option<&'a Traced>,
    nested: Option<&'a Reports>,
    inner: F,
) -> InSpan<'a, F> {
    InSpan {
        inner,
        span,
        nested,
    }
}

impl<F: Future> Future for InSpan<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.span.is_none() && this.nested.is_none() {
            return this.inner.poll(cx);
        }
        let _entered = enter_call(*this.span, *this.nested);
        this.inner.poll(cx)
    }
}

#[cfg(all(test, feature = "tracing-subscriber"))]
mod tracing_stack_tests {
    use super::*;
    use crate::sentry::baggage::Dsc;

    fn traced(name: &str) -> Traced {
        let context = TransactionContext::new(name, "test");
        start_transaction(context, TraceBaggage::new(Dsc::default(), None))
    }

    fn current_span_id() -> Option<String> {
        current_traced().map(|traced| match &traced.span {
            TransactionOrSpan::Transaction(transaction) => {
                transaction.get_trace_context().span_id.to_string()
            }
            TransactionOrSpan::Span(span) => span.get_span_id().to_string(),
        })
    }

    #[test]
    fn spans_exited_out_of_order_leave_what_is_current_consistent() {
        let (a, b) = (traced("a"), traced("b"));
        let id = |traced: &Traced| traced.ids().1.to_string();
        enter_tracing(1, &a);
        enter_tracing(2, &b);
        assert_eq!(current_span_id(), Some(id(&b)));
        // 1 leaves first (a guard held across an await): 2 stays current...
        exit_tracing(1);
        assert_eq!(current_span_id(), Some(id(&b)));
        // ...and leaving 2 restores what was current before both, not 1.
        exit_tracing(2);
        assert_eq!(current_span_id(), None);
        // An exit never entered here changes nothing.
        enter_tracing(3, &a);
        exit_tracing(7);
        assert_eq!(current_span_id(), Some(id(&a)));
        exit_tracing(3);
        assert_eq!(current_span_id(), None);
    }
}
