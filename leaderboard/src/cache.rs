//! Rendered task pages, kept while the database generation ([`crate::Db::generation`]) is
//! unchanged: any board rebuild or reveal switch, here or from another process, drops them all.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

/// At most this many pages are kept (a flood of distinct query strings just clears the cache).
const MAX_PAGES: usize = 512;

type Generation = (u64, i64);

#[derive(Default)]
pub struct PageCache {
    inner: Mutex<Option<(Generation, HashMap<String, Bytes>)>>,
}

impl PageCache {
    pub fn get(&self, key: &str, generation: Generation) -> Option<Bytes> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match &*inner {
            Some((g, pages)) if *g == generation => pages.get(key).cloned(),
            _ => None,
        }
    }

    pub fn put(&self, key: String, generation: Generation, body: Bytes) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (g, pages) = inner.get_or_insert_with(|| (generation, HashMap::new()));
        if *g != generation || pages.len() >= MAX_PAGES {
            *g = generation;
            pages.clear();
        }
        pages.insert(key, body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_live_for_one_generation() {
        let c = PageCache::default();
        assert!(c.get("a", (0, 1)).is_none());
        c.put("a".into(), (0, 1), Bytes::from_static(b"A"));
        assert_eq!(c.get("a", (0, 1)).unwrap(), Bytes::from_static(b"A"));
        assert!(c.get("a", (1, 1)).is_none() && c.get("a", (0, 2)).is_none());
        c.put("b".into(), (1, 1), Bytes::from_static(b"B"));
        assert!(c.get("a", (1, 1)).is_none(), "a new generation drops the old pages");
    }
}
