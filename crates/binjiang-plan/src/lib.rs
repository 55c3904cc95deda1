//! Where an agency's units should stand so that the demand they must reach within the target
//! time is covered, counting that a unit is busy part of the time: the maximum expected
//! covering location problem (MEXCLP, Daskin 1983).
//!
//! Demand point i (a grid cell) has weight d_i (expected incidents); candidate post j reaches
//! the points within the target by road in the units' mode (`covers[j]`). Each unit is busy
//! with probability q, independently (Daskin's assumption), so a point reached by n units is
//! covered with probability 1 − qⁿ, and the objective is Σ d_i (1 − q^{n_i}). As an integer
//! program:
//!
//! ```text
//! maximise   Σ_i Σ_{k=1..N} d_i (1 − q) q^{k−1} y_ik
//! subject to Σ_k y_ik ≤ Σ_{j reaches i} x_j     for every point i
//!            Σ_j x_j = N,  x_j ∈ {0, …, N},  0 ≤ y_ik ≤ 1
//! ```
//!
//! (the coefficients fall with k, so the y need not be integer). It is solved exactly with
//! good_lp's pure-Rust microlp backend within a time limit; the LP relaxation gives the bound.
//! Where the solver runs out of time or fails, a greedy placement improved by swaps (move one
//! unit to another post while it pays) stands in, and the result says which was used and its
//! gap to the bound. Nothing here knows of roads or scenes: the caller builds the instance.

pub mod shifts;

use good_lp::{
    constraint, microlp, variable, variables, Expression, Solution, SolverModel, Variable,
    WithTimeLimit,
};
use serde::Serialize;

/// A covering instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Demand per point (expected incidents; any non-negative weights).
    pub demand: Vec<f64>,
    /// For each candidate post, the demand points it reaches within the target.
    pub covers: Vec<Vec<usize>>,
    /// Units to place.
    pub units: usize,
    /// The probability that a unit is busy (0 ≤ q < 1).
    pub busy: f64,
    /// Per point, units already standing within reach (placed before, e.g. by a shift that
    /// overlaps); empty: none. They count in every value but are not moved.
    pub fixed: Vec<usize>,
}

/// Which method found the placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The integer program, solved to optimality.
    Mip,
    /// Greedy placement improved by swaps.
    Heuristic,
}

/// A placement and how good it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placement {
    /// The candidate post of each unit (a post may hold several).
    pub posts: Vec<usize>,
    /// Expected covered demand, as a share of all demand.
    pub expected: f64,
    /// An upper bound on the share any placement can reach (the LP relaxation's).
    pub bound: f64,
    /// (bound − expected) / bound.
    pub gap: f64,
    /// How it was found.
    pub method: Method,
}

/// Why an instance cannot be solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// Nothing to place or nowhere to place it.
    #[error("{0}")]
    Empty(&'static str),
    /// The busy probability is not in [0, 1).
    #[error("busy probability {0} must be in [0, 1)")]
    Busy(f64),
}

impl Instance {
    fn check(&self) -> Result<(), PlanError> {
        if self.units == 0 {
            return Err(PlanError::Empty("no units to place"));
        }
        if self.covers.is_empty() {
            return Err(PlanError::Empty("no candidate posts"));
        }
        if !(0.0..1.0).contains(&self.busy) {
            return Err(PlanError::Busy(self.busy));
        }
        Ok(())
    }

    fn total(&self) -> f64 {
        self.demand.iter().filter(|d| **d > 0.0).sum()
    }

    /// How many units — the fixed ones and those at `posts` — reach each point.
    fn reach(&self, posts: &[usize]) -> Vec<usize> {
        let mut n: Vec<usize> = (0..self.demand.len())
            .map(|i| self.fixed.get(i).copied().unwrap_or(0))
            .collect();
        for &j in posts {
            for &i in &self.covers[j] {
                if i < n.len() {
                    n[i] += 1;
                }
            }
        }
        n
    }

    /// Expected covered demand of units at `posts`, as a share of all demand (0 with none).
    pub fn expected(&self, posts: &[usize]) -> f64 {
        let total = self.total();
        if total <= 0.0 {
            return 0.0;
        }
        self.reach(posts)
            .iter()
            .zip(&self.demand)
            .filter(|(_, d)| **d > 0.0)
            .map(|(n, d)| d * (1.0 - self.busy.powi(*n as i32)))
            .sum::<f64>()
            / total
    }
}

