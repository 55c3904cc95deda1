//! Property tests against brute force, and fuzzing of every parser of outside input
//! (catalogues, recorded incident lists): no input reaches a panic.

mod common;

use binjiang_scene::Agency;
use binjiang_sim::{EventKind, IncidentCatalogue, Router, SimOptions, Simulation, Source};
use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the units' places and modes, the unit sent is one with the least road time
    /// of all free cleaners (checked one by one, no R-tree, no widening).
    #[test]
    fn dispatch_sends_a_unit_with_the_least_road_time_of_all(
        places in prop::collection::vec((0u8..2, 0.0f64..1000.0, -1.0f64..1.0), 1..16),
        target in (0.0f64..1000.0, prop::bool::ANY),
    ) {
        let (scene, mut sim) = cleaners(&places);
        let p = at(target.0, if target.1 { 290.0 } else { -290.0 });
        let before: Vec<_> = sim.units();
        inject(&mut sim, "bin_overflow", p, Source::Sensor);
        let mut router = Router::of_scene(&scene);
        let times: Vec<(String, f64)> = before
            .iter()
            .filter(|u| u.agency == Agency::Cleaning)
            .filter_map(|u| {
                let t = router.travel_time(u.mode, at(u.position[0], u.position[1]), p)?;
                Some((u.id.clone(), t))
            })
            .collect();
        let sent = events_of(&sim, EventKind::Dispatched);
        match times.iter().map(|t| t.1).reduce(f64::min) {
            None => prop_assert!(sent.is_empty()),
            Some(best) => {
                prop_assert_eq!(sent.len(), 1);
                let unit = sent[0].unit().unwrap();
                let t = times.iter().find(|(id, _)| id == unit).unwrap().1;
                prop_assert!((t - best).abs() < 0.2, "sent {} at {:.1} s, best {:.1} s", unit, t, best);
            }
        }
    }

    /// The unit sent is exactly the least by (road time, place in the scene) of all free
    /// cleaners of either mode, checked one by one: equal times go to the unit listed first,
    /// whatever order the index walks equal distances in.
    #[test]
    fn ties_go_to_the_unit_listed_first(
        places in prop::collection::vec((0u8..2, 0usize..3, prop::bool::ANY), 1..12),
        target in 0usize..3,
    ) {
        let xs = [100.0, 300.0, 500.0];
        let places: Vec<(u8, f64, f64)> = places
            .iter()
            .map(|(m, x, north)| (*m, xs[*x], if *north { 1.0 } else { -1.0 }))
            .collect();
        let (scene, mut sim) = cleaners(&places);
        let p = at(xs[target], 300.0);
        let before: Vec<_> = sim.units();
        inject(&mut sim, "litter", p, Source::Hotline12345);
        let mut router = Router::of_scene(&scene);
        let best = before
            .iter()
            .filter(|u| u.agency == Agency::Cleaning)
            .filter_map(|u| {
                let t = router.travel_time(u.mode, at(u.position[0], u.position[1]), p)?;
                Some((t, u.id.clone()))
            })
            // Cleaners are listed c0, c1, …: the first of equals is the least index.
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let sent = events_of(&sim, EventKind::Dispatched);
        match best {
            None => prop_assert!(sent.is_empty()),
            Some((_, id)) => {
                prop_assert_eq!(sent.len(), 1);
                prop_assert_eq!(sent[0].unit(), Some(id.as_str()));
            }
        }
    }

    /// Catalogue text mangled at random never panics the loader, the checker or a run of
    /// what they accept.
    #[test]
    fn mangled_catalogues_never_panic(cut in 0usize..4000, junk in "[\\x20-\\x7e]{0,12}", seed in 0u64..1000) {
        let text = std::fs::read_to_string(repo().join("tests/scenes/tiny-river/incident_types.ron")).unwrap();
        let cut = cut.min(text.len());
        let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let mangled = format!("{}{}{}", &text[..cut], junk, &text[cut..]);
        let (scene, _) = tiny();
        if let Ok(cat) = IncidentCatalogue::from_ron("fuzz.ron", &mangled) {
            if !cat.check("fuzz.ron", &scene).has_errors() {
                let mut sim = Simulation::new(&scene, cat, SimOptions { seed, ..SimOptions::default() }).unwrap();
                sim.advance_to(4.0 * 3600.0);
            }
        }
    }

    /// Numbers in a catalogue replaced by anything a float can hold never panic either.
    #[test]
    fn catalogue_numbers_out_of_range_are_refused_not_panics(
        v in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(0.0), Just(1e300), -1e6f64..1e6],
        which in 0usize..6,
    ) {
        let (scene, mut cat) = tiny();
        match which {
            0 => cat.types[0].per_day = v,
            1 => cat.types[0].on_scene_min.1 = v,
            2 => cat.report_delay_s.1 = v,
            3 => cat.patrol_discovery_m = v,
            4 => cat.types[1].escalate_after_min = Some(v),
            _ => cat.types[2].origin = binjiang_sim::Origin::NearLandmark(v),
        }
        if !cat.check("t.ron", &scene).has_errors() {
            let mut sim = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
            sim.advance_to(3.0 * 3600.0);
        }
    }

    /// Recorded incident lists of any text never panic the parser; bad rows are named.
    #[test]
    fn recorded_lists_never_panic(body in "[a-z0-9_:,.\\-\\n ]{0,300}") {
        let (scene, cat) = tiny();
        let text = format!("time,type,lon,lat,asset_id\n{body}");
        if let Err(problems) = binjiang_sim::parse_recorded("fuzz.csv", &text, &cat, &scene.frame) {
            prop_assert!(problems.all().iter().all(|p| p.file == "fuzz.csv"));
        }
    }
}

