//! What Sentry gets to know about a request, by allow-list: without personal data allowed, only
//! headers known to be harmless, query parameter names with their values replaced, and the
//! route template instead of the path (a path can hold a token or an e-mail address). With
//! `SENTRY_SEND_DEFAULT_PII` every header, the raw path and the query are sent, but never a
//! credential. Every value is bounded in size.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use http::{HeaderName, HeaderValue, Method, Request, Uri};
use sentry::protocol::Url;

#[cfg(test)]
pub(super) use crate::sentry::scrub::SECRET_PARAMETERS;
pub(super) use crate::sentry::scrub::{FILTERED, is_credential, scrub_query};

/// Headers sent without personal data allowed: they describe the request's form, never who
/// sent it or what it proves.
pub(super) const HARMLESS_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "content-encoding",
    "content-length",
    "content-type",
    "host",
    "user-agent",
];
/// Headers that carry credentials: never sent, whatever the PII setting (their name is, with
/// the value filtered, when personal data is allowed).
/// Longer header values, query strings, paths and hosts are cut there for Sentry.
pub(super) const MAX_REQUEST_VALUE: usize = 1024;
/// Ends a value that was cut.
pub(super) const TRUNCATED: &str = "…";

/// What is kept of a request while it is served, for its transaction and for the error events
/// captured during it: already filtered, and cheap to take (handles to the request's own
/// buffers), since most requests never produce an event.
#[derive(Clone, Debug)]
pub(crate) struct RequestInfo {
    method: Method,
    route: &'static str,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    send_pii: bool,
}

impl RequestInfo {
    /// `route`: the template the request matched (or the unmatched label), as the HTTP layer
    /// keeps it for the life of the process.
    pub(crate) fn capture<B>(request: &Request<B>, route: &'static str, send_pii: bool) -> Self {
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                if send_pii {
                    let value = if is_credential(name) {
                        HeaderValue::from_static(FILTERED)
                    } else {
                        value.clone()
                    };
                    Some((name.clone(), value))
                } else {
                    // No harmless header is a credential (a test holds the two lists apart), so
                    // the common case costs a few comparisons, not the secret-name search.
                    let harmless = HARMLESS_HEADERS.contains(&name.as_str());
                    harmless.then(|| (name.clone(), value.clone()))
                }
            })
            .collect();
        RequestInfo {
            method: request.method().clone(),
            route,
            uri: request.uri().clone(),
            headers,
            send_pii,
        }
    }

    pub(crate) fn method(&self) -> &Method {
        &self.method
    }

    /// The route template the request matched, or the unmatched label.
    pub(crate) fn route(&self) -> &'static str {
        self.route
    }

    /// The request as Sentry's protocol has it.
    pub(crate) fn to_protocol(&self) -> sentry::protocol::Request {
        let headers: BTreeMap<String, String> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let value = bounded(&String::from_utf8_lossy(value.as_bytes()));
                (name.as_str().to_owned(), value)
            })
            .collect();
        let host = self
            .headers
            .iter()
            .find(|(name, _)| name == http::header::HOST)
            .and_then(|(_, value)| value.to_str().ok())
            .or_else(|| self.uri.host())
            .unwrap_or("localhost");
        let url = if self.send_pii {
            parse_url(host, self.uri.path())
        } else {
            route_url(host, self.route)
        };
        sentry::protocol::Request {
            url,
            method: Some(bounded(self.method.as_str())),
            // Scrubbed before it is cut, so that a secret's name is seen whole.
            query_string: self
                .uri
                .query()
                .map(|q| bounded(&scrub_query(q, self.send_pii))),
            headers,
            ..Default::default()
        }
    }
}

/// `http://HOST/PATH`, each cut to its bound.
fn parse_url(host: &str, path: &str) -> Option<Url> {
    format!("http://{}{}", bounded(host), bounded(path))
        .parse()
        .ok()
}

thread_local! {
    /// Per route template, the URL this thread made last for it and the host it was for.
    static ROUTE_URLS: RefCell<HashMap<&'static str, (String, Option<Url>)>> =
        RefCell::new(HashMap::new());
}

/// The URL of a request for `route` on `host`, without personal data. It is the same for most
/// requests of a route, and parsing it is the costliest part of a request's data, so each
/// thread keeps the last one per route (as many as the application has route templates).
fn route_url(host: &str, route: &'static str) -> Option<Url> {
    let parse = || match route.starts_with('/') {
        true => parse_url(host, route),
        false => parse_url(host, &format!("/{route}")), // `<unmatched>`
    };
    if host.len() > MAX_REQUEST_VALUE {
        return parse(); // not kept: a client chose it
    }
    let kept = ROUTE_URLS.try_with(|urls| {
        let mut urls = urls.try_borrow_mut().ok()?;
        if let Some((known, url)) = urls.get(route)
            && known == host
        {
            return Some(url.clone());
        }
        let url = parse();
        urls.insert(route, (host.to_owned(), url.clone()));
        Some(url)
    });
    kept.ok().flatten().unwrap_or_else(parse)
}

/// What Sentry gets to know about `request`, matched to `route`.
#[cfg(test)]
pub(super) fn request_data<B>(
    request: &Request<B>,
    route: &'static str,
    send_pii: bool,
) -> sentry::protocol::Request {
    RequestInfo::capture(request, route, send_pii).to_protocol()
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
