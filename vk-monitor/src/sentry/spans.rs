//! The span monitored code runs in, per thread, and the spans and transactions it starts.
//!
//! Sampling is decided before the SDK is touched: with Sentry off a call pays one relaxed
//! atomic load, and a call sampled out pays a random draw. The current span is kept in a
//! thread-local that monitored bodies set while they run (for async bodies, on every poll),
//! so a call made inside another becomes its child without reading the SDK's scope. The same
//! thread-local counts the error events captured on the thread, so that a call learns whether
//! code it ran already reported its failure.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use sentry::protocol::{SpanId, TraceContext, TraceId};
use sentry::{TransactionContext, TransactionOrSpan};

use super::state;

/// A span being recorded.
#[derive(Clone)]
pub struct Traced {
    pub(crate) span: TransactionOrSpan,
}

impl Traced {
    /// The ids of the trace and of this span: what an exemplar links to.
    pub(crate) fn ids(&self) -> (TraceId, SpanId) {
        match &self.span {
            TransactionOrSpan::Transaction(transaction) => {
                let context = transaction.get_trace_context();
                (context.trace_id, context.span_id)
            }
            // A child's trace context is its transaction's: the span id is its own.
            TransactionOrSpan::Span(span) => {
                (span.get_trace_context().trace_id, span.get_span_id())
            }
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Traced>> = const { RefCell::new(None) };
    /// Error events captured on this thread so far: a call compares the count around the code
    /// it runs to learn whether a nested call already reported its failure.
    static REPORTED: Cell<u64> = const { Cell::new(0) };
}

fn reported() -> u64 {
    REPORTED.with(Cell::get)
}

/// Counts an error event captured on this thread, for the calls around.
pub(crate) fn count_report() {
    REPORTED.with(|count| count.set(count.get() + 1));
}

/// A child of the current span, or, with no current span, a transaction when the call is
/// sampled in (a background job is its own trace). `None`: nothing to record.
pub(crate) fn start(op: &str, description: &str) -> Option<Traced> {
    if let Some(parent) = current_traced() {
        let span = parent.span.start_child(op, description).into();
        return Some(Traced { span });
    }
    if !state::sample_new_trace() {
        return None;
    }
    let mut context = TransactionContext::new(description, op);
    context.set_sampled(Some(true));
    Some(start_transaction(context))
}

pub(crate) fn start_transaction(context: TransactionContext) -> Traced {
    Traced {
        span: sentry::start_transaction(context).into(),
    }
}

/// The current span on this thread, if any.
pub(crate) fn current_traced() -> Option<Traced> {
    CURRENT.with(|current| current.borrow().clone())
}

/// The trace context of the current span, if any. Safe in a panic hook: whatever state a
/// panic left the thread-local in, this does not panic in turn.
pub(crate) fn current_trace_context() -> Option<TraceContext> {
    CURRENT
        .try_with(|current| {
            let current = current.try_borrow().ok()?;
            current
                .as_ref()
                .map(|traced| traced.span.get_trace_context())
        })
        .ok()
        .flatten()
}

/// While alive: the call's span is current (when it has one), and error events captured on
/// this thread are added to the call's count of nested reports (when Sentry is on).
pub struct Entered<'a> {
    previous_span: Option<Option<Traced>>,
    nested: Option<(&'a AtomicU32, u64)>,
}

pub(crate) fn enter_call<'a>(span: Option<&Traced>, nested: Option<&'a AtomicU32>) -> Entered<'a> {
    let previous_span =
        span.map(|span| CURRENT.with(|current| current.borrow_mut().replace(span.clone())));
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
        if let Some((count, since)) = self.nested {
            let inside = reported().wrapping_sub(since);
            if inside > 0 {
                count.fetch_add(u32::try_from(inside).unwrap_or(u32::MAX), Ordering::Relaxed);
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
        nested: Option<&'a AtomicU32>,
    }
}

pub(crate) fn in_span<'a, F>(
    span: Option<&'a Traced>,
    nested: Option<&'a AtomicU32>,
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
