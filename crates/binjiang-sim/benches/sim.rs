//! Simulation benchmarks (targets and results in BENCHMARKS.md).
//!
//! - one simulated day of the bundled Yangpu scene (set-up excluded, measured separately);
//! - the scheduler core alone: push and pop of timed actions;
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

fn bench(c: &mut Criterion) {
    bench_day(c, "yangpu", &yangpu_dir(), 30);
    bench_scheduler(c);
    if let Some(dir) = std::env::var_os("BINJIANG_SYNTH") {
        bench_day(c, "synth", Path::new(&dir), 10);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
