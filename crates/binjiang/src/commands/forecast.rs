//! `binjiang forecast <scene> --model <dir> --from <ISO time> --hours <H> [--json | --geojson
//! <file>]`: expected incidents per grid cell over the next hours, per type and per hour, with
//! a 90 % interval, from what `binjiang learn` wrote (issue 18).

use super::{load_scene_and_catalogue, round, INVALID};
use anyhow::Context;
use binjiang_learn::crowd::TideBook;
use binjiang_learn::forecast::{read_model, to_json, CellForecast, Forecaster};
use binjiang_scene::Scene;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `binjiang forecast`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scene folder the model was learned on.
    pub scene: PathBuf,
    /// The folder `binjiang learn --out` wrote (its model.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Start of the window, ISO 8601 (without an offset: the district's local time).
    #[arg(long)]
    pub from: String,
    /// Hours in the window (1 to 168).
    #[arg(long, default_value_t = 2)]
    pub hours: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write the cells as GeoJSON polygons with the forecast as properties (for QGIS).
    #[arg(long)]
    pub geojson: Option<PathBuf>,
}

/// Reads `<dir>/model.json` for `scene`, once: the forecast (with the cells' centres) and
/// the crowd tides. The error names the file and what is wrong.
pub fn load_model(dir: &Path, scene: &Scene) -> anyhow::Result<(Forecaster, TideBook)> {
    let path = dir.join("model.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let ids: Vec<String> = scene.grid.cells.iter().map(|c| c.id.clone()).collect();
    let (mut f, tides) =
        read_model(&path.display().to_string(), &text, &ids).map_err(crate::failure::invalid)?;
    f.centres = scene
        .grid
        .cells
        .iter()
        .map(|c| scene.frame.to_wgs84(c.centre()))
        .collect();
    Ok((f, tides))
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !(1..=168).contains(&args.hours) {
        bail_usage!("--hours {} must be 1 to 168", args.hours);
    }
    let (scene, catalogue) = match load_scene_and_catalogue(&args.scene)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let offset = super::learn::offset_of(&scene, &catalogue);
    let Some(from_ms) = binjiang_learn::history::parse_time(&args.from, offset) else {
        eprintln!(
            "--from \"{}\" is not an ISO 8601 time (e.g. 2026-12-05T18:00 or 2026-12-05T18:00:00+08:00)",
            args.from
        );
        return Ok(ExitCode::from(INVALID));
    };
    let (model, _) = load_model(&args.model, &scene)?;
    let cells = model.forecast(from_ms, args.hours);
    let from = chrono::TimeZone::timestamp_millis_opt(&offset, from_ms)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    if let Some(path) = &args.geojson {
        std::fs::write(path, geojson(&scene, &from, args.hours, &cells).to_string())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        println!("{}", to_json(&from, args.hours, &cells));
    } else {
        let total: f64 = cells.iter().map(|c| c.expected).sum();
        println!(
            "{} h from {from}: {total:.1} incidents expected over {} cells",
            args.hours,
            cells.len()
        );
        let mut top: Vec<&CellForecast> = cells.iter().collect();
        top.sort_by(|a, b| b.expected.total_cmp(&a.expected));
        println!(
            "  {:<10} {:>8} {:>9}  most expected",
            "cell", "expected", "90 %"
        );
        for c in top.iter().take(10) {
            let main = c
                .by_type
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or("", |(k, _)| k.as_str());
            println!(
                "  {:<10} {:>8.2} {:>4}–{:<4}  {main}",
                c.cell, c.expected, c.lo90, c.hi90
            );
        }
        if let Some(path) = &args.geojson {
            println!("cells: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The cells' squares (clipped to nothing: the grid's own squares) in WGS84 with the forecast.
fn geojson(scene: &Scene, from: &str, hours: usize, cells: &[CellForecast]) -> serde_json::Value {
    let features: Vec<serde_json::Value> = scene
        .grid
        .cells
        .iter()
        .zip(cells)
        .map(|(cell, f)| {
            let (lo, hi) = (cell.square.min(), cell.square.max());
            let ring: Vec<[f64; 2]> = [
                (lo.x, lo.y),
                (hi.x, lo.y),
                (hi.x, hi.y),
                (lo.x, hi.y),
                (lo.x, lo.y),
            ]
            .iter()
            .map(|(x, y)| {
                let (lon, lat) = scene.frame.to_wgs84(geo::Coord { x: *x, y: *y });
                [round(lon, 7), round(lat, 7)]
            })
            .collect();
            json!({
                "type": "Feature",
                "id": f.cell,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "cell": f.cell, "expected": f.expected, "lo90": f.lo90, "hi90": f.hi90,
                    "by_type": f.by_type, "by_hour": f.by_hour, "from": from, "hours": hours,
                },
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}
