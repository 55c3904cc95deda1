//! Node-to-node travel times from a contraction hierarchy's upward search spaces.
//!
//! `fast_paths` answers one query at a time with a bidirectional search, and unpacks the
//! path's shortcuts even when only its time is wanted. Dispatch asks many questions that share
//! an end: every candidate unit about one incident, one freed unit about every queued part. In
//! a contraction hierarchy the upward search space of a node (the nodes a one-sided upward
//! search settles, with their times) depends on that node alone, so it is worked out once and
//! kept; the time from `a` to `b` is then the best meeting of `a`'s forward space and `b`'s
//! backward space (the bucket idea of Knopp et al. 2007, "Computing many-to-many shortest
//! paths using highway hierarchies", on a CH as in Geisberger et al. 2012). The hierarchy is
//! `fast_paths`' own, read through its public 32-bit form, so the times are the same to the
//! tick as its queries give. Each space is found by one side of `fast_paths`' own query run
//! to its end and kept as it went, so the path of the pair whose time was just asked is
//! replayed from the two spaces rather than searched for again ([`PathSearch`]).

mod path;

use path::Direction;
pub use path::PathSearch;

use fast_paths::{FastGraph, FastGraph32};

/// Which way a search space runs: from a node (forward) or into it (backward).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Forward,
    Backward,
}

impl Side {
    /// The side whose climbing edges stall a search on this one.
    fn other(self) -> Side {
        match self {
            Side::Forward => Side::Backward,
            Side::Backward => Side::Forward,
        }
    }
}

/// A settled node of an upward search and its time, in the hierarchy's ticks.
type Label = (u32, u32);

/// Search-space entries kept per side before that side's cache is emptied (bounded memory
/// for runs of weeks; a miss costs one one-sided upward search).
const SPACE_CACHE_LABELS: usize = 1 << 21;

/// A hierarchy's upward graphs, by node, in compressed rows.
#[derive(Debug)]
pub struct UpwardGraphs {
    /// Edges out of a node to higher nodes: (head, ticks). Forward searches climb these.
    up_first: Vec<u32>,
    up: Vec<Label>,
    /// Edges into a node from higher nodes: (tail, ticks). Backward searches climb these.
    down_first: Vec<u32>,
    down: Vec<Label>,
    /// What each edge of `up` and of `down` stands for, to unpack a path's shortcuts.
    up_via: Vec<Via>,
    down_via: Vec<Via>,
}

/// What an upward edge stands for: a road hop, or a shortcut over two edges.
#[derive(Debug, Clone, Copy)]
struct Via {
    /// The hop's node that a path unpacks to: the tail of an edge of `up`, the tail of an
    /// edge of `down` (`fast_paths`' `base_node` and `adj_node`).
    node: u32,
    /// For a shortcut, the edge of `down` and the edge of `up` it replaces; [`NONE`]
    /// for a road hop.
    replaced_down: u32,
    replaced_up: u32,
}

/// No node, no edge, no time.
const NONE: u32 = u32::MAX;

impl UpwardGraphs {
    /// The upward graphs of a prepared `fast_paths` hierarchy.
    pub fn of(graph: &FastGraph) -> Self {
        let g = FastGraph32::new(graph);
        let n = g.ranks.len();
        // `fast_paths` keeps each node's edges in rows by rank; here they are in rows by node,
        // in the same order within a row. `at[e]` is where `fast_paths`' edge `e` went.
        let rows = |first: &[u32], edges: Vec<Label>| {
            let mut starts = Vec::with_capacity(n + 1);
            let mut out = Vec::with_capacity(edges.len());
            let mut at = vec![NONE; edges.len()];
            for node in 0..n {
                starts.push(out.len() as u32);
                let r = g.ranks[node] as usize;
                let (a, b) = (first[r] as usize, first[r + 1] as usize);
                for (k, slot) in at[a..b].iter_mut().enumerate() {
                    *slot = (out.len() + k) as u32;
                }
                out.extend_from_slice(&edges[a..b]);
            }
            starts.push(out.len() as u32);
            (starts, out, at)
        };
        // (`fast_paths` does not name its 32-bit edge type, so the fields are read in place.)
        let up_arcs = g.edges_fwd.iter().map(|e| (e.adj_node, e.weight)).collect();
        let down_arcs = g.edges_bwd.iter().map(|e| (e.adj_node, e.weight)).collect();
        let (up_first, up, up_at) = rows(&g.first_edge_ids_fwd, up_arcs);
        let (down_first, down, down_at) = rows(&g.first_edge_ids_bwd, down_arcs);
        let moved = |at: &[u32], e: u32| if e == NONE { NONE } else { at[e as usize] };
        let vias = |edges: Vec<(u32, u32, u32)>, at: &[u32]| {
            let blank = Via {
                node: NONE,
                replaced_down: NONE,
                replaced_up: NONE,
            };
            let mut vias = vec![blank; edges.len()];
            for (e, (node, replaced_in, replaced_out)) in edges.into_iter().enumerate() {
                vias[at[e] as usize] = Via {
                    node,
                    replaced_down: moved(&down_at, replaced_in),
                    replaced_up: moved(&up_at, replaced_out),
                };
            }
            vias
        };
        let up_via = vias(
            g.edges_fwd
                .iter()
                .map(|e| (e.base_node, e.replaced_in_edge, e.replaced_out_edge))
                .collect(),
            &up_at,
        );
        let down_via = vias(
            g.edges_bwd
                .iter()
                .map(|e| (e.adj_node, e.replaced_in_edge, e.replaced_out_edge))
                .collect(),
            &down_at,
        );
        UpwardGraphs {
            up_first,
            up,
            down_first,
            down,
            up_via,
            down_via,
        }
    }

