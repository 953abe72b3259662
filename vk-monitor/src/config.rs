//! The configuration: read from the environment (and a `.env` file), overridable in code,
//! validated before anything uses it. Every invalid variable is reported at once, naming the
//! variable, its value and what was expected; nothing here panics.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use sentry::types::Dsn;

/// One setting with a value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidVariable {
    /// The variable's name (`.env` for a malformed `.env` file).
    pub name: &'static str,
    /// Its value as found.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

/// Every invalid setting found while reading the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The settings, in the order they were read.
    pub invalid: Vec<InvalidVariable>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration:")?;
        for variable in &self.invalid {
            write!(
                f,
                " {}={:?} (expected {});",
                variable.name, variable.value, variable.expected
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// vk-monitor's settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `SENTRY_DSN` | unset: Sentry off | Sentry DSN |
/// | `SENTRY_TRACES_SAMPLE_RATE` | 0.1 | share of transactions sent, 0..=1 |
/// | `SENTRY_PROFILES_SAMPLE_RATE` | 0.1 | accepted; the Rust SDK has no profiler (a value set above 0 warns) |
/// | `RELEASE_VERSION` | the application's `name@version` | release of every event and `build_info` |
/// | `ENABLE_METRICS` | true | Prometheus metrics on or off (off: no `/metrics`, recording is a no-op) |
/// | `PROMETHEUS_MULTIPROC_DIR` | unset | accepted for compatibility; not needed (warns) |
/// | `APM_ENABLED` | true | Sentry tracing on or off |
/// | `APM_ENVIRONMENT`, else `ENVIRONMENT` | `development` | environment of events and `build_info` |
/// | `SENTRY_SEND_DEFAULT_PII` | false | let personal data reach Sentry |
/// | `SENTRY_DEBUG` | false | the SDK's debug logging |
/// | `HEALTH_SHOW_DETAILS` | false | failure details in the health endpoints |
///
/// Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, in any case.
///
/// ```
/// # fn main() -> Result<(), vk_monitor::ConfigError> {
/// // Values set in code win over the environment; both are validated.
/// let config = vk_monitor::Config::builder()
///     .environment("staging")
///     .traces_sample_rate(0.25)
///     .from_env()?;
/// assert_eq!(config.environment, "staging");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Where Sentry events go; `None`: Sentry is off.
    pub sentry_dsn: Option<Dsn>,
    /// Share of transactions sent to Sentry.
    pub traces_sample_rate: f32,
    /// Accepted and validated; the Rust SDK has no profiler.
    pub profiles_sample_rate: f32,
    /// The release; `None`: the application's `name@version`.
    pub release: Option<String>,
    /// Whether Prometheus metrics are recorded and served.
    pub enable_metrics: bool,
    /// Accepted for compatibility and ignored.
    pub prometheus_multiproc_dir: Option<String>,
    /// Whether Sentry tracing (transactions and spans) is on.
    pub apm_enabled: bool,
    /// The deployment environment.
    pub environment: String,
    /// Whether personal data may reach Sentry.
    pub send_default_pii: bool,
    /// The Sentry SDK's debug logging.
    pub debug: bool,
    /// Whether the health endpoints show failure details.
    pub health_show_details: bool,
    /// Things worth saying once at start-up, such as accepted settings that do nothing.
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads the process environment, after a `.env` file in the working directory or one of
    /// its parents when there is one (the process environment wins over the file).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::builder().from_env()
    }

    /// Starts setting values in code.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }
}

/// Values set in code, which win over the environment. See [`Config`].
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    sentry_dsn: Option<String>,
    traces_sample_rate: Option<f64>,
    profiles_sample_rate: Option<f64>,
    release: Option<String>,
    enable_metrics: Option<bool>,
    apm_enabled: Option<bool>,
    environment: Option<String>,
    send_default_pii: Option<bool>,
    debug: Option<bool>,
    health_show_details: Option<bool>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        impl ConfigBuilder {
            $(
                $(#[$doc])*
                pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
            )*
        }
    };
}

