//! Dispatch, submit and readback: a batch of dispatches is recorded into one command encoder,
//! submitted once, and its output read back once through a staging buffer. Failures caught by
//! the out-of-memory and validation error scopes, a lost device and a failed mapping all come
//! back as [`crate::Error::Gpu`].
//!
//! The output, staging and uniform buffers of [`Context::dispatch_steps`] come from the
//! context's pool ([`super::pool`]) and go back to it after the readback. A capability that
//! runs several batches in a loop can keep the device busy while it reads: it submits with
//! [`Context::dispatch_steps_submit`] and reads with [`Context::wait`], or hands both to
//! [`Context::pipelined`], which submits batch k + 1 before it maps batch k.

use super::pipeline::Pipeline;
use super::pool::Pooled;
use super::{gpu_err, Context};
use crate::error::Result;
use wgpu::util::DeviceExt;

/// One dispatch of [`Context::dispatch_steps`]: uniform bytes, input bindings, workgroup grid.
pub(crate) type RawStep<'a> = (&'a [u8], &'a [&'a wgpu::Buffer], (u32, u32));

/// The out-of-memory and validation scopes of one submit (popped by
/// [`Context::submit_and_read`]).
pub(crate) struct Scopes(wgpu::ErrorScopeGuard, wgpu::ErrorScopeGuard);

/// Where a batch is read back through: a pooled staging buffer (given back after the read) or
/// the caller's own.
enum Staging {
    Pooled(Pooled),
    Owned(wgpu::Buffer),
}

impl Staging {
    fn buffer(&self) -> &wgpu::Buffer {
        match self {
            Staging::Pooled(p) => &p.buffer,
            Staging::Owned(b) => b,
        }
    }

    /// The bytes mapped and counted as read back (the pooled buffer's asked-for size, the whole
    /// of the caller's).
    fn bytes(&self) -> u64 {
        match self {
            Staging::Pooled(p) => p.size,
            Staging::Owned(b) => b.size(),
        }
    }
}

/// A submitted batch not yet read back ([`Context::dispatch_steps_submit`]); read it with
/// [`Context::wait`]. Dropped unread, its buffers are dropped (not pooled).
pub(crate) struct InFlight {
    index: wgpu::SubmissionIndex,
    staging: Staging,
    words: usize,
    rx: std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
    timed: Vec<(&'static str, wgpu::Buffer)>,
    /// The batch's other pooled buffers (output, uniforms), given back after the read.
    keep: Vec<Pooled>,
}

impl Context {
    /// Opens the out-of-memory and validation scopes of a batch.
    pub(crate) fn scopes(&self) -> Scopes {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        Scopes(oom, val)
    }

    /// A bind group of `pipe`'s layout: `(binding, buffer)` pairs.
    pub(crate) fn bind(
        &self,
        pipe: &Pipeline,
        entries: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = entries
            .iter()
            .map(|&(binding, b)| wgpu::BindGroupEntry {
                binding,
                resource: b.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipe.layout,
            entries: &entries,
        })
    }

