//! The admin surface: `/metrics`, health with details and (feature `profiling`)
//! `/debug/pprof/*`. What they reveal (internals, failure messages) and what they cost (a
//! render, a profile) is for operators, so they can require a bearer token (`MONITOR_TOKEN`)
//! and be served on a listener of their own (`METRICS_ADDR`) that never shares the public port.
//!
//! | `METRICS_ADDR` | `MONITOR_TOKEN` | public port | admin listener |
//! |---|---|---|---|
//! | unset | unset | `/metrics` open; no profiles | none |
//! | unset | set | `/metrics`, profiles and health details need the token | none |
//! | set | unset | no `/metrics` | everything, open (bind it to a private address) |
//! | set | set | no `/metrics`; health details with the token | everything, token required |

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

/// The shortest token accepted: 16 characters (96 bits of base64) resist guessing.
pub(crate) const MIN_TOKEN_LEN: usize = 16;

/// The bearer token that guards the admin routes. Its `Debug` output never shows it, and it is
/// compared in constant time.
///
/// ```
/// use vk_monitor::MonitorToken;
///
/// let token = MonitorToken::new("s3cret-token-for-scrapers").unwrap();
/// assert!(token.matches("s3cret-token-for-scrapers"));
/// assert!(!token.matches("s3cret-token-for-scraperz"));
/// assert_eq!(format!("{token:?}"), "MonitorToken(<hidden>)");
/// assert!(MonitorToken::new("short").is_none());
/// ```
#[derive(Clone)]
pub struct MonitorToken(Arc<[u8]>);

impl MonitorToken {
    /// The token, when it has at least 16 characters, all of them visible ASCII
    /// (what an `Authorization` header can carry unchanged); `None` otherwise.
    pub fn new(token: impl AsRef<str>) -> Option<Self> {
        let token = token.as_ref();
        (token.len() >= MIN_TOKEN_LEN && token.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| MonitorToken(token.as_bytes().into()))
    }

    /// Whether `candidate` is the token. The time taken depends on the token's length only, not
    /// on how many leading characters a guess got right.
    pub fn matches(&self, candidate: &str) -> bool {
        let (expected, candidate) = (&*self.0, candidate.as_bytes());
        let mut difference = u8::from(expected.len() != candidate.len());
        for (i, byte) in expected.iter().enumerate() {
            difference |= byte ^ candidate.get(i).copied().unwrap_or(0);
        }
        std::hint::black_box(difference) == 0
    }

    /// Whether `headers` carry `Authorization: Bearer <token>`.
    pub fn authorizes(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(bearer)
            .any(|candidate| self.matches(candidate))
    }
}

/// The credentials of `Bearer <credentials>`; the scheme is case-insensitive (RFC 9110).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

impl fmt::Debug for MonitorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MonitorToken(<hidden>)")
    }
}

impl PartialEq for MonitorToken {
    fn eq(&self, other: &Self) -> bool {
        std::str::from_utf8(&other.0).is_ok_and(|other| self.matches(other))
    }
}

impl Eq for MonitorToken {}

/// Answers `401 Unauthorized` unless the request carries the token; no token: open.
pub(crate) fn guard<S>(router: Router<S>, token: Option<&MonitorToken>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let Some(token) = token.cloned() else {
        return router;
    };
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

/// Binds the admin listener now, so a taken or invalid address fails start-up.
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
                            eprintln!("vk-monitor: the admin listener stopped: {error}");
                        }
                    }
                    Err(error) => eprintln!("vk-monitor: the admin listener failed: {error}"),
                }
            });
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_compared_whole() {
        let token = MonitorToken::new("0123456789abcdef").unwrap();
        assert!(token.matches("0123456789abcdef"));
        for wrong in [
            "",
            "0123456789abcde",
            "0123456789abcdef0",
            "1123456789abcdef",
        ] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
    }

    #[test]
    fn weak_or_unsendable_tokens_are_refused() {
        assert!(MonitorToken::new("").is_none());
        assert!(MonitorToken::new("a".repeat(MIN_TOKEN_LEN - 1)).is_none());
        assert!(MonitorToken::new("has a space in it!").is_none());
        assert!(MonitorToken::new("ünïcödé-is-not-ascii").is_none());
        assert!(MonitorToken::new("a".repeat(MIN_TOKEN_LEN)).is_some());
    }

    #[test]
    fn only_a_bearer_header_with_the_token_authorizes() {
        let token = MonitorToken::new("0123456789abcdef").unwrap();
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            headers
        };
        assert!(token.authorizes(&with("Bearer 0123456789abcdef")));
        assert!(token.authorizes(&with("bearer  0123456789abcdef ")));
        assert!(!token.authorizes(&with("Basic 0123456789abcdef")));
        assert!(!token.authorizes(&with("Bearer")));
        assert!(!token.authorizes(&with("0123456789abcdef")));
        assert!(!token.authorizes(&HeaderMap::new()));
    }
}
