//! The server of the HTTP overhead benchmark (`scripts/bench-http.sh`), not an example to copy.
//!
//! `http_bench MODE ADDR` serves `GET /hello` and `GET /users/{id}` on ADDR with one tokio
//! worker thread (named `bench-worker`), so that a load generator on the same machine has the
//! other core; `HTTP_BENCH_WORKERS=N` runs N workers instead (all named `bench-worker`), to
//! see what the layer costs when several cores serve the same route. MODE is:
//!
//! - `bare`: the routes alone;
//! - `vk-monitor`: a monitor installed with `vk_monitor::Monitor::builder(..)` under this
//!   crate's name and version, `/metrics` merged in, `monitor.layer()` around all; metrics on and Sentry off, set in code so that the
//!   environment and a `.env` file change nothing;
//! - `vk-monitor-sentry-0`, `vk-monitor-sentry-1`: the same with a Sentry client sending to the
//!   DSN in `HTTP_BENCH_SENTRY_DSN`, `traces_sample_rate` 0 (every request sampled out) or 1
//!   (every request a transaction);
//! - `axum-prometheus`: `PrometheusMetricLayer::pair()`, its `/metrics` route and layer, for
//!   comparison; it needs `--features bench-compare`;
//! - `receiver`: not a server under test but a stand-in Sentry ingestion endpoint, run as its
//!   own process so that its CPU is not counted with the server's. It answers 200 to
//!   `POST /api/{project}/envelope/`, counting envelopes, the transactions in them and bytes,
//!   and reports the counts on `GET /stats` as `envelopes=N transactions=N bytes=N`.
//!
//! ADDR defaults to `127.0.0.1:0` (a free port). Once listening, the server prints
//! `listening on IP:PORT` on its own line, and serves until it is killed.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::routing::{get, post};

const USAGE: &str = "usage: http_bench bare|vk-monitor|vk-monitor-sentry-0|vk-monitor-sentry-1|\
                     axum-prometheus|receiver [ADDR]";

/// Where the `vk-monitor-sentry-*` modes send envelopes.
const DSN_VAR: &str = "HTTP_BENCH_SENTRY_DSN";
/// How many tokio worker threads serve; 1 when unset.
const WORKERS_VAR: &str = "HTTP_BENCH_WORKERS";

fn worker_threads() -> Result<usize, Box<dyn Error>> {
    let Ok(value) = std::env::var(WORKERS_VAR) else {
        return Ok(1);
    };
    match value.trim().parse::<usize>() {
        Ok(workers) if workers >= 1 => Ok(workers),
        _ => Err(format!("invalid {WORKERS_VAR}={value:?}: expected a whole number >= 1").into()),
    }
}

async fn hello() -> &'static str {
    "hello\n"
}

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}\n")
}

fn routes() -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/users/{id}", get(user))
}

