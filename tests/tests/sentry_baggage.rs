//! `baggage` and the dynamic sampling context (DSC) through the HTTP layer and the real Sentry
//! transport to a loopback receiver: an incoming DSC is kept frozen and other members passed
//! on unchanged; the head of a trace makes the DSC with a `sample_rand` the decision agrees
//! with; every envelope of the trace carries it; the sampler steers per route; hostile baggage
//! never fails a request.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use sentry::protocol::{Context, EnvelopeItem};
use serde_json::{Value, json};
use vk_monitor::http::MonitorLayer;
use vk_monitor::monitored;
use vk_monitor_tests::{SentryReceiver, raw_request, serve};

const TRACE: &str = "771a43a4192642f0b136d5159a501700";
const PARENT: &str = "b7ad6b7169203331";
/// A trace whose caller decided, for the sampler to override.
const OTHER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// Calls out as the client middleware does: a child span, and the headers naming it.
#[monitored]
async fn forward() -> String {
    let parent = vk_monitor::trace::current_span().expect("a traced request");
    let span = parent.start_child("http.client", "GET http://speech.test/v1/tts");
    let headers = vk_monitor::trace::propagation_headers_for(&span.clone().into());
    span.finish();
    sentry::capture_message("forwarded", sentry::Level::Warning);
    headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\n"))
        .collect()
}

async fn ok() -> &'static str {
    "ok"
}

struct Response {
    status: u16,
    /// The headers `forward` would send, by name.
    sent: BTreeMap<String, String>,
}

async fn get_with(addr: SocketAddr, path: &str, headers: &[u8]) -> Response {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: api.test\r\n").into_bytes();
    request.extend_from_slice(headers);
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    let response = raw_request(addr, &request).await;
    let sent = response
        .body
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    Response {
        status: response.status,
        sent,
    }
}

/// The trace id of an envelope's transaction or event.
fn trace_id_of(envelope: &sentry::Envelope) -> Option<String> {
    envelope.items().find_map(|item| {
        let contexts = match item {
            EnvelopeItem::Transaction(transaction) => &transaction.contexts,
            EnvelopeItem::Event(event) => &event.contexts,
            _ => return None,
        };
        match contexts.get("trace") {
            Some(Context::Trace(trace)) => Some(trace.trace_id.to_string()),
            _ => None,
        }
    })
}

/// The `trace` header of every envelope of `trace_id`, by kind (`transaction`, `event`).
fn dsc_by_kind(receiver: &SentryReceiver, trace_id: &str) -> Vec<(&'static str, Value)> {
    receiver
        .received_envelopes()
        .into_iter()
        .filter(|(_, envelope)| trace_id_of(envelope).as_deref() == Some(trace_id))
        .map(|(header, envelope)| {
            let kind = if envelope
                .items()
                .any(|item| matches!(item, EnvelopeItem::Transaction(_)))
            {
                "transaction"
            } else {
                "event"
            };
            let header: Value = serde_json::from_str(&header).unwrap();
            (kind, header["trace"].clone())
        })
        .collect()
}

