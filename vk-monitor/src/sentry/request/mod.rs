//! Sentry transactions for HTTP requests: one `http.server` transaction per sampled request,
//! named `METHOD /route/{template}`, continuing an incoming trace from `sentry-trace` or W3C
//! `traceparent`, with request data that carries no personal data by default.
//!
//! The sampling decision comes first, from the incoming header or a random draw; a request
//! sampled out touches nothing of the SDK.

use std::str::FromStr;

use http::{HeaderMap, Method, Request};
use sentry::TransactionContext;
use sentry::protocol::{Event, Level, SpanId, SpanStatus, TraceId};

use crate::http_metrics;
use crate::spans::{self, Traced};

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
const SECRET_PARAMETERS: &[&str] = &["token", "password", "secret", "key", "auth"];
const FILTERED: &str = "[Filtered]";
/// Longer trace headers are malformed or hostile; they start a fresh trace.
const MAX_TRACE_HEADER: usize = 512;
/// Longer header values, query strings, paths and hosts are cut there for Sentry.
const MAX_REQUEST_VALUE: usize = 1024;
/// Ends a value that was cut.
const TRUNCATED: &str = "…";

/// Where an incoming request's trace comes from: its ids and, when the caller decided, its
/// sampling decision.
#[derive(Debug, PartialEq)]
struct IncomingTrace {
    trace_id: TraceId,
    parent_span_id: SpanId,
    sampled: Option<bool>,
}

/// A transaction for `request`, if it is sampled in.
pub(crate) fn start<B>(request: &Request<B>, route: &str) -> Option<Traced> {
    let incoming = incoming_trace(request.headers());
    let sampled = match incoming.as_ref().and_then(|trace| trace.sampled) {
        Some(decided) => decided,
        None => {
            let rate = spans::traces_rate();
            rate > 0.0 && fastrand::f32() < rate
        }
    };
    if !sampled {
        return None;
    }
    let name = transaction_name(request.method(), route);
    let mut context = match &incoming {
        Some(trace) => TransactionContext::new_with_details(
            &name,
            "http.server",
            trace.trace_id,
            None,
            Some(trace.parent_span_id),
        ),
        None => TransactionContext::new(&name, "http.server"),
    };
    context.set_sampled(Some(true));
    let traced = spans::start_transaction(context);
    traced
        .span
        .set_request(request_data(request, spans::send_pii()));
    Some(traced)
}

/// `METHOD /route/{template}`. Methods outside the standard set are `OTHER`, as in the
/// metrics: a client can send any token as a method, and each would name a transaction.
fn transaction_name(method: &Method, route: &str) -> String {
    format!("{} {route}", http_metrics::method_name(method))
}

/// Ends the request's transaction with its status; a 5xx answer that produced no error event
/// is captured as one.
pub(crate) fn finish(traced: Traced, status: u16, hub: &sentry::Hub, error_reported: bool) {
    traced.span.set_status(span_status(status));
    traced
        .span
        .set_data("http.response.status_code", status.into());
    if status >= 500 && !error_reported {
        let mut event = Event {
            level: Level::Error,
            message: Some(format!("the request was answered with status {status}")),
            ..Event::default()
        };
        event
            .tags
            .insert("http.status_code".into(), status.to_string());
        spans::capture_in_trace(event, Some(&traced), hub);
    }
    traced.span.finish();
}

fn span_status(status: u16) -> SpanStatus {
    match status {
        100..=399 => SpanStatus::Ok,
        400 => SpanStatus::InvalidArgument,
        401 => SpanStatus::Unauthenticated,
        403 => SpanStatus::PermissionDenied,
        404 => SpanStatus::NotFound,
        409 => SpanStatus::AlreadyExists,
        429 => SpanStatus::ResourceExhausted,
        499 => SpanStatus::Cancelled,
        402 | 405..=408 | 410..=428 | 430..=498 => SpanStatus::FailedPrecondition,
        501 => SpanStatus::Unimplemented,
        503 => SpanStatus::Unavailable,
        504 => SpanStatus::DeadlineExceeded,
        _ => SpanStatus::InternalError,
    }
}

