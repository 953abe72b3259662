//! In-flight counts kept in per-thread cells (see `shard`), and published to their gauges
//! when metrics are rendered.
//!
//! A gauge handle of the Prometheus recorder updates an `f64` with a compare-and-swap loop and
//! bumps a generation counter; doing that twice per call was a fifth of the cost of a monitored
//! call. An integer add into the thread's own cell is enough, and the gauge only needs to be
//! right when it is read: each thread's cell holds its entries minus its exits, and the
//! gauge is their sum. A cell is read in one load, so a call that enters and exits on one
//! thread (every sync call) is counted as it was at some moment of the render, and the gauge
//! never exceeds the calls that can be in flight at once. An async call may enter on one
//! thread and exit on another: while it moves during a render it can be missed or counted
//! once too often for that render (never below zero); at rest every count is exact.
use std::sync::{Mutex, PoisonError};

use metrics::Gauge;

use super::shard::{self, Cells, Folding};

/// Every in-flight count, with the gauge it is published to.
static REGISTERED: Mutex<Vec<&'static InFlight>> = Mutex::new(Vec::new());

pub(crate) struct InFlight {
    /// Entries minus exits, wrapping.
    cells: Cells,
    gauge: Gauge,
}

impl InFlight {
    /// A count for `gauge`, published by every [`publish`] from now on. Counts live as long as
    /// the process, like the series they feed; there is one per call site or route and method.
    pub(crate) fn register(gauge: Gauge) -> &'static InFlight {
        let in_flight: &'static InFlight = Box::leak(Box::new(InFlight {
            cells: Cells::new(1),
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
        self.cells.add(0, 1);
    }

    #[inline]
    pub(crate) fn exit(&self) {
        // Minus one: the count wraps, and the sum over threads wraps back.
        self.cells.add(0, u64::MAX);
    }

    /// Calls entered and not yet exited.
    fn count(&self, arenas: &Folding) -> u64 {
        let net = self.cells.read_one(arenas, 0) as i64;
        net.max(0) as u64
    }
}

/// Sets every in-flight gauge to its count; the exporter calls it before rendering.
pub(crate) fn publish() {
    let arenas = shard::folding();
    let registered = REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
    for in_flight in registered.iter() {
        in_flight.gauge.set(in_flight.count(&arenas) as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_entered_on_one_thread_and_exited_on_another_is_not_in_flight() {
        let in_flight = InFlight::register(Gauge::noop());
        in_flight.enter();
        in_flight.enter();
        std::thread::scope(|scope| {
            scope.spawn(|| in_flight.exit());
        });
        assert_eq!(in_flight.count(&shard::folding()), 1);
        in_flight.exit();
        assert_eq!(in_flight.count(&shard::folding()), 0);
    }
}
