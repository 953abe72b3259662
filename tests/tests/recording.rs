//! `#[monitored]` against the real Prometheus exporter: exact counts, histogram counts, the
//! in-flight gauge and error kinds, for every way a call can end.

use std::num::ParseIntError;
use std::panic::catch_unwind;
use std::sync::Arc;
use std::task::{Context, Waker};

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use vk_monitor::{MonitoredError, monitored};
use vk_monitor_tests::{current, exporter};

const MODULE: &str = module_path!();

fn calls(function: &str, result: &str) -> f64 {
    current(
        "function_calls_total",
        &[
            ("function", function),
            ("module", MODULE),
            ("result", result),
        ],
    )
    .unwrap_or(0.0)
}

fn duration_count(function: &str, result: &str) -> f64 {
    current(
        "function_call_duration_seconds_count",
        &[
            ("function", function),
            ("module", MODULE),
            ("result", result),
        ],
    )
    .unwrap_or(0.0)
}

fn errors(function: &str, kind: &str) -> f64 {
    current(
        "function_errors_total",
        &[("function", function), ("module", MODULE), ("kind", kind)],
    )
    .unwrap_or(0.0)
}

fn in_flight(function: &str) -> f64 {
    current(
        "function_calls_in_flight",
        &[("function", function), ("module", MODULE)],
    )
    .expect("the in-flight gauge exists once the function was called")
}

#[monitored]
fn parse_number(text: &str) -> Result<u32, ParseIntError> {
    let n: u32 = text.parse()?;
    Ok(n * 2)
}

#[test]
fn ok_and_error_calls_are_counted_exactly() {
    exporter();
    for i in 0..7 {
        assert_eq!(parse_number(&i.to_string()), Ok(i * 2));
    }
    for bad in ["x", "", "-1"] {
        assert!(parse_number(bad).is_err());
    }
    assert_eq!(calls("parse_number", "ok"), 7.0);
    assert_eq!(calls("parse_number", "error"), 3.0);
    assert_eq!(duration_count("parse_number", "ok"), 7.0);
    assert_eq!(duration_count("parse_number", "error"), 3.0);
    assert_eq!(errors("parse_number", "error"), 3.0);
    assert_eq!(in_flight("parse_number"), 0.0);
}

#[monitored]
fn explode(really: bool) -> u8 {
    if really {
        panic!("boom");
    }
    1
}

#[test]
fn a_panic_is_counted_and_keeps_unwinding() {
    exporter();
    assert_eq!(explode(false), 1);
    let caught = catch_unwind(|| explode(true));
    assert!(caught.is_err(), "the panic must continue past the guard");
    assert_eq!(calls("explode", "panic"), 1.0);
    assert_eq!(calls("explode", "ok"), 1.0);
    assert_eq!(duration_count("explode", "panic"), 1.0);
    assert_eq!(errors("explode", "panic"), 1.0);
    assert_eq!(in_flight("explode"), 0.0);
}

#[monitored]
async fn wait_forever(gate: futures::channel::oneshot::Receiver<()>) -> Result<(), String> {
    gate.await.map_err(|e| e.to_string())
}

#[test]
fn a_future_dropped_mid_await_is_cancelled() {
    exporter();
    let (_keep_open, gate) = futures::channel::oneshot::channel::<()>();
    let mut call = Box::pin(wait_forever(gate));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(call.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        in_flight("wait_forever"),
        1.0,
        "a pending call is in flight"
    );
    drop(call);
    assert_eq!(calls("wait_forever", "cancelled"), 1.0);
    assert_eq!(duration_count("wait_forever", "cancelled"), 1.0);
    assert_eq!(errors("wait_forever", "error"), 0.0);
    assert_eq!(in_flight("wait_forever"), 0.0);
}

#[monitored]
async fn concurrent_step(i: u64) -> Result<u64, String> {
    tokio::task::yield_now().await;
    if i.is_multiple_of(10) {
        Err(format!("{i} is a multiple of ten"))
    } else {
        Ok(i)
    }
}

