//! Exact counts under contention, read from the real exporter's exposition: one monitored fn
//! called from 2 and 8 threads at once, threads that exit half way while others go on (their
//! counts must be neither lost nor counted twice), more threads than the per-thread storage
//! has copies for, async calls that enter on one worker and leave on another, and many
//! concurrent requests on one route of a real server.
//!
//! The default sizes run in seconds in a debug build; the full-size run (1,000,000 calls per
//! thread, about 20 s in a debug build on two cores) is `#[ignore]`d and run by CI explicitly:
//!
//! ```text
//! cargo test -p vk-monitor-tests --test contention -- --ignored
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use axum::Router;
use axum::routing::get;
use http::Method;
use vk_monitor::http::MonitorLayer;
use vk_monitor::monitored;
use vk_monitor_tests::load::{Mix, Planned, drive};
use vk_monitor_tests::{exporter, serve, value};

const MODULE: &str = module_path!();
/// Calls per thread in the default run.
const CALLS: u64 = 100_000;
/// Calls per thread in the full-size run.
const FULL_CALLS: u64 = 1_000_000;

/// What one render says about `function`: ok calls, the ok histogram's `_count`, and the
/// in-flight gauge.
#[derive(Debug, PartialEq)]
struct Seen {
    calls: f64,
    histogram_count: f64,
    in_flight: f64,
}

fn seen(function: &str) -> Seen {
    let text = exporter().render();
    let ok = [("function", function), ("module", MODULE), ("result", "ok")];
    let site = [("function", function), ("module", MODULE)];
    Seen {
        calls: value(&text, "function_calls_total", &ok).unwrap_or(0.0),
        histogram_count: value(&text, "function_call_duration_seconds_count", &ok).unwrap_or(0.0),
        in_flight: value(&text, "function_calls_in_flight", &site).unwrap_or(0.0),
    }
}

fn exactly(calls: u64) -> Seen {
    Seen {
        calls: calls as f64,
        histogram_count: calls as f64,
        in_flight: 0.0,
    }
}

/// Renders over and over until `done`: every count only grows, and in flight is never
/// negative nor more than the threads that can be inside a call.
fn scrape_until(done: &AtomicBool, function: &str, threads: usize) -> usize {
    let mut last = seen(function);
    let mut renders = 0;
    while !done.load(Ordering::Acquire) {
        let now = seen(function);
        assert!(
            now.calls >= last.calls,
            "calls went down: {last:?} then {now:?}"
        );
        assert!(
            now.histogram_count >= last.histogram_count,
            "{last:?} then {now:?}"
        );
        assert!(
            (0.0..=threads as f64).contains(&now.in_flight),
            "{threads} threads, {now:?}"
        );
        last = now;
        renders += 1;
    }
    renders
}

/// `threads` threads call `f` `calls` times each, started together, while another thread
/// renders the exposition; then the exposition counts every call.
fn hammer(function: &str, f: fn(u64) -> u64, threads: usize, calls: u64) {
    exporter();
    let before = seen(function).calls as u64;
    let start = Barrier::new(threads);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let scraper = scope.spawn(|| scrape_until(&done, function, threads));
        let callers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    (0..calls).fold(0, |sum, i| sum + f(i))
                })
            })
            .collect();
        for caller in callers {
            caller.join().expect("a calling thread");
        }
        done.store(true, Ordering::Release);
        scraper.join().expect("the scraping thread")
    });
    assert_eq!(seen(function), exactly(before + threads as u64 * calls));
}

#[monitored]
fn two_on_one_site(i: u64) -> u64 {
    i & 1
}

#[monitored]
fn eight_on_one_site(i: u64) -> u64 {
    i & 1
}

#[monitored]
fn many_on_one_site(i: u64) -> u64 {
    i & 1
}

#[monitored]
fn leavers_site(i: u64) -> u64 {
    i & 1
}

#[test]
fn two_threads_on_one_site_count_every_call() {
    hammer("two_on_one_site", two_on_one_site, 2, CALLS);
}

#[test]
fn eight_threads_on_one_site_count_every_call() {
    hammer("eight_on_one_site", eight_on_one_site, 8, CALLS);
}

/// More threads alive at once than there are per-thread copies (twice the cores, at most 256):
/// the rest share one copy, with atomic adds.
#[test]
fn more_threads_than_copies_count_every_call() {
    hammer("many_on_one_site", many_on_one_site, 300, 2_000);
}

