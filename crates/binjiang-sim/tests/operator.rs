//! Operators acting on incidents: acknowledge, reassign, close.

mod common;

use binjiang_scene::Agency;
use binjiang_sim::{EventKind, IncidentStatus, OperatorError, Source, UnitStatus};
use common::*;

#[test]
fn acknowledge_is_logged_once_and_only_for_open_incidents() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    let id = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    sim.acknowledge(id, &OP).unwrap();
    sim.acknowledge(id, &OP).unwrap();
    assert_eq!(events_of(&sim, EventKind::Acknowledged).len(), 1);
    assert!(incident(&sim, id).acknowledged_at.is_some());
    assert_eq!(sim.acknowledge(99, &OP), Err(OperatorError::NoIncident(99)));
    let unreported = inject(&mut sim, "litter", at(50.0, -580.0), Source::Patrol);
    assert_eq!(
        sim.acknowledge(unreported, &OP),
        Err(OperatorError::NotOpen(unreported))
    );
}

#[test]
fn reassign_sends_the_chosen_unit_and_frees_the_first() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    let (north, south) = (
        unit_index(&scene, "police-north"),
        unit_index(&scene, "police-south"),
    );
    let id = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    assert_eq!(incident(&sim, id).needs[0].unit, Some(north));
    sim.advance_to(sim.now() + 10.0);
    sim.reassign(id, Agency::Police, south, &OP).unwrap();
    assert_eq!(incident(&sim, id).needs[0].unit, Some(south));
    assert_eq!(
        events_of(&sim, EventKind::Reassigned)[0].unit(),
        Some("police-north")
    );
    assert_eq!(
        sim.units()[north as usize].status,
        UnitStatus::Returning,
        "the first car goes back to patrol"
    );
    sim.advance_to(4.0 * 3600.0);
    let arrived: Vec<_> = events_of(&sim, EventKind::Arrived)
        .iter()
        .map(|e| e.unit().map(str::to_owned))
        .collect();
    assert_eq!(
        arrived,
        vec![Some("police-south".to_owned())],
        "only the reassigned unit arrives"
    );
    assert_eq!(incident(&sim, id).status, IncidentStatus::Closed);
    // Refusals: a unit of another agency, or a part the incident does not have.
    let id = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    let cleaner = unit_index(&scene, "clean-north");
    assert_eq!(
        sim.reassign(id, Agency::Police, cleaner, &OP),
        Err(OperatorError::UnitUnavailable(cleaner, Agency::Police))
    );
    assert_eq!(
        sim.reassign(id, Agency::Cleaning, cleaner, &OP),
        Err(OperatorError::NoPart(id, Agency::Cleaning))
    );
}

#[test]
fn close_finishes_every_part_and_frees_the_units() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    // Two vending incidents: the single market unit takes one, the other part queues.
    let a = inject(&mut sim, "vending", at(230.0, 300.0), Source::Camera);
    let b = inject(&mut sim, "vending", at(600.0, 300.0), Source::Camera);
    sim.advance_to(sim.now() + 30.0);
    sim.close(b, &OP).unwrap();
    assert_eq!(incident(&sim, b).status, IncidentStatus::Closed);
    assert!(incident(&sim, b)
        .needs
        .iter()
        .all(|n| n.finished_at.is_some()));
    assert_eq!(sim.close(b, &OP), Err(OperatorError::NotOpen(b)));
    sim.advance_to(6.0 * 3600.0);
    assert_eq!(incident(&sim, a).status, IncidentStatus::Closed);
    assert!(
        !units_sent_to(&sim, b).contains(&"market-north".to_owned()),
        "the closed incident's queued part is never served"
    );
    assert_eq!(events_of(&sim, EventKind::Closed).len(), 2);
    assert!(
        sim.units().iter().all(|u| u.incident.is_none()),
        "nobody is left on a closed job"
    );
}

#[test]
fn cancel_and_reopen_follow_the_cad_life_cycle() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    let id = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    let car = incident(&sim, id).needs[0].unit.unwrap();
    sim.cancel(id, binjiang_sim::CancelReason::Duplicate, &OP)
        .unwrap();
    let inc = incident(&sim, id);
    assert_eq!(inc.status, IncidentStatus::Closed);
    assert_eq!(inc.cancelled, Some(binjiang_sim::CancelReason::Duplicate));
    assert_eq!(inc.closed_by.as_deref(), Some(OP.id));
    assert_ne!(
        sim.units()[car as usize].status,
        UnitStatus::EnRoute,
        "the car is freed"
    );
    assert_eq!(
        sim.cancel(id, binjiang_sim::CancelReason::FalseAlarm, &OP),
        Err(OperatorError::NotOpen(id))
    );
    // Reopened: dispatched again from scratch.
    sim.advance_to(sim.now() + 60.0);
    sim.reopen(id, &OP).unwrap();
    let inc = incident(&sim, id);
    assert_eq!(inc.status, IncidentStatus::Open);
    assert_eq!(inc.reopened, 1);
    assert!(inc.cancelled.is_none() && inc.closed_at.is_none());
    assert!(inc.needs[0].unit.is_some(), "a unit is sent again");
    assert_eq!(events_of(&sim, EventKind::Reopened).len(), 1);
    assert_eq!(sim.reopen(id, &OP), Err(OperatorError::NotClosed(id)));
    sim.close_as(id, Some("advice given"), &OP).unwrap();
    assert_eq!(
        incident(&sim, id).disposition.as_deref(),
        Some("advice given")
    );
    let _ = scene;
}