    /// How many nodes the hierarchy has.
    pub fn nodes(&self) -> usize {
        self.up_first.len() - 1
    }

    /// Where each node's row of climbing edges begins on `side`, and those edges.
    fn rows(&self, side: Side) -> (&[u32], &[Label]) {
        match side {
            Side::Forward => (&self.up_first, &self.up),
            Side::Backward => (&self.down_first, &self.down),
        }
    }
}

/// Node-to-node times over one hierarchy, with the search spaces asked for so far.
#[derive(Debug)]
pub struct SpaceTimes {
    /// Labels held per side before that side's spaces are all forgotten
    /// ([`SPACE_CACHE_LABELS`]; less in tests, to forget often).
    cap: usize,
    forward: Spaces,
    backward: Spaces,
    search: UpwardSearch,
    /// One forward space laid out by node (`u32::MAX`: not in it), so that meeting it is a
    /// lookup per backward label rather than a merge whose every step is a branch the
    /// processor cannot foresee. Kept while the same node is asked from again (every
    /// candidate of a freed unit's search shares its departure).
    scattered: Scattered,
}

/// A forward space laid out by node.
#[derive(Debug)]
struct Scattered {
    time: Vec<u32>,
    /// Whose space is laid out, and its nodes (to clear them when another's is).
    node: Option<u32>,
    nodes: Vec<u32>,
}

/// One side's search spaces, by node: each found once and kept until the labels held reach
/// [`SPACE_CACHE_LABELS`], then all forgotten. They are kept end to end in three arrays
/// (forgotten together, so no space is ever freed alone): a day finds tens of thousands.
#[derive(Debug)]
struct Spaces {
    /// Which space is each node's, by node ([`NONE`]: not kept). A day asks for spaces
    /// thousands of times for each one found.
    slot: Vec<u32>,
    /// Where each space begins in `settled` (and `ends`) and in `relaxed`.
    begins: Vec<(u32, u32)>,
    settled: Vec<Label>,
    ends: Vec<u32>,
    relaxed: Vec<u32>,
}

impl Spaces {
    fn new(nodes: usize) -> Self {
        Spaces {
            slot: vec![NONE; nodes],
            begins: Vec::new(),
            settled: Vec::new(),
            ends: Vec::new(),
            relaxed: Vec::new(),
        }
    }

    /// Where `node`'s space is kept, if it is.
    fn slot(&self, node: u32) -> Option<usize> {
        match self.slot.get(node as usize) {
            Some(&k) if k != NONE => Some(k as usize),
            _ => None,
        }
    }

    fn get(&self, k: usize) -> Space<'_> {
        let (s, r) = self.begins[k];
        let (s_end, r_end) = self
            .begins
            .get(k + 1)
            .copied()
            .unwrap_or((self.settled.len() as u32, self.relaxed.len() as u32));
        let (s, s_end) = (s as usize, s_end as usize);
        Space {
            settled: &self.settled[s..s_end],
            ends: &self.ends[s..s_end],
            relaxed: &self.relaxed[r as usize..r_end as usize],
        }
    }
}

/// One node's upward search space on one side, as the search went: enough to answer times
/// (the settled nodes) and to replay the search for a path (what each settling relaxed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Space<'a> {
    /// The nodes settled (not stalled), with their times, in the order they were settled.
    settled: &'a [Label],
    /// For the `k`-th node settled, `relaxed[ends[k - 1]..ends[k]]` (from 0 for the first)
    /// are the edges (in the row layout of [`UpwardGraphs`]) whose relaxation bettered
    /// their head's time, in order.
    ends: &'a [u32],
    relaxed: &'a [u32],
}

