//! The list of families this crate's own storage renders, each with its series in the order
//! they were made, and the metadata lines every family starts with.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::exemplar::label_text;
use super::format::{self, Format};

/// The families of one kind of storage (counters, gauges), whose series are `S`.
pub(crate) struct FamilyList<S> {
    families: Mutex<Vec<Family<S>>>,
}

pub(crate) struct Family<S> {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) series: Vec<Series<S>>,
}

pub(crate) struct Series<S> {
    /// Rendered `key="value",...` pairs, without braces.
    pub(crate) labels: String,
    pub(crate) value: S,
}

impl<S> FamilyList<S> {
    pub(crate) const fn new() -> Self {
        FamilyList {
            families: Mutex::new(Vec::new()),
        }
    }

    /// Adds the series `name{labels}`, rendered from now on.
    pub(crate) fn add(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        value: S,
    ) {
        let series = Series {
            labels: label_text(labels),
            value,
        };
        let mut families = self.lock();
        match families.iter_mut().find(|family| family.name == name) {
            Some(family) => family.series.push(series),
            None => families.push(Family {
                name,
                help,
                series: vec![series],
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<Family<S>>> {
        self.families.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Appends the `# HELP` and `# TYPE` lines of the family `meta` (its name as `format` names it).
pub(crate) fn write_meta(out: &mut String, meta: &str, help: &str, kind: &str, format: Format) {
    for part in ["# HELP ", meta, " "] {
        out.push_str(part);
    }
    format::push_help(out, help, format);
    for part in ["\n# TYPE ", meta, " ", kind, "\n"] {
        out.push_str(part);
    }
}
