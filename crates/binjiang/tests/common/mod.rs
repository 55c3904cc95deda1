//! Running the `binjiang` binary from the repository root, as a user does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `binjiang` with `args` in the repository root.
pub fn binjiang(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_binjiang"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
