//! `binjiang simulate` as a user runs it, with a golden report for the tiny scene.

use serde_json::Value;
mod common;

use common::*;
use std::process::Output;

fn json(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON object");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn yangpu_day_reports_the_required_metrics_for_both_policies() {
    for policy in ["merged-grid", "separate-grids"] {
        let v = json(&binjiang(&[
            "simulate",
            "scenes/yangpu-riverfront",
            "--hours",
            "24",
            "--seed",
            "7",
            "--json",
            "--policy",
            policy,
        ]));
        for key in [
            "incidents",
            "closed",
            "response_p50_s",
            "response_p90_s",
            "response_p99_s",
            "on_site_3min_share",
            "cleaned_10min_share",
            "per_agency",
        ] {
            assert!(
                v.get(key).is_some_and(|x| !x.is_null()),
                "{policy}: missing {key}"
            );
        }
        assert!(v["incidents"].as_u64().unwrap() > 100);
        for agency in [
            "police",
            "market_supervision",
            "urban_management",
            "security",
            "cleaning",
            "property",
        ] {
            let a = &v["per_agency"][agency];
            for key in ["units", "dispatches", "utilisation", "response_s"] {
                assert!(a.get(key).is_some(), "{policy}: {agency} lacks {key}");
            }
        }
    }
}

#[test]
fn golden_report_for_the_tiny_scene() {
    let v = json(&binjiang(&[
        "simulate",
        "tests/scenes/tiny-river",
        "--seed",
        "1",
        "--json",
    ]));
    let golden_path = repo().join("tests/golden/tiny-river-seed1.json");
    let pretty = serde_json::to_string_pretty(&v).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::write(&golden_path, &pretty).unwrap();
    }
    let golden = std::fs::read_to_string(&golden_path)
        .expect("golden file missing: run with UPDATE_GOLDEN=1");
    assert_eq!(
        pretty, golden,
        "report changed; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}

#[test]
fn event_log_is_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    for path in [&a, &b] {
        let out = binjiang(&[
            "simulate",
            "tests/scenes/tiny-river",
            "--seed",
            "3",
            "--events",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0));
    }
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert_eq!(a, b);
    let first: Value = serde_json::from_str(
        String::from_utf8_lossy(&a)
            .lines()
            .find(|l| l.contains("\"dispatched\""))
            .unwrap(),
    )
    .unwrap();
    for key in ["t", "kind", "incident", "unit", "agency", "lon", "lat"] {
        assert!(first.get(key).is_some(), "event line lacks {key}: {first}");
    }
}

