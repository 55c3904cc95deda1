//! The `binjiang` command as a user runs it: exit codes, messages and `info --json`.

use serde_json::Value;
mod common;

use common::*;

#[test]
fn validate_accepts_the_bundled_yangpu_scene() {
    let out = binjiang(&["validate", "scenes/yangpu-riverfront"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid"));
}

#[test]
fn info_json_meets_the_yangpu_counts() {
    let out = binjiang(&["info", "scenes/yangpu-riverfront", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.trim().lines().count(), 1, "exactly one JSON object");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    for key in [
        "name",
        "grid_area_km2",
        "cells",
        "riverfront_km",
        "roads_km",
        "road_nodes",
        "buildings",
        "landmarks",
        "models",
        "assets",
        "units",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    let n = |path: &[&str]| path.iter().fold(&v, |v, k| &v[*k]).as_f64().unwrap_or(0.0);
    assert!(n(&["buildings"]) >= 400.0 && n(&["landmarks"]) >= 12.0 && n(&["models"]) >= 3.0);
    assert!((5.0..6.0).contains(&n(&["riverfront_km"])));
    for (kind, min) in [
        ("bin", 150.0),
        ("manhole", 100.0),
        ("electric_box", 30.0),
        ("water_sensor", 20.0),
        ("dust_sensor", 10.0),
        ("camera", 60.0),
        ("service_station", 9.0),
        ("pier", 1.0),
    ] {
        assert!(
            n(&["assets", kind]) >= min,
            "{kind}: {}",
            n(&["assets", kind])
        );
    }
    for agency in [
        "police",
        "market_supervision",
        "urban_management",
        "security",
        "cleaning",
        "property",
    ] {
        assert!(n(&["units", agency]) >= 1.0, "no {agency} units");
    }
}

#[test]
fn info_without_json_prints_a_table() {
    let out = binjiang(&["info", "tests/scenes/tiny-river"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("merged grid"));
}

#[test]
fn invalid_scene_exits_1_and_lists_problems() {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("tests/scenes/tiny-river");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let roads = dir.path().join("roads.geojson");
    let broken = std::fs::read_to_string(&roads)
        .unwrap()
        .replace("\"class\":\"street\"", "\"class\":\"motorway\"");
    std::fs::write(&roads, broken).unwrap();
    std::fs::write(dir.path().join("water.geojson"), "{ not json").unwrap();
    let out = binjiang(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("roads.geojson: feature \"north-st\": unknown road class \"motorway\""),
        "{err}"
    );
    assert!(err.contains("water.geojson:1:3: malformed JSON"), "{err}");
}

#[test]
fn unreadable_path_and_bad_usage_exit_2() {
    let out = binjiang(&["validate", "no/such/scene"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read scene at no/such/scene"));
    // Regression (issue 17.11): the OS error was printed twice.
    assert_eq!(
        text(&out.stderr)
            .matches("No such file or directory")
            .count(),
        1,
        "{}",
        text(&out.stderr)
    );
    assert_eq!(binjiang(&["validate"]).status.code(), Some(2));
    assert_eq!(binjiang(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn token_and_serve_refuse_bad_usage_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let db = db.to_str().unwrap();
    for (args, says) in [
        (
            vec!["token", "add", "--db", db, "--role", "king", "--name", "x"],
            "--role king",
        ),
        (
            vec![
                "token", "add", "--db", db, "--role", "display", "--agency", "police", "--name",
                "x",
            ],
            "operators only",
        ),
        (
            vec![
                "token", "add", "--db", db, "--role", "operator", "--agency", "navy", "--name", "x",
            ],
            "--agency navy",
        ),
        (
            vec!["token", "add", "--db", db, "--role", "admin", "--name", " "],
            "--name",
        ),
        (
            vec![
                "serve",
                "tests/scenes/tiny-river",
                "--db",
                db,
                "--clock",
                "sundial",
            ],
            "--clock sundial",
        ),
        (
            vec![
                "serve",
                "tests/scenes/tiny-river",
                "--db",
                db,
                "--clock",
                "replay",
                "--speed=-3",
            ],
            "--speed",
        ),
        (
            vec![
                "serve",
                "tests/scenes/tiny-river",
                "--db",
                db,
                "--mqtt",
                "nowhere",
            ],
            "--mqtt nowhere",
        ),
    ] {
        let out = binjiang(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // A scene without live.ron cannot be served: exit 1, naming the file. (The copy sits as
    // deep as the original, beside a link to the models, so only live.ron is missing.)
    let scene = dir.path().join("tests/scenes/tiny-river");
    std::fs::create_dir_all(&scene).unwrap();
    std::os::unix::fs::symlink(repo().join("assets"), dir.path().join("assets")).unwrap();
    for f in std::fs::read_dir(repo().join("tests/scenes/tiny-river")).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() && f.file_name().unwrap() != "live.ron" {
            std::fs::copy(&f, scene.join(f.file_name().unwrap())).unwrap();
        }
    }
    let out = binjiang(&["serve", scene.to_str().unwrap(), "--db", db]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("live.ron"),
        "{}",
        text(&out.stderr)
    );
    // A token is printed once, as the last word.
    let out = binjiang(&[
        "token", "add", "--db", db, "--role", "operator", "--agency", "cleaning", "--name", "li",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let last = text(&out.stdout)
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    assert!(last.starts_with("bj_") && last.len() > 30, "{last}");
}

/// Regression (issue 17.11): `--help` named four of the commands, and every error exited 2
/// (documented as usage errors). Each kind of failure has its own documented code.
#[test]
fn help_names_every_command_and_failures_have_their_own_exit_code() {
    let out = binjiang(&["--help"]);
    let help = text(&out.stdout);
    for command in [
        "validate", "info", "simulate", "synth", "import", "serve", "token", "replay", "whatif",
        "worker", "city",
    ] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command} in: {help}"
        );
    }
    assert!(help.contains("Exit codes"), "{help}");
    // A service that cannot be reached is a failure while running (3), not a usage error.
    let out = binjiang(&[
        "replay",
        "tests/scenes/tiny-river",
        "--to",
        "http://127.0.0.1:1",
        "--hours",
        "0.1",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot reach"),
        "{}",
        text(&out.stderr)
    );
}

/// Issue 17.7: tokens can be listed (never their secret) and revoked by name.
#[test]
fn tokens_are_listed_without_their_secret_and_revoked_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let db = db.to_str().unwrap();
    let out = binjiang(&[
        "token", "add", "--db", db, "--role", "gateway", "--name", "gw-1",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let secret = text(&out.stdout)
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    binjiang(&[
        "token", "add", "--db", db, "--role", "display", "--name", "wall",
    ]);
    let out = binjiang(&["token", "revoke", "--db", db, "gw-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = binjiang(&["token", "list", "--db", db, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let listed = text(&out.stdout);
    assert!(!listed.contains(&secret), "the secret is never shown");
    let v: Value = serde_json::from_str(&listed).unwrap();
    let gw = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "gw-1")
        .unwrap();
    assert!(gw["revoked"].is_string(), "{v}");
    let wall = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "wall")
        .unwrap();
    assert!(wall["revoked"].is_null(), "{v}");
    // Nothing to revoke: exit 1, saying so; no database: exit 2.
    let out = binjiang(&["token", "revoke", "--db", db, "gw-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no live token named \"gw-1\""));
    let missing = dir.path().join("none.db");
    let out = binjiang(&["token", "list", "--db", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}
