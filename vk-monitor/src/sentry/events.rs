//! Error events: the exception event the probes fill in, its text bounded in size, linking an
//! event to the trace it happened in, capturing it, and counting it on the thread so that the
//! calls around know the failure is reported.

use std::fmt::{self, Debug, Write};

use sentry::Hub;
use sentry::protocol::{Context, Event, Exception, Level};

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

/// An event's message and each exception's text are cut there: an error's text is the
/// application's (a `Debug` of a whole request, a response body), and each event is held in
/// the transport's queue and sent. Sentry itself keeps no more than 8,192 characters.
pub(crate) const MAX_EVENT_TEXT: usize = 8 * 1024;
const TRUNCATED: &str = "…";

/// `value`'s `Debug` text, at most [`MAX_EVENT_TEXT`] bytes: formatting stops there, so that a
/// huge value costs no more than that.
pub(crate) fn bounded_debug(value: &dyn Debug) -> String {
    struct Bounded(String);
    impl Write for Bounded {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            let room = MAX_EVENT_TEXT - self.0.len();
            if text.len() <= room {
                self.0.push_str(text);
                return Ok(());
            }
            self.0.push_str(&text[..floor_char_boundary(text, room)]);
            Err(fmt::Error) // stops the formatting
        }
    }
    let mut out = Bounded(String::new());
    if write!(out, "{value:?}").is_err() {
        out.0.push_str(TRUNCATED);
    }
    out.0
}

/// `text`, cut to [`MAX_EVENT_TEXT`] bytes.
#[cfg(feature = "tracing-subscriber")]
pub(crate) fn bounded(text: &str) -> String {
    if text.len() <= MAX_EVENT_TEXT {
        return text.to_owned();
    }
    let mut cut = text[..floor_char_boundary(text, MAX_EVENT_TEXT)].to_owned();
    cut.push_str(TRUNCATED);
    cut
}

/// Cuts the event's message and exception texts to [`MAX_EVENT_TEXT`] bytes.
pub(crate) fn bound_text(event: &mut Event<'static>) {
    let cut = |text: &mut String| {
        if text.len() > MAX_EVENT_TEXT {
            text.truncate(floor_char_boundary(text, MAX_EVENT_TEXT));
            text.push_str(TRUNCATED);
        }
    };
    if let Some(message) = event.message.as_mut() {
        cut(message);
    }
    for exception in &mut event.exception.values {
        if let Some(value) = exception.value.as_mut() {
            cut(value);
        }
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Links `event` to the trace of the span this thread is in, if any; safe in a panic hook.
pub(crate) fn link_to_current_trace(event: &mut Event<'static>) {
    if let Some(context) = spans::current_trace_context() {
        event.contexts.insert("trace".into(), context.into());
    }
}

/// Links `event` to the trace of the span this thread is in, unless it is linked to that
/// trace already: the SDK links an event captured outside its own spans to a trace id of its
/// scope's, which no transaction has.
pub(crate) fn link_to_current_trace_unless_linked(event: &mut Event<'static>) {
    let Some(current) = spans::current_trace_context() else {
        return;
    };
    let linked = matches!(
        event.contexts.get("trace"),
        Some(Context::Trace(trace)) if trace.trace_id == current.trace_id
    );
    if !linked {
        event.contexts.insert("trace".into(), current.into());
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
    bound_text(&mut event);
    match traced {
        Some(traced) => {
            event
                .contexts
                .insert("trace".into(), traced.span.get_trace_context().into());
            spans::sending(&traced.baggage, || hub.capture_event(event));
        }
        None => {
            hub.capture_event(event);
        }
    }
    spans::count_report();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_text_is_bounded_and_huge_debug_values_stop_formatting_early() {
        let huge = vec!["é"; 100_000];
        let text = bounded_debug(&huge);
        assert!(
            text.len() <= MAX_EVENT_TEXT + TRUNCATED.len(),
            "{}",
            text.len()
        );
        assert!(text.starts_with("[\"é\", ") && text.ends_with(TRUNCATED));
        assert_eq!(bounded_debug(&"short"), "\"short\"");

        let mut event = exception_event("Huge", "x".repeat(100_000));
        event.message = Some("ü".repeat(50_000));
        bound_text(&mut event);
        let value = event.exception.values[0].value.as_deref().unwrap();
        assert_eq!(value, "x".repeat(MAX_EVENT_TEXT) + TRUNCATED);
        let message = event.message.unwrap();
        assert_eq!(message, "ü".repeat(MAX_EVENT_TEXT / 2) + TRUNCATED);
    }
}
