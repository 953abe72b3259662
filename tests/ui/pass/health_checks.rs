//! Every accepted return type of `#[health_check]`, sync and async, with every argument.
use vk_monitor::health::{CheckReport, HealthRegistry, HealthStatus};
use vk_monitor::health_check;

#[derive(Debug)]
struct Unreachable;

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unreachable")
    }
}

#[health_check]
fn sync_result() -> Result<(), Unreachable> {
    Ok(())
}

#[health_check(kind = liveness)]
fn sync_bool() -> bool {
    true
}

#[health_check(kind = startup, timeout = "1m")]
fn sync_status() -> HealthStatus {
    HealthStatus::Pass
}

#[health_check(name = "sync-report", critical = false, timeout = "250ms")]
fn sync_report() -> CheckReport {
    CheckReport::pass().observed(1.0, "connections")
}

#[health_check(name = "async_result", kind = readiness)]
async fn async_result() -> Result<(), String> {
    Ok(())
}

#[health_check(kind = liveness, timeout = "2s")]
pub async fn async_bool() -> bool {
    true
}

#[health_check(crate = ::vk_monitor)]
pub(crate) async fn async_status() -> HealthStatus {
    HealthStatus::Warn
}

/// Documented, and still callable.
#[health_check(critical = true)]
async fn async_report() -> CheckReport {
    CheckReport::warn("degraded")
}

fn main() {
    let _ = sync_result();
    assert!(sync_bool());
    let _ = (sync_status(), sync_report());
    drop((async_result(), async_bool(), async_status(), async_report()));
    assert_eq!(HealthRegistry::global().checks().len(), 8);
}
