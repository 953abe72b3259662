//! What the running Sentry client decided, kept where every call can read it for the price of
//! a relaxed atomic load: whether a client runs, the sampling rate of new traces (the one copy
//! of it; the SDK's sampler reads it here too), whether incoming sampling decisions are
//! followed and whether personal data may be sent; and, in a snapshot read without a lock or
//! a shared reference count once per trace or outgoing request, what traces need beyond that:
//! the sampler, the hosts the trace is propagated to, and what a trace started here puts in
//! its dynamic sampling context.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use arc_swap::{ArcSwapOption, Guard};

use crate::config::{PropagationTargets, TracesSampler};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static TRACES_RATE: AtomicU32 = AtomicU32::new(0);
/// [`TRACES_RATE`] as the decimal number it was written as, for comparing `sample_rand` with.
static TRACES_RATE_DECIMAL: AtomicU64 = AtomicU64::new(0);
static SEND_PII: AtomicBool = AtomicBool::new(false);
static FOLLOW_INCOMING: AtomicBool = AtomicBool::new(true);
/// Whether [`Tracing::sampler`] is set: a trace sampled by rate alone reads no snapshot.
static HAS_SAMPLER: AtomicBool = AtomicBool::new(false);
/// `None`: no client started yet. Replaced whole when a client starts; every worker reads it,
/// so it is read through `arc-swap`'s per-thread slots: neither a lock word nor the `Arc`'s
/// count is written by a reader.
static TRACING: ArcSwapOption<Tracing> = ArcSwapOption::const_empty();

/// The running client's settings for traces.
#[derive(Default)]
pub(crate) struct Tracing {
    /// Chooses the rate of new traces instead of [`traces_rate`].
    pub(crate) sampler: Option<TracesSampler>,
    pub(crate) targets: PropagationTargets,
    /// The DSN's public key, the release and the environment: a new trace's DSC names them.
    pub(crate) public_key: String,
    pub(crate) release: String,
    pub(crate) environment: String,
}

/// Called once a Sentry client runs: errors are captured from now on, and new traces are
/// sampled at `traces_rate` (0 when tracing is off).
pub(crate) fn activate(traces_rate: f32, send_pii: bool, follow_incoming: bool) {
    TRACES_RATE.store(traces_rate.to_bits(), Ordering::Relaxed);
    TRACES_RATE_DECIMAL.store(decimal(traces_rate).to_bits(), Ordering::Relaxed);
    SEND_PII.store(send_pii, Ordering::Relaxed);
    FOLLOW_INCOMING.store(follow_incoming, Ordering::Relaxed);
    ACTIVE.store(true, Ordering::Release);
}

/// Whether a Sentry client runs.
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// The sampling rate for new traces; 0 when tracing is off.
pub(crate) fn traces_rate() -> f32 {
    f32::from_bits(TRACES_RATE.load(Ordering::Relaxed))
}

/// [`traces_rate`] as the decimal number it was set as: 0.1, not 0.100000001490116.
pub(crate) fn traces_rate_decimal() -> f64 {
    f64::from_bits(TRACES_RATE_DECIMAL.load(Ordering::Relaxed))
}

/// `rate` as the decimal number it is written as: the number other services, which parse
/// rates as 64-bit floats, compare `sample_rand` with.
pub(crate) fn decimal(rate: f32) -> f64 {
    rate.to_string().parse().unwrap_or(f64::from(rate))
}

/// Whether a request's incoming sampling decision is followed
/// (`SENTRY_FOLLOW_INCOMING_SAMPLING`), rather than decided here with the trace id continued.
pub(crate) fn follow_incoming_sampling() -> bool {
    FOLLOW_INCOMING.load(Ordering::Relaxed)
}

/// Whether personal data may reach Sentry (`SENTRY_SEND_DEFAULT_PII`).
pub(crate) fn send_pii() -> bool {
    SEND_PII.load(Ordering::Relaxed)
}

/// Sets what traces need beyond the rate; `None`: no client runs.
pub(crate) fn set_tracing(tracing: Option<Tracing>) {
    let has_sampler = tracing.as_ref().is_some_and(|t| t.sampler.is_some());
    HAS_SAMPLER.store(has_sampler, Ordering::Relaxed);
    TRACING.store(tracing.map(Arc::new));
}

/// Whether a sampler is configured, for the price of a relaxed load.
pub(crate) fn has_sampler() -> bool {
    HAS_SAMPLER.load(Ordering::Relaxed)
}

/// The running client's settings for traces: a snapshot, to be dropped soon (it holds one of
/// the thread's few slots).
pub(crate) fn tracing() -> Guard<Option<Arc<Tracing>>> {
    TRACING.load()
}

/// Whether an outgoing request to `host` carries the trace; every host while no client runs.
pub(crate) fn propagates_to(host: &str) -> bool {
    TRACING
        .load()
        .as_ref()
        .is_none_or(|tracing| tracing.targets.matches(host))
}
