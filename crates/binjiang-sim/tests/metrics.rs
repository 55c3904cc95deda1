//! Metrics against a log small enough to compute by hand (definitions: docs/kpis.md).

mod common;

use binjiang_scene::Agency;
use binjiang_sim::{Event, MetricsFold, QueueReason, Source, What};
use common::*;

fn ev(t: f64, what: What) -> Event {
    Event::new(t, at(0.0, 0.0), what)
}

fn arose(t: f64, incident: u32, ty: &str, agencies: &[Agency], area: &str, cell: &str) -> Event {
    ev(
        t,
        What::Arose {
            incident,
            incident_type: ty.into(),
            priority: 1,
            agencies: agencies.to_vec(),
            subdistrict: area.into(),
            cell: Some(cell.into()),
            external_id: None,
        },
    )
}

fn reported(t: f64, incident: u32) -> Event {
    ev(
        t,
        What::Reported {
            incident,
            source: Source::Hotline110,
            finder: None,
        },
    )
}

fn unit_event(t: f64, incident: u32, agency: Agency, kind: &str) -> Event {
    let unit = if agency == Agency::Police {
        "p-1"
    } else {
        "c-1"
    }
    .into();
    let what = match kind {
        "dispatched" => What::Dispatched {
            incident,
            agency,
            unit,
            eta_s: 0.0,
        },
        "arrived" => What::Arrived {
            incident,
            agency,
            unit,
        },
        _ => What::Finished {
            incident,
            agency,
            unit,
        },
    };
    ev(t, what)
}

fn closed(t: f64, incident: u32) -> Event {
    ev(
        t,
        What::Closed {
            incident,
            operator: None,
            disposition: None,
            cancelled: None,
        },
    )
}

/// Police unit p-1 and cleaning unit c-1 on duty for the hour 0..3600.
/// Incident 0 (fight, north): reported 110, police sent 110, on site 250, done 850.
/// Incident 1 (bin overflow, north): reported 230, queued, dequeued and sent 400, on site
/// 700, done 1000.
/// Incident 2 (litter, south): arose 300, never found.
/// Incident 3 (crowd surge, south, police + security): reported 500, police on site 560,
/// security never: not "on site" for the joint-incident rule.
fn hand_log() -> Vec<Event> {
    let (police, cleaning) = (Agency::Police, Agency::Cleaning);
    let (north, south) = ("310110006", "310110018");
    vec![
        ev(
            0.0,
            What::ShiftStarted {
                unit: "p-1".into(),
                agency: police,
            },
        ),
        ev(
            0.0,
            What::ShiftStarted {
                unit: "c-1".into(),
                agency: cleaning,
            },
        ),
        arose(100.0, 0, "fight", &[police], north, "c5"),
        reported(110.0, 0),
        unit_event(110.0, 0, police, "dispatched"),
        arose(200.0, 1, "bin_overflow", &[cleaning], north, "c5"),
        reported(230.0, 1),
        ev(
            230.0,
            What::Queued {
                incident: 1,
                agency: cleaning,
                reason: QueueReason::NoUnitFree,
            },
        ),
        unit_event(250.0, 0, police, "arrived"),
        arose(300.0, 2, "litter", &[cleaning], south, "c7"),
        ev(
            400.0,
            What::Dequeued {
                incident: 1,
                agency: cleaning,
            },
        ),
        unit_event(400.0, 1, cleaning, "dispatched"),
        arose(
            490.0,
            3,
            "crowd_surge",
            &[police, Agency::Security],
            south,
            "c7",
        ),
        reported(500.0, 3),
        unit_event(700.0, 1, cleaning, "arrived"),
        unit_event(850.0, 0, police, "finished"),
        closed(850.0, 0),
        unit_event(1000.0, 1, cleaning, "finished"),
        closed(1000.0, 1),
        unit_event(1000.0, 3, police, "dispatched"),
        unit_event(1060.0, 3, police, "arrived"),
    ]
}

