//! `binjiang whatif <scene> --base baseline --alt typhoon [--alt …]`: paired runs of scenario
//! overlays on common random numbers, in parallel on all cores, written as a report a planner
//! can hand on (`report.json`, `runs.csv`, `index.html`). `binjiang whatif staffing <scene>
//! --agency cleaning --target "cleaned_10min_share >= 0.95"`: the smallest count that meets a
//! target with 95 % confidence.

use super::{load_scene_and_catalogue, INVALID};
use anyhow::Context;
use binjiang_sim::SimOptions;
use binjiang_whatif::{compare, report, scenario, staffing};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `binjiang whatif`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    /// `staffing`: the smallest count of an agency's units meeting a target.
    #[command(subcommand)]
    pub search: Option<Search>,
    /// The scene folder (its scenarios are in `scenarios/<name>.ron`).
    #[arg(required = true)]
    pub scene: Option<PathBuf>,
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
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// Run on workers through NATS JetStream (`nats://host:4222[,…]`) instead of this
    /// machine's cores; start them with `binjiang worker --bus …` where the scene folder is.
    #[arg(long, value_name = "URL")]
    pub workers: Option<String>,
    /// Print no verdicts on stdout (a caller that prints its own, e.g. `plan --verify`).
    #[arg(skip)]
    pub quiet: bool,
}

/// Searches.
#[derive(clap::Subcommand, Debug)]
pub enum Search {
    /// The smallest number of an agency's units whose KPI meets a target with 95 % confidence.
    Staffing(StaffingArgs),
}

/// Arguments of `binjiang whatif staffing`.
#[derive(clap::Args, Debug)]
pub struct StaffingArgs {
    /// The scene folder.
    pub scene: PathBuf,
    /// The scenario to staff (default: the scene as it is).
    #[arg(long, default_value = "baseline")]
    pub scenario: String,
    /// The agency whose units are counted.
    #[arg(long)]
    pub agency: String,
    /// `<kpi>[@<scope>] >= <value>` or `<=`, e.g. "cleaned_10min_share >= 0.95".
    #[arg(long)]
    pub target: String,
    /// Largest count tried.
    #[arg(long, default_value_t = 40)]
    pub max: usize,
    /// Seeds per count.
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// Simulated hours from midnight.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Print one JSON object (answer and curve) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the comparison and writes the report, or a search.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if let Some(Search::Staffing(s)) = &args.search {
        return staffing(s);
    }
    let (Some(scene_dir), Some(out)) = (&args.scene, &args.out) else {
        bail_usage!("whatif needs a scene and --out");
    };
    let (scene, catalogue) = match load_scene_and_catalogue(scene_dir)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if !(args.hours.is_finite() && args.hours > 0.0) {
        bail_usage!("--hours must be > 0");
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
        let known = scenario::list(scene_dir);
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
    let progress = |done: usize, _: usize| bar.set_position(done as u64);
    let runs = match &args.workers {
        None => compare::run(&arms, args.seeds, args.hours, &progress)?,
        Some(url) => {
            if args.seeds < 2 {
                bail_usage!("at least 2 seeds are needed for a confidence interval");
            }
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(binjiang_bus::coordinate(
                    url, &arms, args.seeds, args.hours, &progress,
                ))?
        }
    };
    bar.finish_and_clear();
    let codes: Vec<String> = scene.grid.parts.iter().map(|p| p.code.clone()).collect();
    let kpis = compare::kpis(&codes, args.hours.ceil() as usize);
    let differences = compare::differences(&arms, &runs, &kpis);
    let report = report::Report::new(&arms, &runs, args.seeds, args.hours, differences);
    report::write(out, &report, &arms, &runs, &kpis)
        .with_context(|| format!("cannot write the report to {}", out.display()))?;
    eprintln!(
        "binjiang: {} runs ({} arms × {} seeds) in {:.1} s; report in {}",
        runs.len(),
        arms.len(),
        args.seeds,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    for d in report
        .differences
        .iter()
        .filter(|d| d.verdict.is_some() && !args.quiet)
    {
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

/// `binjiang whatif staffing`.
fn staffing(args: &StaffingArgs) -> anyhow::Result<ExitCode> {
    let (scene, catalogue) = match load_scene_and_catalogue(&args.scene)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let Some(agency) = binjiang_scene::Agency::parse(&args.agency) else {
        bail_usage!(
            "--agency \"{}\": expected one of {}",
            args.agency,
            binjiang_scene::Agency::expected()
        );
    };
    let target: staffing::StaffingTarget = args.target.parse().map_err(anyhow::Error::msg)?;
    let base = match scenario::load(&scene, &catalogue, &args.scenario, SimOptions::default()) {
        Ok(s) => s,
        Err(problems) => {
            eprint!("{problems}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    let started = std::time::Instant::now();
    let found = staffing::search(&base, agency, &target, args.max, args.seeds, args.hours)?;
    if args.json {
        println!("{}", serde_json::to_string(&found)?);
    } else {
        println!("units  seeds  mean     95 % bound  meets {}", args.target);
        for p in &found.curve {
            println!(
                "{:>5}  {:>5}  {:<7}  {:<10}  {}",
                p.units,
                p.n,
                p.mean.map_or("–".into(), |m| format!("{m:.3}")),
                p.bound95.map_or("–".into(), |m| format!("{m:.3}")),
                if p.meets { "yes" } else { "no" }
            );
        }
        match found.answer {
            Some(n) => println!(
                "{n} {} units meet it (today {}); searched in {:.1} s",
                agency.key(),
                found.today,
                started.elapsed().as_secs_f64()
            ),
            None => println!(
                "no count up to {} meets it (today {}); searched in {:.1} s",
                args.max,
                found.today,
                started.elapsed().as_secs_f64()
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}
