//! Logs that belong to their trace (cargo feature `tracing-subscriber`): the layer that sends
//! `tracing` events (and, asked for, spans) to Sentry, log formats that print the Sentry trace
//! and span ids of the request or job an event is logged in, and [`init`], a ready subscriber
//! configured from `RUST_LOG`, `LOG_FORMAT`, `SENTRY_LOG_BREADCRUMBS`, `SENTRY_LOG_EVENTS` and
//! `SENTRY_TRACING_SPANS`.
//!
//! An application that has `tracing_subscriber::fmt().init()` changes that one line:
//!
//! ```no_run
//! # fn main() -> Result<(), vk_monitor::tracing::InitError> {
//! vk_monitor::tracing::init()?;
//! tracing::info!("listening");
//! # Ok(()) }
//! ```
//!
//! Inside a traced request every line starts with `trace_id=… span_id=…` (text) or carries
//! `trace_id` and `span_id` (JSON), the ids Sentry shows for that request; outside any trace
//! there are none. With your own subscriber, add [`layer`] and a [`LogFormat`] as the format:
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let subscriber = tracing_subscriber::registry()
//!     .with(vk_monitor::tracing::layer())
//!     .with(tracing_subscriber::fmt::layer().event_format(vk_monitor::tracing::LogFormat::Json));
//! # drop(subscriber);
//! ```

mod fields;
mod format;
mod sentry_events;
mod sentry_layer;
mod sentry_spans;

use std::fmt;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::ConfigError;
pub use crate::config::{LogFormat, LogSettings};
pub use sentry_layer::SentryLayer;

/// The layer's name before it sent spans too.
#[deprecated(since = "0.3.0", note = "renamed `SentryLayer`")]
pub type SentryEventsLayer = SentryLayer;

/// The layer that turns `tracing` events into Sentry breadcrumbs (`info` and `warn`, on the
/// current request's scope, at most the client's 100, oldest dropped) and error events
/// (`error`, linked to the current trace, with the event's fields as context), and, when
/// asked ([`SentryLayer::spans`]), spans into Sentry child spans. It does nothing while no
/// Sentry client runs.
pub fn layer() -> SentryLayer {
    SentryLayer::default()
}

/// Installs the process's `tracing` subscriber from the environment ([`LogSettings`]): the
/// `RUST_LOG` filter (default `info`), lines in `LOG_FORMAT` (`text` or `json`) on standard
/// output with the trace ids, and [`layer`] with the configured levels. Call it first in
/// `main`, before the monitor, so that start-up is logged.
///
/// # Errors
///
/// Every invalid variable at once, or a subscriber already installed.
pub fn init() -> Result<(), InitError> {
    init_with(LogSettings::from_env().map_err(InitError::Config)?)
}

/// [`init`] with settings of your own.
pub fn init_with(settings: LogSettings) -> Result<(), InitError> {
    // Validated when the settings were read; an invalid filter cannot reach here from them.
    let filter = EnvFilter::try_new(&settings.filter).map_err(|_| InitError::Filter)?;
    tracing_subscriber::registry()
        .with(filter)
        .with(
            layer()
                .breadcrumbs(settings.breadcrumbs)
                .events(settings.events)
                .spans(settings.spans),
        )
        .with(format::fmt_layer(settings.format))
        .try_init()
        .map_err(|_| InitError::AlreadyInstalled)
}

/// Why [`init`] could not install the subscriber.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// Invalid settings, each named with its value and what was expected.
    Config(ConfigError),
    /// The filter of settings made in code does not parse.
    Filter,
    /// A `tracing` subscriber is already installed for the process.
    AlreadyInstalled,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::Filter => f.write_str("the log filter is not valid EnvFilter directives"),
            InitError::AlreadyInstalled => {
                f.write_str("a tracing subscriber is already installed in this process")
            }
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(error) => Some(error),
            _ => None,
        }
    }
}
