//! The rules by name for what never reaches Sentry: credentials and secrets always, personal
//! data unless `SENTRY_SEND_DEFAULT_PII` allows it. Request data (`request/`) and the fields
//! of log events and spans (`tracing/`) are filtered by the same names, query strings by the
//! names of their parameters.

use http::HeaderName;

/// Headers that carry credentials: never sent, with personal data allowed or not.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];
/// A header or query parameter whose name holds one of these carries a credential too
/// (`X-Auth-Token`, `X-Api-Key`, `sig`, `code` of an OAuth redirect...).
pub(crate) const SECRET_PARAMETERS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "key",
    "auth",
    "session",
    "sig",
    "code",
    "jwt",
    "otp",
    "csrf",
    "xsrf",
    "credential",
];
/// What a filtered value is replaced with.
pub(crate) const FILTERED: &str = "[Filtered]";
/// Whether the header `name` carries a credential.
pub(crate) fn is_credential(name: &HeaderName) -> bool {
    let name = name.as_str(); // always lowercase
    CREDENTIAL_HEADERS.contains(&name) || SECRET_PARAMETERS.iter().any(|s| name.contains(s))
}

/// Words that name personal data when a field (of a log event) is named after one, as a whole
/// word of a `snake_case`, `kebab-case` or dotted name: `user.email`, `client_ip`.
#[cfg(feature = "tracing-subscriber")]
const PERSONAL_WORDS: &[&str] = &[
    "email", "mail", "phone", "ip", "address", "user", "username", "login",
];

/// Whether a field named `name` holds personal data: sent only with `SENTRY_SEND_DEFAULT_PII`.
#[cfg(feature = "tracing-subscriber")]
pub(crate) fn names_personal_data(name: &str) -> bool {
    has_word(name, PERSONAL_WORDS)
}

/// Whether one of `words` (lowercase) is a whole word of the field name `name`, in any case:
/// `snake_case`, `kebab-case` and dotted names, and `camelCase`, where a capital that follows a
/// lowercase letter starts a word (`userEmail`, `clientIP`).
#[cfg(feature = "tracing-subscriber")]
pub(crate) fn has_word(name: &str, words: &[&str]) -> bool {
    let mut spaced = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            spaced.push('_');
        }
        previous_lower = c.is_ascii_lowercase();
        spaced.push(c.to_ascii_lowercase());
    }
    spaced
        .split(['_', '-', '.'])
        .any(|word| words.contains(&word))
}

/// Whether a (decoded, any case) name holds a secret's name.
pub(crate) fn names_a_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMETERS.iter().any(|secret| name.contains(secret))
}

/// Without personal data allowed, every value is replaced: the names tell what the request
/// asked for; with it, only the values of secret-looking names are.
pub(crate) fn scrub_query(query: &str, send_pii: bool) -> String {
    query
        .split('&')
        .map(|pair| {
            let Some((name, _)) = pair.split_once('=') else {
                // A bare item (`?eyJhbGci...`) is a value without a name.
                return if send_pii && !names_a_secret(&percent_decode(pair)) {
                    pair.to_owned()
                } else {
                    FILTERED.to_owned()
                };
            };
            // Names are compared as the application reads them, decoded: `%74oken` is `token`.
            if !send_pii || names_a_secret(&percent_decode(name)) {
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
pub(crate) fn percent_decode(text: &str) -> String {
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
