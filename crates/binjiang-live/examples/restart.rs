//! Restart time against history, for BENCHMARKS.md: a Yangpu database holding N GPS-fix
//! inputs (every on-duty unit's fix every 15 s, each moving it, as trackers send them), then
//! the service started on it twice — first with no snapshot (the whole log replayed; it
//! snapshots at once), then from that snapshot — each timed from `start` to serving.
//!
//!     cargo run --release -p binjiang-live --example restart -- [inputs] [db]

use binjiang_live::clock::ClockMode;
use binjiang_live::{District, ServeOptions};
use binjiang_scene::Scene;
use binjiang_sim::{IncidentCatalogue, IncidentSource, SimOptions, Simulation};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn district(dir: &std::path::Path) -> District {
    let scene = Scene::load(dir).expect("scene");
    let (catalogue, _) =
        IncidentCatalogue::load(&dir.join("incident_types.ron"), &scene).expect("catalogue");
    District::new(scene, catalogue).expect("live.ron")
}

fn options(db: &std::path::Path) -> ServeOptions {
    let mut o = ServeOptions::new(db.to_path_buf(), "127.0.0.1:0".parse().unwrap());
    o.clock = ClockMode::Replay { speed: 1.0 };
    o.start_s = Some(0.0);
    o
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args
        .get(1)
        .map_or(10_000_000, |a| a.parse().expect("a count"));
    let db = PathBuf::from(
        args.get(2)
            .cloned()
            .unwrap_or_else(|| "/tmp/restart.db".into()),
    );
    let dir = PathBuf::from("scenes/yangpu-riverfront");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A new database (its day starts at midnight), then the history written straight in.
    rt.block_on(async {
        binjiang_live::start(district(&dir), options(&db))
            .await
            .expect("start")
            .stop()
            .await
    });
    let made = Instant::now();
    let d = district(&dir);
    let sim_options = SimOptions {
        seed: 7,
        start_s: 0.0,
        ..SimOptions::default()
    };
    let policy = sim_options.policy.build(d.catalogue.dispatch.clone());
    let mut sim = Simulation::with_source(
        &d.scene,
        d.catalogue.clone(),
        sim_options,
        policy,
        IncidentSource::External,
    )
    .expect("sim");
    let mut conn = binjiang_live::store::open(&db).unwrap();
    conn.execute("DELETE FROM inputs", []).unwrap();
    conn.execute("DELETE FROM events", []).unwrap();
    let (mut written, mut t, mut k) = (0u64, 0.0f64, 0u64);
    while written < n {
        let tx = conn.transaction().unwrap();
        {
            let mut input = tx
                .prepare_cached("INSERT INTO inputs (t, body) VALUES (?1, ?2)")
                .unwrap();
            let mut event = tx
                .prepare_cached("INSERT INTO events (t, body) VALUES (?1, ?2)")
                .unwrap();
            let batch_end = (written + 200_000).min(n);
            while written < batch_end {
                t += 15.0;
                sim.advance_to(t);
                for u in sim.units() {
                    if written >= batch_end {
                        break;
                    }
                    if u.status == binjiang_sim::UnitStatus::OffDuty {
                        continue;
                    }
                    k += 1;
                    let jitter = if k % 2 == 0 { 12.0 } else { -12.0 };
                    sim.fix(&u.id, [u.position[0] + jitter, u.position[1]])
                        .expect("fix");
                    written += 1;
                }
                for r in sim.drain_inputs() {
                    input
                        .execute(rusqlite::params![r.t, serde_json::to_string(&r).unwrap()])
                        .unwrap();
                }
                for e in sim.drain_events() {
                    event
                        .execute(rusqlite::params![e.t, serde_json::to_string(&e).unwrap()])
                        .unwrap();
                }
            }
        }
        tx.commit().unwrap();
        eprintln!("{written} inputs written, {:.1} days", t / 86_400.0);
    }
    drop(conn);
    println!(
        "history: {n} fix inputs over {:.1} days, written in {:.1} s; database {:.0} MB",
        t / 86_400.0,
        made.elapsed().as_secs_f64(),
        std::fs::metadata(&db).map_or(0, |m| m.len()) as f64 / 1e6
    );
    for run in ["no snapshot (the whole log)", "from the snapshot"] {
        let started = Instant::now();
        let running = rt
            .block_on(binjiang_live::start(district(&dir), options(&db)))
            .expect("start");
        let took = started.elapsed();
        println!(
            "restart, {run}: {:.3} s to serving, peak RSS {:.0} MB",
            took.as_secs_f64(),
            peak_rss_mb()
        );
        // The first start snapshots at its first tick: wait until it is on disk.
        let conn = binjiang_live::store::open(&db).unwrap();
        let waited = Instant::now();
        while conn
            .query_row("SELECT count(*) FROM snapshots", [], |r| r.get::<_, i64>(0))
            .unwrap()
            == 0
        {
            assert!(waited.elapsed() < Duration::from_secs(60), "no snapshot");
            std::thread::sleep(Duration::from_millis(50));
        }
        let (bytes, upto): (i64, i64) = conn
            .query_row(
                "SELECT length(body), input_seq FROM snapshots ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        println!(
            "  latest snapshot: {:.1} MB, holds inputs up to {upto}",
            bytes as f64 / 1e6
        );
        rt.block_on(running.stop());
    }
}
