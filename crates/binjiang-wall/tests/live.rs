//! The wall on a live twin: a real `binjiang serve` (the binary, on a free port, SQLite on
//! disk), driven by `binjiang replay` over its real APIs, followed by the wall through the
//! WebSocket stream; operator commands go back over HTTP and refusals come back with the
//! service's reason.

use bevy::prelude::*;
use binjiang_wall::feed::{Clock, Link, OperatorCommand, OperatorCommands, WallState};
use binjiang_wall::live::{LiveLink, LivePlugin};
use binjiang_wall::SceneData;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `binjiang` binary beside this crate's (built by `cargo test --workspace`; built here
/// when only this crate's tests run).
fn binjiang_exe() -> PathBuf {
    let wall = PathBuf::from(env!("CARGO_BIN_EXE_binjiang-wall"));
    let exe = wall.with_file_name(format!("binjiang{}", std::env::consts::EXE_SUFFIX));
    if !exe.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "binjiang", "--bin", "binjiang"])
            .current_dir(repo())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cannot build binjiang");
    }
    exe
}

fn binjiang(args: &[&str]) -> std::process::Output {
    Command::new(binjiang_exe())
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// A token of `role` in `db` (the last word `binjiang token add` prints).
fn token(db: &Path, role: &str) -> String {
    let out = binjiang(&[
        "token",
        "add",
        "--db",
        db.to_str().unwrap(),
        "--role",
        role,
        "--name",
        &format!("wall-test-{role}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned()
}

/// `binjiang serve <scene>` on a free port.
struct Service {
    child: Child,
    base: String,
}

impl Service {
    fn start(scene: &str, db: &Path, more: &[&str]) -> Self {
        let mut child = Command::new(binjiang_exe())
            .args(["serve", scene, "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(more)
            .current_dir(repo())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the service says where it listens")
                .unwrap();
            if let Some((_, rest)) = line.split_once(" on http://") {
                break format!("http://{}", rest.split_whitespace().next().unwrap());
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Service { child, base }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn get(base: &str, path: &str, token: &str) -> serde_json::Value {
    agent()
        .get(format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

fn post(base: &str, path: &str, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let mut r = agent()
        .post(format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap())
}

/// Updates `app` until `done` holds (or panics after `limit`).
fn update_until(app: &mut App, limit: Duration, done: impl Fn(&WallState) -> bool) {
    let start = Instant::now();
    loop {
        app.update();
        if done(app.world().resource::<WallState>()) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "gave up waiting: {:?}",
            app.world().resource::<WallState>().link
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The wall's live feed without a renderer: it follows the stream, its commands reach the
/// service (recorded with the operator's identity), and a refusal comes back with the
/// service's reason.
#[test]
fn the_live_feed_follows_the_service_and_carries_the_operators_commands() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let (gateway, operator, admin) = (
        token(&db, "gateway"),
        token(&db, "operator"),
        token(&db, "admin"),
    );
    let service = Service::start("tests/scenes/tiny-river", &db, &[]);
    let (status, incident) = post(
        &service.base,
        "/api/v1/reports",
        &gateway,
        serde_json::json!({"external_id": "110-wall-1", "source": "hotline110", "type": "fight", "lon": 121.5078, "lat": 31.2527}),
    );
    assert_eq!(status, 201, "{incident}");
    let id = incident["incident"].as_u64().unwrap() as u32;

    let scene = binjiang_scene::Scene::load(&repo().join("tests/scenes/tiny-river")).unwrap();
    let catalogue = binjiang_sim::IncidentCatalogue::load(
        &scene.dir.join(binjiang_sim::CATALOGUE_FILE),
        &scene,
    )
    .unwrap()
    .0;
    let link = LiveLink::start(&service.base, &operator, &scene, &catalogue).unwrap();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(Clock {
            sim_s: 0.0,
            speed: 0.0,
        })
        .insert_resource(WallState::default())
        .insert_resource(SceneData(scene))
        .insert_resource(link)
        .add_plugins(LivePlugin);
    update_until(&mut app, Duration::from_secs(20), |s| {
        s.incidents.iter().any(|m| m.id == id) && !s.units.is_empty()
    });
    {
        let s = app.world().resource::<WallState>();
        assert!(
            matches!(&s.link, Link::Live { state: Ok(seq), .. } if *seq > 0),
            "{:?}",
            s.link
        );
        assert_eq!(s.units.len(), 8, "every unit of the scene");
        let m = s.incidents.iter().find(|m| m.id == id).unwrap();
        assert_eq!(m.priority, 1);
        assert!(m.time_to_target(s.now_s).is_some_and(|t| t <= 180.0));
        assert!(
            !s.new_urgent.is_empty() || s.incidents.iter().any(|m| m.priority == 1),
            "a new P1 is flagged for auto-focus"
        );
    }

    // Acknowledge, then close: the stream brings both back.
    app.world_mut()
        .resource_mut::<OperatorCommands>()
        .0
        .push(OperatorCommand::Acknowledge(id));
    update_until(&mut app, Duration::from_secs(20), |s| {
        s.incidents.iter().any(|m| m.id == id && m.acknowledged)
    });
    app.world_mut()
        .resource_mut::<OperatorCommands>()
        .0
        .push(OperatorCommand::Close(id));
    update_until(&mut app, Duration::from_secs(20), |s| {
        s.incidents
            .iter()
            .any(|m| m.id == id && m.closed_at.is_some())
    });
    assert_eq!(app.world().resource::<WallState>().refusal, None);
    // Closing it again is refused by the service, and the wall says why.
    app.world_mut()
        .resource_mut::<OperatorCommands>()
        .0
        .push(OperatorCommand::Close(id));
    update_until(&mut app, Duration::from_secs(20), |s| s.refusal.is_some());
    let why = app.world().resource::<WallState>().refusal.clone().unwrap();
    assert!(
        why.contains("not open") && why.contains("HTTP 409"),
        "{why}"
    );
    // The projection (key P) comes from the service's fork.
    app.world_mut()
        .resource_mut::<OperatorCommands>()
        .0
        .push(OperatorCommand::Project(2));
    update_until(&mut app, Duration::from_secs(30), |s| {
        s.projection.is_some()
    });
    let p = app
        .world()
        .resource::<WallState>()
        .projection
        .clone()
        .unwrap();
    assert!((p.until_s - p.from_s - 7200.0).abs() < 1.0, "{p:?}");

    // Why this unit: read from the service when asked (selecting the incident asks).
    app.world_mut()
        .resource_mut::<OperatorCommands>()
        .0
        .push(OperatorCommand::Explain(id));
    update_until(&mut app, Duration::from_secs(20), |s| {
        s.why.contains_key(&id)
    });
    {
        let why = &app.world().resource::<WallState>().why[&id];
        assert!(
            why.iter().any(|d| d.chosen.is_some()),
            "the fight's dispatch is explained: {why:?}"
        );
    }

    // Coverage comes with the stream, patrol visits from their own read; litter on the
    // south cleaner's loop opens a hole, the wall shows the move-up, and Accept makes it.
    let (status, _) = post(
        &service.base,
        "/api/v1/reports",
        &gateway,
        serde_json::json!({"source": "hotline12345", "type": "litter", "lon": 121.50733, "lat": 31.24738}),
    );
    assert_eq!(status, 201);
    update_until(&mut app, Duration::from_secs(30), |s| {
        !s.coverage.recommendations.is_empty() && !s.coverage.since_visit.is_empty()
    });
    let (id, cells) = {
        let s = app.world().resource::<WallState>();
        assert!(
            s.coverage.agencies.contains_key("cleaning"),
            "{:?}",
            s.coverage
        );
        (
            s.coverage.recommendations[0].id,
            s.coverage.since_visit.len(),
        )
    };
    assert_eq!(
        cells,
        app.world().resource::<SceneData>().0.grid.cells.len()
    );
    app.world_mut()
        .resource_mut::<OperatorCommands>()
        .0
        .push(OperatorCommand::AcceptMoveUp(id));
    update_until(&mut app, Duration::from_secs(20), |s| {
        s.coverage.recommendations.iter().all(|r| r.id != id)
    });
    assert_eq!(app.world().resource::<WallState>().refusal, None);

    // The service recorded who did it.
    let audit = get(
        &service.base,
        "/api/v1/audit?since=2000-01-01T00:00:00Z",
        &admin,
    );
    let text = audit.to_string();
    assert!(
        text.contains("wall-test-operator") && text.contains("operator at the wall display"),
        "{text}"
    );
    assert!(text.contains("accept_move_up"), "{text}");
}

fn near(p: &image::Rgb<u8>, rgb: [u8; 3], tol: i32) -> bool {
    (0..3).all(|i| (p[i] as i32 - rgb[i] as i32).abs() <= tol)
}

/// The headless `--live` screenshot against a service replaying a day: the frame shows the
/// service's units and open incidents (compared through `--screenshot-state`), the live
/// indicator, and the 3D district.
#[test]
fn the_wall_renders_a_live_service_replaying_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let (gateway, display) = (token(&db, "gateway"), token(&db, "display"));
    let scene = "scenes/yangpu-riverfront";
    let service = Service::start(
        scene,
        &db,
        &["--clock", "replay", "--speed", "60", "--at", "09:00"],
    );
    let mut replay = Command::new(binjiang_exe())
        .args(["replay", scene, "--to", &service.base, "--token", &gateway])
        .args(["--speed", "60", "--hours", "2", "--fix-every", "60"])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the replayed day has open incidents on the service.
    let start = Instant::now();
    loop {
        let open = get(&service.base, "/api/v1/incidents?status=active", &display);
        if open.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no incident in two minutes"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let png = dir.path().join("live.png");
    let json = dir.path().join("live.json");
    let status = Command::new(env!("CARGO_BIN_EXE_binjiang-wall"))
        .args([scene, "--live", &service.base, "--token", &display])
        .args(["--window", "1280x720", "--screenshot"])
        .arg(&png)
        .arg("--screenshot-state")
        .arg(&json)
        .current_dir(repo())
        .status()
        .unwrap();
    let _ = replay.kill();
    let _ = replay.wait();
    assert!(
        status.success(),
        "binjiang-wall --live --screenshot failed: {status}"
    );

    let shown: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(shown["link"]["live"], service.base.as_str(), "{shown}");
    assert!(shown["link"]["seq"].as_u64().unwrap() > 0);
    let units = get(&service.base, "/api/v1/units", &display);
    assert_eq!(
        shown["units"].as_array().unwrap().len(),
        units.as_array().unwrap().len(),
        "the wall shows every unit the service has"
    );
    // Every alarm on the wall is an incident of the service, reported before the frame's
    // time, counting down to its target (or met).
    let alarms = shown["alarms"].as_array().unwrap();
    assert!(
        !alarms.is_empty(),
        "the open incidents are on the wall: {shown}"
    );
    for a in alarms {
        let id = a["id"].as_u64().unwrap();
        let i = get(&service.base, &format!("/api/v1/incidents/{id}"), &display);
        assert_eq!(i["priority"], a["priority"], "{i} vs {a}");
        assert_eq!(i["subdistrict"], a["subdistrict"]);
        if let Some(left) = a["time_to_target_s"].as_f64() {
            let limit = if a["target"] == "cleaned" {
                600.0
            } else {
                180.0
            };
            assert!(left <= limit, "{a}");
        }
    }
    // The frame: the live indicator (green) in the clock panel, the river, every agency's
    // units.
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1280, 720));
    let live_green = (0..img.width() / 2)
        .flat_map(|x| (0..img.height() / 8).map(move |y| (x, y)))
        .filter(|(x, y)| near(img.get_pixel(*x, *y), [120, 220, 120], 30))
        .count();
    assert!(
        live_green > 20,
        "no LIVE indicator: {live_green} green pixels"
    );
    let water = img.pixels().filter(|p| near(p, [22, 58, 92], 4)).count();
    assert!(water > (1280 * 720) / 50, "river missing: {water}");
}
