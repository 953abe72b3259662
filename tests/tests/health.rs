//! Health endpoints on real axum servers over loopback: aggregation, timeouts, panics, single
//! flight, startup gating, shutdown, the response format, metrics, and `#[health_check]`
//! functions registering themselves.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use vk_monitor::health::{CheckKind, CheckReport, CheckSpec, HealthRegistry, HealthStatus};
use vk_monitor_tests::{RawResponse, current, exporter, http_get, http_request};

/// Checks in another module, found without any registration call.
mod checks {
    use vk_monitor::health::HealthStatus;
    use vk_monitor::health_check;

    #[health_check(kind = liveness, timeout = "100ms")]
    pub fn event_loop() -> bool {
        true
    }

    #[health_check(name = "annotated_cache", critical = false)]
    pub async fn cache() -> Result<(), std::io::Error> {
        Ok(())
    }

    #[health_check(kind = startup)]
    pub fn migrations() -> HealthStatus {
        HealthStatus::Pass
    }
}

async fn serve(registry: &HealthRegistry) -> SocketAddr {
    let app: Router = registry
        .router()
        .route("/work", get(|| async { "working" }));
    vk_monitor_tests::serve(app).await
}

fn json(response: &RawResponse) -> Value {
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.body))
}

#[tokio::test]
async fn annotated_functions_register_themselves_and_stay_callable() {
    let registered = HealthRegistry::global().checks();
    for expected in [
        ("event_loop".to_owned(), CheckKind::Liveness),
        ("annotated_cache".to_owned(), CheckKind::Readiness),
        ("migrations".to_owned(), CheckKind::Startup),
    ] {
        assert!(
            registered.contains(&expected),
            "{expected:?} not in {registered:?}"
        );
    }
    assert!(checks::event_loop());
    assert!(checks::cache().await.is_ok());
    assert_eq!(checks::migrations(), HealthStatus::Pass);

    let addr = serve(HealthRegistry::global()).await;
    let ready = http_get(addr, "/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let body = json(&ready);
    assert_eq!(
        body["checks"]["annotated_cache:status"][0]["status"],
        "pass"
    );
    let live = json(&http_get(addr, "/health").await);
    assert_eq!(live["checks"]["event_loop:status"][0]["status"], "pass");
}

#[tokio::test]
async fn a_hung_check_fails_within_its_timeout() {
    let registry = HealthRegistry::new();
    registry.set_show_details(true);
    registry
        .register(
            CheckSpec::readiness("hung_dependency").timeout(Duration::from_millis(200)),
            || async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                true
            },
        )
        .expect("each check has its own name");
    registry
        .register(CheckSpec::readiness("fine"), || async { true })
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    let start = Instant::now();
    let ready = http_get(addr, "/ready").await;
    let elapsed = start.elapsed();
    assert_eq!(ready.status, 503);
    assert!(
        elapsed < Duration::from_millis(500),
        "answered after {elapsed:?}"
    );
    let body = json(&ready);
    let check = &body["checks"]["hung_dependency:status"][0];
    assert_eq!(check["status"], "fail");
    assert_eq!(check["output"], "the check timed out after 200ms");
    assert_eq!(body["checks"]["fine:status"][0]["status"], "pass");
}

#[tokio::test]
async fn before_start_up_passes_ready_waits_for_the_slowest_check_not_the_sum() {
    let registry = HealthRegistry::new();
    registry
        .register(
            CheckSpec::readiness("slow_database").timeout(Duration::from_millis(300)),
            std::future::pending::<bool>,
        )
        .expect("each check has its own name");
    registry
        .register(
            CheckSpec::startup("slow_migrations").timeout(Duration::from_millis(300)),
            std::future::pending::<bool>,
        )
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    let start = Instant::now();
    let ready = http_get(addr, "/ready").await;
    let elapsed = start.elapsed();
    assert_eq!(ready.status, 503);
    let body = json(&ready);
    assert_eq!(body["checks"]["slow_database:status"][0]["status"], "fail");
    assert_eq!(
        body["checks"]["slow_migrations:status"][0]["status"],
        "fail"
    );
    assert!(
        elapsed < Duration::from_millis(550),
        "two 300 ms timeouts took {elapsed:?}: run one after the other"
    );
}

