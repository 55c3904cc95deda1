//! A type's intensity over cells and hours — λ(cell, hour of week) = its hour-of-week rate ×
//! its share of the cell — and the simple baseline it must beat.

use crate::durations::Fit;
use crate::rates::{weekly_counts, Timing, WEEK_H};
use crate::score::{coverage_90, hit_rate, log_score, HitRate};
use crate::spatial::{Cell, Density};
use serde::Serialize;

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

/// One type's records, as the learner needs them.
#[derive(Debug, Clone, Default)]
pub struct TypeHistory {
    /// When each event arose, seconds since the history's first Monday 00:00 (local).
    pub times_s: Vec<f64>,
    /// The grid cell each fell in (same order as `times_s`).
    pub cells: Vec<usize>,
    /// On-scene durations, seconds (where the records have them).
    pub on_scene_s: Vec<f64>,
    /// Report delays, seconds (where the records have them).
    pub report_delay_s: Vec<f64>,
    /// What is known beforehand of where the type arises: shares per cell in the grid's
    /// order (the scene's catalogue places), or empty.
    pub prior_share: Vec<f64>,
}

impl TypeHistory {
    /// The resolution the times were recorded to — 60 when every one is a whole minute, 1
    /// when every one is a whole second, else 0 — read off the times themselves (they count
    /// from a local midnight, itself a whole minute): the time-rescaling test spreads ties
    /// within it.
    pub fn bin_s(&self) -> f64 {
        if self.times_s.iter().all(|t| t % 60.0 == 0.0) {
            60.0
        } else if self.times_s.iter().all(|t| t.fract() == 0.0) {
            1.0
        } else {
            0.0
        }
    }
}

/// What was learned of one type, on all the weeks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeModel {
    /// Events used.
    pub events: usize,
    /// When (None with fewer than two weeks).
    pub timing: Option<Timing>,
    /// Where (None without events).
    pub density: Option<Density>,
    /// On-scene time.
    pub on_scene: Option<Fit>,
    /// Report delay.
    pub report_delay: Option<Fit>,
    /// p-value of the time-rescaling test of the timing.
    pub ks_rescaled_p: Option<f64>,
}

/// Learns type `h` over `weeks` whole weeks on a grid of `cells` of `cell_m` metres.
pub fn fit_type(h: &TypeHistory, cells: &[Cell], cell_m: f64, weeks: usize) -> TypeModel {
    let timing = crate::rates::learn(&weekly_counts(&h.times_s, weeks));
    let ks_rescaled_p = timing
        .as_ref()
        .and_then(|t| crate::rates::time_rescaling_ks(&h.times_s, t, h.bin_s()))
        .map(|(_, p)| p);
    TypeModel {
        events: h.times_s.len(),
        density: crate::spatial::learn(cells, &h.cells, cell_m, &h.prior_share),
        timing,
        on_scene: crate::durations::fit(&h.on_scene_s),
        report_delay: crate::durations::fit(&h.report_delay_s),
        ks_rescaled_p,
    }
}

/// The forecasts compared on held-out weeks.
pub const FORECASTERS: [&str; 3] = ["model", "last4weeks", "catalogue"];

/// One forecaster's scores on the held-out weeks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Scores {
    /// Poisson log score per held-out incident.
    pub log_score: f64,
    /// Hit rate and PAI at 5 % of the area.
    pub hit_5pct: HitRate,
    /// Hit rate and PAI at 10 % of the area.
    pub hit_10pct: HitRate,
    /// Coverage of 90 % intervals of the hourly counts.
    pub coverage_90: f64,
}

/// How one type's forecasts did on the held-out weeks, per forecaster of [`FORECASTERS`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holdout {
    /// Held-out incidents.
    pub incidents: usize,
    /// Scores in the order of [`FORECASTERS`].
    pub scores: Vec<Scores>,
    /// The hit rate at each area share of [`PAI_CURVE`], per forecaster.
    pub pai_curve: Vec<Vec<f64>>,
    /// Calibration: per forecaster, (expected, observed) hourly totals binned by expected.
    pub calibration: Vec<Vec<(f64, f64)>>,
}

