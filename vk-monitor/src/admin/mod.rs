//! Where the admin routes (`/metrics`, health with details and, feature `profiling`, CPU
//! profiles) are protected and served: the bearer token they can require (`MONITOR_TOKEN`),
//! the guard that checks it, the listener of their own (`METRICS_ADDR`) that never shares the
//! public port, and the profile endpoint. What they reveal (internals, failure messages) and
//! what they cost (a render, a profile) is for operators. Which routes go where is the
//! monitor's decision.
//!
//! | `METRICS_ADDR` | `MONITOR_TOKEN` | public port | metrics listener |
//! |---|---|---|---|
//! | unset | unset | `/metrics` open; no profiles | none |
//! | unset | set | `/metrics`, profiles and health details need the token | none |
//! | set | unset | no `/metrics` | everything, open (bind it to a private address) |
//! | set | set | no `/metrics`; health details with the token | everything, token required |

#[cfg(feature = "profiling")]
pub mod profiling;
mod token;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

pub(crate) use token::MIN_TOKEN_LEN;
pub use token::MonitorToken;

/// Answers `401 Unauthorized` unless the request carries the token; no token: open.
pub(crate) fn guard<S>(router: Router<S>, token: Option<&MonitorToken>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let Some(token) = token.cloned() else {
        return router;
    };
    // Nothing to guard (metrics off, no profiling): axum refuses a route layer over no routes.
    if !router.has_routes() {
        return router;
    }
    router.route_layer(middleware::from_fn(move |request: Request, next: Next| {
        let allowed = token.authorizes(request.headers());
        async move {
            if allowed {
                next.run(request).await
            } else {
                unauthorized()
            }
        }
    }))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="vk-monitor""#),
        )],
        "this endpoint needs `Authorization: Bearer <MONITOR_TOKEN>`\n",
    )
        .into_response()
}

/// Binds the metrics listener now, so a taken or invalid address fails start-up.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// How the metrics listener protects itself from clients that hold connections: one that does
/// not send a complete request head within `header_read_timeout` is closed, and so is a
/// keep-alive connection idle for as long (hyper starts that timer as soon as a connection
/// waits for its next request); one still open after `connection_timeout`, request and
/// response included (a client that never reads its answer), is closed; beyond
/// `max_connections` open at once, new ones are closed as they are accepted. It runs on one thread: without these, a slowloris client holds it
/// forever and can exhaust the process's file descriptors, the public listener's too.
///
/// ```
/// use std::time::Duration;
/// use vk_monitor::ListenerLimits;
///
/// let limits = ListenerLimits::default()
///     .header_read_timeout(Duration::from_secs(5))
///     .max_connections(16);
/// # let _ = vk_monitor::Monitor::builder("app", "1.0.0").metrics_listener_limits(limits);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenerLimits {
    header_read_timeout: Duration,
    connection_timeout: Duration,
    max_connections: usize,
}

impl ListenerLimits {
    /// 10 s: a scraper sends its request head at once.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// 120 s: above the longest profile (60 s) and any scrape.
    pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);
    /// 64: scrapers, probes and an operator's profile, with room to spare.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

    /// The time a connection has to send a complete request head, and to stay idle between
    /// requests; at least 1 ms.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The longest a connection stays open, whatever it does; at least 1 ms.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Connections open at once; at least 1.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            connection_timeout: Self::DEFAULT_CONNECTION_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` from a thread of its own with a one-thread runtime: scrapes
/// and profiles keep answering when the application's workers are saturated, and it works
/// whether or not the caller runs inside a tokio runtime.
pub(crate) fn serve(
    listener: TcpListener,
    router: Router,
    limits: ListenerLimits,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("vk-monitor-admin".into())
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(listener, router, limits).await,
                    Err(error) => eprintln!("vk-monitor: the metrics listener failed: {error}"),
                }
            });
        })?;
    Ok(())
}

async fn accept_loop(listener: tokio::net::TcpListener, router: Router, limits: ListenerLimits) {
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, most likely: wait rather than spin.
                eprintln!("vk-monitor: the metrics listener cannot accept: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&open).try_acquire_owned() else {
            drop(stream); // over the cap: closed at once
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let connection = http
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
            .with_upgrades();
        let lifetime = limits.connection_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            // A connection's errors (a client gone, a timeout) are the client's business;
            // past its lifetime it is dropped, which closes it.
            let _ = tokio::time::timeout(lifetime, connection).await;
        });
    }
}