setters! {
    /// `SENTRY_DSN`.
    sentry_dsn: String,
    /// `SENTRY_TRACES_SAMPLE_RATE`.
    traces_sample_rate: f64,
    /// `SENTRY_PROFILES_SAMPLE_RATE`.
    profiles_sample_rate: f64,
    /// `RELEASE_VERSION`.
    release: String,
    /// `ENABLE_METRICS`.
    enable_metrics: bool,
    /// `APM_ENABLED`.
    apm_enabled: bool,
    /// `APM_ENVIRONMENT`.
    environment: String,
    /// `SENTRY_SEND_DEFAULT_PII`.
    send_default_pii: bool,
    /// `SENTRY_DEBUG`.
    debug: bool,
    /// `HEALTH_SHOW_DETAILS`.
    health_show_details: bool,
}

impl ConfigBuilder {
    /// Completes the configuration from the environment (and `.env`).
    #[allow(clippy::wrong_self_convention)] // reads like English: `builder().from_env()`
    pub fn from_env(self) -> Result<Config, ConfigError> {
        let (dotenv, dotenv_error) = read_dotenv();
        let mut reader = EnvReader::new(move |name: &str| {
            std::env::var(name)
                .ok()
                .or_else(|| dotenv.get(name).cloned())
        });
        if let Some(error) = dotenv_error {
            reader.invalid.push(InvalidVariable {
                name: ".env",
                value: error,
                expected: "KEY=value lines",
            });
        }
        self.read(reader)
    }

    /// Completes the configuration from `lookup` instead of the process environment.
    pub fn from_lookup(
        self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        self.read(EnvReader::new(lookup))
    }

    fn read<L: Fn(&str) -> Option<String>>(
        self,
        mut env: EnvReader<L>,
    ) -> Result<Config, ConfigError> {
        let dsn_text = self
            .sentry_dsn
            .map(Some)
            .unwrap_or_else(|| env.text("SENTRY_DSN"));
        let sentry_dsn = dsn_text
            .filter(|dsn| !dsn.trim().is_empty())
            .and_then(|dsn| {
                env.check(
                    "SENTRY_DSN",
                    dsn.trim(),
                    "a Sentry DSN such as https://KEY@HOST/PROJECT",
                    |v| Dsn::from_str(v).ok(),
                )
            });
        let traces_sample_rate =
            env.rate("SENTRY_TRACES_SAMPLE_RATE", self.traces_sample_rate, 0.1);
        let profiles_explicit = self.profiles_sample_rate.is_some()
            || env.text("SENTRY_PROFILES_SAMPLE_RATE").is_some();
        let profiles_sample_rate = env.rate(
            "SENTRY_PROFILES_SAMPLE_RATE",
            self.profiles_sample_rate,
            0.1,
        );
        let release = self
            .release
            .or_else(|| env.text("RELEASE_VERSION"))
            .filter(|r| !r.trim().is_empty());
        let enable_metrics = self
            .enable_metrics
            .unwrap_or_else(|| env.bool("ENABLE_METRICS", true));
        let prometheus_multiproc_dir = env.text("PROMETHEUS_MULTIPROC_DIR");
        let apm_enabled = self
            .apm_enabled
            .unwrap_or_else(|| env.bool("APM_ENABLED", true));
        let environment = self
            .environment
            .or_else(|| env.text("APM_ENVIRONMENT"))
            .or_else(|| env.text("ENVIRONMENT"))
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| "development".to_owned());
        let send_default_pii = self
            .send_default_pii
            .unwrap_or_else(|| env.bool("SENTRY_SEND_DEFAULT_PII", false));
        let debug = self
            .debug
            .unwrap_or_else(|| env.bool("SENTRY_DEBUG", false));
        let health_show_details = self
            .health_show_details
            .unwrap_or_else(|| env.bool("HEALTH_SHOW_DETAILS", false));
        env.finish()?;

