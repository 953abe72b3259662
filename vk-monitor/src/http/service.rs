//! HTTP request metrics: a tower [`Layer`] recording, per request, the RED metrics of the
//! matched route.
//!
//! - `http_requests_total{method, route, status}`
//! - `http_request_duration_seconds{method, route, status}`, timed to the end of the body
//! - `http_requests_in_flight{method, route}`
//!
//! `route` is the route template axum matched (`/calls/{id}`), never the raw path: requests
//! that match no route share [`UNMATCHED_ROUTE`], so a scanner adds no series. A request whose
//! future or body is dropped before the end (the client went away) is counted with
//! [`CLIENT_CLOSED_STATUS`], and always leaves the in-flight gauge. A handler that panics is
//! answered with `500 Internal Server Error` by the layer and recorded with that status.
//!
//! Handles are cached per (route, method) and status, so the steady state reads a map under a
//! shared lock and touches a few atomics, with no registry lookup.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, OnceLock, PoisonError, RwLock};
use std::task::{Context, Poll, ready};

use axum::extract::MatchedPath;
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use metrics::{Counter, SharedString};
use pin_project_lite::pin_project;
use quanta::Instant;
use tower_layer::Layer;
use tower_service::Service;

use crate::call_site::recording;
use crate::histogram::{self, Histogram};
use crate::http_tracing;
use crate::in_flight::InFlight;
use crate::metric_names::{
    HTTP_REQUEST_DURATION_HELP, HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_IN_FLIGHT,
    HTTP_REQUESTS_TOTAL,
};
use crate::spans::{self, Traced};

/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "<unmatched>";

/// The `status` of a request abandoned before its response ended: the client closed the
/// connection, or a timeout dropped the request (the code nginx uses for the same).
pub const CLIENT_CLOSED_STATUS: u16 = 499;

/// Routes the layer skips by default: the monitoring endpoints themselves.
pub const DEFAULT_EXCLUDED_ROUTES: &[&str] = &["/metrics", "/health", "/ready", "/startup"];

/// Records HTTP request metrics for every request through the wrapped service.
///
/// Works with `Router::layer` (unmatched requests are recorded as [`UNMATCHED_ROUTE`]) and
/// `Router::route_layer` (only matched requests are recorded), in nested routers too.
///
/// # Panics in handlers
///
/// A panic while the wrapped service computes its response is caught, and the request is
/// answered `500 Internal Server Error` with an empty body, recorded with status `500`, and the
/// connection stays open for the client's next request. Without it the panic would unwind into
/// hyper, which drops the connection without an answer. The panic hook still runs first, so the
/// panic is printed and reported to Sentry as before, and a `#[monitored]` handler still counts
/// `result="panic"`. This holds for every request through the layer, excluded routes included,
/// so add it with `Router::layer` outermost to cover all routes. A panic while the body is
/// streamed, after the head was sent, is not caught: the connection is dropped.
///
/// `tower_http::catch_panic::CatchPanicLayer` is not needed with it; added inside it (closer to
/// the handlers) it answers first, and this layer records its response.
///
/// ```
/// use axum::{Router, http::StatusCode, routing::get};
/// use vk_monitor::{Exporter, HttpMetricsLayer};
/// # use axum::{body::Body, http::Request, response::Response};
/// # // What `axum::serve` does with each request, here for one at a time.
/// # async fn send(app: &mut Router, uri: &str) -> Response {
/// #     use tower_service::Service;
/// #     std::future::poll_fn(|cx| Service::<Request<Body>>::poll_ready(app, cx)).await.unwrap();
/// #     app.call(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap()
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), vk_monitor::ExporterError> {
/// let exporter = Exporter::install()?;
/// let mut app: Router = Router::new()
///     .route("/calls/{id}", get(|| async { "call" }))
///     .route("/internal/status", get(|| async { "up" }))
///     .layer(HttpMetricsLayer::new().exclude("/internal/status"));
///
/// // `send` stands for a client of the served router.
/// assert_eq!(send(&mut app, "/calls/7").await.status(), StatusCode::OK);
/// assert_eq!(send(&mut app, "/calls/8").await.status(), StatusCode::OK);
/// assert_eq!(send(&mut app, "/wp-login.php").await.status(), StatusCode::NOT_FOUND);
/// assert_eq!(send(&mut app, "/internal/status").await.status(), StatusCode::OK);
///
/// let exposition = exporter.render();
/// // One series per route template, whatever the path was.
/// assert!(exposition.contains(r#"http_requests_total{method="GET",route="/calls/{id}",status="200"} 2"#));
/// assert!(exposition.contains(r#"http_requests_total{method="GET",route="<unmatched>",status="404"} 1"#));
/// assert!(!exposition.contains("/internal/status"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct HttpMetricsLayer {
    excluded: Arc<[Box<str>]>,
}

