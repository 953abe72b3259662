//! Reading variables: the `.env` file, and a reader that parses values through a lookup and
//! collects every invalid one, hiding secrets.

use std::collections::HashMap;

use super::error::{ConfigError, InvalidVariable};

/// The `.env` file's pairs, and what was wrong with it if anything.
pub(super) fn read_dotenv() -> (HashMap<String, String>, Option<String>) {
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
pub(super) struct EnvReader<L> {
    lookup: L,
    pub(super) invalid: Vec<InvalidVariable>,
}

impl<L: Fn(&str) -> Option<String>> EnvReader<L> {
    pub(super) fn new(lookup: L) -> Self {
        EnvReader {
            lookup,
            invalid: Vec::new(),
        }
    }

    pub(super) fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// Parses `value`, or records why it is invalid.
    pub(super) fn check<T>(
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
    pub(super) fn secret<T>(
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
    pub(super) fn bool(&mut self, name: &'static str, default: bool) -> bool {
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
    pub(super) fn rate(&mut self, name: &'static str, in_code: Option<f64>, default: f32) -> f32 {
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

    /// A whole number of 1 or more: set in code, else from the variable, else `default`.
    pub(super) fn positive(
        &mut self,
        name: &'static str,
        in_code: Option<usize>,
        default: usize,
    ) -> usize {
        let value = match in_code {
            Some(number) => number.to_string(),
            None => match self.text(name) {
                Some(value) => value,
                None => return default,
            },
        };
        self.check(name, &value, "a whole number of 1 or more", |v| {
            v.trim().parse::<usize>().ok().filter(|&number| number > 0)
        })
        .unwrap_or(default)
    }

    pub(super) fn finish(self) -> Result<(), ConfigError> {
        if self.invalid.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                invalid: self.invalid,
            })
        }
    }
}
