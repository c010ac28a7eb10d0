//! The pipeline cache: compute pipelines built on first use, keyed by a capability's `static`
//! [`Kernel`].
//!
//! A capability describes each entry point it runs as a `static Kernel` in its `gpu.rs`: the
//! [`Shader`] (a name and a function that assembles its WGSL), the entry point, and the bind
//! group layout as a list of [`Slot`]s. The context compiles a shader module once per shader name,
//! a bind-group layout once per slot list (kernels with equal lists share one layout object, so
//! their bind groups are interchangeable), and a pipeline once per (shader, entry). Nothing is
//! built until an operation needs it, so an engine that only bootstraps never compiles the SCM
//! shaders. A shader that draws gets the native 64-bit Philox multiply where the device has
//! `SHADER_INT64` ([`Context::shader_source`]). A shader that fails validation is an [`crate::Error::Gpu`] of kind `validation` at
//! its first use (under `Engine::auto`, the operation then reruns on the CPU).

use super::{gpu_err, Context};
use crate::error::Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A WGSL program: its name (the key of its module, and the name [`crate::shader_source`]
/// lists) and the function that assembles its source.
pub(crate) struct Shader {
    pub name: &'static str,
    pub source: fn() -> String,
}

/// One binding of a kernel's bind group 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    /// A uniform buffer at this binding.
    Uniform(u32),
    /// A read-only storage buffer.
    Read(u32),
    /// A read-write storage buffer.
    ReadWrite(u32),
}

/// One entry point of a shader with its bind-group layout.
pub(crate) struct Kernel {
    pub shader: &'static Shader,
    pub entry: &'static str,
    pub layout: &'static [Slot],
}

/// Declares `static` [`Kernel`]s sharing one layout:
/// `kernels!(LAYOUT; NAME = SHADER."entry"; ...)`.
macro_rules! kernels {
    ($layout:expr; $($name:ident = $shader:ident . $entry:literal;)*) => {
        $(
            static $name: $crate::gpu::Kernel = $crate::gpu::Kernel {
                shader: &$shader,
                entry: $entry,
                layout: $layout,
            };
        )*
    };
}
pub(crate) use kernels;

/// A built pipeline and the bind-group layout its bind groups use.
pub(crate) struct Pipeline {
    /// The kernel's entry point (the name its passes are profiled under).
    pub name: &'static str,
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// What the context has built so far.
#[derive(Default)]
pub(crate) struct Cache {
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    layouts: Mutex<HashMap<&'static [Slot], (wgpu::BindGroupLayout, wgpu::PipelineLayout)>>,
    pipelines: Mutex<HashMap<(&'static str, &'static str), Arc<Pipeline>>>,
}

fn entry(slot: Slot) -> wgpu::BindGroupLayoutEntry {
    let (binding, ty) = match slot {
        Slot::Uniform(b) => (b, wgpu::BufferBindingType::Uniform),
        Slot::Read(b) => (b, wgpu::BufferBindingType::Storage { read_only: true }),
        Slot::ReadWrite(b) => (b, wgpu::BufferBindingType::Storage { read_only: false }),
    };
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl Context {
    /// The WGSL of `shader` as this device compiles it: with the native 64-bit `mulhi32` when
    /// the device has `SHADER_INT64` in use ([`super::philox::native_int64`]).
    pub(crate) fn shader_source(&self, shader: &Shader) -> String {
        let src = (shader.source)();
        if self.native_int64 {
            super::philox::native_int64(src)
        } else {
            src
        }
    }

    /// The pipeline of `kernel`, built now if this engine has not built it yet.
    pub(crate) fn pipeline(&self, kernel: &'static Kernel) -> Result<Arc<Pipeline>> {
        let key = (kernel.shader.name, kernel.entry);
        if let Some(p) = self.pipelines.pipelines.lock().unwrap().get(&key) {
            return Ok(p.clone());
        }
        self.check_lost()?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let (layout, pipeline_layout) = self
            .pipelines
            .layouts
            .lock()
            .unwrap()
            .entry(kernel.layout)
            .or_insert_with(|| {
                let entries: Vec<_> = kernel.layout.iter().map(|&s| entry(s)).collect();
                let layout =
                    self.device
                        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                            label: Some(kernel.shader.name),
                            entries: &entries,
                        });
                let pl = self
                    .device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(kernel.shader.name),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
                (layout, pl)
            })
            .clone();
        let module = self
            .pipelines
            .modules
            .lock()
            .unwrap()
            .entry(kernel.shader.name)
            .or_insert_with(|| {
                self.device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(kernel.shader.name),
                        source: wgpu::ShaderSource::Wgsl(self.shader_source(kernel.shader).into()),
                    })
            })
            .clone();
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(kernel.entry),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            // a module that failed goes too, so a later call does not reuse it
            self.pipelines
                .modules
                .lock()
                .unwrap()
                .remove(kernel.shader.name);
            return Err(gpu_err("validation", e));
        }
        let p = Arc::new(Pipeline {
            name: kernel.entry,
            pipeline,
            layout,
        });
        self.pipelines
            .pipelines
            .lock()
            .unwrap()
            .insert(key, p.clone());
        Ok(p)
    }
}
