//! The road segments open to one mode, bucketed by a uniform grid: finds the segment closest
//! to a point in a few cells, where the R-tree's nearest-first walk ([`RoadGraph::snaps`])
//! keeps a heap of nodes.
//!
//! It answers only where the answer cannot depend on how a tie is broken: when one segment
//! is closer than every other by a clear margin, that segment is the R-tree walk's first
//! (the walk yields segments by distance; only equal distances are ordered by its heap). A
//! point at a junction, where two segments touch it at the same distance, is left to the
//! walk, so a snap found here is exactly the snap found there, bit for bit.

use crate::domain::Mode;
use crate::grid::floor_i64;
use crate::road_graph::{snap_to, RoadGraph, Snap};
use geo::{Coord, Line, Rect};

/// A cell's width, in mean segment lengths.
const CELL_PER_SEGMENT_LENGTH: f64 = 1.5;
/// Most cells in a grid (memory stays bounded whatever the district's shape).
const MAX_CELLS: f64 = 4.0e6;
/// Relative margin by which the closest segment must beat every other: far above the
/// rounding of two squared distances, far below any real difference between roads.
const CLEAR_MARGIN: f64 = 1e-9;

/// What the grid can say about the segment closest to a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GridSnap {
    /// One segment is clearly the closest: the first segment the R-tree walk yields.
    Closest(Snap),
    /// No open segment lies within the distance asked about.
    NoneWithin,
    /// Two or more segments are (about) equally close, `edge` one of them: ask the R-tree
    /// walk, whose order among equals decides.
    Tied {
        /// One of the closest segments' edge.
        edge: u32,
    },
}

/// The segments one mode may use, by grid cell.
#[derive(Debug, Clone)]
pub struct SegmentGrid {
    origin: Coord,
    cell_m: f64,
    cols: i64,
    rows: i64,
    /// Per cell (row-major), the range of `items` holding the segments that meet it.
    starts: Vec<u32>,
    items: Vec<(u32, Line)>,
}

