//! The speech service alone, as its own process: `cargo run --example speech`, then
//! `SPEECH_URL=http://127.0.0.1:3001 cargo run --example server`. Monitored like any service:
//! `/metrics`, `/health`, `/ready` and, with `SENTRY_DSN`, transactions that continue the
//! voice-call server's traces.
//!
//! Environment (all optional), besides vk-monitor's own: `LISTEN_ADDR` (default
//! `127.0.0.1:3001`), `SPEECH_FAILURE_RATE` (default `0.1`), `SPEECH_LATENCY_MS` (default
//! `20..400`).

#[path = "server/speech_service.rs"]
mod speech_service;

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;

use speech_service::{SpeechSettings, read};

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(error) = vk_monitor::tracing::init() {
        eprintln!("speech: {error}");
        return ExitCode::FAILURE;
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "speech could not start");
            eprintln!("speech: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let listen: SocketAddr = read(
        "LISTEN_ADDR",
        "127.0.0.1:3001",
        "a socket address such as 127.0.0.1:3001",
        |v| v.parse().ok(),
    )?;
    let settings = SpeechSettings::from_env()?;
    let monitor = vk_monitor::Monitor::builder("speech", env!("CARGO_PKG_VERSION"))
        .layer(|layer| layer.log_requests(true))
        .install()?;
    let app = speech_service::routes(settings)
        .merge(monitor.router())
        .layer(monitor.layer());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(listen = %format!("http://{}", listener.local_addr()?), "speech listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(monitor);
    Ok(())
}
