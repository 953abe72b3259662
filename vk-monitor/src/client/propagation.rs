//! Which outgoing requests carry the trace on, and the headers that do.

use sentry::TransactionOrSpan;

/// Whether requests to `host` carry the propagation headers.
pub(super) fn allowed(_host: &str) -> bool {
    true
}

/// The headers that make `span` the parent of the service called.
pub(super) fn headers(span: &TransactionOrSpan) -> Vec<(&'static str, String)> {
    let trace = span.get_trace_context();
    let span_id = match span {
        TransactionOrSpan::Transaction(_) => trace.span_id,
        TransactionOrSpan::Span(span) => span.get_span_id(),
    };
    vec![
        ("sentry-trace", format!("{}-{span_id}-1", trace.trace_id)),
        ("traceparent", format!("00-{}-{span_id}-01", trace.trace_id)),
    ]
}
