//! The compute backend, chosen at run time among those compiled in: `flex` (CPU) always, `ndarray`,
//! `wgpu` and `vulkan` when their cargo features are enabled.
//!
//! Owns the backend names, opening a device (with the fall-back to `flex` where a GPU build finds
//! no usable adapter, and with the GPU's kernel caches in a per-user folder: [`gpu_cache`]),
//! describing it, counting the kernels a GPU launches ([`launches`]), and the memory check before
//! a model is allocated. The backend features of the whole workspace are this crate's
//! (`--features wgpu` on the root package forwards here). May import: Burn, CubeCL's runtime
//! configuration, and `mnist-models` for a model's summary.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

pub mod gpu_cache;
pub mod launches;

/// A backend users can ask for by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Burn's pure-Rust CPU backend.
    Flex,
    /// The older ndarray CPU backend (slow for convolutions).
    Ndarray,
    /// WebGPU through wgpu: Vulkan, Metal or DX12, whatever the machine offers.
    Wgpu,
    /// wgpu restricted to Vulkan.
    Vulkan,
}

/// Every backend name, for messages.
pub const BACKENDS: [&str; 4] = ["flex", "ndarray", "wgpu", "vulkan"];

/// Environment variable naming the backend to use when neither `--device` nor the config names
/// one (like Burn's own `BURN_DEVICE`): `MNIST_BURN_DEVICE=flex` keeps a GPU build on the CPU.
pub const DEVICE_ENV: &str = "MNIST_BURN_DEVICE";

/// Why a backend cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Not a backend name.
    #[error("unknown device {0:?}: expected one of flex, ndarray, wgpu, vulkan")]
    Unknown(String),
    /// The environment variable [`DEVICE_ENV`] holds something else than a backend name.
    #[error("{DEVICE_ENV}={0:?} is not a device: expected one of flex, ndarray, wgpu, vulkan (or unset it)")]
    UnknownEnv(String),
    /// Named, but this build does not contain it.
    #[error("device {name:?} is not compiled into this build; rebuild with `--features {name}` (e.g. `cargo build --release --features {name}`), or run on the CPU with `--device flex`")]
    NotCompiled {
        /// The backend.
        name: &'static str,
    },
    /// The model and batch cannot fit in this machine's memory.
    #[error("the model ({params} parameters, batch size {batch}) needs about {needed_mib} MiB on device {name:?}, but this machine has {available_mib} MiB available; use a smaller model or batch size")]
    TooLarge {
        /// The backend.
        name: &'static str,
        /// Parameters of the model.
        params: usize,
        /// Training batch size.
        batch: usize,
        /// Estimated need.
        needed_mib: u64,
        /// Available memory.
        available_mib: u64,
    },
    /// Compiled in, but no usable adapter on this machine.
    #[error("device {name:?} is compiled in but unusable on this machine (no usable GPU adapter): {reason}; run on the CPU with `--device flex`")]
    Unavailable {
        /// The backend.
        name: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl FromStr for Backend {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, BackendError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "flex" | "cpu" => Ok(Backend::Flex),
            "ndarray" => Ok(Backend::Ndarray),
            "wgpu" | "gpu" => Ok(Backend::Wgpu),
            "vulkan" => Ok(Backend::Vulkan),
            _ => Err(BackendError::Unknown(s.to_string())),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Backend {
    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
            Backend::Vulkan => "vulkan",
        }
    }

    /// Whether the backend runs on a GPU (through CubeCL), rather than on the CPU.
    pub fn is_gpu(self) -> bool {
        matches!(self, Backend::Wgpu | Backend::Vulkan)
    }

    /// Whether this build contains the backend.
    pub fn compiled(self) -> bool {
        match self {
            Backend::Flex => true,
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Vulkan => cfg!(feature = "vulkan"),
        }
    }

    /// The best backend of this build: a GPU one when compiled in, else `flex`.
    pub fn best_compiled() -> Backend {
        [Backend::Wgpu, Backend::Vulkan, Backend::Flex].into_iter().find(|b| b.compiled()).unwrap_or(Backend::Flex)
    }

    /// Resolves an optional name (command line, else config) to a backend of this build; with
    /// no name, [`DEVICE_ENV`] decides, else the best compiled backend.
    pub fn resolve(name: Option<&str>) -> Result<Backend, BackendError> {
        let backend = match (name, device_env()) {
            (Some(n), _) => n.parse()?,
            (None, Some(v)) => v.parse().map_err(|_| BackendError::UnknownEnv(v))?,
            (None, None) => Backend::best_compiled(),
        };
        if !backend.compiled() {
            return Err(BackendError::NotCompiled { name: backend.name() });
        }
        Ok(backend)
    }

    /// Resolves `name` as [`Backend::resolve`] does and opens its device. When nothing named a
    /// backend, the default GPU backend gives way to `flex`, with a note on stderr, where it finds
    /// no adapter (a GPU build run on a laptop without a GPU) or only a software rasterizer
    /// (Mesa's llvmpipe: several times slower than `flex`). A backend asked for by name is always used, or is an error.
    pub fn open(name: Option<&str>) -> Result<(Backend, Device), BackendError> {
        let backend = Backend::resolve(name)?;
        let named = name.is_some() || device_env().is_some();
        let opened = backend.device();
        let software = opened.as_ref().ok().and_then(software_adapter);
        fall_back_to_flex(backend, named, opened, software)
    }

    /// The (non-autodiff) device of this backend; fails cleanly when the GPU is absent.
    pub fn device(self) -> Result<Device, BackendError> {
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => gpu_device(self, || Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "vulkan")]
            Backend::Vulkan => gpu_device(self, || Device::vulkan(burn::tensor::DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)]
            _ => Err(BackendError::NotCompiled { name: self.name() }),
        }
    }
}

