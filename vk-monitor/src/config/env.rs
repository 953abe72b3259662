//! Reading variables: the `.env` file, and a reader that parses values through a lookup and
//! collects every invalid one (set but empty, not UTF-8, or unparsable), hiding secrets.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::error::{ConfigError, InvalidVariable};

/// What a lookup found for one variable.
pub(super) enum Found {
    Unset,
    Text(String),
    /// Set, but not UTF-8: reported by its length, since it may be a secret.
    NotUnicode(usize),
}

impl From<Option<String>> for Found {
    fn from(value: Option<String>) -> Self {
        value.map_or(Found::Unset, Found::Text)
    }
}

/// The process environment: a value that is not UTF-8 is kept apart from an unset one, so
/// that it is reported rather than silently ignored.
pub(super) fn process_var(name: &str) -> Found {
    match std::env::var_os(name) {
        None => Found::Unset,
        Some(value) => match value.into_string() {
            Ok(text) => Found::Text(text),
            Err(value) => Found::NotUnicode(value.len()),
        },
    }
}

/// The `.env` file in `start` or the nearest parent that has one: its pairs, and what was
/// wrong with it if anything. The error names the file, the line and the variable, never the
/// line's text, which may hold a token or a DSN.
pub(super) fn read_dotenv(start: &Path) -> (HashMap<String, String>, Option<String>) {
    let Some(path) = find_dotenv(start) else {
        return (HashMap::new(), None);
    };
    let content = match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(content) => content,
            Err(_) => {
                return (
                    HashMap::new(),
                    Some(format!("{}: not UTF-8 text", path.display())),
                );
            }
        },
        Err(error) => {
            return (
                HashMap::new(),
                Some(format!("{}: {}", path.display(), error.kind())),
            );
        }
    };
    let mut pairs = HashMap::new();
    for item in dotenvy::from_read_iter(content.as_bytes()) {
        match item {
            Ok((key, value)) => {
                pairs.insert(key, value);
            }
            Err(dotenvy::Error::LineParse(..)) => {
                return (pairs, Some(describe_bad_line(&path, &content)));
            }
            // Substitution of an unset or non-UTF-8 variable, or a read error: neither carries
            // the file's text in our message.
            Err(dotenvy::Error::EnvVar(error)) => {
                return (pairs, Some(format!("{}: {error}", path.display())));
            }
            Err(_) => return (pairs, Some(format!("{}: unreadable", path.display()))),
        }
    }
    (pairs, None)
}

fn find_dotenv(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(".env"))
        .find(|candidate| candidate.is_file())
}

/// `path line N (VARIABLE), value not shown`, never quoting the file: the parser's own error
/// holds the refused text, which may be a value, or a token pasted on a line of its own. The
/// line is the first whose prefix of the file no longer parses; its variable is named only
/// when that line reads `NAME=` with a valid name.
fn describe_bad_line(path: &Path, content: &str) -> String {
    let lines: Vec<&str> = content.split_inclusive('\n').collect();
    let parses = |count: usize| {
        let prefix: String = lines[..count].concat();
        dotenvy::from_read_iter(prefix.as_bytes()).all(|item| item.is_ok())
    };
    let number = (1..=lines.len()).find(|&count| !parses(count));
    let key = number.and_then(|number| {
        let line = lines[number - 1].trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (name, _) = line.split_once('=')?;
        let name = name.trim();
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        valid.then_some(name)
    });
    let mut described = path.display().to_string();
    if let Some(number) = number {
        described.push_str(&format!(" line {number}"));
    }
    match key {
        Some(key) => described.push_str(&format!(" ({key}), value not shown")),
        None => described.push_str(", not a KEY=value line (not shown)"),
    }
    described
}

/// What a set but empty variable is told.
const EMPTY_EXPECTED: &str = "a value: the variable is set but empty (unset it for the default)";

/// Reads variables through a lookup, collecting the invalid ones.
pub(super) struct EnvReader<L> {
    lookup: L,
    pub(super) invalid: Vec<InvalidVariable>,
    /// Variables already reported as not UTF-8, read more than once but named once.
    not_unicode: HashSet<&'static str>,
}

/// The process environment, then the `.env` file for what it leaves unset.
pub(super) type Environment = Box<dyn Fn(&str) -> Found + Send + Sync>;

impl EnvReader<Environment> {
    /// A reader of the process environment and `.env`; a malformed `.env` is reported first.
    pub(super) fn environment() -> Self {
        let (dotenv, dotenv_error) = match std::env::current_dir() {
            Ok(dir) => read_dotenv(&dir),
            Err(_) => Default::default(), // no working directory: no `.env` to look for
        };
        let mut reader = EnvReader::new(Box::new(move |name: &str| match process_var(name) {
            Found::Unset => Found::from(dotenv.get(name).cloned()),
            found => found,
        }) as Environment);
        if let Some(error) = dotenv_error {
            reader.invalid.push(InvalidVariable {
                name: ".env",
                value: error,
                expected: "KEY=value lines (the offending line is not shown: it may hold a secret)",
            });
        }
        reader
    }
}

impl<L: Fn(&str) -> Found> EnvReader<L> {
    pub(super) fn new(lookup: L) -> Self {
        EnvReader {
            lookup,
            invalid: Vec::new(),
            not_unicode: HashSet::new(),
        }
    }

    /// The variable's text; `None` when unset, or when it is not UTF-8, which is reported:
    /// treating such a value as unset would turn a broken secret into no secret.
    pub(super) fn text(&mut self, name: &'static str) -> Option<String> {
        match (self.lookup)(name) {
            Found::Unset => None,
            Found::Text(text) => Some(text),
            Found::NotUnicode(len) => {
                if self.not_unicode.insert(name) {
                    self.invalid.push(InvalidVariable {
                        name,
                        value: format!("<not UTF-8, {len} bytes>"),
                        expected: "UTF-8 text",
                    });
                }
                None
            }
        }
    }

    /// The variable's text when it is set and UTF-8, recording nothing: for a variable that
    /// another one overrides, compared but never used.
    pub(super) fn peek(&self, name: &str) -> Option<String> {
        match (self.lookup)(name) {
            Found::Text(text) => Some(text),
            Found::Unset | Found::NotUnicode(_) => None,
        }
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
            match value.chars().count() {
                0 => String::new(), // an empty secret is no secret; say plainly that it is empty
                len => format!("<hidden, {len} characters>"),
            }
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
        if value.trim().is_empty() {
            // A secret that failed to mount arrives as `NAME=`: taking it as unset would
            // leave what it guards open.
            self.invalid.push(InvalidVariable {
                name,
                value: value.to_owned(),
                expected: EMPTY_EXPECTED,
            });
            return None;
        }
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
