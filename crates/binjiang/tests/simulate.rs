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
            for key in ["units", "dispatches", "utilisation", "response_p90_s"] {
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("incident_types.ron:1:"));
    let out = binjiang(&["simulate", "tests/scenes/tiny-river", "--policy", "anarchy"]);
    assert_eq!(out.status.code(), Some(2));
    let out = binjiang(&["simulate", "tests/scenes/tiny-river", "--hours", "-3"]);
    assert_eq!(out.status.code(), Some(2));
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
