//! The one rule for HTTP statuses: a 5xx answer is a failure of the server, counted and
//! reported as an error of kind [`SERVER_ERROR`]; any other status is an answer the server
//! meant to give.

/// The `kind` of a failure that is a 5xx answer.
pub(crate) const SERVER_ERROR: &str = "server_error";

/// Whether answering with `status` is a failure.
#[inline]
pub(crate) fn is_failure(status: u16) -> bool {
    (500..600).contains(&status)
}
