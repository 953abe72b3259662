//! Objectives declared in code: what share of a function's calls (or a route's requests) must
//! succeed, and what share must be faster than a threshold. An objective is a `const`; the
//! series of the work it is given to carry its labels, and the process exports its targets
//! once, so that one set of recording rules and alerts serves every objective.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::metrics::gauge;
use crate::metrics::names::{OBJECTIVE_TARGET_RATIO, help};

/// A service level objective: a success rate, a latency threshold with the share of calls
/// that must meet it, or both, under one name that several functions and routes may share.
///
/// ```
/// use std::time::Duration;
/// use vk_monitor::{Objective, monitored};
///
/// /// 99.9% of calls succeed; 99% answer within 250 ms.
/// const CALLS: Objective = Objective::new("calls-api")
///     .success_rate(99.9)
///     .latency(Duration::from_millis(250), 99.0);
///
/// #[monitored(objective = CALLS)]
/// async fn create_call() -> Result<u64, std::io::Error> {
///     Ok(7)
/// }
/// ```
///
/// The calls counter of such a function carries `objective_name="calls-api"` and
/// `objective_percentile="99.9"`; its duration histogram `objective_name`,
/// `objective_percentile="99"` and `objective_latency_threshold="0.25"` (seconds, always one
/// of its bucket bounds: added to its buckets when it is not one). The gauge
/// `objective_target_ratio` holds each target as a ratio (`0.999`, `0.99`), which is what the
/// alert rules in `monitoring/prometheus-alerts.yml` read: they need no edit per objective.
///
/// A percentile outside (0, 100), an empty name or a threshold under 100 µs is a compile error
/// where the `const` is written (the `const` fails to evaluate, with the reason). Choose a
/// threshold among the histogram's bucket bounds (`DEFAULT_BUCKETS`, or the family's own
/// from `buckets_for`): another one becomes a bucket of the objective's series only, and a
/// percentile summed across series with different buckets is skewed (a warning says so).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    name: &'static str,
    success: Option<f64>,
    latency: Option<(Duration, f64)>,
}

impl Objective {
    /// An objective named `name` (the `objective_name` label), with no target yet.
    #[track_caller]
    pub const fn new(name: &'static str) -> Objective {
        assert!(!name.is_empty(), "an objective's name must not be empty");
        Objective {
            name,
            success: None,
            latency: None,
        }
    }

    /// `percentile`% of calls must succeed (not be an error or a panic; a cancelled call does
    /// not count), e.g. `99.9`.
    #[track_caller]
    pub const fn success_rate(mut self, percentile: f64) -> Objective {
        check_percentile(percentile);
        self.success = Some(percentile);
        self
    }

    /// `percentile`% of calls must take at most `threshold` (100 µs or more), e.g. 250 ms for
    /// `99.0`.
    #[track_caller]
    pub const fn latency(mut self, threshold: Duration, percentile: f64) -> Objective {
        // Prometheus 3 writes a bucket bound under 1e-4 in exponent form (`5e-05`), which the
        // alert rules cannot match with the threshold label.
        assert!(
            threshold.as_nanos() >= 100_000,
            "an objective's latency threshold must be at least 100 microseconds"
        );
        check_percentile(percentile);
        self.latency = Some((threshold, percentile));
        self
    }

    /// The name, as the `objective_name` label.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The success rate's percentile, if one is set.
    pub const fn success_percentile(&self) -> Option<f64> {
        self.success
    }

    /// The latency threshold and its percentile, if they are set.
    pub const fn latency_objective(&self) -> Option<(Duration, f64)> {
        self.latency
    }
}

#[track_caller]
const fn check_percentile(percentile: f64) {
    assert!(
        percentile > 0.0 && percentile < 100.0,
        "an objective's percentile must be above 0 and below 100, such as 99.9"
    );
}

/// An objective's label values, formatted once for the series of one unit of work.
#[derive(Debug)]
pub(crate) struct ObjectiveLabels {
    name: &'static str,
    success: Option<Box<str>>,
    /// The percentile, the threshold in seconds as `le` writes it, and the threshold.
    latency: Option<(Box<str>, Box<str>, f64)>,
}

impl ObjectiveLabels {
    /// The labels of `objective`; its targets are exported from now on.
    pub(crate) fn of(objective: &Objective) -> ObjectiveLabels {
        let labels = ObjectiveLabels {
            name: objective.name,
            success: objective.success.map(|p| p.to_string().into()),
            latency: objective.latency.map(|(threshold, p)| {
                let seconds = threshold.as_secs_f64();
                (p.to_string().into(), seconds.to_string().into(), seconds)
            }),
        };
        labels.export_targets(objective);
        labels
    }

    /// The labels of the calls counter: none without a success rate.
    pub(crate) fn of_count(&self) -> Vec<(&'static str, &str)> {
        match &self.success {
            Some(percentile) => vec![
                ("objective_name", self.name),
                ("objective_percentile", percentile),
            ],
            None => Vec::new(),
        }
    }

    /// The labels of the duration histogram and the bound it must have: none without a
    /// latency threshold.
    pub(crate) fn of_duration(&self) -> (Vec<(&'static str, &str)>, Option<f64>) {
        match &self.latency {
            Some((percentile, threshold, seconds)) => (
                vec![
                    ("objective_name", self.name),
                    ("objective_percentile", percentile),
                    ("objective_latency_threshold", threshold),
                ],
                Some(*seconds),
            ),
            None => (Vec::new(), None),
        }
    }
}

/// The targets exported so far: one `objective_target_ratio` series each.
static EXPORTED: Mutex<Vec<(&'static str, u64, Option<u128>)>> = Mutex::new(Vec::new());

impl ObjectiveLabels {
    /// Exports `objective`'s targets as `objective_target_ratio`, with these labels, once per
    /// process.
    fn export_targets(&self, objective: &Objective) {
        let mut exported = EXPORTED.lock().unwrap_or_else(PoisonError::into_inner);
        let mut export =
            |percentile: f64, labels: &[(&'static str, &str)], threshold: Option<Duration>| {
                let key = (
                    self.name,
                    percentile.to_bits(),
                    threshold.map(|t| t.as_nanos()),
                );
                if exported.contains(&key) {
                    return;
                }
                exported.push(key);
                let name = OBJECTIVE_TARGET_RATIO;
                // Rounded so that 99.9 reads 0.999, not 0.9990000000000001.
                let ratio = (percentile / 100.0 * 1e12).round() / 1e12;
                gauge::set(name, help(name), labels, ratio);
            };
        if let (Some(percentile), Some(label)) = (objective.success, &self.success) {
            let labels = [
                ("objective_name", self.name),
                ("objective_percentile", &**label),
            ];
            export(percentile, &labels, None);
        }
        if let (Some((threshold, percentile)), Some((label, seconds, _))) =
            (objective.latency, &self.latency)
        {
            let labels = [
                ("objective_name", self.name),
                ("objective_percentile", &**label),
                ("objective_latency_threshold", &**seconds),
            ];
            export(percentile, &labels, Some(threshold));
        }
    }
}
