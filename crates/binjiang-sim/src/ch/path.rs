//! The fastest path between two nodes of a contraction hierarchy, found exactly as
//! `fast_paths`' `PathCalculator::calc_path` finds it.
//!
//! Among paths of equal time, which one a unit drives decides where it is when the next
//! incident comes, and so the decisions that follow: the path must be the one `fast_paths`
//! gives, not merely as fast. So this is its search step for step: the same alternation of
//! one settled node forward and one backward, the same stall-on-demand, the same pruning by
//! the best meeting so far, the same heap (the standard binary heap, ordered by time alone,
//! so equal times leave it in the same order) and the same unpacking of shortcuts. What
//! differs is the memory it walks, which is where a query's time goes on a city's network:
//! a node's label here is 20 bytes with its stamp, read in one place (`fast_paths` keeps 32
//! bytes of `usize` and its valid flags apart), and a node's edges are found by the node
//! (`fast_paths` looks its rank up first). On the synthetic 50 km² day its queries were a
//! tenth of the simulation's time.
//!
//! Most paths are asked for right after their time, whose search spaces are kept: those are
//! replayed ([`PathSearch::replay`]) with no heap and no stall test, which took the day's
//! path queries from a tenth of its time to a fiftieth.

use super::{Label, Side, Space, UpwardGraphs, Via, NONE};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A node's label in one direction of a query.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The query this label belongs to; any other is stale (`fast_paths`' valid flags).
    stamp: u32,
    ticks: u32,
    /// The node it was reached from (the start itself for the start: a root knows its node).
    parent: u32,
    /// The edge it was reached by, in the row layout of [`UpwardGraphs`]; [`NONE`] at a root.
    edge: u32,
    settled: bool,
}

/// A node waiting in a search's heap, ordered by time alone (and the earliest on top), as
/// `fast_paths`' `HeapItem` is: ties among equal times then leave the standard heap in the
/// order they leave `fast_paths`' heap.
#[derive(Debug, Clone, Copy)]
pub(super) struct Waiting {
    pub(super) ticks: u32,
    pub(super) node: u32,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.ticks == other.ticks
    }
}

impl Eq for Waiting {}

impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> Ordering {
        self.ticks.cmp(&other.ticks).reverse()
    }
}

/// One direction of a query, or a search space being found: its labels by node and its heap.
#[derive(Debug)]
pub(super) struct Direction {
    entries: Vec<Entry>,
    heap: BinaryHeap<Waiting>,
    /// The current search's stamp.
    now: u32,
}

impl Direction {
    pub(super) fn new(nodes: usize) -> Self {
        let blank = Entry {
            stamp: 0,
            ticks: NONE,
            parent: NONE,
            edge: NONE,
            settled: false,
        };
        Direction {
            entries: vec![blank; nodes],
            heap: BinaryHeap::new(),
            now: 0,
        }
    }

    /// How many nodes this direction can label.
    pub(super) fn nodes(&self) -> usize {
        self.entries.len()
    }

    /// Begins a search from `root`: every earlier label is stale, the heap holds the root
    /// alone (`heap` false: no heap, for a replay).
    pub(super) fn start(&mut self, root: u32, heap: bool) {
        self.now = self.now.wrapping_add(1);
        if self.now == 0 {
            self.entries.iter_mut().for_each(|e| e.stamp = 0);
            self.now = 1;
        }
        self.heap.clear();
        self.set(root, 0, root, NONE);
        if heap {
            self.heap.push(Waiting {
                ticks: 0,
                node: root,
            });
        }
    }

    fn ticks(&self, v: u32) -> u32 {
        let e = &self.entries[v as usize];
        if e.stamp == self.now {
            e.ticks
        } else {
            NONE
        }
    }

    fn set(&mut self, v: u32, ticks: u32, parent: u32, edge: u32) {
        self.entries[v as usize] = Entry {
            stamp: self.now,
            ticks,
            parent,
            edge,
            settled: false,
        };
    }

    /// Replays the `k`-th settling of `space` (node `v` at `t`): the labels it bettered,
    /// over the edges `climb` of its side.
    fn replay(&mut self, space: Space<'_>, k: usize, climb: &[Label]) {
        let (v, t) = space.settled[k];
        let from = if k == 0 {
            0
        } else {
            space.ends[k - 1] as usize
        };
        for &e in &space.relaxed[from..space.ends[k] as usize] {
            let (w, c) = climb[e as usize];
            self.set(w, t.saturating_add(c), v, e);
        }
    }

