//! The coverage monitor and move-ups (issue 19): coverage agrees with road times found one
//! by one; a dispatch opens a hole a move-up fills; an operator's move-up is checked,
//! logged, ended when the owner is free, and replayed byte for byte; the simulation's own
//! policy is deterministic and leaves a run without it unchanged.

mod common;

use binjiang_scene::{Agency, Mode};
use binjiang_sim::moveup::{MoveUpPolicy, Reach, MIN_GAIN};
use binjiang_sim::{
    CoverageMonitor, EventKind, OperatorError, Router, SimOptions, Simulation, Source, UnitStatus,
    What,
};
use common::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The target on the tiny scene: short enough that each car covers a part of the grid.
const TINY_TARGET_S: f64 = 120.0;

fn police_only(threshold: f64) -> BTreeMap<Agency, f64> {
    [(Agency::Police, threshold)].into_iter().collect()
}

/// The tiny scene's police watched with a two-minute target, so each car covers a part of
/// the grid and one busy car opens a hole.
fn tiny_monitor(scene: &binjiang_scene::Scene) -> CoverageMonitor {
    let reach = Reach::of_scene(
        scene,
        &mut Router::of_scene(scene),
        TINY_TARGET_S,
        &[Mode::Car],
    );
    // Demand: every cell alike (the quiet tiny catalogue has no rates).
    let n = scene.grid.cells.len();
    CoverageMonitor::new(reach, &police_only(1.0), |_, _| vec![1.0; n])
}

#[test]
fn coverage_is_the_demand_within_the_target_of_a_free_unit_by_road() {
    let (scene, sim) = quiet_tiny("merged-grid");
    let monitor = tiny_monitor(&scene);
    let share = monitor.assess(&sim, 0)[0].share;
    // Brute force: every cell whose centre a free police car reaches within 60 s by road
    // from the centre of the cell it is in.
    let mut router = Router::of_scene(&scene);
    let centres: Vec<geo::Coord> = scene.grid.cells.iter().map(|c| c.centre()).collect();
    let mut covered = vec![false; centres.len()];
    for u in sim.units() {
        if u.agency != Agency::Police {
            continue;
        }
        let Some(c) = scene.grid.cell_at(at(u.position[0], u.position[1])) else {
            continue;
        };
        for (i, b) in centres.iter().enumerate() {
            if router
                .travel_time(Mode::Car, centres[c], *b)
                .is_some_and(|t| t <= TINY_TARGET_S)
            {
                covered[i] = true;
            }
        }
    }
    let brute = covered.iter().filter(|c| **c).count() as f64 / centres.len() as f64;
    assert!((share - brute).abs() < 1e-12, "{share} vs {brute}");
    assert!(share > 0.0 && share < 1.0, "{share}");
}

#[test]
fn a_dispatch_opens_a_hole_and_the_best_move_fills_it() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    let monitor = tiny_monitor(&scene);
    let before = monitor.assess(&sim, 0)[0].clone();
    assert_eq!((before.free_units, before.on_duty), (2, 2));
    // Nothing to fill while nobody is busy.
    assert!(monitor.propose(&sim, 0).is_empty());
    let id = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    assert_eq!(
        incident(&sim, id).needs[0].unit,
        Some(unit_index(&scene, "police-north"))
    );
    let now = monitor.assess(&sim, 0)[0].clone();
    assert_eq!(now.free_units, 1);
    assert!(now.share < before.share, "{now:?} vs {before:?}");
    let moves = monitor.propose(&sim, 0);
    assert_eq!(moves.len(), 1, "{moves:?}");
    let m = &moves[0];
    assert_eq!(
        (m.unit.as_str(), m.covering.as_str()),
        ("police-south", "police-north")
    );
    assert!(m.after >= m.before + MIN_GAIN, "{m:?}");
    assert!((m.before - now.share).abs() < 1e-12);
    // Above the threshold nothing is proposed, though the move would gain.
    let lax = CoverageMonitor::new(
        Reach::of_scene(
            &scene,
            &mut Router::of_scene(&scene),
            TINY_TARGET_S,
            &[Mode::Car],
        ),
        &police_only(0.0),
        |_, _| vec![1.0; scene.grid.cells.len()],
    );
    assert!(lax.propose(&sim, 0).is_empty());
    assert!(lax.best_move(&sim, Agency::Police, 0).is_some());
}

