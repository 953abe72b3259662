//! The speech-to-text provider the voice-call server depends on, as a small HTTP service of
//! its own, with realistic latency and occasional failures so the dashboards show slow
//! dependencies and errors. The voice-call server starts it on a second loopback listener
//! unless `SPEECH_URL` names one elsewhere; `cargo run --example speech` runs it alone.
//!
//! - `GET /speech/v1/calls/{call}/transcript`: `200` with `{"call": N, "text": "..."}`, or
//!   `503` when the simulated provider fails (`SPEECH_FAILURE_RATE`); after a latency drawn
//!   from `SPEECH_LATENCY_MS`, one request in fifty eight times slower.
//! - `GET /speech/v1/status`: `200`, or `503` as often as transcripts fail.

use std::ops::Range;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use vk_monitor::{AppSettings, MonitoredError, monitored};

/// The route template of the transcript endpoint: the service's route and the client's span
/// name alike.
pub const TRANSCRIPT_ROUTE: &str = "/speech/v1/calls/{call}/transcript";
/// The provider's status endpoint.
pub const STATUS_ROUTE: &str = "/speech/v1/status";

/// How the simulated provider behaves: `SPEECH_FAILURE_RATE`, `SPEECH_LATENCY_MS`.
#[derive(Clone, Debug)]
pub struct SpeechSettings {
    pub failure_rate: f64,
    pub latency_ms: Range<u64>,
}

impl SpeechSettings {
    /// Reads `SPEECH_FAILURE_RATE` (default `0.1`) and `SPEECH_LATENCY_MS` (default
    /// `20..400`) into `settings`, which keeps a bad value (set but empty included) for the
    /// start-up error, beside vk-monitor's own.
    pub fn read(settings: &mut AppSettings) -> Self {
        let failure_rate =
            settings.get_or("SPEECH_FAILURE_RATE", 0.1, "a number from 0 to 1", |v| {
                v.trim()
                    .parse()
                    .ok()
                    .filter(|rate: &f64| (0.0..=1.0).contains(rate))
            });
        let latency_ms = settings.get_or(
            "SPEECH_LATENCY_MS",
            20..400,
            "a range of milliseconds such as 20..400",
            |v| {
                let (low, high) = v.split_once("..")?;
                let range = low.trim().parse().ok()?..high.trim().parse().ok()?;
                (!range.is_empty()).then_some(range)
            },
        );
        SpeechSettings {
            failure_rate,
            latency_ms,
        }
    }

    fn latency(&self) -> Duration {
        let latency = Duration::from_millis(fastrand::u64(self.latency_ms.clone()));
        // One slow tail in fifty, as real providers have.
        if fastrand::u8(0..50) == 0 {
            latency * 8
        } else {
            latency
        }
    }

    fn fails(&self) -> bool {
        fastrand::f64() < self.failure_rate
    }
}

/// The provider's routes, without a monitoring layer: each front adds its own.
pub fn routes(settings: SpeechSettings) -> Router {
    Router::new()
        .route(TRANSCRIPT_ROUTE, get(speech_to_text))
        .route(STATUS_ROUTE, get(status))
        .with_state(settings)
}

/// The simulated provider is down for this request.
#[derive(Debug, MonitoredError)]
#[monitored(kind = "overloaded")]
pub struct Overloaded;

impl std::fmt::Display for Overloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("speech recognition overloaded")
    }
}

impl std::error::Error for Overloaded {}

impl IntoResponse for Overloaded {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.to_string() }));
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

#[monitored]
async fn speech_to_text(
    State(settings): State<SpeechSettings>,
    Path(call): Path<i64>,
) -> Result<Json<serde_json::Value>, Overloaded> {
    tokio::time::sleep(settings.latency()).await;
    if settings.fails() {
        return Err(Overloaded);
    }
    let text = format!("Call {call}: hello, how can I help you today?");
    Ok(Json(json!({ "call": call, "text": text })))
}

async fn status(State(settings): State<SpeechSettings>) -> StatusCode {
    tokio::time::sleep(settings.latency() / 4).await;
    if settings.fails() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}
