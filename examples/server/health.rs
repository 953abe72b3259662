//! The service's health checks: a liveness check that touches no dependency, and readiness
//! checks for the database (critical) and the speech provider (not critical: without it calls
//! still work, only transcripts fail).

use std::time::Duration;

use vk_monitor::health::{CheckSpec, DuplicateCheck, HealthRegistry};
use vk_monitor::health_check;

use crate::repository::CallRepository;
use crate::speech::SpeechProvider;

/// The runtime still schedules tasks: a blocked or starved runtime times out here.
#[health_check(kind = liveness, timeout = "1s")]
async fn event_loop() -> bool {
    tokio::task::yield_now().await;
    true
}

/// Checks that need the application's state are registered with it.
pub fn register(
    registry: &HealthRegistry,
    calls: &CallRepository,
    speech: &SpeechProvider,
) -> Result<(), DuplicateCheck> {
    let calls = calls.clone();
    registry.register(
        CheckSpec::readiness("database")
            .component_type("datastore")
            .timeout(Duration::from_secs(1)),
        move || {
            let calls = calls.clone();
            async move { calls.ping().await }
        },
    )?;
    let speech = speech.clone();
    registry.register(
        CheckSpec::readiness("speech_provider")
            .critical(false)
            .timeout(Duration::from_secs(1)),
        move || {
            let speech = speech.clone();
            async move { speech.ping().await }
        },
    )
}
