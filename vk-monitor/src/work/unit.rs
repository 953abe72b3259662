//! The series of one unit of work's identity (a route and method, a host and method, a call
//! site): its in-flight count, per ending its count and duration, per error kind its error
//! count. Made once, kept for the life of the process, found without a lock in the steady
//! state: the first endings sit in slots read with one load each.

use std::sync::OnceLock;

use quanta::Clock;

use super::ending::{Ending, LabelStyle, SeriesKey};
use super::objective::{Objective, ObjectiveLabels};
use crate::metrics::counter::{self, Counter};
use crate::metrics::names::help;
use crate::metrics::{HandleCache, Histogram, InFlight, gauge, histogram};

/// Endings per unit found without a lock: most units end in a few ways.
const SLOTS: usize = 4;

/// The families one kind of work is recorded in, by name (their HELP is in `metrics::names`).
#[derive(Debug)]
pub(crate) struct Families {
    pub(crate) total: &'static str,
    pub(crate) duration: &'static str,
    pub(crate) in_flight: &'static str,
    /// Failures by kind, for work that counts them.
    pub(crate) errors: Option<&'static str>,
    /// The label an ending is written in (`status`, `result`), and how.
    pub(crate) ending_label: &'static str,
    pub(crate) style: LabelStyle,
}

/// The clock work is timed with: the TSC where there is one, read raw at both ends and scaled
/// once (`quanta::Instant` would scale both reads, and look for a mocked clock first).
pub(super) fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(Clock::new)
}

/// The series of one identity.
pub(crate) struct Unit {
    families: &'static Families,
    /// What its work is timed with, at hand where it is recorded.
    pub(super) clock: &'static Clock,
    /// The identity's labels, in exposition order, before the ending's.
    labels: Box<[(&'static str, Box<str>)]>,
    /// The objective's labels, after the identity's, on the count and duration series.
    objective: Option<ObjectiveLabels>,
    pub(crate) in_flight: &'static InFlight,
    slots: [OnceLock<(SeriesKey, &'static EndingSeries)>; SLOTS],
    by_key: HandleCache<SeriesKey, EndingSeries>,
    /// The first error kinds counted, found without a lock (a failing dependency fails every
    /// call with one of a few kinds); every kind, where they are made.
    error_slots: [OnceLock<(&'static str, &'static Counter)>; SLOTS],
    errors: HandleCache<&'static str, &'static Counter>,
}

/// The count and duration of one identity and ending. The duration is registered by the first
/// unit that ends so, not before: a count may be made at zero (a function's four results) with
/// no histogram of twenty series behind it.
pub(crate) struct EndingSeries {
    pub(crate) count: &'static Counter,
    duration: OnceLock<&'static Histogram>,
}

impl Unit {
    /// The series of the identity `labels` (name, value pairs) in `families`, with the labels
    /// of `objective` (if any) on its count and duration series.
    pub(crate) fn new(
        families: &'static Families,
        labels: &[(&'static str, &str)],
        objective: Option<&Objective>,
    ) -> Unit {
        let name = families.in_flight;
        let in_flight = gauge::in_flight(name, help(name), labels);
        Unit {
            families,
            clock: clock(),
            labels: labels
                .iter()
                .map(|&(name, value)| (name, value.into()))
                .collect(),
            objective: objective.map(ObjectiveLabels::of),
            in_flight,
            slots: [const { OnceLock::new() }; SLOTS],
            by_key: HandleCache::new(),
            error_slots: [const { OnceLock::new() }; SLOTS],
            errors: HandleCache::new(),
        }
    }

    /// The series of `ending`, made on first use.
    #[inline]
    pub(crate) fn series(&self, ending: Ending) -> &'static EndingSeries {
        let key = ending.series(self.families.style);
        slotted(&self.slots, key, || self.make(key))
    }

    /// The duration histogram of `series`, registered on its first use.
    #[inline]
    pub(crate) fn duration(&self, series: &EndingSeries, ending: Ending) -> &'static Histogram {
        match series.duration.get() {
            Some(histogram) => histogram,
            None => self.register_duration(series, ending.series(self.families.style)),
        }
    }

    #[cold]
    #[inline(never)]
    fn register_duration(&self, series: &EndingSeries, key: SeriesKey) -> &'static Histogram {
        series.duration.get_or_init(|| {
            let name = self.families.duration;
            let value = key.label(self.families.style);
            let (objective, bound) = self
                .objective
                .as_ref()
                .map(ObjectiveLabels::of_duration)
                .unwrap_or_default();
            self.with_labels(&objective, self.families.ending_label, &value, |labels| {
                histogram::register_with_bound(name, help(name), labels, bound)
            })
        })
    }

    #[cold]
    #[inline(never)]
    fn make(&self, key: SeriesKey) -> &'static EndingSeries {
        self.by_key.get_or_insert(&key, |&key| {
            let name = self.families.total;
            let value = key.label(self.families.style);
            let objective = self
                .objective
                .as_ref()
                .map(ObjectiveLabels::of_count)
                .unwrap_or_default();
            let count =
                self.with_labels(&objective, self.families.ending_label, &value, |labels| {
                    counter::register(name, help(name), labels)
                });
            let series = EndingSeries {
                count,
                duration: OnceLock::new(),
            };
            (key, series)
        })
    }

    /// Makes the count series of each of `endings` now, at zero, so that `rate()` and alerts
    /// see a 0 rather than no data; and the error count of each of `kinds`.
    pub(crate) fn start_at_zero(&self, endings: &[Ending], kinds: &[&'static str]) {
        for &ending in endings {
            self.series(ending);
        }
        for &kind in kinds {
            self.errors(kind);
        }
    }

    /// The error count of `kind`, for work whose families count failures.
    #[inline]
    pub(crate) fn errors(&self, kind: &'static str) -> Option<&'static Counter> {
        self.families.errors?;
        Some(slotted(&self.error_slots, kind, || self.make_errors(kind)))
    }

    #[cold]
    #[inline(never)]
    fn make_errors(&self, kind: &'static str) -> &'static Counter {
        let name = self.families.errors.unwrap_or_default();
        self.errors.get_or_insert(&kind, |&kind| {
            let counter = self.with_labels(&[], "kind", kind, |labels| {
                counter::register(name, help(name), labels)
            });
            (kind, counter)
        })
    }

    /// The identity's labels, then `objective`'s, then `last`.
    fn with_labels<R>(
        &self,
        objective: &[(&'static str, &str)],
        last: &'static str,
        value: &str,
        register: impl FnOnce(&[(&str, &str)]) -> R,
    ) -> R {
        let mut labels: Vec<(&str, &str)> = self
            .labels
            .iter()
            .map(|(name, value)| (*name, &**value))
            .collect();
        labels.extend_from_slice(objective);
        labels.push((last, value));
        register(&labels)
    }
}

/// The value of `key` from the first slot that holds it; a free slot takes it, unless another
/// thread fills that slot first; with every slot taken by other keys, `make` finds it (made
/// once, in the unit's map).
#[inline]
fn slotted<K: Copy + PartialEq, V: Copy>(
    slots: &[OnceLock<(K, V)>],
    key: K,
    make: impl Fn() -> V,
) -> V {
    for slot in slots {
        let &(taken, value) = match slot.get() {
            Some(filled) => filled,
            None => slot.get_or_init(|| (key, make())),
        };
        if taken == key {
            return value;
        }
    }
    make()
}
