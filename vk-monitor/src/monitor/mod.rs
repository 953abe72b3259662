//! The entry point: [`Monitor`] ties the exporter, the monitoring routes, the HTTP layer and
//! the health registry together, so an application wires everything in three lines;
//! [`MonitorBuilder`] installs it, and [`init!`](crate::init) is the one-line form.

mod builder;
mod error;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;

use crate::admin::{self, MonitorToken};
use crate::health::{Audience, HealthRegistry};
use crate::http::MonitorLayer;
use crate::metrics::exporter::Exporter;
use crate::sentry::client::SentryGuard;
pub use builder::MonitorBuilder;
pub use error::InitError;

/// Everything an axum application mounts: the monitoring routes and the HTTP layer;
/// and what it keeps alive: the Sentry client, flushed when the last clone is dropped.
///
/// ```
/// use axum::{Router, http::StatusCode, routing::get};
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
/// # async fn text(response: Response) -> String {
/// #     let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
/// #     String::from_utf8(bytes.to_vec()).unwrap()
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), vk_monitor::InitError> {
/// let monitor = vk_monitor::init!()?;
/// let mut app: Router = Router::new()
///     .route("/calls/{id}", get(|| async { "call" }))
///     .merge(monitor.router()) // GET /metrics, /health, /ready, /startup
///     .layer(monitor.layer()); // http_* metrics per route
///
/// // Served with `axum::serve` in an application; here `send` stands for a client.
/// assert_eq!(send(&mut app, "/calls/7").await.status(), StatusCode::OK);
/// let scrape = text(send(&mut app, "/metrics").await).await;
/// assert!(scrape.contains(r#"http_requests_total{method="GET",route="/calls/{id}",status="200"} 1"#));
/// assert_eq!(send(&mut app, "/health").await.status(), StatusCode::OK);
///
/// // On SIGTERM: `/ready` fails so that load balancers stop sending traffic.
/// monitor.shutdown();
/// assert_eq!(send(&mut app, "/ready").await.status(), StatusCode::SERVICE_UNAVAILABLE);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Monitor {
    exporter: Option<Exporter>,
    layer: MonitorLayer,
    health: HealthRegistry,
    sentry: Option<SentryGuard>,
    token: Option<MonitorToken>,
    metrics_addr: Option<SocketAddr>,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("metrics", &self.exporter.is_some())
            .field("sentry", &self.sentry.is_some())
            .field("health", &self.health)
            .field("token", &self.token.is_some())
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// Starts configuring the monitor of the application `name` at `version`; [`init!`]
    /// calls it with the calling crate's name and version.
    ///
    /// [`init!`]: crate::init
    pub fn builder(name: &'static str, version: &'static str) -> MonitorBuilder {
        MonitorBuilder::new(name, version)
    }

    /// The monitoring routes for the application's port: `/health`, `/ready` and `/startup`,
    /// and, unless the admin routes have a listener of their own (`METRICS_ADDR`), `GET /metrics`
    /// (when metrics are enabled) behind the token when one is set.
    ///
    /// How much the health routes say depends on whether operators have their own way in.
    /// With neither an admin listener nor a token, everything but why a check failed (which
    /// `HEALTH_SHOW_DETAILS` adds). With either, only the status and each check's status, as
    /// Spring Boot's actuator does by default: versions, the compiler, observed values and
    /// failure output are for requests that carry the token, the admin listener, or
    /// `HEALTH_SHOW_DETAILS`. See [`HealthView`](crate::health::HealthView).
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let audience = if self.token.is_some() || self.metrics_addr.is_some() {
            Audience::Public(self.token.clone())
        } else {
            Audience::Open
        };
        let health = self.health.routes(audience);
        if self.metrics_addr.is_some() {
            return health;
        }
        health.merge(admin::guard(self.admin_routes(false), self.token.as_ref()))
    }

    /// The admin routes, for serving them yourself: `GET /metrics` (when metrics are enabled),
    /// `/health`, `/ready` and `/startup` with details, and `/debug/pprof/profile` (feature
    /// `profiling`), all behind the token when one is set.
    pub fn admin_router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let routes = self
            .admin_routes(true)
            .merge(self.health.routes(Audience::Operators));
        admin::guard(routes, self.token.as_ref())
    }

    /// `/metrics`, and profiles where they are protected: on the metrics listener, or behind a
    /// token (a profile costs CPU for seconds, so an open one would invite abuse).
    #[cfg_attr(not(feature = "profiling"), allow(unused_variables))]
    fn admin_routes<S>(&self, on_metrics_listener: bool) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let routes = match &self.exporter {
            Some(exporter) => exporter.router(),
            None => Router::new(),
        };
        #[cfg(feature = "profiling")]
        if on_metrics_listener || self.token.is_some() {
            return routes.merge(crate::admin::profiling::router());
        }
        routes
    }

    /// Where the listener of the admin routes (`METRICS_ADDR`) accepts connections; `None`
    /// without one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The HTTP layer, for `Router::layer` or `Router::route_layer`.
    pub fn layer(&self) -> MonitorLayer {
        self.layer.clone()
    }

    /// The installed exporter; `None` when metrics are disabled (`ENABLE_METRICS=false`).
    pub fn exporter(&self) -> Option<&Exporter> {
        self.exporter.as_ref()
    }

    /// The health registry: register checks that need application state here.
    pub fn health(&self) -> &HealthRegistry {
        &self.health
    }

    /// Whether a Sentry client is running (a DSN is configured).
    pub fn sentry_enabled(&self) -> bool {
        self.sentry.is_some()
    }

    /// Sends what Sentry has queued, waiting at most `timeout`; `true` when all was sent.
    /// Dropping the last clone of the monitor does the same with a 2 s bound.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.sentry
            .as_ref()
            .is_none_or(|guard| guard.flush(Some(timeout)))
    }

    /// Graceful shutdown has begun: `/ready` fails from now on, `/health` keeps passing.
    pub fn shutdown(&self) {
        self.health.shutdown();
    }
}
