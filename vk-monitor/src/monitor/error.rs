//! Why installing the monitor failed.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::config::ConfigError;
use crate::health::DuplicateCheck;
use crate::metrics::error::ExporterError;

/// Why [`init!`](crate::init) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// An environment variable has a value that cannot be used.
    Config(ConfigError),
    /// The exporter could not be installed.
    Exporter(ExporterError),
    /// The metrics listener (`METRICS_ADDR`) could not be started.
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why the listener could not be started.
        error: io::Error,
    },
    /// Two `#[health_check]` functions have one name.
    DuplicateHealthCheck(DuplicateCheck),
    /// The application started a Sentry client of its own (`sentry::init`) before: a second
    /// one would split the events between two clients with different filters.
    SentryAlreadyInitialized,
    /// [`MonitorBuilder::sentry_options`](crate::MonitorBuilder::sentry_options) changed an
    /// option the configuration owns.
    SentryOption {
        /// The `ClientOptions` field that was changed.
        field: &'static str,
        /// Where it is set instead.
        set_with: &'static str,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::Exporter(error) => error.fmt(f),
            InitError::DuplicateHealthCheck(error) => error.fmt(f),
            InitError::SentryAlreadyInitialized => f.write_str(
                "a Sentry client is already running (sentry::init was called before): vk-monitor \
                 starts its own from SENTRY_DSN; remove the application's sentry::init and move \
                 its options into Monitor::builder(..).sentry_options(..)",
            ),
            InitError::SentryOption { field, set_with } => write!(
                f,
                "sentry_options changed `{field}`, which the configuration sets: use {set_with}"
            ),
            InitError::Listen { addr, error } => {
                write!(
                    f,
                    "METRICS_ADDR={addr}: cannot serve the admin routes there: {error}"
                )
            }
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(error) => Some(error),
            InitError::Exporter(error) => Some(error),
            InitError::DuplicateHealthCheck(error) => Some(error),
            InitError::Listen { error, .. } => Some(error),
            InitError::SentryAlreadyInitialized | InitError::SentryOption { .. } => None,
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
