//! A timed path: where a unit is at any moment while it travels.

use geo::Coord;

/// A polyline with the time (seconds after departure) at which each vertex is reached.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Route {
    points: Vec<Coord>,
    times: Vec<f64>,
    /// Corners of the smallest rectangle holding the points (quick "never near" tests).
    min: Coord,
    max: Coord,
}

impl Route {
    /// A route at `p` that has not moved yet: standing still, or the start to `push` onto.
    pub fn stay(p: Coord) -> Self {
        Self::stay_with_room(p, 1)
    }

    /// Appends a vertex reached `seconds` after the previous one.
    pub fn push(&mut self, p: Coord, seconds: f64) {
        let t = self.duration() + seconds.max(0.0);
        if self.points.last() == Some(&p) && seconds <= 0.0 {
            return;
        }
        self.grow(p);
        self.points.push(p);
        self.times.push(t);
    }

    /// Staying at `p`, with room for `capacity` vertices in all (a route built from a path
    /// knows how many it will have).
    pub fn stay_with_room(p: Coord, capacity: usize) -> Self {
        let mut points = Vec::with_capacity(capacity.max(1));
        let mut times = Vec::with_capacity(capacity.max(1));
        points.push(p);
        times.push(0.0);
        Route {
            points,
            times,
            min: p,
            max: p,
        }
    }

    /// Makes room for `additional` more vertices at once (growing vertex by vertex
    /// reallocates both arrays a dozen times a route): appending a route of known length.
    fn reserve(&mut self, additional: usize) {
        self.points.reserve(additional);
        self.times.reserve(additional);
    }

    fn grow(&mut self, p: Coord) {
        self.min = Coord {
            x: self.min.x.min(p.x),
            y: self.min.y.min(p.y),
        };
        self.max = Coord {
            x: self.max.x.max(p.x),
            y: self.max.y.max(p.y),
        };
    }

    /// Appends another route after this one (its first vertex joins this one's last).
    pub fn extend(&mut self, other: &Route) {
        let base = self.duration();
        self.reserve(other.points.len().saturating_sub(1));
        for (p, t) in other.points.iter().zip(&other.times).skip(1) {
            self.grow(*p);
            self.points.push(*p);
            self.times.push(base + t);
        }
    }

    /// Seconds from departure to arrival.
    pub fn duration(&self) -> f64 {
        *self.times.last().unwrap_or(&0.0)
    }

    /// First vertex.
    pub fn start(&self) -> Coord {
        self.points[0]
    }

    /// Last vertex.
    pub fn end(&self) -> Coord {
        self.points[self.points.len() - 1]
    }

