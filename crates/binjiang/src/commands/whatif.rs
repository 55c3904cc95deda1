//! `binjiang whatif <scene> --base baseline --alt typhoon [--alt …]`: paired runs of scenario
//! overlays on common random numbers, in parallel on all cores, written as a report a planner
//! can hand on (`report.json`, `runs.csv`, `index.html`).

use super::{load_scene_and_catalogue, INVALID};
use anyhow::Context;
use binjiang_sim::SimOptions;
use binjiang_whatif::{compare, report, scenario};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `binjiang whatif`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scene folder (its scenarios are in `scenarios/<name>.ron`).
    pub scene: PathBuf,
    /// The base arm: a scenario name (`baseline` without a file is the scene as it is).
    #[arg(long, default_value = "baseline")]
    pub base: String,
    /// An alternative scenario (repeat for several).
    #[arg(long = "alt", required = true)]
    pub alts: Vec<String>,
    /// Seeds 1..=N, each run by every arm.
    #[arg(long, default_value_t = 40)]
    pub seeds: u64,
    /// Simulated hours from midnight.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Where to write report.json, runs.csv and index.html.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs the comparison and writes the report.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (scene, catalogue) = match load_scene_and_catalogue(&args.scene)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if !(args.hours.is_finite() && args.hours > 0.0) {
        anyhow::bail!("--hours must be > 0");
    }
    let mut arms = Vec::new();
    let mut bad = false;
    for name in std::iter::once(&args.base).chain(&args.alts) {
        match scenario::load(&scene, &catalogue, name, SimOptions::default()) {
            Ok(s) => arms.push(s),
            Err(problems) => {
                eprint!("{problems}");
                bad = true;
            }
        }
    }
    if bad {
        let known = scenario::list(&args.scene);
        eprintln!(
            "binjiang: the scenarios are not usable (this scene has: {})",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        );
        return Ok(ExitCode::from(INVALID));
    }
    let total = (args.seeds as usize) * arms.len();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed} (eta {eta})")
            .expect("a valid template"),
    );
    let started = std::time::Instant::now();
    let runs = compare::run(&arms, args.seeds, args.hours, &|done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    let codes: Vec<String> = scene.grid.parts.iter().map(|p| p.code.clone()).collect();
    let kpis = compare::kpis(&codes);
    let differences = compare::differences(&arms, &runs, &kpis);
    let report = report::Report::new(&arms, args.seeds, args.hours, differences);
    report::write(&args.out, &report, &arms, &runs, &kpis)
        .with_context(|| format!("cannot write the report to {}", args.out.display()))?;
    eprintln!(
        "binjiang: {} runs ({} arms × {} seeds) in {:.1} s; report in {}",
        runs.len(),
        arms.len(),
        args.seeds,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    for d in report.differences.iter().filter(|d| d.verdict.is_some()) {
        let (lo, hi) = d.ci95.unwrap_or_default();
        println!(
            "{} (mean {:.3} → {:.3}, difference {:+.3} [{lo:+.3}, {hi:+.3}])",
            d.verdict.as_deref().unwrap_or_default(),
            d.base_mean.unwrap_or_default(),
            d.alt_mean.unwrap_or_default(),
            d.diff_mean.unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
