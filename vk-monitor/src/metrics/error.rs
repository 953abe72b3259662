//! Why the exporter could not be installed.

use std::fmt;

/// Why the exporter could not be installed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExporterError {
    /// [`ExporterBuilder::install`](crate::ExporterBuilder::install) was already called in this
    /// process.
    AlreadyInstalled,
    /// Another `metrics` recorder is installed for the process.
    OtherRecorder,
    /// Histogram buckets that cannot form a histogram.
    InvalidBuckets {
        /// The histogram they were given for; `None` for the default buckets.
        metric: Option<String>,
        /// The bounds as given.
        bounds: Vec<f64>,
        /// What is wrong with them.
        reason: String,
    },
    /// A series limit of 0, which would leave a metric nothing but its overflow series.
    ZeroMaxSeries {
        /// The metric it was given for; `None` for the limit of every metric.
        metric: Option<String>,
    },
    /// The upkeep thread could not be started.
    UpkeepThread(std::io::Error),
}

impl ExporterError {
    pub(super) fn buckets(metric: Option<&str>, bounds: &[f64], err: impl fmt::Display) -> Self {
        ExporterError::InvalidBuckets {
            metric: metric.map(str::to_owned),
            bounds: bounds.to_vec(),
            reason: err.to_string(),
        }
    }
}

impl fmt::Display for ExporterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExporterError::AlreadyInstalled => {
                f.write_str("the vk-monitor exporter is already installed in this process")
            }
            ExporterError::OtherRecorder => f.write_str(
                "another metrics recorder is already installed in this process; \
                 vk-monitor needs its own Prometheus recorder",
            ),
            ExporterError::InvalidBuckets {
                metric,
                bounds,
                reason,
            } => {
                let metric = metric.as_deref().unwrap_or("the default histogram buckets");
                write!(f, "invalid buckets {bounds:?} for {metric}: {reason}")
            }
            ExporterError::ZeroMaxSeries { metric } => {
                let metric = metric.as_deref().unwrap_or("every metric");
                write!(
                    f,
                    "series limit 0 for {metric}: at least 1 label set is needed"
                )
            }
            ExporterError::UpkeepThread(err) => {
                write!(f, "could not start the metrics upkeep thread: {err}")
            }
        }
    }
}

impl std::error::Error for ExporterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExporterError::UpkeepThread(err) => Some(err),
            _ => None,
        }
    }
}
