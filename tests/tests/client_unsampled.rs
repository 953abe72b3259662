//! A request sampled out still passes its trace on: its outgoing calls send
//! `sentry-trace: TRACE-SPAN-0`, `traceparent` with flags `00` and a `baggage` whose DSC says
//! `sentry-sampled=false`, to the hosts the propagation targets allow, so that the services
//! called decide the same in the same trace. No transaction of the request reaches Sentry, not
//! even the monitored handler as one of its own; an error event it captures names the trace.
//!
//! One test per binary: the Sentry client and the environment are the process's.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use vk_monitor::client::ClientMiddleware;
use vk_monitor::http::MonitorLayer;
use vk_monitor::monitored;
use vk_monitor_tests::{SentryReceiver, header_recorder, raw_request, run_with_env};

struct Backs {
    client: reqwest_middleware::ClientWithMiddleware,
    allowed: SocketAddr,
    refused: SocketAddr,
}

static BACKS: OnceLock<Backs> = OnceLock::new();

/// Two calls to the allowed host, one to the other.
#[monitored]
async fn transcript() -> String {
    let backs = BACKS.get().expect("set before serving");
    sentry::capture_message("transcript asked for", sentry::Level::Warning);
    let mut statuses = Vec::new();
    for url in [
        format!("http://{}/speech/calls/1", backs.allowed),
        format!("http://{}/speech/calls/2", backs.allowed),
        format!("http://{}/speech/calls/3", backs.refused),
    ] {
        let response = backs.client.get(url).send().await.unwrap();
        statuses.push(response.status().as_u16().to_string());
    }
    statuses.join(" ")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
        .to_str()
        .unwrap()
}

/// `(trace id, span id, decision)` of a `sentry-trace` value.
fn parts(sentry_trace: &str) -> (String, String, String) {
    let parts: Vec<&str> = sentry_trace.split('-').collect();
    assert_eq!(parts.len(), 3, "{sentry_trace}");
    (parts[0].into(), parts[1].into(), parts[2].into())
}

#[test]
fn a_sampled_out_request_passes_its_decision_and_trace_on() {
    run_with_env(&[("SENTRY_TRACE_PROPAGATION_TARGETS", "127.0.0.1")], run());
}

