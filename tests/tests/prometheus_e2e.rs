//! End to end against a real Prometheus server: the example server on loopback, scraped every
//! second with our alert rules loaded, known traffic with injected 5xx errors, then questions
//! to Prometheus's HTTP API. Then three replicas scraped together, whose per-route sums must
//! equal the traffic sent.
//!
//! Prometheus asks for OpenMetrics and stores exemplars (`--enable-feature=exemplar-storage`);
//! the first server traces every request into a loopback Sentry receiver, and the exemplars
//! Prometheus keeps for both duration histograms name traces that the receiver got.
//!
//! Needs Debian's `prometheus` package and the example server built (`cargo test --workspace`
//! builds it). `.ci/run` runs it: `cargo test -p vk-monitor-tests --test prometheus_e2e -- --ignored`.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use vk_monitor_tests::load::{ExampleServer, free_port};
use vk_monitor_tests::{SentryReceiver, http_get, http_request};

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_server(failure_rate: &str) -> (ExampleServer, SocketAddr) {
    let server = ExampleServer::start(&[("SPEECH_FAILURE_RATE", failure_rate)]).await;
    let addr = server.addr;
    (server, addr)
}

/// The example server tracing every request into `receiver`.
async fn start_traced_server(
    failure_rate: &str,
    receiver: &SentryReceiver,
) -> (ExampleServer, SocketAddr) {
    let server = ExampleServer::start(&[
        ("SPEECH_FAILURE_RATE", failure_rate),
        ("SENTRY_DSN", receiver.dsn.as_str()),
        ("SENTRY_TRACES_SAMPLE_RATE", "1"),
    ])
    .await;
    let addr = server.addr;
    (server, addr)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The trace ids of the exemplars Prometheus stored for `selector` since `start`.
async fn exemplar_traces(prometheus: SocketAddr, selector: &str, start: f64) -> Vec<String> {
    let path = format!(
        "/api/v1/query_exemplars?query={}&start={start}&end={}",
        encode(selector),
        unix_now() + 1.0
    );
    let response = http_get(prometheus, &path).await;
    assert_eq!(response.status, 200, "{selector}: {}", response.body);
    let body: Value = serde_json::from_str(&response.body).unwrap();
    let mut traces = Vec::new();
    for series in body["data"].as_array().unwrap() {
        for exemplar in series["exemplars"].as_array().unwrap() {
            let labels = &exemplar["labels"];
            let trace = labels["trace_id"].as_str().unwrap_or_default();
            let span = labels["span_id"].as_str().unwrap_or_default();
            assert!(
                trace.len() == 32 && span.len() == 16,
                "an exemplar without trace and span ids: {exemplar}"
            );
            traces.push(trace.to_owned());
        }
    }
    traces
}

/// The trace ids of every transaction `receiver` has received.
fn received_traces(receiver: &SentryReceiver) -> HashSet<String> {
    receiver
        .received()
        .0
        .iter()
        .filter_map(|transaction| match transaction.contexts.get("trace") {
            Some(sentry::protocol::Context::Trace(trace)) => Some(trace.trace_id.to_string()),
            _ => None,
        })
        .collect()
}

async fn start_prometheus(dir: &Path, jobs: &[(&str, &[SocketAddr])]) -> (Running, SocketAddr) {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring/prometheus-alerts.yml");
    let rules = rules
        .canonicalize()
        .expect("monitoring/prometheus-alerts.yml exists");
    let mut config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n",
        rules.display()
    );
    for (job, targets) in jobs {
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        config.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        ));
    }
    let config_file = dir.join("prometheus.yml");
    std::fs::write(&config_file, config).unwrap();
    let addr = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config_file.display()))
        .arg("--enable-feature=exemplar-storage")
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .unwrap_or_else(|err| {
            panic!(
                "could not run the prometheus server ({err}); install Debian's `prometheus` \
                 package (`apt-get install prometheus`) or run .ci/run, which does"
            )
        });
    let running = Running(child);
    wait_until(
        "Prometheus is ready",
        Duration::from_secs(30),
        || async move { http_get_opt(addr, "/-/ready").await == Some(200) },
    )
    .await;
    (running, addr)
}

async fn http_get_opt(addr: SocketAddr, path: &str) -> Option<u16> {
    tokio::net::TcpStream::connect(addr).await.ok()?;
    Some(http_get(addr, path).await.status)
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {limit:?} waiting until {what}");
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The instant vector of `query`, as (labels, value) pairs.
async fn query(prometheus: SocketAddr, promql: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let response = http_get(
        prometheus,
        &format!("/api/v1/query?query={}", encode(promql)),
    )
    .await;
    assert_eq!(response.status, 200, "{promql}: {}", response.body);
    let body: Value = serde_json::from_str(&response.body).unwrap();
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| {
            let labels = serde_json::from_value(series["metric"].clone()).unwrap();
            let value = series["value"][1].as_str().unwrap().parse().unwrap();
            (labels, value)
        })
        .collect()
}

