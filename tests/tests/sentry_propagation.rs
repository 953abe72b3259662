//! The trace headers monitored code sends on, checked against what the real transport delivers
//! to a loopback receiver: inside a nested call they name the innermost span, and the baggage
//! is the DSC the head of the trace made; the propagation targets set on the monitor apply.

use std::time::Duration;

use sentry::protocol::Context;
use vk_monitor::monitored;
use vk_monitor_tests::SentryReceiver;

#[monitored(op = "task")]
async fn outer() -> Vec<(&'static str, String)> {
    inner().await
}

#[monitored(op = "function")]
async fn inner() -> Vec<(&'static str, String)> {
    tokio::task::yield_now().await;
    vk_monitor::trace::propagation_headers()
}

#[test]
fn headers_inside_a_nested_call_name_the_innermost_span() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = runtime.block_on(SentryReceiver::start());
    let monitor = receiver
        .monitor_builder("sentry-propagation", "1.0.0")
        .config(|config| config.trace_propagation_targets(["speech.internal", "*.svc.test"]))
        .install()
        .unwrap();
    for (host, allowed) in [
        ("speech.internal", true),
        ("tts.default.svc.test", true),
        ("svc.test", false),
        ("api.payments.example", false),
    ] {
        assert_eq!(vk_monitor::trace::propagates_to(host), allowed, "{host}");
    }
    let headers = runtime.block_on(async { tokio::spawn(outer()).await.unwrap() });
    assert!(monitor.flush(Duration::from_secs(5)));

    let (transactions, _) = receiver.received();
    let transaction = transactions
        .iter()
        .find(|t| t.name.as_deref() == Some("sentry_propagation::outer"))
        .expect("the outer call's transaction");
    let Some(Context::Trace(trace)) = transaction.contexts.get("trace") else {
        panic!("a transaction without a trace context");
    };
    let span = transaction
        .spans
        .iter()
        .find(|s| s.description.as_deref() == Some("sentry_propagation::inner"))
        .expect("the inner call's span");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
    };
    assert_ne!(span.span_id, trace.span_id);
    assert_eq!(
        header("sentry-trace"),
        format!("{}-{}-1", trace.trace_id, span.span_id),
        "the inner span is the callee's parent, not the transaction"
    );
    assert_eq!(
        header("traceparent"),
        format!("00-{}-{}-01", trace.trace_id, span.span_id)
    );

    // The head of the trace made its dynamic sampling context: sent on, and in the envelope.
    let baggage = header("baggage");
    let sample_rand = baggage
        .split(',')
        .find_map(|member| member.strip_prefix("sentry-sample_rand="))
        .expect("a sample_rand");
    assert_eq!(
        baggage,
        format!(
            "sentry-trace_id={},sentry-public_key=public,sentry-sample_rate=1,\
             sentry-sample_rand={sample_rand},sentry-sampled=true,\
             sentry-release=sentry-propagation@1.0.0,sentry-environment=development,\
             sentry-transaction=sentry_propagation::outer",
            trace.trace_id
        )
    );
    let rand: f64 = sample_rand.parse().unwrap();
    assert!(
        (0.0..1.0).contains(&rand) && sample_rand.len() == 8,
        "{sample_rand}"
    );
    let header_of_transaction = receiver
        .received_envelopes()
        .into_iter()
        .find(|(_, envelope)| {
            envelope.items().any(|item| {
                matches!(item, sentry::protocol::EnvelopeItem::Transaction(t)
                    if t.name.as_deref() == Some("sentry_propagation::outer"))
            })
        })
        .map(|(header, _)| header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_str(&header_of_transaction).unwrap();
    assert_eq!(
        header["trace"],
        serde_json::json!({
            "trace_id": trace.trace_id.to_string(),
            "public_key": "public",
            "sample_rate": "1",
            "sample_rand": sample_rand,
            "sampled": "true",
            "release": "sentry-propagation@1.0.0",
            "environment": "development",
            "transaction": "sentry_propagation::outer",
        })
    );
}
