//! One trace across two services, through the SDK's real transport to a loopback receiver: a
//! front service whose handler calls a back service through `vk_monitor::client`, both
//! monitored with `MonitorLayer`. The back service's transaction continues the trace with the
//! `http.client` span as its parent; the propagation headers go only to hosts that
//! `SENTRY_TRACE_PROPAGATION_TARGETS` allows.
//!
//! One test per binary: the Sentry client and the environment are the process's.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use sentry::protocol::{Context, TraceContext, Transaction};
use vk_monitor::client::{ClientMiddleware, PathTemplate};
use vk_monitor::http::MonitorLayer;
use vk_monitor::monitored;
use vk_monitor_tests::{SentryReceiver, header_recorder, raw_request, run_with_env};

/// Where the front service's handler sends its calls.
struct Backs {
    client: reqwest_middleware::ClientWithMiddleware,
    allowed: SocketAddr,
    refused: SocketAddr,
}

static BACKS: OnceLock<Backs> = OnceLock::new();

#[monitored]
async fn transcript() -> String {
    let backs = BACKS.get().expect("set before serving");
    let allowed = backs
        .client
        .get(format!("http://{}/speech/calls/7?key=k", backs.allowed))
        .with_extension(PathTemplate::new("/speech/calls/{id}"))
        .send()
        .await
        .unwrap();
    let other = backs
        .client
        .get(format!("http://{}/speech/calls/8", backs.refused))
        .send()
        .await
        .unwrap();
    format!("{} {}", allowed.status().as_u16(), other.status().as_u16())
}

fn trace_of<'a>(transaction: &'a Transaction<'_>) -> &'a TraceContext {
    match transaction.contexts.get("trace") {
        Some(Context::Trace(trace)) => trace,
        other => panic!("no trace context: {other:?}"),
    }
}

#[test]
fn one_trace_crosses_both_services_and_headers_reach_allowed_hosts_only() {
    run_with_env(&[("SENTRY_TRACE_PROPAGATION_TARGETS", "127.0.0.1")], run());
}

