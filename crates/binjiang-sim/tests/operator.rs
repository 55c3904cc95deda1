//! Operators acting on incidents: acknowledge, reassign, close.

mod common;

use binjiang_scene::Agency;
use binjiang_sim::{EventKind, IncidentStatus, OperatorError, Source, UnitStatus};
use common::*;

#[test]
fn acknowledge_is_logged_once_and_only_for_open_incidents() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    let id = sim
        .inject("fight", at(100.0, 300.0), Source::Hotline110)
        .unwrap();
    sim.acknowledge(id).unwrap();
    sim.acknowledge(id).unwrap();
    assert_eq!(events_of(&sim, EventKind::Acknowledged).len(), 1);
    assert!(sim.incidents()[id as usize].acknowledged_at.is_some());
    assert_eq!(sim.acknowledge(99), Err(OperatorError::NoIncident(99)));
    let unreported = sim
        .inject("litter", at(50.0, -580.0), Source::Patrol)
        .unwrap();
    assert_eq!(
        sim.acknowledge(unreported),
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
    let id = sim
        .inject("fight", at(100.0, 300.0), Source::Hotline110)
        .unwrap();
    assert_eq!(sim.incidents()[id as usize].needs[0].unit, Some(north));
    sim.advance_to(sim.now() + 10.0);
    sim.reassign(id, Agency::Police, south).unwrap();
    assert_eq!(sim.incidents()[id as usize].needs[0].unit, Some(south));
    assert_eq!(events_of(&sim, EventKind::Reassigned)[0].unit, Some(north));
    assert_eq!(
        sim.units()[north as usize].status,
        UnitStatus::Returning,
        "the first car goes back to patrol"
    );
    sim.advance_to(4.0 * 3600.0);
    let arrived: Vec<_> = events_of(&sim, EventKind::Arrived)
        .iter()
        .map(|e| e.unit)
        .collect();
    assert_eq!(
        arrived,
        vec![Some(south)],
        "only the reassigned unit arrives"
    );
    assert_eq!(sim.incidents()[id as usize].status, IncidentStatus::Closed);
    // Refusals: a unit of another agency, or a part the incident does not have.
    let id = sim
        .inject("fight", at(100.0, 300.0), Source::Hotline110)
        .unwrap();
    let cleaner = unit_index(&scene, "clean-north");
    assert_eq!(
        sim.reassign(id, Agency::Police, cleaner),
        Err(OperatorError::UnitUnavailable(cleaner, Agency::Police))
    );
    assert_eq!(
        sim.reassign(id, Agency::Cleaning, cleaner),
        Err(OperatorError::NoPart(id, Agency::Cleaning))
    );
}

#[test]
fn close_finishes_every_part_and_frees_the_units() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    // Two vending incidents: the single market unit takes one, the other part queues.
    let a = sim
        .inject("vending", at(230.0, 300.0), Source::Camera)
        .unwrap();
    let b = sim
        .inject("vending", at(600.0, 300.0), Source::Camera)
        .unwrap();
    sim.advance_to(sim.now() + 30.0);
    sim.close(b).unwrap();
    assert_eq!(sim.incidents()[b as usize].status, IncidentStatus::Closed);
    assert!(sim.incidents()[b as usize]
        .needs
        .iter()
        .all(|n| n.finished_at.is_some()));
    assert_eq!(sim.close(b), Err(OperatorError::NotOpen(b)));
    sim.advance_to(6.0 * 3600.0);
    assert_eq!(sim.incidents()[a as usize].status, IncidentStatus::Closed);
    let market = unit_index(&scene, "market-north");
    let to_b = events_of(&sim, EventKind::Dispatched)
        .into_iter()
        .filter(|e| e.incident == Some(b) && e.unit == Some(market))
        .count();
    assert_eq!(to_b, 0, "the closed incident's queued part is never served");
    assert_eq!(events_of(&sim, EventKind::Closed).len(), 2);
    assert!(
        sim.units().iter().all(|u| u.incident.is_none()),
        "nobody is left on a closed job"
    );
}
