//! `MonitorBuilder::sentry_options` with the real transport against a loopback receiver: the
//! application's options reach the client, its `before_send` runs after the crate's filters
//! (it never sees what they drop, nor the headers the allow-list removes) and can drop an
//! event; the options the configuration owns cannot be changed there; and a client the
//! application started itself is refused, not doubled.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use sentry::protocol::{Event, Level};
use vk_monitor::{InitError, monitored};
use vk_monitor_tests::{SentryReceiver, in_child_process, is_child_process, raw_request, serve};

#[monitored]
async fn charge() -> Result<&'static str, StatusCode> {
    Err(StatusCode::BAD_GATEWAY)
}

fn message(text: &str) -> Event<'static> {
    Event {
        level: Level::Error,
        message: Some(text.to_owned()),
        ..Event::default()
    }
}

#[test]
fn the_applications_options_and_before_send_come_after_the_crates() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(SentryReceiver::start());

    // An option the configuration owns is refused, naming where it is set; nothing starts.
    let refused = receiver
        .monitor_builder("sentry-options", "1.0.0")
        .sentry_options(|options| options.environment = Some("elsewhere".into()))
        .install()
        .unwrap_err();
    assert!(
        matches!(
            refused,
            InitError::SentryOption {
                field: "environment",
                ..
            }
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("APM_ENVIRONMENT"), "{refused}");
    assert!(
        sentry::Hub::main().client().is_none(),
        "no client was started"
    );

    let seen: Arc<Mutex<Vec<Event<'static>>>> = Arc::default();
    let seen_by_app = Arc::clone(&seen);
    let monitor = receiver
        .monitor_builder("sentry-options", "1.0.0")
        .ignore_error("ConnectionReset")
        .sentry_options(|options| options.server_name = Some("pod-7".into()))
        .sentry_options(move |options| {
            options.before_send = Some(Arc::new(move |mut event: Event<'static>| {
                seen_by_app.lock().unwrap().push(event.clone());
                if event.message.as_deref() == Some("drop me") {
                    return None;
                }
                event.tags.insert("seen_by".into(), "application".into());
                Some(event)
            }));
        })
        .install()
        .expect("options the configuration does not own");

    let hub = sentry::Hub::main();
    for text in ["kept", "drop me", "upstream: ConnectionReset"] {
        hub.capture_event(message(text));
    }
    let app = Router::new()
        .route("/charge", get(charge))
        .layer(monitor.layer());
    let status = runtime.block_on(async {
        let addr = serve(app).await;
        let request = "GET /charge HTTP/1.1\r\nHost: api.test\r\nAuthorization: Bearer hunter2-secret\r\n\
                       X-Api-Key: k-0123456789\r\nConnection: close\r\n\r\n";
        raw_request(addr, request.as_bytes()).await.status
    });
    assert_eq!(status, 502);
    assert!(monitor.flush(Duration::from_secs(5)), "everything was sent");

    let (_, events) = receiver.received();
    let messages: Vec<Option<&str>> = events.iter().map(|e| e.message.as_deref()).collect();
    assert!(messages.contains(&Some("kept")), "{messages:?}");
    assert!(
        !messages.contains(&Some("drop me")),
        "the application dropped it: {messages:?}"
    );
    for event in &events {
        assert_eq!(event.server_name.as_deref(), Some("pod-7"));
        assert_eq!(
            event.tags.get("seen_by").map(String::as_str),
            Some("application")
        );
    }
    let request_event = events
        .iter()
        .find(|e| e.request.is_some())
        .expect("the failed request's event");
    assert_eq!(
        request_event.tags.get("seen_by").map(String::as_str),
        Some("application")
    );

    let seen = seen.lock().unwrap();
    let seen_messages: Vec<Option<&str>> = seen.iter().map(|e| e.message.as_deref()).collect();
    assert!(
        !seen_messages.contains(&Some("upstream: ConnectionReset")),
        "an ignored error never reaches the application's before_send: {seen_messages:?}"
    );
    assert_eq!(
        seen.len(),
        events.len() + 1,
        "all that was sent, and the one dropped"
    );
    let seen_request = seen
        .iter()
        .find_map(|e| e.request.as_ref())
        .expect("the application saw the request's event");
    let headers = format!("{:?}", seen_request.headers).to_ascii_lowercase();
    assert!(headers.contains("host"), "{headers}");
    assert!(
        !headers.contains("hunter2") && !headers.contains("k-0123456789"),
        "the allow-list ran first: {headers}"
    );
}

/// The application's own transport, whatever it is: what the test checks happens before a
/// single event.
struct Discard;

impl sentry::Transport for Discard {
    fn send_envelope(&self, _: sentry::Envelope) {}
}

#[test]
fn a_client_the_application_started_is_refused_not_doubled() {
    // In a child process: this binary's other test starts the crate's client.
    const NAME: &str = "a_client_the_application_started_is_refused_not_doubled";
    if !is_child_process(NAME) {
        in_child_process(NAME);
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(SentryReceiver::start());
    let mut options = sentry::ClientOptions::new();
    options.dsn = Some(receiver.dsn.parse().unwrap());
    options.transport = Some(Arc::new(|_: &sentry::ClientOptions| {
        Arc::new(Discard) as Arc<dyn sentry::Transport>
    }));
    let own = sentry::init(options);
    let error = receiver
        .monitor_builder("own-client", "1.0.0")
        .install()
        .unwrap_err();
    assert!(
        matches!(error, InitError::SentryAlreadyInitialized),
        "{error}"
    );
    assert!(error.to_string().contains("sentry_options"), "{error}");
    drop(own);
}
