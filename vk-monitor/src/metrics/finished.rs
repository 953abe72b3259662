//! Recording one finished unit of work (a request served, a call sent, a monitored call): its
//! count and its duration, with its trace as the exemplar of both when it was traced.

use std::time::Duration;

use super::Histogram;
use super::counter::Counter;
use super::exemplar::TraceIds;

/// Counts the unit in `count` and records `elapsed` in `duration`; `trace`, when the unit was
/// traced, becomes the exemplar of the count and of the duration's bucket.
#[inline]
pub(crate) fn record_finished(
    count: &Counter,
    duration: &Histogram,
    elapsed: Duration,
    trace: Option<TraceIds>,
) {
    match trace {
        Some(ids) => {
            count.increment_traced(ids);
            duration.record_traced(elapsed, ids);
        }
        None => {
            count.increment();
            duration.record(elapsed);
        }
    }
}
