//! Business metrics beside the RED ones: what a call centre watches.

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

pub const CALLS_ACTIVE: &str = "voice_calls_active";
pub const CALL_DURATION: &str = "voice_call_duration_seconds";
pub const CALLS_TOTAL: &str = "voice_calls_total";

/// Calls last seconds to half an hour, not milliseconds.
pub const CALL_DURATION_BUCKETS: &[f64] =
    &[1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

/// The outcomes a call can end with: the only values of the `outcome` label.
pub const OUTCOMES: [&str; 3] = ["completed", "failed", "abandoned"];

pub fn describe() {
    describe_gauge!(CALLS_ACTIVE, Unit::Count, "Voice calls in progress.");
    describe_histogram!(
        CALL_DURATION,
        Unit::Seconds,
        "Duration of ended voice calls in seconds."
    );
    describe_counter!(CALLS_TOTAL, Unit::Count, "Ended voice calls by outcome.");
    gauge!(CALLS_ACTIVE).set(0.0);
    for outcome in OUTCOMES {
        counter!(CALLS_TOTAL, "outcome" => outcome).absolute(0);
    }
}

pub fn call_started() {
    gauge!(CALLS_ACTIVE).increment(1.0);
}

pub fn call_ended(outcome: &'static str, seconds: f64) {
    gauge!(CALLS_ACTIVE).decrement(1.0);
    histogram!(CALL_DURATION).record(seconds);
    counter!(CALLS_TOTAL, "outcome" => outcome).increment(1);
}
