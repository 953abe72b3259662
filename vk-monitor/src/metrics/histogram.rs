//! Fixed-bucket histograms for this crate's own duration metrics, with an exemplar slot per
//! bucket for traced calls, rendered beside the recorder's exposition in either format.
//!
//! The recorder's histograms keep every raw sample until the next upkeep: an append to a
//! shared buffer per call, and memory that grows with the call rate between upkeeps, which
//! made a monitored call's cost swing by half under load. Here a sample is two integer adds
//! (its bucket and the sum in nanoseconds) into the recording thread's own copy of the
//! series' cells (see `shard`), summed over every thread's copy at render, and memory never
//! grows.
//!
//! The sum must not wrap: 2^64 ns is 584 years, which 10,000 concurrent long requests (SSE
//! streams) add up in 21 days, and a wrapped `_sum` looks like a counter reset to Prometheus.
//! The add that wraps a copy's 64-bit sum sees it in the value it added to and counts the
//! wrap in the copy's high word, off the common path; render reads each copy as one 128-bit
//! sum, which lasts 10^22 years at 10^14 ns per second. A single sample saturates at 584 years.
//!
//! A traced call also leaves its exemplar in its bucket's slot. The slots of a series are made
//! by its first traced call, so a series that is never traced holds one empty pointer for them.

use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use super::exemplar::{Exemplar, Slot, TraceIds, label_text};
use super::families::write_meta;
use super::format::{self, Format, push_u64};
use super::recording::buckets_for;
use super::shard::{self, Cells, Folding};

/// One histogram series: cumulative counts are derived at render time.
pub(crate) struct Histogram {
    bounds_nanos: Box<[u64]>,
    /// One count per bound, plus the overflow bucket (`+Inf`); then the sum of every sample
    /// in nanoseconds as a 128-bit count: its low word, then its high word.
    cells: Cells,
    /// One per bucket, made by the first traced call.
    exemplars: OnceLock<Box<[Slot]>>,
}

impl Histogram {
    fn new(bounds_seconds: &[f64]) -> Self {
        let bounds_nanos: Box<[u64]> = bounds_seconds
            .iter()
            .map(|b| (b * 1e9).round() as u64)
            .collect();
        let cells = Cells::new(bounds_nanos.len() + 3);
        Histogram {
            bounds_nanos,
            cells,
            exemplars: OnceLock::new(),
        }
    }

    /// Buckets, the overflow one included.
    fn buckets(&self) -> usize {
        self.bounds_nanos.len() + 1
    }

    /// The cell of the sum's low word.
    fn sum_cell(&self) -> usize {
        self.buckets()
    }

    #[inline]
    pub(crate) fn record(&self, duration: Duration) {
        self.add(duration);
    }

    /// Records a traced call's duration, and leaves it as its bucket's exemplar.
    pub(crate) fn record_traced(&self, duration: Duration, ids: TraceIds) {
        let index = self.add(duration);
        let slots = self
            .exemplars
            .get_or_init(|| (0..self.buckets()).map(|_| Slot::new()).collect());
        if let Some(slot) = slots.get(index) {
            slot.store(Exemplar::now(ids, duration.as_secs_f64()));
        }
    }

    /// Counts the sample; its bucket's index.
    #[inline]
    fn add(&self, duration: Duration) -> usize {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        // `le` is inclusive: the first bound at or above the value. A scan from the smallest
        // bound, not a binary search: most samples of a series land in its first buckets,
        // where the scan stops after a compare or two whose branch the CPU predicts, while a
        // binary search pays every one of its dependent steps on every sample.
        let index = self
            .bounds_nanos
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(self.bounds_nanos.len());
        let cells = self.cells.local();
        // The sum first: a render that counts this sample (it reads the counts first) then
        // finds it in the sum too.
        cells.add_wide(self.sum_cell(), nanos);
        cells.add(index, 1);
        index
    }

    /// The count of each bucket, not cumulative, into `out`.
    fn counts(&self, arenas: &Folding, out: &mut Vec<u64>) {
        out.resize(self.buckets() + 2, 0);
        self.cells.read(arenas, out);
        out.truncate(self.buckets());
    }

