use http::{HeaderMap, Method, Request};

use super::data::*;
use super::trace_headers::*;
use super::transaction_name;
use crate::sentry::scrub::percent_decode;

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
    let data = request_data(&request, "/calls/{id}", true);
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
    let url = request_data(&request, "/calls/{id}", true).url.unwrap();
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
        scrub_query("%74oken=abc&PASS%77ORD=p&page=2&%zz=1&x%=2&api+key=k", true),
        "%74oken=[Filtered]&PASS%77ORD=[Filtered]&page=2&%zz=1&x%=2&api+key=[Filtered]"
    );
    assert_eq!(
        scrub_query("page=2&eyJhbGciOi&q=a%3Db", false),
        "page=[Filtered]&[Filtered]&q=[Filtered]",
        "without personal data allowed, names only; a bare item is a value"
    );
    assert_eq!(scrub_query("flag&tok%65n", true), "flag&[Filtered]");
    assert_eq!(percent_decode("%E2%82%AC+%ff%"), "€ \u{fffd}%");
}

#[test]
fn only_harmless_request_data_is_sent_by_default_and_credentials_never() {
    // What an audit found reaching Sentry with default settings, and more.
    let request = Request::builder()
        .method("POST")
        .uri("/calls/ada@example.com/transcript?code=oauth-code&sig=abc&page=2&token=t")
        .header("host", "api.example.com")
        .header("authorization", "Bearer secret")
        .header("cookie", "session=s")
        .header("x-auth-token", "tok")
        .header("x-api-key", "k")
        .header("x-forwarded-email", "ada@example.com")
        .header("true-client-ip", "203.0.113.9")
        .header("x-forwarded-for", "203.0.113.9")
        .header("user-agent", "curl/8")
        .header("content-type", "application/json")
        .header("accept", "*/*")
        .body(())
        .unwrap();
    let private = request_data(&request, "/calls/{id}/transcript", false);
    assert_eq!(
        private.url.as_ref().map(|u| u.as_str()),
        Some("http://api.example.com/calls/%7Bid%7D/transcript"),
        "the route template, not the path"
    );
    assert_eq!(
        private.query_string.as_deref(),
        Some("code=[Filtered]&sig=[Filtered]&page=[Filtered]&token=[Filtered]")
    );
    assert_eq!(
        private.headers.keys().collect::<Vec<_>>(),
        ["accept", "content-type", "host", "user-agent"]
    );

    let with_pii = request_data(&request, "/calls/{id}/transcript", true);
    assert_eq!(
        with_pii.url.as_ref().map(|u| u.path()),
        Some("/calls/ada@example.com/transcript")
    );
    for credential in ["authorization", "cookie", "x-auth-token", "x-api-key"] {
        assert_eq!(
            with_pii.headers.get(credential).map(String::as_str),
            Some(FILTERED),
            "{credential}"
        );
    }
    for personal in ["x-forwarded-email", "true-client-ip", "x-forwarded-for"] {
        assert!(with_pii.headers.contains_key(personal), "{personal}");
    }
    assert_eq!(
        with_pii.query_string.as_deref(),
        Some("code=[Filtered]&sig=[Filtered]&page=2&token=[Filtered]"),
        "secrets are scrubbed either way"
    );
    let sent = format!("{private:?}{with_pii:?}");
    for secret in [
        "Bearer secret",
        "session=s",
        "tok\"",
        "oauth-code",
        "sig=abc",
    ] {
        assert!(!sent.contains(secret), "{secret} reached Sentry");
    }
}

#[test]
fn events_are_described_with_the_request_served_on_their_thread_only() {
    use std::sync::Arc;

    use sentry::protocol::Event;

    use super::{describe, enter};

    let request = |path: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", "pod:3000")
            .body(())
            .unwrap()
    };
    let outer = Arc::new(RequestInfo::capture(
        &request("/calls/7"),
        "/calls/{id}",
        false,
    ));
    let inner = Arc::new(RequestInfo::capture(
        &request("/users/1"),
        "/users/{id}",
        false,
    ));
    let described = || {
        let mut event = Event::new();
        describe(&mut event);
        let url = event.request.and_then(|request| request.url);
        (event.transaction, url.map(|url| url.to_string()))
    };

    assert_eq!(described(), (None, None), "outside a request");
    {
        let _outer = enter(&outer);
        let in_outer = (
            Some("POST /calls/{id}".to_owned()),
            Some("http://pod:3000/calls/%7Bid%7D".to_owned()),
        );
        assert_eq!(described(), in_outer);
        {
            let _inner = enter(&inner);
            assert_eq!(described().0.as_deref(), Some("POST /users/{id}"));
        }
        assert_eq!(described(), in_outer, "the outer request again");

        let mut named = Event::new();
        named.transaction = Some("own name".into());
        describe(&mut named);
        assert_eq!(named.transaction.as_deref(), Some("own name"));
        assert!(named.request.is_some());
    }
    assert_eq!(described(), (None, None), "the request has ended");
    // Another thread never sees this thread's request.
    let _outer = enter(&outer);
    let elsewhere = std::thread::spawn(move || {
        let mut event = Event::new();
        describe(&mut event);
        event.transaction
    });
    assert_eq!(elsewhere.join().unwrap(), None);
}

#[test]
fn no_harmless_header_is_a_credential() {
    // Without personal data allowed, a header is sent when it is on the harmless list alone.
    for &name in HARMLESS_HEADERS {
        let header = http::HeaderName::from_static(name);
        assert!(!is_credential(&header), "{name}");
    }
    assert!(is_credential(&http::HeaderName::from_static(
        "x-auth-token"
    )));
}
