//! `GET /debug/pprof/profile` served by axum on a loopback port, profiling this very process
//! while one thread burns CPU in a function with a name no other code has.

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pprof::protos::Message as _;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use vk_monitor_tests::{RawResponse, http_get};

const BURNER: &str = "spin_for_the_profiler_test";

/// The profiler is process-wide: tests that take a profile do it one at a time.
static PROFILE_SLOT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[inline(never)]
fn spin_for_the_profiler_test(stop: &AtomicBool) -> u64 {
    let mut x = 0u64;
    while !stop.load(Ordering::Relaxed) {
        for i in 0..10_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
    }
    x
}

/// Burns CPU on its own thread until dropped.
struct Burner {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Burner {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("burner".into())
            .spawn(move || spin_for_the_profiler_test(&flag))
            .expect("spawn the burner thread");
        Burner {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Burner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve() -> SocketAddr {
    vk_monitor_tests::serve(vk_monitor::profiling::router()).await
}

/// Opens a connection and sends `GET path`, leaving the reply unread: a client that may hang up.
async fn send(addr: SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    stream
}

async fn get(addr: SocketAddr, path: &str) -> RawResponse {
    tokio::time::timeout(Duration::from_secs(30), http_get(addr, path))
        .await
        .expect("a reply within 30 s")
}

#[tokio::test]
async fn a_flame_graph_shows_the_busy_function_and_a_second_profile_waits() {
    let _slot = PROFILE_SLOT.lock().await;
    let addr = serve().await;
    let _burner = Burner::start();

    let first = tokio::spawn(get(addr, "/debug/pprof/profile?seconds=2"));
    // Well inside the first profile's two seconds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = get(addr, "/debug/pprof/profile?seconds=1").await;
    assert_eq!(second.status, 429, "{}", second.body);
    assert!(second.body.contains("already running"), "{}", second.body);

    let reply = first.await.expect("the first request");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("image/svg+xml"));
    let svg = &reply.body;
    assert!(svg.contains("<svg"), "not an SVG: {svg:.200}");
    assert!(svg.contains(BURNER), "no {BURNER} in the flame graph");
    assert!(
        !svg.contains("pprof::backtrace"),
        "the profiler's own unwinding frames are in the flame graph"
    );
}

#[tokio::test]
async fn a_pprof_profile_names_the_busy_function() {
    let _slot = PROFILE_SLOT.lock().await;
    let addr = serve().await;
    let _burner = Burner::start();

    let reply = get(
        addr,
        "/debug/pprof/profile?seconds=1&format=pprof&frequency=199",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(reply.bytes[..2], [0x1f, 0x8b], "gzip magic");
    let mut encoded = Vec::new();
    flate2::read::GzDecoder::new(&reply.bytes[..])
        .read_to_end(&mut encoded)
        .expect("a gzip stream");
    let profile = pprof::protos::Profile::decode(&encoded[..]).expect("a pprof protobuf");
    assert!(!profile.sample.is_empty(), "no samples");
    assert!(
        profile.string_table.iter().any(|s| s.contains(BURNER)),
        "no {BURNER} in the string table"
    );
    let period = profile.period_type.expect("a period type");
    assert_eq!(profile.string_table[period.ty as usize], "cpu");
    // 199 Hz: one sample every 1/199 s of CPU time.
    assert_eq!(profile.period, 1_000_000_000 / 199);
}

#[tokio::test]
async fn a_client_that_hangs_up_ends_its_profile() {
    let _slot = PROFILE_SLOT.lock().await;
    let addr = serve().await;

    let stream = send(addr, "/debug/pprof/profile?seconds=60").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy = get(addr, "/debug/pprof/profile?seconds=1").await;
    assert_eq!(busy.status, 429, "the 60 s profile is running");
    drop(stream);

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = get(addr, "/debug/pprof/profile?seconds=1").await;
        if reply.status == 200 {
            break;
        }
        assert_eq!(reply.status, 429, "{}", reply.body);
        assert!(
            Instant::now() < deadline,
            "the abandoned profile still holds the profiler"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn out_of_range_parameters_are_a_400_naming_them() {
    let addr = serve().await;
    for (query, parameter, value, range) in [
        ("seconds=0", "seconds", "0", "1..=60"),
        ("seconds=61", "seconds", "61", "1..=60"),
        ("format=bogus", "format", "bogus", "pprof"),
        ("frequency=5000", "frequency", "5000", "1..=1000"),
    ] {
        let reply = get(addr, &format!("/debug/pprof/profile?{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/plain")),
            "{query}"
        );
        let message = &reply.body;
        for expected in [parameter, value, range] {
            assert!(message.contains(expected), "{query}: {message}");
        }
    }
}
