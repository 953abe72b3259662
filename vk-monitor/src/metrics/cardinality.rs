//! The cardinality guard: the recorder in front of the Prometheus one, which keeps each metric
//! of the application to a bounded number of label sets.
//!
//! One label fed by a user id or a raw URL makes a series per value, without bound (reports
//! of ~400K series from one label), and every series costs memory here, in every scrape and
//! in Prometheus. Past its limit a metric's new label sets are folded into one overflow
//! series, the label `otel_metric_overflow="true"` alone (the OpenTelemetry convention), and
//! each refusal is counted in `metrics_series_dropped_total{metric}`. Label sets admitted
//! before keep their own series. The process metrics of `metrics-process` are bounded and
//! pass through untouched. The families this crate records itself are not the recorder's: an
//! application metric with one of their names is refused (a no-op handle, and a warning once),
//! since the exposition would show two families under one name.
//!
//! `counter!("x", "k" => v)` registers on every call, so the check for a label set already
//! admitted is a shared-lock lookup of its key in one of 16 shards, by the hash the key
//! carries; only a new label set takes a write lock. Keys are kept whole, not as hashes: the
//! hash has a fixed seed and adds up per-label hashes, so a collision can be made on purpose,
//! and a colliding label set must not pass as admitted. Memory is the admitted keys, at most
//! the limit per metric name; names are not limited, since they come from code.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit,
};

use super::counter::{self, Counter as OwnCounter};
use super::names::{METRICS_SERIES_DROPPED_TOTAL, OVERFLOW_LABEL, help, is_ours, is_process};

/// How many label sets each metric of the application may have, unless configured otherwise
/// ([`ExporterBuilder::max_series`](crate::ExporterBuilder::max_series), `METRICS_MAX_SERIES`).
pub const DEFAULT_MAX_SERIES: usize = 1_000;

const SHARDS: usize = 16;

/// The label-set limits: one for every metric, and overrides by full name.
#[derive(Clone, Debug)]
pub(crate) struct SeriesLimits {
    pub(crate) default: usize,
    pub(crate) per_metric: Vec<(String, usize)>,
}

impl SeriesLimits {
    /// The limit of `metric`: its last override, else the default.
    fn of(&self, metric: &str) -> usize {
        self.per_metric
            .iter()
            .rev()
            .find(|(name, _)| name == metric)
            .map_or(self.default, |&(_, limit)| limit)
    }
}

/// A [`Recorder`] that passes every registration to `inner`, except new label sets of a metric
/// that has reached its limit: those get the metric's overflow series.
pub(crate) struct CardinalityGuard<R> {
    inner: R,
    limits: SeriesLimits,
    /// Every label set admitted, of every guarded metric, sharded by key hash.
    admitted: [Shard; SHARDS],
    /// Per guarded metric name; read on the first registration of each new label set only.
    families: RwLock<HashMap<KeyName, Arc<Family>>>,
}

/// Padded to its own cache lines, so that readers of one shard do not slow down another's.
#[repr(align(128))]
struct Shard(RwLock<HashSet<Key, BuildHasherDefault<KeyHash>>>);

/// Keys hash themselves once, when made; `Key::hash` writes that one `u64`, which is used as is.
#[derive(Default)]
struct KeyHash(u64);

impl Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    /// Not called by `Key`; FNV-1a, so that anything else hashed here still spreads.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// One guarded metric: how many label sets it has, its overflow series and its drop counter.
struct Family {
    limit: usize,
    admitted: AtomicUsize,
    /// `metrics_series_dropped_total{metric="<name>"}`.
    dropped: &'static OwnCounter,
    warned: AtomicBool,
    /// `<name>{otel_metric_overflow="true"}`, and its handles once registered.
    overflow: Key,
    counter: OnceLock<Counter>,
    gauge: OnceLock<Gauge>,
    histogram: OnceLock<Histogram>,
}

impl<R: Recorder> CardinalityGuard<R> {
    pub(crate) fn new(inner: R, limits: SeriesLimits) -> Self {
        CardinalityGuard {
            inner,
            limits,
            admitted: std::array::from_fn(|_| Shard(RwLock::default())),
            families: RwLock::default(),
        }
    }