async fn run() {
    let receiver = SentryReceiver::start().await;
    let monitor = receiver
        .monitor_builder("front", "2.0.0")
        .install()
        .unwrap();
    let (allowed, allowed_seen) = header_recorder("127.0.0.1").await;
    // Loopback too, but a host the targets do not name.
    let (refused, refused_seen) = header_recorder("127.0.0.2").await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::new())
        .build();
    let _ = BACKS.set(Backs {
        client,
        allowed,
        refused,
    });
    let front = vk_monitor_tests::serve(
        Router::new()
            .route("/transcript", get(transcript))
            .layer(MonitorLayer::new()),
    )
    .await;

    let request = format!("GET /transcript HTTP/1.1\r\nHost: {front}\r\nConnection: close\r\n\r\n");
    let answer = raw_request(front, request.as_bytes()).await;
    assert_eq!(answer.body, "200 200");
    // The back services finish their transactions as their bodies end.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(monitor.flush(Duration::from_secs(5)));

    let (transactions, _) = receiver.received();
    let named = |name: &str| {
        transactions
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in {transactions:?}"))
    };
    let head = named("GET /transcript");
    let speech: Vec<&Transaction> = transactions
        .iter()
        .filter(|t| t.name.as_deref() == Some("GET /speech/calls/{id}"))
        .collect();
    assert_eq!(speech.len(), 2, "both back services traced the call");
    let head_trace = trace_of(head);

    // The head's two client spans, children of the handler's span.
    let clients: Vec<_> = head
        .spans
        .iter()
        .filter(|span| span.op.as_deref() == Some("http.client"))
        .collect();
    let description = |span: &&sentry::protocol::Span| span.description.clone().unwrap_or_default();
    let to_allowed = clients
        .iter()
        .find(|span| description(span) == format!("GET http://{allowed}/speech/calls/{{id}}"))
        .unwrap_or_else(|| panic!("no client span to {allowed}: {clients:?}"));
    assert!(
        clients
            .iter()
            .any(|span| description(span) == format!("GET http://{refused}/speech/calls/8")),
        "the path without a template, without its query: {clients:?}"
    );
    let handler = head
        .spans
        .iter()
        .find(|span| span.description.as_deref() == Some("client_traces::transcript"))
        .expect("the handler's span");
    for span in &clients {
        assert_eq!(span.parent_span_id, Some(handler.span_id));
        assert_eq!(span.status, Some(sentry::protocol::SpanStatus::Ok));
        assert_eq!(span.data.get("http.status_code"), Some(&200.into()));
        assert!(span.timestamp.is_some(), "finished");
    }

    // The allowed host's transaction continues the trace under the client span; the other
    // host got no trace headers and started a trace of its own.
    let continued = speech
        .iter()
        .find(|t| trace_of(t).trace_id == head_trace.trace_id)
        .expect("a back transaction in the head's trace");
    assert_eq!(trace_of(continued).parent_span_id, Some(to_allowed.span_id));
    assert!(
        speech
            .iter()
            .any(|t| trace_of(t).trace_id != head_trace.trace_id
                && trace_of(t).parent_span_id.is_none()),
        "the other host's transaction is its own trace"
    );

    let sent = allowed_seen.lock().unwrap()[0].clone();
    let sentry_trace = sent["sentry-trace"].to_str().unwrap();
    assert_eq!(
        sentry_trace,
        format!("{}-{}-1", head_trace.trace_id, to_allowed.span_id)
    );
    assert_eq!(
        sent["traceparent"].to_str().unwrap(),
        format!("00-{}-{}-01", head_trace.trace_id, to_allowed.span_id)
    );
    let refused_sent = refused_seen.lock().unwrap()[0].clone();
    for name in ["sentry-trace", "traceparent", "baggage"] {
        assert!(
            !refused_sent.contains_key(name),
            "{name} sent to a host the targets do not allow"
        );
    }

    // The dynamic sampling context: made by the head, frozen downstream. Both envelopes of the
    // trace carry the same one in their header.
    let dsc_of = |trace_id: &str| -> Vec<serde_json::Value> {
        receiver
            .received_envelopes()
            .into_iter()
            .filter_map(|(header, _)| {
                let header: serde_json::Value = serde_json::from_str(&header).unwrap();
                let trace = header.get("trace")?.clone();
                (trace["trace_id"] == trace_id).then_some(trace)
            })
            .collect()
    };
    let head_id = head_trace.trace_id.to_string();
    let dscs = dsc_of(&head_id);
    assert_eq!(dscs.len(), 2, "two envelopes in the head's trace: {dscs:?}");
    assert_eq!(dscs[0], dscs[1], "one frozen DSC");
    let dsc = &dscs[0];
    assert_eq!(dsc["public_key"], "public");
    assert_eq!(dsc["release"], "front@2.0.0");
    assert_eq!(dsc["transaction"], "GET /transcript");
    let sample_rand: f64 = dsc["sample_rand"].as_str().unwrap().parse().unwrap();
    assert!((0.0..1.0).contains(&sample_rand));
    let baggage = sent["baggage"].to_str().unwrap();
    assert!(
        baggage.contains(&format!(
            "sentry-sample_rand={}",
            dsc["sample_rand"].as_str().unwrap()
        )),
        "{baggage}"
    );

    // A trace that arrives with baggage: third-party members reach the back service unchanged,
    // and the head's sentry- entries are passed on, not rewritten.
    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    let incoming = "vendor=abc%2Fdef;ttl=30,sentry-trace_id=0af7651916cd43dd8448eb211c80319c,\
                    sentry-public_key=upstream,sentry-sample_rate=1,sentry-sample_rand=0.4242,\
                    sentry-sampled=true,sentry-release=edge%401.0,other-vendor=x";
    let request = format!(
        "GET /transcript HTTP/1.1\r\nHost: {front}\r\nsentry-trace: {TRACE}-b7ad6b7169203331-1\r\n\
         baggage: {incoming}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(raw_request(front, request.as_bytes()).await.body, "200 200");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(monitor.flush(Duration::from_secs(5)));
    let passed_on = allowed_seen.lock().unwrap()[1]["baggage"]
        .to_str()
        .unwrap()
        .to_owned();
    let members: Vec<&str> = passed_on.split(',').map(str::trim).collect();
    for member in [
        "vendor=abc%2Fdef;ttl=30",
        "other-vendor=x",
        "sentry-public_key=upstream",
        "sentry-sample_rand=0.4242",
        "sentry-release=edge%401.0",
    ] {
        assert!(members.contains(&member), "{member} not in {passed_on}");
    }
    let dscs = dsc_of(TRACE);
    assert_eq!(
        dscs.len(),
        2,
        "two envelopes in the incoming trace: {dscs:?}"
    );
    for dsc in &dscs {
        assert_eq!(dsc["public_key"], "upstream");
        assert_eq!(dsc["sample_rand"], "0.4242");
        assert_eq!(dsc["release"], "edge@1.0");
    }
    assert_eq!(dscs[0], dscs[1]);
}
