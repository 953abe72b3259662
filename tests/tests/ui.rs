//! Compile-time behaviour of `#[monitored]`: every supported shape compiles (`ui/pass`), and
//! every misuse is an error pointing at the offending token (`ui/fail`, with reviewed
//! `.stderr`). Refresh the expectations with `TRYBUILD=overwrite` and review the diff.
//!
//! rustc's wording changes between releases, so the `.stderr` files are compared only on the
//! toolchain they were written with (`ui/TOOLCHAIN`); on any other, the compile-fail cases
//! are skipped with a message saying how to run them, and the pass cases still run. CI sets
//! `VK_MONITOR_UI_TESTS=require`, which fails instead of skipping on another toolchain.

use std::process::Command;

/// The version of the rustc this test is run with, as `rustc --version` prints it.
fn rustc_version() -> Option<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    text.split_whitespace().nth(1).map(str::to_owned)
}

#[test]
fn ui() {
    let written_with = include_str!("../ui/TOOLCHAIN").trim();
    let running = rustc_version().unwrap_or_else(|| "an unknown version".to_owned());
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    if running == written_with {
        cases.compile_fail("ui/fail/*.rs");
        return;
    }
    let message = format!(
        "the compile-fail UI tests compare rustc's diagnostics, written with rustc \
         {written_with}; this is rustc {running}. Run them with that toolchain: \
         `rustup run {written_with} cargo test -p vk-monitor-tests --test ui` (and refresh \
         them with TRYBUILD=overwrite when moving to a new one)"
    );
    if std::env::var("VK_MONITOR_UI_TESTS").as_deref() == Ok("require") {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
}

/// The same file trybuild compiles with `#![deny(warnings)]`, compiled here as a module so
/// that `cargo clippy --all-targets` checks expansions under `clippy::all` and `pedantic`.
#[path = "../ui/pass/lint_clean.rs"]
mod lint_clean;

#[test]
fn lint_clean_case_runs() {
    lint_clean::main();
    assert_eq!(lint_clean::parse("7"), Ok(7));
}