fn poisoned_pool() -> bool {
    panic!("connection pool poisoned")
}

#[tokio::test]
async fn a_panicking_check_fails_without_taking_the_server_down() {
    let registry = HealthRegistry::new();
    registry.set_cache_interval(Duration::ZERO);
    registry.set_show_details(true);
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    registry
        .register(CheckSpec::readiness("explodes"), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { poisoned_pool() }
        })
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    for attempt in 1..=2 {
        let ready = http_get(addr, "/ready").await;
        assert_eq!(ready.status, 503);
        let output = &json(&ready)["checks"]["explodes:status"][0]["output"];
        assert_eq!(output, "the check panicked: connection pool poisoned");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            attempt,
            "each request runs the check again"
        );
    }
    assert_eq!(
        http_get(addr, "/work").await.body,
        "working",
        "the server keeps serving"
    );
}

/// A check whose own call panics, before it has a future to give.
struct PanicsWhenCalled;

impl vk_monitor::health::HealthCheck for PanicsWhenCalled {
    fn check(&self) -> vk_monitor::health::CheckFuture<'_> {
        panic!("no client configured")
    }
}

#[tokio::test]
async fn a_check_that_panics_when_called_fails_like_one_that_panics_when_polled() {
    let registry = HealthRegistry::new();
    registry.set_show_details(true);
    registry
        .register(CheckSpec::readiness("unconfigured"), PanicsWhenCalled)
        .expect("each check has its own name");
    registry
        .register(CheckSpec::readiness("fine"), || async { true })
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    let ready = http_get(addr, "/ready").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    let body = json(&ready);
    assert_eq!(
        body["checks"]["unconfigured:status"][0]["output"],
        "the check panicked: no client configured"
    );
    assert_eq!(body["checks"]["fine:status"][0]["status"], "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_waiting_for_a_run_share_it_even_without_caching() {
    let registry = HealthRegistry::new();
    registry.set_cache_interval(Duration::ZERO);
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    registry
        .register(CheckSpec::readiness("slow_dependency"), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                true
            }
        })
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    let probes: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async move {
                let start = Instant::now();
                let status = http_get(addr, "/ready").await.status;
                (status, start.elapsed())
            })
        })
        .collect();
    for probe in probes {
        let (status, elapsed) = probe.await.unwrap();
        assert_eq!(status, 200);
        // Queued behind one another, the last would wait eight runs: four seconds.
        assert!(
            elapsed < Duration::from_millis(1000),
            "answered after {elapsed:?}"
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "one run for the probes that waited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_probes_share_one_run() {
    let registry = HealthRegistry::new();
    // An interval longer than the test, so every probe falls within one: a thousand clients
    // connecting can take longer than the default second on a loaded machine.
    registry.set_cache_interval(Duration::from_secs(60));
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    registry
        .register(CheckSpec::readiness("shared_database"), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                true
            }
        })
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    let probes: Vec<_> = (0..1000)
        .map(|_| tokio::spawn(async move { http_get(addr, "/ready").await.status }))
        .collect();
    for probe in probes {
        assert_eq!(probe.await.unwrap(), 200);
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "one run served every probe within the interval"
    );
}

#[tokio::test]
async fn shutdown_fails_readiness_and_keeps_liveness() {
    let registry = HealthRegistry::new();
    registry
        .register(CheckSpec::liveness("alive"), || async { true })
        .expect("each check has its own name");
    registry
        .register(CheckSpec::readiness("ready"), || async { true })
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    assert_eq!(http_get(addr, "/ready").await.status, 200);
    registry.shutdown();
    let ready = http_get(addr, "/ready").await;
    assert_eq!(ready.status, 503);
    assert_eq!(
        json(&ready)["checks"]["shutdown:status"][0]["status"],
        "fail"
    );
    assert_eq!(http_get(addr, "/health").await.status, 200);
}

