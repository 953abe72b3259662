//! Sentry transactions for HTTP requests: one `http.server` transaction per sampled request,
//! named `METHOD /route/{template}`, continuing an incoming trace (`trace_headers.rs`), with
//! request data that carries no personal data by default (`data.rs`).
//!
//! The sampling decision comes first, from the incoming header or a random draw; a request
//! sampled out touches nothing of the SDK.

mod data;
mod trace_headers;

use http::{Method, Request};
use sentry::TransactionContext;
use sentry::protocol::{Event, Level, SpanStatus};

use super::spans::{self, Traced};
use super::{events, state};
use crate::{method, status};
use data::request_data;
use trace_headers::incoming_trace;

/// A transaction for `request`, if it is sampled in.
pub(crate) fn start<B>(request: &Request<B>, route: &str) -> Option<Traced> {
    let incoming = incoming_trace(request.headers());
    let sampled = match incoming.as_ref().and_then(|trace| trace.sampled) {
        Some(decided) => decided,
        None => state::sample_new_trace(),
    };
    if !sampled {
        return None;
    }
    let name = transaction_name(request.method(), route);
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
    let traced = spans::start_transaction(context);
    traced
        .span
        .set_request(request_data(request, state::send_pii()));
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
    traced.span.finish();
}

fn span_status(status: u16) -> SpanStatus {
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
