//! The names of every metric this crate emits, and their HELP text and units.
//!
//! Use the constants in queries and tests instead of repeating the strings.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Counter: calls of `#[monitored]` functions, labels `function`, `module`, `result`.
pub const FUNCTION_CALLS_TOTAL: &str = "function_calls_total";
/// Histogram (seconds): call duration, labels `function`, `module`, `result`.
pub const FUNCTION_CALL_DURATION_SECONDS: &str = "function_call_duration_seconds";
/// Gauge: calls running now, labels `function`, `module`.
pub const FUNCTION_CALLS_IN_FLIGHT: &str = "function_calls_in_flight";
/// Counter: failed calls, labels `function`, `module`, `kind`.
pub const FUNCTION_ERRORS_TOTAL: &str = "function_errors_total";
/// Gauge, always 1: labels `service`, `version`, `environment`.
pub const BUILD_INFO: &str = "build_info";

/// Registers HELP text and units. Must run after the recorder is installed: descriptions
/// given to no recorder are lost.
pub(crate) fn describe() {
    describe_counter!(
        FUNCTION_CALLS_TOTAL,
        Unit::Count,
        "Calls of monitored functions, by result: ok, error, panic or cancelled."
    );
    describe_histogram!(
        FUNCTION_CALL_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of monitored function calls in seconds, by result."
    );
    describe_gauge!(
        FUNCTION_CALLS_IN_FLIGHT,
        Unit::Count,
        "Calls of monitored functions that have started and not yet ended."
    );
    describe_counter!(
        FUNCTION_ERRORS_TOTAL,
        Unit::Count,
        "Failed calls of monitored functions, by error kind (panic for panics)."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; labels name the service, its version and the deployment environment."
    );
}
