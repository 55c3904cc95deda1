//! Held-out scoring on a known process: 8 weeks of incidents with a daily rhythm, busier
//! weekend evenings and two hot places; the model learned on the first 6 weeks is scored on
//! the last 2 against baseline (a), the last four training weeks' counts per cell spread
//! evenly over the hours.

use binjiang_learn::rates::{weekly_counts, WEEK_H};
use binjiang_learn::score::{coverage_90, hit_rate, log_score};
use binjiang_learn::spatial::Cell;
use binjiang_learn::{model, rates, spatial};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Poisson;

const WEEKS: usize = 8;
const HOLDOUT: usize = 2;

fn cells() -> Vec<Cell> {
    (0..10)
        .flat_map(|row| (0..30).map(move |col| Cell { col, row }))
        .collect()
}

fn shares(cells: &[Cell]) -> Vec<f64> {
    let mut p: Vec<f64> = cells
        .iter()
        .map(|c| (-(f64::from(c.col) - 12.0).powi(2) / 60.0).exp())
        .collect();
    let s: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v *= 0.7 / s);
    p[3 * 30 + 25] += 0.15;
    p[7 * 30 + 5] += 0.15;
    p
}

fn hourly(per_day: f64) -> Vec<f64> {
    let shape: Vec<f64> = (0..WEEK_H)
        .map(|h| {
            let (day, hour) = (h / 24, (h % 24) as f64);
            let rhythm = 0.2 + (-(hour - 19.0).powi(2) / 6.0).exp();
            rhythm * if day >= 5 && hour >= 17.0 { 1.8 } else { 1.0 }
        })
        .collect();
    let t: f64 = shape.iter().sum();
    shape.iter().map(|s| s * per_day * 7.0 / t).collect()
}

/// (time in seconds from the first Monday, cell) of every incident.
fn history(seed: u64) -> Vec<(f64, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (lambda, where_) = (hourly(60.0), WeightedIndex::new(shares(&cells())).unwrap());
    let mut out = Vec::new();
    for w in 0..WEEKS {
        for (h, l) in lambda.iter().enumerate() {
            let n = Poisson::new(*l).unwrap().sample(&mut rng) as usize;
            for k in 0..n {
                let t = ((w * WEEK_H + h) as f64 + (k as f64 + 0.5) / (n as f64 + 1.0)) * 3600.0;
                out.push((t, where_.sample(&mut rng)));
            }
        }
    }
    out
}

#[test]
fn the_model_beats_the_last_four_weeks_on_held_out_weeks() {
    let grid = cells();
    let split = ((WEEKS - HOLDOUT) * WEEK_H) as f64 * 3600.0;
    let (mut model_score, mut base_score, mut model_pai, mut base_pai, mut coverage) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    let seeds = 5;
    for seed in 1..=seeds {
        let all = history(seed);
        let (train, test): (Vec<_>, Vec<_>) = all.iter().partition(|(t, _)| *t < split);
        let times: Vec<f64> = train.iter().map(|(t, _)| *t).collect();
        let timing = rates::learn(&weekly_counts(&times, WEEKS - HOLDOUT)).unwrap();
        let places: Vec<usize> = train.iter().map(|(_, c)| *c).collect();
        let density = spatial::learn(&grid, &places, 100.0, &[]).unwrap();
        let hours = HOLDOUT * WEEK_H;
        let expected = model::expected(&timing, &density, 0, hours);
        let mut last4 = vec![0u32; grid.len()];
        for (t, c) in &train {
            if *t >= split - (4 * WEEK_H) as f64 * 3600.0 {
                last4[*c] += 1;
            }
        }
        let baseline = model::last_weeks(&last4, 4, hours);
        let mut observed = vec![vec![0u32; grid.len()]; hours];
        for (t, c) in &test {
            observed[((t - split) / 3600.0) as usize][*c] += 1;
        }
        model_score += log_score(&expected, &observed).unwrap();
        base_score += log_score(&baseline, &observed).unwrap();
        let totals = |e: &[Vec<f64>]| -> Vec<f64> {
            (0..grid.len())
                .map(|c| e.iter().map(|h| h[c]).sum())
                .collect()
        };
        let cells_hit: Vec<usize> = test.iter().map(|(_, c)| *c).collect();
        model_pai += hit_rate(&totals(&expected), &cells_hit, 0.05).unwrap().pai;
        base_pai += hit_rate(&totals(&baseline), &cells_hit, 0.05).unwrap().pai;
        let hour_expected: Vec<f64> = expected.iter().map(|h| h.iter().sum()).collect();
        let hour_observed: Vec<u32> = observed.iter().map(|h| h.iter().sum()).collect();
        coverage += coverage_90(&hour_expected, &hour_observed).unwrap();
    }
    let n = f64::from(seeds as u32);
    let (model_score, base_score) = (model_score / n, base_score / n);
    assert!(
        model_score > base_score,
        "log score: model {model_score} vs last 4 weeks {base_score}"
    );
    assert!(model_pai / n > 2.0, "PAI at 5 %: {}", model_pai / n);
    assert!(
        model_pai >= base_pai * 0.95,
        "PAI: model {} vs baseline {}",
        model_pai / n,
        base_pai / n
    );
    let coverage = coverage / n;
    println!(
        "held out: log score model {model_score:.3} vs last 4 weeks {base_score:.3}; PAI@5% model {:.2} vs {:.2}; 90 % coverage {coverage:.3}",
        model_pai / n,
        base_pai / n
    );
    assert!(
        (0.82..=0.97).contains(&coverage),
        "90 % intervals cover {coverage}"
    );
}
