//! One request in flight: its unit of work (metrics), its Sentry hub and transaction, and the status it
//! ends with. Dropping the tracker records the request, on every path: the end of the body,
//! an error, a panic, or the client going away; a traced request leaves its transaction as the
//! exemplar of its count and of its duration's bucket.

use std::sync::Arc;

use http::Request;

use super::handles::routes;
use crate::sentry::request::{self, RequestInfo, RequestTrace};
use crate::sentry::spans::{Reports, Traced};
use crate::sentry::state;
use crate::work::{self, Ending, Work};

/// The `status` of a request cancelled before its response ended: the client closed the
/// connection, or a timeout dropped the request. It is the code nginx and Envoy log for the
/// same, so dashboards that group requests by code already know it.
pub const CANCELLED_STATUS: u16 = work::CANCELLED_STATUS;

/// What a request is tracked for, decided by the service per request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tracking {
    /// Its requests and duration metrics, and its in-flight count.
    pub(super) metrics: bool,
    pub(super) sentry: SentryTracking,
    /// Its log line when it ends.
    pub(super) log: bool,
}

/// What Sentry sees of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SentryTracking {
    /// Nothing: no client runs.
    Off,
    /// A hub that names its events as the route's and no transaction: the route is excluded,
    /// and the client drops what it reports.
    EventsOnly,
    /// A hub and, when sampled in, a transaction.
    Traced,
}

/// Records its request when dropped, with the last status it was given.
pub(super) struct RequestTracker {
    /// Its metrics (when on) and its duration.
    work: Work,
    /// With Sentry on; boxed to keep the future small without it.
    sentry: Option<Box<RequestSentry>>,
    status: u16,
    /// A `HEAD` request: its response never has a body, whatever the handler returned.
    head: bool,
    /// The response's head is sent and its body has not ended: dropped in this state, the
    /// client left mid-body, and the request is recorded as cancelled.
    body_pending: bool,
    /// Bytes of a body of known length still to send: hyper stops polling a body once its
    /// `Content-Length` is written, without asking for its end.
    body_remaining: Option<u64>,
    /// What the request's log line names, when requests are logged.
    log: Option<RequestLog>,
}

/// The method and route template of a request that is logged when it ends.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))] // never made without `tracing`
struct RequestLog {
    method: &'static str,
    route: &'static str,
}

/// The request's own hub, what its events are described with, its trace (a transaction when
/// it is sampled in), and whether an error event was captured while serving it.
struct RequestSentry {
    hub: Arc<sentry::Hub>,
    info: Arc<RequestInfo>,
    trace: Option<RequestTrace>,
    /// Error events captured while the handler ran.
    reported: Reports,
}

impl RequestTracker {
    /// Starts tracking `request`, matched to `route`, for what `tracking` says.
    pub(super) fn start<B>(request: &Request<B>, route: &str, tracking: Tracking) -> Self {
        let route = routes().identity(route);
        let unit = tracking.metrics.then(|| route.method(request.method()));
        let route = route.name();
        let sentry = (tracking.sentry != SentryTracking::Off).then(|| {
            let info = Arc::new(RequestInfo::capture(request, route, state::send_pii()));
            let hub = request::hub();
            let trace = match tracking.sentry {
                SentryTracking::Traced => request::start(request, route, &info),
                SentryTracking::EventsOnly | SentryTracking::Off => None,
            };
            Box::new(RequestSentry {
                hub,
                info,
                trace,
                reported: Reports::new(),
            })
        });
        RequestTracker {
            work: Work::start(unit),
            sentry,
            status: CANCELLED_STATUS,
            head: request.method() == http::Method::HEAD,
            body_pending: false,
            body_remaining: None,
            log: tracking.log.then(|| RequestLog {
                method: crate::method::method_name(request.method()),
                route,
            }),
        }
    }

