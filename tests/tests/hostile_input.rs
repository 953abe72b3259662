//! Hostile and malformed requests against a real server with the monitor's layer, Sentry
//! tracing every request into a loopback receiver: trace headers that are malformed, huge,
//! repeated or hold bytes outside ASCII start a fresh trace; long paths, bytes outside UTF-8
//! and made-up methods leave the server answering and the labels and transaction names within
//! the routes' templates.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use sentry::protocol::{Context, TraceContext, Transaction};

use vk_monitor::Monitor;
use vk_monitor::http::UNMATCHED_ROUTE;
use vk_monitor_tests::{
    RawResponse, Sample, SentryReceiver, http_get, parse_exposition, raw_request,
};

const TRACE: &str = "771a43a4192642f0b136d5159a501700";
const PARENT: &str = "b7ad6b7169203331";
const OTHER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const OTHER_PARENT: &str = "00f067aa0ba902b7";

const ROUTES: [&str; 3] = ["/orders/{id}", "/files/{*rest}", "/search"];
const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "OTHER",
];
/// What the layer keeps of a request value for Sentry, at most, and its ellipsis.
const MAX_VALUE: usize = 1024 + '…'.len_utf8();

struct Server {
    addr: SocketAddr,
    receiver: SentryReceiver,
    monitor: Monitor,
}

/// One server for the whole binary, since the monitor installs process-wide state (the
/// recorder, the Sentry client). It runs on a runtime of its own, which outlives each test's.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (started, server) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let receiver = SentryReceiver::start().await;
                let monitor = receiver
                    .monitor_builder("hostile-input", "1.0.0")
                    .config(|config| config.apm_enabled(true).enable_metrics(true))
                    .install()
                    .unwrap();
                let app = Router::new()
                    .route(ROUTES[0], get(|| async { "order" }))
                    .route(ROUTES[1], get(|| async { "file" }))
                    .route(ROUTES[2], get(|| async { "results" }))
                    .merge(monitor.router())
                    .layer(monitor.layer());
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                started
                    .send(Server {
                        addr,
                        receiver,
                        monitor,
                    })
                    .unwrap_or_else(|_| panic!("nobody waits for the server"));
                axum::serve(listener, app).await.unwrap();
            });
        });
        server.recv().unwrap()
    })
}

/// A request head: `GET target` with `Host: api.test`, the extra header lines and
/// `Connection: close`.
fn get_with(target: &[u8], extra: &[u8]) -> Vec<u8> {
    [
        b"GET ",
        target,
        b" HTTP/1.1\r\nHost: api.test\r\n",
        extra,
        b"Connection: close\r\n\r\n",
    ]
    .concat()
}

async fn send(request: &[u8]) -> RawResponse {
    raw_request(server().addr, request).await
}

/// The server still answers a plain request.
async fn still_answering() {
    assert_eq!(http_get(server().addr, "/orders/1").await.status, 200);
}

/// What Sentry has been sent, once `ready` holds for it or after 10 s: the server finishes a
/// transaction just after the client has read the response.
async fn received_once(
    ready: impl Fn(&[Transaction<'static>]) -> bool,
) -> Vec<Transaction<'static>> {
    for _ in 0..100 {
        assert!(server().monitor.flush(Duration::from_secs(5)));
        let transactions = server().receiver.received().0;
        if ready(&transactions) {
            return transactions;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server().receiver.received().0
}

fn trace_of<'a>(transaction: &'a Transaction<'_>) -> &'a TraceContext {
    match transaction.contexts.get("trace") {
        Some(Context::Trace(trace)) => trace,
        other => panic!("no trace context: {other:?}"),
    }
}

/// The transactions of the request whose `User-Agent` is `case.NAME` (an allow-listed header;
/// query values are not sent).
fn transactions_of<'a>(
    transactions: &'a [Transaction<'static>],
    case: &str,
) -> Vec<&'a Transaction<'static>> {
    let query = format!("case.{case}");
    transactions
        .iter()
        .filter(|t| {
            t.request
                .as_ref()
                .and_then(|r| r.headers.get("user-agent"))
                .map(String::as_str)
                == Some(query.as_str())
        })
        .collect()
}

/// The one transaction of the request whose `User-Agent` is `case.NAME`.
fn transaction_of<'a>(
    transactions: &'a [Transaction<'static>],
    case: &str,
) -> &'a Transaction<'static> {
    match transactions_of(transactions, case)[..] {
        [one] => one,
        ref other => panic!("{} transactions for {case}", other.len()),
    }
}

