use std::time::Duration;

use vk_monitor::{Objective, monitored};

const NOT_AN_OBJECTIVE: u32 = 3;

#[monitored(objective = "calls-api")]
fn literal() {}

#[monitored(objective)]
fn without_value() {}

#[monitored(objective = NOT_AN_OBJECTIVE)]
fn wrong_type() {}

const OVER: Objective = Objective::new("over").success_rate(100.0);

const ZERO: Objective = Objective::new("zero").success_rate(0.0);

const NO_THRESHOLD: Objective = Objective::new("instant").latency(Duration::ZERO, 99.0);

const NO_NAME: Objective = Objective::new("");

const TOO_FAST: Objective = Objective::new("tiny").latency(Duration::from_micros(50), 99.0);

#[monitored(objective = OVER)]
fn over() {}

fn main() {}
