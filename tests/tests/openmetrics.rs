//! The OpenMetrics exposition, scraped as Prometheus scrapes it, is accepted by a strict
//! parser (`prometheus_client.openmetrics.parser`, through `scripts/check-openmetrics.py`),
//! with every kind of family this crate and an application produce: this crate's counters,
//! gauges and histograms, process metrics, `build_info`, the overflow series and its drop
//! counter, and business counters (with and without `_total`), gauges and histograms whose
//! label values and HELP text need escaping. Every request and call is traced into a loopback
//! Sentry receiver, and each exemplar names a trace the receiver got.
//!
//! Needs python3 with prometheus_client; `.ci/install-tools` installs it and `.ci/run` runs
//! this test: `cargo test -p vk-monitor-tests --test openmetrics -- --ignored`.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::panic::catch_unwind;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;
use vk_monitor::{MonitoredError, monitored};
use vk_monitor_tests::{SentryReceiver, raw_request, serve};

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A label value with every character the formats escape.
const AWKWARD: &str = "a \"quoted\" \\ back\\slash\nand a newline";

struct Refused;

impl MonitoredError for Refused {
    fn error_kind(&self) -> &'static str {
        "refused"
    }
}

#[monitored(op = "http.client")]
fn charge(fail: bool) -> Result<(), Refused> {
    if fail { Err(Refused) } else { Ok(()) }
}

#[monitored]
fn crash() {
    panic!("for the exposition");
}

#[monitored]
async fn hello() -> &'static str {
    let _ = charge(false);
    "hello"
}

async fn fail() -> StatusCode {
    let _ = charge(true);
    StatusCode::INTERNAL_SERVER_ERROR
}

/// Runs the parser; its summary of the exposition.
fn parse(exposition: &str) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/check-openmetrics.py"
    );
    let mut parser = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!(
                "could not run python3 ({err}); the OpenMetrics check needs python3 with \
                 prometheus_client (`python3 -m pip install prometheus-client`, or run \
                 .ci/install-tools, which does)"
            )
        });
    parser
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let output = parser.wait_with_output().unwrap();
    let complaint = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => serde_json::from_slice(&output.stdout).expect("the parser's JSON summary"),
        Some(2) => panic!("the OpenMetrics parser is missing: {complaint}"),
        _ => panic!("{complaint}\nexposition:\n{exposition}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with prometheus_client; .ci/run runs it"]
