//! `binjiang learn` on a history the simulator wrote with known rates (the tiny scene's
//! catalogue, six weeks): the rates and on-scene times come back, bad rows are named, and the
//! model is scored on the held-out weeks against the last four weeks.

mod common;

use binjiang_scene::Scene;
use binjiang_sim::{IncidentCatalogue, SimOptions, Simulation, What, CATALOGUE_FILE};
use chrono::{FixedOffset, TimeZone};
use common::*;
use common::{token, Server};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Six weeks of the tiny scene as a control room would export them, from Monday 2026-11-02.
fn history_csv() -> (String, usize) {
    let dir = repo().join("tests/scenes/tiny-river");
    let scene = Scene::load(&dir).unwrap();
    let (catalogue, _) = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene).unwrap();
    let mut sim = Simulation::new(
        &scene,
        catalogue,
        SimOptions {
            seed: 3,
            ..SimOptions::default()
        },
    )
    .unwrap();
    sim.advance_to(42.0 * 86_400.0);
    let shanghai = FixedOffset::east_opt(8 * 3600).unwrap();
    let monday = shanghai.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
    let iso = |t: f64| (monday + chrono::Duration::milliseconds((t * 1000.0) as i64)).to_rfc3339();
    #[derive(Default)]
    struct Row {
        t: f64,
        ty: String,
        at: (f64, f64),
        reported: Option<f64>,
        arrived: Option<f64>,
        cleared: Option<f64>,
    }
    let mut rows: BTreeMap<u32, Row> = BTreeMap::new();
    for e in sim.events() {
        match &e.what {
            What::Arose {
                incident,
                incident_type,
                ..
            } => {
                let at = scene.frame.to_wgs84(geo::Coord { x: e.x, y: e.y });
                rows.insert(
                    *incident,
                    Row {
                        t: e.t,
                        ty: incident_type.to_string(),
                        at,
                        ..Row::default()
                    },
                );
            }
            What::Reported { incident, .. } => {
                rows.entry(*incident)
                    .or_default()
                    .reported
                    .get_or_insert(e.t);
            }
            What::Arrived { incident, .. } => {
                rows.entry(*incident)
                    .or_default()
                    .arrived
                    .get_or_insert(e.t);
            }
            What::Closed { incident, .. } => {
                rows.entry(*incident).or_default().cleared = Some(e.t);
            }
            _ => {}
        }
    }
    let mut csv = String::from("external_id,type,time,lon,lat,reported_at,arrived_at,cleared_at\n");
    let opt = |t: Option<f64>| t.map(iso).unwrap_or_default();
    for (id, r) in &rows {
        if r.ty.is_empty() {
            continue;
        }
        let _ = writeln!(
            csv,
            "T-{id},{},{},{:.7},{:.7},{},{},{}",
            r.ty,
            iso(r.t),
            r.at.0,
            r.at.1,
            opt(r.reported),
            opt(r.arrived),
            opt(r.cleared)
        );
    }
    csv.push_str("T-bad,litter,not a time,121.5,31.25,,,\n");
    (csv, rows.len())
}