/// The best placement found: the integer program within `time_limit_s`, else the heuristic
/// (whichever is better when both finish).
pub fn solve(instance: &Instance, time_limit_s: f64) -> Result<Placement, PlanError> {
    instance.check()?;
    let heuristic = greedy_with_swaps(instance);
    let bound = lp_bound(instance).unwrap_or(1.0).min(1.0);
    let exact = mip(instance, time_limit_s);
    let (posts, method) = match exact {
        Some(posts) if instance.expected(&posts) >= instance.expected(&heuristic) - 1e-12 => {
            (posts, Method::Mip)
        }
        _ => (heuristic, Method::Heuristic),
    };
    let expected = instance.expected(&posts);
    // The MIP's optimum is its own bound.
    let bound = if method == Method::Mip {
        expected
    } else {
        bound.max(expected)
    };
    Ok(Placement {
        gap: if bound > 0.0 {
            (bound - expected) / bound
        } else {
            0.0
        },
        posts,
        expected,
        bound,
        method,
    })
}

/// The program's variables and objective; `integer` makes the posts integer.
fn program(
    instance: &Instance,
    integer: bool,
) -> (
    good_lp::ProblemVariables,
    Vec<Variable>,
    Vec<Vec<Variable>>,
    Expression,
) {
    let n = instance.units;
    let mut vars = variables!();
    let x: Vec<Variable> = instance
        .covers
        .iter()
        .map(|_| {
            let v = variable().min(0.0).max(n as f64);
            vars.add(if integer { v.integer() } else { v })
        })
        .collect();
    let total = instance.total().max(1e-12);
    let listed = most_listed(instance);
    let mut objective = Expression::from(0.0);
    let y: Vec<Vec<Variable>> = instance
        .demand
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if *d <= 0.0 {
                return Vec::new();
            }
            // A point listed twice in a post's cover is reached twice by each unit there,
            // as `expected` counts it: one level for every unit that can reach it.
            (0..n * listed[i] + instance.fixed.get(i).copied().unwrap_or(0))
                .map(|k| {
                    let v = vars.add(variable().min(0.0).max(1.0));
                    let weight = d / total * (1.0 - instance.busy) * instance.busy.powi(k as i32);
                    objective += weight * v;
                    v
                })
                .collect()
        })
        .collect();
    (vars, x, y, objective)
}

/// For each point, the most times any one post's cover lists it (1 if none does).
fn most_listed(instance: &Instance) -> Vec<usize> {
    let n = instance.demand.len();
    let mut most = vec![1usize; n];
    let mut count = vec![0usize; n];
    for points in &instance.covers {
        for &i in points.iter().filter(|i| **i < n) {
            count[i] += 1;
            most[i] = most[i].max(count[i]);
        }
        for &i in points.iter().filter(|i| **i < n) {
            count[i] = 0;
        }
    }
    most
}

/// Adds the covering and count constraints and solves; the posts' values.
fn solved(instance: &Instance, integer: bool, time_limit_s: f64) -> Option<(Vec<f64>, f64)> {
    let (vars, x, y, objective) = program(instance, integer);
    let mut by_point: Vec<Vec<usize>> = vec![Vec::new(); instance.demand.len()];
    for (j, points) in instance.covers.iter().enumerate() {
        for &i in points {
            if i < by_point.len() {
                by_point[i].push(j);
            }
        }
    }
    let mut model = vars
        .maximise(objective.clone())
        .using(microlp)
        .with_time_limit(time_limit_s.max(0.1));
    for (i, ys) in y.iter().enumerate() {
        if ys.is_empty() {
            continue;
        }
        let served: Expression = ys.iter().copied().sum();
        let reaching: Expression = by_point[i].iter().map(|j| x[*j]).sum();
        let fixed = instance.fixed.get(i).copied().unwrap_or(0) as f64;
        model = model.with(constraint!(served <= reaching + fixed));
    }
    let count: Expression = x.iter().copied().sum();
    model = model.with(constraint!(count == instance.units as f64));
    let solution = model.solve().ok()?;
    Some((
        x.iter().map(|v| solution.value(*v)).collect(),
        solution.eval(&objective),
    ))
}

/// The exact placement, if the solver finishes.
fn mip(instance: &Instance, time_limit_s: f64) -> Option<Vec<usize>> {
    let (x, _) = solved(instance, true, time_limit_s)?;
    let mut posts = Vec::new();
    for (j, v) in x.iter().enumerate() {
        for _ in 0..v.round().max(0.0) as usize {
            posts.push(j);
        }
    }
    (posts.len() == instance.units).then_some(posts)
}

