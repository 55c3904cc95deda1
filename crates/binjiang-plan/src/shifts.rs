//! When each unit's shift should start so that staffing follows the demand's hours
//! (`binjiang plan --shifts`).
//!
//! Hour h of the day is worth `value[h][n]` with n units on duty (the expected covered demand
//! of that hour with n units placed). Each unit works a shift of a given number of whole
//! hours, starting at a whole hour (shifts wrap past midnight). The plan maximises
//! Σ_h value[h][n_h]. With the marginal values m_{h,n} = value[h][n] − value[h][n−1]
//! falling in n (diminishing returns, as expected coverage has), it is an integer program
//! of the same shape as the covering one:
//!
//! ```text
//! maximise   Σ_h Σ_{n=1..N} m_{h,n} y_{h,n}
//! subject to Σ_n y_{h,n} ≤ Σ_{L, s: h in [s, s+L)} z_{L,s}   for every hour h
//!            Σ_s z_{L,s} = (units of length L)                 for every length L
//!            z_{L,s} ∈ {0, 1, …},  0 ≤ y_{h,n} ≤ 1
//! ```
//!
//! (units of one length are interchangeable, so only how many start at each hour matters).
//! Marginals that rise are lowered to the previous one first, so the program stays a bound
//! of what it models; the value reported is always the true one. Solved exactly with
//! microlp; if the solver fails, each unit in turn takes the start that adds most, then
//! single moves while any pays.

use crate::{Method, PlanError};
use good_lp::{
    constraint, microlp, variable, variables, Expression, Solution, SolverModel, WithTimeLimit,
};
use std::collections::BTreeMap;

/// Hours in a day.
pub const HOURS: usize = 24;

/// A shift-start instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftInstance {
    /// Per hour of the day (24), the value of n = 0, 1, … units on duty (at least as many
    /// entries as units; the last repeats beyond).
    pub value: Vec<Vec<f64>>,
    /// Each unit's shift length, whole hours (1–24; 24 is round the clock).
    pub lengths: Vec<u32>,
}

/// A plan of shift starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftPlan {
    /// Each unit's start hour (0–23), in the order of `lengths`.
    pub starts: Vec<u32>,
    /// Σ_h value[h][n_h] of the plan.
    pub value: f64,
    /// How it was found.
    pub method: Method,
}

impl ShiftInstance {
    fn check(&self) -> Result<(), PlanError> {
        if self.value.len() != HOURS {
            return Err(PlanError::Empty("shift values need 24 hours"));
        }
        if self.lengths.is_empty() {
            return Err(PlanError::Empty("no units to give shifts"));
        }
        if self.lengths.iter().any(|l| !(1..=24).contains(l)) {
            return Err(PlanError::Empty("shift lengths must be 1 to 24 hours"));
        }
        Ok(())
    }

    fn at(&self, h: usize, n: usize) -> f64 {
        let v = &self.value[h];
        v.get(n).or(v.last()).copied().unwrap_or(0.0)
    }

    /// Units on duty in each hour under `starts`.
    pub fn on_duty(&self, starts: &[u32]) -> [usize; HOURS] {
        let mut n = [0; HOURS];
        for (s, l) in starts.iter().zip(&self.lengths) {
            for k in 0..*l {
                n[(*s + k) as usize % HOURS] += 1;
            }
        }
        n
    }

    /// The value of a plan.
    pub fn total(&self, starts: &[u32]) -> f64 {
        self.on_duty(starts)
            .iter()
            .enumerate()
            .map(|(h, n)| self.at(h, *n))
            .sum()
    }
}

/// The best shift starts: exact within `time_limit_s`, else the heuristic.
pub fn solve_shifts(instance: &ShiftInstance, time_limit_s: f64) -> Result<ShiftPlan, PlanError> {
    instance.check()?;
    let heuristic = greedy_starts(instance);
    let (starts, method) = match exact(instance, time_limit_s) {
        Some(s) if instance.total(&s) >= instance.total(&heuristic) - 1e-9 => (s, Method::Mip),
        _ => (heuristic, Method::Heuristic),
    };
    Ok(ShiftPlan {
        value: instance.total(&starts),
        starts,
        method,
    })
}

