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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use sentry::protocol::{Event, Exception, Level, SpanStatus};
use sentry::{Hub, TransactionContext, TransactionOrSpan};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static TRACES_RATE: AtomicU32 = AtomicU32::new(0);
static SEND_PII: AtomicBool = AtomicBool::new(false);

/// Called once a Sentry client runs: errors are captured from now on, and root calls are
/// traced at `traces_rate` (0 when tracing is off).
pub(crate) fn activate(traces_rate: f32, send_pii: bool) {
    TRACES_RATE.store(traces_rate.to_bits(), Ordering::Relaxed);
    SEND_PII.store(send_pii, Ordering::Relaxed);
    ACTIVE.store(true, Ordering::Release);
}

/// Whether personal data may reach Sentry (`SENTRY_SEND_DEFAULT_PII`).
pub(crate) fn send_pii() -> bool {
    SEND_PII.load(Ordering::Relaxed)
}

/// Whether a Sentry client runs.
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// A span being recorded.
#[derive(Clone)]
#[doc(hidden)]
pub struct Traced {
    pub(crate) span: TransactionOrSpan,
}

/// Set when an error event is captured within a request (or a root call); a failure that is
/// only the consequence of one already reported, up the call chain or as the 5xx answer, is
/// then not captured again.
pub(crate) type ErrorsReported = Arc<AtomicBool>;

thread_local! {
    static CURRENT: RefCell<Option<Traced>> = const { RefCell::new(None) };
    static ERRORS: RefCell<Option<ErrorsReported>> = const { RefCell::new(None) };
}

/// The flag of the request or root call running on this thread, if any.
pub(crate) fn errors_reported() -> Option<ErrorsReported> {
    ERRORS.with(|errors| errors.borrow().clone())
}

/// The sampling rate for new traces; 0 when tracing is off.
pub(crate) fn traces_rate() -> f32 {
    f32::from_bits(TRACES_RATE.load(Ordering::Relaxed))
}

/// A child of the current span, or, with no current span, a transaction when the call is
/// sampled in (a background job is its own trace). `None`: nothing to record.
pub(crate) fn start(op: &str, description: &str) -> Option<Traced> {
    if let Some(parent) = current_traced() {
        let span = parent.span.start_child(op, description).into();
        return Some(Traced { span });
    }
    let rate = traces_rate();
    if rate <= 0.0 || fastrand::f32() >= rate {
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

fn current_traced() -> Option<Traced> {
    CURRENT.with(|current| current.borrow().clone())
}

/// The span monitored code is running in on this thread, if any.
pub fn current() -> Option<TransactionOrSpan> {
    CURRENT.with(|current| current.borrow().as_ref().map(|traced| traced.span.clone()))
}

/// Headers that continue the current trace in an outgoing request: `sentry-trace` and W3C
/// `traceparent`. Empty outside a traced call.
///
/// ```no_run
/// # fn send(_: &[(&str, String)]) {}
/// let headers = vk_monitor::spans::propagation_headers();
/// send(&headers); // add them to the outgoing request
/// ```
pub fn propagation_headers() -> Vec<(&'static str, String)> {
    let Some(span) = current() else {
        return Vec::new();
    };
    // Only sampled spans are ever current: the decision to pass on is "sampled".
    let trace = span.get_trace_context();
    vec![
        (
            "sentry-trace",
            format!("{}-{}-1", trace.trace_id, trace.span_id),
        ),
        (
            "traceparent",
            format!("00-{}-{}-01", trace.trace_id, trace.span_id),
        ),
    ]
}

/// Makes a span and an errors flag current until dropped, then restores the previous ones.
#[doc(hidden)]
pub struct Entered {
    previous_span: Option<Option<Traced>>,
    previous_errors: Option<Option<ErrorsReported>>,
}

pub(crate) fn enter_call(span: Option<&Traced>, errors: Option<&ErrorsReported>) -> Entered {
    let previous_span =
        span.map(|span| CURRENT.with(|current| current.borrow_mut().replace(span.clone())));
    let previous_errors = errors
        .map(|errors| ERRORS.with(|current| current.borrow_mut().replace(Arc::clone(errors))));
    Entered {
        previous_span,
        previous_errors,
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Some(previous) = self.previous_span.take() {
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
        if let Some(previous) = self.previous_errors.take() {
            ERRORS.with(|current| *current.borrow_mut() = previous);
        }
    }
}

pin_project! {
    /// Runs a future with a span current during each poll, however often it moves between
    /// threads.
    #[doc(hidden)]
    pub struct InSpan<'a, F> {
        #[pin]
        inner: F,
        span: Option<&'a Traced>,
        hub: Option<&'a Arc<Hub>>,
        errors: Option<&'a ErrorsReported>,
    }
}

pub(crate) fn in_span<'a, F>(
    span: Option<&'a Traced>,
    hub: Option<&'a Arc<Hub>>,
    errors: Option<&'a ErrorsReported>,
    inner: F,
) -> InSpan<'a, F> {
    InSpan {
        inner,
        span,
        hub,
        errors,
    }
}

impl<F: Future> Future for InSpan<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let (inner, span, errors) = (this.inner, *this.span, *this.errors);
        match this.hub {
            Some(hub) => Hub::run(Arc::clone(hub), || {
                let _entered = enter_call(span, errors);
                inner.poll(cx)
            }),
            None => inner.poll(cx),
        }
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
    traced: Option<&Traced>,
    hub: &Hub,
) {
    event.tags.insert("function".into(), function.into());
    event.tags.insert("module".into(), module.into());
    capture_in_trace(event, traced.cloned().or_else(current_traced).as_ref(), hub);
}

/// Sends `event`, linked to `traced`'s trace.
pub(crate) fn capture_in_trace(mut event: Event<'static>, traced: Option<&Traced>, hub: &Hub) {
    if let Some(traced) = traced {
        event
            .contexts
            .insert("trace".into(), traced.span.get_trace_context().into());
    }
    hub.capture_event(event);
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
