//! The service of [`MonitorLayer`](super::MonitorLayer): decides per request what to track
//! (nothing for an excluded route, or when neither metrics nor Sentry are on) and starts it.

use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::ResponseBody;
use super::future::ResponseFuture;
use super::tracker::{RequestTracker, SentryTracking, Tracking};
use crate::metrics::is_recording;
use crate::routes::{ExcludedRoutes, UNMATCHED_ROUTE};
use crate::sentry::state;

/// The service of [`MonitorLayer`](super::MonitorLayer).
#[derive(Clone, Debug)]
pub struct MonitorService<S> {
    inner: S,
    excluded: ExcludedRoutes,
    log_requests: bool,
}

impl<S> MonitorService<S> {
    pub(super) fn new(inner: S, excluded: ExcludedRoutes, log_requests: bool) -> Self {
        MonitorService {
            inner,
            excluded,
            log_requests,
        }
    }

    fn track<B>(&self, request: &Request<B>) -> Option<RequestTracker> {
        let (metrics_on, sentry_on) = (is_recording(), state::active());
        if !metrics_on && !sentry_on && !self.log_requests {
            return None;
        }
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        if self.excluded.contains(route) {
            // No metrics, no transaction; with Sentry on, a hub that marks the request's
            // events as the route's, so that the client drops them (a failing readiness
            // check would otherwise report on every probe).
            let events_only = Tracking {
                metrics: false,
                sentry: SentryTracking::EventsOnly,
                log: false,
            };
            return sentry_on.then(|| RequestTracker::start(request, route, events_only));
        }
        let tracking = Tracking {
            metrics: metrics_on,
            sentry: if sentry_on {
                SentryTracking::Traced
            } else {
                SentryTracking::Off
            },
            log: self.log_requests,
        };
        Some(RequestTracker::start(request, route, tracking))
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MonitorService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let tracker = self.track(&request);
        // In the request's hub and trace: a service that does its work in `call` (tower-http's
        // `Trace` opens its span there) does it inside the request, as when it is polled.
        let inner = match &tracker {
            Some(tracker) => tracker.run(|| self.inner.call(request)),
            None => self.inner.call(request),
        };
        ResponseFuture::new(inner, tracker)
    }
}
