//! Moving objects partitioned by a class that queries always name.
//!
//! Dispatch never asks "nearest unit"; it asks "nearest *available* unit *of this agency*".
//! Keeping one index per class (e.g. `(agency, mode)`) answers that without walking past the
//! eleven units in twelve that do not qualify; a class change is a move between indexes.
//! Each class is a uniform grid of squares ([`crate::cells`]): dispatch moves, adds and
//! removes points far more often than an R-tree likes, and asks only for the few nearest.

use crate::cells::{Cells, Point, Slot};
use crate::point_index::Hit;
use foldhash::{HashMap, HashMapExt};
use std::hash::Hash;

/// An object's id in a [`ClassedIndex`]. Ids that are small numbers (an index into the
/// caller's own list: dispatch's units are numbered from 0) say so, and where each object is
/// held is then kept in a list by id, not a hash table: dispatch places every available unit
/// again at each refresh of its index, and the hash table's lookups were most of a placing's
/// cost. The list is as long as the highest such id placed.
pub trait ObjectId: Copy + Eq + Hash {
    /// The id's place in a list, if it is a small number; `None` for any other id.
    fn dense(self) -> Option<usize> {
        None
    }
}

impl ObjectId for u32 {
    fn dense(self) -> Option<usize> {
        Some(self as usize)
    }
}

impl<A: Copy + Eq + Hash, B: Copy + Eq + Hash> ObjectId for (A, B) {}

impl<A: Copy + Eq + Hash, B: Copy + Eq + Hash, D: Copy + Eq + Hash> ObjectId for (A, B, D) {}

/// Each object's class and where its class holds it: in a list by id for ids that are
/// small numbers, in a hash table for others.
#[derive(Debug, Clone)]
struct Placements<C, K> {
    dense: Vec<Option<(C, Slot)>>,
    hashed: HashMap<K, (C, Slot)>,
    len: usize,
}

impl<C: Copy, K: ObjectId> Placements<C, K> {
    fn new() -> Self {
        Placements {
            dense: Vec::new(),
            hashed: HashMap::new(),
            len: 0,
        }
    }

    fn get(&self, id: K) -> Option<(C, Slot)> {
        match id.dense() {
            Some(i) => self.dense.get(i).copied().flatten(),
            None => self.hashed.get(&id).copied(),
        }
    }

    fn get_mut(&mut self, id: K) -> Option<&mut (C, Slot)> {
        match id.dense() {
            Some(i) => self.dense.get_mut(i).and_then(Option::as_mut),
            None => self.hashed.get_mut(&id),
        }
    }

    /// Places `id`; false if it was placed already (and is now placed here).
    fn insert(&mut self, id: K, placed: (C, Slot)) -> bool {
        let old = match id.dense() {
            Some(i) => {
                if i >= self.dense.len() {
                    self.dense.resize(i + 1, None);
                }
                self.dense[i].replace(placed)
            }
            None => self.hashed.insert(id, placed),
        };
        if old.is_none() {
            self.len += 1;
        }
        old.is_none()
    }

    fn take(&mut self, id: K) -> Option<(C, Slot)> {
        let taken = match id.dense() {
            Some(i) => self.dense.get_mut(i).and_then(Option::take),
            None => self.hashed.remove(&id),
        };
        if taken.is_some() {
            self.len -= 1;
        }
        taken
    }

    fn clear(&mut self) {
        self.dense.fill(None);
        self.hashed.clear();
        self.len = 0;
    }
}

/// Side of a class's squares until it holds enough objects to be laid out by density,
/// metres: a few squares over a district, so a walk over a handful of units weighs them
/// all at once instead of ringing through empty squares (see BENCHMARKS.md, issue 21,
/// fifth round).
const DEFAULT_SQUARE_M: f64 = 4000.0;

