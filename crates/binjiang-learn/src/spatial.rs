//! Where incidents happen: a type's density over the grid's cells.
//!
//! Real records cluster at places — a mall, a station, a pier — and are thin elsewhere. A
//! kernel density alone washes a hot cell out over its neighbours; raw cell shares alone give
//! every cell without events in the history a density of nothing. The density here is a
//! mixture of the two: p_c = w·raw_c + (1 − w)·kde_h(c), where raw_c is the cell's share of
//! events (with half an event of floor spread over the grid) and kde_h a Gaussian kernel
//! density of bandwidth h, truncated at 4h. Both h and w are chosen by held-out likelihood
//! (events split into 5 folds): a type with a few hot places keeps them (w large), a
//! diffuse one is smoothed (w small). One mixture weight for the whole grid still shaves a
//! hot cell among a smooth background (w is pulled down by the background's noise), so a
//! cell hot on its own — more events than the kernel of its neighbours makes plausible at
//! 0.1 % after Bonferroni over the cells — keeps its own raw share, and the other cells
//! share the rest by the mixture.

use serde::Serialize;

/// A cell of the grid, as the density needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Column.
    pub col: i32,
    /// Row.
    pub row: i32,
}

/// A type's learned density.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Density {
    /// Share of the type's events in each cell, in the grid's order; sums to 1.
    pub share: Vec<f64>,
    /// The kernel's bandwidth, metres.
    pub bandwidth_m: f64,
    /// The raw shares' weight in the mixture.
    pub raw_weight: f64,
    /// The prior's weight in the mixture (0 without one).
    pub prior_weight: f64,
}

/// Bandwidths tried, in cells.
const BANDWIDTHS: [f64; 6] = [0.5, 1.0, 1.5, 2.5, 4.0, 7.0];
/// Raw weights tried.
const WEIGHTS: [f64; 7] = [0.0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85];
/// Prior weights tried, where a prior is given.
const PRIOR_WEIGHTS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 0.9];
/// Folds of the held-out choice.
const FOLDS: usize = 5;

/// Events per cell.
fn counts_of(n: usize, events: &[usize]) -> Vec<f64> {
    let mut counts = vec![0f64; n];
    for &e in events {
        if e < n {
            counts[e] += 1.0;
        }
    }
    counts
}

/// Half an event's worth of density spread over the grid: no cell is impossible.
fn floor(n: usize) -> f64 {
    0.5 / n as f64
}

/// Each cell's share of the events, floored.
fn raw_shares(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    let f = floor(counts.len());
    counts.iter().map(|c| (c + f) / (total + 0.5)).collect()
}

/// The Gaussian kernel density of the counts with bandwidth `h` (cells), truncated at 4h,
/// floored like the raw shares.
fn kernel_shares(cells: &[Cell], counts: &[f64], h: f64) -> Vec<f64> {
    let n = cells.len();
    let kde = kernel_sums(cells, counts, h);
    let total: f64 = kde.iter().sum();
    if total <= 0.0 {
        return vec![1.0 / n as f64; n];
    }
    let f = floor(n);
    kde.iter()
        .map(|k| (k / total + f) / (1.0 + f * n as f64))
        .collect()
}

/// Significance (after Bonferroni over the cells) at which a cell is hot on its own.
const HOT_ALPHA: f64 = 1e-3;

/// The cells hot on their own: more events than their neighbours' kernel (the cell's own
/// events left out) makes plausible, P(Poisson ≥ count) below [`HOT_ALPHA`] / cells.
fn hot_cells(cells: &[Cell], counts: &[f64], h: f64) -> Vec<bool> {
    use statrs::distribution::{DiscreteCDF, Poisson};
    let n = cells.len();
    let kde = kernel_sums(cells, counts, h);
    let total_events: f64 = counts.iter().sum();
    // Each cell's expectation from the others: its kernel sum less its own events (weight 1
    // at distance 0), on the mass the kernel spreads from every event.
    let own_out: Vec<f64> = kde
        .iter()
        .zip(counts)
        .map(|(k, c)| (k - c).max(0.0))
        .collect();
    let mass: f64 = kde.iter().sum::<f64>().max(1e-12);
    counts
        .iter()
        .zip(&own_out)
        .map(|(c, k)| {
            if *c < 3.0 {
                return false;
            }
            let expected = (k / mass * total_events).max(0.5 / n as f64);
            Poisson::new(expected).is_ok_and(|p| p.sf(*c as u64 - 1) < HOT_ALPHA / n as f64)
        })
        .collect()
}

