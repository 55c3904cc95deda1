//! Objects that move (units) or come and go (open incidents), by id.

use crate::point_index::{Hit, PointIndex};
use foldhash::{HashMap, HashMapExt};
use std::hash::Hash;

/// An index of objects by id whose positions change: a position update is one R-tree
/// removal (located by envelope, not by scanning) and one insertion.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "K: serde::Serialize + Eq + Hash",
    deserialize = "K: serde::Deserialize<'de> + Eq + Hash"
))]
pub struct MovingIndex<K> {
    index: PointIndex<K>,
    positions: HashMap<K, [f64; 2]>,
}

impl<K: Copy + Eq + Hash> Default for MovingIndex<K> {
    fn default() -> Self {
        MovingIndex {
            index: PointIndex::default(),
            positions: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> MovingIndex<K> {
    /// Builds the index from initial positions in one pass.
    pub fn bulk_load(items: Vec<(K, [f64; 2])>) -> Self {
        let mut index = Self::default();
        index.reload(&items);
        index
    }

    /// Replaces every object, building the same index as [`MovingIndex::bulk_load`] of
    /// `items` would, in the memory already held (a dispatch index is rebuilt every two
    /// simulated minutes).
    pub fn reload(&mut self, items: &[(K, [f64; 2])]) {
        self.positions.clear();
        self.positions.extend(items.iter().copied());
        self.index = PointIndex::bulk_load(items.iter().map(|(k, p)| (*p, *k)).collect());
    }

    /// Places `id` at `position`, moving it if it is already indexed.
    pub fn set(&mut self, id: K, position: [f64; 2]) {
        if let Some(old) = self.positions.insert(id, position) {
            if old == position {
                return;
            }
            self.index.remove_at(old, |k| *k == id);
        }
        self.index.insert(position, id);
    }

    /// Removes `id`; returns where it was.
    pub fn remove(&mut self, id: K) -> Option<[f64; 2]> {
        let old = self.positions.remove(&id)?;
        self.index.remove_at(old, |k| *k == id);
        Some(old)
    }

    /// Where `id` is.
    pub fn position(&self, id: K) -> Option<[f64; 2]> {
        self.positions.get(&id).copied()
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// The underlying point index, for radius, rectangle and polygon queries.
    pub fn points(&self) -> &PointIndex<K> {
        &self.index
    }

    /// Up to `k` nearest objects whose id satisfies `matches`, nearest first.
    pub fn nearest_matching(
        &self,
        at: [f64; 2],
        k: usize,
        matches: impl Fn(&K) -> bool,
    ) -> Vec<Hit<'_, K>> {
        self.index.nearest_matching(at, k, matches)
    }

    /// Every object whose id satisfies `matches`, nearest first, lazily.
    pub fn nearest_iter<'a>(
        &'a self,
        at: [f64; 2],
        matches: impl Fn(&K) -> bool + 'a,
    ) -> impl Iterator<Item = Hit<'a, K>> + 'a {
        self.index.nearest_iter(at, matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_an_object_moves_it_in_queries() {
        let mut units = MovingIndex::bulk_load(vec![(1u32, [0.0, 0.0]), (2, [100.0, 0.0])]);
        assert_eq!(*units.nearest_matching([90.0, 0.0], 1, |_| true)[0].data, 2);
        units.set(1, [95.0, 0.0]);
        assert_eq!(*units.nearest_matching([90.0, 0.0], 1, |_| true)[0].data, 1);
        assert_eq!(units.points().len(), 2);
        assert_eq!(units.remove(1), Some([95.0, 0.0]));
        assert_eq!(units.len(), 1);
        assert_eq!(units.points().len(), 1);
    }

    #[test]
    fn a_reload_is_a_fresh_bulk_load() {
        let mut units = MovingIndex::bulk_load(vec![(1u32, [0.0, 0.0]), (2, [100.0, 0.0])]);
        let items = [(3u32, [5.0, 5.0]), (2, [50.0, 0.0])];
        units.reload(&items);
        let fresh = MovingIndex::bulk_load(items.to_vec());
        assert_eq!(units.len(), 2);
        assert_eq!(units.position(1), None);
        assert_eq!(units.position(2), Some([50.0, 0.0]));
        let order = |m: &MovingIndex<u32>| -> Vec<u32> {
            m.nearest_iter([0.0, 0.0], |_| true)
                .map(|h| *h.data)
                .collect()
        };
        assert_eq!(order(&units), order(&fresh));
    }
}
