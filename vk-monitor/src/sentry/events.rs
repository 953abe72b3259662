//! Error events: the exception event the probes fill in, linking an event to the trace it
//! happened in, capturing it, and counting it on the thread so that the calls around know the
//! failure is reported.

use sentry::Hub;
use sentry::protocol::{Event, Exception, Level};

use super::spans::{self, Traced};

/// An error event with one exception of type `ty`.
pub(crate) fn exception_event(ty: &str, value: String) -> Event<'static> {
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

/// Links `event` to the trace of the span this thread is in, if any; safe in a panic hook.
pub(crate) fn link_to_current_trace(event: &mut Event<'static>) {
    if let Some(context) = spans::current_trace_context() {
        event.contexts.insert("trace".into(), context.into());
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
        traced.cloned().or_else(spans::current_traced).as_ref(),
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
    spans::count_report();
}
