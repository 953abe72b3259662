//! Outgoing calls through `vk_monitor::client`, both front ends, against real axum servers on
//! loopback: the `http_client_*` series in the rendered exposition count every call exactly,
//! answered, failed (refused connections, timeouts) and dropped (cancelled), under 10,000
//! calls in flight at once; in-flight gauges return to 0; hosts past the limit are `other`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_layer::Layer;
use tower_service::Service;
use vk_monitor::client::{ClientLayer, ClientMiddleware, PathTemplate};
use vk_monitor_tests::exporter;
use vk_monitor_tests::load::free_port;

/// A server answering `/ok` with 200, `/unavailable` with 503 and `/slow` after 10 s, with a
/// listen backlog deep enough for thousands of simultaneous connects.
async fn target() -> SocketAddr {
    let app = Router::new()
        .route("/ok/{id}", get(|| async { "ok" }))
        .route(
            "/unavailable",
            get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        );
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(4096).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn count(text: &str, name: &str, host: &str, label: (&str, &str)) -> u64 {
    let labels = [("method", "GET"), ("host", host), label];
    vk_monitor_tests::value(text, name, &labels).unwrap_or(0.0) as u64
}

/// What one host's series must say: per status, and per error kind.
fn assert_counts(host: &str, statuses: &[(&str, u64)], kinds: &[(&str, u64)]) {
    let text = exporter().render();
    for &(status, expected) in statuses {
        for family in [
            "http_client_requests_total",
            "http_client_request_duration_seconds_count",
        ] {
            assert_eq!(
                count(&text, family, host, ("status", status)),
                expected,
                "{family} status={status} host={host}"
            );
        }
        let bucket = [
            ("method", "GET"),
            ("host", host),
            ("status", status),
            ("le", "+Inf"),
        ];
        let inf = vk_monitor_tests::value(
            &text,
            "http_client_request_duration_seconds_bucket",
            &bucket,
        );
        assert_eq!(
            inf.unwrap_or(0.0) as u64,
            expected,
            "+Inf bucket status={status}"
        );
    }
    for &(kind, expected) in kinds {
        assert_eq!(
            count(&text, "http_client_errors_total", host, ("kind", kind)),
            expected,
            "http_client_errors_total kind={kind} host={host}"
        );
    }
    let in_flight = [("method", "GET"), ("host", host)];
    assert_eq!(
        vk_monitor_tests::value(&text, "http_client_requests_in_flight", &in_flight),
        Some(0.0),
        "in flight after the run, host={host}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_calls_are_counted_exactly_with_10000_in_flight() {
    exporter();
    let addr = target().await;
    let refused = free_port();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::new())
        .build();
    // 3,000 answered 200, 2,000 answered 503, 3,000 refused, 1,000 timed out by reqwest,
    // 1,000 dropped by a timeout around the call: all sent at once.
    let (ok, unavailable, refusals, timeouts, cancels) = (3000, 2000, 3000, 1000, 1000);
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..ok + unavailable + refusals + timeouts + cancels {
        let client = client.clone();
        calls.spawn(async move {
            if i < ok {
                let url = format!("http://{addr}/ok/{i}?secret=1");
                let sent = client
                    .get(url)
                    .with_extension(PathTemplate::new("/ok/{id}"))
                    .send();
                assert_eq!(sent.await.unwrap().status(), 200);
            } else if i < ok + unavailable {
                let sent = client.get(format!("http://{addr}/unavailable")).send();
                assert_eq!(sent.await.unwrap().status(), 503);
            } else if i < ok + unavailable + refusals {
                let error = client.get(format!("http://{refused}/")).send().await;
                assert!(error.unwrap_err().is_connect());
            } else if i < ok + unavailable + refusals + timeouts {
                let sent = client
                    .get(format!("http://{addr}/slow"))
                    .timeout(Duration::from_millis(500))
                    .send();
                assert!(sent.await.unwrap_err().is_timeout());
            } else {
                let sent = client.get(format!("http://{addr}/slow")).send();
                let dropped = tokio::time::timeout(Duration::from_millis(500), sent).await;
                assert!(dropped.is_err(), "the slow route answered");
            }
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }

    assert_counts(
        &addr.to_string(),
        &[
            ("200", ok),
            ("503", unavailable),
            ("error", timeouts),
            ("cancelled", cancels),
        ],
        &[("timeout", timeouts), ("connect", 0)],
    );
    assert_counts(
        &refused.to_string(),
        &[("error", refusals)],
        &[("connect", refusals)],
    );
}

/// The tower front end around hyper's client: the layer's own timeout is `kind="timeout"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_calls_are_counted_exactly() {
    exporter();
    let addr = target().await;
    let refused = free_port();
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let layer = ClientLayer::new().timeout(Duration::from_secs(3));
    let client = layer.layer(hyper);
    let (ok, refusals, timeouts, cancels) = (400, 300, 200, 100);
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..ok + refusals + timeouts + cancels {
        let mut client = client.clone();
        calls.spawn(async move {
            let uri = if i < ok {
                format!("http://{addr}/ok/{i}")
            } else if i < ok + refusals {
                format!("http://{refused}/")
            } else {
                format!("http://{addr}/slow")
            };
            let request = http::Request::get(uri).body(Empty::new()).unwrap();
            std::future::poll_fn(|cx| client.poll_ready(cx))
                .await
                .unwrap();
            let sent = client.call(request);
            if i < ok {
                assert_eq!(sent.await.unwrap().status(), 200);
            } else if i < ok + refusals + timeouts {
                assert!(sent.await.is_err());
            } else {
                // Dropped before the layer's timeout: cancelled, not an error.
                let dropped = tokio::time::timeout(Duration::from_millis(50), sent).await;
                assert!(dropped.is_err());
            }
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
    assert_counts(
        &addr.to_string(),
        &[("200", ok), ("error", timeouts), ("cancelled", cancels)],
        &[("timeout", timeouts), ("connect", 0), ("other", 0)],
    );
    assert_counts(
        &refused.to_string(),
        &[("error", refusals)],
        &[("connect", refusals)],
    );
}

/// Past its limit, a layer labels new hosts `other`; the hosts it named keep their names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_past_the_limit_are_other() {
    exporter();
    let named = target().await;
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut client = ClientLayer::new().max_hosts(1).layer(hyper);
    let mut get = async |addr: SocketAddr| {
        let request = http::Request::get(format!("http://{addr}/ok/1"))
            .body(Empty::new())
            .unwrap();
        std::future::poll_fn(|cx| client.poll_ready(cx))
            .await
            .unwrap();
        assert_eq!(client.call(request).await.unwrap().status(), 200);
    };
    get(named).await;
    let others = [target().await, target().await, target().await];
    for addr in others {
        get(addr).await;
    }
    get(named).await;
    let text = exporter().render();
    assert_eq!(
        count(
            &text,
            "http_client_requests_total",
            &named.to_string(),
            ("status", "200")
        ),
        2
    );
    for addr in others {
        assert!(
            !text.contains(&format!("host=\"{addr}\"")),
            "{addr} was named"
        );
    }
    // The same series in OpenMetrics, with the histogram's type.
    let openmetrics = exporter().render_openmetrics();
    let line =
        format!(r#"http_client_requests_total{{method="GET",host="{named}",status="200"}} 2"#);
    assert!(openmetrics.contains(&line), "{line} not in:\n{openmetrics}");
    assert!(openmetrics.contains("# TYPE http_client_request_duration_seconds histogram"));
    // Other tests' layers may add to `other` at the same time; at least these three are there.
    assert!(
        count(
            &text,
            "http_client_requests_total",
            "other",
            ("status", "200")
        ) >= 3
    );
}