#[test]
fn an_operators_move_up_is_checked_logged_ended_and_replayed() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    // Nobody is busy: no patrol is empty.
    assert!(matches!(
        sim.move_up("police-south", "police-north", &OP),
        Err(OperatorError::CannotMoveUp { .. })
    ));
    let id = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    sim.advance_to(sim.now() + 5.0);
    for (unit, covering, says) in [
        ("police-north", "police-south", "not free"),
        ("clean-north", "police-north", "is a police unit"),
        ("police-south", "police-south", "own patrol"),
        ("nobody", "police-north", "no such unit"),
    ] {
        let e = sim.move_up(unit, covering, &OP).unwrap_err();
        assert!(e.to_string().contains(says), "{unit}/{covering}: {e}");
    }
    sim.move_up("police-south", "police-north", &OP).unwrap();
    assert_eq!(sim.covering("police-south"), Some("police-north"));
    let south = &sim.units()[unit_index(&scene, "police-south") as usize];
    assert_eq!(south.status, UnitStatus::Returning);
    let moved = events_of(&sim, EventKind::MovedUp);
    assert_eq!(moved.len(), 1);
    assert!(
        matches!(&moved[0].what, What::MovedUp { covering, operator: Some(op), .. }
        if covering.as_ref() == "police-north" && op.as_ref() == OP.id)
    );
    // One cover per patrol, one patrol per cover.
    assert!(sim.move_up("police-south", "police-north", &OP).is_err());
    // The owner finishes: the cover goes back to its own loop.
    while incident(&sim, id).closed_at.is_none() {
        sim.step().unwrap();
    }
    sim.advance_to(sim.now() + 1.0);
    assert_eq!(sim.covering("police-south"), None);
    let ended = events_of(&sim, EventKind::MoveUpEnded);
    assert_eq!(ended.len(), 1);
    assert!(matches!(&ended[0].what, What::MoveUpEnded { why, .. }
        if *why == binjiang_sim::MoveUpEnd::OwnerFree));
    sim.advance_to(sim.now() + 3600.0);
    // Replayed from its inputs, the run is the same byte for byte.
    let (_, mut again) = quiet_tiny("merged-grid");
    again.replay(sim.inputs(), sim.now()).unwrap();
    assert!(log_bytes(&again) == log_bytes(&sim));
}

#[test]
fn a_cover_sent_to_a_job_has_its_own_loop_again() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    sim.move_up("police-south", "police-north", &OP).unwrap();
    // Another fight: the only free car is the cover.
    inject(&mut sim, "fight", at(-100.0, -300.0), Source::Hotline110);
    assert_eq!(sim.covering("police-south"), None);
    let ended = events_of(&sim, EventKind::MoveUpEnded);
    assert!(matches!(&ended[0].what, What::MoveUpEnded { why, .. }
        if *why == binjiang_sim::MoveUpEnd::Dispatched));
}

fn yangpu_day(policy: &MoveUpPolicy) -> Simulation {
    let (scene, cat) = yangpu();
    let monitor = CoverageMonitor::for_scene(&scene, &cat, &policy.thresholds());
    let mut sim = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    if *policy != MoveUpPolicy::Off {
        sim.set_move_up(Arc::new(monitor));
    }
    sim.advance_to(86_400.0);
    sim
}

#[test]
fn the_simulations_own_move_ups_are_deterministic_and_off_changes_nothing() {
    let auto = yangpu_day(&MoveUpPolicy::Auto);
    let moved = events_of(&auto, EventKind::MovedUp);
    let ended = events_of(&auto, EventKind::MoveUpEnded);
    assert!(moved.len() > 20, "{} move-ups", moved.len());
    // Each ends at most once, after it began; the policy's moves name no operator.
    assert!(ended.len() <= moved.len() && ended.len() + 30 >= moved.len());
    assert!(moved
        .iter()
        .all(|e| matches!(&e.what, What::MovedUp { operator: None, .. })));
    assert!(log_bytes(&auto) == log_bytes(&yangpu_day(&MoveUpPolicy::Auto)));
    let off = yangpu_day(&MoveUpPolicy::Off);
    assert!(events_of(&off, EventKind::MovedUp).is_empty());
    let (scene, cat) = yangpu();
    let mut plain = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    plain.advance_to(86_400.0);
    assert!(log_bytes(&off) == log_bytes(&plain));
}
