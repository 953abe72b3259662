//! `tracing` events to Sentry: below the events' level and at or above the breadcrumbs' level
//! (default `info`), a breadcrumb on the current request's scope; at or above the events'
//! level (default `error`), an error event linked to the current trace, with the event's
//! fields as context. Field values follow the request data's rules by field name: credentials
//! never, personal data only with `SENTRY_SEND_DEFAULT_PII`; the message is sent as written.
//! Every text is cut at 8 KiB (`fields`). This crate's own events (`vk_monitor::*`) are not
//! sent.
//!
//! One failure is one event: an event captured here counts as a report on its thread, so a
//! `#[monitored]` function that logs `error!` and then returns `Err` is reported once, by the
//! log event, which comes first (the same rule as a nested call that already reported).
//! tower-http's `TraceLayer` logs its `error` after the failure was reported: inside a
//! recorded trace its events are breadcrumbs.

use std::collections::BTreeMap;
use std::sync::Arc;

use ::tracing::{Event, Level};
use sentry::Hub;
use sentry::protocol::{Breadcrumb, Event as SentryEvent, Level as SentryLevel};
use serde_json::Value;
use tracing_subscriber::filter::LevelFilter;

use super::fields::{self, FieldMap};
use crate::sentry::{events, spans, state};

/// Sends `event` as an error event (at `events_from` or above) or a breadcrumb (at
/// `breadcrumbs_from` or above), or not at all.
pub(super) fn send(event: &Event<'_>, breadcrumbs_from: LevelFilter, events_from: LevelFilter) {
    // This crate's own lines (one per request, logged as it ends, outside its hub) say
    // what Sentry already has.
    if !state::active() || event.metadata().target().starts_with("vk_monitor") {
        return;
    }
    let level = *event.metadata().level();
    if is_at_least(level, events_from) && !reports_a_response(event) {
        capture(event, level);
    } else if is_at_least(level, breadcrumbs_from) {
        add_breadcrumb(event, level);
    }
}

/// tower-http's `TraceLayer` logs an `error` for every failed response (`on_failure`). Inside
/// a recorded trace that failure is the one the monitored function or the HTTP layer reports
/// (the layer captures every 5xx of a sampled request that nothing reported), so the line is
/// a breadcrumb of it rather than a second event. Elsewhere it stays an event: the layer does
/// not capture the 5xx of a request sampled out.
fn reports_a_response(event: &Event<'_>) -> bool {
    event.metadata().target() == "tower_http::trace::on_failure"
        && spans::current_traced().is_some()
}

/// `level` is at least as severe as `filter` (`LevelFilter` orders verbosity, not severity).
pub(super) fn is_at_least(level: Level, filter: LevelFilter) -> bool {
    filter != LevelFilter::OFF && level <= filter
}

fn sentry_level(level: Level) -> SentryLevel {
    match level {
        Level::ERROR => SentryLevel::Error,
        Level::WARN => SentryLevel::Warning,
        Level::INFO => SentryLevel::Info,
        Level::DEBUG | Level::TRACE => SentryLevel::Debug,
    }
}

/// The event's message and its other fields, with values the PII rules allow.
fn message_and_fields(event: &Event<'_>) -> (Option<String>, BTreeMap<String, Value>) {
    let mut fields = FieldMap::default();
    event.record(&mut fields);
    let pii = state::send_pii();
    let mut message = None;
    let mut kept = BTreeMap::new();
    for (name, value) in fields.0 {
        if name == "message" {
            message = Some(events::bounded(&match value {
                Value::String(text) => text,
                other => other.to_string(),
            }));
            continue;
        }
        let value = fields::for_sentry(&name, value, pii);
        kept.insert(name, value);
    }
    (message, kept)
}

fn add_breadcrumb(event: &Event<'_>, level: Level) {
    // Only on a request's (or a task's) own scope: breadcrumbs on the process's scope would
    // ride along on every later request's events.
    let hub = Hub::current();
    if Arc::ptr_eq(&hub, &Hub::main()) {
        return;
    }
    let (message, data) = message_and_fields(event);
    hub.add_breadcrumb(Breadcrumb {
        ty: "log".into(),
        category: Some(event.metadata().target().to_owned()),
        level: sentry_level(level),
        message,
        data: data.into_iter().collect(),
        ..Breadcrumb::default()
    });
}

fn capture(event: &Event<'_>, level: Level) {
    let (message, fields) = message_and_fields(event);
    let metadata = event.metadata();
    let mut sentry_event = SentryEvent {
        level: sentry_level(level),
        message,
        logger: Some(metadata.target().to_owned()),
        ..SentryEvent::default()
    };
    if !fields.is_empty() {
        let context: BTreeMap<String, Value> = fields;
        sentry_event
            .contexts
            .insert("fields".into(), sentry::protocol::Context::Other(context));
    }
    if let (Some(file), Some(line)) = (metadata.file(), metadata.line()) {
        sentry_event
            .extra
            .insert("source".into(), format!("{file}:{line}").into());
    }
    events::capture_in_trace(
        sentry_event,
        spans::current_traced().as_ref(),
        &Hub::current(),
    );
}
