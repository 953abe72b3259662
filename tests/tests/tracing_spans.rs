//! `tracing` spans in the Sentry trace (`layer().spans(..)`), with the real transport against
//! a loopback receiver and a real axum server on two worker threads: tower-http's `TraceLayer`
//! span, a `#[tracing::instrument]` fn and a span inside a `#[monitored]` call nest where they
//! run, the monitored call is one span, not two, fields are filtered as events' are, a span
//! below the level is left out, each request's spans are its own, a transaction takes at
//! most 500, and the error `TraceLayer` logs for a 500 is not a second Sentry event. Without
//! `spans(..)` (the default), no span is made.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use sentry::protocol::{Context, Event, Span, Transaction};
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use vk_monitor::monitored;
use vk_monitor_tests::{
    SentryReceiver, http_get, in_child_process, is_child_process, run_with_env,
};

#[tracing::instrument(fields(user_email = "ada@example.com", rows = tracing::field::Empty))]
async fn load_call(id: u64) -> u64 {
    let rows = lookup(id).await.unwrap_or_default();
    tracing::Span::current().record("rows", rows);
    rows
}

#[monitored]
async fn lookup(id: u64) -> std::io::Result<u64> {
    // Resumed on whichever worker: the spans opened after it still nest here.
    tokio::time::sleep(Duration::from_millis(2)).await;
    Ok(parse_row(id))
}

/// Below the layer's level: left out, and what it opens nests in the span around it.
#[tracing::instrument(level = "debug")]
fn parse_row(id: u64) -> u64 {
    decode(id)
}

#[tracing::instrument]
fn decode(id: u64) -> u64 {
    id * 2
}

async fn call(Path(id): Path<u64>) -> String {
    load_call(id).await.to_string()
}

async fn many() -> &'static str {
    for row in 0..600u32 {
        let _entered = tracing::info_span!("row", row).entered();
    }
    "ok"
}

async fn fail() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

fn app(monitor: &vk_monitor::Monitor) -> Router {
    Router::new()
        .route("/calls/{id}", get(call))
        .route("/many", get(many))
        .route("/fail", get(fail))
        // As `ServiceBuilder::new().layer(monitor.layer()).layer(trace)` stacks them: the trace
        // layer's `call`, where it opens its span, runs inside the monitor's `call`.
        .layer(tower_layer::Stack::new(
            TraceLayer::new_for_http().make_span_with(DefaultMakeSpan::new().level(Level::INFO)),
            monitor.layer(),
        ))
}

/// Serves `app`, sends `paths` (at once) and returns every transaction and event received,
/// once `expected` transactions have arrived.
fn run(
    subscriber: impl tracing::Subscriber + Send + Sync + 'static,
    paths: Vec<String>,
    expected: usize,
) -> (Vec<Transaction<'static>>, Vec<Event<'static>>) {
    tracing::subscriber::set_global_default(subscriber).unwrap();
    run_with_env(&[], async {
        let receiver = SentryReceiver::start().await;
        let monitor = receiver
            .monitor_builder("tracing-spans", "1.0.0")
            .install()
            .unwrap();
        // Outside any trace: no Sentry span, nothing breaks.
        tracing::info_span!("boot").in_scope(|| tracing::info!("started"));
        let addr = vk_monitor_tests::serve(app(&monitor)).await;
        let requests: Vec<_> = paths
            .into_iter()
            .map(|path| tokio::spawn(async move { http_get(addr, &path).await }))
            .collect();
        for request in requests {
            let status = request.await.unwrap().status;
            assert!(status == 200 || status == 500, "{status}");
        }
        for _ in 0..50 {
            assert!(monitor.flush(Duration::from_secs(5)));
            if receiver.received().0.len() >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (transactions, events) = receiver.received();
        assert_eq!(transactions.len(), expected, "one transaction per request");
        (transactions, events)
    })
}

fn span_id_of(transaction: &Transaction<'_>) -> String {
    match transaction.contexts.get("trace") {
        Some(Context::Trace(trace)) => trace.span_id.to_string(),
        other => panic!("no trace context: {other:?}"),
    }
}

fn only<'a>(spans: &'a [Span], op: &str) -> &'a Span {
    let found: Vec<_> = spans
        .iter()
        .filter(|span| span.op.as_deref() == Some(op))
        .collect();
    assert_eq!(found.len(), 1, "one {op} span: {spans:#?}");
    found[0]
}

