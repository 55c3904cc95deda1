//! How long things take — report delays, on-scene times — fitted by maximum likelihood.
//!
//! Durations are positive and right-skewed: a lognormal (closed-form MLE on the logs) and a
//! gamma (MLE by Newton's method on the shape, from the Minka/Choi–Wette start) are fitted,
//! and the one with the lower AIC is kept — both have two parameters, so AIC compares their
//! likelihoods. How well the kept one fits is said, not assumed: the Kolmogorov–Smirnov
//! statistic against it and its p-value (the asymptotic Kolmogorov distribution with
//! Stephens' small-sample correction; with parameters estimated from the same data the
//! p-value is conservative, and the docs say so).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Gamma, LogNormal};
use statrs::function::gamma::{digamma, ln_gamma};

/// A distribution family fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// ln X ~ Normal(mu, sigma).
    Lognormal,
    /// Gamma(shape, rate).
    Gamma,
}

/// A fitted duration distribution, seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// The family kept (lower AIC).
    pub dist: Family,
    /// Lognormal: mu; gamma: shape.
    pub a: f64,
    /// Lognormal: sigma; gamma: rate (per second).
    pub b: f64,
    /// How many durations.
    pub n: usize,
    /// Median of the fitted distribution, seconds.
    pub median: f64,
    /// 90th percentile of the fitted distribution, seconds.
    pub p90: f64,
    /// AIC of the lognormal and of the gamma fit.
    pub aic: (f64, f64),
    /// Kolmogorov–Smirnov statistic of the data against the kept fit.
    pub ks_d: f64,
    /// Its p-value.
    pub ks_p: f64,
}

impl Fit {
    /// The fitted distribution's `p` quantile, seconds (a QQ plot's model side).
    pub fn quantile(&self, p: f64) -> f64 {
        let p = p.clamp(1e-9, 1.0 - 1e-9);
        match self.dist {
            Family::Lognormal => {
                LogNormal::new(self.a, self.b).map_or(f64::NAN, |d| d.inverse_cdf(p))
            }
            Family::Gamma => Gamma::new(self.a, self.b).map_or(f64::NAN, |d| d.inverse_cdf(p)),
        }
    }
}

/// Fewest durations a fit is made from.
pub const MIN_N: usize = 8;

/// Fits `durations` (seconds; non-positive and non-finite values are left out). `None` with
/// fewer than [`MIN_N`] usable values, or when every value is the same (no spread to fit).
pub fn fit(durations: &[f64]) -> Option<Fit> {
    let mut x: Vec<f64> = durations
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let n = x.len();
    if n < MIN_N {
        return None;
    }
    x.sort_by(f64::total_cmp);
    let nf = n as f64;
    let logs: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let mean_log = logs.iter().sum::<f64>() / nf;
    let var_log = logs.iter().map(|l| (l - mean_log).powi(2)).sum::<f64>() / nf;
    if var_log <= 1e-12 {
        return None;
    }
    // Lognormal MLE: the logs' mean and (1/n) standard deviation.
    let (mu, sigma) = (mean_log, var_log.sqrt());
    let ll_lognormal = logs
        .iter()
        .map(|l| {
            -l - sigma.ln()
                - 0.5 * (2.0 * std::f64::consts::PI).ln()
                - (l - mu).powi(2) / (2.0 * sigma * sigma)
        })
        .sum::<f64>();
    // Gamma MLE: s = ln(mean) − mean(ln x); solve ln k − ψ(k) = s by Newton from the
    // closed-form start, then rate = k / mean.
    let mean = x.iter().sum::<f64>() / nf;
    let s = mean.ln() - mean_log;
    let mut k = (3.0 - s + ((s - 3.0).powi(2) + 24.0 * s).sqrt()) / (12.0 * s);
    for _ in 0..50 {
        let f = k.ln() - digamma(k) - s;
        let df = 1.0 / k - trigamma(k);
        let next = (k - f / df).max(k / 10.0);
        if (next - k).abs() < 1e-12 * k {
            k = next;
            break;
        }
        k = next;
    }
    let rate = k / mean;
    let ll_gamma = x
        .iter()
        .zip(&logs)
        .map(|(v, l)| k * rate.ln() - ln_gamma(k) + (k - 1.0) * l - rate * v)
        .sum::<f64>();
    let aic = (4.0 - 2.0 * ll_lognormal, 4.0 - 2.0 * ll_gamma);
    let lognormal = LogNormal::new(mu, sigma).ok()?;
    let gamma = Gamma::new(k, rate).ok()?;
    let (dist, a, b, cdf): (Family, f64, f64, Box<dyn Fn(f64) -> f64>) = if aic.0 <= aic.1 {
        (
            Family::Lognormal,
            mu,
            sigma,
            Box::new(move |v| lognormal.cdf(v)),
        )
    } else {
        (Family::Gamma, k, rate, Box::new(move |v| gamma.cdf(v)))
    };
    let ks_d = ks_statistic(&x, cdf);
    let (median, p90) = match dist {
        Family::Lognormal => (lognormal.inverse_cdf(0.5), lognormal.inverse_cdf(0.9)),
        Family::Gamma => (gamma.inverse_cdf(0.5), gamma.inverse_cdf(0.9)),
    };
    Some(Fit {
        dist,
        a,
        b,
        n,
        median,
        p90,
        aic,
        ks_d,
        ks_p: kolmogorov_p(ks_d, n),
    })
}

