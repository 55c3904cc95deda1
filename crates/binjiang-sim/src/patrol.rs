//! Patrol loops: the closed route a unit walks or rides between jobs.
//!
//! A loop is routed once through the unit's waypoints and back to the first, so a patrolling
//! unit's position at any time is a lookup, not a simulated movement, and "when will a
//! patrol pass within 40 m of this litter?" is a scan of the loop's segments.

use crate::box_cells::BoxCells;
use crate::route::Route;
use geo::Coord;

/// A closed patrol route, position a function of its phase (seconds into the loop).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(from = "LoopRoute", into = "LoopRoute")]
pub struct PatrolLoop {
    route: Route,
    phases: PhaseIndex,
    legs: LegCells,
}

/// A loop as it is written (a snapshot holds its route; the phase index is made again).
#[derive(serde::Serialize, serde::Deserialize)]
struct LoopRoute {
    route: Route,
}

impl From<LoopRoute> for PatrolLoop {
    fn from(l: LoopRoute) -> Self {
        PatrolLoop::new(l.route)
    }
}

impl From<PatrolLoop> for LoopRoute {
    fn from(l: PatrolLoop) -> Self {
        LoopRoute { route: l.route }
    }
}

/// Where in a loop's vertices each slice of its lap begins: a position on the loop is then
/// found a vertex or two from there. Searching from where the unit was last found served
/// only while the phase had not wrapped round; otherwise it fell back to a binary search of
/// the whole loop, a chain of cache misses that was a fifth of placing every available unit
/// in the dispatch index.
#[derive(Debug, Clone)]
struct PhaseIndex {
    /// Seconds for one lap (the route's last time, kept here beside the unit rather than at
    /// the far end of the route's times: a position is one cache miss fewer).
    lap_s: f64,
    /// Slices per second of lap.
    scale: f64,
    /// `starts[k]`: how many vertices lie in slices before slice `k`.
    starts: Vec<u32>,
}

impl PhaseIndex {
    /// One slice per vertex, on average.
    fn new(route: &Route) -> Self {
        let n = route.vertices().count();
        let d = route.duration();
        let scale = if d > 0.0 { n as f64 / d } else { 0.0 };
        let mut index = PhaseIndex {
            lap_s: d,
            scale,
            starts: Vec::with_capacity(n + 2),
        };
        let slices: Vec<usize> = route.vertices().map(|(_, t)| index.slice(t)).collect();
        let mut j = 0;
        for k in 0..n + 2 {
            while slices.get(j).is_some_and(|s| *s < k) {
                j += 1;
            }
            index.starts.push(j as u32);
        }
        index
    }

    /// The slice of the lap `t` falls in (monotone in `t`, whatever its rounding).
    fn slice(&self, t: f64) -> usize {
        (t * self.scale) as usize
    }

    /// A vertex at or before the one a position `phase` seconds into the lap lies past: every
    /// vertex in an earlier slice is reached before `phase` (the slice never decreases with
    /// time), so their count is. At least 1: the first vertex is at 0 s.
    fn start(&self, phase: f64) -> u32 {
        let k = self.slice(phase).min(self.starts.len() - 1);
        self.starts[k].max(1)
    }
}

/// A loop's legs by the cells of a grid over it, each listed in every cell its box meets:
/// "when will this patrol pass within 40 m of that litter?" looks at the legs of the cells
/// round the litter, not at every leg of the lap (a scan that was a fiftieth of a day, for
/// incidents no patrol passes near).
#[derive(Debug, Clone)]
struct LegCells(BoxCells<u32>);

/// A leg cell's width, metres: a few legs each on a loop of streets.
const LEG_CELL_M: f64 = 100.0;

impl LegCells {
    fn new(route: &Route) -> Self {
        let (min, max) = route.bounds();
        let boxed: Vec<(Coord, Coord, u32)> = route
            .legs()
            .enumerate()
            .map(|(j, ((a, _), (b, _)))| {
                let leg = geo::Rect::new(a, b); // corners put in order
                (leg.min(), leg.max(), j as u32)
            })
            .collect();
        // At most a cell per leg or so, however far the loop strays.
        let area = (max.x - min.x) * (max.y - min.y);
        let cell_m = LEG_CELL_M.max((area / (boxed.len().max(1) as f64 * 4.0)).sqrt());
        LegCells(BoxCells::new((min, max), cell_m, boxed, |_, _, _| true))
    }

