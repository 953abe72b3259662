//! The example server with `SENTRY_DSN` pointing at a loopback receiver, as a new user would
//! run it: the failing transcript route yields a transaction with the handler, database and
//! provider spans, and one error event tagged with release and environment, with no personal
//! data. `.ci/run` runs it: `cargo test -p vk-monitor-tests --test example_sentry -- --ignored`.

use std::time::Duration;

use sentry::protocol::{Context, Event};
use vk_monitor_tests::load::ExampleServer;
use vk_monitor_tests::{SentryReceiver, http_request};

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

    let created = http_request(
        addr,
        "POST",
        "/calls",
        r#"{"caller":"+447700900123","callee":"support"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = serde_json::from_str::<serde_json::Value>(&created.body).unwrap()["id"]
        .as_i64()
        .unwrap();
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
    let failures: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.contexts.get("trace"), Some(Context::Trace(t)) if t.trace_id == trace.trace_id))
        .collect();
    assert_eq!(failures.len(), 1, "one event for one failure: {failures:?}");
    let event = failures[0];
    assert_eq!(
        event.tags.get("function").map(String::as_str),
        Some("SpeechProvider::transcribe")
    );
    assert_eq!(event.release.as_deref(), Some("voice-calls@0.1.0"));
    assert_eq!(event.environment.as_deref(), Some("staging"));
    let everything =
        serde_json::to_string(&transactions).unwrap() + &serde_json::to_string(&events).unwrap();
    for personal in ["+447700900123", "token=abc"] {
        assert!(!everything.contains(personal), "{personal} reached Sentry");
    }
}
