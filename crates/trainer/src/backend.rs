//! The compute backend, chosen at run time among those compiled in: `flex` (CPU) always, `ndarray`,
//! `wgpu` and `vulkan` when their cargo features are enabled.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

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

/// Why a backend cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Not a backend name.
    #[error("unknown device {0:?}: expected one of flex, ndarray, wgpu, vulkan")]
    Unknown(String),
    /// Named, but this build does not contain it.
    #[error("device {name:?} is not compiled into this build; rebuild with `--features {name}` (e.g. `cargo build --release --features {name}`)")]
    NotCompiled {
        /// The backend.
        name: &'static str,
    },
    /// Compiled in, but no usable adapter on this machine.
    #[error("device {name:?} is compiled in but unusable on this machine: {reason}")]
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

    /// Resolves an optional name (config or command line) to a backend of this build.
    pub fn resolve(name: Option<&str>) -> Result<Backend, BackendError> {
        let backend = match name {
            Some(n) => n.parse()?,
            None => Backend::best_compiled(),
        };
        if !backend.compiled() {
            return Err(BackendError::NotCompiled { name: backend.name() });
        }
        Ok(backend)
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

/// Creates a GPU device and runs one tiny operation on it, turning the panic wgpu raises when no
/// adapter exists into an error.
#[cfg(any(feature = "wgpu", feature = "vulkan"))]
fn gpu_device(backend: Backend, make: impl Fn() -> Device + std::panic::UnwindSafe) -> Result<Device, BackendError> {
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
