//! Exemplars: the trace and span of one recent sampled call or request, kept per histogram
//! bucket and per counter series, and written after the OpenMetrics sample they belong to;
//! and the label text those samples share.
//!
//! Only traced calls touch them, so a call that is not traced pays nothing for them. A slot is
//! a small mutex around a plain value: its trace id and span id are always those of one call
//! (never torn between two writers), and a writer or the renderer holds it for a copy of 64
//! bytes. Trace and span ids are kept as the hex text they are rendered as.

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use sentry::protocol::{SpanId, TraceId};

use super::format::push_u64;

/// The trace and span an exemplar leads to.
pub(crate) type TraceIds = (TraceId, SpanId);

/// One observation of a traced call: its ids, its value, and when it was made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    trace_id: [u8; 32],
    span_id: [u8; 16],
    value: f64,
    /// Milliseconds since the Unix epoch.
    timestamp_millis: u64,
}

impl Exemplar {
    /// An exemplar of `value` observed now, in the span `ids`.
    pub(crate) fn now((trace, span): TraceIds, value: f64) -> Self {
        let timestamp_millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        let mut exemplar = Exemplar {
            trace_id: [b'0'; 32],
            span_id: [b'0'; 16],
            value,
            timestamp_millis,
        };
        // Both print as exactly as many hex digits as the arrays hold.
        let _ = write!(&mut exemplar.trace_id[..], "{trace}");
        let _ = write!(&mut exemplar.span_id[..], "{span}");
        exemplar
    }

    /// The trace id, 32 hex digits.
    pub(crate) fn trace_id(&self) -> &str {
        std::str::from_utf8(&self.trace_id).unwrap_or_default()
    }

    /// The span id, 16 hex digits.
    pub(crate) fn span_id(&self) -> &str {
        std::str::from_utf8(&self.span_id).unwrap_or_default()
    }

    /// Appends ` # {trace_id="...",span_id="..."} <value> <timestamp>` to a sample line. The
    /// label set is 63 characters, within the 128 OpenMetrics allows.
    pub(crate) fn write(&self, out: &mut String) {
        out.push_str(" # {trace_id=\"");
        out.push_str(self.trace_id());
        out.push_str("\",span_id=\"");
        out.push_str(self.span_id());
        out.push_str("\"} ");
        let _ = std::fmt::Write::write_fmt(out, format_args!("{}", self.value));
        out.push(' ');
        push_u64(out, self.timestamp_millis / 1000);
        let millis = self.timestamp_millis % 1000;
        out.push('.');
        out.push(char::from(b'0' + (millis / 100) as u8));
        out.push(char::from(b'0' + (millis / 10 % 10) as u8));
        out.push(char::from(b'0' + (millis % 10) as u8));
    }
}

/// The latest exemplar of one sample.
pub(crate) struct Slot(Mutex<Option<Exemplar>>);

impl Slot {
    pub(crate) const fn new() -> Self {
        Slot(Mutex::new(None))
    }

    /// Replaces the exemplar: the latest one wins.
    pub(crate) fn store(&self, exemplar: Exemplar) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(exemplar);
    }

    pub(crate) fn load(&self) -> Option<Exemplar> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `key="value",...`, values escaped as both text formats escape them.
pub(crate) fn label_text(labels: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(key);
        text.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => text.push_str(r"\\"),
                '"' => text.push_str("\\\""),
                '\n' => text.push_str(r"\n"),
                c => text.push(c),
            }
        }
        text.push('"');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u8) -> TraceIds {
        (TraceId::from([n; 16]), SpanId::from([n; 8]))
    }

    #[test]
    fn an_exemplar_renders_as_openmetrics_writes_it() {
        let mut exemplar = Exemplar::now(ids(0xab), 0.054);
        exemplar.timestamp_millis = 1_700_000_000_012;
        let mut out = String::new();
        exemplar.write(&mut out);
        let trace = "ab".repeat(16);
        let span = "ab".repeat(8);
        assert_eq!(
            out,
            format!(" # {{trace_id=\"{trace}\",span_id=\"{span}\"}} 0.054 1700000000.012")
        );
        let labels = out.split_once('{').unwrap().1.split_once('}').unwrap().0;
        let chars = labels
            .split(',')
            .map(|pair| pair.replace(['=', '"'], "").len())
            .sum::<usize>();
        assert!(chars <= 128, "{chars} characters of exemplar labels");
    }

    #[test]
    fn a_slot_is_never_torn_between_two_writers() {
        let slot: &'static Slot = Box::leak(Box::new(Slot::new()));
        let writers: Vec<_> = (1..=4u8)
            .map(|n| {
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        slot.store(Exemplar::now(ids(n), f64::from(n)));
                    }
                })
            })
            .collect();
        let mut seen = 0;
        while writers.iter().any(|writer| !writer.is_finished()) {
            if let Some(exemplar) = slot.load() {
                // Writer n writes the trace id n…n, the span id n…n and the value n.
                let hex = format!("{:02x}", exemplar.value as u8);
                assert_eq!(exemplar.trace_id(), hex.repeat(16), "{exemplar:?}");
                assert_eq!(exemplar.span_id(), hex.repeat(8), "torn: {exemplar:?}");
                seen += 1;
            }
        }
        for writer in writers {
            writer.join().unwrap();
        }
        assert!(seen > 0);
    }
}
