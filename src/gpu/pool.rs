//! A pool of the per-batch buffers of [`super::dispatch`]: the output, staging and uniform
//! buffers of a batch are taken from it by usage and size class and given back once the batch's
//! readback is done, so an engine running many batches (or many operations) allocates each
//! size class once instead of three buffers per batch.
//!
//! **Size classes.** A request of `b` bytes takes a buffer of `class(b)` bytes: `b` rounded up
//! to a quarter of its power of two (256, 320, 384, 448, 512, 640, … bytes; at most 25 % more
//! than asked, never past the device's `max_buffer_size`). Buffers are bound and copied with
//! the size asked for, not the class, so a shader's `arrayLength` is what it was; an output
//! buffer is cleared (to the zeros a new buffer has) before its batch writes it.
//!
//! **Lifetime.** A buffer is given back only by its owner after the device finished with it
//! (after the readback it belongs to, see [`super::dispatch::InFlight`]); a batch that fails
//! drops its buffers instead (they may be in any state). The pool keeps at most
//! [`Pool::cap`] bytes of idle buffers (a sixteenth of `max_buffer_size`, at most
//! [`POOL_BYTES`]); a buffer given back past that is dropped.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most bytes of idle buffers the pool keeps.
pub(crate) const POOL_BYTES: u64 = 256 << 20;

/// The size class of a request of `bytes` (see the module docs), at most `max` unless `bytes`
/// itself is more.
pub(crate) fn class(bytes: u64, max: u64) -> u64 {
    let b = bytes.max(256);
    let step = (1u64 << (63 - b.leading_zeros())) / 4;
    b.div_ceil(step).saturating_mul(step).min(max.max(b))
}

/// Counters of the pool, for the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolStats {
    /// Buffers created (a request that found no idle buffer of its class).
    pub created: u64,
    /// Requests served by an idle buffer.
    pub reused: u64,
    /// Idle buffers held now, and their bytes.
    pub idle: usize,
    pub idle_bytes: u64,
}

/// Idle buffers by (usage, class).
pub(crate) struct Pool {
    free: Mutex<Free>,
    cap: u64,
}

#[derive(Default)]
struct Free {
    buffers: HashMap<(u32, u64), Vec<wgpu::Buffer>>,
    bytes: u64,
    stats: PoolStats,
}

/// A buffer of the pool with the size it was asked for.
pub(crate) struct Pooled {
    pub buffer: wgpu::Buffer,
    /// The bytes asked for (the buffer may be larger: its class).
    pub size: u64,
}

impl Pooled {
    /// The first [`Pooled::size`] bytes, to bind.
    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: 0,
            size: std::num::NonZeroU64::new(self.size),
        })
    }
}

impl Pool {
    pub(crate) fn new(max_buffer_size: u64) -> Self {
        Pool {
            free: Mutex::new(Free::default()),
            cap: POOL_BYTES.min(max_buffer_size / 16),
        }
    }

    /// Most bytes of idle buffers kept.
    #[cfg(test)]
    pub(crate) fn cap(&self) -> u64 {
        self.cap
    }

    /// A buffer of `usage` holding at least `bytes` (a multiple of 4), idle or new, and
    /// whether it is new.
    pub(crate) fn take(
        &self,
        device: &wgpu::Device,
        label: &'static str,
        usage: wgpu::BufferUsages,
        bytes: u64,
        max: u64,
    ) -> (Pooled, bool) {
        let size = bytes.max(4).next_multiple_of(4);
        let class = class(size, max);
        let key = (usage.bits(), class);
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(buffer) = free.buffers.get_mut(&key).and_then(|v| v.pop()) {
            free.bytes -= class;
            free.stats.reused += 1;
            return (Pooled { buffer, size }, false);
        }
        free.stats.created += 1;
        drop(free);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: class,
            usage,
            mapped_at_creation: false,
        });
        (Pooled { buffer, size }, true)
    }

    /// Gives back `p` (the device is done with it, and it is unmapped); dropped past the cap.
    pub(crate) fn give(&self, p: Pooled) {
        let class = p.buffer.size();
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.bytes + class > self.cap {
            return;
        }
        free.bytes += class;
        free.buffers
            .entry((p.buffer.usage().bits(), class))
            .or_default()
            .push(p.buffer);
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> PoolStats {
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        PoolStats {
            idle: free.buffers.values().map(Vec::len).sum(),
            idle_bytes: free.bytes,
            ..free.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::class;

    #[test]
    fn classes_round_up_by_at_most_a_quarter() {
        assert_eq!(class(4, 1 << 30), 256);
        assert_eq!(class(256, 1 << 30), 256);
        assert_eq!(class(257, 1 << 30), 320);
        assert_eq!(class(1000, 1 << 30), 1024);
        assert_eq!(class(1025, 1 << 30), 1280);
        for b in (4..1u64 << 24).step_by(4093) {
            let c = class(b, u64::MAX);
            assert!(
                c >= b && (c as f64) <= (b.max(256) as f64) * 1.25,
                "{b} -> {c}"
            );
        }
        // never past the device's largest buffer, unless the request itself is
        assert_eq!(class(1000, 1010), 1010);
        assert_eq!(class(1000, 900), 1000);
    }
}