/// Unnormalised Gaussian kernel sums of the counts with bandwidth `h` (cells), truncated at
/// 4h.
fn kernel_sums(cells: &[Cell], counts: &[f64], h: f64) -> Vec<f64> {
    let n = cells.len();
    let (c0, r0) = (
        cells.iter().map(|c| c.col).min().unwrap_or(0),
        cells.iter().map(|c| c.row).min().unwrap_or(0),
    );
    let (c1, r1) = (
        cells.iter().map(|c| c.col).max().unwrap_or(0),
        cells.iter().map(|c| c.row).max().unwrap_or(0),
    );
    let width = (c1 - c0 + 1) as usize;
    let mut at = vec![usize::MAX; width * (r1 - r0 + 1) as usize];
    for (i, c) in cells.iter().enumerate() {
        at[(c.row - r0) as usize * width + (c.col - c0) as usize] = i;
    }
    let reach = (4.0 * h).ceil() as i32;
    let weights: Vec<f64> = (0..=reach)
        .flat_map(|dr| (0..=reach).map(move |dc| f64::from(dc * dc + dr * dr)))
        .map(|d2| (-d2 / (2.0 * h * h)).exp())
        .collect();
    let side = (reach + 1) as usize;
    let mut kde = vec![0f64; n];
    for (i, c) in cells.iter().enumerate() {
        if counts[i] == 0.0 {
            continue;
        }
        for row in (c.row - reach).max(r0)..=(c.row + reach).min(r1) {
            for col in (c.col - reach).max(c0)..=(c.col + reach).min(c1) {
                let j = at[(row - r0) as usize * width + (col - c0) as usize];
                if j != usize::MAX {
                    let k = (row - c.row).unsigned_abs() as usize * side
                        + (col - c.col).unsigned_abs() as usize;
                    kde[j] += counts[i] * weights[k];
                }
            }
        }
    }
    kde
}

/// `w`·raw + (1 − `w`)·kernel, normalised.
fn mix(raw: &[f64], kernel: &[f64], w: f64) -> Vec<f64> {
    let mixed: Vec<f64> = raw
        .iter()
        .zip(kernel)
        .map(|(r, k)| w * r + (1.0 - w) * k)
        .collect();
    let sum: f64 = mixed.iter().sum();
    mixed.iter().map(|m| m / sum).collect()
}

/// The density of `events` (cell indices) over `cells` with bandwidth `h` (cells) and raw
/// weight `w`.
pub fn density_with(cells: &[Cell], events: &[usize], h: f64, w: f64) -> Vec<f64> {
    density_with_prior(cells, events, h, w, &[], 0.0)
}

/// As [`density_with`], with `prior` (shares per cell; empty: none) taking weight `v` of the
/// smoothed part.
fn density_with_prior(
    cells: &[Cell],
    events: &[usize],
    h: f64,
    w: f64,
    prior: &[f64],
    v: f64,
) -> Vec<f64> {
    let counts = counts_of(cells.len(), events);
    let raw = raw_shares(&counts);
    let smooth = with_prior(kernel_shares(cells, &counts, h), prior, v);
    keep_hot(&raw, mix(&raw, &smooth, w), &hot_cells(cells, &counts, h))
}

/// (1 − `v`)·kernel + `v`·prior (the prior floored like the shares); the kernel alone without
/// a prior.
fn with_prior(kernel: Vec<f64>, prior: &[f64], v: f64) -> Vec<f64> {
    if prior.len() != kernel.len() || v <= 0.0 {
        return kernel;
    }
    let f = floor(kernel.len());
    let total: f64 = prior.iter().sum::<f64>() + f * kernel.len() as f64;
    kernel
        .iter()
        .zip(prior)
        .map(|(k, p)| (1.0 - v) * k + v * (p + f) / total)
        .collect()
}

