//! The names of every metric this crate emits, and the one table of their types and HELP text.
//!
//! Use the constants in queries and tests instead of repeating the strings.

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
/// Gauge: the target of each objective in use, as a ratio (`0.999` for 99.9%), labels
/// `objective_name`, `objective_percentile` and, for a latency target,
/// `objective_latency_threshold`: what the alert rules divide by.
pub const OBJECTIVE_TARGET_RATIO: &str = "objective_target_ratio";
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

/// A family's type in the exposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Type {
    Counter,
    Gauge,
    Histogram,
}

/// Every family this crate records, with its type and HELP text: the one table. Each is kept
/// in the crate's own storage and rendered by it; the `metrics` recorder serves only the
/// application's metrics (and the process metrics of `metrics-process`), and refuses a metric
/// of the application that has one of these names.
const FAMILIES: [(&str, Type, &str); 16] = [
    (
        FUNCTION_CALLS_TOTAL,
        Type::Counter,
        "Calls of monitored functions, by result: ok, error, panic or cancelled.",
    ),
    (
        FUNCTION_CALL_DURATION_SECONDS,
        Type::Histogram,
        "Duration of monitored function calls in seconds, by result.",
    ),
    (
        FUNCTION_CALLS_IN_FLIGHT,
        Type::Gauge,
        "Calls of monitored functions that have started and not yet ended.",
    ),
    (
        FUNCTION_ERRORS_TOTAL,
        Type::Counter,
        "Failed calls of monitored functions, by error kind (panic for panics).",
    ),
    (
        HTTP_REQUESTS_TOTAL,
        Type::Counter,
        "HTTP requests by method, matched route template and status code (499: cancelled, the client went away).",
    ),
    (
        HTTP_REQUEST_DURATION_SECONDS,
        Type::Histogram,
        "HTTP request duration in seconds, from the request to the end of the response body.",
    ),
    (
        HTTP_REQUESTS_IN_FLIGHT,
        Type::Gauge,
        "HTTP requests received and not yet answered to the end.",
    ),
    (
        HTTP_CLIENT_REQUESTS_TOTAL,
        Type::Counter,
        "Outgoing HTTP requests by method, host and status: the response code, error (no response) or cancelled (dropped before the answer).",
    ),
    (
        HTTP_CLIENT_REQUEST_DURATION_SECONDS,
        Type::Histogram,
        "Outgoing HTTP request duration in seconds, from sending the request to the response head.",
    ),
    (
        HTTP_CLIENT_REQUESTS_IN_FLIGHT,
        Type::Gauge,
        "Outgoing HTTP requests sent and not yet answered.",
    ),
    (
        HTTP_CLIENT_ERRORS_TOTAL,
        Type::Counter,
        "Outgoing HTTP requests that failed without a response, by kind: connect, timeout, body or other.",
    ),
    (
        HEALTH_CHECK_UP,
        Type::Gauge,
        "1 when the health check's last run passed or warned, 0 when it failed.",
    ),
    (
        HEALTH_CHECK_DURATION_SECONDS,
        Type::Histogram,
        "Run time of health checks in seconds.",
    ),
    (
        SENTRY_ENVELOPES_DROPPED_TOTAL,
        Type::Counter,
        "Sentry envelopes not delivered, by reason: queue_full, rate_limited, network_error or rejected.",
    ),
    (
        OBJECTIVE_TARGET_RATIO,
        Type::Gauge,
        "Target of each objective in use, as a ratio: the share of calls that must succeed, or be faster than objective_latency_threshold.",
    ),
    (
        METRICS_SERIES_DROPPED_TOTAL,
        Type::Counter,
        "Registrations of a new label set refused because the metric reached its series limit; each went to the metric's overflow series, labelled otel_metric_overflow, instead.",
    ),
];

/// `build_info`'s HELP; kept apart from the table only because it is one gauge set once.
const BUILD_INFO_HELP: &str =
    "Always 1; labels name the service, its version and the deployment environment.";

/// The HELP text of this crate's family `name`.
pub(crate) fn help(name: &str) -> &'static str {
    if name == BUILD_INFO {
        return BUILD_INFO_HELP;
    }
    match FAMILIES.iter().find(|(family, _, _)| *family == name) {
        Some(&(_, _, help)) => help,
        None => {
            debug_assert!(false, "{name} is not in the table of this crate's families");
            ""
        }
    }
}

/// The type of this crate's family `name`, if it is one.
pub(crate) fn type_of(name: &str) -> Option<Type> {
    if name == BUILD_INFO {
        return Some(Type::Gauge);
    }
    FAMILIES
        .iter()
        .find(|(family, _, _)| *family == name)
        .map(|&(_, kind, _)| kind)
}

/// Whether `name` is a family this crate records itself, one of its samples (`_bucket`,
/// `_sum`, `_count` of a histogram) or a counter's OpenMetrics family name (without `_total`): an application metric with that name would
/// render a second family under it.
pub(crate) fn is_ours(name: &str) -> bool {
    if type_of(name).is_some() {
        return true;
    }
    // OpenMetrics names a counter's family without `_total`: `function_calls` would be a
    // second family beside ours.
    if FAMILIES.iter().any(|(family, kind, _)| {
        *kind == Type::Counter && family.strip_suffix("_total") == Some(name)
    }) {
        return true;
    }
    ["_bucket", "_sum", "_count"].iter().any(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|family| type_of(family) == Some(Type::Histogram))
    })
}

/// The names `metrics_process::Collector::default()` records through the recorder: the
/// process's own, bounded, and let through the cardinality guard untouched.
pub(crate) fn is_process(name: &str) -> bool {
    matches!(
        name,
        "process_cpu_seconds_total"
            | "process_open_fds"
            | "process_max_fds"
            | "process_virtual_memory_bytes"
            | "process_virtual_memory_max_bytes"
            | "process_resident_memory_bytes"
            | "process_start_time_seconds"
            | "process_threads"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_and_a_type_and_its_samples_are_ours() {
        for (name, kind, help_text) in FAMILIES {
            assert_eq!(type_of(name), Some(kind));
            assert_eq!(help(name), help_text);
            assert!(is_ours(name));
        }
        assert!(is_ours("http_request_duration_seconds_bucket"));
        assert!(is_ours("build_info"));
        assert!(!is_ours("http_requests_total_sum"), "not a histogram");
        assert!(
            is_ours("function_calls"),
            "a counter's OpenMetrics family name"
        );
        assert!(!is_ours("orders_total"));
        assert!(is_process("process_threads") && !is_ours("process_threads"));
    }
}
