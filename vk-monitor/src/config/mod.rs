//! The configuration: read from the environment (and a `.env` file), overridable in code,
//! validated before anything uses it. Every invalid variable is reported at once, naming the
//! variable, its value and what was expected; nothing here panics.

mod app_settings;
mod builder;
mod env;
mod error;
#[cfg(feature = "tracing-subscriber")]
mod logs;
mod sampler;
mod sentry_names;
mod settings;
mod targets;

pub use app_settings::AppSettings;
pub use builder::ConfigBuilder;
pub use error::{ConfigError, InvalidVariable};
#[cfg(feature = "tracing-subscriber")]
pub use logs::{LogFormat, LogSettings};
pub use sampler::{SamplingContext, TracesSampler};
pub use settings::Config;
pub use targets::PropagationTargets;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
