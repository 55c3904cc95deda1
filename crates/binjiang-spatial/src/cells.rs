//! A uniform grid of moving points with an exact nearest-first walk: the index behind
//! dispatch, where points come, go and move thousands of times a simulated hour.
//!
//! An R-tree pays for every move with a removal and a reinsertion that rebalance nodes, and
//! for every nearest-first walk with a heap of nodes; dispatch asks a few nearest at a time,
//! over and over, of a few thousand points. Here a move is a swap-remove from one square's
//! list and a push onto another's, and a walk scans squares ring by ring around the query,
//! handing out a point once no unscanned square can hold a nearer one. Distances are
//! computed as the R-tree walk computes them, so the same points come out at the same
//! distances; only the order among exactly equal distances may differ.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A point's id and where it is.
pub(crate) type Point<K> = (K, [f64; 2]);

/// The squares of one class: a window of squares grown to hold every point put in it.
#[derive(Debug, Clone)]
pub(crate) struct Cells<K> {
    /// Side of a square, metres.
    side_m: f64,
    /// The window's first square (x, y) and its size in squares.
    x0: i32,
    y0: i32,
    w: i32,
    h: i32,
    /// Each square's points, row by row.
    squares: Vec<Vec<Point<K>>>,
    /// Squares a point was put in since the last [`Cells::clear`] (some may be empty again),
    /// so that clearing touches those alone: a class of a dozen units spans a window of
    /// dozens of squares, and dispatch clears every class at each refresh. Once as long as
    /// `squares` it stops growing, and a clear empties every square.
    filled: Vec<u32>,
    /// Points the window would have to grow past [`MAX_SQUARES`] to hold (a point put far
    /// outside any district by a bad position): every walk weighs them first.
    outliers: Vec<Point<K>>,
    len: usize,
    /// How many points there were when the squares were last sized.
    sized_for: usize,
}

/// Points per square the side is chosen for when a class is laid out again.
const PER_SQUARE: f64 = 2.0;
/// A class is first laid out by density when it reaches twice this many points.
const MIN_LAID_OUT: usize = 16;
/// Bounds on a square's side, metres.
const SIDE_RANGE_M: (f64, f64) = (10.0, 4000.0);

/// The most squares a window may have: 256 × 256 squares of 250 m is 64 km across.
const MAX_SQUARES: i64 = 1 << 16;

/// The `x` of a slot in [`Cells::outliers`].
const OUTLIER: i32 = i32::MIN;

/// Where a point is held: its square and its place in that square's list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Slot {
    pub x: i32,
    pub y: i32,
    pub at: u32,
}

impl<K: Copy> Cells<K> {
    /// An empty grid of squares `side_m` metres wide.
    pub fn new(side_m: f64) -> Self {
        Cells {
            side_m,
            x0: 0,
            y0: 0,
            w: 0,
            h: 0,
            squares: Vec::new(),
            filled: Vec::new(),
            outliers: Vec::new(),
            len: 0,
            sized_for: 0,
        }
    }

    /// Whether the class has grown or shrunk enough since its squares were sized that
    /// walks would scan too many points or too many empty squares.
    pub fn needs_layout(&self) -> bool {
        self.outgrown() || (self.sized_for > 64 && self.len * 4 < self.sized_for)
    }

    /// Whether the class has grown enough since its squares were sized to lay it out again
    /// (checked as points come; shrinking is checked once a batch is in, or as they go).
    pub fn outgrown(&self) -> bool {
        self.len >= 2 * self.sized_for.max(MIN_LAID_OUT)
    }

