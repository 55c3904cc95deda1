//! Scenario files: every bad input is refused with its file, line and the bad key or id; a
//! scenario that adds cleaners improves the cleaning KPIs with an interval that excludes
//! zero; the shipped Yangpu scenarios load.

use binjiang_scene::Scene;
use binjiang_sim::{IncidentCatalogue, SimOptions, CATALOGUE_FILE};
use binjiang_whatif::{compare, scenario};
use std::path::Path;

fn scene(name: &str) -> (Scene, IncidentCatalogue) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    let scene = Scene::load(&dir).unwrap();
    let catalogue = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene)
        .unwrap()
        .0;
    (scene, catalogue)
}

fn tiny() -> (Scene, IncidentCatalogue) {
    scene("tests/scenes/tiny-river")
}

/// The problems of `text` as a tiny-scene scenario, one per line.
fn problems(text: &str) -> String {
    let (scene, catalogue) = tiny();
    match scenario::from_text(
        &scene,
        &catalogue,
        "bad",
        "bad.ron",
        text,
        SimOptions::default(),
    ) {
        Ok(_) => panic!("accepted: {text}"),
        Err(p) => p.to_string(),
    }
}

macro_rules! refused {
    ($($name:ident: $text:expr => [$($want:expr),+];)+) => {$(
        #[test]
        fn $name() {
            let p = problems($text);
            $(assert!(p.contains($want), "expected {:?} in:\n{p}", $want);)+
            assert!(p.starts_with("bad.ron:"), "names the file: {p}");
        }
    )+};
}

refused! {
    syntax_error_names_line_and_column: "(\n  units: (add: [ (agency: \"police\" ]),\n)" => ["bad.ron:2:"];
    unknown_key: "(colour: \"red\")" => ["bad.ron:1:", "colour"];
    unknown_agency: "(units: (add: [(agency: \"firemen\", mode: \"foot\", count: 1, like: \"clean-north\")]))" => ["bad.ron:1:", "unknown agency \"firemen\""];
    unknown_mode: "(units: (add: [(agency: \"police\", mode: \"boat\", count: 1, like: \"police-north\")]))" => ["unknown mode \"boat\""];
    unknown_like_unit: "(units: (add: [(agency: \"police\", mode: \"car\", count: 1, like: \"police-east\")]))" => ["no unit \"police-east\""];
    zero_count: "(units: (add: [(agency: \"police\", mode: \"car\", count: 0, like: \"police-north\")]))" => ["count must be"];
    bad_added_shift: "(units: (add: [(agency: \"police\", mode: \"car\", count: 1, like: \"police-north\", shift: \"25:00-26:00\")]))" => ["shift \"25:00-26:00\""];
    add_along_unknown_road: "(units: (add: [(agency: \"cleaning\", mode: \"foot\", count: 1, patrol_along: [\"canal-7\"], shift: \"08:00-16:00\")]))" => ["patrol_along: no road \"canal-7\""];
    move_up_threshold_out_of_range: "(move_up: below({\"cleaning\": 1.5}))" => ["move_up: threshold 1.5 for cleaning"];
    move_up_unknown_word: "(move_up: sometimes)" => ["bad.ron:1:", "sometimes"];
    move_up_unknown_agency: "(move_up: below({\"firemen\": 0.5}))" => ["bad.ron:1:", "firemen"];
    add_placed_without_shift: "(units: (add: [(agency: \"cleaning\", mode: \"foot\", count: 1, patrol_along: [\"prom\"])]))" => ["need a shift"];
    add_without_a_place: "(units: (add: [(agency: \"cleaning\", mode: \"foot\", count: 1, shift: \"08:00-16:00\")]))" => ["say where"];
    add_like_and_area: "(units: (add: [(agency: \"cleaning\", mode: \"foot\", count: 1, like: \"clean-north\", home_in: Subdistrict(\"999\"))]))" => ["no home_in, home_at, patrol_along or patrol_through with it"];
    add_home_at_off_the_globe: "(units: (add: [(agency: \"cleaning\", mode: \"foot\", count: 1, home_at: (500.0, 31.0), shift: \"08:00-16:00\")]))" => ["home_at: (500, 31) is not a lon, lat"];
    unknown_removed_unit: "(units: (remove: [\"ghost-7\"]))" => ["no unit \"ghost-7\""];
    removing_more_than_there_are: "(units: (remove_count: [(agency: \"cleaning\", count: 9)]))" => ["cannot remove 9"];
    shift_for_unknown_unit: "(units: (shifts: [(unit: \"ghost-7\", shift: \"08:00-16:00\")]))" => ["no unit \"ghost-7\""];
    shift_naming_neither: "(units: (shifts: [(shift: \"08:00-16:00\")]))" => ["either a unit or an agency"];
    surge_unknown_type: "(incidents: (surges: [(types: [\"alien_landing\"], factor: 2.0)]))" => ["unknown incident type \"alien_landing\""];
    surge_bad_factor: "(incidents: (surges: [(types: [], factor: -1.0)]))" => ["factor -1 must be a number > 0"];
    surge_bad_window: "(incidents: (surges: [(factor: 2.0, window: \"evening\")]))" => ["window \"evening\""];
    surge_unknown_landmark: "(incidents: (surges: [(factor: 2.0, area: AroundLandmark(name: \"Eiffel\", radius_m: 100.0))]))" => ["no landmark named like \"Eiffel\""];
    surge_unknown_asset_kind: "(incidents: (surges: [(factor: 2.0, area: AroundAssets(kind: \"volcano\", radius_m: 100.0))]))" => ["unknown asset kind \"volcano\""];
    surge_unknown_subdistrict: "(incidents: (surges: [(factor: 2.0, area: Subdistrict(\"999999999\"))]))" => ["no subdistrict \"999999999\""];
    surge_degenerate_polygon: "(incidents: (surges: [(factor: 2.0, area: Polygon([(121.5, 31.25), (121.51, 31.25)]))]))" => ["at least 3 vertices"];
    extra_type_already_there: "(incidents: (extra_types: [(key: \"fight\", name: \"Fight\", agencies: [police], priority: 1, on_scene_min: (5.0, 10.0, 20.0), origin: AnyCell, source: hotline110, per_day: 1.0, profile: [1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0])]))" => ["type \"fight\" is already in the catalogue"];
    dispatch_unknown_agency: "(dispatch: {\"firemen\": (zone_first_s: 60.0)})" => ["unknown agency \"firemen\""];
    dispatch_negative_seconds: "(dispatch: {\"cleaning\": (zone_first_s: -5.0)})" => ["must be finite"];
    unknown_policy: "(policy: \"anarchy\")" => ["unknown policy \"anarchy\""];
    network_unknown_road: "(network: [(close: [\"motorway-9\"])])" => ["no road \"motorway-9\""];
    network_unknown_road_prefix: "(network: [(close: [\"tunnel-*\"])])" => ["no road \"tunnel-*\""];
    network_unknown_mode: "(network: [(speed: {\"boat\": 0.5})])" => ["unknown mode \"boat\""];
    network_bad_speed: "(network: [(speed: {\"bike\": 0.0})])" => ["must be a number > 0"];
    network_bad_window: "(network: [(window: \"noon\", close: [\"bridge\"])])" => ["window \"noon\""];
    network_overlapping_windows: "(network: [(window: \"10:00-14:00\", close: [\"bridge\"]), (window: \"13:00-15:00\", speed: {\"car\": 0.5})])" => ["overlaps another change"];
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let p = problems("(units: (remove: [\"ghost-1\", \"ghost-2\"]), policy: \"anarchy\")");
    assert!(
        p.contains("ghost-1") && p.contains("ghost-2") && p.contains("anarchy"),
        "{p}"
    );
}

