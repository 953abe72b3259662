//! Load for the reliability suite: the example server as a child process, and a keep-alive
//! HTTP client that counts every answer by method, route template and status, and keeps every
//! latency, so a run can be compared exactly with what the server's `/metrics` says.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The example server (`cargo build --example server`, same profile as the test), running as
/// a child process on a free loopback port. Killed when dropped.
pub struct ExampleServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ExampleServer {
    /// Starts the server with `env` on top of a quiet default environment, and waits until it
    /// accepts connections.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        Self::start_with_stdout(env, Stdio::null()).await
    }

    /// [`start`](Self::start), with the server's standard output (its log lines) sent to
    /// `stdout`.
    pub async fn start_with_stdout(env: &[(&str, &str)], stdout: Stdio) -> Self {
        Self::start_example("server", env, stdout).await
    }

    /// [`start_with_stdout`](Self::start_with_stdout) for the example `name`: `server` or
    /// `speech`.
    pub async fn start_example(name: &str, env: &[(&str, &str)], stdout: Stdio) -> Self {
        let binary = example_binary(name);
        let addr = free_port();
        let mut command = Command::new(&binary);
        command
            .env("LISTEN_ADDR", addr.to_string())
            .env("SHUTDOWN_DRAIN_MS", "0")
            .env("SPEECH_LATENCY_MS", "1..3")
            // glibc gives each thread that allocates an arena of its own, and resident memory
            // then creeps up for a long while whatever the program does (measured: the same
            // creep with metrics off). Two arenas, one per core, keep the allocator's growth
            // from hiding ours or posing as it. See RELIABILITY.md.
            .env("MALLOC_ARENA_MAX", "2")
            .env_remove("SENTRY_DSN")
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .env_remove("LOG_FORMAT")
            .stdout(stdout);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let server = ExampleServer { child, addr };
        let start = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the example {name} did not listen on {addr} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// Resident memory of the server process (`VmRSS`), in bytes.
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status of the server");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line");
        kib * 1024
    }

    /// The server's exposition, scraped over HTTP like Prometheus does.
    pub async fn metrics(&self) -> String {
        let response = crate::http_get(self.addr, "/metrics").await;
        assert_eq!(response.status, 200, "GET /metrics: {}", response.body);
        response.body
    }

    /// Sends SIGTERM and waits for the process to exit; returns how long that took.
    pub async fn terminate(mut self) -> Duration {
        let start = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        while self
            .child
            .try_wait()
            .expect("wait for the server")
            .is_none()
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the server did not stop within 30 s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        start.elapsed()
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of an example binary built in the same profile as this test binary.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile>/deps");
    let binary = profile_dir.join("examples").join(name);
    assert!(
        binary.exists(),
        "{} is missing: build it first with `cargo build -p vk-monitor-examples --example {name}` \
         (add --release when the tests run with --release)",
        binary.display()
    );
    binary
}

/// A loopback address nobody listens on right now.
pub fn free_port() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
    probe.local_addr().expect("the probe's address")
}

/// One request a mix wants sent, and the route template the server should record it under.
#[derive(Debug, Clone)]
pub struct Planned {
    pub method: Method,
    pub path: String,
    pub route: &'static str,
    pub body: Bytes,
}

impl Planned {
    pub fn new(method: Method, path: impl Into<String>, route: &'static str) -> Self {
        Planned {
            method,
            path: path.into(),
            route,
            body: Bytes::new(),
        }
    }

    pub fn json(mut self, body: impl Into<String>) -> Self {
        self.body = Bytes::from(body.into());
        self
    }
}

/// What to send next, and what to learn from an answer (ids of created resources...).
pub trait Mix: Send + Sync + 'static {
    fn next(&self) -> Planned;
    fn answered(&self, _planned: &Planned, _status: u16, _body: &[u8]) {}
}

/// Everything a run saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Answers by (method, route template, status).
    pub counts: BTreeMap<(String, &'static str, u16), u64>,
    /// Requests that got no answer, with the first few reasons.
    pub failed: u64,
    pub failures: Vec<String>,
    /// Latency of every answered request, in microseconds.
    pub latencies_us: Vec<u32>,
    pub elapsed: Duration,
}

impl Tally {
    pub fn answered(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Answers for `route`, summed over methods and statuses matching `status`.
    pub fn count(&self, route: &str, status: impl Fn(u16) -> bool) -> u64 {
        self.counts
            .iter()
            .filter(|((_, r, s), _)| *r == route && status(*s))
            .map(|(_, n)| n)
            .sum()
    }

    /// The latency below which `quantile` of the answers fell.
    pub fn quantile(&mut self, quantile: f64) -> Duration {
        self.latencies_us.sort_unstable();
        let Some(last) = self.latencies_us.len().checked_sub(1) else {
            return Duration::ZERO;
        };
        let index = ((last as f64) * quantile).round() as usize;
        Duration::from_micros(u64::from(self.latencies_us[index]))
    }

    fn merge(&mut self, other: Tally) {
        for (key, n) in other.counts {
            *self.counts.entry(key).or_default() += n;
        }
        self.failed += other.failed;
        self.failures.extend(
            other
                .failures
                .into_iter()
                .take(5 - self.failures.len().min(5)),
        );
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Sends `requests` requests from `mix` over `concurrency` keep-alive connections and waits for
/// every answer (bodies read to the end).
pub async fn drive(addr: SocketAddr, mix: Arc<dyn Mix>, requests: u64, concurrency: u64) -> Tally {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency as usize)
        .build_http();
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let share = requests / concurrency + u64::from(worker < requests % concurrency);
            let (client, mix) = (client.clone(), Arc::clone(&mix));
            tokio::spawn(async move {
                let mut tally = Tally::default();
                for _ in 0..share {
                    send(&client, addr, &*mix, &mut tally).await;
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for worker in workers {
        total.merge(worker.await.expect("a load worker panicked"));
    }
    total.elapsed = start.elapsed();
    total
}

async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    mix: &dyn Mix,
    tally: &mut Tally,
) {
    let planned = mix.next();
    let request = Request::builder()
        .method(planned.method.clone())
        .uri(format!("http://{addr}{}", planned.path))
        .header("content-type", "application/json")
        .body(Full::new(planned.body.clone()))
        .expect("a well-formed request");
    let start = Instant::now();
    let answer = match client.request(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.into_body().collect().await {
                Ok(body) => Ok((status, body.to_bytes())),
                Err(error) => Err(format!("reading the body: {error}")),
            }
        }
        Err(error) => Err(format!("{error:?}")),
    };
    match answer {
        Ok((status, body)) => {
            let micros = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
            tally.latencies_us.push(micros);
            mix.answered(&planned, status, &body);
            *tally
                .counts
                .entry((planned.method.to_string(), planned.route, status))
                .or_default() += 1;
        }
        Err(reason) => {
            tally.failed += 1;
            if tally.failures.len() < 5 {
                tally
                    .failures
                    .push(format!("{} {}: {reason}", planned.method, planned.path));
            }
        }
    }
}

/// Requests per second, for reports.
pub fn rate(tally: &Tally) -> f64 {
    tally.answered() as f64 / tally.elapsed.as_secs_f64().max(f64::EPSILON)
}
