//! Series limits set through the monitor's configuration (`METRICS_MAX_SERIES`, here in code)
//! and per metric on its exporter: the application's metrics are folded past them, this
//! crate's own families never are, however small the limit.

use std::sync::LazyLock;

use axum::Router;
use axum::routing::get;
use metrics::{counter, gauge, histogram};
use vk_monitor::health::{CheckReport, CheckSpec};
use vk_monitor::metrics::names::{METRICS_SERIES_DROPPED_TOTAL, OVERFLOW_LABEL};
use vk_monitor::{Monitor, monitored};
use vk_monitor_tests::{Sample, http_get, parse_exposition, serve, value};

static MONITOR: LazyLock<Monitor> = LazyLock::new(|| {
    Monitor::builder("cardinality-limits", "1.0.0")
        .config(|config| config.metrics_max_series(2usize).sentry_dsn(""))
        .exporter(|exporter| exporter.max_series_for("tenant_requests_total", 5))
        .install()
        .expect("install the monitor")
});

fn samples(name: &str) -> Vec<Sample> {
    let text = MONITOR.exporter().expect("metrics on").render();
    parse_exposition(&text)
        .into_iter()
        .filter(|sample| sample.name == name)
        .collect()
}

fn dropped(metric: &str) -> Option<f64> {
    let text = MONITOR.exporter().expect("metrics on").render();
    value(&text, METRICS_SERIES_DROPPED_TOTAL, &[("metric", metric)])
}

#[monitored]
fn first() {}
#[monitored]
fn second() {}
#[monitored]
fn third() -> Result<(), String> {
    Err("third fails".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_crates_families_keep_every_series_under_a_limit_of_two() {
    let monitor = &*MONITOR;
    for check in ["db", "cache", "queue"] {
        monitor
            .health()
            .register(CheckSpec::readiness(check), || async {
                CheckReport::pass()
            })
            .expect("each check has its own name");
    }
    first();
    second();
    let _ = third();
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }))
        .route("/c/{id}", get(|| async { "c" }))
        .merge(monitor.router())
        .layer(monitor.layer());
    let addr = serve(app).await;
    for path in ["/a", "/b", "/c/1", "/nowhere", "/ready"] {
        http_get(addr, path).await;
    }
    // The layer records after the response is sent: wait for the last request to land.
    for _ in 0..200 {
        if samples("http_requests_total").len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // Three functions, four results each; two error kinds each. /a, /b, /c/{id} and the
    // unmatched route.
    for (family, series) in [
        ("function_calls_total", 12),
        ("function_errors_total", 6),
        ("function_calls_in_flight", 3),
        ("http_requests_total", 4),
        ("http_requests_in_flight", 4),
        ("health_check_up", 3),
        ("build_info", 1),
    ] {
        let samples = samples(family);
        assert_eq!(samples.len(), series, "{family}: {samples:?}");
        let folded = samples
            .iter()
            .any(|sample| sample.labels.iter().any(|(key, _)| key == OVERFLOW_LABEL));
        assert!(!folded, "{family}: {samples:?}");
        assert_eq!(dropped(family), None, "{family} is not guarded");
    }
}

#[test]
fn the_configured_limit_and_the_per_metric_one_fold_the_rest() {
    let monitor = &*MONITOR;
    for i in 0..10 {
        let id = i.to_string();
        counter!("orders_total", "customer" => id.clone()).increment(1);
        counter!("tenant_requests_total", "tenant" => id.clone()).increment(1);
        gauge!("cart_items", "cart" => id.clone()).set(3.0);
        histogram!("basket_value", "basket" => id).record(10.0);
    }
    let overflow = |name: &str| {
        let text = monitor.exporter().expect("metrics on").render();
        value(&text, name, &[(OVERFLOW_LABEL, "true")])
    };
    assert_eq!(
        samples("orders_total").len(),
        3,
        "METRICS_MAX_SERIES=2 and the overflow"
    );
    assert_eq!(overflow("orders_total"), Some(8.0));
    assert_eq!(dropped("orders_total"), Some(8.0));
    assert_eq!(
        samples("tenant_requests_total").len(),
        6,
        "its own limit of 5"
    );
    assert_eq!(dropped("tenant_requests_total"), Some(5.0));
    assert_eq!(samples("cart_items").len(), 3);
    assert_eq!(overflow("cart_items"), Some(3.0), "the last value set wins");
    assert_eq!(samples("basket_value_count").len(), 3);
    assert_eq!(overflow("basket_value_count"), Some(8.0));
    assert_eq!(dropped("basket_value"), Some(8.0));
}
