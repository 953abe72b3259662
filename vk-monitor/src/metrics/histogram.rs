//! Fixed-bucket histograms for this crate's own duration metrics, rendered beside the
//! recorder's exposition.
//!
//! The recorder's histograms keep every raw sample until the next upkeep: an append to a
//! shared buffer per call, and memory that grows with the call rate between upkeeps, which
//! made a monitored call's cost swing by half under load. Here a sample is two relaxed
//! integer adds (its bucket and the sum in nanoseconds) into counters made once per series,
//! and memory never grows.

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
    sum_nanos: AtomicU64,
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
        }
    }

    #[inline]
    pub(crate) fn record(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        // `le` is inclusive: the first bound at or above the value.
        let index = self.bounds_nanos.partition_point(|&bound| bound < nanos);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

struct Series {
    /// Rendered `key="value",...` pairs, without braces.
    labels: String,
    histogram: &'static Histogram,
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
    let families = FAMILIES.lock().unwrap_or_else(PoisonError::into_inner);
    for family in families.iter() {
        let name = family.name;
        let _ = writeln!(out, "# HELP {name} {}", family.help);
        let _ = writeln!(out, "# TYPE {name} histogram");
        for series in &family.series {
            let labels = &series.labels;
            let mut cumulative = 0;
            for (bucket, bound) in series.histogram.buckets.iter().zip(family.bounds) {
                cumulative += bucket.load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            if let Some(overflow) = series.histogram.buckets.last() {
                cumulative += overflow.load(Ordering::Relaxed);
            }
            let sum = series.histogram.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
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

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("line\nbreak"), r"line\nbreak");
    }
}
