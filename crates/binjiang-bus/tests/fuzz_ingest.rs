//! Fuzzing the bus message parser (what gateways publish is outside input): any subject and
//! any payload give a checked input or a refusal naming why — never a panic. Runs against a
//! real twin's state on the tiny test scene.

use binjiang_bus::ingest::input_of;
use binjiang_live::twin::BusInput;
use binjiang_live::{District, ServeOptions};
use proptest::prelude::*;
use std::path::Path;
use std::sync::mpsc;

/// A started twin's state (the service keeps running for the test's life).
fn state() -> (
    binjiang_live::http::AppState,
    tokio::runtime::Runtime,
    tempfile::TempDir,
) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
    let scene = binjiang_scene::Scene::load(&dir).unwrap();
    let catalogue =
        binjiang_sim::IncidentCatalogue::load(&dir.join(binjiang_sim::CATALOGUE_FILE), &scene)
            .unwrap()
            .0;
    let district = District::new(scene, catalogue).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let options = ServeOptions::new(tmp.path().join("live.db"), "127.0.0.1:0".parse().unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    rt.block_on(async {
        let mut running = binjiang_live::start(district, options).await.unwrap();
        running.attach(move |state, stop| {
            tx.send(state).unwrap();
            async move {
                let _ = stop.await;
            }
        });
        // Keep it serving.
        std::mem::forget(running);
    });
    (rx.recv().unwrap(), rt, tmp)
}

/// JSON-ish text: braces, keys the parsers know, numbers, times.
fn jsonish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just("\"Datastream\"".to_owned()),
            Just("\"@iot.id\"".to_owned()),
            Just("\"result\"".to_owned()),
            Just("\"phenomenonTime\"".to_owned()),
            Just("\"unit\"".to_owned()),
            Just("\"fixes\"".to_owned()),
            Just("\"time\"".to_owned()),
            Just("\"lon\"".to_owned()),
            Just("\"lat\"".to_owned()),
            Just("\"type\"".to_owned()),
            Just("\"source\"".to_owned()),
            Just("\"litter\"".to_owned()),
            Just("\"hotline12345\"".to_owned()),
            Just("\"police-south\"".to_owned()),
            Just("\"2026-11-23T10:00:00Z\"".to_owned()),
            any::<f64>().prop_map(|f| f.to_string()),
            any::<i64>().prop_map(|i| i.to_string()),
            "[ -~]{0,12}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

#[test]
fn any_bus_message_is_taken_or_refused_with_a_reason() {
    let (state, _rt, _tmp) = state();
    let subjects = prop_oneof![
        Just("binjiang.tiny-river.observations".to_owned()),
        Just("binjiang.tiny-river.reports".to_owned()),
        Just("binjiang.tiny-river.positions".to_owned()),
        "binjiang\\.[a-z.-]{0,20}",
    ];
    let payloads = prop_oneof![
        jsonish(),
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
    ];
    proptest!(ProptestConfig::with_cases(2000), |(subject in subjects, payload in payloads)| {
        match input_of(&state, "tiny-river", &subject, payload.as_bytes()) {
            BusInput::Refused(e) => prop_assert!(!e.error.is_empty()),
            BusInput::Observations(items) => prop_assert!(!items.is_empty()),
            BusInput::Report(_) | BusInput::Fixes { .. } => {}
        }
    });
    // And the good ones are taken.
    let ok = input_of(
        &state,
        "tiny-river",
        "binjiang.tiny-river.observations",
        br#"[{"Datastream": {"@iot.id": 1}, "result": 3}, {"Datastream": {"@iot.id": 2}, "result": 4}]"#,
    );
    assert!(
        matches!(ok, BusInput::Observations(ref v) if v.len() == 2),
        "{ok:?}"
    );
    let bad = input_of(
        &state,
        "tiny-river",
        "binjiang.tiny-river.observations",
        br#"[{"Datastream": {"@iot.id": 1}, "result": 3}, {"Datastream": {"@iot.id": 2}, "result": 400}]"#,
    );
    match bad {
        BusInput::Refused(e) => assert_eq!(e.field.as_deref(), Some("[1].result")),
        other => panic!("{other:?}"),
    }
}
