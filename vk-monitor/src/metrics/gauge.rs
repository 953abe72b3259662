//! This crate's own gauges, rendered beside its counters and histograms: in-flight counts
//! (summed from every thread's cells at render, see `in_flight`) and gauges that are set to a
//! value (`health_check_up`, `build_info`).

use std::sync::atomic::{AtomicU64, Ordering};

use super::families::{FamilyList, write_meta};
use super::format::{Format, push_u64};
use super::in_flight::InFlight;
use super::shard;

/// A gauge that is set: the bits of its `f64` value.
pub(crate) struct Gauge(AtomicU64);

impl Gauge {
    pub(crate) fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

enum Source {
    InFlight(&'static InFlight),
    Set(&'static Gauge),
}

static FAMILIES: FamilyList<Source> = FamilyList::new();

/// An in-flight count rendered as the series `name{labels}`, from now on. Counts live as long
/// as the process, like the series they feed: one per call site, or route and method.
pub(crate) fn in_flight(
    name: &'static str,
    help: &'static str,
    labels: &[(&str, &str)],
) -> &'static InFlight {
    let in_flight: &'static InFlight = Box::leak(Box::new(InFlight::new()));
    FAMILIES.add(name, help, labels, Source::InFlight(in_flight));
    in_flight
}

/// A gauge set to `value`, rendered as the series `name{labels}` from now on.
pub(crate) fn set(
    name: &'static str,
    help: &'static str,
    labels: &[(&str, &str)],
    value: f64,
) -> &'static Gauge {
    let gauge: &'static Gauge = Box::leak(Box::new(Gauge(AtomicU64::new(value.to_bits()))));
    FAMILIES.add(name, help, labels, Source::Set(gauge));
    gauge
}

/// Appends every family in `format`.
pub(crate) fn render(out: &mut String, format: Format) {
    let arenas = shard::folding();
    for family in FAMILIES.lock().iter() {
        let name = family.name;
        write_meta(out, name, family.help, "gauge", format);
        for series in &family.series {
            for part in [name, "{", &series.labels, "} "] {
                out.push_str(part);
            }
            match series.value {
                Source::InFlight(in_flight) => push_u64(out, in_flight.count(&arenas)),
                Source::Set(gauge) => push_f64(out, gauge.get()),
            }
            out.push('\n');
        }
    }
}

/// A value as Prometheus reads it: whole numbers without a fraction.
fn push_f64(out: &mut String, value: f64) {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        if value < 0.0 {
            out.push('-');
        }
        push_u64(out, value.abs() as u64);
    } else if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        out.push_str(&value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_and_set_gauges_render_in_both_formats() {
        let name = "test_gauge_jobs_in_flight";
        let running = in_flight(name, "Jobs running.", &[("queue", "a")]);
        running.enter();
        running.enter();
        running.exit();
        let up = set("test_gauge_up", "Up \"now\".", &[("check", "db")], 1.0);
        for format in [Format::Text, Format::OpenMetrics] {
            let mut out = String::new();
            render(&mut out, format);
            assert!(
                out.contains("# TYPE test_gauge_jobs_in_flight gauge\ntest_gauge_jobs_in_flight{queue=\"a\"} 1\n"),
                "{out}"
            );
            assert!(out.contains("test_gauge_up{check=\"db\"} 1\n"), "{out}");
        }
        up.set(0.5);
        let mut out = String::new();
        render(&mut out, Format::Text);
        assert!(out.contains("test_gauge_up{check=\"db\"} 0.5\n"), "{out}");
    }
}
