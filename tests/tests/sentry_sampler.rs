//! The traces sampler where the caller's decision is not followed
//! (`SENTRY_FOLLOW_INCOMING_SAMPLING=false`): it sees that decision, and the trace's
//! `sample_rand` decides against the rate it returns; a monitored call with no request around
//! it is sampled by op and name, and so is a transaction the application starts itself with
//! `sentry::start_transaction`. Real transport, loopback receiver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use vk_monitor::http::MonitorLayer;
use vk_monitor::monitored;
use vk_monitor_tests::{SentryReceiver, raw_request, serve};

const TRACE: &str = "771a43a4192642f0b136d5159a501700";
const PARENT: &str = "b7ad6b7169203331";

async fn ok() -> &'static str {
    "ok"
}

#[monitored(op = "queue.task")]
async fn nightly_job() {}

#[monitored(op = "queue.task")]
async fn hourly_job() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sampler_decides_with_the_traces_sample_rand() {
    let receiver = SentryReceiver::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let monitor = receiver
        .monitor_builder("sentry-sampler", "1.0.0")
        .config(move |config| {
            config
                .traces_sample_rate(0.01)
                .follow_incoming_sampling(false)
                .traces_sampler(move |context| {
                    record.lock().unwrap().push((
                        context.name.to_owned(),
                        context.op.to_owned(),
                        context.route.map(str::to_owned),
                        context.parent_sampled,
                    ));
                    match (context.op, context.name) {
                        (_, "sentry_sampler::nightly_job" | "app.kept") => 1.0,
                        ("queue.task", _) => 0.0,
                        _ => 0.5,
                    }
                })
        })
        .install()
        .unwrap();
    let app = Router::new()
        .route("/calls", get(ok))
        .merge(monitor.router())
        .layer(MonitorLayer::new());
    let addr = serve(app).await;

    // The caller sampled both in, but this service decides: 0.1 < 0.5 is in, 0.9 is out.
    for rand in ["0.1", "0.9"] {
        let request = format!(
            "GET /calls HTTP/1.1\r\nHost: api.test\r\nsentry-trace: {TRACE}-{PARENT}-1\r\n\
             baggage: sentry-trace_id={TRACE},sentry-sample_rand={rand},sentry-sample_rate=1\r\n\
             Connection: close\r\n\r\n"
        );
        assert_eq!(raw_request(addr, request.as_bytes()).await.status, 200);
    }
    nightly_job().await;
    hourly_job().await;
    // The application's own: at the base rate of 0.01 the first would almost never be kept.
    for name in ["app.kept", "app.dropped"] {
        let context = sentry::TransactionContext::new(name, "queue.task");
        sentry::start_transaction(context).finish();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(monitor.flush(Duration::from_secs(5)));

    let seen = seen.lock().unwrap().clone();
    let request_context = (
        "GET /calls".to_owned(),
        "http.server".to_owned(),
        Some("/calls".to_owned()),
        Some(true),
    );
    assert_eq!(seen[..2], [request_context.clone(), request_context]);
    assert_eq!(
        seen[2..4],
        [
            (
                "sentry_sampler::nightly_job".into(),
                "queue.task".into(),
                None,
                None
            ),
            (
                "sentry_sampler::hourly_job".into(),
                "queue.task".into(),
                None,
                None
            ),
        ]
    );
    assert_eq!(
        seen[4..],
        [
            ("app.kept".into(), "queue.task".into(), None, None),
            ("app.dropped".into(), "queue.task".into(), None, None),
        ],
        "the application's transactions meet the sampler once each"
    );

    let headers: Vec<Value> = receiver
        .received_envelopes()
        .iter()
        .map(|(header, _)| serde_json::from_str::<Value>(header).unwrap()["trace"].clone())
        .collect();
    let rands: Vec<&str> = headers
        .iter()
        .filter(|trace| trace["trace_id"] == TRACE)
        .map(|trace| trace["sample_rand"].as_str().unwrap())
        .collect();
    assert_eq!(
        rands,
        ["0.1"],
        "the caller's sample_rand decided, its DSC kept"
    );
    let jobs: Vec<&Value> = headers
        .iter()
        .filter(|trace| trace["trace_id"] != TRACE && trace.get("transaction").is_some())
        .collect();
    assert_eq!(jobs.len(), 1, "{headers:?}");
    assert_eq!(jobs[0]["transaction"], "sentry_sampler::nightly_job");
    assert_eq!(jobs[0]["sample_rate"], "1", "the rate the sampler chose");
    let (transactions, _) = receiver.received();
    let apps: Vec<_> = transactions
        .iter()
        .filter_map(|t| t.name.as_deref())
        .filter(|name| name.starts_with("app."))
        .collect();
    assert_eq!(apps, ["app.kept"], "sampled by the sampler's rates");
}
