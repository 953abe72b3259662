//! The configuration: read from the environment (and a `.env` file), overridable in code,
//! validated before anything uses it. Every invalid variable is reported at once, naming the
//! variable, its value and what was expected; nothing here panics.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use sentry::types::Dsn;

use crate::admin::{MIN_TOKEN_LEN, MonitorToken};

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
/// | `SENTRY_PROFILES_SAMPLE_RATE` | 0.1 | accepted; the Rust SDK has no profiler (a value set above 0 warns): use `GET /debug/pprof/profile` (feature `profiling`) |
/// | `RELEASE_VERSION` | the application's `name@version` | release of every event and `build_info` |
/// | `ENABLE_METRICS` | true | Prometheus metrics on or off (off: no `/metrics`, recording is a no-op) |
/// | `PROMETHEUS_MULTIPROC_DIR` | unset | accepted for compatibility; not needed (warns) |
/// | `APM_ENABLED` | true | Sentry tracing on or off |
/// | `APM_ENVIRONMENT`, else `ENVIRONMENT` | `development` | environment of events and `build_info` |
/// | `SENTRY_SEND_DEFAULT_PII` | false | let personal data reach Sentry |
/// | `SENTRY_DEBUG` | false | the SDK's debug logging |
/// | `HEALTH_SHOW_DETAILS` | false | failure details in the health endpoints |
/// | `METRICS_ADDR` | unset: on the public port | a listener of its own for `/metrics`, detailed health and profiles |
/// | `MONITOR_TOKEN` | unset: no token | bearer token those admin routes require (16+ visible ASCII characters) |
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
    /// Where the admin routes are served; `None`: beside the application's routes.
    pub metrics_addr: Option<SocketAddr>,
    /// The bearer token the admin routes require; `None`: they are open.
    pub monitor_token: Option<MonitorToken>,
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
    metrics_addr: Option<SocketAddr>,
    monitor_token: Option<HiddenText>,
}

/// A secret set in code: kept out of `Debug` output until it is validated.
#[derive(Clone, Default)]
struct HiddenText(String);

impl fmt::Debug for HiddenText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
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
    /// `METRICS_ADDR`.
    metrics_addr: SocketAddr,
}

