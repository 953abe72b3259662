//! A voice-call service, as a call-centre backend might run it, monitored with vk-monitor.
//!
//! `cargo run --example server`, then drive it with `cargo run --example traffic` and look at
//! `http://127.0.0.1:3000/metrics`. Every handler is `#[monitored]`, the repository's queries
//! are `#[monitored(op = "db.query")]`, the HTTP layer records every route, and the business
//! metrics `voice_calls_active`, `voice_call_duration_seconds` and `voice_calls_total{outcome}`
//! sit beside them.
//!
//! Environment (all optional), besides vk-monitor's own (`SENTRY_DSN`, `ENABLE_METRICS`,
//! `APM_ENVIRONMENT`, `HEALTH_SHOW_DETAILS`... see `.env.example`):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LISTEN_ADDR` | `127.0.0.1:3000` | address to serve on |
//! | `DATABASE_URL` | in-memory SQLite | e.g. `sqlite://calls.db?mode=rwc` |
//! | `SPEECH_FAILURE_RATE` | `0.1` | share of transcript requests the speech provider fails |
//! | `SPEECH_LATENCY_MS` | `20..400` | the provider's latency range, in milliseconds |
//! | `SHUTDOWN_DRAIN_MS` | `5000` | on SIGTERM, how long `/ready` fails before the server stops |

mod api;
mod business;
mod health;
mod repository;
mod speech;

use std::error::Error;
use std::net::SocketAddr;
use std::ops::Range;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use vk_monitor::Monitor;

use crate::repository::CallRepository;
use crate::speech::SpeechProvider;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub calls: CallRepository,
    pub speech: SpeechProvider,
}

struct Settings {
    listen: SocketAddr,
    database_url: Option<String>,
    speech_failure_rate: f64,
    speech_latency: Range<u64>,
    drain: Duration,
}

impl Settings {
    fn from_env() -> Result<Self, String> {
        let listen = read(
            "LISTEN_ADDR",
            "127.0.0.1:3000",
            "a socket address such as 127.0.0.1:3000",
            |v| v.parse().ok(),
        )?;
        let speech_failure_rate =
            read("SPEECH_FAILURE_RATE", "0.1", "a number from 0 to 1", |v| {
                v.parse()
                    .ok()
                    .filter(|rate: &f64| (0.0..=1.0).contains(rate))
            })?;
        let speech_latency = read(
            "SPEECH_LATENCY_MS",
            "20..400",
            "a range of milliseconds such as 20..400",
            |v| {
                let (low, high) = v.split_once("..")?;
                let range = low.trim().parse().ok()?..high.trim().parse().ok()?;
                (!range.is_empty()).then_some(range)
            },
        )?;
        let drain = read(
            "SHUTDOWN_DRAIN_MS",
            "5000",
            "a whole number of milliseconds",
            |v| v.trim().parse().ok().map(Duration::from_millis),
        )?;
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty());
        Ok(Settings {
            listen,
            database_url,
            speech_failure_rate,
            speech_latency,
            drain,
        })
    }
}

/// Reads one variable, or its default; a bad value is an error naming the variable, the value
/// and what was expected.
fn read<T>(
    name: &str,
    default: &str,
    expected: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, String> {
    let value = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    parse(&value).ok_or_else(|| format!("{name}={value:?} is invalid: expected {expected}"))
}

pub fn app(state: AppState, monitor: &Monitor) -> Router {
    Router::new()
        .route("/calls", post(api::create_call).get(api::list_calls))
        .route("/calls/{id}", get(api::get_call))
        .route("/calls/{id}/end", post(api::end_call))
        .route("/calls/{id}/transcript", get(api::transcript))
        .with_state(state)
        .merge(monitor.router())
        .layer(monitor.layer())
}

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG (default info), LOG_FORMAT=text|json; every line inside a traced request carries
    // the Sentry trace id.
    if let Err(error) = vk_monitor::tracing::init() {
        eprintln!("voice-calls: {error}");
        return ExitCode::FAILURE;
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Display, not Debug: `METRICS_ADDR=...: cannot serve the admin routes there: ...`.
            tracing::error!(%error, "voice-calls could not start");
            eprintln!("voice-calls: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let settings = Settings::from_env()?;
    // SENTRY_DSN, ENABLE_METRICS, APM_ENVIRONMENT, HEALTH_SHOW_DETAILS... are read here.
    let monitor = vk_monitor::Monitor::builder("voice-calls", env!("CARGO_PKG_VERSION"))
        .exporter(|exporter| {
            exporter.buckets_for(business::CALL_DURATION, business::CALL_DURATION_BUCKETS)
        })
        .layer(|layer| layer.log_requests(true))
        .install()?;
    business::describe();

    let calls = CallRepository::connect(settings.database_url.as_deref()).await?;
    let speech = SpeechProvider::new(settings.speech_failure_rate, settings.speech_latency);
    health::register(monitor.health(), &calls, &speech);
    let app = app(AppState { calls, speech }, &monitor);

    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let addr = listener.local_addr()?;
    // Where each endpoint really is: `/metrics` moves to METRICS_ADDR when it is set.
    let metrics = match (monitor.exporter(), monitor.metrics_addr()) {
        (None, _) => "off (ENABLE_METRICS=false)".to_owned(),
        (Some(_), Some(admin)) => format!("http://{admin}/metrics"),
        (Some(_), None) => format!("http://{addr}/metrics"),
    };
    tracing::info!(
        listen = %format!("http://{addr}"),
        %metrics,
        health = %format!("http://{addr}/health"),
        ready = %format!("http://{addr}/ready"),
        "voice-calls listening"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal(monitor.clone(), settings.drain))
        .await?;
    // The last handle on the monitor: dropping it flushes what Sentry still has queued.
    drop(monitor);
    tracing::info!("voice-calls stopped");
    Ok(())
}

/// Resolves on ctrl-c, or on SIGTERM after a drain period: readiness fails at once, so load
/// balancers stop sending traffic while in-flight and late requests are still served.
async fn shutdown_signal(monitor: Monitor, drain: Duration) {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {
            monitor.shutdown();
            tracing::info!(?drain, "voice-calls draining: /ready now fails");
            tokio::time::sleep(drain).await;
        },
    }
}