#[tokio::test]
async fn malformed_trace_headers_start_a_fresh_trace() {
    let huge = |byte: u8| vec![byte; 64 * 1024];
    let line = |name: &str, value: &[u8]| [name.as_bytes(), b": ", value, b"\r\n"].concat();
    let sentry_trace = |value: &[u8]| line("sentry-trace", value);
    let traceparent = |value: &[u8]| line("traceparent", value);
    let baggage = |value: &[u8]| line("baggage", value);
    let valid = format!("{TRACE}-{PARENT}-1");
    let valid_w3c = format!("00-{TRACE}-{PARENT}-01");
    let other_w3c = format!("00-{OTHER_TRACE}-{OTHER_PARENT}-01");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", sentry_trace(b"garbage")),
        ("huge", sentry_trace(&huge(b'a'))),
        (
            "valid-then-huge",
            sentry_trace(&[valid.as_bytes(), &huge(b'f')].concat()),
        ),
        (
            "extra-part",
            sentry_trace(format!("{valid}-extra").as_bytes()),
        ),
        ("upper-case", sentry_trace(valid.to_uppercase().as_bytes())),
        (
            "space-inside",
            sentry_trace(format!("{TRACE} -{PARENT}-1").as_bytes()),
        ),
        (
            "obs-text-after",
            sentry_trace(&[valid.as_bytes(), b"\xff"].concat()),
        ),
        (
            "obs-text-inside",
            sentry_trace(format!("{TRACE}\u{e9}-{PARENT}-1").as_bytes()),
        ),
        (
            "w3c-extra-part",
            traceparent(format!("{valid_w3c}-extra").as_bytes()),
        ),
        (
            "w3c-version-ff",
            traceparent(format!("ff-{TRACE}-{PARENT}-01").as_bytes()),
        ),
        (
            "w3c-zero-trace",
            traceparent(format!("00-{}-{PARENT}-01", "0".repeat(32)).as_bytes()),
        ),
        (
            "w3c-obs-text",
            traceparent(&[valid_w3c.as_bytes(), b"\x80\xfe"].concat()),
        ),
        ("w3c-huge", traceparent(&huge(b'0'))),
        (
            "baggage-alone",
            [baggage(&huge(b'x')), baggage(b"sentry-trace_id=\xff\x80")].concat(),
        ),
        (
            "all-at-once",
            [
                sentry_trace(format!("{valid}-").as_bytes()),
                traceparent(&[b"00-", &huge(b'e')[..]].concat()),
                baggage(format!("sentry-trace_id={TRACE},sentry-sampled=true").as_bytes()),
                baggage(&huge(b'\xe9')),
            ]
            .concat(),
        ),
        (
            "sentry-trace-twice",
            [sentry_trace(valid.as_bytes()), sentry_trace(b"garbage")].concat(),
        ),
        (
            "sentry-trace-twice-valid",
            [
                sentry_trace(valid.as_bytes()),
                sentry_trace(format!("{OTHER_TRACE}-{OTHER_PARENT}-1").as_bytes()),
            ]
            .concat(),
        ),
        (
            "traceparent-twice",
            [
                traceparent(valid_w3c.as_bytes()),
                traceparent(other_w3c.as_bytes()),
            ]
            .concat(),
        ),
    ];
    for (case, headers) in &cases {
        let headers = [
            headers.as_slice(),
            format!("User-Agent: case.{case}\r\n").as_bytes(),
        ]
        .concat();
        let response = send(&get_with(b"/orders/7", &headers)).await;
        assert_eq!(response.status, 200, "{case}");
    }
    // DEL is no header character: hyper refuses the request before any service sees it.
    let del = sentry_trace(format!("{TRACE}\x7f-{PARENT}-1").as_bytes());
    assert_eq!(send(&get_with(b"/orders/7", &del)).await.status, 400);
    still_answering().await;

    let transactions = received_once(|t| {
        cases
            .iter()
            .all(|(case, _)| !transactions_of(t, case).is_empty())
    })
    .await;
    assert!(
        transactions_of(&transactions, "del").is_empty(),
        "refused, not traced"
    );
    let mut fresh = BTreeSet::new();
    for (case, _) in &cases {
        let trace = trace_of(transaction_of(&transactions, case));
        let id = trace.trace_id.to_string();
        assert!(
            id != TRACE && id != OTHER_TRACE,
            "{case} continued a trace it was sent"
        );
        assert_eq!(trace.parent_span_id, None, "{case} has a parent");
        fresh.insert(id);
    }
    assert_eq!(
        fresh.len(),
        cases.len(),
        "each request is a trace of its own"
    );
    let sent = serde_json::to_string(transaction_of(&transactions, "all-at-once")).unwrap();
    assert!(
        sent.len() < 16 * 1024,
        "192 KiB of headers became a {} byte transaction",
        sent.len()
    );
}