    /// `Admit`: register `key` itself. `Overflow`: the family whose overflow series stands in
    /// for it. `Refuse`: one of this crate's names, given a handle that records nothing.
    #[inline]
    fn admit(&self, key: &Key) -> Admission {
        if is_process(key.name()) {
            return Admission::Admit;
        }
        if is_ours(key.name()) {
            refuse_ours(key.name());
            return Admission::Refuse;
        }
        let shard = self.shard(key);
        if read(&shard.0).contains(key) {
            return Admission::Admit;
        }
        match self.admit_new(key, shard) {
            None => Admission::Admit,
            Some(family) => Admission::Overflow(family),
        }
    }

    fn shard(&self, key: &Key) -> &Shard {
        // Bits the shard's own table does not use: it indexes with the low bits and tags
        // entries with the top seven.
        &self.admitted[(key.get_hash() >> 40) as usize % SHARDS]
    }

    #[cold]
    #[inline(never)]
    fn admit_new(&self, key: &Key, shard: &Shard) -> Option<Arc<Family>> {
        let family = self.family(key);
        if family.admitted.load(Ordering::Relaxed) < family.limit {
            let mut admitted = write(&shard.0);
            // Another thread may have admitted it between the two locks.
            if admitted.contains(key) {
                return None;
            }
            if family.take_slot() {
                admitted.insert(key.clone());
                return None;
            }
        } else if read(&shard.0).contains(key) {
            // Admitted by another thread, which took the last slot after the first look.
            return None;
        }
        family.refuse(key.name());
        Some(family)
    }

    fn family(&self, key: &Key) -> Arc<Family> {
        if let Some(family) = read(&self.families).get(key.name()) {
            return Arc::clone(family);
        }
        let mut families = write(&self.families);
        let family = families.entry(key.name_shared()).or_insert_with(|| {
            let name = key.name();
            let dropped = METRICS_SERIES_DROPPED_TOTAL;
            Arc::new(Family {
                limit: self.limits.of(name),
                admitted: AtomicUsize::new(0),
                dropped: counter::register(dropped, help(dropped), &[("metric", name)]),
                warned: AtomicBool::new(false),
                overflow: Key::from_parts(
                    key.name_shared(),
                    vec![Label::from_static_parts(OVERFLOW_LABEL, "true")],
                ),
                counter: OnceLock::new(),
                gauge: OnceLock::new(),
                histogram: OnceLock::new(),
            })
        });
        Arc::clone(family)
    }

    /// The metric names the guard has seen, for tests.
    #[cfg(test)]
    fn guarded(&self) -> Vec<String> {
        read(&self.families)
            .keys()
            .map(|name| name.as_str().to_owned())
            .collect()
    }
}

impl Family {
    /// Counts one more label set if the limit allows it.
    fn take_slot(&self) -> bool {
        self.admitted
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |admitted| {
                (admitted < self.limit).then_some(admitted + 1)
            })
            .is_ok()
    }

    fn refuse(&self, name: &str) {
        self.dropped.increment();
        if !self.warned.load(Ordering::Relaxed) && !self.warned.swap(true, Ordering::Relaxed) {
            let limit = self.limit;
            // Not `eprintln!`, which panics when standard error is gone: this runs in requests.
            let _ = writeln!(
                std::io::stderr().lock(),
                "vk-monitor: warning: metric {name} reached its limit of {limit} label sets; \
                 new ones are recorded as {name}{{{OVERFLOW_LABEL}=\"true\"}} and counted in \
                 {METRICS_SERIES_DROPPED_TOTAL}{{metric=\"{name}\"}}. A label fed by ids or raw \
                 paths is the usual cause; METRICS_MAX_SERIES or ExporterBuilder::max_series_for \
                 raise the limit"
            );
        }
    }
}