    /// Settles the next node this direction may (at most one), relaxing `climb` edges and
    /// stalling on `stall` edges, as one side's step of `fast_paths`' query does; the node
    /// and its time if one was settled. `relaxed` hears of each edge (in the row layout of
    /// [`UpwardGraphs`]) whose relaxation bettered a label, in order.
    pub(super) fn step(
        &mut self,
        best: u32,
        climb: (&[u32], &[Label]),
        stall: (&[u32], &[Label]),
        mut relaxed: impl FnMut(u32),
    ) -> Option<Waiting> {
        while let Some(curr) = self.heap.pop() {
            let v = curr.node as usize;
            let e = &self.entries[v];
            if e.stamp == self.now && e.settled {
                continue;
            }
            if curr.ticks > best {
                // Nothing later in this heap can improve the best; `fast_paths` drops the
                // entry it looked at, and so does this.
                return None;
            }
            let into = &stall.1[stall.0[v] as usize..stall.0[v + 1] as usize];
            let stalled = into.iter().any(|&(w, c)| {
                let tw = self.ticks(w);
                tw != NONE && tw.saturating_add(c) < curr.ticks
            });
            if stalled {
                continue;
            }
            let first = climb.0[v];
            let out = &climb.1[first as usize..climb.0[v + 1] as usize];
            for (k, &(w, c)) in out.iter().enumerate() {
                let tw = curr.ticks.saturating_add(c);
                if tw < self.ticks(w) {
                    let edge = first + k as u32;
                    self.set(w, tw, curr.node, edge);
                    self.heap.push(Waiting { ticks: tw, node: w });
                    relaxed(edge);
                }
            }
            self.entries[v].settled = true;
            return Some(curr);
        }
        None
    }
}

/// The best meeting of a query's two sides so far: its ticks and node ([`NONE`] for none).
#[derive(Debug, Clone, Copy)]
struct Meeting {
    best: u32,
    node: u32,
}

impl Meeting {
    /// A node settled at `t` on one side meets `other`'s label of it as it stands.
    fn offer(&mut self, other: &Direction, (v, t): Label) {
        let there = other.ticks(v);
        if there != NONE && t.saturating_add(there) < self.best {
            (self.best, self.node) = (t + there, v);
        }
    }
}

/// Scratch for path queries on one hierarchy (its labels are reused from query to query).
#[derive(Debug)]
pub struct PathSearch {
    forward: Direction,
    backward: Direction,
    /// The path being unpacked.
    nodes: Vec<u32>,
}