/// Area shares of the PAI curve in the report.
pub const PAI_CURVE: [f64; 10] = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0];

/// Learns type `h` on the weeks before `train_weeks` and scores it on the `holdout_weeks`
/// after, against baseline (a), the last four training weeks, and baseline (b), the
/// catalogue's own forecast `catalogue` ([hour of the held-out period][cell]). `None` when
/// nothing could be learned or nothing was held out.
pub fn holdout(
    h: &TypeHistory,
    cells: &[Cell],
    cell_m: f64,
    train_weeks: usize,
    holdout_weeks: usize,
    catalogue: &[Vec<f64>],
) -> Option<Holdout> {
    let split_s = (train_weeks * WEEK_H) as f64 * 3600.0;
    let (mut train_t, mut train_c, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (t, c) in h.times_s.iter().zip(&h.cells) {
        if *t < split_s {
            train_t.push(*t);
            train_c.push(*c);
        } else {
            test.push((*t, *c));
        }
    }
    let timing = crate::rates::learn(&weekly_counts(&train_t, train_weeks))?;
    let density = crate::spatial::learn(cells, &train_c, cell_m, &h.prior_share)?;
    let hours = holdout_weeks * WEEK_H;
    let mut observed = vec![vec![0u32; cells.len()]; hours];
    let mut hit_cells = Vec::new();
    for (t, c) in &test {
        let k = ((t - split_s) / 3600.0) as usize;
        if k < hours && *c < cells.len() {
            observed[k][*c] += 1;
            hit_cells.push(*c);
        }
    }
    if hit_cells.is_empty() {
        return None;
    }
    let recent = 4.min(train_weeks);
    let from = split_s - (recent * WEEK_H) as f64 * 3600.0;
    let mut last4 = vec![0u32; cells.len()];
    for (t, c) in train_t.iter().zip(&train_c) {
        if *t >= from {
            last4[*c] += 1;
        }
    }
    let forecasts = [
        expected(&timing, &density, 0, hours),
        last_weeks(&last4, recent, hours),
        catalogue.iter().take(hours).cloned().collect(),
    ];
    let seen: Vec<u32> = observed.iter().map(|o| o.iter().sum()).collect();
    let mut scores = Vec::new();
    let mut pai_curve = Vec::new();
    let mut calibration = Vec::new();
    for f in &forecasts {
        let totals: Vec<f64> = (0..cells.len())
            .map(|c| f.iter().map(|hr| hr[c]).sum())
            .collect();
        let per_hour: Vec<f64> = f.iter().map(|hr| hr.iter().sum()).collect();
        let at = |share: f64| hit_rate(&totals, &hit_cells, share).unwrap_or_default();
        scores.push(Scores {
            log_score: log_score(f, &observed).unwrap_or(f64::NEG_INFINITY),
            hit_5pct: at(0.05),
            hit_10pct: at(0.10),
            coverage_90: coverage_90(&per_hour, &seen).unwrap_or(0.0),
        });
        pai_curve.push(PAI_CURVE.iter().map(|s| at(*s).hit_rate).collect());
        calibration.push(calibrate(&per_hour, &seen));
    }
    Some(Holdout {
        incidents: hit_cells.len(),
        scores,
        pai_curve,
        calibration,
    })
}

/// Hours binned into deciles of the expected count: each bin's mean expected and mean
/// observed total (a reliability diagram's points).
fn calibrate(expected: &[f64], observed: &[u32]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..expected.len()).collect();
    order.sort_by(|a, b| expected[*a].total_cmp(&expected[*b]).then(a.cmp(b)));
    let bins = 10.min(order.len());
    (0..bins)
        .filter_map(|b| {
            let part = &order[b * order.len() / bins..(b + 1) * order.len() / bins];
            (!part.is_empty()).then(|| {
                let n = part.len() as f64;
                (
                    part.iter().map(|i| expected[*i]).sum::<f64>() / n,
                    part.iter().map(|i| f64::from(observed[*i])).sum::<f64>() / n,
                )
            })
        })
        .collect()
}
