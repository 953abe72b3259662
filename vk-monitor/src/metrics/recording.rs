//! The recorder's process-wide state that call sites read: whether a recorder is installed,
//! and the histogram buckets it was installed with.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Histogram buckets, in seconds, for every histogram without its own: from 0.5 ms, for fast
/// function calls, to 10 s, for slow requests.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Set once a recorder is installed. Until then call sites record nothing and cache nothing,
/// so a function called before installation still records every call after it.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// Bucket bounds, in seconds: the default and per-metric overrides, set once at install.
#[derive(Clone, Debug)]
pub(crate) struct BucketConfig {
    pub(crate) default: Vec<f64>,
    pub(crate) per_metric: Vec<(String, Vec<f64>)>,
}

static BUCKETS: OnceLock<BucketConfig> = OnceLock::new();

/// The recorder is installed with `buckets`: call sites record from now on.
pub(crate) fn start(buckets: BucketConfig) {
    let _ = BUCKETS.set(buckets);
    RECORDING.store(true, Ordering::Release);
}

/// Whether a recorder is installed; until then handles must not be cached.
#[inline]
pub(crate) fn is_recording() -> bool {
    RECORDING.load(Ordering::Acquire)
}

/// The bucket bounds of the histogram `name`.
pub(crate) fn buckets_for(name: &str) -> &'static [f64] {
    let config = BUCKETS.get_or_init(|| BucketConfig {
        default: DEFAULT_BUCKETS.to_vec(),
        per_metric: Vec::new(),
    });
    config
        .per_metric
        .iter()
        .find(|(metric, _)| metric == name)
        .map_or(&config.default, |(_, bounds)| bounds)
}
