//! Call overhead of `#[monitored]`: ns per call of a trivial sync fn and a trivial async fn
//! (polled once to completion, no runtime), side by side with the same fn bare, timed by a
//! `std::time::Instant` pair (the floor of any duration metric), recording the same metrics
//! through `metrics` macros with literal labels (the naive way), and under autometrics 3
//! `#[autometrics]`. The Prometheus exporter is installed first, so every variant records
//! into the real recorder.
//!
//! `counter_macro` measures `counter!` with a literal label set on every call, as business
//! metrics are often recorded: `unguarded` into a bare Prometheus recorder (set as the thread's
//! local recorder), `guarded` into the installed exporter, whose cardinality guard looks the
//! admitted label set up first, and `guarded_overflow` for a label set the guard refuses
//! (its metric is at its limit), which is recorded in the overflow series.
//!
//! `threads` runs the sync and async monitored fns on two threads at once, calling one site
//! or one site each, against one thread: what sharing a site across cores costs.
//!
//! The last group measures `#[monitored]` again with a Sentry client running and every call
//! sampled out (a DSN on a loopback port nobody listens on, `traces_sample_rate` 0). Starting
//! the client is process-wide and cannot be undone, so that group runs after all the others
//! and installs the client itself; it repeats `bare` and the `Instant` pair, which Sentry does
//! not touch, to show how much the machine drifted since the first groups.
//!
//! ```text
//! cargo bench -p vk-monitor --features bench-compare --bench overhead
//! ```
//!
//! Without the `bench-compare` feature the autometrics variant is left out.

use std::hint::black_box;
use std::pin::pin;
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::PrometheusBuilder;
use vk_monitor::metrics::DEFAULT_MAX_SERIES;
use vk_monitor::{Exporter, Monitor, monitored};

// The sync fns are `#[inline(never)]` so that each variant makes a real call, as across crates.

mod bare {
    #[inline(never)]
    pub fn add(a: u64, b: u64) -> u64 {
        a + b
    }

    pub async fn add_async(a: u64, b: u64) -> u64 {
        a + b
    }
}

/// Times `$body` with an `Instant` pair and discards the duration.
macro_rules! timed {
    ($body:expr) => {{
        let start = Instant::now();
        let out = $body;
        black_box(start.elapsed());
        out
    }};
}

mod instant_pair {
    use super::*;

    #[inline(never)]
    pub fn add(a: u64, b: u64) -> u64 {
        timed!(a + b)
    }

    pub async fn add_async(a: u64, b: u64) -> u64 {
        timed!(a + b)
    }
}

mod monitored {
    use super::*;

    #[monitored]
    #[inline(never)]
    pub fn add(a: u64, b: u64) -> u64 {
        a + b
    }

    #[monitored]
    pub async fn add_async(a: u64, b: u64) -> u64 {
        a + b
    }

    /// A second site, for two threads that each call their own.
    #[monitored]
    #[inline(never)]
    pub fn add_other(a: u64, b: u64) -> u64 {
        a + b
    }
}

/// What `#[monitored]` records on the Ok path, through `metrics` macros with literal labels:
/// every call looks its series up by name and labels.
macro_rules! record_naively {
    ($function:literal, $body:expr) => {{
        let in_flight = gauge!(
            "function_calls_in_flight", "function" => $function, "module" => "overhead"
        );
        in_flight.increment(1.0);
        let start = Instant::now();
        let out = $body;
        let elapsed = start.elapsed().as_secs_f64();
        counter!(
            "function_calls_total",
            "function" => $function, "module" => "overhead", "result" => "ok"
        )
        .increment(1);
        histogram!(
            "function_call_duration_seconds",
            "function" => $function, "module" => "overhead", "result" => "ok"
        )
        .record(elapsed);
        in_flight.decrement(1.0);
        out
    }};
}

mod metrics_macros {
    use super::*;

