//! Dispatch, submit and readback: a batch of dispatches is recorded into one command encoder,
//! submitted once, and its output read back once through a staging buffer. Failures caught by
//! the out-of-memory and validation error scopes, a lost device and a failed mapping all come
//! back as [`crate::Error::Gpu`].

use super::pipeline::Pipeline;
use super::{gpu_err, Context};
use crate::error::Result;
use wgpu::util::DeviceExt;

/// One dispatch of [`Context::dispatch_steps`]: uniform bytes, input bindings, workgroup grid.
pub(crate) type RawStep<'a> = (&'a [u8], &'a [&'a wgpu::Buffer], (u32, u32));

/// The out-of-memory and validation scopes of one submit (popped by
/// [`Context::submit_and_read`]).
pub(crate) struct Scopes(wgpu::ErrorScopeGuard, wgpu::ErrorScopeGuard);

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
        self.check_lost()?;
        let read_words = read_words.min(out_words);
        let out_bytes = (out_words.max(4) * 4) as u64;
        if out_bytes > self.max_binding {
            return Err(gpu_err("limits", "output batch larger than one binding"));
        }
        let scopes = self.scopes();
        let out = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("out"),
            size: out_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read_bytes = (read_words.max(4) * 4) as u64;
        let staging = self.staging(read_bytes);
        let binds: Vec<(wgpu::BindGroup, (u32, u32))> = steps
            .iter()
            .map(|&(uniform_bytes, inputs, groups)| {
                let uniform = self.uniform(uniform_bytes);
                let mut entries = vec![(0, &uniform)];
                for (i, b) in inputs.iter().enumerate() {
                    entries.push((i as u32 + 1, *b));
                }
                entries.push((inputs.len() as u32 + 1, &out));
                (self.bind(pipe, &entries), groups)
            })
            .collect();
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        for (bind, groups) in &binds {
            self.pass(&mut enc, pipe.name, 1, |pass| {
                pass.set_pipeline(&pipe.pipeline);
                pass.set_bind_group(0, bind, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, 1);
            });
        }
        enc.copy_buffer_to_buffer(&out, 0, &staging, 0, read_bytes);
        self.submit_and_read(enc, scopes, &staging, read_words)
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
        Scopes(oom, val): Scopes,
        staging: &wgpu::Buffer,
        words: usize,
    ) -> Result<Vec<u32>> {
        self.queue.submit([enc.finish()]);
        let timed = self.profile_submit(staging.size());
        if let Some(e) = pollster::block_on(val.pop()) {
            return Err(gpu_err("validation", e));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(gpu_err("out-of-memory", e));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err("device-lost", e))?;
        self.check_lost()?;
        self.profile_read(timed);
        rx.recv()
            .map_err(|e| gpu_err("map", e))?
            .map_err(|e| gpu_err("map", e))?;
        let out = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| gpu_err("map", e))?;
            bytemuck::cast_slice::<u8, u32>(&view)[..words].to_vec()
        };
        staging.unmap();
        Ok(out)
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
