//! The autoref probes: what the expansion of `#[monitored]` learns from a returned value's
//! type, with no bound on the user's types. The expansion calls `(&&&&Probe(&value))`; method
//! lookup takes the impl with the most references whose bounds hold, so each shape of value
//! gets its rule: its [`Outcome`], and the Sentry event of an error outcome.
//!
//! Reached through `__private`; the traits must be public for the expansion to bring them into
//! scope, and their methods are named `__vk_*` so they cannot clash with the user's.

#![allow(missing_docs)]

use std::fmt::Debug;

use http::{Response, StatusCode};
use sentry::protocol::Event;

use super::outcome::{MonitoredError, Outcome};
use super::type_name::short_name_of;
use crate::sentry::events::{bounded_debug, exception_event};

pub struct Probe<'a, T: ?Sized>(pub &'a T);

// By hand: a derive would require `T: Copy`. The least specific impl takes `Probe` by value,
// which method lookup reaches through the references by copying it.
impl<T: ?Sized> Clone for Probe<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: ?Sized> Copy for Probe<'_, T> {}

/// Return values that carry a status (responses, status codes, `(StatusCode, T)`).
pub trait StatusValue {
    fn __vk_status(&self) -> StatusCode;
}
impl StatusValue for StatusCode {
    fn __vk_status(&self) -> StatusCode {
        *self
    }
}
impl<T> StatusValue for (StatusCode, T) {
    fn __vk_status(&self) -> StatusCode {
        self.0
    }
}
impl<B> StatusValue for Response<B> {
    fn __vk_status(&self) -> StatusCode {
        Response::status(self)
    }
}

/// Classifies a returned value by its type.
#[macro_export]
#[doc(hidden)]
macro_rules! __vk_outcome_of {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::probe::{
            ByDefault as _, ByErrorOnly as _, ByResultOnly as _, ByStatus as _,
            ByValueAndError as _, ByValueOnly as _,
        };
        (&&&&$crate::__private::probe::Probe($value)).__vk_outcome()
    }};
}

/// The Sentry event of an error outcome, by the value's type. `std::error::Error` types give
/// their whole `source()` chain, `Debug` types their text, status values their status.
#[macro_export]
#[doc(hidden)]
macro_rules! __vk_error_event_of {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::probe::{
            EventByDebug as _, EventByError as _, EventByStatus as _, EventByType as _,
        };
        (&&&$crate::__private::probe::Probe($value)).__vk_event()
    }};
}

/// `Result<T, E>`, `T` with a status, `E: MonitoredError`.
pub trait ByValueAndError {
    fn __vk_outcome(self) -> Outcome;
}
impl<T: StatusValue, E: MonitoredError> ByValueAndError for &&&&Probe<'_, Result<T, E>> {
    #[inline]
    fn __vk_outcome(self) -> Outcome {
        match self.0 {
            Ok(value) => Outcome::of_status(value.__vk_status()),
            Err(error) => Outcome::of_error(error),
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
            Ok(value) => Outcome::of_status(value.__vk_status()),
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
            Err(error) => Outcome::of_error(error),
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
        Outcome::of_status(self.0.__vk_status())
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

/// `Result<T, E: std::error::Error>`: the event carries the error's `source()` chain.
pub trait EventByError {
    fn __vk_event(self) -> Option<Event<'static>>;
}
impl<T, E: std::error::Error + 'static> EventByError for &&&Probe<'_, Result<T, E>> {
    fn __vk_event(self) -> Option<Event<'static>> {
        match self.0 {
            Ok(_) => None,
            Err(error) => Some(error_chain_event(error)),
        }
    }
}

/// Through `dyn`, so that the SDK's event builder is compiled once rather than per error type.
fn error_chain_event(error: &(dyn std::error::Error + 'static)) -> Event<'static> {
    sentry::event_from_error(error)
}

/// `Result<T, E: Debug>`: the error's `Debug` text.
pub trait EventByDebug {
    fn __vk_event(self) -> Option<Event<'static>>;
}
impl<T, E: Debug> EventByDebug for &&Probe<'_, Result<T, E>> {
    fn __vk_event(self) -> Option<Event<'static>> {
        let error = self.0.as_ref().err()?;
        Some(exception_event(short_name_of::<E>(), bounded_debug(error)))
    }
}

/// A value with a status.
pub trait EventByStatus {
    fn __vk_event(self) -> Option<Event<'static>>;
}
impl<T: StatusValue> EventByStatus for &Probe<'_, T> {
    fn __vk_event(self) -> Option<Event<'static>> {
        Some(exception_event(
            "ServerError",
            "the call answered with a 5xx status".into(),
        ))
    }
}

/// Anything else: the type's name.
pub trait EventByType {
    fn __vk_event(self) -> Option<Event<'static>>;
}
impl<T: ?Sized> EventByType for Probe<'_, T> {
    fn __vk_event(self) -> Option<Event<'static>> {
        Some(exception_event(
            short_name_of::<T>(),
            "the call returned an error".into(),
        ))
    }
}