/// Our layer, with Sentry off (`None`) or sending to a DSN with a traces sample rate. Every
/// setting is made in code. The monitor owns the Sentry client: keep it while serving.
fn vk_monitor_app(
    sentry: Option<(String, f64)>,
) -> Result<(Router, vk_monitor::Monitor), Box<dyn Error>> {
    let (dsn, rate) = sentry.unwrap_or_default(); // an empty DSN: Sentry off
    let monitor = vk_monitor::Monitor::builder(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .config(|config| {
            config
                .enable_metrics(true)
                .sentry_dsn(dsn)
                .traces_sample_rate(rate)
                .apm_enabled(true)
                .environment("bench")
                .send_default_pii(false)
                .debug(false)
        })
        .install()?;
    let app = routes().merge(monitor.router()).layer(monitor.layer());
    Ok((app, monitor))
}

fn sentry_dsn() -> Result<String, Box<dyn Error>> {
    std::env::var(DSN_VAR).map_err(|_| {
        format!(
            "the vk-monitor-sentry-* modes send to the DSN in {DSN_VAR}, such as \
             http://public@127.0.0.1:PORT/1 for a `receiver` on PORT"
        )
        .into()
    })
}

/// What the stand-in ingestion endpoint has received.
#[derive(Default)]
struct Received {
    envelopes: AtomicU64,
    transactions: AtomicU64,
    bytes: AtomicU64,
}

/// A stand-in Sentry ingestion endpoint: answers every envelope with 200 and counts it.
fn receiver_app() -> Router {
    let received = Arc::new(Received::default());
    let counts = Arc::clone(&received);
    Router::new()
        .route(
            "/api/{project}/envelope/",
            post(move |body: Bytes| async move {
                received.envelopes.fetch_add(1, Ordering::Relaxed);
                received
                    .transactions
                    .fetch_add(transactions_in(&body), Ordering::Relaxed);
                received
                    .bytes
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                "{}"
            }),
        )
        .route(
            "/stats",
            get(move || async move {
                format!(
                    "envelopes={} transactions={} bytes={}\n",
                    counts.envelopes.load(Ordering::Relaxed),
                    counts.transactions.load(Ordering::Relaxed),
                    counts.bytes.load(Ordering::Relaxed),
                )
            }),
        )
}

/// The transaction items of an envelope, counted by their item headers (one JSON line each,
/// `{"type":"transaction","length":N}`, before the item's payload line).
fn transactions_in(envelope: &[u8]) -> u64 {
    const ITEM_HEADER: &[u8] = br#"{"type":"transaction","length":"#;
    envelope
        .split(|&byte| byte == b'\n')
        .filter(|line| line.starts_with(ITEM_HEADER))
        .count() as u64
}

/// Must run inside the runtime: `pair()` spawns the recorder's upkeep task.
#[cfg(feature = "bench-compare")]
fn axum_prometheus_app() -> Result<Router, Box<dyn Error>> {
    let (layer, handle) = axum_prometheus::PrometheusMetricLayer::pair();
    Ok(routes()
        .route("/metrics", get(move || async move { handle.render() }))
        .layer(layer))
}

#[cfg(not(feature = "bench-compare"))]
fn axum_prometheus_app() -> Result<Router, Box<dyn Error>> {
    Err(
        "mode axum-prometheus needs the comparison library: build with \
         `--features bench-compare` (cargo build --release -p vk-monitor-examples \
         --features bench-compare --example http_bench)"
            .into(),
    )
}

async fn serve(mode: String, addr: SocketAddr) -> Result<(), Box<dyn Error>> {
    let (app, monitor) = match mode.as_str() {
        "bare" => (routes(), None),
        "vk-monitor" => with_monitor(vk_monitor_app(None)?),
        "vk-monitor-sentry-0" => with_monitor(vk_monitor_app(Some((sentry_dsn()?, 0.0)))?),
        "vk-monitor-sentry-1" => with_monitor(vk_monitor_app(Some((sentry_dsn()?, 1.0)))?),
        "axum-prometheus" => (axum_prometheus_app()?, None),
        "receiver" => (receiver_app(), None),
        other => return Err(format!("unknown mode {other:?}; {USAGE}").into()),
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    drop(monitor);
    Ok(())
}

fn with_monitor(
    (app, monitor): (Router, vk_monitor::Monitor),
) -> (Router, Option<vk_monitor::Monitor>) {
    (app, Some(monitor))
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or(USAGE)?;
    let addr: SocketAddr = args
        .next()
        .as_deref()
        .unwrap_or("127.0.0.1:0")
        .parse()
        .map_err(|err| format!("invalid ADDR: {err}; {USAGE}"))?;

    // The workers are named so that their CPU time can be told from the Sentry transport
    // thread's.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads()?)
        .thread_name("bench-worker")
        .enable_all()
        .build()?;
    // Spawned, so that the accept loop runs on a worker too, not on the main thread.
    runtime.block_on(async move {
        tokio::spawn(async move { serve(mode, addr).await.map_err(|err| err.to_string()) })
            .await
            .map_err(|err| err.to_string())?
    })?;
    Ok(())
}
