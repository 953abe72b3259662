//! The HTTP layer and Sentry, through the SDK's real transport to a loopback receiver: one
//! transaction per sampled request, continuing incoming traces, handler and database spans
//! inside it, one event per failed request, monitoring routes silent, no personal data.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use sentry::protocol::{Context, Transaction};
use vk_monitor::http::MonitorLayer;
use vk_monitor::monitored;
use vk_monitor_tests::{SentryReceiver, raw_request, serve};

const TRACE: &str = "771a43a4192642f0b136d5159a501700";
const PARENT: &str = "b7ad6b7169203331";

#[monitored(op = "db.query")]
async fn load_order(id: u32) -> Result<u32, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(id)
}

#[monitored]
async fn get_order(Path(id): Path<u32>) -> Result<String, StatusCode> {
    load_order(id)
        .await
        .map(|id| format!("order {id}"))
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

#[monitored]
async fn unavailable() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

#[monitored(tags(component = "billing"))]
async fn charge() -> Result<&'static str, (StatusCode, &'static str)> {
    vk_monitor::context::set_tag("tenant", "acme");
    vk_monitor::context::set_user_details("user-42", Some("someone@example.com".into()), None);
    Err((StatusCode::BAD_GATEWAY, "card declined"))
}

#[monitored]
async fn crashes() -> &'static str {
    tokio::task::yield_now().await;
    panic!("order book corrupted")
}

/// Not monitored: the layer is the only one to see its 500.
async fn broken() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// Sends a GET with extra header lines.
async fn get_with(addr: SocketAddr, path: &str, headers: &str) -> u16 {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: api.test\r\n{headers}Connection: close\r\n\r\n");
    raw_request(addr, request.as_bytes()).await.status
}