#[test]
fn metrics_match_the_hand_computed_log() {
    let (_, catalogue) = tiny();
    let m = binjiang_sim::metrics_of(&hand_log(), &catalogue, 3600.0);
    let all = &m.all;
    assert_eq!(
        (all.incidents, all.reported, all.closed, all.open_at_end),
        (4, 3, 2, 2)
    );
    // Report → every agency on site: 140 s, 470 s, never (security never came to #3).
    assert_eq!(
        (m.response_p50_s, m.response_p90_s, m.response_p99_s),
        (Some(470.0), None, None)
    );
    assert_eq!(all.response_s.p50, Some(470.0));
    // First unit: 140, 470, 560.
    assert_eq!(all.first_on_site_s.p90, Some(560.0));
    assert_eq!(all.on_site_3min_share, Some(0.333));
    assert_eq!(all.first_on_site_3min_share, Some(0.333));
    assert_eq!(all.unreached, 0, "#3 had a first unit");
    // Detection: 10 s, 30 s, 10 s.
    assert_eq!(all.detection_s.p50, Some(10.0));
    assert_eq!(all.detection_s.p99, Some(30.0));
    // The only reported street-cleaning incident closed 770 s after its report.
    assert_eq!(all.cleaned_10min_share, Some(0.0));
    // Closed within 30 min of arising: incidents 0 and 1 of 4.
    assert_eq!(all.in_the_bud_share, Some(0.5));
    assert_eq!(m.max_queue, 1);
    assert_eq!(m.queue_wait_s.p50, Some(170.0));
    assert_eq!(m.per_cell.get("c5"), Some(&2));
    assert_eq!(m.per_cell.get("c7"), Some(&2));
    let police = &m.per_agency["police"];
    assert_eq!((police.units, police.dispatches), (1, 2));
    // Busy 110..850 and 1000..3600 (still on scene at the end): 3,340 s of 3,600.
    assert_eq!(police.utilisation, 0.928);
    assert_eq!(police.dispatch_to_arrival_s.p50, Some(60.0));
    assert_eq!(police.response_s.p90, Some(560.0));
    let cleaning = &m.per_agency["cleaning"];
    assert_eq!(cleaning.utilisation, 0.167); // 600 s of 3600 s
    assert_eq!(cleaning.response_s.p90, Some(470.0));
    assert_eq!(cleaning.queue_wait_s.p50, Some(170.0));
    assert_eq!(cleaning.dispatch_to_arrival_s.p50, Some(300.0));
    assert_eq!(
        m.per_type["bin_overflow"].report_to_close_s.p50,
        Some(770.0)
    );
    assert_eq!(m.per_type["litter"].closed, 0);
    let north = &m.per_subdistrict["310110006"];
    assert_eq!((north.incidents, north.closed), (2, 2));
    assert_eq!(north.on_site_3min_share, Some(0.5));
    let south = &m.per_subdistrict["310110018"];
    assert_eq!((south.incidents, south.reported, south.closed), (2, 1, 0));
    assert_eq!(south.on_site_3min_share, Some(0.0));
}

#[test]
fn folding_one_event_at_a_time_gives_the_same_figures_at_every_step() {
    let (_, catalogue) = tiny();
    let log = hand_log();
    let mut fold = MetricsFold::new(&catalogue);
    for (n, e) in log.iter().enumerate() {
        fold.push(e);
        assert_eq!(
            fold.summary(e.t),
            binjiang_sim::metrics_of(&log[..=n], &catalogue, e.t)
        );
    }
}

#[test]
fn a_simulated_day_s_figures_hold_together() {
    let (scene, cat) = yangpu();
    let mut sim =
        binjiang_sim::Simulation::new(&scene, cat, binjiang_sim::SimOptions::default()).unwrap();
    sim.advance_to(86_400.0);
    let m = binjiang_sim::metrics_of(sim.events(), sim.catalogue(), 86_400.0);
    let sum: usize = m.per_subdistrict.values().map(|k| k.incidents).sum();
    assert_eq!(
        sum, m.all.incidents,
        "every incident lies in one subdistrict"
    );
    assert_eq!(m.per_subdistrict.len(), scene.grid.parts.len());
    let types: usize = m.per_type.values().map(|k| k.incidents).sum();
    assert_eq!(types, m.all.incidents);
    assert!(m.all.on_site_3min_share <= m.all.first_on_site_3min_share);
    assert!(m.all.detection_s.p50.is_some());
}

#[test]
fn cancelled_incidents_are_counted_apart_and_a_reopened_one_counts_again() {
    let (_, catalogue) = tiny();
    let mut log = hand_log();
    // Incident 3 (the crowd surge nobody fully reached) was a false alarm.
    log.push(ev(
        1100.0,
        What::Closed {
            incident: 3,
            operator: Some("op-7".into()),
            disposition: None,
            cancelled: Some(binjiang_sim::CancelReason::FalseAlarm),
        },
    ));
    let m = binjiang_sim::metrics_of(&log, &catalogue, 3600.0);
    assert_eq!(m.cancelled, 1);
    assert_eq!(
        (m.all.incidents, m.all.reported, m.all.open_at_end),
        (3, 2, 1)
    );
    assert_eq!(m.per_subdistrict["310110018"].incidents, 1);
    assert_eq!(m.per_type["crowd_surge"].incidents, 0);
    // Reopened: it is work again.
    log.push(ev(
        1200.0,
        What::Reopened {
            incident: 3,
            operator: "op-7".into(),
        },
    ));
    let m = binjiang_sim::metrics_of(&log, &catalogue, 3600.0);
    assert_eq!((m.cancelled, m.all.incidents), (0, 4));
}