/// The transactions received per name.
fn transactions_named(
    receiver: &SentryReceiver,
    name: &str,
) -> Vec<sentry::protocol::Transaction<'static>> {
    let (transactions, _) = receiver.received();
    transactions
        .into_iter()
        .filter(|t| t.name.as_deref() == Some(name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dsc_is_frozen_or_made_at_the_head_and_sent_with_every_envelope() {
    let receiver = SentryReceiver::start().await;
    let monitor = receiver
        .monitor_builder("sentry-baggage", "1.0.0")
        .config(|config| {
            config
                .environment("loopback")
                .traces_sampler(|context| match context.route {
                    Some("/checkout") => 1.0,
                    Some(route) if route.starts_with("/static") => 0.0,
                    Some("/half") => 0.5,
                    _ => 1.0,
                })
        })
        .install()
        .unwrap();
    let app = Router::new()
        .route("/forward", get(forward))
        .route("/checkout", get(ok))
        .route("/static/{*file}", get(ok))
        .route("/half", get(ok))
        .merge(monitor.router())
        .layer(MonitorLayer::new());
    let addr = serve(app).await;

    // A caller's DSC, with an entry this crate does not know and a sample_rand more precise
    // than six digits, between the members of others, over two headers.
    let incoming = format!(
        "sentry-trace: {TRACE}-{PARENT}-1\r\n\
         baggage: vendor=a%2Cb;prop=1 , sentry-trace_id={TRACE},sentry-public_key=upstream,\
         sentry-sample_rate=0.5,sentry-sample_rand=0.1234567,sentry-sampled=true,\
         sentry-release=front%402.0,sentry-replay_id=abc\r\n\
         baggage: other=%E2%9C%93\r\n"
    );
    let continued = get_with(addr, "/forward", incoming.as_bytes()).await;
    assert_eq!(continued.status, 200);
    let frozen_members = format!(
        "sentry-trace_id={TRACE},sentry-public_key=upstream,sentry-sample_rate=0.5,\
         sentry-sample_rand=0.1234567,sentry-sampled=true,sentry-release=front%402.0,\
         sentry-replay_id=abc"
    );
    assert_eq!(
        continued.sent["baggage"],
        format!("{frozen_members},vendor=a%2Cb;prop=1,other=%E2%9C%93"),
        "the DSC as received, then the other members unchanged"
    );
    assert!(continued.sent["sentry-trace"].starts_with(&format!("{TRACE}-")));

    // The head of a trace.
    let head = get_with(addr, "/forward", b"").await;
    assert_eq!(head.status, 200);
    let head_trace = head.sent["sentry-trace"][..32].to_owned();

    // The sampler: every /checkout, no /static even when the caller sampled it in (the sampler
    // decides, told the caller's decision), /half by sample_rand.
    for _ in 0..20 {
        assert_eq!(get_with(addr, "/checkout", b"").await.status, 200);
        assert_eq!(get_with(addr, "/static/app.js", b"").await.status, 200);
    }
    let decided = |flag: &str| format!("sentry-trace: {OTHER_TRACE}-{PARENT}-{flag}\r\n");
    assert_eq!(
        get_with(addr, "/static/followed.js", decided("1").as_bytes())
            .await
            .status,
        200
    );
    assert_eq!(
        get_with(addr, "/checkout", decided("0").as_bytes())
            .await
            .status,
        200
    );
    let undecided = |rand: &str| {
        format!(
            "sentry-trace: {TRACE}-{PARENT}\r\n\
             baggage: sentry-trace_id={TRACE},sentry-sample_rand={rand}\r\n"
        )
    };
    assert_eq!(
        get_with(addr, "/half", undecided("0.499999").as_bytes())
            .await
            .status,
        200
    );
    assert_eq!(
        get_with(addr, "/half", undecided("0.5").as_bytes())
            .await
            .status,
        200
    );
    for _ in 0..200 {
        assert_eq!(get_with(addr, "/half", b"").await.status, 200);
    }

    // Hostile baggage: the request is served, what is sent on stays within the limits.
    let mut huge = b"baggage: a=".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 64 * 1024));
    huge.extend_from_slice(b"\r\n");
    let many: String = (0..10_000).map(|i| format!("k{i}=v{i},")).collect();
    let mut non_ascii = b"baggage: caf\xc3\xa9=1,k=\xff\xfe,sentry-release=%zz,ok=1\r\n".to_vec();
    non_ascii.extend_from_slice(format!("sentry-trace: {TRACE}-{PARENT}-1\r\n").as_bytes());
    for hostile in [
        huge,
        format!("baggage: {many}\r\n").into_bytes(),
        b"baggage: %%%,;;;===,sentry-=x,sentry-trace_id=%G0\r\n".to_vec(),
        non_ascii,
    ] {
        let response = get_with(addr, "/forward", &hostile).await;
        assert_eq!(response.status, 200);
        let baggage = &response.sent["baggage"];
        assert!(
            baggage.len() <= 8192 && baggage.split(',').count() <= 64,
            "{baggage}"
        );
    }
    let many_kept = get_with(addr, "/forward", format!("baggage: {many}\r\n").as_bytes()).await;
    let members: Vec<&str> = many_kept.sent["baggage"].split(',').collect();
    assert_eq!(
        members.len(),
        64,
        "the DSC made here, then as many others as fit"
    );
    assert_eq!(members.last(), Some(&"k55=v55"));
    let non_ascii_kept = get_with(
        addr,
        "/forward",
        b"baggage: caf\xc3\xa9=1,k=\xff,sentry-release=%zz,ok=1\r\n",
    )
    .await;
    assert!(
        non_ascii_kept.sent["baggage"].ends_with("sentry-transaction=GET%20/forward,ok=1"),
        "{:?}",
        non_ascii_kept.sent["baggage"]
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(monitor.flush(Duration::from_secs(5)));

    // The frozen DSC, unchanged, on the transaction and on the event of the request.
    let frozen = json!({
        "trace_id": TRACE,
        "public_key": "upstream",
        "sample_rate": "0.5",
        "sample_rand": "0.1234567",
        "sampled": "true",
        "release": "front@2.0",
        "replay_id": "abc",
    });
    let continued_dscs: Vec<(&str, Value)> = dsc_by_kind(&receiver, TRACE)
        .into_iter()
        .filter(|(_, dsc)| dsc["public_key"] == "upstream")
        .collect();
    let kinds: Vec<&str> = continued_dscs.iter().map(|(kind, _)| *kind).collect();
    assert!(
        kinds.contains(&"transaction") && kinds.contains(&"event"),
        "{continued_dscs:?}"
    );
    for (_, dsc) in &continued_dscs {
        assert_eq!(dsc, &frozen);
    }

    // The head made its DSC; both envelopes of its trace carry it.
    let head_dscs = dsc_by_kind(&receiver, &head_trace);
    assert_eq!(head_dscs.len(), 2, "{head_dscs:?}");
    let dsc = &head_dscs[0].1;
    assert_eq!(head_dscs[1].1, *dsc);
    let sample_rand = dsc["sample_rand"].as_str().unwrap().to_owned();
    assert_eq!(
        *dsc,
        json!({
            "trace_id": head_trace,
            "public_key": "public",
            "sample_rate": "1",
            "sample_rand": sample_rand,
            "sampled": "true",
            "release": "sentry-baggage@1.0.0",
            "environment": "loopback",
            "transaction": "GET /forward",
        })
    );
    assert!((0.0..1.0).contains(&sample_rand.parse::<f64>().unwrap()));
    assert_eq!(
        head.sent["baggage"],
        format!(
            "sentry-trace_id={head_trace},sentry-public_key=public,sentry-sample_rate=1,\
             sentry-sample_rand={sample_rand},sentry-sampled=true,\
             sentry-release=sentry-baggage@1.0.0,sentry-environment=loopback,\
             sentry-transaction=GET%20/forward"
        ),
        "what is sent on is what Sentry gets"
    );

    let checkouts = transactions_named(&receiver, "GET /checkout");
    assert_eq!(
        checkouts.len(),
        21,
        "20 heads and the one its caller sampled out"
    );
    assert!(
        checkouts.iter().any(|t| matches!(t.contexts.get("trace"),
            Some(Context::Trace(trace)) if trace.trace_id.to_string() == OTHER_TRACE)),
        "the sampler overrides a caller's -0"
    );
    let statics = transactions_named(&receiver, "GET /static/{*file}");
    assert!(statics.is_empty(), "the sampler overrides a caller's -1");

    // /half: the caller's sample_rand decides against the rate; heads draw their own.
    let halves = transactions_named(&receiver, "GET /half");
    let continued_halves: Vec<_> = halves
        .iter()
        .filter(|t| matches!(t.contexts.get("trace"), Some(Context::Trace(trace)) if trace.trace_id.to_string() == TRACE))
        .collect();
    assert_eq!(
        continued_halves.len(),
        1,
        "0.499999 is below 0.5, 0.5 is not"
    );
    let heads = halves.len() - 1;
    assert!((50..=150).contains(&heads), "about half of 200: {heads}");
    let head_rands: Vec<f64> = receiver
        .received_envelopes()
        .iter()
        .filter_map(|(header, _)| {
            let header: Value = serde_json::from_str(header).unwrap();
            let trace = &header["trace"];
            (trace["transaction"] == "GET /half").then(|| {
                assert_eq!(trace["sample_rate"], "0.5", "the rate the sampler chose");
                trace["sample_rand"].as_str().unwrap().parse().unwrap()
            })
        })
        .collect();
    assert_eq!(head_rands.len(), heads);
    assert!(head_rands.iter().all(|&rand| rand < 0.5), "{head_rands:?}");
}
