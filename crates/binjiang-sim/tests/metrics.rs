//! Metrics against a log small enough to compute by hand.

mod common;

use binjiang_scene::Agency;
use binjiang_sim::{Event, EventKind, Metrics, Source};
use common::*;

fn ev(t: f64, kind: EventKind) -> Event {
    Event::at(t, kind, at(0.0, 0.0))
}

/// Police unit 0 and cleaning unit 1 on duty for the hour 0..3600.
/// Incident 0 (fight): reported 110, police sent 110, on site 250, done 850.
/// Incident 1 (bin overflow): reported 230, queued, cleaner sent 400, on site 700, done 1000.
/// Incident 2 (litter): arose 300, never found.
fn hand_log() -> Vec<Event> {
    let (police, cleaning) = (Agency::Police, Agency::Cleaning);
    let mut arose0 = ev(100.0, EventKind::Arose).incident(0);
    arose0.incident_type = Some(0);
    arose0.cell = Some(5);
    let mut arose1 = ev(200.0, EventKind::Arose).incident(1);
    arose1.incident_type = Some(3);
    arose1.cell = Some(5);
    let mut arose2 = ev(300.0, EventKind::Arose).incident(2);
    arose2.incident_type = Some(4);
    arose2.cell = Some(7);
    let mut reported0 = ev(110.0, EventKind::Reported).incident(0);
    reported0.source = Some(Source::Hotline110);
    vec![
        ev(0.0, EventKind::ShiftStarted).unit(0, police),
        ev(0.0, EventKind::ShiftStarted).unit(1, cleaning),
        arose0,
        reported0,
        ev(110.0, EventKind::Dispatched).incident(0).unit(0, police),
        arose1,
        ev(230.0, EventKind::Reported).incident(1),
        ev(230.0, EventKind::Queued).incident(1).agency(cleaning),
        ev(250.0, EventKind::Arrived).incident(0).unit(0, police),
        arose2,
        ev(400.0, EventKind::Dispatched)
            .incident(1)
            .unit(1, cleaning),
        ev(700.0, EventKind::Arrived).incident(1).unit(1, cleaning),
        ev(850.0, EventKind::Finished).incident(0).unit(0, police),
        ev(850.0, EventKind::Closed).incident(0),
        ev(1000.0, EventKind::Finished)
            .incident(1)
            .unit(1, cleaning),
        ev(1000.0, EventKind::Closed).incident(1),
    ]
}

#[test]
fn metrics_match_the_hand_computed_log() {
    let (_, catalogue) = tiny();
    let m = Metrics::from_events(&hand_log(), &catalogue, 3600.0);
    assert_eq!(
        (m.incidents, m.reported, m.closed, m.open_at_end),
        (3, 2, 2, 1)
    );
    // Report → first arrival: 140 s and 470 s.
    assert_eq!(
        (m.response_p50_s, m.response_p90_s, m.response_p99_s),
        (Some(140.0), Some(470.0), Some(470.0))
    );
    assert_eq!(m.on_site_3min_share, Some(0.5));
    // The only reported street-cleaning incident closed 770 s after its report.
    assert_eq!(m.cleaned_10min_share, Some(0.0));
    // Closed within 30 min of arising: incidents 0 and 1 of 3.
    assert_eq!(m.in_the_bud_share, Some(0.667));
    assert_eq!(m.max_queue, 1);
    assert_eq!(m.per_cell.get(&5), Some(&2));
    assert_eq!(m.per_cell.get(&7), Some(&1));
    let police = &m.per_agency["police"];
    assert_eq!((police.units, police.dispatches), (1, 1));
    assert_eq!(police.utilisation, 0.206); // 740 s busy of 3600 s on duty
    assert_eq!(police.dispatch_to_arrival_s.p50, Some(140.0));
    let cleaning = &m.per_agency["cleaning"];
    assert_eq!(cleaning.utilisation, 0.167); // 600 s of 3600 s
    assert_eq!(cleaning.response_p90_s, Some(470.0));
    assert_eq!(cleaning.dispatch_to_arrival_s.p50, Some(300.0));
    assert_eq!(
        m.per_type["bin_overflow"].report_to_close_s.p50,
        Some(770.0)
    );
    assert_eq!(m.per_type["litter"].closed, 0);
}