#[test]
fn concurrent_calls_on_a_multi_threaded_runtime_lose_no_count() {
    exporter();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                tokio::spawn(async move {
                    for i in 0..1_000 {
                        let _ = concurrent_step(task * 1_000 + i).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!(calls("concurrent_step", "ok"), 7_200.0);
    assert_eq!(calls("concurrent_step", "error"), 800.0);
    assert_eq!(duration_count("concurrent_step", "ok"), 7_200.0);
    assert_eq!(errors("concurrent_step", "error"), 800.0);
    assert_eq!(in_flight("concurrent_step"), 0.0);
}

enum ApiError {
    NotFound,
    Database,
}

impl MonitoredError for ApiError {
    fn is_error(&self) -> bool {
        !matches!(self, ApiError::NotFound)
    }
    fn error_kind(&self) -> &'static str {
        match self {
            ApiError::NotFound => "not_found",
            ApiError::Database => "database",
        }
    }
}

#[monitored]
fn find_call(id: u32) -> Result<u32, ApiError> {
    match id {
        0 => Err(ApiError::NotFound),
        1 => Err(ApiError::Database),
        id => Ok(id),
    }
}

#[test]
fn error_types_choose_their_outcome_and_kind() {
    exporter();
    for id in [0, 0, 1, 2, 3, 4] {
        let _ = find_call(id);
    }
    assert_eq!(calls("find_call", "ok"), 5.0, "NotFound is not an error");
    assert_eq!(calls("find_call", "error"), 1.0);
    assert_eq!(errors("find_call", "database"), 1.0);
    assert_eq!(errors("find_call", "not_found"), 0.0);
}

#[monitored]
async fn respond(status: u16) -> Response {
    StatusCode::from_u16(status).unwrap().into_response()
}

#[monitored]
fn status_only(status: StatusCode) -> StatusCode {
    status
}

#[monitored]
fn status_and_body(status: StatusCode) -> (StatusCode, &'static str) {
    (status, "body")
}

#[monitored]
fn json_or_status(status: StatusCode) -> Result<&'static str, (StatusCode, String)> {
    if status.is_success() {
        Ok("{}")
    } else {
        Err((status, "failed".into()))
    }
}

#[monitored]
fn response_in_result(status: StatusCode) -> Result<Response, ApiError> {
    Ok(status.into_response())
}

#[test]
fn http_values_are_errors_only_when_5xx() {
    exporter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for status in [200, 404, 500, 503] {
        runtime.block_on(respond(status));
        status_only(StatusCode::from_u16(status).unwrap());
        status_and_body(StatusCode::from_u16(status).unwrap());
        let _ = json_or_status(StatusCode::from_u16(status).unwrap());
        let _ = response_in_result(StatusCode::from_u16(status).unwrap());
    }
    for function in [
        "respond",
        "status_only",
        "status_and_body",
        "json_or_status",
        "response_in_result",
    ] {
        assert_eq!(calls(function, "ok"), 2.0, "{function}: 200 and 404 are ok");
        assert_eq!(
            calls(function, "error"),
            2.0,
            "{function}: 500 and 503 are errors"
        );
        assert_eq!(errors(function, "server_error"), 2.0, "{function}");
    }
}

fn is_even(n: &u32) -> bool {
    n.is_multiple_of(2)
}

#[monitored(ok_if = is_even)]
fn must_be_even(n: u32) -> u32 {
    n
}

#[monitored(error_if = Result::is_ok)]
fn inverted(fail: bool) -> Result<(), ()> {
    if fail { Err(()) } else { Ok(()) }
}

#[test]
fn predicates_override_the_classification() {
    exporter();
    for n in 0..5 {
        must_be_even(n);
    }
    assert_eq!(calls("must_be_even", "ok"), 3.0);
    assert_eq!(calls("must_be_even", "error"), 2.0);
    let _ = inverted(true);
    let _ = inverted(false);
    let _ = inverted(false);
    assert_eq!(calls("inverted", "ok"), 1.0);
    assert_eq!(calls("inverted", "error"), 2.0);
}

#[monitored(name = "renamed_function", op = "db.query")]
fn original_name() -> Option<u8> {
    None
}

struct Repository {
    rows: Vec<u32>,
}

impl Repository {
    #[monitored]
    fn count(&self) -> usize {
        self.rows.len()
    }

    #[monitored]
    fn insert(&mut self, row: u32) -> Result<(), String> {
        if self.rows.contains(&row) {
            return Err(format!("{row} exists"));
        }
        self.rows.push(row);
        Ok(())
    }

    #[monitored]
    async fn shared(self: Arc<Self>) -> usize {
        self.rows.len()
    }

    #[monitored]
    fn into_rows(self) -> Vec<u32> {
        self.rows
    }
}

#[test]
fn labels_name_the_function_or_the_method() {
    exporter();
    original_name();
    assert_eq!(calls("renamed_function", "ok"), 1.0);
    assert_eq!(calls("original_name", "ok"), 0.0);

    let mut repo = Repository { rows: vec![] };
    repo.insert(1).unwrap();
    assert!(repo.insert(1).is_err(), "early return of Err");
    assert_eq!(repo.count(), 1);
    let shared = Arc::new(repo);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(shared.clone().shared()), 1);
    drop(shared);
    let repo = Repository { rows: vec![5] };
    assert_eq!(repo.into_rows(), vec![5]);

    assert_eq!(calls("Repository::insert", "ok"), 1.0);
    assert_eq!(calls("Repository::insert", "error"), 1.0);
    assert_eq!(calls("Repository::count", "ok"), 1.0);
    assert_eq!(calls("Repository::shared", "ok"), 1.0);
    assert_eq!(calls("Repository::into_rows", "ok"), 1.0);
}

