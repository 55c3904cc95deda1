//! The solver against brute force: on small random instances every placement of the units
//! (posts may hold several) is tried, and the solver's placement must reach the best value;
//! the greedy-with-swaps heuristic never beats it, and the bound is never below it.

use binjiang_plan::{greedy_with_swaps, solve, Instance, Method};
use proptest::prelude::*;

/// Every multiset of `units` posts out of `m`.
fn placements(m: usize, units: usize) -> Vec<Vec<usize>> {
    fn rec(start: usize, m: usize, left: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if left == 0 {
            out.push(cur.clone());
            return;
        }
        for j in start..m {
            cur.push(j);
            rec(j, m, left - 1, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    rec(0, m, units, &mut Vec::new(), &mut out);
    out
}

fn instance() -> impl Strategy<Value = Instance> {
    (3usize..8, 4usize..14, 1usize..4, 0.0f64..0.8).prop_flat_map(|(m, points, units, busy)| {
        (
            proptest::collection::vec(0.0f64..5.0, points),
            proptest::collection::vec(proptest::collection::vec(0..points, 0..5), m),
        )
            .prop_map(move |(demand, covers)| Instance {
                demand,
                covers,
                units,
                busy,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn the_solver_finds_the_brute_force_optimum(i in instance()) {
        let best = placements(i.covers.len(), i.units)
            .iter()
            .map(|p| i.expected(p))
            .fold(0.0f64, f64::max);
        let plan = solve(&i, 20.0).unwrap();
        prop_assert!((plan.expected - best).abs() < 1e-7, "solver {} ({:?}) vs brute force {best}", plan.expected, plan.method);
        prop_assert!(plan.bound >= best - 1e-7, "bound {} below the optimum {best}", plan.bound);
        prop_assert_eq!(plan.posts.len(), i.units);
        prop_assert!(i.expected(&greedy_with_swaps(&i)) <= best + 1e-9);
        if plan.method == Method::Mip {
            prop_assert!(plan.gap.abs() < 1e-9);
        }
    }
}