    /// The sum in nanoseconds. Never more than the true sum; less by 2^64 only while an add
    /// that wrapped a copy's low word has not yet counted the wrap, for a few instructions.
    fn sum_nanos(&self, arenas: &Folding) -> u128 {
        self.cells.read_wide(arenas, self.sum_cell())
    }

    /// The latest exemplar of bucket `index`, if a traced call landed there.
    fn exemplar(&self, index: usize) -> Option<Exemplar> {
        self.exemplars.get()?.get(index)?.load()
    }
}

struct Series {
    /// Rendered `key="value",...` pairs, without braces.
    labels: String,
    histogram: &'static Histogram,
    /// The last `_sum` rendered, in nanoseconds: a render that reads the sum while a wrap is
    /// being counted repeats it rather than show Prometheus a decrease.
    rendered_sum: u128,
    /// Bounds of its own, formatted, where it has one more than its family's.
    bounds: Option<Box<[Box<str>]>>,
}

struct Family {
    name: &'static str,
    help: &'static str,
    /// The `le` value of each bound, formatted once.
    bounds: Box<[Box<str>]>,
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
    register_with_bound(name, help, labels, None)
}

/// [`register`], with `bound` (seconds) among the series' bucket bounds: an objective's
/// latency threshold, which its alert reads as a bucket. The family's other series keep the
/// family's bounds.
pub(crate) fn register_with_bound(
    name: &'static str,
    help: &'static str,
    labels: &[(&str, &str)],
    bound: Option<f64>,
) -> &'static Histogram {
    let bounds = buckets_for(name);
    let own_bounds = bound.filter(|bound| !bounds.contains(bound)).map(|bound| {
        // Once per series: an objective's units register each of theirs once.
        eprintln!(
            "vk-monitor: warning: {bound} s is not a bucket bound of {name}: the series \
             {{{labels}}} gets it as a bucket of its own, and a percentile of {name} summed \
             across series (`sum by (le)`) mixes two bucket layouts; add {bound} to the \
             family's buckets (`buckets_for`) or choose a threshold among them",
            labels = label_text(labels),
        );
        let mut own = bounds.to_vec();
        own.push(bound);
        own.sort_by(f64::total_cmp);
        own
    });
    let histogram = Histogram::new(own_bounds.as_deref().unwrap_or(bounds));
    let histogram: &'static Histogram = Box::leak(Box::new(histogram));
    let mut families = FAMILIES.lock().unwrap_or_else(PoisonError::into_inner);
    let series = Series {
        labels: label_text(labels),
        histogram,
        rendered_sum: 0,
        bounds: own_bounds.map(|own| formatted(&own)),
    };
    match families.iter_mut().find(|family| family.name == name) {
        Some(family) => family.series.push(series),
        None => families.push(Family {
            name,
            help,
            bounds: formatted(bounds),
            series: vec![series],
        }),
    }
    histogram
}

/// The `le` value of each bound.
fn formatted(bounds: &[f64]) -> Box<[Box<str>]> {
    bounds
        .iter()
        .map(|b| b.to_string().into_boxed_str())
        .collect()
}

/// The length of the last render, to size the next one's buffer at once.
static LAST_LEN: AtomicUsize = AtomicUsize::new(0);

