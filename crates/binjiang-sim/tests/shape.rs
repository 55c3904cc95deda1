//! The shape a live service and a planner need: snapshots, starting at any time, reports
//! from outside, explicit queue events, bounded memory, and the central claim of the product.

mod common;

use binjiang_sim::{
    EventKind, IncidentSource, Place, PolicyKind, Report, ReportError, SimOptions, Simulation,
    Source, What,
};
use common::*;

fn yangpu_sim(options: SimOptions) -> Simulation {
    let (scene, cat) = yangpu();
    Simulation::new(&scene, cat, options).unwrap()
}

#[test]
fn a_clone_is_a_snapshot_that_continues_exactly_as_the_original() {
    let mut original = yangpu_sim(SimOptions::default());
    original.advance_to(10.0 * 3600.0);
    let mut fork = original.clone();
    let before = original.events().len();
    original.advance_to(20.0 * 3600.0);
    fork.advance_to(20.0 * 3600.0);
    assert!(original.events().len() > before + 100);
    assert_eq!(log_bytes(&original), log_bytes(&fork));
    // And the fork runs on its own: what is done to it does not touch the original.
    let n = original.events().len();
    inject(
        &mut fork,
        "fight_or_theft",
        at(0.0, 0.0),
        Source::Hotline110,
    );
    assert_eq!(original.events().len(), n);
}

