//! Every bad input named in the scene format gets its own clear error (or warning).
//!
//! Each test starts from the valid `tests/scenes/tiny-river` fixture, breaks one thing, and
//! checks the message names the file, the feature and what is wrong.

use binjiang_scene::{LoadError, Scene, SceneTexts, LAYER_FILES};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river")
}

fn fixture() -> SceneTexts {
    let dir = fixture_dir();
    SceneTexts {
        manifest: std::fs::read_to_string(dir.join("scene.ron")).unwrap(),
        layers: LAYER_FILES
            .iter()
            .map(|f| {
                (
                    f.to_string(),
                    Some(std::fs::read_to_string(dir.join(f)).unwrap()),
                )
            })
            .collect(),
    }
}

/// Loads the fixture after `mutate`; returns every problem line (errors and warnings).
fn problems(mutate: impl FnOnce(&mut SceneTexts)) -> Vec<String> {
    let mut texts = fixture();
    mutate(&mut texts);
    match Scene::from_texts(&fixture_dir(), &texts) {
        Ok(scene) => scene.warnings.iter().map(ToString::to_string).collect(),
        Err(LoadError::Invalid(p)) => p.all().iter().map(ToString::to_string).collect(),
        Err(e) => panic!("unexpected {e}"),
    }
}

fn assert_reported(lines: &[String], expected: &str) {
    assert!(
        lines.iter().any(|l| l.contains(expected)),
        "expected a problem containing {expected:?}, got {lines:#?}"
    );
}

