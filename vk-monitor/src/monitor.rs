//! The entry point: [`Monitor`] ties the exporter, the monitoring routes, the HTTP layer and
//! the health registry together, so an application wires everything in three lines.

use std::fmt;

use axum::Router;

use crate::config::{ConfigError, EnvReader};
use crate::exporter::{Exporter, ExporterError};
use crate::health::HealthRegistry;
use crate::http_metrics::HttpMetricsLayer;

/// Everything an axum application mounts: the monitoring routes and the HTTP metrics layer.
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// # fn main() -> Result<(), vk_monitor::InitError> {
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
    health: HealthRegistry,
}

impl Monitor {
    /// A monitor around an installed exporter, with the default HTTP layer and the global
    /// health registry (every `#[health_check]` function of the binary).
    pub fn new(exporter: Exporter) -> Self {
        Monitor {
            exporter,
            layer: HttpMetricsLayer::new(),
            health: HealthRegistry::global().clone(),
        }
    }

    /// Replaces the HTTP layer, for example to exclude more routes.
    pub fn with_layer(mut self, layer: HttpMetricsLayer) -> Self {
        self.layer = layer;
        self
    }

    /// The monitoring routes: `GET /metrics`, `/health`, `/ready` and `/startup`.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.exporter.router().merge(self.health.router())
    }

    /// The HTTP metrics layer, for `Router::layer` or `Router::route_layer`.
    pub fn layer(&self) -> HttpMetricsLayer {
        self.layer.clone()
    }

    /// The installed exporter.
    pub fn exporter(&self) -> &Exporter {
        &self.exporter
    }

    /// The health registry: register checks that need application state here.
    pub fn health(&self) -> &HealthRegistry {
        &self.health
    }

    /// Graceful shutdown has begun: `/ready` fails from now on, `/health` keeps passing.
    pub fn shutdown(&self) {
        self.health.shutdown();
    }
}

/// Why [`init!`](crate::init) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// An environment variable has a value that cannot be used.
    Config(ConfigError),
    /// The exporter could not be installed.
    Exporter(ExporterError),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::Exporter(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(error) => Some(error),
            InitError::Exporter(error) => Some(error),
        }
    }
}

impl From<ExporterError> for InitError {
    fn from(error: ExporterError) -> Self {
        InitError::Exporter(error)
    }
}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        InitError::Config(error)
    }
}

/// What [`init!`](crate::init) expands to, with the calling crate's name and version.
#[doc(hidden)]
pub fn init(service: &'static str, version: &'static str) -> Result<Monitor, InitError> {
    let mut env = EnvReader::process();
    let show_details = env.bool("HEALTH_SHOW_DETAILS", false);
    env.finish()?;
    let exporter = Exporter::builder()
        .service(service)
        .version(version)
        .install()?;
    let monitor = Monitor::new(exporter);
    monitor.health().set_show_details(show_details);
    Ok(monitor)
}

/// Installs the exporter for this application and returns its [`Monitor`].
///
/// A macro so that `build_info` and the health endpoints name the calling crate and its
/// version (`CARGO_PKG_NAME`, `CARGO_PKG_VERSION` where it is written). Reads
/// `HEALTH_SHOW_DETAILS` (default `false`). Returns `Result<Monitor, InitError>`.
///
/// [`InitError`]: crate::InitError
#[macro_export]
macro_rules! init {
    () => {
        $crate::__private::init(
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
        )
    };
}
