//! Moving objects partitioned by a class that queries always name.
//!
//! Dispatch never asks "nearest unit"; it asks "nearest *available* unit *of this agency*".
//! Keeping one R-tree per class (e.g. `(agency, available)`) answers that without walking
//! past the eleven units in twelve that do not qualify; a class change is a move between trees.

use crate::moving::MovingIndex;
use crate::point_index::Hit;
use foldhash::{HashMap, HashMapExt};
use std::hash::Hash;

/// Objects by id, each in exactly one class, indexed per class.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "C: serde::Serialize + Eq + Hash, K: serde::Serialize + Eq + Hash",
    deserialize = "C: serde::Deserialize<'de> + Eq + Hash, K: serde::Deserialize<'de> + Eq + Hash"
))]
pub struct ClassedIndex<C, K> {
    classes: HashMap<C, MovingIndex<K>>,
    class_of: HashMap<K, C>,
    /// One class's objects while [`ClassedIndex::reload`] builds its tree, kept for the next.
    #[serde(skip)]
    members: Vec<(K, [f64; 2])>,
}

impl<C, K> Default for ClassedIndex<C, K> {
    fn default() -> Self {
        ClassedIndex {
            classes: HashMap::new(),
            class_of: HashMap::new(),
            members: Vec::new(),
        }
    }
}

impl<C: Copy + Eq + Hash, K: Copy + Eq + Hash> ClassedIndex<C, K> {
    /// Builds the index in one pass per class.
    pub fn bulk_load(items: Vec<(K, C, [f64; 2])>) -> Self {
        let mut per_class: HashMap<C, Vec<(K, [f64; 2])>> = HashMap::new();
        let mut class_of = HashMap::with_capacity(items.len());
        for (k, c, p) in items {
            per_class.entry(c).or_default().push((k, p));
            class_of.insert(k, c);
        }
        let classes = per_class
            .into_iter()
            .map(|(c, v)| (c, MovingIndex::bulk_load(v)))
            .collect();
        ClassedIndex {
            classes,
            class_of,
            members: Vec::new(),
        }
    }

    /// Replaces every object, building the same trees as [`ClassedIndex::bulk_load`] of
    /// `items` would, in the memory already held: no hash maps made and seeded afresh. The
    /// dispatch index is rebuilt every two simulated minutes, and making its maps was half
    /// the cost. Classes are few, so each object's is found by a short scan.
    pub fn reload(&mut self, items: &[(K, C, [f64; 2])]) {
        self.class_of.clear();
        let mut classes: Vec<C> = Vec::new();
        for (k, c, _) in items {
            self.class_of.insert(*k, *c);
            if !classes.contains(c) {
                classes.push(*c);
            }
        }
        self.classes.retain(|c, _| classes.contains(c));
        let mut members = std::mem::take(&mut self.members);
        for c in classes {
            members.clear();
            members.extend(
                items
                    .iter()
                    .filter(|(_, of, _)| *of == c)
                    .map(|(k, _, p)| (*k, *p)),
            );
            self.classes.entry(c).or_default().reload(&members);
        }
        self.members = members;
    }

    /// Places `id` in `class` at `position`, moving it between classes if needed.
    pub fn set(&mut self, id: K, class: C, position: [f64; 2]) {
        if let Some(old) = self.class_of.insert(id, class) {
            if old != class {
                if let Some(index) = self.classes.get_mut(&old) {
                    index.remove(id);
                }
            }
        }
        self.classes.entry(class).or_default().set(id, position);
    }

    /// Removes `id` from whatever class holds it.
    pub fn remove(&mut self, id: K) -> Option<[f64; 2]> {
        let class = self.class_of.remove(&id)?;
        self.classes.get_mut(&class)?.remove(id)
    }

    /// The class `id` is in.
    pub fn class_of(&self, id: K) -> Option<C> {
        self.class_of.get(&id).copied()
    }

