//! What a call came to: the [`Outcome`] of a returned value, and the [`MonitoredError`] trait
//! through which error types choose their own.

use http::{Response, StatusCode};

use crate::work::{SERVER_ERROR, is_failure};

/// The outcome of a call that returned a value.
///
/// Panics and dropped futures are not values; the call guard records them itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Counted as `result="ok"`.
    Ok,
    /// Counted as `result="error"`, and in `function_errors_total{kind}`.
    Error {
        /// The `kind` label: a short, bounded name such as `"timeout"`.
        kind: &'static str,
    },
}

impl Outcome {
    /// An error of the default kind, `"error"`.
    pub const ERROR: Outcome = Outcome::Error { kind: "error" };

    /// The outcome of a call that answered with `code`: an error of kind `server_error`
    /// when it is 5xx.
    pub(crate) fn of_status(code: StatusCode) -> Self {
        if is_failure(code.as_u16()) {
            Outcome::Error { kind: SERVER_ERROR }
        } else {
            Outcome::Ok
        }
    }

    /// The outcome of a call that returned `error` in `Err`.
    pub(crate) fn of_error<E: MonitoredError + ?Sized>(error: &E) -> Self {
        if error.is_error() {
            Outcome::Error {
                kind: error.error_kind(),
            }
        } else {
            Outcome::Ok
        }
    }

    /// `Ok` when `ok` holds, the default error otherwise (for `#[monitored(ok_if = ..)]`).
    #[inline]
    pub fn ok_if(ok: bool) -> Self {
        if ok { Outcome::Ok } else { Outcome::ERROR }
    }

    /// The default error when `error` holds, `Ok` otherwise (for `#[monitored(error_if = ..)]`).
    #[inline]
    pub fn error_if(error: bool) -> Self {
        Outcome::ok_if(!error)
    }
}

/// How an error type is counted by `#[monitored]` when a function returns it in `Err`.
///
/// Without an implementation every `Err` is an error of kind `"error"`. Implement it to keep
/// expected failures (a 404, a validation error) out of the error rate, or to split errors by
/// kind. Kinds become label values: keep them few and fixed. [`derive(MonitoredError)`]
/// writes the impl from attributes on the variants; by hand it reads:
///
/// [`derive(MonitoredError)`]: derive@crate::MonitoredError
///
/// ```
/// use vk_monitor::MonitoredError;
///
/// enum ApiError {
///     NotFound,
///     Database(String),
/// }
///
/// impl MonitoredError for ApiError {
///     fn is_error(&self) -> bool {
///         !matches!(self, ApiError::NotFound)
///     }
///     fn error_kind(&self) -> &'static str {
///         match self {
///             ApiError::NotFound => "not_found",
///             ApiError::Database(_) => "database",
///         }
///     }
/// }
///
/// #[vk_monitor::monitored]
/// fn find_call(id: u64) -> Result<String, ApiError> {
///     match id {
///         7 => Err(ApiError::NotFound),
///         _ => Err(ApiError::Database("pool timed out".to_owned())),
///     }
/// }
///
/// # fn main() -> Result<(), vk_monitor::ExporterError> {
/// let exporter = vk_monitor::Exporter::install()?;
/// assert!(find_call(7).is_err());
/// assert!(find_call(8).is_err());
///
/// let exposition = exporter.render();
/// let module = module_path!();
/// // A missing call is an answer, not a failure; the database error is counted by its kind.
/// assert!(exposition.contains(&format!(
///     r#"function_calls_total{{function="find_call",module="{module}",result="ok"}} 1"#
/// )));
/// assert!(exposition.contains(&format!(
///     r#"function_errors_total{{function="find_call",module="{module}",kind="database"}} 1"#
/// )));
/// # Ok(()) }
/// ```
pub trait MonitoredError {
    /// Whether this value makes the call an error. Default: `true`.
    fn is_error(&self) -> bool {
        true
    }

    /// The `kind` label of `function_errors_total`. Default: `"error"`.
    fn error_kind(&self) -> &'static str {
        "error"
    }
}

/// Values that carry an HTTP status: an error when it is 5xx, as in `Err(StatusCode::NOT_FOUND)`
/// (not an error) or `Err((StatusCode::BAD_GATEWAY, "..."))` (an error).
impl MonitoredError for StatusCode {
    fn is_error(&self) -> bool {
        is_failure(self.as_u16())
    }
    fn error_kind(&self) -> &'static str {
        SERVER_ERROR
    }
}

impl<T> MonitoredError for (StatusCode, T) {
    fn is_error(&self) -> bool {
        self.0.is_error()
    }
    fn error_kind(&self) -> &'static str {
        SERVER_ERROR
    }
}

impl<B> MonitoredError for Response<B> {
    fn is_error(&self) -> bool {
        self.status().is_error()
    }
    fn error_kind(&self) -> &'static str {
        SERVER_ERROR
    }
}
