//! The guard of one unit of work in flight: it enters the unit's in-flight count when it
//! starts and records the unit exactly once, with the ending it is given or, dropped without
//! one, as cancelled. The step every kind of work ends with is here, once: count, duration,
//! error kind, the trace as exemplar, the in-flight exit.

use std::time::Duration;

use super::ending::Ending;
use super::unit::{Unit, clock};
use crate::metrics::exemplar::TraceIds;
use crate::metrics::record_finished;

/// One unit of work in flight. With no unit (metrics off) it only times the work.
#[must_use = "the work is recorded when the guard is ended or dropped"]
pub(crate) struct Work {
    unit: Option<&'static Unit>,
    /// A raw reading of [`clock`].
    start: u64,
}

impl Work {
    /// Work that records and times nothing: nothing observes it.
    #[inline]
    pub(crate) const fn idle() -> Work {
        Work {
            unit: None,
            start: 0,
        }
    }

    /// Starts the work: counted in flight in `unit` (when metrics are on) and timed from now.
    #[inline]
    pub(crate) fn start(unit: Option<&'static Unit>) -> Work {
        let clock = match unit {
            Some(unit) => {
                unit.in_flight.enter();
                unit.clock
            }
            None => clock(),
        };
        Work {
            unit,
            start: clock.raw(),
        }
    }

    /// Whether the work is recorded in metrics.
    #[inline]
    pub(crate) fn is_recorded(&self) -> bool {
        self.unit.is_some()
    }

    /// The time since the work started.
    #[inline]
    pub(crate) fn elapsed(&self) -> Duration {
        // The unit's copy of the clock is at hand where the work is recorded.
        let clock = self.unit.map_or_else(clock, |unit| unit.clock);
        clock.delta(self.start, clock.raw())
    }

    /// Records the work as ended with `ending`; `trace`, when it was traced, becomes the
    /// exemplar of its count and of its duration's bucket. Returns how long it took. The work
    /// is recorded once: ending it again, or dropping it, records nothing more.
    #[inline]
    pub(crate) fn end(&mut self, ending: Ending, trace: Option<TraceIds>) -> Duration {
        let elapsed = self.elapsed();
        if let Some(unit) = self.unit.take() {
            let series = unit.series(ending);
            record_finished(series.count, unit.duration(series, ending), elapsed, trace);
            if let Some(errors) = ending.error_kind().and_then(|kind| unit.errors(kind)) {
                errors.increment();
            }
            unit.in_flight.exit();
        }
        elapsed
    }
}

impl Drop for Work {
    /// Dropped without an ending: the work was abandoned.
    fn drop(&mut self) {
        if self.unit.is_some() {
            self.end(Ending::Cancelled, None);
        }
    }
}