fn exact(instance: &ShiftInstance, time_limit_s: f64) -> Option<Vec<u32>> {
    let n = instance.lengths.len();
    let mut by_length: BTreeMap<u32, usize> = BTreeMap::new();
    for l in &instance.lengths {
        *by_length.entry(*l).or_default() += 1;
    }
    let mut vars = variables!();
    let z: BTreeMap<(u32, usize), good_lp::Variable> = by_length
        .iter()
        .flat_map(|(l, count)| (0..HOURS).map(move |s| (*l, s, *count)))
        .map(|(l, s, count)| {
            (
                (l, s),
                vars.add(variable().integer().min(0.0).max(count as f64)),
            )
        })
        .collect();
    let mut objective = Expression::from(0.0);
    let mut y = Vec::with_capacity(HOURS);
    for h in 0..HOURS {
        let mut previous = f64::INFINITY;
        let mut row = Vec::with_capacity(n);
        for k in 1..=n {
            // Diminishing returns enforced: a rising marginal is lowered to the last one.
            let m = (instance.at(h, k) - instance.at(h, k - 1)).min(previous);
            previous = m;
            let v = vars.add(variable().min(0.0).max(1.0));
            objective += m * v;
            row.push(v);
        }
        y.push(row);
    }
    let mut model = vars
        .maximise(objective)
        .using(microlp)
        .with_time_limit(time_limit_s.max(0.1));
    for (h, row) in y.iter().enumerate() {
        let served: Expression = row.iter().copied().sum();
        let on: Expression = z
            .iter()
            .filter(|((l, s), _)| (h + HOURS - s) % HOURS < *l as usize)
            .map(|(_, v)| *v)
            .sum();
        model = model.with(constraint!(served <= on));
    }
    for (l, count) in &by_length {
        let starting: Expression = (0..HOURS).map(|s| z[&(*l, s)]).sum();
        model = model.with(constraint!(starting == *count as f64));
    }
    let solution = model.solve().ok()?;
    // Hand the starts of each length to that length's units in order.
    let mut starts_of: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for ((l, s), v) in &z {
        for _ in 0..solution.value(*v).round().max(0.0) as usize {
            starts_of.entry(*l).or_default().push(*s as u32);
        }
    }
    let mut starts = Vec::with_capacity(n);
    for l in &instance.lengths {
        starts.push(starts_of.get_mut(l)?.pop()?);
    }
    Some(starts)
}

/// Each unit (longest first) takes the start that adds most; then single moves while any
/// pays.
pub fn greedy_starts(instance: &ShiftInstance) -> Vec<u32> {
    let n = instance.lengths.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|k| std::cmp::Reverse(instance.lengths[*k]));
    let mut starts = vec![0u32; n];
    let mut placed: Vec<usize> = Vec::new();
    for k in order {
        placed.push(k);
        let sub = ShiftInstance {
            value: instance.value.clone(),
            lengths: placed.iter().map(|p| instance.lengths[*p]).collect(),
        };
        let mut best = (f64::NEG_INFINITY, 0u32);
        for s in 0..HOURS as u32 {
            starts[k] = s;
            let v = sub.total(&placed.iter().map(|p| starts[*p]).collect::<Vec<_>>());
            if v > best.0 + 1e-12 {
                best = (v, s);
            }
        }
        starts[k] = best.1;
    }
    let mut value = instance.total(&starts);
    loop {
        let mut improved = false;
        for k in 0..n {
            for s in 0..HOURS as u32 {
                let old = starts[k];
                starts[k] = s;
                let v = instance.total(&starts);
                if v > value + 1e-12 {
                    value = v;
                    improved = true;
                } else {
                    starts[k] = old;
                }
            }
        }
        if !improved {
            break;
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Demand only in the day (08–16), one unit of 8 hours: it works 08–16.
    #[test]
    fn one_shift_follows_the_demand() {
        let value = (0..HOURS)
            .map(|h| {
                let d = if (8..16).contains(&h) { 1.0 } else { 0.0 };
                vec![0.0, d, d]
            })
            .collect();
        let i = ShiftInstance {
            value,
            lengths: vec![8],
        };
        let p = solve_shifts(&i, 10.0).unwrap();
        assert_eq!(p.starts, vec![8]);
        assert_eq!(p.value, 8.0);
        assert_eq!(p.method, Method::Mip);
    }

    #[test]
    fn bad_shift_instances_are_refused() {
        let i = ShiftInstance {
            value: vec![vec![0.0, 1.0]; HOURS],
            lengths: vec![0],
        };
        assert!(solve_shifts(&i, 1.0).is_err());
        let i = ShiftInstance {
            value: vec![vec![0.0, 1.0]; 3],
            lengths: vec![8],
        };
        assert!(solve_shifts(&i, 1.0).is_err());
    }
}
