//! The merged grid: the union of the subdistrict parts, cut into square cells.
//!
//! This is the "+1" of Yangpu's "12+1": the riverfront strip taken out of three subdistricts
//! and managed as one grid. Each cell keeps the subdistrict it mostly lies in, so a
//! `separate-grids` policy can still tell where the old boundaries ran.

use crate::layers::Subdistrict;
use geo::{
    Area, BooleanOps, BoundingRect, Contains, Coord, Distance, Euclidean, Intersects, Line,
    MultiPolygon, Point, Polygon, Rect,
};
use rayon::prelude::*;

/// Cells with less than this share of their square inside the grid are dropped as slivers.
const MIN_CELL_SHARE: f64 = 0.01;

/// One square cell of the merged grid.
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    /// Stable id `c<col>-r<row>`.
    pub id: String,
    /// Column in the lattice.
    pub col: i32,
    /// Row in the lattice.
    pub row: i32,
    /// Code of the subdistrict holding most of the cell.
    pub subdistrict: String,
    /// The cell's square, local metres.
    pub square: Rect,
    /// Area of the cell inside the grid, m².
    pub area_m2: f64,
}

impl GridCell {
    /// Centre of the square.
    pub fn centre(&self) -> Coord {
        self.square.center()
    }
}

/// A subdistrict's share of the grid.
#[derive(Debug, Clone)]
pub struct GridPart {
    /// Official code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Area, local metres.
    pub area: MultiPolygon,
}

/// The merged grid.
#[derive(Debug, Clone)]
pub struct MergedGrid {
    /// Outline of the union of all parts.
    pub outline: MultiPolygon,
    /// The parts it was merged from.
    pub parts: Vec<GridPart>,
    /// Cell side, metres.
    pub cell_size_m: f64,
    /// The cells, row by row.
    pub cells: Vec<GridCell>,
    lattice_origin: Coord,
    /// Lattice columns and rows over the outline's bounding box.
    lattice_size: (i32, i32),
    /// The cell of each lattice square, row by row (`u32::MAX`: none): a dense table, since
    /// patrol coverage asks for every square every unit passes through.
    by_square: Vec<u32>,
    /// What every point of each lattice square is, where no edge of the outline or of a part
    /// comes near the square (row by row): inside part k (k), outside every part and the
    /// outline ([`OUTSIDE`]), or not known without a polygon test ([`UNKNOWN`]). Incidents
    /// and units ask which subdistrict they stand in thousands of times a run.
    square_state: Vec<u32>,
    /// For a square of [`UNKNOWN`] state, where its [`FINE`]² sub-squares' states begin in
    /// `fine_state` ([`NO_FINE`]: none known); the same states, sub-square by sub-square, row
    /// by row. A riverfront grid is long and thin: most of its squares have a boundary near,
    /// and a point in one was tested against the polygons (a twentieth of a day's work).
    fine_at: Vec<u32>,
    fine_state: Vec<u32>,
}

/// Sub-squares per side of a lattice square a boundary passes near.
const FINE: i32 = 8;
/// A square with no sub-square states.
const NO_FINE: u32 = u32::MAX;

/// A square wholly outside the grid.
const OUTSIDE: u32 = u32::MAX - 1;
/// A square a boundary passes near.
const UNKNOWN: u32 = u32::MAX;

