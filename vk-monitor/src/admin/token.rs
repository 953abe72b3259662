//! The bearer token of the admin routes: validated once, never shown, compared in constant
//! time.

use std::fmt;
use std::sync::Arc;

use axum::http::{HeaderMap, header};

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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

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
