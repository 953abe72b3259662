//! The incoming trace of a request: `sentry-trace`, else W3C `traceparent`, parsed strictly
//! (a malformed, oversized or repeated header starts a fresh trace instead); and its
//! `baggage`, read within W3C limits (see `sentry/baggage.rs`).

use std::str::FromStr;

use http::HeaderMap;
use sentry::protocol::{SpanId, TraceId};

use crate::sentry::baggage::IncomingBaggage;

/// Longer trace headers are malformed or hostile; they start a fresh trace.
pub(super) const MAX_TRACE_HEADER: usize = 512;

/// Where an incoming request's trace comes from: its ids and, when the caller decided, its
/// sampling decision.
#[derive(Debug, PartialEq)]
pub(super) struct IncomingTrace {
    pub(super) trace_id: TraceId,
    pub(super) parent_span_id: SpanId,
    pub(super) sampled: Option<bool>,
}

/// The trace to continue: `sentry-trace` if valid, else `traceparent` if valid, else none.
/// A header sent more than once is ignored: which of two callers the request continues cannot
/// be told, and W3C Trace Context restarts the trace then.
pub(super) fn incoming_trace(headers: &HeaderMap) -> Option<IncomingTrace> {
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

/// The request's `baggage` headers, read as one list; `None` without any.
pub(super) fn incoming_baggage(headers: &HeaderMap) -> Option<IncomingBaggage> {
    let mut values = headers.get_all("baggage").iter().peekable();
    values.peek()?;
    Some(IncomingBaggage::parse(values.map(|value| value.as_bytes())))
}

/// `TRACE_ID-SPAN_ID[-SAMPLED]`, 32 and 16 lowercase hex digits.
pub(super) fn parse_sentry_trace(value: &str) -> Option<IncomingTrace> {
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
pub(super) fn parse_traceparent(value: &str) -> Option<IncomingTrace> {
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
