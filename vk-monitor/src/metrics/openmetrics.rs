//! The recorder's families in OpenMetrics 1.0: its 0.0.4 text, rewritten line by line.
//!
//! `metrics-exporter-prometheus` writes only the 0.0.4 format, and most of it is already valid
//! OpenMetrics: sample lines, label escaping and values are the same. What differs is
//! metadata: a counter's family is named without `_total` (a counter whose name lacks the
//! suffix is declared `unknown`, so that its series keep their name), HELP escapes `"`, a
//! family whose name ends with a base unit declares it in `# UNIT`, and blank lines are not
//! allowed. This crate's own families (counters, gauges, histograms, with exemplars) are not
//! the recorder's: they render themselves.

use super::format;

/// Appends the OpenMetrics form of `text`, the recorder's exposition, to `out`. The caller
/// writes `# EOF` after everything else.
pub(crate) fn convert(text: &str, out: &mut String) {
    out.reserve(text.len() + text.len() / 16);
    let mut help: Option<&str> = None;
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
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        out.push_str(line);
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

#[cfg(test)]
mod tests {
    use super::*;

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
        convert(text, &mut out);
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
}
