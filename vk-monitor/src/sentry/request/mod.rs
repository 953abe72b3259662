//! Sentry for HTTP requests: each request's own hub, whose events carry the request and its
//! transaction name, and one `http.server` transaction per sampled request, named
//! `METHOD /route/{template}`, continuing an incoming trace and its baggage
//! (`trace_headers.rs`), with request data sent by allow-list (`data.rs`).
//!
//! The sampling decision comes first (`sentry/sampling.rs`): nothing is traced with tracing
//! off, whatever a client sends; with it on, the incoming decision is followed (unless
//! `SENTRY_FOLLOW_INCOMING_SAMPLING=false`), else `sample_rand` against the sampler's rate. A
//! request sampled out starts no transaction.

mod data;
mod trace_headers;

use std::sync::Arc;

use http::{Method, Request};
use sentry::protocol::{Event, Level, SpanStatus};
use sentry::{Hub, TransactionContext};

use super::sampling::{self, Candidate, Parent};
use super::spans::{self, Traced};
use super::{events, state};
use crate::{method, status};
pub(crate) use data::RequestInfo;
#[cfg(feature = "tracing-subscriber")]
pub(crate) use data::{FILTERED, names_a_secret, names_personal_data};
use trace_headers::{incoming_baggage, incoming_trace};

/// The request's own hub, so that scope changes in a handler (`vk_monitor::context`) stay in
/// it. It starts from the process's scope, never from this thread's: code outside any request
/// (a spawned task, a streaming body) may have set a user or tags there, which no later
/// request may inherit. Its events carry the request's data and transaction name, by which
/// the events of excluded routes are dropped.
pub(crate) fn hub(info: &Arc<RequestInfo>, route: &str) -> Arc<Hub> {
    let hub = Arc::new(Hub::new_from_top(Hub::main()));
    let info = Arc::clone(info);
    let name = transaction_name(info.method(), route);
    hub.configure_scope(|scope| {
        scope.add_event_processor(move |mut event| {
            if event.request.is_none() {
                event.request = Some(info.to_protocol());
            }
            if event.transaction.is_none() {
                event.transaction = Some(name.clone());
            }
            Some(event)
        });
    });
    hub
}

/// A transaction for `request`, if it is sampled in.
pub(crate) fn start<B>(request: &Request<B>, route: &str, info: &RequestInfo) -> Option<Traced> {
    if state::traces_rate() <= 0.0 {
        return None; // tracing is off: a client's `sampled` flag cannot turn it on
    }
    let incoming = incoming_trace(request.headers());
    let parent_sampled = incoming.as_ref().and_then(|trace| trace.sampled);
    if parent_sampled == Some(false) && state::follow_incoming_sampling() {
        return None; // decided without reading the baggage
    }
    let baggage = incoming_baggage(request.headers());
    let name = transaction_name(request.method(), route);
    let parent = Parent {
        sampled: parent_sampled,
        // The caller's DSC belongs to the caller's trace: without one, it is not this trace's.
        dsc: baggage
            .as_ref()
            .map(|b| &b.dsc)
            .filter(|_| incoming.is_some()),
    };
    let candidate = Candidate {
        name: &name,
        op: "http.server",
        route: Some(route),
    };
    let sampled = sampling::decide(&candidate, &parent)?;
    let mut context = match &incoming {
        Some(trace) => TransactionContext::new_with_details(
            &name,
            "http.server",
            trace.trace_id,
            None,
            Some(trace.parent_span_id),
        ),
        None => TransactionContext::new(&name, "http.server"),
    };
    context.set_sampled(Some(true));
    let baggage = sampling::trace_baggage(context.trace_id(), sampled, &name, baggage);
    let traced = spans::start_transaction(context, baggage);
    traced.span.set_request(info.to_protocol());
    Some(traced)
}

/// `METHOD /route/{template}`. Methods outside the standard set are `OTHER`, as in the
/// metrics: a client can send any token as a method, and each would name a transaction.
fn transaction_name(method: &Method, route: &str) -> String {
    format!("{} {route}", method::method_name(method))
}

/// Ends the request's transaction with its status; a 5xx answer that produced no error event
/// is captured as one.
pub(crate) fn finish(traced: Traced, status: u16, hub: &sentry::Hub, error_reported: bool) {
    traced.span.set_status(span_status(status));
    traced
        .span
        .set_data("http.response.status_code", status.into());
    if status::is_failure(status) && !error_reported {
        let mut event = Event {
            level: Level::Error,
            message: Some(format!("the request was answered with status {status}")),
            ..Event::default()
        };
        event
            .tags
            .insert("http.status_code".into(), status.to_string());
        events::capture_in_trace(event, Some(&traced), hub);
    }
    traced.finish();
}

/// The span status a request answered with `status` ends with (incoming or outgoing).
pub(crate) fn span_status(status: u16) -> SpanStatus {
    match status {
        100..=399 => SpanStatus::Ok,
        400 => SpanStatus::InvalidArgument,
        401 => SpanStatus::Unauthenticated,
        403 => SpanStatus::PermissionDenied,
        404 => SpanStatus::NotFound,
        409 => SpanStatus::AlreadyExists,
        429 => SpanStatus::ResourceExhausted,
        499 => SpanStatus::Cancelled,
        402 | 405..=408 | 410..=428 | 430..=498 => SpanStatus::FailedPrecondition,
        501 => SpanStatus::Unimplemented,
        503 => SpanStatus::Unavailable,
        504 => SpanStatus::DeadlineExceeded,
        _ => SpanStatus::InternalError,
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
