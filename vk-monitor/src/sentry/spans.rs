//! Sentry spans and error events for monitored calls.
//!
//! Sampling is decided here, before the SDK is touched: with Sentry off a call pays one
//! relaxed atomic load, and a call sampled out pays a random draw. The current span is kept in
//! a thread-local that monitored bodies set while they run (for async bodies, on every poll),
//! so a call made inside another becomes its child without reading the SDK's scope.

use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use sentry::protocol::{Event, Exception, Level};
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

thread_local! {
    static CURRENT: RefCell<Option<Traced>> = const { RefCell::new(None) };
    /// Error events captured on this thread so far: a call compares the count around the code
    /// it runs to learn whether a nested call already reported its failure.
    static REPORTED: Cell<u64> = const { Cell::new(0) };
}

fn reported() -> u64 {
    REPORTED.with(Cell::get)
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

/// Links `event` to the trace of the span this thread is in, if any. Safe in a panic hook:
/// whatever state a panic left the thread-local in, this does not panic in turn.
pub(crate) fn link_to_current_trace(event: &mut Event<'static>) {
    let context = CURRENT
        .try_with(|current| {
            let current = current.try_borrow().ok()?;
            current
                .as_ref()
                .map(|traced| traced.span.get_trace_context())
        })
        .ok()
        .flatten();
    if let Some(context) = context {
        event.contexts.insert("trace".into(), context.into());
    }
}

/// The span monitored code is running in on this thread, if any.
pub fn current() -> Option<TransactionOrSpan> {
    CURRENT.with(|current| current.borrow().as_ref().map(|traced| traced.span.clone()))
}

/// Headers that continue the current trace in an outgoing request: `sentry-trace` and W3C
/// `traceparent`. Empty outside a traced call.
///
/// ```
/// # fn send(_: &[(&str, String)]) {}
/// let headers = vk_monitor::spans::propagation_headers();
/// send(&headers); // add them to the outgoing request
/// # assert!(headers.is_empty(), "no trace without a Sentry client");
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

/// While alive: the call's span is current (when it has one), and error events captured on
/// this thread are added to the call's count of nested reports (when Sentry is on).
#[doc(hidden)]
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
    #[doc(hidden)]
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

/// Sends an error event tagged with the call, linked to its trace.
pub(crate) fn capture(
    mut event: Event<'static>,
    function: &str,
    module: &str,
    traced: Option<&Traced>,
) {
    event.tags.insert("function".into(), function.into());
    event.tags.insert("module".into(), module.into());
    capture_in_trace(
        event,
        traced.cloned().or_else(current_traced).as_ref(),
        &Hub::current(),
    );
}

/// Sends `event`, linked to `traced`'s trace, and counts it for the calls around.
pub(crate) fn capture_in_trace(mut event: Event<'static>, traced: Option<&Traced>, hub: &Hub) {
    if let Some(traced) = traced {
        event
            .contexts
            .insert("trace".into(), traced.span.get_trace_context().into());
    }
    hub.capture_event(event);
    REPORTED.with(|count| count.set(count.get() + 1));
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