/// The trace to continue: `sentry-trace` if valid, else `traceparent` if valid, else none.
/// A header sent more than once is ignored: which of two callers the request continues cannot
/// be told, and W3C Trace Context restarts the trace then.
fn incoming_trace(headers: &HeaderMap) -> Option<IncomingTrace> {
    let header = |name: &str| {
        let mut values = headers.get_all(name).iter();
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        value.to_str().ok().filter(|v| v.len() <= MAX_TRACE_HEADER)
    };
    header("sentry-trace")
        .and_then(parse_sentry_trace)
        .or_else(|| header("traceparent").and_then(parse_traceparent))
}

/// `TRACE_ID-SPAN_ID[-SAMPLED]`, 32 and 16 lowercase hex digits.
fn parse_sentry_trace(value: &str) -> Option<IncomingTrace> {
    let mut parts = value.trim().split('-');
    let (trace_id, parent_span_id) = ids(parts.next()?, parts.next()?)?;
    let sampled = match parts.next() {
        None => None,
        Some("1") => Some(true),
        Some("0") => Some(false),
        Some(_) => return None,
    };
    parts.next().is_none().then_some(IncomingTrace {
        trace_id,
        parent_span_id,
        sampled,
    })
}

/// W3C `VERSION-TRACE_ID-PARENT_ID-FLAGS`; the low flag bit is "sampled".
fn parse_traceparent(value: &str) -> Option<IncomingTrace> {
    let mut parts = value.trim().split('-');
    let version = parts.next()?;
    if version.len() != 2 || version == "ff" || !is_hex(version) {
        return None;
    }
    let (trace_id, parent_span_id) = ids(parts.next()?, parts.next()?)?;
    let flags = parts.next().filter(|f| f.len() == 2 && is_hex(f))?;
    let sampled = u8::from_str_radix(flags, 16).ok()? & 1 == 1;
    // Version 00 has exactly four parts; later versions may append more.
    if version == "00" && parts.next().is_some() {
        return None;
    }
    Some(IncomingTrace {
        trace_id,
        parent_span_id,
        sampled: Some(sampled),
    })
}

fn ids(trace: &str, span: &str) -> Option<(TraceId, SpanId)> {
    let valid =
        |id: &str, len: usize| id.len() == len && is_hex(id) && id.bytes().any(|b| b != b'0');
    if !valid(trace, 32) || !valid(span, 16) {
        return None;
    }
    Some((TraceId::from_str(trace).ok()?, SpanId::from_str(span).ok()?))
}

fn is_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What Sentry gets to know about the request. Without PII: no credentials, no cookies, no
/// client address. With PII, credentials are still scrubbed. Secret-looking query parameters
/// are scrubbed either way.
fn request_data<B>(request: &Request<B>, send_pii: bool) -> sentry::protocol::Request {
    let mut headers = std::collections::BTreeMap::new();
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
fn bounded(text: &str) -> String {
    if text.len() <= MAX_REQUEST_VALUE {
        return text.to_owned();
    }
    let mut end = MAX_REQUEST_VALUE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED}", &text[..end])
}

