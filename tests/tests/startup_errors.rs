//! The example server refusing to start on settings that would fail open: a security setting
//! set but empty, a value that is not UTF-8, a malformed `.env` line holding a secret. Each is
//! named on standard error, all at once, and no secret is echoed. `.ci/run` runs it:
//! `cargo test -p vk-monitor-tests --test startup_errors -- --ignored`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use vk_monitor_tests::load::{example_binary, free_port};

/// Runs the server in `dir` with `env`, expecting it to exit on its own.
fn run_server(dir: &Path, env: &[(&str, &OsStr)]) -> Output {
    run_example("server", dir, env)
}

/// Runs the example `name` in `dir` with `env`, expecting it to exit on its own.
fn run_example(name: &str, dir: &Path, env: &[(&str, &OsStr)]) -> Output {
    let mut command = Command::new(example_binary(name));
    command
        .current_dir(dir)
        .env("LISTEN_ADDR", free_port().to_string())
        .env_remove("SENTRY_DSN")
        .env_remove("MONITOR_TOKEN")
        .env_remove("METRICS_ADDR")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("start the example {name}: {error}"));
    // A server that started despite the settings would never exit: give it a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("poll the server").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with settings it must refuse: {env:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("the server's output")
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vk-monitor-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
#[ignore = "runs the example server binary; .ci/run runs it"]
fn an_empty_token_and_a_non_utf8_dsn_stop_start_up_naming_both() {
    let dir = scratch_dir("empty-token");
    let not_utf8 = OsStr::from_bytes(b"https://key@sentry.example/1\xff");
    let output = run_server(
        &dir,
        &[
            ("MONITOR_TOKEN", OsStr::new("")),
            ("SENTRY_DSN", not_utf8),
            ("ENABLE_METRICS", OsStr::new("false")),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(r#"MONITOR_TOKEN="" (expected a value: the variable is set but empty"#),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"SENTRY_DSN="<not UTF-8, 29 bytes>" (expected UTF-8 text)"#),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
#[ignore = "runs the example server binary; .ci/run runs it"]
fn a_malformed_dotenv_line_is_named_by_file_line_and_variable_without_the_secret() {
    let dir = scratch_dir("dotenv");
    let secret = "tok-9f8e7d6c5b4a39281706";
    let dotenv = dir.join(".env");
    std::fs::write(
        &dotenv,
        format!("APM_ENABLED=true\nMONITOR_TOKEN='{secret}\nSENTRY_DEBUG=false\n"),
    )
    .unwrap();
    let output = run_server(&dir, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        !stderr.contains(secret) && !stderr.contains("tok-9f8e"),
        "{stderr}"
    );
    let located = format!(
        "{} line 2 (MONITOR_TOKEN), value not shown",
        dotenv.display()
    );
    assert!(stderr.contains(&located), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
#[ignore = "runs the example server binary; .ci/run runs it"]
fn invalid_log_settings_are_named_like_every_other_setting() {
    let dir = scratch_dir("log-settings");
    let output = run_server(
        &dir,
        &[
            ("LOG_FORMAT", OsStr::new("yaml")),
            ("RUST_LOG", OsStr::new("server=loud")),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(r#"LOG_FORMAT="yaml" (expected text or json)"#),
        "{stderr}"
    );
    assert!(stderr.contains(r#"RUST_LOG="server=loud""#), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The examples' own settings follow the crate's rules: set but empty is invalid, and each is
/// named in the one start-up error that names the crate's.
#[test]
#[ignore = "runs the example binaries; .ci/run runs it"]
fn the_examples_own_settings_are_named_with_the_crates() {
    let dir = scratch_dir("app-settings");
    let output = run_server(
        &dir,
        &[
            ("LISTEN_ADDR", OsStr::new("")),
            ("SPEECH_LATENCY_MS", OsStr::new("")),
            ("SPEECH_FAILURE_RATE", OsStr::new("2")),
            ("SHUTDOWN_DRAIN_MS", OsStr::new("soon")),
            ("MONITOR_TOKEN", OsStr::new("")),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|line| line.starts_with("voice-calls: invalid configuration:"))
        .unwrap_or_else(|| panic!("no configuration error in {stderr}"));
    for named in [
        r#"LISTEN_ADDR="" (expected a value: the variable is set but empty"#,
        r#"SPEECH_LATENCY_MS="" (expected a value"#,
        r#"SPEECH_FAILURE_RATE="2" (expected a number from 0 to 1)"#,
        r#"SHUTDOWN_DRAIN_MS="soon" (expected a whole number of milliseconds)"#,
        r#"MONITOR_TOKEN="" (expected a value"#,
    ] {
        assert!(line.contains(named), "{named} not in {line}");
    }

    let output = run_example(
        "speech",
        &dir,
        &[
            ("SPEECH_URL", OsStr::new("")), // not the speech service's: not read
            ("SPEECH_FAILURE_RATE", OsStr::new("")),
            ("ENABLE_METRICS", OsStr::new("maybe")),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr
            .contains(r#"speech: invalid configuration: SPEECH_FAILURE_RATE="" (expected a value"#)
            && stderr.contains(r#"ENABLE_METRICS="maybe""#)
            && !stderr.contains("SPEECH_URL"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