impl SpaceTimes {
    /// Empty caches for a hierarchy of `graphs`.
    pub fn new(graphs: &UpwardGraphs) -> Self {
        Self::holding(graphs, SPACE_CACHE_LABELS)
    }

    /// As [`SpaceTimes::new`], forgetting a side's spaces when they hold more than `cap`
    /// labels.
    fn holding(graphs: &UpwardGraphs, cap: usize) -> Self {
        SpaceTimes {
            cap,
            forward: Spaces::new(graphs.nodes()),
            backward: Spaces::new(graphs.nodes()),
            search: UpwardSearch::new(graphs.nodes()),
            scattered: Scattered {
                time: vec![u32::MAX; graphs.nodes()],
                node: None,
                nodes: Vec::new(),
            },
        }
    }

    /// Ticks of the fastest way from node `a` to node `b`; `None` if there is none.
    pub fn time(&mut self, graphs: &UpwardGraphs, a: u32, b: u32) -> Option<u32> {
        if a == b {
            return Some(0);
        }
        let f = self.ensure(graphs, Side::Forward, a);
        let b = self.ensure(graphs, Side::Backward, b);
        let s = &mut self.scattered;
        if s.node != Some(a) {
            for v in s.nodes.drain(..) {
                s.time[v as usize] = u32::MAX;
            }
            for &(v, t) in self.forward.get(f).settled {
                s.time[v as usize] = t;
                s.nodes.push(v);
            }
            s.node = Some(a);
        }
        meet_scattered(&s.time, self.backward.get(b).settled)
    }

    /// The nodes of the fastest path from node `a` to node `b` and its ticks, exactly as
    /// `fast_paths` finds them (see [`PathSearch`]): replayed from the two search spaces
    /// where both are kept (as they are right after their time was asked), searched for
    /// otherwise.
    pub fn path<'s>(
        &mut self,
        graphs: &UpwardGraphs,
        search: &'s mut PathSearch,
        a: u32,
        b: u32,
    ) -> Option<(&'s [u32], u32)> {
        match (self.forward.slot(a), self.backward.slot(b)) {
            (Some(f), Some(k)) => {
                search.replay(graphs, (a, self.forward.get(f)), (b, self.backward.get(k)))
            }
            _ => search.path(graphs, a, b),
        }
    }

    /// Where `node`'s space on `side` is kept, searched for first if it is not.
    fn ensure(&mut self, graphs: &UpwardGraphs, side: Side, node: u32) -> usize {
        let cache = match side {
            Side::Forward => &mut self.forward,
            Side::Backward => &mut self.backward,
        };
        if let Some(k) = cache.slot(node) {
            return k;
        }
        // Found straight into the cache's arrays, after the spaces kept (no copy).
        let (mut settled, mut relaxed) = (cache.settled.len(), cache.relaxed.len());
        self.search.space_onto(
            graphs,
            side,
            node,
            (&mut cache.settled, &mut cache.ends, &mut cache.relaxed),
        );
        if cache.settled.len() > self.cap && settled > 0 {
            // Too many held with this one: every other space is forgotten.
            cache.slot.fill(NONE);
            cache.begins.clear();
            cache.settled.drain(..settled);
            cache.ends.drain(..settled);
            cache.relaxed.drain(..relaxed);
            (settled, relaxed) = (0, 0);
        }
        let k = cache.begins.len();
        if cache.slot.len() <= node as usize {
            cache.slot.resize(node as usize + 1, NONE); // a node the hierarchy does not have
        }
        cache.slot[node as usize] = k as u32;
        cache.begins.push((settled as u32, relaxed as u32));
        k
    }
}

/// The least sum of times over the nodes a forward space (laid out by node, `u32::MAX`
/// where absent) and a backward space share: the same as [`meet`] gives.
fn meet_scattered(forward: &[u32], backward: &[Label]) -> Option<u32> {
    let best = backward
        .iter()
        .map(|&(v, t)| {
            forward
                .get(v as usize)
                .map_or(u32::MAX, |f| f.saturating_add(t))
        })
        .min()
        .unwrap_or(u32::MAX);
    (best != u32::MAX).then_some(best)
}

/// The least sum of times over the nodes two spaces (sorted by node) share.
#[cfg(test)]
fn meet(forward: &[Label], backward: &[Label]) -> Option<u32> {
    let (mut i, mut j) = (0, 0);
    let mut best: Option<u32> = None;
    while i < forward.len() && j < backward.len() {
        let (f, b) = (forward[i], backward[j]);
        match f.0.cmp(&b.0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let t = f.1 + b.1;
                if best.is_none_or(|x| t < x) {
                    best = Some(t);
                }
                i += 1;
                j += 1;
            }
        }
    }
    best
}

