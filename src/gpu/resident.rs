//! Device-resident copies of per-variable arrays that many jobs read.
//!
//! A capability may keep per-variable inputs on the host behind `Arc`s and hand the same `Arc`s
//! to every job (say, one array per variable of a data set that many jobs test). The context
//! keeps each such array, in the f32 layout the shaders read, in a device buffer of its own,
//! keyed by the address of its `Arc` and the array's [`Role`] (an opaque name the capability
//! chooses). Each entry holds a [`Weak`] to its owner and is used only while that `Weak`
//! upgrades to the same allocation, so an address freed and reused by another `Arc` is never
//! taken for a cached one (while the `Weak` exists the allocation cannot be reused at all). A job
//! then builds its packed buffers on the device by buffer-to-buffer copies from these entries
//! ([`copy_pieces`]), in the command encoder of its dispatches; only per-job data and the small
//! uniforms are written from the host.
//!
//! Eviction: at the start of every job the entries whose owner is gone are dropped; the entries
//! together hold at most [`cache_cap`] bytes (a quarter of the device's `max_buffer_size`, at
//! most [`CACHE_BYTES`]), and inserting past that evicts the least recently used entries. An array larger than the cap is uploaded for its job only. A job that
//! fails empties the cache (a failed upload could otherwise leave an invalid buffer behind).

use super::Context;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use wgpu::util::DeviceExt;

/// Most bytes the device cache holds (less when a quarter of the device's `max_buffer_size` is
/// less).
pub(crate) const CACHE_BYTES: u64 = 1 << 30;

/// Which array of its owner an entry holds (an owner may have several): a name the capability
/// chooses, e.g. `Role("factor")`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Role(pub &'static str);

/// Cumulative counters of a GPU engine's device cache (see [`crate::Engine::gpu_cache_stats`]).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuCacheStats {
    /// Per-variable arrays uploaded from the host (cached or, past the cap, not).
    pub uploads: u64,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Arrays a job found on the device.
    pub hits: u64,
    /// Entries evicted to stay within the cap.
    pub evictions: u64,
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now.
    pub bytes: u64,
}

struct Entry<B> {
    owner: Weak<dyn Any + Send + Sync>,
    value: B,
    bytes: u64,
    used: u64,
}

/// The cache proper, generic over what it holds (a `wgpu::Buffer` on the device; anything in
/// the unit tests).
pub(crate) struct DeviceCache<B> {
    entries: HashMap<(usize, Role), Entry<B>>,
    cap: u64,
    bytes: u64,
    tick: u64,
    stats: GpuCacheStats,
}

fn address<T>(owner: &Arc<T>) -> usize {
    Arc::as_ptr(owner) as *const () as usize
}

impl<B: Clone> DeviceCache<B> {
    pub(crate) fn new(cap: u64) -> Self {
        DeviceCache {
            entries: HashMap::new(),
            cap,
            bytes: 0,
            tick: 0,
            stats: GpuCacheStats::default(),
        }
    }

    /// Drops the entries whose owner is gone (called at the start of every job).
    pub(crate) fn prune(&mut self) {
        let before = self.entries.len();
        self.entries.retain(|_, e| e.owner.strong_count() > 0);
        if self.entries.len() != before {
            self.bytes = self.entries.values().map(|e| e.bytes).sum();
        }
    }

    /// Drops every entry.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    fn remove(&mut self, key: &(usize, Role)) {
        if let Some(e) = self.entries.remove(key) {
            self.bytes -= e.bytes;
        }
    }

    /// The cached array `role` of `owner`, if present (and marks it used).
    pub(crate) fn get<T: Any + Send + Sync>(&mut self, owner: &Arc<T>, role: Role) -> Option<B> {
        let key = (address(owner), role);
        let live = self.entries.get(&key).map(|e| {
            e.owner
                .upgrade()
                .is_some_and(|a| std::ptr::addr_eq(Arc::as_ptr(&a), Arc::as_ptr(owner)))
        })?;
        if !live {
            self.remove(&key);
            return None;
        }
        self.tick += 1;
        let e = self.entries.get_mut(&key).expect("present");
        e.used = self.tick;
        self.stats.hits += 1;
        Some(e.value.clone())
    }

    /// Records the upload of array `role` of `owner` (`bytes` bytes) and keeps it, evicting the
    /// least recently used entries past the cap; an array larger than the cap is not kept.
    /// Returns whether it was kept.
    pub(crate) fn insert<T: Any + Send + Sync>(
        &mut self,
        owner: &Arc<T>,
        role: Role,
        value: B,
        bytes: u64,
    ) -> bool {
        self.stats.uploads += 1;
        self.stats.uploaded_bytes += bytes;
        if bytes > self.cap {
            return false;
        }
        let key = (address(owner), role);
        self.remove(&key);
        while self.bytes + bytes > self.cap {
            let oldest = *self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k)
                .expect("bytes held, so entries");
            self.remove(&oldest);
            self.stats.evictions += 1;
        }
        self.tick += 1;
        let weak: Weak<T> = Arc::downgrade(owner);
        self.entries.insert(
            key,
            Entry {
                owner: weak,
                value,
                bytes,
                used: self.tick,
            },
        );
        self.bytes += bytes;
        true
    }

    pub(crate) fn stats(&self) -> GpuCacheStats {
        GpuCacheStats {
            entries: self.entries.len(),
            bytes: self.bytes,
            ..self.stats
        }
    }
}