        let mut warnings = Vec::new();
        if profiles_explicit && profiles_sample_rate > 0.0 {
            warnings.push(
                "SENTRY_PROFILES_SAMPLE_RATE is accepted but the Rust Sentry SDK has no profiler; \
                 take CPU profiles on demand from `GET /debug/pprof/profile` (cargo feature \
                 `profiling`) instead"
                    .to_owned(),
            );
        }
        if prometheus_multiproc_dir.is_some() {
            warnings.push(
                "PROMETHEUS_MULTIPROC_DIR is not needed: one Rust process serves all cores and \
                 exports all of its metrics itself; the variable is ignored"
                    .to_owned(),
            );
        }
        Ok(Config {
            sentry_dsn,
            traces_sample_rate,
            profiles_sample_rate,
            release,
            enable_metrics,
            prometheus_multiproc_dir,
            apm_enabled,
            environment,
            send_default_pii,
            debug,
            health_show_details,
            warnings,
        })
    }
}

/// The `.env` file's pairs, and what was wrong with it if anything.
fn read_dotenv() -> (HashMap<String, String>, Option<String>) {
    let Ok(iter) = dotenvy::dotenv_iter() else {
        return (HashMap::new(), None); // no .env: nothing to read
    };
    let mut pairs = HashMap::new();
    for item in iter {
        match item {
            Ok((key, value)) => {
                pairs.insert(key, value);
            }
            Err(error) => return (pairs, Some(error.to_string())),
        }
    }
    (pairs, None)
}

/// Reads variables through a lookup, collecting the invalid ones.
pub(crate) struct EnvReader<L> {
    lookup: L,
    invalid: Vec<InvalidVariable>,
}

