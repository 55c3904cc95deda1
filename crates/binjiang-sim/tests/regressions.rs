//! One regression test per defect of issue #8 ("A dispatch core a control room can trust").
//! Each failed on the core before the fix (see the commit that added this file).

mod common;

use binjiang_scene::{Agency, Mode, RoadGraph, Scene, Unit};
use binjiang_sim::{EventKind, SimOptions, Simulation, Source};
use common::*;

/// The tiny river scene with its cleaners replaced: six foot cleaners on the south bank,
/// close to the north bank as the crow flies, and one bike cleaner 700 m away on the north
/// bank. `bridge` keeps or removes the only bridge (x = 900 m).
fn cleaners_across_the_water(bridge: bool) -> (Scene, Simulation) {
    let (mut scene, mut cat) = tiny();
    for t in &mut cat.types {
        t.per_day = 0.0;
    }
    let template = scene.units[0].clone();
    scene.units.retain(|u| u.agency != Agency::Cleaning);
    let unit = |id: &str, mode: Mode, x: f64, y: f64| Unit {
        id: id.into(),
        agency: Agency::Cleaning,
        mode,
        home: at(x, y),
        patrol: vec![at(x, y), at(x + 50.0, y)],
        ..template.clone()
    };
    for i in 0..6 {
        let x = 100.0 + 50.0 * i as f64;
        scene
            .units
            .push(unit(&format!("foot-south-{i}"), Mode::Foot, x, -300.0));
    }
    scene
        .units
        .push(unit("bike-north", Mode::Bike, 800.0, 300.0));
    if !bridge {
        scene.roads.retain(|r| r.id != "bridge");
        scene.road_graph = RoadGraph::build(&scene.roads);
    }
    let sim = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    (scene, sim)
}

#[test]
fn defect_1_the_road_nearest_unit_is_found_beyond_six_straight_line_candidates() {
    let (_, mut sim) = cleaners_across_the_water(true);
    inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    let sent = events_of(&sim, EventKind::Dispatched);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].unit(), Some("bike-north"));
}

#[test]
fn defect_1_with_no_bridge_the_reachable_unit_goes_instead_of_queueing() {
    let (_, mut sim) = cleaners_across_the_water(false);
    inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    sim.advance_to(3600.0);
    let sent = events_of(&sim, EventKind::Dispatched);
    assert_eq!(sent.len(), 1, "{:?}", events_of(&sim, EventKind::Queued));
    assert_eq!(sent[0].unit(), Some("bike-north"));
}

#[test]
fn defect_2_an_operator_cannot_send_a_unit_that_has_no_road_there() {
    let (scene, mut sim) = cleaners_across_the_water(false);
    let id = inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    let south = unit_index(&scene, "foot-south-0");
    assert!(
        sim.reassign(id, Agency::Cleaning, south, &OP).is_err(),
        "a foot cleaner on the south bank would swim the river"
    );
}

#[test]
fn defect_2_a_point_is_never_joined_to_a_road_across_the_water() {
    // Without South Street and the bridge, the south bank has no road at all: a bin there
    // must not be served from the north-bank promenade by walking across the river.
    let (mut scene, mut cat) = tiny();
    for t in &mut cat.types {
        t.per_day = 0.0;
    }
    scene
        .roads
        .retain(|r| r.id != "bridge" && r.id != "south-st");
    scene.road_graph = RoadGraph::build(&scene.roads);
    scene
        .units
        .retain(|u| u.id != "clean-south" && u.id != "police-south");
    for u in scene.units.iter_mut().filter(|u| u.id == "property-south") {
        u.home = at(800.0, 300.0);
        u.patrol = vec![at(800.0, 300.0), at(900.0, 300.0)];
    }
    let mut sim = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    let id = inject(&mut sim, "bin_overflow", at(500.0, -300.0), Source::Sensor);
    sim.advance_to(3600.0);
    assert!(
        events_of(&sim, EventKind::Dispatched)
            .iter()
            .all(|e| e.incident() != Some(id)),
        "a cleaner was sent across the river"
    );
}

