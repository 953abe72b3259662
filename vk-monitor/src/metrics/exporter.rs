//! The Prometheus exporter: installs the global `metrics` recorder with real histogram buckets
//! behind the cardinality guard, keeps it trimmed, describes every metric, and renders the
//! exposition for `GET /metrics`, in text 0.0.4 or OpenMetrics.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use http::HeaderMap;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::cardinality::{CardinalityGuard, DEFAULT_MAX_SERIES, SeriesLimits};
use super::error::ExporterError;
use super::format::Format;
use super::names::{BUILD_INFO, help};
use super::recording::{self, BucketConfig, DEFAULT_BUCKETS};
use super::{counter, gauge, histogram, openmetrics, scrape};
use crate::routes;
use crate::service_info::{self, ServiceInfo};

static INSTALLED: OnceLock<Exporter> = OnceLock::new();

/// The installed Prometheus exporter. Cheap to clone.
///
/// It is the process's `metrics` recorder: besides what this crate records (in its own storage),
/// metrics from the `metrics` macros anywhere in the process (such as business metrics) are
/// exported too, each with at most [`max_series`](ExporterBuilder::max_series) label sets. A
/// metric named like one of this crate's families ([`names`](crate::metrics::names)) is not
/// recorded, with a warning on standard error: two families under one name would make the
/// exposition invalid.
/// [`init!`](crate::init) installs one; adjust it through
/// [`MonitorBuilder::exporter`](crate::MonitorBuilder::exporter), which installs it with the
/// rest of the monitor. Installed alone, as below, it has no monitoring routes but its own
/// [`router`](Exporter::router).
///
/// ```
/// # fn main() -> Result<(), vk_monitor::ExporterError> {
/// let exporter = vk_monitor::Exporter::builder()
///     .service("voice-calls")
///     .version("1.4.2")
///     .environment("production")
///     .buckets_for("voice_call_duration_seconds", &[1.0, 10.0, 60.0])
///     .install()?;
///
/// metrics::counter!("voice_calls_total", "outcome" => "completed").increment(1);
/// metrics::histogram!("voice_call_duration_seconds").record(42.0);
///
/// let exposition = exporter.render();
/// assert!(exposition.contains(
///     r#"build_info{service="voice-calls",version="1.4.2",environment="production"} 1"#
/// ));
/// assert!(exposition.contains(r#"voice_calls_total{outcome="completed"} 1"#));
/// assert!(exposition.contains(r#"voice_call_duration_seconds_bucket{le="60"} 1"#));
///
/// // Serves the same text as `GET /metrics`.
/// let app: axum::Router = axum::Router::new().merge(exporter.router());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Exporter {
    inner: Arc<Inner>,
}

struct Inner {
    handle: PrometheusHandle,
    process: Option<metrics_process::Collector>,
}

impl Exporter {
    /// Starts configuring an exporter.
    pub fn builder() -> ExporterBuilder {
        ExporterBuilder::default()
    }

    /// Installs an exporter with the default configuration.
    pub fn install() -> Result<Exporter, ExporterError> {
        ExporterBuilder::default().install()
    }

    /// The exporter installed in this process, if any.
    pub fn global() -> Option<&'static Exporter> {
        INSTALLED.get()
    }

    /// Renders every metric in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        self.render_in(Format::Text)
    }

    /// Renders every metric in the OpenMetrics 1.0 text format: the same series as
    /// [`render`](Self::render), with exemplars that link duration buckets and request and call
    /// counts to the Sentry trace of a recent sampled call, and `# EOF` last.
    ///
    /// ```
    /// # fn main() -> Result<(), vk_monitor::ExporterError> {
    /// let exporter = vk_monitor::Exporter::builder().install()?;
    /// metrics::counter!("orders_total").increment(2);
    ///
    /// let exposition = exporter.render_openmetrics();
    /// assert!(exposition.contains("# TYPE orders counter\norders_total 2\n"));
    /// assert!(exposition.ends_with("# EOF\n"));
    /// # Ok(()) }
    /// ```
    pub fn render_openmetrics(&self) -> String {
        self.render_in(Format::OpenMetrics)
    }

    fn render_in(&self, format: Format) -> String {
        if let Some(process) = &self.inner.process {
            process.collect();
        }
        let recorded = self.inner.handle.render();
        let mut exposition = match format {
            Format::Text => recorded,
            Format::OpenMetrics => {
                let mut exposition = String::new();
                openmetrics::convert(&recorded, &mut exposition);
                exposition
            }
        };
        // The application's metrics above; below, every family this crate records, from its
        // own storage (the recorder refuses their names).
        counter::render(&mut exposition, format);
        gauge::render(&mut exposition, format);
        histogram::render(&mut exposition, format);
        if format == Format::OpenMetrics {
            exposition.push_str("# EOF\n");
        }
        exposition
    }

    /// A router serving `GET /metrics`. Merge it into the application's router.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let exporter = self.clone();
        Router::new().route(
            routes::METRICS,
            get(move |headers: HeaderMap| async move { exporter.response(&headers) }),
        )
    }

    /// The `/metrics` response to a request with `headers`: OpenMetrics when its `Accept`
    /// header prefers it (as Prometheus does), else text 0.0.4, each with its versioned
    /// content type; gzipped when its `Accept-Encoding` allows.
    pub fn response(&self, headers: &HeaderMap) -> Response {
        let wanted = scrape::negotiate(headers);
        scrape::response(self.render_in(wanted.format), wanted)
    }
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporter").finish_non_exhaustive()
    }
}

