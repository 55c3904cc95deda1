//! `binjiang validate <scene>`: every problem listed, or a one-screen summary.

use super::load_scene;
use binjiang_scene::SceneSummary;
use std::path::Path;
use std::process::ExitCode;

/// Runs the command.
pub fn run(dir: &Path) -> anyhow::Result<ExitCode> {
    let scene = match load_scene(dir)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    print!("{}", SceneSummary::of(&scene));
    println!(
        "{}: valid ({} warning(s))",
        dir.display(),
        scene.warnings.len()
    );
    Ok(ExitCode::SUCCESS)
}