fn trace_of(
    contexts: &std::collections::BTreeMap<String, Context>,
) -> &sentry::protocol::TraceContext {
    match contexts.get("trace") {
        Some(Context::Trace(trace)) => trace,
        other => panic!("no trace context: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_become_transactions_with_their_spans_and_one_event_per_failure() {
    let receiver = SentryReceiver::start().await;
    let monitor = receiver
        .monitor_builder("sentry-http", "1.0.0")
        .install()
        .unwrap();
    let app = Router::new()
        .route("/orders/{id}", get(get_order))
        .route("/unavailable", get(unavailable))
        .route("/broken", get(broken))
        .route("/charge", get(charge))
        .route("/crashes", get(crashes))
        .merge(monitor.router())
        .layer(MonitorLayer::new());
    let addr = serve(app).await;

    let traceparent = format!("traceparent: 00-{TRACE}-{PARENT}-01\r\n");
    assert_eq!(get_with(addr, "/orders/7", &traceparent).await, 200);
    let declined = format!("sentry-trace: {TRACE}-{PARENT}-0\r\n");
    assert_eq!(get_with(addr, "/orders/8", &declined).await, 200);
    let hostile = format!(
        "sentry-trace: garbage\r\ntraceparent: 00-{}-zz-01\r\nAuthorization: Bearer hunter2\r\n\
         Cookie: session=s3cr3t\r\nX-Forwarded-For: 203.0.113.9\r\n",
        "A".repeat(4000)
    );
    assert_eq!(
        get_with(addr, "/orders/9?token=abc&page=2", &hostile).await,
        200
    );
    assert_eq!(get_with(addr, "/broken", "").await, 500);
    assert_eq!(get_with(addr, "/unavailable", "").await, 503);
    assert_eq!(get_with(addr, "/charge", "").await, 502);
    assert_eq!(get_with(addr, "/crashes", "").await, 500);
    assert_eq!(get_with(addr, "/health", "").await, 200);
    // The layer finishes a transaction when the response body ends, just after the client has
    // it; give the server that moment before flushing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(monitor.flush(Duration::from_secs(5)));

    let (transactions, events) = receiver.received();
    let named = |name: &str| {
        transactions
            .iter()
            .filter(|t| t.name.as_deref() == Some(name))
            .collect::<Vec<_>>()
    };

    let orders = named("GET /orders/{id}");
    assert_eq!(
        orders.len(),
        2,
        "/orders/8 declined by its caller; names use the template"
    );
    let continued = orders
        .iter()
        .find(|t| trace_of(&t.contexts).trace_id.to_string() == TRACE)
        .unwrap();
    let trace = trace_of(&continued.contexts);
    assert_eq!(
        trace.parent_span_id.map(|id| id.to_string()).as_deref(),
        Some(PARENT)
    );
    assert_eq!(trace.op.as_deref(), Some("http.server"));
    let handler = continued
        .spans
        .iter()
        .find(|s| s.description.as_deref() == Some("sentry_http::get_order"))
        .unwrap();
    let query = continued
        .spans
        .iter()
        .find(|s| s.op.as_deref() == Some("db.query"))
        .unwrap();
    assert_eq!(
        handler.parent_span_id,
        Some(trace.span_id),
        "handler span under the request"
    );
    assert_eq!(
        query.parent_span_id,
        Some(handler.span_id),
        "query span under the handler"
    );

    let fresh = orders
        .iter()
        .find(|t| trace_of(&t.contexts).trace_id.to_string() != TRACE)
        .unwrap();
    let request = fresh.request.as_ref().expect("request data");
    assert_eq!(
        request.query_string.as_deref(),
        Some("token=[Filtered]&page=[Filtered]"),
        "parameter names only, by default"
    );
    let serialized =
        serde_json::to_string(&transactions).unwrap() + &serde_json::to_string(&events).unwrap();
    for secret in [
        "hunter2",
        "s3cr3t",
        "203.0.113.9",
        "abc&",
        "someone@example.com",
    ] {
        assert!(!serialized.contains(secret), "{secret} reached Sentry");
    }

    assert!(
        named("GET /health").is_empty(),
        "monitoring routes are never traced"
    );
    let broken = named("GET /broken");
    assert_eq!(
        trace_of(&broken[0].contexts)
            .status
            .map(|s| s.to_string())
            .as_deref(),
        Some("internal_error")
    );
    let in_trace = |transaction: &Transaction| {
        let id = trace_of(&transaction.contexts).trace_id;
        events
            .iter()
            .filter(|e| e.contexts.contains_key("trace") && trace_of(&e.contexts).trace_id == id)
            .count()
    };
    assert_eq!(
        in_trace(broken[0]),
        1,
        "the layer captures a 5xx nobody else reported"
    );
    let unavailable = named("GET /unavailable");
    assert_eq!(
        in_trace(unavailable[0]),
        1,
        "a 5xx already reported by its handler is not captured twice"
    );
    assert_eq!(in_trace(continued), 0);
    // Events get their request's data and transaction name when they are sent, those captured
    // outside the handler's polls too: the layer's own 5xx event (as the response ends) and
    // the panic event (in the panic hook).
    for (name, path) in [("GET /broken", "/broken"), ("GET /crashes", "/crashes")] {
        let described: Vec<_> = events
            .iter()
            .filter(|event| event.transaction.as_deref() == Some(name))
            .collect();
        assert_eq!(described.len(), 1, "{name}: {events:?}");
        let url = described[0].request.as_ref().and_then(|r| r.url.as_ref());
        assert_eq!(url.map(|url| url.path()), Some(path), "{name}");
    }

    let crashed = named("GET /crashes");
    assert_eq!(
        trace_of(&crashed[0].contexts)
            .status
            .map(|s| s.to_string())
            .as_deref(),
        Some("internal_error"),
        "the layer answered the panic with a 500"
    );
    let panics: Vec<_> = events
        .iter()
        .flat_map(|e| e.exception.values.iter())
        .filter(|exception| exception.ty == "panic")
        .collect();
    assert_eq!(panics.len(), 1, "the panic hook saw the panic");
    assert_eq!(panics[0].value.as_deref(), Some("order book corrupted"));
    assert_eq!(
        in_trace(crashed[0]),
        1,
        "the panic event is in its request's trace, and the 500 is not captured a second time"
    );

    let charge = events
        .iter()
        .find(|e| e.tags.get("function").map(String::as_str) == Some("charge"))
        .expect("the failed charge is captured");
    assert_eq!(
        charge.tags.get("component").map(String::as_str),
        Some("billing"),
        "static tags"
    );
    assert_eq!(
        charge.tags.get("tenant").map(String::as_str),
        Some("acme"),
        "scope tags"
    );
    let user = charge.user.as_ref().expect("the user set in the handler");
    assert_eq!(
        (user.id.as_deref(), user.email.as_deref()),
        (Some("user-42"), None)
    );
    let charge_span = named("GET /charge")[0]
        .spans
        .iter()
        .find(|span| span.description.as_deref() == Some("sentry_http::charge"))
        .expect("the handler's span");
    assert_eq!(
        charge_span.tags.get("component").map(String::as_str),
        Some("billing")
    );
    assert!(
        events
            .iter()
            .filter(|e| e.tags.get("function").map(String::as_str) != Some("charge"))
            .all(|e| !e.tags.contains_key("tenant")),
        "each request has its own scope"
    );
}
