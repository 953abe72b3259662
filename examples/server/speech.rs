//! The speech provider's client: HTTP calls to the speech service through reqwest with
//! vk-monitor's middleware, so each call is an `http.client` span in the request's trace, its
//! `http_client_*` metrics by host and status, and the trace headers that let the speech
//! service's transaction join the same trace.

use std::time::Duration;

use vk_monitor::client::{ClientMiddleware, PathTemplate};
use vk_monitor::{MonitoredError, monitored};

use crate::speech_service::{STATUS_ROUTE, TRANSCRIPT_ROUTE};

#[derive(Clone)]
pub struct SpeechProvider {
    client: reqwest_middleware::ClientWithMiddleware,
    /// `http://host:port`, without a trailing slash.
    base: String,
}

#[derive(Debug, MonitoredError)]
pub enum SpeechError {
    #[monitored(kind = "unavailable")]
    Unavailable,
    #[monitored(kind = "timeout")]
    Timeout,
}

impl std::fmt::Display for SpeechError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpeechError::Unavailable => f.write_str("speech provider unavailable"),
            SpeechError::Timeout => f.write_str("speech provider timed out"),
        }
    }
}

impl std::error::Error for SpeechError {}

impl From<reqwest_middleware::Error> for SpeechError {
    fn from(error: reqwest_middleware::Error) -> Self {
        if error.is_timeout() {
            SpeechError::Timeout
        } else {
            SpeechError::Unavailable
        }
    }
}

/// How long the service waits for the provider before giving up.
const TIMEOUT: Duration = Duration::from_secs(2);

impl SpeechProvider {
    /// A client of the speech service at `base` (`http://127.0.0.1:3001`).
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(TIMEOUT).build()?;
        let client = reqwest_middleware::ClientBuilder::new(http)
            .with(ClientMiddleware::new())
            .build();
        Ok(SpeechProvider {
            client,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The provider's status endpoint: its readiness, as this service sees it.
    pub async fn ping(&self) -> Result<(), SpeechError> {
        let response = self
            .client
            .get(format!("{}{STATUS_ROUTE}", self.base))
            .send()
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(SpeechError::Unavailable)
        }
    }

    #[monitored]
    pub async fn transcribe(&self, call_id: i64) -> Result<String, SpeechError> {
        let url = format!(
            "{}{}",
            self.base,
            TRANSCRIPT_ROUTE.replace("{call}", &call_id.to_string())
        );
        let response = self
            .client
            .get(url)
            .with_extension(PathTemplate::new(TRANSCRIPT_ROUTE))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(SpeechError::Unavailable);
        }
        let body = response.bytes().await.map_err(|error| {
            if error.is_timeout() {
                SpeechError::Timeout
            } else {
                SpeechError::Unavailable
            }
        })?;
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| SpeechError::Unavailable)?;
        answer["text"]
            .as_str()
            .map(str::to_owned)
            .ok_or(SpeechError::Unavailable)
    }
}