impl MergedGrid {
    /// Merges `parts` and cuts the result into cells of `cell_size_m`.
    pub fn build(parts: Vec<GridPart>, cell_size_m: f64) -> Self {
        let polygons: Vec<Polygon> = parts
            .iter()
            .flat_map(|p| p.area.0.iter().cloned())
            .collect();
        let outline = geo::unary_union(&polygons);
        let bounds = outline
            .bounding_rect()
            .unwrap_or(Rect::new((0.0, 0.0), (0.0, 0.0)));
        let lattice_origin = Coord {
            x: (bounds.min().x / cell_size_m).floor() * cell_size_m,
            y: (bounds.min().y / cell_size_m).floor() * cell_size_m,
        };
        let mut grid = MergedGrid {
            outline,
            parts,
            cell_size_m,
            cells: Vec::new(),
            lattice_origin,
            lattice_size: (0, 0),
            by_square: Vec::new(),
            square_state: Vec::new(),
            fine_at: Vec::new(),
            fine_state: Vec::new(),
        };
        let cols = ((bounds.max().x - lattice_origin.x) / cell_size_m).ceil() as i32;
        let rows = ((bounds.max().y - lattice_origin.y) / cell_size_m).ceil() as i32;
        grid.lattice_size = (cols.max(0), rows.max(0));
        // What each square is where no boundary comes near it (its state), first: a square
        // wholly outside makes no cell, and most of a diagonal riverfront's bounding box is
        // river and city beyond the grid, passed over without clipping.
        let outline_edges = edges_of(&grid.outline.0);
        let part_edges = edges_of(grid.parts.iter().flat_map(|p| p.area.0.iter()));
        grid.square_state = (0..rows.max(0))
            .flat_map(|row| (0..cols).map(move |col| (col, row)))
            .map(|(col, row)| grid.state_of_square(col, row, &outline_edges, &part_edges))
            .collect();
        grid.fine_at = vec![NO_FINE; grid.square_state.len()];
        for k in 0..grid.square_state.len() {
            if grid.square_state[k] != UNKNOWN {
                continue;
            }
            let (col, row) = (k as i32 % cols, k as i32 / cols);
            let fine = grid.fine_states(col, row, &outline_edges, &part_edges);
            if fine.iter().any(|s| *s != UNKNOWN) {
                grid.fine_at[k] = grid.fine_state.len() as u32;
                grid.fine_state.extend(fine);
            }
        }
        // Each other square is cut on its own (two polygon clippings or more: most of
        // loading a scene), so the rows are shared among the cores and put back in order.
        let part_bounds: Vec<Option<Rect>> =
            grid.parts.iter().map(|p| p.area.bounding_rect()).collect();
        let cut: Vec<Option<GridCell>> = (0..rows.max(0))
            .into_par_iter()
            .flat_map_iter(|row| (0..cols).map(move |col| (col, row)))
            .map(|(col, row)| {
                if grid.square_state[(row * cols + col) as usize] == OUTSIDE {
                    return None;
                }
                grid.cut_cell(col, row, &part_bounds)
            })
            .collect();
        for cell in cut {
            grid.by_square
                .push(cell.as_ref().map_or(u32::MAX, |_| grid.cells.len() as u32));
            grid.cells.extend(cell);
        }
        grid
    }

    /// What every point of `p`'s lattice square is ([`MergedGrid::square_state`]).
    fn state_at(&self, p: Coord) -> u32 {
        let (x, y) = self.in_squares(p);
        let (col, row) = (floor_i32(x), floor_i32(y));
        let (cols, rows) = self.lattice_size;
        if col < 0 || row < 0 || col >= cols || row >= rows {
            return UNKNOWN;
        }
        let k = (row * cols + col) as usize;
        let state = self.square_state.get(k).copied().unwrap_or(UNKNOWN);
        let start = self.fine_at.get(k).copied().unwrap_or(NO_FINE);
        if state != UNKNOWN || start == NO_FINE {
            return state;
        }
        // The sub-square `p` is rounded into: `p` lies within far less than the millimetre
        // its state holds round it.
        let fine =
            |v: f64, at: i32| floor_i32((v - f64::from(at)) * f64::from(FINE)).clamp(0, FINE - 1);
        let (fc, fr) = (fine(x, col), fine(y, row));
        self.fine_state[start as usize + (fr * FINE + fc) as usize]
    }