/// The mixture with every hot cell given its own raw share and the other cells scaled to the
/// rest: a cell hot on its own is not washed out over its neighbours.
fn keep_hot(raw: &[f64], mixed: Vec<f64>, hot: &[bool]) -> Vec<f64> {
    let hot_raw: f64 = raw
        .iter()
        .zip(hot)
        .filter(|(_, h)| **h)
        .map(|(r, _)| r)
        .sum();
    let cold_mixed: f64 = mixed
        .iter()
        .zip(hot)
        .filter(|(_, h)| !**h)
        .map(|(m, _)| m)
        .sum();
    if hot_raw <= 0.0 || hot_raw >= 1.0 || cold_mixed <= 0.0 {
        return mixed;
    }
    let scale = (1.0 - hot_raw) / cold_mixed;
    mixed
        .iter()
        .zip(raw)
        .zip(hot)
        .map(|((m, r), h)| if *h { *r } else { m * scale })
        .collect()
}

/// Log-likelihood of `events` under `share`.
pub fn loglik(share: &[f64], events: &[usize]) -> f64 {
    events
        .iter()
        .filter_map(|e| share.get(*e))
        .map(|p| p.max(1e-12).ln())
        .sum()
}

/// Learns a type's density from its events' cells; `cell_m` is the grid's cell size. `prior`
/// (shares per cell, or empty) is what is known beforehand of where the type arises — the
/// asset register's sensors per cell — mixed into the smoothed part with a weight chosen,
/// like the bandwidth, by held-out likelihood (0 where it does not help).
pub fn learn(cells: &[Cell], events: &[usize], cell_m: f64, prior: &[f64]) -> Option<Density> {
    if cells.is_empty() || events.len() < FOLDS {
        return None;
    }
    let priors: &[f64] = if prior.len() == cells.len() && prior.iter().sum::<f64>() > 0.0 {
        &PRIOR_WEIGHTS
    } else {
        &PRIOR_WEIGHTS[..1]
    };
    // Held-out log-likelihood of every (bandwidth, prior weight, raw weight): the kernel is
    // computed once per fold and bandwidth, and mixed with each weight.
    let slots = BANDWIDTHS.len() * priors.len() * WEIGHTS.len();
    let slot = |a: usize, p: usize, b: usize| (a * priors.len() + p) * WEIGHTS.len() + b;
    let mut scores = vec![0f64; slots];
    for fold in 0..FOLDS {
        let in_fold = |k: &usize| k % FOLDS == fold;
        let train: Vec<usize> = (0..events.len())
            .filter(|k| !in_fold(k))
            .map(|k| events[k])
            .collect();
        let test: Vec<usize> = (0..events.len())
            .filter(in_fold)
            .map(|k| events[k])
            .collect();
        let counts = counts_of(cells.len(), &train);
        let raw = raw_shares(&counts);
        for (a, h) in BANDWIDTHS.iter().enumerate() {
            let kernel = kernel_shares(cells, &counts, *h);
            let hot = hot_cells(cells, &counts, *h);
            for (p, v) in priors.iter().enumerate() {
                let smooth = with_prior(kernel.clone(), prior, *v);
                for (b, w) in WEIGHTS.iter().enumerate() {
                    let share = keep_hot(&raw, mix(&raw, &smooth, *w), &hot);
                    scores[slot(a, p, b)] += loglik(&share, &test);
                }
            }
        }
    }
    let mut best = (f64::NEG_INFINITY, BANDWIDTHS[0], 0.0, WEIGHTS[0]);
    for (a, h) in BANDWIDTHS.iter().enumerate() {
        for (p, v) in priors.iter().enumerate() {
            for (b, w) in WEIGHTS.iter().enumerate() {
                let s = scores[slot(a, p, b)];
                if s > best.0 {
                    best = (s, *h, *v, *w);
                }
            }
        }
    }
    let (_, h, v, w) = best;
    Some(Density {
        share: density_with_prior(cells, events, h, w, prior, v),
        bandwidth_m: h * cell_m,
        raw_weight: w,
        prior_weight: v,
    })
}
