//! The quick start, end to end: a real axum server on a loopback port, one call of a monitored
//! handler, and `GET /metrics` showing the four families with the versioned content type.

use axum::Router;
use axum::routing::get;
use vk_monitor::monitored;
use vk_monitor_tests::{exporter, http_get, value};

#[monitored]
async fn hello() -> &'static str {
    "hello"
}

#[tokio::test]
async fn one_call_shows_every_family_on_the_metrics_route() {
    let app = Router::new()
        .route("/hello", get(hello))
        .merge(exporter().router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let hello = http_get(addr, "/hello").await;
    assert_eq!((hello.status, hello.body.as_str()), (200, "hello"));

    let metrics = http_get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = &metrics.body;
    let function = [("function", "hello"), ("module", "metrics_route")];
    let with = |extra: (&'static str, &'static str)| {
        let mut labels = function.to_vec();
        labels.push(extra);
        labels
    };
    assert_eq!(
        value(text, "function_calls_total", &with(("result", "ok"))),
        Some(1.0)
    );
    // Known label values start at zero, so rates and alerts see 0 instead of no data.
    assert_eq!(
        value(text, "function_calls_total", &with(("result", "error"))),
        Some(0.0)
    );
    assert_eq!(
        value(text, "function_errors_total", &with(("kind", "error"))),
        Some(0.0)
    );
    assert_eq!(
        value(
            text,
            "function_call_duration_seconds_count",
            &with(("result", "ok"))
        ),
        Some(1.0)
    );
    assert_eq!(
        value(text, "function_calls_in_flight", &function),
        Some(0.0)
    );

    let missing = http_get(addr, "/nothing-here").await;
    assert_eq!(
        missing.status, 404,
        "the metrics router serves /metrics only"
    );
    server.abort();
}
