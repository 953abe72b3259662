use http::{HeaderMap, HeaderValue, Method, Request};
use proptest::prelude::*;

use super::data::*;
use super::trace_headers::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A trace id and a span id, neither all zeros (the zero ids are invalid).
fn ids() -> impl Strategy<Value = ([u8; 16], [u8; 8])> {
    (any::<[u8; 16]>(), any::<[u8; 8]>()).prop_filter("zero ids are invalid", |(trace, span)| {
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
        prop_assert_eq!(scrub_query(&text, true).split('&').count(), text.split('&').count());
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
            let data = request_data(&request, "/{path}", send_pii);
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
        let scrubbed = scrub_query(&query, true);
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
