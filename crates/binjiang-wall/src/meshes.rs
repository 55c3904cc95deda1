//! Geometry for the wall: scene features in local metres turned into triangle meshes.
//!
//! The local frame is x east, y north; Bevy's is X right, Y up, Z towards the viewer, so a
//! point (x, y) at height h is (x, h, −y). Everything of one kind is merged into one mesh
//! (one draw call per kind, whatever the count of roads, buildings or glyphs).

use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, Mesh, PrimitiveTopology};
use geo::{Coord, LineString, Polygon, TriangulateEarcut};

/// Bevy position of local point `c` at height `h`.
pub fn world(c: Coord, h: f64) -> [f32; 3] {
    [c.x as f32, h as f32, -c.y as f32]
}

/// Accumulates triangles with flat normals.
#[derive(Default, Debug, Clone)]
pub struct MeshBuilder {
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    indices: Vec<u32>,
}

impl MeshBuilder {
    /// Number of triangles so far.
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }

    fn triangle(&mut self, a: [f32; 3], b: [f32; 3], c: [f32; 3]) {
        let n = normal(a, b, c);
        let base = self.positions.len() as u32;
        self.positions.extend([a, b, c]);
        self.normals.extend([n, n, n]);
        self.indices.extend([base, base + 1, base + 2]);
    }

    /// A quad a-b-c-d (counter-clockwise seen from its front).
    pub fn quad(&mut self, a: [f32; 3], b: [f32; 3], c: [f32; 3], d: [f32; 3]) {
        self.triangle(a, b, c);
        self.triangle(a, c, d);
    }

    /// A flat polygon (holes respected) at height `h`, facing up.
    pub fn flat_polygon(&mut self, polygon: &Polygon, h: f64) {
        for t in polygon.earcut_triangles() {
            let [a, b, c] = [world(t.v1(), h), world(t.v2(), h), world(t.v3(), h)];
            // Face up whatever the ring's winding.
            if normal(a, b, c)[1] >= 0.0 {
                self.triangle(a, b, c);
            } else {
                self.triangle(a, c, b);
            }
        }
    }

    /// A prism: the polygon's roof at `height` and its exterior walls down to the ground.
    pub fn extrusion(&mut self, polygon: &Polygon, height: f64) {
        self.flat_polygon(polygon, height);
        self.walls(polygon.exterior(), height);
    }

    fn walls(&mut self, ring: &LineString, height: f64) {
        let ccw = signed_area(ring) > 0.0;
        for l in ring.lines() {
            let (p, q) = if ccw {
                (l.start, l.end)
            } else {
                (l.end, l.start)
            };
            self.quad(
                world(p, 0.0),
                world(q, 0.0),
                world(q, height),
                world(p, height),
            );
        }
    }

    /// A flat strip of `width` metres along a→b at height `h` (a road, an outline).
    pub fn ribbon(&mut self, a: Coord, b: Coord, width: f64, h: f64) {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = (dx * dx + dy * dy).sqrt();
        if len == 0.0 {
            return;
        }
        let (nx, ny) = (-dy / len * width / 2.0, dx / len * width / 2.0);
        let off = |c: Coord, s: f64| Coord {
            x: c.x + nx * s,
            y: c.y + ny * s,
        };
        self.quad(
            world(off(a, -1.0), h),
            world(off(b, -1.0), h),
            world(off(b, 1.0), h),
            world(off(a, 1.0), h),
        );
    }

    /// An axis-aligned box of `size` metres standing on the ground at `c`.
    pub fn column(&mut self, c: Coord, size: f64, height: f64) {
        let s = size / 2.0;
        let ring = LineString::from(vec![
            (c.x - s, c.y - s),
            (c.x + s, c.y - s),
            (c.x + s, c.y + s),
            (c.x - s, c.y + s),
            (c.x - s, c.y - s),
        ]);
        self.extrusion(&Polygon::new(ring, vec![]), height);
    }

    /// The Bevy mesh.
    pub fn build(self) -> Mesh {
        Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::default(),
        )
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, self.positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, self.normals)
        .with_inserted_indices(Indices::U32(self.indices))
    }
}

fn normal(a: [f32; 3], b: [f32; 3], c: [f32; 3]) -> [f32; 3] {
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
        .sqrt()
        .max(f32::MIN_POSITIVE);
    [n[0] / l, n[1] / l, n[2] / l]
}

fn signed_area(ring: &LineString) -> f64 {
    ring.lines()
        .map(|l| l.start.x * l.end.y - l.end.x * l.start.y)
        .sum::<f64>()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn extruded_square_has_roof_and_four_walls_facing_out() {
        let mut b = MeshBuilder::default();
        b.extrusion(
            &polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            20.0,
        );
        assert_eq!(b.triangles(), 2 + 4 * 2);
        // Roof faces up.
        assert!(b.normals[0][1] > 0.99);
        // The south wall (local y = 0, Bevy z = 0) faces south (+z in Bevy).
        let south = b
            .positions
            .iter()
            .zip(&b.normals)
            .find(|(p, n)| p[2] == 0.0 && n[1].abs() < 0.01 && n[2].abs() > 0.99)
            .unwrap();
        assert!(south.1[2] > 0.0, "{:?}", south);
    }

    #[test]
    fn ribbons_have_their_width() {
        let mut b = MeshBuilder::default();
        b.ribbon(
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 100.0, y: 0.0 },
            8.0,
            1.0,
        );
        let zs: Vec<f32> = b.positions.iter().map(|p| p[2]).collect();
        let span = zs.iter().cloned().fold(f32::MIN, f32::max)
            - zs.iter().cloned().fold(f32::MAX, f32::min);
        assert!((span - 8.0).abs() < 1e-4);
        assert!(b.normals.iter().all(|n| n[1] > 0.99), "faces up");
    }
}
