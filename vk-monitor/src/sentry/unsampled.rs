//! A request's trace that this service does not record: sampled out here, or by the caller
//! whose decision is followed. Its outgoing calls still pass the trace on with the negative
//! decision (`sentry-trace: TRACE-SPAN-0`, `traceparent` flags `00`, and `baggage` with
//! `sentry-sampled=false`), so that the services called decide the same and the trace id stays
//! one across them, as Sentry's SDKs do; its log lines and error events name that trace too.
//! The baggage is made only when the first outgoing call asks for it: a request that calls
//! nobody pays for two random ids.

use std::sync::{Arc, OnceLock};

use http::HeaderValue;
use sentry::protocol::{SpanId, TraceContext, TraceId};

use super::baggage::{IncomingBaggage, TraceBaggage};
use super::sampling::{self, Decision};
use super::state;

/// What a sampled-out request brought and was decided with, and, once asked for, what its
/// outgoing calls pass on.
pub(crate) struct Unsampled {
    /// The caller's trace, which this one continues, or one that starts here.
    trace_id: TraceId,
    /// Whether the trace is the caller's.
    continued: bool,
    /// Stands for this service in the trace: the parent the services called name, and the
    /// span logs and error events of the request name. Made with the request, so that a
    /// panic hook reads it without making anything.
    span_id: SpanId,
    /// The request's `baggage` values as they came, read only when a call needs them.
    baggage: Vec<HeaderValue>,
    /// The decision taken here, when one was (not when the caller's was followed unread).
    decision: Option<Decision>,
    /// `METHOD /route`, for a DSC made here.
    method: &'static str,
    route: &'static str,
    made: OnceLock<Propagation>,
}

/// The ids and baggage an outgoing call of an unsampled trace sends on.
pub(crate) struct Propagation {
    pub(crate) trace_id: TraceId,
    /// Stands for this service in the trace: the parent the services called name.
    pub(crate) span_id: SpanId,
    pub(crate) baggage: Arc<TraceBaggage>,
}

impl Unsampled {
    /// A request sampled out: `trace_id` is what its caller sent, `decision` the one taken
    /// here, if any.
    pub(crate) fn new(
        trace_id: Option<TraceId>,
        baggage: Vec<HeaderValue>,
        decision: Option<Decision>,
        method: &'static str,
        route: &'static str,
    ) -> Unsampled {
        Unsampled {
            trace_id: trace_id.unwrap_or_default(),
            continued: trace_id.is_some(),
            span_id: SpanId::default(),
            baggage,
            decision,
            method,
            route,
            made: OnceLock::new(),
        }
    }

    /// What outgoing calls send on: made by the first that asks, the same for every later one.
    pub(crate) fn propagation(&self) -> &Propagation {
        self.made.get_or_init(|| self.make())
    }

    /// The request's place in its trace, for logs and error events.
    pub(crate) fn trace_context(&self) -> TraceContext {
        TraceContext {
            trace_id: self.trace_id,
            span_id: self.span_id,
            op: Some("http.server".into()),
            ..TraceContext::default()
        }
    }

    fn make(&self) -> Propagation {
        let trace_id = self.trace_id;
        let incoming = (!self.baggage.is_empty())
            .then(|| IncomingBaggage::parse(self.baggage.iter().map(HeaderValue::as_bytes)))
            // The caller's DSC belongs to the caller's trace: without one, it is not this one's.
            .filter(|_| self.continued);
        let decision = self.decision.unwrap_or_else(|| {
            // The caller's decision was followed unread: its rate is not known here, so the
            // trace's `sample_rand` is drawn anew, as Sentry's SDKs do.
            Decision {
                sampled: false,
                rate: state::traces_rate(),
                rand: sampling::derived_rand(None, None),
            }
        });
        let transaction = format!("{} {}", self.method, self.route);
        let baggage = sampling::trace_baggage(trace_id, decision, &transaction, incoming);
        Propagation {
            trace_id,
            span_id: self.span_id,
            baggage: Arc::new(baggage),
        }
    }
}
