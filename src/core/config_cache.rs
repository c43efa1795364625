//! Configuration every request reads and almost none writes — the feed
//! visibility grants, the feed groups — kept in process, so a read does not go to the
//! database for it.
//!
//! Invalidation. Every cached value carries the `Stamp` it was loaded
//! under, and is served only while the stamp is unchanged:
//! - this process's writes bump `local` once they have committed, before
//!   the write is acknowledged: a request that follows the ack on this
//!   instance never sees the old value;
//! - other processes' writes (PostgreSQL: several instances over one
//!   database) reach us through the store's `config_writes` — a NOTIFY sent
//!   inside the writer's transaction, so it is delivered only if and once
//!   it commits, and counted by the store's LISTEN connection. Another
//!   instance serves the new value as soon as the notification arrives (a
//!   few milliseconds); while the listener is not connected nothing is
//!   cached, since writes made meanwhile would go unheard.
//!
//! Why NOTIFY rather than a version row read on every request: that read
//! is a round trip of its own, which is what the cache is there to save.
//!
//! A load that raced with a write is used once but not kept: the stamp is
//! read before loading and the value is stored only if it is still the
//! same afterwards, so a value read before a commit can never be stored
//! under a stamp taken after it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::error::Result;
use super::model::FeedGroup;
use super::storage::{ConfigWrites, Grants};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    local: u64,
    remote: u64,
}

pub struct ConfigCache {
    /// Bumped by this process's configuration writes, after they commit.
    local: AtomicU64,
    /// Other processes' writes, where there can be any.
    remote: Option<watch::Receiver<ConfigWrites>>,
    /// Every visibility level's effective grants (`feed_visibility_ops::all_grants`).
    grants: RwLock<Option<(Stamp, Arc<Grants>)>>,
    /// Every feed group, soft-deleted ones included (`list_feed_groups`).
    feed_groups: RwLock<Option<(Stamp, Arc<Vec<FeedGroup>>)>>,
}

type Slot<T> = RwLock<Option<(Stamp, Arc<T>)>>;

impl ConfigCache {
    pub fn new(remote: Option<watch::Receiver<ConfigWrites>>) -> Self {
        ConfigCache { local: AtomicU64::new(0), remote, grants: RwLock::new(None), feed_groups: RwLock::new(None) }
    }

    /// The stamp values are valid under now; `None` when other processes'
    /// writes cannot be heard.
    fn stamp(&self) -> Option<Stamp> {
        let remote = match &self.remote {
            None => 0,
            Some(rx) => {
                let heard = *rx.borrow();
                if !heard.listening {
                    return None;
                }
                heard.count
            }
        };
        Some(Stamp { local: self.local.load(Ordering::Acquire), remote })
    }

    /// Called once a configuration write of this process has committed (or
    /// failed in a way that may have committed), before it is acknowledged.
    pub fn invalidate(&self) {
        self.local.fetch_add(1, Ordering::AcqRel);
    }

    /// The cached grants, or those `load` reads (kept if no write
    /// intervened).
    pub async fn grants<F, Fut>(&self, load: F) -> Result<Arc<Grants>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Grants>>,
    {
        self.cached(&self.grants, load).await
    }

    /// The cached feed groups, or those `load` reads (kept if no write
    /// intervened). Feed group writes invalidate like every configuration
    /// write: `invalidate` here, and the store's announcement to others.
    pub async fn feed_groups<F, Fut>(&self, load: F) -> Result<Arc<Vec<FeedGroup>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<FeedGroup>>>,
    {
        self.cached(&self.feed_groups, load).await
    }

    async fn cached<T, F, Fut>(&self, slot: &Slot<T>, load: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let stamp = self.stamp();
        if let Some(stamp) = stamp {
            let cached = slot.read().unwrap_or_else(|e| e.into_inner());
            if let Some((_, value)) = cached.as_ref().filter(|(at, _)| *at == stamp) {
                return Ok(value.clone());
            }
        }
        let loaded = Arc::new(load().await?);
        if let Some(stamp) = stamp.filter(|s| self.stamp() == Some(*s)) {
            *slot.write().unwrap_or_else(|e| e.into_inner()) = Some((stamp, loaded.clone()));
        }
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn grants(tag: &str) -> Grants {
        BTreeMap::from([(tag.to_string(), BTreeMap::new())])
    }

    async fn read(cache: &ConfigCache, tag: &str) -> String {
        let g = cache.grants(|| async { Ok(grants(tag)) }).await.unwrap();
        g.keys().next().unwrap().clone()
    }

    #[tokio::test]
    async fn cached_until_a_local_write_commits() {
        let cache = ConfigCache::new(None);
        assert_eq!(read(&cache, "a").await, "a");
        assert_eq!(read(&cache, "b").await, "a", "served from the cache");
        cache.invalidate();
        assert_eq!(read(&cache, "c").await, "c");
    }

    #[tokio::test]
    async fn feed_groups_are_cached_beside_the_grants_and_invalidated_with_them() {
        let cache = ConfigCache::new(None);
        let group = |id: &str| FeedGroup {
            id: id.into(),
            config: Default::default(),
            created_at: Default::default(),
            updated_at: Default::default(),
            deleted_at: None,
        };
        async fn ids(cache: &ConfigCache, loaded: FeedGroup) -> String {
            cache.feed_groups(|| async { Ok(vec![loaded]) }).await.unwrap()[0].id.clone()
        }
        assert_eq!(ids(&cache, group("a")).await, "a");
        assert_eq!(read(&cache, "g").await, "g");
        assert_eq!(ids(&cache, group("b")).await, "a", "served from the cache");
        cache.invalidate();
        assert_eq!(ids(&cache, group("c")).await, "c");
        assert_eq!(read(&cache, "h").await, "h");
    }

    #[tokio::test]
    async fn a_load_that_raced_with_a_write_is_not_kept() {
        let cache = ConfigCache::new(None);
        let g = cache
            .grants(|| async {
                cache.invalidate(); // a write commits while the old value is read
                Ok(grants("old"))
            })
            .await
            .unwrap();
        assert!(g.contains_key("old"), "used once");
        assert_eq!(read(&cache, "new").await, "new", "but not kept");
    }

    #[tokio::test]
    async fn other_processes_writes_and_a_deaf_listener_invalidate() {
        let (tx, rx) = watch::channel(ConfigWrites { count: 0, listening: true });
        let cache = ConfigCache::new(Some(rx));
        assert_eq!(read(&cache, "a").await, "a");
        assert_eq!(read(&cache, "b").await, "a");
        tx.send_modify(|w| w.count += 1);
        assert_eq!(read(&cache, "c").await, "c");
        tx.send_modify(|w| w.listening = false);
        assert_eq!(read(&cache, "d").await, "d");
        assert_eq!(read(&cache, "e").await, "e", "nothing is cached while deaf");
    }
}
