//! The names of every metric this crate emits, and their HELP text and units.
//!
//! Use the constants in queries and tests instead of repeating the strings.

use metrics::{Unit, describe_counter, describe_gauge};

/// Counter: calls of `#[monitored]` functions, labels `function`, `module`, `result`.
pub const FUNCTION_CALLS_TOTAL: &str = "function_calls_total";
/// Histogram (seconds): call duration, labels `function`, `module`, `result`.
pub const FUNCTION_CALL_DURATION_SECONDS: &str = "function_call_duration_seconds";
/// Gauge: calls running now, labels `function`, `module`.
pub const FUNCTION_CALLS_IN_FLIGHT: &str = "function_calls_in_flight";
/// Counter: failed calls, labels `function`, `module`, `kind`.
pub const FUNCTION_ERRORS_TOTAL: &str = "function_errors_total";
/// Counter: HTTP requests, labels `method`, `route`, `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// Histogram (seconds): request duration to the end of the response body, labels `method`,
/// `route`, `status`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
/// Gauge: HTTP requests being served, labels `method`, `route`.
pub const HTTP_REQUESTS_IN_FLIGHT: &str = "http_requests_in_flight";
/// Gauge: 1 when a health check's last run passed or warned, 0 when it failed; labels `check`,
/// `kind`.
pub const HEALTH_CHECK_UP: &str = "health_check_up";
/// Histogram (seconds): health check run time, labels `check`, `kind`.
pub const HEALTH_CHECK_DURATION_SECONDS: &str = "health_check_duration_seconds";
/// Counter: Sentry envelopes that were not delivered, label `reason` (`queue_full`,
/// `rate_limited`, `network_error`, `rejected`).
pub const SENTRY_ENVELOPES_DROPPED_TOTAL: &str = "sentry_envelopes_dropped_total";
/// Gauge, always 1: labels `service`, `version`, `environment`.
pub const BUILD_INFO: &str = "build_info";

/// HELP of `function_call_duration_seconds`, rendered by this crate's own histograms.
pub(crate) const FUNCTION_CALL_DURATION_HELP: &str =
    "Duration of monitored function calls in seconds, by result.";
/// HELP of `http_request_duration_seconds`, rendered by this crate's own histograms.
pub(crate) const HTTP_REQUEST_DURATION_HELP: &str =
    "HTTP request duration in seconds, from the request to the end of the response body.";

/// HELP of `health_check_duration_seconds`, rendered by this crate's own histograms.
pub(crate) const HEALTH_CHECK_DURATION_HELP: &str = "Run time of health checks in seconds.";

/// Registers HELP text and units. Must run after the recorder is installed: descriptions
/// given to no recorder are lost.
pub(crate) fn describe() {
    describe_counter!(
        FUNCTION_CALLS_TOTAL,
        Unit::Count,
        "Calls of monitored functions, by result: ok, error, panic or cancelled."
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
    describe_counter!(
        HTTP_REQUESTS_TOTAL,
        Unit::Count,
        "HTTP requests by method, matched route template and status code (499: client went away)."
    );
    describe_gauge!(
        HTTP_REQUESTS_IN_FLIGHT,
        Unit::Count,
        "HTTP requests received and not yet answered to the end."
    );
    describe_gauge!(
        HEALTH_CHECK_UP,
        "1 when the health check's last run passed or warned, 0 when it failed."
    );
    describe_counter!(
        SENTRY_ENVELOPES_DROPPED_TOTAL,
        Unit::Count,
        "Sentry envelopes not delivered, by reason: queue_full, rate_limited, network_error or rejected."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; labels name the service, its version and the deployment environment."
    );
}
