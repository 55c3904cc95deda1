//! Node-id rings to checked WGS84 polygons, and bounding-box tests.

use crate::extent::Bbox;
use crate::rings::Ring;
use geo::{Contains, LineString, Point, Polygon, RemoveRepeatedPoints, Validation};
use std::collections::HashMap;

/// Node positions (lon, lat) kept by the node pass.
pub type Nodes = HashMap<i64, (f64, f64)>;

/// A ring's positions, if every node is known.
pub fn ring(ids: &[i64], nodes: &Nodes) -> Option<LineString> {
    ids.iter()
        .map(|id| nodes.get(id).copied())
        .collect::<Option<Vec<_>>>()
        .map(LineString::from)
}

/// Outer rings with the inner rings that lie inside them, as valid polygons; returns the
/// polygons and how many were dropped as invalid (self-intersecting, degenerate).
pub fn polygons(outers: Vec<LineString>, inners: Vec<LineString>) -> (Vec<Polygon>, usize) {
    let mut holes: Vec<Vec<LineString>> = vec![Vec::new(); outers.len()];
    for inner in inners {
        let Some(first) = inner.0.first() else {
            continue;
        };
        if let Some(i) = outers
            .iter()
            .position(|o| Polygon::new(o.clone(), vec![]).contains(&Point::from(*first)))
        {
            holes[i].push(inner);
        }
    }
    let mut out = Vec::new();
    let mut invalid = 0;
    for (outer, inner) in outers.into_iter().zip(holes) {
        let p = Polygon::new(outer, inner).remove_repeated_points();
        if p.exterior().0.len() >= 4 && p.is_valid() {
            out.push(p);
        } else {
            invalid += 1;
        }
    }
    (out, invalid)
}

/// Rings from id lists (closed, all nodes known).
pub fn rings(list: &[Ring], nodes: &Nodes) -> Vec<LineString> {
    list.iter().filter_map(|r| ring(r, nodes)).collect()
}

/// Whether every vertex of `p` lies inside `bbox`.
pub fn polygon_inside(p: &Polygon, bbox: &Bbox) -> bool {
    p.exterior().0.iter().all(|c| bbox.contains(c.x, c.y))
}