/// Configuration of the [`Exporter`], with defaults suited to a web service.
#[derive(Clone, Debug)]
pub struct ExporterBuilder {
    buckets: Vec<f64>,
    metric_buckets: Vec<(String, Vec<f64>)>,
    max_series: usize,
    metric_max_series: Vec<(String, usize)>,
    service: Option<Cow<'static, str>>,
    version: Cow<'static, str>,
    environment: Cow<'static, str>,
    release: Option<Cow<'static, str>>,
    upkeep_interval: Duration,
    process_metrics: bool,
}

impl Default for ExporterBuilder {
    fn default() -> Self {
        ExporterBuilder {
            buckets: DEFAULT_BUCKETS.to_vec(),
            metric_buckets: Vec::new(),
            max_series: DEFAULT_MAX_SERIES,
            metric_max_series: Vec::new(),
            service: None,
            version: Cow::Borrowed(service_info::UNKNOWN_VERSION),
            environment: Cow::Borrowed(service_info::DEFAULT_ENVIRONMENT),
            release: None,
            upkeep_interval: Duration::from_secs(5),
            process_metrics: true,
        }
    }
}

impl ExporterBuilder {
    /// Buckets (upper bounds, in the metric's unit) for every histogram without its own.
    /// Default: [`DEFAULT_BUCKETS`].
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.buckets = bounds.to_vec();
        self
    }

    /// Buckets for one histogram, by its full name.
    pub fn buckets_for(mut self, metric: impl Into<String>, bounds: &[f64]) -> Self {
        self.metric_buckets.push((metric.into(), bounds.to_vec()));
        self
    }

    /// At most `limit` label sets per metric recorded with the `metrics` macros. Default:
    /// [`DEFAULT_MAX_SERIES`](crate::metrics::DEFAULT_MAX_SERIES); `METRICS_MAX_SERIES` for a
    /// monitor.
    ///
    /// Past it, a new label set of the metric is recorded in its overflow series, labelled
    /// only `otel_metric_overflow="true"`, and counted in
    /// [`metrics_series_dropped_total`](crate::metrics::names::METRICS_SERIES_DROPPED_TOTAL);
    /// a warning is printed once per metric. Label sets admitted before keep their series.
    /// This crate's own metrics are bounded by construction and never limited.
    ///
    /// ```
    /// # fn main() -> Result<(), vk_monitor::ExporterError> {
    /// let exporter = vk_monitor::Exporter::builder().max_series(100).install()?;
    /// for user in 0..150 {
    ///     metrics::counter!("logins_total", "user" => user.to_string()).increment(1);
    /// }
    /// let exposition = exporter.render();
    /// assert!(exposition.contains(r#"logins_total{user="99"} 1"#));
    /// assert!(exposition.contains(r#"logins_total{otel_metric_overflow="true"} 50"#));
    /// assert!(exposition.contains(r#"metrics_series_dropped_total{metric="logins_total"} 50"#));
    /// # Ok(()) }
    /// ```
    pub fn max_series(mut self, limit: usize) -> Self {
        self.max_series = limit;
        self
    }

    /// The label-set limit of one metric, by its full name, instead of
    /// [`max_series`](Self::max_series); the last call for a name wins.
    pub fn max_series_for(mut self, metric: impl Into<String>, limit: usize) -> Self {
        self.metric_max_series.push((metric.into(), limit));
        self
    }

    /// The `service` label of `build_info`. Default: the executable's file name.
    pub fn service(mut self, service: impl Into<Cow<'static, str>>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The `version` label of `build_info`. Default: `unknown`.
    pub fn version(mut self, version: impl Into<Cow<'static, str>>) -> Self {
        self.version = version.into();
        self
    }

    /// The `environment` label of `build_info`. Default: `development`.
    pub fn environment(mut self, environment: impl Into<Cow<'static, str>>) -> Self {
        self.environment = environment.into();
        self
    }

    /// The release the health endpoints report as `releaseId`. Default: `service@version`.
    pub fn release(mut self, release: impl Into<Cow<'static, str>>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// How often histogram samples are folded into buckets. Default: 5 s.
    pub fn upkeep_interval(mut self, interval: Duration) -> Self {
        self.upkeep_interval = interval;
        self
    }

    /// Whether to export `process_*` metrics (CPU, memory, file descriptors, start time).
    /// Default: on.
    pub fn process_metrics(mut self, enabled: bool) -> Self {
        self.process_metrics = enabled;
        self
    }

    /// Installs the recorder for the whole process and starts its upkeep thread.
    ///
    /// Functions annotated with `#[monitored]` start recording from this moment, including
    /// those already called before it.
    ///
    /// # Errors
    ///
    /// Invalid buckets, a series limit of 0, a second installation, another `metrics`
    /// recorder already installed, or a failure to start the upkeep thread.
    pub fn install(self) -> Result<Exporter, ExporterError> {
        validate_buckets(None, &self.buckets)?;
        for (metric, bounds) in &self.metric_buckets {
            validate_buckets(Some(metric), bounds)?;
        }
        let limits = SeriesLimits {
            default: self.max_series,
            per_metric: self.metric_max_series,
        };
        if limits.default == 0 {
            return Err(ExporterError::ZeroMaxSeries { metric: None });
        }
        if let Some((metric, _)) = limits.per_metric.iter().find(|(_, limit)| *limit == 0) {
            let metric = Some(metric.clone());
            return Err(ExporterError::ZeroMaxSeries { metric });
        }
        // Serialises installs, so that two racing calls get one exporter and one error.
        static INSTALLING: Mutex<()> = Mutex::new(());
        let _installing = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
        if INSTALLED.get().is_some() {
            return Err(ExporterError::AlreadyInstalled);
        }

        let mut builder = PrometheusBuilder::new()
            .set_buckets(&self.buckets)
            .map_err(|err| ExporterError::buckets(None, &self.buckets, err))?;
        for (metric, bounds) in &self.metric_buckets {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(metric.clone()), bounds)
                .map_err(|err| ExporterError::buckets(Some(metric), bounds, err))?;
        }
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(CardinalityGuard::new(recorder, limits))
            .map_err(|_| ExporterError::OtherRecorder)?;

        // `build_recorder` runs no upkeep: without it histogram samples pile up between scrapes.
        let upkeep = handle.clone();
        let interval = self.upkeep_interval;
        std::thread::Builder::new()
            .name("vk-monitor-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    upkeep.run_upkeep();
                }
            })
            .map_err(ExporterError::UpkeepThread)?;

        let info = service_info::set(ServiceInfo::new(
            self.service.unwrap_or_else(service_info::executable_name),
            self.version,
            self.environment,
            self.release,
        ));
        let labels = [
            ("service", &*info.service),
            ("version", &*info.version),
            ("environment", &*info.environment),
        ];
        gauge::set(BUILD_INFO, help(BUILD_INFO), &labels, 1.0);
        let process = self.process_metrics.then(|| {
            let collector = metrics_process::Collector::default();
            collector.describe();
            collector.collect();
            collector
        });
        // Calibrate the call-site clock now rather than in the first monitored call.
        let _ = quanta::Instant::now();

        let exporter = Exporter {
            inner: Arc::new(Inner { handle, process }),
        };
        let _ = INSTALLED.set(exporter.clone());
        recording::start(BucketConfig {
            default: self.buckets,
            per_metric: self.metric_buckets,
        });
        Ok(exporter)
    }
}

