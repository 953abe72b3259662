//! Which outgoing requests carry the trace on, and the headers that do: the trace's own
//! rules (`SENTRY_TRACE_PROPAGATION_TARGETS`, the dynamic sampling context in `baggage`).

use sentry::TransactionOrSpan;

use crate::sentry::trace;

/// Whether requests to `host` (without port) carry the propagation headers.
pub(super) fn allowed(host: &str) -> bool {
    trace::propagates_to(host)
}

/// The headers that make `span` the parent of the service called: `sentry-trace`,
/// `traceparent` and, when the trace has one, `baggage`.
pub(super) fn headers(span: &TransactionOrSpan) -> Vec<(&'static str, String)> {
    trace::propagation_headers_for(span)
}
