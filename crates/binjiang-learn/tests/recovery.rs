//! Does the learner recover the truth? Durations drawn from known distributions (the kinds of
//! on-scene times and report delays the Yangpu catalogue assumes) are fitted: the right family
//! is chosen, its median and p90 land near the truth, and the KS p-value does not reject it,
//! while it does reject a clearly wrong fit.

use binjiang_learn::{fit, Family};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, LogNormal};

fn draws(d: impl Distribution<f64>, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| d.sample(&mut rng)).collect()
}

fn near(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want
}

#[test]
fn a_lognormal_on_scene_time_is_recovered() {
    // Median 410 s, p90 900 s: mu = ln 410, sigma = ln(900/410)/1.2816.
    let (mu, sigma) = (410f64.ln(), (900.0f64 / 410.0).ln() / 1.281_551_6);
    let mut chosen_right = 0;
    for seed in 1..=20 {
        let x = draws(LogNormal::new(mu, sigma).unwrap(), 2000, seed);
        let f = fit(&x).unwrap();
        chosen_right += usize::from(f.dist == Family::Lognormal);
        assert!(
            near(f.median, 410.0, 0.06),
            "seed {seed}: median {}",
            f.median
        );
        assert!(near(f.p90, 900.0, 0.08), "seed {seed}: p90 {}", f.p90);
        assert!(
            f.ks_p > 0.001,
            "seed {seed}: the true family rejected, {f:?}"
        );
    }
    assert!(
        chosen_right >= 18,
        "AIC picked the lognormal {chosen_right} times in 20"
    );
}

#[test]
fn a_gamma_report_delay_is_recovered() {
    // Shape 2.5, mean 300 s.
    let (shape, scale) = (2.5, 120.0);
    let mut chosen_right = 0;
    for seed in 1..=20 {
        let x = draws(Gamma::new(shape, scale).unwrap(), 2000, seed);
        let f = fit(&x).unwrap();
        chosen_right += usize::from(f.dist == Family::Gamma);
        if f.dist == Family::Gamma {
            assert!(near(f.a, shape, 0.1), "seed {seed}: shape {}", f.a);
            assert!(near(f.b, 1.0 / scale, 0.1), "seed {seed}: rate {}", f.b);
        }
        let truth = statrs::distribution::Gamma::new(shape, 1.0 / scale).unwrap();
        let median = statrs::distribution::ContinuousCDF::inverse_cdf(&truth, 0.5);
        assert!(
            near(f.median, median, 0.06),
            "seed {seed}: median {} vs {median}",
            f.median
        );
        assert!(f.ks_p > 0.001, "seed {seed}: {f:?}");
    }
    assert!(
        chosen_right >= 18,
        "AIC picked the gamma {chosen_right} times in 20"
    );
}

#[test]
fn a_wrong_shape_is_flagged_by_its_ks_p_value() {
    // A two-humped mix (quick fixes and long jobs) fits neither family: KS says so.
    let mut x = draws(LogNormal::new(60f64.ln(), 0.2).unwrap(), 1500, 3);
    x.extend(draws(LogNormal::new(1800f64.ln(), 0.2).unwrap(), 1500, 4));
    let f = fit(&x).unwrap();
    assert!(f.ks_p < 1e-6, "{f:?}");
}
