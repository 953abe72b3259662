//! The HTTP metrics layer on real axum servers over loopback: route templates, unmatched
//! requests, `layer` and `route_layer`, nested routers, streamed bodies, clients that leave and
//! handlers that panic.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vk_monitor::http::MonitorLayer;
use vk_monitor::monitored;
use vk_monitor_tests::{current, exporter, http_get, http_request, serve};

fn requests(method: &str, route: &str, status: &str) -> f64 {
    current(
        "http_requests_total",
        &[("method", method), ("route", route), ("status", status)],
    )
    .unwrap_or(0.0)
}

fn duration_count(method: &str, route: &str, status: &str) -> f64 {
    current(
        "http_request_duration_seconds_count",
        &[("method", method), ("route", route), ("status", status)],
    )
    .unwrap_or(0.0)
}

fn in_flight(method: &str, route: &str) -> f64 {
    current(
        "http_requests_in_flight",
        &[("method", method), ("route", route)],
    )
    .unwrap_or(0.0)
}

/// Polls until `condition` holds: the server finishes recording after the client has its
/// response, so the test waits for the effect instead of sleeping a guessed time.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..200 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}:\n{}", exporter().render());
}

#[tokio::test]
async fn layer_and_route_layer_label_route_templates() {
    exporter();
    let nested = Router::new()
        .route("/items/{item}", get(|| async { "item" }))
        .layer(MonitorLayer::new());
    let nested_route_layer = Router::new()
        .route("/things/{thing}", get(|| async { "thing" }))
        .route_layer(MonitorLayer::new());
    let app = Router::new()
        .route(
            "/calls/{id}",
            get(|| async { "call" }).post(|| async { "created" }),
        )
        .nest("/api", nested)
        .nest("/v2", nested_route_layer)
        .merge(exporter().router())
        .layer(MonitorLayer::new());
    let addr = serve(app).await;

    for id in 1..=3 {
        assert_eq!(http_get(addr, &format!("/calls/{id}")).await.status, 200);
    }
    assert_eq!(http_request(addr, "POST", "/calls/9", "").await.status, 200);
    assert_eq!(http_request(addr, "PUT", "/calls/9", "").await.status, 405);
    assert_eq!(
        http_request(addr, "PURGE", "/calls/9", "").await.status,
        405
    );
    assert_eq!(http_get(addr, "/api/items/a").await.status, 200);
    assert_eq!(http_get(addr, "/v2/things/b").await.status, 200);
    for path in ["/wp-login.php", "/.env", "/calls/1/unknown?x=1"] {
        assert_eq!(http_get(addr, path).await.status, 404);
    }
    assert_eq!(http_get(addr, "/metrics").await.status, 200);

    eventually("every request is recorded", || {
        requests("GET", "<unmatched>", "404") == 3.0
    })
    .await;
    assert_eq!(requests("GET", "/calls/{id}", "200"), 3.0);
    assert_eq!(duration_count("GET", "/calls/{id}", "200"), 3.0);
    assert_eq!(requests("POST", "/calls/{id}", "200"), 1.0);
    assert_eq!(requests("PUT", "/calls/{id}", "405"), 1.0);
    assert_eq!(
        requests("OTHER", "/calls/{id}", "405"),
        1.0,
        "unknown methods are OTHER"
    );
    // A layer inside a nested router and the one outside both see the full template.
    assert_eq!(
        requests("GET", "/api/items/{item}", "200"),
        2.0,
        "inner and outer layer"
    );
    assert_eq!(
        requests("GET", "/v2/things/{thing}", "200"),
        2.0,
        "route_layer and outer layer"
    );
    assert_eq!(
        requests("GET", "/metrics", "200"),
        0.0,
        "monitoring routes are excluded"
    );
    let text = exporter().render();
    for raw in ["wp-login", "/.env", "/calls/1\""] {
        assert!(
            !text.contains(raw),
            "a raw path became a label value: {raw}"
        );
    }
    assert_eq!(in_flight("GET", "/calls/{id}"), 0.0);
}

#[tokio::test]
async fn route_layer_alone_skips_unmatched_requests() {
    exporter();
    let app = Router::new()
        .route("/only-matched/{id}", post(|| async { "ok" }))
        .route_layer(MonitorLayer::new().exclude("/only-matched/skip"))
        .route("/only-matched/skip", get(|| async { "skipped" }));
    let addr = serve(app).await;
    assert_eq!(
        http_request(addr, "POST", "/only-matched/1", "{}")
            .await
            .status,
        200
    );
    assert_eq!(http_get(addr, "/only-matched/skip").await.status, 200);
    assert_eq!(http_get(addr, "/no-such-route-here").await.status, 404);
    eventually("the matched request is recorded", || {
        requests("POST", "/only-matched/{id}", "200") == 1.0
    })
    .await;
    assert!(!exporter().render().contains("no-such-route-here"));
}

