//! Sentry spans and error events for monitored calls.
//!
//! Sampling is decided here, before the SDK is touched: with Sentry off a call pays one
//! relaxed atomic load, and a call sampled out pays a random draw. The current span is kept in
//! a thread-local that monitored bodies set while they run (for async bodies, on every poll),
//! so a call made inside another becomes its child without reading the SDK's scope.

use std::cell::RefCell;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use sentry::protocol::{Event, Exception, Level, SpanStatus};
use sentry::{TransactionContext, TransactionOrSpan};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static TRACES_RATE: AtomicU32 = AtomicU32::new(0);

/// Called once a Sentry client runs: errors are captured from now on, and root calls are
/// traced at `traces_rate` (0 when tracing is off).
pub(crate) fn activate(traces_rate: f32) {
    TRACES_RATE.store(traces_rate.to_bits(), Ordering::Relaxed);
    ACTIVE.store(true, Ordering::Release);
}

/// Whether a Sentry client runs.
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

thread_local! {
    static CURRENT: RefCell<Option<TransactionOrSpan>> = const { RefCell::new(None) };
}

/// A child of the current span, or, with no current span, a transaction when the call is
/// sampled in (a background job is its own trace). `None`: nothing to record.
pub(crate) fn start(op: &str, description: &str) -> Option<TransactionOrSpan> {
    if let Some(parent) = current() {
        return Some(parent.start_child(op, description).into());
    }
    let rate = f32::from_bits(TRACES_RATE.load(Ordering::Relaxed));
    if rate <= 0.0 || fastrand::f32() >= rate {
        return None;
    }
    let mut context = TransactionContext::new(description, op);
    context.set_sampled(Some(true));
    Some(sentry::start_transaction(context).into())
}

/// The span monitored code is running in on this thread, if any.
pub fn current() -> Option<TransactionOrSpan> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Makes a span current until dropped, then restores the previous one.
#[doc(hidden)]
pub struct Entered {
    previous: Option<TransactionOrSpan>,
}

pub(crate) fn enter(span: &TransactionOrSpan) -> Entered {
    let previous = CURRENT.with(|current| current.borrow_mut().replace(span.clone()));
    Entered { previous }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

pin_project! {
    /// Runs a future with a span current during each poll, however often it moves between
    /// threads.
    #[doc(hidden)]
    pub struct InSpan<'a, F> {
        #[pin]
        inner: F,
        span: Option<&'a TransactionOrSpan>,
    }
}

pub(crate) fn in_span<F>(span: Option<&TransactionOrSpan>, inner: F) -> InSpan<'_, F> {
    InSpan { inner, span }
}

impl<F: Future> Future for InSpan<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.map(enter);
        this.inner.poll(cx)
    }
}

/// The span status of a finished call.
pub(crate) fn status(result: &str) -> SpanStatus {
    match result {
        "ok" => SpanStatus::Ok,
        "cancelled" => SpanStatus::Cancelled,
        "panic" => SpanStatus::Aborted,
        _ => SpanStatus::InternalError,
    }
}

/// Sends an error event tagged with the call, linked to its trace.
pub(crate) fn capture(
    mut event: Event<'static>,
    function: &str,
    module: &str,
    span: Option<&TransactionOrSpan>,
) {
    event.tags.insert("function".into(), function.into());
    event.tags.insert("module".into(), module.into());
    if let Some(span) = span.cloned().or_else(current) {
        event
            .contexts
            .insert("trace".into(), span.get_trace_context().into());
    }
    sentry::capture_event(event);
}

fn exception_event(ty: &str, value: String) -> Event<'static> {
    let mut event = Event {
        level: Level::Error,
        ..Event::default()
    };
    event.exception.values.push(Exception {
        ty: ty.to_owned(),
        value: Some(value),
        ..Exception::default()
    });
    event
}

fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Autoref specialization over the return value, as for outcomes: the error event of an error
/// outcome. `std::error::Error` types give their whole `source()` chain, `Debug` types their
/// text, status values their status.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod probe {
    use super::*;
    use crate::outcome::probe::{Probe, StatusValue};

    pub trait EventByError {
        fn __vk_event(self) -> Option<Event<'static>>;
    }
    impl<T, E: std::error::Error + 'static> EventByError for &&&Probe<'_, Result<T, E>> {
        fn __vk_event(self) -> Option<Event<'static>> {
            self.0
                .as_ref()
                .err()
                .map(|error| sentry::event_from_error(error))
        }
    }

    pub trait EventByDebug {
        fn __vk_event(self) -> Option<Event<'static>>;
    }
    impl<T, E: Debug> EventByDebug for &&Probe<'_, Result<T, E>> {
        fn __vk_event(self) -> Option<Event<'static>> {
            let error = self.0.as_ref().err()?;
            Some(exception_event(
                short_type_name::<E>(),
                format!("{error:?}"),
            ))
        }
    }

    pub trait EventByStatus {
        fn __vk_event(self) -> Option<Event<'static>>;
    }
    impl<T: StatusValue> EventByStatus for &Probe<'_, T> {
        fn __vk_event(self) -> Option<Event<'static>> {
            Some(exception_event(
                "ServerError",
                "the call answered with a 5xx status".into(),
            ))
        }
    }

    pub trait EventByType {
        fn __vk_event(self) -> Option<Event<'static>>;
    }
    impl<T: ?Sized> EventByType for Probe<'_, T> {
        fn __vk_event(self) -> Option<Event<'static>> {
            Some(exception_event(
                short_type_name::<T>(),
                "the call returned an error".into(),
            ))
        }
    }
}
