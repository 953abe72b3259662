//! The server of the HTTP overhead benchmark (`scripts/bench-http.sh`), not an example to copy.
//!
//! `http_bench MODE ADDR` serves `GET /hello` and `GET /users/{id}` on ADDR with one tokio
//! worker thread, so that a load generator on the same machine has the other core. MODE is:
//!
//! - `bare`: the routes alone;
//! - `vk-monitor`: `vk_monitor::init!()`, `/metrics` merged in, `monitor.layer()` around all;
//! - `axum-prometheus`: `PrometheusMetricLayer::pair()`, its `/metrics` route and layer, for
//!   comparison; it needs `--features bench-compare`.
//!
//! ADDR defaults to `127.0.0.1:0` (a free port). Once listening, the server prints
//! `listening on IP:PORT` on its own line, and serves until it is killed.

use std::error::Error;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;

const USAGE: &str = "usage: http_bench bare|vk-monitor|axum-prometheus [ADDR]";

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

fn vk_monitor_app() -> Result<Router, Box<dyn Error>> {
    let monitor = vk_monitor::init!()?;
    Ok(routes().merge(monitor.router()).layer(monitor.layer()))
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
    let app = match mode.as_str() {
        "bare" => routes(),
        "vk-monitor" => vk_monitor_app()?,
        "axum-prometheus" => axum_prometheus_app()?,
        other => return Err(format!("unknown mode {other:?}; {USAGE}").into()),
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // Spawned, so that the accept loop runs on the one worker too, not on the main thread.
    runtime.block_on(async move {
        tokio::spawn(async move { serve(mode, addr).await.map_err(|err| err.to_string()) })
            .await
            .map_err(|err| err.to_string())?
    })?;
    Ok(())
}
