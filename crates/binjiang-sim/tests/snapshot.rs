//! A snapshot restored into a fresh simulation continues exactly as the original: the
//! events before the cut plus those after the restore are the uninterrupted run's, byte for
//! byte — through CBOR, as the live twin stores them.

mod common;

use binjiang_sim::{Event, SimOptions, SimState, Simulation, SnapshotError, SNAPSHOT_VERSION};
use common::*;

fn bytes(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        serde_json::to_writer(&mut out, e).unwrap();
        out.push(b'\n');
    }
    out
}

fn fresh(seed: u64) -> Simulation {
    let (scene, cat) = yangpu();
    Simulation::new(
        &scene,
        cat,
        SimOptions {
            seed,
            ..SimOptions::default()
        },
    )
    .unwrap()
}

fn through_cbor(state: &SimState) -> SimState {
    let mut buf = Vec::new();
    ciborium::into_writer(state, &mut buf).unwrap();
    ciborium::from_reader(buf.as_slice()).unwrap()
}

#[test]
fn a_restored_snapshot_continues_exactly_as_the_uninterrupted_day() {
    for seed in [7, 11] {
        let mut whole = fresh(seed);
        whole.advance_to(86_400.0);
        let want = bytes(&whole.drain_events());
        assert!(want.len() > 10_000);
        for cut_h in [2.0, 8.5, 12.29, 18.75, 23.0] {
            let mut first = fresh(seed);
            first.advance_to(cut_h * 3600.0);
            let mut got = first.drain_events();
            first.drain_inputs();
            let state = through_cbor(&first.snapshot().unwrap());
            assert_eq!(state.version(), SNAPSHOT_VERSION);
            let mut second = fresh(seed);
            second.restore(state).unwrap();
            assert_eq!(second.now(), first.now());
            second.advance_to(86_400.0);
            got.extend(second.drain_events());
            assert!(
                bytes(&got) == want,
                "seed {seed}, cut at {cut_h} h: the log after the restore differs"
            );
        }
    }
}

#[test]
fn a_snapshot_with_undrained_events_or_of_another_version_is_refused() {
    let mut sim = fresh(7);
    sim.advance_to(9.0 * 3600.0);
    assert!(matches!(sim.snapshot(), Err(SnapshotError::Undrained(_))));
    sim.drain_events();
    sim.drain_inputs();
    let state = sim.snapshot().unwrap();
    // Another scene: other units.
    let (scene, cat) = tiny();
    let mut other = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    assert!(matches!(
        other.restore(state.clone()),
        Err(SnapshotError::Mismatch(_))
    ));
    // Another version: the field is data like any other.
    let mut value: ciborium::Value = {
        let mut buf = Vec::new();
        ciborium::into_writer(&state, &mut buf).unwrap();
        ciborium::from_reader(buf.as_slice()).unwrap()
    };
    if let ciborium::Value::Map(fields) = &mut value {
        for (k, v) in fields.iter_mut() {
            if k.as_text() == Some("version") {
                *v = ciborium::Value::Integer((SNAPSHOT_VERSION + 1).into());
            }
        }
    }
    let old: SimState = value.deserialized().unwrap();
    assert_eq!(
        fresh(7).restore(old),
        Err(SnapshotError::Version {
            found: SNAPSHOT_VERSION + 1
        })
    );
}
