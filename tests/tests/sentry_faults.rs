//! Sentry misbehaving: answering 429, accepting connections and never answering, or not
//! there at all. Calls stay fast, nothing panics, flushing returns within its bound, and every
//! envelope not delivered is counted in `sentry_envelopes_dropped_total{reason}`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use vk_monitor::{Monitor, monitored};
use vk_monitor_tests::{current, exporter};

#[monitored]
fn failing_payment(attempt: u32) -> Result<(), std::io::Error> {
    Err(std::io::Error::other(format!(
        "card declined on attempt {attempt}"
    )))
}

fn dropped(reason: &str) -> f64 {
    current("sentry_envelopes_dropped_total", &[("reason", reason)]).unwrap_or(0.0)
}

fn sentry_at(addr: SocketAddr) -> Monitor {
    Monitor::builder("sentry-faults", "0.0.1")
        .config(|config| {
            config
                .sentry_dsn(format!("http://public@{addr}/42"))
                .enable_metrics(false)
        })
        .install()
        .unwrap()
}

/// Time for `calls` failing calls, each of which sends an error event when Sentry is on.
fn time_calls(calls: u32) -> Duration {
    let start = Instant::now();
    for attempt in 0..calls {
        assert!(failing_payment(attempt).is_err());
    }
    start.elapsed()
}

#[test]
fn a_failing_sentry_never_slows_calls_and_every_loss_is_counted() {
    exporter();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let baseline = time_calls(300);

    // 429 with Retry-After: the first envelope is refused, the next ones are not even sent.
    let limited = runtime.block_on(async {
        let app = Router::new().route(
            "/api/42/envelope/",
            post(|| async {
                let mut headers = HeaderMap::new();
                headers.insert("retry-after", "60".parse().unwrap());
                (StatusCode::TOO_MANY_REQUESTS, headers)
            }),
        );
        vk_monitor_tests::serve(app).await
    });
    let monitor = sentry_at(limited);
    // Every reason is exported from the start, so the first drop of each is seen by rate().
    for reason in ["queue_full", "rate_limited", "network_error", "rejected"] {
        assert!(
            current("sentry_envelopes_dropped_total", &[("reason", reason)]).is_some(),
            "{reason} is not exported before its first drop"
        );
    }
    let before = dropped("rate_limited");
    time_calls(20);
    assert!(
        monitor.flush(Duration::from_secs(5)),
        "a rate-limited queue drains at once"
    );
    // At least the 20 events: the SDK may queue envelopes of its own (client reports) too.
    let limited_drops = dropped("rate_limited") - before;
    assert!(
        limited_drops >= 20.0,
        "every envelope is counted, none silently lost: {limited_drops}"
    );
    drop(monitor);

    // A receiver that accepts connections and never answers: the queue fills, calls go on.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        silent.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if let Ok((socket, _)) = silent.accept() {
                held.push(socket);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let monitor = sentry_at(silent_addr);
    let before = dropped("queue_full");
    let with_silent_sentry = time_calls(300);
    assert!(
        dropped("queue_full") - before > 0.0,
        "a full queue drops and counts"
    );
    assert!(
        with_silent_sentry < baseline * 50 + Duration::from_millis(300),
        "calls slowed down: {with_silent_sentry:?} against {baseline:?} with Sentry off"
    );
    let start = Instant::now();
    assert!(
        !monitor.flush(Duration::from_millis(300)),
        "nothing can be delivered"
    );
    drop(monitor);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "flush and shutdown took {:?}",
        start.elapsed()
    );

    // Nothing listens: each send fails at once and counts as a network error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let monitor = sentry_at(closed);
    let before = dropped("network_error");
    time_calls(5);
    assert!(monitor.flush(Duration::from_secs(5)));
    assert!(dropped("network_error") - before >= 5.0);
    drop(monitor);
    hold.join().unwrap();

    // A Sentry that hangs up on every connection: after two failures in a row sending pauses,
    // so the next envelopes are dropped where they are produced, without a connection each.
    let hangs_up = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hangs_up_addr = hangs_up.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&connections);
    std::thread::spawn(move || {
        for socket in hangs_up.incoming() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    let monitor = sentry_at(hangs_up_addr);
    let before = dropped("network_error");
    for attempt in 0..2 {
        assert!(failing_payment(attempt).is_err());
        assert!(monitor.flush(Duration::from_secs(5)));
    }
    time_calls(300);
    assert!(monitor.flush(Duration::from_secs(5)));
    let attempts = connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        dropped("network_error") - before >= 302.0,
        "every envelope is counted"
    );
    assert!(
        attempts <= 4,
        "{attempts} connections for 302 envelopes: failures must pause sending"
    );
    drop(monitor);
}