    /// The vertices and their times.
    pub fn vertices(&self) -> impl Iterator<Item = (Coord, f64)> + '_ {
        self.points.iter().copied().zip(self.times.iter().copied())
    }

    /// Consecutive vertex pairs with their times: the segments travelled, in order.
    pub fn legs(&self) -> impl Iterator<Item = ((Coord, f64), (Coord, f64))> + '_ {
        self.points
            .windows(2)
            .zip(self.times.windows(2))
            .map(|(p, t)| ((p[0], t[0]), (p[1], t[1])))
    }

    /// Seconds after departure at which the route first comes within `radius` of `p`, at or
    /// after `from_dt`; `None` if it never does.
    pub fn first_within(&self, from_dt: f64, p: Coord, radius: f64) -> Option<f64> {
        if !box_reaches(self.min, self.max, p, radius) {
            return None;
        }
        if self.points.len() == 1 {
            return within(self.start(), p, radius).then_some(from_dt.max(0.0));
        }
        // The legs that end before `from_dt` are a prefix (times never decrease).
        let first = self.times[1..].partition_point(|tb| *tb < from_dt);
        let legs = self.points[first..]
            .windows(2)
            .zip(self.times[first..].windows(2));
        // A leg whose box, grown by the radius and a metre more, misses `p` passes nowhere
        // near it: ruled out by four comparisons before the quadratic (the metre dwarfs
        // any rounding of the quadratic's, so no leg it would accept is ruled out). The box
        // is taken in place: through `geo::Rect` and `box_reaches` this scan cost a third
        // more (2.2 → 2.9 % of a synthetic day's samples).
        let reach = radius + 1.0;
        for (ab, t) in legs {
            let ((a, ta), (b, tb)) = ((ab[0], t[0]), (ab[1], t[1]));
            if leg_out_of_reach(a, b, p, reach) {
                continue;
            }
            if let Some(t) = leg_first_within((a, ta), (b, tb), from_dt, p, radius) {
                return Some(t);
            }
        }
        None
    }

    /// [`Route::first_within`] over the legs `candidates` names (by index; in any order,
    /// repeats allowed) instead of every leg: the same answer whenever `candidates` holds
    /// every leg whose box, grown by `radius` and a metre, holds `p` (the legs the scan
    /// does not rule out by their boxes). The scan's answer is its first leg in order that
    /// passes within reach; here, the lowest-numbered such candidate. The route must have
    /// legs (two vertices or more).
    pub(crate) fn first_within_among(
        &self,
        from_dt: f64,
        p: Coord,
        radius: f64,
        candidates: impl Iterator<Item = u32>,
    ) -> Option<f64> {
        let reach = radius + 1.0;
        let mut best: Option<(u32, f64)> = None;
        for j in candidates {
            let k = j as usize;
            let (a, b) = (self.points[k], self.points[k + 1]);
            let (ta, tb) = (self.times[k], self.times[k + 1]);
            // Legs over before `from_dt` are the prefix the scan skips; a later candidate
            // than the best found cannot be the scan's answer.
            if tb < from_dt || best.is_some_and(|(b, _)| b < j) {
                continue;
            }
            if leg_out_of_reach(a, b, p, reach) {
                continue;
            }
            if let Some(t) = leg_first_within((a, ta), (b, tb), from_dt, p, radius) {
                best = Some((j, t));
            }
        }
        best.map(|(_, t)| t)
    }

    /// The smallest rectangle holding the route, as (min, max) corners.
    pub fn bounds(&self) -> (Coord, Coord) {
        (self.min, self.max)
    }

    /// Position `dt` seconds after departure (clamped to the route's ends).
    pub fn position_at(&self, dt: f64) -> Coord {
        // With no hint, the search is a binary search over the whole route.
        self.position_at_from(dt, &mut 0)
    }

    /// As [`Route::position_at`], searching from `hint` (the vertex found last time, kept
    /// by the caller): a unit sampled every two minutes is a few vertices on, so a short
    /// walk forward replaces a binary search over the whole loop. Any hint gives the same
    /// position; a good one only makes it cheaper.
    pub fn position_at_from(&self, dt: f64, hint: &mut u32) -> Coord {
        if dt <= 0.0 {
            return self.start();
        }
        let times = &self.times;
        let mut i = (*hint as usize).min(times.len());
        // `times` never decreases, so `times[i - 1] <= dt` puts the answer at `i` or later.
        if i == 0 || times[i - 1] > dt {
            i = times.partition_point(|t| *t <= dt);
        } else {
            let mut steps = 0;
            while i < times.len() && times[i] <= dt {
                i += 1;
                steps += 1;
                if steps == 8 {
                    i += times[i..].partition_point(|t| *t <= dt);
                    break;
                }
            }
        }
        *hint = i as u32;
        if i >= self.points.len() {
            return self.end();
        }
        let (t0, t1) = (self.times[i - 1], self.times[i]);
        let (a, b) = (self.points[i - 1], self.points[i]);
        let u = if t1 > t0 { (dt - t0) / (t1 - t0) } else { 1.0 };
        Coord {
            x: a.x + (b.x - a.x) * u,
            y: a.y + (b.y - a.y) * u,
        }
    }
}

fn within(a: Coord, p: Coord, r: f64) -> bool {
    (a.x - p.x).powi(2) + (a.y - p.y).powi(2) <= r * r
}

/// Whether the box with corners `min` and `max`, grown by `r` on every side, holds `p`: the
/// cheap test that rules a path (or a whole plan) out before its legs are looked at.
///
/// All four comparisons are made (`&`, not `&&`): scanning many boxes, one branch a box that
/// is almost never taken beats four that go either way.
#[inline]
pub(crate) fn box_reaches(min: Coord, max: Coord, p: Coord, r: f64) -> bool {
    (p.x >= min.x - r) & (p.x <= max.x + r) & (p.y >= min.y - r) & (p.y <= max.y + r)
}

/// Whether the box of the leg from `a` to `b`, grown by `reach`, misses `p`: four
/// comparisons that rule a leg out before its quadratic (all four made, `|` not `||`: one
/// branch a leg).
#[inline]
fn leg_out_of_reach(a: Coord, b: Coord, p: Coord, reach: f64) -> bool {
    (p.x < a.x.min(b.x) - reach)
        | (p.x > a.x.max(b.x) + reach)
        | (p.y < a.y.min(b.y) - reach)
        | (p.y > a.y.max(b.y) + reach)
}

/// When the leg from `a` (left at `ta`) to `b` (reached at `tb`) first comes within
/// `radius` of `p`, at or after `from_dt`.
fn leg_first_within(
    (a, ta): (Coord, f64),
    (b, tb): (Coord, f64),
    from_dt: f64,
    p: Coord,
    radius: f64,
) -> Option<f64> {
    let from_u = if ta < from_dt && tb > ta {
        (from_dt - ta) / (tb - ta)
    } else {
        0.0
    };
    first_within(a, b, p, radius, from_u).map(|u| ta + u * (tb - ta))
}