#[test]
fn a_fresh_gps_fix_moves_a_patrolling_unit_until_it_goes_stale() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    let u = unit_index(&scene, "clean-south") as usize;
    sim.advance_to(sim.now() + 30.0);
    let there = [400.0, -590.0];
    sim.fix("clean-south", there).unwrap();
    assert_eq!(sim.units()[u].position, there);
    sim.advance_to(sim.now() + binjiang_sim::FIX_FRESH_S - 1.0);
    assert_eq!(sim.units()[u].position, there, "still fresh");
    sim.advance_to(sim.now() + 2.0);
    assert_ne!(
        sim.units()[u].position,
        there,
        "stale: back on its patrol model"
    );
    assert!(matches!(
        sim.fix("nobody", there),
        Err(binjiang_sim::FixError::NoUnit(_))
    ));
    assert_eq!(
        sim.fix("clean-south", [f64::NAN, 0.0]),
        Err(binjiang_sim::FixError::NotFinite)
    );
}

#[test]
fn a_run_with_fixes_cancels_and_reopens_replays_byte_for_byte() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    let fresh = sim.clone();
    let a = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    sim.advance_to(sim.now() + 20.0);
    sim.fix("clean-north", [0.0, 150.0]).unwrap();
    let b = inject(&mut sim, "litter", at(10.0, 160.0), Source::Camera);
    sim.advance_to(sim.now() + 20.0);
    sim.cancel(a, binjiang_sim::CancelReason::FalseAlarm, &OP)
        .unwrap();
    sim.advance_to(sim.now() + 200.0);
    sim.reopen(a, &OP).unwrap();
    sim.close_as(b, Some("swept"), &OP).unwrap();
    sim.advance_to(3.0 * 3600.0);
    let inputs = sim.inputs().to_vec();
    let mut resumed = fresh;
    resumed.replay(&inputs, 3.0 * 3600.0).unwrap();
    assert!(
        log_bytes(&resumed) == log_bytes(&sim),
        "the replayed run differs"
    );
    assert_eq!(resumed.inputs(), sim.inputs());
}

#[test]
fn a_crew_reporting_on_scene_and_cleared_overrides_the_estimates_and_replays() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    let fresh = sim.clone();
    let id = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    let car = incident(&sim, id).needs[0].unit.unwrap();
    let car_id = scene.units[car as usize].id.clone();
    assert_eq!(
        sim.crew_status(&car_id, binjiang_sim::CrewStatus::Cleared),
        Err(binjiang_sim::CrewStatusError::NotOnScene(car_id.clone()))
    );
    // The crew says it is there after 5 s, before the model's estimate.
    sim.advance_to(sim.now() + 5.0);
    sim.crew_status(&car_id, binjiang_sim::CrewStatus::OnScene)
        .unwrap();
    let arrived = incident(&sim, id).needs[0].arrived_at.unwrap();
    assert_eq!(arrived, sim.now());
    // The model's own arrival, later, is dropped: one arrival only.
    sim.advance_to(sim.now() + 60.0);
    assert_eq!(events_of(&sim, EventKind::Arrived).len(), 1);
    sim.crew_status(&car_id, binjiang_sim::CrewStatus::Cleared)
        .unwrap();
    assert_eq!(incident(&sim, id).status, IncidentStatus::Closed);
    sim.advance_to(2.0 * 3600.0);
    assert_eq!(
        events_of(&sim, EventKind::Finished).len(),
        1,
        "the model's finish is dropped"
    );
    assert!(matches!(
        sim.crew_status("nobody", binjiang_sim::CrewStatus::OnScene),
        Err(binjiang_sim::CrewStatusError::NoUnit(_))
    ));
    // Saved as inputs, replayed byte for byte.
    let inputs = sim.inputs().to_vec();
    let mut resumed = fresh;
    resumed.replay(&inputs, 2.0 * 3600.0).unwrap();
    assert!(log_bytes(&resumed) == log_bytes(&sim));
}
