//! The speech service alone, as its own process: `cargo run --example speech`, then
//! `SPEECH_URL=http://127.0.0.1:3001 cargo run --example server`. Monitored like any service:
//! `/metrics`, `/health`, `/ready` and, with `SENTRY_DSN`, transactions that continue the
//! voice-call server's traces.
//!
//! Environment (all optional), besides vk-monitor's own: `LISTEN_ADDR` (default
//! `127.0.0.1:3001`), `SPEECH_FAILURE_RATE` (default `0.1`), `SPEECH_LATENCY_MS` (default
//! `20..400`), `SHUTDOWN_DRAIN_MS` (default `5000`). A variable set but empty is invalid;
//! invalid ones are named together with vk-monitor's and stop start-up.

#[path = "server/speech_service.rs"]
mod speech_service;
#[path = "server/startup.rs"]
mod startup;

use std::error::Error;
use std::process::ExitCode;

use speech_service::SpeechSettings;
use vk_monitor::AppSettings;

#[tokio::main]
async fn main() -> ExitCode {
    startup::main("speech", run()).await
}

async fn run() -> Result<(), Box<dyn Error>> {
    let mut app_settings = AppSettings::from_env();
    let listen = startup::listen_addr(&mut app_settings, "127.0.0.1:3001");
    let settings = SpeechSettings::read(&mut app_settings);
    let drain = startup::drain(&mut app_settings);
    let monitor = vk_monitor::Monitor::builder("speech", env!("CARGO_PKG_VERSION"))
        .app_settings(app_settings)
        .layer(|layer| layer.log_requests(true))
        .install()?;
    let app = speech_service::routes(settings)
        .merge(monitor.router())
        .layer(monitor.layer());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(listen = %format!("http://{}", listener.local_addr()?), "speech listening");
    startup::serve("speech", listener, app, monitor, drain).await
}
