//! `GET /metrics` answers in the format and encoding the scraper asks for: OpenMetrics for
//! Prometheus's `Accept` header, text 0.0.4 without one or when it weighs text higher, and a
//! gzip body for `Accept-Encoding: gzip`; a real axum server on loopback, read off the wire.

use std::io::Read;

use axum::Router;
use axum::routing::get;
use vk_monitor::metrics::{CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE};
use vk_monitor::monitored;
use vk_monitor_tests::{RawResponse, exporter, raw_request, serve};

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[monitored]
async fn ping() -> &'static str {
    "pong"
}

async fn scrape(addr: std::net::SocketAddr, headers: &str) -> RawResponse {
    let request =
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    let response = raw_request(addr, request.as_bytes()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a gzip body of UTF-8 text");
    text
}

async fn server() -> std::net::SocketAddr {
    let app = Router::new()
        .route("/ping", get(ping))
        .merge(exporter().router());
    let addr = serve(app).await;
    vk_monitor_tests::http_get(addr, "/ping").await;
    addr
}

/// The exposition is OpenMetrics: counters named without `_total`, `# EOF` last.
fn assert_openmetrics(body: &str) {
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(body.contains("# TYPE function_calls counter\n"), "{body}");
    assert!(
        body.contains("# UNIT function_call_duration_seconds seconds\n"),
        "{body}"
    );
}

/// The exposition is text 0.0.4: counters named with `_total`, no OpenMetrics metadata.
fn assert_text(body: &str) {
    assert!(
        body.contains("# TYPE function_calls_total counter\n"),
        "{body}"
    );
    assert!(
        !body.contains("# EOF") && !body.contains("# UNIT"),
        "{body}"
    );
}

#[tokio::test]
async fn prometheus_gets_openmetrics_and_everyone_else_text() {
    let addr = server().await;

    let prometheus = scrape(addr, &format!("Accept: {PROMETHEUS_ACCEPT}\r\n")).await;
    assert_eq!(
        prometheus.header("content-type"),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
    assert_openmetrics(&prometheus.body);

    for headers in [
        String::new(),
        "Accept: */*\r\n".to_owned(),
        "Accept: text/plain;version=0.0.4\r\n".to_owned(),
        // Named, but weighed lower than text.
        "Accept: application/openmetrics-text;q=0.1,text/plain;q=0.9\r\n".to_owned(),
    ] {
        let text = scrape(addr, &headers).await;
        assert_eq!(text.header("content-type"), Some(CONTENT_TYPE), "{headers}");
        assert_eq!(text.header("content-encoding"), None, "{headers}");
        assert_eq!(text.header("vary"), Some("Accept, Accept-Encoding"));
        assert_text(&text.body);
    }

    let weighed_higher = scrape(
        addr,
        "Accept: text/plain;q=0.3, application/openmetrics-text;q=0.7\r\n",
    )
    .await;
    assert_eq!(
        weighed_higher.header("content-type"),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
}

#[tokio::test]
async fn gzip_when_asked_in_either_format() {
    let addr = server().await;

    let text = scrape(addr, "Accept-Encoding: gzip\r\n").await;
    assert_eq!(text.header("content-encoding"), Some("gzip"));
    assert_eq!(text.header("vary"), Some("Accept, Accept-Encoding"));
    assert_eq!(text.header("content-type"), Some(CONTENT_TYPE));
    assert_text(&gunzip(&text.bytes));

    let prometheus = scrape(
        addr,
        &format!("Accept: {PROMETHEUS_ACCEPT}\r\nAccept-Encoding: gzip\r\n"),
    )
    .await;
    assert_eq!(prometheus.header("content-encoding"), Some("gzip"));
    let body = gunzip(&prometheus.bytes);
    assert_openmetrics(&body);
    assert!(
        prometheus.bytes.len() * 4 < body.len(),
        "{} bytes gzipped from {}",
        prometheus.bytes.len(),
        body.len()
    );

    let refused = scrape(addr, "Accept-Encoding: gzip;q=0, identity\r\n").await;
    assert_eq!(refused.header("content-encoding"), None);
    assert_text(&refused.body);
}
