//! The trace monitored code runs in, for code of the application's own: the current Sentry
//! span, the headers that continue the trace in an outgoing request (sampled, or passing a
//! negative decision on), and the hosts those headers may be sent to.

use sentry::TransactionOrSpan;
use sentry::protocol::{SpanId, TraceId};

use super::unsampled::Unsampled;
use super::{spans, state};

/// The span monitored code is running in on this thread, if any: the innermost one.
pub fn current_span() -> Option<TransactionOrSpan> {
    spans::current_traced().map(|traced| traced.span)
}

/// Headers that continue the current trace in an outgoing request, with the innermost span
/// monitored code runs in as the callee's parent: see [`propagation_headers_for`]. In a
/// request this service sampled out (or whose caller did), the same headers with the negative
/// decision (`sentry-trace: TRACE-SPAN-0`, `traceparent` flags `00`, `sentry-sampled=false`
/// in `baggage`), so that the callee decides the same in the same trace. Empty outside both.
///
/// ```
/// # fn send(_: &[(&str, String)]) {}
/// let headers = vk_monitor::trace::propagation_headers();
/// send(&headers); // add them to the outgoing request
/// # assert!(headers.is_empty(), "no trace without a Sentry client");
/// ```
pub fn propagation_headers() -> Vec<(&'static str, String)> {
    if let Some(span) = current_span() {
        return propagation_headers_for(&span);
    }
    spans::current_unsampled().map_or_else(Vec::new, |unsampled| unsampled_headers(&unsampled))
}

/// Headers that make `span` the parent of the callee of an outgoing request: `sentry-trace`
/// and W3C `traceparent` naming `span`, sampled, and `baggage`: the trace's dynamic sampling
/// context (frozen as it came in, or made here at the head of the trace), then the members of
/// others the request that started the trace brought, unchanged.
///
/// Call it on the thread that runs the caller, with a span of the current trace (a child
/// started for the outgoing request, or [`current_span`]): the baggage is the current
/// trace's. A span of another trace gets no `baggage`.
///
/// ```
/// # fn send(_: &[(&str, String)]) {}
/// if let Some(parent) = vk_monitor::trace::current_span() {
///     let span = parent.start_child("http.client", "GET https://speech.internal/v1/tts");
///     let headers = vk_monitor::trace::propagation_headers_for(&span.clone().into());
///     send(&headers);
///     span.finish();
/// }
/// ```
pub fn propagation_headers_for(span: &TransactionOrSpan) -> Vec<(&'static str, String)> {
    // Only sampled spans are ever recorded: the decision passed on is "sampled".
    let (trace_id, span_id) = spans::ids(span);
    let baggage = spans::baggage_of(trace_id).and_then(|baggage| baggage.header());
    headers(trace_id, span_id, true, baggage)
}

/// The headers an outgoing call in the span `traced` sends on: its trace, with its baggage.
pub(crate) fn propagation_headers_of(traced: &spans::Traced) -> Vec<(&'static str, String)> {
    let (trace_id, span_id) = traced.ids();
    headers(trace_id, span_id, true, traced.baggage.header())
}

/// The headers an outgoing call of the sampled-out request `unsampled` sends on.
pub(crate) fn unsampled_headers(unsampled: &Unsampled) -> Vec<(&'static str, String)> {
    let propagation = unsampled.propagation();
    let baggage = propagation.baggage.header();
    headers(propagation.trace_id, propagation.span_id, false, baggage)
}

fn headers(
    trace_id: TraceId,
    span_id: SpanId,
    sampled: bool,
    baggage: Option<String>,
) -> Vec<(&'static str, String)> {
    let (decision, flags) = if sampled { ("1", "01") } else { ("0", "00") };
    let mut headers = vec![
        ("sentry-trace", format!("{trace_id}-{span_id}-{decision}")),
        ("traceparent", format!("00-{trace_id}-{span_id}-{flags}")),
    ];
    headers.extend(baggage.map(|baggage| ("baggage", baggage)));
    headers
}

/// Whether an outgoing request to `host` (a URL's host, without port) may carry the trace
/// headers: the hosts set by `SENTRY_TRACE_PROPAGATION_TARGETS` (every host by default; see
/// [`PropagationTargets`](crate::PropagationTargets)).
///
/// ```
/// // Without a running monitor, the default: every host.
/// assert!(vk_monitor::trace::propagates_to("api.example.com"));
/// ```
pub fn propagates_to(host: &str) -> bool {
    state::propagates_to(host)
}
