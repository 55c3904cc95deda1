//! `binjiang simulate <scene>`: run the joint-dispatch simulation and report its metrics.

use super::{load_scene, INVALID};
use anyhow::Context;
use binjiang_scene::Scene;
use binjiang_sim::{Event, IncidentCatalogue, Metrics, SimOptions, Simulation};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `binjiang simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scene folder (holding scene.ron and incident_types.ron).
    pub scene: PathBuf,
    /// Simulated hours from midnight.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Random seed: same scene, options and seed give the same event log.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Dispatch policy.
    #[arg(long, default_value = "merged-grid", value_parser = ["merged-grid", "separate-grids"])]
    pub policy: String,
    /// Incident catalogue (default: <scene>/incident_types.ron).
    #[arg(long)]
    pub incidents: Option<PathBuf>,
    /// Never take a unit off routine work for an urgent incident.
    #[arg(long)]
    pub no_preemption: bool,
    /// Write the event log here, one JSON object per line.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Print exactly one JSON object of metrics instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !(args.hours > 0.0 && args.hours <= 24.0 * 366.0) {
        anyhow::bail!("--hours {} must be in (0, 8784]", args.hours);
    }
    let scene = match load_scene(&args.scene)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let catalogue_path = args
        .incidents
        .clone()
        .unwrap_or_else(|| args.scene.join("incident_types.ron"));
    let text = std::fs::read_to_string(&catalogue_path)
        .with_context(|| format!("cannot read {}", catalogue_path.display()))?;
    let options = SimOptions {
        seed: args.seed,
        policy: args.policy.clone(),
        preemption: !args.no_preemption,
        ..SimOptions::default()
    };
    let sim = IncidentCatalogue::from_ron(&text)
        .map_err(|e| e.to_string())
        .and_then(|c| Simulation::new(&scene, c, options).map_err(|e| e.to_string()));
    let mut sim = match sim {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("{}: {e}", catalogue_path.display());
            return Ok(ExitCode::from(INVALID));
        }
    };
    let started = Instant::now();
    advance_with_progress(&mut sim, args.hours);
    let wall = started.elapsed();
    let metrics = Metrics::from_events(sim.events(), sim.catalogue(), args.hours * 3600.0);
    if let Some(path) = &args.events {
        write_events(path, &scene, &sim)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "simulated {} h in {:.1} ms ({} events, {:.0}× real time)",
        args.hours,
        wall.as_secs_f64() * 1000.0,
        sim.events().len(),
        args.hours * 3600.0 / wall.as_secs_f64().max(1e-9)
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&Report {
                policy: &args.policy,
                seed: args.seed,
                hours: args.hours,
                metrics: &metrics
            })?
        );
    } else {
        print_table(&metrics, &args.policy);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Report<'a> {
    policy: &'a str,
    seed: u64,
    hours: f64,
    #[serde(flatten)]
    metrics: &'a Metrics,
}

fn advance_with_progress(sim: &mut Simulation, hours: f64) {
    let bar = if std::io::stderr().is_terminal() && hours >= 48.0 {
        let bar = ProgressBar::new(hours.ceil() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} simulated hours ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let mut h = 0.0;
    while h < hours {
        h = (h + 1.0).min(hours);
        sim.advance_to(h * 3600.0);
        if let Some(b) = &bar {
            b.set_position(h as u64);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

/// One line of the `--events` log: ids as the scene names them, position in WGS84.
#[derive(Serialize)]
struct EventLine<'a> {
    t: f64,
    kind: binjiang_sim::EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cell: Option<&'a str>,
    lon: f64,
    lat: f64,
}

fn write_events(path: &Path, scene: &Scene, sim: &Simulation) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for e in sim.events() {
        serde_json::to_writer(&mut out, &event_line(e, scene, sim))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn event_line<'a>(e: &Event, scene: &'a Scene, sim: &'a Simulation) -> EventLine<'a> {
    let (lon, lat) = scene.frame.to_wgs84(geo::Coord { x: e.x, y: e.y });
    let round7 = |v: f64| (v * 1e7).round() / 1e7;
    EventLine {
        t: e.t,
        kind: e.kind,
        incident: e.incident,
        incident_type: e
            .incident_type
            .map(|i| sim.catalogue().types[i as usize].key.as_str()),
        source: e.source.map(|s| s.key()),
        unit: e.unit.map(|u| scene.units[u as usize].id.as_str()),
        agency: e.agency.map(|a| a.key()),
        cell: e.cell.map(|c| scene.grid.cells[c as usize].id.as_str()),
        lon: round7(lon),
        lat: round7(lat),
    }
}

fn print_table(m: &Metrics, policy: &str) {
    let s = |v: Option<f64>| v.map_or("–".to_owned(), |x| format!("{x:.0} s"));
    let pct = |v: Option<f64>| v.map_or("–".to_owned(), |x| format!("{:.1} %", x * 100.0));
    println!(
        "policy {policy}: {} incidents, {} reported, {} closed, {} open at the end",
        m.incidents, m.reported, m.closed, m.open_at_end
    );
    println!(
        "  report → first unit on site   p50 {}  p90 {}  p99 {}",
        s(m.response_p50_s),
        s(m.response_p90_s),
        s(m.response_p99_s)
    );
    println!(
        "  on site ≤ 3 min               {}",
        pct(m.on_site_3min_share)
    );
    println!(
        "  litter closed ≤ 10 min        {}",
        pct(m.cleaned_10min_share)
    );
    println!(
        "  handled in the bud            {}",
        pct(m.in_the_bud_share)
    );
    println!(
        "  max queue                     {}   preemptions {}",
        m.max_queue, m.preemptions
    );
    println!(
        "  {:<20} {:>5} {:>10} {:>11} {:>14}",
        "agency", "units", "dispatches", "utilisation", "response p90"
    );
    for (a, x) in &m.per_agency {
        println!(
            "  {a:<20} {:>5} {:>10} {:>10.1}% {:>14}",
            x.units,
            x.dispatches,
            x.utilisation * 100.0,
            s(x.response_p90_s)
        );
    }
}
