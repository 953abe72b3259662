//! Fixed-bucket histograms for this crate's own duration metrics, rendered beside the
//! recorder's exposition.
//!
//! The recorder's histograms keep every raw sample until the next upkeep: an append to a
//! shared buffer per call, and memory that grows with the call rate between upkeeps, which
//! made a monitored call's cost swing by half under load. Here a sample is two relaxed
//! integer adds (its bucket and the sum in nanoseconds) into counters made once per series,
//! and memory never grows.
//!
//! The sum must not wrap: 2^64 ns is 584 years, which 10,000 concurrent long requests (SSE
//! streams) add up in 21 days, and a wrapped `_sum` looks like a counter reset to Prometheus.
//! The add that wraps the 64-bit sum sees it in the value `fetch_add` returns and counts the
//! wrap in a second counter, off the common path; render reads both as one 128-bit sum, which
//! lasts 10^22 years at 10^14 ns per second. A single sample saturates at 584 years.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::recording::buckets_for;

/// One histogram series: cumulative counts are derived at render time.
pub(crate) struct Histogram {
    bounds_nanos: Box<[u64]>,
    /// One per bound, plus the overflow bucket (`+Inf`).
    buckets: Box<[AtomicU64]>,
    /// The sum of every sample in nanoseconds, modulo 2^64.
    sum_nanos: AtomicU64,
    /// How many times `sum_nanos` wrapped: the high 64 bits of the sum.
    sum_wraps: AtomicU64,
}