#[test]
fn a_scenario_that_adds_cleaners_improves_cleaning_clearly() {
    let (scene, catalogue) = tiny();
    let base = scenario::load(&scene, &catalogue, "baseline", SimOptions::default()).unwrap();
    let text = "(units: (add: [\
        (agency: \"cleaning\", mode: \"foot\", count: 3, like: \"clean-north\", shift: \"00:00-24:00\"),\
        (agency: \"cleaning\", mode: \"foot\", count: 3, like: \"clean-south\", shift: \"00:00-24:00\")]))";
    let more = scenario::from_text(
        &scene,
        &catalogue,
        "more",
        "more.ron",
        text,
        SimOptions::default(),
    )
    .unwrap();
    assert_eq!(more.scene.units.len(), scene.units.len() + 6);
    let arms = [base, more];
    let runs = compare::run(&arms, 12, 24.0, &|_, _| {}).unwrap();
    assert_eq!(runs.len(), 24);
    let kpis = compare::kpis(&[], 24);
    let diffs = compare::differences(&arms, &runs, &kpis);
    let util = diffs
        .iter()
        .find(|d| d.kpi == "utilisation" && d.scope == "agency:cleaning")
        .unwrap();
    let (_, hi) = util.ci95.unwrap();
    assert!(hi < 0.0, "each cleaner is busier alone: {util:?}");
    assert!(
        util.verdict
            .as_deref()
            .is_some_and(|v| v.ends_with("(better)")),
        "{util:?}"
    );
    let cleaned = diffs
        .iter()
        .find(|d| d.kpi == "cleaned_10min_share" && d.scope == "all")
        .unwrap();
    let (lo, _) = cleaned.ci95.unwrap();
    assert!(
        lo > 0.0,
        "more cleaners clean more litter within 10 minutes: {cleaned:?}"
    );
}

