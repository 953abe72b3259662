//! The error of a health check registered under a name another check already has: `/ready`
//! and `health_check_up{check}` would show two results that nobody can tell apart.

use std::borrow::Cow;
use std::fmt;

/// A health check was registered under a name another check of the registry already has.
///
/// Names are compared exactly, as the responses and the `check` label show them: `"db-check"`
/// and `"db_check"`, or `"DB"` and `"db"`, are different checks.
///
/// ```
/// use vk_monitor::health::{CheckSpec, HealthRegistry};
///
/// let registry = HealthRegistry::new();
/// registry.register(CheckSpec::readiness("database"), || async { true })?;
/// registry.register(CheckSpec::readiness("db-check"), || async { true })?;
///
/// let again = registry.register(CheckSpec::liveness("database"), || async { true });
/// assert_eq!(again.unwrap_err().name(), "database");
/// # Ok::<(), vk_monitor::health::DuplicateCheck>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateCheck {
    name: Cow<'static, str>,
    /// The `#[health_check]` functions of the two, where the checks are annotated ones.
    functions: [Option<&'static str>; 2],
}

impl DuplicateCheck {
    pub(super) fn new(
        name: Cow<'static, str>,
        first: Option<&'static str>,
        second: Option<&'static str>,
    ) -> Self {
        DuplicateCheck {
            name,
            functions: [first, second],
        }
    }

    /// The name both checks have.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for DuplicateCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "two health checks are named \"{}\"", self.name)?;
        match self.functions {
            [Some(first), Some(second)] => write!(f, " ({first} and {second})")?,
            [Some(one), None] | [None, Some(one)] => write!(f, " (one of them {one})")?,
            [None, None] => {}
        }
        f.write_str(": give each check its own name (`#[health_check(name = \"...\")]`)")
    }
}

impl std::error::Error for DuplicateCheck {}
