//! The loader never panics, whatever it is fed: random text, and structurally plausible
//! GeoJSON and RON with junk values (wrong types, huge or tiny numbers, degenerate rings).

use binjiang_scene::{Scene, SceneTexts, LAYER_FILES};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::Path;

const MANIFEST: &str = include_str!("../../../tests/scenes/tiny-river/scene.ron");

fn texts(manifest: String, layer: usize, text: String) -> SceneTexts {
    let layers = LAYER_FILES
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                f.to_string(),
                Some(if i == layer {
                    text.clone()
                } else {
                    r#"{"type":"FeatureCollection","features":[]}"#.to_owned()
                }),
            )
        })
        .collect();
    SceneTexts { manifest, layers }
}

fn number() -> impl Strategy<Value = Value> + Clone {
    prop_oneof![
        (121.49f64..121.52).prop_map(|x| json!(x)),
        (31.24f64..31.26).prop_map(|x| json!(x)),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| json!(x)),
        any::<i64>().prop_map(|x| json!(x)),
        Just(json!("NaN")),
        Just(Value::Null),
    ]
}

fn position() -> impl Strategy<Value = Value> + Clone {
    prop::collection::vec(number(), 0..4).prop_map(Value::Array)
}

fn geometry() -> impl Strategy<Value = Value> {
    let ring = || prop::collection::vec(position(), 0..7).prop_map(Value::Array);
    let rings = || prop::collection::vec(ring(), 0..3).prop_map(Value::Array);
    prop_oneof![
        position().prop_map(|c| json!({"type": "Point", "coordinates": c})),
        ring().prop_map(|c| json!({"type": "LineString", "coordinates": c})),
        rings().prop_map(|c| json!({"type": "Polygon", "coordinates": c})),
        prop::collection::vec(rings(), 0..3)
            .prop_map(|c| json!({"type": "MultiPolygon", "coordinates": c})),
        number().prop_map(|c| json!({"type": "Polygon", "coordinates": c})),
        Just(Value::Null),
    ]
}

fn feature() -> impl Strategy<Value = Value> {
    let word = prop_oneof![
        Just("bin"),
        Just("street"),
        Just("promenade"),
        Just("x"),
        Just("")
    ]
    .prop_map(|s| json!(s));
    (geometry(), prop::option::of("[a-c]{1,2}"), word.clone(), word, prop::option::of(number()), any::<bool>()).prop_map(
        |(g, id, kind, class, h, src)| {
            json!({"type": "Feature", "geometry": g, "properties": {
                "id": id, "kind": kind, "class": class, "height_m": h, "levels": h, "code": "310110006", "name": "n",
                "source": if src { "survey" } else { "made up" }, "modes": ["foot", 3], "speed_kmh": h,
            }})
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_in_any_file_never_panics(text in "\\PC{0,200}", layer in 0usize..5, in_manifest in any::<bool>()) {
        let manifest = if in_manifest { text.clone() } else { MANIFEST.to_owned() };
        let _ = Scene::from_texts(Path::new("."), &texts(manifest, layer, text));
    }

    #[test]
    fn junk_features_never_panic(features in prop::collection::vec(feature(), 0..8), layer in 0usize..5) {
        let text = json!({"type": "FeatureCollection", "features": features}).to_string();
        let _ = Scene::from_texts(Path::new("."), &texts(MANIFEST.to_owned(), layer, text));
    }

    #[test]
    fn junk_manifest_numbers_never_panic(lon in any::<f64>(), lat in any::<f64>(), cell in any::<f64>()) {
        let manifest = MANIFEST
            .replacen("origin: (121.5, 31.25)", &format!("origin: ({lon:?}, {lat:?})"), 1)
            .replacen("cell_size_m: 100.0", &format!("cell_size_m: {cell:?}"), 1);
        let _ = Scene::from_texts(Path::new("."), &texts(manifest, 0, String::new()));
    }
}
