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
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::Exporter(error) => error.fmt(f),
            InitError::DuplicateHealthCheck(error) => error.fmt(f),
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