impl ConfigBuilder {
    /// `MONITOR_TOKEN`.
    pub fn monitor_token(mut self, token: impl Into<String>) -> Self {
        self.monitor_token = Some(HiddenText(token.into()));
        self
    }
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
    ///
    /// Every invalid value is reported at once, with what was expected:
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use vk_monitor::Config;
    ///
    /// let vars = HashMap::from([
    ///     ("SENTRY_TRACES_SAMPLE_RATE", "1.5"),
    ///     ("ENABLE_METRICS", "maybe"),
    ///     ("APM_ENVIRONMENT", "production"),
    /// ]);
    /// let lookup = |name: &str| vars.get(name).map(|value| value.to_string());
    ///
    /// let error = Config::builder().from_lookup(lookup).unwrap_err();
    /// let invalid: Vec<&str> = error.invalid.iter().map(|variable| variable.name).collect();
    /// assert_eq!(invalid, ["SENTRY_TRACES_SAMPLE_RATE", "ENABLE_METRICS"]);
    ///
    /// // A value set in code is not read from the lookup.
    /// let config = Config::builder()
    ///     .traces_sample_rate(0.25)
    ///     .enable_metrics(true)
    ///     .from_lookup(lookup)?;
    /// assert_eq!(config.environment, "production");
    /// assert_eq!(config.traces_sample_rate, 0.25);
    /// assert!(config.sentry_dsn.is_none());
    /// # Ok::<(), vk_monitor::ConfigError>(())
    /// ```
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
                // The value is reported as found: stray whitespace may be why it is invalid.
                env.check(
                    "SENTRY_DSN",
                    &dsn,
                    "a Sentry DSN such as https://KEY@HOST/PROJECT",
                    |v| Dsn::from_str(v.trim()).ok(),
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
            .filter(|r| !r.trim().is_empty())
            .and_then(|r| {
                env.check("RELEASE_VERSION", &r, RELEASE_EXPECTED, |v| {
                    is_release(v).then(|| v.to_owned())
                })
            });
        let enable_metrics = self
            .enable_metrics
            .unwrap_or_else(|| env.bool("ENABLE_METRICS", true));
        let prometheus_multiproc_dir = env.text("PROMETHEUS_MULTIPROC_DIR");
        let apm_enabled = self
            .apm_enabled
            .unwrap_or_else(|| env.bool("APM_ENABLED", true));
        let environment = self
            .environment
            .map(|e| ("APM_ENVIRONMENT", e))
            .or_else(|| env.text("APM_ENVIRONMENT").map(|e| ("APM_ENVIRONMENT", e)))
            .or_else(|| env.text("ENVIRONMENT").map(|e| ("ENVIRONMENT", e)))
            .filter(|(_, e)| !e.trim().is_empty())
            .and_then(|(name, e)| {
                env.check(name, &e, ENVIRONMENT_EXPECTED, |v| {
                    is_environment(v).then(|| v.to_owned())
                })
            })
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
        let metrics_addr = self.metrics_addr.or_else(|| {
            let value = env.text("METRICS_ADDR")?;
            if value.trim().is_empty() {
                return None;
            }
            env.check(
                "METRICS_ADDR",
                &value,
                "a socket address such as 127.0.0.1:9464",
                |v| v.trim().parse().ok(),
            )
        });
        let monitor_token = self
            .monitor_token
            .map(|HiddenText(token)| token)
            .or_else(|| env.text("MONITOR_TOKEN"))
            .filter(|token| !token.is_empty())
            .and_then(|token| {
                env.secret("MONITOR_TOKEN", &token, TOKEN_EXPECTED, |t| {
                    MonitorToken::new(t)
                })
            });
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
            metrics_addr,
            monitor_token,
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

const RELEASE_EXPECTED: &str = "a Sentry release name: at most 200 characters, no control \
     characters, slashes or backslashes, not . or ..";
const ENVIRONMENT_EXPECTED: &str =
    "a Sentry environment name: at most 64 characters, no spaces, slashes or control characters";

/// What Sentry accepts as a release; it drops events whose release it cannot store.
pub(crate) fn is_release(name: &str) -> bool {
    name.chars().count() <= 200
        && !matches!(name, "." | "..")
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
}

/// What Sentry accepts as an environment.
pub(crate) fn is_environment(name: &str) -> bool {
    name.chars().count() <= 64
        && name != "None"
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '/')
}

const TOKEN_EXPECTED: &str = "at least 16 visible ASCII characters (no spaces)";
// The message above spells the minimum out.
const _: () = assert!(MIN_TOKEN_LEN == 16);

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
        self.validate(name, value, expected, parse, str::to_owned)
    }

    /// Like [`check`](Self::check) for a secret: an invalid value is reported by its length
    /// only, so error messages and logs never carry it.
    fn secret<T>(
        &mut self,
        name: &'static str,
        value: &str,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        self.validate(name, value, expected, parse, |value| {
            format!("<hidden, {} characters>", value.chars().count())
        })
    }

    fn validate<T>(
        &mut self,
        name: &'static str,
        value: &str,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
        shown: impl FnOnce(&str) -> String,
    ) -> Option<T> {
        let parsed = parse(value);
        if parsed.is_none() {
            self.invalid.push(InvalidVariable {
                name,
                value: shown(value),
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
        // Checked in f64 before narrowing: f32 would round 1.00000001 down to 1 and -1e-50 up
        // to -0, accepting values outside the range.
        self.check(name, &value, "a number from 0 to 1", |v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|rate| (0.0..=1.0).contains(rate))
                .map(|rate| rate as f32)
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
            ("METRICS_ADDR", "127.0.0.1:9464"),
            ("MONITOR_TOKEN", "scrape-token-0123456789"),
        ])
        .unwrap();
        assert_eq!(config.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert!(
            config
                .monitor_token
                .as_ref()
                .is_some_and(|t| t.matches("scrape-token-0123456789"))
        );
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
    fn a_bad_token_or_admin_address_is_named_and_the_token_never_shown() {
        let error =
            config(&[("METRICS_ADDR", "localhost"), ("MONITOR_TOKEN", "hunter2")]).unwrap_err();
        let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
        assert_eq!(names, ["METRICS_ADDR", "MONITOR_TOKEN"]);
        let message = error.to_string();
        assert!(message.contains("METRICS_ADDR=\"localhost\""), "{message}");
        assert!(message.contains("<hidden, 7 characters>"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let set_in_code = Config::builder().monitor_token("hunter2");
        assert!(!format!("{set_in_code:?}").contains("hunter2"));
        let config = config(&[("MONITOR_TOKEN", "scrape-token-0123456789")]).unwrap();
        assert!(!format!("{config:?}").contains("scrape-token"));
    }

    #[test]
    fn releases_and_environments_sentry_would_refuse_are_named() {
        let error = config(&[
            ("RELEASE_VERSION", "voice-calls/2.0"),
            ("ENVIRONMENT", "prod eu"),
        ])
        .unwrap_err();
        let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
        assert_eq!(names, ["RELEASE_VERSION", "ENVIRONMENT"]);
        assert!(
            error
                .to_string()
                .contains("RELEASE_VERSION=\"voice-calls/2.0\"")
        );
        for release in [".", "..", "a\nb", &"x".repeat(201)] {
            assert!(!is_release(release), "{release:?}");
        }
        assert!(is_release("voice-calls@2.0.1+build.7"));
        for environment in ["None", "a\tb", "eu/west", &"x".repeat(65)] {
            assert!(!is_environment(environment), "{environment:?}");
        }
        assert!(is_environment("production-eu-west-1"));
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
    fn rates_just_outside_the_range_are_rejected() {
        // Both round into the range as f32.
        for bad_rate in ["1.00000001", "-1e-50"] {
            let error = config(&[("SENTRY_TRACES_SAMPLE_RATE", bad_rate)]).unwrap_err();
            assert_eq!(error.invalid[0].value, bad_rate);
        }
        let error = config_with(Config::builder().traces_sample_rate(1.000_000_001), &[]);
        assert!(error.is_err(), "{error:?}");
        let config = config(&[("SENTRY_TRACES_SAMPLE_RATE", "0.99999999")]).unwrap();
        assert_eq!(config.traces_sample_rate, 1.0, "inside the range, rounded");
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

    #[test]
    fn an_invalid_dsn_is_reported_as_found() {
        let error = config(&[("SENTRY_DSN", " not a dsn\r")]).unwrap_err();
        assert_eq!(error.invalid[0].value, " not a dsn\r");
        let padded = config(&[("SENTRY_DSN", " https://k@host/1\r")]).unwrap();
        assert!(padded.sentry_dsn.is_some());
    }
}

#[cfg(test)]
mod properties {
    use std::cell::RefCell;
    use std::collections::{BTreeSet, HashMap};

    use proptest::prelude::*;

    use super::*;

    /// Every variable the configuration reads.
    const VARIABLES: [&str; 14] = [
        "SENTRY_DSN",
        "SENTRY_TRACES_SAMPLE_RATE",
        "SENTRY_PROFILES_SAMPLE_RATE",
        "RELEASE_VERSION",
        "ENABLE_METRICS",
        "PROMETHEUS_MULTIPROC_DIR",
        "APM_ENABLED",
        "APM_ENVIRONMENT",
        "ENVIRONMENT",
        "SENTRY_SEND_DEFAULT_PII",
        "SENTRY_DEBUG",
        "HEALTH_SHOW_DETAILS",
        "METRICS_ADDR",
        "MONITOR_TOKEN",
    ];
    const RATES: [&str; 2] = ["SENTRY_TRACES_SAMPLE_RATE", "SENTRY_PROFILES_SAMPLE_RATE"];
    const BOOLEANS: [&str; 5] = [
        "ENABLE_METRICS",
        "APM_ENABLED",
        "SENTRY_SEND_DEFAULT_PII",
        "SENTRY_DEBUG",
        "HEALTH_SHOW_DETAILS",
    ];

    #[test]
    fn the_variable_list_is_complete() {
        // A new variable missing here would escape the properties below.
        let asked = RefCell::new(BTreeSet::new());
        Config::builder()
            .from_lookup(|name| {
                asked.borrow_mut().insert(name.to_owned());
                None
            })
            .unwrap();
        let expected: BTreeSet<String> = VARIABLES.iter().map(|&v| v.to_owned()).collect();
        assert_eq!(asked.into_inner(), expected);
    }

    /// Values a person or a broken deployment could put in a variable.
    fn hostile_value() -> impl Strategy<Value = String> {
        let fixed = prop::sample::select(vec![
            "",
            " ",
            "\t\n",
            "0",
            "1",
            "0.5",
            "1.0",
            "-0",
            "-0.0",
            "+0.5",
            ".5",
            "5.",
            "1e-1",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "-1",
            "-0.1",
            "-1e-50",
            "1.00000001",
            "1.0000001",
            "1e308",
            "1e39",
            "1e-50",
            "0x1",
            "0x0.8p0",
            "0,5",
            "½",
            "true",
            "FALSE",
            " yes ",
            "No",
            "on",
            "off",
            "y",
            "tru\u{0}e",
            "\u{2003}1\u{2003}",
            "https://public@o1.ingest.example.com/42",
            " http://k@127.0.0.1:9/1 ",
            "https://@host/1",
            "https://k@/1",
            "ftp://k@host/1",
            "https://k@host/",
            "https://k@host/not-a-number",
            "http://k@host/1?x=\u{0}",
            "é",
            "\u{feff}",
        ])
        .prop_map(str::to_owned);
        prop_oneof![
            3 => fixed,
            3 => any::<String>(),
            1 => any::<f64>().prop_map(|f| f.to_string()),
            1 => any::<f64>().prop_map(|f| format!("{f:e}")),
            1 => any::<i128>().prop_map(|i| i.to_string()),
            1 => (1usize..400).prop_map(|n| format!("0.{}", "9".repeat(n))),
            1 => (1usize..400).prop_map(|n| "9".repeat(n)),
            1 => (any::<char>(), 1usize..70_000).prop_map(|(c, n)| c.to_string().repeat(n)),
            1 => "[ \t]{0,3}(true|false|yes|no|1|0|0\\.[0-9]{1,6})[ \t]{0,3}",
        ]
    }

    /// Whether `value` is invalid for `name`, decided from the documented rules.
    fn rejected(name: &str, value: &str) -> bool {
        if name == "MONITOR_TOKEN" {
            // Taken as written: a space is a character of the token, and not a valid one.
            return !value.is_empty() && MonitorToken::new(value).is_none();
        }
        if name == "RELEASE_VERSION" {
            return !value.trim().is_empty() && !is_release(value);
        }
        if name == "APM_ENVIRONMENT" || name == "ENVIRONMENT" {
            return !value.trim().is_empty() && !is_environment(value);
        }
        let value = value.trim();
        if name == "METRICS_ADDR" {
            !value.is_empty() && value.parse::<SocketAddr>().is_err()
        } else if name == "SENTRY_DSN" {
            !value.is_empty() && value.parse::<Dsn>().is_err()
        } else if RATES.contains(&name) {
            !value
                .parse::<f64>()
                .is_ok_and(|rate| (0.0..=1.0).contains(&rate))
        } else if BOOLEANS.contains(&name) {
            !["true", "false", "1", "0", "yes", "no"]
                .iter()
                .any(|word| value.eq_ignore_ascii_case(word))
        } else {
            false
        }
    }

    fn environment() -> impl Strategy<Value = HashMap<&'static str, String>> {
        VARIABLES
            .map(|name| {
                proptest::option::weighted(0.8, hostile_value()).prop_map(move |v| (name, v))
            })
            .prop_map(|pairs| {
                pairs
                    .into_iter()
                    .filter_map(|(name, value)| Some((name, value?)))
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn any_values_are_read_without_panicking_and_every_invalid_one_is_named(
            vars in environment()
        ) {
            let result = Config::builder().from_lookup(|name| vars.get(name).cloned());
            let expected: Vec<&str> = VARIABLES
                .iter()
                .copied()
                // ENVIRONMENT is read only when APM_ENVIRONMENT is not set.
                .filter(|name| *name != "ENVIRONMENT" || !vars.contains_key("APM_ENVIRONMENT"))
                .filter(|name| vars.get(name).is_some_and(|value| rejected(name, value)))
                .collect();
            match result {
                Ok(_) => prop_assert!(expected.is_empty(), "accepted invalid {expected:?}"),
                Err(error) => {
                    let named: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
                    prop_assert_eq!(&named, &expected);
                    let message = error.to_string();
                    for invalid in &error.invalid {
                        if invalid.name == "MONITOR_TOKEN" {
                            let token = &vars[invalid.name];
                            let hidden = format!("<hidden, {} characters>", token.chars().count());
                            prop_assert_eq!(&invalid.value, &hidden, "a secret is never shown");
                            let shown_elsewhere = error
                                .invalid
                                .iter()
                                .any(|other| other.name != invalid.name && other.value.contains(token.as_str()));
                            prop_assert!(
                                token.len() < 12 || shown_elsewhere || !message.contains(token.as_str())
                            );
                        } else {
                            prop_assert_eq!(&invalid.value, &vars[invalid.name], "the value as found");
                        }
                        let shown = format!("{}={:?}", invalid.name, invalid.value);
                        prop_assert!(message.contains(&shown), "{} not in the message", invalid.name);
                    }
                }
            }
        }

        #[test]
        fn valid_values_are_accepted_as_written(
            traces in 0.0f64..=1.0,
            profiles in 0.0f64..=1.0,
            exponent in any::<bool>(),
            padding in "[ \t]{0,2}",
            booleans in prop::array::uniform5((any::<bool>(), 0usize..3, any::<bool>())),
            release in "\\PC{0,40}".prop_filter("a release", |r| is_release(r)),
            environment in "\\PC{0,40}".prop_filter("an environment", |e| is_environment(e)),
            key in "[a-f0-9]{1,32}",
            // "??--" labels are reserved for IDNA (xn--...) and rejected unless valid punycode.
            host in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6})?"
                .prop_filter("not a reserved IDNA label", |h| h.get(2..4) != Some("--")),
            project in 1u64..=u64::from(u32::MAX),
        ) {
            let rate = |rate: f64| if exponent { format!("{padding}{rate:e}") } else { format!("{rate}{padding}") };
            let mut vars = HashMap::from([
                ("SENTRY_DSN", format!("{padding}https://{key}@{host}/{project}")),
                ("SENTRY_TRACES_SAMPLE_RATE", rate(traces)),
                ("SENTRY_PROFILES_SAMPLE_RATE", rate(profiles)),
                ("RELEASE_VERSION", release.clone()),
                ("APM_ENVIRONMENT", environment.clone()),
            ]);
            for (name, (value, spelling, upper)) in BOOLEANS.into_iter().zip(booleans) {
                let word = [["false", "0", "no"], ["true", "1", "yes"]][usize::from(value)][spelling];
                let word = if upper { word.to_ascii_uppercase() } else { word.to_owned() };
                vars.insert(name, format!("{padding}{word}{padding}"));
            }
            let config = Config::builder()
                .from_lookup(|name| vars.get(name).cloned())
                .map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert_eq!(config.traces_sample_rate, traces as f32);
            prop_assert_eq!(config.profiles_sample_rate, profiles as f32);
            let dsn = config.sentry_dsn.as_ref().unwrap();
            prop_assert_eq!((dsn.public_key(), dsn.host()), (key.as_str(), host.as_str()));
            prop_assert_eq!(dsn.project_id().value(), project.to_string());
            let flags = [
                config.enable_metrics,
                config.apm_enabled,
                config.send_default_pii,
                config.debug,
                config.health_show_details,
            ];
            prop_assert_eq!(flags, booleans.map(|(value, _, _)| value));
            prop_assert_eq!(config.release, Some(release.clone()).filter(|r| !r.trim().is_empty()));
            let expected_environment = if environment.trim().is_empty() { "development" } else { &environment };
            prop_assert_eq!(config.environment, expected_environment);
        }

        #[test]
        fn rates_set_in_code_are_checked_like_variables(rate in prop_oneof![
            any::<f64>(),
            -1e-30f64..1e-30,
            1.0f64..1.000_001,
            Just(f64::NAN),
            Just(-0.0),
        ]) {
            let result = Config::builder()
                .traces_sample_rate(rate)
                .profiles_sample_rate(rate)
                .from_lookup(|_| None);
            if (0.0..=1.0).contains(&rate) {
                let config = result.map_err(|error| TestCaseError::fail(error.to_string()))?;
                prop_assert_eq!(config.traces_sample_rate, rate as f32);
            } else {
                let error = result.expect_err("a rate outside 0..=1");
                let named: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
                prop_assert_eq!(named, RATES);
            }
        }
    }
}
