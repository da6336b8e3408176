//! Counting the kernels a piece of work launches on a GPU backend, from CubeCL's own launch hook
//! (`cubecl_runtime::logging::LaunchObserver`): every kernel CubeCL submits, fused ones and
//! autotune's trials included, whatever thread (Burn's fusion server) submits it.
//!
//! The count is of launches, not of time, so it is the same on Mesa's software Vulkan as on a
//! real GPU; that is what lets CI hold a budget per training step without one.

use std::collections::BTreeMap;

/// The kernels launched while a [`Counting`] was alive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Launches {
    /// Every launch.
    pub total: u64,
    /// Launches per kernel name (CubeCL's name of the kernel's type, generics cut).
    pub by_kernel: BTreeMap<String, u64>,
}

#[cfg(any(feature = "wgpu", feature = "vulkan"))]
mod observer {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use cubecl_runtime::logging::{LaunchObservation, LaunchObserver};

    use super::Launches;

    #[derive(Default)]
    pub(super) struct Tally(Mutex<HashMap<&'static str, u64>>);

    impl LaunchObserver for Tally {
        fn launched(&self, kernel: &'static str) {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(kernel).or_default() += 1;
        }
    }

    /// The installed observer and the tally it feeds.
    pub(super) struct Installed {
        pub(super) tally: Arc<Tally>,
        pub(super) _observation: LaunchObservation,
    }

    pub(super) fn install() -> Installed {
        let tally = Arc::new(Tally::default());
        let _observation = LaunchObservation::new(tally.clone());
        Installed { tally, _observation }
    }

    pub(super) fn read(installed: &Installed) -> Launches {
        let counts = installed.tally.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut launches = Launches::default();
        for (name, n) in counts.iter() {
            launches.total += n;
            // `matmul_entry<f32, ...>`: the type's generics say nothing a reader of a budget needs.
            let short = name.split('<').next().unwrap_or(name).rsplit("::").next().unwrap_or(name);
            *launches.by_kernel.entry(short.to_string()).or_default() += n;
        }
        launches
    }
}

/// Counts kernel launches from [`Counting::start`] until [`Counting::finish`]. Work that Burn
/// has queued but not yet submitted is counted when it is submitted, so end the counted work
/// with a read or a `sync` of the device. One at a time per process: a second one replaces the
/// first until it ends. On builds without a GPU backend it counts nothing.
pub struct Counting {
    #[cfg(any(feature = "wgpu", feature = "vulkan"))]
    installed: observer::Installed,
}

impl Counting {
    /// Starts counting.
    pub fn start() -> Counting {
        Counting {
            #[cfg(any(feature = "wgpu", feature = "vulkan"))]
            installed: observer::install(),
        }
    }

    /// Stops counting and returns the launches.
    pub fn finish(self) -> Launches {
        #[cfg(any(feature = "wgpu", feature = "vulkan"))]
        return observer::read(&self.installed);
        #[cfg(not(any(feature = "wgpu", feature = "vulkan")))]
        Launches::default()
    }
}
