//! `#[monitored]` and Sentry, through the SDK's real HTTP transport to a loopback receiver:
//! transactions for root calls, child spans for nested ones, statuses for ok, error, panic and
//! cancelled, and error events with their `source()` chain, tags and trace.

use std::collections::BTreeMap;
use std::panic::catch_unwind;
use std::task::{Context, Waker};
use std::time::Duration;

use sentry::protocol::{Event, Transaction};
use vk_monitor::{MonitoredError, monitored};
use vk_monitor_tests::SentryReceiver;

#[derive(Debug)]
struct Timeout;

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("database timed out")
    }
}

impl std::error::Error for Timeout {}

#[derive(Debug)]
enum OrderError {
    NotFound,
    Storage(Timeout),
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::NotFound => f.write_str("no such order"),
            OrderError::Storage(_) => f.write_str("could not load the order"),
        }
    }
}

impl std::error::Error for OrderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OrderError::NotFound => None,
            OrderError::Storage(cause) => Some(cause),
        }
    }
}

impl MonitoredError for OrderError {
    fn is_error(&self) -> bool {
        !matches!(self, OrderError::NotFound)
    }
}

#[monitored(op = "db.query")]
async fn load_order(id: u32) -> Result<u32, Timeout> {
    tokio::task::yield_now().await;
    if id == 0 { Err(Timeout) } else { Ok(id) }
}

#[monitored(op = "http.server")]
async fn handle_order(id: u32) -> Result<u32, OrderError> {
    if id == 404 {
        return Err(OrderError::NotFound);
    }
    load_order(id).await.map_err(OrderError::Storage)
}

/// Fails with a chained error and calls nothing monitored: its own event carries the chain.
#[monitored]
async fn settle_order() -> Result<(), OrderError> {
    Err(OrderError::Storage(Timeout))
}

#[monitored]
fn crashing_job() {
    panic!("job crashed");
}

#[monitored]
async fn abandoned_job(gate: futures::channel::oneshot::Receiver<()>) {
    let _ = gate.await;
}

#[test]
fn calls_become_transactions_spans_and_error_events() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = runtime.block_on(SentryReceiver::start());
    let monitor = receiver
        .monitor_builder("sentry-spans", "3.1.4")
        .config(|config| config.environment("loopback"))
        .install()
        .unwrap();

    runtime.block_on(async {
        assert_eq!(tokio::spawn(handle_order(7)).await.unwrap().unwrap(), 7);
        assert!(handle_order(0).await.is_err());
        assert!(matches!(handle_order(404).await, Err(OrderError::NotFound)));
        assert!(settle_order().await.is_err());
    });
    let _ = catch_unwind(crashing_job);
    let (_open, gate) = futures::channel::oneshot::channel::<()>();
    let mut pending = Box::pin(abandoned_job(gate));
    assert!(
        pending
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
    drop(pending);

    assert!(monitor.flush(Duration::from_secs(5)));
    let (transactions, events) = receiver.received();

    let by_status = |name: &str| -> BTreeMap<String, usize> {
        let mut statuses = BTreeMap::new();
        for transaction in transactions
            .iter()
            .filter(|t| t.name.as_deref() == Some(name))
        {
            let status =
                transaction
                    .contexts
                    .get("trace")
                    .map_or("none".into(), |trace| match trace {
                        sentry::protocol::Context::Trace(trace) => {
                            trace.status.map_or("none".into(), |s| s.to_string())
                        }
                        _ => "none".into(),
                    });
            *statuses.entry(status).or_default() += 1;
        }
        statuses
    };
    assert_eq!(
        by_status("sentry_spans::handle_order"),
        BTreeMap::from([("internal_error".into(), 1), ("ok".into(), 2)]),
        "NotFound is an answer, not an error"
    );
    assert_eq!(
        by_status("sentry_spans::crashing_job"),
        BTreeMap::from([("aborted".into(), 1)])
    );
    assert_eq!(
        by_status("sentry_spans::abandoned_job"),
        BTreeMap::from([("cancelled".into(), 1)])
    );
    assert!(
        by_status("sentry_spans::load_order").is_empty(),
        "a nested call is a span, not a transaction"
    );

    let trace_of = |transaction: &Transaction| match transaction.contexts.get("trace") {
        Some(sentry::protocol::Context::Trace(trace)) => {
            (trace.trace_id, trace.span_id, trace.status)
        }
        _ => panic!("a transaction without a trace context"),
    };
    for transaction in transactions
        .iter()
        .filter(|t| t.name.as_deref() == Some("sentry_spans::handle_order"))
    {
        let (trace_id, span_id, status) = trace_of(transaction);
        let status = status.map(|s| s.to_string());
        if status.as_deref() == Some("ok") && transaction.spans.is_empty() {
            continue; // the NotFound call returns before loading anything
        }
        assert_eq!(transaction.spans.len(), 1, "{transaction:?}");
        let span = &transaction.spans[0];
        assert_eq!(span.op.as_deref(), Some("db.query"));
        assert_eq!(
            span.description.as_deref(),
            Some("sentry_spans::load_order")
        );
        assert_eq!(
            (span.trace_id, span.parent_span_id),
            (trace_id, Some(span_id))
        );
        let expected = if status.as_deref() == Some("ok") {
            "ok"
        } else {
            "internal_error"
        };
        assert_eq!(
            span.status.map(|s| s.to_string()).as_deref(),
            Some(expected)
        );
    }

    let tagged = |function: &str| -> Vec<&Event> {
        events
            .iter()
            .filter(|e| e.tags.get("function").map(String::as_str) == Some(function))
            .collect()
    };
    assert!(
        tagged("handle_order").is_empty(),
        "a failure caused by a nested one already reported is not reported again: {events:?}"
    );
    let nested = tagged("load_order");
    assert_eq!(nested.len(), 1, "reported once, where it happened");
    let failed = transactions
        .iter()
        .find(|t| {
            t.name.as_deref() == Some("sentry_spans::handle_order")
                && trace_of(t).2.map(|s| s.to_string()).as_deref() == Some("internal_error")
        })
        .unwrap();
    match nested[0].contexts.get("trace") {
        Some(sentry::protocol::Context::Trace(trace)) => {
            assert_eq!(
                trace.trace_id,
                trace_of(failed).0,
                "linked to the request's trace"
            )
        }
        other => panic!("the event is not linked to its trace: {other:?}"),
    }

    let settled = tagged("settle_order");
    assert_eq!(settled.len(), 1, "{events:?}");
    let event = settled[0];
    assert_eq!(
        event.tags.get("module").map(String::as_str),
        Some("sentry_spans")
    );
    assert_eq!(event.release.as_deref(), Some("sentry-spans@3.1.4"));
    let chain: Vec<(&str, Option<&str>)> = event
        .exception
        .values
        .iter()
        .map(|e| (e.ty.as_str(), e.value.as_deref()))
        .collect();
    // The SDK names each exception by the first word of its Debug text (here the variant).
    assert_eq!(
        chain,
        [
            ("Timeout", Some("database timed out")),
            ("Storage", Some("could not load the order"))
        ],
        "the error and its source, innermost first"
    );
}
