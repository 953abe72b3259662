//! Rendering `/metrics` for a service with many monitored functions: 5,000 call sites, each
//! called once with `Ok` and once with `Err`, so 10,000 `function_call_duration_seconds`
//! series beside their `function_calls_total` (four results each, from zero),
//! `function_errors_total` and `function_calls_in_flight` series. Every one of these families
//! is in the crate's own storage; none goes through the `metrics` recorder's snapshot.
//!
//! The sites are what `#[monitored]` expands to (a `CallSite` per fn), made at run time so
//! that the bench does not compile 5,000 functions.
//!
//! ```text
//! cargo bench -p vk-monitor --bench exposition_functions -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use vk_monitor::__private::{CallSite, Outcome};
use vk_monitor::Exporter;

const FUNCTIONS: usize = 5_000;

fn populate() {
    for i in 0..FUNCTIONS {
        let name: &'static str = Box::leak(format!("handler_{i}").into_boxed_str());
        let site: &'static CallSite = Box::leak(Box::new(CallSite::new(
            name,
            "bench::handlers",
            "function",
            &[],
        )));
        site.start_call().finish(Outcome::Ok, &|| None);
        site.start_call().finish(Outcome::ERROR, &|| None);
    }
}

fn render(c: &mut Criterion) {
    let exporter = Exporter::builder()
        .service("exposition-functions")
        .process_metrics(false)
        .install()
        .expect("install the exporter");
    populate();
    let text = exporter.render();
    let openmetrics = exporter.render_openmetrics();
    let series = text
        .lines()
        .filter(|line| line.starts_with("function_call_duration_seconds_count{"))
        .count();
    println!(
        "{series} duration series; text 0.0.4 {} bytes; OpenMetrics {} bytes",
        text.len(),
        openmetrics.len()
    );
    assert_eq!(series, 2 * FUNCTIONS);

    let mut group = c.benchmark_group("render_functions");
    group.sample_size(20);
    group.bench_function("text_0_0_4", |b| b.iter(|| black_box(exporter.render())));
    group.bench_function("openmetrics", |b| {
        b.iter(|| black_box(exporter.render_openmetrics()))
    });
    group.finish();
}

criterion_group!(benches, render);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