    #[inline(never)]
    pub fn add(a: u64, b: u64) -> u64 {
        record_naively!("add", a + b)
    }

    pub async fn add_async(a: u64, b: u64) -> u64 {
        record_naively!("add_async", a + b)
    }
}

#[cfg(feature = "bench-compare")]
mod autometrics {
    use autometrics::autometrics;

    #[autometrics]
    #[inline(never)]
    pub fn add(a: u64, b: u64) -> u64 {
        a + b
    }

    #[autometrics]
    pub async fn add_async(a: u64, b: u64) -> u64 {
        a + b
    }
}

/// Polls a future that never waits to completion.
fn poll_once<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the benchmarked futures complete on their first poll"),
    }
}

/// Benchmarks `f(1, 2)`, with both inputs and the output black-boxed (`iter` does the output).
fn variant<T>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, f: impl Fn(u64, u64) -> T) {
    group.bench_function(name, |b| b.iter(|| f(black_box(1), black_box(2))));
}

fn sync_fn(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync");
    variant(&mut group, "bare", bare::add);
    variant(&mut group, "instant_pair", instant_pair::add);
    variant(&mut group, "monitored", monitored::add);
    variant(&mut group, "metrics_macros", metrics_macros::add);
    #[cfg(feature = "bench-compare")]
    variant(&mut group, "autometrics", autometrics::add);
    group.finish();
}

fn async_fn(c: &mut Criterion) {
    let mut group = c.benchmark_group("async");
    variant(&mut group, "bare", |a, b| poll_once(bare::add_async(a, b)));
    variant(&mut group, "instant_pair", |a, b| {
        poll_once(instant_pair::add_async(a, b))
    });
    variant(&mut group, "monitored", |a, b| {
        poll_once(monitored::add_async(a, b))
    });
    variant(&mut group, "metrics_macros", |a, b| {
        poll_once(metrics_macros::add_async(a, b))
    });
    #[cfg(feature = "bench-compare")]
    variant(&mut group, "autometrics", |a, b| {
        poll_once(autometrics::add_async(a, b))
    });
    group.finish();
}

fn counter_macro(c: &mut Criterion) {
    let mut group = c.benchmark_group("counter_macro");
    let bare = PrometheusBuilder::new().build_recorder();
    group.bench_function("unguarded", |b| {
        metrics::with_local_recorder(&bare, || {
            b.iter(|| counter!("bench_orders_total", "customer" => "42").increment(1));
        });
    });
    group.bench_function("guarded", |b| {
        b.iter(|| counter!("bench_orders_total", "customer" => "42").increment(1));
    });
    for customer in 0..DEFAULT_MAX_SERIES {
        counter!("bench_refused_total", "customer" => customer.to_string()).increment(1);
    }
    group.bench_function("guarded_overflow", |b| {
        b.iter(|| counter!("bench_refused_total", "customer" => "refused").increment(1));
    });
    group.finish();
}

/// Calls `f(1, 2)` `iters` times on each of `fns.len()` threads at once (thread `i` calls
/// `fns[i]`), started together; the time the slowest thread took. Per iteration, that is the
/// time of one call on each thread while the others call too.
fn on_threads(iters: u64, fns: &[fn(u64, u64) -> u64]) -> Duration {
    let start = Barrier::new(fns.len());
    std::thread::scope(|scope| {
        let threads: Vec<_> = fns
            .iter()
            .map(|&f| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    let began = Instant::now();
                    for _ in 0..iters {
                        black_box(f(black_box(1), black_box(2)));
                    }
                    began.elapsed()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a bench thread"))
            .max()
            .unwrap_or_default()
    })
}

fn sync_monitored_async(a: u64, b: u64) -> u64 {
    poll_once(monitored::add_async(a, b))
}

/// Two threads at once, each on a core of its own when the machine has two: the same
/// monitored fn on both (`same_site`), or one fn each (`different_sites`), against the same
/// loop on one thread. The `Instant` pair shows how the clock alone scales.
fn two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("threads");
    type Case = (&'static str, &'static [fn(u64, u64) -> u64]);
    let cases: [Case; 7] = [
        ("instant_pair_1", &[instant_pair::add]),
        ("instant_pair_2", &[instant_pair::add, instant_pair::add]),
        ("monitored_1", &[monitored::add]),
        ("monitored_same_site_2", &[monitored::add, monitored::add]),
        (
            "monitored_different_sites_2",
            &[monitored::add, monitored::add_other],
        ),
        ("async_monitored_1", &[sync_monitored_async]),
        (
            "async_monitored_same_site_2",
            &[sync_monitored_async, sync_monitored_async],
        ),
    ];
    for (name, fns) in cases {
        group.bench_function(name, |b| b.iter_custom(|iters| on_threads(iters, fns)));
    }
    group.finish();
}