/// Scratch for one-sided upward searches.
#[derive(Debug)]
struct UpwardSearch {
    direction: Direction,
}

impl UpwardSearch {
    fn new(nodes: usize) -> Self {
        UpwardSearch {
            direction: Direction::new(nodes),
        }
    }

    /// Every node an upward search from `node` on `side` settles with its exact time, in
    /// the order it settles them, appended to `onto` as a [`Space`] is laid out (settled
    /// labels, their ends counted from the first edge this search appends, the edges
    /// relaxed). Stall-on-demand leaves out nodes whose upward time is provably not their
    /// shortest (a higher node reaches them faster): they cannot be the top of a shortest
    /// path, so no meeting is lost. The search is one side of `fast_paths`' query run to
    /// its end, step for step (the same [`Direction::step`]), so that a query's side is a
    /// beginning of it and can be replayed ([`PathSearch::replay`]).
    fn space_onto(
        &mut self,
        graphs: &UpwardGraphs,
        side: Side,
        node: u32,
        onto: (&mut Vec<Label>, &mut Vec<u32>, &mut Vec<u32>),
    ) {
        let (settled, ends, relaxed) = onto;
        if (node as usize) < self.direction.nodes() {
            let (climb, stall) = (graphs.rows(side), graphs.rows(side.other()));
            self.direction.start(node, true);
            let base = relaxed.len();
            while let Some(s) = self.direction.step(NONE, climb, stall, |e| relaxed.push(e)) {
                settled.push((s.node, s.ticks));
                ends.push((relaxed.len() - base) as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fast_paths::InputGraph;
    use proptest::prelude::*;

    /// A prepared hierarchy of `n` nodes with `edges` (`a`, `b`, time).
    pub(super) fn prepared(n: usize, edges: &[(usize, usize, usize)]) -> FastGraph {
        let mut input = InputGraph::new();
        for &(a, b, w) in edges {
            if a != b {
                input.add_edge(a, b, w);
            }
        }
        // Every node exists, whatever edges were drawn.
        input.add_edge(0, n - 1, 100);
        input.freeze();
        fast_paths::prepare(&input)
    }

    proptest! {
        /// Against fast_paths' own bidirectional query on random directed graphs: the same
        /// time, or unreachable, for every pair.
        #[test]
        fn times_are_fast_paths_times(
            n in 2usize..40,
            raw in proptest::collection::vec((0usize..40, 0usize..40, 1usize..50), 0..120),
        ) {
            let edges: Vec<_> = raw.into_iter().map(|(a, b, w)| (a % n, b % n, w)).collect();
            let graph = prepared(n, &edges);
            let graphs = UpwardGraphs::of(&graph);
            let mut times = SpaceTimes::new(&graphs);
            // Forgetting every few spaces changes nothing either.
            let mut forgetful = SpaceTimes::holding(&graphs, 7);
            let mut calc = fast_paths::create_calculator(&graph);
            for a in 0..graph.get_num_nodes() {
                for b in 0..graph.get_num_nodes() {
                    let want = calc.calc_path(&graph, a, b).map(|p| p.get_weight() as u32);
                    prop_assert_eq!(times.time(&graphs, a as u32, b as u32), want, "{} -> {}", a, b);
                    prop_assert_eq!(forgetful.time(&graphs, a as u32, b as u32), want, "{} -> {}", a, b);
                }
            }
        }
    }

    proptest! {
        /// Meeting a space laid out by node finds what the merge of the two sorted spaces
        /// finds: the same least sum, or none.
        #[test]
        fn a_scattered_meeting_is_the_merged_one(
            f in proptest::collection::btree_map(0u32..200, 0u32..100_000, 0..60),
            b in proptest::collection::btree_map(0u32..200, 0u32..100_000, 0..60),
        ) {
            let (f, b): (Vec<Label>, Vec<Label>) = (f.into_iter().collect(), b.into_iter().collect());
            let mut laid = vec![u32::MAX; 200];
            for &(v, t) in &f {
                laid[v as usize] = t;
            }
            prop_assert_eq!(meet_scattered(&laid, &b), meet(&f, &b));
        }
    }

    #[test]
    fn a_one_way_pair_is_reachable_one_way_only() {
        let graph = prepared(3, &[(0, 1, 5), (1, 2, 7)]);
        let graphs = UpwardGraphs::of(&graph);
        let mut times = SpaceTimes::new(&graphs);
        assert_eq!(times.time(&graphs, 0, 2), Some(12));
        assert_eq!(times.time(&graphs, 2, 0), None);
        assert_eq!(times.time(&graphs, 1, 1), Some(0));
    }
}
