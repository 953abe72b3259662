//! The application's own settings, read from the environment by the rules the crate's follow,
//! so that a service's start-up error names every bad variable at once, its and the crate's.

use super::env::{EnvReader, Environment};
use super::error::{ConfigError, InvalidVariable};

/// Reads an application's own environment variables (and `.env`) as the crate reads its
/// own: a variable set but empty is invalid (a secret that failed to mount arrives as
/// `NAME=`), as are values that are not UTF-8 or do not parse. Every invalid one is kept,
/// and [`MonitorBuilder::app_settings`](crate::MonitorBuilder::app_settings) reports them in
/// the same [`ConfigError`] as the crate's.
///
/// ```
/// use std::net::SocketAddr;
///
/// let mut settings = vk_monitor::AppSettings::from_lookup(|name| match name {
///     "LISTEN_ADDR" => Some("127.0.0.1:80800".to_owned()),
///     "SPEECH_URL" => Some(String::new()),
///     _ => None,
/// });
/// let listen: SocketAddr = settings.get_or(
///     "LISTEN_ADDR",
///     "127.0.0.1:3000".parse().unwrap(),
///     "a socket address such as 127.0.0.1:3000",
///     |v| v.parse().ok(),
/// );
/// let speech: Option<String> = settings.get("SPEECH_URL", "an http:// URL", |v| {
///     v.starts_with("http://").then(|| v.to_owned())
/// });
/// assert_eq!((listen.port(), speech), (3000, None)); // the defaults, until start-up fails:
/// let error = settings.finish().unwrap_err();
/// let named: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
/// assert_eq!(named, ["LISTEN_ADDR", "SPEECH_URL"]);
/// ```
pub struct AppSettings {
    reader: EnvReader<Environment>,
}

impl AppSettings {
    /// Reads the process environment, then the `.env` file for what it leaves unset, as the
    /// crate's settings are read.
    pub fn from_env() -> AppSettings {
        AppSettings {
            reader: EnvReader::environment(),
        }
    }

    /// Reads `lookup` instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        let lookup: Environment = Box::new(move |name: &str| lookup(name).into());
        AppSettings {
            reader: EnvReader::new(lookup),
        }
    }

    /// `name` parsed by `parse`; `None` when unset, or when invalid (set but empty, not
    /// UTF-8, or refused by `parse`), which is kept for the error with `expected`.
    pub fn get<T>(
        &mut self,
        name: &'static str,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let value = self.reader.text(name)?;
        self.reader.check(name, &value, expected, parse)
    }

    /// [`get`](Self::get), with `default` when unset or invalid (start-up fails anyway when
    /// invalid, with every error at once).
    pub fn get_or<T>(
        &mut self,
        name: &'static str,
        default: T,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> T {
        self.get(name, expected, parse).unwrap_or(default)
    }

    /// The invalid variables so far, in the order they were read.
    pub fn invalid(&self) -> &[InvalidVariable] {
        &self.reader.invalid
    }

    /// `Ok` when every variable read was valid; else all the invalid ones, for an application
    /// that reports them without a [`Monitor`](crate::Monitor).
    pub fn finish(self) -> Result<(), ConfigError> {
        match self.reader.invalid {
            invalid if invalid.is_empty() => Ok(()),
            invalid => Err(ConfigError { invalid }),
        }
    }

    /// The invalid variables, to be reported with the crate's.
    pub(crate) fn into_invalid(self) -> Vec<InvalidVariable> {
        self.reader.invalid
    }
}

impl std::fmt::Debug for AppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSettings")
            .field("invalid", &self.reader.invalid)
            .finish_non_exhaustive()
    }
}