#[tokio::test]
async fn readiness_waits_for_startup_checks_to_pass_once() {
    let registry = HealthRegistry::new();
    registry.set_cache_interval(Duration::ZERO);
    let started = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&started);
    registry
        .register(CheckSpec::startup("warm_cache"), move || {
            std::future::ready(flag.load(Ordering::SeqCst))
        })
        .expect("each check has its own name");
    registry
        .register(CheckSpec::readiness("ready"), || async { true })
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    assert_eq!(http_get(addr, "/ready").await.status, 503);
    assert_eq!(http_get(addr, "/startup").await.status, 503);
    started.store(true, Ordering::SeqCst);
    assert_eq!(http_get(addr, "/ready").await.status, 200);
    started.store(false, Ordering::SeqCst);
    assert_eq!(
        http_get(addr, "/ready").await.status,
        200,
        "startup passed once is enough"
    );
}

#[tokio::test]
async fn non_critical_failures_warn_and_answer_200() {
    let registry = HealthRegistry::new();
    registry
        .register(CheckSpec::readiness("database"), || async { true })
        .expect("each check has its own name");
    registry
        .register(CheckSpec::readiness("speech").critical(false), || async {
            Err::<(), _>("provider unreachable")
        })
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    let ready = http_get(addr, "/ready").await;
    assert_eq!(ready.status, 200);
    let body = json(&ready);
    assert_eq!(body["status"], "warn");
    assert_eq!(body["checks"]["speech:status"][0]["status"], "fail");

    registry
        .register(CheckSpec::readiness("queue"), || async {
            CheckReport::fail("full")
        })
        .expect("each check has its own name");
    registry.set_cache_interval(Duration::ZERO);
    let ready = http_get(addr, "/ready").await;
    assert_eq!(
        (ready.status, json(&ready)["status"].as_str()),
        (503, Some("fail"))
    );
}

#[tokio::test]
async fn the_response_follows_the_health_check_format() {
    exporter();
    let registry = HealthRegistry::new();
    registry
        .register(
            CheckSpec::readiness("database").component_type("datastore"),
            || async {
                CheckReport::fail("password authentication failed for user app")
                    .observed(3.0, "connections")
            },
        )
        .expect("each check has its own name");
    let addr = serve(&registry).await;
    let ready = http_get(addr, "/ready").await;
    assert_eq!(ready.status, 503);
    assert_eq!(
        ready.header("content-type"),
        Some("application/health+json")
    );
    assert_eq!(ready.header("cache-control"), Some("no-store"));
    let body = json(&ready);
    assert_eq!(body["status"], "fail");
    assert_eq!(body["serviceId"], "vk-monitor-tests");
    assert_eq!(body["version"], "0.0.0-test");
    assert_eq!(body["releaseId"], "vk-monitor-tests@0.0.0-test");
    assert_eq!(body["environment"], "test");
    assert_eq!(body["description"], "readiness of vk-monitor-tests");
    assert!(
        body["rustVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{body}"
    );
    assert!(body["uptime"].as_f64().is_some_and(|s| s >= 0.0));
    let status = &body["checks"]["database:status"][0];
    assert_eq!(status["componentType"], "datastore");
    assert_eq!(status["status"], "fail");
    assert_eq!(status["observedValue"], 3.0);
    assert_eq!(status["observedUnit"], "connections");
    let time = status["time"].as_str().unwrap();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
    assert!(
        status.get("output").is_none(),
        "details are hidden by default: {status}"
    );
    assert!(
        !ready.body.contains("password"),
        "nothing of the failure leaks: {}",
        ready.body
    );
    let response_time = &body["checks"]["database:responseTime"][0];
    assert_eq!(response_time["observedUnit"], "ms");
    assert!(
        response_time["observedValue"]
            .as_f64()
            .is_some_and(|ms| ms >= 0.0)
    );
    assert_eq!(response_time["status"], "fail");

    let verbose = http_get(addr, "/ready?verbose").await;
    assert!(
        !verbose.body.contains("password"),
        "asking is not enough: {}",
        verbose.body
    );

    let head = http_request(addr, "HEAD", "/ready", "").await;
    assert_eq!((head.status, head.body.as_str()), (503, ""));

    let up = current(
        "health_check_up",
        &[("check", "database"), ("kind", "readiness")],
    );
    assert_eq!(up, Some(0.0));
    let runs = current(
        "health_check_duration_seconds_count",
        &[("check", "database"), ("kind", "readiness")],
    );
    assert!(runs.is_some_and(|n| n >= 1.0), "{runs:?}");
}
