//! The layer's configuration: which routes it leaves out, whether it logs each request, and
//! the objectives routes count for.

use tower_layer::Layer;

use super::handles;
use super::service::MonitorService;
use crate::routes::ExcludedRoutes;
#[cfg(doc)]
use crate::routes::{DEFAULT_EXCLUDED_ROUTES, UNMATCHED_ROUTE};
use crate::work::Objective;

/// Monitors every request through the wrapped service: its RED metrics by matched route, a
/// Sentry transaction when Sentry is on and the request is sampled, and a `500` answer for a
/// handler that panics.
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
/// use vk_monitor::Exporter;
/// use vk_monitor::http::MonitorLayer;
/// # use axum::{body::Body, http::Request, response::Response};
/// # // What `axum::serve` does with each request, here for one at a time.
/// # async fn send(app: &mut Router, uri: &str) -> Response {
/// #     use tower_service::Service;
/// #     std::future::poll_fn(|cx| Service::<Request<Body>>::poll_ready(app, cx)).await.unwrap();
/// #     let response = app.call(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
/// #     // A client reads the body: a response dropped unread is one the client abandoned.
/// #     let (parts, body) = response.into_parts();
/// #     let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
/// #     Response::from_parts(parts, Body::from(bytes))
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), vk_monitor::ExporterError> {
/// let exporter = Exporter::install()?;
/// let mut app: Router = Router::new()
///     .route("/calls/{id}", get(|| async { "call" }))
///     .route("/internal/status", get(|| async { "up" }))
///     .layer(MonitorLayer::new().exclude("/internal/status"));
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
#[derive(Clone, Debug, Default)]
pub struct MonitorLayer {
    excluded: ExcludedRoutes,
    log_requests: bool,
    objectives: Vec<(String, Objective)>,
}

impl MonitorLayer {
    /// A layer that records every route but [`DEFAULT_EXCLUDED_ROUTES`].
    pub fn new() -> Self {
        MonitorLayer::default()
    }

    /// Skips requests whose matched route template is `route` (e.g. `/internal/{id}`).
    pub fn exclude(mut self, route: impl Into<String>) -> Self {
        self.excluded = self.excluded.with(route);
        self
    }

    /// Records every route, the monitoring endpoints included.
    pub fn exclude_nothing(mut self) -> Self {
        self.excluded = ExcludedRoutes::none();
        self
    }

    /// Logs one `tracing` event per request when it ends (target `vk_monitor::http`, level
    /// `info`): `method`, `route` (the template), `status` (499 for a client gone),
    /// `duration_ms` and, when the request was traced, `trace_id`. Excluded routes are not
    /// logged. Off by default; needs the `tracing` feature.
    #[cfg(feature = "tracing")]
    pub fn log_requests(mut self, log: bool) -> Self {
        self.log_requests = log;
        self
    }

    /// The requests of the route template `route` (e.g. `/calls/{id}`) count for `objective`:
    /// `http_requests_total` carries its success rate's labels (`objective_name`,
    /// `objective_percentile`) and `http_request_duration_seconds` its latency's (with
    /// `objective_latency_threshold`, one of that series' bucket bounds), as for a
    /// `#[monitored(objective = ..)]` function; several routes and functions may share one.
    /// A 5xx is a failure, a 499 (the client went away) does not count. The first objective
    /// given for a route is its objective, in every layer of the process.
    ///
    /// ```
    /// use std::time::Duration;
    /// use vk_monitor::Objective;
    /// use vk_monitor::http::MonitorLayer;
    ///
    /// const CALLS_API: Objective = Objective::new("calls-api")
    ///     .success_rate(99.9)
    ///     .latency(Duration::from_millis(250), 99.0);
    ///
    /// let layer = MonitorLayer::new()
    ///     .objective("/calls", CALLS_API)
    ///     .objective("/calls/{id}", CALLS_API);
    /// # drop(layer);
    /// ```
    pub fn objective(mut self, route: impl Into<String>, objective: Objective) -> Self {
        self.objectives.push((route.into(), objective));
        self
    }

    /// The routes left out, for the Sentry client's filters.
    pub(crate) fn excluded(&self) -> &ExcludedRoutes {
        &self.excluded
    }
}

impl<S> Layer<S> for MonitorLayer {
    type Service = MonitorService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        // Declared before any request of the route can make its series.
        for (route, objective) in &self.objectives {
            handles::set_objective(route, *objective);
        }
        MonitorService::new(inner, self.excluded.clone(), self.log_requests)
    }
}
