//! `binjiang info <scene> [--json]`: the scene's figures as a table or one JSON object.

use super::load_scene;
use binjiang_scene::SceneSummary;
use std::path::Path;
use std::process::ExitCode;

/// Runs the command.
pub fn run(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let scene = match load_scene(dir)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let summary = SceneSummary::of(&scene);
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}
