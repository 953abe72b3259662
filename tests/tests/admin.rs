//! The admin routes: on a listener of their own (`METRICS_ADDR`), behind a bearer token
//! (`MONITOR_TOKEN`), or both; on the public port, health says only the statuses once either
//! is set, and more to those who hold the token.

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::Router;
use axum::routing::get;
use vk_monitor::health::{CheckReport, CheckSpec};
use vk_monitor::{InitError, Monitor};
use vk_monitor_tests::{
    RawResponse, http_get, in_child_process, is_child_process, raw_request, serve,
};

const TOKEN: &str = "scrape-0123456789-abcdef";

/// The process's monitor, installed as an application would: admin listener on a free port,
/// token required there.
static MONITOR: LazyLock<Monitor> = LazyLock::new(|| {
    let monitor = Monitor::builder("admin-tests", "1.0.0")
        .config(|config| {
            config
                .metrics_addr("127.0.0.1:0".parse::<SocketAddr>().unwrap())
                .monitor_token(TOKEN)
        })
        .install()
        .expect("install with an admin listener");
    monitor
        .health()
        .register(CheckSpec::readiness("replica"), || async {
            CheckReport::fail("replica lag 40 s on db-replica-2")
        })
        .expect("each check has its own name");
    monitor
});

/// `GET path` with extra header lines.
async fn get_with(addr: SocketAddr, path: &str, headers: &str) -> RawResponse {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\r\n");
    raw_request(addr, request.as_bytes()).await
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

#[tokio::test]
async fn a_separate_listener_keeps_metrics_off_the_public_port() {
    let admin = MONITOR.metrics_addr().expect("an admin listener");
    let public = serve(
        Router::new()
            .route("/hello", get(|| async { "hello" }))
            .merge(MONITOR.router())
            .layer(MONITOR.layer()),
    )
    .await;
    assert_ne!(admin.port(), public.port());

    assert_eq!(http_get(public, "/hello").await.status, 200);
    assert_eq!(http_get(public, "/metrics").await.status, 404);
    assert_eq!(
        get_with(public, "/metrics", &bearer(TOKEN)).await.status,
        404,
        "not even with the token"
    );

    let refused = http_get(admin, "/metrics").await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("www-authenticate"),
        Some(r#"Bearer realm="vk-monitor""#)
    );
    let wrong = get_with(admin, "/metrics", &bearer("scrape-0123456789-abcdeF")).await;
    assert_eq!(wrong.status, 401);
    let scraped = get_with(admin, "/metrics", &bearer(TOKEN)).await;
    assert_eq!(scraped.status, 200);
    assert!(scraped.body.contains("# TYPE http_requests_total counter"));
    assert!(
        scraped
            .body
            .contains(r#"http_requests_total{method="GET",route="/hello",status="200"} 1"#),
        "the public port's traffic is on the admin listener's /metrics"
    );
}

#[tokio::test]
async fn health_details_need_the_token_or_the_admin_listener() {
    let admin = MONITOR.metrics_addr().unwrap();
    let public = serve(MONITOR.router()).await;
    let detail = "replica lag 40 s on db-replica-2";

    // Anonymous callers of the public port learn the status and each check's, nothing more:
    // operators have the admin listener and the token.
    for path in ["/ready", "/health", "/startup"] {
        let anonymous = http_get(public, path).await;
        let body: serde_json::Value = serde_json::from_str(&anonymous.body).unwrap();
        let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["checks", "status"], "{path}: {body}");
        for (name, check) in body["checks"].as_object().unwrap() {
            assert!(name.ends_with(":status"), "{path}: {name} in {body}");
            let keys: Vec<&String> = check[0].as_object().unwrap().keys().collect();
            assert_eq!(keys, ["status"], "{path}: {body}");
        }
    }
    let anonymous = http_get(public, "/ready").await;
    assert_eq!(anonymous.status, 503);
    assert!(
        anonymous
            .body
            .contains(r#""replica:status":[{"status":"fail"}]"#),
        "{}",
        anonymous.body
    );
    assert!(!anonymous.body.contains(detail), "{}", anonymous.body);

    let operator = get_with(public, "/ready", &bearer(TOKEN)).await;
    assert_eq!(operator.status, 503);
    assert!(operator.body.contains(detail), "{}", operator.body);
    for shown in ["rustVersion", "releaseId", "replica:responseTime"] {
        assert!(operator.body.contains(shown), "{shown}: {}", operator.body);
    }

    assert_eq!(http_get(admin, "/ready").await.status, 401);
    let on_admin = get_with(admin, "/ready", &bearer(TOKEN)).await;
    assert_eq!(on_admin.status, 503);
    assert!(on_admin.body.contains(detail), "{}", on_admin.body);
    assert!(on_admin.body.contains("rustVersion"), "{}", on_admin.body);
}

// The cases below install a monitor of their own, in a child process: one process has one
// exporter, and they need other settings than [`MONITOR`]'s.

#[test]
fn a_token_alone_guards_metrics_on_the_public_port() {
    in_child_process("token_alone");
}

#[test]
fn with_neither_token_nor_listener_nothing_is_guarded() {
    in_child_process("neither_token_nor_listener");
}

/// A request for a zero-second profile is refused with 400 by the profile route itself, so a
/// 400 proves the route is there (and the guard let it through) without profiling anything.
const PROFILE: &str = "/debug/pprof/profile?seconds=0";

#[tokio::test]
#[ignore = "run by a_token_alone_guards_metrics_on_the_public_port, in a process of its own"]
async fn token_alone() {
    if !is_child_process("token_alone") {
        return;
    }
    let guarded = Monitor::builder("admin-tests", "1.0.0")
        .config(|config| config.monitor_token(TOKEN))
        .install()
        .expect("install with a token");
    let public = serve(guarded.router()).await;
    assert_eq!(http_get(public, "/metrics").await.status, 401);
    assert_eq!(
        get_with(public, "/metrics", "Authorization: Basic eDp5\r\n")
            .await
            .status,
        401
    );
    assert_eq!(
        get_with(public, "/metrics", &bearer(TOKEN)).await.status,
        200
    );
    let probe = http_get(public, "/health").await;
    assert_eq!(probe.status, 200, "probes need no token");
    assert!(
        !probe.body.contains("rustVersion") && !probe.body.contains("version"),
        "a token alone also keeps the public health routes short: {}",
        probe.body
    );
    // Behind the token, profiles are served on the public port.
    assert_eq!(http_get(public, PROFILE).await.status, 401);
    let refused = get_with(public, PROFILE, &bearer(TOKEN)).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("seconds"), "{}", refused.body);
}

#[tokio::test]
#[ignore = "run by with_neither_token_nor_listener_nothing_is_guarded, in a process of its own"]
async fn neither_token_nor_listener() {
    if !is_child_process("neither_token_nor_listener") {
        return;
    }
    // The default, for scrapes inside a private network. Health says what it always did, for
    // there is no other way in.
    let open = Monitor::builder("admin-tests", "1.0.0")
        .install()
        .expect("install with defaults");
    let open = serve(open.router()).await;
    assert_eq!(http_get(open, "/metrics").await.status, 200);
    let probe = http_get(open, "/health").await;
    assert!(probe.body.contains("rustVersion"), "{}", probe.body);
    assert_eq!(
        http_get(open, PROFILE).await.status,
        404,
        "profiles are never open on the public port"
    );
}

#[tokio::test]
async fn profiles_are_served_only_where_protected() {
    let admin = MONITOR.metrics_addr().unwrap();
    assert_eq!(http_get(admin, PROFILE).await.status, 401);
    assert_eq!(get_with(admin, PROFILE, &bearer(TOKEN)).await.status, 400);
    let public = serve(MONITOR.router()).await;
    assert_eq!(get_with(public, PROFILE, &bearer(TOKEN)).await.status, 404);
}

#[tokio::test]
async fn a_taken_admin_address_fails_start_up_naming_the_variable() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = Monitor::builder("admin-tests", "1.0.0")
        .config(|config| config.metrics_addr(addr).enable_metrics(false))
        .install()
        .unwrap_err();
    assert!(
        matches!(error, InitError::Listen { addr: a, .. } if a == addr),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("METRICS_ADDR={addr}: ")),
        "{error}"
    );
}
