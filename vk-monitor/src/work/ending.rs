//! The one classifier: how a unit of work ended, and what that ending is called in each
//! family's label, as an error kind and as a Sentry span status.
//!
//! Abandoned work is *cancelled* everywhere: `result="cancelled"` for functions,
//! `status="cancelled"` for outgoing calls, span status `cancelled`. The server's `status`
//! label holds only HTTP codes, so there it is `499`, the code nginx and Envoy log for a client
//! that closed its request, which dashboards grouping requests by code already know.

use sentry::protocol::SpanStatus;

/// The `kind` of a failure that is a 5xx answer.
pub(crate) const SERVER_ERROR: &str = "server_error";

/// The server's `status` for a request abandoned before its response ended.
pub(crate) const CANCELLED_STATUS: u16 = 499;

/// The label value of abandoned work everywhere a label is not a code.
pub(crate) const CANCELLED: &str = "cancelled";

/// The label value of a failure, in a `status` or `result` label.
pub(crate) const ERROR: &str = "error";

/// Whether answering with `status` is a failure: a 5xx answer is a failure of the server;
/// any other status is an answer the server meant to give.
#[inline]
pub(crate) fn is_failure(status: u16) -> bool {
    (500..600).contains(&status)
}

/// How a unit of work ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// An HTTP answer with this status: a response served or received.
    Answered(u16),
    /// A call that returned a value counted as success.
    Ok,
    /// A failure of this `kind`: an error returned, or a transport failure with no answer.
    Failed(&'static str),
    /// The code panicked.
    Panicked,
    /// Abandoned before it ended: a future dropped, a client gone away.
    Cancelled,
}

/// What an ending is written as in a family's label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LabelStyle {
    /// `status`: the code, abandoned work as `499`.
    ServerStatus,
    /// `status`: the code, `error` for a failure without an answer, `cancelled`.
    ClientStatus,
    /// `result`: `ok`, `error`, `panic`, `cancelled`.
    FunctionResult,
}

/// An ending as its series knows it: the label value, without the error kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum SeriesKey {
    Code(u16),
    Ok,
    Error,
    Panic,
    Cancelled,
}

impl SeriesKey {
    /// The label value in `style`.
    pub(crate) fn label(self, style: LabelStyle) -> std::borrow::Cow<'static, str> {
        match (self, style) {
            (SeriesKey::Code(code), _) => code.to_string().into(),
            (SeriesKey::Cancelled, LabelStyle::ServerStatus) => CANCELLED_STATUS.to_string().into(),
            (SeriesKey::Ok, _) => "ok".into(),
            (SeriesKey::Error, _) => ERROR.into(),
            (SeriesKey::Panic, _) => "panic".into(),
            (SeriesKey::Cancelled, _) => CANCELLED.into(),
        }
    }
}

impl Ending {
    /// The series this ending is counted in, in a family written in `style`.
    #[inline]
    pub(crate) fn series(self, style: LabelStyle) -> SeriesKey {
        match self {
            // Where cancelled is written 499, a 499 answered is the same series.
            Ending::Answered(CANCELLED_STATUS) if style == LabelStyle::ServerStatus => {
                SeriesKey::Cancelled
            }
            Ending::Answered(code) => SeriesKey::Code(code),
            Ending::Ok => SeriesKey::Ok,
            Ending::Failed(_) => SeriesKey::Error,
            Ending::Panicked => SeriesKey::Panic,
            Ending::Cancelled => SeriesKey::Cancelled,
        }
    }

