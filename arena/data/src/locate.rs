//! Where the arena finds the files it does not embed, for a binary run from a source checkout or
//! installed elsewhere (`cargo install`). Every lookup walks the same roots, in this order: the
//! current directory and its ancestors, then the executable's directory and its ancestors. The
//! shared data folder (`shared_data_dir`), the bundled reference weights
//! (`arena_models::reference::weights_root`) and ONNX Runtime's `.venv`
//! (`arena_models::runners::onnx::runtime`) each check an environment variable first.

use std::path::{Path, PathBuf};

/// The current directory and its ancestors, then the executable's directory and its ancestors,
/// without repeats.
pub fn search_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    let mut seen = std::collections::HashSet::new();
    roots.retain(|r| seen.insert(r.clone()));
    roots
}

/// The first existing directory `root/relative` over [`search_roots`].
pub fn find_dir(relative: &Path) -> Option<PathBuf> {
    search_roots().into_iter().map(|root| root.join(relative)).find(|dir| dir.is_dir())
}

/// The installed data folder of the arena beside its executable: `<prefix>/share/arena` for
/// `<prefix>/bin/arena` (the layout of `cargo install --root <prefix>`).
pub fn installed_share_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.join("share").join("arena"))
}
