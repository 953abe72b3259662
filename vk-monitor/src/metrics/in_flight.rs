//! In-flight counts kept in plain atomics and published to their gauges when metrics are
//! rendered.
//!
//! A gauge handle of the Prometheus recorder updates an `f64` with a compare-and-swap loop and
//! bumps a generation counter; doing that twice per call was a fifth of the cost of a monitored
//! call. An integer add is enough, and the gauge only needs to be right when it is read.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};

use metrics::Gauge;

/// Every in-flight count, with the gauge it is published to.
static REGISTERED: Mutex<Vec<&'static InFlight>> = Mutex::new(Vec::new());

pub(crate) struct InFlight {
    count: AtomicI64,
    gauge: Gauge,
}

impl InFlight {
    /// A count for `gauge`, published by every [`publish`] from now on. Counts live as long as
    /// the process, like the series they feed; there is one per call site or route and method.
    pub(crate) fn register(gauge: Gauge) -> &'static InFlight {
        let in_flight: &'static InFlight = Box::leak(Box::new(InFlight {
            count: AtomicI64::new(0),
            gauge,
        }));
        REGISTERED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(in_flight);
        in_flight
    }

    #[inline]
    pub(crate) fn enter(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn exit(&self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sets every in-flight gauge to its count; the exporter calls it before rendering.
pub(crate) fn publish() {
    for in_flight in REGISTERED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        in_flight
            .gauge
            .set(in_flight.count.load(Ordering::Relaxed) as f64);
    }
}
