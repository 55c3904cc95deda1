//! Simulation benchmarks (targets and results in BENCHMARKS.md).
//!
//! - one simulated day of the bundled Yangpu scene (set-up excluded, measured separately),
//!   and the same day explaining every decision;
//! - the scheduler core alone: push and pop of timed actions;
//! - the coverage monitor's work per change of a Yangpu day (every agency assessed and its
//!   best move-up searched), its mean by criterion and its p50/p99 over every change printed;
//! - a synthetic 50 km² district with 2,000 units and 100,000 incidents a day, if
//!   `BINJIANG_SYNTH` names a scene written by `binjiang synth` (it takes seconds per run).

use binjiang_scene::Scene;
use binjiang_sim::scheduler::Scheduler;
use binjiang_sim::{IncidentCatalogue, SimOptions, Simulation, CATALOGUE_FILE};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn load(dir: &Path) -> (Scene, IncidentCatalogue) {
    let scene = Scene::load(dir).expect("scene loads");
    let catalogue = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene)
        .expect("catalogue is valid")
        .0;
    (scene, catalogue)
}

fn yangpu_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenes/yangpu-riverfront")
}

fn bench_day(c: &mut Criterion, name: &str, dir: &Path, samples: usize) {
    let (scene, catalogue) = load(dir);
    let mut g = c.benchmark_group(name);
    g.sample_size(samples);
    g.bench_function("setup", |b| {
        b.iter(|| {
            black_box(Simulation::new(&scene, catalogue.clone(), SimOptions::default()).unwrap())
        })
    });
    g.bench_function("day", |b| {
        b.iter_batched(
            || Simulation::new(&scene, catalogue.clone(), SimOptions::default()).unwrap(),
            |mut sim| {
                sim.advance_to(86_400.0);
                black_box(sim.events().len())
            },
            BatchSize::PerIteration,
        )
    });
    // The same day making an explanation record of every decision (issue 20: ≤ 1.5×).
    g.bench_function("day_explained", |b| {
        b.iter_batched(
            || {
                let mut sim =
                    Simulation::new(&scene, catalogue.clone(), SimOptions::default()).unwrap();
                sim.set_explain(true);
                sim
            },
            |mut sim| {
                sim.advance_to(86_400.0);
                black_box(sim.drain_decisions().len())
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn bench_scheduler(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let times: Vec<u64> = (0..N).map(|_| rng.random_range(0..86_400_000)).collect();
    let mut g = c.benchmark_group("scheduler");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Elements(N as u64));
    g.bench_function("push_pop_1m_events", |b| {
        b.iter(|| {
            let mut s = Scheduler::default();
            for (i, t) in times.iter().enumerate() {
                s.push(*t, i as u32);
            }
            let mut n = 0u64;
            while let Some((_, a)) = s.pop_due(u64::MAX) {
                n += a as u64;
            }
            black_box(n)
        })
    });
    // A steady-state queue: each popped event schedules one later, like a running sim.
    g.bench_function("hold_model_1m_events", |b| {
        b.iter(|| {
            let mut s = Scheduler::default();
            for t in times.iter().take(10_000) {
                s.push(*t, 0u32);
            }
            for delay in &times {
                let (t, _) = s.pop_due(u64::MAX).unwrap();
                s.push(t + delay % 600_000, 0);
            }
            black_box(s.len())
        })
    });
    g.finish();
}

/// The monitor after every change of a Yangpu day: the day is stepped action by action, and
/// after each the monitor assesses every agency and searches its best move-up (what the live
/// twin does after every request and tick). Prints p50 and p99 of those; criterion times the
/// same work on states taken every ten minutes.
fn bench_monitor(c: &mut Criterion) {
    use binjiang_scene::Agency;
    use binjiang_sim::CoverageMonitor;
    let (scene, catalogue) = load(&yangpu_dir());
    let thresholds = Agency::ALL.iter().map(|a| (*a, 1.0)).collect();
    let monitor = CoverageMonitor::for_scene(&scene, &catalogue, &thresholds);
    let mut sim = Simulation::new(&scene, catalogue, SimOptions::default()).unwrap();
    let work = |sim: &Simulation| {
        let how = sim.hour_of_week();
        black_box(monitor.assess(sim, how));
        for a in Agency::ALL {
            black_box(monitor.best_move(sim, *a, how));
        }
    };
    let mut times = Vec::new();
    let mut states = Vec::new();
    while let Some(t) = sim.step() {
        if t >= 86_400.0 {
            break;
        }
        let started = std::time::Instant::now();
        work(&sim);
        times.push(started.elapsed().as_secs_f64() * 1e6);
        if states.len() < (t / 600.0) as usize {
            states.push(sim.clone());
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    eprintln!(
        "coverage monitor per change, Yangpu day: {} changes, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        times.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    c.bench_function("coverage_monitor/yangpu_change", |b| {
        let mut k = 0;
        b.iter(|| {
            work(&states[k % states.len()]);
            k += 1;
        })
    });
}

/// Node-to-node times on a scene's car network: `fast_paths`' own query against the upward
/// search spaces of the same hierarchy (`binjiang_sim::ch`), on the pattern dispatch asks —
/// 50 sources (units) against 50 targets (incidents). "Cold" starts with no space kept (each
/// node's two spaces are searched once); "warm" has them kept, as a running day mostly does.
fn bench_ch(c: &mut Criterion, name: &str, dir: &Path) {
    use binjiang_scene::Mode;
    use binjiang_sim::ch::{PathSearch, SpaceTimes, UpwardGraphs};
    let scene = Scene::load(dir).expect("scene loads");
    let mut input = fast_paths::InputGraph::new();
    for (a, b, t) in binjiang_sim::routing::road_hops(&scene.road_graph, Mode::Car, 1.0) {
        input.add_edge(a as usize, b as usize, t);
    }
    input.freeze();
    let graph = fast_paths::prepare(&input);
    let graphs = UpwardGraphs::of(&graph);
    let n = graph.get_num_nodes();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut pick = || (0..50).map(|_| rng.random_range(0..n)).collect::<Vec<_>>();
    let (sources, targets) = (pick(), pick());
    let mut g = c.benchmark_group(format!("ch_{name}"));
    g.throughput(criterion::Throughput::Elements(2500));
    g.bench_function("fast_paths_2500_pairs", |b| {
        let mut calc = fast_paths::create_calculator(&graph);
        b.iter(|| {
            let mut sum = 0usize;
            for &s in &sources {
                for &t in &targets {
                    sum += calc.calc_path(&graph, s, t).map_or(0, |p| p.get_weight());
                }
            }
            black_box(sum)
        })
    });
    let all = |times: &mut SpaceTimes| {
        let mut sum = 0u64;
        for &s in &sources {
            for &t in &targets {
                sum += u64::from(times.time(&graphs, s as u32, t as u32).unwrap_or(0));
            }
        }
        sum
    };
    // Whole paths, as a unit's route needs them: `fast_paths`' query against the same query
    // over the upward graphs laid out by node (the same paths, checked here first).
    let mut calc = fast_paths::create_calculator(&graph);
    let mut search = PathSearch::new(graphs.nodes());
    for &s in &sources {
        for &t in &targets {
            let theirs = calc.calc_path(&graph, s, t).map(|p| p.get_nodes().len());
            let ours = search
                .path(&graphs, s as u32, t as u32)
                .map(|(p, _)| p.len());
            assert_eq!(ours, theirs, "path {s} -> {t}");
        }
    }
    g.bench_function("fast_paths_paths_2500_pairs", |b| {
        b.iter(|| {
            let mut hops = 0usize;
            for &s in &sources {
                for &t in &targets {
                    hops += calc
                        .calc_path(&graph, s, t)
                        .map_or(0, |p| p.get_nodes().len());
                }
            }
            black_box(hops)
        })
    });
    g.bench_function("path_search_2500_pairs", |b| {
        b.iter(|| {
            let mut hops = 0usize;
            for &s in &sources {
                for &t in &targets {
                    hops += search
                        .path(&graphs, s as u32, t as u32)
                        .map_or(0, |(p, _)| p.len());
                }
            }
            black_box(hops)
        })
    });
    // The same paths replayed from kept search spaces, as a route asked for right after its
    // time is (the spaces are found once, before the timing).
    let mut spaces = SpaceTimes::new(&graphs);
    for &s in &sources {
        for &t in &targets {
            spaces.time(&graphs, s as u32, t as u32);
        }
    }
    g.bench_function("path_replay_2500_pairs", |b| {
        b.iter(|| {
            let mut hops = 0usize;
            for &s in &sources {
                for &t in &targets {
                    hops += spaces
                        .path(&graphs, &mut search, s as u32, t as u32)
                        .map_or(0, |(p, _)| p.len());
                }
            }
            black_box(hops)
        })
    });
    g.bench_function("spaces_cold_2500_pairs", |b| {
        b.iter(|| black_box(all(&mut SpaceTimes::new(&graphs))))
    });
    g.bench_function("spaces_warm_2500_pairs", |b| {
        let mut times = SpaceTimes::new(&graphs);
        all(&mut times);
        b.iter(|| black_box(all(&mut times)))
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    bench_ch(c, "yangpu", &yangpu_dir());
    if let Some(dir) = std::env::var_os("BINJIANG_SYNTH") {
        bench_ch(c, "synth", Path::new(&dir));
    }
    bench_day(c, "yangpu", &yangpu_dir(), 30);
    bench_monitor(c);
    bench_scheduler(c);
    if let Some(dir) = std::env::var_os("BINJIANG_SYNTH") {
        bench_day(c, "synth", Path::new(&dir), 10);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