#[test]
fn the_shipped_yangpu_scenarios_load() {
    let (scene, catalogue) = scene("scenes/yangpu-riverfront");
    let names = scenario::list(&scene.dir);
    for want in [
        "baseline",
        "separate-grids",
        "national-day-evening",
        "typhoon",
        "night-shift-cut",
        "litter-campaign",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} is shipped: {names:?}"
        );
        let s = scenario::load(&scene, &catalogue, want, SimOptions::default())
            .unwrap_or_else(|p| panic!("{want}: {p}"));
        assert!(!s.about.is_empty(), "{want} says what it models");
    }
}

#[test]
fn network_changes_close_the_named_roads_in_their_window() {
    let (scene, catalogue) = tiny();
    let text = "(network: [(window: \"14:00-22:00\", close: [\"prom*\", \"bridge\"], speed: {\"bike\": 0.6})])";
    let s = scenario::from_text(
        &scene,
        &catalogue,
        "storm",
        "storm.ron",
        text,
        SimOptions::default(),
    )
    .unwrap();
    assert_eq!(s.network.len(), 1);
    let c = &s.network[0];
    assert_eq!(c.window, Some((14.0 * 3600.0, 22.0 * 3600.0)));
    let names: Vec<&str> = c
        .closed_roads
        .iter()
        .map(|i| scene.roads[*i as usize].id.as_str())
        .collect();
    assert_eq!(names, vec!["bridge", "prom"]);
    assert_eq!(c.speed_of(binjiang_scene::Mode::Bike), 0.6);
    assert_eq!(c.speed_of(binjiang_scene::Mode::Car), 1.0);
}

#[test]
fn a_recorded_day_is_replayed_in_every_seed_and_its_bad_rows_are_named() {
    let (scene, catalogue) = tiny();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("day.csv"),
        "time,type,lon,lat\n08:00:00,fight,121.5078,31.2527\n09:00:00,litter,121.5031,31.2512\n",
    )
    .unwrap();
    let file = dir.path().join("replay.ron");
    let file = file.to_str().unwrap();
    let text = "(incidents: (recorded: \"day.csv\"))";
    let s = scenario::from_text(
        &scene,
        &catalogue,
        "replay",
        file,
        text,
        SimOptions::default(),
    )
    .unwrap();
    assert_eq!(s.recorded.as_ref().map(|r| r.len()), Some(2));
    let runs = compare::run(&[s], 3, 24.0, &|_, _| {}).unwrap();
    for r in &runs {
        assert_eq!(
            r.metrics.all.incidents, 2,
            "seed {}: the recorded day only",
            r.seed
        );
    }
    std::fs::write(
        dir.path().join("bad.csv"),
        "time,type,lon,lat\n08:00:00,meteor,121.5,31.25\n",
    )
    .unwrap();
    let text = "(incidents: (recorded: \"bad.csv\", surges: [(factor: 2.0)]))";
    let p = match scenario::from_text(&scene, &catalogue, "bad", file, text, SimOptions::default())
    {
        Ok(_) => panic!("a bad recorded day is refused"),
        Err(p) => p.to_string(),
    };
    assert!(p.contains("bad.csv:2") && p.contains("meteor"), "{p}");
    assert!(p.contains("surges cannot apply"), "{p}");
}

#[test]
fn units_can_be_placed_along_named_roads_and_in_an_area() {
    let (scene, catalogue) = tiny();
    let code = scene.grid.parts[0].code.clone();
    let text = format!(
        "(units: (add: [\
            (agency: \"cleaning\", mode: \"foot\", count: 2, patrol_along: [\"prom\"], shift: \"08:00-20:00\"),\
            (agency: \"security\", mode: \"foot\", count: 1, home_in: Subdistrict(\"{code}\"), patrol_along: [\"north-st\"], shift: \"00:00-24:00\")]))"
    );
    let s = scenario::from_text(
        &scene,
        &catalogue,
        "placed",
        "placed.ron",
        &text,
        SimOptions::default(),
    )
    .unwrap();
    assert_eq!(s.scene.units.len(), scene.units.len() + 3);
    let prom = scene.roads.iter().find(|r| r.id == "prom").unwrap();
    let added = &s.scene.units[scene.units.len()];
    assert_eq!(
        added.patrol,
        vec![prom.line.0[0], *prom.line.0.last().unwrap()]
    );
    assert_eq!(added.home, prom.line.0[0], "home: the start of the loop");
    // They run: homes and loops are on the network.
    let runs = compare::run(&[s], 2, 24.0, &|_, _| {}).unwrap();
    assert_eq!(runs.len(), 2);
}

