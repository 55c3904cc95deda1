//! The staffing search on the tiny scene: the answer meets the target with 95 % confidence,
//! one unit fewer does not, and the curve holds every count it tried.

use binjiang_scene::{Agency, Scene};
use binjiang_sim::{IncidentCatalogue, SimOptions, CATALOGUE_FILE};
use binjiang_whatif::scenario;
use binjiang_whatif::staffing::{search, with_units, StaffingTarget};
use std::path::Path;

fn tiny_baseline() -> binjiang_whatif::Scenario {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
    let scene = Scene::load(&dir).unwrap();
    let catalogue = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene)
        .unwrap()
        .0;
    scenario::load(&scene, &catalogue, "baseline", SimOptions::default()).unwrap()
}

#[test]
fn with_units_sets_the_agencys_count_and_keeps_the_others() {
    let base = tiny_baseline();
    let count =
        |s: &binjiang_whatif::Scenario, a| s.scene.units.iter().filter(|u| u.agency == a).count();
    assert_eq!(count(&base, Agency::Cleaning), 2);
    let five = with_units(&base, Agency::Cleaning, 5);
    assert_eq!(count(&five, Agency::Cleaning), 5);
    assert_eq!(five.scene.units.len(), base.scene.units.len() + 3);
    let one = with_units(&base, Agency::Cleaning, 1);
    assert_eq!(count(&one, Agency::Cleaning), 1);
    assert_eq!(count(&one, Agency::Police), count(&base, Agency::Police));
}

#[test]
fn the_answer_is_the_smallest_count_whose_bound_meets_the_target() {
    let base = tiny_baseline();
    let target: StaffingTarget = "utilisation@agency:cleaning <= 0.05".parse().unwrap();
    let found = search(&base, Agency::Cleaning, &target, 16, 8, 24.0).unwrap();
    let n = found.answer.expect("some count up to 16 meets it");
    let at = |k: usize| found.curve.iter().find(|p| p.units == k);
    assert!(at(n).unwrap().meets, "{found:?}");
    if n > 1 {
        assert!(
            !at(n - 1).expect("the count below was tried").meets,
            "{found:?}"
        );
    }
    assert!(found.curve.windows(2).all(|w| w[0].units < w[1].units));
    assert!(
        found.curve.len() <= 8,
        "a bracketing search, not a scan: {}",
        found.curve.len()
    );
    // An impossible target: none meets it, and the search says so.
    let never: StaffingTarget = "utilisation@agency:cleaning <= -1".parse().unwrap();
    let none = search(&base, Agency::Cleaning, &never, 8, 4, 24.0).unwrap();
    assert_eq!(none.answer, None);
    assert!(search(
        &base,
        Agency::Cleaning,
        &"nonsense >= 1".parse().unwrap(),
        8,
        4,
        24.0
    )
    .is_err());
}
