//! A timed path: where a unit is at any moment while it travels.

use geo::Coord;

/// A polyline with the time (seconds after departure) at which each vertex is reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    points: Vec<Coord>,
    times: Vec<f64>,
}

impl Route {
    /// A route at `p` that has not moved yet: standing still, or the start to `push` onto.
    pub fn stay(p: Coord) -> Self {
        Route {
            points: vec![p],
            times: vec![0.0],
        }
    }

    /// Appends a vertex reached `seconds` after the previous one.
    pub fn push(&mut self, p: Coord, seconds: f64) {
        let t = self.duration() + seconds.max(0.0);
        if self.points.last() == Some(&p) && seconds <= 0.0 {
            return;
        }
        self.points.push(p);
        self.times.push(t);
    }

    /// Appends another route after this one (its first vertex joins this one's last).
    pub fn extend(&mut self, other: &Route) {
        let base = self.duration();
        for (p, t) in other.points.iter().zip(&other.times).skip(1) {
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

    /// Position `dt` seconds after departure (clamped to the route's ends).
    pub fn position_at(&self, dt: f64) -> Coord {
        if dt <= 0.0 {
            return self.start();
        }
        let i = self.times.partition_point(|t| *t <= dt);
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

#[cfg(test)]
mod tests {
    use super::*;

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
