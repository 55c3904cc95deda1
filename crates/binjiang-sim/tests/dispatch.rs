//! Dispatch on the tiny river scene, where the right answers are known.

mod common;

use binjiang_sim::{EventKind, IncidentStatus, Source};
use common::*;

#[test]
fn nearest_by_road_not_across_the_water() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    // North bank, x = 100: police-south is 600 m away across the river (2.2 km by the bridge
    // at x = 900); police-north is 650 m away along North Street.
    let id = inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    let sent = events_of(&sim, EventKind::Dispatched);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].incident(), Some(id));
    assert_eq!(sent[0].unit(), Some("police-north"));
}

#[test]
fn joint_incident_closes_only_after_every_agency_finished() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    let id = inject(&mut sim, "crowd_surge", at(230.0, 330.0), Source::Camera);
    sim.advance_to(3.0 * 3600.0);
    let finished = events_of(&sim, EventKind::Finished);
    let closed = events_of(&sim, EventKind::Closed);
    assert_eq!(finished.len(), 2, "police and security each finish");
    let agencies: Vec<_> = finished.iter().map(|e| e.agency().unwrap().key()).collect();
    assert!(agencies.contains(&"police") && agencies.contains(&"security"));
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].incident(), Some(id));
    assert!(finished.iter().all(|f| f.t <= closed[0].t));
    assert_eq!(
        closed[0].t,
        finished.iter().map(|f| f.t).fold(0.0, f64::max)
    );
    assert_eq!(incident(&sim, id).status, IncidentStatus::Closed);
    // The security guard walks; it cannot have arrived before the police car's dispatch.
    assert!(scene.units.iter().any(|u| u.id == "security-north"));
}

#[test]
fn busy_agency_queues_and_serves_the_nearest_waiting_job() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    // One market-supervision unit: three vending incidents, so two must wait.
    let a = inject(&mut sim, "vending", at(230.0, 300.0), Source::Camera);
    let b = inject(&mut sim, "vending", at(600.0, 300.0), Source::Camera);
    let c = inject(&mut sim, "vending", at(400.0, 300.0), Source::Camera);
    assert_eq!(
        events_of(&sim, EventKind::Queued)
            .iter()
            .filter(|e| e.agency().unwrap().key() == "market_supervision")
            .count(),
        2
    );
    sim.advance_to(6.0 * 3600.0);
    let market = "market-north";
    let order: Vec<u32> = events_of(&sim, EventKind::Dispatched)
        .iter()
        .filter(|e| e.unit() == Some(market))
        .map(|e| e.incident().unwrap())
        .collect();
    // Same priority: after `a` at x = 230 the nearest waiting job is `c` (x = 400), then `b`.
    assert_eq!(order, vec![a, c, b], "same priority: nearest first");
    assert!(sim.incidents().all(|i| i.status == IncidentStatus::Closed));
}

#[test]
fn urgent_incident_preempts_routine_work() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    let (north, south) = ("police-north", "police-south");
    // Both police cars go to routine parking jobs far away...
    let p1 = inject(&mut sim, "parking", at(50.0, 550.0), Source::Hotline12345);
    let p2 = inject(&mut sim, "parking", at(950.0, -550.0), Source::Hotline12345);
    sim.advance_to(sim.now() + 5.0);
    // ...then a fight: the nearest car still en route is taken off its parking job.
    let fight = inject(&mut sim, "fight", at(700.0, 300.0), Source::Hotline110);
    let pre = events_of(&sim, EventKind::Preempted);
    assert_eq!(pre.len(), 1);
    assert!([Some(p1), Some(p2)].contains(&pre[0].incident()));
    let to_fight = dispatches_to(&sim, fight);
    assert_eq!(to_fight.len(), 1);
    assert!([Some(north), Some(south)].contains(&to_fight[0].unit()));
    sim.advance_to(8.0 * 3600.0);
    assert!(
        sim.incidents().all(|i| i.status == IncidentStatus::Closed),
        "the preempted job is served later"
    );
}

#[test]
fn separate_grids_never_crosses_a_subdistrict_line() {
    let (_, mut sim) = quiet_tiny("separate-grids");
    // North-bank cleaning unit is the only one allowed north; the south one must not come.
    let north = "clean-north";
    let a = inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    let b = inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    sim.advance_to(3.0 * 3600.0);
    for e in events_of(&sim, EventKind::Dispatched) {
        assert_eq!(
            e.unit(),
            Some(north),
            "incident {:?} got a unit from the other bank",
            e.incident()
        );
    }
    assert_eq!(events_of(&sim, EventKind::Queued).len(), 1);
    assert!([a, b]
        .iter()
        .all(|i| incident(&sim, *i).status == IncidentStatus::Closed));
}

