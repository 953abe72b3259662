//! Faults under load, in process: a real axum server on loopback (two worker threads) with the
//! HTTP layer and `#[monitored]` handlers, kept busy by keep-alive clients while health checks
//! hang or panic, handlers panic, and clients leave mid-request. What the clients saw is what
//! the metrics say, to the request.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vk_monitor::health::{CheckFuture, CheckSpec, HealthCheck, HealthRegistry};
use vk_monitor::http::MonitorLayer;
use vk_monitor::monitored;
use vk_monitor_tests::{exporter, http_get, serve, value};

/// Keep-alive connections the load keeps busy at once.
const CONNECTIONS: usize = 24;
/// Longer than any answer may take: past it the test fails instead of hanging.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

/// Runs a test on its own two-worker runtime, one test at a time: they measure latencies,
/// which another test's load on the same cores would distort.
fn run<F: Future>(test: F) -> F::Output {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    count_expected_panics();
    exporter();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(test)
}

/// How the panics the tests cause on purpose begin.
const EXPECTED: &str = "expected by the test: ";

/// The messages of the expected panics, as the panic hook saw them.
static EXPECTED_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Installs a panic hook that counts the expected panics, where Sentry's panic integration
/// would see them, and keeps them off the output: hundreds of messages, each with a backtrace
/// when `RUST_BACKTRACE` is set, would bury the output and tie up the workers printing them
/// while latencies are measured. Other panics go to the previous hook.
fn count_expected_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            match message.and_then(|m| m.strip_prefix(EXPECTED)) {
                Some(message) => EXPECTED_PANICS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(message.to_owned()),
                None => previous(info),
            }
        }));
    });
}

/// How many expected panics the hook saw whose message starts with `what`.
fn panics_seen(what: &str) -> usize {
    EXPECTED_PANICS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|message| message.starts_with(what))
        .count()
}

/// A response as a keep-alive client reads it.
struct Answer {
    status: u16,
    body: String,
}

/// One keep-alive HTTP/1.1 connection: a request at a time, each response read to the end of
/// its `Content-Length` body, as a pooling client does.
struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        Connection {
            stream: BufReader::new(stream),
        }
    }

    /// `GET path`. An error means the server closed the connection instead of answering.
    async fn get(&mut self, path: &str) -> io::Result<Answer> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: faults.test\r\n\r\n");
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        if self.stream.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("not a status line: {line:?}")))?;
        let mut length = 0;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().map_err(io::Error::other)?;
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// One request of the load, as its client saw it.
struct Exchange {
    index: usize,
    /// `None`: the server dropped the connection instead of answering.
    status: Option<u16>,
    latency: Duration,
}

struct Load {
    exchanges: Vec<Exchange>,
    /// Connections opened: one per client, plus one for each the server dropped.
    connections: usize,
}

impl Load {
    fn latencies(&self) -> Vec<Duration> {
        self.exchanges.iter().map(|e| e.latency).collect()
    }

    fn count(&self, status: u16) -> usize {
        self.exchanges
            .iter()
            .filter(|e| e.status == Some(status))
            .count()
    }
}

/// `requests` GETs of `path(index)`, sent over [`CONNECTIONS`] keep-alive connections as fast
/// as the server answers them. A dropped connection is recorded, and replaced.
async fn load(addr: SocketAddr, requests: usize, path: fn(usize) -> String) -> Load {
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut connection = Connection::open(addr).await;
                let (mut exchanges, mut opened) = (Vec::new(), 1);
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= requests {
                        return (exchanges, opened);
                    }
                    let start = Instant::now();
                    let answer = tokio::time::timeout(ANSWER_LIMIT, connection.get(&path(index)))
                        .await
                        .unwrap_or_else(|_| panic!("no answer to {} in time", path(index)));
                    let latency = start.elapsed();
                    let status = match answer {
                        Ok(answer) => Some(answer.status),
                        Err(_) => {
                            connection = Connection::open(addr).await;
                            opened += 1;
                            None
                        }
                    };
                    exchanges.push(Exchange {
                        index,
                        status,
                        latency,
                    });
                }
            })
        })
        .collect();
    let mut load = Load {
        exchanges: Vec::with_capacity(requests),
        connections: 0,
    };
    for client in clients {
        let (exchanges, opened) = client.await.expect("a load client");
        load.exchanges.extend(exchanges);
        load.connections += opened;
    }
    load
}