#[test]
fn defect_4_two_policies_see_the_same_on_scene_times() {
    let durations = |policy: &str| {
        let (scene, cat) = yangpu();
        let mut sim = Simulation::new(
            &scene,
            cat,
            SimOptions {
                policy: policy.parse().unwrap(),
                ..SimOptions::default()
            },
        )
        .unwrap();
        sim.advance_to(86_400.0);
        let mut arrived = std::collections::HashMap::new();
        let mut out = std::collections::BTreeMap::new();
        for e in sim.events() {
            let key = (e.incident(), e.agency().map(|a| a.key()));
            match e.kind() {
                EventKind::Arrived => {
                    arrived.insert(key, e.t);
                }
                EventKind::Finished => {
                    if let Some(a) = arrived.remove(&key) {
                        out.insert(key, ((e.t - a) * 1000.0).round() as i64);
                    }
                }
                _ => {}
            }
        }
        out
    };
    let (merged, separate) = (durations("merged-grid"), durations("separate-grids"));
    let both: Vec<_> = merged.keys().filter(|k| separate.contains_key(k)).collect();
    assert!(both.len() > 100, "{}", both.len());
    let same = both.iter().filter(|k| merged[k] == separate[k]).count();
    assert_eq!(same, both.len(), "on-scene times differ between policies");
}

#[test]
fn defect_6_a_unit_passing_on_its_way_to_a_job_finds_litter() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    // clean-north walks from its promenade loop to the bin at (100, 290) along the
    // promenade and up the lane at x = 100; the litter lies on that lane.
    inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    let t0 = sim.now();
    sim.advance_to(t0 + 30.0);
    let litter = inject(&mut sim, "litter", at(100.0, 200.0), Source::Patrol);
    sim.advance_to(t0 + 3600.0);
    let reported: Vec<_> = events_of(&sim, EventKind::Reported)
        .into_iter()
        .filter(|e| e.incident() == Some(litter))
        .collect();
    assert_eq!(reported.len(), 1);
    assert_eq!(source_of(&reported[0]), Some(Source::Patrol));
    assert_eq!(reported[0].unit(), Some("clean-north"));
    assert!(reported[0].t < t0 + 600.0, "found at {}", reported[0].t);
}

#[test]
fn defect_7_a_grid_with_no_cells_is_refused_not_a_panic() {
    let (mut scene, cat) = tiny();
    std::sync::Arc::make_mut(&mut scene.grid).cells.clear();
    let result = std::panic::catch_unwind(move || {
        Simulation::new(&scene, cat, SimOptions::default()).map(|mut sim| {
            sim.advance_to(86_400.0);
        })
    });
    assert!(matches!(result, Ok(Err(_))), "panicked or ran");
}

#[test]
fn defect_3_under_three_times_the_load_merging_no_longer_hurts_the_p90() {
    // Before: merged p90 1,652 s against 979 s for separate grids at 3x load, because any
    // unit could be sent any distance. With zone first and a travel limit, pooling pays.
    let run = |policy: &str, seed: u64| {
        let (scene, mut cat) = yangpu();
        for t in &mut cat.types {
            t.per_day *= 3.0;
        }
        let options = SimOptions {
            seed,
            policy: policy.parse().unwrap(),
            ..SimOptions::default()
        };
        let mut sim = Simulation::new(&scene, cat, options).unwrap();
        sim.advance_to(86_400.0);
        binjiang_sim::metrics_of(sim.events(), sim.catalogue(), 86_400.0)
    };
    let (mut merged, mut separate) = ((0.0, 0), (0.0, 0));
    for seed in 1..=4 {
        let (m, s) = (run("merged-grid", seed), run("separate-grids", seed));
        merged.0 += m.response_p90_s.unwrap();
        separate.0 += s.response_p90_s.unwrap();
        merged.1 += m.all.open_at_end;
        separate.1 += s.all.open_at_end;
    }
    assert!(merged.0 < separate.0, "p90 sums {merged:?} vs {separate:?}");
    assert!(
        merged.1 <= separate.1,
        "open at midnight {merged:?} vs {separate:?}"
    );
}

#[test]
fn defect_5_every_yangpu_type_can_be_handled_in_the_bud() {
    // Before: a crowd surge (35 min on scene) had the 30-minute limit of every type and
    // could never count. Now the limit is per type, and a limit below the typical on-scene
    // time is warned about when the catalogue is checked.
    let (scene, cat) = yangpu();
    let problems = cat.check("incident_types.ron", &scene);
    assert_eq!(problems.warnings().count(), 0, "{problems}");
    let mut tight = cat.clone();
    tight
        .types
        .iter_mut()
        .for_each(|t| t.escalate_after_min = None);
    let problems = tight.check("incident_types.ron", &scene);
    assert!(problems
        .to_string()
        .contains("warning: incident_types.ron: type \"crowd_surge\": its \"in the bud\" limit (30 min) is below its typical on-scene time (35 min)"));
    let mut sim = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    sim.advance_to(3.0 * 86_400.0);
    let m = binjiang_sim::metrics_of(sim.events(), sim.catalogue(), 3.0 * 86_400.0);
    let surge = &m.per_type["crowd_surge"];
    assert!(surge.incidents > 0);
    assert!(surge.in_the_bud_share.unwrap() > 0.0, "{surge:?}");
}
