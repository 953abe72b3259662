//! This crate's own counters (every `*_total` family in `names`), each with the exemplar of
//! its latest traced increment, rendered after the recorder's exposition in either format.
//!
//! Through the recorder, these series were most of what it renders: with 10,000 of them its
//! render (a snapshot that clones and hashes every key, then formats every label) took longer
//! than all our histograms together, and an exemplar had to be matched to its sample line by
//! label text. Here a series is a count (a cell in each recording thread's copy, see `shard`)
//! and an exemplar slot, made once per call site or route and status, and its labels are
//! formatted once.

use super::exemplar::{Exemplar, Slot, TraceIds};
use super::families::{FamilyList, write_meta};
use super::format::{Format, push_u64};
use super::shard::{self, Cells};

/// One counter series.
pub(crate) struct Counter {
    value: Cells,
    /// The latest traced increment: its exemplar.
    exemplar: Slot,
}

impl Counter {
    #[inline]
    pub(crate) fn increment(&self) {
        self.value.add(0, 1);
    }

    /// Counts a traced call, and keeps it as the series' exemplar.
    pub(crate) fn increment_traced(&self, ids: TraceIds) {
        self.increment();
        self.exemplar.store(Exemplar::now(ids, 1.0));
    }

    #[cfg(test)]
    pub(crate) fn get(&self) -> u64 {
        self.value.read_one(&shard::folding(), 0)
    }
}

static FAMILIES: FamilyList<&'static Counter> = FamilyList::new();

/// Creates the series `name{labels}` (`name` ends with `_total`) at 0, rendered from now on.
/// Series live as long as the process, like the recorder's.
pub(crate) fn register(
    name: &'static str,
    help: &'static str,
    labels: &[(&str, &str)],
) -> &'static Counter {
    let counter: &'static Counter = Box::leak(Box::new(Counter {
        value: Cells::new(1),
        exemplar: Slot::new(),
    }));
    FAMILIES.add(name, help, labels, counter);
    counter
}

/// Appends every family in `format`: in OpenMetrics, named without `_total` in its metadata,
/// and each series with its exemplar.
pub(crate) fn render(out: &mut String, format: Format) {
    let arenas = shard::folding();
    for family in FAMILIES.lock().iter() {
        let name = family.name;
        let meta = match format {
            Format::OpenMetrics => name.strip_suffix("_total").unwrap_or(name),
            Format::Text => name,
        };
        write_meta(out, meta, family.help, "counter", format);
        for series in &family.series {
            for part in [name, "{", &series.labels, "} "] {
                out.push_str(part);
            }
            push_u64(out, series.value.value.read_one(&arenas, 0));
            if format == Format::OpenMetrics
                && let Some(exemplar) = series.value.exemplar.load()
            {
                exemplar.write(out);
            }
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentry::protocol::{SpanId, TraceId};

    fn lines_of(format: Format, name: &str) -> Vec<String> {
        let mut out = String::new();
        render(&mut out, format);
        let family = name.trim_end_matches("_total");
        out.lines()
            .filter(|line| line.contains(family))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_counter_renders_in_both_formats_with_its_exemplar_in_openmetrics_only() {
        let name = "test_jobs_total";
        let plain = register(name, "Jobs \"done\".", &[("queue", "a")]);
        let traced = register(name, "Jobs \"done\".", &[("queue", "b")]);
        plain.increment();
        plain.increment();
        let ids = (TraceId::from([0x12; 16]), SpanId::from([0x34; 8]));
        traced.increment_traced(ids);
        assert_eq!((plain.get(), traced.get()), (2, 1));

        assert_eq!(
            lines_of(Format::Text, name),
            [
                "# HELP test_jobs_total Jobs \"done\".",
                "# TYPE test_jobs_total counter",
                "test_jobs_total{queue=\"a\"} 2",
                "test_jobs_total{queue=\"b\"} 1",
            ]
        );
        let openmetrics = lines_of(Format::OpenMetrics, name);
        assert_eq!(
            openmetrics[..3],
            [
                "# HELP test_jobs Jobs \\\"done\\\".",
                "# TYPE test_jobs counter",
                "test_jobs_total{queue=\"a\"} 2",
            ]
        );
        let expected = format!(
            "test_jobs_total{{queue=\"b\"}} 1 # {{trace_id=\"{}\",span_id=\"{}\"}} 1 ",
            "12".repeat(16),
            "34".repeat(8)
        );
        assert!(openmetrics[3].starts_with(&expected), "{openmetrics:#?}");
    }
}
