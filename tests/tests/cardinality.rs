//! The cardinality guard with its default limit, through the process's exporter: a business
//! metric fed 100,000 distinct label values keeps 1,000 series and one overflow series.

use metrics::counter;
use vk_monitor::metrics::DEFAULT_MAX_SERIES;
use vk_monitor::metrics::names::METRICS_SERIES_DROPPED_TOTAL;
use vk_monitor_tests::{exporter, parse_exposition, value};

#[test]
fn a_label_fed_by_user_ids_stays_bounded() {
    let exporter = exporter();
    for user in 0..100_000 {
        counter!("voice_logins_total", "user" => user.to_string()).increment(1);
    }
    counter!("voice_logins_total", "user" => "0").increment(1);
    let text = exporter.render();
    let logins: Vec<_> = parse_exposition(&text)
        .into_iter()
        .filter(|sample| sample.name == "voice_logins_total")
        .collect();
    println!(
        "voice_logins_total: 100,000 label values, {} series in /metrics",
        logins.len()
    );
    assert_eq!(
        logins.len(),
        DEFAULT_MAX_SERIES + 1,
        "the limit and the overflow"
    );
    let overflow = value(
        &text,
        "voice_logins_total",
        &[("otel_metric_overflow", "true")],
    );
    assert_eq!(overflow, Some(99_000.0));
    assert_eq!(
        value(&text, "voice_logins_total", &[("user", "0")]),
        Some(2.0),
        "an admitted label set keeps its own series"
    );
    let dropped = value(
        &text,
        METRICS_SERIES_DROPPED_TOTAL,
        &[("metric", "voice_logins_total")],
    );
    assert_eq!(dropped, Some(99_000.0));
    assert!(
        text.contains("# HELP metrics_series_dropped_total "),
        "described"
    );
}