    /// Every leg whose box meets the square of half-side `reach` round `p` (some more than
    /// once): a leg whose box grown by `reach` holds `p` meets it at a point of some cell
    /// the square covers, and is listed there.
    fn near(&self, p: Coord, reach: f64) -> impl Iterator<Item = u32> + '_ {
        let (lo, hi) = (
            Coord {
                x: p.x - reach,
                y: p.y - reach,
            },
            Coord {
                x: p.x + reach,
                y: p.y + reach,
            },
        );
        self.0.in_box(lo, hi).copied()
    }
}

impl PatrolLoop {
    /// Wraps a closed route (its end should be its start).
    pub fn new(route: Route) -> Self {
        PatrolLoop {
            phases: PhaseIndex::new(&route),
            legs: LegCells::new(&route),
            route,
        }
    }

    /// Seconds for one lap.
    pub fn duration(&self) -> f64 {
        self.phases.lap_s
    }

    /// Position at `phase` seconds into a lap (any real number; wraps).
    pub fn position(&self, phase: f64) -> Coord {
        self.position_from(phase, &mut 0)
    }

    /// As [`PatrolLoop::position`]; `hint` is left at the vertex found (the loop's phase
    /// index, not the hint, says where to search from).
    pub fn position_from(&self, phase: f64, hint: &mut u32) -> Coord {
        let d = self.duration();
        if d <= 0.0 {
            return self.route.start();
        }
        let phase = lap_phase(phase, d);
        *hint = self.phases.start(phase);
        self.route.position_at_from(phase, hint)
    }

    /// The vertex phase nearest to `p` (where a returning unit rejoins the loop).
    pub fn nearest_phase(&self, p: Coord) -> (f64, Coord) {
        self.route
            .vertices()
            .map(|(q, t)| ((q.x - p.x).powi(2) + (q.y - p.y).powi(2), t, q))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, t, q)| (t, q))
            .unwrap_or((0.0, self.route.start()))
    }

    /// Seconds after `phase` until the loop first comes within `radius` of `p`, if ever.
    pub fn seconds_until_within(&self, phase: f64, p: Coord, radius: f64) -> Option<f64> {
        // Among the legs near `p`, which are all that `Route::first_within` would not rule
        // out by their boxes.
        self.next_pass(phase, p, radius, |from| {
            self.route
                .first_within_among(from, p, radius, self.legs.near(p, radius + 1.0))
        })
    }

    /// [`PatrolLoop::seconds_until_within`] by scanning every leg of the lap, as it was.
    #[cfg(test)]
    fn seconds_until_within_scanning(&self, phase: f64, p: Coord, radius: f64) -> Option<f64> {
        self.next_pass(phase, p, radius, |from| {
            self.route.first_within(from, p, radius)
        })
    }

    /// The next pass within `radius` of `p`, `first_from(t)` being the loop's first pass at
    /// or after `t` seconds into a lap: the rest of this lap, then the next lap up to
    /// `phase` (a lap of some length has legs).
    fn next_pass(
        &self,
        phase: f64,
        p: Coord,
        radius: f64,
        first_from: impl Fn(f64) -> Option<f64>,
    ) -> Option<f64> {
        let (min, max) = self.route.bounds();
        if !crate::route::box_reaches(min, max, p, radius) {
            return None; // never near: no need to work out where in the lap it is
        }
        let d = self.duration();
        if d <= 0.0 {
            return self.route.first_within(0.0, p, radius).map(|_| 0.0);
        }
        let phase = lap_phase(phase, d);
        first_from(phase)
            .map(|t| t - phase)
            .or_else(|| first_from(0.0).map(|t| d + t - phase))
    }

    /// The smallest rectangle holding the loop, as (min, max) corners.
    pub fn bounds(&self) -> (Coord, Coord) {
        self.route.bounds()
    }
}

