//! The envelope header's `trace` object: the dynamic sampling context of the envelope's trace,
//! found on the thread that sends the envelope, written into the header as the trace's DSC
//! holds it (the SDK's own header knows only part of it, and rounds `sample_rand`).

use std::sync::Arc;

use sentry::Envelope;
use sentry::protocol::{Context, EnvelopeItem};

use crate::sentry::baggage::TraceBaggage;
use crate::sentry::spans;

/// The baggage of the trace `envelope` belongs to, as this thread knows it.
pub(super) fn baggage_of(envelope: &Envelope) -> Option<Arc<TraceBaggage>> {
    let trace_id = envelope.items().find_map(|item| {
        let contexts = match item {
            EnvelopeItem::Transaction(transaction) => &transaction.contexts,
            EnvelopeItem::Event(event) => &event.contexts,
            _ => return None,
        };
        match contexts.get("trace")? {
            Context::Trace(trace) => Some(trace.trace_id),
            _ => None,
        }
    })?;
    spans::baggage_of(trace_id)
}

/// `body` (a serialised envelope) with `baggage`'s DSC as the header's `trace`; unchanged when
/// the header cannot be read back, which the SDK never writes.
pub(super) fn with_trace(body: Vec<u8>, baggage: &TraceBaggage) -> Vec<u8> {
    let Some(trace) = baggage.envelope_trace() else {
        return body;
    };
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let Ok(serde_json::Value::Object(mut header)) = serde_json::from_slice(&body[..end]) else {
        return body;
    };
    header.insert("trace".into(), trace);
    let Ok(mut rewritten) = serde_json::to_vec(&header) else {
        return body;
    };
    rewritten.extend_from_slice(&body[end..]);
    rewritten
}
