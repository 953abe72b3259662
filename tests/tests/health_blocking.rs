//! A sync `#[health_check]` that blocks for good: each probe still answers within the timeout,
//! and the check holds one blocking thread, not one more per probe. A process of its own: the
//! check is registered in the global registry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vk_monitor::health::{HealthRegistry, HealthStatus};
use vk_monitor::health_check;

static STARTED: AtomicUsize = AtomicUsize::new(0);

#[health_check(kind = readiness, timeout = "100ms")]
fn stuck_disk() -> bool {
    STARTED.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_sync_check_holds_one_thread_and_probes_still_answer() {
    let registry = HealthRegistry::global();
    registry.set_cache_interval(Duration::ZERO);
    for probe in 0..5 {
        let start = Instant::now();
        let report = registry.readiness().await;
        assert_eq!(report.status, HealthStatus::Fail, "probe {probe}");
        assert!(
            start.elapsed() < Duration::from_millis(400),
            "probe {probe} took {:?}",
            start.elapsed()
        );
    }
    assert_eq!(
        STARTED.load(Ordering::SeqCst),
        1,
        "one run at a time: the others did not start"
    );
    // Once the stuck run returns, the next probe runs the check again.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let _ = registry.readiness().await;
    assert_eq!(STARTED.load(Ordering::SeqCst), 2);
}
