//! Every combination of the settings that shape the monitoring routes builds its routers
//! without panicking and answers as the table in the `admin` module's docs says: metrics on or
//! off, a token or none, a metrics listener or none, health details on or off. Each
//! combination runs in a process of its own (the exporter is installed once per process), a
//! re-run of this test binary. `.ci/run` runs the file under every set of cargo features that
//! changes the routes: `cargo test -p vk-monitor --test router_settings`, with
//! `--no-default-features`, `--features profiling` and both.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "router-settings-token-0123";
const COMBINATION_VAR: &str = "VK_MONITOR_ROUTER_COMBINATION";

#[derive(Clone, Copy, Debug)]
struct Combination {
    metrics: bool,
    token: bool,
    metrics_listener: bool,
    details: bool,
}

impl Combination {
    fn all() -> impl Iterator<Item = Combination> {
        (0..16u8).map(|bits| Combination {
            metrics: bits & 1 != 0,
            token: bits & 2 != 0,
            metrics_listener: bits & 4 != 0,
            details: bits & 8 != 0,
        })
    }

    fn encode(self) -> String {
        [
            self.metrics,
            self.token,
            self.metrics_listener,
            self.details,
        ]
        .map(|on| if on { '1' } else { '0' })
        .iter()
        .collect()
    }

    fn decode(text: &str) -> Combination {
        let bit = |i: usize| text.as_bytes().get(i) == Some(&b'1');
        Combination {
            metrics: bit(0),
            token: bit(1),
            metrics_listener: bit(2),
            details: bit(3),
        }
    }
}

#[test]
fn every_combination_of_settings_builds_routers_that_answer_as_documented() {
    let exe = std::env::current_exe().expect("this test binary");
    let mut failed = Vec::new();
    for combination in Combination::all() {
        let output = Command::new(&exe)
            .args(["one_combination", "--exact", "--ignored", "--nocapture"])
            .env(COMBINATION_VAR, combination.encode())
            .env_remove("SENTRY_DSN")
            .env_remove("MONITOR_TOKEN")
            .env_remove("METRICS_ADDR")
            .output()
            .expect("re-run this test binary");
        let ran = String::from_utf8_lossy(&output.stdout).contains("test result: ok. 1 passed");
        if !output.status.success() || !ran {
            failed.push(format!(
                "{combination:?}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 16 combinations failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// One combination, run by the test above in a process of its own.
#[test]
#[ignore = "run by every_combination_of_settings_builds_routers_that_answer_as_documented"]
fn one_combination() {
    let Ok(encoded) = std::env::var(COMBINATION_VAR) else {
        panic!("set {COMBINATION_VAR}; this test is one case of a table test");
    };
    let settings = Combination::decode(&encoded);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(check(settings));
}

async fn check(settings: Combination) {
    let monitor = vk_monitor::Monitor::builder("router-settings", "1.0.0")
        .config(|config| {
            let config = config
                .enable_metrics(settings.metrics)
                .health_show_details(settings.details)
                .apm_enabled(false);
            let config = if settings.token {
                config.monitor_token(TOKEN)
            } else {
                config
            };
            if settings.metrics_listener {
                config.metrics_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
            } else {
                config
            }
        })
        .install()
        .expect("every combination installs");
    // Both routers are built whether or not they are served: neither may panic.
    let public: axum::Router = monitor.router();
    let _admin: axum::Router = monitor.admin_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, public).await });

    let profiling = cfg!(feature = "profiling");
    // What the table in the admin module's docs promises, for a request without the token.
    let guarded = move |status: u16| if settings.token { 401 } else { status };
    let on_public = !settings.metrics_listener;
    let expect_public_metrics = if on_public && settings.metrics {
        guarded(200)
    } else {
        404
    };
    // Profiles are served on the public port only behind a token; `seconds=0` is refused
    // with 400 before any profile starts, which tells a mounted route from a missing one.
    let expect_public_profile = if on_public && settings.token && profiling {
        401
    } else {
        404
    };
    let checks = tokio::task::spawn_blocking(move || {
        let mut problems = Vec::new();
        let mut expect = |addr: SocketAddr, path: &str, token: bool, want: u16| {
            let got = status(addr, path, token.then_some(TOKEN));
            if got != want {
                problems.push(format!(
                    "{path} on {addr} (token sent: {token}): {got}, expected {want}"
                ));
            }
        };
        expect(public_addr, "/health", false, 200);
        expect(public_addr, "/ready", false, 200);
        expect(public_addr, "/metrics", false, expect_public_metrics);
        if settings.token && on_public && settings.metrics {
            expect(public_addr, "/metrics", true, 200);
        }
        expect(
            public_addr,
            "/debug/pprof/profile?seconds=0",
            false,
            expect_public_profile,
        );
        if let Some(admin) = monitor.metrics_addr() {
            expect(admin, "/health", false, guarded(200));
            expect(admin, "/health", true, 200);
            expect(
                admin,
                "/metrics",
                false,
                if settings.metrics { guarded(200) } else { 404 },
            );
            let profile = if profiling { guarded(400) } else { 404 };
            expect(admin, "/debug/pprof/profile?seconds=0", false, profile);
        } else {
            assert!(
                !settings.metrics_listener,
                "a metrics listener was asked for"
            );
        }
        problems
    })
    .await
    .unwrap();
    assert!(checks.is_empty(), "{settings:?}:\n{}", checks.join("\n"));
}

/// The status of `GET path` on a fresh connection.
fn status(addr: SocketAddr, path: &str, token: Option<&str>) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{authorization}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let head = String::from_utf8_lossy(&response);
    head.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line from {addr}{path}: {head:?}"))
}
