//! Settings read from the environment: each variable parsed strictly, and every invalid one
//! reported at once, naming the variable, its value and what was expected.

use std::fmt;

/// One environment variable with a value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidVariable {
    /// The variable's name.
    pub name: &'static str,
    /// Its value as found.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

/// Every invalid environment variable found while reading the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variables, in the order they were read.
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

/// Reads variables, collecting the invalid ones.
#[derive(Default)]
pub(crate) struct EnvReader {
    invalid: Vec<InvalidVariable>,
}

impl EnvReader {
    /// A boolean: `true`/`false`, `1`/`0`, `yes`/`no`, in any case; `default` when unset.
    pub(crate) fn bool(&mut self, name: &'static str, default: bool) -> bool {
        let Ok(value) = std::env::var(name) else {
            return default;
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                self.invalid.push(InvalidVariable {
                    name,
                    value,
                    expected: "true, false, 1, 0, yes or no",
                });
                default
            }
        }
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