impl Default for HttpMetricsLayer {
    fn default() -> Self {
        HttpMetricsLayer {
            excluded: DEFAULT_EXCLUDED_ROUTES.iter().map(|&r| r.into()).collect(),
        }
    }
}

impl HttpMetricsLayer {
    /// A layer that records every route but [`DEFAULT_EXCLUDED_ROUTES`].
    pub fn new() -> Self {
        HttpMetricsLayer::default()
    }

    /// Skips requests whose matched route template is `route` (e.g. `/internal/{id}`).
    pub fn exclude(mut self, route: impl Into<String>) -> Self {
        let mut excluded = self.excluded.to_vec();
        excluded.push(route.into().into_boxed_str());
        self.excluded = excluded.into();
        self
    }

    /// Records every route, the monitoring endpoints included.
    pub fn exclude_nothing(mut self) -> Self {
        self.excluded = Arc::new([]);
        self
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics {
            inner,
            excluded: Arc::clone(&self.excluded),
        }
    }
}

/// The service of [`HttpMetricsLayer`].
#[derive(Clone, Debug)]
pub struct HttpMetrics<S> {
    inner: S,
    excluded: Arc<[Box<str>]>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpMetrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<MetricsBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let tracker = self.track(&request);
        ResponseFuture {
            inner: self.inner.call(request),
            tracker,
        }
    }
}

impl<S> HttpMetrics<S> {
    fn track<B>(&self, request: &Request<B>) -> Option<RequestTracker> {
        let (metrics_on, sentry_on) = (recording(), spans::active());
        if !metrics_on && !sentry_on {
            return None;
        }
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        if self.excluded.iter().any(|excluded| **excluded == *route) {
            return None;
        }
        let handles = metrics_on.then(|| method_handles(route, request.method()));
        if let Some(handles) = handles {
            handles.in_flight.enter();
        }
        let sentry = sentry_on.then(|| {
            // A hub per request: scope changes in a handler (`vk_monitor::context`) stay in it.
            let hub = Arc::new(sentry::Hub::new_from_top(sentry::Hub::current()));
            let transaction = http_tracing::start(request, route);
            Box::new(RequestSentry {
                hub,
                transaction,
                reported: AtomicU32::new(0),
            })
        });
        Some(RequestTracker {
            handles,
            sentry,
            start: Instant::now(),
            status: CLIENT_CLOSED_STATUS,
        })
    }
}

pin_project! {
    /// The response future of [`HttpMetrics`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        tracker: Option<RequestTracker>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Body,
{
    type Output = Result<Response<MetricsBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The handler runs on the request's hub, inside its transaction: its spans become
        // children, its events carry the request's scope.
        let poll = match this.tracker.as_ref().and_then(|t| t.sentry.as_deref()) {
            Some(sentry) => sentry::Hub::run(Arc::clone(&sentry.hub), || {
                let _entered =
                    spans::enter_call(sentry.transaction.as_ref(), Some(&sentry.reported));
                poll_catching_panics(this.inner, cx)
            }),
            None => poll_catching_panics(this.inner, cx),
        };
        let result = match ready!(poll) {
            Ok(result) => result,
            Err(panic) => {
                discard(panic);
                return Poll::Ready(Ok(panic_response(this.tracker.take())));
            }
        };
        let mut tracker = this.tracker.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(tracker) = &mut tracker {
                    tracker.status = response.status().as_u16();
                }
                Ok(response.map(|inner| MetricsBody {
                    inner: Some(inner),
                    tracker,
                }))
            }
            Err(error) => {
                // A service error becomes a 500 further out (axum's routes are infallible).
                if let Some(tracker) = &mut tracker {
                    tracker.status = 500;
                }
                Err(error)
            }
        })
    }
}

