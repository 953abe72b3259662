//! Units of work keyed by identity and method (a route's, a host's): made once per identity
//! and kept for the life of the process. The steady state takes no lock and writes nothing
//! shared: each thread finds an identity in a map of its own, filled from the shared one on
//! its first use of it, and the identity's method in an array. (A host a client layer folds
//! into `other`, past its bound, is looked up in the layer's shared map each time.)
//!
//! A [`Scope`] is who names identities: the server names every route template, each client
//! layer names at most its limit of hosts and folds the rest into one identity.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use http::Method;

use super::objective::Objective;
use super::unit::{Families, Unit};
use crate::method::{LABELS, method_index, method_label};
use crate::metrics::{FnvBuild, HandleCache};

/// Every identity of one kind of work.
pub(crate) struct Tree {
    families: &'static Families,
    /// The identity's label: `route`, `host`.
    label: &'static str,
    identities: HandleCache<Box<str>, Identity>,
    /// The objective of each identity that has one, declared before its first unit is made.
    objectives: RwLock<Vec<(Box<str>, Objective)>>,
}

/// One identity's units, per method.
pub(crate) struct Identity {
    tree: &'static Tree,
    value: Box<str>,
    methods: [OnceLock<Unit>; LABELS],
}

impl Tree {
    pub(crate) const fn new(families: &'static Families, label: &'static str) -> Self {
        Tree {
            families,
            label,
            identities: HandleCache::new(),
            objectives: RwLock::new(Vec::new()),
        }
    }

    /// Gives the identity `value` the labels of `objective`, on the units made from now on;
    /// the first objective declared for a value is its objective.
    pub(crate) fn set_objective(&self, value: &str, objective: Objective) {
        let mut objectives = self
            .objectives
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !objectives.iter().any(|(known, _)| **known == *value) {
            objectives.push((value.into(), objective));
        }
    }

    fn objective_of(&self, value: &str) -> Option<Objective> {
        let objectives = self
            .objectives
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        objectives
            .iter()
            .find(|(known, _)| **known == *value)
            .map(|(_, objective)| *objective)
    }

    fn identity(&'static self, value: &str) -> &'static Identity {
        self.identities.get_or_insert(value, |value| {
            let identity = Identity {
                tree: self,
                value: value.into(),
                methods: [const { OnceLock::new() }; LABELS],
            };
            (value.into(), identity)
        })
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.value)
    }
}

impl Identity {
    /// The identity's label value, kept for the life of the process.
    pub(crate) fn name(&'static self) -> &'static str {
        &self.value
    }

    /// The unit of this identity and `method`, registered on first use.
    #[inline]
    pub(crate) fn method(&'static self, method: &Method) -> &'static Unit {
        let index = method_index(method);
        self.methods[index].get_or_init(|| {
            let labels = [
                ("method", method_label(index)),
                (self.tree.label, &*self.value),
            ];
            let objective = self.tree.objective_of(&self.value);
            Unit::new(self.tree.families, &labels, objective.as_ref())
        })
    }
}

/// Who names identities of a tree: every value, or the first `max` (then `overflow`).
pub(crate) struct Scope {
    id: usize,
    tree: &'static Tree,
    bound: Option<Bound>,
}

struct Bound {
    max: usize,
    overflow: &'static str,
    named: RwLock<HashMap<Box<str>, &'static Identity, FnvBuild>>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("label", &self.tree.label)
            .field("max", &self.bound.as_ref().map(|bound| bound.max))
            .finish_non_exhaustive()
    }
}

/// Scopes a thread keeps its own map for; past them (an application that builds client layers
/// over and over), the least used map is dropped, so memory per thread stays bounded.
const LOCAL_SCOPES: usize = 16;

/// The identities of one scope a thread has used, keyed by the identity's own copy of its
/// value: as many entries as the scope names, never a client's raw input.
type LocalMap = HashMap<&'static str, &'static Identity, FnvBuild>;

thread_local! {
    /// Per scope id, its map.
    static LOCAL: RefCell<Vec<(usize, LocalMap)>> = const { RefCell::new(Vec::new()) };
}

fn next_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Scope {
    /// A scope that names every value it is given (route templates, from code).
    pub(crate) fn unbounded(tree: &'static Tree) -> Self {
        Scope {
            id: next_id(),
            tree,
            bound: None,
        }
    }

    /// A scope that names the first `max` values and `overflow` for every other.
    pub(crate) fn bounded(tree: &'static Tree, max: usize, overflow: &'static str) -> Self {
        let bound = Bound {
            max,
            overflow,
            named: RwLock::new(HashMap::default()),
        };
        Scope {
            id: next_id(),
            tree,
            bound: Some(bound),
        }
    }

    /// The identity of `value`: from this thread's map, else from the shared one (and kept).
    #[inline]
    pub(crate) fn identity(&self, value: &str) -> &'static Identity {
        let local = LOCAL.try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            let index = match local.iter().position(|(id, _)| *id == self.id) {
                // A scope used moves one place forward: the busy ones (the server's routes,
                // on every request) stay at the front, first found and never the one evicted.
                Some(index) if index > 0 => {
                    local.swap(index, index - 1);
                    index - 1
                }
                Some(index) => index,
                None => {
                    if local.len() == LOCAL_SCOPES {
                        local.pop();
                    }
                    local.push((self.id, HashMap::default()));
                    local.len() - 1
                }
            };
            let map = &mut local[index].1;
            if let Some(&identity) = map.get(value) {
                return Some(identity);
            }
            let identity = self.shared(value);
            // An identity folded into the overflow is not kept under the value it came with.
            if identity.name() == value {
                map.insert(identity.name(), identity);
            }
            Some(identity)
        });
        // Without the thread's map (a thread being torn down): the shared one.
        local.ok().flatten().unwrap_or_else(|| self.shared(value))
    }

    fn shared(&self, value: &str) -> &'static Identity {
        let Some(bound) = &self.bound else {
            return self.tree.identity(value);
        };
        let named = bound.named.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(&identity) = named.get(value) {
            return identity;
        }
        let full = named.len() >= bound.max;
        drop(named);
        if full {
            return self.tree.identity(bound.overflow);
        }
        let mut named = bound.named.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&identity) = named.get(value) {
            return identity;
        }
        if named.len() >= bound.max {
            return self.tree.identity(bound.overflow);
        }
        let identity = self.tree.identity(value);
        named.insert(value.into(), identity);
        identity
    }
}