#[test]
fn a_run_started_at_any_time_has_units_in_their_shift_state_and_the_same_later_day() {
    let start = 8.5 * 3600.0;
    let late = yangpu_sim(SimOptions {
        start_s: start,
        ..SimOptions::default()
    });
    let (scene, _) = yangpu();
    for (u, spec) in late.units().iter().zip(&scene.units) {
        let on = spec.shift.on_duty(start as u32);
        assert_eq!(
            u.status != binjiang_sim::UnitStatus::OffDuty,
            on,
            "{} at 08:30",
            u.id
        );
    }
    assert!(late
        .events()
        .iter()
        .all(|e| e.t >= start && e.kind() == EventKind::ShiftStarted));
    // The incidents from 08:30 on are those of a run from midnight.
    let arisen = |mut sim: Simulation| {
        sim.advance_to(14.0 * 3600.0);
        sim.events()
            .iter()
            .filter_map(|e| match &e.what {
                What::Arose { incident_type, .. } if e.t >= start => {
                    Some((e.t.to_bits(), e.x.to_bits(), incident_type.to_string()))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let from_midnight = arisen(yangpu_sim(SimOptions::default()));
    assert!(from_midnight.len() > 50);
    assert_eq!(arisen(late), from_midnight);
}

#[test]
fn a_report_stamped_in_the_past_is_dispatched_now_and_never_moves_the_clock_back() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    sim.advance_to(3600.0);
    let report = |id: &str, time: f64| Report {
        external_id: Some(id.into()),
        time,
        source: Source::Hotline110,
        incident_type: "fight".into(),
        place: Place::At([100.0, 300.0]),
        text: "caller says two men fighting".into(),
    };
    let id = sim.report(report("110-7", 3000.0)).unwrap();
    assert_eq!(sim.now(), 3600.0, "the clock did not move back");
    let inc = incident(&sim, id);
    assert_eq!(inc.arose_at, 3000.0);
    assert_eq!(inc.reported_at, Some(3600.0));
    let sent = events_of(&sim, EventKind::Dispatched);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].t, 3600.0);
    assert!(sim.events().windows(2).all(|w| w[0].t <= w[1].t));
    // The same external id again: the same incident, nothing new.
    let n = sim.events().len();
    assert_eq!(sim.report(report("110-7", 3650.0)), Ok(id));
    assert_eq!(sim.events().len(), n);
    // A report for later waits for its time.
    let later = sim.report(report("110-8", 7200.0)).unwrap();
    assert_eq!(
        incident(&sim, later).status,
        binjiang_sim::IncidentStatus::Pending
    );
    sim.advance_to(7200.0);
    assert_eq!(incident(&sim, later).reported_at, Some(7200.0));
    // Refusals name the field.
    let mut bad = report("x", 7300.0);
    bad.incident_type = "alien".into();
    assert_eq!(
        sim.report(bad),
        Err(ReportError::UnknownType("alien".into()))
    );
    let mut bad = report("y", 7300.0);
    bad.place = Place::Asset("bin-99".into());
    assert!(sim
        .report(bad)
        .unwrap_err()
        .to_string()
        .starts_with("asset_id:"));
    // Every accepted report is in the input log.
    assert_eq!(sim.inputs().len(), 2);
}

#[test]
fn a_recorded_list_feeds_the_run_instead_of_the_catalogue() {
    let (scene, cat) = tiny();
    let list = vec![
        Report {
            external_id: Some("12345-1".into()),
            time: 100.0,
            source: Source::Hotline12345,
            incident_type: "parking".into(),
            place: Place::At([400.0, 300.0]),
            text: String::new(),
        },
        Report {
            external_id: None,
            time: 200.0,
            source: Source::Sensor,
            incident_type: "bin_overflow".into(),
            place: Place::Asset("bin-2".into()),
            text: String::new(),
        },
    ];
    let policy = PolicyKind::MergedGrid.build(cat.dispatch.clone());
    let mut sim = Simulation::with_source(
        &scene,
        cat,
        SimOptions::default(),
        policy,
        IncidentSource::Recorded(std::sync::Arc::new(list)),
    )
    .unwrap();
    sim.advance_to(86_400.0);
    let arose = events_of(&sim, EventKind::Arose);
    assert_eq!(arose.len(), 2, "only the recorded incidents");
    assert_eq!((arose[0].t, arose[1].t), (100.0, 200.0));
    let (x, y) = (arose[1].x, arose[1].y);
    assert!(
        (x - 700.0).abs() < 0.01 && (y + 290.0).abs() < 0.01,
        "at the asset: {x} {y}"
    );
    assert_eq!(events_of(&sim, EventKind::Closed).len(), 2);
    // A list naming an asset the scene lacks is refused when the run is set up.
    let (scene, cat) = tiny();
    let bad = vec![Report {
        external_id: None,
        time: 50.0,
        source: Source::Sensor,
        incident_type: "bin_overflow".into(),
        place: Place::Asset("bin-404".into()),
        text: String::new(),
    }];
    let policy = PolicyKind::MergedGrid.build(cat.dispatch.clone());
    let refused = Simulation::with_source(
        &scene,
        cat,
        SimOptions::default(),
        policy,
        IncidentSource::Recorded(std::sync::Arc::new(bad)),
    );
    assert_eq!(
        refused.err().map(|e| e.to_string()),
        Some("recorded report 0: asset_id: no asset \"bin-404\" in the scene".into())
    );
}

#[test]
fn queue_events_keep_the_queue_length_exact_through_operator_actions() {
    let (_, mut sim) = quiet_tiny("merged-grid");
    // One market-supervision unit, three vending incidents: two parts queue.
    let a = inject(&mut sim, "vending", at(230.0, 300.0), Source::Camera);
    let b = inject(&mut sim, "vending", at(600.0, 300.0), Source::Camera);
    let c = inject(&mut sim, "vending", at(400.0, 300.0), Source::Camera);
    let queued = |sim: &Simulation| {
        sim.queue_lengths()
            .iter()
            .find(|(a, _)| *a == binjiang_scene::Agency::MarketSupervision)
            .unwrap()
            .1
    };
    assert_eq!(queued(&sim), 2);
    sim.close(b, &OP).unwrap();
    assert_eq!(queued(&sim), 1);
    // Both of b's waiting parts (urban management and market supervision) leave the queue.
    let withdrawn = events_of(&sim, EventKind::Withdrawn);
    assert_eq!(withdrawn.len(), 2);
    assert!(withdrawn.iter().all(|e| e.incident() == Some(b)));
    sim.advance_to(6.0 * 3600.0);
    assert_eq!(queued(&sim), 0);
    // The log alone tells the queue's story: every queued spell ends exactly once.
    let (q, d, w) = (
        events_of(&sim, EventKind::Queued).len(),
        events_of(&sim, EventKind::Dequeued).len(),
        events_of(&sim, EventKind::Withdrawn).len(),
    );
    assert_eq!(q, d + w);
    let m = binjiang_sim::metrics_of(sim.events(), sim.catalogue(), sim.now());
    assert_eq!(m.per_agency["market_supervision"].max_queue, 2);
    assert!([a, c]
        .iter()
        .all(|i| incident(&sim, *i).status == binjiang_sim::IncidentStatus::Closed));
}

#[test]
fn a_week_keeps_memory_bounded_when_logs_go_to_sinks() {
    let mut sim = yangpu_sim(SimOptions::default());
    let mut most_live = 0;
    let mut events = 0;
    for h in 1..=7 * 24 {
        sim.advance_to(f64::from(h) * 3600.0);
        events += sim.drain_events().len();
        sim.retire_closed();
        most_live = most_live.max(sim.incidents().count());
    }
    assert!(events > 7 * 1500, "{events} events in a week");
    assert!(sim.events().is_empty());
    assert!(
        most_live < 100,
        "{most_live} incidents kept at once (about 190 arise a day)"
    );
}

#[test]
fn merged_grid_p90_response_is_no_worse_than_separate_grids_at_todays_load() {
    // The product's central claim, over a fixed set of seeds (paired: common random numbers).
    let p90 = |policy: PolicyKind, seed: u64| {
        let mut sim = yangpu_sim(SimOptions {
            seed,
            policy,
            ..SimOptions::default()
        });
        sim.advance_to(86_400.0);
        let m = binjiang_sim::metrics_of(sim.events(), sim.catalogue(), 86_400.0);
        m.response_p90_s.expect("a p90 on a normal day")
    };
    let seeds = 1..=8;
    let merged: f64 = seeds.clone().map(|s| p90(PolicyKind::MergedGrid, s)).sum();
    let separate: f64 = seeds.map(|s| p90(PolicyKind::SeparateGrids, s)).sum();
    assert!(
        merged <= separate,
        "mean p90 merged {:.0} s > separate {:.0} s",
        merged / 8.0,
        separate / 8.0
    );
}

#[test]
fn a_run_is_saved_as_its_input_log_and_resumed_exactly() {
    // A Yangpu day with reports from outside and operators at work, saved as JSON lines.
    let mut original = yangpu_sim(SimOptions::default());
    original.advance_to(9.0 * 3600.0);
    let a = inject(
        &mut original,
        "fight_or_theft",
        at(0.0, 0.0),
        Source::Hotline110,
    );
    original.advance_to(9.0 * 3600.0 + 30.0);
    original.acknowledge(a, &OP).unwrap();
    let b = inject(
        &mut original,
        "litter",
        at(500.0, 200.0),
        Source::Hotline12345,
    );
    original.advance_to(9.0 * 3600.0 + 60.0);
    original.close(b, &OP).unwrap();
    original.advance_to(12.0 * 3600.0);
    let saved: String = original
        .inputs()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    assert_eq!(saved.lines().count(), 4);
    // Resumed from the saved text alone, in a fresh simulation.
    let inputs: Vec<binjiang_sim::InputRecord> = saved
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut resumed = yangpu_sim(SimOptions::default());
    resumed.replay(&inputs, 12.0 * 3600.0).unwrap();
    assert!(
        log_bytes(&resumed) == log_bytes(&original),
        "the resumed run differs"
    );
    assert_eq!(resumed.inputs(), original.inputs());
}
