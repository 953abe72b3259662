//! Sentry's per-category rate limits (`X-Sentry-Rate-Limits`): with the transaction quota
//! exhausted, transactions stop being sent and are counted as dropped, while error events keep
//! reaching Sentry. A process of its own: the Sentry client is process-wide.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use sentry::protocol::EnvelopeItem;
use vk_monitor::{Monitor, monitored};
use vk_monitor_tests::{current, exporter};

#[monitored]
fn failing_refund(attempt: u32) -> Result<(), std::io::Error> {
    Err(std::io::Error::other(format!("refund {attempt} declined")))
}

fn finish_a_transaction() {
    let mut context = sentry::TransactionContext::new("nightly-report", "task");
    context.set_sampled(Some(true));
    sentry::start_transaction(context).finish();
}

#[derive(Default)]
struct Received {
    transactions: usize,
    errors: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_transaction_quota_stops_transactions_only() {
    exporter();
    let received = Arc::new(Mutex::new(Received::default()));
    let seen = Arc::clone(&received);
    // Sentry with the organisation's transaction quota used up: transactions get a 429 naming
    // their category, everything else is accepted.
    let app = Router::new().route(
        "/api/42/envelope/",
        post(move |body: Bytes| async move {
            let envelope = sentry::Envelope::from_slice(&body).expect("a valid envelope");
            let transaction = envelope
                .items()
                .any(|item| matches!(item, EnvelopeItem::Transaction(_)));
            let mut seen = seen.lock().unwrap();
            if transaction {
                seen.transactions += 1;
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("x-sentry-rate-limits", "60:transaction:organization:quota")],
                )
            } else {
                seen.errors += usize::from(
                    envelope
                        .items()
                        .any(|item| matches!(item, EnvelopeItem::Event(_))),
                );
                (StatusCode::OK, [("x-sentry-rate-limits", "")])
            }
        }),
    );
    let addr = vk_monitor_tests::serve(app).await;

    let monitor = Monitor::builder("sentry-rate-limits", "0.0.1")
        .config(|config| {
            config
                .sentry_dsn(format!("http://public@{addr}/42"))
                // Only the test's own transactions, which are sampled explicitly: a monitored
                // call outside a request must not become one at random. Not 0, which turns
                // tracing off, explicit decisions included.
                .traces_sample_rate(1e-9)
                .enable_metrics(false)
        })
        .install()
        .unwrap();
    let rate_limited = || {
        current(
            "sentry_envelopes_dropped_total",
            &[("reason", "rate_limited")],
        )
        .unwrap_or(0.0)
    };

    finish_a_transaction();
    assert!(monitor.flush(Duration::from_secs(5)));
    assert_eq!(received.lock().unwrap().transactions, 1);
    let before = rate_limited();

    for round in 0..5 {
        finish_a_transaction();
        assert!(failing_refund(round).is_err());
    }
    assert!(monitor.flush(Duration::from_secs(5)));

    let received = received.lock().unwrap();
    assert_eq!(
        received.transactions, 1,
        "no transaction is sent while their quota is exhausted"
    );
    assert_eq!(received.errors, 5, "every error event still reaches Sentry");
    assert_eq!(
        rate_limited() - before,
        5.0,
        "each held-back transaction is counted"
    );
}