/// The `p`-quantile (nearest rank) of `latencies`.
fn quantile(latencies: &mut [Duration], p: f64) -> Duration {
    latencies.sort_unstable();
    let rank = (p * latencies.len() as f64).ceil() as usize;
    latencies[rank.clamp(1, latencies.len()) - 1]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The server's exposition, read from its `/metrics` route.
async fn scrape(addr: SocketAddr) -> String {
    let response = http_get(addr, "/metrics").await;
    assert_eq!(response.status, 200);
    response.body
}

/// A series' value in `text`; 0 for a series never exported.
fn read(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(text, name, labels).unwrap_or(0.0)
}

/// Scrapes `/metrics` until `condition` holds, for at most `limit`: the server records a
/// request when its response has ended or it has noticed the client gone, a moment after the
/// client is done with it. Returns the last scrape and how long it took.
async fn eventually(
    addr: SocketAddr,
    limit: Duration,
    what: &str,
    condition: impl Fn(&str) -> bool,
) -> (String, Duration) {
    let start = Instant::now();
    loop {
        let text = scrape(addr).await;
        if condition(&text) {
            return (text, start.elapsed());
        }
        if start.elapsed() > limit {
            panic!("not within {limit:?}: {what}\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn http_requests(text: &str, route: &str, status: &str) -> f64 {
    read(
        text,
        "http_requests_total",
        &[("method", "GET"), ("route", route), ("status", status)],
    )
}

/// Every status recorded for `route`, with its count.
fn http_statuses(text: &str, route: &str) -> Vec<(String, f64)> {
    vk_monitor_tests::parse_exposition(text)
        .into_iter()
        .filter(|s| s.name == "http_requests_total")
        .filter(|s| s.labels.iter().any(|(k, v)| k == "route" && v == route))
        .filter_map(|s| {
            let (_, status) = s.labels.iter().find(|(k, _)| k == "status")?;
            Some((status.clone(), s.value))
        })
        .collect()
}

fn calls(text: &str, function: &str, result: &str) -> f64 {
    read(
        text,
        "function_calls_total",
        &[("function", function), ("result", result)],
    )
}

fn http_in_flight(text: &str, route: &str) -> f64 {
    read(
        text,
        "http_requests_in_flight",
        &[("method", "GET"), ("route", route)],
    )
}

fn calls_in_flight(text: &str, function: &str) -> f64 {
    read(text, "function_calls_in_flight", &[("function", function)])
}

// 1. Health checks that hang or panic, while other routes are under load.

#[monitored]
async fn steady_work(Path(n): Path<u64>) -> String {
    tokio::task::yield_now().await;
    format!("work {}", n.wrapping_mul(2_654_435_761) % 1000)
}

/// A readiness check whose own call panics, before it has a future to give.
struct PanicsWhenCalled;

impl HealthCheck for PanicsWhenCalled {
    fn check(&self) -> CheckFuture<'_> {
        panic!("{EXPECTED}no client configured")
    }
}

/// A check body that panics when its future is polled.
fn poisoned_pool() -> bool {
    panic!("{EXPECTED}connection pool poisoned")
}

/// The timeout of the hung check: what every `/ready` answer must come within, plus
/// [`READY_MARGIN`].
const HUNG_TIMEOUT: Duration = Duration::from_millis(300);
const READY_MARGIN: Duration = Duration::from_millis(200);
/// Requests of the steady route per phase.
const STEADY_REQUESTS: usize = 20_000;

/// How often each prober starts a probe, unless the previous one is still waiting.
const PROBE_PERIOD: Duration = Duration::from_millis(100);

/// `/ready` probes as a kubelet sends them, one at a time every [`PROBE_PERIOD`], from two
/// probers, until `done`. Each answer's status, body and latency.
async fn probe_until(addr: SocketAddr, done: Arc<AtomicBool>) -> Vec<(u16, Value, Duration)> {
    let probers: Vec<_> = (0..2)
        .map(|_| {
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut connection = Connection::open(addr).await;
                let mut answers = Vec::new();
                let mut period = tokio::time::interval(PROBE_PERIOD);
                period.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !done.load(Ordering::SeqCst) {
                    period.tick().await;
                    let start = Instant::now();
                    let answer = tokio::time::timeout(ANSWER_LIMIT, connection.get("/ready"))
                        .await
                        .expect("/ready answered in time")
                        .expect("/ready answered, not dropped");
                    let latency = start.elapsed();
                    let body = serde_json::from_str(&answer.body)
                        .unwrap_or_else(|e| panic!("{e}: {}", answer.body));
                    answers.push((answer.status, body, latency));
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for prober in probers {
        answers.extend(prober.await.expect("a prober"));
    }
    answers
}

/// The steady route under load with `/ready` probed alongside: the load and the answers.
async fn steady_phase(addr: SocketAddr) -> (Load, Vec<(u16, Value, Duration)>) {
    let done = Arc::new(AtomicBool::new(false));
    let probes = tokio::spawn(probe_until(addr, Arc::clone(&done)));
    let load = load(addr, STEADY_REQUESTS, |n| format!("/steady/{n}")).await;
    done.store(true, Ordering::SeqCst);
    (load, probes.await.expect("the probes"))
}

#[test]
fn hung_and_panicking_health_checks_slow_neither_ready_nor_other_routes() {
    run(async {
        let registry = HealthRegistry::new();
        registry.set_show_details(true);
        // Every probe waits on a run of the checks rather than a cached report, so every
        // answer shows what a hung check costs.
        registry.set_cache_interval(Duration::ZERO);
        registry
            .register(CheckSpec::readiness("database"), || async { true })
            .expect("each check has its own name");
        let app = Router::new()
            .route("/steady/{n}", get(steady_work))
            .merge(registry.router())
            .merge(exporter().router())
            .layer(MonitorLayer::new());
        let addr = serve(app).await;

        let (healthy, healthy_probes) = steady_phase(addr).await;
        assert!(healthy_probes.len() >= 2, "probed during the load");
        for (status, body, _) in &healthy_probes {
            assert_eq!((*status, &body["status"]), (200, &Value::from("pass")));
        }

        registry
            .register(
                CheckSpec::readiness("hung_dependency").timeout(HUNG_TIMEOUT),
                std::future::pending::<bool>,
            )
            .expect("each check has its own name");
        registry
            .register(CheckSpec::readiness("poisoned_pool"), || async {
                poisoned_pool()
            })
            .expect("each check has its own name");
        registry
            .register(CheckSpec::readiness("unconfigured"), PanicsWhenCalled)
            .expect("each check has its own name");
        let (degraded, degraded_probes) = steady_phase(addr).await;

        // `/ready` answers every probe within the hung check's timeout, failing, and says why.
        assert!(degraded_probes.len() >= 2, "probed during the load");
        let failing = |body: &Value, check: &str| {
            let status = &body["checks"][format!("{check}:status")][0];
            assert_eq!(status["status"], "fail", "{check}: {body}");
            status["output"].as_str().unwrap_or_default().to_owned()
        };
        for (status, body, latency) in &degraded_probes {
            assert!(
                *latency < HUNG_TIMEOUT + READY_MARGIN,
                "/ready answered after {latency:?}"
            );
            assert_eq!(*status, 503, "{body}");
            assert_eq!(body["status"], "fail");
            assert_eq!(
                failing(body, "hung_dependency"),
                format!("the check timed out after {HUNG_TIMEOUT:?}")
            );
            assert_eq!(
                failing(body, "poisoned_pool"),
                format!("the check panicked: {EXPECTED}connection pool poisoned")
            );
            assert_eq!(
                failing(body, "unconfigured"),
                format!("the check panicked: {EXPECTED}no client configured")
            );
            assert_eq!(body["checks"]["database:status"][0]["status"], "pass");
        }
        let runs = panics_seen("no client configured");
        assert!(runs >= 1, "the checks ran");
        assert_eq!(
            panics_seen("connection pool poisoned"),
            runs,
            "both panicking checks ran in every run"
        );

        // The other route answers every request, as fast with the bad checks as without.
        for load in [&healthy, &degraded] {
            assert_eq!(load.count(200), STEADY_REQUESTS);
            assert_eq!(load.connections, CONNECTIONS, "no connection dropped");
        }
        let (mut before, mut after) = (healthy.latencies(), degraded.latencies());
        let (p50_before, p99_before) = (quantile(&mut before, 0.5), quantile(&mut before, 0.99));
        let (p50_after, p99_after) = (quantile(&mut after, 0.5), quantile(&mut after, 0.99));
        let mut ready: Vec<Duration> = degraded_probes.iter().map(|p| p.2).collect();
        eprintln!(
            "steady route, {STEADY_REQUESTS} requests over {CONNECTIONS} connections: \
             p50 {:.2} ms, p99 {:.2} ms with healthy checks; p50 {:.2} ms, p99 {:.2} ms with \
             a hung and two panicking checks; /ready: {} answers, {:.1}..{:.1} ms; \
             check runs with the bad checks: {runs}",
            millis(p50_before),
            millis(p99_before),
            millis(p50_after),
            millis(p99_after),
            ready.len(),
            millis(quantile(&mut ready, 0.0)),
            millis(quantile(&mut ready, 1.0)),
        );
        // Generous, as the cores are shared and jitter is not the point: it fails when the bad
        // checks stall the runtime's workers for the other requests, not on noise.
        assert!(
            p99_after <= p99_before * 3 + Duration::from_millis(50),
            "p99 went from {p99_before:?} to {p99_after:?}"
        );

        let total = (2 * STEADY_REQUESTS) as f64;
        let (text, _) = eventually(
            addr,
            Duration::from_secs(5),
            "every request recorded",
            |t| http_requests(t, "/steady/{n}", "200") == total,
        )
        .await;
        assert_eq!(
            http_statuses(&text, "/steady/{n}"),
            [("200".to_owned(), total)]
        );
        assert_eq!(calls(&text, "steady_work", "ok"), total);
        assert_eq!(http_in_flight(&text, "/steady/{n}"), 0.0);
        assert_eq!(calls_in_flight(&text, "steady_work"), 0.0);
        for check in ["hung_dependency", "poisoned_pool", "unconfigured"] {
            assert_eq!(
                read(&text, "health_check_up", &[("check", check)]),
                0.0,
                "{check}"
            );
        }
    });
}

// 2. Handlers that panic under load.

/// Requests of the flaky route; every tenth panics.
const FLAKY_REQUESTS: usize = 3000;

#[monitored]
async fn flaky_order(Path(n): Path<usize>) -> String {
    tokio::task::yield_now().await;
    if n % 10 == 0 {
        panic!("{EXPECTED}flaky_order {n}");
    }
    format!("order {n}")
}

#[test]
fn panicking_handlers_are_answered_500_and_counted_while_the_rest_is_served() {
    run(async {
        let app = Router::new()
            .route("/orders/{n}", get(flaky_order))
            .merge(exporter().router())
            .layer(MonitorLayer::new());
        let addr = serve(app).await;

        let load = load(addr, FLAKY_REQUESTS, |n| format!("/orders/{n}")).await;

        assert_eq!(load.exchanges.len(), FLAKY_REQUESTS);
        assert_eq!(
            load.connections, CONNECTIONS,
            "every panic was answered on its connection, none dropped"
        );
        for exchange in &load.exchanges {
            let expected = if exchange.index % 10 == 0 { 500 } else { 200 };
            assert_eq!(
                exchange.status,
                Some(expected),
                "request {}",
                exchange.index
            );
        }
        let (errors, served) = (load.count(500), load.count(200));
        assert_eq!(
            (errors, served),
            (FLAKY_REQUESTS / 10, FLAKY_REQUESTS * 9 / 10)
        );
        assert_eq!(
            panics_seen("flaky_order"),
            errors,
            "the hook saw every panic"
        );

        let (text, _) = eventually(
            addr,
            Duration::from_secs(5),
            "every request recorded",
            |t| {
                http_requests(t, "/orders/{n}", "500") + http_requests(t, "/orders/{n}", "200")
                    == FLAKY_REQUESTS as f64
            },
        )
        .await;
        let mut statuses = http_statuses(&text, "/orders/{n}");
        statuses.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            statuses,
            [
                ("200".to_owned(), served as f64),
                ("500".to_owned(), errors as f64)
            ],
            "no 499: a panic is not a client gone"
        );
        assert_eq!(calls(&text, "flaky_order", "panic"), errors as f64);
        assert_eq!(calls(&text, "flaky_order", "ok"), served as f64);
        assert_eq!(calls(&text, "flaky_order", "cancelled"), 0.0);
        assert_eq!(calls(&text, "flaky_order", "error"), 0.0);
        assert_eq!(
            read(
                &text,
                "function_errors_total",
                &[("function", "flaky_order"), ("kind", "panic")]
            ),
            errors as f64
        );
        assert_eq!(http_in_flight(&text, "/orders/{n}"), 0.0);
        assert_eq!(calls_in_flight(&text, "flaky_order"), 0.0);
        let mut latencies = load.latencies();
        eprintln!(
            "flaky route: {FLAKY_REQUESTS} requests, {errors} answered 500 and {served} 200 on \
             {} connections; p99 {:.2} ms",
            load.connections,
            millis(quantile(&mut latencies, 0.99))
        );
    });
}

// 3. Clients that leave mid-request under load.

/// Clients that send a request to the slow route and leave before its answer.
const LEAVERS: usize = 32;
/// Requests of the quick route sent meanwhile.
const QUICK_REQUESTS: usize = 4000;

/// Which leavers' requests reached the handler.
static STARTED: [AtomicBool; LEAVERS] = [const { AtomicBool::new(false) }; LEAVERS];

#[monitored]
async fn slow_report(Path(id): Path<usize>) -> &'static str {
    if let Some(started) = STARTED.get(id) {
        started.store(true, Ordering::SeqCst);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    "report"
}

#[monitored]
async fn quick_lookup(Path(n): Path<u64>) -> String {
    format!("lookup {n}")
}

/// Sends `GET /slow/{id}` and closes the connection 20 ms later, once the handler has started.
/// Returns whether the handler had to be waited for past the 20 ms.
async fn leave_mid_request(addr: SocketAddr, id: usize) -> bool {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET /slow/{id} HTTP/1.1\r\nHost: faults.test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A request whose connection closes before the server first polls it never reaches the
    // layer or the handler, so it is in no count; waiting for the handler keeps the counts
    // exact under load.
    let late = !STARTED[id].load(Ordering::SeqCst);
    let deadline = Instant::now() + ANSWER_LIMIT;
    while !STARTED[id].load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "request {id} never started");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(stream);
    late
}

#[test]
fn clients_that_leave_mid_request_are_cancelled_and_leave_no_request_in_flight() {
    run(async {
        let app = Router::new()
            .route("/slow/{id}", get(slow_report))
            .route("/quick/{n}", get(quick_lookup))
            .merge(exporter().router())
            .layer(MonitorLayer::new());
        let addr = serve(app).await;

        let leavers: Vec<_> = (0..LEAVERS)
            .map(|id| {
                tokio::spawn(async move {
                    // Spread over the load rather than all at its start.
                    tokio::time::sleep(Duration::from_millis(15) * id as u32).await;
                    leave_mid_request(addr, id).await
                })
            })
            .collect();
        let load = load(addr, QUICK_REQUESTS, |n| format!("/quick/{n}")).await;
        let mut late = 0;
        for leaver in leavers {
            late += usize::from(leaver.await.expect("a leaver"));
        }

        assert_eq!(load.count(200), QUICK_REQUESTS);
        assert_eq!(load.connections, CONNECTIONS);
        let (text, settled) = eventually(
            addr,
            Duration::from_secs(5),
            "the abandoned requests leave in-flight",
            |t| {
                calls_in_flight(t, "slow_report") == 0.0
                    && http_in_flight(t, "/slow/{id}") == 0.0
                    && http_requests(t, "/quick/{n}", "200") == QUICK_REQUESTS as f64
            },
        )
        .await;
        let left = LEAVERS as f64;
        assert_eq!(calls(&text, "slow_report", "cancelled"), left);
        assert_eq!(calls(&text, "slow_report", "ok"), 0.0);
        assert_eq!(
            http_statuses(&text, "/slow/{id}"),
            [("499".to_owned(), left)],
            "every one left, none was answered"
        );
        assert_eq!(calls(&text, "quick_lookup", "ok"), QUICK_REQUESTS as f64);
        assert_eq!(calls(&text, "quick_lookup", "cancelled"), 0.0);
        assert_eq!(http_in_flight(&text, "/quick/{n}"), 0.0);
        assert_eq!(calls_in_flight(&text, "quick_lookup"), 0.0);
        let cancelled_for = |series: &str| {
            read(
                &text,
                series,
                &[("function", "slow_report"), ("result", "cancelled")],
            )
        };
        // From the handler's start to its cancellation: the 20 ms before the client left, and
        // the time the server took to notice.
        let mean_run = cancelled_for("function_call_duration_seconds_sum")
            / cancelled_for("function_call_duration_seconds_count");
        let mut latencies = load.latencies();
        eprintln!(
            "{LEAVERS} clients left mid-request ({late} waited past 20 ms for their handler to \
             start); their handlers ran {:.1} ms on average before being cancelled; in-flight \
             read 0 {:.0} ms after the load ended; quick route: {QUICK_REQUESTS} requests, p99 \
             {:.2} ms",
            mean_run * 1e3,
            millis(settled),
            millis(quantile(&mut latencies, 0.99))
        );
    });
}
