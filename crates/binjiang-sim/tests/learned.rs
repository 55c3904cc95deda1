//! A learned catalogue drives the simulation: an hour-of-week profile follows the run's
//! weekday, a `Cells` origin places incidents in its cells by weight, and fitted durations
//! replace the triangular guesses; a bad learned field is refused naming the type.

mod common;

use binjiang_sim::catalogue::{Fitted, Origin};
use binjiang_sim::{SimOptions, Simulation, What};
use common::*;
use std::collections::BTreeMap;

/// The cells of the incidents arisen in a day of the tiny scene with only its first type,
/// edited, on `weekday` (0 = Monday).
fn day(weekday: u8, edit: impl Fn(&mut binjiang_sim::IncidentType)) -> Vec<String> {
    let (scene, mut cat) = tiny();
    for t in &mut cat.types {
        t.per_day = 0.0;
    }
    edit(&mut cat.types[0]);
    let mut sim = Simulation::new(
        &scene,
        cat,
        SimOptions {
            weekday,
            ..SimOptions::default()
        },
    )
    .unwrap();
    sim.advance_to(86_400.0);
    sim.events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Arose { cell, .. } => {
                Some(cell.as_ref().map(|c| c.to_string()).unwrap_or_default())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_week_profile_follows_the_runs_weekday() {
    // Saturdays only (hours 120..144 of the week).
    let saturday = |t: &mut binjiang_sim::IncidentType| {
        t.per_day = 10.0;
        t.week_profile = Some(
            (0..168)
                .map(|h| if (120..144).contains(&h) { 1.0 } else { 0.0 })
                .collect(),
        );
    };
    let sat = day(5, saturday);
    let mon = day(0, saturday);
    // 10 a day on average over the week: 70 on the one Saturday.
    assert!((45..100).contains(&sat.len()), "Saturday: {}", sat.len());
    assert!(mon.is_empty(), "Monday: {}", mon.len());
}

#[test]
fn cells_place_incidents_by_weight() {
    let (scene, _) = tiny();
    let (a, b) = (
        scene.grid.cells[3].id.clone(),
        scene.grid.cells[10].id.clone(),
    );
    let cells = day(0, |t| {
        t.per_day = 200.0;
        t.origin = Origin::Cells(BTreeMap::from([(a.clone(), 3.0), (b.clone(), 1.0)]));
        t.on_scene_fit_min = Some(Fitted::LogNormal {
            median: 4.0,
            sigma: 0.3,
        });
    });
    let in_a = cells.iter().filter(|c| **c == a).count();
    let in_b = cells.iter().filter(|c| **c == b).count();
    assert_eq!(in_a + in_b, cells.len(), "only the two cells");
    let share = in_a as f64 / cells.len() as f64;
    assert!(
        (0.65..0.85).contains(&share),
        "3:1 weights, {share} in the first"
    );
}

#[test]
fn bad_learned_fields_are_refused_by_type() {
    let (scene, mut cat) = tiny();
    let key = cat.types[0].key.clone();
    cat.types[0].week_profile = Some(vec![1.0; 24]);
    cat.types[0].origin = Origin::Cells(BTreeMap::from([("c999-r999".to_owned(), 1.0)]));
    cat.types[0].report_delay_fit_s = Some(Fitted::Gamma {
        shape: -1.0,
        mean: 5.0,
    });
    let p = cat.check("learned.ron", &scene).to_string();
    assert!(p.contains(&key), "{p}");
    assert!(p.contains("week_profile must be 168"), "{p}");
    assert!(p.contains("\"c999-r999\" is not a cell"), "{p}");
    assert!(p.contains("report_delay_fit_s"), "{p}");
}