    /// The `kind` an errors family counts it as: a failure of the work itself. A 5xx answer
    /// received is the other side's failure, counted by its status.
    #[inline]
    pub(crate) fn error_kind(self) -> Option<&'static str> {
        match self {
            Ending::Failed(kind) => Some(kind),
            Ending::Panicked => Some("panic"),
            Ending::Answered(_) | Ending::Ok | Ending::Cancelled => None,
        }
    }

    /// Whether the work failed: an error kind, or a 5xx answer (logged as a warning, reported
    /// to Sentry when nothing else was).
    pub(crate) fn is_failure(self) -> bool {
        match self {
            Ending::Answered(code) => is_failure(code),
            ending => ending.error_kind().is_some(),
        }
    }

    /// The status of its Sentry span.
    pub(crate) fn span_status(self) -> SpanStatus {
        match self {
            Ending::Answered(code) => span_status_of_code(code),
            Ending::Ok => SpanStatus::Ok,
            Ending::Failed("timeout") => SpanStatus::DeadlineExceeded,
            Ending::Failed("connect") => SpanStatus::Unavailable,
            Ending::Failed(_) => SpanStatus::InternalError,
            Ending::Panicked => SpanStatus::Aborted,
            Ending::Cancelled => SpanStatus::Cancelled,
        }
    }
}

/// The span status of an HTTP answer, as Sentry's SDKs map codes.
fn span_status_of_code(status: u16) -> SpanStatus {
    match status {
        100..=399 => SpanStatus::Ok,
        400 => SpanStatus::InvalidArgument,
        401 => SpanStatus::Unauthenticated,
        403 => SpanStatus::PermissionDenied,
        404 => SpanStatus::NotFound,
        409 => SpanStatus::AlreadyExists,
        429 => SpanStatus::ResourceExhausted,
        CANCELLED_STATUS => SpanStatus::Cancelled,
        402 | 405..=408 | 410..=428 | 430..=498 => SpanStatus::FailedPrecondition,
        501 => SpanStatus::Unimplemented,
        503 => SpanStatus::Unavailable,
        504 => SpanStatus::DeadlineExceeded,
        _ => SpanStatus::InternalError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_work_is_cancelled_in_every_label_and_span() {
        for style in [
            LabelStyle::ServerStatus,
            LabelStyle::ClientStatus,
            LabelStyle::FunctionResult,
        ] {
            let label = Ending::Cancelled.series(style).label(style);
            let expected = if style == LabelStyle::ServerStatus {
                "499"
            } else {
                "cancelled"
            };
            assert_eq!(label, expected);
        }
        // One label value, one series: a 499 served is the cancelled series, a 499 received
        // by a client is an answer like any other.
        let server = LabelStyle::ServerStatus;
        assert_eq!(
            Ending::Answered(499).series(server),
            Ending::Cancelled.series(server)
        );
        let client = LabelStyle::ClientStatus;
        assert_eq!(Ending::Answered(499).series(client).label(client), "499");
        assert_eq!(Ending::Cancelled.span_status(), SpanStatus::Cancelled);
        assert_eq!(
            Ending::Answered(CANCELLED_STATUS).span_status(),
            SpanStatus::Cancelled
        );
        assert_eq!(Ending::Cancelled.error_kind(), None);
    }

    #[test]
    fn failures_have_a_kind_and_answers_are_failures_from_500() {
        assert!(Ending::Answered(503).is_failure());
        assert_eq!(
            Ending::Answered(503).error_kind(),
            None,
            "counted by its status"
        );
        assert!(!Ending::Answered(404).is_failure());
        assert!(!Ending::Cancelled.is_failure());
        assert_eq!(Ending::Failed("timeout").error_kind(), Some("timeout"));
        assert_eq!(Ending::Panicked.error_kind(), Some("panic"));
        assert_eq!(Ending::Ok.error_kind(), None);
        assert_eq!(
            Ending::Failed("timeout").span_status(),
            SpanStatus::DeadlineExceeded
        );
        assert_eq!(
            Ending::Failed("connect").span_status(),
            SpanStatus::Unavailable
        );
        assert_eq!(
            Ending::Failed("body").span_status(),
            SpanStatus::InternalError
        );
        assert_eq!(
            Ending::Failed("error")
                .series(LabelStyle::ClientStatus)
                .label(LabelStyle::ClientStatus),
            "error"
        );
    }
}