    /// What every point of lattice square (`col`, `row`) is: in part k, outside the grid, or
    /// [`UNKNOWN`] where an edge of the outline or of a part meets the square or a millimetre
    /// round it (a point rounded into the square lies within that).
    fn state_of_square(
        &self,
        col: i32,
        row: i32,
        outline_edges: &rstar::RTree<Line>,
        part_edges: &rstar::RTree<Line>,
    ) -> u32 {
        let square = self.square(col, row);
        let grown = grown_by_a_millimetre(square.min(), self.cell_size_m);
        let envelope =
            rstar::AABB::from_corners(Point::from(grown.min()), Point::from(grown.max()));
        let near = |edges: &rstar::RTree<Line>| {
            edges
                .locate_in_envelope_intersecting(&envelope)
                .any(|edge| edge.intersects(&grown))
        };
        if near(outline_edges) || near(part_edges) {
            return UNKNOWN;
        }
        self.state_where_clear(square.center().into())
    }

    /// The state of the patch round `centre` that no boundary comes near: the part holding
    /// it (the first, as [`MergedGrid::part_at`] takes), outside everything, or [`UNKNOWN`]
    /// where the outline and the parts disagree.
    fn state_where_clear(&self, centre: Point) -> u32 {
        let part = self.parts.iter().position(|p| p.area.contains(&centre));
        match (self.outline.contains(&centre), part) {
            (true, Some(k)) => k as u32,
            (false, None) => OUTSIDE,
            _ => UNKNOWN,
        }
    }

