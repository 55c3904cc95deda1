//! `binjiang learn <scene> --history <incidents.csv> [--map <types.csv>] [--counts
//! <counts.csv>] [--holdout-weeks 2] --out <dir> [--json] [--skip-bad]`: learns each
//! incident type's daily rate, hour-of-week profile, density over the grid's cells and
//! durations, and each people counter's tide, from a district's own records; scores the
//! model on held-out weeks against the last four weeks and the scene's catalogue; refits on
//! every week; and writes `<dir>/model.json`, `<dir>/catalogue.ron` and
//! `<dir>/report/index.html` (issue 18).

mod catalogue;
mod records;
mod report;

pub use records::Recorder;

use super::{load_scene_and_catalogue, round, INVALID};
use anyhow::Context;
use binjiang_learn::history::{parse_map, Record};
use binjiang_learn::model::{self, Holdout, TypeHistory, TypeModel, FORECASTERS};
use binjiang_learn::rates::WEEK_H;
use binjiang_learn::spatial::Cell;
use chrono::{Datelike, FixedOffset, TimeZone};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `binjiang learn`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scene folder (its grid and incident catalogue).
    pub scene: PathBuf,
    /// The history: CSV with time,type,lon,lat and optionally reported_at, arrived_at,
    /// cleared_at, agency, external_id.
    #[arg(long, required_unless_present = "from_db", conflicts_with = "from_db")]
    pub history: Option<PathBuf>,
    /// Learn from a live twin's database instead: the incidents its log holds (`serve --db`).
    #[arg(long)]
    pub from_db: Option<PathBuf>,
    /// Maps an export's categories onto catalogue types: CSV source_type,type.
    #[arg(long)]
    pub map: Option<PathBuf>,
    /// The last weeks held out to score the model (then it is refitted on every week).
    #[arg(long, default_value_t = 2)]
    pub holdout_weeks: usize,
    /// Where model.json goes.
    #[arg(long)]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// People counters' counts: CSV time,site,lon,lat,count, one row per site and interval;
    /// each site's hour-of-week tide (median, p95, p99, peak and trough hours) is learned.
    #[arg(long)]
    pub counts: Option<PathBuf>,
    /// Use the good rows even when more than 1 % are malformed.
    #[arg(long)]
    pub skip_bad: bool,
}

const WEEK_MS: i64 = WEEK_H as i64 * 3_600_000;

/// The district's UTC offset: `live.ron`'s, else Shanghai's +08:00.
pub fn offset_of(
    scene: &binjiang_scene::Scene,
    catalogue: &binjiang_sim::IncidentCatalogue,
) -> FixedOffset {
    binjiang_live::config::LiveConfig::load(&scene.dir, catalogue)
        .map(|c| c.utc_offset)
        .unwrap_or_else(|_| FixedOffset::east_opt(8 * 3600).expect("+08:00"))
}

/// Unix ms of the local Monday 00:00 on or before `ms`: the district's midnight before it,
/// less the days since Monday.
fn monday_before(ms: i64, offset: FixedOffset) -> i64 {
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default();
    let days_back = i64::from(at.with_timezone(&offset).weekday().num_days_from_monday());
    binjiang_live::clock::Clock::midnight_before(at, offset) - days_back * 86_400_000
}

/// The local Monday 00:00 on or before Unix ms `first`, and how many whole weeks from it
/// reach `last`: the weeks a history (or counts) is cut into.
fn whole_weeks(first: i64, last: i64, offset: FixedOffset) -> (i64, usize) {
    let start = monday_before(first, offset);
    (start, ((last - start) / WEEK_MS) as usize + 1)
}

