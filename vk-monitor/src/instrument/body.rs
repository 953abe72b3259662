//! Where a `#[monitored]` body runs: the scope that keeps the call's spans current while its code
//! runs, and the future an async body runs in, which enters that scope on every poll and marks
//! the body as suspended between polls, so that a call dropped while another future's panic
//! unwinds the thread is told from the call that panicked.
//!
//! Only the future is generic over the body; everything it does on a poll is in non-generic
//! functions, so each annotated async fn instantiates a few small functions and no more.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::trace_span::{CallSpan, SpanEntered, SpanExit};
use crate::sentry::spans::{self, Entered, Traced};

/// What an async body's polls need of its call guard: its Sentry span, its count of nested
/// reports (when Sentry is on) and its suspended mark.
pub struct BodyScope<'a> {
    pub(super) span: Option<&'a Traced>,
    pub(super) nested: Option<&'a AtomicU32>,
    pub(super) suspended: &'a AtomicBool,
}

/// One poll of an async body, from its start to its end: the `tracing` span entered, the body
/// marked running and its Sentry span current. Fields drop in order: the Sentry span first.
struct InPoll<'a> {
    _current: Option<Entered<'a>>,
    _traced: SpanEntered<'a>,
}

impl<'a> BodyScope<'a> {
    /// Runs at the start of a poll.
    #[inline]
    fn resume(&self, span: &'a CallSpan) -> InPoll<'a> {
        let traced = span.enter();
        self.suspended.store(false, Ordering::Relaxed);
        let current = (self.span.is_some() || self.nested.is_some())
            .then(|| spans::enter_call(self.span, self.nested));
        InPoll {
            _current: current,
            _traced: traced,
        }
    }

    /// Runs after a poll that returned: a panic out of the poll leaves the mark unset, so the
    /// guard, dropped as the panic unwinds, knows the panic went through its body. A guard
    /// dropped by someone else's unwinding finds its body suspended, and counts a cancelled
    /// call.
    #[inline]
    fn suspend(&self, poll: InPoll<'_>) {
        drop(poll._current);
        self.suspended.store(true, Ordering::Relaxed);
    }
}

pin_project! {
    /// An async `#[monitored]` body, polled with the call's `tracing` span entered and its
    /// Sentry span current. The body is dropped inside the `tracing` span too, as
    /// `tracing::Instrument` does, so that what its locals log when it is cancelled has the
    /// span: the drop enters the span, and `exit`, declared after the body, is dropped after it.
    pub struct InBody<'a, F> {
        #[pin]
        inner: F,
        exit: SpanExit<'a>,
        scope: BodyScope<'a>,
        span: &'a CallSpan,
    }

    impl<F> PinnedDrop for InBody<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.exit.enter(this.span);
        }
    }
}

/// The async body `inner` of the call whose guard gave `scope`, polled in `span`.
#[inline]
pub fn in_body<'a, F>(scope: BodyScope<'a>, span: &'a CallSpan, inner: F) -> InBody<'a, F> {
    InBody {
        inner,
        exit: SpanExit::default(),
        scope,
        span,
    }
}

impl<F: Future> Future for InBody<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let in_poll = this.scope.resume(this.span);
        let poll = this.inner.poll(cx);
        this.scope.suspend(in_poll);
        poll
    }
}
