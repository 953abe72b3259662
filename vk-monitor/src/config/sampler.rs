//! The hook that chooses the sampling rate of each trace started here: what it is told, and
//! how the rate it returns is kept within 0..=1.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// What a [`TracesSampler`] is told about the transaction to sample.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct SamplingContext<'a> {
    /// The transaction's name: `GET /calls/{id}` for a request, `module::function` for a
    /// monitored call with no caller traced.
    pub name: &'a str,
    /// Its operation: `http.server` for requests, the `op` of a monitored call.
    pub op: &'a str,
    /// The route template of a request (`/calls/{id}`); `None` for a monitored call.
    pub route: Option<&'a str>,
    /// The sampling decision of the caller that sent the trace, when it sent one. With a
    /// sampler set, the sampler decides (as in Sentry's SDKs): return 1.0 for `Some(true)` and
    /// 0.0 for `Some(false)` to follow the caller and keep its traces whole.
    pub parent_sampled: Option<bool>,
}

/// A function choosing the sampling rate, 0 to 1, of each trace that starts here, in place of
/// `SENTRY_TRACES_SAMPLE_RATE`. Set with
/// [`ConfigBuilder::traces_sampler`](crate::ConfigBuilder::traces_sampler).
///
/// The trace is sampled when its `sample_rand` (drawn once at the head of the trace) is below
/// the rate, so services that choose the same rate keep the same traces. A rate outside 0..=1
/// is taken as the nearest bound, NaN as 0, and a sampler that panics as 0.
#[derive(Clone)]
pub struct TracesSampler(Arc<dyn Fn(&SamplingContext<'_>) -> f32 + Send + Sync>);

impl TracesSampler {
    /// Wraps `sampler`.
    pub fn new(sampler: impl Fn(&SamplingContext<'_>) -> f32 + Send + Sync + 'static) -> Self {
        TracesSampler(Arc::new(sampler))
    }

    /// The rate for `context`, within 0..=1.
    pub fn rate(&self, context: &SamplingContext<'_>) -> f32 {
        let rate = catch_unwind(AssertUnwindSafe(|| (self.0)(context))).unwrap_or(0.0);
        if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        }
    }
}

impl fmt::Debug for TracesSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TracesSampler(..)")
    }
}

impl PartialEq for TracesSampler {
    /// The same function.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
