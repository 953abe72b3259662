//! Handlers stay handlers: extractors that are not `Debug`, error enums that are
//! `IntoResponse`, and the route still accepts them.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use vk_monitor::{MonitoredError, monitored};

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

enum ApiError {
    NotFound,
    Unavailable,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND.into_response(),
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
}

impl MonitoredError for ApiError {
    fn is_error(&self) -> bool {
        matches!(self, ApiError::Unavailable)
    }
}

#[monitored]
async fn greet(State(state): State<AppState>, Path(name): Path<String>) -> String {
    format!("{} {name}", state.greeting)
}

#[monitored]
async fn lookup(Path(id): Path<u32>) -> Result<Json<u32>, ApiError> {
    match id {
        0 => Err(ApiError::NotFound),
        1 => Err(ApiError::Unavailable),
        id => Ok(Json(id)),
    }
}

#[monitored]
async fn create(Json(body): Json<Vec<u8>>) -> (StatusCode, Json<usize>) {
    (StatusCode::CREATED, Json(body.len()))
}

#[monitored]
async fn health() -> StatusCode {
    StatusCode::OK
}

#[monitored]
async fn raw() -> Response {
    "raw".into_response()
}

fn main() {
    let _app: Router = Router::new()
        .route("/greet/{name}", get(greet))
        .route("/calls/{id}", get(lookup))
        .route("/calls", post(create))
        .route("/health", get(health))
        .route("/raw", get(raw))
        .with_state(AppState { greeting: "hello" });
}