/// Half the threads exit half way and are replaced by new ones that make the other half of
/// their calls, on copies the leavers gave back; the others go on throughout.
fn leave_half_way(function: &str, f: fn(u64) -> u64, threads: usize, calls: u64) {
    exporter();
    let before = seen(function).calls as u64;
    let half = calls / 2;
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let scraper = scope.spawn(|| scrape_until(&done, function, threads));
        let stayers: Vec<_> = (0..threads / 2)
            .map(|_| scope.spawn(move || (0..calls).fold(0, |sum, i| sum + f(i))))
            .collect();
        for _ in 0..threads / 2 {
            let first = std::thread::spawn(move || (0..half).fold(0, |sum, i| sum + f(i)));
            first.join().expect("a thread that leaves half way");
            // The first half is counted, by a thread that no longer exists.
            let second = std::thread::spawn(move || (half..calls).fold(0, |sum, i| sum + f(i)));
            second.join().expect("the thread that takes over");
        }
        for stayer in stayers {
            stayer.join().expect("a thread that stays");
        }
        done.store(true, Ordering::Release);
        scraper.join().expect("the scraping thread")
    });
    assert_eq!(seen(function), exactly(before + threads as u64 * calls));
}

#[test]
fn threads_that_exit_half_way_hand_their_counts_over_once() {
    leave_half_way("leavers_site", leavers_site, 8, CALLS);
}

#[monitored]
async fn hopping(i: u64) -> u64 {
    // Suspends, so that the call can resume on another worker: it enters on one thread and
    // exits on another.
    tokio::task::yield_now().await;
    i & 1
}

#[test]
fn async_calls_that_move_between_workers_leave_nothing_in_flight() {
    exporter();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .expect("a runtime");
    let (tasks, calls) = (64, 2_000);
    runtime.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                tokio::spawn(async move {
                    let mut sum = 0;
                    for i in 0..calls {
                        sum += hopping(i).await;
                    }
                    sum
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("a task");
        }
    });
    drop(runtime);
    assert_eq!(seen("hopping"), exactly(tasks * calls));
}

struct OneRoute;

impl Mix for OneRoute {
    fn next(&self) -> Planned {
        Planned::new(Method::GET, "/hot/1", "/hot/{id}")
    }
}

/// Many keep-alive connections on one route of a real server with four workers: every
/// request is counted once, and none is left in flight.
#[test]
fn concurrent_requests_on_one_route_count_every_request() {
    exporter();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime");
    let requests = 4_000;
    runtime.block_on(async {
        let app = Router::new()
            .route("/hot/{id}", get(|| async { "hot" }))
            .layer(MonitorLayer::new());
        let addr = serve(app).await;
        let tally = drive(addr, Arc::new(OneRoute), requests, 32).await;
        assert_eq!(tally.failed, 0, "{:?}", tally.failures);
        assert_eq!(tally.count("/hot/{id}", |status| status == 200), requests);
    });
    drop(runtime);
    let text = exporter().render();
    let labels = [("method", "GET"), ("route", "/hot/{id}"), ("status", "200")];
    let site = [("method", "GET"), ("route", "/hot/{id}")];
    assert_eq!(
        value(&text, "http_requests_total", &labels),
        Some(requests as f64)
    );
    assert_eq!(
        value(&text, "http_request_duration_seconds_count", &labels),
        Some(requests as f64)
    );
    assert_eq!(value(&text, "http_requests_in_flight", &site), Some(0.0));
}

#[monitored]
fn two_on_one_site_full(i: u64) -> u64 {
    i & 1
}

#[monitored]
fn eight_on_one_site_full(i: u64) -> u64 {
    i & 1
}

#[monitored]
fn leavers_site_full(i: u64) -> u64 {
    i & 1
}

/// The full size: 1,000,000 calls per thread, from 2 and from 8 threads, and with leavers.
#[test]
#[ignore = "full size, about 20 s in a debug build: run by CI with --ignored"]
fn a_million_calls_per_thread_count_exactly() {
    hammer("two_on_one_site_full", two_on_one_site_full, 2, FULL_CALLS);
    hammer(
        "eight_on_one_site_full",
        eight_on_one_site_full,
        8,
        FULL_CALLS,
    );
    leave_half_way("leavers_site_full", leavers_site_full, 8, FULL_CALLS);
}