/// The incidents a live twin's log holds, as a history: when each arose (its place, its type),
/// was reported, first reached and closed, from the decisions the twin logged.
fn history_of_db(
    db: &std::path::Path,
    scene: &binjiang_scene::Scene,
) -> anyhow::Result<binjiang_learn::History> {
    if !db.is_file() {
        return Err(anyhow::Error::from(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no database at {}", db.display()),
        )));
    }
    let not_live =
        |why: String| crate::failure::invalid(anyhow::anyhow!("{}: {why}", db.display()));
    let conn = binjiang_live::store::open(db)?;
    let epoch_ms: i64 = binjiang_live::store::meta(&conn, "epoch_ms")?
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| not_live("not a live twin's database (no epoch_ms)".into()))?;
    let mut recorder = Recorder::new(epoch_ms, scene.frame);
    let mut stmt = conn.prepare("SELECT body FROM events ORDER BY seq")?;
    let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for body in bodies {
        let e: binjiang_sim::Event = serde_json::from_str(&body?)
            .map_err(|e| not_live(format!("an event does not parse: {e}")))?;
        recorder.take(&e);
    }
    let records = recorder.into_records();
    Ok(binjiang_learn::History {
        rows: records.len(),
        records,
        ..binjiang_learn::History::default()
    })
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (scene, base) = match load_scene_and_catalogue(&args.scene)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let offset = offset_of(&scene, &base);
    let types: BTreeSet<String> = base.types.iter().map(|t| t.key.clone()).collect();
    let map = match &args.map {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            match parse_map(&path.display().to_string(), &text, &types) {
                Ok(m) => Some(m),
                Err(problems) => {
                    for p in problems {
                        eprintln!("{p}");
                    }
                    return Ok(ExitCode::from(INVALID));
                }
            }
        }
    };
    let (file, history) = match (&args.history, &args.from_db) {
        (Some(path), _) => {
            let file = path.display().to_string();
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {file}"))?;
            match binjiang_learn::parse(&file, &text, &types, map.as_ref(), offset, args.skip_bad) {
                Ok(h) => (file, h),
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(INVALID));
                }
            }
        }
        (None, Some(db)) => (db.display().to_string(), history_of_db(db, &scene)?),
        (None, None) => bail_usage!("give --history or --from-db"),
    };
    for (line, why) in history.malformed.iter().take(20) {
        eprintln!("{file}:{line}: {why}");
    }
    // The counts are read before anything is learned: a file that cannot be used stops here.
    let crowd = match &args.counts {
        None => None,
        Some(path) => match crowd_of(path, offset, args.skip_bad)? {
            Ok(c) => Some(c),
            Err(code) => return Ok(code),
        },
    };
    // Where each record fell: its grid cell, or outside the merged grid.
    let grid = &scene.grid;
    let cells: Vec<Cell> = grid
        .cells
        .iter()
        .map(|c| Cell {
            col: c.col,
            row: c.row,
        })
        .collect();
    let mut placed: Vec<(&Record, usize)> = Vec::new();
    let mut outside = 0usize;
    for r in &history.records {
        match grid.cell_at(scene.frame.to_local(r.lon, r.lat)) {
            Some(c) => placed.push((r, c)),
            None => outside += 1,
        }
    }
    let Some(first) = placed.iter().map(|(r, _)| r.time_ms).min() else {
        eprintln!(
            "{file}: none of its {} records lies on the grid of {} ({outside} outside it)",
            history.records.len(),
            args.scene.display()
        );
        return Ok(ExitCode::from(INVALID));
    };
    let last = placed.iter().map(|(r, _)| r.time_ms).max().unwrap_or(first);
    let (start, weeks) = whole_weeks(first, last, offset);
    if weeks < args.holdout_weeks + 2 {
        eprintln!(
            "{file}: the history spans {weeks} week(s) from Monday {}; learning needs at least {} ({} held out)",
            offset.timestamp_millis_opt(start).single().map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            args.holdout_weeks + 2,
            args.holdout_weeks
        );
        return Ok(ExitCode::from(INVALID));
    }
    let seconds = |r: &Record| (r.time_ms - start) as f64 / 1000.0;
    let train_weeks = weeks - args.holdout_weeks;
    let mut by_type: BTreeMap<String, TypeHistory> = BTreeMap::new();
    let secs = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
        _ => None,
    };
    for (r, c) in &placed {
        // What the scene's catalogue knows of where the type arises: the density's prior.
        let h = by_type
            .entry(r.incident_type.clone())
            .or_insert_with(|| TypeHistory {
                prior_share: base
                    .index_of(&r.incident_type)
                    .map(|ti| base.cell_shares(ti, &scene))
                    .unwrap_or_default(),
                ..TypeHistory::default()
            });
        h.times_s.push(seconds(r));
        h.cells.push(*c);
        h.on_scene_s.extend(secs(r.arrived_ms, r.cleared_ms));
        h.report_delay_s
            .extend(secs(Some(r.time_ms), r.reported_ms));
    }
    let hours = args.holdout_weeks * WEEK_H;
    let mut holdouts: BTreeMap<String, Holdout> = BTreeMap::new();
    let mut models: BTreeMap<String, TypeModel> = BTreeMap::new();
    for (ty, h) in &by_type {
        let own = catalogue::forecast(&base, ty, &h.prior_share, hours).unwrap_or_default();
        if let Some(held) = model::holdout(
            h,
            &cells,
            grid.cell_size_m,
            train_weeks,
            args.holdout_weeks,
            &own,
        ) {
            holdouts.insert(ty.clone(), held);
        }
        models.insert(
            ty.clone(),
            model::fit_type(h, &cells, grid.cell_size_m, weeks),
        );
    }
    let mut types_out = serde_json::Map::new();
    for (ty, m) in &models {
        let density_json = m.density.as_ref().map(|d| {
            let share: BTreeMap<&str, f64> = grid
                .cells
                .iter()
                .zip(&d.share)
                .filter(|(_, s)| **s > 1e-6)
                .map(|(c, s)| (c.id.as_str(), round(*s, 7)))
                .collect();
            json!({"bandwidth_m": d.bandwidth_m, "raw_weight": d.raw_weight, "prior_weight": d.prior_weight, "share": share})
        });
        let held = holdouts.get(ty);
        let by_forecaster = |f: &dyn Fn(&model::Scores) -> f64| -> Value {
            held.map_or(Value::Null, |h| {
                FORECASTERS
                    .iter()
                    .zip(&h.scores)
                    .map(|(name, s)| ((*name).to_owned(), json!(round(f(s), 3))))
                    .collect::<serde_json::Map<String, Value>>()
                    .into()
            })
        };
        types_out.insert(
            ty.clone(),
            json!({
                "events": m.events,
                "per_day": m.timing.as_ref().map(|t| round(t.per_day, 2)),
                "hour_of_week": m.timing.as_ref().map(|t| t.hour_of_week.iter().map(|v| round(*v, 4)).collect::<Vec<_>>()),
                "kappa_weeks": m.timing.as_ref().map(|t| t.kappa),
                "ks_rescaled_p": m.ks_rescaled_p.map(|p| round(p, 4)),
                "density": density_json,
                "on_scene_s": m.on_scene,
                "report_delay_s": m.report_delay,
                "held_out_incidents": held.map(|h| h.incidents),
                "log_score": by_forecaster(&|s| s.log_score),
                "pai_5pct": by_forecaster(&|s| s.hit_5pct.pai),
                "hit_rate_5pct": by_forecaster(&|s| s.hit_5pct.hit_rate),
                "pai_10pct": by_forecaster(&|s| s.hit_10pct.pai),
                "hit_rate_10pct": by_forecaster(&|s| s.hit_10pct.hit_rate),
                "coverage_90": by_forecaster(&|s| s.coverage_90),
            }),
        );
    }
    // Over all types, weighted by held-out incidents.
    let held_out: usize = holdouts.values().map(|h| h.incidents).sum();
    let overall = |f: &dyn Fn(&model::Scores) -> f64| -> Value {
        FORECASTERS
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let v = holdouts
                    .values()
                    .map(|h| f(&h.scores[k]) * h.incidents as f64)
                    .sum::<f64>()
                    / held_out.max(1) as f64;
                (
                    (*name).to_owned(),
                    if held_out > 0 {
                        json!(round(v, 3))
                    } else {
                        Value::Null
                    },
                )
            })
            .collect::<serde_json::Map<String, Value>>()
            .into()
    };
    let holdout = json!({
        "incidents": held_out,
        "log_score": overall(&|s| s.log_score),
        "pai_5pct": overall(&|s| s.hit_5pct.pai),
        "hit_rate_5pct": overall(&|s| s.hit_5pct.hit_rate),
        "pai_10pct": overall(&|s| s.hit_10pct.pai),
        "hit_rate_10pct": overall(&|s| s.hit_10pct.hit_rate),
        "coverage_90": overall(&|s| s.coverage_90),
    });
    let summary = json!({
        "crowd": crowd.as_ref().map(|(_, _, tides)| tides.iter().map(|(site, t)| (site.clone(), json!({
            "counts": t.counts,
            "interval_s": t.interval_s,
            "dispersion": t.dispersion,
            "peak": t.peak_hours.iter().map(|h| hour_label(*h)).collect::<Vec<_>>(),
            "trough": t.trough_hours.iter().map(|h| hour_label(*h)).collect::<Vec<_>>(),
        }))).collect::<serde_json::Map<String, Value>>()),
        "rows": history.rows,
        "used": placed.len(),
        "malformed": history.malformed.len(),
        "outside_grid": outside,
        "unmapped": history.unmapped,
        "unknown_types": history.unknown_types,
        "weeks": weeks,
        "holdout_weeks": args.holdout_weeks,
        "types": types_out,
        "holdout": holdout,
    });
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let model = json!({
        "version": binjiang_learn::forecast::MODEL_VERSION,
        "scene": scene.manifest.name,
        "week_start": offset.timestamp_millis_opt(start).single().map(|t| t.to_rfc3339()),
        "cells": grid.cells.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        "summary": summary,
        "crowd": crowd.as_ref().map(|(week_start, _, tides)| json!({
            "week_start": offset.timestamp_millis_opt(*week_start).single().map(|t| t.to_rfc3339()),
            "sites": tides,
        })),
    });
    let path = args.out.join("model.json");
    std::fs::write(&path, serde_json::to_string_pretty(&model)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let (learned, what) = catalogue::learned(&base, &models, &scene);
    let mut header = format!(
        "Learned by binjiang learn from {file}: {} records used, {weeks} weeks from {}.\n",
        placed.len(),
        model["week_start"].as_str().unwrap_or("?")
    );
    for t in &learned.types {
        match what.get(&t.key) {
            Some(w) if !w.is_empty() => header += &format!("{}: learned {}\n", t.key, w.join(", ")),
            _ => header += &format!("{}: the scene's estimate (no records)\n", t.key),
        }
    }
    header += "week_profile: Monday 00:00 first; on_scene_fit_min in minutes, report_delay_fit_s in seconds.";
    let catalogue_path = args.out.join("catalogue.ron");
    std::fs::write(&catalogue_path, learned.to_ron(&header)?)
        .with_context(|| format!("cannot write {}", catalogue_path.display()))?;
    let report_dir = args.out.join("report");
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("cannot create {}", report_dir.display()))?;
    let page = report::html(&report::Inputs {
        scene: &scene,
        base: &base,
        summary: &summary,
        by_type: &by_type,
        models: &models,
        holdouts: &holdouts,
        weeks,
        crowd: crowd.as_ref().map(|(_, counts, tides)| (counts, tides)),
    });
    std::fs::write(report_dir.join("index.html"), page)
        .with_context(|| format!("cannot write {}", report_dir.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "{} rows: {} used, {} malformed, {} outside the grid, {} unmapped, {} of unknown types; {weeks} weeks ({} held out)",
            history.rows,
            placed.len(),
            history.malformed.len(),
            outside,
            history.unmapped.values().sum::<usize>(),
            history.unknown_types.values().sum::<usize>(),
            args.holdout_weeks
        );
        println!(
            "held out: log score per incident {} (last four weeks {}), PAI at 5 % {} ({})",
            summary["holdout"]["log_score"]["model"],
            summary["holdout"]["log_score"]["last4weeks"],
            summary["holdout"]["pai_5pct"]["model"],
            summary["holdout"]["pai_5pct"]["last4weeks"]
        );
        println!("model: {}", path.display());
        println!("catalogue: {}", catalogue_path.display());
        println!("report: {}", report_dir.join("index.html").display());
    }
    Ok(ExitCode::SUCCESS)
}

