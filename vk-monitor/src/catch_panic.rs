//! Catching panics in code we run for the user (handlers, async health checks): a caught panic
//! becomes a value, and while such code runs the thread is marked as one whose panics are
//! survived, so the panic hook reports them without flushing (see the Sentry panic
//! integration).

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// What a panic carried.
pub(crate) type Payload = Box<dyn Any + Send>;

thread_local! {
    /// Set while code runs under a `catch_unwind` of ours.
    static SURVIVABLE: Cell<bool> = const { Cell::new(false) };
}

/// Whether a panic on this thread now would be caught and survived.
pub(crate) fn is_survivable() -> bool {
    SURVIVABLE.get()
}

/// Runs `f`, turning a panic into `Err` with its payload.
pub(crate) fn call<R>(f: impl FnOnce() -> R) -> Result<R, Payload> {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SURVIVABLE.set(self.0);
        }
    }
    let _restore = Restore(SURVIVABLE.replace(true));
    // The code that panicked is never resumed, so the state it left is not observed. Shared
    // state it left half-updated is its own concern, as for any panic a server survives.
    catch_unwind(AssertUnwindSafe(f))
}

/// Polls `inner`; a panic makes it ready with an `Err` carrying the payload. The caller must
/// not poll `inner` again after that.
pub(crate) fn poll<F: Future>(
    inner: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, Payload>> {
    match call(|| inner.poll(cx)) {
        Ok(poll) => poll.map(Ok),
        Err(panic) => Poll::Ready(Err(panic)),
    }
}

pin_project! {
    /// A future whose panics come out as `Err`.
    pub(crate) struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(inner: F) -> Self {
        CatchPanic { inner }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Payload>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll(self.project().inner, cx)
    }
}

/// The panic's message, when it carried one.
pub(crate) fn message(panic: &Payload) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload")
}

/// Drops a panic's payload, whose destructor is user code that may panic in turn.
pub(crate) fn discard(panic: Payload) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(panic))) {
        std::mem::forget(again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survivable_is_scoped_and_restored_after_a_panic() {
        assert!(!is_survivable());
        let caught = call(|| {
            assert!(is_survivable());
            call(|| panic!("inner"))
        });
        assert!(matches!(caught, Ok(Err(_))));
        assert!(!is_survivable(), "restored on the way out");
    }

    #[test]
    fn a_panicking_future_is_ready_with_its_message() {
        let mut future = std::pin::pin!(CatchPanic::new(async { panic!("a check bug") }));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let Poll::Ready(Err(panic)) = future.as_mut().poll(&mut cx) else {
            panic!("the panic is caught");
        };
        assert_eq!(message(&panic), "a check bug");
    }
}
