//! The `/metrics` answer: which format and encoding the scraper asked for, by the q-weights
//! of its `Accept` and `Accept-Encoding` headers, and the response in them.
//!
//! Text 0.0.4 stays the answer unless OpenMetrics is named and weighed at least as high, so
//! a client that names neither (`curl`, `*/*`) keeps getting what it got before. The body is
//! gzipped when asked, as every official Prometheus client does: an exposition is repetitive
//! text, and compresses by an order of magnitude.

use std::io::Write as _;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use http::HeaderValue;
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, VARY};

use super::format::Format;

/// What a scrape asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub(crate) format: Format,
    pub(crate) gzip: bool,
}

/// The format and encoding `headers` ask for.
pub(crate) fn negotiate(headers: &HeaderMap) -> Wanted {
    Wanted {
        format: format_for(&joined(headers, ACCEPT)),
        gzip: gzip_accepted(&joined(headers, ACCEPT_ENCODING)),
    }
}

/// Every value of a header, as one comma-separated list.
fn joined(headers: &HeaderMap, name: http::header::HeaderName) -> String {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    values.join(",")
}

/// One element of an `Accept`-style list: the value, its parameters, and its weight.
struct Element<'a> {
    value: &'a str,
    version: Option<&'a str>,
    q: f32,
}

fn elements(list: &str) -> impl Iterator<Item = Element<'_>> {
    list.split(',').filter_map(|element| {
        let mut parts = element.split(';');
        let value = parts.next()?.trim();
        if value.is_empty() {
            return None;
        }
        let (mut version, mut q) = (None, 1.0);
        for param in parts {
            let Some((key, raw)) = param.split_once('=') else {
                continue;
            };
            let raw = raw.trim().trim_matches('"');
            match key.trim() {
                k if k.eq_ignore_ascii_case("q") => {
                    // A weight that does not parse counts as refusing the value.
                    q = raw.parse::<f32>().map_or(0.0, |q| q.clamp(0.0, 1.0));
                }
                k if k.eq_ignore_ascii_case("version") => version = Some(raw),
                _ => {}
            }
        }
        Some(Element { value, version, q })
    })
}

/// How an `Accept` element matches a media type: 3 by name, 2 by `type/*`, 1 by `*/*`.
fn specificity(range: &str, media: &str) -> u8 {
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    if range.eq_ignore_ascii_case(media) {
        3
    } else if range
        .strip_suffix("/*")
        .is_some_and(|k| k.eq_ignore_ascii_case(kind))
    {
        2
    } else if range == "*/*" {
        1
    } else {
        0
    }
}

/// The weight `accept` gives `media` (the most specific element matching it wins, the highest
/// weight among equally specific ones), and how specifically.
fn weight(accept: &str, media: &str, versions: &[&str]) -> (u8, f32) {
    let mut best = (0, 0.0);
    for element in elements(accept) {
        let mut level = specificity(element.value, media);
        if level == 3 && element.version.is_some_and(|v| !versions.contains(&v)) {
            level = 0; // a version of the format we do not write
        }
        if level > best.0 || (level == best.0 && level > 0 && element.q > best.1) {
            best = (level, element.q);
        }
    }
    best
}

fn format_for(accept: &str) -> Format {
    let (named, openmetrics) = weight(accept, "application/openmetrics-text", &["1.0.0", "0.0.1"]);
    let (text_level, text) = weight(accept, "text/plain", &["0.0.4"]);
    if named == 3 && openmetrics > 0.0 && (text_level == 0 || openmetrics >= text) {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

fn gzip_accepted(accept_encoding: &str) -> bool {
    let mut named = None;
    let mut any = None;
    for element in elements(accept_encoding) {
        if element.value.eq_ignore_ascii_case("gzip")
            || element.value.eq_ignore_ascii_case("x-gzip")
        {
            named = Some(named.map_or(element.q, |q: f32| q.max(element.q)));
        } else if element.value == "*" {
            any = Some(element.q);
        }
    }
    named.or(any).is_some_and(|q| q > 0.0)
}

/// The response carrying `body`, an exposition in `wanted.format`, gzipped if wanted.
pub(crate) fn response(body: String, wanted: Wanted) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(wanted.format.content_type()),
    );
    // Both headers choose the answer: caches must key on them.
    headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if wanted.gzip
        && let Some(compressed) = gzip(body.as_bytes())
    {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return (headers, Body::from(compressed)).into_response();
    }
    (headers, Body::from(body)).into_response()
}

/// `bytes` gzipped at the fastest level: at the others, a large exposition takes several times
/// as long to compress for a few percent less. `None` if compressing failed, and the body is
/// then sent as it is.
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 8), Compression::fast());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS: &str = "application/openmetrics-text;version=1.0.0,\
        application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn openmetrics_is_the_answer_only_when_named_and_weighed_at_least_as_high() {
        for (accept, expected) in [
            (PROMETHEUS, Format::OpenMetrics),
            ("application/openmetrics-text", Format::OpenMetrics),
            (
                "application/openmetrics-text; version=1.0.0",
                Format::OpenMetrics,
            ),
            (
                "text/plain;q=0.5, application/openmetrics-text;q=0.6",
                Format::OpenMetrics,
            ),
            (
                "application/openmetrics-text;q=0.1,text/plain;q=0.9",
                Format::Text,
            ),
            ("application/openmetrics-text;q=0.1,*/*;q=0.9", Format::Text),
            ("application/openmetrics-text;q=0", Format::Text),
            ("application/openmetrics-text;version=2.0.0", Format::Text),
            ("application/openmetrics-text;q=oops", Format::Text),
            ("text/plain;version=0.0.4", Format::Text),
            ("*/*", Format::Text),
            ("application/*", Format::Text),
            ("", Format::Text),
        ] {
            assert_eq!(format_for(accept), expected, "Accept: {accept}");
        }
    }

    #[test]
    fn gzip_when_accepted_with_a_weight_above_zero() {
        for (accept_encoding, expected) in [
            ("gzip", true),
            ("deflate, gzip;q=0.5", true),
            ("br;q=1.0, gzip;q=0.8, *;q=0.1", true),
            ("*", true),
            ("gzip;q=0", false),
            ("gzip;q=0, *", false),
            ("identity", false),
            ("", false),
        ] {
            assert_eq!(
                gzip_accepted(accept_encoding),
                expected,
                "{accept_encoding}"
            );
        }
    }

    #[test]
    fn several_header_lines_are_one_list() {
        let mut headers = HeaderMap::new();
        headers.append(ACCEPT, HeaderValue::from_static("text/plain;q=0.2"));
        headers.append(
            ACCEPT,
            HeaderValue::from_static("application/openmetrics-text"),
        );
        headers.append(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let wanted = negotiate(&headers);
        assert_eq!(
            wanted,
            Wanted {
                format: Format::OpenMetrics,
                gzip: true
            }
        );
    }
}