#[test]
fn learn_recovers_the_rates_the_history_was_made_with() {
    let (csv, n) = history_csv();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.csv");
    std::fs::write(&history, csv).unwrap();
    let out = dir.path().join("model");
    let o = binjiang(&[
        "learn",
        "tests/scenes/tiny-river",
        "--history",
        history.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("history.csv:"),
        "the bad row is named: {}",
        text(&o.stderr)
    );
    let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    println!("{}", serde_json::to_string(&v["holdout"]).unwrap());
    for (ty, t) in v["types"].as_object().unwrap() {
        println!(
            "{ty}: {} events, {} per day, on scene {}",
            t["events"], t["per_day"], t["on_scene_s"]["median"]
        );
    }
    assert_eq!(v["malformed"], 1);
    assert_eq!(v["rows"].as_u64().unwrap() as usize, n + 1);
    assert_eq!(v["weeks"], 6);
    // The catalogue's rates are the truth the history was made with.
    let truth: BTreeMap<&str, f64> = [
        ("fight", 3.0),
        ("parking", 4.0),
        ("crowd_surge", 2.0),
        ("bin_overflow", 8.0),
        ("litter", 6.0),
        ("vending", 3.0),
        ("manhole_displaced", 1.0),
    ]
    .into_iter()
    .collect();
    let types = v["types"].as_object().unwrap();
    let total: f64 = types.values().filter_map(|t| t["per_day"].as_f64()).sum();
    let want: f64 = truth.values().sum();
    let outside = v["outside_grid"].as_f64().unwrap() / 42.0;
    assert!(
        (total + outside - want).abs() < 0.1 * want,
        "per day {total} (+{outside} outside the grid) vs {want}"
    );
    for (ty, t) in types {
        if t["events"].as_u64().unwrap() >= 200 {
            let got = t["per_day"].as_f64().unwrap();
            assert!(
                (got - truth[ty.as_str()]).abs() < 0.25 * truth[ty.as_str()],
                "{ty}: {got}"
            );
        }
        assert_eq!(t["hour_of_week"].as_array().unwrap().len(), 168, "{ty}");
        assert!(t["ks_rescaled_p"].is_number(), "{ty}: {t}");
    }
    // Bins: on scene 3–8 minutes in the catalogue.
    let bins = &types["bin_overflow"]["on_scene_s"];
    let median = bins["median"].as_f64().unwrap();
    assert!((180.0..=480.0).contains(&median), "{bins}");
    assert!(
        v["holdout"]["log_score"]["model"].is_number(),
        "{}",
        v["holdout"]
    );
    assert!(
        v["holdout"]["log_score"]["last4weeks"].is_number(),
        "{}",
        v["holdout"]
    );
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["version"], 1);
    assert_eq!(model["summary"], v);
    // Too short a history is refused, saying why.
    let short = dir.path().join("short.csv");
    std::fs::write(
        &short,
        "time,type,lon,lat\n2026-11-02T08:00:00+08:00,litter,121.5052,31.2473\n",
    )
    .unwrap();
    let o = binjiang(&[
        "learn",
        "tests/scenes/tiny-river",
        "--history",
        short.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("week"), "{}", text(&o.stderr));
}

/// `--from-db`: the live twin's own incidents, from a database that `binjiang replay` filled
/// through a real `binjiang serve` (15 days at 100,000×).
#[test]
fn learn_from_a_live_twins_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let gateway = token(&db, "gateway");
    let server = Server::start_with(
        &db,
        &["--clock", "replay", "--speed", "100000", "--at", "00:00"],
    );
    let out = binjiang(&[
        "replay",
        "tests/scenes/tiny-river",
        "--to",
        &server.base,
        "--token",
        &gateway,
        "--speed",
        "100000",
        "--hours",
        "360",
        "--fix-every",
        "86400",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.kill();
    let model = dir.path().join("model");
    let o = binjiang(&[
        "learn",
        "tests/scenes/tiny-river",
        "--from-db",
        db.to_str().unwrap(),
        "--holdout-weeks",
        "0",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert!(v["used"].as_u64().unwrap() >= 200, "{v}");
    assert_eq!(
        v["used"], v["rows"],
        "the twin's incidents are all on its grid"
    );
    let types = v["types"].as_object().unwrap();
    assert!(types.len() >= 5, "{v}");
    for (ty, t) in types {
        if t["events"].as_u64().unwrap() >= 50 {
            assert!(t["per_day"].as_f64().unwrap() > 0.0, "{ty}: {t}");
        }
    }
    // Not a live database: exit 1, saying so.
    let other = dir.path().join("other.db");
    rusqlite_free_db(&other);
    let o = binjiang(&[
        "learn",
        "tests/scenes/tiny-river",
        "--from-db",
        other.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("not a live twin's database"),
        "{}",
        text(&o.stderr)
    );
}

/// A database with the twin's tables but never served (no day origin).
fn rusqlite_free_db(path: &std::path::Path) {
    // `token add` creates the schema without serving.
    binjiang(&[
        "token",
        "add",
        "--db",
        path.to_str().unwrap(),
        "--role",
        "admin",
        "--name",
        "x",
    ]);
}
