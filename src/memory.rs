//! Memory checked before allocating: how much memory is available, read portably, and the one
//! check a capability's validation makes with its estimate of what a run will hold (kept
//! replicates, quantile buffers, kernel matrices), so that a run too large for the machine is an
//! [`Error`] naming the parameter to change instead of an abort in the allocator.
//!
//! **Available memory**: on Linux, `MemAvailable` of `/proc/meminfo` (older kernels: `MemFree +
//! Buffers + Cached`), capped by a cgroup v2 `memory.max` when one is set; elsewhere (or when
//! neither can be read) it is unknown and only allocations beyond what the address space allows
//! (`isize::MAX` bytes) are refused. `CETERIS_MEMORY_LIMIT` (bytes, for tests and for sharing a
//! machine) overrides what is read.

use crate::error::{Error, Result};

/// Bytes of memory available to this process, if known.
pub(crate) fn available() -> Option<u64> {
    if let Some(v) = std::env::var("CETERIS_MEMORY_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(v);
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok();
    let field = |name: &str| -> Option<u64> {
        let info = info.as_deref()?;
        let line = info.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_start_matches(':')
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    let host = field("MemAvailable").or_else(|| {
        Some(field("MemFree")? + field("Buffers").unwrap_or(0) + field("Cached").unwrap_or(0))
    });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    match (host, cgroup) {
        (Some(h), Some(c)) => Some(h.min(c)),
        (h, c) => h.or(c),
    }
}

/// `bytes` in the largest binary unit that keeps it at least 1 (`1.5 GiB`).
pub(crate) fn human(bytes: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Refuses a run that would hold `need` bytes (`None`: more than a `u64` counts) when more than
/// is available: an [`Error::InvalidParameter`] on `param` saying what needs the memory (`what`),
/// how much it needs, how much is available, and what to change (`advice`).
pub(crate) fn check(param: &str, what: &str, need: Option<u64>, advice: &str) -> Result<()> {
    let limit = available();
    let cap = limit.unwrap_or(isize::MAX as u64);
    match need {
        Some(need) if need <= cap => Ok(()),
        _ => {
            let need = need.map_or_else(|| "more than 16 EiB".to_string(), human);
            let have = match limit {
                Some(b) => format!("{} is available", human(b)),
                None => "that is more than this machine can address".to_string(),
            };
            Err(Error::param(
                param,
                format!("{what} needs about {need} of memory, but {have}: {advice}"),
            ))
        }
    }
}

/// `a × b × c` bytes, `None` on overflow.
pub(crate) fn product(factors: &[u64]) -> Option<u64> {
    factors.iter().try_fold(1u64, |acc, &f| acc.checked_mul(f))
}

/// Largest buffer a [`Scratch`] keeps between operations (256 MiB).
const SCRATCH_KEEP: usize = 256 << 20;

/// Smallest buffer a [`Scratch`] keeps (32 MiB): below it the allocator already reuses freed
/// blocks (glibc raises its mmap threshold to the size of a freed mapped block, up to 32 MiB,
/// and serves the next one from the heap, without fresh pages), so keeping them here gains
/// nothing (timed at n = 5000: no faster, if anything slower, within this VM's noise).
const SCRATCH_MIN: usize = 32 << 20;

/// An engine's host workspace: the last large `f64` buffer an operation handed back, kept (at
/// most one, from [`SCRATCH_MIN`] to [`SCRATCH_KEEP`] bytes) for the next operation on the same
/// engine, and freed with the engine. A fresh allocation of that size is mapped anew, and its
/// pages are zeroed by the kernel on first touch (about a quarter of the Z-feature time of an
/// RCoT test at n = 10⁵); a reused one is not. Buffers are handed out empty (`len` 0): callers
/// write before they read.
#[derive(Clone, Default)]
pub(crate) struct Scratch(std::sync::Arc<std::sync::Mutex<Option<Vec<f64>>>>);

impl Scratch {
    /// An empty buffer with room for at least `len` values: the kept one when it is large
    /// enough, else a new one.
    pub(crate) fn take(&self, len: usize) -> Vec<f64> {
        let kept = self.0.lock().map(|mut k| k.take()).unwrap_or(None);
        match kept {
            Some(mut v) if v.capacity() >= len => {
                v.clear();
                v
            }
            _ => Vec::with_capacity(len),
        }
    }

    /// Hands `v` back: kept when it is from [`SCRATCH_MIN`] to [`SCRATCH_KEEP`] bytes and larger
    /// than the one kept (else freed).
    pub(crate) fn give(&self, v: Vec<f64>) {
        let bytes = v.capacity() * std::mem::size_of::<f64>();
        if !(SCRATCH_MIN..=SCRATCH_KEEP).contains(&bytes) {
            return;
        }
        if let Ok(mut k) = self.0.lock() {
            if k.as_ref().is_none_or(|old| old.capacity() < v.capacity()) {
                *k = Some(v);
            }
        }
    }
}

/// A buffer from a [`Scratch`] that goes back to it when dropped.
pub(crate) struct Pooled {
    v: Vec<f64>,
    home: Scratch,
}

impl Pooled {
    /// `v` (from `home`), to be handed back to `home` when dropped.
    pub(crate) fn new(v: Vec<f64>, home: &Scratch) -> Pooled {
        Pooled {
            v,
            home: home.clone(),
        }
    }
}

impl std::ops::Deref for Pooled {
    type Target = Vec<f64>;
    fn deref(&self) -> &Vec<f64> {
        &self.v
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.home.give(std::mem::take(&mut self.v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") && std::env::var_os("CETERIS_MEMORY_LIMIT").is_none() {
            let b = available().expect("/proc/meminfo");
            assert!(b > 1 << 20, "{b}");
        }
    }

    #[test]
    fn human_sizes_and_refusals() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert!(check("x", "a run", Some(1024), "ask less").is_ok());
        let e = check("resamples", "a run", None, "ask less").unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("resamples") && m.contains("more than 16 EiB") && m.contains("ask less"),
            "{m}"
        );
        assert_eq!(product(&[1 << 40, 1 << 30]), None);
        assert_eq!(product(&[3, 4, 5]), Some(60));
    }

    /// A buffer handed back is handed out again (same allocation, emptied) when large enough;
    /// one outside the kept sizes is not kept.
    #[test]
    fn scratch_reuses_and_caps() {
        let s = Scratch::default();
        let len = SCRATCH_MIN / 8;
        let mut v = s.take(len);
        v.extend(std::iter::repeat_n(1.0, 1000));
        let at = v.as_ptr();
        drop(Pooled::new(v, &s));
        let again = s.take(len / 2);
        assert_eq!((again.as_ptr(), again.len()), (at, 0));
        assert!(again.capacity() >= len);
        let bigger = s.take(2 * len);
        assert!(bigger.capacity() >= 2 * len);
        s.give(Vec::with_capacity(SCRATCH_KEEP / 8 + 1));
        assert!(s.take(1).capacity() < len);
        s.give(Vec::with_capacity(len / 2));
        assert!(s.take(1).capacity() < len / 2);
    }
}
