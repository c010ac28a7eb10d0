//! Profiling of a GPU engine: dispatch, submit, upload and readback counters and per-pass GPU
//! time from timestamp queries, kept only when the engine was opened with
//! [`crate::GpuOptions::profile`] (otherwise the context holds no [`Profiler`], creates no query
//! set and counts nothing).
//!
//! Every compute pass a capability records goes through [`Context::pass`], under a name: the
//! pipeline's entry point for the single-pipeline passes of [`Context::dispatch_steps`], or the
//! name a capability gives a pass that runs several pipelines (e.g. `kci`, `rff`). When the
//! adapter offers `TIMESTAMP_QUERY` (lavapipe does), each such pass writes a timestamp at its
//! start and its end into a query set of its own, resolved into a small buffer in the same
//! encoder; [`Context::submit_and_read`] maps those buffers after the device is idle and adds
//! each pass's time to its name. Uploads are counted where buffers are created from host bytes
//! ([`Context::storage_as`], [`Context::uniform`], [`Context::resident`]), readbacks where the
//! staging buffer is mapped (its whole size, or the size asked of a pooled one), and the
//! per-batch buffers of the pool ([`super::pool`]) as created or reused. Timestamp buffers
//! themselves are not counted.
//!
//! Passes are matched to their submit by thread (a job records and submits its encoder on one
//! thread, as the error scopes already require).

use super::Context;
use crate::profile::{KernelProfile, Profile};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::thread::ThreadId;

/// A pass's resolved timestamps waiting for their submit.
struct Pending {
    thread: ThreadId,
    name: &'static str,
    buffer: wgpu::Buffer,
}

/// The counters of a profiled context.
pub(crate) struct Profiler {
    /// Whether passes write timestamps (the adapter offered `TIMESTAMP_QUERY`).
    timestamps: bool,
    submits: AtomicU64,
    uploaded: AtomicU64,
    read_back: AtomicU64,
    buffers_created: AtomicU64,
    buffers_reused: AtomicU64,
    /// name → (dispatches, GPU seconds)
    kernels: Mutex<BTreeMap<&'static str, (u64, f64)>>,
    pending: Mutex<Vec<Pending>>,
}

impl Profiler {
    pub(crate) fn new(timestamps: bool) -> Self {
        Profiler {
            timestamps,
            submits: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            read_back: AtomicU64::new(0),
            buffers_created: AtomicU64::new(0),
            buffers_reused: AtomicU64::new(0),
            kernels: Mutex::new(BTreeMap::new()),
            pending: Mutex::new(Vec::new()),
        }
    }

    fn read(&self) -> Profile {
        Profile {
            kernels: self
                .kernels
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(name, &(dispatches, secs))| KernelProfile {
                    name: name.to_string(),
                    dispatches,
                    gpu_seconds: self.timestamps.then_some(secs),
                })
                .collect(),
            submits: self.submits.load(Relaxed),
            bytes_uploaded: self.uploaded.load(Relaxed),
            bytes_read_back: self.read_back.load(Relaxed),
            buffers_created: self.buffers_created.load(Relaxed),
            buffers_reused: self.buffers_reused.load(Relaxed),
        }
    }

    fn reset(&self) {
        self.kernels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.submits.store(0, Relaxed);
        self.uploaded.store(0, Relaxed);
        self.read_back.store(0, Relaxed);
        self.buffers_created.store(0, Relaxed);
        self.buffers_reused.store(0, Relaxed);
    }
}

impl Context {
    /// What the engine did since it was opened or reset (`None` when not profiling).
    pub(crate) fn profile(&self) -> Option<Profile> {
        self.profiler.as_ref().map(|p| p.read())
    }

    /// Zeroes the counters (nothing when not profiling).
    pub(crate) fn reset_profile(&self) {
        if let Some(p) = &self.profiler {
            p.reset();
        }
    }

    /// Counts `bytes` uploaded from the host.
    pub(crate) fn count_upload(&self, bytes: u64) {
        if let Some(p) = &self.profiler {
            p.uploaded.fetch_add(bytes, Relaxed);
        }
    }

    /// Counts a per-batch buffer taken from the pool: `created` (none idle) or reused.
    pub(crate) fn count_buffer(&self, created: bool) {
        if let Some(p) = &self.profiler {
            let c = if created {
                &p.buffers_created
            } else {
                &p.buffers_reused
            };
            c.fetch_add(1, Relaxed);
        }
    }

    /// Records one compute pass named `name` holding `dispatches` dispatches: `record` sets its
    /// pipelines and dispatches. When profiling with timestamps, the pass writes its start and
    /// end times, resolved in `enc` for [`Context::submit_and_read`] to read.
    pub(crate) fn pass(
        &self,
        enc: &mut wgpu::CommandEncoder,
        name: &'static str,
        dispatches: u64,
        record: impl FnOnce(&mut wgpu::ComputePass<'_>),
    ) {
        let Some(p) = self.profiler.as_ref() else {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(name),
                timestamp_writes: None,
            });
            record(&mut pass);
            return;
        };
        p.kernels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name)
            .or_default()
            .0 += dispatches;
        if !p.timestamps {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(name),
                timestamp_writes: None,
            });
            record(&mut pass);
            return;
        }
        let set = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some(name),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(name),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &set,
                    beginning_of_pass_write_index: Some(0),
                    end_of_pass_write_index: Some(1),
                }),
            });
            record(&mut pass);
        }
        let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let buffer = self.staging(16);
        enc.resolve_query_set(&set, 0..2, &resolve, 0);
        enc.copy_buffer_to_buffer(&resolve, 0, &buffer, 0, 16);
        p.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Pending {
                thread: std::thread::current().id(),
                name,
                buffer,
            });
    }

    /// Just after a submit that reads back `staging_bytes`: counts it and asks for this
    /// thread's pending timestamp buffers (recorded in that submit) to be mapped, before the
    /// wait for the device.
    pub(crate) fn profile_submit(&self, staging_bytes: u64) -> Vec<(&'static str, wgpu::Buffer)> {
        let Some(p) = self.profiler.as_ref() else {
            return Vec::new();
        };
        p.submits.fetch_add(1, Relaxed);
        p.read_back.fetch_add(staging_bytes, Relaxed);
        let me = std::thread::current().id();
        let mut pending = p.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (mine, others): (Vec<Pending>, Vec<Pending>) =
            pending.drain(..).partition(|q| q.thread == me);
        *pending = others;
        mine.into_iter()
            .map(|q| {
                q.buffer.map_async(wgpu::MapMode::Read, .., |_| {});
                (q.name, q.buffer)
            })
            .collect()
    }

    /// After the device is idle: adds the times of `timed` (from [`Context::profile_submit`]).
    pub(crate) fn profile_read(&self, timed: Vec<(&'static str, wgpu::Buffer)>) {
        let Some(p) = self.profiler.as_ref() else {
            return;
        };
        let period = self.queue.get_timestamp_period() as f64 * 1e-9;
        let mut kernels = p.kernels.lock().unwrap_or_else(|e| e.into_inner());
        for (name, buffer) in timed {
            let Ok(view) = buffer.get_mapped_range(..) else {
                continue;
            };
            let start: u64 = bytemuck::pod_read_unaligned(&view[0..8]);
            let end: u64 = bytemuck::pod_read_unaligned(&view[8..16]);
            let secs = end.saturating_sub(start) as f64 * period;
            kernels.entry(name).or_default().1 += secs;
        }
    }
}
