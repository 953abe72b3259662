//! W3C `baggage` and the Sentry dynamic sampling context (DSC) it carries: parsing an incoming
//! header within bounds, the DSC a trace started here gets, and the `baggage` and envelope
//! `trace` header a trace's DSC is sent on as.
//!
//! An incoming header is never an error: what does not parse is dropped member by member.
//! Members are kept in order until the 64th, or until one more would take the kept text past
//! 8,192 bytes; that member and all after it are dropped (W3C Baggage's limits, so what is
//! kept can always be sent on). Several `baggage` headers are read as one list, in order.

use std::fmt::Write;

use sentry::protocol::TraceId;

/// Members kept from an incoming header, and sent, at most.
pub(crate) const MAX_MEMBERS: usize = 64;
/// Bytes of members kept from an incoming header, and sent, at most (separators included).
pub(crate) const MAX_BYTES: usize = 8192;

const SENTRY_PREFIX: &str = "sentry-";

/// A trace's dynamic sampling context: its `sentry-` baggage members, fixed when the trace
/// reached this service (or started here) and never changed after.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Dsc {
    /// The members as `baggage` text, as received when they came in.
    members: String,
    /// Each member's name without `sentry-` and its decoded value, in order.
    entries: Vec<(String, String)>,
}

impl Dsc {
    /// `(name without "sentry-", value)`, in order.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The value of `sentry-<name>`, decoded.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A DSC made here, from `(name, value)` pairs in order.
    pub(crate) fn new(entries: Vec<(&'static str, String)>) -> Dsc {
        let mut dsc = Dsc::default();
        for (name, value) in entries {
            if !dsc.members.is_empty() {
                dsc.members.push(',');
            }
            dsc.members.push_str(SENTRY_PREFIX);
            dsc.members.push_str(name);
            dsc.members.push('=');
            percent_encode(&value, &mut dsc.members);
            dsc.entries.push((name.to_owned(), value));
        }
        dsc
    }

    fn count(&self) -> usize {
        self.entries.len()
    }
}

/// What an incoming `baggage` brought: the caller's DSC, when it sent one, and the members of
/// others, to pass on as they came.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct IncomingBaggage {
    /// The `sentry-` members; empty when there were none (or none valid).
    pub(crate) dsc: Dsc,
    /// The other members, comma-separated, each as received (without surrounding spaces).
    pub(crate) others: String,
    /// How many members `others` holds.
    pub(crate) others_count: usize,
}

impl IncomingBaggage {
    /// Reads the values of the request's `baggage` headers, in order.
    pub(crate) fn parse<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> IncomingBaggage {
        let mut baggage = IncomingBaggage::default();
        let mut kept_bytes = 0;
        for value in values {
            for raw in value.split(|&b| b == b',') {
                let raw = trim(raw);
                if raw.is_empty() {
                    continue; // `a=1,,b=2`: tolerated, as an empty member is no member
                }
                let Some(member) = Member::parse(raw) else {
                    continue;
                };
                let count = baggage.dsc.count() + baggage.others_count;
                let separator = usize::from(count > 0);
                if count == MAX_MEMBERS || kept_bytes + separator + raw.len() > MAX_BYTES {
                    return baggage; // that member and all after it are dropped
                }
                if baggage.keep(member) {
                    kept_bytes += separator + raw.len();
                }
            }
        }
        baggage
    }

    /// Keeps one member; `false` when it is dropped (a repeated or undecodable `sentry-`
    /// member: the first of a name is the caller's DSC).
    fn keep(&mut self, member: Member<'_>) -> bool {
        let Some(name) = member.key.strip_prefix(SENTRY_PREFIX) else {
            if !self.others.is_empty() {
                self.others.push(',');
            }
            self.others.push_str(member.raw);
            self.others_count += 1;
            return true;
        };
        if name.is_empty() || self.dsc.get(name).is_some() {
            return false;
        }
        let Some(value) = percent_decode(member.value) else {
            return false;
        };
        if !self.dsc.members.is_empty() {
            self.dsc.members.push(',');
        }
        self.dsc.members.push_str(member.raw);
        self.dsc.entries.push((name.to_owned(), value));
        true
    }
}

