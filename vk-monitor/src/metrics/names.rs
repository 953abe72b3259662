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
/// Counter: outgoing HTTP requests made through [`client`](crate::client), labels `method`,
/// `host`, `status` (the response's code, `error` for a transport failure, `cancelled` for a
/// request dropped before its answer).
pub const HTTP_CLIENT_REQUESTS_TOTAL: &str = "http_client_requests_total";
/// Histogram (seconds): outgoing request duration to the response head, labels `method`,
/// `host`, `status`.
pub const HTTP_CLIENT_REQUEST_DURATION_SECONDS: &str = "http_client_request_duration_seconds";
/// Gauge: outgoing HTTP requests sent and not yet answered, labels `method`, `host`.
pub const HTTP_CLIENT_REQUESTS_IN_FLIGHT: &str = "http_client_requests_in_flight";
/// Counter: outgoing HTTP requests that failed without a response, labels `method`, `host`,
/// `kind` (`connect`, `timeout`, `body`, `other`).
pub const HTTP_CLIENT_ERRORS_TOTAL: &str = "http_client_errors_total";
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
/// Counter: registrations of a new label set refused because its metric already had as many
/// label sets as its limit allows ([`ExporterBuilder::max_series`], `METRICS_MAX_SERIES`);
/// label `metric`. Each refused registration returns the metric's overflow series (the label
/// [`OVERFLOW_LABEL`]`="true"` alone) and counts 1: once per handle where handles are kept,
/// once per call where `counter!` and the like are called for every update. It starts at 0
/// when a metric is first registered; above 0, a label of that metric is unbounded.
///
/// ```text
/// sum by (metric) (increase(metrics_series_dropped_total[1h])) > 0
/// ```
///
/// [`ExporterBuilder::max_series`]: crate::ExporterBuilder::max_series
pub const METRICS_SERIES_DROPPED_TOTAL: &str = "metrics_series_dropped_total";

/// The one label of a metric's overflow series, with the value `"true"`: the series that new
/// label sets beyond the metric's limit are folded into (the OpenTelemetry convention).
pub const OVERFLOW_LABEL: &str = "otel_metric_overflow";

/// HELP of `function_calls_total`, rendered by this crate's own counters.
pub(crate) const FUNCTION_CALLS_HELP: &str =
    "Calls of monitored functions, by result: ok, error, panic or cancelled.";
/// HELP of `http_requests_total`, rendered by this crate's own counters.
pub(crate) const HTTP_REQUESTS_HELP: &str =
    "HTTP requests by method, matched route template and status code (499: client went away).";

/// HELP of `http_client_requests_total`, rendered by this crate's own counters.
pub(crate) const HTTP_CLIENT_REQUESTS_HELP: &str = "Outgoing HTTP requests by method, host and status: the response code, error (no response) or cancelled (dropped before the answer).";
/// HELP of `http_client_errors_total`, rendered by this crate's own counters.
pub(crate) const HTTP_CLIENT_ERRORS_HELP: &str = "Outgoing HTTP requests that failed without a response, by kind: connect, timeout, body or other.";
/// HELP of `http_client_request_duration_seconds`, rendered by this crate's own histograms.
pub(crate) const HTTP_CLIENT_REQUEST_DURATION_HELP: &str =
    "Outgoing HTTP request duration in seconds, from sending the request to the response head.";

/// HELP of `function_call_duration_seconds`, rendered by this crate's own histograms.
pub(crate) const FUNCTION_CALL_DURATION_HELP: &str =
    "Duration of monitored function calls in seconds, by result.";
/// HELP of `http_request_duration_seconds`, rendered by this crate's own histograms.
pub(crate) const HTTP_REQUEST_DURATION_HELP: &str =
    "HTTP request duration in seconds, from the request to the end of the response body.";

/// HELP of `health_check_duration_seconds`, rendered by this crate's own histograms.
pub(crate) const HEALTH_CHECK_DURATION_HELP: &str = "Run time of health checks in seconds.";

/// Whether this crate records the family `name` itself (the call and request counters in its
/// own counters, the rest through the `metrics` recorder): its
/// label values come from code (call sites, route templates, statuses, check names) or are
/// bounded where they are made (the hosts of outgoing calls), never
/// from input, so the cardinality guard lets them through untouched. The `process_*` names
/// are those `metrics_process::Collector::default()` records.
pub(crate) fn is_recorded_by_this_crate(name: &str) -> bool {
    matches!(
        name,
        FUNCTION_CALLS_TOTAL
            | FUNCTION_CALLS_IN_FLIGHT
            | FUNCTION_ERRORS_TOTAL
            | HTTP_REQUESTS_TOTAL
            | HTTP_REQUESTS_IN_FLIGHT
            | HTTP_CLIENT_REQUESTS_TOTAL
            | HTTP_CLIENT_REQUESTS_IN_FLIGHT
            | HTTP_CLIENT_ERRORS_TOTAL
            | HEALTH_CHECK_UP
            | SENTRY_ENVELOPES_DROPPED_TOTAL
            | BUILD_INFO
            | METRICS_SERIES_DROPPED_TOTAL
            | "process_cpu_seconds_total"
            | "process_open_fds"
            | "process_max_fds"
            | "process_virtual_memory_bytes"
            | "process_virtual_memory_max_bytes"
            | "process_resident_memory_bytes"
            | "process_start_time_seconds"
            | "process_threads"
    )
}

/// Registers HELP text and units. Must run after the recorder is installed: descriptions
/// given to no recorder are lost.
pub(crate) fn describe() {
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
        HTTP_REQUESTS_IN_FLIGHT,
        Unit::Count,
        "HTTP requests received and not yet answered to the end."
    );
    describe_gauge!(
        HTTP_CLIENT_REQUESTS_IN_FLIGHT,
        Unit::Count,
        "Outgoing HTTP requests sent and not yet answered."
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
    describe_counter!(
        METRICS_SERIES_DROPPED_TOTAL,
        Unit::Count,
        "Registrations of a new label set refused because the metric reached its series limit; \
         each went to the metric's overflow series, labelled otel_metric_overflow, instead."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; labels name the service, its version and the deployment environment."
    );
}
