//! What the outgoing-call middleware adds to a request, in process and without sockets: ns per
//! request of an axum handler that makes one call through a client service answering at once,
//! with that service bare and behind [`ClientLayer`]. The difference between the two is the
//! middleware's cost: metrics alone, then inside a request the HTTP layer samples out (the
//! call passes the negative decision on), then inside one it samples in (the call is a child
//! span and passes the trace on).
//!
//! `cargo bench -p vk-monitor --bench http_client`. The monitor is global, so the modes run in
//! this order in one process: `bare` and `metrics` (metrics on, Sentry off, no HTTP layer),
//! then with a Sentry client whose sampler keeps no request (`sampled_out_*`), then one whose
//! sampler keeps every request (`sampled_in_*`). The DSN is a loopback port bound here and
//! never answered: the transport's failed sends happen on its own thread.

mod support;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::task::{Context, Poll};

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group};
use http::{Request, Response};
use support::serve;
use tower_layer::Layer;
use tower_service::Service;
use vk_monitor::Monitor;
use vk_monitor::client::ClientLayer;

/// A client whose every request is answered at once with `200`.
#[derive(Clone)]
struct Answering;

impl Service<Request<()>> for Answering {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        ready(Ok(Response::new(())))
    }
}

/// `GET /calls/{id}`, whose handler calls `http://speech.internal/v1/calls/7` through `client`.
fn app<S>(client: S) -> Router
where
    S: Service<Request<()>, Response = Response<()>> + Clone + Send + Sync + 'static,
    S::Future: Send,
    S::Error: std::fmt::Debug,
{
    let handler = move || {
        let mut client = client.clone();
        async move {
            let request = Request::get("http://speech.internal/v1/calls/7")
                .body(())
                .expect("a valid request");
            let response = client.call(request).await.expect("answered");
            response.status().as_str().to_owned()
        }
    };
    Router::new().route("/calls/{id}", get(handler))
}

fn bench(c: &mut Criterion, name: &str, mut app: Router) {
    assert_eq!(serve(&mut app, "/calls/7"), "200".len());
    c.bench_function(name, |b| b.iter(|| black_box(serve(&mut app, "/calls/7"))));
}

/// A monitor with Sentry on, sampling every request at `rate` (its metrics off: the metrics
/// monitor installed first keeps recording).
fn sentry(dsn: &str, rate: f32) -> Monitor {
    Monitor::builder("http-client-bench", "1.0.0")
        .config(|config| {
            config
                .enable_metrics(false)
                .sentry_dsn(dsn)
                .traces_sample_rate(1.0)
                .traces_sampler(move |_| rate)
                .apm_enabled(true)
        })
        .install()
        .expect("a valid configuration")
}

fn http_client(c: &mut Criterion) {
    let layer = ClientLayer::new();
    bench(c, "http_client/bare", app(Answering));
    let metrics = Monitor::builder("http-client-bench", "1.0.0")
        .config(|config| config.enable_metrics(true).sentry_dsn(""))
        .install()
        .expect("a valid configuration");
    bench(c, "http_client/metrics", app(layer.layer(Answering)));

    // Never answered: bound so that no other process can take the port meanwhile.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let dsn = format!("http://public@{}/1", unused.local_addr().unwrap());
    for (mode, rate) in [("sampled_out", 0.0), ("sampled_in", 1.0)] {
        let monitor = sentry(&dsn, rate);
        let server = metrics.layer();
        let name = format!("http_client/{mode}_bare");
        bench(c, &name, app(Answering).layer(server.clone()));
        let name = format!("http_client/{mode}_client");
        bench(c, &name, app(layer.layer(Answering)).layer(server));
        drop(monitor);
    }
    drop(metrics);
}

criterion_group!(benches, http_client);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
