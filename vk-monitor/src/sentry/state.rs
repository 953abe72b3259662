//! What the running Sentry client decided, kept where every call can read it for the price of
//! a relaxed atomic load: whether a client runs, the sampling rate of new traces (the one copy
//! of it; the SDK's sampler reads it here too), whether incoming sampling decisions are
//! followed and whether personal data may be sent.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static TRACES_RATE: AtomicU32 = AtomicU32::new(0);
static SEND_PII: AtomicBool = AtomicBool::new(false);
static FOLLOW_INCOMING: AtomicBool = AtomicBool::new(true);

/// Called once a Sentry client runs: errors are captured from now on, and new traces are
/// sampled at `traces_rate` (0 when tracing is off).
pub(crate) fn activate(traces_rate: f32, send_pii: bool, follow_incoming: bool) {
    TRACES_RATE.store(traces_rate.to_bits(), Ordering::Relaxed);
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

/// Whether a trace that starts here is sampled in: a draw against [`traces_rate`].
pub(crate) fn sample_new_trace() -> bool {
    let rate = traces_rate();
    rate > 0.0 && fastrand::f32() < rate
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
