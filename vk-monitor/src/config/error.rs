//! Invalid settings: each named with its value and what was expected, all reported at once.

use std::fmt;

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
