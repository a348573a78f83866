//! Finds the SeetaFace frontal model inside the resolved `rustface` package (a registry
//! package, never committed here) and tells the crate where it is, for `include_bytes!`.

use std::path::{Path, PathBuf};
use std::process::Command;

const MODEL_IN_PACKAGE: &str = "model/seeta_fd_frontal_v1.0.bin";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CAMERA_SEETA_MODEL");
    let path = match std::env::var_os("CAMERA_SEETA_MODEL") {
        Some(p) => PathBuf::from(p),
        None => match find_in_rustface_package() {
            Some(p) => p,
            None => {
                println!(
                    "cargo:warning=camera: could not find {MODEL_IN_PACKAGE} in the rustface package; set CAMERA_SEETA_MODEL"
                );
                std::process::exit(1);
            }
        },
    };
    if !path.is_file() {
        println!("cargo:warning=camera: SeetaFace model not found at {}", path.display());
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed={}", path.display());
    println!("cargo:rustc-env=CAMERA_SEETA_MODEL_PATH={}", path.display());
}

/// Asks cargo where the resolved rustface package lives (works for registry, vendored
/// and git sources), falling back to scanning the registry cache.
fn find_in_rustface_package() -> Option<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--manifest-path"])
        .arg(Path::new(&manifest).join("Cargo.toml"))
        .output()
        .ok();
    if let Some(out) = out.filter(|o| o.status.success()) {
        if let Ok(meta) = serde_json::from_slice::<serde_json::Value>(&out.stdout) {
            let packages = meta.get("packages").and_then(|p| p.as_array()).cloned().unwrap_or_default();
            for pkg in packages {
                if pkg.get("name").and_then(|n| n.as_str()) != Some("rustface") {
                    continue;
                }
                let manifest_path = pkg.get("manifest_path").and_then(|m| m.as_str())?;
                let candidate = Path::new(manifest_path).parent()?.join(MODEL_IN_PACKAGE);
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let src = home.join("registry").join("src");
    for index in std::fs::read_dir(src).ok()?.flatten() {
        for pkg in std::fs::read_dir(index.path()).ok()?.flatten() {
            let name = pkg.file_name();
            if name.to_string_lossy().starts_with("rustface-") {
                let candidate = pkg.path().join(MODEL_IN_PACKAGE);
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
    }
    None
}
