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
}
