//! Expansions add no warning, under rustc here and under clippy in `tests/tests/ui.rs`,
//! which compiles this file as a module.
#![deny(warnings, clippy::all, clippy::pedantic)]
#![allow(
    clippy::unused_async,
    clippy::missing_errors_doc,
    clippy::must_use_candidate
)]

use vk_monitor::{health_check, monitored};

/// A sync fn with an error path.
#[monitored]
pub fn parse(text: &str) -> Result<u8, std::num::ParseIntError> {
    text.parse()
}

/// A unit fn.
#[monitored]
pub fn unit() {}

/// An async fn.
#[monitored]
pub async fn answer() -> u8 {
    42
}

/// A method.
pub struct Counter(u8);

impl Counter {
    /// Reads the counter.
    #[monitored]
    pub fn get(&self) -> u8 {
        self.0
    }
}

/// A sync health check.
#[health_check(kind = liveness, timeout = "100ms")]
pub fn lint_clean_alive() -> bool {
    true
}

/// An async health check.
#[health_check(critical = false)]
pub async fn lint_clean_ready() -> Result<(), std::io::Error> {
    Ok(())
}

pub fn main() {
    let _ = lint_clean_alive();
    drop(lint_clean_ready());
    let _ = parse("1");
    unit();
    drop(answer());
    let _ = Counter(1).get();
}
