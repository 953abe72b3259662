//! Sentry for HTTP requests: each request's own hub; the request being served on a thread,
//! whose data and transaction name its events get when they are sent (nothing is built for a
//! request without events); and one `http.server` transaction per sampled request, named
//! `METHOD /route/{template}`, continuing an incoming trace and its baggage
//! (`trace_headers.rs`), with request data sent by allow-list (`data.rs`).
//!
//! The sampling decision comes first (`sentry/sampling.rs`): nothing is traced with tracing
//! off, whatever a client sends; with it on, a configured sampler decides, told the incoming
//! decision; without one the incoming decision is followed (unless
//! `SENTRY_FOLLOW_INCOMING_SAMPLING=false`), else `sample_rand` against the rate. A request
//! sampled out starts no transaction: its trace is passed on unrecorded
//! (`sentry/unsampled.rs`).

mod data;
mod trace_headers;

use std::cell::Cell;
use std::sync::Arc;

use http::{Method, Request};
use sentry::protocol::{Event, Level};
use sentry::{Hub, TransactionContext};

use super::sampling::{self, Candidate, Decision, Parent};
use super::spans::{self, Traced};
use super::unsampled::Unsampled;
use super::{events, state};
use crate::method;
use crate::work::{CANCELLED_STATUS, Ending};
pub(crate) use data::RequestInfo;
use trace_headers::{incoming_baggage, incoming_trace};

/// The request's own hub, so that scope changes in a handler (`vk_monitor::context`) stay in
/// it. It starts from the process's scope, never from this thread's: code outside any request
/// (a spawned task, a streaming body) may have set a user or tags there, which no later
/// request may inherit. It is left as it starts, with no processor of its own: what the
/// request's events are described with is found through [`enter`] when one is sent.
pub(crate) fn hub() -> Arc<Hub> {
    Arc::new(Hub::new_from_top(Hub::main()))
}

thread_local! {
    /// The request being served on this thread, while its handler is polled or it ends.
    static CURRENT: Cell<Option<Arc<RequestInfo>>> = const { Cell::new(None) };
}

/// While alive, events captured on this thread are the request's: the client's `before_send`
/// ([`describe`]) gives them its request data and transaction name. Nothing is built for a
/// request that sends no event, which is most of them.
pub(crate) struct InRequest {
    previous: Option<Arc<RequestInfo>>,
}

/// Makes `info` the request of this thread's events until the guard is dropped.
pub(crate) fn enter(info: &Arc<RequestInfo>) -> InRequest {
    InRequest {
        previous: CURRENT.with(|current| current.replace(Some(Arc::clone(info)))),
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: a guard may drop while the thread's locals are torn down.
        let _ = CURRENT.try_with(|current| current.set(previous));
    }
}

/// Gives an event captured while a request is served on this thread its request data and
/// transaction name, unless it has its own. Called by the client's `before_send`, in a panic
/// hook too: it never panics.
pub(crate) fn describe(event: &mut Event<'static>) {
    let Ok(Some(info)) = CURRENT.try_with(Cell::take) else {
        return;
    };
    if event.request.is_none() {
        event.request = Some(info.to_protocol());
    }
    if event.transaction.is_none() {
        event.transaction = Some(transaction_name(info.method(), info.route()));
    }
    let _ = CURRENT.try_with(|current| current.set(Some(info)));
}

/// The trace a request runs in, with tracing on.
pub(crate) enum RequestTrace {
    /// Sampled in: its transaction.
    Sampled(Traced),
    /// Sampled out: passed on to the services it calls, not recorded.
    Unsampled(Arc<Unsampled>),
}

impl RequestTrace {
    /// The transaction, when the request is sampled in.
    pub(crate) fn transaction(&self) -> Option<&Traced> {
        match self {
            RequestTrace::Sampled(traced) => Some(traced),
            RequestTrace::Unsampled(_) => None,
        }
    }

    /// While alive, the request's trace is the current one on this thread; error events
    /// captured meanwhile are counted in `reported`.
    pub(crate) fn enter<'a>(
        trace: Option<&RequestTrace>,
        reported: &'a spans::Reports,
    ) -> spans::Entered<'a> {
        let (transaction, unsampled) = match trace {
            Some(RequestTrace::Sampled(traced)) => (Some(traced), None),
            Some(RequestTrace::Unsampled(unsampled)) => (None, Some(unsampled)),
            None => (None, None),
        };
        spans::enter_request(transaction, unsampled, Some(reported))
    }
}

/// The trace of `request`: a transaction when it is sampled in, its trace passed on
/// unrecorded when not; `None` with tracing off.
pub(crate) fn start<B>(
    request: &Request<B>,
    route: &'static str,
    info: &RequestInfo,
) -> Option<RequestTrace> {
    if state::traces_rate() <= 0.0 {
        return None; // tracing is off: a client's `sampled` flag cannot turn it on
    }
    let incoming = incoming_trace(request.headers());
    let parent_sampled = incoming.as_ref().and_then(|trace| trace.sampled);
    let unsampled = |decision: Option<Decision>| {
        let baggage = request.headers().get_all("baggage").iter().cloned();
        RequestTrace::Unsampled(Arc::new(Unsampled::new(
            incoming.as_ref().map(|trace| trace.trace_id),
            baggage.collect(),
            decision,
            method::method_name(request.method()),
            route,
        )))
    };
    if parent_sampled == Some(false) && state::follow_incoming_sampling() && !state::has_sampler() {
        // Decided without reading the baggage (a sampler would decide itself).
        return Some(unsampled(None));
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
    let decision = sampling::decide(&candidate, &parent)?;
    if !decision.sampled {
        return Some(unsampled(Some(decision)));
    }
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
    let baggage = sampling::trace_baggage(context.trace_id(), decision, &name, baggage);
    let traced = spans::start_transaction(context, baggage);
    traced.span.set_request(info.to_protocol());
    Some(RequestTrace::Sampled(traced))
}

/// `METHOD /route/{template}`. Methods outside the standard set are `OTHER`, as in the
/// metrics: a client can send any token as a method, and each would name a transaction.
fn transaction_name(method: &Method, route: &str) -> String {
    format!("{} {route}", method::method_name(method))
}

/// Ends the request's transaction as it ended; a 5xx answer that produced no error event is
/// captured as one, described with the request (`info`).
pub(crate) fn finish(
    traced: Traced,
    ending: Ending,
    hub: &sentry::Hub,
    info: &Arc<RequestInfo>,
    error_reported: bool,
) {
    let status = match ending {
        Ending::Answered(code) => code,
        _ => CANCELLED_STATUS,
    };
    traced.span.set_status(ending.span_status());
    traced
        .span
        .set_data("http.response.status_code", status.into());
    if ending.is_failure() && !error_reported {
        let mut event = Event {
            level: Level::Error,
            message: Some(format!("the request was answered with status {status}")),
            ..Event::default()
        };
        event
            .tags
            .insert("http.status_code".into(), status.to_string());
        let _request = enter(info);
        events::capture_in_trace(event, Some(&traced), hub);
    }
    traced.finish();
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