/// Edits one feature (by id) of a layer as JSON.
fn edit_feature(texts: &mut SceneTexts, file: &str, id: &str, edit: impl FnOnce(&mut Value)) {
    let text = texts.layers.get_mut(file).unwrap().as_mut().unwrap();
    let mut fc: Value = serde_json::from_str(text).unwrap();
    let f = fc["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["properties"]["id"] == id)
        .unwrap();
    edit(f);
    *text = fc.to_string();
}

fn push_feature(texts: &mut SceneTexts, file: &str, feature: Value) {
    let text = texts.layers.get_mut(file).unwrap().as_mut().unwrap();
    let mut fc: Value = serde_json::from_str(text).unwrap();
    fc["features"].as_array_mut().unwrap().push(feature);
    *text = fc.to_string();
}

#[test]
fn the_fixture_is_valid() {
    assert!(problems(|_| {}).is_empty());
}

#[test]
fn malformed_ron_names_line_and_column() {
    let lines = problems(|t| t.manifest = t.manifest.replacen("name:", "name", 1));
    assert_reported(&lines, "scene.ron:3:");
    assert_reported(&lines, "malformed RON");
}

#[test]
fn malformed_json_names_line_and_column() {
    let lines = problems(|t| {
        t.layers.insert(
            "roads.geojson".into(),
            Some("{\"type\": \"FeatureCollection\",\n \"features\": [ {,] }".into()),
        );
    });
    assert_reported(&lines, "roads.geojson:2:");
    assert_reported(&lines, "malformed JSON");
}

#[test]
fn unclosed_ring() {
    let lines = problems(|t| {
        edit_feature(t, "buildings.geojson", "hall", |f| {
            f["geometry"]["coordinates"][0]
                .as_array_mut()
                .unwrap()
                .pop();
        })
    });
    assert_reported(
        &lines,
        "buildings.geojson: feature \"hall\": polygon 0: exterior ring is not closed",
    );
}

#[test]
fn self_intersecting_ring() {
    let lines = problems(|t| {
        edit_feature(t, "buildings.geojson", "hall", |f| {
            let ring = f["geometry"]["coordinates"][0].as_array_mut().unwrap();
            ring.swap(1, 2);
        })
    });
    assert_reported(
        &lines,
        "buildings.geojson: feature \"hall\": polygon 0: exterior ring has a self-intersection",
    );
}

#[test]
fn nan_coordinate_in_the_manifest() {
    let lines = problems(|t| {
        let at = t.manifest.find("home: (").unwrap() + "home: (".len();
        let end = at + t.manifest[at..].find(',').unwrap();
        t.manifest.replace_range(at..end, "NaN");
    });
    assert_reported(
        &lines,
        "scene.ron: unit \"police-south\": home: coordinate (NaN, ",
    );
    assert_reported(&lines, "is not a finite number");
}

#[test]
fn out_of_range_coordinate() {
    let lines = problems(|t| {
        edit_feature(t, "assets.geojson", "bin-1", |f| {
            f["geometry"]["coordinates"] = json!([121.5, 95.0])
        })
    });
    assert_reported(
        &lines,
        "assets.geojson: feature \"bin-1\": coordinate (121.5, 95) is out of range",
    );
}

#[test]
fn projected_coordinates_are_recognised() {
    let lines = problems(|t| {
        edit_feature(t, "assets.geojson", "bin-1", |f| {
            f["geometry"]["coordinates"] = json!([355000.0, 3460000.0])
        })
    });
    assert_reported(
        &lines,
        "assets.geojson: feature \"bin-1\": coordinate (355000, 3460000) looks projected (metres)",
    );
}

#[test]
fn feature_far_outside_the_scene() {
    let lines = problems(|t| {
        edit_feature(t, "assets.geojson", "bin-1", |f| {
            f["geometry"]["coordinates"] = json!([31.25, 121.5])
        })
    });
    assert_reported(
        &lines,
        "assets.geojson: feature \"bin-1\": coordinate (31.25, 121.5) is out of range",
    );
    let lines = problems(|t| {
        edit_feature(t, "assets.geojson", "bin-1", |f| {
            f["geometry"]["coordinates"] = json!([122.0, 31.25])
        })
    });
    assert_reported(&lines, "km from the scene origin (limit 30 km)");
}

#[test]
fn duplicate_ids() {
    let lines = problems(|t| {
        edit_feature(t, "assets.geojson", "bin-2", |f| {
            f["properties"]["id"] = json!("bin-1")
        })
    });
    assert_reported(&lines, "assets.geojson: feature \"bin-1\": duplicate id");
}

#[test]
fn unknown_asset_kind() {
    let lines = problems(|t| {
        edit_feature(t, "assets.geojson", "bin-1", |f| {
            f["properties"]["kind"] = json!("bench")
        })
    });
    assert_reported(&lines, "assets.geojson: feature \"bin-1\": unknown asset kind \"bench\" (expected one of: bin, manhole");
}

#[test]
fn unknown_road_class() {
    let lines = problems(|t| {
        edit_feature(t, "roads.geojson", "north-st", |f| {
            f["properties"]["class"] = json!("motorway")
        })
    });
    assert_reported(
        &lines,
        "roads.geojson: feature \"north-st\": unknown road class \"motorway\"",
    );
}

#[test]
fn unknown_agency() {
    let lines = problems(|t| {
        t.manifest = t
            .manifest
            .replacen("agency: \"police\"", "agency: \"fire_brigade\"", 1)
    });
    assert_reported(
        &lines,
        "scene.ron: unit \"police-south\": unknown agency \"fire_brigade\"",
    );
    let lines = problems(|t| {
        t.manifest = t
            .manifest
            .replacen("(key: \"police\"", "(key: \"coast_guard\"", 1)
    });
    assert_reported(&lines, "scene.ron: agency \"coast_guard\": unknown agency");
    assert_reported(
        &lines,
        "scene.ron: unit \"police-south\": agency \"police\" is not declared",
    );
}

#[test]
fn unit_off_the_grid_or_far_from_a_road() {
    // Home in the river: on no subdistrict part.
    let lines = problems(|t| {
        let home = fixture_home(t);
        t.manifest = t.manifest.replacen(&home, "home: (121.5021, 31.25)", 1);
    });
    assert_reported(
        &lines,
        "scene.ron: unit \"police-south\": home (121.5021, 31.25) is off the merged grid",
    );
    // Patrol waypoint inside the north bank but 200 m from any road.
    let lines = problems(|t| {
        t.manifest = t
            .manifest
            .replacen("patrol: [(", "patrol: [(121.5021, 31.2545), (", 1)
    });
    assert_reported(
        &lines,
        "scene.ron: unit \"police-south\": patrol waypoint 0 (121.5021, 31.2545) is",
    );
    assert_reported(&lines, "m from the nearest road open to car (limit 30 m)");
}

fn fixture_home(t: &SceneTexts) -> String {
    let at = t.manifest.find("home: (").unwrap();
    let end = at + t.manifest[at..].find(')').unwrap() + 1;
    t.manifest[at..end].to_owned()
}

#[test]
fn missing_source_property() {
    let lines = problems(|t| {
        edit_feature(t, "roads.geojson", "bridge", |f| {
            f["properties"].as_object_mut().unwrap().remove("source");
        })
    });
    assert_reported(
        &lines,
        "roads.geojson: feature \"bridge\": has no \"source\" property",
    );
}

#[test]
fn missing_gltf_model() {
    let lines = problems(|t| {
        edit_feature(t, "buildings.geojson", "depot", |f| {
            f["properties"]["model"] = json!("no-such.glb")
        })
    });
    assert_reported(
        &lines,
        "buildings.geojson: feature \"depot\": model \"no-such.glb\" cannot be loaded",
    );
}

#[test]
fn unparsable_gltf_model() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::write(
        dir.path().join("models/broken.glb"),
        b"glTF\x02\0\0\0garbage",
    )
    .unwrap();
    let mut texts = fixture();
    texts.manifest = texts.manifest.replace("../../../assets/models", "models");
    edit_feature(&mut texts, "buildings.geojson", "depot", |f| {
        f["properties"]["model"] = json!("broken.glb")
    });
    let Err(LoadError::Invalid(p)) = Scene::from_texts(dir.path(), &texts) else {
        panic!("should fail")
    };
    assert_reported(
        &p.all().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "feature \"depot\": model \"broken.glb\" cannot be loaded",
    );
}

#[test]
fn split_road_network_is_a_warning_with_piece_sizes() {
    let lines = problems(|t| {
        push_feature(
            t,
            "roads.geojson",
            json!({"type": "Feature",
            "properties": {"id": "island", "class": "lane", "source": "survey"},
            "geometry": {"type": "LineString", "coordinates": [[121.5002, 31.2545], [121.5004, 31.2545], [121.5006, 31.2545]]}}),
        );
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_reported(
        &lines,
        "warning: roads.geojson: road network is split into 2 pieces (nodes per piece: 27, 3)",
    );
}

#[test]
fn missing_layer_file() {
    let lines = problems(|t| {
        t.layers.insert("water.geojson".into(), None);
    });
    assert_reported(&lines, "water.geojson: missing or unreadable");
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let lines = problems(|t| {
        edit_feature(t, "assets.geojson", "bin-1", |f| {
            f["properties"]["kind"] = json!("bench")
        });
        edit_feature(t, "roads.geojson", "north-st", |f| {
            f["properties"]["class"] = json!("motorway")
        });
    });
    assert_reported(&lines, "bin-1");
    assert_reported(&lines, "north-st");
}
