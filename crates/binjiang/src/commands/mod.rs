//! One module per subcommand; each returns the process exit code.

pub mod city;
pub mod forecast;
pub mod import;
pub mod info;
pub mod learn;
pub mod plan;
pub mod replay;
pub mod serve;
pub mod simulate;
pub mod synth;
pub mod token;
pub mod validate;
pub mod whatif;
pub mod worker;

use binjiang_scene::{LoadError, Scene};
use binjiang_sim::IncidentCatalogue;
use std::path::Path;
use std::process::ExitCode;

/// `v` to `digits` decimals: what the commands print stays readable (7 for degrees, a
/// centimetre).
pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Exit code for invalid input.
pub const INVALID: u8 = 1;

/// Loads a scene, printing problems to stderr. `Err` only for unreadable paths (exit 2).
pub fn load_scene(dir: &Path) -> anyhow::Result<Result<Scene, ExitCode>> {
    match Scene::load(dir) {
        Ok(scene) => {
            for w in &scene.warnings {
                eprintln!("{w}");
            }
            Ok(Ok(scene))
        }
        Err(LoadError::Invalid(problems)) => {
            let errors = problems.error_count();
            eprint!("{problems}");
            eprintln!(
                "{}: {errors} error(s); the scene is not valid",
                dir.display()
            );
            Ok(Err(ExitCode::from(INVALID)))
        }
        Err(e @ LoadError::Unreadable { .. }) => Err(e.into()),
    }
}

/// Loads and checks an incident catalogue, printing warnings (or every problem) to stderr.
pub fn load_catalogue(path: &Path, scene: &Scene) -> Result<IncidentCatalogue, ExitCode> {
    match IncidentCatalogue::load(path, scene) {
        Ok((catalogue, warnings)) => {
            for w in warnings {
                eprintln!("{w}");
            }
            Ok(catalogue)
        }
        Err(problems) => {
            eprint!("{problems}");
            Err(ExitCode::from(INVALID))
        }
    }
}

/// Loads a scene folder and its own catalogue (`incident_types.ron`), printing problems.
pub fn load_scene_and_catalogue(
    dir: &Path,
) -> anyhow::Result<Result<(Scene, IncidentCatalogue), ExitCode>> {
    load_scene_with_catalogue(dir, None)
}

/// [`load_scene_and_catalogue`] with the catalogue at `catalogue` instead of the scene's own
/// (`--catalogue`: the one `binjiang learn` wrote, a planner's).
pub fn load_scene_with_catalogue(
    dir: &Path,
    catalogue: Option<&Path>,
) -> anyhow::Result<Result<(Scene, IncidentCatalogue), ExitCode>> {
    let scene = match load_scene(dir)? {
        Ok(s) => s,
        Err(code) => return Ok(Err(code)),
    };
    let own = dir.join(binjiang_sim::CATALOGUE_FILE);
    Ok(load_catalogue(catalogue.unwrap_or(&own), &scene).map(|c| (scene, c)))
}

/// The district a scene folder feeds on the bus: the folder's name (e.g.
/// `yangpu-riverfront`), checked to fit a subject token.
pub fn district_of(dir: &Path) -> anyhow::Result<String> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    binjiang_bus::ingest::check_district(&name)
        .map_err(|e| crate::failure::usage(format!("{e}; pass --district")))?;
    Ok(name)
}
