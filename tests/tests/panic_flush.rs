//! A panic outside the HTTP layer (in a spawned task) while Sentry hangs: its event is
//! reported, and the tokio worker it happened on is not held by a flush. The worker is the
//! runtime's only one, so a held worker would delay the next task by the flush timeout (2 s).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use vk_monitor::Monitor;

#[test]
fn a_panic_in_a_task_never_holds_its_worker_while_sentry_hangs() {
    // Accepts connections and never answers: every send waits for the transport's timeout.
    let hangs = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hangs.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in hangs.incoming() {
            held.push(socket);
        }
    });
    let monitor = Monitor::builder("panic-flush", "1.0.0")
        .config(|config| {
            config
                .sentry_dsn(format!("http://public@{addr}/42"))
                .enable_metrics(false)
        })
        .install()
        .unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let delays = runtime.block_on(async {
        let mut delays = Vec::new();
        for round in 0..4 {
            let start = Instant::now();
            let panicked = tokio::spawn(async move { panic!("background job {round} failed") });
            let next = tokio::spawn(async {});
            assert!(panicked.await.unwrap_err().is_panic());
            next.await.unwrap();
            delays.push(start.elapsed());
        }
        delays
    });
    // A flush on the worker would hold it for the flush timeout each round. The first round
    // also loads the debug symbols the panic's stack trace is resolved with (most of a
    // second in a debug build), which is not what this measures.
    for delay in &delays[1..] {
        assert!(
            *delay < Duration::from_millis(500),
            "the worker was held for {delays:?} after a panic"
        );
    }
    drop(monitor);
}
