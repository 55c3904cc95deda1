//! The learner's benchmarks (targets in BENCHMARKS.md): a year of one busy type fitted (the
//! rates, the density by 5-fold choice over bandwidths, weights and the prior, the
//! durations), and a 24-hour forecast of a Yangpu-sized model (380 cells, 13 types).

use binjiang_learn::forecast::Forecaster;
use binjiang_learn::model::{fit_type, TypeHistory};
use binjiang_learn::spatial::Cell;
use binjiang_learn::WEEK_H;
use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

/// A 38 × 10 grid, 380 cells like Yangpu's.
fn cells() -> Vec<Cell> {
    (0..10)
        .flat_map(|row| (0..38).map(move |col| Cell { col, row }))
        .collect()
}

fn year_of(per_day: f64, seed: u64) -> TypeHistory {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = (per_day * 364.0) as usize;
    let mut h = TypeHistory {
        prior_share: vec![1.0 / 380.0; 380],
        ..TypeHistory::default()
    };
    for _ in 0..n {
        h.times_s
            .push(rng.random_range(0.0..364.0 * 86_400.0_f64).floor());
        h.cells.push(if rng.random::<f64>() < 0.2 {
            57
        } else {
            rng.random_range(0..380)
        });
        h.on_scene_s.push(60.0 + rng.random::<f64>() * 600.0);
        h.report_delay_s.push(10.0 + rng.random::<f64>() * 100.0);
    }
    h
}

fn bench(c: &mut Criterion) {
    let grid = cells();
    let busy = year_of(200.0, 1);
    let mut g = c.benchmark_group("learn");
    g.sample_size(10);
    g.bench_function("fit_type_one_year_200_per_day", |b| {
        b.iter(|| black_box(fit_type(&busy, &grid, 100.0, 52)))
    });
    g.finish();
    let ids: Vec<String> = (0..380).map(|i| format!("c{i}")).collect();
    let types: serde_json::Map<String, serde_json::Value> = (0..13)
        .map(|t| {
            let rates: Vec<f64> = (0..WEEK_H)
                .map(|h| 1.0 + ((h + t) % 24) as f64 / 10.0)
                .collect();
            let share: serde_json::Map<String, serde_json::Value> = ids
                .iter()
                .map(|c| (c.clone(), serde_json::json!(1.0 / 380.0)))
                .collect();
            (
                format!("type{t}"),
                serde_json::json!({"hour_of_week": rates, "density": {"share": share}}),
            )
        })
        .collect();
    let model = serde_json::json!({"version": 1, "scene": "bench", "week_start": "2026-10-05T00:00:00+08:00",
        "cells": ids, "summary": {"types": types}})
    .to_string();
    let f = Forecaster::from_json("bench", &model, &ids).unwrap();
    c.bench_function("forecast_24h_380_cells_13_types", |b| {
        b.iter(|| black_box(f.forecast(black_box(f.week_start_ms + 5 * 86_400_000), 24)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