#[tokio::test]
async fn valid_trace_headers_are_continued_whatever_comes_with_them() {
    const TRACES: [&str; 3] = [
        "3bb9e4f2bb6c4e5c8a7f2c1d0e9f8a7b",
        "4cc0f5a3cc7d4f6d9b8a3d2e1f0a9b8c",
        "5dd1a6b4dd8e4a7eac9b4e3f2a1bac9d",
    ];
    const SPAN: &str = "1a2b3c4d5e6f7a8b";
    let cases: [(&str, String, &str); 3] = [
        (
            "sentry-trace",
            format!("sentry-trace: {}-{SPAN}\r\n", TRACES[0]),
            TRACES[0],
        ),
        (
            "traceparent",
            format!("traceparent: 00-{}-{SPAN}-01\r\n", TRACES[1]),
            TRACES[1],
        ),
        (
            "with-hostile-company",
            format!(
                "baggage: {}\r\nsentry-trace: {}-{SPAN}-1\r\ntraceparent: 00-{}\r\n",
                "b".repeat(64 * 1024),
                TRACES[2],
                "z".repeat(1000),
            ),
            TRACES[2],
        ),
    ];
    for (case, headers, _) in &cases {
        let headers = format!("{headers}User-Agent: case.{case}\r\n");
        let response = send(&get_with(b"/search", headers.as_bytes())).await;
        assert_eq!(response.status, 200, "{case}");
    }
    let transactions = received_once(|t| {
        cases
            .iter()
            .all(|(case, ..)| !transactions_of(t, case).is_empty())
    })
    .await;
    for (case, _, trace_id) in &cases {
        let transaction = transaction_of(&transactions, case);
        let trace = trace_of(transaction);
        assert_eq!(trace.trace_id.to_string(), *trace_id, "{case}");
        assert_eq!(
            trace.parent_span_id.map(|id| id.to_string()).as_deref(),
            Some(SPAN),
            "{case}"
        );
        assert_eq!(transaction.name.as_deref(), Some("GET /search"));
    }
    let request = transaction_of(&transactions, "with-hostile-company")
        .request
        .as_ref()
        .unwrap();
    // Baggage can carry a user id (`sentry-user_id`): it is not among the headers sent by
    // default; a value that is sent is cut (see the unit tests of the request data).
    assert!(
        !request.headers.contains_key("baggage"),
        "{:?}",
        request.headers.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        request.headers.get("host").map(String::as_str),
        Some("api.test")
    );
}

