//! The errors of outgoing calls: the layer's own, and what kind of transport failure an error
//! is, read from its chain of sources (the `kind` label of `http_client_errors_total`).

use std::error::Error;
use std::io;

/// The error of a [`ClientService`](super::ClientService): the inner service's, boxed, or
/// [`TimedOut`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error of a request that [`ClientLayer::timeout`](super::ClientLayer::timeout) ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimedOut;

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request timed out")
    }
}

impl std::error::Error for TimedOut {}

/// Why an outgoing request got no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No connection: refused, aborted, unreachable (and, through reqwest, a DNS failure).
    Connect,
    /// A timeout ended the request: the client's own, or the layer's ([`ClientLayer::timeout`]).
    ///
    /// [`ClientLayer::timeout`]: super::ClientLayer::timeout
    Timeout,
    /// Sending the request body or decoding the response failed.
    Body,
    /// Anything else: a protocol error, a connection closed mid-answer, a middleware's error.
    Other,
}

impl ErrorKind {
    /// Every kind, in label order.
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Body,
        ErrorKind::Other,
    ];

    /// The `kind` label: `connect`, `timeout`, `body` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Body => "body",
            ErrorKind::Other => "other",
        }
    }

    /// The kind of `error`: the first source in its chain that tells.
    pub fn of(error: &(dyn Error + 'static)) -> ErrorKind {
        let mut next = Some(error);
        // A chain is short; the bound keeps a cyclic `source()` from looping.
        for _ in 0..32 {
            let Some(error) = next else { break };
            if let Some(kind) = one(error) {
                return kind;
            }
            next = error.source();
        }
        ErrorKind::Other
    }
}

fn one(error: &(dyn Error + 'static)) -> Option<ErrorKind> {
    if error.is::<TimedOut>() || error.is::<tokio::time::error::Elapsed>() {
        return Some(ErrorKind::Timeout);
    }
    if let Some(error) = error.downcast_ref::<::reqwest::Error>() {
        // A connect timeout is both: it is the timeout that ended it.
        if error.is_timeout() {
            return Some(ErrorKind::Timeout);
        }
        if error.is_connect() {
            return Some(ErrorKind::Connect);
        }
        if error.is_body() || error.is_decode() {
            return Some(ErrorKind::Body);
        }
        return None;
    }
    if let Some(error) = error.downcast_ref::<hyper::Error>() {
        if error.is_timeout() {
            return Some(ErrorKind::Timeout);
        }
        if error.is_body_write_aborted() || error.is_user() {
            return Some(ErrorKind::Body);
        }
        return None;
    }
    let error = error.downcast_ref::<io::Error>()?;
    match error.kind() {
        io::ErrorKind::TimedOut => Some(ErrorKind::Timeout),
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::NotConnected
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::AddrInUse
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::NetworkDown => Some(ErrorKind::Connect),
        _ => None,
    }
}