#[tokio::test]
async fn streamed_bodies_are_timed_to_the_last_byte() {
    exporter();
    let app = Router::new()
        .route(
            "/stream",
            get(|| async {
                let chunks = futures::stream::unfold(0u8, |n| async move {
                    if n == 3 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((Ok::<_, std::io::Error>(vec![b'x'; 16]), n + 1))
                });
                Body::from_stream(chunks)
            }),
        )
        .layer(MonitorLayer::new());
    let addr = serve(app).await;
    let response = http_get(addr, "/stream").await;
    assert_eq!((response.status, response.body.len()), (200, 48));
    eventually("the stream is recorded", || {
        duration_count("GET", "/stream", "200") == 1.0
    })
    .await;
    let seconds = current(
        "http_request_duration_seconds_sum",
        &[("method", "GET"), ("route", "/stream"), ("status", "200")],
    )
    .unwrap();
    assert!(
        seconds >= 0.3,
        "timed to the end of the body, not the head: {seconds}s"
    );
    assert_eq!(in_flight("GET", "/stream"), 0.0);
}

#[tokio::test]
async fn a_client_that_leaves_is_counted_and_leaves_in_flight() {
    exporter();
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        )
        .layer(MonitorLayer::new());
    let addr = serve(app).await;
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    eventually("the request is in flight", || {
        in_flight("GET", "/slow") == 1.0
    })
    .await;
    drop(client);
    eventually("the abandoned request left in-flight", || {
        in_flight("GET", "/slow") == 0.0
    })
    .await;
    assert_eq!(requests("GET", "/slow", "499"), 1.0);
}

#[tokio::test]
async fn a_client_that_leaves_mid_body_is_counted_as_499_not_the_heads_status() {
    exporter();
    let app = Router::new()
        .route(
            "/feed",
            get(|| async {
                // One chunk, then nothing for a long while: an event stream between events.
                let first = futures::stream::once(async {
                    Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"event: 1\n\n"))
                });
                Body::from_stream(first.chain(futures::stream::pending()))
            }),
        )
        .route(
            "/empty",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route(
            "/download",
            get(|| async {
                // A stream of known length, as a file server sends: hyper stops at the last
                // byte without polling the stream for its end.
                let chunks = futures::stream::iter([b"abc".as_slice(), b"def".as_slice()])
                    .map(|chunk| Ok::<_, std::io::Error>(axum::body::Bytes::from_static(chunk)));
                let never_ends = chunks.chain(futures::stream::pending());
                axum::http::Response::builder()
                    .header("content-length", "6")
                    .body(Body::from_stream(never_ends))
                    .unwrap()
            }),
        )
        .layer(MonitorLayer::new());
    let addr = serve(app).await;
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /feed HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    while !String::from_utf8_lossy(&received).contains("event: 1") {
        let read = client.read(&mut buffer).await.unwrap();
        assert!(read > 0, "the server closed before the first chunk");
        received.extend_from_slice(&buffer[..read]);
    }
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"));
    drop(client);
    eventually("the abandoned stream left in-flight", || {
        in_flight("GET", "/feed") == 0.0
    })
    .await;
    assert_eq!(requests("GET", "/feed", "499"), 1.0);
    assert_eq!(
        requests("GET", "/feed", "200"),
        0.0,
        "not the head's status"
    );
    assert_eq!(duration_count("GET", "/feed", "499"), 1.0);

    // A download of known length read to its last byte is complete.
    let download = http_get(addr, "/download").await;
    assert_eq!((download.status, download.body.as_str()), (200, "abcdef"));
    eventually("the download is recorded", || {
        requests("GET", "/download", "200") == 1.0
    })
    .await;
    assert_eq!(requests("GET", "/download", "499"), 0.0);

    // Complete responses with no body to read are not abandoned: a 204, and any HEAD.
    assert_eq!(http_get(addr, "/empty").await.status, 204);
    assert_eq!(http_request(addr, "HEAD", "/feed", "").await.status, 200);
    eventually("both are recorded", || {
        requests("GET", "/empty", "204") == 1.0 && requests("HEAD", "/feed", "200") == 1.0
    })
    .await;
}

#[monitored]
async fn crashes() -> &'static str {
    tokio::task::yield_now().await;
    panic!("a bug in the handler")
}

#[tokio::test]
async fn a_panicking_handler_is_answered_500_and_the_connection_kept() {
    exporter();
    let app = Router::new()
        .route("/crashes", get(crashes))
        .route("/after-crash", get(|| async { "still serving" }))
        .layer(MonitorLayer::new());
    let addr = serve(app).await;
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /crashes HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    // An empty body: the response ends with its head.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        let read = client.read(&mut byte).await.unwrap();
        assert_eq!(read, 1, "the connection was closed after {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 500 internal server error\r\n"),
        "{head}"
    );
    assert!(head.contains("content-length: 0\r\n"), "{head}");

    // The same connection serves the next request.
    client
        .write_all(b"GET /after-crash HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut next = String::new();
    client.read_to_string(&mut next).await.unwrap();
    assert!(next.starts_with("HTTP/1.1 200 OK\r\n"), "{next}");
    assert!(next.ends_with("still serving"), "{next}");

    eventually("the panic is recorded as a 500", || {
        requests("GET", "/crashes", "500") == 1.0
    })
    .await;
    assert_eq!(requests("GET", "/crashes", "499"), 0.0, "not a client gone");
    assert_eq!(duration_count("GET", "/crashes", "500"), 1.0);
    assert_eq!(in_flight("GET", "/crashes"), 0.0);
    let calls = |result| {
        current(
            "function_calls_total",
            &[("function", "crashes"), ("result", result)],
        )
    };
    assert_eq!(
        calls("panic"),
        Some(1.0),
        "the handler still counts its panic"
    );
    assert_eq!(calls("cancelled"), Some(0.0));
}
