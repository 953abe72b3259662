//! The fields of `tracing` events and spans as JSON values, and the values of them Sentry may
//! have: a field named after a secret or headers is never sent, one named after personal data
//! only with `SENTRY_SEND_DEFAULT_PII`, the query of a URL field (`uri`, `http.url`) loses its
//! values as a request's query does, and every text is cut at 8 KiB.

use std::fmt;

use ::tracing::field::{Field, Visit};
use serde_json::{Map, Value};

use crate::sentry::events;
use crate::sentry::scrub::{FILTERED, has_word, names_a_secret, names_personal_data, scrub_query};

/// Fields as JSON values, by name.
#[derive(Default)]
pub(super) struct FieldMap(pub(super) Map<String, Value>);

impl FieldMap {
    fn put(&mut self, field: &Field, value: impl Into<Value>) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl Visit for FieldMap {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

/// What Sentry may have of the field `name`'s `value`, with personal data allowed (`pii`) or
/// not.
pub(super) fn for_sentry(name: &str, value: Value, pii: bool) -> Value {
    if names_a_secret(name) || names_headers(name) || (!pii && names_personal_data(name)) {
        return FILTERED.into();
    }
    match value {
        Value::String(text) if names_a_url(name) => match text.split_once('?') {
            Some((before, query)) => {
                events::bounded(&format!("{before}?{}", scrub_query(query, pii))).into()
            }
            None => events::bounded(&text).into(),
        },
        // A `Debug` of a whole request fits in an event, not more.
        Value::String(text) => events::bounded(&text).into(),
        other => other,
    }
}

/// `headers`, `request_headers`, `http.header`: the `Debug` text of a header map carries
/// `authorization` and `cookie` values (tower-http's `DefaultMakeSpan::include_headers`).
fn names_headers(name: &str) -> bool {
    has_word(name, &["header", "headers"])
}

/// `uri`, `url`, `http.url`, `request_uri`: a word of the name is `uri` or `url`.
fn names_a_url(name: &str) -> bool {
    has_word(name, &["uri", "url"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_personal_data_and_url_queries() {
        let text = |value: &str| Value::from(value);
        assert_eq!(for_sentry("api_key", text("k"), true), FILTERED);
        assert_eq!(for_sentry("user.email", text("a@b.c"), false), FILTERED);
        assert_eq!(for_sentry("user.email", text("a@b.c"), true), "a@b.c");
        assert_eq!(
            for_sentry("uri", text("/calls/7?token=abc&page=2"), false),
            "/calls/7?token=[Filtered]&page=[Filtered]"
        );
        assert_eq!(
            for_sentry("http.url", text("/calls/7?token=abc&page=2"), true),
            "/calls/7?token=[Filtered]&page=2"
        );
        assert_eq!(for_sentry("curious", text("a?b=c"), false), "a?b=c");
        let headers = text(r#"{"authorization": "Bearer x", "host": "a"}"#);
        assert_eq!(for_sentry("headers", headers.clone(), true), FILTERED);
        assert_eq!(for_sentry("request_headers", headers, true), FILTERED);
        assert_eq!(for_sentry("count", Value::from(3), false), 3);
        let long = "x".repeat(20_000);
        let cut = for_sentry("body", text(&long), false);
        assert!(cut.as_str().unwrap().len() < 9_000, "cut at 8 KiB");
    }
}
