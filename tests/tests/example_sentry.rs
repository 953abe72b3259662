//! The example server with `SENTRY_DSN` pointing at a loopback receiver, as a new user would
//! run it: the failing transcript route yields a transaction with the handler, database and
//! provider spans, and one error event tagged with release and environment, with no personal
//! data. `.ci/run` runs it: `cargo test -p vk-monitor-tests --test example_sentry -- --ignored`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sentry::protocol::{Context, Event};
use vk_monitor_tests::{SentryReceiver, http_request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the example server binary; .ci/run runs it"]
async fn the_failing_transcript_route_reaches_sentry() {
    let receiver = SentryReceiver::start().await;

    let exe = std::env::current_exe().unwrap();
    let server = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join("server");
    assert!(
        server.exists(),
        "{} is missing: `cargo test --workspace` builds it",
        server.display()
    );
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut child = Command::new(server)
        .env("LISTEN_ADDR", addr.to_string())
        .env("SENTRY_DSN", &receiver.dsn)
        .env("SENTRY_TRACES_SAMPLE_RATE", "1")
        .env("APM_ENVIRONMENT", "staging")
        .env("SPEECH_FAILURE_RATE", "1")
        .env("SPEECH_LATENCY_MS", "1..3")
        .env("SHUTDOWN_DRAIN_MS", "0")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the example server");
    let start = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

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
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let stop = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            stop.elapsed() < Duration::from_secs(10),
            "the server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

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
