//! Merged grid against separate grids on the Yangpu scene, paired on common random numbers:
//! for each load factor and seed, both policies see the same incidents with the same on-scene
//! times; the table gives each policy's mean and the paired difference (merged − separate)
//! with its 95 % confidence interval (Student's t over the seeds).
//!
//!     cargo run --release -p binjiang-sim --example merged_vs_separate -- [seeds] [load …]
//!
//! Defaults: 40 seeds, loads 1 3 6. The evidence table in docs/merged-vs-separate.md is its
//! output.

use binjiang_scene::Scene;
use binjiang_sim::{
    IncidentCatalogue, Metrics, PolicyKind, SimOptions, Simulation, CATALOGUE_FILE,
};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Reads one figure of a run; `None` when a percentile falls on incidents never reached.
type Kpi = fn(&Metrics) -> Option<f64>;

/// The figures compared, by name.
const KPIS: [(&str, Kpi); 7] = [
    ("response p50 (s)", |m| m.all.response_s.p50),
    ("response p90 (s)", |m| m.all.response_s.p90),
    ("response p99 (s)", |m| m.all.response_s.p99),
    ("on site ≤ 3 min", |m| m.all.on_site_3min_share),
    ("litter ≤ 10 min", |m| m.all.cleaned_10min_share),
    ("in the bud", |m| m.all.in_the_bud_share),
    ("open at midnight", |m| Some(m.all.open_at_end as f64)),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(40);
    let loads: Vec<f64> = if args.len() > 1 {
        args[1..].iter().filter_map(|s| s.parse().ok()).collect()
    } else {
        vec![1.0, 3.0, 6.0]
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenes/yangpu-riverfront");
    let scene = Scene::load(&dir).expect("the Yangpu scene loads");
    let catalogue = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene)
        .expect("catalogue is valid")
        .0;
    println!(
        "| load | KPI | merged (mean) | separate (mean) | merged − separate, 95 % CI | seeds |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for load in loads {
        let runs = paired_runs(&scene, &catalogue, load, seeds);
        for (name, kpi) in KPIS {
            let pairs: Vec<(f64, f64)> = runs
                .iter()
                .filter_map(|(m, s)| Some((kpi(m)?, kpi(s)?)))
                .collect();
            println!("| {load}× | {name} | {} |", row(&pairs, seeds));
        }
    }
}

/// Runs both policies for seeds 1..=n at `load` × the catalogue's rates, on all cores.
fn paired_runs(
    scene: &Scene,
    catalogue: &IncidentCatalogue,
    load: f64,
    n: u64,
) -> Vec<(Metrics, Metrics)> {
    let mut cat = catalogue.clone();
    for t in &mut cat.types {
        t.per_day *= load;
    }
    let next = AtomicUsize::new(1);
    let out = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed) as u64;
                if seed > n {
                    break;
                }
                let day = |policy| {
                    let options = SimOptions {
                        seed,
                        policy,
                        ..SimOptions::default()
                    };
                    let mut sim = Simulation::new(scene, cat.clone(), options).expect("sim");
                    sim.advance_to(86_400.0);
                    binjiang_sim::metrics_of(sim.events(), sim.catalogue(), 86_400.0)
                };
                let pair = (day(PolicyKind::MergedGrid), day(PolicyKind::SeparateGrids));
                out.lock().expect("no panics").push((seed, pair));
            });
        }
    });
    let mut runs = out.into_inner().expect("no panics");
    runs.sort_by_key(|(seed, _)| *seed);
    runs.into_iter().map(|(_, p)| p).collect()
}

/// Means of each arm and the paired difference with its 95 % interval.
fn row(pairs: &[(f64, f64)], seeds: u64) -> String {
    let n = pairs.len();
    if n < 2 {
        return format!("– | – | – | {n} of {seeds}");
    }
    let mean = |v: &mut dyn Iterator<Item = f64>| v.sum::<f64>() / n as f64;
    let (a, b) = (
        mean(&mut pairs.iter().map(|p| p.0)),
        mean(&mut pairs.iter().map(|p| p.1)),
    );
    let d: Vec<f64> = pairs.iter().map(|(x, y)| x - y).collect();
    let dm = d.iter().sum::<f64>() / n as f64;
    let sd = (d.iter().map(|x| (x - dm).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .map(|t| t.inverse_cdf(0.975))
        .unwrap_or(f64::NAN);
    let half = t * sd / (n as f64).sqrt();
    let fmt = |x: f64| {
        if x.abs() < 10.0 {
            format!("{x:.3}")
        } else {
            format!("{x:.0}")
        }
    };
    let verdict = if dm - half > 0.0 {
        " (merged higher)"
    } else if dm + half < 0.0 {
        " (merged lower)"
    } else {
        ""
    };
    format!(
        "{} | {} | {} [{}, {}]{verdict} | {n} of {seeds}",
        fmt(a),
        fmt(b),
        fmt(dm),
        fmt(dm - half),
        fmt(dm + half)
    )
}
