//! `binjiang import osm <file> --out <dir>`: an OpenStreetMap extract into a scene.

use binjiang_osm::{import, Bbox, ImportError, ImportOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where geodata comes from.
#[derive(clap::Subcommand, Debug)]
pub enum Source {
    /// An OpenStreetMap extract: `.osm.pbf`, or `.osm` XML from the export button.
    Osm(OsmArgs),
}

/// Arguments of `binjiang import osm`.
#[derive(clap::Args, Debug)]
pub struct OsmArgs {
    /// The extract (.osm.pbf or .osm).
    pub file: PathBuf,
    /// The scene folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Clip to W,S,E,N degrees (default: the extent of the roads in the file).
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// Grid parts: a GeoJSON file of polygons with `code` (9 digits) and `name`.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// Scene name (default: the file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Grid cell size, metres.
    #[arg(long, default_value_t = 100.0)]
    pub cell: f64,
}

/// Runs the command.
pub fn run(source: &Source) -> anyhow::Result<ExitCode> {
    let Source::Osm(args) = source;
    let bbox = match args.bbox.as_deref().map(Bbox::parse).transpose() {
        Ok(b) => b,
        Err(e) => return Ok(fail(&e)),
    };
    if !(10.0..=5000.0).contains(&args.cell) {
        bail_usage!("--cell {} must be between 10 and 5000 metres", args.cell);
    }
    let opts = ImportOptions {
        out: args.out.clone(),
        bbox,
        name: args.name.clone(),
        cell_m: args.cell,
        grid: args.grid.clone(),
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    });
    let result = import(&args.file, &opts, &mut |stage| {
        if let Some(b) = &bar {
            b.set_message(stage.to_owned());
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(r) => {
            println!("{}: imported in {:.2} s", args.out.display(), r.seconds);
            println!("  roads      {} features from {} highway ways ({:.1} % of nodes in the largest piece)", r.road_features, r.highway_ways, r.largest_piece_share * 100.0);
            println!(
                "  buildings  {} of {} in the file ({} left out)",
                r.buildings, r.buildings_in_file, r.buildings_left_out
            );
            println!(
                "  water      {} areas ({} coastline ways not converted)",
                r.water, r.coastline_ways
            );
            println!(
                "  assets     {}",
                r.assets
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("  units      {} (default deployment)", r.units);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(fail(&e)),
    }
}

fn fail(e: &ImportError) -> ExitCode {
    eprintln!("binjiang import osm: {e}");
    ExitCode::from(match e {
        ImportError::Unreadable(..) | ImportError::Bbox(_) | ImportError::Write(..) => 2,
        ImportError::Malformed(..) | ImportError::NoData(_) | ImportError::Invalid(_) => 1,
    })
}
