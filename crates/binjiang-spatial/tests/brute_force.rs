//! Every query of the spatial indexes against brute force over the same points.

use binjiang_spatial::{ClassedIndex, PointIndex};
use geo::{Contains, LineString, Point, Polygon};
use proptest::prelude::*;
use std::collections::HashMap;

fn coord() -> impl Strategy<Value = f64> {
    // A coarse lattice as well as free values, so ties and duplicates happen.
    prop_oneof![(-50i32..50).prop_map(|v| v as f64 * 10.0), -500.0f64..500.0]
}

fn points() -> impl Strategy<Value = Vec<([f64; 2], u32)>> {
    prop::collection::vec((coord(), coord()), 0..300).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (x, y))| ([x, y], i as u32))
            .collect()
    })
}

/// Places `ops` in `index` and in a plain map, then removes `removals` from both, checking
/// each removal's answer; the map of what is left.
fn set_and_remove(
    index: &mut ClassedIndex<u8, u32>,
    ops: Vec<(u32, u8, (f64, f64))>,
    removals: Vec<u32>,
) -> Result<HashMap<u32, (u8, [f64; 2])>, TestCaseError> {
    let mut model = HashMap::new();
    for (id, c, (x, y)) in ops {
        index.set(id, c, [x, y]);
        model.insert(id, (c, [x, y]));
    }
    for id in removals {
        prop_assert_eq!(index.remove(id), model.remove(&id).map(|(_, p)| p));
    }
    Ok(model)
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// A star-shaped (often concave) polygon around a centre.
fn star() -> impl Strategy<Value = Polygon> {
    (
        (coord(), coord()),
        prop::collection::vec(20.0f64..400.0, 3..12),
    )
        .prop_map(|((cx, cy), radii)| {
            let n = radii.len() as f64;
            let ring: Vec<(f64, f64)> = radii
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let a = i as f64 / n * std::f64::consts::TAU;
                    (cx + r * a.cos(), cy + r * a.sin())
                })
                .collect();
            Polygon::new(LineString::from(ring), vec![])
        })
}

