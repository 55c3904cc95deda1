//! The merged grid: the union of the subdistrict parts, cut into square cells.
//!
//! This is the "+1" of Yangpu's "12+1": the riverfront strip taken out of three subdistricts
//! and managed as one grid. Each cell keeps the subdistrict it mostly lies in, so a
//! `separate-grids` policy can still tell where the old boundaries ran.

use crate::layers::Subdistrict;
use geo::{
    Area, BooleanOps, BoundingRect, Contains, Coord, Distance, Euclidean, MultiPolygon, Point,
    Polygon, Rect,
};
use std::collections::HashMap;

/// Cells with less than this share of their square inside the grid are dropped as slivers.
const MIN_CELL_SHARE: f64 = 0.01;

/// One square cell of the merged grid.
#[derive(Debug, Clone)]
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
    by_col_row: HashMap<(i32, i32), usize>,
}

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
            by_col_row: HashMap::new(),
        };
        let cols = ((bounds.max().x - lattice_origin.x) / cell_size_m).ceil() as i32;
        let rows = ((bounds.max().y - lattice_origin.y) / cell_size_m).ceil() as i32;
        for row in 0..rows {
            for col in 0..cols {
                if let Some(cell) = grid.cut_cell(col, row) {
                    grid.by_col_row.insert((col, row), grid.cells.len());
                    grid.cells.push(cell);
                }
            }
        }
        grid
    }

    fn cut_cell(&self, col: i32, row: i32) -> Option<GridCell> {
        let s = self.cell_size_m;
        let min = Coord {
            x: self.lattice_origin.x + col as f64 * s,
            y: self.lattice_origin.y + row as f64 * s,
        };
        let square = Rect::new(
            min,
            Coord {
                x: min.x + s,
                y: min.y + s,
            },
        );
        let poly = square.to_polygon();
        let area_m2 = poly.intersection(&self.outline).unsigned_area();
        if area_m2 < MIN_CELL_SHARE * s * s {
            return None;
        }
        let subdistrict = self
            .parts
            .iter()
            .map(|p| {
                (
                    p.area
                        .intersection(&MultiPolygon(vec![poly.clone()]))
                        .unsigned_area(),
                    &p.code,
                )
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
        self.outline.contains(&Point::from(p))
    }

    /// Index of the cell holding `p`, if `p` is on the grid.
    pub fn cell_at(&self, p: Coord) -> Option<usize> {
        self.cell_of_lattice(self.lattice_of(p))
    }

    /// The lattice square (column, row) holding `p`, on the grid or not: cheap, so a walk
    /// along a path looks a cell up only when the square changes.
    pub fn lattice_of(&self, p: Coord) -> (i32, i32) {
        (
            ((p.x - self.lattice_origin.x) / self.cell_size_m).floor() as i32,
            ((p.y - self.lattice_origin.y) / self.cell_size_m).floor() as i32,
        )
    }

    /// Index of the cell of lattice square (column, row), if it is one of the grid's.
    pub fn cell_of_lattice(&self, square: (i32, i32)) -> Option<usize> {
        self.by_col_row.get(&square).copied()
    }

    /// Index of the part (subdistrict) whose polygon holds `p`; off the grid, the part
    /// nearest to it. Membership is the polygon's, not a cell's majority, so a point just
    /// across a boundary inside a mostly-other cell still belongs where it is.
    pub fn part_at(&self, p: Coord) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn part(code: &str, x0: f64, x1: f64) -> GridPart {
        let p = polygon![(x: x0, y: 0.0), (x: x1, y: 0.0), (x: x1, y: 250.0), (x: x0, y: 250.0)];
        GridPart {
            code: code.into(),
            name: code.into(),
            area: MultiPolygon(vec![p]),
        }
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
