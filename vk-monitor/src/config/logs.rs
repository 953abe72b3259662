//! The logging settings `vk_monitor::tracing::init()` reads: the filter (`RUST_LOG`), the line
//! format (`LOG_FORMAT`) and which `tracing` events and spans reach Sentry
//! (`SENTRY_LOG_BREADCRUMBS`, `SENTRY_LOG_EVENTS`, `SENTRY_TRACING_SPANS`), validated like
//! every other setting and reported all at once.

use std::str::FromStr;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use super::env::{EnvReader, Found};
use super::error::{ConfigError, InvalidVariable};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `fmt`'s text lines, with the trace and span ids in front inside a trace.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The logging settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `RUST_LOG` | `info` | which events and spans are recorded (`tracing_subscriber::EnvFilter` directives) |
/// | `LOG_FORMAT` | `text` | `text` or `json` (one object per line) |
/// | `SENTRY_LOG_BREADCRUMBS` | `info` | events at this level or above (below the events' level) become breadcrumbs of the current request |
/// | `SENTRY_LOG_EVENTS` | `error` | events at this level or above become Sentry error events |
/// | `SENTRY_TRACING_SPANS` | `off` | spans at this level or above, opened inside a recorded trace, become Sentry child spans (not those of `#[monitored]` calls, which have theirs; at most 500 per transaction) |
///
/// Levels are `trace`, `debug`, `info`, `warn`, `error` or `off`, in any case;
/// `SENTRY_TRACING_SPANS` also takes a boolean: `true` (also `1`, `yes`) for every span the
/// filter records (`trace`), `false` (`0`, `no`) for `off`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogSettings {
    /// The `RUST_LOG` directives.
    pub filter: String,
    /// The line format.
    pub format: LogFormat,
    /// The lowest level that becomes a breadcrumb.
    pub breadcrumbs: LevelFilter,
    /// The lowest level that becomes an error event.
    pub events: LevelFilter,
    /// The lowest level of spans that become Sentry spans.
    pub spans: LevelFilter,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            filter: "info".to_owned(),
            format: LogFormat::Text,
            breadcrumbs: LevelFilter::INFO,
            events: LevelFilter::ERROR,
            spans: LevelFilter::OFF,
        }
    }
}

const LEVEL_EXPECTED: &str = "trace, debug, info, warn, error or off";
const SPANS_EXPECTED: &str = "a level (trace, debug, info, warn, error, off) or a boolean";

impl LogSettings {
    /// Reads the process environment, after a `.env` file as [`Config`](crate::Config) does.
    pub fn from_env() -> Result<LogSettings, ConfigError> {
        let mut env = EnvReader::environment();
        // A malformed `.env` is reported by `Config::from_env`, with the other settings.
        env.invalid.clear();
        Self::read(env)
    }

    /// Reads `lookup` instead of the process environment.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<LogSettings, ConfigError> {
        Self::read(EnvReader::new(move |name: &str| Found::from(lookup(name))))
    }

    fn read<L: Fn(&str) -> Found>(mut env: EnvReader<L>) -> Result<LogSettings, ConfigError> {
        let defaults = LogSettings::default();
        let filter = match env.text("RUST_LOG") {
            Some(value) => env
                .check(
                    "RUST_LOG",
                    &value,
                    "EnvFilter directives such as info,my_app=debug",
                    |v| EnvFilter::try_new(v).ok().map(|_| v.to_owned()),
                )
                .unwrap_or(defaults.filter),
            None => defaults.filter,
        };
        let format = match env.text("LOG_FORMAT") {
            Some(value) => env
                .check("LOG_FORMAT", &value, "text or json", |v| {
                    match v.trim().to_ascii_lowercase().as_str() {
                        "text" => Some(LogFormat::Text),
                        "json" => Some(LogFormat::Json),
                        _ => None,
                    }
                })
                .unwrap_or_default(),
            None => LogFormat::Text,
        };
        let mut level = |name: &'static str, default: LevelFilter| match env.text(name) {
            Some(value) => env
                .check(name, &value, LEVEL_EXPECTED, |v| {
                    LevelFilter::from_str(v.trim()).ok()
                })
                .unwrap_or(default),
            None => default,
        };
        let breadcrumbs = level("SENTRY_LOG_BREADCRUMBS", defaults.breadcrumbs);
        let events = level("SENTRY_LOG_EVENTS", defaults.events);
        let spans = match env.text("SENTRY_TRACING_SPANS") {
            Some(value) => env
                .check("SENTRY_TRACING_SPANS", &value, SPANS_EXPECTED, |v| match v
                    .trim()
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "true" | "1" | "yes" => Some(LevelFilter::TRACE),
                    "false" | "0" | "no" => Some(LevelFilter::OFF),
                    level => LevelFilter::from_str(level).ok(),
                })
                .unwrap_or(defaults.spans),
            None => defaults.spans,
        };
        let invalid: Vec<InvalidVariable> = std::mem::take(&mut env.invalid);
        if !invalid.is_empty() {
            return Err(ConfigError { invalid });
        }
        Ok(LogSettings {
            filter,
            format,
            breadcrumbs,
            events,
            spans,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<LogSettings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        LogSettings::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_and_every_variable() {
        assert_eq!(settings(&[]).unwrap(), LogSettings::default());
        let read = settings(&[
            ("RUST_LOG", "warn,server=debug"),
            ("LOG_FORMAT", "JSON"),
            ("SENTRY_LOG_BREADCRUMBS", "debug"),
            ("SENTRY_LOG_EVENTS", "warn"),
            ("SENTRY_TRACING_SPANS", "Debug"),
        ])
        .unwrap();
        assert_eq!(read.filter, "warn,server=debug");
        assert_eq!(read.format, LogFormat::Json);
        assert_eq!(
            (read.breadcrumbs, read.events),
            (LevelFilter::DEBUG, LevelFilter::WARN)
        );
        assert_eq!(read.spans, LevelFilter::DEBUG);
        for (value, spans) in [
            ("true", LevelFilter::TRACE),
            ("Yes", LevelFilter::TRACE),
            (" FALSE", LevelFilter::OFF),
            ("0", LevelFilter::OFF),
        ] {
            let read = settings(&[("SENTRY_TRACING_SPANS", value)]).unwrap();
            assert_eq!(read.spans, spans, "{value}");
        }
    }

    #[test]
    fn invalid_values_are_named_together() {
        let error = settings(&[
            ("RUST_LOG", "server=loud"),
            ("LOG_FORMAT", "yaml"),
            ("SENTRY_LOG_BREADCRUMBS", ""),
            ("SENTRY_LOG_EVENTS", "fatal"),
            ("SENTRY_TRACING_SPANS", "verbose"),
        ])
        .unwrap_err();
        let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            [
                "RUST_LOG",
                "LOG_FORMAT",
                "SENTRY_LOG_BREADCRUMBS",
                "SENTRY_LOG_EVENTS",
                "SENTRY_TRACING_SPANS"
            ]
        );
        let message = error.to_string();
        assert!(
            message.contains(r#"LOG_FORMAT="yaml" (expected text or json)"#),
            "{message}"
        );
        assert!(message.contains(r#"RUST_LOG="server=loud""#), "{message}");
        assert!(
            message.contains(r#"SENTRY_TRACING_SPANS="verbose" (expected a level"#),
            "{message}"
        );
    }
}