impl Histogram {
    fn new(bounds_seconds: &[f64]) -> Self {
        let bounds_nanos: Box<[u64]> = bounds_seconds
            .iter()
            .map(|b| (b * 1e9).round() as u64)
            .collect();
        let buckets = (0..=bounds_nanos.len())
            .map(|_| AtomicU64::new(0))
            .collect();
        Histogram {
            bounds_nanos,
            buckets,
            sum_nanos: AtomicU64::new(0),
            sum_wraps: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn record(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        // `le` is inclusive: the first bound at or above the value.
        let index = self.bounds_nanos.partition_point(|&bound| bound < nanos);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        let before = self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        if before.checked_add(nanos).is_none() {
            self.count_wrap();
        }
    }

    /// Exactly one add wraps the sum each time, and only that add sees it wrap.
    #[cold]
    #[inline(never)]
    fn count_wrap(&self) {
        // Release: a reader that sees this wrap counted also sees the add that wrapped.
        self.sum_wraps.fetch_add(1, Ordering::Release);
    }

    /// The sum in nanoseconds. Never more than the true sum; less by 2^64 only while the add
    /// that wrapped it has not yet counted the wrap, for a few instructions.
    fn sum_nanos(&self) -> u128 {
        let wraps = self.sum_wraps.load(Ordering::Acquire);
        let low = self.sum_nanos.load(Ordering::Relaxed);
        (u128::from(wraps) << 64) + u128::from(low)
    }
}

struct Series {
    /// Rendered `key="value",...` pairs, without braces.
    labels: String,
    histogram: &'static Histogram,
    /// The last `_sum` rendered, in nanoseconds: a render that reads the sum while a wrap is
    /// being counted repeats it rather than show Prometheus a decrease.
    rendered_sum: u128,
}

struct Family {
    name: &'static str,
    help: &'static str,
    bounds: &'static [f64],
    series: Vec<Series>,
}

static FAMILIES: Mutex<Vec<Family>> = Mutex::new(Vec::new());

/// Creates the series `name{labels}`, rendered from now on. Series live as long as the process,
/// like the recorder's; call sites and routes register each of theirs once.
pub(crate) fn register(
    name: &'static str,
    help: &'static str,
    labels: &[(&str, &str)],
) -> &'static Histogram {
    let bounds = buckets_for(name);
    let histogram: &'static Histogram = Box::leak(Box::new(Histogram::new(bounds)));
    let mut rendered = String::new();
    for (i, (key, value)) in labels.iter().enumerate() {
        let separator = if i == 0 { "" } else { "," };
        let _ = write!(rendered, "{separator}{key}=\"{}\"", escape(value));
    }
    let mut families = FAMILIES.lock().unwrap_or_else(PoisonError::into_inner);
    let series = Series {
        labels: rendered,
        histogram,
        rendered_sum: 0,
    };
    match families.iter_mut().find(|family| family.name == name) {
        Some(family) => family.series.push(series),
        None => families.push(Family {
            name,
            help,
            bounds,
            series: vec![series],
        }),
    }
    histogram
}

fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Appends every family in the Prometheus text format.
pub(crate) fn render(out: &mut String) {
    let mut families = FAMILIES.lock().unwrap_or_else(PoisonError::into_inner);
    for family in families.iter_mut() {
        let name = family.name;
        let _ = writeln!(out, "# HELP {name} {}", family.help);
        let _ = writeln!(out, "# TYPE {name} histogram");
        for series in &mut family.series {
            let labels = &series.labels;
            let mut cumulative = 0;
            for (bucket, bound) in series.histogram.buckets.iter().zip(family.bounds) {
                cumulative += bucket.load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            if let Some(overflow) = series.histogram.buckets.last() {
                cumulative += overflow.load(Ordering::Relaxed);
            }
            series.rendered_sum = series.rendered_sum.max(series.histogram.sum_nanos());
            let sum = series.rendered_sum as f64 / 1e9;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_the_first_bucket_at_or_above_them() {
        let histogram = Histogram::new(&[0.001, 0.01, 0.1]);
        for millis in [0, 1, 2, 10, 11, 500] {
            histogram.record(Duration::from_millis(millis));
        }
        let counts: Vec<u64> = histogram
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [2, 2, 1, 1], "le is inclusive; 500 ms overflows");
        assert_eq!(histogram.sum_nanos.load(Ordering::Relaxed), 524_000_000);
    }

    /// The `_sum` of the series `name{case="..."}` in a fresh render.
    fn rendered_sum(name: &str) -> f64 {
        let mut out = String::new();
        render(&mut out);
        let prefix = format!("{name}_sum{{");
        let line = out
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in:\n{out}"));
        let (_, value) = line.rsplit_once(' ').expect("a sample line");
        value.parse().expect("a number")
    }

    fn assert_close(actual: f64, expected: f64) {
        let error = ((actual - expected) / expected).abs();
        assert!(
            error < 1e-12,
            "{actual} != {expected} (relative error {error})"
        );
    }

    #[test]
    fn the_sum_does_not_wrap_past_u64_nanoseconds() {
        let name = "test_wide_sum_seconds";
        let histogram = register(name, "Sums beyond 2^64 ns.", &[("case", "wide")]);
        // 1e19 ns each: the second one alone takes the total past u64::MAX (1.8e19).
        let huge = Duration::from_secs(10_000_000_000);
        let mut last = 0.0;
        for n in 1..=5 {
            histogram.record(huge);
            let sum = rendered_sum(name);
            assert_close(sum, 1e10 * f64::from(n));
            assert!(sum > last, "monotonic: {last} then {sum}");
            last = sum;
        }
        // Ten years of 100,000 concurrent one-second requests, in one series: 3.15e22 ns.
        let per_day = Duration::from_secs(100_000 * 86_400);
        for _ in 0..3_650 {
            histogram.record(per_day);
        }
        assert_close(rendered_sum(name), 5e10 + 3_650.0 * 8.64e9);
    }

    #[test]
    fn a_render_between_a_wrap_and_its_count_repeats_the_last_sum() {
        let name = "test_wrap_window_seconds";
        let histogram = register(name, "A wrap counted late.", &[("case", "window")]);
        histogram.record(Duration::from_nanos(u64::MAX - 5));
        let before = rendered_sum(name);
        // What a racing render sees: the add has wrapped the low word, the wrap is not counted.
        // A millisecond, so the change shows in an f64 of 1.8e10 seconds.
        histogram.sum_nanos.fetch_add(1_000_000, Ordering::Relaxed);
        assert_eq!(
            rendered_sum(name),
            before,
            "no decrease while the wrap is in flight"
        );
        histogram.count_wrap();
        assert_eq!(histogram.sum_nanos(), u128::from(u64::MAX) + 1_000_000 - 5);
        assert!(rendered_sum(name) > before);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("line\nbreak"), r"line\nbreak");
    }
}