impl Backend {
    /// Refuses, on the CPU backends, a model whose parameters, optimizer state and activations
    /// (for `batch` training samples, or `eval_batch` evaluated ones) plus `samples` images cannot fit in
    /// the memory this machine has available: the allocator would otherwise abort the process in
    /// the middle of the run. The estimate is a lower bound; GPU memory is not checked.
    pub fn check_memory(self, summary: &mnist_models::summary::Summary, batch: usize, eval_batch: usize, samples: usize) -> Result<(), BackendError> {
        if self.is_gpu() {
            return Ok(());
        }
        let Some(available) = available_memory() else { return Ok(()) };
        let params = summary.total_params() as u128;
        let activations: u128 = summary.rows.iter().map(|r| r.output_shape.iter().map(|&d| d as u128).product::<u128>()).sum();
        let rows = batch.max(eval_batch) as u128;
        // 4 bytes a float: weights, gradients and two optimizer moments; activations and their
        // gradients; the images of every split.
        let needed = 4 * (4 * params + 2 * rows * activations + samples as u128 * 784);
        if needed > available as u128 {
            return Err(BackendError::TooLarge {
                name: self.name(),
                params: summary.total_params(),
                batch,
                needed_mib: u64::try_from(needed >> 20).unwrap_or(u64::MAX),
                available_mib: available >> 20,
            });
        }
        Ok(())
    }
}

/// What [`Backend::open`] does with the outcome of opening `backend` (`software`: the adapter's
/// name when it is a software rasterizer): a default GPU backend without an adapter, or with only
/// a software one, gives way to `flex`; anything named keeps its device or its error.
fn fall_back_to_flex(backend: Backend, named: bool, opened: Result<Device, BackendError>, software: Option<String>) -> Result<(Backend, Device), BackendError> {
    if named || backend == Backend::Flex {
        return opened.map(|d| (backend, d));
    }
    match (opened, software) {
        (Err(BackendError::Unavailable { reason, .. }), _) => {
            let first = reason.lines().next().unwrap_or_default();
            eprintln!("note: no usable GPU adapter for {backend} ({first}); running on the CPU backend flex");
            Ok((Backend::Flex, Device::flex()))
        }
        (Ok(_), Some(adapter)) => {
            eprintln!("note: {backend}'s only adapter is a software rasterizer ({adapter}), slower than the CPU backend; running on flex (pass `--device {backend}` to use it anyway)");
            Ok((Backend::Flex, Device::flex()))
        }
        (opened, _) => opened.map(|d| (backend, d)),
    }
}

/// The adapter's name when `device` is a GPU device driven by a software rasterizer (Mesa's
/// llvmpipe/lavapipe): cubecl reports no physical card for an adapter of wgpu's type `Cpu`.
fn software_adapter(device: &Device) -> Option<String> {
    #[cfg(any(feature = "wgpu", feature = "vulkan"))]
    if let Some(identity) = device.identity() {
        return identity.physical.is_none().then_some(identity.name);
    }
    let _ = device;
    None
}

/// How a device names itself: the adapter on GPU backends (`NVIDIA H100 80GB HBM3`, or
/// `llvmpipe (LLVM 15.0.6, 256 bits)` for Mesa's software Vulkan), Burn's description otherwise.
pub fn describe(device: &Device) -> String {
    #[cfg(any(feature = "wgpu", feature = "vulkan"))]
    if let Some(identity) = device.identity() {
        return identity.name;
    }
    format!("{device:?}")
}

/// The value of [`DEVICE_ENV`], if set and not blank.
fn device_env() -> Option<String> {
    std::env::var(DEVICE_ENV).ok().filter(|v| !v.trim().is_empty())
}