fn validate_buckets(metric: Option<&str>, bounds: &[f64]) -> Result<(), ExporterError> {
    let problem = if bounds.is_empty() {
        Some("at least one bucket is needed")
    } else if bounds.iter().any(|b| !b.is_finite()) {
        Some("bounds must be finite (the +Inf bucket is always added)")
    } else if bounds.windows(2).any(|w| w[0] >= w[1]) {
        Some("bounds must be strictly increasing")
    } else {
        None
    };
    match problem {
        Some(reason) => Err(ExporterError::InvalidBuckets {
            metric: metric.map(str::to_owned),
            bounds: bounds.to_vec(),
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_buckets_are_rejected_with_the_reason() {
        let err = validate_buckets(Some("x_seconds"), &[0.1, 0.1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid buckets [0.1, 0.1] for x_seconds: bounds must be strictly increasing"
        );
        assert!(validate_buckets(None, &[]).is_err());
        assert!(validate_buckets(None, &[1.0, f64::INFINITY]).is_err());
        assert!(validate_buckets(None, DEFAULT_BUCKETS).is_ok());
    }

    #[test]
    fn a_series_limit_of_zero_is_refused_before_anything_is_installed() {
        let err = Exporter::builder().max_series(0).install().unwrap_err();
        assert_eq!(
            err.to_string(),
            "series limit 0 for every metric: at least 1 label set is needed"
        );
        let err = Exporter::builder()
            .max_series_for("orders_total", 10)
            .max_series_for("logins_total", 0)
            .install()
            .unwrap_err();
        assert!(
            matches!(&err, ExporterError::ZeroMaxSeries { metric: Some(m) } if m == "logins_total"),
            "{err}"
        );
        assert!(Exporter::global().is_none());
    }
}
