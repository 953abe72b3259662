//! A map from a label value to metric handles that are made once and kept for the life of the
//! process, as the series they feed are: readers share a lock and get a `&'static` reference,
//! and only the first request for a key takes the write lock to make its handles.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{PoisonError, RwLock};

type Entries<K, V> = HashMap<K, &'static V, FnvBuild>;

/// Builds the [`Fnv`] hasher the caches use, for maps of label values kept elsewhere.
pub(crate) type FnvBuild = BuildHasherDefault<Fnv>;

pub(crate) struct HandleCache<K, V: 'static> {
    entries: RwLock<Option<Entries<K, V>>>,
}

/// FNV-1a. The keys are label values the application chose (route templates, statuses, error
/// kinds), never a client's raw input, so a flooding-resistant hash buys nothing here, and
/// SipHash would be most of a lookup's cost on every request.
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl<K: Hash + Eq, V: Sync> HandleCache<K, V> {
    pub(crate) const fn new() -> Self {
        HandleCache {
            entries: RwLock::new(None),
        }
    }

    /// The handles of `key`, made by `make` (and leaked) on its first use.
    pub(crate) fn get_or_insert<Q>(&self, key: &Q, make: impl FnOnce(&Q) -> (K, V)) -> &'static V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let known = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(handles) = known.as_ref().and_then(|entries| entries.get(key)) {
            return handles;
        }
        drop(known);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let entries = entries.get_or_insert_with(Entries::default);
        // Another thread may have made them between the two locks.
        if let Some(handles) = entries.get(key) {
            return handles;
        }
        let (key, handles) = make(key);
        let handles: &'static V = Box::leak(Box::new(handles));
        entries.insert(key, handles);
        handles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_made_once_per_key() {
        let cache: HandleCache<Box<str>, String> = HandleCache::new();
        let first = cache.get_or_insert("/calls", |key| (key.into(), format!("{key}!")));
        let again = cache.get_or_insert("/calls", |_| unreachable!("made once"));
        assert!(std::ptr::eq(first, again));
        assert_eq!(first, "/calls!");
        let other = cache.get_or_insert("/users", |key| (key.into(), key.to_owned()));
        assert_eq!(other, "/users");
    }
}