#[async_trait::async_trait]
trait Store {
    async fn load(&self, key: u32) -> Result<u32, String>;
}

struct MemoryStore;

#[async_trait::async_trait]
impl Store for MemoryStore {
    #[monitored]
    async fn load(&self, key: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        if key == 0 {
            Err("missing".into())
        } else {
            Ok(key)
        }
    }
}

#[test]
fn async_trait_methods_time_the_future_not_its_creation() {
    exporter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store: Box<dyn Store + Send + Sync> = Box::new(MemoryStore);
    let pending = store.load(3);
    assert_eq!(
        calls("MemoryStore::load", "ok"),
        0.0,
        "creating the future is not the call"
    );
    assert_eq!(runtime.block_on(pending), Ok(3));
    assert!(runtime.block_on(store.load(0)).is_err());
    assert_eq!(calls("MemoryStore::load", "ok"), 1.0);
    assert_eq!(calls("MemoryStore::load", "error"), 1.0);
}

#[monitored]
#[track_caller]
fn where_called() -> &'static std::panic::Location<'static> {
    std::panic::Location::caller()
}

#[test]
fn track_caller_still_reports_the_caller() {
    exporter();
    let expected_line = line!() + 1;
    let location = where_called();
    assert_eq!(location.line(), expected_line);
    assert_eq!(location.file(), file!());
    assert_eq!(calls("where_called", "ok"), 1.0);
}

#[test]
fn the_exposition_has_help_types_and_real_histograms() {
    exporter();
    parse_number("1").unwrap();
    let text = exporter().render();
    for family in [
        "function_calls_total",
        "function_call_duration_seconds",
        "function_calls_in_flight",
        "function_errors_total",
        "build_info",
        "process_resident_memory_bytes",
    ] {
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "HELP for {family} in:\n{text}"
        );
    }
    assert!(text.contains("# TYPE function_call_duration_seconds histogram"));
    let bucket = |le: &str| {
        vk_monitor_tests::value(
            &text,
            "function_call_duration_seconds_bucket",
            &[("function", "parse_number"), ("result", "ok"), ("le", le)],
        )
    };
    assert_eq!(
        bucket("+Inf"),
        vk_monitor_tests::value(
            &text,
            "function_call_duration_seconds_count",
            &[("function", "parse_number"), ("result", "ok")],
        )
    );
    assert!(
        bucket("0.0005").is_some(),
        "default buckets start at 0.5 ms"
    );
    assert_eq!(
        vk_monitor_tests::value(
            &text,
            "build_info",
            &[
                ("service", "vk-monitor-tests"),
                ("version", "0.0.0-test"),
                ("environment", "test")
            ],
        ),
        Some(1.0)
    );
}