proptest! {
    #[test]
    fn nearest_matching_equals_brute_force(pts in points(), q in (coord(), coord()), k in 1usize..8, modulus in 1u32..5) {
        let index: PointIndex<u32> = PointIndex::bulk_load(pts.clone());
        let q = [q.0, q.1];
        let matches = |d: &u32| d.is_multiple_of(modulus);
        let got: Vec<f64> = index.nearest_matching(q, k, matches).iter().map(|h| h.distance_m).collect();
        let mut want: Vec<f64> = pts.iter().filter(|(_, d)| matches(d)).map(|(p, _)| dist(*p, q)).collect();
        want.sort_by(f64::total_cmp);
        want.truncate(k);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() < 1e-9, "{g} vs {w}");
        }
    }

    #[test]
    fn within_radius_equals_brute_force(pts in points(), q in (coord(), coord()), r in 0.0f64..400.0) {
        let index: PointIndex<u32> = PointIndex::bulk_load(pts.clone());
        let q = [q.0, q.1];
        let mut got: Vec<u32> = index.within_radius(q, r).map(|h| *h.data).collect();
        let mut want: Vec<u32> = pts.iter().filter(|(p, _)| dist(*p, q) <= r).map(|(_, d)| *d).collect();
        got.sort();
        want.sort();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn inside_rect_equals_brute_force(pts in points(), a in (coord(), coord()), b in (coord(), coord())) {
        let index: PointIndex<u32> = PointIndex::bulk_load(pts.clone());
        let (min, max) = ([a.0.min(b.0), a.1.min(b.1)], [a.0.max(b.0), a.1.max(b.1)]);
        let mut got: Vec<u32> = index.inside_rect(min, max).map(|h| *h.data).collect();
        let mut want: Vec<u32> = pts
            .iter()
            .filter(|(p, _)| (min[0]..=max[0]).contains(&p[0]) && (min[1]..=max[1]).contains(&p[1]))
            .map(|(_, d)| *d)
            .collect();
        got.sort();
        want.sort();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn inside_polygon_equals_brute_force(pts in points(), poly in star()) {
        let index: PointIndex<u32> = PointIndex::bulk_load(pts.clone());
        let mut got: Vec<u32> = index.inside_polygon(&poly).map(|h| *h.data).collect();
        let mut want: Vec<u32> = pts.iter().filter(|(p, _)| poly.contains(&Point::new(p[0], p[1]))).map(|(_, d)| *d).collect();
        got.sort();
        want.sort();
        prop_assert_eq!(got, want);
    }

    /// Objects moved, added and removed in any order (one class): each swap-remove and each
    /// new layout keeps every object findable at its latest place.
    #[test]
    fn moved_objects_match_a_plain_map(
        initial in prop::collection::vec((coord(), coord()), 0..60),
        ops in prop::collection::vec((0u32..80, prop::option::of((coord(), coord()))), 0..200),
        q in (coord(), coord()),
    ) {
        let initial: Vec<(u32, u8, [f64; 2])> = initial.into_iter().enumerate().map(|(i, (x, y))| (i as u32, 0, [x, y])).collect();
        let mut index = ClassedIndex::bulk_load(initial.clone());
        let mut model: HashMap<u32, [f64; 2]> = initial.into_iter().map(|(k, _, p)| (k, p)).collect();
        for (id, op) in ops {
            match op {
                Some((x, y)) => { index.set(id, 0, [x, y]); model.insert(id, [x, y]); }
                None => { prop_assert_eq!(index.remove(id), model.remove(&id)); }
            }
        }
        prop_assert_eq!(index.len(), model.len());
        prop_assert_eq!(index.len_of(0), model.len());
        let q = [q.0, q.1];
        let got: Vec<f64> = index.nearest_in_matching(0, q, 5, |id| id % 2 == 0).iter().map(|h| h.distance_m).collect();
        let mut want: Vec<f64> = model.iter().filter(|(id, _)| *id % 2 == 0).map(|(_, p)| dist(*p, q)).collect();
        want.sort_by(f64::total_cmp);
        want.truncate(5);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() < 1e-9, "{g} vs {w}");
        }
        // Every object, where the model says it is.
        let mut all: Vec<(u32, [f64; 2])> = index.nearest_iter_in(0, q, |_| true).map(|h| (*h.data, h.position)).collect();
        all.sort_by_key(|(k, _)| *k);
        let mut expected: Vec<(u32, [f64; 2])> = model.into_iter().collect();
        expected.sort_by_key(|(k, _)| *k);
        prop_assert_eq!(all, expected);
    }
}

proptest! {
    #[test]
    fn classed_index_equals_brute_force(
        ops in prop::collection::vec((0u32..60, 0u8..3, (coord(), coord())), 0..200),
        removals in prop::collection::vec(0u32..60, 0..20),
        q in (coord(), coord()), class in 0u8..3, k in 1usize..5,
    ) {
        let mut index = ClassedIndex::default();
        let model = set_and_remove(&mut index, ops, removals)?;
        let q = [q.0, q.1];
        let got: Vec<f64> = index.nearest_in(class, q, k).iter().map(|h| h.distance_m).collect();
        let mut want: Vec<f64> = model.values().filter(|(c, _)| *c == class).map(|(_, p)| dist(*p, q)).collect();
        want.sort_by(f64::total_cmp);
        want.truncate(k);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() < 1e-9);
        }
    }
}

fn far_coord() -> impl Strategy<Value = f64> {
    // Districts and beyond, on square edges and off them, so walks cross many squares.
    prop_oneof![
        (-40i32..40).prop_map(|v| v as f64 * 125.0),
        -5000.0f64..5000.0,
        Just(1e9),
        Just(-3e7)
    ]
}