/// The LP relaxation's optimum: no placement covers more.
fn lp_bound(instance: &Instance) -> Option<f64> {
    solved(instance, false, 60.0).map(|(_, v)| v)
}

/// The expected covered share with 0, 1, …, `units` units, each added at the post that adds
/// the most (nested: the curve `--shifts` values an hour's staffing by). Its steps never
/// rise: expected coverage has diminishing returns.
pub fn greedy_curve(instance: &Instance) -> Vec<f64> {
    let total = instance.total();
    let mut curve = vec![0.0];
    if total <= 0.0 {
        curve.resize(instance.units + 1, 0.0);
        return curve;
    }
    let mut reached: Vec<i32> = (0..instance.demand.len())
        .map(|i| instance.fixed.get(i).copied().unwrap_or(0) as i32)
        .collect();
    let mut value = instance.expected(&[]);
    curve[0] = value;
    for _ in 0..instance.units {
        // A point listed twice in a post's cover is reached twice, as `expected` counts it.
        let gain = |j: usize| -> f64 {
            let mut seen: Vec<usize> = Vec::new();
            let mut g = 0.0;
            for &i in instance.covers[j].iter().filter(|i| **i < reached.len()) {
                let before = seen.iter().filter(|s| **s == i).count() as i32;
                seen.push(i);
                g += instance.demand[i].max(0.0)
                    * (1.0 - instance.busy)
                    * instance.busy.powi(reached[i] + before);
            }
            g
        };
        let Some(best) =
            (0..instance.covers.len()).max_by(|a, b| gain(*a).total_cmp(&gain(*b)).then(b.cmp(a)))
        else {
            break;
        };
        value += gain(best) / total;
        for &i in &instance.covers[best] {
            if i < reached.len() {
                reached[i] += 1;
            }
        }
        curve.push(value.min(1.0));
    }
    curve.resize(instance.units + 1, value.min(1.0));
    curve
}

/// Each unit in turn to the post that adds the most, then single-unit moves while any pays.
pub fn greedy_with_swaps(instance: &Instance) -> Vec<usize> {
    let m = instance.covers.len();
    let mut posts: Vec<usize> = Vec::with_capacity(instance.units);
    for _ in 0..instance.units {
        let best = (0..m)
            .max_by(|a, b| {
                let with = |j: usize| {
                    let mut p = posts.clone();
                    p.push(j);
                    instance.expected(&p)
                };
                with(*a).total_cmp(&with(*b)).then(b.cmp(a))
            })
            .unwrap_or(0);
        posts.push(best);
    }
    let mut value = instance.expected(&posts);
    loop {
        let mut improved = false;
        for u in 0..posts.len() {
            for j in 0..m {
                if posts[u] == j {
                    continue;
                }
                let old = posts[u];
                posts[u] = j;
                let v = instance.expected(&posts);
                if v > value + 1e-12 {
                    value = v;
                    improved = true;
                } else {
                    posts[u] = old;
                }
            }
        }
        if !improved {
            break;
        }
    }
    posts.sort_unstable();
    posts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_reached_twice_is_covered_unless_both_are_busy() {
        let i = Instance {
            demand: vec![1.0, 1.0],
            covers: vec![vec![0], vec![0, 1]],
            units: 2,
            busy: 0.5,
            fixed: Vec::new(),
        };
        // Both at post 1: each point 1 − 0.25.
        assert!((i.expected(&[1, 1]) - 0.75).abs() < 1e-12);
        // One each: point 0 0.75, point 1 0.5.
        assert!((i.expected(&[0, 1]) - 0.625).abs() < 1e-12);
        let p = solve(&i, 10.0).unwrap();
        assert_eq!(p.posts, vec![1, 1]);
        assert_eq!(p.method, Method::Mip);
        assert!(p.gap.abs() < 1e-9);
    }

    #[test]
    fn bad_instances_are_refused() {
        let mut i = Instance {
            demand: vec![1.0],
            covers: vec![vec![0]],
            units: 0,
            busy: 0.2,
            fixed: Vec::new(),
        };
        assert!(matches!(solve(&i, 1.0), Err(PlanError::Empty(_))));
        i.units = 1;
        i.busy = 1.0;
        assert!(matches!(solve(&i, 1.0), Err(PlanError::Busy(_))));
    }
}
