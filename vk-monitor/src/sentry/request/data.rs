//! What Sentry gets to know about a request: no credentials, cookies or client address
//! without personal data allowed, credentials scrubbed even with it, secret-looking query
//! parameters scrubbed either way, and every value bounded in size.

use std::collections::BTreeMap;

use http::Request;

/// Headers that carry credentials: never sent without PII, and scrubbed even with it.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];
/// Headers that carry the client's address: sent only with PII.
const ADDRESS_HEADERS: &[&str] = &["x-forwarded-for", "x-real-ip", "forwarded"];
/// Query parameters named like secrets are scrubbed whatever the PII setting.
pub(super) const SECRET_PARAMETERS: &[&str] = &["token", "password", "secret", "key", "auth"];
pub(super) const FILTERED: &str = "[Filtered]";
/// Longer header values, query strings, paths and hosts are cut there for Sentry.
pub(super) const MAX_REQUEST_VALUE: usize = 1024;
/// Ends a value that was cut.
pub(super) const TRUNCATED: &str = "…";

/// What Sentry gets to know about the request. Without PII: no credentials, no cookies, no
/// client address. With PII, credentials are still scrubbed. Secret-looking query parameters
/// are scrubbed either way.
pub(super) fn request_data<B>(request: &Request<B>, send_pii: bool) -> sentry::protocol::Request {
    let mut headers = BTreeMap::new();
    for (name, value) in request.headers() {
        let name = name.as_str();
        let value = if CREDENTIAL_HEADERS.contains(&name) {
            if !send_pii {
                continue;
            }
            FILTERED.to_owned()
        } else if ADDRESS_HEADERS.contains(&name) && !send_pii {
            continue;
        } else {
            bounded(&String::from_utf8_lossy(value.as_bytes()))
        };
        headers.insert(name.to_owned(), value);
    }
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let url = format!("http://{}{}", bounded(host), bounded(request.uri().path()))
        .parse()
        .ok();
    sentry::protocol::Request {
        url,
        method: Some(bounded(request.method().as_str())),
        // Scrubbed before it is cut, so that a secret's name is seen whole.
        query_string: request.uri().query().map(|q| bounded(&scrub_query(q))),
        headers,
        ..Default::default()
    }
}

/// `text`, cut to [`MAX_REQUEST_VALUE`] bytes: a client decides how long its headers, path and
/// query are (up to hyper's limits, 64 KiB and more), and each request's data is held in the
/// transport's queue and sent to Sentry.
pub(super) fn bounded(text: &str) -> String {
    if text.len() <= MAX_REQUEST_VALUE {
        return text.to_owned();
    }
    let mut end = MAX_REQUEST_VALUE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED}", &text[..end])
}

pub(super) fn scrub_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            // Names are compared as the application reads them, decoded: `%74oken` is `token`.
            let decoded = percent_decode(name).to_ascii_lowercase();
            if SECRET_PARAMETERS
                .iter()
                .any(|secret| decoded.contains(secret))
            {
                format!("{name}={FILTERED}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A form-encoded component decoded: `%XX` escapes and `+` for space. Malformed escapes stay
/// as they are and invalid UTF-8 is replaced, as form decoders do.
pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', high, low]) => char::from(*high)
                .to_digit(16)
                .zip(char::from(*low).to_digit(16))
                .map(|(high, low)| (high * 16 + low) as u8),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                decoded.push(byte);
                i += 3;
            }
            (None, b'+') => {
                decoded.push(b' ');
                i += 1;
            }
            (None, byte) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