/// `x.rem_euclid(d)`, bit for bit, for a lap of `d` seconds: where a unit is on its loop
/// `x` seconds after it joined. `rem_euclid` calls a software `fmod` that loops over the
/// quotient's bits; patrol coverage asks every patrolling unit's phase at every sample, and
/// that call was a twentieth of a what-if. Here the quotient comes from one division, and
/// the remainder is computed exactly: the remainder is representable (fmod's is), `q · d` is
/// formed without rounding as `p + e` (Dekker's product; `q` has at most 26 bits, so it
/// needs no split), `x − p` is exact by Sterbenz's lemma, and a quotient one off (the
/// division rounds) is put right by a second try. Other inputs go to `rem_euclid`.
pub(crate) fn lap_phase(x: f64, d: f64) -> f64 {
    const MAX_Q: f64 = 67_108_864.0; // 2^26
    if !(x.is_finite() && x >= 0.0 && d.is_finite() && d > 0.0) || x / d >= MAX_Q - 2.0 {
        return x.rem_euclid(d);
    }
    if x < d {
        return x;
    }
    // Veltkamp's split: d = dh + dl, each half of the significand.
    let c = 134_217_729.0 * d; // 2^27 + 1
    let dh = c - (c - d);
    let dl = d - dh;
    let rem = |q: f64| {
        let p = q * d;
        let e = (q * dh - p) + q * dl;
        (x - p) - e
    };
    let q = ((x / d) as u64) as f64;
    let r = rem(q);
    if r < 0.0 {
        return rem(q - 1.0);
    }
    if r >= d {
        let next = rem(q + 1.0);
        if next >= 0.0 {
            return next;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> PatrolLoop {
        // 100 m square, 10 s per side, counter-clockwise from the origin.
        let mut r = Route::stay(Coord { x: 0.0, y: 0.0 });
        for (x, y) in [(100.0, 0.0), (100.0, 100.0), (0.0, 100.0), (0.0, 0.0)] {
            r.push(Coord { x, y }, 10.0);
        }
        PatrolLoop::new(r)
    }

    #[test]
    fn lap_phase_is_rem_euclid_at_the_edges() {
        let laps = [1.0, 0.1, 3.0, 1234.5678, 86_400.0, 1e-3, 7.0 / 3.0];
        for d in laps {
            for k in [0.0, 1.0, 2.0, 3.0, 10.0, 1e3, 1e6, 3e7, 1e9, 1e20] {
                let at = k * d;
                let mut xs = vec![at, at * (1.0 + f64::EPSILON), at * (1.0 - f64::EPSILON)];
                let mut x = at;
                let mut y = at;
                for _ in 0..4 {
                    x = x.next_up();
                    y = y.next_down();
                    xs.extend([x, y]);
                }
                for x in xs {
                    assert_eq!(
                        lap_phase(x, d).to_bits(),
                        x.rem_euclid(d).to_bits(),
                        "{x} {d}"
                    );
                }
            }
        }
        for x in [-5.0, -0.0, f64::NAN, f64::INFINITY, 1e300] {
            let (a, b) = (lap_phase(x, 40.0), x.rem_euclid(40.0));
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{x}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// Against `rem_euclid`, bit for bit, over the phases and laps a run sees and far
        /// beyond.
        #[test]
        fn lap_phase_is_rem_euclid(x in 0.0f64..1e9, d in 1e-3f64..1e6, k in 0u32..2_000_000) {
            proptest::prop_assert_eq!(lap_phase(x, d).to_bits(), x.rem_euclid(d).to_bits());
            // Near whole laps, where the division's rounding puts the quotient one off.
            let near = f64::from(k) * d;
            for y in [near, near.next_up(), near.next_down(), near.next_up().next_up()] {
                proptest::prop_assert_eq!(lap_phase(y, d).to_bits(), y.rem_euclid(d).to_bits(), "{} {}", y, d);
            }
        }
    }

    proptest::proptest! {
        /// Searched from where the phase index says, a position on a loop is the one a
        /// search of the whole loop finds, bit for bit: any phase, laps ahead or behind,
        /// hops of no time (repeated times) and loops of one vertex included; and a loop
        /// read back from its written form answers the same.
        #[test]
        fn a_loop_position_is_the_searched_one(
            hops in proptest::collection::vec((0u8..4, -50.0f64..50.0, -50.0f64..50.0), 0..80),
            asks in proptest::collection::vec(-1e5f64..1e5, 1..40),
        ) {
            let mut r = Route::stay(Coord { x: 0.0, y: 0.0 });
            let mut at = Coord { x: 0.0, y: 0.0 };
            for (s, dx, dy) in hops {
                at = Coord { x: at.x + dx, y: at.y + dy };
                r.push(at, f64::from(s) * 2.5);
            }
            r.push(Coord { x: 0.0, y: 0.0 }, 1.0);
            let l = PatrolLoop::new(r.clone());
            let written = serde_json::to_string(&l).unwrap();
            let read: PatrolLoop = serde_json::from_str(&written).unwrap();
            proptest::prop_assert_eq!(&written, &serde_json::to_string(&LoopRoute { route: r.clone() }).unwrap());
            // Passes within reach, from any phase, of points near the loop and far off it,
            // on a leg's edge of reach included: the same as scanning every leg.
            for (k, phase) in asks.iter().enumerate() {
                let v = r.vertices().nth(k % r.vertices().count()).unwrap().0;
                let radius = [0.0, 5.0, 40.0, 120.0][k % 4];
                for p in [v, Coord { x: v.x + radius, y: v.y }, Coord { x: v.x + 30.0, y: v.y - 70.0 }, Coord { x: -500.0, y: 900.0 }] {
                    let (got, want) = (l.seconds_until_within(*phase, p, radius), l.seconds_until_within_scanning(*phase, p, radius));
                    proptest::prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "phase {} at {:?} within {}", phase, p, radius);
                }
            }
            proptest::prop_assert_eq!(l.duration().to_bits(), r.duration().to_bits());
            proptest::prop_assert_eq!(read.duration().to_bits(), r.duration().to_bits());
            let mut hint = 0;
            for phase in asks {
                let lapped = lap_phase(phase, r.duration());
                let want = r.position_at(lapped);
                // The index's start is never past the vertex found (it would cost a search).
                let start = l.phases.start(lapped);
                let mut found = 0;
                r.position_at_from(lapped, &mut found);
                proptest::prop_assert!(lapped <= 0.0 || start <= found, "{} > {}", start, found);
                for got in [l.position_from(phase, &mut hint), read.position(phase)] {
                    proptest::prop_assert_eq!((got.x.to_bits(), got.y.to_bits()), (want.x.to_bits(), want.y.to_bits()), "phase {}", phase);
                }
            }
        }
    }

    #[test]
    fn position_wraps_around_the_loop() {
        let l = square();
        assert_eq!(l.duration(), 40.0);
        assert_eq!(l.position(45.0), Coord { x: 50.0, y: 0.0 });
        assert_eq!(l.position(-5.0), Coord { x: 0.0, y: 50.0 });
    }

    #[test]
    fn finds_the_next_pass_within_a_radius() {
        let l = square();
        let p = Coord { x: 50.0, y: -5.0 }; // 5 m south of the first side's middle
        let s = l.seconds_until_within(0.0, p, 10.0).unwrap();
        assert!((s - (50.0 - 75f64.sqrt()) / 10.0).abs() < 1e-9);
        // Already past it: wait for the next lap.
        let s = l.seconds_until_within(8.0, p, 10.0).unwrap();
        assert!((s - (40.0 - 8.0 + (50.0 - 75f64.sqrt()) / 10.0)).abs() < 1e-9);
        assert!(l
            .seconds_until_within(0.0, Coord { x: 500.0, y: 500.0 }, 10.0)
            .is_none());
        // Inside the radius right now.
        assert_eq!(
            l.seconds_until_within(5.0, Coord { x: 50.0, y: 0.0 }, 10.0),
            Some(0.0)
        );
    }
}