proptest! {
    /// The grid's whole nearest-first walk, with moves between classes, removals, a reload
    /// and a filter, against sorting the same objects by distance: the same ids at the same
    /// distances, bit for bit, nearest first.
    #[test]
    fn classed_walks_equal_sorting_by_distance(
        ops in prop::collection::vec((0u32..80, 0u8..3, (far_coord(), far_coord())), 0..250),
        removals in prop::collection::vec(0u32..80, 0..30),
        reload in 0u32..4,
        q in (far_coord(), far_coord()), class in 0u8..3, modulus in 1u32..4, side in 1.0f64..600.0,
    ) {
        let mut index = ClassedIndex::with_square_m(side);
        let mut model = set_and_remove(&mut index, ops, removals)?;
        if reload > 0 {
            // Reloaded as it is, then with every object whose id `reload` divides left out:
            // the squares they were in must come out empty.
            let items: Vec<(u32, u8, [f64; 2])> = model.iter().map(|(k, (c, p))| (*k, *c, *p)).collect();
            index.reload(&items);
            model.retain(|k, _| reload == 1 || k % reload != 0);
            let kept: Vec<(u32, u8, [f64; 2])> = model.iter().map(|(k, (c, p))| (*k, *c, *p)).collect();
            index.reload(&kept);
        }
        for (id, (c, _)) in &model {
            prop_assert_eq!(index.class_of(*id), Some(*c));
        }
        prop_assert_eq!(index.len(), model.len());
        let q = [q.0, q.1];
        let d = |p: [f64; 2]| ((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1])).sqrt();
        let got: Vec<(u32, f64)> = index
            .nearest_iter_in(class, q, |k| k % modulus == 0)
            .map(|h| (*h.data, h.distance_m))
            .collect();
        let mut want: Vec<(u32, f64)> = model
            .iter()
            .filter(|(k, (c, _))| *c == class && *k % modulus == 0)
            .map(|(k, (_, p))| (*k, d(*p)))
            .collect();
        want.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let mut sorted_got = got.clone();
        sorted_got.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        prop_assert_eq!(&sorted_got, &want);
        prop_assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "not nearest first: {:?}", got);
    }
}

proptest! {
    /// Ids that are small numbers are kept in a list, any other id in a hash table: the same
    /// moves, removals and reloads give the same index either way, walk for walk, in the
    /// same order.
    #[test]
    fn listed_and_hashed_ids_index_alike(
        ops in prop::collection::vec((0u32..80, 0u8..3, (far_coord(), far_coord())), 0..250),
        removals in prop::collection::vec(0u32..80, 0..30),
        reload_leaving_out in 0u32..4,
        q in (far_coord(), far_coord()), side in 1.0f64..600.0,
    ) {
        let mut listed: ClassedIndex<u8, u32> = ClassedIndex::with_square_m(side);
        let mut hashed: ClassedIndex<u8, (u32, u8)> = ClassedIndex::with_square_m(side);
        for (id, c, (x, y)) in ops {
            listed.set(id, c, [x, y]);
            hashed.set((id, 0), c, [x, y]);
        }
        for id in removals {
            prop_assert_eq!(listed.remove(id), hashed.remove((id, 0)));
        }
        if reload_leaving_out > 0 {
            let q = [q.0, q.1];
            let items: Vec<(u32, u8, [f64; 2])> = (0..3u8)
                .flat_map(|c| listed.nearest_iter_in(c, q, |_| true).map(move |h| (*h.data, c, h.position)))
                .filter(|(k, _, _)| reload_leaving_out == 1 || k % reload_leaving_out != 0)
                .collect();
            let hashed_items: Vec<((u32, u8), u8, [f64; 2])> = items.iter().map(|(k, c, p)| ((*k, 0), *c, *p)).collect();
            listed.reload(&items);
            hashed.reload(&hashed_items);
        }
        prop_assert_eq!(listed.len(), hashed.len());
        for id in 0..80u32 {
            prop_assert_eq!(listed.class_of(id), hashed.class_of((id, 0)));
        }
        let q = [q.0, q.1];
        for c in 0..3u8 {
            let a: Vec<(u32, u64)> = listed.nearest_iter_in(c, q, |_| true).map(|h| (*h.data, h.distance_m.to_bits())).collect();
            let b: Vec<(u32, u64)> = hashed.nearest_iter_in(c, q, |_| true).map(|h| (h.data.0, h.distance_m.to_bits())).collect();
            prop_assert_eq!(a, b);
        }
    }
}
