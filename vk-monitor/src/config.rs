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
pub(crate) struct EnvReader<L = fn(&str) -> Option<String>> {
    lookup: L,
    invalid: Vec<InvalidVariable>,
}

impl EnvReader {
    /// Reads the process environment.
    pub(crate) fn process() -> Self {
        EnvReader::new(|name| std::env::var(name).ok())
    }
}

impl<L: Fn(&str) -> Option<String>> EnvReader<L> {
    /// Reads through `lookup`, so tests need not touch the process environment.
    pub(crate) fn new(lookup: L) -> Self {
        EnvReader {
            lookup,
            invalid: Vec::new(),
        }
    }

    /// A boolean: `true`/`false`, `1`/`0`, `yes`/`no`, in any case; `default` when unset.
    pub(crate) fn bool(&mut self, name: &'static str, default: bool) -> bool {
        let Some(value) = (self.lookup)(name) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_common_spellings_and_name_what_is_wrong() {
        let env = |name: &str| match name {
            "A" => Some("Yes".to_owned()),
            "B" => Some("0".to_owned()),
            "C" => Some("maybe".to_owned()),
            "D" => Some("".to_owned()),
            _ => None,
        };
        let mut reader = EnvReader::new(env);
        assert!(reader.bool("A", false));
        assert!(!reader.bool("B", true));
        assert!(reader.bool("UNSET", true));
        reader.bool("C", false);
        reader.bool("D", false);
        let error = reader.finish().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid configuration: C=\"maybe\" (expected true, false, 1, 0, yes or no); \
             D=\"\" (expected true, false, 1, 0, yes or no);"
        );
    }
}