impl<R: Recorder> Recorder for CardinalityGuard<R> {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !is_ours(key.as_str()) {
            self.inner.describe_counter(key, unit, description);
        }
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !is_ours(key.as_str()) {
            self.inner.describe_gauge(key, unit, description);
        }
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if !is_ours(key.as_str()) {
            self.inner.describe_histogram(key, unit, description);
        }
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        match self.admit(key) {
            Admission::Admit => self.inner.register_counter(key, metadata),
            Admission::Overflow(family) => family
                .counter
                .get_or_init(|| self.inner.register_counter(&family.overflow, metadata))
                .clone(),
            Admission::Refuse => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        match self.admit(key) {
            Admission::Admit => self.inner.register_gauge(key, metadata),
            Admission::Overflow(family) => family
                .gauge
                .get_or_init(|| self.inner.register_gauge(&family.overflow, metadata))
                .clone(),
            Admission::Refuse => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        match self.admit(key) {
            Admission::Admit => self.inner.register_histogram(key, metadata),
            Admission::Overflow(family) => family
                .histogram
                .get_or_init(|| self.inner.register_histogram(&family.overflow, metadata))
                .clone(),
            Admission::Refuse => Histogram::noop(),
        }
    }
}

/// What becomes of a registration.
enum Admission {
    Admit,
    Overflow(Arc<Family>),
    Refuse,
}

/// An application metric named like one of this crate's families: warned about once per name.
#[cold]
fn refuse_ours(name: &str) {
    // `counter!` registers on every call: a shared look first, the write lock once per name.
    static WARNED: RwLock<Vec<String>> = RwLock::new(Vec::new());
    if read(&WARNED).iter().any(|warned| warned == name) {
        return;
    }
    let mut warned = write(&WARNED);
    if warned.iter().any(|warned| warned == name) {
        return;
    }
    warned.push(name.to_owned());
    // Not `eprintln!`, which panics when standard error is gone: this runs in requests.
    let _ = writeln!(
        std::io::stderr().lock(),
        "vk-monitor: warning: the application's metric {name} has the name of a family \
         vk-monitor records itself, and is not recorded: two families under one name would \
         make the exposition invalid. Give it a name of its own"
    );
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use metrics::{counter, gauge, histogram};
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    use super::*;
    use crate::metrics::names::{
        BUILD_INFO, FUNCTION_CALLS_IN_FLIGHT, FUNCTION_CALLS_TOTAL, FUNCTION_ERRORS_TOTAL,
        HEALTH_CHECK_UP, HTTP_REQUESTS_IN_FLIGHT, HTTP_REQUESTS_TOTAL,
        SENTRY_ENVELOPES_DROPPED_TOTAL,
    };
    use metrics::Level;

    static METADATA: Metadata<'static> =
        Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

    impl<R: Recorder> CardinalityGuard<R> {
        /// `metrics_series_dropped_total{metric}`, kept in this crate's own counters.
        fn dropped(&self, metric: &str) -> Option<f64> {
            let families = read(&self.families);
            families
                .get(metric)
                .map(|family| family.dropped.get() as f64)
        }
    }

    /// A guard around a recorder of its own, and the handle that renders it.
    fn guard(
        default: usize,
        per_metric: &[(&str, usize)],
    ) -> (CardinalityGuard<impl Recorder>, PrometheusHandle) {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let limits = SeriesLimits {
            default,
            per_metric: per_metric.iter().map(|&(m, n)| (m.to_owned(), n)).collect(),
        };
        (CardinalityGuard::new(recorder, limits), handle)
    }

    /// The sample lines of `name` (or of `name_count` for histograms), as `(labels, value)`.
    fn series(exposition: &str, name: &str) -> Vec<(String, f64)> {
        exposition
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix(name)?.strip_prefix('{')?;
                let (labels, value) = rest.rsplit_once("} ")?;
                Some((labels.to_owned(), value.parse().ok()?))
            })
            .collect()
    }

    fn value(exposition: &str, name: &str, labels: &str) -> Option<f64> {
        series(exposition, name)
            .into_iter()
            .find(|(found, _)| found == labels)
            .map(|(_, value)| value)
    }

    const OVERFLOW: &str = r#"otel_metric_overflow="true""#;

    #[test]
    fn a_flood_of_label_values_adds_the_limit_and_one_overflow_series() {
        let (guard, handle) = guard(DEFAULT_MAX_SERIES, &[]);
        metrics::with_local_recorder(&guard, || {
            for user in 0..100_000 {
                counter!("logins_total", "user" => user.to_string()).increment(1);
            }
            // Admitted label sets keep working, refused ones keep folding.
            counter!("logins_total", "user" => "7").increment(10);
            counter!("logins_total", "user" => "100000").increment(10);
        });
        let exposition = handle.render();
        let logins = series(&exposition, "logins_total");
        assert_eq!(
            logins.len(),
            DEFAULT_MAX_SERIES + 1,
            "the limit plus the overflow"
        );
        assert_eq!(
            value(&exposition, "logins_total", r#"user="7""#),
            Some(11.0)
        );
        assert_eq!(
            value(&exposition, "logins_total", r#"user="999""#),
            Some(1.0)
        );
        assert_eq!(value(&exposition, "logins_total", r#"user="1000""#), None);
        assert_eq!(
            value(&exposition, "logins_total", OVERFLOW),
            Some(99_000.0 + 10.0)
        );
        let total: f64 = logins.iter().map(|(_, value)| value).sum();
        assert_eq!(total, 100_000.0 + 20.0, "no increment lost");
        // One per refused registration: the 99,000 label sets, and the late one once more.
        assert_eq!(guard.dropped("logins_total"), Some(99_001.0));
    }

    #[test]
    fn threads_racing_on_the_same_label_sets_admit_exactly_the_limit() {
        let (guard, handle) = guard(1_000, &[]);
        let keys: Vec<Key> = (0..2_000)
            .map(|i| Key::from_parts("racing_total", vec![Label::new("id", i.to_string())]))
            .collect();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for key in &keys {
                        guard.register_counter(key, &METADATA).increment(1);
                    }
                });
            }
        });
        let exposition = handle.render();
        let racing = series(&exposition, "racing_total");
        assert_eq!(racing.len(), 1_001);
        assert!(
            racing
                .iter()
                .all(|(labels, value)| labels == OVERFLOW || *value == 4.0),
            "every admitted label set has all four threads' increments"
        );
        assert_eq!(value(&exposition, "racing_total", OVERFLOW), Some(4_000.0));
        let dropped = guard.dropped("racing_total");
        assert_eq!(
            dropped,
            Some(4_000.0),
            "each refused label set, by each thread"
        );
    }

    #[test]
    fn a_refused_label_set_counts_once_per_registration() {
        let (guard, handle) = guard(1, &[]);
        metrics::with_local_recorder(&guard, || {
            counter!("jobs_total", "job" => "a").increment(1);
            let kept = counter!("jobs_total", "job" => "b");
            for _ in 0..5 {
                kept.increment(1);
            }
            for _ in 0..3 {
                counter!("jobs_total", "job" => "c").increment(1);
            }
        });
        let exposition = handle.render();
        assert_eq!(value(&exposition, "jobs_total", OVERFLOW), Some(8.0));
        let dropped = guard.dropped("jobs_total");
        assert_eq!(dropped, Some(4.0), "b once (a kept handle), c three times");
    }

    #[test]
    fn a_metric_starts_with_zero_dropped() {
        let (guard, handle) = guard(10, &[]);
        metrics::with_local_recorder(&guard, || counter!("orders_total").increment(1));
        let exposition = handle.render();
        assert_eq!(guard.dropped("orders_total"), Some(0.0));
        assert_eq!(series(&exposition, "orders_total"), []);
        assert!(exposition.contains("\norders_total 1\n"), "{exposition}");
    }

    #[test]
    fn per_metric_limits_override_the_default() {
        let (guard, handle) = guard(5, &[("small_total", 2), ("big_total", 3), ("big_total", 8)]);
        metrics::with_local_recorder(&guard, || {
            for i in 0..20 {
                for name in ["small_total", "big_total", "other_total"] {
                    counter!(name, "id" => i.to_string()).increment(1);
                }
            }
        });
        let exposition = handle.render();
        for (name, limit) in [("small_total", 2), ("big_total", 8), ("other_total", 5)] {
            assert_eq!(series(&exposition, name).len(), limit + 1, "{name}");
            let dropped = guard.dropped(name);
            assert_eq!(dropped, Some((20 - limit) as f64), "{name}");
        }
    }

    #[test]
    fn gauges_and_histograms_are_guarded_too() {
        let (guard, handle) = guard(3, &[]);
        metrics::with_local_recorder(&guard, || {
            for i in 0..10 {
                gauge!("queue_depth", "queue" => i.to_string()).increment(1.0);
                histogram!("payload_bytes", "tenant" => i.to_string()).record(100.0);
            }
        });
        let exposition = handle.render();
        let queues = series(&exposition, "queue_depth");
        assert_eq!(queues.len(), 4, "{queues:?}");
        assert_eq!(value(&exposition, "queue_depth", OVERFLOW), Some(7.0));
        let payloads = series(&exposition, "payload_bytes_count");
        assert_eq!(payloads.len(), 4, "{payloads:?}");
        assert_eq!(
            value(&exposition, "payload_bytes_count", OVERFLOW),
            Some(7.0)
        );
        for name in ["queue_depth", "payload_bytes"] {
            let dropped = guard.dropped(name);
            assert_eq!(dropped, Some(7.0), "{name}");
        }
    }

    #[test]
    fn this_crates_names_are_refused_and_process_metrics_pass_through() {
        let (guard, handle) = guard(1, &[]);
        metrics::with_local_recorder(&guard, || {
            for i in 0..50 {
                let function = format!("handler_{i}");
                counter!(FUNCTION_CALLS_TOTAL, "function" => function.clone()).increment(1);
                counter!(FUNCTION_ERRORS_TOTAL, "function" => function.clone()).increment(1);
                gauge!(FUNCTION_CALLS_IN_FLIGHT, "function" => function.clone()).set(1.0);
                let route = format!("/route/{i}");
                counter!(HTTP_REQUESTS_TOTAL, "route" => route.clone()).increment(1);
                gauge!(HTTP_REQUESTS_IN_FLIGHT, "route" => route).set(1.0);
                gauge!(HEALTH_CHECK_UP, "check" => function).set(1.0);
                counter!(SENTRY_ENVELOPES_DROPPED_TOTAL, "reason" => i.to_string()).increment(1);
                gauge!(BUILD_INFO, "version" => i.to_string()).set(1.0);
                histogram!("http_request_duration_seconds_sum").record(1.0);
            }
            metrics::describe_counter!(HTTP_REQUESTS_TOTAL, "Someone else's requests.");
            let process = metrics_process::Collector::default();
            process.describe();
            process.collect();
        });
        assert_eq!(guard.guarded(), Vec::<String>::new(), "nothing was guarded");
        let exposition = handle.render();
        assert!(!exposition.contains(OVERFLOW_LABEL), "{exposition}");
        for name in [
            FUNCTION_CALLS_TOTAL,
            FUNCTION_ERRORS_TOTAL,
            FUNCTION_CALLS_IN_FLIGHT,
            HTTP_REQUESTS_TOTAL,
            HTTP_REQUESTS_IN_FLIGHT,
            HEALTH_CHECK_UP,
            SENTRY_ENVELOPES_DROPPED_TOTAL,
            BUILD_INFO,
            "http_request_duration_seconds",
        ] {
            assert!(
                !exposition.contains(name),
                "{name} reached the recorder: {exposition}"
            );
        }
        assert!(
            exposition.contains("process_start_time_seconds"),
            "{exposition}"
        );
    }

    #[test]
    fn descriptions_reach_the_recorder() {
        let (guard, handle) = guard(1, &[]);
        metrics::with_local_recorder(&guard, || {
            metrics::describe_counter!("signups_total", "Accounts created.");
            counter!("signups_total").increment(1);
        });
        assert!(
            handle
                .render()
                .contains("# HELP signups_total Accounts created.")
        );
    }
}
