//! What the HTTP layer adds to a request, in process and without sockets: ns per request
//! through an axum router (`GET /users/{id}`, a path parameter, the body read to its end),
//! bare and with `MonitorLayer`, first with metrics only, then with a Sentry client that
//! samples every request out. `scripts/bench-http.sh` measures the same through hyper and
//! loopback TCP, where a request costs about 10 µs and the machine's drift between runs is
//! larger than the layer's cost; here the layer's few hundred ns stand out.
//!
//! `cargo bench -p vk-monitor --bench http_layer`. The modes run in this order in one process,
//! since the monitor is global: `bare` and `metrics` (a monitor with metrics on, Sentry off),
//! then a second monitor starts Sentry (its DSN a loopback port that is never sent to: with
//! rate 0 no transaction is made and no event is captured), and `metrics_sentry_sampled_out`
//! runs with both on.

mod support;

use std::hint::black_box;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use criterion::{Criterion, criterion_group};
use support::serve;
use vk_monitor::Monitor;

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}\n")
}

fn routes() -> Router {
    Router::new().route("/users/{id}", get(user))
}

fn bench(c: &mut Criterion, name: &str, mut app: Router) {
    assert_eq!(serve(&mut app, "/users/42"), "user 42\n".len());
    c.bench_function(name, |b| b.iter(|| black_box(serve(&mut app, "/users/42"))));
}

fn http_layer(c: &mut Criterion) {
    bench(c, "http_layer/bare", routes());

    let metrics = Monitor::builder("http-layer-bench", "1.0.0")
        .config(|config| config.enable_metrics(true).sentry_dsn(""))
        .install()
        .expect("a valid configuration");
    bench(c, "http_layer/metrics", routes().layer(metrics.layer()));

    // Never sent to: bound so that no other process can take the port meanwhile.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let dsn = format!("http://public@{}/1", unused.local_addr().unwrap());
    let sentry = Monitor::builder("http-layer-bench", "1.0.0")
        .config(|config| {
            config
                .enable_metrics(false)
                .sentry_dsn(dsn)
                .traces_sample_rate(0.0)
                .apm_enabled(true)
        })
        .install()
        .expect("a valid configuration");
    bench(
        c,
        "http_layer/metrics_sentry_sampled_out",
        routes().layer(metrics.layer()),
    );
    drop((sentry, metrics));
}

criterion_group!(benches, http_layer);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
