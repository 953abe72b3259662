//! The metrics listener against clients that hold connections, on a real loopback listener: a
//! client that never finishes its request head is closed within the header-read timeout, an
//! idle keep-alive connection too, connections over the cap are closed as they arrive, and
//! `/metrics` keeps answering throughout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use vk_monitor::{ListenerLimits, Monitor};

const TIMEOUT: Duration = Duration::from_millis(400);
const MAX_CONNECTIONS: usize = 4;
const LIFETIME: Duration = Duration::from_secs(2);

/// How long until the server closes `stream` (reads EOF or a reset), at most `patience`.
fn closed_within(stream: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let start = Instant::now();
    stream.set_read_timeout(Some(patience)).unwrap();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue, // a response (408 or the like) before the close
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(start.elapsed()), // reset
        }
    }
}

fn metrics_status(addr: SocketAddr) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[test]
fn slow_and_idle_clients_are_closed_and_metrics_keep_answering() {
    let monitor = Monitor::builder("listener-limits", "1.0.0")
        .config(|config| config.metrics_addr(SocketAddr::from(([127, 0, 0, 1], 0))))
        .metrics_listener_limits(
            ListenerLimits::default()
                .header_read_timeout(TIMEOUT)
                .connection_timeout(LIFETIME)
                .max_connections(MAX_CONNECTIONS),
        )
        .install()
        .unwrap();
    let addr = monitor.metrics_addr().expect("a metrics listener");

    // Slowloris: a head that never ends.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nX-Slow: 1")
        .unwrap();
    assert_eq!(
        metrics_status(addr),
        200,
        "answers while a slow client waits"
    );
    let closed = closed_within(&mut slow, Duration::from_secs(5));
    assert!(
        closed.is_some_and(|after| after < TIMEOUT * 4),
        "the slow client was closed after {closed:?}, the timeout is {TIMEOUT:?}"
    );

    // Keep-alive: after one answer, an idle connection is closed too.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let closed = closed_within(&mut idle, Duration::from_secs(5));
    assert!(
        closed.is_some_and(|after| after < TIMEOUT * 4 + Duration::from_secs(1)),
        "an idle keep-alive connection stayed open {closed:?}"
    );

    // The cap: MAX_CONNECTIONS silent connections hold every slot; one more is closed at
    // once, and when the silent ones time out, scrapes are served again.
    let mut holders: Vec<TcpStream> = (0..MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(50)); // accepted by now
    let mut over = TcpStream::connect(addr).unwrap();
    let closed = closed_within(&mut over, TIMEOUT / 2);
    assert!(closed.is_some(), "a connection over the cap was kept open");
    for holder in &mut holders {
        assert!(closed_within(holder, Duration::from_secs(5)).is_some());
    }
    assert_eq!(
        metrics_status(addr),
        200,
        "served again once the slots are free"
    );

    // A client that sends requests and never reads the answers: closed at its lifetime.
    let mut greedy = TcpStream::connect(addr).unwrap();
    let start = Instant::now();
    let request = b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n".repeat(2000);
    greedy
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = greedy.write_all(&request); // may stop when the server stops reading
    let closed = closed_within(&mut greedy, Duration::from_secs(10));
    assert!(
        closed.is_some() && start.elapsed() < LIFETIME + Duration::from_secs(3),
        "a connection outlived its lifetime: {:?}",
        start.elapsed()
    );
}
