//! The recorder's families in OpenMetrics 1.0: its 0.0.4 text, rewritten line by line.
//!
//! `metrics-exporter-prometheus` writes only the 0.0.4 format, and most of it is already valid
//! OpenMetrics: sample lines, label escaping and values are the same. What differs is
//! metadata: a counter's family is named without `_total` (a counter whose name lacks the
//! suffix is declared `unknown`, so that its series keep their name), HELP escapes `"`, a
//! family whose name ends with a base unit declares it in `# UNIT`, and blank lines are not
//! allowed. Counter samples of this crate's own counters get their series' latest exemplar.

use std::collections::HashMap;

use super::exemplar::{CounterExemplars, Slot};
use super::format;

/// Appends the OpenMetrics form of `text`, the recorder's exposition, to `out`, with the
/// exemplars kept for its counters. The caller writes `# EOF` after everything else.
pub(crate) fn convert(text: &str, exemplars: &CounterExemplars, out: &mut String) {
    out.reserve(text.len() + text.len() / 16);
    let mut help: Option<&str> = None;
    let mut slots: Option<&HashMap<Box<str>, &'static Slot>> = None;
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            // Written once the TYPE line, next, names the family.
            help = Some(rest);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.rsplit_once(' ').unwrap_or((rest, "unknown"));
            let (family, kind) = match kind {
                "counter" => match name.strip_suffix("_total") {
                    Some(family) => (family, "counter"),
                    None => (name, "unknown"),
                },
                "untyped" => (name, "unknown"),
                kind => (name, kind),
            };
            if let Some((described, text)) = help.take().and_then(|h| h.split_once(' '))
                && described == name
            {
                out.push_str("# HELP ");
                out.push_str(family);
                out.push(' ');
                push_recorder_help(out, text);
                out.push('\n');
            }
            for part in ["# TYPE ", family, " ", kind, "\n"] {
                out.push_str(part);
            }
            if let Some(unit) = format::unit_of(family) {
                for part in ["# UNIT ", family, " ", unit, "\n"] {
                    out.push_str(part);
                }
            }
            slots = (kind == "counter")
                .then(|| exemplars.family(name))
                .flatten();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        out.push_str(line);
        if let Some(slots) = slots
            && let Some(exemplar) = labels_of(line)
                .and_then(|labels| slots.get(labels))
                .and_then(|slot| slot.load())
        {
            exemplar.write(out);
        }
        out.push('\n');
    }
}

/// HELP text as the recorder escaped it for 0.0.4 (`\\` and `\n`), with `"` escaped too.
fn push_recorder_help(out: &mut String, help: &str) {
    if !help.contains('"') {
        out.push_str(help);
        return;
    }
    // Every backslash in the recorder's text is already part of an escape: only quotes remain.
    out.push_str(&help.replace('"', "\\\""));
}

/// The label text of a sample line, between its braces.
fn labels_of(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once('{')?;
    let end = rest.rfind('}')?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exemplar::{self, Exemplar};
    use sentry::protocol::{SpanId, TraceId};

    #[test]
    fn recorder_families_become_openmetrics_families() {
        let text = "# HELP jobs_total Jobs \"done\", by \\\\ queue.\n\
                    # TYPE jobs_total counter\n\
                    jobs_total{queue=\"a\\\"b\"} 3\n\
                    \n\
                    # TYPE retries counter\n\
                    retries 2\n\
                    \n\
                    # HELP process_resident_memory_bytes Resident memory.\n\
                    # TYPE process_resident_memory_bytes gauge\n\
                    process_resident_memory_bytes 1024\n\
                    \n";
        let mut out = String::new();
        convert(text, &exemplar::counters(), &mut out);
        assert_eq!(
            out,
            "# HELP jobs Jobs \\\"done\\\", by \\\\ queue.\n\
             # TYPE jobs counter\n\
             jobs_total{queue=\"a\\\"b\"} 3\n\
             # TYPE retries unknown\n\
             retries 2\n\
             # HELP process_resident_memory_bytes Resident memory.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             # UNIT process_resident_memory_bytes bytes\n\
             process_resident_memory_bytes 1024\n"
        );
    }

    #[test]
    fn a_counter_series_with_an_exemplar_carries_it() {
        let slot =
            exemplar::counter_slot("test_convert_total", &[("route", "/a"), ("status", "200")]);
        let ids = (TraceId::from([0xcd; 16]), SpanId::from([0xef; 8]));
        slot.store(Exemplar::now(ids, 1.0));
        let text = "# TYPE test_convert_total counter\n\
                    test_convert_total{route=\"/a\",status=\"200\"} 5\n\
                    test_convert_total{route=\"/a\",status=\"500\"} 1\n";
        let mut out = String::new();
        convert(text, &exemplar::counters(), &mut out);
        let lines: Vec<&str> = out.lines().collect();
        let expected = format!(
            "test_convert_total{{route=\"/a\",status=\"200\"}} 5 # {{trace_id=\"{}\",span_id=\"{}\"}} 1 ",
            "cd".repeat(16),
            "ef".repeat(8)
        );
        assert!(lines[1].starts_with(&expected), "{out}");
        assert_eq!(
            lines[2],
            "test_convert_total{route=\"/a\",status=\"500\"} 1"
        );
    }
}