/// Objects by id, each in exactly one class, indexed per class. Serialises as its objects;
/// a restored index holds the same objects at the same places (the order it walks exactly
/// equal distances in may differ, and dispatch does not depend on it).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(
    bound(
        serialize = "C: serde::Serialize + Copy + Eq + Hash, K: serde::Serialize + ObjectId",
        deserialize = "C: serde::Deserialize<'de> + Copy + Eq + Hash, K: serde::Deserialize<'de> + ObjectId"
    ),
    into = "Stored<C, K>",
    from = "Stored<C, K>"
)]
pub struct ClassedIndex<C, K> {
    side_m: f64,
    classes: HashMap<C, Cells<K>>,
    /// Each object's class and where its class holds it.
    placed: Placements<C, K>,
}

/// What an index is saved as: its square side and its objects.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored<C, K> {
    side_m: f64,
    objects: Vec<(K, C, [f64; 2])>,
}

impl<C: Copy + Eq + Hash, K: ObjectId> From<ClassedIndex<C, K>> for Stored<C, K> {
    fn from(index: ClassedIndex<C, K>) -> Self {
        let objects = index
            .classes
            .iter()
            .flat_map(|(c, cells)| cells.iter().map(|(k, p)| (*k, *c, *p)))
            .collect();
        Stored {
            side_m: index.side_m,
            objects,
        }
    }
}

impl<C: Copy + Eq + Hash, K: ObjectId> From<Stored<C, K>> for ClassedIndex<C, K> {
    fn from(stored: Stored<C, K>) -> Self {
        let mut index = ClassedIndex::with_square_m(stored.side_m);
        index.reload(&stored.objects);
        index
    }
}

impl<C: Copy, K: ObjectId> Default for ClassedIndex<C, K> {
    fn default() -> Self {
        ClassedIndex::with_square_m(DEFAULT_SQUARE_M)
    }
}

impl<C: Copy, K: ObjectId> ClassedIndex<C, K> {
    /// An empty index whose classes start in squares `side_m` metres wide, until each holds
    /// enough objects to be laid out by its own density.
    pub fn with_square_m(side_m: f64) -> Self {
        ClassedIndex {
            side_m: if side_m > 0.0 && side_m.is_finite() {
                side_m
            } else {
                DEFAULT_SQUARE_M
            },
            classes: HashMap::new(),
            placed: Placements::new(),
        }
    }
}

impl<C: Copy + Eq + Hash, K: ObjectId> ClassedIndex<C, K> {
    /// Builds the index in one pass.
    pub fn bulk_load(items: Vec<(K, C, [f64; 2])>) -> Self {
        let mut index = ClassedIndex::default();
        index.reload(&items);
        index
    }

    /// Replaces every object, in the memory already held (the dispatch index is rebuilt
    /// from the units' positions every two simulated minutes).
    pub fn reload(&mut self, items: &[(K, C, [f64; 2])]) {
        if !self.place_afresh(items) {
            // An id listed twice: placed one by one, the later place wins.
            self.empty();
            for (k, c, p) in items {
                self.set(*k, *c, *p);
            }
        }
        for (class, cells) in &mut self.classes {
            if cells.needs_layout() {
                lay_out(cells, *class, &mut self.placed);
            }
        }
    }

    /// Empties the index and places `items` as [`ClassedIndex::set`] would one by one, each
    /// run of objects of one class in the squares of that class looked up once (dispatch
    /// lists its units by agency and mode); false, and the index left inconsistent, if an
    /// id is listed twice.
    fn place_afresh(&mut self, items: &[(K, C, [f64; 2])]) -> bool {
        self.empty();
        let side_m = self.side_m;
        let mut rest = items;
        while let Some(&(_, class, _)) = rest.first() {
            let run = rest.iter().take_while(|(_, c, _)| *c == class).count();
            let cells = self
                .classes
                .entry(class)
                .or_insert_with(|| Cells::new(side_m));
            for &(id, _, position) in &rest[..run] {
                // As `set` does, less the removal: the index was emptied.
                if !place(cells, &mut self.placed, class, id, position) {
                    return false;
                }
            }
            rest = &rest[run..];
        }
        true
    }

    /// Holds nothing, keeping the memory.
    fn empty(&mut self) {
        self.placed.clear();
        for cells in self.classes.values_mut() {
            cells.clear();
        }
    }