impl PathSearch {
    /// Scratch for a hierarchy of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        PathSearch {
            forward: Direction::new(nodes),
            backward: Direction::new(nodes),
            nodes: Vec::new(),
        }
    }

    /// The nodes of the fastest path from `start` to `end` (both included) and its ticks,
    /// exactly as `fast_paths`' `calc_path` gives them; `None` if there is none. (Times
    /// are kept in 32 bits: a path of more than 13 years' ticks would differ.)
    pub fn path(&mut self, graphs: &UpwardGraphs, start: u32, end: u32) -> Option<(&[u32], u32)> {
        let mut meeting = self.begin(start, end, true)?;
        let (up, down) = (graphs.rows(Side::Forward), graphs.rows(Side::Backward));
        while !(self.forward.heap.is_empty() && self.backward.heap.is_empty()) {
            if let Some(s) = self.forward.step(meeting.best, up, down, |_| {}) {
                meeting.offer(&self.backward, (s.node, s.ticks));
            }
            if let Some(s) = self.backward.step(meeting.best, down, up, |_| {}) {
                meeting.offer(&self.forward, (s.node, s.ticks));
            }
        }
        self.finish(graphs, meeting)
    }

    /// Both sides started at their roots (with heaps, to search); the meeting a query
    /// starts with. `None` for a node outside the hierarchy.
    fn begin(&mut self, start: u32, end: u32, heaps: bool) -> Option<Meeting> {
        let n = self.forward.nodes() as u32;
        if start >= n || end >= n {
            return None;
        }
        self.forward.start(start, heaps);
        self.backward.start(end, heaps);
        Some(if start == end {
            Meeting { best: 0, node: end }
        } else {
            Meeting {
                best: NONE,
                node: NONE,
            }
        })
    }

    /// The path through the best meeting, if the sides met.
    fn finish(&mut self, graphs: &UpwardGraphs, meeting: Meeting) -> Option<(&[u32], u32)> {
        if meeting.node == NONE {
            return None;
        }
        self.unpack(graphs, meeting.node);
        Some((&self.nodes, meeting.best))
    }

    /// What [`PathSearch::path`] finds from `start` to `end`, replayed from `start`'s
    /// forward search space and `end`'s backward one, both run to their ends beforehand
    /// (as time queries do), rather than searched. Each side of `fast_paths`' query settles
    /// what the same side run alone settles, in the same order, until it is cut off (when
    /// the next time it would settle exceeds the best meeting so far) or done: the sides
    /// alternate, one settling each, and each settling meets the other side's labels as
    /// they stand then. So replaying each settling's relaxations in that alternation gives
    /// the same labels, the same meeting and the same path, without a heap or a stall test.
    pub(crate) fn replay(
        &mut self,
        graphs: &UpwardGraphs,
        (start, forward): (u32, Space<'_>),
        (end, backward): (u32, Space<'_>),
    ) -> Option<(&[u32], u32)> {
        let mut meeting = self.begin(start, end, false)?;
        // How far each side has replayed; `None` once it is cut off or done.
        let (mut i, mut j) = (Some(0), Some(0));
        while i.is_some() || j.is_some() {
            let up = (forward, graphs.up.as_slice());
            i = i.and_then(|k| settle(&mut self.forward, &self.backward, up, k, &mut meeting));
            let down = (backward, graphs.down.as_slice());
            j = j.and_then(|k| settle(&mut self.backward, &self.forward, down, k, &mut meeting));
        }
        self.finish(graphs, meeting)
    }

    /// The path through `meeting`, its shortcuts unpacked as `fast_paths` unpacks them.
    fn unpack(&mut self, graphs: &UpwardGraphs, meeting: u32) {
        let nodes = &mut self.nodes;
        nodes.clear();
        let mut v = meeting;
        loop {
            let e = self.forward.entries[v as usize];
            if e.edge == NONE {
                break;
            }
            unpack_up(graphs, nodes, e.edge, true);
            v = e.parent;
        }
        nodes.reverse();
        v = meeting;
        loop {
            let e = self.backward.entries[v as usize];
            if e.edge == NONE {
                break;
            }
            unpack_down(graphs, nodes, e.edge, false);
            v = e.parent;
        }
        // The backward root's parent is the end itself.
        nodes.push(v);
    }
}

/// One side's `k`-th settling replayed (its `space`, climbing `climb`) unless the side is cut
/// off there, and its meeting with the `other` side's labels as they stand; the next `k`.
fn settle(
    side: &mut Direction,
    other: &Direction,
    (space, climb): (Space<'_>, &[Label]),
    k: usize,
    meeting: &mut Meeting,
) -> Option<usize> {
    let &settled = space.settled.get(k).filter(|&&(_, t)| t <= meeting.best)?;
    side.replay(space, k, climb);
    meeting.offer(other, settled);
    Some(k + 1)
}

/// Unpacks an edge of the upward (forward) graph: `fast_paths`' `unpack_fwd`.
fn unpack_up(graphs: &UpwardGraphs, nodes: &mut Vec<u32>, edge: u32, reverse: bool) {
    let via = graphs.up_via[edge as usize];
    unpack(graphs, nodes, via, reverse);
}

/// Unpacks an edge of the downward (backward) graph: `fast_paths`' `unpack_bwd`.
fn unpack_down(graphs: &UpwardGraphs, nodes: &mut Vec<u32>, edge: u32, reverse: bool) {
    let via = graphs.down_via[edge as usize];
    unpack(graphs, nodes, via, reverse);
}

fn unpack(graphs: &UpwardGraphs, nodes: &mut Vec<u32>, via: Via, reverse: bool) {
    if via.replaced_down == NONE {
        nodes.push(via.node);
    } else if reverse {
        unpack_up(graphs, nodes, via.replaced_up, reverse);
        unpack_down(graphs, nodes, via.replaced_down, reverse);
    } else {
        unpack_down(graphs, nodes, via.replaced_down, reverse);
        unpack_up(graphs, nodes, via.replaced_up, reverse);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fast_paths::{FastGraph, InputGraph};
    use proptest::prelude::*;

    use super::super::tests::prepared;

    /// Every pair, in one order, against one `fast_paths` calculator: searched, and replayed
    /// from the two search spaces a time query keeps (each query after the others, as a
    /// simulation asks them).
    fn same_as_fast_paths(graph: &FastGraph) -> Result<(), TestCaseError> {
        let graphs = UpwardGraphs::of(graph);
        let mut ours = PathSearch::new(graphs.nodes());
        let mut replayed = PathSearch::new(graphs.nodes());
        let mut spaces = super::super::SpaceTimes::new(&graphs);
        let mut theirs = fast_paths::create_calculator(graph);
        let n = graph.get_num_nodes();
        for a in 0..n {
            for b in 0..n {
                let want = theirs.calc_path(graph, a, b).map(|p| {
                    let nodes: Vec<u32> = p.get_nodes().iter().map(|v| *v as u32).collect();
                    (nodes, p.get_weight() as u32)
                });
                let got = ours
                    .path(&graphs, a as u32, b as u32)
                    .map(|(nodes, t)| (nodes.to_vec(), t));
                prop_assert_eq!(&got, &want, "{} -> {}", a, b);
                let (a, b) = (a as u32, b as u32);
                prop_assert_eq!(spaces.time(&graphs, a, b), want.as_ref().map(|w| w.1));
                let again = spaces
                    .path(&graphs, &mut replayed, a, b)
                    .map(|(nodes, t)| (nodes.to_vec(), t));
                prop_assert_eq!(&again, &want, "replayed {} -> {}", a, b);
            }
        }
        Ok(())
    }

    proptest! {
        /// Random directed graphs with few distinct times, so that many paths tie: the same
        /// nodes and time as `fast_paths`, or none, for every pair.
        #[test]
        fn paths_are_fast_paths_paths(
            n in 2usize..40,
            raw in proptest::collection::vec((0usize..40, 0usize..40, 1usize..4), 0..140),
        ) {
            let edges: Vec<_> = raw.into_iter().map(|(a, b, w)| (a % n, b % n, w)).collect();
            same_as_fast_paths(&prepared(n, &edges))?;
        }
    }

    /// A grid of equal blocks, two-way: a great many equally fast paths between most pairs.
    #[test]
    fn grid_paths_are_fast_paths_paths() {
        let side = 9;
        let mut edges = Vec::new();
        for y in 0..side {
            for x in 0..side {
                let v = y * side + x;
                if x + 1 < side {
                    edges.extend([(v, v + 1, 10), (v + 1, v, 10)]);
                }
                if y + 1 < side {
                    edges.extend([(v, v + side, 10), (v + side, v, 10)]);
                }
            }
        }
        same_as_fast_paths(&prepared(side * side, &edges)).unwrap();
    }

    /// The bundled Yangpu scene's networks, every mode: the same path as `fast_paths` for
    /// 3,000 pairs of junctions each, searched and replayed.
    #[test]
    fn yangpu_paths_are_fast_paths_paths() {
        use binjiang_scene::Mode;
        use rand::{Rng, SeedableRng};
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenes/yangpu-riverfront");
        let scene = binjiang_scene::Scene::load(&dir).expect("the bundled scene loads");
        for mode in Mode::ALL.iter().copied() {
            let mut input = InputGraph::new();
            for (a, b, t) in crate::routing::road_hops(&scene.road_graph, mode, 1.0) {
                input.add_edge(a as usize, b as usize, t);
            }
            input.freeze();
            let graph = fast_paths::prepare(&input);
            let graphs = UpwardGraphs::of(&graph);
            let (mut ours, mut theirs) = (
                PathSearch::new(graphs.nodes()),
                fast_paths::create_calculator(&graph),
            );
            let mut replayed = PathSearch::new(graphs.nodes());
            // Holding a few hundred labels: spaces are forgotten every few pairs, now and
            // then between a pair's time and its path (which is then searched for).
            let mut spaces = super::super::SpaceTimes::holding(&graphs, 300);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
            let n = graph.get_num_nodes();
            for _ in 0..3000 {
                let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
                let want = theirs
                    .calc_path(&graph, a, b)
                    .map(|p| p.get_nodes().iter().map(|v| *v as u32).collect::<Vec<_>>());
                let got = ours
                    .path(&graphs, a as u32, b as u32)
                    .map(|(p, _)| p.to_vec());
                assert_eq!(got, want, "{mode:?} {a} -> {b}");
                let (a, b) = (a as u32, b as u32);
                spaces.time(&graphs, a, b);
                let again = spaces.path(&graphs, &mut replayed, a, b);
                let again = again.map(|(p, _)| p.to_vec());
                assert_eq!(again, want, "replayed {mode:?} {a} -> {b}");
            }
        }
    }

    #[test]
    fn a_path_to_itself_is_its_node() {
        let graph = prepared(3, &[(0, 1, 5), (1, 2, 7)]);
        let graphs = UpwardGraphs::of(&graph);
        let mut search = PathSearch::new(graphs.nodes());
        assert_eq!(search.path(&graphs, 1, 1), Some((&[1u32][..], 0)));
        assert_eq!(search.path(&graphs, 0, 2), Some((&[0u32, 1, 2][..], 12)));
        assert_eq!(search.path(&graphs, 2, 0), None);
        assert_eq!(search.path(&graphs, 0, 7), None);
    }
}
