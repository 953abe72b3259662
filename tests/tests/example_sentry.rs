//! The example server with `SENTRY_DSN` pointing at a loopback receiver, as a new user would
//! run it: the failing transcript route yields a transaction with the handler, database,
//! provider and `http.client` spans, the speech service's transaction in the same trace under
//! the `http.client` span, and one error event per service tagged with release and
//! environment, with no personal data. `.ci/run` runs it: `cargo test -p vk-monitor-tests --test example_sentry -- --ignored`.

use std::time::Duration;

use sentry::protocol::{Context, Event};
use vk_monitor_tests::load::ExampleServer;
use vk_monitor_tests::{SentryReceiver, http_request};

/// Creates a call from `caller` on the example server and returns its id.
async fn create_call(addr: std::net::SocketAddr, caller: &str) -> i64 {
    let body = format!(r#"{{"caller":"{caller}","callee":"support"}}"#);
    let created = http_request(addr, "POST", "/calls", &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    serde_json::from_str::<serde_json::Value>(&created.body).unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the example server binary; .ci/run runs it"]
async fn the_failing_transcript_route_reaches_sentry() {
    let receiver = SentryReceiver::start().await;

    let server = ExampleServer::start(&[
        ("SENTRY_DSN", receiver.dsn.as_str()),
        ("SENTRY_TRACES_SAMPLE_RATE", "1"),
        ("APM_ENVIRONMENT", "staging"),
        ("SPEECH_FAILURE_RATE", "1"),
    ])
    .await;
    let addr = server.addr;

    let id = create_call(addr, "+447700900123").await;
    let transcript = http_request(
        addr,
        "GET",
        &format!("/calls/{id}/transcript?token=abc"),
        "",
    )
    .await;
    assert_eq!(transcript.status, 502);

    // SIGTERM: the server drains, stops, and flushes Sentry on its way out.
    let stopped = server.terminate().await;
    assert!(
        stopped < Duration::from_secs(10),
        "the server took {stopped:?} to stop"
    );

    let (transactions, events) = receiver.received();
    let request = transactions
        .iter()
        .find(|t| t.name.as_deref() == Some("GET /calls/{id}/transcript"))
        .unwrap_or_else(|| panic!("no transcript transaction in {transactions:?}"));
    let descriptions: Vec<&str> = request
        .spans
        .iter()
        .filter_map(|s| s.description.as_deref())
        .collect();
    for expected in [
        "server::api::transcript",
        "server::repository::CallRepository::find",
        "server::speech::SpeechProvider::transcribe",
    ] {
        assert!(
            descriptions.contains(&expected),
            "{expected} not among {descriptions:?}"
        );
    }
    let Some(Context::Trace(trace)) = request.contexts.get("trace") else {
        panic!("no trace")
    };
    // The call to the speech service: a client span, and the service's own transaction under it.
    let client = request
        .spans
        .iter()
        .find(|s| s.op.as_deref() == Some("http.client"))
        .unwrap_or_else(|| panic!("no http.client span among {descriptions:?}"));
    let called = client.description.as_deref().unwrap_or_default();
    assert!(
        called.starts_with("GET http://127.0.0.1:")
            && called.ends_with("/speech/v1/calls/{call}/transcript"),
        "{called}"
    );
    assert_eq!(client.data.get("http.status_code"), Some(&503.into()));
    let speech = transactions
        .iter()
        .find(|t| t.name.as_deref() == Some("GET /speech/v1/calls/{call}/transcript"))
        .unwrap_or_else(|| panic!("no speech transaction in {transactions:?}"));
    let Some(Context::Trace(speech_trace)) = speech.contexts.get("trace") else {
        panic!("no speech trace")
    };
    assert_eq!(speech_trace.trace_id, trace.trace_id, "one trace");
    assert_eq!(speech_trace.parent_span_id, Some(client.span_id));
    // Both transactions' envelopes carry the head's dynamic sampling context, unchanged.
    let contexts: Vec<serde_json::Value> = receiver
        .received_envelopes()
        .into_iter()
        .filter(|(_, envelope)| {
            envelope
                .items()
                .any(|item| matches!(item, sentry::protocol::EnvelopeItem::Transaction(_)))
        })
        .filter_map(|(header, _)| {
            let header: serde_json::Value = serde_json::from_str(&header).unwrap();
            Some(header.get("trace")?.clone())
        })
        .filter(|dsc| dsc["trace_id"] == trace.trace_id.to_string())
        .collect();
    assert_eq!(contexts.len(), 2, "{contexts:?}");
    assert_eq!(contexts[0], contexts[1]);
    assert_eq!(contexts[0]["release"], "voice-calls@0.1.0");
    assert_eq!(contexts[0]["public_key"], "public");
    assert!(contexts[0]["sample_rand"].is_string(), "{contexts:?}");

    let failures: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.contexts.get("trace"), Some(Context::Trace(t)) if t.trace_id == trace.trace_id))
        .collect();
    let tagged = |function: &str| {
        failures
            .iter()
            .filter(|e| e.tags.get("function").map(String::as_str) == Some(function))
            .count()
    };
    // One failure, seen by both services: each reports it once.
    assert_eq!(failures.len(), 2, "one event per service: {failures:?}");
    assert_eq!(tagged("SpeechProvider::transcribe"), 1, "{failures:?}");
    assert_eq!(tagged("speech_to_text"), 1, "{failures:?}");
    let event = failures
        .iter()
        .find(|e| e.tags.get("function").map(String::as_str) == Some("SpeechProvider::transcribe"))
        .unwrap();
    assert_eq!(event.release.as_deref(), Some("voice-calls@0.1.0"));
    assert_eq!(event.environment.as_deref(), Some("staging"));
    let everything =
        serde_json::to_string(&transactions).unwrap() + &serde_json::to_string(&events).unwrap();
    for personal in ["+447700900123", "token=abc"] {
        assert!(!everything.contains(personal), "{personal} reached Sentry");
    }
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

/// `GET /calls` with the given extra header lines.
async fn get_calls(addr: std::net::SocketAddr, headers: &str) -> u16 {
    let request =
        format!("GET /calls HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    vk_monitor_tests::raw_request(addr, request.as_bytes())
        .await
        .status
}

/// With tracing off, by `APM_ENABLED=false` or a rate of 0, requests that arrive with a
/// sampled trace header are not traced: a client cannot turn tracing on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the example server binary; .ci/run runs it"]
async fn with_tracing_off_no_client_header_starts_a_transaction() {
    for off in [("APM_ENABLED", "false"), ("SENTRY_TRACES_SAMPLE_RATE", "0")] {
        let receiver = SentryReceiver::start().await;
        let server = ExampleServer::start(&[
            ("SENTRY_DSN", receiver.dsn.as_str()),
            ("SENTRY_TRACES_SAMPLE_RATE", "1"),
            off,
        ])
        .await;
        for i in 0..10 {
            let sentry_trace = format!("sentry-trace: {TRACE}-{PARENT}-1\r\n");
            let traceparent = format!("traceparent: 00-{TRACE}-{PARENT}-01\r\n");
            let header = if i % 2 == 0 {
                sentry_trace
            } else {
                traceparent
            };
            assert_eq!(get_calls(server.addr, &header).await, 200);
        }
        server.terminate().await;
        let (transactions, _) = receiver.received();
        assert!(
            transactions.is_empty(),
            "{off:?}: {} transactions from 10 sampled requests",
            transactions.len()
        );
    }
}

/// A public edge (`SENTRY_FOLLOW_INCOMING_SAMPLING=false`) continues an incoming trace but
/// decides sampling itself: at rate 1, a request sent as sampled out is traced, in the trace
/// it came with. By default the incoming decision is followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the example server binary; .ci/run runs it"]
async fn a_public_edge_decides_sampling_itself_and_keeps_the_trace_id() {
    for (follow, traced) in [("false", true), ("true", false)] {
        let receiver = SentryReceiver::start().await;
        let server = ExampleServer::start(&[
            ("SENTRY_DSN", receiver.dsn.as_str()),
            ("SENTRY_TRACES_SAMPLE_RATE", "1"),
            ("SENTRY_FOLLOW_INCOMING_SAMPLING", follow),
        ])
        .await;
        let header = format!("sentry-trace: {TRACE}-{PARENT}-0\r\n");
        assert_eq!(get_calls(server.addr, &header).await, 200);
        server.terminate().await;
        let (transactions, _) = receiver.received();
        let calls: Vec<_> = transactions
            .iter()
            .filter(|t| t.name.as_deref() == Some("GET /calls"))
            .collect();
        assert_eq!(calls.len(), usize::from(traced), "follow={follow}");
        if let Some(transaction) = calls.first() {
            let Some(Context::Trace(trace)) = transaction.contexts.get("trace") else {
                panic!("no trace context")
            };
            assert_eq!(trace.trace_id.to_string(), TRACE);
            assert_eq!(
                trace.parent_span_id.map(|id| id.to_string()).as_deref(),
                Some(PARENT)
            );
        }
    }
}

/// With default settings, what an audit saw reaching Sentry does not: credential and identity
/// headers, query values, a path holding an e-mail address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the example server binary; .ci/run runs it"]
async fn default_request_data_carries_no_credentials_or_identities() {
    let receiver = SentryReceiver::start().await;
    let server = ExampleServer::start(&[
        ("SENTRY_DSN", receiver.dsn.as_str()),
        ("SENTRY_TRACES_SAMPLE_RATE", "1"),
        ("SPEECH_FAILURE_RATE", "1"),
    ])
    .await;
    let addr = server.addr;
    let id = create_call(addr, "+15550100").await;
    let headers = "X-Auth-Token: tok-1a2b3c4d5e\r\nX-Forwarded-Email: ada@example.com\r\n\
                   True-Client-IP: 198.51.100.23\r\nAuthorization: Bearer bearer-9z8y\r\n\
                   Cookie: session=cookie-7x6w\r\nUser-Agent: probe/1.0\r\n";
    for target in [
        format!("/calls/{id}/transcript?code=oauth-5q4r&sig=sig-3p2o&page=2"),
        "/calls/ada@example.com/transcript?code=oauth-5q4r".to_owned(),
    ] {
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
        let answered = vk_monitor_tests::raw_request(addr, request.as_bytes()).await;
        assert!(answered.status >= 400, "{target}: {}", answered.status);
    }
    server.terminate().await;
    let (transactions, events) = receiver.received();
    assert!(
        transactions
            .iter()
            .any(|t| t.name.as_deref() == Some("GET /calls/{id}/transcript")),
        "the transcript requests were traced"
    );
    assert!(!events.is_empty(), "the failing transcript was reported");
    let everything =
        serde_json::to_string(&transactions).unwrap() + &serde_json::to_string(&events).unwrap();
    for leaked in [
        "tok-1a2b3c4d5e",
        "ada@example.com",
        "198.51.100.23",
        "bearer-9z8y",
        "cookie-7x6w",
        "oauth-5q4r",
        "sig-3p2o",
        "page=2",
        "+15550100",
    ] {
        assert!(!everything.contains(leaked), "{leaked} reached Sentry");
    }
    assert!(
        everything.contains("probe/1.0"),
        "harmless headers are still sent"
    );
}

/// `cargo run --example sentry_receiver` beside the server, as the README shows: one
/// transcript request prints two transactions of one trace, the speech service's under the
/// server's `http.client` span, each with its dynamic sampling context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the example server and receiver binaries; .ci/run runs it"]
async fn the_receiver_example_prints_one_trace_across_both_services() {
    use std::io::Read;
    use std::process::{Command, Stdio};

    use vk_monitor_tests::load::{example_binary, free_port};

    let receiver_addr = free_port();
    let mut receiver = Command::new(example_binary("sentry_receiver"))
        .env("LISTEN_ADDR", receiver_addr.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the receiver example");
    let start = std::time::Instant::now();
    while tokio::net::TcpStream::connect(receiver_addr).await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "receiver not up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dsn = format!("http://public@{receiver_addr}/1");
    let server = ExampleServer::start(&[
        ("SENTRY_DSN", dsn.as_str()),
        ("SENTRY_TRACES_SAMPLE_RATE", "1"),
        ("SPEECH_FAILURE_RATE", "0"),
    ])
    .await;
    let id = create_call(server.addr, "+447700900123").await;
    let transcript = http_request(server.addr, "GET", &format!("/calls/{id}/transcript"), "").await;
    assert_eq!(transcript.status, 200, "{}", transcript.body);
    server.terminate().await; // flushes Sentry: every envelope is printed before it exits

    receiver.kill().expect("stop the receiver");
    let mut printed = String::new();
    receiver
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut printed)
        .expect("the receiver's output");
    let _ = receiver.wait();

    let field = |line: &str, name: &str| -> String {
        let prefix = format!("{name}=");
        line.split(' ')
            .find_map(|part| part.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {name}= in {line}"))
            .to_owned()
    };
    let transaction = |name: &str| -> String {
        let quoted = format!("name={name:?}");
        printed
            .lines()
            .find(|line| line.starts_with("transaction ") && line.contains(&quoted))
            .unwrap_or_else(|| panic!("no transaction {name} in:\n{printed}"))
            .to_owned()
    };
    let api = transaction("GET /calls/{id}/transcript");
    let speech = transaction("GET /speech/v1/calls/{call}/transcript");
    assert_eq!(field(&api, "trace"), field(&speech, "trace"), "{printed}");
    let client_span = printed
        .lines()
        .skip_while(|line| *line != api)
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .find(|line| line.contains("op=http.client"))
        .unwrap_or_else(|| panic!("no http.client span under {api}:\n{printed}"));
    assert_eq!(
        field(&speech, "parent"),
        field(client_span, "span"),
        "{printed}"
    );
    let trace_id = field(&api, "trace");
    let dscs = printed
        .lines()
        .filter(|line| line.starts_with("  dsc ") && line.contains(&trace_id))
        .count();
    assert!(
        dscs >= 2,
        "both envelopes carry the trace's DSC:\n{printed}"
    );
}

/// The example's two services as two processes, each with its own Sentry receiver: a request
/// that arrives sampled out is not traced by the server, whose call to the speech service
/// passes the decision on. The speech service follows it by default; as a public edge
/// (`SENTRY_FOLLOW_INCOMING_SAMPLING=false`) it samples the call in itself, in the same trace
/// and with the frozen DSC that says the trace was sampled out. A request with no trace
/// header beforehand proves both services send what they trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the example server and speech binaries; .ci/run runs it"]
async fn a_sampled_out_decision_reaches_the_speech_service_in_the_same_trace() {
    use std::process::Stdio;

    for follow in [true, false] {
        let front_receiver = SentryReceiver::start().await;
        let speech_receiver = SentryReceiver::start().await;
        let follow_text = follow.to_string();
        let speech = ExampleServer::start_example(
            "speech",
            &[
                ("SENTRY_DSN", speech_receiver.dsn.as_str()),
                ("SENTRY_TRACES_SAMPLE_RATE", "1"),
                ("SENTRY_FOLLOW_INCOMING_SAMPLING", follow_text.as_str()),
                ("SPEECH_FAILURE_RATE", "0"),
            ],
            Stdio::null(),
        )
        .await;
        let speech_url = format!("http://{}", speech.addr);
        let server = ExampleServer::start(&[
            ("SENTRY_DSN", front_receiver.dsn.as_str()),
            ("SENTRY_TRACES_SAMPLE_RATE", "1"),
            ("SPEECH_URL", speech_url.as_str()),
        ])
        .await;
        let id = create_call(server.addr, "+447700900123").await;
        let path = format!("/calls/{id}/transcript");
        assert_eq!(
            http_request(server.addr, "GET", &path, "").await.status,
            200
        );
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nsentry-trace: {TRACE}-{PARENT}-0\r\n\
             Connection: close\r\n\r\n",
            server.addr
        );
        let answer = vk_monitor_tests::raw_request(server.addr, request.as_bytes()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        server.terminate().await;
        speech.terminate().await; // flushes its Sentry client too

        let trace_of = |transaction: &sentry::protocol::Transaction<'_>| match transaction
            .contexts
            .get("trace")
        {
            Some(Context::Trace(trace)) => trace.clone(),
            other => panic!("no trace context: {other:?}"),
        };
        let (front, _) = front_receiver.received();
        let (speech_sent, _) = speech_receiver.received();
        let front_traces: Vec<String> = front
            .iter()
            .filter(|t| t.name.as_deref() == Some("GET /calls/{id}/transcript"))
            .map(|t| trace_of(t).trace_id.to_string())
            .collect();
        assert_eq!(
            front_traces.len(),
            1,
            "only the unsampled-in request is traced"
        );
        assert_ne!(front_traces[0], TRACE);
        let transcripts: Vec<_> = speech_sent
            .iter()
            .filter(|t| t.name.as_deref() == Some("GET /speech/v1/calls/{call}/transcript"))
            .map(trace_of)
            .collect();
        let in_trace: Vec<_> = transcripts
            .iter()
            .filter(|trace| trace.trace_id.to_string() == TRACE)
            .collect();
        assert!(
            transcripts
                .iter()
                .any(|trace| trace.trace_id.to_string() == front_traces[0]),
            "follow={follow}: the sampled request continues at the speech service"
        );
        if follow {
            assert!(in_trace.is_empty(), "the speech service decided the same");
            continue;
        }
        assert_eq!(
            in_trace.len(),
            1,
            "a public edge samples the call in itself"
        );
        let parent = in_trace[0].parent_span_id.expect("a parent").to_string();
        assert_ne!(
            parent, PARENT,
            "the server's span is the speech call's parent"
        );
        let dsc = speech_receiver
            .received_envelopes()
            .into_iter()
            .find_map(|(header, _)| {
                let header: serde_json::Value = serde_json::from_str(&header).unwrap();
                let trace = header.get("trace")?.clone();
                (trace["trace_id"] == TRACE).then_some(trace)
            })
            .expect("the envelope of the speech transaction carries the trace's DSC");
        assert_eq!(dsc["sampled"], "false", "{dsc}");
        assert_eq!(dsc["transaction"], "GET /calls/{id}/transcript", "{dsc}");
    }
}
