//! A point R-tree with the three queries the control room needs.

use geo::{BoundingRect, Contains, Coord, Point, Polygon};
use rstar::primitives::GeomWithData;
use rstar::{RStarInsertionStrategy, RTree, RTreeParams, AABB};

/// Node sizes for indexes of units and open incidents: small nodes make the best-first
/// nearest-neighbour walk and position updates cheap (see BENCHMARKS.md for the sweep).
#[derive(Debug, Clone, Copy)]
pub struct DispatchParams;

impl RTreeParams for DispatchParams {
    const MIN_SIZE: usize = 2;
    const MAX_SIZE: usize = 6;
    const REINSERTION_COUNT: usize = 2;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// Node sizes for bulk-loaded static assets: large leaves make radius and area queries,
/// which return thousands of points, walk fewer nodes (see BENCHMARKS.md for the sweep).
#[derive(Debug, Clone, Copy)]
pub struct AssetParams;

impl RTreeParams for AssetParams {
    const MIN_SIZE: usize = 8;
    const MAX_SIZE: usize = 32;
    const REINSERTION_COUNT: usize = 6;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// A point index tuned for static assets (radius and area queries).
pub type AssetIndex<T> = PointIndex<T, AssetParams>;

type Entry<T> = GeomWithData<[f64; 2], T>;

/// One result of a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit<'a, T> {
    /// Where the object is, local metres.
    pub position: [f64; 2],
    /// The object's payload (an id, a kind …).
    pub data: &'a T,
    /// Straight-line distance from the query point, metres (0 for area queries).
    pub distance_m: f64,
}

/// Points with a payload, indexed by an R-tree with node sizes `P`. Serialises as its tree
/// (not its points), so a restored index answers every query in the same order.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "T: serde::Serialize",
    deserialize = "T: serde::Deserialize<'de>"
))]
pub struct PointIndex<T, P: RTreeParams = DispatchParams> {
    tree: RTree<Entry<T>, P>,
}

impl<T, P: RTreeParams> Default for PointIndex<T, P> {
    fn default() -> Self {
        PointIndex {
            tree: RTree::new_with_params(),
        }
    }
}

impl<T, P: RTreeParams> PointIndex<T, P> {
    /// Builds the index in one pass (much faster than inserting one by one).
    pub fn bulk_load(items: Vec<([f64; 2], T)>) -> Self {
        let entries = items
            .into_iter()
            .map(|(p, d)| GeomWithData::new(p, d))
            .collect();
        PointIndex {
            tree: RTree::bulk_load_with_params(entries),
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a point.
    pub fn insert(&mut self, position: [f64; 2], data: T) {
        self.tree.insert(GeomWithData::new(position, data));
    }

    /// Removes the point at exactly `position` whose payload satisfies `is_it`.
    pub fn remove_at(&mut self, position: [f64; 2], is_it: impl Fn(&T) -> bool) -> Option<T> {
        let envelope = AABB::from_point(position);
        let found = self
            .tree
            .locate_in_envelope(&envelope)
            .find(|e| is_it(&e.data))?;
        let key = found as *const Entry<T>;
        self.tree
            .remove_with_selection_function(Exact { envelope, key })
            .map(|e| e.data)
    }

    /// Up to `k` nearest points whose payload satisfies `matches`, nearest first.
    pub fn nearest_matching(
        &self,
        at: [f64; 2],
        k: usize,
        matches: impl Fn(&T) -> bool,
    ) -> Vec<Hit<'_, T>> {
        self.tree
            .nearest_neighbor_iter(&at)
            .filter(|e| matches(&e.data))
            .take(k)
            .map(|e| hit(e, at))
            .collect()
    }

    /// Every point whose payload satisfies `matches`, nearest first, lazily: for searches
    /// that widen until a bound says the rest cannot win (exact road-time dispatch).
    pub fn nearest_iter<'a>(
        &'a self,
        at: [f64; 2],
        matches: impl Fn(&T) -> bool + 'a,
    ) -> impl Iterator<Item = Hit<'a, T>> + 'a {
        self.tree
            .nearest_neighbor_iter(&at)
            .filter(move |e| matches(&e.data))
            .map(move |e| hit(e, at))
    }

