//! Same scene + catalogue + options + seed ⇒ byte-identical event log; and the bookkeeping
//! of a full Yangpu day holds together.

mod common;

use binjiang_sim::{EventKind, IncidentStatus, SimOptions, Simulation};
use common::*;
use std::collections::HashMap;

fn day(seed: u64, policy: &str) -> Simulation {
    let (scene, cat) = yangpu();
    let mut sim = Simulation::new(
        &scene,
        cat,
        SimOptions {
            seed,
            policy: policy.parse().unwrap(),
            ..SimOptions::default()
        },
    )
    .unwrap();
    sim.advance_to(86_400.0);
    sim
}

#[test]
fn same_seed_same_bytes_different_seed_different_log() {
    let a = log_bytes(&day(7, "merged-grid"));
    let b = log_bytes(&day(7, "merged-grid"));
    assert!(a.len() > 10_000);
    assert!(a == b, "two runs with seed 7 differ");
    assert!(a != log_bytes(&day(8, "merged-grid")));
}

#[test]
fn stepping_and_advancing_give_the_same_log() {
    let (scene, cat) = yangpu();
    let mut stepped = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    while stepped.step().is_some_and(|t| t < 6.0 * 3600.0) {}
    let mut advanced = day_until(6.0 * 3600.0);
    let n = stepped
        .events()
        .iter()
        .filter(|e| e.t < 6.0 * 3600.0)
        .count();
    advanced.advance_to(6.0 * 3600.0 - 0.001);
    assert_eq!(&stepped.events()[..n], &advanced.events()[..n]);
}

fn day_until(t: f64) -> Simulation {
    let (scene, cat) = yangpu();
    let mut sim = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    sim.advance_to(t * 0.5);
    sim
}

#[test]
fn policies_see_the_same_incidents() {
    let arose = |s: &Simulation| {
        s.events()
            .iter()
            .filter(|e| e.kind() == EventKind::Arose)
            .map(|e| (e.t.to_bits(), e.x.to_bits(), e.incident()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        arose(&day(3, "merged-grid")),
        arose(&day(3, "separate-grids"))
    );
}

#[test]
fn every_incident_is_closed_or_still_open_and_every_dispatch_is_accounted_for() {
    for policy in ["merged-grid", "separate-grids"] {
        let sim = day(11, policy);
        let arisen: Vec<_> = sim
            .incidents()
            .filter(|i| i.status != IncidentStatus::Pending)
            .collect();
        let closed = arisen
            .iter()
            .filter(|i| i.status == IncidentStatus::Closed)
            .count();
        let open = arisen
            .iter()
            .filter(|i| matches!(i.status, IncidentStatus::Open | IncidentStatus::Unreported))
            .count();
        assert_eq!(closed + open, arisen.len());
        assert_eq!(events_of(&sim, EventKind::Arose).len(), arisen.len());
        assert_eq!(events_of(&sim, EventKind::Closed).len(), closed);
        assert!(closed > 100, "{policy}: only {closed} closed");
        // Every dispatch ends in an arrival, a preemption, or is still under way at the end.
        let mut open_dispatches: HashMap<(u32, &str), usize> = HashMap::new();
        for e in sim.events() {
            let key = (e.incident().unwrap_or(u32::MAX), e.unit().unwrap_or(""));
            match e.kind() {
                EventKind::Dispatched => *open_dispatches.entry(key).or_default() += 1,
                EventKind::Arrived | EventKind::Preempted => {
                    *open_dispatches
                        .get_mut(&key)
                        .expect("arrival without dispatch") -= 1
                }
                _ => {}
            }
        }
        let still = open_dispatches.values().sum::<usize>();
        let en_route = sim
            .units()
            .iter()
            .filter(|u| u.status == binjiang_sim::UnitStatus::EnRoute)
            .count();
        assert_eq!(still, en_route, "{policy}");
    }
}

#[test]
fn separate_grids_keeps_every_unit_in_its_subdistrict_all_day() {
    let sim = day(5, "separate-grids");
    let area_of_unit: HashMap<String, u16> =
        sim.units().into_iter().map(|u| (u.id, u.area)).collect();
    let dispatched = events_of(&sim, EventKind::Dispatched);
    assert!(dispatched.len() > 100);
    for e in dispatched {
        let inc = sim.incident(e.incident().unwrap()).unwrap();
        assert_eq!(
            area_of_unit[e.unit().unwrap()],
            inc.area,
            "incident {} served across a subdistrict line",
            inc.id
        );
    }
}
