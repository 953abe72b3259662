//! A handler that panics while Sentry hangs: the panic is reported and answered 500 at once.
//! The SDK's own panic hook flushes the client on every panic, which would hold a tokio worker
//! for the whole flush timeout (2 s) each time Sentry is slow.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use vk_monitor::Monitor;
use vk_monitor_tests::http_get;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_answered_at_once_while_sentry_hangs() {
    // Accepts connections and never answers: a send waits for its 5 s timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    let monitor = Monitor::builder("panics-with-sentry", "0.0.1")
        .config(|config| {
            config
                .sentry_dsn(format!("http://public@{silent_addr}/42"))
                .enable_metrics(false)
        })
        .install()
        .unwrap();
    assert!(monitor.sentry_enabled());
    let app = Router::new()
        .route(
            "/crash",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("the handler gave up");
                }
                "unreachable"
            }),
        )
        .layer(monitor.layer());
    let addr = vk_monitor_tests::serve(app).await;

    // The first panic of the process resolves a backtrace (the panic event carries one), which
    // reads the binary's debug info: slow on a cold machine, and not what this test measures.
    assert_eq!(http_get(addr, "/crash").await.status, 500);
    for attempt in 0..3 {
        let start = Instant::now();
        let response = http_get(addr, "/crash").await;
        let took = start.elapsed();
        assert_eq!(response.status, 500);
        assert!(
            took < Duration::from_millis(500),
            "panic {attempt} was answered after {took:?}: the panic hook waited for Sentry"
        );
    }
}