#[test]
fn a_second_install_is_an_error_not_a_panic() {
    exporter();
    let err = vk_monitor::Exporter::install().unwrap_err();
    assert!(
        matches!(err, vk_monitor::ExporterError::AlreadyInstalled),
        "{err}"
    );
}

#[monitored]
async fn panics_after_a_yield() -> u8 {
    tokio::task::yield_now().await;
    panic!("the sibling's bug")
}

#[monitored]
async fn waits_beside_the_panic() -> u8 {
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    0
}

/// `join!` of two monitored futures, one of which panics: the task's future is dropped while
/// the panic unwinds, and with it the other, suspended call. Only the call the panic went
/// through counts `panic`; the other was cancelled.
#[tokio::test]
async fn a_sibling_dropped_while_another_panics_is_cancelled_not_panicked() {
    exporter();
    let task = tokio::spawn(async {
        let (a, b) = tokio::join!(panics_after_a_yield(), waits_beside_the_panic());
        a + b
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(calls("panics_after_a_yield", "panic"), 1.0);
    assert_eq!(
        calls("waits_beside_the_panic", "panic"),
        0.0,
        "one panic, counted once"
    );
    assert_eq!(calls("waits_beside_the_panic", "cancelled"), 1.0);
    assert_eq!(errors("waits_beside_the_panic", "panic"), 0.0);
}

#[monitored]
fn named_like_ours() {}

#[test]
fn an_application_metric_named_like_one_of_ours_is_refused_not_rendered_twice() {
    exporter();
    named_like_ours();
    // The application's own counter and histogram under this crate's names, and a sample name
    // of one of its histograms.
    metrics::counter!("function_calls_total", "function" => "named_like_ours").increment(40);
    metrics::describe_counter!("function_calls_total", "Someone else's calls.");
    metrics::histogram!("function_call_duration_seconds").record(1.0);
    metrics::gauge!("function_call_duration_seconds_count").set(7.0);
    assert_eq!(
        calls("named_like_ours", "ok"),
        1.0,
        "only the monitored call"
    );
    let formats = [
        (exporter().render(), "function_calls_total"),
        (exporter().render_openmetrics(), "function_calls"),
    ];
    for (exposition, counter) in formats {
        for family in [counter, "function_call_duration_seconds"] {
            let types = exposition
                .lines()
                .filter(|line| line.starts_with(&format!("# TYPE {family} ")))
                .count();
            assert_eq!(types, 1, "{family} in:\n{exposition}");
        }
        assert!(!exposition.contains("Someone else's"), "{exposition}");
        assert!(
            !exposition.contains("function_call_duration_seconds_count 7"),
            "{exposition}"
        );
    }
}

#[test]
fn a_check_in_two_registries_is_one_series() {
    use vk_monitor::health::{CheckKind, CheckSpec, HealthRegistry};
    exporter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for passes in [true, false] {
        let registry = HealthRegistry::new();
        registry
            .register(CheckSpec::readiness("shared_queue"), move || async move {
                passes
            })
            .unwrap();
        runtime.block_on(registry.report(CheckKind::Readiness));
    }
    let exposition = exporter().render();
    let up: Vec<&str> = exposition
        .lines()
        .filter(|line| line.starts_with(r#"health_check_up{check="shared_queue""#))
        .collect();
    // The last run failed: one series, 0.
    assert_eq!(
        up,
        [r#"health_check_up{check="shared_queue",kind="readiness"} 0"#]
    );
    let counts = exposition
        .lines()
        .filter(|line| {
            line.starts_with(r#"health_check_duration_seconds_count{check="shared_queue""#)
        })
        .collect::<Vec<_>>();
    assert_eq!(
        counts,
        [r#"health_check_duration_seconds_count{check="shared_queue",kind="readiness"} 2"#]
    );
}