/// Smallest u in [from_u, 1] with |a + u (b - a) - p| <= r.
fn first_within(a: Coord, b: Coord, p: Coord, r: f64, from_u: f64) -> Option<f64> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (fx, fy) = (a.x - p.x, a.y - p.y);
    let qa = dx * dx + dy * dy;
    let qb = 2.0 * (fx * dx + fy * dy);
    let qc = fx * fx + fy * fy - r * r;
    if qa == 0.0 {
        return (qc <= 0.0).then_some(from_u);
    }
    let disc = qb * qb - 4.0 * qa * qc;
    if disc < 0.0 {
        return None;
    }
    let s = disc.sqrt();
    let (u0, u1) = ((-qb - s) / (2.0 * qa), (-qb + s) / (2.0 * qa));
    let u = u0.max(from_u);
    (u <= u1 && u <= 1.0).then_some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Route::first_within` as it was: every leg not yet over weighed, from the start.
    fn first_within_every_leg(r: &Route, from_dt: f64, p: Coord, radius: f64) -> Option<f64> {
        if r.points.len() == 1 || !box_reaches(r.min, r.max, p, radius) {
            return r.first_within(from_dt, p, radius); // no legs weighed: not what is compared
        }
        r.legs()
            .filter(|(_, (_, tb))| *tb >= from_dt)
            .find_map(|(a, b)| leg_first_within(a, b, from_dt, p, radius))
    }

    proptest::proptest! {
        /// Skipping the legs already over and ruling legs out by their boxes finds the same
        /// first pass, bit for bit, as weighing every leg: from any time, for points near
        /// and far, on a leg's edge of reach included, with hops of no time.
        #[test]
        fn a_first_pass_is_the_one_every_leg_gives(
            hops in proptest::collection::vec((0u8..4, -400.0f64..400.0, -400.0f64..400.0), 1..40),
            asks in proptest::collection::vec((-5.0f64..600.0, -2000.0f64..2000.0, -2000.0f64..2000.0, 0.0f64..150.0, 0usize..40), 1..20),
        ) {
            let mut route = Route::stay(Coord { x: 0.0, y: 0.0 });
            let mut at = Coord { x: 0.0, y: 0.0 };
            for (secs, dx, dy) in hops {
                at = Coord { x: at.x + dx, y: at.y + dy };
                route.push(at, f64::from(secs) * 7.5);
            }
            for (from_dt, x, y, radius, near) in asks {
                // Now and then from the very time a leg ends.
                let from_dt = match route.times.get(near) {
                    Some(t) if near % 2 == 1 => *t,
                    _ => from_dt,
                };
                // Now and then exactly at reach of a vertex.
                let p = match route.points.get(near) {
                    Some(v) if near % 3 != 2 => Coord { x: v.x + radius, y: v.y },
                    _ => Coord { x, y },
                };
                let (got, want) = (route.first_within(from_dt, p, radius), first_within_every_leg(&route, from_dt, p, radius));
                proptest::prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits));
            }
        }

        /// Searching from any hint finds the position the full search finds, bit for bit,
        /// hops of no time (repeated times) included; the hint it leaves is the vertex found.
        #[test]
        fn a_hinted_position_is_the_searched_one(
            hops in proptest::collection::vec((0u8..4, -50.0f64..50.0, -50.0f64..50.0), 1..60),
            asks in proptest::collection::vec(-5.0f64..400.0, 1..40),
            start in 0u32..80,
        ) {
            let mut r = Route::stay(Coord { x: 0.0, y: 0.0 });
            let mut at = Coord { x: 0.0, y: 0.0 };
            for (s, dx, dy) in hops {
                at = Coord { x: at.x + dx, y: at.y + dy };
                r.push(at, f64::from(s) * 2.5);
            }
            let mut hint = start;
            for dt in asks {
                let want = r.position_at(dt);
                let got = r.position_at_from(dt, &mut hint);
                proptest::prop_assert_eq!((got.x.to_bits(), got.y.to_bits()), (want.x.to_bits(), want.y.to_bits()), "dt {}", dt);
            }
        }
    }

    #[test]
    fn interpolates_between_vertices() {
        let mut r = Route::stay(Coord { x: 0.0, y: 0.0 });
        r.push(Coord { x: 100.0, y: 0.0 }, 10.0);
        r.push(Coord { x: 100.0, y: 50.0 }, 10.0);
        assert_eq!(r.duration(), 20.0);
        assert_eq!(r.position_at(5.0), Coord { x: 50.0, y: 0.0 });
        assert_eq!(r.position_at(15.0), Coord { x: 100.0, y: 25.0 });
        assert_eq!(r.position_at(99.0), Coord { x: 100.0, y: 50.0 });
        assert_eq!(r.position_at(-1.0), Coord { x: 0.0, y: 0.0 });
    }
}