    /// A uniform buffer holding `bytes`.
    pub(crate) fn uniform(&self, bytes: &[u8]) -> wgpu::Buffer {
        self.count_upload(bytes.len() as u64);
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytes,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// One dispatch of `pipe`: binding 0 the uniform, then `inputs`, then the output; one
    /// submit, one readback of `out_words` words.
    pub(crate) fn dispatch_once(
        &self,
        pipe: &Pipeline,
        uniform_bytes: &[u8],
        inputs: &[&wgpu::Buffer],
        groups: (u32, u32),
        out_words: usize,
    ) -> Result<Vec<u32>> {
        self.dispatch_steps(pipe, &[(uniform_bytes, inputs, groups)], out_words)
    }

    /// Dispatches of `pipe`, in order (one compute pass each, so a step may read what the one
    /// before wrote), all writing one output buffer: each step's binding 0 is its uniform, then
    /// its `inputs`, then the shared output; one submit, one readback of `out_words` words.
    pub(crate) fn dispatch_steps(
        &self,
        pipe: &Pipeline,
        steps: &[RawStep],
        out_words: usize,
    ) -> Result<Vec<u32>> {
        self.dispatch_steps_read(pipe, steps, out_words, out_words)
    }

    /// [`Context::dispatch_steps`] reading back only the first `read_words` words of the
    /// `out_words`-word output (the rest is the steps' scratch, which stays on the device).
    pub(crate) fn dispatch_steps_read(
        &self,
        pipe: &Pipeline,
        steps: &[RawStep],
        out_words: usize,
        read_words: usize,
    ) -> Result<Vec<u32>> {
        let f = self.dispatch_steps_submit(pipe, steps, out_words, read_words)?;
        self.wait(f)
    }

    /// [`Context::dispatch_steps_read`] up to the submit: the batch runs while the caller
    /// prepares (and submits) the next one; [`Context::wait`] reads it back. Its output,
    /// staging and uniform buffers come from the pool ([`super::pool`]) and go back to it when
    /// the readback is done.
    pub(crate) fn dispatch_steps_submit(
        &self,
        pipe: &Pipeline,
        steps: &[RawStep],
        out_words: usize,
        read_words: usize,
    ) -> Result<InFlight> {
        self.check_lost()?;
        let read_words = read_words.min(out_words);
        let out_bytes = (out_words.max(4) * 4) as u64;
        if out_bytes > self.max_binding {
            return Err(gpu_err("limits", "output batch larger than one binding"));
        }
        let scopes = self.scopes();
        let out = self.pooled(
            "out",
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            out_bytes,
        );
        let read_bytes = (read_words.max(4) * 4) as u64;
        let staging = self.pooled(
            "staging",
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            read_bytes,
        );
        let mut keep = Vec::with_capacity(steps.len() + 1);
        let binds: Vec<(wgpu::BindGroup, (u32, u32))> = steps
            .iter()
            .map(|&(uniform_bytes, inputs, groups)| {
                let uniform = self.pooled_uniform(uniform_bytes);
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.binding(),
                }];
                for (i, b) in inputs.iter().enumerate() {
                    entries.push(wgpu::BindGroupEntry {
                        binding: i as u32 + 1,
                        resource: b.as_entire_binding(),
                    });
                }
                entries.push(wgpu::BindGroupEntry {
                    binding: inputs.len() as u32 + 1,
                    resource: out.binding(),
                });
                let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &pipe.layout,
                    entries: &entries,
                });
                keep.push(uniform);
                (bind, groups)
            })
            .collect();
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        // a pooled buffer holds the last batch's words: zero it, as a new buffer would be
        enc.clear_buffer(&out.buffer, 0, Some(out.size));
        for (bind, groups) in &binds {
            self.pass(&mut enc, pipe.name, 1, |pass| {
                pass.set_pipeline(&pipe.pipeline);
                pass.set_bind_group(0, bind, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, 1);
            });
        }
        enc.copy_buffer_to_buffer(&out.buffer, 0, &staging.buffer, 0, read_bytes);
        keep.push(out);
        self.submit(enc, scopes, Staging::Pooled(staging), read_words, keep)
    }

    /// A buffer of the pool (see [`super::pool`]).
    fn pooled(&self, label: &'static str, usage: wgpu::BufferUsages, bytes: u64) -> Pooled {
        let (p, created) = self
            .pool
            .take(&self.device, label, usage, bytes, self.max_buffer_size);
        self.count_buffer(created);
        p
    }

    /// A uniform buffer of the pool holding `bytes` (written by the queue before the next
    /// submit).
    fn pooled_uniform(&self, bytes: &[u8]) -> Pooled {
        self.count_upload(bytes.len() as u64);
        let u = self.pooled(
            "params",
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            bytes.len() as u64,
        );
        if bytes.len().is_multiple_of(4) {
            self.queue.write_buffer(&u.buffer, 0, bytes);
        } else {
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len().next_multiple_of(4), 0);
            self.queue.write_buffer(&u.buffer, 0, &padded);
        }
        u
    }

    /// A `MAP_READ | COPY_DST` buffer of `bytes` to read results back through.
    pub(crate) fn staging(&self, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Submits `enc`, turns what the error `scopes` caught into [`crate::Error::Gpu`], waits for
    /// the device and returns the first `words` 32-bit words of `staging` (which `enc` fills).
    pub(crate) fn submit_and_read(
        &self,
        enc: wgpu::CommandEncoder,
        scopes: Scopes,
        staging: &wgpu::Buffer,
        words: usize,
    ) -> Result<Vec<u32>> {
        let f = self.submit(
            enc,
            scopes,
            Staging::Owned(staging.clone()),
            words,
            Vec::new(),
        )?;
        self.wait(f)
    }

    /// Submits `enc`, turns what the error `scopes` caught into [`crate::Error::Gpu`] and asks
    /// for `staging` to be mapped when the device is done.
    fn submit(
        &self,
        enc: wgpu::CommandEncoder,
        Scopes(oom, val): Scopes,
        staging: Staging,
        words: usize,
        keep: Vec<Pooled>,
    ) -> Result<InFlight> {
        let index = self.queue.submit([enc.finish()]);
        let bytes = staging.bytes();
        let timed = self.profile_submit(bytes);
        if let Some(e) = pollster::block_on(val.pop()) {
            return Err(gpu_err("validation", e));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(gpu_err("out-of-memory", e));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        staging
            .buffer()
            .map_async(wgpu::MapMode::Read, ..bytes, move |r| {
                let _ = tx.send(r);
            });
        Ok(InFlight {
            index,
            staging,
            words,
            rx,
            timed,
            keep,
        })
    }

    /// Waits for the batch `f` and returns its words; its pooled buffers go back to the pool.
    pub(crate) fn wait(&self, f: InFlight) -> Result<Vec<u32>> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(f.index.clone()),
                timeout: None,
            })
            .map_err(|e| gpu_err("device-lost", e))?;
        self.check_lost()?;
        self.profile_read(f.timed);
        f.rx.recv()
            .map_err(|e| gpu_err("map", e))?
            .map_err(|e| gpu_err("map", e))?;
        let bytes = f.staging.bytes();
        let staging = f.staging.buffer();
        let out = {
            let view = staging
                .get_mapped_range(..bytes)
                .map_err(|e| gpu_err("map", e))?;
            bytemuck::cast_slice::<u8, u32>(&view)[..f.words].to_vec()
        };
        staging.unmap();
        if let Staging::Pooled(p) = f.staging {
            self.pool.give(p);
        }
        for p in f.keep {
            self.pool.give(p);
        }
        Ok(out)
    }

    /// Runs one batch per item of `batches` with the next batch submitted before the last is
    /// read back (double buffering: the device runs batch k + 1 while the host maps and
    /// consumes batch k). `submit` records and submits a batch (e.g. by
    /// [`Context::dispatch_steps_submit`]) and returns what `consume` will need with it;
    /// `consume` gets that and the batch's words, batches in order. At most two batches are in
    /// flight; an error stops the loop and drops the batch in flight.
    pub(crate) fn pipelined<B, C>(
        &self,
        batches: impl IntoIterator<Item = B>,
        mut submit: impl FnMut(B) -> Result<(C, InFlight)>,
        mut consume: impl FnMut(C, Vec<u32>) -> Result<()>,
    ) -> Result<()> {
        let mut prev: Option<(C, InFlight)> = None;
        for b in batches {
            let next = submit(b)?;
            if let Some((c, f)) = prev.replace(next) {
                consume(c, self.wait(f)?)?;
            }
        }
        if let Some((c, f)) = prev {
            consume(c, self.wait(f)?)?;
        }
        Ok(())
    }

    /// Runs `f` (uploads) inside out-of-memory and validation scopes; what they catch becomes
    /// [`crate::Error::Gpu`].
    pub(crate) fn scoped<R>(&self, f: impl FnOnce() -> R) -> Result<R> {
        self.check_lost()?;
        let Scopes(oom, val) = self.scopes();
        let r = f();
        if let Some(e) = pollster::block_on(val.pop()) {
            return Err(gpu_err("validation", e));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(gpu_err("out-of-memory", e));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{philox, Request};
    use super::*;

    /// One-block batches of the Philox known-answer kernel: sequential batches reuse the first
    /// batch's three buffers; pipelined batches (two in flight) come back in order with the
    /// host generator's words and allocate at most one more set.
    #[test]
    fn pooled_and_pipelined_batches() {
        let Ok(ctx) = Context::new(Request {
            prefer_software: true,
            profile: true,
            ..Default::default()
        }) else {
            return;
        };
        let want = |i: u32| crate::rng::philox4x32_10([i, !i, 7, i << 20], [i, 1]);
        for i in 0..5 {
            assert_eq!(
                ctx.philox_block([i, !i, 7, i << 20], [i, 1]).unwrap(),
                want(i)
            );
        }
        let p = ctx.profile().unwrap();
        assert_eq!((p.buffers_created, p.buffers_reused), (3, 12));
        assert_eq!(p.submits, 5);
        let pipe = ctx.pipeline(&philox::KAT_KERNEL).unwrap();
        let mut got = Vec::new();
        let uniforms: Vec<[u32; 8]> = (0..20u32)
            .map(|i| [i, !i, 7, i << 20, i, 1, 0, 0])
            .collect();
        let none: &[&wgpu::Buffer] = &[];
        ctx.pipelined(
            0..20usize,
            |i| {
                let step: RawStep = (bytemuck::cast_slice(&uniforms[i]), none, (1, 1));
                Ok((i, ctx.dispatch_steps_submit(&pipe, &[step], 4, 4)?))
            },
            |i, words| {
                got.push((i, words));
                Ok(())
            },
        )
        .unwrap();
        let expect: Vec<(usize, Vec<u32>)> =
            (0..20).map(|i| (i, want(i as u32).to_vec())).collect();
        assert_eq!(got, expect);
        let p = ctx.profile().unwrap();
        assert_eq!(p.buffers_created + p.buffers_reused, 3 * 25);
        assert!(p.buffers_created <= 6, "{p:?}");
        let s = ctx.pool.stats();
        assert_eq!(s.created, p.buffers_created);
        assert!(s.idle_bytes <= ctx.pool.cap());
    }
}