/// Polls the inner future; a panic makes it ready with an `Err` carrying the panic's payload.
fn poll_catching_panics<F: Future>(
    inner: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, Box<dyn Any + Send>>> {
    // A panic completes the response future, so the inner one is never polled again and the
    // state the panic left it in is not observed. Shared state the handler left half-updated
    // is its own concern, as for any panic a server survives.
    match crate::sentry_panics::survivable(|| catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))) {
        Ok(poll) => poll.map(Ok),
        Err(panic) => Poll::Ready(Err(panic)),
    }
}

/// Drops a panic's payload, whose destructor is user code that may panic in turn.
fn discard(panic: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(panic))) {
        std::mem::forget(again);
    }
}

/// The answer to a request whose handler panicked: a `500` with an empty body.
fn panic_response<B>(mut tracker: Option<RequestTracker>) -> Response<MetricsBody<B>> {
    if let Some(tracker) = &mut tracker {
        tracker.status = StatusCode::INTERNAL_SERVER_ERROR.as_u16();
        // The panic hook reported the panic (Sentry's panic integration, on this request's
        // hub): the 500 is that failure, not a second one to capture.
        if let Some(sentry) = &tracker.sentry {
            sentry.reported.fetch_add(1, Ordering::Relaxed);
        }
    }
    let mut response = Response::new(MetricsBody {
        inner: None,
        tracker,
    });
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

pin_project! {
    /// A response body that records its request when it ends or is dropped, so a streamed
    /// response is timed to its last byte.
    pub struct MetricsBody<B> {
        // `None`: the empty body of the layer's own `500` for a handler that panicked, which
        // has no `B` to give.
        #[pin]
        inner: Option<B>,
        tracker: Option<RequestTracker>,
    }
}

impl<B: Body> Body for MetricsBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let Some(mut inner) = this.inner.as_pin_mut() else {
            drop(this.tracker.take());
            return Poll::Ready(None);
        };
        let frame = ready!(inner.as_mut().poll_frame(cx));
        let finished = match &frame {
            None | Some(Err(_)) => true,
            Some(Ok(_)) => inner.is_end_stream(),
        };
        if finished {
            drop(this.tracker.take());
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

/// One request in flight; records it when dropped, with the last status it was given.
struct RequestTracker {
    handles: Option<&'static MethodHandles>,
    /// With Sentry on; boxed to keep the future small without it.
    sentry: Option<Box<RequestSentry>>,
    start: Instant,
    status: u16,
}

/// The request's own hub, its transaction when it is sampled in, and whether an error event
/// was captured while serving it.
struct RequestSentry {
    hub: Arc<sentry::Hub>,
    transaction: Option<Traced>,
    /// Error events captured while the handler ran.
    reported: AtomicU32,
}

impl Drop for RequestTracker {
    fn drop(&mut self) {
        if let Some(handles) = self.handles {
            let elapsed = self.start.elapsed();
            let (count, duration) = handles.for_status(self.status);
            count.increment(1);
            duration.record(elapsed);
            handles.in_flight.exit();
        }
        if let Some(sentry) = self.sentry.take()
            && let RequestSentry {
                hub,
                transaction: Some(transaction),
                reported,
            } = *sentry
        {
            let reported = reported.load(Ordering::Relaxed) > 0;
            http_tracing::finish(transaction, self.status, &hub, reported);
        }
    }
}

/// The methods that keep their name in the `method` label; any other is `OTHER`.
const METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

fn method_index(method: &Method) -> usize {
    METHODS
        .iter()
        .position(|known| known == method)
        .unwrap_or(METHODS.len())
}

fn method_label(index: usize) -> &'static str {
    METHODS.get(index).map_or("OTHER", Method::as_str)
}

/// The `method` label of `method`: its name in the standard set, else `OTHER`.
pub(crate) fn method_name(method: &Method) -> &'static str {
    method_label(method_index(method))
}

/// Handles of one route, per method; leaked, since series live as long as the process and
/// routes are few.
struct RouteHandles {
    route: SharedString,
    methods: [OnceLock<MethodHandles>; METHODS.len() + 1],
}

