//! Spatial index benchmarks at 1,000,000 objects (targets in BENCHMARKS.md).
//!
//! Points are uniform over a 10.25 km square, so a 300 m radius holds ~2,700 of them.
//! Payloads stand for units: agency = id % 6, available = (id / 6) % 2 == 0, so the
//! "available unit of one agency" predicate matches one object in twelve.

use binjiang_spatial::{AssetParams, ClassedIndex, DispatchParams, PointIndex};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const N: usize = 1_000_000;
const SIDE_M: f64 = 10_250.0;

fn points(n: usize, seed: u64) -> Vec<([f64; 2], u32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n as u32)
        .map(|i| {
            (
                [rng.random_range(0.0..SIDE_M), rng.random_range(0.0..SIDE_M)],
                i,
            )
        })
        .collect()
}

fn available_police(id: &u32) -> bool {
    id.is_multiple_of(6) && (id / 6).is_multiple_of(2)
}

fn queries(seed: u64) -> Vec<[f64; 2]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..1024)
        .map(|_| [rng.random_range(0.0..SIDE_M), rng.random_range(0.0..SIDE_M)])
        .collect()
}

fn bench_queries<P: rstar::RTreeParams>(c: &mut Criterion, name: &str, pts: &[([f64; 2], u32)]) {
    let mut g = c.benchmark_group(format!("spatial_1m_{name}"));
    g.sample_size(10);
    g.bench_function("bulk_load", |b| {
        b.iter_batched(
            || pts.to_vec(),
            |p| black_box(PointIndex::<u32, P>::bulk_load(p)),
            BatchSize::LargeInput,
        )
    });
    g.sample_size(100);
    let index = PointIndex::<u32, P>::bulk_load(pts.to_vec());
    let qs = queries(2);
    let mut i = 0;
    g.bench_function("nearest_matching", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            black_box(index.nearest_matching(qs[i], 1, available_police))
        })
    });
    g.bench_function("within_300m", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            black_box(index.within_radius(qs[i], 300.0).count())
        })
    });
    g.finish();
}

fn bench_brute_force(c: &mut Criterion, pts: &[([f64; 2], u32)]) {
    let qs = queries(2);
    let mut i = 0;
    let mut g = c.benchmark_group("spatial_1m_brute_force");
    g.sample_size(10);
    g.bench_function("nearest_matching", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            let q = qs[i];
            black_box(
                pts.iter()
                    .filter(|(_, d)| available_police(d))
                    .map(|(p, d)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2), *d))
                    .min_by(|a, b| a.0.total_cmp(&b.0)),
            )
        })
    });
    g.bench_function("within_300m", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            let q = qs[i];
            black_box(
                pts.iter()
                    .filter(|(p, _)| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) <= 90_000.0)
                    .count(),
            )
        })
    });
    g.finish();
}

/// Agency and availability of unit `id` (see the module's comment).
fn class(id: u32) -> (u32, bool) {
    (id % 6, (id / 6).is_multiple_of(2))
}

fn bench_classed(c: &mut Criterion, pts: &[([f64; 2], u32)]) {
    let index = ClassedIndex::bulk_load(pts.iter().map(|(p, d)| (*d, class(*d), *p)).collect());
    let qs = queries(2);
    let mut i = 0;
    let mut g = c.benchmark_group("spatial_1m_classed");
    g.bench_function("nearest_available_of_agency", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            black_box(index.nearest_in((0, true), qs[i], 1))
        })
    });
    g.finish();
}

/// A unit moving a few metres, as dispatch's index sees it (`ClassedIndex::set`).
fn bench_updates(c: &mut Criterion, pts: &[([f64; 2], u32)]) {
    let mut units = ClassedIndex::bulk_load(pts.iter().map(|(p, d)| (*d, class(*d), *p)).collect());
    let mut at: Vec<[f64; 2]> = pts.iter().map(|(p, _)| *p).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut g = c.benchmark_group("spatial_1m_dispatch");
    g.bench_function("unit_position_update", |b| {
        b.iter(|| {
            let id = rng.random_range(0..N as u32);
            let p = &mut at[id as usize];
            *p = [
                p[0] + rng.random_range(-5.0..5.0),
                p[1] + rng.random_range(-5.0..5.0),
            ];
            units.set(id, class(id), *p);
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let pts = points(N, 1);
    bench_queries::<DispatchParams>(c, "dispatch", &pts);
    bench_queries::<AssetParams>(c, "asset", &pts);
    bench_brute_force(c, &pts);
    bench_classed(c, &pts);
    bench_updates(c, &pts);
}

criterion_group!(benches, bench);
criterion_main!(benches);
