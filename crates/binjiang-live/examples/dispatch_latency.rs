//! Alert → unit assigned, in the dispatch core the live twin runs (no HTTP, no disk): the
//! Yangpu scene at 10:00, sensor alerts at random bins and manholes every 20 simulated
//! seconds for a day, each timed from the report to the decision (a unit sent or the part
//! queued). For BENCHMARKS.md.
//!
//!     cargo run --release -p binjiang-live --example dispatch_latency [scene] [alerts] [explain]
//!
//! With `explain`, every decision also makes its explanation record, as the live twin does
//! (issue 20).

use binjiang_scene::{AssetKind, Scene};
use binjiang_sim::{
    IncidentCatalogue, IncidentSource, Place, Report, SimOptions, Simulation, Source,
};
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "scenes/yangpu-riverfront".into()),
    );
    let alerts: usize = args.get(2).map_or(4000, |a| a.parse().expect("a count"));
    let scene = Scene::load(&dir).expect("scene");
    let (catalogue, _) =
        IncidentCatalogue::load(&dir.join("incident_types.ron"), &scene).expect("catalogue");
    let options = SimOptions {
        start_s: 10.0 * 3600.0,
        ..SimOptions::default()
    };
    let policy = options.policy.build(catalogue.dispatch.clone());
    let mut sim =
        Simulation::with_source(&scene, catalogue, options, policy, IncidentSource::External)
            .expect("sim");
    sim.set_explain(args.get(3).is_some_and(|a| a == "explain"));
    let sensed: Vec<(&str, &str)> = scene
        .assets
        .iter()
        .filter_map(|a| match a.kind {
            AssetKind::Bin => Some((a.id.as_str(), "bin_overflow")),
            AssetKind::Manhole => Some((a.id.as_str(), "manhole_displaced")),
            _ => None,
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut took = Vec::with_capacity(alerts);
    for k in 0..alerts {
        let now = sim.now() + 20.0;
        sim.advance_to(now);
        let (asset, ty) = sensed[rng.random_range(0..sensed.len())];
        let report = Report {
            external_id: Some(format!("alert-{k}")),
            time: now,
            source: Source::Sensor,
            incident_type: ty.into(),
            place: Place::Asset(asset.into()),
            text: String::new(),
        };
        let t = Instant::now();
        sim.report(report).expect("a known asset");
        took.push(t.elapsed().as_secs_f64() * 1e6);
        sim.drain_events();
        sim.drain_inputs();
        sim.drain_decisions();
        sim.retire_closed();
    }
    took.sort_by(f64::total_cmp);
    let pct = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    println!(
        "{alerts} alerts on {}: alert → decision p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        dir.display(),
        pct(0.5),
        pct(0.99),
        took[took.len() - 1]
    );
}