fn parent_of(span: &Span) -> String {
    span.parent_span_id
        .map(|id| id.to_string())
        .unwrap_or_default()
}

#[test]
fn spans_nest_where_they_run_once_each_filtered_and_bounded() {
    let subscriber =
        tracing_subscriber::registry().with(vk_monitor::tracing::layer().spans(LevelFilter::INFO));
    let mut paths: Vec<String> = (1..=20)
        .map(|id| format!("/calls/{id}?token=t{id}&page=2"))
        .collect();
    paths.push("/many".into());
    paths.push("/fail".into());
    let (transactions, events) = run(subscriber, paths, 22);

    // TraceLayer logs an `error` for the 500 as well: one failure, one event (the layer's).
    let failures: Vec<_> = events
        .iter()
        .map(|event| (event.transaction.as_deref(), event.logger.as_deref()))
        .collect();
    assert_eq!(failures, [(Some("GET /fail"), None)], "{events:#?}");

    let mut ids = Vec::new();
    for transaction in transactions
        .iter()
        .filter(|t| t.name.as_deref() == Some("GET /calls/{id}"))
    {
        let spans = &transaction.spans;
        let request = only(spans, "request");
        let load_call = only(spans, "load_call");
        let decode = only(spans, "decode");
        let lookups: Vec<_> = spans
            .iter()
            .filter(|span| span.description.as_deref() == Some("tracing_spans::lookup"))
            .collect();
        assert_eq!(lookups.len(), 1, "the monitored call once: {spans:#?}");
        let lookup = lookups[0];
        assert_eq!(
            spans.len(),
            4,
            "and nothing else (not parse_row): {spans:#?}"
        );

        assert_eq!(parent_of(request), span_id_of(transaction));
        assert_eq!(parent_of(load_call), request.span_id.to_string());
        assert_eq!(parent_of(lookup), load_call.span_id.to_string());
        assert_eq!(parent_of(decode), lookup.span_id.to_string());
        assert!(decode.start_timestamp >= lookup.start_timestamp);
        assert!(decode.timestamp.unwrap() <= lookup.timestamp.unwrap());

        assert_eq!(
            request.description.as_deref(),
            Some("tower_http::trace::make_span::request")
        );
        assert_eq!(request.data["method"], "GET");
        let id = load_call.data["id"].as_u64().expect("the id field");
        assert_eq!(
            request.data["uri"],
            format!("/calls/{id}?token=[Filtered]&page=[Filtered]"),
            "the query's values are not sent without PII"
        );
        assert_eq!(load_call.data["user_email"], "[Filtered]");
        assert_eq!(load_call.data["rows"], id * 2, "recorded after it opened");
        assert_eq!(decode.data["id"], id, "{decode:?}");
        ids.push(id);
    }
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=20).collect::<Vec<_>>(),
        "each request its own spans"
    );

    let many = transactions
        .iter()
        .find(|t| t.name.as_deref() == Some("GET /many"))
        .unwrap();
    let rows = many
        .spans
        .iter()
        .filter(|span| span.op.as_deref() == Some("row"))
        .count();
    assert_eq!(
        (many.spans.len(), rows),
        (500, 499),
        "TraceLayer's and 499 rows"
    );
    let Some(Context::Trace(trace)) = many.contexts.get("trace") else {
        panic!("no trace context")
    };
    assert_eq!(
        trace.data.get("vk_monitor.tracing_spans_left_out"),
        Some(&serde_json::json!(101)),
        "{:?}",
        trace.data
    );
}

#[test]
fn without_spans_asked_for_only_the_monitored_call_is_a_span() {
    in_child_process("default_layer_makes_no_spans");
}

#[test]
#[ignore = "runs in a child process of the test above"]
fn default_layer_makes_no_spans() {
    if !is_child_process("default_layer_makes_no_spans") {
        return;
    }
    let subscriber = tracing_subscriber::registry().with(vk_monitor::tracing::layer());
    let (transactions, _) = run(subscriber, vec!["/calls/7".into()], 1);
    let ops: Vec<_> = transactions[0]
        .spans
        .iter()
        .map(|span| span.op.clone().unwrap_or_default())
        .collect();
    assert_eq!(ops, ["function"], "{:#?}", transactions[0].spans);
}
