//! Things with a box (a shore's edge, a patrol loop's leg), listed by the cells of a uniform
//! grid that their boxes meet, to be found by the box of a question: which edges might a
//! walk to the road cross, which legs might pass near an incident. The cells a question's
//! box covers hold every thing whose box meets it, so a test of those few answers as a test
//! of them all would.

use binjiang_scene::floor_i64;
use geo::Coord;

/// Things listed by the cells of a grid over a rectangle.
#[derive(Debug, Clone)]
pub(crate) struct BoxCells<T> {
    origin: Coord,
    cell_m: f64,
    cols: i64,
    rows: i64,
    /// Per cell (row-major), the range of `items` listed in it.
    starts: Vec<u32>,
    items: Vec<T>,
}

impl<T> Default for BoxCells<T> {
    /// No cells: nothing listed, every box beyond.
    fn default() -> Self {
        BoxCells {
            origin: Coord { x: 0.0, y: 0.0 },
            cell_m: 1.0,
            cols: 0,
            rows: 0,
            starts: Vec::new(),
            items: Vec::new(),
        }
    }
}

impl<T: Clone> BoxCells<T> {
    /// Cells `cell_m` wide over the rectangle from `min` to `max`; each of `boxed` (its box's
    /// corners and itself) listed in every cell of its box for which `listed(thing, the
    /// cell's lower corner, its side)` holds.
    pub(crate) fn new(
        (min, max): (Coord, Coord),
        cell_m: f64,
        boxed: impl IntoIterator<Item = (Coord, Coord, T)>,
        listed: impl Fn(&T, Coord, f64) -> bool,
    ) -> Self {
        let mut cells = BoxCells {
            origin: min,
            cell_m,
            cols: floor_i64((max.x - min.x) / cell_m) + 1,
            rows: floor_i64((max.y - min.y) / cell_m) + 1,
            starts: Vec::new(),
            items: Vec::new(),
        };
        let mut per_cell: Vec<Vec<T>> = vec![Vec::new(); (cells.cols * cells.rows) as usize];
        for (lo, hi, thing) in boxed {
            let ((c0, r0), (c1, r1)) = (cells.cell_of(lo), cells.cell_of(hi));
            for r in r0..=r1 {
                for c in c0..=c1 {
                    let corner = Coord {
                        x: cells.origin.x + c as f64 * cells.cell_m,
                        y: cells.origin.y + r as f64 * cells.cell_m,
                    };
                    if listed(&thing, corner, cells.cell_m) {
                        per_cell[(r * cells.cols + c) as usize].push(thing.clone());
                    }
                }
            }
        }
        (cells.starts, cells.items) = binjiang_scene::segment_grid::flatten_cells(per_cell);
        cells
    }

    /// The cell holding `p`, clamped to the grid.
    fn cell_of(&self, p: Coord) -> (i64, i64) {
        (
            floor_i64((p.x - self.origin.x) / self.cell_m).clamp(0, self.cols - 1),
            floor_i64((p.y - self.origin.y) / self.cell_m).clamp(0, self.rows - 1),
        )
    }

    /// Whether the box from `lo` to `hi` lies wholly beyond the grid (or the grid is empty),
    /// where nothing listed is.
    pub(crate) fn beyond(&self, lo: Coord, hi: Coord) -> bool {
        self.starts.is_empty()
            || hi.x < self.origin.x
            || hi.y < self.origin.y
            || lo.x > self.origin.x + self.cols as f64 * self.cell_m
            || lo.y > self.origin.y + self.rows as f64 * self.cell_m
    }

    /// Everything listed in the cells the box from `lo` to `hi` covers (clamped to the grid;
    /// some more than once): among them every thing whose box meets that box.
    pub(crate) fn in_box(&self, lo: Coord, hi: Coord) -> impl Iterator<Item = &T> + '_ {
        // (An empty grid has no cells to clamp to: no rows are looked in.)
        let ((c0, r0), (c1, r1)) = if self.starts.is_empty() {
            ((0, 1), (0, 0))
        } else {
            (self.cell_of(lo), self.cell_of(hi))
        };
        (r0..=r1).flat_map(move |r| {
            (c0..=c1).flat_map(move |c| {
                let k = (r * self.cols + c) as usize;
                &self.items[self.starts[k] as usize..self.starts[k + 1] as usize]
            })
        })
    }
}
