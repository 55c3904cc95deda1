//! Patrol coverage: hot cells nobody passes count as unvisited once two hours have gone by;
//! a cell a unit stands or walks in does not; the simulated day's patrols leave fewer hot
//! cells unvisited than nobody at all.

mod common;

use binjiang_sim::coverage::{PatrolCoverage, SAMPLE_S};
use binjiang_sim::{SimOptions, Simulation};
use common::*;

#[test]
fn hot_cells_nobody_passes_are_unvisited_after_two_hours() {
    let (scene, cat) = tiny();
    let mut cov = PatrolCoverage::new(&scene, &cat, 0, 0.0);
    let mut t = 0.0;
    while t < 4.0 * 3600.0 {
        t += SAMPLE_S;
        cov.observe(t, std::iter::empty());
    }
    cov.observe(4.0 * 3600.0 + 1.0, std::iter::empty());
    let k = cov.kpi();
    assert!(
        k.hot_cell_hours > 0 && k.hot_cell_hours.is_multiple_of(4),
        "{k:?}"
    );
    // Hours 1 and 2 end within two hours of the start; hours 3 and 4 do not.
    assert_eq!(k.unvisited * 2, k.hot_cell_hours, "{k:?}");
    assert_eq!(k.unvisited_share, Some(0.5));
}

#[test]
fn a_unit_walking_through_visits_every_cell_on_its_way() {
    let (scene, cat) = tiny();
    let mut cov = PatrolCoverage::new(&scene, &cat, 0, 0.0);
    let (a, b) = (
        scene.grid.cells[0].centre(),
        scene.grid.cells.last().unwrap().centre(),
    );
    cov.observe(60.0, [([a.x, a.y], true)].into_iter());
    cov.observe(120.0, [([b.x, b.y], true)].into_iter());
    let since = cov.since_visit(120.0);
    for (c, cell) in scene.grid.cells.iter().enumerate() {
        // Cells whose centre lies on the segment a–b (within a tenth of a cell) were crossed.
        let p = cell.centre();
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let u = ((p.x - a.x) * dx + (p.y - a.y) * dy) / (dx * dx + dy * dy);
        let (qx, qy) = (a.x + u * dx, a.y + u * dy);
        if (0.0..=1.0).contains(&u) && (p.x - qx).hypot(p.y - qy) < scene.grid.cell_size_m * 0.1 {
            assert!(
                since[c] <= 60.0,
                "cell {} on the way: {} s",
                cell.id,
                since[c]
            );
        }
    }
    // An off-duty unit visits nothing.
    let mut off = PatrolCoverage::new(&scene, &cat, 0, 0.0);
    off.observe(7300.0, [([a.x, a.y], false)].into_iter());
    assert_eq!(off.since_visit(7300.0)[0], 7300.0);
}

#[test]
fn the_days_patrols_leave_fewer_hot_cells_unvisited_than_nobody() {
    let (scene, cat) = tiny();
    let mut sim = Simulation::new(&scene, cat.clone(), SimOptions::default()).unwrap();
    let (mut with, mut without) = (
        PatrolCoverage::new(&scene, &cat, 0, 0.0),
        PatrolCoverage::new(&scene, &cat, 0, 0.0),
    );
    let mut t = 0.0;
    while t < 86_400.0 {
        t += SAMPLE_S;
        sim.advance_to(t);
        with.observe(t, sim.positions());
        without.observe(t, std::iter::empty());
    }
    let (a, b) = (with.kpi(), without.kpi());
    assert_eq!(a.hot_cell_hours, b.hot_cell_hours);
    assert!(
        a.unvisited_share.unwrap() < b.unvisited_share.unwrap(),
        "{a:?} vs nobody {b:?}"
    );
}