    /// Places `id` in `class` at `position`, moving it if needed.
    pub fn set(&mut self, id: K, class: C, position: [f64; 2]) {
        self.remove(id);
        let side_m = self.side_m;
        let cells = self
            .classes
            .entry(class)
            .or_insert_with(|| Cells::new(side_m));
        place(cells, &mut self.placed, class, id, position);
    }

    /// Removes `id` from whatever class holds it; returns where it was.
    pub fn remove(&mut self, id: K) -> Option<[f64; 2]> {
        let (class, slot) = self.placed.take(id)?;
        let cells = self.classes.get_mut(&class)?;
        let ((_, position), moved) = cells.remove(slot)?;
        if let Some(other) = moved {
            if let Some((_, s)) = self.placed.get_mut(other) {
                s.at = slot.at;
            }
        }
        if cells.needs_layout() {
            lay_out(cells, class, &mut self.placed);
        }
        Some(position)
    }

    /// The class `id` is in.
    pub fn class_of(&self, id: K) -> Option<C> {
        self.placed.get(id).map(|(c, _)| c)
    }

    /// Number of objects in `class`.
    pub fn len_of(&self, class: C) -> usize {
        self.classes.get(&class).map_or(0, Cells::len)
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.placed.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.placed.len == 0
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
        self.classes.get(&class).map_or_else(Vec::new, |cells| {
            cells.nearest(at, matches).take(k).map(hit).collect()
        })
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
            .map(|cells| cells.nearest(at, matches))
            .into_iter()
            .flatten()
            .map(hit)
    }
}

/// Puts `id` at `position` in `class`'s squares (laying them out again once outgrown) and
/// notes where it is held; false if it was held elsewhere too (it is now noted here only).
fn place<C: Copy, K: ObjectId>(
    cells: &mut Cells<K>,
    placed: &mut Placements<C, K>,
    class: C,
    id: K,
    position: [f64; 2],
) -> bool {
    let slot = cells.insert(id, position);
    let new = placed.insert(id, (class, slot));
    if cells.outgrown() {
        lay_out(cells, class, placed);
    }
    new
}

/// Lays `class`'s squares out again, noting where each of its objects now is.
fn lay_out<C: Copy, K: ObjectId>(cells: &mut Cells<K>, class: C, placed: &mut Placements<C, K>) {
    cells.lay_out(|k, slot| {
        placed.insert(k, (class, slot));
    });
}

fn hit<K>(((k, p), distance_m): (&Point<K>, f64)) -> Hit<'_, K> {
    Hit {
        position: *p,
        data: k,
        distance_m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids of `class`, nearest the origin first.
    fn walk_from_origin(i: &ClassedIndex<char, u32>, class: char) -> Vec<u32> {
        i.nearest_iter_in(class, [0.0, 0.0], |_| true)
            .map(|h| *h.data)
            .collect()
    }

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
            assert_eq!(
                walk_from_origin(&idx, class),
                walk_from_origin(&fresh, class),
                "class {class}"
            );
            assert_eq!(idx.len_of(class), fresh.len_of(class));
        }
    }

    #[test]
    fn an_id_reloaded_twice_is_where_it_was_put_last() {
        let items = [
            (1u32, 'a', [0.0, 0.0]),
            (2, 'a', [1.0, 0.0]),
            (1, 'b', [5.0, 0.0]),
            (3, 'b', [6.0, 0.0]),
        ];
        let mut idx = ClassedIndex::bulk_load(vec![(9u32, 'c', [0.0, 0.0])]);
        idx.reload(&items);
        let mut one_by_one = ClassedIndex::default();
        for (k, c, p) in items {
            one_by_one.set(k, c, p);
        }
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.class_of(1), Some('b'));
        assert_eq!(idx.class_of(9), None);
        for class in ['a', 'b', 'c'] {
            assert_eq!(
                walk_from_origin(&idx, class),
                walk_from_origin(&one_by_one, class),
                "class {class}"
            );
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
