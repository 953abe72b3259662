//! Compile-time behaviour of `#[monitored]`: every supported shape compiles (`ui/pass`), and
//! every misuse is an error pointing at the offending token (`ui/fail`, with reviewed
//! `.stderr`). Refresh the expectations with `TRYBUILD=overwrite` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
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
