//! Does the tide come back? A pier's counts every 15 minutes for eight weeks, negative
//! binomial around a known weekly tide (quiet nights, a weekday lunch, Saturday evenings twice
//! as busy): the means, the dispersion, the peak hour and the 99th percentiles are recovered,
//! and on a new week about 1 % of the counts lie above the learned 99th percentile.

use binjiang_learn::crowd::{nb_quantile, tides, Count};
use binjiang_learn::WEEK_H;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Poisson};

const K: f64 = 8.0;

fn true_mean(h: usize) -> f64 {
    let (day, hour) = (h / 24, h % 24);
    let base = 5.0 + 60.0 * (-((hour as f64 - 13.0) / 4.0).powi(2)).exp();
    let evening = if (18..=21).contains(&hour) { 80.0 } else { 0.0 };
    (base + evening) * if day == 5 { 2.0 } else { 1.0 }
}

fn draw(weeks: std::ops::Range<i64>, seed: u64) -> Vec<Count> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for w in weeks {
        for q in 0..WEEK_H * 4 {
            let m = true_mean(q / 4);
            let lambda = Gamma::new(K, m / K).unwrap().sample(&mut rng);
            let n = Poisson::new(lambda.max(1e-9)).unwrap().sample(&mut rng) as u32;
            out.push(Count {
                time_ms: (w * WEEK_H as i64 * 4 + q as i64) * 900_000,
                site: "pier-003".into(),
                lon: 121.532,
                lat: 31.2537,
                count: n,
            });
        }
    }
    out
}

#[test]
fn the_tide_and_its_percentiles_are_recovered() {
    let t = &tides(&draw(0..8, 1), 0, 8)["pier-003"];
    assert_eq!(t.interval_s, 900.0);
    assert_eq!(t.counts, 8 * WEEK_H * 4);
    let k = t.dispersion.expect("overdispersed");
    assert!((k - K).abs() < 0.2 * K, "dispersion {k}");
    for h in 0..WEEK_H {
        let m = true_mean(h);
        // 32 counts per hour of the week: within 3.5 standard errors.
        let se = ((m + m * m / K) / 32.0).sqrt();
        assert!(
            (t.mean[h] - m).abs() < 3.5 * se,
            "hour {h}: {} vs {m}",
            t.mean[h]
        );
        let (lo, hi) = (
            nb_quantile(m - 3.5 * se, Some(1.2 * K), 0.99),
            nb_quantile(m + 3.5 * se, Some(0.8 * K), 0.99),
        );
        assert!(
            (lo..=hi).contains(&t.p99[h]),
            "hour {h}: p99 {} outside {lo}..={hi}",
            t.p99[h]
        );
    }
    // Saturday 19:00–21:00 is the peak; the night is the trough.
    assert!(
        t.peak_hours
            .iter()
            .all(|h| h / 24 == 5 && (18..=21).contains(&(h % 24))),
        "{:?}",
        t.peak_hours
    );
    assert!(
        t.trough_hours.iter().all(|h| !(8..=22).contains(&(h % 24))),
        "{:?}",
        t.trough_hours
    );
    // A new week: about 1 % above the learned p99 (an anomaly rule that fires at the rate
    // it says).
    let new = draw(8..10, 2);
    let above = new
        .iter()
        .filter(|c| c.count > t.p99[((c.time_ms / 3_600_000) as usize) % WEEK_H])
        .count();
    let share = above as f64 / new.len() as f64;
    assert!((0.003..0.025).contains(&share), "{share} above p99");
}
