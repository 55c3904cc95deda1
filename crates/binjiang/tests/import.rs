//! `binjiang import osm` as a GIS developer runs it: import, validate, simulate.

mod common;

use common::*;

#[test]
fn imported_kotka_validates_and_simulates_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kotka");
    let o = out.to_str().unwrap();
    let made = binjiang(&[
        "import",
        "osm",
        "tests/data/osm/kotka-test.osm.pbf",
        "--out",
        o,
    ]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    assert!(text(&made.stdout).contains("buildings"));
    let valid = binjiang(&["validate", o]);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid.stderr));
    let sim = binjiang(&["simulate", o, "--json"]);
    assert_eq!(sim.status.code(), Some(0), "{}", text(&sim.stderr));
    let v: serde_json::Value = serde_json::from_slice(&sim.stdout).unwrap();
    assert!(v["closed"].as_u64().unwrap() > 50);
}

#[test]
fn an_extract_with_one_way_streets_deploys_patrols_that_can_be_driven() {
    // Defect 8 of issue #8: cars were deployed on side streets they could enter but never
    // leave, and `simulate` failed on the freshly imported scene.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("centre");
    let o = out.to_str().unwrap();
    let made = binjiang(&[
        "import",
        "osm",
        "tests/data/osm/oneway-centre.osm",
        "--out",
        o,
    ]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let sim = binjiang(&["simulate", o, "--json"]);
    assert_eq!(sim.status.code(), Some(0), "{}", text(&sim.stderr));
    let v: serde_json::Value = serde_json::from_slice(&sim.stdout).unwrap();
    assert!(v["closed"].as_u64().unwrap() > 0, "{v}");
}

#[test]
fn bad_import_arguments_exit_with_clear_codes() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x");
    let o = o.to_str().unwrap();
    let inverted = binjiang(&[
        "import",
        "osm",
        "tests/data/osm/kotka-test.osm.pbf",
        "--out",
        o,
        "--bbox",
        "26.97,60.52,26.93,60.54",
    ]);
    assert_eq!(inverted.status.code(), Some(2));
    assert!(text(&inverted.stderr).contains("inverted"));
    let empty = binjiang(&[
        "import",
        "osm",
        "tests/data/osm/kotka-test.osm.pbf",
        "--out",
        o,
        "--bbox",
        "10,10,11,11",
    ]);
    assert_eq!(empty.status.code(), Some(1));
    assert!(text(&empty.stderr).contains("no roads inside the bounding box"));
    let missing = binjiang(&["import", "osm", "no/such.pbf", "--out", o]);
    assert_eq!(missing.status.code(), Some(2));
    let not_osm = binjiang(&["import", "osm", "README.md", "--out", o]);
    assert_eq!(not_osm.status.code(), Some(1), "{}", text(&not_osm.stderr));
}
