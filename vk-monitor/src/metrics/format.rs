//! The two exposition formats `GET /metrics` answers in, their content types, the rules
//! OpenMetrics adds to the Prometheus text format (units, HELP escaping), and the fast integer
//! writing every renderer of ours shares.

/// The `Content-Type` of the Prometheus text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `Content-Type` of the OpenMetrics 1.0 text exposition format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// The Prometheus text format 0.0.4: what every scraper reads, without exemplars.
    Text,
    /// OpenMetrics 1.0 text: counters named without `_total`, units, exemplars, `# EOF`.
    OpenMetrics,
}

impl Format {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Text => CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// Base units a family name can end with, which OpenMetrics then declares in `# UNIT`.
const UNITS: &[&str] = &[
    "seconds", "bytes", "ratio", "meters", "grams", "celsius", "volts", "amperes", "joules",
];

/// The unit `family` (an OpenMetrics family name: a counter's without `_total`) ends with.
pub(crate) fn unit_of(family: &str) -> Option<&'static str> {
    UNITS.iter().copied().find(|unit| {
        family
            .strip_suffix(unit)
            .is_some_and(|stem| stem.ends_with('_') && stem.len() > 1)
    })
}

/// Appends HELP text escaped for `format`: OpenMetrics, unlike the 0.0.4 format, escapes `"`
/// there too.
pub(crate) fn push_help(out: &mut String, help: &str, format: Format) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' if format == Format::OpenMetrics => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            c => out.push(c),
        }
    }
}

/// Appends `n` in decimal: the counts of a large exposition, without `fmt` machinery.
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_whole_name_suffixes() {
        assert_eq!(unit_of("function_call_duration_seconds"), Some("seconds"));
        assert_eq!(unit_of("process_resident_memory_bytes"), Some("bytes"));
        assert_eq!(unit_of("process_cpu_seconds"), Some("seconds"));
        assert_eq!(unit_of("function_calls"), None);
        assert_eq!(unit_of("milliseconds"), None, "not a _seconds suffix");
        assert_eq!(
            unit_of("seconds"),
            None,
            "a unit alone is not a family with a unit"
        );
    }

    #[test]
    fn help_escapes_quotes_backslashes_and_newlines() {
        let mut out = String::new();
        push_help(&mut out, "a \"b\" c\\d\ne", Format::OpenMetrics);
        assert_eq!(out, r#"a \"b\" c\\d\ne"#);
        out.clear();
        push_help(&mut out, "a \"b\" c\\d\ne", Format::Text);
        assert_eq!(out, r#"a "b" c\\d\ne"#);
    }

    #[test]
    fn integers_print_in_decimal() {
        let mut out = String::new();
        for n in [0, 7, 10, 1234567890, u64::MAX] {
            push_u64(&mut out, n);
            out.push(' ');
        }
        assert_eq!(out, format!("0 7 10 1234567890 {} ", u64::MAX));
    }
}
