//! What a call came to: the [`Outcome`] of a returned value, and the [`MonitoredError`] trait
//! through which error types choose their own.

use http::{Response, StatusCode};

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
/// kind. Kinds become label values: keep them few and fixed.
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

    /// The outcome of a call that returned this value in `Err`.
    #[doc(hidden)]
    fn outcome(&self) -> Outcome {
        if self.is_error() {
            Outcome::Error {
                kind: self.error_kind(),
            }
        } else {
            Outcome::Ok
        }
    }
}

/// A status of 5xx is a server error; anything else is an answer the server meant to give.
fn status_outcome(status: StatusCode) -> Outcome {
    if status.is_server_error() {
        Outcome::Error {
            kind: "server_error",
        }
    } else {
        Outcome::Ok
    }
}

/// Values that carry an HTTP status: an error when it is 5xx, as in `Err(StatusCode::NOT_FOUND)`
/// (not an error) or `Err((StatusCode::BAD_GATEWAY, "..."))` (an error).
impl MonitoredError for StatusCode {
    fn is_error(&self) -> bool {
        self.is_server_error()
    }
    fn error_kind(&self) -> &'static str {
        "server_error"
    }
}

impl<T> MonitoredError for (StatusCode, T) {
    fn is_error(&self) -> bool {
        self.0.is_error()
    }
    fn error_kind(&self) -> &'static str {
        "server_error"
    }
}

impl<B> MonitoredError for Response<B> {
    fn is_error(&self) -> bool {
        self.status().is_server_error()
    }
    fn error_kind(&self) -> &'static str {
        "server_error"
    }
}

/// Autoref specialization over the return type. The expansion calls
/// `(&&&&Probe(&value)).__vk_outcome()`; method lookup takes the impl with the most references
/// whose bounds hold, so each shape gets its rule without any bound on the user's types.
#[doc(hidden)]
#[allow(missing_docs)] // support for the expansion, reached through `__private`
pub mod probe {
    use super::{MonitoredError, Outcome, Response, StatusCode, status_outcome};

    pub struct Probe<'a, T: ?Sized>(pub &'a T);

    // By hand: a derive would require `T: Copy`. The least specific impl takes `Probe` by
    // value, which method lookup reaches through the references by copying it.
    impl<T: ?Sized> Clone for Probe<'_, T> {
        fn clone(&self) -> Self {
            *self
        }
    }
    impl<T: ?Sized> Copy for Probe<'_, T> {}

    /// Return values that carry a status (responses, status codes, `(StatusCode, T)`).
    pub trait StatusValue {
        fn status_outcome(&self) -> Outcome;
    }
    impl StatusValue for StatusCode {
        fn status_outcome(&self) -> Outcome {
            status_outcome(*self)
        }
    }
    impl<T> StatusValue for (StatusCode, T) {
        fn status_outcome(&self) -> Outcome {
            status_outcome(self.0)
        }
    }
    impl<B> StatusValue for Response<B> {
        fn status_outcome(&self) -> Outcome {
            status_outcome(self.status())
        }
    }

    /// `Result<T, E>`, `T` with a status, `E: MonitoredError`.
    pub trait ByValueAndError {
        fn __vk_outcome(self) -> Outcome;
    }
    impl<T: StatusValue, E: MonitoredError> ByValueAndError for &&&&Probe<'_, Result<T, E>> {
        #[inline]
        fn __vk_outcome(self) -> Outcome {
            match self.0 {
                Ok(value) => value.status_outcome(),
                Err(error) => error.outcome(),
            }
        }
    }

    /// `Result<T, E>`, `T` with a status, any `E`.
    pub trait ByValueOnly {
        fn __vk_outcome(self) -> Outcome;
    }
    impl<T: StatusValue, E> ByValueOnly for &&&Probe<'_, Result<T, E>> {
        #[inline]
        fn __vk_outcome(self) -> Outcome {
            match self.0 {
                Ok(value) => value.status_outcome(),
                Err(_) => Outcome::ERROR,
            }
        }
    }

    /// `Result<T, E>` with `E: MonitoredError`, any `T`.
    pub trait ByErrorOnly {
        fn __vk_outcome(self) -> Outcome;
    }
    impl<T, E: MonitoredError> ByErrorOnly for &&Probe<'_, Result<T, E>> {
        #[inline]
        fn __vk_outcome(self) -> Outcome {
            match self.0 {
                Ok(_) => Outcome::Ok,
                Err(error) => error.outcome(),
            }
        }
    }

    /// A bare value with a status.
    pub trait ByStatus {
        fn __vk_outcome(self) -> Outcome;
    }
    impl<T: StatusValue> ByStatus for &&Probe<'_, T> {
        #[inline]
        fn __vk_outcome(self) -> Outcome {
            self.0.status_outcome()
        }
    }

    /// Any `Result<T, E>`.
    pub trait ByResultOnly {
        fn __vk_outcome(self) -> Outcome;
    }
    impl<T, E> ByResultOnly for &Probe<'_, Result<T, E>> {
        #[inline]
        fn __vk_outcome(self) -> Outcome {
            match self.0 {
                Ok(_) => Outcome::Ok,
                Err(_) => Outcome::ERROR,
            }
        }
    }

    /// Anything else.
    pub trait ByDefault {
        fn __vk_outcome(self) -> Outcome;
    }
    impl<T: ?Sized> ByDefault for Probe<'_, T> {
        #[inline]
        fn __vk_outcome(self) -> Outcome {
            Outcome::Ok
        }
    }
}
