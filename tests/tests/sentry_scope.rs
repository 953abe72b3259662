//! Each request's Sentry scope, with the real transport against a loopback receiver and a real
//! axum server on one worker thread (so that every request and task shares the thread whose
//! state could leak):
//! - context set outside a request (in a spawned task) never reaches a later request's events;
//! - the events of an excluded route (a `#[monitored]` error inside a readiness check, probed
//!   again and again) are dropped, while the same error in a normal route is sent, carrying
//!   its request and transaction name.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use vk_monitor::{health_check, monitored};
use vk_monitor_tests::{SentryReceiver, http_get};

#[derive(Debug)]
struct DatabaseDown;

impl std::fmt::Display for DatabaseDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("database down")
    }
}

impl std::error::Error for DatabaseDown {}

#[monitored]
async fn ping_database(from: &'static str) -> Result<(), DatabaseDown> {
    let _ = from;
    Err(DatabaseDown)
}

#[health_check(kind = readiness)]
async fn database() -> Result<(), DatabaseDown> {
    ping_database("readiness").await
}

async fn failing_handler() -> StatusCode {
    match ping_database("handler").await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Sets a user, tags and extra data from a task outside any request, on the worker thread.
async fn leak_context() -> StatusCode {
    tokio::spawn(async {
        vk_monitor::context::set_user("leaked-user");
        vk_monitor::context::set_tag("leaked-tag", "yes");
        vk_monitor::context::set_extra("leaked-extra", 1);
    })
    .await
    .unwrap();
    StatusCode::OK
}

/// Sets a user inside the request: it is this request's only.
async fn own_user() -> StatusCode {
    vk_monitor::context::set_user("own-user");
    failing_handler().await
}

#[test]
fn request_scopes_start_clean_and_excluded_routes_send_no_events() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let receiver = SentryReceiver::start().await;
        let monitor = receiver
            .monitor_builder("sentry-scope", "1.0.0")
            .install()
            .expect("a valid configuration");
        let app = Router::new()
            .route("/leak", get(leak_context))
            .route("/orders", get(failing_handler))
            .route("/own", get(own_user))
            .merge(monitor.router())
            .layer(monitor.layer());
        let addr = vk_monitor_tests::serve(app).await;

        for _ in 0..5 {
            assert_eq!(http_get(addr, "/ready").await.status, 503);
        }
        assert_eq!(http_get(addr, "/leak").await.status, 200);
        assert_eq!(http_get(addr, "/orders").await.status, 503);
        assert_eq!(http_get(addr, "/own").await.status, 503);
        assert_eq!(http_get(addr, "/orders").await.status, 503);
        assert!(monitor.flush(Duration::from_secs(5)));
        // The server finishes a request just after the client read its response.
        let mut events = Vec::new();
        for _ in 0..50 {
            events = receiver.received().1;
            if events.len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            monitor.flush(Duration::from_secs(1));
        }

        let from: Vec<_> = events
            .iter()
            .map(|event| event.transaction.as_deref().unwrap_or("<none>"))
            .collect();
        assert_eq!(
            from,
            ["GET /orders", "GET /own", "GET /orders"],
            "one event per failing request, none from the 5 readiness probes"
        );
        for event in &events {
            let request = event
                .request
                .as_ref()
                .expect("the event carries its request");
            assert_eq!(request.method.as_deref(), Some("GET"));
            let user = event.user.as_ref().and_then(|user| user.id.as_deref());
            let own = event.transaction.as_deref() == Some("GET /own");
            assert_eq!(user, own.then_some("own-user"), "{event:?}");
            assert!(!event.tags.contains_key("leaked-tag"), "{:?}", event.tags);
            assert!(
                !event.extra.contains_key("leaked-extra"),
                "{:?}",
                event.extra
            );
        }
    });
}
