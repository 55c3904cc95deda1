//! Does the learner recover a known timing? Hourly counts drawn from a Poisson process with a
//! known hour-of-week profile (a daily rhythm, busier weekend evenings) are learned back.

use binjiang_learn::rates::{poisson_loglik, rates_with, weekly_counts};
use binjiang_learn::{learn, WEEK_H};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

/// The true profile: expected events per hour of the week for `per_day` a day on average.
fn truth(per_day: f64) -> Vec<f64> {
    let shape: Vec<f64> = (0..WEEK_H)
        .map(|h| {
            let (day, hour) = (h / 24, (h % 24) as f64);
            let rhythm = 0.2
                + (-(hour - 12.0).powi(2) / 8.0).exp()
                + 1.5 * (-(hour - 19.0).powi(2) / 6.0).exp();
            let weekend_evening = if day >= 5 && hour >= 17.0 { 1.8 } else { 1.0 };
            rhythm * weekend_evening
        })
        .collect();
    let total: f64 = shape.iter().sum();
    shape.iter().map(|s| s * per_day * 7.0 / total).collect()
}

/// Event times (seconds from the first Monday 00:00) over `weeks` weeks.
fn history(lambda: &[f64], weeks: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut times = Vec::new();
    for w in 0..weeks {
        for (h, l) in lambda.iter().enumerate() {
            let n = Poisson::new(*l).unwrap().sample(&mut rng) as usize;
            for k in 0..n {
                let t = ((w * WEEK_H + h) as f64 + (k as f64 + 0.5) / (n as f64 + 1.0)) * 3600.0;
                times.push(t);
            }
        }
    }
    times
}

#[test]
fn a_busy_types_rate_and_weekly_shape_are_recovered() {
    let want = truth(150.0);
    let counts = weekly_counts(&history(&want, 8, 1), 8);
    let t = learn(&counts).unwrap();
    assert!(
        (t.per_day - 150.0).abs() < 150.0 * 0.03,
        "per day {}",
        t.per_day
    );
    let mean = want.iter().sum::<f64>() / WEEK_H as f64;
    let mae = t
        .hour_of_week
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / WEEK_H as f64;
    assert!(mae < 0.12 * mean, "mean abs error {mae} vs mean {mean}");
    // Saturday 19:00 is busier than Wednesday 19:00, as in the truth (1.8×).
    let (sat, wed) = (t.hour_of_week[5 * 24 + 19], t.hour_of_week[2 * 24 + 19]);
    assert!(sat > 1.4 * wed, "weekend evenings: {sat} vs {wed}");
}

#[test]
fn a_sparse_type_leans_on_its_daily_rhythm_and_beats_the_raw_means() {
    let (mut kappa_sparse, mut kappa_busy) = (0.0, 0.0);
    let (mut shrunk, mut raw) = (0.0, 0.0);
    for seed in 1..=10 {
        let sparse = truth(4.0);
        let counts = weekly_counts(&history(&sparse, 8, seed), 8);
        let t = learn(&counts).unwrap();
        kappa_sparse += t.kappa;
        kappa_busy += learn(&weekly_counts(&history(&truth(150.0), 8, seed), 8))
            .unwrap()
            .kappa;
        // Scored on two new weeks of the same process.
        let next = weekly_counts(&history(&sparse, 2, 1000 + seed), 2);
        let all: Vec<&[u32; WEEK_H]> = counts.iter().collect();
        let raw_rates = rates_with(&all, 0.0);
        for week in &next {
            shrunk += poisson_loglik(week, &t.hour_of_week);
            raw += poisson_loglik(week, &raw_rates);
        }
    }
    assert!(
        kappa_sparse > kappa_busy,
        "sparse κ {kappa_sparse} vs busy κ {kappa_busy}"
    );
    assert!(
        shrunk > raw,
        "held-out log-likelihood: shrunk {shrunk} vs raw {raw}"
    );
}

#[test]
fn a_longer_history_forecasts_better() {
    let (mut long, mut short) = (0.0, 0.0);
    for seed in 1..=10 {
        let truth = truth(20.0);
        let past = history(&truth, 8, seed);
        let eight = learn(&weekly_counts(&past, 8)).unwrap();
        // The last two of those weeks alone.
        let recent: Vec<f64> = past
            .iter()
            .filter(|t| **t >= 6.0 * WEEK_H as f64 * 3600.0)
            .map(|t| t - 6.0 * WEEK_H as f64 * 3600.0)
            .collect();
        let two = learn(&weekly_counts(&recent, 2)).unwrap();
        for week in &weekly_counts(&history(&truth, 2, 500 + seed), 2) {
            long += poisson_loglik(week, &eight.hour_of_week);
            short += poisson_loglik(week, &two.hour_of_week);
        }
    }
    assert!(long > short, "8 weeks {long} vs 2 weeks {short}");
}

/// Poisson event times (uniform within each hour) from hourly rates `lambda`.
fn poisson_times(lambda: &[f64], weeks: usize, seed: u64) -> Vec<f64> {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut times = Vec::new();
    for w in 0..weeks {
        for (h, l) in lambda.iter().enumerate() {
            let n = Poisson::new(*l).unwrap().sample(&mut rng) as usize;
            for _ in 0..n {
                times.push(((w * WEEK_H + h) as f64 + rng.random::<f64>()) * 3600.0);
            }
        }
    }
    times
}

#[test]
fn time_rescaling_accepts_the_learned_timing_and_rejects_a_flat_one() {
    use binjiang_learn::rates::time_rescaling_ks;
    let want = truth(40.0);
    // Recorded to the minute, as exports are.
    let times: Vec<f64> = poisson_times(&want, 8, 7)
        .iter()
        .map(|t| (t / 60.0).floor() * 60.0)
        .collect();
    let learned = learn(&weekly_counts(&times, 8)).unwrap();
    let (_, p) = time_rescaling_ks(&times, &learned, 60.0).unwrap();
    assert!(p > 0.01, "the learned timing explains the times: p = {p}");
    let flat = binjiang_learn::Timing {
        hour_of_week: vec![learned.per_day / 24.0; WEEK_H],
        ..learned.clone()
    };
    let (_, p_flat) = time_rescaling_ks(&times, &flat, 60.0).unwrap();
    assert!(p_flat < 1e-6, "a flat rate does not: p = {p_flat}");
    // Without spreading ties, minute-binned times would be rejected by their zero gaps.
    let (_, p_raw) = time_rescaling_ks(&times, &learned, 0.0).unwrap();
    assert!(p_raw < p, "ties unspread {p_raw} vs spread {p}");
}