    /// Number of objects in `class`.
    pub fn len_of(&self, class: C) -> usize {
        self.classes.get(&class).map_or(0, MovingIndex::len)
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.class_of.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.class_of.is_empty()
    }

    /// Up to `k` nearest objects of `class`, nearest first.
    pub fn nearest_in(&self, class: C, at: [f64; 2], k: usize) -> Vec<Hit<'_, K>> {
        self.nearest_in_matching(class, at, k, |_| true)
    }

    /// Up to `k` nearest objects of `class` whose id satisfies `matches`, nearest first.
    pub fn nearest_in_matching(
        &self,
        class: C,
        at: [f64; 2],
        k: usize,
        matches: impl Fn(&K) -> bool,
    ) -> Vec<Hit<'_, K>> {
        self.classes
            .get(&class)
            .map_or_else(Vec::new, |i| i.nearest_matching(at, k, matches))
    }

    /// Every object of `class` whose id satisfies `matches`, nearest first, lazily: the
    /// caller stops when a bound says no farther object can win.
    pub fn nearest_iter_in<'a>(
        &'a self,
        class: C,
        at: [f64; 2],
        matches: impl Fn(&K) -> bool + 'a,
    ) -> impl Iterator<Item = Hit<'a, K>> + 'a {
        self.classes
            .get(&class)
            .map(|i| i.nearest_iter(at, matches))
            .into_iter()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_changes_move_objects_between_trees() {
        let mut idx = ClassedIndex::bulk_load(vec![(1u32, 'a', [0.0, 0.0]), (2, 'b', [1.0, 0.0])]);
        assert_eq!(*idx.nearest_in('a', [1.0, 0.0], 1)[0].data, 1);
        idx.set(1, 'b', [5.0, 0.0]);
        assert!(idx.nearest_in('a', [1.0, 0.0], 1).is_empty());
        assert_eq!(idx.nearest_in('b', [4.0, 0.0], 2).len(), 2);
        assert_eq!(idx.remove(2), Some([1.0, 0.0]));
        assert_eq!(idx.class_of(1), Some('b'));
        assert_eq!(idx.len(), 1);
    }

    #[test]
    fn a_reload_is_a_fresh_bulk_load() {
        let mut idx = ClassedIndex::bulk_load(vec![
            (1u32, 'a', [0.0, 0.0]),
            (2, 'b', [1.0, 0.0]),
            (5, 'c', [2.0, 0.0]),
        ]);
        let items = [
            (2u32, 'a', [4.0, 0.0]),
            (3, 'b', [3.0, 0.0]),
            (4, 'a', [1.0, 1.0]),
            (1, 'a', [2.0, 2.0]),
        ];
        idx.reload(&items);
        let fresh = ClassedIndex::bulk_load(items.to_vec());
        assert_eq!(idx.len(), 4);
        assert_eq!(idx.class_of(5), None);
        assert_eq!(idx.len_of('c'), 0);
        for class in ['a', 'b', 'c'] {
            let order = |i: &ClassedIndex<char, u32>| -> Vec<u32> {
                i.nearest_iter_in(class, [0.0, 0.0], |_| true)
                    .map(|h| *h.data)
                    .collect()
            };
            assert_eq!(order(&idx), order(&fresh), "class {class}");
            assert_eq!(idx.len_of(class), fresh.len_of(class));
        }
    }

    #[test]
    fn nearest_iter_walks_one_class_nearest_first() {
        let idx = ClassedIndex::bulk_load(vec![
            (1u32, 'a', [5.0, 0.0]),
            (2, 'a', [1.0, 0.0]),
            (3, 'b', [0.0, 0.0]),
            (4, 'a', [3.0, 0.0]),
        ]);
        let ids: Vec<u32> = idx
            .nearest_iter_in('a', [0.0, 0.0], |k| *k != 4)
            .map(|h| *h.data)
            .collect();
        assert_eq!(ids, vec![2, 1]);
        assert_eq!(idx.nearest_iter_in('z', [0.0, 0.0], |_| true).count(), 0);
    }
}
