//! copper-bulk's development tasks, as a library so that ordinary tests can
//! run them too.

pub mod bench;
pub mod ci;
mod contract;
pub mod regen;

use std::path::PathBuf;

/// The root of the workspace.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_owned()
}