/// "Sat 19:00" for hour of the week 139.
fn hour_label(h: usize) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    format!("{} {:02}:00", DAYS[(h / 24) % 7], h % 24)
}

/// Reads `--counts` and learns each site's tide: (its first Monday, the counts, the tides).
/// A file that cannot be used prints why and gives exit 1.
#[allow(clippy::type_complexity)]
fn crowd_of(
    path: &std::path::Path,
    offset: FixedOffset,
    skip_bad: bool,
) -> anyhow::Result<
    Result<
        (
            i64,
            binjiang_learn::crowd::Counts,
            BTreeMap<String, binjiang_learn::crowd::Tide>,
        ),
        ExitCode,
    >,
> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {file}"))?;
    let counts = match binjiang_learn::crowd::parse_counts(&file, &text, offset, skip_bad) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Err(ExitCode::from(INVALID)));
        }
    };
    for (line, why) in counts.malformed.iter().take(20) {
        eprintln!("{file}:{line}: {why}");
    }
    let (Some(first), Some(last)) = (
        counts.counts.iter().map(|c| c.time_ms).min(),
        counts.counts.iter().map(|c| c.time_ms).max(),
    ) else {
        eprintln!("{file}: no counts");
        return Ok(Err(ExitCode::from(INVALID)));
    };
    let (start, weeks) = whole_weeks(first, last, offset);
    let tides = binjiang_learn::crowd::tides(&counts.counts, start, weeks);
    if tides.is_empty() {
        eprintln!("{file}: no site has two weeks of counts; a tide needs at least two");
        return Ok(Err(ExitCode::from(INVALID)));
    }
    Ok(Ok((start, counts, tides)))
}