    /// Every point within `radius_m` of `at`, in no particular order.
    pub fn within_radius(&self, at: [f64; 2], radius_m: f64) -> impl Iterator<Item = Hit<'_, T>> {
        self.tree
            .locate_within_distance(at, radius_m * radius_m)
            .map(move |e| hit(e, at))
    }

    /// Every point inside (or on the boundary of) an axis-aligned rectangle, e.g. a grid cell.
    pub fn inside_rect(&self, min: [f64; 2], max: [f64; 2]) -> impl Iterator<Item = Hit<'_, T>> {
        self.tree
            .locate_in_envelope(&AABB::from_corners(min, max))
            .map(|e| Hit {
                position: *e.geom(),
                data: &e.data,
                distance_m: 0.0,
            })
    }

    /// Every point strictly inside a polygon (e.g. a subdistrict part or a festival zone).
    pub fn inside_polygon<'a>(
        &'a self,
        polygon: &'a Polygon,
    ) -> impl Iterator<Item = Hit<'a, T>> + 'a {
        let bounds = polygon.bounding_rect();
        let (min, max) = bounds.map_or(([1.0, 1.0], [0.0, 0.0]), |r| {
            ([r.min().x, r.min().y], [r.max().x, r.max().y])
        });
        self.inside_rect(min, max).filter(move |h| {
            bounds.is_some()
                && polygon.contains(&Point::from(Coord {
                    x: h.position[0],
                    y: h.position[1],
                }))
        })
    }

    /// Every point, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = Hit<'_, T>> {
        self.tree.iter().map(|e| Hit {
            position: *e.geom(),
            data: &e.data,
            distance_m: 0.0,
        })
    }
}

fn hit<T>(e: &Entry<T>, at: [f64; 2]) -> Hit<'_, T> {
    let p = e.geom();
    let (dx, dy) = (p[0] - at[0], p[1] - at[1]);
    // sqrt of the sum, not f64::hypot: hypot is a libm call several times slower.
    Hit {
        position: *p,
        data: &e.data,
        distance_m: (dx * dx + dy * dy).sqrt(),
    }
}

/// Selects one entry by address within an envelope, so removal never walks the whole tree.
struct Exact<T> {
    envelope: AABB<[f64; 2]>,
    key: *const Entry<T>,
}

impl<T> rstar::SelectionFunction<Entry<T>> for Exact<T> {
    fn should_unpack_parent(&self, envelope: &AABB<[f64; 2]>) -> bool {
        rstar::Envelope::contains_envelope(envelope, &self.envelope)
    }

    fn should_unpack_leaf(&self, leaf: &Entry<T>) -> bool {
        std::ptr::eq(leaf, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn remove_takes_only_the_named_point() {
        let mut index: PointIndex<i32> =
            PointIndex::bulk_load(vec![([1.0, 1.0], 1), ([1.0, 1.0], 2), ([5.0, 5.0], 3)]);
        assert_eq!(index.remove_at([1.0, 1.0], |d| *d == 2), Some(2));
        assert_eq!(index.remove_at([1.0, 1.0], |d| *d == 2), None);
        assert_eq!(index.len(), 2);
        assert_eq!(index.nearest_matching([0.0, 0.0], 5, |_| true).len(), 2);
    }

    #[test]
    fn polygon_query_respects_concavity() {
        let index: PointIndex<char> = PointIndex::bulk_load(vec![
            ([1.0, 1.0], 'a'),
            ([8.0, 8.0], 'b'),
            ([8.0, 1.0], 'c'),
        ]);
        // An L-shape: the top-right square is cut out.
        let l = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 5.0), (x: 5.0, y: 5.0), (x: 5.0, y: 10.0), (x: 0.0, y: 10.0)];
        let mut inside: Vec<char> = index.inside_polygon(&l).map(|h| *h.data).collect();
        inside.sort();
        assert_eq!(inside, vec!['a', 'c']);
    }
}