    /// Lays the points out again in squares sized for about [`PER_SQUARE`] points each over
    /// the box that holds them; `moved` hears each point's new slot.
    pub fn lay_out(&mut self, mut moved: impl FnMut(K, Slot)) {
        let points: Vec<Point<K>> = self.iter().copied().collect();
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        // Over the squares' points: an outlier would stretch the box over nothing.
        for (_, p) in self.squares.iter().flatten() {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let n = points.len().max(1) as f64;
        let area = (hi[0] - lo[0]).max(0.0) * (hi[1] - lo[1]).max(0.0);
        let side = (area / n * PER_SQUARE).sqrt();
        let side = if points.len() < 2 * MIN_LAID_OUT {
            // Too few to be worth many squares (a shrunken class).
            SIDE_RANGE_M.1.max(self.side_m)
        } else if side.is_finite() {
            side.clamp(SIDE_RANGE_M.0, SIDE_RANGE_M.1)
        } else {
            self.side_m
        };
        *self = Cells::new(side);
        if lo[0] <= hi[0] {
            // The window over the box at once, not grown square by square as points come.
            let ((x0, y0), (x1, y1)) = (self.square_of(lo), self.square_of(hi));
            if self.reach(x0, y0) {
                self.reach(x1, y1);
            }
        }
        for (k, p) in points {
            let slot = self.insert(k, p);
            moved(k, slot);
        }
        self.sized_for = self.len;
    }

    /// How many points the class holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The square holding `p` (floor of its coordinates over the side).
    fn square_of(&self, p: [f64; 2]) -> (i32, i32) {
        let s = |v: f64| {
            let q = floor(v / self.side_m);
            // Points far beyond any district share the outermost squares (still exact:
            // a walk bounds unscanned squares by their place, and these lie beyond them).
            q.clamp(-1e6, 1e6) as i32
        };
        (s(p[0]), s(p[1]))
    }

    fn index(&self, x: i32, y: i32) -> Option<usize> {
        let (dx, dy) = (x - self.x0, y - self.y0);
        (dx >= 0 && dy >= 0 && dx < self.w && dy < self.h).then(|| (dy * self.w + dx) as usize)
    }

    /// Grows the window (at least doubling the side it grows on, up to [`MAX_SQUARES`]) to
    /// take square (x, y); false if it would grow too large.
    fn reach(&mut self, x: i32, y: i32) -> bool {
        if self.index(x, y).is_some() {
            return true;
        }
        let (x0, y0, w, h) = if self.w == 0 {
            (x - 4, y - 4, 9, 9)
        } else {
            // In i64: a far point's distance in squares overflows an i32. `double` grows
            // the side at least twofold (few regrowths as points arrive); without it the
            // window just reaches the point.
            let span = |lo: i32, n: i32, v: i32, double: bool| -> (i64, i64) {
                let (lo, n, v) = (i64::from(lo), i64::from(n), i64::from(v));
                let grow = if double { n } else { 0 };
                if v < lo {
                    let lo2 = v.min(lo - grow);
                    (lo2, n + (lo - lo2))
                } else if v >= lo + n {
                    (lo, (v - lo + 1).max(n + grow))
                } else {
                    (lo, n)
                }
            };
            // Doubling may overshoot the limit where the point itself fits.
            let fits = [true, false].into_iter().find_map(|double| {
                let (x0, w) = span(self.x0, self.w, x, double);
                let (y0, h) = span(self.y0, self.h, y, double);
                (w * h <= MAX_SQUARES).then_some((x0 as i32, y0 as i32, w as i32, h as i32))
            });
            let Some(window) = fits else {
                return false;
            };
            window
        };
        let mut squares: Vec<Vec<Point<K>>> = (0..(w * h)).map(|_| Vec::new()).collect();
        for (i, list) in std::mem::take(&mut self.squares).into_iter().enumerate() {
            let (sx, sy) = (self.x0 + i as i32 % self.w, self.y0 + i as i32 / self.w);
            squares[((sy - y0) * w + (sx - x0)) as usize] = list;
        }
        (self.x0, self.y0, self.w, self.h, self.squares) = (x0, y0, w, h, squares);
        self.filled.clear();
        self.filled.extend(
            (0..self.squares.len() as u32).filter(|&i| !self.squares[i as usize].is_empty()),
        );
        true
    }

    /// Adds `id` at `p`; returns where it is held.
    pub fn insert(&mut self, id: K, p: [f64; 2]) -> Slot {
        let (x, y) = self.square_of(p);
        self.len += 1;
        // Most points land inside the window: its square is looked up once.
        let at = self
            .index(x, y)
            .or_else(|| self.reach(x, y).then(|| self.index(x, y)).flatten());
        let (x, y, list) = match at {
            Some(i) => {
                if self.squares[i].is_empty() && self.filled.len() < self.squares.len() {
                    self.filled.push(i as u32);
                }
                (x, y, &mut self.squares[i])
            }
            None => (OUTLIER, 0, &mut self.outliers),
        };
        list.push((id, p));
        Slot {
            x,
            y,
            at: (list.len() - 1) as u32,
        }
    }

    /// Takes out the point held at `slot`; returns it and, if another point took its place
    /// in the list, that point's id (its slot's `at` is now `slot.at`).
    pub fn remove(&mut self, slot: Slot) -> Option<(Point<K>, Option<K>)> {
        let list = if slot.x == OUTLIER {
            &mut self.outliers
        } else {
            let i = self.index(slot.x, slot.y)?;
            &mut self.squares[i]
        };
        let at = slot.at as usize;
        if at >= list.len() {
            return None;
        }
        let gone = list.swap_remove(at);
        self.len -= 1;
        Some((gone, list.get(at).map(|(k, _)| *k)))
    }

    /// Empties every square, keeping the memory.
    pub fn clear(&mut self) {
        if self.filled.len() < self.squares.len() {
            for &i in &self.filled {
                self.squares[i as usize].clear();
            }
        } else {
            for list in &mut self.squares {
                list.clear();
            }
        }
        self.filled.clear();
        self.outliers.clear();
        self.len = 0;
    }

    /// Every point, square by square.
    pub fn iter(&self) -> impl Iterator<Item = &Point<K>> {
        self.squares.iter().flatten().chain(&self.outliers)
    }

    /// The points whose id satisfies `matches`, nearest to `at` first.
    pub fn nearest<F: Fn(&K) -> bool>(&self, at: [f64; 2], matches: F) -> Nearest<'_, K, F> {
        let (cx, cy) = self.square_of(at);
        // Rings nearer than the window hold nothing: start at the first that meets it.
        let gap = |c: i32, lo: i32, n: i32| (lo - c).max(c - (lo + n - 1)).max(0);
        let first = if self.w == 0 {
            0
        } else {
            gap(cx, self.x0, self.w).max(gap(cy, self.y0, self.h))
        };
        let mut walk = Nearest {
            cells: self,
            at,
            cx,
            cy,
            ring: first,
            scanned: 0,
            covered2: 0.0,
            heap: BinaryHeap::with_capacity(64),
            found: Vec::with_capacity(64),
            matches,
        };
        walk.weigh(&self.outliers);
        walk
    }
}