/// What this service sends on for a trace: its DSC, then the members of others as they came.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TraceBaggage {
    pub(crate) dsc: Dsc,
    others: String,
    others_count: usize,
}

impl TraceBaggage {
    /// A trace's baggage: `dsc`, and whatever else the request brought in.
    pub(crate) fn new(dsc: Dsc, incoming: Option<IncomingBaggage>) -> TraceBaggage {
        let (others, others_count) = incoming
            .map(|incoming| (incoming.others, incoming.others_count))
            .unwrap_or_default();
        TraceBaggage {
            dsc,
            others,
            others_count,
        }
    }

    /// The outgoing `baggage` value: the DSC, then the other members in order as long as the
    /// whole stays within [`MAX_MEMBERS`] and [`MAX_BYTES`]; `None` when there is nothing.
    pub(crate) fn header(&self) -> Option<String> {
        let mut header = String::with_capacity(self.dsc.members.len() + 1 + self.others.len());
        header.push_str(&self.dsc.members);
        let mut count = self.dsc.count();
        if count + self.others_count <= MAX_MEMBERS
            && header.len() + 1 + self.others.len() <= MAX_BYTES
        {
            if !self.others.is_empty() {
                if !header.is_empty() {
                    header.push(',');
                }
                header.push_str(&self.others);
            }
        } else {
            // Only a DSC made here can push an incoming list over the limits: whole members
            // are dropped from the end then, never cut.
            for member in self.others.split(',') {
                let separator = usize::from(!header.is_empty());
                if count == MAX_MEMBERS || header.len() + separator + member.len() > MAX_BYTES {
                    break;
                }
                if separator == 1 {
                    header.push(',');
                }
                header.push_str(member);
                count += 1;
            }
        }
        (!header.is_empty()).then_some(header)
    }

    /// The envelope header's `trace` object: the DSC's values by name; `None` without a DSC.
    pub(crate) fn envelope_trace(&self) -> Option<serde_json::Value> {
        if self.dsc.entries.is_empty() {
            return None;
        }
        let object = self
            .dsc
            .entries
            .iter()
            .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
            .collect();
        Some(serde_json::Value::Object(object))
    }

    /// Whether the DSC belongs to `trace_id`.
    pub(crate) fn is_of(&self, trace_id: TraceId) -> bool {
        self.dsc
            .get("trace_id")
            .is_some_and(|id| id == trace_id.to_string())
    }
}

/// One list member: `key=value[;properties]`, checked against W3C Baggage's grammar.
struct Member<'a> {
    /// The member as received, without surrounding spaces.
    raw: &'a str,
    key: &'a str,
    value: &'a str,
}

impl<'a> Member<'a> {
    fn parse(raw: &'a [u8]) -> Option<Member<'a>> {
        let raw = std::str::from_utf8(raw).ok()?;
        let mut parts = raw.split(';');
        let (key, value) = key_value(parts.next()?)?;
        let value = value?;
        for property in parts {
            key_value(property)?;
        }
        Some(Member { raw, key, value })
    }
}

/// `key[=value]` with spaces allowed around both and the `=`.
fn key_value(text: &str) -> Option<(&str, Option<&str>)> {
    let (key, value) = match text.split_once('=') {
        Some((key, value)) => (key, Some(value.trim_matches(is_space))),
        None => (text, None),
    };
    let key = key.trim_matches(is_space);
    let is_token = !key.is_empty() && key.bytes().all(is_tchar);
    let is_value = value.is_none_or(|value| value.bytes().all(is_baggage_octet));
    (is_token && is_value).then_some((key, value))
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// W3C Baggage `baggage-octet`: visible ASCII but `"`, `,`, `;` and `\`.
fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// `%XX` decoded; `None` for a bad escape or text that is not UTF-8 once decoded.
fn percent_decode(value: &str) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_owned());
    }
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None; // `from_str_radix` would take `%+1`
            }
            let hex = std::str::from_utf8(hex).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// Appends `value` with every byte that is not a `baggage-octet` (and `%` itself) escaped.
fn percent_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if is_baggage_octet(b) && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests;