/// The Kolmogorov–Smirnov statistic of `sorted` values against `cdf`: the largest gap between
/// the empirical distribution (on either side of each step) and the distribution.
pub fn ks_statistic(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let f = cdf(*v);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

/// ψ′(k): the series for small k, the asymptotic expansion beyond.
fn trigamma(mut k: f64) -> f64 {
    let mut sum = 0.0;
    while k < 10.0 {
        sum += 1.0 / (k * k);
        k += 1.0;
    }
    let k2 = 1.0 / (k * k);
    sum + 1.0 / k + k2 / 2.0 + (1.0 / 6.0 - k2 * (1.0 / 30.0 - k2 / 42.0)) * k2 / k
}

/// P(D ≥ d) for the KS statistic of `n` values: the Kolmogorov series at
/// λ = (√n + 0.12 + 0.11/√n)·d (Stephens 1970).
pub fn kolmogorov_p(d: f64, n: usize) -> f64 {
    let sn = (n as f64).sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    if lambda < 1e-3 {
        return 1.0;
    }
    let mut sum = 0.0;
    for j in 1..=100 {
        let term = 2.0 * (-1f64).powi(j - 1) * (-2.0 * f64::from(j * j) * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-12 {
            break;
        }
    }
    sum.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigamma_matches_known_values() {
        // ψ′(1) = π²/6, ψ′(1/2) = π²/2.
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-9);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-9);
    }

    #[test]
    fn kolmogorov_p_is_a_probability_falling_with_d() {
        assert_eq!(kolmogorov_p(0.0, 100), 1.0);
        let (a, b) = (kolmogorov_p(0.05, 100), kolmogorov_p(0.2, 100));
        assert!(a > b && b > 0.0 && a <= 1.0, "{a} {b}");
        // The 5 % critical value for large n is about 1.36/√n.
        let p = kolmogorov_p(1.358 / 1000f64.sqrt(), 1000);
        assert!((p - 0.05).abs() < 0.005, "{p}");
    }

    #[test]
    fn too_few_or_no_spread_is_no_fit() {
        assert!(fit(&[1.0, 2.0, 3.0]).is_none());
        assert!(fit(&[5.0; 20]).is_none());
        assert!(fit(&[-1.0, 0.0, f64::NAN, 1.0, 2.0]).is_none());
    }
}
