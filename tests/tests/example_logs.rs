//! The example server's logs as an operator reads them, with `LOG_FORMAT=json`, the metrics
//! on a listener of their own and Sentry at a loopback receiver: every line is one JSON
//! object; the start-up line names where `/metrics` really is; each request has one line
//! with its method, route template, status, duration and the trace id of the transaction
//! Sentry received; the business events are logged inside their trace.
//! `.ci/run` runs it: `cargo test -p vk-monitor-tests --test example_logs -- --ignored`.

use std::process::Stdio;

use sentry::protocol::Context;
use serde_json::Value;
use vk_monitor_tests::load::{ExampleServer, free_port};
use vk_monitor_tests::{SentryReceiver, http_request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the example server binary; .ci/run runs it"]
async fn json_lines_name_the_route_status_and_trace_of_each_request() {
    let receiver = SentryReceiver::start().await;
    let metrics_addr = free_port();
    let log_path =
        std::env::temp_dir().join(format!("vk-monitor-logs-{}.jsonl", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let server = ExampleServer::start_with_stdout(
        &[
            ("SENTRY_DSN", receiver.dsn.as_str()),
            ("SENTRY_TRACES_SAMPLE_RATE", "1"),
            ("LOG_FORMAT", "json"),
            ("METRICS_ADDR", &metrics_addr.to_string()),
        ],
        Stdio::from(log),
    )
    .await;
    let addr = server.addr;
    let created = http_request(
        addr,
        "POST",
        "/calls",
        r#"{"caller":"+15550100","callee":"s"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    server.terminate().await;

    let text = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    assert!(lines.iter().all(Value::is_object), "{text}");

    let startup = lines
        .iter()
        .find(|line| line["message"] == "voice-calls listening")
        .unwrap_or_else(|| panic!("no start-up line in {text}"));
    assert_eq!(
        startup["metrics"],
        format!("http://{metrics_addr}/metrics"),
        "{startup}"
    );
    assert_eq!(startup["listen"], format!("http://{addr}"), "{startup}");
    assert_eq!(
        startup["health"],
        format!("http://{addr}/health"),
        "{startup}"
    );

    let requests: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "vk_monitor::http" && line["route"] == "/calls")
        .collect();
    assert_eq!(requests.len(), 1, "one line per request: {text}");
    let request = requests[0];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["status"], 201);
    assert!(
        request["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{request}"
    );
    let trace_id = request["trace_id"]
        .as_str()
        .expect("the request's trace id");

    let (transactions, _) = receiver.received();
    let transaction = transactions
        .iter()
        .find(|t| t.name.as_deref() == Some("POST /calls"))
        .expect("the request's transaction");
    let Some(Context::Trace(trace)) = transaction.contexts.get("trace") else {
        panic!("no trace context")
    };
    assert_eq!(trace.trace_id.to_string(), trace_id);

    let started = lines
        .iter()
        .find(|line| line["message"] == "call started")
        .unwrap_or_else(|| panic!("no business event in {text}"));
    assert_eq!(started["trace_id"].as_str(), Some(trace_id), "{started}");
    assert!(!text.contains("+15550100"), "a phone number in the logs");
}