fn scrub_query(query: &str) -> String {
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
fn percent_decode(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "771a43a4192642f0b136d5159a501700";
    const SPAN: &str = "b7ad6b7169203331";

    #[test]
    fn sentry_trace_headers_are_parsed_strictly() {
        let parsed = parse_sentry_trace(&format!("{TRACE}-{SPAN}-1")).unwrap();
        assert_eq!(parsed.trace_id.to_string(), TRACE);
        assert_eq!(parsed.parent_span_id.to_string(), SPAN);
        assert_eq!(parsed.sampled, Some(true));
        assert_eq!(
            parse_sentry_trace(&format!("{TRACE}-{SPAN}"))
                .unwrap()
                .sampled,
            None
        );
        assert_eq!(
            parse_sentry_trace(&format!("{TRACE}-{SPAN}-0"))
                .unwrap()
                .sampled,
            Some(false)
        );
        for bad in [
            "",
            "garbage",
            &format!("{TRACE}-{SPAN}-2"),
            &format!("{TRACE}-{SPAN}-1-extra"),
            &format!("{}-{SPAN}-1", &TRACE[1..]),
            &format!("{}-{SPAN}-1", TRACE.to_uppercase()),
            &format!("{}-{SPAN}-1", "0".repeat(32)),
            &format!("{TRACE}-zzzzzzzzzzzzzzzz-1"),
        ] {
            assert_eq!(parse_sentry_trace(bad), None, "{bad}");
        }
    }

    #[test]
    fn traceparent_headers_are_parsed_strictly() {
        let parsed = parse_traceparent(&format!("00-{TRACE}-{SPAN}-01")).unwrap();
        assert_eq!(
            (parsed.trace_id.to_string(), parsed.sampled),
            (TRACE.to_owned(), Some(true))
        );
        assert_eq!(
            parse_traceparent(&format!("00-{TRACE}-{SPAN}-00"))
                .unwrap()
                .sampled,
            Some(false)
        );
        for bad in [
            format!("ff-{TRACE}-{SPAN}-01"),
            format!("00-{TRACE}-{SPAN}-01-extra"),
            format!("00-{TRACE}-{SPAN}"),
            format!("00-{TRACE}-{SPAN}-0g"),
            "x".repeat(100),
        ] {
            assert_eq!(parse_traceparent(&bad), None, "{bad}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            format!("00-{TRACE}-{}-01", "a".repeat(MAX_TRACE_HEADER))
                .parse()
                .unwrap(),
        );
        assert_eq!(incoming_trace(&headers), None, "oversized");
    }

    #[test]
    fn long_request_values_are_cut_for_sentry() {
        let long = "é".repeat(MAX_REQUEST_VALUE);
        let request = Request::builder()
            .uri(format!(
                "/calls/{}?q={}&token=x",
                "a".repeat(5000),
                "b".repeat(5000)
            ))
            .header("host", "h".repeat(5000))
            .header("baggage", "c".repeat(64 * 1024))
            .header("user-agent", &long)
            .body(())
            .unwrap();
        let data = request_data(&request, false);
        let cut = |c: &str| c.repeat(MAX_REQUEST_VALUE) + TRUNCATED;
        assert_eq!(data.headers["baggage"], cut("c"));
        assert_eq!(
            data.headers["user-agent"],
            "é".repeat(MAX_REQUEST_VALUE / 2) + TRUNCATED,
            "cut between characters"
        );
        let query = data.query_string.unwrap();
        assert_eq!(
            query,
            format!("q={}", "b".repeat(MAX_REQUEST_VALUE - 2)) + TRUNCATED
        );
        let url = data.url.map(String::from).unwrap_or_default();
        assert!(url.len() < 3 * MAX_REQUEST_VALUE, "{} bytes", url.len());
        let request = Request::builder()
            .uri(format!("/calls/{}", "a".repeat(5000)))
            .header("host", "api.example.com")
            .body(())
            .unwrap();
        let url = request_data(&request, false).url.unwrap();
        let path = format!("/calls/{}%E2%80%A6", "a".repeat(MAX_REQUEST_VALUE - 7));
        assert_eq!(url.path(), path);
        assert_eq!(
            bounded(&long[..MAX_REQUEST_VALUE]),
            long[..MAX_REQUEST_VALUE]
        );
    }

    #[test]
    fn transactions_of_unknown_methods_are_named_other() {
        let made_up = Method::from_bytes("X".repeat(4096).as_bytes()).unwrap();
        assert_eq!(
            transaction_name(&made_up, "/calls/{id}"),
            "OTHER /calls/{id}"
        );
        assert_eq!(
            transaction_name(&Method::PATCH, "/calls/{id}"),
            "PATCH /calls/{id}"
        );
    }

    #[test]
    fn a_trace_header_sent_twice_is_not_continued() {
        let mut headers = HeaderMap::new();
        let valid = format!("{TRACE}-{SPAN}-1");
        headers.append("sentry-trace", valid.parse().unwrap());
        headers.append("sentry-trace", "garbage".parse().unwrap());
        assert_eq!(incoming_trace(&headers), None);
        headers.append(
            "traceparent",
            format!("00-{TRACE}-{SPAN}-01").parse().unwrap(),
        );
        assert!(
            incoming_trace(&headers).is_some(),
            "the other header still counts"
        );
        headers.append("traceparent", "00-garbage".parse().unwrap());
        assert_eq!(incoming_trace(&headers), None);
    }

    #[test]
    fn percent_encoded_secret_names_are_scrubbed() {
        assert_eq!(
            scrub_query("%74oken=abc&PASS%77ORD=p&page=2&%zz=1&x%=2&api+key=k"),
            "%74oken=[Filtered]&PASS%77ORD=[Filtered]&page=2&%zz=1&x%=2&api+key=[Filtered]"
        );
        assert_eq!(percent_decode("%E2%82%AC+%ff%"), "€ \u{fffd}%");
    }

    #[test]
    fn personal_data_stays_out_unless_allowed_and_credentials_always() {
        let request = Request::builder()
            .method("POST")
            .uri("/calls/7?token=abc&page=2&api_key=k")
            .header("host", "api.example.com")
            .header("authorization", "Bearer secret")
            .header("cookie", "session=s")
            .header("x-forwarded-for", "203.0.113.9")
            .header("user-agent", "curl/8")
            .body(())
            .unwrap();
        let private = request_data(&request, false);
        assert_eq!(
            private.url.as_ref().map(|u| u.as_str()),
            Some("http://api.example.com/calls/7")
        );
        assert_eq!(
            private.query_string.as_deref(),
            Some("token=[Filtered]&page=2&api_key=[Filtered]")
        );
        assert_eq!(
            private.headers.keys().collect::<Vec<_>>(),
            ["host", "user-agent"]
        );
        let with_pii = request_data(&request, true);
        assert_eq!(
            with_pii.headers.get("authorization").map(String::as_str),
            Some(FILTERED)
        );
        assert_eq!(
            with_pii.headers.get("cookie").map(String::as_str),
            Some(FILTERED)
        );
        assert_eq!(
            with_pii.headers.get("x-forwarded-for").map(String::as_str),
            Some("203.0.113.9")
        );
        assert_eq!(
            with_pii.query_string, private.query_string,
            "secrets are scrubbed either way"
        );
    }
}

#[cfg(test)]
mod properties {
    use http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A trace id and a span id, neither all zeros (the zero ids are invalid).
    fn ids() -> impl Strategy<Value = ([u8; 16], [u8; 8])> {
        (any::<[u8; 16]>(), any::<[u8; 8]>())
            .prop_filter("zero ids are invalid", |(trace, span)| {
                trace.iter().any(|&b| b != 0) && span.iter().any(|&b| b != 0)
            })
    }

    fn sentry_trace(trace: &[u8], span: &[u8], sampled: Option<bool>) -> String {
        let flag = match sampled {
            None => "",
            Some(true) => "-1",
            Some(false) => "-0",
        };
        format!("{}-{}{flag}", hex(trace), hex(span))
    }

    /// Text that is not whitespace alone: appended to a valid header it must make it invalid.
    fn garbage() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[-0-9a-f]{1,40}",
            Just("-".to_owned()),
            Just("-1".to_owned()),
            Just(",".to_owned()),
            Just("\u{0}".to_owned()),
        ]
        .prop_filter("not whitespace alone", |g| !g.trim().is_empty())
    }

    fn assert_ids(parsed: &IncomingTrace, trace: &[u8], span: &[u8]) -> Result<(), TestCaseError> {
        prop_assert_eq!(parsed.trace_id.to_string(), hex(trace));
        prop_assert_eq!(parsed.parent_span_id.to_string(), hex(span));
        Ok(())
    }

    proptest! {
        #[test]
        fn parsers_take_any_text_without_panicking(text in any::<String>()) {
            let _ = parse_sentry_trace(&text);
            let _ = parse_traceparent(&text);
            prop_assert_eq!(scrub_query(&text).split('&').count(), text.split('&').count());
        }

        #[test]
        fn near_valid_text_is_parsed_without_panicking(
            text in "[-0-9a-fA-F \t]{0,80}",
        ) {
            let _ = parse_sentry_trace(&text);
            let _ = parse_traceparent(&text);
        }

        #[test]
        fn sentry_trace_round_trips((trace, span) in ids(), sampled in any::<Option<bool>>()) {
            let parsed = parse_sentry_trace(&sentry_trace(&trace, &span, sampled)).unwrap();
            assert_ids(&parsed, &trace, &span)?;
            prop_assert_eq!(parsed.sampled, sampled);
        }

        #[test]
        fn traceparent_round_trips(
            (trace, span) in ids(),
            version in (0u8..=0xfe),
            flags in any::<u8>(),
            future in "(-[0-9a-z]{0,8}){0,3}",
        ) {
            // Versions after 00 may carry more fields, which are skipped.
            let future = if version == 0 { String::new() } else { future };
            let header = format!("{version:02x}-{}-{}-{flags:02x}{future}", hex(&trace), hex(&span));
            let parsed = parse_traceparent(&header).unwrap();
            assert_ids(&parsed, &trace, &span)?;
            prop_assert_eq!(parsed.sampled, Some(flags & 1 == 1));
        }

        #[test]
        fn a_valid_header_followed_by_garbage_is_rejected(
            (trace, span) in ids(),
            sampled in any::<Option<bool>>(),
            garbage in garbage(),
        ) {
            // Without a sampled flag, "-1" and "-0" complete the header instead.
            prop_assume!(sampled.is_some() || !["-1", "-0"].contains(&garbage.trim_end()));
            let header = sentry_trace(&trace, &span, sampled) + &garbage;
            prop_assert_eq!(parse_sentry_trace(&header), None, "{}", header);
            let header = format!("00-{}-{}-01{garbage}", hex(&trace), hex(&span));
            prop_assert_eq!(parse_traceparent(&header), None, "{}", header);
        }

        #[test]
        fn truncated_and_uppercase_headers_are_rejected(
            (trace, span) in ids(),
            cut in any::<prop::sample::Index>(),
        ) {
            let full = sentry_trace(&trace, &span, Some(true));
            let cut = cut.index(full.len());
            // Trace and span ids alone, without the flag, are a complete header.
            if cut != 49 {
                prop_assert_eq!(parse_sentry_trace(&full[..cut]), None, "{}", &full[..cut]);
            }
            let full = format!("00-{}-{}-01", hex(&trace), hex(&span));
            prop_assert_eq!(parse_traceparent(&full[..cut]), None, "{}", &full[..cut]);
            let upper = full.to_uppercase();
            prop_assume!(upper != full);
            prop_assert_eq!(parse_traceparent(&upper), None, "{}", upper);
        }

        #[test]
        fn arbitrary_header_bytes_start_no_trace_unless_valid(
            values in prop::collection::vec(
                (
                    prop::sample::select(vec!["sentry-trace", "traceparent", "baggage"]),
                    prop_oneof![
                        prop::collection::vec(any::<u8>(), 0..100),
                        "[-0-9a-f]{0,60}".prop_map(String::into_bytes),
                    ],
                ),
                0..4,
            ),
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in &values {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    headers.append(*name, value);
                }
            }
            if let Some(trace) = incoming_trace(&headers) {
                let parsed_alone = ["sentry-trace", "traceparent"].iter().any(|name| {
                    let mut values = headers.get_all(*name).iter();
                    let value = values.next().and_then(|v| v.to_str().ok());
                    values.next().is_none()
                        && value.and_then(|v| parse_sentry_trace(v).or_else(|| parse_traceparent(v)))
                            == Some(IncomingTrace { ..trace })
                });
                prop_assert!(parsed_alone, "{:?} from {:?}", trace, headers);
            }
        }

        #[test]
        fn a_repeated_trace_header_is_ignored(
            (trace, span) in ids(),
            (other_trace, other_span) in ids(),
            name in prop::sample::select(vec!["sentry-trace", "traceparent"]),
        ) {
            let header = |trace: &[u8], span: &[u8]| {
                let value = if name == "sentry-trace" {
                    sentry_trace(trace, span, Some(true))
                } else {
                    format!("00-{}-{}-01", hex(trace), hex(span))
                };
                HeaderValue::from_str(&value).unwrap()
            };
            let mut headers = HeaderMap::new();
            headers.append(name, header(&trace, &span));
            prop_assert!(incoming_trace(&headers).is_some());
            // Which of two callers to believe cannot be told: neither is continued.
            headers.append(name, header(&other_trace, &other_span));
            prop_assert_eq!(incoming_trace(&headers), None);
        }
    }

    /// A parameter name holding a secret's name, spelled with random case and random
    /// percent-escapes, as a client may send it.
    fn secret_name() -> impl Strategy<Value = String> {
        (
            prop::sample::select(SECRET_PARAMETERS.to_vec()),
            "[a-z_]{0,4}",
            "[a-z_]{0,4}",
        )
            .prop_flat_map(|(secret, prefix, suffix)| {
                let name = format!("{prefix}{secret}{suffix}");
                let spellings = (any::<bool>(), any::<bool>(), any::<bool>());
                prop::collection::vec(spellings, name.len()).prop_map(move |spellings| {
                    name.bytes()
                        .zip(spellings)
                        .map(|(byte, (upper, escape, lower_hex))| {
                            let byte = if upper {
                                byte.to_ascii_uppercase()
                            } else {
                                byte
                            };
                            match (escape, lower_hex) {
                                (false, _) => char::from(byte).to_string(),
                                (true, false) => format!("%{byte:02X}"),
                                (true, true) => format!("%{byte:02x}"),
                            }
                        })
                        .collect::<String>()
                })
            })
    }

    /// Text from a few characters to over 64 KiB, in ASCII or not.
    fn long_text(alphabet: &'static str, max_units: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::string::string_regex(&format!("{alphabet}{{0,40}}")).unwrap(),
            (
                proptest::string::string_regex(&format!("{alphabet}{{1,3}}")).unwrap(),
                1usize..max_units
            )
                .prop_map(|(unit, times)| unit.repeat(times)),
        ]
    }

    proptest! {
        #[test]
        fn request_data_is_bounded_whatever_the_request(
            values in prop::collection::vec(
                (
                    prop::sample::select(vec!["host", "baggage", "user-agent", "x-custom"]),
                    long_text("[ -~\u{80}-\u{10ffff}]", 70_000),
                ),
                0..4,
            ),
            path in long_text("[a-z0-9/%é{}]", 10_000),
            query in proptest::option::of(long_text("[a-z0-9=&%é]", 10_000)),
            method in long_text("[A-Z]", 70_000),
        ) {
            let uri = format!("/{path}{}", query.map(|q| format!("?{q}")).unwrap_or_default());
            let Ok(method) = Method::from_bytes(method.as_bytes()) else {
                return Err(TestCaseError::reject("not a method"));
            };
            let Ok(mut request) = Request::builder().method(method).uri(uri).body(()) else {
                return Err(TestCaseError::reject("longer than a URI can be"));
            };
            for (name, value) in values {
                // Header values are bytes; obs-text is how non-ASCII arrives.
                let bytes: Vec<u8> = value.chars().map(|c| c as u32 as u8).collect();
                if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                    request.headers_mut().append(name, value);
                }
            }
            for send_pii in [false, true] {
                let data = request_data(&request, send_pii);
                let bound = MAX_REQUEST_VALUE + TRUNCATED.len();
                for (name, value) in &data.headers {
                    prop_assert!(value.len() <= bound, "{}: {} bytes", name, value.len());
                }
                let query = data.query_string.as_deref().unwrap_or_default();
                prop_assert!(query.len() <= bound, "query: {} bytes", query.len());
                let method = data.method.as_deref().unwrap_or_default();
                prop_assert!(method.len() <= bound, "method: {} bytes", method.len());
                // Percent-encoding may triple host and path.
                let url = data.url.as_ref().map_or("", |url| url.as_str());
                prop_assert!(url.len() <= 6 * bound + 16, "url: {} bytes", url.len());
            }
        }

        #[test]
        fn secret_parameters_never_keep_their_values(
            name in secret_name(),
            value in "[A-Z][A-Za-z0-9]{15}",
            others in prop::collection::vec("[a-z0-9_]{0,8}(=[a-z0-9]{0,8})?", 0..4),
            position in any::<prop::sample::Index>(),
        ) {
            let mut pairs = others.clone();
            let position = position.index(pairs.len() + 1);
            pairs.insert(position, format!("{name}={value}"));
            let query = pairs.join("&");
            let scrubbed = scrub_query(&query);
            prop_assert!(!scrubbed.contains(&value), "{} -> {}", query, scrubbed);
            let mut scrubbed: Vec<&str> = scrubbed.split('&').collect();
            prop_assert_eq!(scrubbed.remove(position), format!("{name}={FILTERED}"));
            prop_assert_eq!(scrubbed.len(), others.len());
            for (before, after) in others.iter().zip(scrubbed) {
                if !SECRET_PARAMETERS.iter().any(|secret| before.contains(secret)) {
                    prop_assert_eq!(before, after, "other parameters are kept");
                }
            }
        }
    }
}
