//! `tracing` and Sentry agree, with the real transport against a loopback receiver and a real
//! axum server on two worker threads: 100 concurrent traced requests each log an event; the
//! trace id on each formatted line (text and JSON) is that request's transaction's, and the
//! breadcrumbs on each request's error event are its own only. An `error!` logged by a
//! monitored function that then returns `Err` is one Sentry event, not two.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use sentry::protocol::Context;
use tracing_subscriber::layer::SubscriberExt;
use vk_monitor::monitored;
use vk_monitor_tests::{SentryReceiver, http_get};

#[derive(Debug)]
struct StepFailed(u64);

impl std::fmt::Display for StepFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} failed", self.0)
    }
}

impl std::error::Error for StepFailed {}

#[monitored]
async fn step(n: u64) -> Result<(), StepFailed> {
    tracing::info!(request = n, "working");
    tokio::task::yield_now().await;
    tracing::warn!(request = n, "almost done");
    Err(StepFailed(n))
}

async fn work(Path(n): Path<u64>) -> StatusCode {
    match step(n).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::BAD_GATEWAY,
    }
}

#[monitored]
async fn charge() -> Result<(), StepFailed> {
    tracing::error!(
        amount_cents = 1299u64,
        user_email = "ada@example.com",
        "payment declined"
    );
    Err(StepFailed(0))
}

async fn pay() -> StatusCode {
    match charge().await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::PAYMENT_REQUIRED,
    }
}

/// A writer into a shared buffer, for `fmt`'s `MakeWriter`.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn trace_id_of(contexts: &std::collections::BTreeMap<String, Context>) -> String {
    match contexts.get("trace") {
        Some(Context::Trace(trace)) => trace.trace_id.to_string(),
        other => panic!("no trace context: {other:?}"),
    }
}

#[test]
fn log_lines_breadcrumbs_and_events_belong_to_their_request() {
    let (text, json) = (Captured::default(), Captured::default());
    let (text_writer, json_writer) = (text.clone(), json.clone());
    let subscriber = tracing_subscriber::registry()
        .with(vk_monitor::tracing::layer())
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(vk_monitor::tracing::LogFormat::Text)
                .with_writer(move || text_writer.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(vk_monitor::tracing::LogFormat::Json)
                .with_writer(move || json_writer.clone()),
        );
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (transactions, events) = runtime.block_on(async {
        let receiver = SentryReceiver::start().await;
        let monitor = receiver
            .monitor_builder("tracing-logs", "1.0.0")
            .install()
            .unwrap();
        tracing::info!("started, outside any trace");
        let app = Router::new()
            .route("/work/{n}", get(work))
            .route("/pay", get(pay))
            .layer(monitor.layer());
        let addr = vk_monitor_tests::serve(app).await;
        let requests: Vec<_> = (0..100u64)
            .map(|n| tokio::spawn(async move { http_get(addr, &format!("/work/{n}")).await }))
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap().status, 502);
        }
        assert_eq!(http_get(addr, "/pay").await.status, 402);
        let mut received = receiver.received();
        for _ in 0..50 {
            assert!(monitor.flush(Duration::from_secs(5)));
            received = receiver.received();
            if received.0.len() >= 101 && received.1.len() >= 101 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        received
    });

    // Each request's error event: its trace, and breadcrumbs of that request only.
    let mut trace_of_request = HashMap::new();
    for event in events
        .iter()
        .filter(|e| e.transaction.as_deref() == Some("GET /work/{n}"))
    {
        let crumbs: Vec<_> = event
            .breadcrumbs
            .values
            .iter()
            .filter(|crumb| crumb.ty == "log")
            .collect();
        assert_eq!(crumbs.len(), 2, "working and almost done: {crumbs:?}");
        let requests: Vec<_> = crumbs
            .iter()
            .map(|crumb| crumb.data["request"].clone())
            .collect();
        assert_eq!(
            requests[0], requests[1],
            "another request's breadcrumb: {crumbs:?}"
        );
        let n = requests[0].as_u64().unwrap();
        let trace_id = trace_id_of(&event.contexts);
        assert!(
            trace_of_request.insert(n, trace_id).is_none(),
            "two events for {n}"
        );
    }
    assert_eq!(trace_of_request.len(), 100, "one event per failing request");
    let transaction_traces: Vec<String> = transactions
        .iter()
        .map(|t| trace_id_of(&t.contexts))
        .collect();

    // The trace id printed on each request's lines is the one Sentry shows.
    let mut seen = 0;
    for line in text.lines().iter().filter(|line| line.contains("working")) {
        let trace_id = line
            .strip_prefix("trace_id=")
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("no trace id on {line:?}"));
        let n: u64 = line
            .split("request=")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("no request on {line:?}"));
        assert_eq!(trace_of_request[&n], trace_id, "{line}");
        assert!(transaction_traces.iter().any(|t| t == trace_id), "{line}");
        seen += 1;
    }
    assert_eq!(seen, 100);
    let outside = text
        .lines()
        .into_iter()
        .find(|line| line.contains("outside any trace"))
        .expect("the line logged outside a trace");
    assert!(
        !outside.contains("trace_id"),
        "no ids outside a trace: {outside}"
    );

    // JSON: one object per line, the same ids.
    let objects: Vec<serde_json::Value> = json
        .lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let working: Vec<_> = objects
        .iter()
        .filter(|o| o["message"] == "working")
        .collect();
    assert_eq!(working.len(), 100);
    for object in working {
        let n = object["request"].as_u64().unwrap();
        assert_eq!(
            object["trace_id"].as_str(),
            Some(trace_of_request[&n].as_str())
        );
        assert_eq!(object["span_id"].as_str().map(str::len), Some(16));
    }
    let started = objects
        .iter()
        .find(|o| o["message"] == "started, outside any trace")
        .unwrap();
    assert!(started.get("trace_id").is_none(), "{started}");

    // error! then Err in one monitored call: one event, the log's, with its fields scrubbed.
    let payments: Vec<_> = events
        .iter()
        .filter(|e| e.transaction.as_deref() == Some("GET /pay"))
        .collect();
    assert_eq!(payments.len(), 1, "{payments:?}");
    let payment = payments[0];
    assert_eq!(payment.message.as_deref(), Some("payment declined"));
    let Some(Context::Other(fields)) = payment.contexts.get("fields") else {
        panic!("no fields context: {:?}", payment.contexts)
    };
    assert_eq!(fields["amount_cents"], 1299);
    assert_eq!(
        fields["user_email"], "[Filtered]",
        "personal data without PII allowed"
    );
}