/// `MemAvailable` of `/proc/meminfo`, in bytes (`None` where it cannot be read).
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Creates a GPU device and runs one tiny operation on it, turning the panic wgpu raises when no
/// adapter exists into an error. Compiled (and unit-tested) in every build, used by GPU builds.
#[cfg_attr(not(any(feature = "wgpu", feature = "vulkan")), allow(dead_code))]
fn gpu_device(backend: Backend, make: impl Fn() -> Device + std::panic::UnwindSafe) -> Result<Device, BackendError> {
    #[cfg(any(feature = "wgpu", feature = "vulkan"))]
    gpu_cache::configure();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let probe = std::panic::catch_unwind(move || {
        let device = make();
        let x = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &device);
        let _: f32 = x.sum().into_scalar();
        device
    });
    std::panic::set_hook(hook);
    probe.map_err(|e| BackendError::Unavailable {
        name: backend.name(),
        reason: e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "no usable GPU adapter was found".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_flex_is_always_there() {
        assert_eq!("flex".parse::<Backend>().unwrap(), Backend::Flex);
        assert_eq!("Vulkan".parse::<Backend>().unwrap(), Backend::Vulkan);
        assert!(matches!("cuda".parse::<Backend>(), Err(BackendError::Unknown(_))));
        assert_eq!(Backend::resolve(Some("flex")).unwrap(), Backend::Flex);
        assert!(Backend::Flex.device().is_ok());
    }

    #[test]
    fn a_gpu_backend_without_a_gpu_is_an_error_not_a_panic() {
        // What wgpu does on a machine without an adapter: it panics while creating the device.
        let err = gpu_device(Backend::Wgpu, || panic!("No possible adapter available for backend.\nFalling back")).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, BackendError::Unavailable { name: "wgpu", .. }), "{text}");
        assert!(text.contains("No possible adapter") && text.contains("--device flex"), "{text}");
        // A device that works passes the probe.
        assert!(gpu_device(Backend::Flex, Device::flex).is_ok());
    }

    #[test]
    fn a_default_gpu_without_adapter_falls_back_to_flex_but_a_named_one_is_an_error() {
        let no_adapter = || Err(BackendError::Unavailable { name: "wgpu", reason: "No possible adapter available".into() });
        let (backend, device) = fall_back_to_flex(Backend::Wgpu, false, no_adapter(), None).unwrap();
        assert_eq!(backend, Backend::Flex);
        assert_eq!(describe(&device), describe(&Device::flex()));
        let err = fall_back_to_flex(Backend::Wgpu, true, no_adapter(), None).unwrap_err();
        assert!(matches!(err, BackendError::Unavailable { name: "wgpu", .. }), "{err}");
        // Other failures are never papered over, named or not.
        let not_compiled = || Err(BackendError::NotCompiled { name: "vulkan" });
        assert!(fall_back_to_flex(Backend::Vulkan, false, not_compiled(), None).is_err());
        // A device that opened is kept.
        assert_eq!(fall_back_to_flex(Backend::Flex, false, Ok(Device::flex()), None).unwrap().0, Backend::Flex);
    }

    #[test]
    fn a_default_gpu_on_a_software_rasterizer_gives_way_to_flex_unless_named() {
        // `Device::flex()` stands in for the opened GPU device: only the adapter's kind matters.
        let llvmpipe = || Some("llvmpipe (LLVM 15.0.6, 256 bits)".to_string());
        assert_eq!(fall_back_to_flex(Backend::Wgpu, false, Ok(Device::flex()), llvmpipe()).unwrap().0, Backend::Flex);
        assert_eq!(fall_back_to_flex(Backend::Vulkan, false, Ok(Device::flex()), llvmpipe()).unwrap().0, Backend::Flex);
        // Asked for by name, the software adapter is used.
        assert_eq!(fall_back_to_flex(Backend::Wgpu, true, Ok(Device::flex()), llvmpipe()).unwrap().0, Backend::Wgpu);
        // A hardware adapter is the default.
        assert_eq!(fall_back_to_flex(Backend::Wgpu, false, Ok(Device::flex()), None).unwrap().0, Backend::Wgpu);
        // The CPU backend has no adapter to inspect.
        assert_eq!(software_adapter(&Device::flex()), None);
    }

    #[test]
    fn a_backend_missing_from_the_build_names_its_feature() {
        if !Backend::Ndarray.compiled() {
            let err = Backend::resolve(Some("ndarray")).unwrap_err();
            assert!(err.to_string().contains("--features ndarray"), "{err}");
        }
        if !Backend::Wgpu.compiled() {
            let err = Backend::resolve(Some("wgpu")).unwrap_err();
            assert!(err.to_string().contains("--features wgpu"), "{err}");
            assert_eq!(Backend::best_compiled(), Backend::Flex);
        }
    }
}
