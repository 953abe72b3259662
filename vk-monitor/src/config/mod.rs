//! The configuration: read from the environment (and a `.env` file), overridable in code,
//! validated before anything uses it. Every invalid variable is reported at once, naming the
//! variable, its value and what was expected; nothing here panics.

mod builder;
mod env;
mod error;
#[cfg(feature = "tracing-subscriber")]
mod logs;
mod sentry_names;
mod settings;

pub use builder::ConfigBuilder;
pub use error::{ConfigError, InvalidVariable};
#[cfg(feature = "tracing-subscriber")]
pub use logs::{LogFormat, LogSettings};
pub use settings::Config;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
