//! The HTTP API. Each handler is `#[monitored]` with the objective it counts for; `ApiError`
//! tells vk-monitor which failures are the service's fault (errors) and which are the
//! client's (not errors).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use vk_monitor::{MonitoredError, Objective, monitored};

use crate::AppState;
use crate::business::{self, OUTCOMES};
use crate::repository::{Call, now};
use crate::speech::SpeechError;

/// What the calls API promises: 99.9% of its calls succeed and 99% answer within 250 ms. The
/// generic burn-rate alerts page when it spends its 30-day error budget too fast.
pub const CALLS_API: Objective = Objective::new("calls-api")
    .success_rate(99.9)
    .latency(Duration::from_millis(250), 99.0);

/// Transcripts wait on the speech service, whose failures are theirs too (one in ten by
/// default, `SPEECH_FAILURE_RATE`): 85% succeed and 95% answer within 1 s.
pub const TRANSCRIPTS: Objective = Objective::new("transcripts")
    .success_rate(85.0)
    .latency(Duration::from_secs(1), 95.0);

/// How `#[monitored]` counts each: the client's mistakes are answers, not failures of the
/// service; a failure is counted by its kind.
#[derive(MonitoredError)]
pub enum ApiError {
    #[monitored(status = 404)]
    NotFound,
    #[monitored(status = 422)]
    Invalid(&'static str),
    #[monitored(status = 409)]
    Conflict(&'static str),
    #[monitored(kind = "database")]
    Database(sqlx::Error),
    #[monitored(transparent)]
    Speech(SpeechError),
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Database(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, "no such call".to_owned()),
            ApiError::Invalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, (*why).to_owned()),
            ApiError::Conflict(why) => (StatusCode::CONFLICT, (*why).to_owned()),
            ApiError::Database(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "database error".to_owned(),
            ),
            ApiError::Speech(SpeechError::Timeout) => {
                (StatusCode::GATEWAY_TIMEOUT, self.to_string())
            }
            ApiError::Speech(SpeechError::Unavailable) => {
                (StatusCode::BAD_GATEWAY, self.to_string())
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::NotFound => f.write_str("not found"),
            ApiError::Invalid(why) | ApiError::Conflict(why) => f.write_str(why),
            ApiError::Database(error) => write!(f, "database: {error}"),
            ApiError::Speech(error) => write!(f, "{error}"),
        }
    }
}

#[derive(Deserialize)]
pub struct NewCall {
    caller: String,
    callee: String,
}

#[monitored(objective = CALLS_API)]
pub async fn create_call(
    State(state): State<AppState>,
    Json(new): Json<NewCall>,
) -> Result<(StatusCode, Json<Call>), ApiError> {
    if new.caller.trim().is_empty() || new.callee.trim().is_empty() {
        return Err(ApiError::Invalid("caller and callee are required"));
    }
    let call = state.calls.insert(&new.caller, &new.callee).await?;
    business::call_started();
    // The call's id only: the numbers are personal data.
    tracing::info!(call_id = call.id, "call started");
    Ok((StatusCode::CREATED, Json(call)))
}

#[monitored(objective = CALLS_API)]
pub async fn list_calls(State(state): State<AppState>) -> Result<Json<Vec<Call>>, ApiError> {
    Ok(Json(state.calls.recent(100).await?))
}

#[monitored(objective = CALLS_API)]
pub async fn get_call(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Call>, ApiError> {
    state
        .calls
        .find(id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

#[derive(Deserialize, Default)]
pub struct EndCall {
    outcome: Option<String>,
}

#[monitored(objective = CALLS_API)]
pub async fn end_call(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Option<Json<EndCall>>,
) -> Result<Json<Call>, ApiError> {
    let requested = body
        .and_then(|Json(end)| end.outcome)
        .unwrap_or_else(|| "completed".into());
    let Some(outcome) = OUTCOMES.into_iter().find(|known| *known == requested) else {
        return Err(ApiError::Invalid(
            "outcome must be completed, failed or abandoned",
        ));
    };
    match state.calls.end(id, outcome).await? {
        Some(call) => {
            let duration = call.ended_at.unwrap_or_else(now) - call.started_at;
            business::call_ended(outcome, duration);
            tracing::info!(
                call_id = call.id,
                outcome,
                duration_s = duration,
                "call ended"
            );
            Ok(Json(call))
        }
        None => match state.calls.find(id).await? {
            Some(_) => Err(ApiError::Conflict("the call has already ended")),
            None => Err(ApiError::NotFound),
        },
    }
}

#[monitored(objective = TRANSCRIPTS)]
pub async fn transcript(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let call = state.calls.find(id).await?.ok_or(ApiError::NotFound)?;
    let text = state.speech.transcribe(call.id).await.map_err(|error| {
        // A warning, a breadcrumb in Sentry: the failure itself is reported once, as the
        // provider's error event.
        tracing::warn!(call_id = call.id, %error, "transcript failed");
        ApiError::Speech(error)
    })?;
    Ok(Json(
        json!({ "call": call.id, "active": call.is_active(), "transcript": text }),
    ))
}