struct MethodHandles {
    route: SharedString,
    method: &'static str,
    in_flight: &'static InFlight,
    by_status: RwLock<Vec<(u16, &'static (Counter, &'static Histogram))>>,
}

impl MethodHandles {
    fn for_status(&self, status: u16) -> &'static (Counter, &'static Histogram) {
        let known = self
            .by_status
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, handles)) = known.iter().find(|(s, _)| *s == status) {
            return handles;
        }
        drop(known);
        let mut known = self
            .by_status
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, handles)) = known.iter().find(|(s, _)| *s == status) {
            return handles;
        }
        let status = status.to_string();
        let labels = [
            ("method", self.method),
            ("route", &*self.route),
            ("status", &*status),
        ];
        let handles: &'static (Counter, &'static Histogram) = Box::leak(Box::new((
            metrics::counter!(HTTP_REQUESTS_TOTAL, &labels.map(|(k, v)| (k, v.to_owned()))),
            histogram::register(
                HTTP_REQUEST_DURATION_SECONDS,
                HTTP_REQUEST_DURATION_HELP,
                &labels,
            ),
        )));
        known.push((status.parse().unwrap_or_default(), handles));
        handles
    }
}

static ROUTES: LazyLock<RwLock<HashMap<Box<str>, &'static RouteHandles>>> =
    LazyLock::new(Default::default);

fn method_handles(route: &str, method: &Method) -> &'static MethodHandles {
    let route = route_handles(route);
    let index = method_index(method);
    route.methods[index].get_or_init(|| {
        let method = method_label(index);
        MethodHandles {
            route: route.route.clone(),
            method,
            in_flight: InFlight::register(metrics::gauge!(
                HTTP_REQUESTS_IN_FLIGHT,
                "method" => method,
                "route" => route.route.clone(),
            )),
            by_status: RwLock::new(Vec::new()),
        }
    })
}

fn route_handles(route: &str) -> &'static RouteHandles {
    if let Some(handles) = ROUTES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(route)
    {
        return handles;
    }
    let mut routes = ROUTES.write().unwrap_or_else(PoisonError::into_inner);
    routes.entry(route.into()).or_insert_with(|| {
        Box::leak(Box::new(RouteHandles {
            route: SharedString::from(route.to_owned()),
            methods: [const { OnceLock::new() }; METHODS.len() + 1],
        }))
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::pin::pin;
    use std::task::Waker;

    use super::*;

    /// A service whose response future panics when polled, as a handler with a bug does.
    struct PanickingService;

    impl Service<Request<()>> for PanickingService {
        type Response = Response<String>;
        type Error = Infallible;
        type Future =
            std::future::PollFn<fn(&mut Context<'_>) -> Poll<Result<Response<String>, Infallible>>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            std::future::poll_fn(|_| panic!("a handler bug"))
        }
    }

    #[test]
    fn a_panicking_service_is_answered_500_with_an_empty_body() {
        let mut service = HttpMetricsLayer::new().layer(PanickingService);
        let mut cx = Context::from_waker(Waker::noop());
        let future = pin!(service.call(Request::new(())));
        let Poll::Ready(Ok(response)) = future.poll(&mut cx) else {
            panic!("the panic is answered at once");
        };
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.body().is_end_stream());
        assert_eq!(response.body().size_hint().exact(), Some(0));
        let mut body = pin!(response.into_body());
        assert!(matches!(
            body.as_mut().poll_frame(&mut cx),
            Poll::Ready(None)
        ));
    }

    #[test]
    fn methods_outside_the_standard_set_are_other() {
        assert_eq!(method_label(method_index(&Method::PATCH)), "PATCH");
        let purge = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_label(method_index(&purge)), "OTHER");
    }

    proptest::proptest! {
        #[test]
        fn any_method_has_one_of_ten_labels(token in "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}") {
            let method = Method::from_bytes(token.as_bytes()).unwrap();
            let label = method_name(&method);
            if METHODS.iter().any(|known| known.as_str() == token) {
                proptest::prop_assert_eq!(label, token);
            } else {
                proptest::prop_assert_eq!(label, "OTHER");
            }
        }
    }
}
