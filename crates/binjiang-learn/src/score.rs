//! How good a forecast is, scored on held-out weeks the way the field scores hot-spot
//! forecasts (open_cp's evaluation, the NIJ Real-Time Crime Forecasting Challenge):
//!
//! - the Poisson log score per held-out incident: how likely the counts actually seen in each
//!   cell and hour were under the forecast (higher is better; it rewards calibration as well
//!   as ranking);
//! - the hit rate and the PAI (predictive accuracy index) at a share of the grid's area: flag
//!   the cells the forecast ranks highest until they cover that share; the hit rate is the
//!   share of held-out incidents that fell in them, the PAI the hit rate over the area share
//!   (1 is no better than chance);
//! - the coverage of 90 % intervals: the share of held-out hours whose total count fell in
//!   the forecast's central 90 % Poisson interval (0.9 is calibrated; less is overconfident).
//!
//! Cells are taken as equal in area (the grid's cells are squares; a clipped edge cell counts
//! as a whole one).

use serde::Serialize;
use statrs::function::factorial::ln_factorial;

/// ln P(K = `k`) for a Poisson count of mean `lambda` (> 0): what the rates' choice of prior
/// weight and the held-out log score both sum.
pub fn poisson_ln_pmf(k: u64, lambda: f64) -> f64 {
    k as f64 * lambda.ln() - lambda - ln_factorial(k)
}

/// Poisson log-likelihood of `observed` counts under `expected` means, per observed incident:
/// both indexed [hour][cell]. `None` when nothing was observed.
pub fn log_score(expected: &[Vec<f64>], observed: &[Vec<u32>]) -> Option<f64> {
    let mut total = 0.0;
    let mut incidents = 0u64;
    for (e_hour, o_hour) in expected.iter().zip(observed) {
        for (e, o) in e_hour.iter().zip(o_hour) {
            let k = u64::from(*o);
            total += poisson_ln_pmf(k, e.max(1e-9));
            incidents += k;
        }
    }
    (incidents > 0).then(|| total / incidents as f64)
}

/// Hit rate and PAI at `area_share` of the grid: the cells ranked by `expected` (their totals
/// over the held-out period) until they cover that share, against the cells the held-out
/// incidents fell in. Ties are broken by cell order, so the result is deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct HitRate {
    /// Share of held-out incidents in the flagged cells.
    pub hit_rate: f64,
    /// `hit_rate` over the flagged share of the area.
    pub pai: f64,
}

/// See [`HitRate`].
pub fn hit_rate(expected: &[f64], incident_cells: &[usize], area_share: f64) -> Option<HitRate> {
    let n = expected.len();
    if n == 0 || incident_cells.is_empty() || !(area_share > 0.0 && area_share <= 1.0) {
        return None;
    }
    let flagged_n = ((area_share * n as f64).round() as usize).clamp(1, n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| expected[*b].total_cmp(&expected[*a]).then(a.cmp(b)));
    let mut flagged = vec![false; n];
    for &c in &order[..flagged_n] {
        flagged[c] = true;
    }
    let hits = incident_cells
        .iter()
        .filter(|c| flagged.get(**c).copied().unwrap_or(false))
        .count();
    let hit_rate = hits as f64 / incident_cells.len() as f64;
    Some(HitRate {
        hit_rate,
        pai: hit_rate / (flagged_n as f64 / n as f64),
    })
}

/// Share of hours whose observed total fell inside the central 90 % Poisson interval of the
/// expected total.
pub fn coverage_90(expected: &[f64], observed: &[u32]) -> Option<f64> {
    let mut inside = 0usize;
    let mut hours = 0usize;
    for (e, o) in expected.iter().zip(observed) {
        hours += 1;
        let (lo, hi) = interval_90(*e);
        if (lo..=hi).contains(&u64::from(*o)) {
            inside += 1;
        }
    }
    (hours > 0).then(|| inside as f64 / hours as f64)
}

/// The central 90 % interval of a Poisson count with mean `mean`: [5 % quantile, 95 %].
/// (statrs' `inverse_cdf` panics for means near zero, so the quantiles are found by summing
/// the probabilities; past a mean of 400 the normal approximation is used.)
pub fn interval_90(mean: f64) -> (u64, u64) {
    if !(mean.is_finite() && mean > 0.0) {
        return (0, 0);
    }
    if mean > 400.0 {
        let sd = mean.sqrt();
        let at = |z: f64| (mean + z * sd).round().max(0.0) as u64;
        return (at(-1.644_854), at(1.644_854));
    }
    let (mut k, mut p, mut cdf) = (0u64, (-mean).exp(), (-mean).exp());
    let mut lo = None;
    loop {
        if lo.is_none() && cdf >= 0.05 {
            lo = Some(k);
        }
        if cdf >= 0.95 {
            return (lo.unwrap_or(k), k);
        }
        k += 1;
        p *= mean / k as f64;
        cdf += p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_hot_spot_forecast_hits_everything() {
        // 20 cells, every incident in cell 3, which the forecast ranks first.
        let mut expected = vec![0.1; 20];
        expected[3] = 5.0;
        let h = hit_rate(&expected, &[3, 3, 3, 3], 0.05).unwrap();
        assert_eq!(h.hit_rate, 1.0);
        assert!((h.pai - 20.0).abs() < 1e-9);
        // Chance: a flat forecast flags cell 0 first.
        let flat = hit_rate(&[1.0; 20], &[3, 3, 3, 3], 0.05).unwrap();
        assert_eq!(flat.hit_rate, 0.0);
        assert!(hit_rate(&[], &[1], 0.05).is_none());
    }

    #[test]
    fn intervals_and_scores() {
        assert_eq!(interval_90(0.0), (0, 0));
        // Poisson(10): P(X ≤ 4) = 0.029, P(X ≤ 5) = 0.067; P(X ≤ 14) = 0.917, P(X ≤ 15) = 0.951.
        assert_eq!(interval_90(10.0), (5, 15));
        assert_eq!(interval_90(1e-9), (0, 0));
        let (lo, hi) = interval_90(10_000.0);
        assert!(
            (9830..=9840).contains(&lo) && (10_160..=10_170).contains(&hi),
            "{lo} {hi}"
        );
        // The true mean scores better than a wrong one.
        let obs = vec![vec![2, 0, 1], vec![1, 1, 0]];
        let right = vec![vec![1.5, 0.3, 0.6]; 2];
        let wrong = vec![vec![0.1, 3.0, 0.1]; 2];
        assert!(log_score(&right, &obs).unwrap() > log_score(&wrong, &obs).unwrap());
        assert!(log_score(&right, &[vec![0, 0, 0]]).is_none());
    }
}
