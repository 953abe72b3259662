//! The Sentry client configured by vk-monitor, with the SDK's real HTTP transport, against a
//! loopback receiver: events carry the release and environment, and a flush never hangs on an
//! unreachable or silent endpoint.

use std::time::{Duration, Instant};

use axum::Router;
use vk_monitor::Monitor;
use vk_monitor_tests::SentryReceiver;

fn monitor_for(dsn: String) -> vk_monitor::Monitor {
    Monitor::builder("sentry-test", "1.2.3")
        .config(|config| {
            config
                .sentry_dsn(dsn)
                .environment("loopback")
                .enable_metrics(false)
        })
        .install()
        .expect("a valid configuration")
}

#[test]
fn events_reach_the_endpoint_and_flushing_never_hangs() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(SentryReceiver::start());

    let monitor = monitor_for(receiver.dsn.clone());
    assert!(monitor.sentry_enabled());
    sentry::Hub::main().capture_message("checkout failed", sentry::Level::Error);
    assert!(
        monitor.flush(Duration::from_secs(5)),
        "the envelope was sent"
    );
    drop(monitor);

    let (_, events) = receiver.received();
    assert_eq!(
        events.len(),
        1,
        "{} envelopes received",
        receiver.envelopes()
    );
    let event = &events[0];
    assert_eq!(event.message.as_deref(), Some("checkout failed"));
    assert_eq!(event.release.as_deref(), Some("sentry-test@1.2.3"));
    assert_eq!(event.environment.as_deref(), Some("loopback"));

    // Nothing listens on this port: sending fails, and flushing gives up within its bound.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let monitor = monitor_for(format!("http://public@{closed}/42"));
    sentry::Hub::main().capture_message("nobody hears this", sentry::Level::Error);
    let start = Instant::now();
    monitor.flush(Duration::from_millis(500));
    drop(monitor);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "flush and shutdown took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn metrics_off_serves_no_metrics_route_and_keeps_health() {
    let monitor = Monitor::builder("metrics-off", "0.1.0")
        .config(|config| config.enable_metrics(false))
        .install()
        .unwrap();
    assert!(monitor.exporter().is_none());
    let app: Router = monitor.router();
    let addr = vk_monitor_tests::serve(app).await;
    assert_eq!(
        vk_monitor_tests::http_get(addr, "/metrics").await.status,
        404
    );
    let health = vk_monitor_tests::http_get(addr, "/health").await;
    assert_eq!(health.status, 200);
    // Without an exporter the health endpoints still name the service (the monitors of this
    // process are named sentry-test and metrics-off; whichever came first).
    let body: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert!(
        matches!(
            body["serviceId"].as_str(),
            Some("metrics-off" | "sentry-test")
        ),
        "{body}"
    );
}
