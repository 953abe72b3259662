//! A simulated speech-to-text provider with realistic latency and occasional failures, so the
//! dashboards show slow requests and errors.

use std::ops::Range;
use std::time::Duration;

use vk_monitor::{MonitoredError, monitored};

#[derive(Clone)]
pub struct SpeechProvider {
    failure_rate: f64,
    latency_ms: Range<u64>,
}

#[derive(Debug)]
pub enum SpeechError {
    Unavailable,
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

impl MonitoredError for SpeechError {
    fn error_kind(&self) -> &'static str {
        match self {
            SpeechError::Unavailable => "unavailable",
            SpeechError::Timeout => "timeout",
        }
    }
}

/// How long the service waits for the provider before giving up.
const TIMEOUT: Duration = Duration::from_secs(2);

impl SpeechProvider {
    pub fn new(failure_rate: f64, latency_ms: Range<u64>) -> Self {
        SpeechProvider {
            failure_rate,
            latency_ms,
        }
    }

    /// The provider's status endpoint, simulated: as available as its transcriptions.
    pub async fn ping(&self) -> Result<(), SpeechError> {
        tokio::time::sleep(Duration::from_millis(
            fastrand::u64(self.latency_ms.clone()) / 4,
        ))
        .await;
        if fastrand::f64() < self.failure_rate {
            Err(SpeechError::Unavailable)
        } else {
            Ok(())
        }
    }

    #[monitored(op = "http.client")]
    pub async fn transcribe(&self, call_id: i64) -> Result<String, SpeechError> {
        let latency = Duration::from_millis(fastrand::u64(self.latency_ms.clone()));
        // One slow tail in fifty, as real providers have.
        let latency = if fastrand::u8(0..50) == 0 {
            latency * 8
        } else {
            latency
        };
        if tokio::time::timeout(TIMEOUT, tokio::time::sleep(latency))
            .await
            .is_err()
        {
            return Err(SpeechError::Timeout);
        }
        if fastrand::f64() < self.failure_rate {
            return Err(SpeechError::Unavailable);
        }
        Ok(format!("Call {call_id}: hello, how can I help you today?"))
    }
}
