//! The entry point: [`Monitor`] ties the exporter, the monitoring routes and the HTTP layer
//! together, so an application wires everything in three lines.

use axum::Router;

use crate::exporter::Exporter;
use crate::http_metrics::HttpMetricsLayer;

/// Everything an axum application mounts: the monitoring routes and the HTTP metrics layer.
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// # fn main() -> Result<(), vk_monitor::ExporterError> {
/// let monitor = vk_monitor::init!()?;
/// let app: Router = Router::new()
///     .route("/calls/{id}", get(|| async { "call" }))
///     .merge(monitor.router())
///     .layer(monitor.layer());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Monitor {
    exporter: Exporter,
    layer: HttpMetricsLayer,
}

impl Monitor {
    /// A monitor around an installed exporter, with the default HTTP layer.
    pub fn new(exporter: Exporter) -> Self {
        Monitor {
            exporter,
            layer: HttpMetricsLayer::new(),
        }
    }

    /// Replaces the HTTP layer, for example to exclude more routes.
    pub fn with_layer(mut self, layer: HttpMetricsLayer) -> Self {
        self.layer = layer;
        self
    }

    /// The monitoring routes: `GET /metrics`.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.exporter.router()
    }

    /// The HTTP metrics layer, for `Router::layer` or `Router::route_layer`.
    pub fn layer(&self) -> HttpMetricsLayer {
        self.layer.clone()
    }

    /// The installed exporter.
    pub fn exporter(&self) -> &Exporter {
        &self.exporter
    }
}

/// Installs the exporter for this application and returns its [`Monitor`].
///
/// A macro so that `build_info` names the calling crate and its version
/// (`CARGO_PKG_NAME`, `CARGO_PKG_VERSION` where it is written). Returns
/// `Result<Monitor, ExporterError>`.
///
/// [`ExporterError`]: crate::ExporterError
#[macro_export]
macro_rules! init {
    () => {
        $crate::Exporter::builder()
            .service(::core::env!("CARGO_PKG_NAME"))
            .version(::core::env!("CARGO_PKG_VERSION"))
            .install()
            .map($crate::Monitor::new)
    };
}