#[test]
fn bad_catalogue_and_bad_options_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("bad.ron");
    std::fs::write(&cat, "(escalate_after_min: 30.0, types: [oops])").unwrap();
    let out = binjiang(&[
        "simulate",
        "tests/scenes/tiny-river",
        "--incidents",
        cat.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.ron:1:"), "{err}");
    assert!(
        !err.contains("incident_types.ron"),
        "names a file it did not read: {err}"
    );
    let out = binjiang(&["simulate", "tests/scenes/tiny-river", "--policy", "anarchy"]);
    assert_eq!(out.status.code(), Some(2));
    let out = binjiang(&["simulate", "tests/scenes/tiny-river", "--hours", "-3"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The logs are written on a thread of their own: a disk that fills up mid-run stops the run
/// with the system's reason, as before, instead of leaving the simulation waiting on a
/// writer that has given up.
#[test]
fn a_full_disk_stops_the_run_with_its_reason() {
    if !std::path::Path::new("/dev/full").exists() {
        return; // not Linux
    }
    let out = binjiang(&[
        "simulate",
        "scenes/yangpu-riverfront",
        "--hours",
        "48",
        "--events",
        "/dev/full",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No space left on device"), "{err}");
}

#[test]
fn synth_writes_a_scene_that_validates_and_simulates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synth");
    let made = binjiang(&[
        "synth",
        "--area-km2",
        "2",
        "--units",
        "30",
        "--incidents-per-day",
        "400",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        made.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let valid = binjiang(&["validate", out.to_str().unwrap()]);
    assert_eq!(
        valid.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    let v = json(&binjiang(&[
        "simulate",
        out.to_str().unwrap(),
        "--json",
        "--seed",
        "4",
    ]));
    let n = v["incidents"].as_u64().unwrap();
    assert!(
        (300..500).contains(&n),
        "about 400 incidents a day, got {n}"
    );
    assert_eq!(v["per_agency"].as_object().unwrap().len(), 6);
    let bad = binjiang(&[
        "synth",
        "--area-km2",
        "0",
        "--units",
        "30",
        "--incidents-per-day",
        "400",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn every_catalogue_problem_is_named_with_its_file_and_type() {
    // Defect 7 of issue #8: the check stopped at the first error and named
    // incident_types.ron whatever the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.ron");
    let text = std::fs::read_to_string(repo().join("tests/scenes/tiny-river/incident_types.ron"))
        .unwrap()
        .replacen("priority: 1,", "priority: 9,", 1)
        .replacen("Asset(\"bin\")", "Asset(\"bins\")", 1)
        .replacen("key: \"parking\"", "key: \"fight\"", 1);
    std::fs::write(&path, text).unwrap();
    let out = binjiang(&[
        "simulate",
        "tests/scenes/tiny-river",
        "--incidents",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "other.ron: type \"fight\": priority 9 must be 1 (urgent) to 4 (routine)",
        "other.ron: type \"bin_overflow\": unknown asset kind \"bins\"",
        "other.ron: type \"fight\": key used by an earlier type",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(!err.contains("incident_types.ron"), "{err}");
}

#[test]
fn a_recorded_incident_list_is_replayed_and_bad_rows_are_named_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("day.csv");
    // Tiny-river: (121.5010498, 31.2527058) is x = 100 m on North Street.
    std::fs::write(
        &good,
        "time,type,lon,lat,asset_id,external_id\n\
         08:00:00,fight,121.5010498,31.2527058,,110-0001\n\
         08:05:00,bin_overflow,,,bin-1,\n\
         08:10:00,fight,121.5010498,31.2527058,,110-0001\n",
    )
    .unwrap();
    let events = dir.path().join("events.jsonl");
    let v = json(&binjiang(&[
        "simulate",
        "tests/scenes/tiny-river",
        "--incidents-from",
        good.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(
        v["incidents"], 2,
        "the repeated external id is one incident"
    );
    let log = std::fs::read_to_string(&events).unwrap();
    assert!(log.contains("\"external_id\":\"110-0001\""));
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "time,type,lon,lat\n08:00:00,fight,121.5,31.25\n8h,fight,121.5,31.25\n09:00:00,alien,121.5,31.25\n09:10:00,fight,,\n",
    )
    .unwrap();
    let out = binjiang(&[
        "simulate",
        "tests/scenes/tiny-river",
        "--incidents-from",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for line in [
        "bad.csv:3:1: time \"8h\"",
        "bad.csv:4:1: type \"alien\"",
        "bad.csv:5:1: lon",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
}

/// `--move-up auto`: the simulation's own move-ups, counted in the report and logged as
/// `moved_up` events; the same seed gives the same log; a bad word is a usage error.
#[test]
fn move_ups_are_made_counted_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let run = || {
        json(&binjiang(&[
            "simulate",
            "scenes/yangpu-riverfront",
            "--move-up",
            "auto",
            "--json",
            "--events",
            events.to_str().unwrap(),
        ]))
    };
    let v = run();
    let moves = v["move_ups"].as_u64().unwrap();
    let log = std::fs::read_to_string(&events).unwrap();
    assert!(moves > 20, "{v}");
    assert_eq!(log.matches("\"kind\":\"moved_up\"").count() as u64, moves);
    assert_eq!(run()["move_ups"], v["move_ups"]);
    assert_eq!(std::fs::read_to_string(&events).unwrap(), log);
    let plain = json(&binjiang(&[
        "simulate",
        "scenes/yangpu-riverfront",
        "--json",
    ]));
    assert!(plain.get("move_ups").is_none(), "{plain}");
    let out = binjiang(&["simulate", "tests/scenes/tiny-river", "--move-up", "always"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--explain`: one record per decision, the same bytes for the same run, and the event log
/// as it is without it.
#[test]
fn explain_writes_one_deterministic_record_per_decision() {
    let dir = tempfile::tempdir().unwrap();
    let run = |explain: Option<&std::path::Path>, events: &std::path::Path| {
        let mut args = vec![
            "simulate",
            "tests/scenes/tiny-river",
            "--seed",
            "3",
            "--events",
            events.to_str().unwrap(),
        ];
        if let Some(e) = explain {
            args.extend(["--explain", e.to_str().unwrap()]);
        }
        let out = binjiang(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let (ea, eb, plain) = (
        dir.path().join("ea.jsonl"),
        dir.path().join("eb.jsonl"),
        dir.path().join("plain.jsonl"),
    );
    run(Some(&a), &ea);
    run(Some(&b), &eb);
    run(None, &plain);
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(!a.is_empty() && a == b);
    assert_eq!(std::fs::read(&ea).unwrap(), std::fs::read(&plain).unwrap());
    let text = String::from_utf8(a).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    for key in [
        "t",
        "incident",
        "agency",
        "decision",
        "rule",
        "candidates",
        "text",
    ] {
        assert!(first.get(key).is_some(), "record lacks {key}: {first}");
    }
    let log = std::fs::read_to_string(&plain).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("\"decision\":\"dispatched\""))
            .count(),
        log.matches("\"kind\":\"dispatched\"").count()
    );
}
