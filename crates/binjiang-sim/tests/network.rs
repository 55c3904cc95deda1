//! A scenario's network changes: a closed road is closed only in its window, a slowed mode
//! is slower, and the day before the window is exactly the day without the change.

use binjiang_scene::{Mode, Scene};
use binjiang_sim::{IncidentCatalogue, NetworkChange, SimOptions, Simulation, CATALOGUE_FILE};
use geo::Coord;
use std::path::Path;

fn tiny() -> (Scene, IncidentCatalogue) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
    let scene = Scene::load(&dir).unwrap();
    let catalogue = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene)
        .unwrap()
        .0;
    (scene, catalogue)
}

/// A point on each bank: south and north of the river, near their streets.
fn banks(scene: &Scene) -> (Coord, Coord) {
    let s = scene
        .units
        .iter()
        .find(|u| u.id == "police-south")
        .unwrap()
        .home;
    let n = scene
        .units
        .iter()
        .find(|u| u.id == "police-north")
        .unwrap()
        .home;
    (s, n)
}

#[test]
fn a_road_closed_in_a_window_is_closed_only_then() {
    let (scene, catalogue) = tiny();
    let bridge = scene.roads.iter().position(|r| r.id == "bridge").unwrap() as u32;
    let (s, n) = banks(&scene);
    let options = SimOptions {
        start_s: 8.0 * 3600.0,
        ..SimOptions::default()
    };
    let change = NetworkChange {
        window: Some((10.0 * 3600.0, 14.0 * 3600.0)),
        closed_roads: vec![bridge],
        speed: [1.0; 3],
    };
    let mut sim = Simulation::new(&scene, catalogue.clone(), options.clone())
        .unwrap()
        .with_network_changes(std::slice::from_ref(&change));
    let open = sim.travel_time(Mode::Car, s, n);
    assert!(open.is_some(), "before 10:00 the bridge is open");
    sim.advance_to(11.0 * 3600.0);
    assert_eq!(
        sim.travel_time(Mode::Car, s, n),
        None,
        "nobody swims: the bridge is closed"
    );
    sim.advance_to(15.0 * 3600.0);
    assert_eq!(
        sim.travel_time(Mode::Car, s, n),
        open,
        "open again after 14:00"
    );
    sim.advance_to(35.0 * 3600.0);
    assert_eq!(
        sim.travel_time(Mode::Car, s, n),
        None,
        "closed again the next day at 11:00"
    );

    // Before the window, the day is exactly the day without the change.
    let mut plain = Simulation::new(&scene, catalogue.clone(), options.clone()).unwrap();
    let mut changed = Simulation::new(&scene, catalogue, options)
        .unwrap()
        .with_network_changes(&[change]);
    plain.advance_to(10.0 * 3600.0);
    changed.advance_to(10.0 * 3600.0);
    assert_eq!(plain.events(), changed.events());
}

#[test]
fn a_slowed_mode_takes_longer_and_the_others_do_not() {
    let (scene, catalogue) = tiny();
    let (s, n) = banks(&scene);
    let mut normal = Simulation::new(&scene, catalogue.clone(), SimOptions::default()).unwrap();
    let mut rain = Simulation::new(&scene, catalogue, SimOptions::default())
        .unwrap()
        .with_network_changes(&[NetworkChange {
            window: None,
            closed_roads: vec![],
            speed: [1.0, 1.0, 0.5],
        }]);
    let (car, car_rain) = (
        normal.travel_time(Mode::Car, s, n).unwrap(),
        rain.travel_time(Mode::Car, s, n).unwrap(),
    );
    assert!(
        car_rain > 1.6 * car,
        "cars at half speed: {car} s → {car_rain} s"
    );
    assert_eq!(
        normal.travel_time(Mode::Foot, s, n),
        rain.travel_time(Mode::Foot, s, n)
    );
}

/// Regression: a second change used to be prepared from the network in force when the
/// changes were put in, so a run starting inside one window carried that window's closures
/// into every later change (the bridge stayed shut under a later change that only slows cars).
#[test]
fn each_change_is_made_to_the_scenes_own_network() {
    let (scene, catalogue) = tiny();
    let bridge = scene.roads.iter().position(|r| r.id == "bridge").unwrap() as u32;
    let (s, n) = banks(&scene);
    let options = SimOptions {
        start_s: 9.0 * 3600.0,
        ..SimOptions::default()
    };
    let changes = [
        NetworkChange {
            window: Some((8.0 * 3600.0, 12.0 * 3600.0)),
            closed_roads: vec![bridge],
            speed: [1.0; 3],
        },
        NetworkChange {
            window: Some((14.0 * 3600.0, 18.0 * 3600.0)),
            closed_roads: vec![],
            speed: [1.0, 1.0, 0.5],
        },
    ];
    let mut plain = Simulation::new(&scene, catalogue.clone(), options.clone()).unwrap();
    let open = plain.travel_time(Mode::Car, s, n).unwrap();
    let mut sim = Simulation::new(&scene, catalogue, options)
        .unwrap()
        .with_network_changes(&changes);
    assert_eq!(sim.travel_time(Mode::Car, s, n), None, "09:00: bridge shut");
    sim.advance_to(15.0 * 3600.0);
    let slow = sim
        .travel_time(Mode::Car, s, n)
        .expect("15:00: the bridge is open again, only cars are slower");
    assert!(slow > 1.6 * open, "cars at half speed: {open} s → {slow} s");
}

