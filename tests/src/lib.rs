//! Cross-crate tests of vk-monitor: trybuild UI cases (`tests/ui`) and runtime integration
//! tests (`tests/tests`). This library holds what those tests share.

use std::sync::LazyLock;

pub mod load;

use vk_monitor::Exporter;

/// The process's exporter, installed on first use. Test binaries are processes; tests inside
/// one binary share it, so each test uses functions of its own.
pub fn exporter() -> &'static Exporter {
    static EXPORTER: LazyLock<Exporter> = LazyLock::new(|| {
        Exporter::builder()
            .service("vk-monitor-tests")
            .version("0.0.0-test")
            .environment("test")
            .install()
            .expect("installing the exporter in a fresh test process")
    });
    &EXPORTER
}

/// One sample of the text exposition: a series name, its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Parses the sample lines of a Prometheus text exposition (comments are skipped).
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| parse_sample(line).unwrap_or_else(|| panic!("unparsable sample line: {line}")))
        .collect()
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    let (name, labels) = match series.split_once('{') {
        None => (series, Vec::new()),
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

fn parse_labels(mut rest: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((key.to_owned(), value));
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some(labels)
}

/// The value of the one series named `name` whose labels include all of `labels`.
/// `None` when no series matches; panics when several do, since the test was ambiguous.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<Sample> = parse_exposition(text)
        .into_iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
        .collect();
    match matching.as_slice() {
        [] => None,
        [one] => Some(one.value),
        many => panic!("{} series match {name}{labels:?}: {many:?}", many.len()),
    }
}

/// The current value of `name{labels}` in a fresh render of the process's exporter.
pub fn current(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    value(&exporter().render(), name, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_labels_and_values() {
        let text = "# HELP x_total help\n# TYPE x_total counter\n\
                    x_total{a=\"1\",b=\"q\\\"uote\"} 3\nplain 0.5\nh_bucket{le=\"+Inf\"} 2\n";
        assert_eq!(value(text, "x_total", &[("a", "1")]), Some(3.0));
        assert_eq!(value(text, "x_total", &[("b", "q\"uote")]), Some(3.0));
        assert_eq!(value(text, "plain", &[]), Some(0.5));
        assert_eq!(value(text, "h_bucket", &[("le", "+Inf")]), Some(2.0));
        assert_eq!(value(text, "x_total", &[("a", "2")]), None);
    }
}

/// A response read off the wire: status code, lower-cased header pairs and body.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text, decoded lossily where it is not UTF-8.
    pub body: String,
    /// The body's bytes, for bodies that are not text (a gzipped profile).
    pub bytes: Vec<u8>,
}

impl RawResponse {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves `app` on a free loopback port from a task of the current runtime; its address.
pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// `GET path`: see [`http_request`].
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> RawResponse {
    http_request(addr, "GET", path, "").await
}

/// One request over a fresh HTTP/1.1 connection with `Connection: close`: a real client on the
/// wire, with nothing between the test and the server. Chunked bodies are decoded.
pub async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> RawResponse {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    raw_request(addr, request.as_bytes()).await
}

/// Sends `request` byte for byte over a fresh connection and reads the response until the
/// server closes the connection (say `Connection: close`): for requests no client would
/// write, with bytes outside UTF-8 or a malformed head. The body is kept as bytes and as text
/// (decoded lossily where it is not UTF-8).
pub async fn raw_request(addr: std::net::SocketAddr, request: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    // A server that refuses the head may answer and close before reading all of it; its
    // answer is still read below.
    let _ = stream.write_all(request).await;
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw).await;
    let Some(split) = raw.windows(4).position(|window| window == b"\r\n\r\n") else {
        panic!(
            "no complete response head ({read:?}): {:?}",
            String::from_utf8_lossy(&raw)
        );
    };
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = &raw[split + 4..];
    let bytes = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|window| window == b"\r\n") {
        let size = String::from_utf8_lossy(&raw[..line_end]);
        let size = size.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        body.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
    body
}

/// A Sentry ingestion endpoint on loopback that keeps every envelope it is sent.
pub struct SentryReceiver {
    /// The DSN to give the client: project 42 on this receiver.
    pub dsn: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<axum::body::Bytes>>>,
}

