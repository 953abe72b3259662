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

/// Serves `router` on `listener` from a thread of its own with a one-thread runtime: scrapes
/// and profiles keep answering when the application's workers are saturated, and it works
/// whether or not the caller runs inside a tokio runtime.
pub(crate) fn serve(listener: TcpListener, router: Router) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("vk-monitor-admin".into())
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => {
                        if let Err(error) = axum::serve(listener, router).await {
                            eprintln!("vk-monitor: the metrics listener stopped: {error}");
                        }
                    }
                    Err(error) => eprintln!("vk-monitor: the metrics listener failed: {error}"),
                }
            });
        })?;
    Ok(())
}
