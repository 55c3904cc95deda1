//! `binjiang learn` on a history the simulator wrote with known rates (the tiny scene's
//! catalogue, six weeks): the rates and on-scene times come back, bad rows are named, and the
//! model is scored on the held-out weeks against the last four weeks.

mod common;

use binjiang_scene::Scene;
use binjiang_sim::IncidentCatalogue;
use common::*;
use common::{token, Server};
use serde_json::Value;
use std::collections::BTreeMap;

/// Six weeks of the tiny scene as a control room would export them, from Monday 2026-11-02
/// (`simulate --history-out`), and one bad row; the history's rows.
fn history_csv(dir: &std::path::Path) -> (String, usize) {
    let path = dir.join("simulated.csv");
    let o = binjiang(&[
        "simulate",
        "tests/scenes/tiny-river",
        "--hours",
        "1008",
        "--seed",
        "3",
        "--date",
        "2026-11-02",
        "--history-out",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut csv = std::fs::read_to_string(&path).unwrap();
    let n = csv.lines().count() - 1;
    csv.push_str("not a time,litter,121.5,31.25,,,,,T-bad\n");
    (csv, n)
}

#[test]
fn learn_recovers_the_rates_the_history_was_made_with() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, n) = history_csv(dir.path());
    let history = dir.path().join("history.csv");
    std::fs::write(&history, csv).unwrap();
    let out = dir.path().join("model");
    let o = binjiang(&[
        "learn",
        "tests/scenes/tiny-river",
        "--history",
        history.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("history.csv:"),
        "the bad row is named: {}",
        text(&o.stderr)
    );
    let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    println!("{}", serde_json::to_string(&v["holdout"]).unwrap());
    for (ty, t) in v["types"].as_object().unwrap() {
        println!(
            "{ty}: {} events, {} per day, on scene {}",
            t["events"], t["per_day"], t["on_scene_s"]["median"]
        );
    }
    assert_eq!(v["malformed"], 1);
    assert_eq!(v["rows"].as_u64().unwrap() as usize, n + 1);
    assert_eq!(v["weeks"], 6);
    // The catalogue's rates are the truth the history was made with.
    let truth: BTreeMap<&str, f64> = [
        ("fight", 3.0),
        ("parking", 4.0),
        ("crowd_surge", 2.0),
        ("bin_overflow", 8.0),
        ("litter", 6.0),
        ("vending", 3.0),
        ("manhole_displaced", 1.0),
    ]
    .into_iter()
    .collect();
    let types = v["types"].as_object().unwrap();
    let total: f64 = types.values().filter_map(|t| t["per_day"].as_f64()).sum();
    let want: f64 = truth.values().sum();
    let outside = v["outside_grid"].as_f64().unwrap() / 42.0;
    assert!(
        (total + outside - want).abs() < 0.1 * want,
        "per day {total} (+{outside} outside the grid) vs {want}"
    );
    for (ty, t) in types {
        if t["events"].as_u64().unwrap() >= 200 {
            let got = t["per_day"].as_f64().unwrap();
            assert!(
                (got - truth[ty.as_str()]).abs() < 0.25 * truth[ty.as_str()],
                "{ty}: {got}"
            );
        }
        assert_eq!(t["hour_of_week"].as_array().unwrap().len(), 168, "{ty}");
        assert!(t["ks_rescaled_p"].is_number(), "{ty}: {t}");
    }
    // Bins: on scene 3–8 minutes in the catalogue.
    let bins = &types["bin_overflow"]["on_scene_s"];
    let median = bins["median"].as_f64().unwrap();
    assert!((180.0..=480.0).contains(&median), "{bins}");
    assert!(
        v["holdout"]["log_score"]["model"].is_number(),
        "{}",
        v["holdout"]
    );
    assert!(
        v["holdout"]["log_score"]["last4weeks"].is_number(),
        "{}",
        v["holdout"]
    );
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["version"], 1);
    assert_eq!(model["summary"], v);
    // Too short a history is refused, saying why.
    let short = dir.path().join("short.csv");
    std::fs::write(
        &short,
        "time,type,lon,lat\n2026-11-02T08:00:00+08:00,litter,121.5052,31.2473\n",
    )
    .unwrap();
    let o = binjiang(&[
        "learn",
        "tests/scenes/tiny-river",
        "--history",
        short.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("week"), "{}", text(&o.stderr));
}

/// `--from-db`: the live twin's own incidents, from a database that `binjiang replay` filled
/// through a real `binjiang serve` (15 days at 100,000×).
#[test]
fn learn_from_a_live_twins_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let gateway = token(&db, "gateway");
    let server = Server::start_with(
        &db,
        &["--clock", "replay", "--speed", "100000", "--at", "00:00"],
    );
    let out = binjiang(&[
        "replay",
        "tests/scenes/tiny-river",
        "--to",
        &server.base,
        "--token",
        &gateway,
        "--speed",
        "100000",
        "--hours",
        "360",
        "--fix-every",
        "86400",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.kill();
    let model = dir.path().join("model");
    let o = binjiang(&[
        "learn",
        "tests/scenes/tiny-river",
        "--from-db",
        db.to_str().unwrap(),
        "--holdout-weeks",
        "0",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert!(v["used"].as_u64().unwrap() >= 200, "{v}");
    assert_eq!(
        v["used"], v["rows"],
        "the twin's incidents are all on its grid"
    );
    let types = v["types"].as_object().unwrap();
    assert!(types.len() >= 5, "{v}");
    for (ty, t) in types {
        if t["events"].as_u64().unwrap() >= 50 {
            assert!(t["per_day"].as_f64().unwrap() > 0.0, "{ty}: {t}");
        }
    }
    // Not a live database: exit 1, saying so.
    let other = dir.path().join("other.db");
    rusqlite_free_db(&other);
    let o = binjiang(&[
        "learn",
        "tests/scenes/tiny-river",
        "--from-db",
        other.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("not a live twin's database"),
        "{}",
        text(&o.stderr)
    );
}

/// A database with the twin's tables but never served (no day origin).
fn rusqlite_free_db(path: &std::path::Path) {
    // `token add` creates the schema without serving.
    binjiang(&[
        "token",
        "add",
        "--db",
        path.to_str().unwrap(),
        "--role",
        "admin",
        "--name",
        "x",
    ]);
}

/// Learns the Yangpu demonstration history (data/yangpu-history: eight weeks simulated from
/// truth.ron, a known catalogue that differs from the scene's) into `out`; its summary.
fn learn_demo(out: &std::path::Path) -> Value {
    let o = binjiang(&[
        "learn",
        "scenes/yangpu-riverfront",
        "--history",
        "data/yangpu-history/incidents.csv",
        "--counts",
        "data/yangpu-history/counts.csv",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    serde_json::from_str(&text(&o.stdout)).unwrap()
}

/// The learner recovers the demonstration's truth: the rates the scene's catalogue has wrong,
/// the weekend afternoons, a hot cell of its own, the on-scene times; and beats both
/// baselines on held-out log score over all types.
#[test]
fn the_yangpu_demonstration_truth_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let v = learn_demo(&out);
    let scene_dir = repo().join("scenes/yangpu-riverfront");
    let scene = Scene::load(&scene_dir).unwrap();
    let (truth, _) =
        IncidentCatalogue::load(&repo().join("data/yangpu-history/truth.ron"), &scene).unwrap();
    let types = v["types"].as_object().unwrap();
    let share_outside = v["outside_grid"].as_f64().unwrap() / v["rows"].as_f64().unwrap();
    assert!(share_outside < 0.01, "{v}");
    for t in &truth.types {
        let got = types[&t.key]["per_day"].as_f64().unwrap();
        // Poisson noise over 56 days: 3 standard errors, and 5 % for what falls off the grid.
        let tolerance = 3.0 * (t.per_day / 56.0).sqrt() + 0.05 * t.per_day;
        assert!(
            (got - t.per_day).abs() < tolerance,
            "{}: learned {got}/day, truth {}",
            t.key,
            t.per_day
        );
    }
    // Weekend afternoons: ×1.6 for bins in the truth (10:00–22:00 Saturday and Sunday).
    let week: Vec<f64> = types["bin_overflow"]["hour_of_week"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let block = |days: std::ops::Range<usize>| -> f64 {
        days.flat_map(|d| (10..22).map(move |h| d * 24 + h))
            .map(|h| week[h])
            .sum::<f64>()
    };
    let ratio = (block(5..7) / 2.0) / (block(0..5) / 5.0);
    assert!((1.4..1.8).contains(&ratio), "weekend/weekday {ratio}");
    // The hot cell holds 20 % of the complaints, on its own among flat neighbours.
    let share = |ty: &str, cell: &str| {
        types[ty]["density"]["share"][cell]
            .as_f64()
            .unwrap_or_default()
    };
    let hot = share("hotline_complaint", "c27-r9");
    assert!((0.15..0.25).contains(&hot), "c27-r9: {hot}");
    assert!(share("hotline_complaint", "c27-r10") < 0.05);
    assert!((0.15..0.25).contains(&share("uncivil_behaviour", "c15-r2")));
    // Bins on scene: lognormal, median 6 minutes.
    let bins = &types["bin_overflow"]["on_scene_s"];
    assert_eq!(bins["dist"], "lognormal", "{bins}");
    let median = bins["median"].as_f64().unwrap() / 60.0;
    assert!((median - 6.0).abs() < 0.3, "{bins}");
    let litter = &types["litter"]["on_scene_s"];
    assert_eq!(litter["dist"], "gamma", "{litter}");
    // Held out: the model beats both baselines on log score over all types.
    let score = &v["holdout"]["log_score"];
    let model = score["model"].as_f64().unwrap();
    assert!(
        model > score["last4weeks"].as_f64().unwrap()
            && model > score["catalogue"].as_f64().unwrap(),
        "{score}"
    );
    assert!(v["holdout"]["pai_5pct"]["model"].as_f64().unwrap() > 1.0);
    // model.json is a golden file (the wall's tests read it): any change is reviewed.
    let golden = repo().join("tests/golden/yangpu-learned/model.json");
    let written = std::fs::read_to_string(out.join("model.json")).unwrap();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &written).unwrap();
    }
    assert!(
        std::fs::read_to_string(&golden).expect("golden file missing: run with UPDATE_GOLDEN=1")
            == written,
        "model.json changed; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    );
    // The learned catalogue is a catalogue the simulation runs, on any weekday.
    let catalogue = out.join("catalogue.ron");
    let (learned, warnings) = IncidentCatalogue::load(&catalogue, &scene).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let bins = &learned.types[learned.index_of("bin_overflow").unwrap()];
    assert!(bins.week_profile.as_ref().is_some_and(|w| w.len() == 168));
    assert!(bins.on_scene_fit_min.is_some());
    for date in ["2026-12-05", "2026-12-07"] {
        let o = binjiang(&[
            "simulate",
            "scenes/yangpu-riverfront",
            "--catalogue",
            catalogue.to_str().unwrap(),
            "--date",
            date,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    // Saturday has more incidents than Monday under the learned weekly rhythm.
    let day = |weekday: u8| -> f64 {
        (0..24)
            .map(|h| {
                (0..learned.types.len())
                    .map(|ti| learned.hourly_rate(ti, weekday, h))
                    .sum::<f64>()
            })
            .sum()
    };
    assert!(
        day(5) > 1.1 * day(0),
        "Saturday {} Monday {}",
        day(5),
        day(0)
    );
}

/// `binjiang forecast`: every cell in the grid's order, the model's rates × shares summed over
/// the window, as JSON and as GeoJSON polygons; bad input exits 1 naming what is wrong.
#[test]
fn forecast_gives_every_cell_its_expected_count() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let v = learn_demo(&out);
    let geo = dir.path().join("f.geojson");
    let o = binjiang(&[
        "forecast",
        "scenes/yangpu-riverfront",
        "--model",
        out.to_str().unwrap(),
        "--from",
        "2026-12-05T18:00",
        "--hours",
        "3",
        "--json",
        "--geojson",
        geo.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let f: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(f["from"], "2026-12-05T18:00:00+08:00");
    let scene = Scene::load(&repo().join("scenes/yangpu-riverfront")).unwrap();
    let cells = f["cells"].as_array().unwrap();
    assert_eq!(cells.len(), scene.grid.cells.len());
    for (c, cell) in cells.iter().zip(&scene.grid.cells) {
        assert_eq!(c["cell"], cell.id.as_str());
        assert_eq!(c["by_hour"].as_array().unwrap().len(), 3);
        let e = c["expected"].as_f64().unwrap();
        assert!(c["lo90"].as_f64().unwrap() <= e && e <= c["hi90"].as_f64().unwrap() + 1.0);
    }
    // Saturday 18:00–21:00 is hours 5·24+18 … +20 of the week: the types' rates summed.
    let want: f64 = v["types"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| {
            (138..141)
                .map(|h| t["hour_of_week"][h].as_f64().unwrap_or(0.0))
                .sum::<f64>()
        })
        .sum();
    let got: f64 = cells.iter().map(|c| c["expected"].as_f64().unwrap()).sum();
    assert!(
        (got - want).abs() < 0.02 * want,
        "forecast {got}, rates {want}"
    );
    let g: Value = serde_json::from_str(&std::fs::read_to_string(&geo).unwrap()).unwrap();
    let features = g["features"].as_array().unwrap();
    assert_eq!(features.len(), cells.len());
    assert_eq!(features[0]["geometry"]["type"], "Polygon");
    assert_eq!(features[0]["properties"]["expected"], cells[0]["expected"]);
    // Bad input: a time that is not one; a model from another scene's grid.
    let o = binjiang(&[
        "forecast",
        "scenes/yangpu-riverfront",
        "--model",
        out.to_str().unwrap(),
        "--from",
        "teatime",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("teatime"), "{}", text(&o.stderr));
    let o = binjiang(&[
        "forecast",
        "tests/scenes/tiny-river",
        "--model",
        out.to_str().unwrap(),
        "--from",
        "2026-12-05T18:00",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("model.json") && text(&o.stderr).contains("learn again"),
        "{}",
        text(&o.stderr)
    );
}

/// Headless Chromium with networking off renders the learn report: its plots (the model's
/// blue and the baselines' colours) and tables.
#[test]
fn chromium_renders_the_learn_report_offline() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    learn_demo(&out);
    let page = out.join("report/index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for part in [
        "Held-out scores",
        "Hour of the week",
        "QQ against",
        "hit rate",
        "Fitted density",
    ] {
        assert!(html.contains(part), "the report has {part}");
    }
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing fetched"
    );
    let img = chromium_screenshot(&page, dir.path(), (1280, 3000));
    let count = |rgb: [u8; 3]| {
        img.pixels()
            .filter(|p| (0..3).all(|i| (p[i] as i32 - rgb[i] as i32).abs() <= 12))
            .count()
    };
    let (model, last4) = (count([0, 114, 178]), count([213, 94, 0]));
    assert!(
        model > 300 && last4 > 100,
        "plot lines: {model} model, {last4} last-4-weeks pixels"
    );
    let dark = img
        .pixels()
        .filter(|p| p[0] < 80 && p[1] < 80 && p[2] < 80)
        .count();
    assert!(dark > 5_000, "the tables and headings: {dark} dark pixels");
}

/// The live twin with what was learned: `serve --catalogue` runs the learned catalogue,
/// `serve --model` answers `GET /api/v1/forecast` and compares people counters with their
/// tides — a count above the site's 99th percentile for the hour raises a crowd surge, one
/// below does not; a site without a tide falls back to the fixed threshold, said at start.
#[test]
fn the_live_twin_forecasts_and_watches_crowds_against_their_tide() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let v = learn_demo(&out);
    assert_eq!(v["crowd"].as_object().unwrap().len(), 5, "{}", v["crowd"]);
    // counter-005 forgets its tide: the fallback is said at start.
    let path = out.join("model.json");
    let mut model: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    model["crowd"]["sites"]
        .as_object_mut()
        .unwrap()
        .remove("counter-005");
    std::fs::write(&path, model.to_string()).unwrap();
    let db = dir.path().join("live.db");
    let (gateway, reader) = (token(&db, "gateway"), token(&db, "display"));
    let catalogue = out.join("catalogue.ron");
    let server = Server::start_scene(
        "scenes/yangpu-riverfront",
        &db,
        &[
            "--model",
            out.to_str().unwrap(),
            "--catalogue",
            catalogue.to_str().unwrap(),
            "--clock",
            "replay",
            "--speed",
            "1",
            "--at",
            "15:10",
        ],
    );
    let said = server.startup.join("\n");
    assert!(
        said.contains("4 site(s) raise crowd_surge above their learned 99th percentile")
            && said.contains("no learned tide for counter-005"),
        "{said}"
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = |path: &str| -> (u16, Value) {
        let mut r = agent
            .get(format!("{}{path}", server.base))
            .header("Authorization", &format!("Bearer {reader}"))
            .call()
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_json().unwrap_or(Value::Null),
        )
    };
    let (status, f) = get("/api/v1/forecast?hours=3");
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["hours"], 3);
    assert_eq!(f["cells"].as_array().unwrap().len(), 380);
    let (status, e) = get("/api/v1/forecast?hours=0");
    assert_eq!(status, 400, "{e}");
    assert!(e.to_string().contains("hours"), "{e}");
    // The hour of the week the twin's clock is in, and counter-003's percentiles then.
    let (_, clock) = get("/api/v1/clock");
    let now = chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap()).unwrap();
    let start =
        chrono::DateTime::parse_from_rfc3339(model["crowd"]["week_start"].as_str().unwrap())
            .unwrap();
    let how = ((now - start).num_hours().rem_euclid(168)) as usize;
    let tide = &model["crowd"]["sites"]["counter-003"];
    let (p95, p99) = (
        tide["p95"][how].as_f64().unwrap(),
        tide["p99"][how].as_f64().unwrap(),
    );
    let (_, ds) = get("/v1.1/Datastreams?$top=10000");
    let id = |asset: &str| {
        ds["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["properties"]["asset_id"] == asset)
            .map(|d| d["@iot.id"].as_u64().unwrap())
            .unwrap()
    };
    let post = |ds: u64, value: f64| {
        let r = agent
            .post(format!(
                "{}/v1.1/Datastreams({ds})/Observations",
                server.base
            ))
            .header("Authorization", &format!("Bearer {gateway}"))
            .send_json(serde_json::json!({"result": value}))
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    };
    let surges = || -> Vec<String> {
        let (_, list) = get("/api/v1/incidents");
        list.as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "crowd_surge")
            .filter_map(|i| i["external_id"].as_str().map(str::to_owned))
            .collect()
    };
    // A busy but ordinary count (the 95th percentile) is no surge; the 99th's next is one.
    post(id("counter-003"), p95);
    assert!(surges().is_empty(), "{:?}", surges());
    post(id("counter-003"), p99 + 2.0);
    // The published view follows the log: wait for it (a condition, with a deadline).
    let settle = |n: usize| -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let s = surges();
            if s.len() >= n || std::time::Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let raised = settle(1);
    assert!(
        raised.len() == 1 && raised[0].starts_with("sensor:counter-003:"),
        "{raised:?}"
    );
    // counter-005 has no tide: the same count is judged by the fixed 600 per interval.
    post(id("counter-005"), 599.0);
    post(id("counter-005"), 600.0);
    let raised = settle(2);
    assert_eq!(raised.len(), 2, "{raised:?}");
    assert!(
        raised.iter().any(|e| e.starts_with("sensor:counter-005:")),
        "{raised:?}"
    );
    // Without a model, the forecast says how to get one.
    drop(server);
    let db2 = dir.path().join("plain.db");
    let reader2 = token(&db2, "display");
    let plain = Server::start_scene("scenes/yangpu-riverfront", &db2, &[]);
    let mut r = agent
        .get(format!("{}/api/v1/forecast", plain.base))
        .header("Authorization", &format!("Bearer {reader2}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.body_mut().read_json().unwrap();
    assert!(body.to_string().contains("serve --model"), "{body}");
}
