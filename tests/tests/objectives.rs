//! Objectives on `#[monitored]` against the real exporter: the calls counter and duration
//! histogram of a function with an objective carry its labels, a latency threshold that is
//! not a default bound becomes a bucket of that series only, two functions sharing one
//! objective export its targets once, and a function without one is unchanged.

use std::time::Duration;

use vk_monitor::{Objective, monitored};
use vk_monitor_tests::{Sample, exporter, parse_exposition};

const CALLS: Objective = Objective::new("calls-api")
    .success_rate(99.9)
    .latency(Duration::from_millis(250), 99.0);

/// 333 ms is no default bound; no success rate.
const ODD: Objective = Objective::new("odd").latency(Duration::from_millis(333), 90.0);

#[monitored(objective = CALLS)]
fn create(fail: bool) -> Result<(), std::io::Error> {
    if fail {
        Err(std::io::Error::other("full"))
    } else {
        Ok(())
    }
}

#[monitored(objective = CALLS)]
async fn read() -> u8 {
    2
}

#[monitored(objective = ODD)]
fn odd() {}

#[monitored]
fn plain() {}

fn label<'a>(sample: &'a Sample, name: &str) -> Option<&'a str> {
    sample
        .labels
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn of_function<'a>(samples: &'a [Sample], name: &str, function: &str) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name && label(s, "function") == Some(function))
        .collect()
}

/// The `le` values of `function`'s `result="ok"` duration histogram.
fn bounds(samples: &[Sample], function: &str) -> Vec<String> {
    of_function(samples, "function_call_duration_seconds_bucket", function)
        .into_iter()
        .filter(|s| label(s, "result") == Some("ok"))
        .map(|s| label(s, "le").unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn objective_labels_buckets_and_targets() {
    let exporter = exporter();
    for fail in [false, false, true] {
        let _ = create(fail);
    }
    assert_eq!(read().await, 2);
    odd();
    plain();
    let samples = parse_exposition(&exporter.render());

    let calls = of_function(&samples, "function_calls_total", "create");
    let value_of = |result: &str| {
        calls
            .iter()
            .find(|s| label(s, "result") == Some(result))
            .unwrap_or_else(|| panic!("no {result} series: {calls:#?}"))
    };
    assert_eq!(value_of("ok").value, 2.0);
    assert_eq!(value_of("error").value, 1.0);
    for sample in &calls {
        assert_eq!(label(sample, "objective_name"), Some("calls-api"));
        assert_eq!(label(sample, "objective_percentile"), Some("99.9"));
        assert_eq!(label(sample, "objective_latency_threshold"), None);
    }
    let durations = of_function(&samples, "function_call_duration_seconds_count", "read");
    assert_eq!(durations.len(), 1, "{durations:#?}");
    let read_duration = durations[0];
    assert_eq!(read_duration.value, 1.0);
    assert_eq!(label(read_duration, "objective_percentile"), Some("99"));
    assert_eq!(
        label(read_duration, "objective_latency_threshold"),
        Some("0.25")
    );

    // A latency-only objective: the counter is unchanged, the threshold is a bucket.
    for sample in of_function(&samples, "function_calls_total", "odd") {
        assert_eq!(label(sample, "objective_name"), None, "{sample:?}");
    }
    let plain_bounds = bounds(&samples, "plain");
    let odd_bounds = bounds(&samples, "odd");
    assert!(odd_bounds.contains(&"0.333".to_owned()), "{odd_bounds:?}");
    assert_eq!(odd_bounds.len(), plain_bounds.len() + 1);
    assert!(!plain_bounds.contains(&"0.333".to_owned()));
    assert_eq!(
        bounds(&samples, "create"),
        plain_bounds,
        "0.25 is a bound already"
    );
    for sample in of_function(&samples, "function_call_duration_seconds_bucket", "plain") {
        assert_eq!(label(sample, "objective_name"), None, "{sample:?}");
    }

    let targets: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "objective_target_ratio")
        .map(|s| {
            let labels: Vec<_> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (labels.join(","), s.value)
        })
        .collect();
    assert_eq!(
        targets,
        [
            (
                "objective_name=calls-api,objective_percentile=99.9".to_owned(),
                0.999
            ),
            (
                "objective_name=calls-api,objective_percentile=99,objective_latency_threshold=0.25"
                    .to_owned(),
                0.99
            ),
            (
                "objective_name=odd,objective_percentile=90,objective_latency_threshold=0.333"
                    .to_owned(),
                0.9
            ),
        ],
        "each target once, in the order first used"
    );
}

async fn call(axum::extract::Path(id): axum::extract::Path<u32>) -> axum::http::StatusCode {
    if id == 2 {
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    } else {
        axum::http::StatusCode::OK
    }
}

/// A route given an objective on the layer: the same labels on its requests' series; another
/// route of the same layer is unchanged.
#[tokio::test]
async fn a_route_counts_for_its_objective() {
    exporter();
    let app = axum::Router::new()
        .route("/calls/{id}", axum::routing::get(call))
        .route("/other", axum::routing::get(|| async { "ok" }))
        .layer(vk_monitor::http::MonitorLayer::new().objective("/calls/{id}", CALLS));
    let addr = vk_monitor_tests::serve(app).await;
    for path in ["/calls/1", "/calls/2", "/calls/3", "/other"] {
        vk_monitor_tests::http_get(addr, path).await;
    }
    let samples = parse_exposition(&exporter().render());
    let requests: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "http_requests_total")
        .collect();
    let of_route = |route: &str| -> Vec<&&Sample> {
        requests
            .iter()
            .filter(|s| label(s, "route") == Some(route))
            .collect()
    };
    let calls = of_route("/calls/{id}");
    let by_status = |status: &str| {
        calls
            .iter()
            .find(|s| label(s, "status") == Some(status))
            .map(|s| s.value)
    };
    assert_eq!((by_status("200"), by_status("500")), (Some(2.0), Some(1.0)));
    for sample in &calls {
        assert_eq!(label(sample, "objective_name"), Some("calls-api"));
        assert_eq!(label(sample, "objective_percentile"), Some("99.9"));
    }
    for sample in of_route("/other") {
        assert_eq!(label(sample, "objective_name"), None, "{sample:?}");
    }
    let duration = samples
        .iter()
        .find(|s| {
            s.name == "http_request_duration_seconds_bucket"
                && label(s, "route") == Some("/calls/{id}")
                && label(s, "le") == Some("0.25")
        })
        .expect("the threshold's bucket");
    assert_eq!(label(duration, "objective_percentile"), Some("99"));
    assert_eq!(label(duration, "objective_latency_threshold"), Some("0.25"));
}
