//! The Python extension, built alone by maturin, resolves its dependencies with the features of the
//! test build (`cargo test --workspace --features wgpu`), so that it reuses the compiled Burn
//! instead of building it a second time (30 minutes of a fresh two-core CI machine).
//!
//! Cargo unifies a dependency's features over the packages of one build; a crate compiled with
//! other features is another artifact, and so is everything above it. `crates/workspace-hack`
//! names the features that the extension's graph alone would not turn on. This test compares the
//! two resolutions with `cargo tree`, as `scripts/test.sh` builds them, and names what drifted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// `package version` → the feature sets its nodes carry in one resolution (a crate can be built
/// twice, for build scripts and for the target, with different features).
type Resolution = BTreeMap<String, BTreeSet<String>>;

/// Runs `cargo tree` from the workspace root with `args` and reads one `package|features` per node.
fn resolve(args: &[&str]) -> Resolution {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&cargo)
        .current_dir(root)
        .args(["tree", "--offline", "--locked", "--prefix", "none", "--format", "{p}|{f}"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run {cargo} tree: {e}"));
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut nodes = Resolution::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim_end_matches(" (*)");
        let Some((package, features)) = line.split_once('|') else { continue };
        // Workspace crates print their path: `mnist-data v0.1.0 (/…/crates/data)`.
        let package = package.split(" (").next().unwrap_or(package).to_string();
        nodes.entry(package).or_default().insert(features.to_string());
    }
    assert!(nodes.len() > 100, "cargo tree {args:?} listed only {} packages", nodes.len());
    nodes
}

#[test]
fn the_python_extension_resolves_shared_crates_with_the_test_builds_features() {
    // scripts/test.sh: `cargo test --workspace --locked --features wgpu`, then pip builds the
    // extension through maturin with `--features wgpu,test-build` (and pyo3's `extension-module`).
    let workspace = resolve(&["--workspace", "--features", "wgpu", "--edges", "normal,build,dev"]);
    let python = resolve(&["--package", "mnist-python", "--features", "wgpu,test-build,pyo3/extension-module", "--edges", "normal,build"]);

    let mut drifted = Vec::new();
    for (package, sets) in &python {
        // The extension itself and the hack crate under it are built for it alone, as are pyo3
        // and its build helpers, which the test build never compiles.
        if package.starts_with("mnist-python ") || package.starts_with("mnist-workspace-hack ") {
            continue;
        }
        let Some(in_workspace) = workspace.get(package) else { continue };
        for features in sets.difference(in_workspace) {
            drifted.push(format!(
                "  {package}: the extension alone resolves [{features}]; the test build [{}]",
                in_workspace.iter().cloned().collect::<Vec<_>>().join("] or [")
            ));
        }
    }
    assert!(
        drifted.is_empty(),
        "the Python extension would compile these crates (and Burn above them) a second time, \
         with other features than `cargo test --workspace --features wgpu`:\n{}\n\
         Give them the test build's features in crates/workspace-hack/Cargo.toml (its \
         `test-build` feature, or the extension's own features in python/Cargo.toml), with \
         `default-features = false` where the test build leaves a crate's defaults off.",
        drifted.join("\n")
    );
}
