//! `promtool check metrics` finds nothing to complain about in our exposition: names, units,
//! HELP text and types follow the Prometheus conventions. The exposition is the 0.0.4 answer
//! of `GET /metrics` to a scraper that weighs text above OpenMetrics.
//!
//! Needs Debian's `prometheus` package (promtool); `.ci/run` installs it and runs this test with
//! `cargo test -p vk-monitor-tests --test promtool -- --ignored`.

use std::io::Write;
use std::panic::catch_unwind;
use std::process::{Command, Stdio};

use vk_monitor::metrics::DEFAULT_MAX_SERIES;
use vk_monitor::{MonitoredError, monitored};
use vk_monitor_tests::{exporter, raw_request, serve};

struct Timeout;

impl MonitoredError for Timeout {
    fn error_kind(&self) -> &'static str {
        "timeout"
    }
}

#[monitored(op = "http.client")]
fn call_provider(fail: bool) -> Result<(), Timeout> {
    if fail { Err(Timeout) } else { Ok(()) }
}

const PROVIDER: vk_monitor::Objective = vk_monitor::Objective::new("provider")
    .success_rate(99.5)
    .latency(std::time::Duration::from_millis(300), 99.0);

/// With an objective whose threshold is not a default bound: its labels, its own bucket and
/// `objective_target_ratio` pass the checks too.
#[monitored(objective = PROVIDER)]
fn call_provider_within_objective() {}

#[monitored]
fn crash() {
    panic!("for the exposition");
}

#[tokio::test]
#[ignore = "needs promtool; .ci/run runs it"]
async fn promtool_accepts_the_exposition() {
    exporter();
    let _ = call_provider(false);
    let _ = call_provider(true);
    let _ = catch_unwind(crash);
    call_provider_within_objective();
    // A business metric past its series limit: the overflow series and the drop counter.
    metrics::describe_counter!("promtool_orders_total", "Orders by customer.");
    for customer in 0..=DEFAULT_MAX_SERIES {
        metrics::counter!("promtool_orders_total", "customer" => customer.to_string()).increment(1);
    }
    // Outgoing calls: an answered one and a refused one, through the client layer.
    let target = serve(axum::Router::new().route("/", axum::routing::get(|| async { "ok" }))).await;
    let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
    let mut client = tower_layer::Layer::layer(&vk_monitor::client::ClientLayer::new(), hyper);
    for to in [target, vk_monitor_tests::load::free_port()] {
        let request = http::Request::get(format!("http://{to}/"))
            .body(http_body_util::Empty::new())
            .unwrap();
        let _ = tower_service::Service::call(&mut client, request).await;
    }
    let addr = serve(exporter().router()).await;
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\
         Accept: application/openmetrics-text;q=0.1,text/plain;q=0.9\r\nConnection: close\r\n\r\n"
    );
    let scrape = raw_request(addr, request.as_bytes()).await;
    assert_eq!(
        scrape.header("content-type"),
        Some(vk_monitor::metrics::CONTENT_TYPE)
    );
    let exposition = scrape.body;
    for family in [
        "function_calls_total",
        "function_errors_total",
        "process_cpu_seconds_total",
        "http_client_requests_total",
        "http_client_request_duration_seconds_bucket",
        "http_client_requests_in_flight",
        r#"kind="connect"} 1"#,
        r#"objective_latency_threshold="0.3",result="ok",le="0.3"}"#,
        r#"objective_target_ratio{objective_name="provider",objective_percentile="99.5"} 0.995"#,
        r#"promtool_orders_total{otel_metric_overflow="true"} 1"#,
        r#"metrics_series_dropped_total{metric="promtool_orders_total"} 1"#,
    ] {
        assert!(
            exposition.contains(family),
            "{family} missing from:\n{exposition}"
        );
    }

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!(
                "could not run promtool ({err}); install it with \
                 `apt-get install prometheus` (Debian) or run .ci/run, which does"
            )
        });
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && complaints.trim().is_empty(),
        "promtool check metrics: {}\n{complaints}\nexposition:\n{exposition}",
        output.status
    );
}