    /// Runs `f` (a poll of the handler) on the request's hub, inside its transaction: the
    /// handler's spans become children, its events carry the request's scope and data.
    pub(super) fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        match self.sentry.as_deref() {
            Some(sentry) => sentry::Hub::run(Arc::clone(&sentry.hub), || {
                let _request = request::enter(&sentry.info);
                let _entered = RequestTrace::enter(sentry.trace.as_ref(), &sentry.reported);
                f()
            }),
            None => f(),
        }
    }

    /// The status the request is recorded with, unless a later one is set.
    pub(super) fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    /// The response's head is ready with `status`; `body_ended`: its body has nothing to send;
    /// `length`: its length when known (`Content-Length`, or the body's exact size). A
    /// response that can have no body (to `HEAD`, or 1xx, 204 and 304) is complete already:
    /// the server drops its body unread.
    pub(super) fn respond(&mut self, status: u16, body_ended: bool, length: Option<u64>) {
        self.status = status;
        let bodiless = self.head || matches!(status, 100..=199 | 204 | 304);
        self.body_pending = !(body_ended || bodiless || length == Some(0));
        self.body_remaining = length;
    }

    /// `bytes` of the body were handed to the server; all of a known length: complete.
    pub(super) fn body_sent(&mut self, bytes: u64) {
        if let Some(remaining) = self.body_remaining.as_mut() {
            *remaining = remaining.saturating_sub(bytes);
            if *remaining == 0 {
                self.body_pending = false;
            }
        }
    }

    /// The response's body has ended: the request is complete.
    pub(super) fn body_ended(&mut self) {
        self.body_pending = false;
    }

    /// The handler panicked: the panic hook reported it (Sentry's panic integration, on this
    /// request's hub), so the 500 it is answered with is that failure, not a second one to
    /// capture.
    pub(super) fn panicked(&mut self, status: u16) {
        self.status = status;
        if let Some(sentry) = &self.sentry {
            sentry.reported.note();
        }
    }
}

impl RequestTracker {
    /// The request's transaction, when it is sampled in.
    fn transaction(&self) -> Option<&Traced> {
        self.sentry.as_deref()?.trace.as_ref()?.transaction()
    }
}

impl Drop for RequestTracker {
    fn drop(&mut self) {
        if self.body_pending {
            // A streamed response whose client went away mid-body: not the head's status.
            self.status = CANCELLED_STATUS;
        }
        let ending = match self.status {
            CANCELLED_STATUS => Ending::Cancelled,
            code => Ending::Answered(code),
        };
        let trace = self.transaction().map(Traced::ids);
        let elapsed = self.work.end(ending, trace);
        #[cfg(feature = "tracing")]
        if let Some(log) = self.log.take() {
            let trace_id = self.transaction().map(|traced| traced.ids().0.to_string());
            log_request(&log, self.status, ending, elapsed, trace_id);
        }
        #[cfg(not(feature = "tracing"))]
        let _ = (self.log.take(), elapsed, ending);
        if let Some(sentry) = self.sentry.take()
            && let RequestSentry {
                hub,
                info,
                trace: Some(RequestTrace::Sampled(transaction)),
                reported,
            } = *sentry
        {
            request::finish(transaction, ending, &hub, &info, reported.any());
        }
    }
}

/// The request's line: `info` for answered requests, `warn` for 5xx and cancelled ones.
#[cfg(feature = "tracing")]
fn log_request(
    log: &RequestLog,
    status: u16,
    ending: Ending,
    elapsed: std::time::Duration,
    trace_id: Option<String>,
) {
    // Microsecond precision is what a reader can use.
    let duration_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    let (method, route) = (log.method, log.route);
    let failed = ending.is_failure() || ending == Ending::Cancelled;
    match (trace_id, failed) {
        (Some(trace_id), false) => ::tracing::info!(
            target: "vk_monitor::http", method, route, status, duration_ms, trace_id, "request"
        ),
        (Some(trace_id), true) => ::tracing::warn!(
            target: "vk_monitor::http", method, route, status, duration_ms, trace_id, "request"
        ),
        (None, false) => ::tracing::info!(
            target: "vk_monitor::http", method, route, status, duration_ms, "request"
        ),
        (None, true) => ::tracing::warn!(
            target: "vk_monitor::http", method, route, status, duration_ms, "request"
        ),
    }
}