/// Runs on roads prepared once give exactly the runs that prepare their own, however many
/// runs share them and in whatever order.
#[test]
fn prepared_roads_run_exactly_as_roads_prepared_per_run() {
    let (scene, catalogue) = tiny();
    let bridge = scene.roads.iter().position(|r| r.id == "bridge").unwrap() as u32;
    let changes = [NetworkChange {
        window: Some((10.0 * 3600.0, 14.0 * 3600.0)),
        closed_roads: vec![bridge],
        speed: [1.0, 0.8, 1.0],
    }];
    let prepared = binjiang_sim::PreparedRoads::new(&scene, &changes);
    let run = |seed: u64, shared: bool| {
        let options = SimOptions {
            seed,
            ..SimOptions::default()
        };
        let policy = options.policy.build(catalogue.dispatch.clone());
        let source = binjiang_sim::IncidentSource::Generated;
        let mut sim = if shared {
            Simulation::with_prepared_roads(
                &scene,
                catalogue.clone(),
                options,
                policy,
                source,
                &prepared,
            )
            .unwrap()
        } else {
            Simulation::with_source(&scene, catalogue.clone(), options, policy, source)
                .unwrap()
                .with_network_changes(&changes)
        };
        sim.advance_to(86_400.0);
        sim.events().to_vec()
    };
    for seed in [3, 1, 3, 2] {
        let own = run(seed, false);
        assert!(own.len() > 50, "a day with incidents: {}", own.len());
        assert_eq!(run(seed, true), own, "seed {seed}");
    }
}

/// What `whatif` does for a pair of arms: a run of the plain scenario taken to just before the
/// alternative's first window and continued as the alternative (a typhoon's closures and slow
/// bikes, a surge of water alarms, a thinning of everything in the evening) is, event for
/// event, the alternative's own run, and the plain run goes on unchanged. Once anything of
/// the alternative would have acted, it is refused.
#[test]
fn a_run_diverging_before_the_first_window_is_the_alternatives_own_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenes/yangpu-riverfront");
    let scene = Scene::load(&dir).unwrap();
    let catalogue = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene)
        .unwrap()
        .0;
    let hour = 3600.0;
    let promenade: Vec<u32> = (0..scene.roads.len() as u32)
        .filter(|k| scene.roads[*k as usize].id.starts_with("promenade-"))
        .collect();
    assert!(!promenade.is_empty());
    let changes = [NetworkChange {
        window: Some((14.0 * hour, 22.0 * hour)),
        closed_roads: promenade,
        speed: [1.0, 0.6, 1.0],
    }];
    let surge = |types: Vec<String>, factor: f64, from: f64, to: f64| binjiang_sim::Surge {
        types,
        factor,
        window: Some((from * hour, to * hour)),
        area: None,
    };
    let mut typhoon = catalogue.clone();
    typhoon.surges = vec![
        surge(vec![catalogue.types[0].key.clone()], 10.0, 14.0, 22.0),
        surge(Vec::new(), 0.5, 16.0, 18.0),
    ];
    let plain_roads = binjiang_sim::PreparedRoads::new(&scene, &[]);
    let typhoon_roads = binjiang_sim::PreparedRoads::new(&scene, &changes);
    for seed in [1, 2] {
        let options = SimOptions {
            seed,
            ..SimOptions::default()
        };
        let make = |c: &IncidentCatalogue, roads: &binjiang_sim::PreparedRoads| {
            let policy = options.policy.build(c.dispatch.clone());
            let source = binjiang_sim::IncidentSource::Generated;
            Simulation::with_prepared_roads(
                &scene,
                c.clone(),
                options.clone(),
                policy,
                source,
                roads,
            )
            .unwrap()
        };
        let mut own = make(&typhoon, &typhoon_roads);
        own.advance_to(86_400.0);
        let mut base = make(&catalogue, &plain_roads);
        base.advance_to(13.0 * hour + 58.0 * 60.0);
        let mut forked = base
            .diverge(&typhoon, &options, &typhoon_roads)
            .expect("nothing of the typhoon has acted by 13:58");
        forked.advance_to(86_400.0);
        assert!(own.events().len() > 1000, "{}", own.events().len());
        assert_eq!(forked.events(), own.events(), "seed {seed}");
        // Too late: a surge that reaches into an hour already drawn.
        let mut early = typhoon.clone();
        early.surges.push(surge(Vec::new(), 2.0, 13.5, 15.0));
        assert!(base.diverge(&early, &options, &typhoon_roads).is_none());
        // The plain run itself goes on as ever.
        let mut plain = make(&catalogue, &plain_roads);
        plain.advance_to(86_400.0);
        base.advance_to(86_400.0);
        assert_eq!(base.events(), plain.events(), "seed {seed}");
        // Too late: the window has opened.
        let mut late = make(&catalogue, &plain_roads);
        late.advance_to(14.0 * hour + 60.0);
        assert!(late.diverge(&typhoon, &options, &typhoon_roads).is_none());
    }
}
