//! The rules by name for what never reaches Sentry: credentials and secrets always, personal
//! data unless `SENTRY_SEND_DEFAULT_PII` allows it. Request data (`request/`) and log events
//! (`tracing/`) are filtered by the same names.

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
    // `userEmail` and `clientIP` are words too: split before each capital that follows a
    // lowercase letter.
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
        .any(|word| PERSONAL_WORDS.contains(&word))
}

/// Whether a (decoded, any case) name holds a secret's name.
pub(crate) fn names_a_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMETERS.iter().any(|secret| name.contains(secret))
}
