//! Rendering `/metrics` for a large service: 10,000 `http_request_duration_seconds` series
//! (25 routes × 400 statuses, one method), each with its `http_requests_total` series, made
//! by real requests through the HTTP layer with every request traced, so that every series
//! carries exemplars as in a service traced at rate 1. Four threads send the requests, so
//! that a render sums four threads' copies of every count.
//!
//! Group `render`: the exposition as text 0.0.4 (`Exporter::render`) and as OpenMetrics
//! (`Exporter::render_openmetrics`), and the whole gzipped OpenMetrics response body as
//! Prometheus asks for it (`Exporter::response`). The sizes of the three bodies are printed
//! once, before measuring.
//!
//! ```text
//! cargo bench -p vk-monitor --bench exposition -- --warm-up-time 1 --measurement-time 3
//! ```

use std::future::poll_fn;
use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use criterion::{Criterion, criterion_group};
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use tower_service::Service;
use vk_monitor::{Exporter, Monitor};

const ROUTES: u16 = 25;
const STATUSES: std::ops::Range<u16> = 200..600;

/// What Prometheus 2.42 sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

async fn answer(Path(status): Path<u16>) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

/// Metrics on, and a Sentry client tracing every request; its envelopes go to the discard
/// port of loopback, where nothing listens.
fn install() -> Monitor {
    Monitor::builder("exposition", "0.0.0")
        .config(|config| {
            config
                .enable_metrics(true)
                .sentry_dsn("http://public@127.0.0.1:9/1")
                .traces_sample_rate(1.0)
                .apm_enabled(true)
                .environment("bench")
                .send_default_pii(false)
                .debug(false)
        })
        .install()
        .expect("install the monitor")
}

/// Threads that each send one request per route and status: each records into its own copy of
/// the counts (twice the cores can have one), and a render sums every copy.
const THREADS: usize = 4;

/// One request per route and status through the real layer, from each of `THREADS` threads:
/// 10,000 series of each family.
fn populate(monitor: &Monitor) {
    let mut app = Router::new();
    for route in 0..ROUTES {
        app = app.route(&format!("/r{route}/{{status}}"), get(answer));
    }
    let app = app.layer(monitor.layer());
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let mut app = app.clone();
            scope.spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    for route in 0..ROUTES {
                        for status in STATUSES {
                            let request = Request::get(format!("/r{route}/{status}"))
                                .body(Body::empty())
                                .expect("a request");
                            poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut app, cx))
                                .await
                                .expect("the router is always ready");
                            let response = app.call(request).await.expect("infallible");
                            // The request is recorded when its body ends.
                            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
                        }
                    }
                });
            });
        }
    });
}

fn prometheus_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::ACCEPT,
        HeaderValue::from_static(PROMETHEUS_ACCEPT),
    );
    headers.insert(
        http::header::ACCEPT_ENCODING,
        HeaderValue::from_static("gzip"),
    );
    headers
}

fn body_len(exporter: &Exporter, headers: &HeaderMap) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let body = exporter.response(headers).into_body();
    runtime
        .block_on(axum::body::to_bytes(body, usize::MAX))
        .map_or(0, |bytes| bytes.len())
}

fn render(c: &mut Criterion) {
    let monitor = install();
    populate(&monitor);
    let exporter = monitor.exporter().expect("metrics are on").clone();
    let text = exporter.render();
    let openmetrics = exporter.render_openmetrics();
    let series = openmetrics
        .lines()
        .filter(|line| line.starts_with("http_request_duration_seconds_count{"))
        .count();
    let exemplars = openmetrics.matches(" # {trace_id=").count();
    let gzipped = body_len(&exporter, &prometheus_headers());
    println!(
        "{series} histogram series; text 0.0.4 {} bytes; OpenMetrics {} bytes with {exemplars} \
         exemplars; gzipped OpenMetrics {gzipped} bytes ({:.1}x smaller)",
        text.len(),
        openmetrics.len(),
        openmetrics.len() as f64 / gzipped.max(1) as f64,
    );

    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    group.bench_function("text_0_0_4", |b| b.iter(|| black_box(exporter.render())));
    group.bench_function("openmetrics", |b| {
        b.iter(|| black_box(exporter.render_openmetrics()))
    });
    let headers = prometheus_headers();
    group.bench_function("openmetrics_gzip_response", |b| {
        b.iter(|| black_box(exporter.response(&headers)))
    });
    group.finish();
    drop(monitor);
}

criterion_group!(benches, render);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