async fn scalar(prometheus: SocketAddr, promql: &str) -> Option<f64> {
    let result = query(prometheus, promql).await;
    assert!(
        result.len() <= 1,
        "{promql} gave several series: {result:?}"
    );
    result.first().map(|(_, value)| *value)
}

/// Waits until Prometheus has scraped the value the servers hold now.
async fn settle(prometheus: SocketAddr, promql: &str, expected: f64) {
    let promql = promql.to_owned();
    let mut last = None;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        last = scalar(prometheus, &promql).await;
        if last == Some(expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{promql} stayed at {last:?}, expected {expected}");
}

/// Counts what the client sent, by route template and status, as the server should see it.
#[derive(Default)]
struct Sent(BTreeMap<(String, u16), u64>);

impl Sent {
    async fn request(
        &mut self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        route: &str,
        body: &str,
    ) -> String {
        let response = http_request(addr, method, path, body).await;
        *self
            .0
            .entry((route.to_owned(), response.status))
            .or_default() += 1;
        response.body
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    fn server_errors(&self) -> u64 {
        self.0
            .iter()
            .filter(|((_, status), _)| *status >= 500)
            .map(|(_, n)| n)
            .sum()
    }

    fn by_route(&self) -> BTreeMap<String, u64> {
        let mut routes = BTreeMap::new();
        for ((route, _), n) in &self.0 {
            *routes.entry(route.clone()).or_default() += n;
        }
        routes
    }
}

/// A call-centre day in miniature: calls created, read, ended, a few mistakes.
async fn drive(sent: &mut Sent, addr: SocketAddr, calls: u32) {
    for n in 0..calls {
        let body = format!(r#"{{"caller":"+44{n:09}","callee":"support"}}"#);
        let created = sent.request(addr, "POST", "/calls", "/calls", &body).await;
        let id = serde_json::from_str::<Value>(&created).unwrap()["id"]
            .as_i64()
            .unwrap();
        sent.request(addr, "GET", &format!("/calls/{id}"), "/calls/{id}", "")
            .await;
        if n % 3 == 0 {
            sent.request(
                addr,
                "POST",
                &format!("/calls/{id}/end"),
                "/calls/{id}/end",
                "",
            )
            .await;
        }
    }
    sent.request(addr, "GET", "/calls", "/calls", "").await;
    sent.request(addr, "GET", "/calls/999999", "/calls/{id}", "")
        .await;
    sent.request(addr, "GET", "/wp-login.php", "<unmatched>", "")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the prometheus server; .ci/run runs it"]
async fn prometheus_sees_exact_traffic_errors_latency_and_alerts() {
    let dir = std::env::temp_dir().join(format!("vk-monitor-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Every transcript fails: the injected 5xx errors. Every request is traced.
    let receiver = SentryReceiver::start().await;
    let started = unix_now() - 60.0;
    let (_server, addr) = start_traced_server("1.0", &receiver).await;
    let (_replica_a, a) = start_server("0").await;
    let (_replica_b, b) = start_server("0").await;
    let (_replica_c, c) = start_server("0").await;
    let (_prometheus, prometheus) = start_prometheus(
        &dir,
        &[
            ("voice-calls", &[addr]),
            ("voice-calls-replicas", &[a, b, c]),
        ],
    )
    .await;
    assert!(
        query(prometheus, "ALERTS")
            .await
            .iter()
            .all(|(l, _)| l["alertname"] != "HighErrorRate"),
        "no HighErrorRate before any error"
    );

    // One server: known traffic, then errors injected until the alert notices them.
    let mut sent = Sent::default();
    drive(&mut sent, addr, 30).await;
    let start = Instant::now();
    let mut alert_state = None;
    while alert_state.is_none() && start.elapsed() < Duration::from_secs(90) {
        for _ in 0..5 {
            sent.request(
                addr,
                "GET",
                "/calls/1/transcript",
                "/calls/{id}/transcript",
                "",
            )
            .await;
            sent.request(addr, "GET", "/calls/1", "/calls/{id}", "")
                .await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        alert_state = query(prometheus, r#"ALERTS{alertname="HighErrorRate"}"#)
            .await
            .into_iter()
            .find(|(labels, _)| {
                labels.get("route").map(String::as_str) == Some("/calls/{id}/transcript")
            })
            .map(|(labels, _)| labels["alertstate"].clone());
    }
    let alert_state = alert_state.unwrap_or_else(|| {
        panic!(
            "HighErrorRate never became pending or firing; see {}",
            dir.join("prometheus.log").display()
        )
    });
    assert!(
        alert_state == "pending" || alert_state == "firing",
        "{alert_state}"
    );

    let total = sent.total() as f64;
    let errors = sent.server_errors() as f64;
    assert!(errors > 0.0, "errors were injected");
    settle(
        prometheus,
        r#"sum(http_requests_total{job="voice-calls",route!~"/speech/.*"})"#,
        total,
    )
    .await;
    let ratio = scalar(
        prometheus,
        r#"sum(http_requests_total{job="voice-calls",route!~"/speech/.*",status=~"5.."}) / sum(http_requests_total{job="voice-calls",route!~"/speech/.*"})"#,
    )
    .await
    .unwrap();
    assert!(
        (ratio - errors / total).abs() < 1e-12,
        "5xx ratio {ratio}, sent {errors}/{total}"
    );
    for ((route, status), count) in &sent.0 {
        let promql = format!(
            r#"sum(http_requests_total{{job="voice-calls",route="{route}",status="{status}"}})"#
        );
        assert_eq!(
            scalar(prometheus, &promql).await,
            Some(*count as f64),
            "{promql}"
        );
    }
    let p95 = scalar(
        prometheus,
        r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="voice-calls"}[1m])))"#,
    )
    .await
    .expect("a p95 latency");
    assert!(
        p95.is_finite() && p95 > 0.0 && p95 < 1.0,
        "p95 of {p95}s is implausible on loopback"
    );
    let transcribes = scalar(
        prometheus,
        r#"sum(function_calls_total{job="voice-calls",function="SpeechProvider::transcribe",result="error"})"#,
    )
    .await;
    assert_eq!(
        transcribes,
        Some(errors),
        "every injected 5xx is a provider error"
    );
    // Each provider error is one call to the speech service answered 503, seen by the client.
    let client_failures = scalar(
        prometheus,
        r#"sum(http_client_requests_total{job="voice-calls",method="GET",status="503"})"#,
    )
    .await;
    assert_eq!(client_failures, Some(errors), "speech calls answered 503");

    // The scrapes were OpenMetrics, parsed without error, and carried exemplars that lead to
    // traces Sentry has.
    assert_eq!(
        scalar(prometheus, r#"up{job="voice-calls"}"#).await,
        Some(1.0)
    );
    let mut linked = Vec::new();
    for family in [
        "http_request_duration_seconds_bucket",
        "function_call_duration_seconds_bucket",
    ] {
        let traces = exemplar_traces(
            prometheus,
            &format!("{family}{{job=\"voice-calls\"}}"),
            started,
        )
        .await;
        assert!(
            !traces.is_empty(),
            "Prometheus stored no exemplar of {family}"
        );
        linked.extend(traces);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let missing = loop {
        let received = received_traces(&receiver);
        let missing: Vec<&String> = linked.iter().filter(|t| !received.contains(*t)).collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        missing.is_empty(),
        "{} of {} exemplars lead to traces Sentry never received: {:?}",
        missing.len(),
        linked.len(),
        &missing[..missing.len().min(5)]
    );

    // Three replicas, scraped together: the sums across instances equal the traffic.
    let mut replicas = Sent::default();
    let mut per_instance = BTreeMap::new();
    for (addr, calls) in [(a, 7), (b, 11), (c, 13)] {
        let before = replicas.total();
        drive(&mut replicas, addr, calls).await;
        per_instance.insert(addr.to_string(), replicas.total() - before);
    }
    settle(
        prometheus,
        r#"sum(http_requests_total{job="voice-calls-replicas",route!~"/speech/.*"})"#,
        replicas.total() as f64,
    )
    .await;
    assert_eq!(
        scalar(prometheus, r#"count(up{job="voice-calls-replicas"} == 1)"#).await,
        Some(3.0)
    );
    for (route, count) in replicas.by_route() {
        let promql = format!(
            r#"sum by (route) (http_requests_total{{job="voice-calls-replicas",route="{route}"}})"#
        );
        assert_eq!(
            scalar(prometheus, &promql).await,
            Some(count as f64),
            "{promql}"
        );
    }
    for (instance, count) in per_instance {
        let promql = format!(
            r#"sum(http_requests_total{{job="voice-calls-replicas",route!~"/speech/.*",instance="{instance}"}})"#
        );
        assert_eq!(
            scalar(prometheus, &promql).await,
            Some(count as f64),
            "{promql}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