async fn a_strict_parser_accepts_the_openmetrics_exposition() {
    let receiver = SentryReceiver::start().await;
    let monitor = receiver
        .monitor_builder("openmetrics-test", "1.2.3")
        .config(|config| {
            config
                .enable_metrics(true)
                .apm_enabled(true)
                .environment("test")
                .send_default_pii(false)
                .debug(false)
        })
        .exporter(|exporter| exporter.max_series_for("signups_total", 2))
        .install()
        .expect("install the monitor");

    // Business metrics, as an application records them.
    metrics::describe_counter!("orders_total", "Orders, \"by\" customer \\ region.");
    metrics::counter!("orders_total", "customer" => AWKWARD).increment(3);
    metrics::counter!("retries", "queue" => "mail").increment(2);
    metrics::gauge!("queue_depth", "queue" => "mail").set(7.0);
    metrics::histogram!("payment_duration_seconds", "provider" => "card").record(0.3);
    for user in ["ann", "bob", "cy"] {
        metrics::counter!("signups_total", "user" => user).increment(1);
    }
    // Calls outside any request: each its own trace.
    let _ = charge(false);
    let _ = charge(true);
    let _ = catch_unwind(crash);

    let app = Router::new()
        .route("/hello", get(hello))
        .route("/fail", get(fail))
        .layer(monitor.layer())
        .merge(monitor.router());
    let addr = serve(app).await;
    for path in ["/hello", "/hello", "/fail"] {
        vk_monitor_tests::http_get(addr, path).await;
    }

    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAccept: {PROMETHEUS_ACCEPT}\r\n\
         Connection: close\r\n\r\n"
    );
    let scrape = raw_request(addr, request.as_bytes()).await;
    assert_eq!(scrape.status, 200, "{}", scrape.body);
    assert_eq!(
        scrape.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let exposition = &scrape.body;
    assert!(exposition.ends_with("# EOF\n"), "{exposition}");
    let parsed = parse(exposition);

    let families = &parsed["families"];
    let kind = |name: &str| {
        let family = &families[name];
        assert!(!family.is_null(), "no family {name}: {families}");
        (
            family["type"].as_str().unwrap().to_owned(),
            family["unit"].as_str().unwrap().to_owned(),
        )
    };
    for (family, expected_type, unit) in [
        ("function_calls", "counter", ""),
        ("function_errors", "counter", ""),
        ("function_calls_in_flight", "gauge", ""),
        ("function_call_duration_seconds", "histogram", "seconds"),
        ("http_requests", "counter", ""),
        ("http_requests_in_flight", "gauge", ""),
        ("http_request_duration_seconds", "histogram", "seconds"),
        ("build_info", "gauge", ""),
        ("metrics_series_dropped", "counter", ""),
        ("process_cpu_seconds", "counter", "seconds"),
        ("process_resident_memory_bytes", "gauge", "bytes"),
        ("orders", "counter", ""),
        ("retries", "unknown", ""),
        ("queue_depth", "gauge", ""),
        ("payment_duration_seconds", "histogram", "seconds"),
        ("signups", "counter", ""),
    ] {
        assert_eq!(
            kind(family),
            (expected_type.to_owned(), unit.to_owned()),
            "{family}"
        );
    }

    let samples = parsed["samples"].as_array().unwrap();
    let sample = |name: &str, labels: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .find(|s| {
                s["name"] == name
                    && labels
                        .iter()
                        .all(|(k, v)| s["labels"][k].as_str() == Some(v))
            })
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))["value"]
            .as_f64()
            .unwrap()
    };
    // Escaped on the way out, the label value reads back as it was recorded.
    assert_eq!(sample("orders_total", &[("customer", AWKWARD)]), 3.0);
    assert_eq!(
        sample("signups_total", &[("otel_metric_overflow", "true")]),
        1.0
    );
    assert_eq!(
        sample(
            "http_requests_total",
            &[("route", "/hello"), ("status", "200")]
        ),
        2.0
    );
    assert_eq!(
        sample(
            "function_calls_total",
            &[("function", "charge"), ("result", "error")]
        ),
        2.0
    );

    // Exemplars on both duration histograms and both call counters, each naming a trace
    // Sentry received.
    let exemplars = parsed["exemplars"].as_array().unwrap();
    let mut by_sample: BTreeMap<String, usize> = BTreeMap::new();
    let mut traces = HashSet::new();
    for exemplar in exemplars {
        *by_sample
            .entry(exemplar["sample"].as_str().unwrap().to_owned())
            .or_default() += 1;
        let trace = exemplar["exemplar"]["trace_id"].as_str().unwrap();
        let span = exemplar["exemplar"]["span_id"].as_str().unwrap();
        let hex = |id: &str, len| id.len() == len && id.bytes().all(|b| b.is_ascii_hexdigit());
        assert!(hex(trace, 32) && hex(span, 16), "{exemplar}");
        traces.insert(trace.to_owned());
    }
    for sample in [
        "function_call_duration_seconds_bucket",
        "http_request_duration_seconds_bucket",
        "function_calls_total",
        "http_requests_total",
    ] {
        assert!(
            by_sample.contains_key(sample),
            "no exemplar on {sample}: {by_sample:?}"
        );
    }
    assert!(
        exemplars.iter().all(
            |e| ["_bucket", "function_calls_total", "http_requests_total"]
                .iter()
                .any(|s| e["sample"].as_str().unwrap().ends_with(s))
        ),
        "exemplars only where this crate records them: {by_sample:?}"
    );

    assert!(monitor.flush(Duration::from_secs(5)), "Sentry flushed");
    let (transactions, _) = receiver.received();
    let sent: HashSet<String> = transactions
        .iter()
        .filter_map(|t| match t.contexts.get("trace") {
            Some(sentry::protocol::Context::Trace(trace)) => Some(trace.trace_id.to_string()),
            _ => None,
        })
        .collect();
    let unknown: Vec<&String> = traces.difference(&sent).collect();
    assert!(
        unknown.is_empty(),
        "exemplars of traces never sent: {unknown:?}"
    );
}
