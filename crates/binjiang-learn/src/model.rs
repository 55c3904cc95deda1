//! A type's intensity over cells and hours — λ(cell, hour of week) = its hour-of-week rate ×
//! its share of the cell — and the simple baseline it must beat.

use crate::rates::{Timing, WEEK_H};
use crate::spatial::Density;

/// Expected events per cell in each of `hours` consecutive hours from hour-of-week `from`,
/// indexed [hour][cell].
pub fn expected(timing: &Timing, density: &Density, from: usize, hours: usize) -> Vec<Vec<f64>> {
    (0..hours)
        .map(|k| {
            let rate = timing.hour_of_week[(from + k) % WEEK_H];
            density.share.iter().map(|s| rate * s).collect()
        })
        .collect()
}

/// Baseline (a) of the issue: each cell's count over the last `weeks` training weeks,
/// spread evenly over the hours — the "same as the last month" a control room would use
/// without a model. Indexed [hour][cell].
pub fn last_weeks(cell_counts: &[u32], weeks: usize, hours: usize) -> Vec<Vec<f64>> {
    let per_hour: Vec<f64> = cell_counts
        .iter()
        .map(|c| f64::from(*c) / (weeks.max(1) * WEEK_H) as f64)
        .collect();
    vec![per_hour; hours]
}