    /// The states of the [`FINE`]² sub-squares of square (`col`, `row`), row by row, as
    /// [`MergedGrid::state_of_square`] gives a square's. Neighbouring sub-squares that no
    /// boundary comes near are the same (a boundary between their centres would meet one
    /// of them), so each such patch is classified once, by its first sub-square's centre.
    fn fine_states(
        &self,
        col: i32,
        row: i32,
        outline_edges: &rstar::RTree<Line>,
        part_edges: &rstar::RTree<Line>,
    ) -> Vec<u32> {
        let square = self.square(col, row);
        let sub = self.cell_size_m / f64::from(FINE);
        let whole = grown_by_a_millimetre(square.min(), self.cell_size_m);
        let envelope =
            rstar::AABB::from_corners(Point::from(whole.min()), Point::from(whole.max()));
        let near: Vec<Line> = outline_edges
            .locate_in_envelope_intersecting(&envelope)
            .chain(part_edges.locate_in_envelope_intersecting(&envelope))
            .copied()
            .collect();
        let corner = |fc: i32, fr: i32| Coord {
            x: square.min().x + f64::from(fc) * sub,
            y: square.min().y + f64::from(fr) * sub,
        };
        let clear: Vec<bool> = (0..FINE * FINE)
            .map(|i| {
                let r = grown_by_a_millimetre(corner(i % FINE, i / FINE), sub);
                !near.iter().any(|e| e.intersects(&r))
            })
            .collect();
        let mut states = vec![UNKNOWN; (FINE * FINE) as usize];
        let mut seen = vec![false; (FINE * FINE) as usize];
        for first in 0..FINE * FINE {
            if !clear[first as usize] || seen[first as usize] {
                continue;
            }
            let c = corner(first % FINE, first / FINE);
            let state = self.state_where_clear(Point::new(c.x + sub / 2.0, c.y + sub / 2.0));
            // The patch of clear sub-squares joined to this one side by side.
            let mut stack = vec![first];
            seen[first as usize] = true;
            while let Some(i) = stack.pop() {
                states[i as usize] = state;
                let (fc, fr) = (i % FINE, i / FINE);
                for (dc, dr) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                    let (nc, nr) = (fc + dc, fr + dr);
                    let j = nr * FINE + nc;
                    if (0..FINE).contains(&nc)
                        && (0..FINE).contains(&nr)
                        && clear[j as usize]
                        && !seen[j as usize]
                    {
                        seen[j as usize] = true;
                        stack.push(j);
                    }
                }
            }
        }
        states
    }

    /// Lattice square (`col`, `row`).
    fn square(&self, col: i32, row: i32) -> Rect {
        let s = self.cell_size_m;
        let min = Coord {
            x: self.lattice_origin.x + col as f64 * s,
            y: self.lattice_origin.y + row as f64 * s,
        };
        Rect::new(
            min,
            Coord {
                x: min.x + s,
                y: min.y + s,
            },
        )
    }

    /// The cell of lattice square (`col`, `row`), if enough of it is on the grid; a part
    /// whose bounding box (`part_bounds`) misses the square shares none of it.
    fn cut_cell(&self, col: i32, row: i32, part_bounds: &[Option<Rect>]) -> Option<GridCell> {
        let s = self.cell_size_m;
        let square = self.square(col, row);
        let poly = square.to_polygon();
        let area_m2 = poly.intersection(&self.outline).unsigned_area();
        if area_m2 < MIN_CELL_SHARE * s * s {
            return None;
        }
        let subdistrict = self
            .parts
            .iter()
            .zip(part_bounds)
            .map(|(p, bounds)| {
                let shared = match bounds {
                    Some(b) if b.intersects(&square) => p
                        .area
                        .intersection(&MultiPolygon(vec![poly.clone()]))
                        .unsigned_area(),
                    _ => 0.0,
                };
                (shared, &p.code)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, code)| code.clone())
            .unwrap_or_default();
        Some(GridCell {
            id: format!("c{col}-r{row}"),
            col,
            row,
            subdistrict,
            square,
            area_m2,
        })
    }

    /// Area of the merged grid, km².
    pub fn area_km2(&self) -> f64 {
        self.outline.unsigned_area() / 1e6
    }

    /// Whether `p` lies inside the grid.
    pub fn contains(&self, p: Coord) -> bool {
        match self.state_at(p) {
            UNKNOWN => self.outline.contains(&Point::from(p)),
            OUTSIDE => false,
            _ => true,
        }
    }

    /// Index of the cell holding `p`, if `p` is on the grid.
    pub fn cell_at(&self, p: Coord) -> Option<usize> {
        self.cell_of_lattice(self.lattice_of(p))
    }

    /// The lattice square (column, row) holding `p`, on the grid or not: cheap, so a walk
    /// along a path looks a cell up only when the square changes.
    pub fn lattice_of(&self, p: Coord) -> (i32, i32) {
        let (x, y) = self.in_squares(p);
        (floor_i32(x), floor_i32(y))
    }

    /// `p` in lattice units: squares east and north of the lattice's origin, fractions kept.
    fn in_squares(&self, p: Coord) -> (f64, f64) {
        (
            (p.x - self.lattice_origin.x) / self.cell_size_m,
            (p.y - self.lattice_origin.y) / self.cell_size_m,
        )
    }

    /// Every lattice square the straight segment from `a` to `b` passes through, in order
    /// from `a`'s, each once (Amanatides & Woo 1987); at most `limit` squares (a jump across
    /// the district is not a walk). Sampling points along the segment instead misses the
    /// squares a diagonal only clips.
    pub fn squares_along(
        &self,
        a: Coord,
        b: Coord,
        limit: usize,
        mut visit: impl FnMut((i32, i32)),
    ) {
        let ((x0, y0), (x1, y1)) = (self.in_squares(a), self.in_squares(b));
        let (mut col, mut row) = (floor_i32(x0), floor_i32(y0));
        let (end_col, end_row) = (floor_i32(x1), floor_i32(y1));
        visit((col, row));
        let (dx, dy) = (x1 - x0, y1 - y0);
        // Parameter along the segment (0 at a, 1 at b) of the next vertical and horizontal
        // lattice lines, and the parameter step between successive ones.
        let axis = |d: f64, from: f64, at: i32| -> (i32, f64, f64) {
            if d > 0.0 {
                (1, (f64::from(at) + 1.0 - from) / d, 1.0 / d)
            } else if d < 0.0 {
                (-1, (from - f64::from(at)) / -d, -1.0 / d)
            } else {
                (0, f64::INFINITY, f64::INFINITY)
            }
        };
        let (step_col, mut next_col, delta_col) = axis(dx, x0, col);
        let (step_row, mut next_row, delta_row) = axis(dy, y0, row);
        let crossings = (end_col - col).unsigned_abs() + (end_row - row).unsigned_abs();
        for _ in 0..(crossings as usize).min(limit.saturating_sub(1)) {
            if next_col < next_row {
                col += step_col;
                next_col += delta_col;
            } else {
                row += step_row;
                next_row += delta_row;
            }
            visit((col, row));
        }
    }

    /// Index of the cell of lattice square (column, row), if it is one of the grid's.
    pub fn cell_of_lattice(&self, square: (i32, i32)) -> Option<usize> {
        let (cols, rows) = self.lattice_size;
        let (col, row) = square;
        if col < 0 || row < 0 || col >= cols || row >= rows {
            return None;
        }
        let cell = self.by_square[(row * cols + col) as usize];
        (cell != u32::MAX).then_some(cell as usize)
    }

    /// Index of the part (subdistrict) whose polygon holds `p`; off the grid, the part
    /// nearest to it. Membership is the polygon's, not a cell's majority, so a point just
    /// across a boundary inside a mostly-other cell still belongs where it is.
    pub fn part_at(&self, p: Coord) -> Option<usize> {
        let state = self.state_at(p);
        if state != UNKNOWN && state != OUTSIDE {
            return Some(state as usize);
        }
        let point = Point::from(p);
        self.parts
            .iter()
            .position(|part| part.area.contains(&point))
            .or_else(|| {
                self.parts
                    .iter()
                    .enumerate()
                    .map(|(i, part)| (i, Euclidean.distance(&point, &part.area)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, _)| i)
            })
    }

    /// Builds the parts named by `codes` from the subdistrict layer; unknown codes are returned.
    pub fn parts_from(
        codes: &[String],
        subdistricts: &[Subdistrict],
    ) -> (Vec<GridPart>, Vec<String>) {
        let mut parts: Vec<GridPart> = Vec::new();
        let mut unknown = Vec::new();
        for code in codes {
            let matching: Vec<&Subdistrict> =
                subdistricts.iter().filter(|s| &s.code == code).collect();
            let Some(first) = matching.first() else {
                unknown.push(code.clone());
                continue;
            };
            let polys: Vec<Polygon> = matching
                .iter()
                .flat_map(|s| s.area.0.iter().cloned())
                .collect();
            parts.push(GridPart {
                code: code.clone(),
                name: first.name.clone(),
                area: geo::unary_union(&polys),
            });
        }
        (parts, unknown)
    }
}

