//! The names Sentry accepts as a release or an environment; it drops events whose release or
//! environment it cannot store, so they are checked at start-up instead.

pub(super) const RELEASE_EXPECTED: &str = "a Sentry release name: at most 200 characters, no control \
     characters, slashes or backslashes, not . or ..";
pub(super) const ENVIRONMENT_EXPECTED: &str =
    "a Sentry environment name: at most 64 characters, no spaces, slashes or control characters";

/// What Sentry accepts as a release; it drops events whose release it cannot store.
pub(crate) fn is_release(name: &str) -> bool {
    name.chars().count() <= 200
        && !matches!(name, "." | "..")
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
}

/// What Sentry accepts as an environment.
pub(crate) fn is_environment(name: &str) -> bool {
    name.chars().count() <= 64
        && name != "None"
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '/')
}