#[tokio::test]
async fn long_paths_foreign_bytes_and_made_up_methods_keep_labels_bounded() {
    let long = |c: &str, n: usize| c.repeat(n);
    // (request, expected status)
    let requests: Vec<(Vec<u8>, u16)> = vec![
        (
            get_with(format!("/files/{}", long("a", 16 * 1024)).as_bytes(), b""),
            200,
        ),
        (
            get_with(format!("/orders/{}", long("b", 16 * 1024)).as_bytes(), b""),
            200,
        ),
        (
            get_with(format!("/{}", long("c", 16 * 1024)).as_bytes(), b""),
            404,
        ),
        (
            get_with(format!("/files/{}", long("d/", 30 * 1024)).as_bytes(), b""),
            200,
        ),
        // Over hyper's 64 KiB limit for a URI.
        (
            get_with(format!("/orders/{}", long("e", 70 * 1024)).as_bytes(), b""),
            414,
        ),
        // Percent-escapes of bytes that are no UTF-8.
        (get_with(b"/orders/%ff%fe%00", b""), 200),
        (get_with(b"/files/%c3%28/%80?q=%ff%fe&token=%c0", b""), 200),
        (get_with(b"/%80%81%82", b""), 404),
        (get_with(b"/search?q=%ED%A0%80", b""), 200),
        // Raw bytes: UTF-8 is accepted, anything else refused before routing.
        (get_with("/orders/\u{e9}\u{20ac}".as_bytes(), b""), 200),
        (get_with("/search?q=\u{20ac}".as_bytes(), b""), 200),
        (get_with(b"/orders/\xff\xfe", b""), 400),
        (get_with(b"/search?q=\xc3\x28", b""), 400),
        (get_with(b"/files/\x80", b""), 400),
        (get_with(b"/orders/\x7f", b""), 400),
        (get_with(b"/orders/1", b"X-Custom: \x80\xff\xfe\r\n"), 200),
        (
            get_with(
                b"/orders/1",
                &[b"Host: ", &[b'h'; 8192][..], b"\r\n"].concat(),
            ),
            200,
        ),
        // Forms of request target that are no path.
        (get_with(b"http://elsewhere.test/orders/2", b""), 200),
        (
            b"OPTIONS * HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n".to_vec(),
            404,
        ),
        (
            b"CONNECT api.test:443 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n"
                .to_vec(),
            404,
        ),
        // Methods outside the standard set, one of them 4 KiB long.
        (
            b"PURGE /orders/3 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n".to_vec(),
            405,
        ),
        (
            b"get /orders/3 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n".to_vec(),
            405,
        ),
        (
            [
                &[b'M'; 4096][..],
                b" /orders/3 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
            ]
            .concat(),
            405,
        ),
    ];
    for (request, status) in &requests {
        let shown = String::from_utf8_lossy(&request[..request.len().min(60)]);
        assert_eq!(send(request).await.status, *status, "{shown}");
        still_answering().await;
    }

    // The HTTP layer records a request when its response ends, after the client has it.
    let mut samples = Vec::new();
    for _ in 0..100 {
        samples = parse_exposition(&http_get(server().addr, "/metrics").await.body);
        if total(&samples, "OTHER", ROUTES[0], "405") >= 3.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut routes = BTreeSet::new();
    for sample in samples
        .iter()
        .filter(|s| s.name.starts_with("http_request"))
    {
        let route = label(sample, "route").expect("a route label");
        assert!(
            ROUTES.contains(&route.as_str()) || route == UNMATCHED_ROUTE,
            "route label {route:?} of {}",
            sample.name
        );
        let method = label(sample, "method").expect("a method label");
        assert!(
            METHODS.contains(&method.as_str()),
            "method label {method:?}"
        );
        routes.insert(route);
    }
    assert!(
        routes.contains(ROUTES[1]) && routes.contains(UNMATCHED_ROUTE),
        "the requests were recorded: {routes:?}"
    );
    assert!(
        total(&samples, "OTHER", ROUTES[0], "405") >= 3.0,
        "made-up methods are OTHER"
    );
    assert!(total(&samples, "GET", UNMATCHED_ROUTE, "404") >= 2.0);

    let made_up = |t: &Transaction| t.name.as_deref() == Some("OTHER /orders/{id}");
    let transactions = received_once(|t| t.iter().filter(|t| made_up(t)).count() >= 3).await;
    for transaction in &transactions {
        let name = transaction.name.as_deref().unwrap_or_default();
        let (method, route) = name.split_once(' ').expect("METHOD ROUTE");
        assert!(METHODS.contains(&method), "transaction {name:.80}");
        assert!(
            ROUTES.contains(&route) || route == UNMATCHED_ROUTE,
            "transaction {name:.80}"
        );
        let request = transaction.request.as_ref().expect("request data");
        for (header, value) in &request.headers {
            assert!(value.len() <= MAX_VALUE, "{header}: {} bytes", value.len());
        }
        let url = request.url.as_ref().map_or(0, |url| url.as_str().len());
        assert!(url <= 8 * MAX_VALUE, "{name}: a {url} byte URL");
    }
    assert_eq!(
        transactions.iter().filter(|t| made_up(t)).count(),
        3,
        "the made-up methods were traced"
    );
}

fn label(sample: &Sample, name: &str) -> Option<String> {
    sample
        .labels
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// `http_requests_total{method, route, status}`.
fn total(samples: &[Sample], method: &str, route: &str, status: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == "http_requests_total")
        .filter(|s| {
            label(s, "method").as_deref() == Some(method)
                && label(s, "route").as_deref() == Some(route)
                && label(s, "status").as_deref() == Some(status)
        })
        .map(|s| s.value)
        .sum()
}
