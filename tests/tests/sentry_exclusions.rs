//! Routes excluded through the monitor's builder are left out by Sentry too, with the real
//! transport against a loopback receiver: a transaction named after an excluded route is never
//! sampled and an event from a path under an excluded template is dropped, while the same for a
//! route that is not excluded is sent.

use std::time::Duration;

use sentry::protocol::{Event, Level, Request};
use vk_monitor_tests::SentryReceiver;

#[test]
fn routes_excluded_on_the_builder_are_left_out_of_sentry() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(SentryReceiver::start());
    let monitor = receiver
        .monitor_builder("sentry-exclusions", "1.0.0")
        .layer(|layer| layer.exclude("/internal/{id}"))
        .install()
        .expect("a valid configuration");

    let hub = sentry::Hub::main();
    for path in ["/internal/42", "/calls/7"] {
        hub.capture_event(Event {
            level: Level::Error,
            message: Some(format!("failed at {path}")),
            request: Some(Request {
                url: format!("http://voice-calls{path}").parse().ok(),
                ..Request::default()
            }),
            ..Event::default()
        });
    }
    for route in ["/internal/{id}", "/calls/{id}"] {
        let context = sentry::TransactionContext::new(&format!("GET {route}"), "http.server");
        hub.start_transaction(context).finish();
    }
    assert!(monitor.flush(Duration::from_secs(5)), "everything was sent");

    let (transactions, events) = receiver.received();
    let messages: Vec<_> = events.iter().filter_map(|e| e.message.as_deref()).collect();
    assert_eq!(messages, ["failed at /calls/7"]);
    let names: Vec<_> = transactions
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    assert_eq!(names, ["GET /calls/{id}"]);
}