async fn run() {
    let receiver = SentryReceiver::start().await;
    let monitor = receiver
        .monitor_builder("front", "2.0.0")
        .config(|config| {
            config
                // The front samples its route out; everything else samples in unless the
                // caller sampled it out, as a sampler in a Sentry SDK usually reads.
                .traces_sampler(|context| match (context.route, context.parent_sampled) {
                    (Some("/transcript"), _) | (_, Some(false)) => 0.0,
                    _ => 1.0,
                })
        })
        .install()
        .unwrap();
    let (allowed, allowed_seen) = header_recorder("127.0.0.1").await;
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

    // Sampled out here, in a trace that starts here.
    let request = format!("GET /transcript HTTP/1.1\r\nHost: {front}\r\nConnection: close\r\n\r\n");
    assert_eq!(
        raw_request(front, request.as_bytes()).await.body,
        "200 200 200"
    );
    let sent: Vec<HeaderMap> = allowed_seen.lock().unwrap().drain(..).collect();
    assert_eq!(sent.len(), 2);
    let (trace_id, span_id, decision) = parts(header(&sent[0], "sentry-trace"));
    let started_here = trace_id.clone();
    assert_eq!(decision, "0", "the negative decision is passed on");
    assert_eq!(trace_id.len(), 32);
    assert_ne!(trace_id, "0".repeat(32));
    assert_eq!(
        header(&sent[0], "traceparent"),
        format!("00-{trace_id}-{span_id}-00")
    );
    let baggage = header(&sent[0], "baggage");
    let members: Vec<&str> = baggage.split(',').collect();
    for member in [
        format!("sentry-trace_id={trace_id}"),
        "sentry-sampled=false".to_owned(),
        "sentry-sample_rate=0".to_owned(),
        "sentry-public_key=public".to_owned(),
        "sentry-release=front@2.0.0".to_owned(),
        "sentry-transaction=GET%20/transcript".to_owned(),
    ] {
        assert!(
            members.contains(&member.as_str()),
            "{member} not in {baggage}"
        );
    }
    let rand: f64 = members
        .iter()
        .find_map(|member| member.strip_prefix("sentry-sample_rand="))
        .expect("a sample_rand")
        .parse()
        .unwrap();
    assert!((0.0..1.0).contains(&rand), "{rand}");
    // One trace and one parent for the request's every call.
    for name in ["sentry-trace", "traceparent", "baggage"] {
        assert_eq!(header(&sent[0], name), header(&sent[1], name), "{name}");
    }
    let refused_sent: Vec<HeaderMap> = refused_seen.lock().unwrap().drain(..).collect();
    for name in ["sentry-trace", "traceparent", "baggage"] {
        assert!(
            !refused_sent[0].contains_key(name),
            "{name} sent to a host the targets do not allow"
        );
    }

    // Sampled out by the caller: the caller's trace and DSC go on, under a span of this
    // service's, with the members of others unchanged.
    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const PARENT: &str = "b7ad6b7169203331";
    let incoming = format!(
        "vendor=abc,sentry-trace_id={TRACE},sentry-public_key=upstream,sentry-sample_rate=0.25,\
         sentry-sample_rand=0.9,sentry-sampled=false"
    );
    let request = format!(
        "GET /transcript HTTP/1.1\r\nHost: {front}\r\nsentry-trace: {TRACE}-{PARENT}-0\r\n\
         baggage: {incoming}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        raw_request(front, request.as_bytes()).await.body,
        "200 200 200"
    );
    let sent: Vec<HeaderMap> = allowed_seen.lock().unwrap().drain(..).collect();
    let (trace_id, span_id, decision) = parts(header(&sent[0], "sentry-trace"));
    assert_eq!((trace_id.as_str(), decision.as_str()), (TRACE, "0"));
    assert_ne!(
        span_id, PARENT,
        "this service's span is the callee's parent"
    );
    let baggage = header(&sent[0], "baggage");
    let members: Vec<&str> = baggage.split(',').collect();
    for member in [
        "vendor=abc",
        "sentry-public_key=upstream",
        "sentry-sample_rand=0.9",
        "sentry-sampled=false",
    ] {
        assert!(members.contains(&member), "{member} not in {baggage}");
    }

    // The allowed back service decided the same: nothing of either trace was sent. The other
    // host, told nothing, started a trace of its own each time, and sampled it in.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(monitor.flush(Duration::from_secs(5)));
    let (transactions, events) = receiver.received();
    let event_traces: Vec<String> = events
        .iter()
        .filter(|event| event.message.as_deref() == Some("transcript asked for"))
        .map(|event| match event.contexts.get("trace") {
            Some(sentry::protocol::Context::Trace(trace)) => trace.trace_id.to_string(),
            other => panic!("an event without its trace: {other:?}"),
        })
        .collect();
    assert_eq!(event_traces, [started_here.clone(), TRACE.to_owned()]);
    let traces: Vec<(Option<String>, String)> = transactions
        .iter()
        .map(|t| match t.contexts.get("trace") {
            Some(sentry::protocol::Context::Trace(trace)) => {
                (t.name.clone(), trace.trace_id.to_string())
            }
            other => panic!("no trace context: {other:?}"),
        })
        .collect();
    assert_eq!(traces.len(), 2, "{traces:?}");
    for (name, trace) in &traces {
        assert_eq!(name.as_deref(), Some("GET /speech/calls/{id}"));
        assert!(
            *trace != started_here && trace != TRACE,
            "a transaction of a sampled-out trace: {traces:?}"
        );
    }
}
