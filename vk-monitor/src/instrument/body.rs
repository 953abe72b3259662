//! The future an async `#[monitored]` body runs in: it keeps the call's span current on every
//! poll, and marks the body as suspended between polls, so that a call dropped while another
//! future's panic unwinds the thread is told from the call that panicked.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::sentry::spans::InSpan;

pin_project! {
    /// An async `#[monitored]` body, polled by the call's guard.
    pub struct InBody<'a, F> {
        #[pin]
        inner: InSpan<'a, F>,
        suspended: &'a AtomicBool,
    }
}

pub(super) fn in_body<'a, F>(inner: InSpan<'a, F>, suspended: &'a AtomicBool) -> InBody<'a, F> {
    InBody { inner, suspended }
}

impl<F: Future> Future for InBody<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // A panic out of this poll leaves the mark unset: the guard, dropped as the panic
        // unwinds, knows the panic went through its body. A guard dropped by someone else's
        // unwinding finds its body suspended, and counts a cancelled call.
        this.suspended.store(false, Ordering::Relaxed);
        let poll = this.inner.poll(cx);
        this.suspended.store(true, Ordering::Relaxed);
        poll
    }
}