/// Regression (issue 17.12): `remove_count` with an `add` of the same agency used to remove
/// the units just added, so "replace the cleaners" changed nothing. It removes the scene's.
#[test]
fn remove_count_replaces_the_scenes_units_not_the_ones_added() {
    let (scene, catalogue) = tiny();
    let cleaners: Vec<String> = scene
        .units
        .iter()
        .filter(|u| u.agency == binjiang_scene::Agency::Cleaning)
        .map(|u| u.id.clone())
        .collect();
    assert_eq!(cleaners.len(), 2);
    let text = "(units: (remove_count: [(agency: \"cleaning\", count: 2)], add: [\
        (agency: \"cleaning\", mode: \"foot\", count: 2, patrol_along: [\"prom\"], shift: \"08:00-20:00\")]))";
    let s = scenario::from_text(
        &scene,
        &catalogue,
        "replace",
        "replace.ron",
        text,
        SimOptions::default(),
    )
    .unwrap();
    let now: Vec<&binjiang_scene::Unit> = s
        .scene
        .units
        .iter()
        .filter(|u| u.agency == binjiang_scene::Agency::Cleaning)
        .collect();
    assert_eq!(now.len(), 2, "as many cleaners as before");
    assert!(
        now.iter().all(|u| !cleaners.contains(&u.id)),
        "the scene's cleaners are gone, the added ones stay: {:?}",
        now.iter().map(|u| &u.id).collect::<Vec<_>>()
    );
    // And it changes the day: the replacement cleaners stand elsewhere.
    let base = scenario::from_text(
        &scene,
        &catalogue,
        "base",
        "base.ron",
        "()",
        SimOptions::default(),
    )
    .unwrap();
    let runs = compare::run(&[base, s], 3, 24.0, &|_, _| {}).unwrap();
    let arm = |a: usize| {
        runs.iter()
            .filter(|r| r.arm == a)
            .map(|r| serde_json::to_string(&r.metrics).unwrap())
            .collect::<Vec<_>>()
    };
    assert_ne!(
        arm(0),
        arm(1),
        "the replaced deployment gives different days"
    );
}

/// `catalogue: "<file>"` runs another catalogue (a learned one) under the scenario's other
/// changes; a file that is not a usable catalogue is refused naming both files.
#[test]
fn a_scenario_may_run_another_catalogue() {
    let (scene, catalogue) = scene("scenes/yangpu-riverfront");
    let s = scenario::from_text(
        &scene,
        &catalogue,
        "truth",
        "truth.ron",
        "(about: \"the demonstration's truth, tighter cleaning rule\", catalogue: \"../../data/yangpu-history/truth.ron\", dispatch: {\"cleaning\": (zone_first_s: Some(240.0), max_travel_s: None)})",
        SimOptions::default(),
    )
    .unwrap();
    let bins = &s.catalogue.types[s.catalogue.index_of("bin_overflow").unwrap()];
    assert_eq!(bins.per_day, 85.0);
    assert!(bins.week_profile.is_some());
    assert_eq!(
        s.catalogue.dispatch.0[&binjiang_scene::Agency::Cleaning].zone_first_s,
        Some(240.0),
        "the scenario's own changes apply on top"
    );
    let e = scenario::from_text(
        &scene,
        &catalogue,
        "bad",
        "bad.ron",
        "(catalogue: \"scene.ron\")",
        SimOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("bad.ron") && e.contains("catalogue") && e.contains("scene.ron"),
        "{e}"
    );
}

/// `move_up: auto` sets the simulation's own move-ups in every seed's run: the runs differ
/// from the base only by them.
#[test]
fn a_move_up_scenario_runs_with_the_monitor() {
    let (scene, catalogue) = scene("scenes/yangpu-riverfront");
    let s = scenario::from_text(
        &scene,
        &catalogue,
        "moves",
        "moves.ron",
        "(move_up: auto)",
        SimOptions::default(),
    )
    .unwrap();
    let monitor = s.move_up.as_ref().expect("a monitor");
    assert_eq!(monitor.thresholds().count(), 6);
    let off = scenario::from_text(
        &scene,
        &catalogue,
        "off",
        "off.ron",
        "(move_up: off)",
        SimOptions::default(),
    )
    .unwrap();
    assert!(off.move_up.is_none());
    let base = compare::run_one(&off, 0, 3, 24.0).unwrap();
    let moved = compare::run_one(&s, 1, 3, 24.0).unwrap();
    assert_eq!(base.incidents.len(), moved.incidents.len(), "the same day");
    assert!(
        moved.patrol.unvisited_share < base.patrol.unvisited_share,
        "covers walk empty loops: {:?} vs {:?}",
        moved.patrol,
        base.patrol
    );
}