#[test]
fn merged_grid_lets_the_other_bank_help_within_the_travel_limit() {
    // With no limit, the south-bank cleaner walks round by the bridge for the second bin.
    let (_, mut sim) = quiet_tiny_with("merged-grid", |c| {
        c.dispatch = binjiang_sim::DispatchRules::fastest_always()
    });
    inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    let sent = events_of(&sim, EventKind::Dispatched);
    let units: Vec<_> = sent.iter().map(|e| e.unit()).collect();
    assert_eq!(units, vec![Some("clean-north"), Some("clean-south")]);
    assert!(events_of(&sim, EventKind::Queued).is_empty());
    // With the default 15-minute limit for cleaners, a 2.2 km walk (28 min) is refused:
    // the part waits, flagged, for the north-bank cleaner.
    let (_, mut sim) = quiet_tiny("merged-grid");
    inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    let second = inject(&mut sim, "bin_overflow", at(100.0, 290.0), Source::Sensor);
    assert_eq!(
        queue_reasons(&sim),
        vec![binjiang_sim::QueueReason::BeyondMaxTravel]
    );
    sim.advance_to(3.0 * 3600.0);
    assert_eq!(units_sent_to(&sim, second), vec!["clean-north"]);
}

#[test]
fn a_passing_patrol_discovers_litter_and_handles_it() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    let cleaner = "clean-north";
    // On the promenade loop of clean-north (300..500, y = 120), 10 m off it.
    let id = inject(&mut sim, "litter", at(450.0, 130.0), Source::Patrol);
    assert!(
        events_of(&sim, EventKind::Reported).is_empty(),
        "nobody knows yet"
    );
    sim.advance_to(3600.0);
    let reported = events_of(&sim, EventKind::Reported);
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].unit(), Some(cleaner));
    assert_eq!(source_of(&reported[0]), Some(Source::Patrol));
    let arrived = events_of(&sim, EventKind::Arrived);
    assert_eq!(arrived[0].unit(), Some(cleaner));
    // At most 40 m along its loop, then the step off the promenade (10 m here).
    assert!(
        arrived[0].t - reported[0].t <= 50.0 / 1.3,
        "the finder is close by"
    );
    assert_eq!(incident(&sim, id).status, IncidentStatus::Closed);
}

#[test]
fn unpatrolled_litter_is_phoned_in_after_the_deadline() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    // Far corner of the south bank: no loop passes within 40 m.
    inject(&mut sim, "litter", at(50.0, -580.0), Source::Patrol);
    sim.advance_to(2.0 * 3600.0);
    let reported = events_of(&sim, EventKind::Reported);
    assert_eq!(reported.len(), 1);
    assert_eq!(source_of(&reported[0]), Some(Source::Hotline12345));
    assert_eq!(reported[0].t, 45.0 * 60.0);
}

#[test]
fn units_move_along_roads_while_en_route() {
    let (scene, mut sim) = quiet_tiny("merged-grid");
    inject(&mut sim, "fight", at(100.0, 300.0), Source::Hotline110);
    let north = unit_index(&scene, "police-north") as usize;
    sim.advance_to(sim.now() + 20.0);
    let p = sim.units()[north].position;
    assert!((p[1] - 300.0).abs() < 0.01, "on North Street: {p:?}");
    assert!(
        p[0] < 750.0 && p[0] > 100.0,
        "between start and incident: {p:?}"
    );
}

#[test]
fn queued_urgent_work_goes_before_nearer_routine_work() {
    let (_, mut sim) = quiet_tiny("separate-grids");
    let police = "police-north";
    // North bank has one police car. Keep it busy, then queue a routine job next to it and
    // an urgent one farther away: the urgent one is served first.
    let busy = inject(&mut sim, "parking", at(700.0, 300.0), Source::Hotline12345);
    sim.advance_to(sim.now() + 120.0);
    let routine = inject(&mut sim, "parking", at(690.0, 300.0), Source::Hotline12345);
    let urgent = inject(&mut sim, "fight", at(150.0, 300.0), Source::Hotline110);
    sim.advance_to(6.0 * 3600.0);
    let order: Vec<u32> = events_of(&sim, EventKind::Dispatched)
        .iter()
        .filter(|e| e.unit() == Some(police))
        .map(|e| e.incident().unwrap())
        .collect();
    assert_eq!(&order[..3], &[busy, urgent, routine]);
}

#[test]
fn work_queued_before_a_shift_is_taken_when_the_shift_starts() {
    // property-south works 07:00-19:00: a manhole at 06:00 waits for it, flagged
    // no_unit_free, and is taken the moment its shift starts (not when some job ends).
    let (_, mut sim) = quiet_tiny("merged-grid");
    sim.advance_to(6.0 * 3600.0);
    let id = inject(
        &mut sim,
        "manhole_displaced",
        at(400.0, 300.0),
        Source::Sensor,
    );
    assert_eq!(
        queue_reasons(&sim),
        vec![binjiang_sim::QueueReason::NoUnitFree]
    );
    sim.advance_to(7.0 * 3600.0);
    let sent: Vec<_> = dispatches_to(&sim, id)
        .into_iter()
        .filter(|e| e.unit() == Some("property-south"))
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].t, 7.0 * 3600.0);
    assert_eq!(events_of(&sim, EventKind::Dequeued).len(), 1);
}