/// One copy into a packed buffer: `words` f32 words of `src` at word `at`.
pub(crate) struct Piece {
    pub src: wgpu::Buffer,
    pub at: usize,
    pub words: usize,
}

/// The cap of the device cache: a quarter of `max_buffer_size`, at most [`CACHE_BYTES`].
pub(super) fn cache_cap(limits: &wgpu::Limits) -> u64 {
    CACHE_BYTES.min(limits.max_buffer_size / 4)
}

impl Context {
    /// Starts a job on the cache: drops the entries whose owner is gone.
    pub(crate) fn cache_begin(&self) {
        self.resident.lock().expect("cache lock").prune();
    }

    /// Empties the cache (after a failed job).
    pub(crate) fn cache_clear(&self) {
        self.resident.lock().expect("cache lock").clear();
    }

    /// The counters of the device cache.
    pub(crate) fn cache_stats(&self) -> GpuCacheStats {
        self.resident.lock().expect("cache lock").stats()
    }

    /// The device buffer of array `role` of `owner` (`None` when the array is empty): the cached
    /// one, or `data` uploaded now (and cached within the cap). Call inside error scopes.
    pub(crate) fn resident<T: Any + Send + Sync>(
        &self,
        owner: &Arc<T>,
        role: Role,
        data: impl FnOnce() -> Vec<f32>,
    ) -> Option<wgpu::Buffer> {
        if let Some(b) = self.resident.lock().expect("cache lock").get(owner, role) {
            return Some(b);
        }
        let data = data();
        if data.is_empty() {
            return None;
        }
        let buffer = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("ceteris cached array"),
                contents: bytemuck::cast_slice(&data),
                usage: wgpu::BufferUsages::COPY_SRC,
            });
        let bytes = 4 * data.len() as u64;
        self.count_upload(bytes);
        self.resident
            .lock()
            .expect("cache lock")
            .insert(owner, role, buffer.clone(), bytes);
        Some(buffer)
    }
}

/// Records the copies of `pieces` into `dst` (before the dispatches that read it).
pub(crate) fn copy_pieces(enc: &mut wgpu::CommandEncoder, dst: &wgpu::Buffer, pieces: &[Piece]) {
    for p in pieces {
        enc.copy_buffer_to_buffer(&p.src, 0, dst, 4 * p.at as u64, Some(4 * p.words as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_need_the_same_live_owner() {
        let mut c: DeviceCache<u32> = DeviceCache::new(100);
        let a = Arc::new(vec![1.0f64]);
        assert_eq!(c.get(&a, Role("factor")), None);
        assert!(c.insert(&a, Role("factor"), 7, 40));
        assert_eq!(c.get(&a, Role("factor")), Some(7));
        // another role of the same owner is another entry
        assert_eq!(c.get(&a, Role("basis")), None);
        // a clone of the Arc is the same owner; an equal value elsewhere is not
        assert_eq!(c.get(&a.clone(), Role("factor")), Some(7));
        assert_eq!(c.get(&Arc::new(vec![1.0f64]), Role("factor")), None);
        drop(a);
        c.prune();
        let s = c.stats();
        assert_eq!((s.entries, s.bytes, s.hits, s.uploads), (0, 0, 2, 1));
    }

    #[test]
    fn a_dead_owner_is_never_a_hit() {
        let mut c: DeviceCache<u32> = DeviceCache::new(100);
        let a = Arc::new(1u64);
        c.insert(&a, Role("basis"), 1, 8);
        drop(a);
        // the entry's Weak keeps the allocation, so a new Arc cannot take the address while the
        // entry exists; either way the lookup is a miss and the stale entry goes
        let b = Arc::new(2u64);
        assert_eq!(c.get(&b, Role("basis")), None);
        c.prune();
        assert_eq!(c.stats().entries, 0);
        let b2 = Arc::new(3u64);
        assert_eq!(c.get(&b2, Role("basis")), None);
    }

    #[test]
    fn least_recently_used_entries_go_past_the_cap() {
        let mut c: DeviceCache<u32> = DeviceCache::new(100);
        let owners: Vec<Arc<u8>> = (0..4).map(Arc::new).collect();
        for (i, o) in owners.iter().take(3).enumerate() {
            assert!(c.insert(o, Role("columns"), i as u32, 40));
            if i == 1 {
                // owner 0 used after owner 1 was inserted: owner 1 is now the oldest
                assert_eq!(c.get(&owners[0], Role("columns")), Some(0));
            }
        }
        // 120 > 100: the least recently used (owner 1) went
        assert_eq!(c.get(&owners[1], Role("columns")), None);
        assert_eq!(c.get(&owners[0], Role("columns")), Some(0));
        assert_eq!(c.get(&owners[2], Role("columns")), Some(2));
        let s = c.stats();
        assert_eq!((s.entries, s.bytes, s.evictions), (2, 80, 1));
        // larger than the cap: uploaded, not kept, nothing evicted
        assert!(!c.insert(&owners[3], Role("columns"), 3, 101));
        let s = c.stats();
        assert_eq!((s.entries, s.bytes, s.evictions, s.uploads), (2, 80, 1, 4));
        assert_eq!(s.uploaded_bytes, 40 * 3 + 101);
    }
}