/// The square of side `side` from corner `min`, grown by a millimetre on every side: a
/// point rounded into the square lies within it, and a boundary that misses it misses the
/// square by at least that.
fn grown_by_a_millimetre(min: Coord, side: f64) -> Rect {
    Rect::new(
        Coord {
            x: min.x - 1e-3,
            y: min.y - 1e-3,
        },
        Coord {
            x: min.x + side + 1e-3,
            y: min.y + side + 1e-3,
        },
    )
}

/// Every edge of `polygons`' rings, outer and inner, in an R-tree.
fn edges_of<'a>(polygons: impl IntoIterator<Item = &'a Polygon>) -> rstar::RTree<Line> {
    rstar::RTree::bulk_load(ring_edges(polygons))
}

/// Every edge of `polygons`' rings, outer and inner: a boundary to test against (the grid's
/// outline and parts, the shores of water).
pub fn ring_edges<'a>(polygons: impl IntoIterator<Item = &'a Polygon>) -> Vec<Line> {
    polygons
        .into_iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|ring| ring.lines())
        .collect()
}

/// `x.floor() as i32`, without the call to libm's `floor` that the x86-64 baseline (no
/// SSE4.1 `roundsd`) compiles it to: patrol coverage takes four per unit and sample, and
/// the call was a tenth of a what-if's sampling. Same result for every input (saturating,
/// NaN to 0).
#[inline]
pub(crate) fn floor_i32(x: f64) -> i32 {
    // Saturating to i32 as `as` does: the floor in i64, then clamped.
    floor_i64(x).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// `x.floor() as i64`, likewise without the library call: a grid cell's column or row
/// (snapping a point to the roads, testing a walk against the shores).
#[inline]
pub fn floor_i64(x: f64) -> i64 {
    let i = x as i64;
    if (i as f64) > x {
        i.saturating_sub(1)
    } else {
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn floor_i32_is_floor_then_cast_at_the_edges() {
        let edges = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            -1e-300,
            2.999_999_999_999_999_6,
            -2.000_000_000_000_000_4,
            f64::from(i32::MAX),
            f64::from(i32::MAX) + 0.5,
            f64::from(i32::MIN),
            f64::from(i32::MIN) - 0.5,
            f64::from(i32::MIN) + 0.5,
            1e10,
            -1e10,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for x in edges {
            assert_eq!(floor_i32(x), x.floor() as i32, "{x}");
        }
    }

    proptest::proptest! {
        /// Against brute force: every square a fine sampling of the segment lands in is
        /// visited, consecutive squares share a side, and the walk ends in `b`'s square.
        #[test]
        fn squares_along_a_segment_are_every_square_it_crosses(
            ax in -20.0f64..520.0, ay in -20.0f64..270.0,
            bx in -20.0f64..520.0, by in -20.0f64..270.0,
        ) {
            let grid = MergedGrid::build(vec![part("a", 0.0, 500.0)], 50.0);
            let (a, b) = (Coord { x: ax, y: ay }, Coord { x: bx, y: by });
            let mut walk = Vec::new();
            grid.squares_along(a, b, 10_000, |q| walk.push(q));
            proptest::prop_assert_eq!(walk[0], grid.lattice_of(a));
            proptest::prop_assert_eq!(*walk.last().unwrap(), grid.lattice_of(b));
            for pair in walk.windows(2) {
                let step = (pair[1].0 - pair[0].0).abs() + (pair[1].1 - pair[0].1).abs();
                proptest::prop_assert_eq!(step, 1, "{:?}", pair);
            }
            // Points well inside a square (not within a hair of a lattice line, where
            // rounding may pick either side).
            for k in 0..=20_000 {
                let f = k as f64 / 20_000.0;
                let p = Coord { x: a.x + f * (b.x - a.x), y: a.y + f * (b.y - a.y) };
                let (u, v) = grid.in_squares(p);
                if (u - u.round()).abs() < 1e-6 || (v - v.round()).abs() < 1e-6 {
                    continue;
                }
                proptest::prop_assert!(walk.contains(&grid.lattice_of(p)), "{:?} missed", p);
            }
        }
    }

    proptest::proptest! {
        /// Against the polygons themselves: which part a point is in, and whether it is on
        /// the grid, are what the polygon tests say, anywhere (squares far from any boundary
        /// answer from the lattice, the rest from the polygons).
        #[test]
        fn part_and_grid_membership_are_the_polygons(
            x in -100.0f64..1700.0, y in -100.0f64..1300.0, cell in 0usize..3,
            near_edge in proptest::bool::ANY, edge in 0usize..1000, along in 0.0f64..1.0,
        ) {
            let grid = strip_grid([23.0, 37.0, 100.0][cell]);
            // Half the points near a part's edge (the shared border included), where a
            // square's answer would be wrong if it were taken from its centre.
            let edges: Vec<Line> = grid
                .parts
                .iter()
                .flat_map(|p| p.area.0.iter())
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|ring| ring.lines())
                .collect();
            let e = edges[edge % edges.len()];
            let p = if near_edge {
                Coord {
                    x: e.start.x + along * e.dx() + (x % 10.0),
                    y: e.start.y + along * e.dy() + (y % 10.0),
                }
            } else {
                Coord { x, y }
            };
            let point = Point::from(p);
            let inside = grid.parts.iter().position(|part| part.area.contains(&point));
            let brute = inside.or_else(|| {
                grid.parts
                    .iter()
                    .enumerate()
                    .map(|(i, part)| (i, Euclidean.distance(&point, &part.area)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, _)| i)
            });
            proptest::prop_assert_eq!(grid.part_at(p), brute);
            proptest::prop_assert_eq!(grid.contains(p), grid.outline.contains(&point));
        }
    }

    proptest::proptest! {
        /// Against the libm definition on any finite or infinite number.
        #[test]
        fn floor_i32_is_floor_then_cast(x in proptest::num::f64::ANY) {
            proptest::prop_assert_eq!(floor_i32(x), x.floor() as i32);
        }

        #[test]
        fn floor_i64_is_floor_then_cast(x in proptest::num::f64::ANY) {
            proptest::prop_assert_eq!(floor_i64(x), x.floor() as i64);
        }
    }

    fn part(code: &str, x0: f64, x1: f64) -> GridPart {
        let p = polygon![(x: x0, y: 0.0), (x: x1, y: 0.0), (x: x1, y: 250.0), (x: x0, y: 250.0)];
        GridPart {
            code: code.into(),
            name: code.into(),
            area: MultiPolygon(vec![p]),
        }
    }

    /// Two parts of a diagonal strip, the first with a hole (a riverfront's shape).
    fn strip_grid(cell_m: f64) -> MergedGrid {
        let strip = |code: &str, a: f64, b: f64| GridPart {
            code: code.into(),
            name: code.into(),
            area: MultiPolygon(vec![Polygon::new(
                geo::LineString::from(vec![
                    (a, a * 0.7),
                    (b, b * 0.7),
                    (b + 40.0, b * 0.7 + 180.0),
                    (a + 40.0, a * 0.7 + 180.0),
                    (a, a * 0.7),
                ]),
                vec![geo::LineString::from(vec![
                    (a + 60.0, a * 0.7 + 80.0),
                    (a + 90.0, a * 0.7 + 80.0),
                    (a + 90.0, a * 0.7 + 110.0),
                    (a + 60.0, a * 0.7 + 110.0),
                    (a + 60.0, a * 0.7 + 80.0),
                ])],
            )]),
        };
        MergedGrid::build(
            vec![strip("A", 0.0, 700.0), strip("B", 700.0, 1500.0)],
            cell_m,
        )
    }

    /// The squares passed over as wholly outside are exactly those that make no cell: a
    /// diagonal strip with a hole, cut square by square by brute force, gives the same cells.
    #[test]
    fn squares_far_from_the_outline_are_skipped_without_changing_any_cell() {
        let grid = strip_grid(37.0);
        let bounds: Vec<Option<Rect>> = grid.parts.iter().map(|p| p.area.bounding_rect()).collect();
        let (cols, rows) = grid.lattice_size;
        let brute: Vec<GridCell> = (0..rows)
            .flat_map(|row| (0..cols).map(move |col| (col, row)))
            .filter_map(|(col, row)| grid.cut_cell(col, row, &bounds))
            .collect();
        assert!(brute.len() > 100 && (cols * rows) as usize > 3 * brute.len());
        assert_eq!(grid.cells, brute);
    }

    #[test]
    fn merges_parts_and_tags_cells_by_majority() {
        let g = MergedGrid::build(vec![part("A", 0.0, 360.0), part("B", 360.0, 600.0)], 100.0);
        assert!((g.area_km2() - 0.15).abs() < 1e-9);
        assert_eq!(g.cells.len(), 18);
        let total: f64 = g.cells.iter().map(|c| c.area_m2).sum();
        assert!((total - 150_000.0).abs() < 1e-6);
        let c = &g.cells[g.cell_at(Coord { x: 350.0, y: 10.0 }).unwrap()];
        assert_eq!((c.col, c.subdistrict.as_str()), (3, "A"));
        assert_eq!(
            g.cells[g.cell_at(Coord { x: 450.0, y: 10.0 }).unwrap()].subdistrict,
            "B"
        );
        assert!(
            g.contains(Coord { x: 599.0, y: 249.0 }) && !g.contains(Coord { x: 601.0, y: 10.0 })
        );
        assert!(g.cell_at(Coord { x: 700.0, y: 10.0 }).is_none());
        // x = 350 lies in A's polygon; x = 365 in a cell A mostly holds, but in B's polygon.
        assert_eq!(g.part_at(Coord { x: 350.0, y: 10.0 }), Some(0));
        assert_eq!(g.part_at(Coord { x: 365.0, y: 10.0 }), Some(1));
        assert_eq!(
            g.part_at(Coord { x: 700.0, y: 10.0 }),
            Some(1),
            "off the grid: nearest"
        );
    }
}
