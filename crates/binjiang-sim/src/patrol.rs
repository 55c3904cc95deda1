//! Patrol loops: the closed route a unit walks or rides between jobs.
//!
//! A loop is routed once through the unit's waypoints and back to the first, so a patrolling
//! unit's position at any time is a lookup, not a simulated movement, and "when will a
//! patrol pass within 40 m of this litter?" is a scan of the loop's segments.

use crate::route::Route;
use geo::Coord;

/// A closed patrol route, position a function of its phase (seconds into the loop).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PatrolLoop {
    route: Route,
}

impl PatrolLoop {
    /// Wraps a closed route (its end should be its start).
    pub fn new(route: Route) -> Self {
        PatrolLoop { route }
    }

    /// Seconds for one lap.
    pub fn duration(&self) -> f64 {
        self.route.duration()
    }

    /// Position at `phase` seconds into a lap (any real number; wraps).
    pub fn position(&self, phase: f64) -> Coord {
        let d = self.duration();
        if d <= 0.0 {
            return self.route.start();
        }
        self.route.position_at(phase.rem_euclid(d))
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
        let (min, max) = self.route.bounds();
        if !crate::route::box_reaches(min, max, p, radius) {
            return None; // never near: no need to work out where in the lap it is
        }
        let d = self.duration();
        if d <= 0.0 {
            return self.route.first_within(0.0, p, radius).map(|_| 0.0);
        }
        let phase = phase.rem_euclid(d);
        // The rest of this lap, then the next lap up to `phase`.
        self.route
            .first_within(phase, p, radius)
            .map(|t| t - phase)
            .or_else(|| {
                self.route
                    .first_within(0.0, p, radius)
                    .map(|t| d + t - phase)
            })
    }

    /// The smallest rectangle holding the loop, as (min, max) corners.
    pub fn bounds(&self) -> (Coord, Coord) {
        self.route.bounds()
    }
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
