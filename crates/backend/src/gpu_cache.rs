//! Where the GPU backends keep what they learn about this machine, so that a second process
//! starts warm: CubeCL's autotune results (every GPU backend) and compiled SPIR-V kernels
//! (`vulkan`; `wgpu` hands WGSL to the driver, which compiles it again in every process).
//!
//! CubeCL keeps both in one database file per "environment", by default under `target/` of the
//! Cargo workspace the process runs in, or nowhere useful for an installed binary. The
//! persistent copy is what Burn's `persistence` feature turns on; this module puts it in a
//! per-user cache folder instead, turns on the compilation cache, and bounds the records CubeCL
//! keeps of each session.

use std::path::PathBuf;

/// Environment variable naming the GPU cache folder (default: the platform cache folder's
/// `mnist-burn/gpu`, e.g. `~/.cache/mnist-burn/gpu`).
pub const GPU_CACHE_ENV: &str = "MNIST_BURN_GPU_CACHE";

/// The file name of CubeCL's database in [`folder`] (its default environment, `default`).
pub const DATABASE: &str = "default.db";

/// How many processes' records of what they compiled and tuned the cache keeps.
pub const KEEP_SESSIONS: u32 = 8;

/// The GPU cache folder: `$MNIST_BURN_GPU_CACHE`, else `mnist-burn/gpu` in the platform cache
/// folder; `None` on a machine without either (CubeCL then uses its own default).
pub fn folder() -> Option<PathBuf> {
    match std::env::var_os(GPU_CACHE_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::cache_dir().map(|cache| cache.join("mnist-burn").join("gpu")),
    }
}

/// Configures CubeCL before the first GPU device opens; later calls do nothing.
///
/// CubeCL's own configuration is read first, exactly as CubeCL reads it (a `cubecl.toml`, or the
/// `[cubecl]` table of a `burn.toml`, in the working folder or above, then its `CUBECL_*`
/// environment variables), so its logging, autotune level and the like stay the user's. On top of
/// it: the environment lives in [`folder`] unless that configuration names a place of its own
/// (anything but CubeCL's default `target`), compiled kernels are cached, and at most
/// [`KEEP_SESSIONS`] sessions' records are kept unless it says otherwise.
#[cfg(any(feature = "wgpu", feature = "vulkan"))]
pub fn configure() {
    use cubecl_runtime::config::cache::CacheConfig;
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};

    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
        if matches!(config.environment.path, CacheConfig::Target)
            && let Some(dir) = folder()
        {
            config.environment.path = CacheConfig::Directory(dir);
        }
        config.compilation.cache = true;
        config.environment.records.keep_sessions.get_or_insert(KEEP_SESSIONS);
        // `false` when CubeCL already loaded its configuration (a device opened before this was
        // called): that one stays, as CubeCL allows one configuration per process.
        let _ = CubeClRuntimeConfig::try_set(config);
    });
}

/// What a GPU cache database holds: how many processes' sessions changed it, and the entries of
/// each of CubeCL's namespaces (autotune results, compiled kernels, records).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Contents {
    /// Sessions recorded: processes that tuned or compiled something new (one that only read
    /// the cache leaves none).
    pub sessions: usize,
    /// Entries per namespace, e.g. `autotune/...` or `vulkan/spirv_...`.
    pub namespaces: std::collections::BTreeMap<String, u64>,
}

impl Contents {
    /// Entries in the namespaces whose name contains `part`.
    pub fn entries(&self, part: &str) -> u64 {
        self.namespaces.iter().filter(|(n, _)| n.contains(part)).map(|(_, e)| e).sum()
    }
}

/// Reads the cache database `file` (e.g. [`folder`]`/`[`DATABASE`]) without changing it.
#[cfg(any(feature = "wgpu", feature = "vulkan"))]
pub fn contents(file: &std::path::Path) -> Result<Contents, String> {
    use cubecl_environment::persistence::{Access, Database};
    use cubecl_environment::records::Records;

    if !file.is_file() {
        return Err(format!("no GPU cache database at {}", file.display()));
    }
    let database = Database::open_at(file, Access::ReadOnly).map_err(|e| format!("reading the GPU cache {}: {e}", file.display()))?;
    let sessions = Records::new(&database).sessions().len();
    let namespaces = database.summary().into_iter().map(|s| (s.namespace, s.entries)).collect();
    Ok(Contents { sessions, namespaces })
}

/// What the GPU cache this process uses holds now (after [`configure`] and a GPU device opened).
#[cfg(any(feature = "wgpu", feature = "vulkan"))]
pub fn active_contents() -> Result<Contents, String> {
    contents(&cubecl_environment::environment::path())
}

/// Without a GPU backend in the build there is no cache.
#[cfg(not(any(feature = "wgpu", feature = "vulkan")))]
pub fn active_contents() -> Result<Contents, String> {
    Err("this build has no GPU backend, so no GPU cache".into())
}