/// `x.floor()` without a call into the C library (release builds target processors that
/// may lack a rounding instruction, so `f64::floor` is a call, twice per point placed): the
/// same for every finite `x` within ±2⁶³, and where it differs beyond (infinities, NaN) the
/// same once clamped and cast to a square's index.
fn floor(x: f64) -> f64 {
    let t = x as i64 as f64;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// A nearest-first walk over one class's squares (see the module's comment).
pub(crate) struct Nearest<'a, K, F> {
    cells: &'a Cells<K>,
    at: [f64; 2],
    cx: i32,
    cy: i32,
    /// The next ring of squares to scan (Chebyshev distance from the query's square).
    ring: i32,
    /// Points scanned so far, matching or not: when all are, nothing is left unscanned.
    scanned: usize,
    /// Squared distance below which no unscanned square holds a point.
    covered2: f64,
    /// Scanned points not yet handed out, by squared distance (bits of a non-negative
    /// float order as the float does), then by the order they were scanned in.
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    found: Vec<&'a Point<K>>,
    matches: F,
}

impl<'a, K: Copy, F: Fn(&K) -> bool> Nearest<'a, K, F> {
    /// Puts the matching points of `list` on the heap by their distance.
    fn weigh(&mut self, list: &'a [Point<K>]) {
        self.scanned += list.len();
        for e in list {
            if (self.matches)(&e.0) {
                let (dx, dy) = (e.1[0] - self.at[0], e.1[1] - self.at[1]);
                let d2 = dx * dx + dy * dy;
                self.heap
                    .push(Reverse((d2.to_bits(), self.found.len() as u32)));
                self.found.push(e);
            }
        }
    }

