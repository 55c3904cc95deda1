//! Surges change incident rates in a window and an area while the base day stays the same
//! (common random numbers): a factor above 1 only adds incidents, below 1 only removes.

use binjiang_scene::Scene;
use binjiang_sim::{IncidentCatalogue, SimOptions, Simulation, Surge, What, CATALOGUE_FILE};
use std::path::Path;

fn day(surges: Vec<Surge>) -> Vec<(u64, String, i64, i64)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
    let scene = Scene::load(&dir).unwrap();
    let mut catalogue = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene)
        .unwrap()
        .0;
    catalogue.surges = surges;
    let mut sim = Simulation::new(&scene, catalogue, SimOptions::default()).unwrap();
    sim.advance_to(86_400.0);
    let mut out: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Arose { incident_type, .. } => Some((
                (e.t * 1000.0) as u64,
                incident_type.to_string(),
                e.x.round() as i64,
                e.y.round() as i64,
            )),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

#[test]
fn surges_add_or_thin_without_changing_the_base_day() {
    let base = day(vec![]);
    assert!(base.len() > 20, "a day has incidents: {}", base.len());
    let evening = Surge {
        types: vec![],
        factor: 4.0,
        window: Some((18.0 * 3600.0, 23.0 * 3600.0)),
        area: None,
    };
    let more = day(vec![evening]);
    assert!(more.len() > base.len(), "{} vs {}", more.len(), base.len());
    for b in &base {
        assert!(more.binary_search(b).is_ok(), "base incident {b:?} kept");
    }
    for extra in more.iter().filter(|m| base.binary_search(m).is_err()) {
        let tod = extra.0 as f64 / 1000.0;
        assert!(
            (18.0 * 3600.0..23.0 * 3600.0).contains(&tod),
            "{extra:?} outside the window"
        );
    }
    let quiet = day(vec![Surge {
        types: vec![],
        factor: 0.3,
        window: None,
        area: None,
    }]);
    assert!(quiet.len() < base.len());
    for q in &quiet {
        assert!(
            base.binary_search(q).is_ok(),
            "thinning only removes: {q:?}"
        );
    }
}