impl<L: Fn(&str) -> Option<String>> EnvReader<L> {
    pub(crate) fn new(lookup: L) -> Self {
        EnvReader {
            lookup,
            invalid: Vec::new(),
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// Parses `value`, or records why it is invalid.
    fn check<T>(
        &mut self,
        name: &'static str,
        value: &str,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let parsed = parse(value);
        if parsed.is_none() {
            self.invalid.push(InvalidVariable {
                name,
                value: value.to_owned(),
                expected,
            });
        }
        parsed
    }

    /// A boolean: `true`/`false`, `1`/`0`, `yes`/`no`, in any case; `default` when unset.
    pub(crate) fn bool(&mut self, name: &'static str, default: bool) -> bool {
        let Some(value) = self.text(name) else {
            return default;
        };
        self.check(name, &value, "true, false, 1, 0, yes or no", |v| {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            }
        })
        .unwrap_or(default)
    }

    /// A sample rate from 0 to 1: set in code, else from the variable, else `default`.
    fn rate(&mut self, name: &'static str, in_code: Option<f64>, default: f32) -> f32 {
        let value = match in_code {
            Some(rate) => rate.to_string(),
            None => match self.text(name) {
                Some(value) => value,
                None => return default,
            },
        };
        self.check(name, &value, "a number from 0 to 1", |v| {
            v.trim()
                .parse::<f32>()
                .ok()
                .filter(|rate| rate.is_finite() && (0.0..=1.0).contains(rate))
        })
        .unwrap_or(default)
    }

    pub(crate) fn finish(self) -> Result<(), ConfigError> {
        if self.invalid.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                invalid: self.invalid,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        config_with(Config::builder(), vars)
    }

    fn config_with(builder: ConfigBuilder, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        builder.from_lookup(move |name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let config = config(&[]).unwrap();
        assert_eq!(config.sentry_dsn, None);
        assert_eq!(config.traces_sample_rate, 0.1);
        assert_eq!(config.profiles_sample_rate, 0.1);
        assert_eq!(config.release, None);
        assert!(config.enable_metrics && config.apm_enabled);
        assert_eq!(config.environment, "development");
        assert!(!config.send_default_pii && !config.debug && !config.health_show_details);
        assert!(
            config.warnings.is_empty(),
            "defaults warn about nothing: {:?}",
            config.warnings
        );
    }

    #[test]
    fn every_variable_is_read() {
        let config = config(&[
            ("SENTRY_DSN", "https://public@o1.ingest.example.com/42"),
            ("SENTRY_TRACES_SAMPLE_RATE", "0.5"),
            ("SENTRY_PROFILES_SAMPLE_RATE", "0"),
            ("RELEASE_VERSION", "voice-calls@2.0.1"),
            ("ENABLE_METRICS", "No"),
            ("APM_ENABLED", "0"),
            ("APM_ENVIRONMENT", "production"),
            ("ENVIRONMENT", "ignored-when-apm-environment-is-set"),
            ("SENTRY_SEND_DEFAULT_PII", "YES"),
            ("SENTRY_DEBUG", "true"),
            ("HEALTH_SHOW_DETAILS", "1"),
        ])
        .unwrap();
        let dsn = config.sentry_dsn.as_ref().unwrap();
        assert_eq!(
            (dsn.public_key(), dsn.project_id().value()),
            ("public", "42")
        );
        assert_eq!(
            (config.traces_sample_rate, config.profiles_sample_rate),
            (0.5, 0.0)
        );
        assert_eq!(config.release.as_deref(), Some("voice-calls@2.0.1"));
        assert!(!config.enable_metrics && !config.apm_enabled);
        assert_eq!(config.environment, "production");
        assert!(config.send_default_pii && config.debug && config.health_show_details);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn environment_falls_back_to_environment() {
        assert_eq!(
            config(&[("ENVIRONMENT", "staging")]).unwrap().environment,
            "staging"
        );
    }

    #[test]
    fn every_invalid_variable_is_reported_together() {
        let error = config(&[
            ("SENTRY_DSN", "not a dsn"),
            ("SENTRY_TRACES_SAMPLE_RATE", "abc"),
            ("SENTRY_PROFILES_SAMPLE_RATE", "1.5"),
            ("ENABLE_METRICS", "maybe"),
            ("APM_ENABLED", ""),
            ("SENTRY_DEBUG", "on"),
        ])
        .unwrap_err();
        let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            [
                "SENTRY_DSN",
                "SENTRY_TRACES_SAMPLE_RATE",
                "SENTRY_PROFILES_SAMPLE_RATE",
                "ENABLE_METRICS",
                "APM_ENABLED",
                "SENTRY_DEBUG"
            ]
        );
        let message = error.to_string();
        assert!(
            message.contains(r#"SENTRY_TRACES_SAMPLE_RATE="abc" (expected a number from 0 to 1)"#),
            "{message}"
        );
        assert!(
            message.contains(r#"SENTRY_DSN="not a dsn" (expected a Sentry DSN"#),
            "{message}"
        );
        assert!(
            message.contains(r#"ENABLE_METRICS="maybe" (expected true, false, 1, 0, yes or no)"#),
            "{message}"
        );
        for bad_rate in ["-0.1", "NaN", "inf", "1.0001"] {
            let error = config(&[("SENTRY_TRACES_SAMPLE_RATE", bad_rate)]).unwrap_err();
            assert_eq!(error.invalid[0].value, bad_rate);
        }
    }

    #[test]
    fn code_wins_over_the_environment_and_is_validated_too() {
        let builder = Config::builder()
            .environment("staging")
            .traces_sample_rate(1.0)
            .enable_metrics(true);
        let config = config_with(
            builder,
            &[
                ("APM_ENVIRONMENT", "production"),
                ("SENTRY_TRACES_SAMPLE_RATE", "0.2"),
                ("ENABLE_METRICS", "false"),
            ],
        )
        .unwrap();
        assert_eq!(
            (config.environment.as_str(), config.traces_sample_rate),
            ("staging", 1.0)
        );
        assert!(config.enable_metrics);
        let error = config_with(
            Config::builder().traces_sample_rate(1.5).sentry_dsn("nope"),
            &[],
        )
        .unwrap_err();
        assert_eq!(error.invalid.len(), 2, "{error}");
    }

    #[test]
    fn accepted_but_useless_settings_warn_once() {
        let config = config(&[
            ("SENTRY_PROFILES_SAMPLE_RATE", "0.5"),
            ("PROMETHEUS_MULTIPROC_DIR", "/tmp/prom"),
        ])
        .unwrap();
        assert_eq!(config.warnings.len(), 2, "{:?}", config.warnings);
        assert!(config.warnings[0].contains("no profiler"));
        assert!(config.warnings[1].contains("PROMETHEUS_MULTIPROC_DIR is not needed"));
    }

    #[test]
    fn an_empty_dsn_means_sentry_off() {
        assert_eq!(config(&[("SENTRY_DSN", "  ")]).unwrap().sentry_dsn, None);
    }
}
