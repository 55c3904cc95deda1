//! `binjiang plan` on a copy of the Yangpu scene: the cleaners' posts chosen by maximum
//! expected covering (solved exactly) cover more of the demand than where they stand today,
//! the overlay it writes is an ordinary scenario, and `--verify` on paired seeds finds the
//! cleaners on site within 3 minutes more often, with an interval that excludes zero.

mod common;

use common::*;
use serde_json::Value;

/// A copy of the Yangpu scene (and the models it refers to) that a test may write into.
fn yangpu_copy(dir: &std::path::Path) -> std::path::PathBuf {
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    std::fs::create_dir_all(dir.join("scenes")).unwrap();
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    copy(
        &repo().join("scenes/yangpu-riverfront"),
        &dir.join("scenes"),
    );
    copy(&repo().join("assets/models"), &dir.join("assets"));
    dir.join("scenes/yangpu-riverfront")
}

#[test]
fn planned_cleaning_posts_reach_more_incidents_in_three_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let scene = yangpu_copy(dir.path());
    let o = binjiang(&[
        "plan",
        scene.to_str().unwrap(),
        "--agency",
        "cleaning",
        "--name",
        "cleaning-posts",
        "--verify",
        "20",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    println!("{v}");
    assert_eq!(v["units"], 21);
    assert_eq!(v["posts"].as_array().unwrap().len(), 21);
    assert_eq!(v["solver"], "mip");
    let e = &v["expected"];
    let (before, after, bound) = (
        e["before"].as_f64().unwrap(),
        e["after"].as_f64().unwrap(),
        e["bound"].as_f64().unwrap(),
    );
    assert!(after > before && after <= bound + 1e-9, "{e}");
    assert!(scene.join("scenarios/cleaning-posts.ron").is_file());
    assert!(scene
        .join("scenarios/cleaning-posts.report/index.html")
        .is_file());
    let verify = &v["verify"];
    let lo = verify["ci95"][0].as_f64().unwrap();
    assert!(
        verify["diff"].as_f64().unwrap() > 0.0 && lo > 0.0,
        "the verified difference excludes zero: {verify}"
    );
    // Bad input: an agency that is not one; a name that is not a file name.
    let o = binjiang(&[
        "plan",
        scene.to_str().unwrap(),
        "--agency",
        "fire",
        "--name",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("fire"), "{}", text(&o.stderr));
    let o = binjiang(&[
        "plan",
        scene.to_str().unwrap(),
        "--agency",
        "cleaning",
        "--name",
        "../x",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

/// Fewer units than the scene has, with demand from a learned model (the demonstration's,
/// tests/golden/yangpu-learned): as many posts as units, each in one of the agency's
/// shifts, and the plan never covers less than where the units stand today.
#[test]
fn a_smaller_team_planned_on_learned_demand() {
    let dir = tempfile::tempdir().unwrap();
    let scene = yangpu_copy(dir.path());
    let model = repo().join("tests/golden/yangpu-learned");
    let o = binjiang(&[
        "plan",
        scene.to_str().unwrap(),
        "--agency",
        "urban_management",
        "--units",
        "8",
        "--model",
        model.to_str().unwrap(),
        "--name",
        "um-eight",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    let posts = v["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 8);
    assert!(posts
        .iter()
        .all(|p| p["shift"].as_str().is_some_and(|s| s.len() == 11)));
    let e = &v["expected"];
    assert!(
        e["after"].as_f64().unwrap() >= e["before"].as_f64().unwrap(),
        "{e}"
    );
    let ron = std::fs::read_to_string(scene.join("scenarios/um-eight.ron")).unwrap();
    assert!(
        ron.contains("demand from") && ron.contains("yangpu-learned"),
        "{ron}"
    );
    assert_eq!(ron.matches("home_at").count(), 8);
}

/// `--shifts` plans when each shift starts as well as where each unit stands: staffing
/// follows the demand's hours, the week's expected covered incidents rise, the written
/// scenario carries the new shifts, and the what-if on paired seeds agrees.
#[test]
fn shifts_follow_the_demand_and_the_verified_difference_is_positive() {
    let dir = tempfile::tempdir().unwrap();
    let scene = yangpu_copy(dir.path());
    let o = binjiang(&[
        "plan",
        scene.to_str().unwrap(),
        "--agency",
        "cleaning",
        "--shifts",
        "--name",
        "cleaning-shifts",
        "--verify",
        "20",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    let week = &v["shifts"]["expected_covered_per_week"];
    assert!(
        week["after"].as_f64().unwrap() > week["before"].as_f64().unwrap(),
        "{week}"
    );
    for mode in ["foot", "bike"] {
        let m = &v["shifts"][mode];
        let (before, after) = (
            &m["on_duty_by_hour"]["before"],
            &m["on_duty_by_hour"]["after"],
        );
        let sum = |x: &Value| {
            x.as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap())
                .sum::<u64>()
        };
        assert_eq!(
            sum(before),
            sum(after),
            "{mode}: the same hours of work, moved"
        );
        assert_eq!(m["solver"], "mip");
    }
    let ron = std::fs::read_to_string(scene.join("scenarios/cleaning-shifts.ron")).unwrap();
    assert!(ron.contains("shifts planned"), "{ron}");
    let verify = &v["verify"];
    assert!(
        verify["diff"].as_f64().unwrap() > 0.0 && verify["ci95"][0].as_f64().unwrap() > 0.0,
        "{verify}"
    );
}

/// `--scenario` plans on a scenario and carries its other changes; `--objective` picks the
/// demand and the target; each bad flag is named.
#[test]
fn a_plan_over_a_scenario_and_the_other_objectives() {
    let dir = tempfile::tempdir().unwrap();
    let scene = yangpu_copy(dir.path());
    let s = scene.to_str().unwrap();
    let json = |args: &[&str]| -> Value {
        let o = binjiang(args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_str(&text(&o.stdout)).unwrap()
    };
    let v = json(&[
        "plan",
        s,
        "--agency",
        "cleaning",
        "--scenario",
        "typhoon",
        "--name",
        "typhoon-posts",
        "--json",
    ]);
    assert_eq!(v["base"], "typhoon");
    let ron = std::fs::read_to_string(scene.join("scenarios/typhoon-posts.ron")).unwrap();
    assert!(
        ron.contains("promenade-*") && ron.contains("standing_water") && ron.contains("typhoon"),
        "the typhoon's closures and surges are carried: {ron}"
    );
    let v = json(&[
        "plan",
        s,
        "--agency",
        "cleaning",
        "--objective",
        "cleaned-10min",
        "--name",
        "c10",
        "--json",
    ]);
    let t = v["target_s"].as_f64().unwrap();
    assert!(t > 60.0 && t < 600.0, "600 s less the clean-up: {t}");
    let v = json(&[
        "plan",
        s,
        "--agency",
        "cleaning",
        "--objective",
        "detection",
        "--name",
        "det",
        "--json",
    ]);
    let d = &v["detections"];
    assert!(
        d["before"].as_f64().is_some() && d["after"].as_f64().is_some(),
        "{v}"
    );
    for (args, code, says) in [
        (
            vec![
                "--agency",
                "police",
                "--objective",
                "cleaned-10min",
                "--name",
                "x",
            ],
            1,
            "cleaned-10min",
        ),
        (
            vec![
                "--agency",
                "cleaning",
                "--scenario",
                "hurricane",
                "--name",
                "x",
            ],
            1,
            "hurricane",
        ),
        (
            vec![
                "--agency",
                "cleaning",
                "--scenario",
                "typhoon",
                "--name",
                "typhoon",
            ],
            2,
            "overwrite",
        ),
        (
            vec!["--agency", "cleaning", "--objective", "tidy", "--name", "x"],
            2,
            "tidy",
        ),
        (
            vec!["--agency", "cleaning", "--target-s=-5", "--name", "x"],
            2,
            "target-s",
        ),
    ] {
        let mut all = vec!["plan", s];
        all.extend(args);
        let o = binjiang(&all);
        assert_eq!(o.status.code(), Some(code), "{all:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(says),
            "{all:?}: {}",
            text(&o.stderr)
        );
    }
}
