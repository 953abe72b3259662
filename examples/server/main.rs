//! A voice-call service, as a call-centre backend might run it, monitored with vk-monitor.
//!
//! `cargo run --example server`, then drive it with `cargo run --example traffic` and look at
//! `http://127.0.0.1:3000/metrics`. Every handler is `#[monitored]`, the repository's queries
//! are `#[monitored(op = "db.query")]`, the HTTP layer records every route, and the business
//! metrics `voice_calls_active`, `voice_call_duration_seconds` and `voice_calls_total{outcome}`
//! sit beside them.
//!
//! Transcripts come from a speech service over HTTP, called through vk-monitor's `reqwest`
//! middleware: `http_client_requests_total{host}` and the other client metrics, and an
//! `http.client` span whose trace the speech service continues. With no `SPEECH_URL`, the
//! server starts that service itself on a second loopback listener, with its own router,
//! routes (`/speech/...`) and monitoring layer; it shares this process's `/metrics` and Sentry
//! client, so its series sit beside the server's under their own route names.
//!
//! tower-http's `TraceLayer` opens a `debug` span per request, as in many services: with
//! `RUST_LOG=info,tower_http=debug` and `SENTRY_TRACING_SPANS=debug` it is a Sentry span too,
//! between the request's transaction and the handler's `#[monitored]` span.
//!
//! Environment (all optional), besides vk-monitor's own (`SENTRY_DSN`, `ENABLE_METRICS`,
//! `APM_ENVIRONMENT`, `HEALTH_SHOW_DETAILS`... see `.env.example`):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LISTEN_ADDR` | `127.0.0.1:3000` | address to serve on |
//! | `DATABASE_URL` | in-memory SQLite | e.g. `sqlite://calls.db?mode=rwc` |
//! | `SPEECH_URL` | unset | the speech service to call, e.g. `http://127.0.0.1:3001` (`cargo run --example speech`); unset: the server starts one itself |
//! | `SPEECH_LISTEN_ADDR` | `127.0.0.1:0` | where the server's own speech service listens (a free port unless set); ignored with `SPEECH_URL` |
//! | `SPEECH_FAILURE_RATE` | `0.1` | share of requests the server's own speech service fails with `503` |
//! | `SPEECH_LATENCY_MS` | `20..400` | that service's latency range, in milliseconds |
//! | `SHUTDOWN_DRAIN_MS` | `5000` | on SIGTERM, how long `/ready` fails before the server stops |
//!
//! As with vk-monitor's own, a variable set but empty is invalid (unset it for the default),
//! and every invalid one, the server's and vk-monitor's, is named in one start-up error.

mod api;
mod business;
mod health;
mod repository;
mod speech;
mod speech_service;
mod startup;

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;
use vk_monitor::{AppSettings, Monitor};

use crate::repository::CallRepository;
use crate::speech::SpeechProvider;
use crate::speech_service::SpeechSettings;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub calls: CallRepository,
    pub speech: SpeechProvider,
}

struct Settings {
    listen: SocketAddr,
    database_url: Option<String>,
    speech: Speech,
    drain: Duration,
}

/// Where transcripts come from.
enum Speech {
    /// A speech service running elsewhere: `SPEECH_URL`.
    External(String),
    /// One this process serves on a second listener.
    Local {
        listen: SocketAddr,
        settings: SpeechSettings,
    },
}

impl Settings {
    /// Reads the server's own variables into `settings`, which keeps the invalid ones (set but
    /// empty included) to be reported with vk-monitor's.
    fn read(settings: &mut AppSettings) -> Self {
        let listen = startup::listen_addr(settings, "127.0.0.1:3000");
        let external = settings.get("SPEECH_URL", "an http:// or https:// URL", |url| {
            (url.starts_with("http://") || url.starts_with("https://")).then(|| url.to_owned())
        });
        let speech = match external {
            Some(url) => Speech::External(url),
            None => Speech::Local {
                listen: settings.get_or(
                    "SPEECH_LISTEN_ADDR",
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    "a socket address such as 127.0.0.1:3001",
                    |v| v.trim().parse().ok(),
                ),
                settings: SpeechSettings::read(settings),
            },
        };
        let drain = startup::drain(settings);
        let database_url =
            settings.get("DATABASE_URL", "a database URL", |url| Some(url.to_owned()));
        Settings {
            listen,
            database_url,
            speech,
            drain,
        }
    }
}

pub fn app(state: AppState, monitor: &Monitor) -> Router {
    Router::new()
        .route("/calls", post(api::create_call).get(api::list_calls))
        .route("/calls/{id}", get(api::get_call))
        .route("/calls/{id}/end", post(api::end_call))
        .route("/calls/{id}/transcript", get(api::transcript))
        .with_state(state)
        .merge(monitor.router())
        // tower-http's request spans, at `debug` as it makes them: with
        // `RUST_LOG=info,tower_http=debug` and `SENTRY_TRACING_SPANS=debug` each is a child of
        // the request's transaction in Sentry. Inside the monitor's layer, so that it runs in
        // the request's trace.
        .layer(TraceLayer::new_for_http())
        .layer(monitor.layer())
}

#[tokio::main]
async fn main() -> ExitCode {
    startup::main("voice-calls", run()).await
}

async fn run() -> Result<(), Box<dyn Error>> {
    let mut app_settings = AppSettings::from_env();
    let settings = Settings::read(&mut app_settings);
    // SENTRY_DSN, ENABLE_METRICS, APM_ENVIRONMENT, HEALTH_SHOW_DETAILS... are read here, and
    // the server's own invalid settings are reported with them.
    let monitor = vk_monitor::Monitor::builder("voice-calls", env!("CARGO_PKG_VERSION"))
        .app_settings(app_settings)
        .exporter(|exporter| {
            exporter.buckets_for(business::CALL_DURATION, business::CALL_DURATION_BUCKETS)
        })
        .layer(|layer| layer.log_requests(true))
        .install()?;
    business::describe();

    let calls = CallRepository::connect(settings.database_url.as_deref()).await?;
    let speech_url = match settings.speech {
        Speech::External(url) => url,
        Speech::Local { listen, settings } => serve_speech(listen, settings, &monitor).await?,
    };
    let speech = SpeechProvider::new(&speech_url)?;
    health::register(monitor.health(), &calls, &speech)?;
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
        speech = %speech_url,
        "voice-calls listening"
    );
    startup::serve("voice-calls", listener, app, monitor, settings.drain).await
}

/// Starts the speech service on a second listener at `listen`, monitored by the same layer as
/// the server's routes; returns its URL.
async fn serve_speech(
    listen: SocketAddr,
    settings: SpeechSettings,
    monitor: &Monitor,
) -> Result<String, Box<dyn Error>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| format!("SPEECH_LISTEN_ADDR={listen}: cannot listen there: {error}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = speech_service::routes(settings).layer(monitor.layer());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the speech service stopped");
        }
    });
    tracing::info!(listen = %url, "speech service listening");
    Ok(url)
}
