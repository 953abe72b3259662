//! In-flight counts kept in per-thread cells (see `shard`), summed into their gauges when
//! metrics are rendered (`gauge`).
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
use super::shard::{Cells, Folding};

/// Entries minus exits of one series, wrapping.
pub(crate) struct InFlight {
    cells: Cells,
}

impl InFlight {
    pub(super) fn new() -> Self {
        InFlight {
            cells: Cells::new(1),
        }
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
    pub(super) fn count(&self, arenas: &Folding) -> u64 {
        let net = self.cells.read_one(arenas, 0) as i64;
        net.max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::shard;

    #[test]
    fn a_call_entered_on_one_thread_and_exited_on_another_is_not_in_flight() {
        let in_flight: &'static InFlight = Box::leak(Box::new(InFlight::new()));
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
