//! Expansions add no warning, under rustc here and under clippy in `tests/tests/ui.rs`,
//! which compiles this file as a module.
#![deny(warnings, clippy::all, clippy::pedantic)]
#![allow(
    clippy::unused_async,
    clippy::missing_errors_doc,
    clippy::must_use_candidate
)]

use vk_monitor::monitored;

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

pub fn main() {
    let _ = parse("1");
    unit();
    drop(answer());
    let _ = Counter(1).get();
}
