//! `binjiang learn <scene> --history <incidents.csv> [--map <types.csv>] [--holdout-weeks 2]
//! --out <dir> [--json] [--skip-bad]`: learns each incident type's daily rate, hour-of-week
//! profile, density over the grid's cells and durations from a district's own records,
//! scores the model on held-out weeks against the last four weeks, refits on every week and
//! writes `<dir>/model.json` (issue 18; the catalogue, report and forecasts come next).

use super::{load_scene_and_catalogue, INVALID};
use anyhow::Context;
use binjiang_learn::history::{parse_map, Record};
use binjiang_learn::rates::{weekly_counts, WEEK_H};
use binjiang_learn::score::{coverage_90, hit_rate, log_score};
use binjiang_learn::spatial::Cell;
use binjiang_learn::{durations, model, rates, spatial};
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
    /// Use the good rows even when more than 1 % are malformed.
    #[arg(long)]
    pub skip_bad: bool,
}

/// The version of model.json's layout.
const MODEL_VERSION: u32 = 1;
const WEEK_MS: i64 = WEEK_H as i64 * 3_600_000;

/// The district's UTC offset: `live.ron`'s, else Shanghai's +08:00.
fn offset_of(
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

/// The incidents a live twin's log holds, as a history: when each arose (its place, its type),
/// was reported, first reached and closed, from the decisions the twin logged.
fn history_of_db(
    db: &std::path::Path,
    scene: &binjiang_scene::Scene,
) -> anyhow::Result<binjiang_learn::History> {
    use binjiang_sim::What;
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
    let at = |t: f64| epoch_ms + (t * 1000.0).round() as i64;
    let mut records: BTreeMap<u32, Record> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT body FROM events ORDER BY seq")?;
    let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for body in bodies {
        let e: binjiang_sim::Event = serde_json::from_str(&body?)
            .map_err(|e| not_live(format!("an event does not parse: {e}")))?;
        match &e.what {
            What::Arose {
                incident,
                incident_type,
                external_id,
                ..
            } => {
                let (lon, lat) = scene.frame.to_wgs84(geo::Coord { x: e.x, y: e.y });
                records.insert(
                    *incident,
                    Record {
                        line: 0,
                        time_ms: at(e.t),
                        incident_type: incident_type.to_string(),
                        lon,
                        lat,
                        reported_ms: None,
                        arrived_ms: None,
                        cleared_ms: None,
                        agency: None,
                        external_id: external_id.as_ref().map(|x| x.to_string()),
                    },
                );
            }
            What::Reported { incident, .. } => {
                if let Some(r) = records.get_mut(incident) {
                    r.reported_ms.get_or_insert(at(e.t));
                }
            }
            What::Arrived { incident, .. } => {
                if let Some(r) = records.get_mut(incident) {
                    r.arrived_ms.get_or_insert(at(e.t));
                }
            }
            What::Closed { incident, .. } => {
                if let Some(r) = records.get_mut(incident) {
                    r.cleared_ms = Some(at(e.t));
                }
            }
            _ => {}
        }
    }
    let records: Vec<Record> = records.into_values().collect();
    Ok(binjiang_learn::History {
        rows: records.len(),
        records,
        ..binjiang_learn::History::default()
    })
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (scene, catalogue) = match load_scene_and_catalogue(&args.scene)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let offset = offset_of(&scene, &catalogue);
    let types: BTreeSet<String> = catalogue.types.iter().map(|t| t.key.clone()).collect();
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
    let start = monday_before(first, offset);
    let weeks = ((last - start) / WEEK_MS) as usize + 1;
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
    let split_s = (train_weeks * WEEK_H) as f64 * 3600.0;
    let mut by_type: BTreeMap<&str, Vec<(&Record, usize)>> = BTreeMap::new();
    for (r, c) in &placed {
        by_type
            .entry(r.incident_type.as_str())
            .or_default()
            .push((r, *c));
    }
    let mut types_out = serde_json::Map::new();
    let (mut score_model, mut score_base, mut held_out) = (0.0, 0.0, 0usize);
    let (mut pai_model, mut pai_base, mut hit_model, mut hit_base) = (0.0, 0.0, 0.0, 0.0);
    let mut coverage = Vec::new();
    for (ty, events) in &by_type {
        let times: Vec<f64> = events.iter().map(|(r, _)| seconds(r)).collect();
        let where_: Vec<usize> = events.iter().map(|(_, c)| *c).collect();
        // Held out: fit on the first weeks, score the last.
        let train: Vec<(f64, usize)> = times
            .iter()
            .zip(&where_)
            .filter(|(t, _)| **t < split_s)
            .map(|(t, c)| (*t, *c))
            .collect();
        let test: Vec<(f64, usize)> = times
            .iter()
            .zip(&where_)
            .filter(|(t, _)| **t >= split_s)
            .map(|(t, c)| (*t, *c))
            .collect();
        if let (Some(timing), Some(density), false) = (
            rates::learn(&weekly_counts(
                &train.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
                train_weeks,
            )),
            spatial::learn(
                &cells,
                &train.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
                grid.cell_size_m,
            ),
            test.is_empty(),
        ) {
            let hours = args.holdout_weeks * WEEK_H;
            let expected = model::expected(&timing, &density, 0, hours);
            let mut last4 = vec![0u32; cells.len()];
            let from = split_s - (4.min(train_weeks) * WEEK_H) as f64 * 3600.0;
            for (t, c) in &train {
                if *t >= from {
                    last4[*c] += 1;
                }
            }
            let baseline = model::last_weeks(&last4, 4.min(train_weeks), hours);
            let mut observed = vec![vec![0u32; cells.len()]; hours];
            for (t, c) in &test {
                let h = ((t - split_s) / 3600.0) as usize;
                if h < hours {
                    observed[h][*c] += 1;
                }
            }
            let n = test.len();
            if let (Some(a), Some(b)) = (
                log_score(&expected, &observed),
                log_score(&baseline, &observed),
            ) {
                score_model += a * n as f64;
                score_base += b * n as f64;
                held_out += n;
            }
            let totals = |e: &[Vec<f64>]| -> Vec<f64> {
                (0..cells.len())
                    .map(|c| e.iter().map(|h| h[c]).sum())
                    .collect()
            };
            let hit: Vec<usize> = test.iter().map(|(_, c)| *c).collect();
            if let (Some(a), Some(b)) = (
                hit_rate(&totals(&expected), &hit, 0.05),
                hit_rate(&totals(&baseline), &hit, 0.05),
            ) {
                pai_model += a.pai * n as f64;
                pai_base += b.pai * n as f64;
                hit_model += a.hit_rate * n as f64;
                hit_base += b.hit_rate * n as f64;
            }
            let per_hour: Vec<f64> = expected.iter().map(|h| h.iter().sum()).collect();
            let seen: Vec<u32> = observed.iter().map(|h| h.iter().sum()).collect();
            if let Some(c) = coverage_90(&per_hour, &seen) {
                coverage.push((*ty, c));
            }
        }
        // Refitted on every week.
        let timing = rates::learn(&weekly_counts(&times, weeks));
        // Times recorded to the minute or the second tie: the test spreads them in their bin.
        let bin_s = if events.iter().all(|(r, _)| r.time_ms % 60_000 == 0) {
            60.0
        } else if events.iter().all(|(r, _)| r.time_ms % 1000 == 0) {
            1.0
        } else {
            0.0
        };
        let rescaled = timing
            .as_ref()
            .and_then(|t| rates::time_rescaling_ks(&times, t, bin_s))
            .map(|(_, p)| (p * 1e4).round() / 1e4);
        let density = spatial::learn(&cells, &where_, grid.cell_size_m);
        let secs = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
            _ => None,
        };
        let on_scene: Vec<f64> = events
            .iter()
            .filter_map(|(r, _)| secs(r.arrived_ms, r.cleared_ms))
            .collect();
        let delay: Vec<f64> = events
            .iter()
            .filter_map(|(r, _)| secs(Some(r.time_ms), r.reported_ms))
            .collect();
        let density_json = density.as_ref().map(|d| {
            let share: BTreeMap<&str, f64> = grid
                .cells
                .iter()
                .zip(&d.share)
                .filter(|(_, s)| **s > 1e-4)
                .map(|(c, s)| (c.id.as_str(), (s * 1e6).round() / 1e6))
                .collect();
            json!({"bandwidth_m": d.bandwidth_m, "raw_weight": d.raw_weight, "share": share})
        });
        types_out.insert(
            (*ty).to_owned(),
            json!({
                "events": events.len(),
                "per_day": timing.as_ref().map(|t| (t.per_day * 100.0).round() / 100.0),
                "hour_of_week": timing.as_ref().map(|t| t.hour_of_week.iter().map(|v| (v * 1e4).round() / 1e4).collect::<Vec<_>>()),
                "kappa_weeks": timing.as_ref().map(|t| t.kappa),
                "ks_rescaled_p": rescaled,
                "density": density_json,
                "on_scene_s": durations::fit(&on_scene),
                "report_delay_s": durations::fit(&delay),
            }),
        );
    }
    let per = |v: f64| (held_out > 0).then(|| (v / held_out as f64 * 1000.0).round() / 1000.0);
    let holdout = json!({
        "incidents": held_out,
        "log_score": {"model": per(score_model), "last4weeks": per(score_base)},
        "pai_5pct": {"model": per(pai_model), "last4weeks": per(pai_base)},
        "hit_rate_5pct": {"model": per(hit_model), "last4weeks": per(hit_base)},
        "coverage_90": coverage.iter().map(|(t, c)| ((*t).to_owned(), json!((c * 1000.0).round() / 1000.0))).collect::<serde_json::Map<String, Value>>(),
    });
    let summary = json!({
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
        "version": MODEL_VERSION,
        "scene": scene.manifest.name,
        "week_start": offset.timestamp_millis_opt(start).single().map(|t| t.to_rfc3339()),
        "cells": grid.cells.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        "summary": summary,
    });
    let path = args.out.join("model.json");
    std::fs::write(&path, serde_json::to_string_pretty(&model)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
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
    }
    Ok(ExitCode::SUCCESS)
}