impl SentryReceiver {
    /// Starts the receiver on the current tokio runtime.
    pub async fn start() -> Self {
        let bodies = std::sync::Arc::<std::sync::Mutex<Vec<axum::body::Bytes>>>::default();
        let store = std::sync::Arc::clone(&bodies);
        let app = axum::Router::new().route(
            "/api/42/envelope/",
            axum::routing::post(move |body: axum::body::Bytes| async move {
                store.lock().unwrap().push(body);
                "{}"
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        SentryReceiver {
            dsn: format!("http://public@{addr}/42"),
            bodies,
        }
    }

    /// Every envelope received so far, decoded: the transactions and the events.
    pub fn received(
        &self,
    ) -> (
        Vec<sentry::protocol::Transaction<'static>>,
        Vec<sentry::protocol::Event<'static>>,
    ) {
        let (mut transactions, mut events) = (Vec::new(), Vec::new());
        for body in self.bodies.lock().unwrap().iter() {
            let envelope = sentry::Envelope::from_slice(body).expect("a valid envelope");
            for item in envelope.into_items() {
                match item {
                    sentry::protocol::EnvelopeItem::Transaction(transaction) => {
                        transactions.push(*transaction)
                    }
                    sentry::protocol::EnvelopeItem::Event(event) => events.push(*event),
                    _ => {}
                }
            }
        }
        (transactions, events)
    }

    /// Every envelope received so far with its header line as sent (the JSON text before the
    /// first newline), for what the decoded header does not show.
    pub fn received_envelopes(&self) -> Vec<(String, sentry::Envelope)> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|body| {
                let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
                let header = String::from_utf8_lossy(&body[..end]).into_owned();
                let envelope = sentry::Envelope::from_slice(body).expect("a valid envelope");
                (header, envelope)
            })
            .collect()
    }

    /// How many envelopes arrived.
    pub fn envelopes(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    /// A monitor named `name` that reports to this receiver, with every trace sampled and
    /// metrics off; further `config` calls add to that (and win), as for any builder.
    pub fn monitor_builder(
        &self,
        name: &'static str,
        version: &'static str,
    ) -> vk_monitor::MonitorBuilder {
        let dsn = self.dsn.clone();
        vk_monitor::Monitor::builder(name, version).config(move |config| {
            config
                .sentry_dsn(dsn)
                .traces_sample_rate(1.0)
                .enable_metrics(false)
        })
    }
}

/// Set in the child processes of [`in_child_process`].
const CHILD_PROCESS: &str = "VK_MONITOR_TEST_CHILD";

/// Runs the test `name` of the current test binary, ignored or not, alone in a child process:
/// for a case that installs a process-wide monitor or Sentry client of its own, beside the
/// binary's other tests. Fails with the child's output unless it passed. Inside, the test
/// checks [`is_child_process`] first.
pub fn in_child_process(name: &str) {
    let binary = std::env::current_exe().expect("the test binary");
    let output = std::process::Command::new(binary)
        .args([name, "--exact", "--include-ignored", "--nocapture"])
        .env(CHILD_PROCESS, name)
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} in a child process:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether this process is the child [`in_child_process`] started for `name`; elsewhere the
/// test says that it is skipped here.
pub fn is_child_process(name: &str) -> bool {
    let child = std::env::var(CHILD_PROCESS).is_ok_and(|test| test == name);
    if !child {
        eprintln!("{name} runs in a child process of its parent test; skipped here");
    }
    child
}

/// Runs `test` on a two-worker runtime after setting `variables`: for the test binaries whose
/// one test reads the process environment, set before any other thread exists.
pub fn run_with_env<F: std::future::Future>(variables: &[(&str, &str)], test: F) -> F::Output {
    for (name, value) in variables {
        // SAFETY: called from the test's own thread before it starts any other.
        unsafe { std::env::set_var(name, value) };
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(test)
}

/// The headers of every request a [`header_recorder`] service was sent, in order.
pub type SeenHeaders = std::sync::Arc<std::sync::Mutex<Vec<axum::http::HeaderMap>>>;

/// A monitored back service on `ip` (a free port) answering `GET /speech/calls/{id}` with
/// `text`, keeping the headers of every request: what a service called was told.
pub async fn header_recorder(ip: &str) -> (std::net::SocketAddr, SeenHeaders) {
    use axum::extract::State;
    use axum::http::HeaderMap;

    let seen = SeenHeaders::default();
    let app = axum::Router::new()
        .route(
            "/speech/calls/{id}",
            axum::routing::get(
                |State(seen): State<SeenHeaders>, headers: HeaderMap| async move {
                    seen.lock().unwrap().push(headers);
                    "text"
                },
            ),
        )
        .with_state(std::sync::Arc::clone(&seen))
        .layer(vk_monitor::http::MonitorLayer::new());
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}