    /// Scans the next ring's squares inside the window, and widens the covered distance.
    fn scan_ring(&mut self) {
        let c = self.cells;
        let r = self.ring;
        let (cx, cy) = (self.cx, self.cy);
        let (x_lo, x_hi) = ((cx - r).max(c.x0), (cx + r).min(c.x0 + c.w - 1));
        let (y_lo, y_hi) = ((cy - r).max(c.y0), (cy + r).min(c.y0 + c.h - 1));
        let take = |x: i32, y: i32, this: &mut Self| {
            if let Some(i) = c.index(x, y) {
                this.weigh(&c.squares[i]);
            }
        };
        if x_lo <= x_hi && y_lo <= y_hi {
            for y in [cy - r, cy + r] {
                if y >= y_lo && y <= y_hi {
                    for x in x_lo..=x_hi {
                        take(x, y, self);
                    }
                }
                if r == 0 {
                    break;
                }
            }
            for x in [cx - r, cx + r] {
                if r > 0 && x >= x_lo && x <= x_hi {
                    for y in (cy - r + 1).max(y_lo)..=(cy + r - 1).min(y_hi) {
                        take(x, y, self);
                    }
                }
            }
        }
        // Every point outside the squares of rings 0..=r is at least this far.
        let s = c.side_m;
        let near = (self.at[0] - f64::from(cx - r) * s)
            .min(f64::from(cx + r + 1) * s - self.at[0])
            .min(self.at[1] - f64::from(cy - r) * s)
            .min(f64::from(cy + r + 1) * s - self.at[1])
            .max(0.0);
        self.covered2 = near * near;
        self.ring += 1;
    }
}

impl<'a, K: Copy, F: Fn(&K) -> bool> Iterator for Nearest<'a, K, F> {
    type Item = (&'a Point<K>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let all_scanned = self.scanned >= self.cells.len;
            if let Some(&Reverse((bits, i))) = self.heap.peek() {
                let d2 = f64::from_bits(bits);
                if all_scanned || d2 <= self.covered2 {
                    self.heap.pop();
                    return Some((self.found[i as usize], d2.sqrt()));
                }
            } else if all_scanned {
                return None;
            }
            self.scan_ring();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The inline floor is `f64::floor` wherever a square's index is taken from it.
        #[test]
        fn floor_is_the_library_floor(x in proptest::num::f64::ANY) {
            let index = |q: f64| q.clamp(-1e6, 1e6) as i32;
            proptest::prop_assert_eq!(index(floor(x)), index(x.floor()));
            if x.is_finite() && x.abs() < 9.0e18 {
                proptest::prop_assert!(floor(x) == x.floor(), "{} against {}", floor(x), x.floor());
            }
        }
    }

    #[test]
    fn a_window_that_fits_is_grown_even_where_doubling_would_not() {
        // Points arriving along a diagonal grow the window 9, 18, 36, 72, 144 squares wide;
        // doubling again (288 × 288) passes the limit, but 200 × 200 squares hold them all.
        let mut cells = Cells::new(1.0);
        for i in 0..200 {
            let v = f64::from(i) + 0.5;
            cells.insert(i, [v, v]);
        }
        assert!(
            cells.outliers.is_empty(),
            "{} outliers",
            cells.outliers.len()
        );
        assert!(i64::from(cells.w) * i64::from(cells.h) <= MAX_SQUARES);
        // A walk from the far corner finds the nearest point first.
        let (nearest, _) = cells.nearest([199.5, 199.5], |_| true).next().unwrap();
        assert_eq!(nearest.0, 199);
    }

    #[test]
    fn a_laid_out_class_holds_its_points_in_squares() {
        // 1,000 points over 10 km: laid out for about 2 a square, none left outside.
        let mut cells = Cells::new(4000.0);
        for i in 0..1000u32 {
            let (x, y) = (f64::from(i % 40) * 250.0, f64::from(i / 40) * 400.0);
            cells.insert(i, [x, y]);
        }
        cells.lay_out(|_, _| {});
        assert!(cells.outliers.is_empty());
        // The points' box (9,750 m × 9,600 m) in squares of about two points each.
        let squares = 9750.0 * 9600.0 / (cells.side_m * cells.side_m);
        assert!((450.0..550.0).contains(&squares), "side {}", cells.side_m);
        assert_eq!(cells.len(), 1000);
    }
}
