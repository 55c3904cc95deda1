//! `binjiang simulate <scene>`: run the joint-dispatch simulation and report its metrics.
//!
//! Events stream to `--events` and into the metrics fold hour by hour, and closed incidents
//! are retired as the run goes, so a run of weeks keeps no day's log in memory.

use super::INVALID;
use anyhow::Context;
use binjiang_scene::{LocalFrame, Scene};
use binjiang_sim::{
    Event, IncidentCatalogue, IncidentSource, InputRecord, Metrics, MetricsFold, PolicyKind,
    SimOptions, Simulation,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `binjiang simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scene folder (holding scene.ron and incident_types.ron).
    pub scene: PathBuf,
    /// Simulated hours from the start.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Time of day the run starts at (HH:MM), units in their shift state then.
    #[arg(long, default_value = "00:00", value_parser = parse_clock)]
    pub at: f64,
    /// Random seed: same scene, options and seed give the same event log.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Dispatch policy (its per-agency rules are the catalogue's `dispatch` section).
    #[arg(long, value_enum, default_value_t = PolicyKind::MergedGrid)]
    pub policy: PolicyKind,
    /// Incident catalogue (default: <scene>/incident_types.ron); `--catalogue` takes the one
    /// `binjiang learn` wrote.
    #[arg(long, visible_alias = "catalogue")]
    pub incidents: Option<PathBuf>,
    /// The calendar date of the run's first day (YYYY-MM-DD): its weekday sets where a learned
    /// catalogue's hour-of-week rates start (default: a Monday), and `--history-out` dates
    /// its records from it.
    #[arg(long, value_parser = parse_date)]
    pub date: Option<chrono::NaiveDate>,
    /// Write the run's incidents as a history CSV (time, type, lon, lat, reported_at,
    /// arrived_at, cleared_at, agency, external_id) in the district's local time, as
    /// `binjiang learn --history` reads it. Needs --date.
    #[arg(long, requires = "date")]
    pub history_out: Option<PathBuf>,
    /// Replay a recorded incident list instead of generating incidents: CSV with a header,
    /// columns time,type,lon,lat (time HH:MM:SS from the run's midnight, type a catalogue
    /// key) and optional asset_id,external_id,source.
    #[arg(long)]
    pub incidents_from: Option<PathBuf>,
    /// Never take a unit off less urgent work for an urgent incident.
    #[arg(long)]
    pub no_preemption: bool,
    /// Write the event log here, one JSON object per line (docs/events.md).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Write the input log (reports replayed) here, one JSON object per line.
    #[arg(long)]
    pub inputs: Option<PathBuf>,
    /// Write why each unit was sent (or nobody was) here, one decision per line
    /// (docs/dispatch.md): the rule, the unit chosen and the others with their road times.
    #[arg(long)]
    pub explain: Option<PathBuf>,
    /// Print exactly one JSON object of metrics instead of a table.
    #[arg(long)]
    pub json: bool,
    /// `auto`: after every dispatch, a free unit takes over a busy unit's empty patrol when
    /// that regains at least 2 % of its agency's demand within 3 minutes by road (docs/plan.md).
    #[arg(long, value_enum, default_value_t = MoveUp::Off)]
    pub move_up: MoveUp,
}

/// `--move-up`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveUp {
    /// No move-ups (as the control room works today).
    Off,
    /// The coverage monitor's move-ups, every agency.
    Auto,
}

/// `YYYY-MM-DD`.
fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| format!("\"{text}\" is not a date YYYY-MM-DD: {e}"))
}

/// `HH:MM` as seconds since midnight (the scene's own clock parser, as the wall uses).
fn parse_clock(text: &str) -> Result<f64, String> {
    binjiang_scene::shift::parse_clock(text).map(f64::from)
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !(args.hours > 0.0 && args.hours <= 24.0 * 366.0) {
        bail_usage!("--hours {} must be in (0, 8784]", args.hours);
    }
    let (scene, catalogue) =
        match super::load_scene_with_catalogue(&args.scene, args.incidents.as_deref())? {
            Ok(loaded) => loaded,
            Err(code) => return Ok(code),
        };
    let source = match &args.incidents_from {
        None => IncidentSource::Generated,
        Some(path) => match recorded(path, &catalogue, &scene.frame)? {
            Ok(list) => IncidentSource::Recorded(Arc::new(list)),
            Err(code) => return Ok(code),
        },
    };
    let options = SimOptions {
        seed: args.seed,
        policy: args.policy,
        preemption: !args.no_preemption,
        start_s: args.at,
        weekday: args.date.map_or(0, |d| {
            use chrono::Datelike;
            d.weekday().num_days_from_monday() as u8
        }),
        ..SimOptions::default()
    };
    let policy = args.policy.build(catalogue.dispatch.clone());
    let mut sim = match Simulation::with_source(&scene, catalogue, options, policy, source) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("{}: {e}", args.scene.display());
            return Ok(ExitCode::from(INVALID));
        }
    };
    if args.move_up == MoveUp::Auto {
        let thresholds = binjiang_sim::MoveUpPolicy::Auto.thresholds();
        let monitor =
            binjiang_sim::CoverageMonitor::for_scene(&scene, sim.catalogue(), &thresholds);
        sim.set_move_up(Arc::new(monitor));
    }
    sim.set_explain(args.explain.is_some());
    let mut sinks = Sinks::open(args, &scene, sim.catalogue(), sim.options())?;
    let offset = super::learn::offset_of(&scene, sim.catalogue());
    if let Some(date) = args.date {
        let midnight = date
            .and_hms_opt(0, 0, 0)
            .and_then(|d| chrono::TimeZone::from_local_datetime(&offset, &d).single())
            .map_or(0, |d| d.timestamp_millis());
        sinks.history = args
            .history_out
            .as_ref()
            .map(|_| super::learn::Recorder::new(midnight, scene.frame));
    }
    let started = Instant::now();
    let end = args.at + args.hours * 3600.0;
    let events = run_with_progress(&mut sim, args.at, end, &mut sinks)?;
    let wall = started.elapsed();
    let metrics = sinks.fold.summary(end);
    if let (Some(path), Some(history)) = (&args.history_out, sinks.history.take()) {
        // A control room's export is to the second.
        let second = |ms: i64| (ms as f64 / 1000.0).round() as i64 * 1000;
        let records: Vec<binjiang_learn::Record> = history
            .into_records()
            .into_iter()
            .map(|mut r| {
                r.time_ms = second(r.time_ms);
                for t in [&mut r.reported_ms, &mut r.arrived_ms, &mut r.cleared_ms] {
                    *t = t.map(second);
                }
                r
            })
            .collect();
        std::fs::write(path, binjiang_learn::history::to_csv(&records, offset))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("{} incidents written to {}", records.len(), path.display());
    }
    eprintln!(
        "simulated {} h in {:.1} ms ({events} events, {:.0}× real time)",
        args.hours,
        wall.as_secs_f64() * 1000.0,
        args.hours * 3600.0 / wall.as_secs_f64().max(1e-9)
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&Report {
                policy: args.policy.name(),
                seed: args.seed,
                hours: args.hours,
                metrics: &metrics,
                patrol_coverage: sinks.coverage.kpi(),
                move_ups: (args.move_up == MoveUp::Auto).then_some(sinks.moved_up),
            })?
        );
    } else {
        print_table(&metrics, args.policy.name());
    }
    // The process ends now: freeing a city's day of state piece by piece took 30 ms of a
    // 2.8 s run for nothing (the system takes the memory back at once).
    std::mem::forget((sim, scene, sinks));
    Ok(ExitCode::SUCCESS)
}

/// Reads and checks a recorded incident list; bad rows are printed with their line numbers.
fn recorded(
    path: &std::path::Path,
    catalogue: &IncidentCatalogue,
    frame: &LocalFrame,
) -> anyhow::Result<Result<Vec<binjiang_sim::Report>, ExitCode>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(
        binjiang_sim::parse_recorded(&path.display().to_string(), &text, catalogue, frame).map_err(
            |problems| {
                eprint!("{problems}");
                ExitCode::from(INVALID)
            },
        ),
    )
}

#[derive(Serialize)]
struct Report<'a> {
    policy: &'a str,
    seed: u64,
    hours: f64,
    #[serde(flatten)]
    metrics: &'a Metrics,
    /// Hot cells left without a patrol for over two hours (issue 19).
    patrol_coverage: binjiang_sim::coverage::PatrolCoverageKpi,
    /// Move-ups made, with `--move-up auto`.
    #[serde(skip_serializing_if = "Option::is_none")]
    move_ups: Option<usize>,
}

/// Where a run's events go as it runs: the metrics fold, patrol coverage, and the log files
/// asked for. Everything here sees only the events and the units' sampled positions, so it
/// works on its own thread, an hour behind the simulation.
struct Sinks {
    fold: MetricsFold,
    events: Option<BufWriter<std::fs::File>>,
    inputs: Option<BufWriter<std::fs::File>>,
    /// Why each unit was sent (`--explain`).
    explain: Option<BufWriter<std::fs::File>>,
    frame: LocalFrame,
    /// The incidents as a history (`--history-out`).
    history: Option<super::learn::Recorder>,
    /// Patrol coverage, from the units' positions sampled every two minutes.
    coverage: binjiang_sim::coverage::PatrolCoverage,
    /// Move-ups made (`--move-up auto`).
    moved_up: usize,
}

impl Sinks {
    fn open(
        args: &Args,
        scene: &Scene,
        catalogue: &IncidentCatalogue,
        options: &SimOptions,
    ) -> anyhow::Result<Self> {
        let create = |p: &Option<PathBuf>| -> anyhow::Result<Option<BufWriter<std::fs::File>>> {
            p.as_ref()
                .map(|p| {
                    std::fs::File::create(p)
                        .map(BufWriter::new)
                        .with_context(|| format!("cannot write {}", p.display()))
                })
                .transpose()
        };
        Ok(Sinks {
            fold: MetricsFold::new(catalogue),
            events: create(&args.events)?,
            inputs: create(&args.inputs)?,
            explain: create(&args.explain)?,
            frame: scene.frame,
            history: None,
            coverage: binjiang_sim::coverage::PatrolCoverage::new(
                scene,
                catalogue,
                options.weekday,
                options.start_s,
            ),
            moved_up: 0,
        })
    }

    /// Takes one simulated hour, in order.
    fn take(&mut self, hour: Hour) -> anyhow::Result<()> {
        let Hour {
            events,
            inputs,
            decisions,
            samples,
        } = hour;
        for (t, positions) in samples {
            self.coverage.observe(t, positions.into_iter());
        }
        if let Some(out) = &mut self.explain {
            for d in &decisions {
                serde_json::to_writer(&mut *out, d)?;
                out.write_all(b"\n")?;
            }
        }
        self.fold.extend(&events);
        self.moved_up += events
            .iter()
            .filter(|e| e.kind() == binjiang_sim::EventKind::MovedUp)
            .count();
        if let Some(h) = &mut self.history {
            for e in &events {
                h.take(e);
            }
        }
        if let Some(out) = &mut self.events {
            for e in &events {
                serde_json::to_writer(&mut *out, &EventLine::of(e, &self.frame))?;
                out.write_all(b"\n")?;
            }
        }
        if let Some(out) = &mut self.inputs {
            for i in &inputs {
                serde_json::to_writer(&mut *out, i)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        for out in [&mut self.events, &mut self.inputs, &mut self.explain]
            .into_iter()
            .flatten()
        {
            out.flush()?;
        }
        Ok(())
    }
}

/// One hour's output of the simulation, as the sinks take it: its events, inputs and
/// decisions, and the units' positions (and whether each is on duty) at each patrol
/// coverage sample.
struct Hour {
    events: Vec<Event>,
    inputs: Vec<InputRecord>,
    decisions: Vec<binjiang_sim::Decision>,
    samples: Vec<(f64, Vec<Placed>)>,
}

/// A unit's position at a sample, and whether it is on duty.
type Placed = ([f64; 2], bool);

/// Advances hour by hour, sampling the units' positions for patrol coverage, handing each
/// hour's events and samples to the sinks on their own thread (at most two hours queued:
/// the simulation waits for a slow disk rather than piling hours up) and retiring closed
/// incidents; returns how many events there were. The sinks take the hours in order, so
/// files and figures are as before.
fn run_with_progress(
    sim: &mut Simulation,
    start: f64,
    end: f64,
    sinks: &mut Sinks,
) -> anyhow::Result<usize> {
    let hours = (end - start) / 3600.0;
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
    let count = std::thread::scope(|scope| -> anyhow::Result<usize> {
        let (hours_tx, hours_rx) = std::sync::mpsc::sync_channel::<Hour>(2);
        let writer = scope.spawn(move || -> anyhow::Result<()> {
            for hour in hours_rx {
                sinks.take(hour)?;
            }
            sinks.finish()
        });
        let (mut t, mut count) = (start, 0);
        // Where each unit was found on its route at the last sample (where to look next).
        let mut hints = Vec::new();
        while t < end {
            let hour_end = (t + 3600.0).min(end);
            // The units' paths, sampled every two minutes, for patrol coverage.
            let mut samples = Vec::new();
            while t < hour_end {
                t = (t + binjiang_sim::coverage::SAMPLE_S).min(hour_end);
                sim.advance_to(t);
                samples.push((t, sim.positions_from(&mut hints).collect()));
            }
            let (events, inputs) = (sim.drain_events(), sim.drain_inputs());
            count += events.len();
            let hour = Hour {
                events,
                inputs,
                decisions: sim.drain_decisions(),
                samples,
            };
            if hours_tx.send(hour).is_err() {
                break; // the writer stopped on an error, which its join returns
            }
            sim.retire_closed();
            if let Some(b) = &bar {
                b.set_position(((t - start) / 3600.0) as u64);
            }
        }
        drop(hours_tx);
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the thread writing the logs panicked"))??;
        Ok(count)
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(count)
}

/// One line of the `--events` log: the event as the simulation writes it (docs/events.md),
/// with its position also in WGS84.
#[derive(Serialize)]
struct EventLine<'a> {
    #[serde(flatten)]
    event: &'a Event,
    lon: f64,
    lat: f64,
}

impl<'a> EventLine<'a> {
    fn of(event: &'a Event, frame: &LocalFrame) -> Self {
        let (lon, lat) = frame.to_wgs84(geo::Coord {
            x: event.x,
            y: event.y,
        });
        let round7 = |v: f64| (v * 1e7).round() / 1e7;
        EventLine {
            event,
            lon: round7(lon),
            lat: round7(lat),
        }
    }
}

fn print_table(m: &Metrics, policy: &str) {
    let s = |v: Option<f64>| v.map_or("–".to_owned(), |x| format!("{x:.0} s"));
    let pct = |v: Option<f64>| v.map_or("–".to_owned(), |x| format!("{:.1} %", x * 100.0));
    let all = &m.all;
    println!(
        "policy {policy}: {} incidents, {} reported, {} closed, {} open at the end, {} reported but never reached",
        all.incidents, all.reported, all.closed, all.open_at_end, all.unreached
    );
    println!(
        "  report → every agency on site p50 {}  p90 {}  p99 {}   (– : not reached in the run)",
        s(all.response_s.p50),
        s(all.response_s.p90),
        s(all.response_s.p99)
    );
    println!(
        "  arising → report (detection)  p50 {}  p90 {}",
        s(all.detection_s.p50),
        s(all.detection_s.p90)
    );
    println!(
        "  on site ≤ 3 min (all / first) {} / {}",
        pct(all.on_site_3min_share),
        pct(all.first_on_site_3min_share)
    );
    println!(
        "  litter closed ≤ 10 min        {}",
        pct(all.cleaned_10min_share)
    );
    println!(
        "  handled in the bud            {}",
        pct(all.in_the_bud_share)
    );
    println!(
        "  queue wait p50 {}  p90 {}   max queue {}   preemptions {}",
        s(m.queue_wait_s.p50),
        s(m.queue_wait_s.p90),
        m.max_queue,
        m.preemptions
    );
    println!(
        "  {:<20} {:>5} {:>10} {:>11} {:>13} {:>9} {:>12}",
        "agency", "units", "dispatches", "utilisation", "response p90", "≤ 3 min", "beyond limit"
    );
    for (a, x) in &m.per_agency {
        println!(
            "  {a:<20} {:>5} {:>10} {:>10.1}% {:>13} {:>9} {:>12}",
            x.units,
            x.dispatches,
            x.utilisation * 100.0,
            s(x.response_s.p90),
            pct(x.on_site_3min_share),
            x.queued_beyond_max_travel
        );
    }
    println!(
        "  {:<20} {:>9} {:>13} {:>9} {:>9}",
        "subdistrict", "incidents", "response p90", "≤ 3 min", "in bud"
    );
    for (code, k) in &m.per_subdistrict {
        println!(
            "  {code:<20} {:>9} {:>13} {:>9} {:>9}",
            k.incidents,
            s(k.response_s.p90),
            pct(k.on_site_3min_share),
            pct(k.in_the_bud_share)
        );
    }
}