impl SegmentGrid {
    /// Buckets the segments of `roads` that `mode` may use.
    pub fn new(roads: &RoadGraph, mode: Mode) -> Self {
        let open: Vec<(u32, Line)> = roads
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.modes.allows(mode))
            .map(|(i, e)| {
                let line = Line::new(roads.nodes[e.from as usize], roads.nodes[e.to as usize]);
                (i as u32, line)
            })
            .collect();
        let (min, max) = bounds_of(open.iter().map(|(_, l)| *l))
            .map_or((Coord { x: 0.0, y: 0.0 }, Coord { x: 0.0, y: 0.0 }), |r| {
                (r.min(), r.max())
            });
        let (w, h) = ((max.x - min.x).max(1.0), (max.y - min.y).max(1.0));
        // Cells about as wide as segments are long: a cell holds a few segments wherever
        // the roads are (a river or a park leaves cells empty, not others crowded).
        let mean_length =
            open.iter().map(|(_, l)| l.dx().hypot(l.dy())).sum::<f64>() / open.len().max(1) as f64;
        let cell_m = (mean_length * CELL_PER_SEGMENT_LENGTH)
            .max((w * h / MAX_CELLS).sqrt())
            .max(1.0);
        let (cols, rows) = (
            (w / cell_m).floor() as i64 + 1,
            (h / cell_m).floor() as i64 + 1,
        );
        let mut grid = SegmentGrid {
            origin: min,
            cell_m,
            cols,
            rows,
            starts: Vec::new(),
            items: Vec::new(),
        };
        // Each segment goes into every cell its bounding box meets (a superset of the cells
        // it passes through: a few extra distance tests, never a miss).
        let mut per_cell: Vec<Vec<(u32, Line)>> = vec![Vec::new(); (cols * rows) as usize];
        for &(edge, line) in &open {
            let (c0, r0) = grid.cell_of(Coord {
                x: line.start.x.min(line.end.x),
                y: line.start.y.min(line.end.y),
            });
            let (c1, r1) = grid.cell_of(Coord {
                x: line.start.x.max(line.end.x),
                y: line.start.y.max(line.end.y),
            });
            for r in r0.max(0)..=r1.min(rows - 1) {
                for c in c0.max(0)..=c1.min(cols - 1) {
                    per_cell[(r * cols + c) as usize].push((edge, line));
                }
            }
        }
        (grid.starts, grid.items) = flatten_cells(per_cell);
        grid
    }

    /// The (column, row) of the cell holding `p`, unclamped.
    fn cell_of(&self, p: Coord) -> (i64, i64) {
        (
            ((p.x - self.origin.x) / self.cell_m).floor() as i64,
            ((p.y - self.origin.y) / self.cell_m).floor() as i64,
        )
    }

    fn cell(&self, c: i64, r: i64) -> &[(u32, Line)] {
        let k = (r * self.cols + c) as usize;
        &self.items[self.starts[k] as usize..self.starts[k + 1] as usize]
    }

    /// The segment closest to `p`, if one is clearly closest; whether none lies within
    /// `within_m`; or that the closest are tied.
    pub fn closest(&self, p: Coord, within_m: f64) -> GridSnap {
        let (fx, fy) = (
            (p.x - self.origin.x) / self.cell_m,
            (p.y - self.origin.y) / self.cell_m,
        );
        let (cx, cy) = (floor_i64(fx), floor_i64(fy));
        // How far `p` is from the edge of its own cell, in cells: every cell of ring k
        // (Chebyshev distance k from `p`'s cell) is at least k − 1 + this away.
        let inset = (fx - cx as f64)
            .min(cx as f64 + 1.0 - fx)
            .min(fy - cy as f64)
            .min(cy as f64 + 1.0 - fy)
            .max(0.0);
        let mut best: Option<(f64, u32, Line)> = None;
        let mut second = f64::INFINITY;
        // Past every cell of the grid, no ring holds anything.
        let last_ring = (cx.abs().max((cx - self.cols).abs()))
            .max(cy.abs().max((cy - self.rows).abs()))
            .max(0);
        let mut ring = 0i64;
        loop {
            self.visit_ring(cx, cy, ring, |edge, line| {
                // A segment whose box is clearly farther than the closest so far can neither
                // be the closest nor tie with it: its distance is not worked out.
                if let Some((b, _, _)) = best {
                    if clearly_closer(b * (1.0 + CLEAR_MARGIN), box_distance_2(&line, p)) {
                        return;
                    }
                }
                let d2 = segment_distance_2(&line, p);
                match best {
                    Some((_, e, _)) if e == edge => {}
                    Some((b, _, _)) if d2 >= b => second = second.min(d2),
                    _ => {
                        if let Some((b, _, _)) = best {
                            second = second.min(b);
                        }
                        best = Some((d2, edge, line));
                    }
                }
            });
            // Everything not yet seen is at least this far away.
            let unseen_m = (ring as f64 + inset) * self.cell_m;
            let done = ring >= last_ring;
            match best {
                Some((b, edge, line)) if done || clearly_closer(b, unseen_m * unseen_m) => {
                    // Beyond reach, tied or not: the walk's first is beyond it too.
                    if b.sqrt() > within_m + 1.0 {
                        return GridSnap::NoneWithin;
                    }
                    if !clearly_closer(b, second) {
                        return GridSnap::Tied { edge };
                    }
                    return GridSnap::Closest(snap_to(&line, edge, p));
                }
                None if done || unseen_m > within_m + 1.0 => return GridSnap::NoneWithin,
                _ => {}
            }
            // The closest seen is beyond reach and nothing nearer is left to see.
            if best.is_some_and(|(b, _, _)| b.sqrt() > within_m + 1.0) && unseen_m > within_m + 1.0
            {
                return GridSnap::NoneWithin;
            }
            ring += 1;
        }
    }

    /// Calls `visit` with every segment of the grid cells at Chebyshev distance `ring` from
    /// cell (`cx`, `cy`).
    fn visit_ring(&self, cx: i64, cy: i64, ring: i64, mut visit: impl FnMut(u32, Line)) {
        let (c0, c1) = ((cx - ring).max(0), (cx + ring).min(self.cols - 1));
        for r in (cy - ring).max(0)..=(cy + ring).min(self.rows - 1) {
            let whole_row = r == cy - ring || r == cy + ring;
            if whole_row {
                for c in c0..=c1 {
                    self.cell(c, r).iter().for_each(|&(e, l)| visit(e, l));
                }
            } else {
                // Ring 0 is one cell, its whole row; other rings have two ends here.
                for c in [cx - ring, cx + ring] {
                    if (0..self.cols).contains(&c) {
                        self.cell(c, r).iter().for_each(|&(e, l)| visit(e, l));
                    }
                }
            }
        }
    }
}

/// Lists kept per grid cell, laid end to end: where each cell's list begins (and, last,
/// where the final one ends), and the items. One allocation for a whole grid, and a cell's
/// items side by side in memory.
pub fn flatten_cells<T>(per_cell: Vec<Vec<T>>) -> (Vec<u32>, Vec<T>) {
    let mut starts = Vec::with_capacity(per_cell.len() + 1);
    let mut items = Vec::with_capacity(per_cell.iter().map(Vec::len).sum());
    starts.push(0);
    for cell in per_cell {
        items.extend(cell);
        starts.push(items.len() as u32);
    }
    (starts, items)
}