#[test]
fn dispatch_decisions_do_not_depend_on_how_often_the_index_is_refreshed() {
    // The exact search allows for how far units moved since the refresh: a stale index may
    // cost more candidates, never a different choice.
    let day = |refresh: f64| {
        let (scene, cat) = yangpu();
        let mut sim = Simulation::new(
            &scene,
            cat,
            SimOptions {
                index_refresh_s: refresh,
                ..SimOptions::default()
            },
        )
        .unwrap();
        sim.advance_to(86_400.0);
        log_bytes(&sim)
    };
    let fresh = day(1.0);
    assert!(fresh == day(600.0), "a stale index changed a decision");
    assert!(fresh == day(120.0));
}

/// clean-south (home on the south bank) patrols the north promenade; clean-north patrols
/// North Street. Litter on the promenade is found by clean-south.
fn finder_from_the_other_bank(policy_name: &str) -> Vec<String> {
    let (mut scene, mut cat) = tiny();
    for t in &mut cat.types {
        t.per_day = 0.0;
    }
    for u in &mut scene.units {
        match u.id.as_str() {
            "clean-south" => u.patrol = vec![at(300.0, 120.0), at(500.0, 120.0)],
            "clean-north" => u.patrol = vec![at(600.0, 300.0), at(800.0, 300.0)],
            "security-north" => u.patrol = vec![at(600.0, 300.0), at(900.0, 300.0)],
            _ => {}
        }
    }
    let options = SimOptions {
        policy: policy(policy_name),
        ..SimOptions::default()
    };
    let mut sim = Simulation::new(&scene, cat, options).unwrap();
    let id = inject(&mut sim, "litter", at(450.0, 125.0), Source::Patrol);
    sim.advance_to(3600.0);
    let reported = events_of(&sim, EventKind::Reported);
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].unit(), Some("clean-south"), "the finder");
    units_sent_to(&sim, id)
}

#[test]
fn a_finder_takes_the_job_only_where_the_policy_lets_it_serve() {
    assert_eq!(
        finder_from_the_other_bank("merged-grid"),
        vec!["clean-south"]
    );
    assert_eq!(
        finder_from_the_other_bank("separate-grids"),
        vec!["clean-north"],
        "a south-bank cleaner may not serve the north bank before the merge"
    );
}
