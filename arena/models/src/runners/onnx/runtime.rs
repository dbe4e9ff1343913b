//! Finding and loading ONNX Runtime (ort with `load-dynamic`): `ORT_DYLIB_PATH`, else the
//! `onnxruntime` wheel in the first `.venv` (created by `bash scripts/python-env.sh`) in the
//! current directory, the executable's directory or their ancestors
//! (`arena_data::locate::search_roots`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::OnnxError;

/// The environment variable naming ONNX Runtime's shared library.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// `libonnxruntime.so.1.31.1` -> [1, 31, 1] (for picking the newest of several).
fn version_of(name: &str) -> Vec<u64> {
    name.split(".so.").nth(1).map(|v| v.split('.').filter_map(|p| p.parse().ok()).collect()).unwrap_or_default()
}

/// The exact versioned `libonnxruntime.so.1.NN.N` of the `onnxruntime` wheel under `root/.venv`.
fn find_in_venv(root: &Path) -> Option<PathBuf> {
    let lib = root.join(".venv").join("lib");
    let mut found: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    for python in std::fs::read_dir(&lib).ok()?.flatten() {
        if !python.file_name().to_string_lossy().starts_with("python3") {
            continue;
        }
        let capi = python.path().join("site-packages").join("onnxruntime").join("capi");
        let Ok(entries) = std::fs::read_dir(&capi) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let versioned = name.starts_with("libonnxruntime.so.")
                || (name.starts_with("libonnxruntime.") && name.ends_with(".dylib"));
            if versioned && e.path().is_file() {
                found.push((version_of(&name), e.path()));
            }
        }
    }
    found.sort();
    found.pop().map(|(_, p)| p)
}

/// Where ONNX Runtime's library is: `ORT_DYLIB_PATH`, else the project's `.venv`.
pub fn library_path() -> Result<PathBuf, OnnxError> {
    if let Some(value) = std::env::var_os(DYLIB_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        if !path.is_file() {
            return Err(OnnxError::Runtime(format!(
                "{DYLIB_ENV}={} is not a file; point it at ONNX Runtime's shared library (the exact versioned \
                 file, e.g. .venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1), or unset \
                 it to use the project's .venv",
                path.display()
            )));
        }
        return Ok(path);
    }
    let roots = arena_data::locate::search_roots();
    roots.iter().find_map(|r| find_in_venv(r)).ok_or_else(|| {
        OnnxError::Runtime(format!(
            "ONNX Runtime not found: {DYLIB_ENV} is not set and no .venv/lib/python3*/site-packages/onnxruntime/capi/\
             libonnxruntime.so.* exists under {}. Run `bash scripts/python-env.sh` in the repository (it installs the \
             onnxruntime wheel into .venv), or set {DYLIB_ENV} to the library file (onnxruntime >= 1.31; \
             onnxruntime-gpu for --device cuda)",
            roots.iter().take(2).map(|r| r.display().to_string()).collect::<Vec<_>>().join(" or ")
        ))
    })
}

/// The loaded runtime: one process-wide environment and the library it came from.
pub struct Runtime {
    pub environment: ort::environment::Environment,
    pub library: PathBuf,
    pub version: String,
}

/// Loads ONNX Runtime once per process (ort allows one library per process).
pub fn runtime() -> Result<&'static Runtime, OnnxError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let library = library_path().map_err(|e| e.to_string())?;
            let builder = ort::init_from(&library).map_err(|e| {
                format!(
                    "cannot load ONNX Runtime from {}: {e}. Install a matching runtime with `bash scripts/python-env.sh` \
                     (onnxruntime >= 1.31) or point {DYLIB_ENV} at one",
                    library.display()
                )
            })?;
            let environment = builder
                .with_name("arena")
                .with_telemetry(false)
                .build()
                .map_err(|e| format!("cannot start ONNX Runtime from {}: {e}", library.display()))?;
            // The runner reports every failure itself (with the model and the perturbation);
            // ONNX Runtime's own log would repeat them. ARENA_ORT_LOG=1 keeps it.
            if std::env::var_os("ARENA_ORT_LOG").is_none() {
                environment.set_log_level(ort::logging::LogLevel::Fatal);
            }
            let version = library
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .and_then(|n| n.split(".so.").nth(1).map(str::to_string))
                .unwrap_or_else(|| "unknown".into());
            Ok(Runtime { environment, library, version })
        })
        .as_ref()
        .map_err(|e| OnnxError::Runtime(e.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_newest_versioned_library() {
        let dir = tempfile::tempdir().unwrap();
        let capi = dir.path().join(".venv/lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        for name in ["libonnxruntime.so.1.31.1", "libonnxruntime.so.1.9.0", "libonnxruntime_providers_shared.so"] {
            std::fs::write(capi.join(name), b"").unwrap();
        }
        assert_eq!(find_in_venv(dir.path()), Some(capi.join("libonnxruntime.so.1.31.1")));
        assert_eq!(find_in_venv(&dir.path().join("nothing")), None);
    }
}