/// `#[monitored]` with a `fmt` subscriber at `info` installed (writing to nowhere): the
/// call's `tracing` span is then created and entered on every call. Without a subscriber (the
/// groups above) it costs a load and a branch.
#[cfg(feature = "tracing")]
fn with_fmt_subscriber(c: &mut Criterion) {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut group = c.benchmark_group("fmt_subscriber_info");
        variant(&mut group, "sync_bare", bare::add);
        variant(&mut group, "sync_monitored", monitored::add);
        variant(&mut group, "async_bare", |a, b| {
            poll_once(bare::add_async(a, b))
        });
        variant(&mut group, "async_monitored", |a, b| {
            poll_once(monitored::add_async(a, b))
        });
        group.finish();
    });
}

#[cfg(not(feature = "tracing"))]
fn with_fmt_subscriber(_: &mut Criterion) {}

/// Where the Sentry client would send envelopes: the discard port of loopback, where nothing
/// listens. Calls sampled out send nothing, so nothing is ever sent there.
const UNREACHABLE_DSN: &str = "http://public@127.0.0.1:9/1";

/// Starts a Sentry client with every call sampled out, metrics left to the exporter already
/// installed. Everything is set in code, so the environment and `.env` change nothing.
fn sentry_sampled_out() -> Monitor {
    let monitor = Monitor::builder("overhead", "0.0.0")
        .config(|config| {
            config
                .enable_metrics(false)
                .sentry_dsn(UNREACHABLE_DSN)
                .traces_sample_rate(0.0)
                .apm_enabled(true)
                .environment("bench")
                .send_default_pii(false)
                .debug(false)
        })
        .install()
        .expect("start the Sentry client");
    assert!(monitor.sentry_enabled(), "the Sentry client runs");
    monitor
}

/// Must be the last group: from here on, every monitored call takes the Sentry path.
fn sentry_sampled_out_fns(c: &mut Criterion) {
    let monitor = sentry_sampled_out();
    let mut group = c.benchmark_group("sentry_sampled_out");
    variant(&mut group, "sync_bare", bare::add);
    variant(&mut group, "sync_instant_pair", instant_pair::add);
    variant(&mut group, "sync_monitored", monitored::add);
    variant(&mut group, "async_bare", |a, b| {
        poll_once(bare::add_async(a, b))
    });
    variant(&mut group, "async_instant_pair", |a, b| {
        poll_once(instant_pair::add_async(a, b))
    });
    variant(&mut group, "async_monitored", |a, b| {
        poll_once(monitored::add_async(a, b))
    });
    group.finish();
    drop(monitor);
}

criterion_group!(
    benches,
    sync_fn,
    async_fn,
    counter_macro,
    two_threads,
    with_fmt_subscriber,
    sentry_sampled_out_fns
);

fn main() {
    // Every variant records into the real recorder.
    Exporter::install().expect("install the Prometheus exporter");
    benches();
    Criterion::default().configure_from_args().final_summary();
}
