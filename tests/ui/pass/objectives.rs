//! Objectives: one `const` shared by sync and async fns and a method, a latency-only one, and
//! a `static`; the values are what was declared.
use std::time::Duration;

use vk_monitor::{Objective, monitored};

const CALLS: Objective = Objective::new("calls-api")
    .success_rate(99.9)
    .latency(Duration::from_millis(250), 99.0);

const FAST: Objective = Objective::new("fast").latency(Duration::from_millis(20), 95.0);

static BATCH: Objective = Objective::new("batch").success_rate(99.0);

#[monitored(objective = CALLS)]
fn create() -> Result<u8, std::io::Error> {
    Ok(1)
}

#[monitored(objective = CALLS, name = "read_call")]
async fn read() -> u8 {
    2
}

#[monitored(objective = FAST)]
fn lookup() -> u8 {
    3
}

#[monitored(objective = BATCH)]
fn batch() {}

struct Calls;

impl Calls {
    #[monitored(objective = self::CALLS)]
    fn end(&self) -> u8 {
        4
    }
}

fn main() {
    assert_eq!(CALLS.name(), "calls-api");
    assert_eq!(CALLS.success_percentile(), Some(99.9));
    assert_eq!(
        CALLS.latency_objective(),
        Some((Duration::from_millis(250), 99.0))
    );
    assert_eq!(FAST.success_percentile(), None);
    let _ = (create(), read(), lookup(), batch(), Calls.end());
}
