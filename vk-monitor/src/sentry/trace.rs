//! The trace monitored code runs in, for code of the application's own: the current Sentry
//! span, and the headers that continue the trace in an outgoing request.

use sentry::TransactionOrSpan;

use super::spans;

/// The span monitored code is running in on this thread, if any.
pub fn current_span() -> Option<TransactionOrSpan> {
    spans::current_traced().map(|traced| traced.span)
}

/// Headers that continue the current trace in an outgoing request: `sentry-trace` and W3C
/// `traceparent`. Empty outside a traced call.
///
/// ```
/// # fn send(_: &[(&str, String)]) {}
/// let headers = vk_monitor::trace::propagation_headers();
/// send(&headers); // add them to the outgoing request
/// # assert!(headers.is_empty(), "no trace without a Sentry client");
/// ```
pub fn propagation_headers() -> Vec<(&'static str, String)> {
    let Some(span) = current_span() else {
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
