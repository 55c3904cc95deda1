//! Each unit's sighting reach, for the scan that plans an incident's sighting.
//!
//! Planning a sighting asks every unit whether its plan's extent comes within the discovery
//! radius of the incident; nearly all say no. The extents widened by the radius are kept
//! here as four flat columns of `f32`, so eight units are ruled in or out by a few vector
//! comparisons. Rounding to the nearest `f32` keeps order (a point at or beyond a bound in
//! `f64` is at or beyond it in `f32`), so every unit the `f64` test (`route::box_reaches`)
//! lets through is kept; the exact test after it decides, as before.

/// The widened extents of every unit, by unit index.
#[derive(Debug, Clone, Default)]
pub(super) struct ReachBoxes {
    lo_x: Vec<f32>,
    lo_y: Vec<f32>,
    hi_x: Vec<f32>,
    hi_y: Vec<f32>,
}

/// Units per block of the scan: a mask of this many bits a block.
const BLOCK: usize = 8;

impl ReachBoxes {
    /// Room for `n` units, each reaching nothing.
    pub fn with_units(n: usize) -> Self {
        ReachBoxes {
            lo_x: vec![f32::INFINITY; n],
            lo_y: vec![f32::INFINITY; n],
            hi_x: vec![f32::NEG_INFINITY; n],
            hi_y: vec![f32::NEG_INFINITY; n],
        }
    }

    /// Unit `u`'s extent `[min x, min y, max x, max y]` widened by `r`, exactly as
    /// `route::box_reaches` widens it, then rounded to `f32`.
    pub fn set(&mut self, u: usize, e: [f64; 4], r: f64) {
        [self.lo_x[u], self.lo_y[u], self.hi_x[u], self.hi_y[u]] = widened(e, r);
    }

    /// Unit `u`'s box, as `set` left it.
    pub fn get(&self, u: usize) -> [f32; 4] {
        [self.lo_x[u], self.lo_y[u], self.hi_x[u], self.hi_y[u]]
    }

    /// Calls `f` with every unit whose box holds `(x, y)`, in unit order.
    pub fn for_each_holding(&self, x: f64, y: f64, mut f: impl FnMut(usize)) {
        // Rounded as the bounds were: a point at or beyond a bound stays so.
        let (px, py) = (x as f32, y as f32);
        let blocks = self
            .lo_x
            .chunks_exact(BLOCK)
            .zip(self.lo_y.chunks_exact(BLOCK))
            .zip(self.hi_x.chunks_exact(BLOCK))
            .zip(self.hi_y.chunks_exact(BLOCK));
        let mut base = 0;
        for (((lx, ly), hx), hy) in blocks {
            let mut mask = 0u32;
            for k in 0..BLOCK {
                let inside = (px >= lx[k]) & (px <= hx[k]) & (py >= ly[k]) & (py <= hy[k]);
                mask |= u32::from(inside) << k;
            }
            while mask != 0 {
                f(base + mask.trailing_zeros() as usize);
                mask &= mask - 1;
            }
            base += BLOCK;
        }
        for u in base..self.lo_x.len() {
            if (px >= self.lo_x[u])
                & (px <= self.hi_x[u])
                & (py >= self.lo_y[u])
                & (py <= self.hi_y[u])
            {
                f(u);
            }
        }
    }
}

/// Extent `[min x, min y, max x, max y]` widened by `r` as `route::box_reaches` widens it,
/// rounded to `f32`: the box [`ReachBoxes::set`] keeps.
pub(super) fn widened(e: [f64; 4], r: f64) -> [f32; 4] {
    [
        (e[0] - r) as f32,
        (e[1] - r) as f32,
        (e[2] + r) as f32,
        (e[3] + r) as f32,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Coord;
    use proptest::prelude::*;

    proptest! {
        /// Every unit the f64 test lets through is held, whatever the coordinates.
        #[test]
        fn no_box_the_f64_test_reaches_is_missed(
            boxes in prop::collection::vec(
                (-1e7f64..1e7, -1e7f64..1e7, 0.0f64..5000.0, 0.0f64..5000.0, prop::bool::ANY),
                1..40,
            ),
            p in (-1e7f64..1e7, -1e7f64..1e7),
            r in 0.0f64..300.0,
            near in prop::option::of(0usize..40),
        ) {
            let mut reach = ReachBoxes::with_units(boxes.len());
            let mut extents = Vec::new();
            for (u, (x, y, w, h, on)) in boxes.iter().enumerate() {
                let e = if *on {
                    [*x, *y, x + w, y + h]
                } else {
                    [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY]
                };
                reach.set(u, e, r);
                extents.push(e);
            }
            // Now and then a point right on a box's widened edge.
            let p = match near.filter(|n| *n < boxes.len() && boxes[*n].4) {
                Some(n) => Coord { x: extents[n][0] - r, y: extents[n][3] + r },
                None => Coord { x: p.0, y: p.1 },
            };
            let mut held = Vec::new();
            reach.for_each_holding(p.x, p.y, |u| held.push(u));
            prop_assert!(held.windows(2).all(|w| w[0] < w[1]));
            for (u, e) in extents.iter().enumerate() {
                let reaches = crate::route::box_reaches(
                    Coord { x: e[0], y: e[1] },
                    Coord { x: e[2], y: e[3] },
                    p,
                    r,
                );
                if reaches {
                    prop_assert!(held.contains(&u), "unit {u} missed");
                }
            }
        }
    }
}