/// Squared distance from `p` to segment `line`, by projection, without the square root
/// (and `hypot`) that `geo`'s distance takes only to square it again: it differs from that by
/// a rounding or two, far inside [`CLEAR_MARGIN`] and the constant of [`clearly_closer`], so
/// which segment is clearly closest (and so the snap) is the same either way.
fn segment_distance_2(line: &Line, p: Coord) -> f64 {
    let (dx, dy) = (line.end.x - line.start.x, line.end.y - line.start.y);
    let (px, py) = (p.x - line.start.x, p.y - line.start.y);
    let length_2 = dx * dx + dy * dy;
    let t = if length_2 > 0.0 {
        ((px * dx + py * dy) / length_2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (px - t * dx, py - t * dy);
    ex * ex + ey * ey
}

/// Squared distance from `p` to the bounding box of `line`: never more than to the line.
fn box_distance_2(line: &Line, p: Coord) -> f64 {
    let dx = (line.start.x.min(line.end.x) - p.x).max(p.x - line.start.x.max(line.end.x));
    let dy = (line.start.y.min(line.end.y) - p.y).max(p.y - line.start.y.max(line.end.y));
    let (dx, dy) = (dx.max(0.0), dy.max(0.0));
    dx * dx + dy * dy
}

/// The smallest rectangle holding every one of `lines`; `None` for none.
pub fn bounds_of(lines: impl IntoIterator<Item = Line>) -> Option<Rect> {
    lines.into_iter().fold(None, |acc: Option<Rect>, l| {
        let r = Rect::new(l.start, l.end);
        Some(acc.map_or(r, |a| {
            Rect::new(
                Coord {
                    x: a.min().x.min(r.min().x),
                    y: a.min().y.min(r.min().y),
                },
                Coord {
                    x: a.max().x.max(r.max().x),
                    y: a.max().y.max(r.max().y),
                },
            )
        }))
    })
}

/// Whether squared distance `a` is below `b` by more than rounding could make up.
fn clearly_closer(a: f64, b: f64) -> bool {
    a * (1.0 + CLEAR_MARGIN) + 1e-12 < b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Road;
    use crate::RoadClass;
    use geo::LineString;

    /// A small town: a grid of two-way streets, a footpath, and a one-mode stub.
    fn town() -> RoadGraph {
        let mut roads = Vec::new();
        let street = |pts: Vec<(f64, f64)>, modes: Vec<Mode>| Road {
            id: "r".into(),
            name: None,
            class: RoadClass::Street,
            line: LineString::from(pts),
            modes,
            oneway: false,
            speed_kmh: 30.0,
            source: "test".into(),
        };
        for k in 0..6 {
            let v = k as f64 * 120.0;
            roads.push(street(
                vec![(v, 0.0), (v, 300.0), (v, 600.0)],
                Mode::ALL.to_vec(),
            ));
            roads.push(street(
                vec![(0.0, v), (300.0, v), (600.0, v)],
                Mode::ALL.to_vec(),
            ));
        }
        roads.push(street(
            vec![(10.0, 10.0), (57.3, 91.1), (233.0, 61.7), (419.9, 333.3)],
            vec![Mode::Foot],
        ));
        roads.push(street(
            vec![(700.0, 700.0), (760.0, 705.0)],
            vec![Mode::Car],
        ));
        RoadGraph::build(&roads)
    }

    fn agrees(g: &RoadGraph, grid: &SegmentGrid, mode: Mode, p: Coord) -> Result<bool, String> {
        let first = g.snaps(p, Some(mode)).next();
        match grid.closest(p, 400.0) {
            GridSnap::Closest(s) if Some(s) == first => Ok(true),
            GridSnap::NoneWithin if first.is_none_or(|f| f.distance_m > 400.0) => Ok(true),
            GridSnap::Tied { .. } => Ok(false),
            other => Err(format!("{p:?} {mode:?}: grid {other:?}, R-tree {first:?}")),
        }
    }

    #[test]
    fn a_junction_is_left_to_the_r_tree_and_a_mid_segment_point_is_not() {
        let g = town();
        let grid = SegmentGrid::new(&g, Mode::Car);
        assert!(matches!(
            grid.closest(Coord { x: 120.0, y: 120.0 }, 400.0),
            GridSnap::Tied { .. }
        ));
        assert!(matches!(
            grid.closest(Coord { x: 130.0, y: 181.0 }, 400.0),
            GridSnap::Closest(s) if (s.point.x - 120.0).abs() < 1e-9 && (s.point.y - 181.0).abs() < 1e-9
        ));
        assert_eq!(
            grid.closest(
                Coord {
                    x: 2000.0,
                    y: -900.0
                },
                400.0
            ),
            GridSnap::NoneWithin
        );
    }

    proptest::proptest! {
        /// Against the R-tree's nearest-first walk: every snap the grid finds is that walk's
        /// first, bit for bit, in every mode, on and off the network and far outside it.
        #[test]
        fn the_grid_finds_the_r_tree_walks_first_snap(
            x in -500.0f64..1300.0, y in -500.0f64..1300.0,
            on in 0usize..40, along in 0.0f64..=1.0,
        ) {
            let g = town();
            for mode in Mode::ALL {
                let grid = SegmentGrid::new(&g, *mode);
                proptest::prop_assert!(agrees(&g, &grid, *mode, Coord { x, y }).is_ok(),
                    "{}", agrees(&g, &grid, *mode, Coord { x, y }).unwrap_err());
                // Points on a segment, at its nodes and between.
                let e = &g.edges[on % g.edges.len()];
                let (a, b) = (g.nodes[e.from as usize], g.nodes[e.to as usize]);
                for p in [a, b, Coord { x: a.x + along * (b.x - a.x), y: a.y + along * (b.y - a.y) }] {
                    proptest::prop_assert!(agrees(&g, &grid, *mode, p).is_ok(),
                        "{}", agrees(&g, &grid, *mode, p).unwrap_err());
                }
            }
        }
    }
}