/// Appends every family in `format`: in OpenMetrics, with the unit and each bucket's exemplar.
pub(crate) fn render(out: &mut String, format: Format) {
    let arenas = shard::folding();
    let mut families = FAMILIES.lock().unwrap_or_else(PoisonError::into_inner);
    let start = out.len();
    out.reserve(LAST_LEN.load(Ordering::Relaxed));
    let openmetrics = format == Format::OpenMetrics;
    let mut counts = Vec::new();
    for family in families.iter_mut() {
        let name = family.name;
        write_meta(out, name, family.help, "histogram", format);
        if let (true, Some(unit)) = (openmetrics, format::unit_of(name)) {
            let _ = writeln!(out, "# UNIT {name} {unit}");
        }
        for series in &mut family.series {
            let histogram = series.histogram;
            let exemplars = openmetrics && histogram.exemplars.get().is_some();
            // Counts before the sum: every sample counted is in the sum read after.
            histogram.counts(&arenas, &mut counts);
            let sum_nanos = histogram.sum_nanos(&arenas);
            let mut cumulative = 0;
            let bounds = series.bounds.as_deref().unwrap_or(&family.bounds);
            let les = bounds.iter().map(|le| &**le).chain(["+Inf"]);
            for (index, (count, le)) in counts.iter().zip(les).enumerate() {
                cumulative += count;
                out.push_str(name);
                out.push_str("_bucket{");
                out.push_str(&series.labels);
                out.push_str(",le=\"");
                out.push_str(le);
                out.push_str("\"} ");
                push_u64(out, cumulative);
                if let Some(exemplar) = exemplars.then(|| histogram.exemplar(index)).flatten() {
                    exemplar.write(out);
                }
                out.push('\n');
            }
            series.rendered_sum = series.rendered_sum.max(sum_nanos);
            let sum = series.rendered_sum as f64 / 1e9;
            let labels = &series.labels;
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            let _ = write!(out, "{name}_count{{{labels}}} ");
            push_u64(out, cumulative);
            out.push('\n');
        }
    }
    LAST_LEN.store(out.len() - start, Ordering::Relaxed);
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
        let arenas = shard::folding();
        let mut counts = Vec::new();
        histogram.counts(&arenas, &mut counts);
        assert_eq!(counts, [2, 2, 1, 1], "le is inclusive; 500 ms overflows");
        assert_eq!(histogram.sum_nanos(&arenas), 524_000_000);
    }

    /// The `_sum` of the series `name{case="..."}` in a fresh render.
    fn rendered_sum(name: &str) -> f64 {
        let mut out = String::new();
        render(&mut out, Format::Text);
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
        let low = histogram.sum_cell();
        histogram.cells.add(low, 1_000_000);
        assert_eq!(
            rendered_sum(name),
            before,
            "no decrease while the wrap is in flight"
        );
        histogram.cells.add(low + 1, 1);
        let sum = histogram.sum_nanos(&shard::folding());
        assert_eq!(sum, u128::from(u64::MAX) + 1_000_000 - 5);
        assert!(rendered_sum(name) > before);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_text(&[("a", r#"a"b\c"#)]), r#"a="a\"b\\c""#);
        let text = label_text(&[("a", "line\nbreak"), ("b", "")]);
        assert_eq!(text, r#"a="line\nbreak",b="""#);
    }

    #[test]
    fn a_traced_sample_is_its_buckets_exemplar_in_openmetrics_only() {
        use sentry::protocol::{SpanId, TraceId};
        let name = "test_exemplar_duration_seconds";
        let histogram = register(name, "Exemplars.", &[("case", "traced")]);
        histogram.record(Duration::from_millis(3));
        let ids = (TraceId::from([0x11; 16]), SpanId::from([0x22; 8]));
        histogram.record_traced(Duration::from_millis(30), ids);

        let mut out = String::new();
        render(&mut out, Format::OpenMetrics);
        let lines: Vec<&str> = out.lines().filter(|line| line.contains(name)).collect();
        assert!(
            lines.contains(&&*format!("# UNIT {name} seconds")),
            "{lines:#?}"
        );
        let traced: Vec<&&str> = lines.iter().filter(|l| l.contains(" # {")).collect();
        assert_eq!(traced.len(), 1, "one exemplar: {lines:#?}");
        let trace = "11".repeat(16);
        let span = "22".repeat(8);
        let expected = format!(
            "{name}_bucket{{case=\"traced\",le=\"0.05\"}} 2 \
             # {{trace_id=\"{trace}\",span_id=\"{span}\"}} 0.03 "
        );
        assert!(traced[0].starts_with(&expected), "{}", traced[0]);

        let mut text = String::new();
        render(&mut text, Format::Text);
        assert!(!text.contains(" # {"), "no exemplar in text 0.0.4");
        assert!(!text.contains("# UNIT"));
    }
}
