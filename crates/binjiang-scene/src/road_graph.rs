//! The road network as a graph of junctions and segments, per travel mode.
//!
//! Roads that share a vertex (to the centimetre) are joined there; nothing else joins them,
//! so a bridge or a river is crossed only where a road really crosses it. The graph keeps an
//! R-tree of its segments so points (unit homes, incidents) can be snapped to the network.

use crate::domain::{Mode, RoadClass};
use crate::layers::Road;
use geo::{Closest, ClosestPoint, Coord, Distance, Euclidean, Length, Line, Point};
use petgraph::unionfind::UnionFind;
use rstar::primitives::GeomWithData;
use rstar::RTree;
use std::collections::HashMap;

/// A set of travel modes, as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModeSet(u8);

impl ModeSet {
    /// The set holding `modes`.
    pub fn of(modes: &[Mode]) -> Self {
        ModeSet(modes.iter().fold(0, |acc, m| acc | bit(*m)))
    }

    /// Whether `mode` is in the set.
    pub fn allows(self, mode: Mode) -> bool {
        self.0 & bit(mode) != 0
    }
}

fn bit(m: Mode) -> u8 {
    1 << (m as u8)
}

/// A segment of road between two consecutive vertices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoadEdge {
    /// Start node index.
    pub from: u32,
    /// End node index.
    pub to: u32,
    /// Index of the road in the scene's road list.
    pub road: u32,
    /// Length, metres.
    pub length_m: f64,
    /// Class of its road.
    pub class: RoadClass,
    /// Who may use it.
    pub modes: ModeSet,
    /// Speed limit, metres per second.
    pub limit_mps: f64,
    /// Cars may only go `from` → `to`.
    pub oneway: bool,
}

impl RoadEdge {
    /// Seconds to traverse the edge in `mode` going forwards, or `None` if not allowed.
    pub fn travel_time_s(&self, mode: Mode, forwards: bool) -> Option<f64> {
        if !self.modes.allows(mode) || (mode == Mode::Car && self.oneway && !forwards) {
            return None;
        }
        Some(self.length_m / mode.speed_mps().min(self.limit_mps))
    }
}

/// A road segment stored in the snapping index, tagged with its edge index.
pub type IndexedSegment = GeomWithData<Line, u32>;

/// The road network.
#[derive(Debug, Clone)]
pub struct RoadGraph {
    /// Junction and vertex positions, local metres.
    pub nodes: Vec<Coord>,
    /// Segments between consecutive vertices of each road.
    pub edges: Vec<RoadEdge>,
    segments: RTree<IndexedSegment>,
}

/// Where `p` meets segment `line` of edge `edge`: its closest point and the distance to it.
pub(crate) fn snap_to(line: &Line, edge: u32, p: Coord) -> Snap {
    let point = match line.closest_point(&Point::from(p)) {
        Closest::Intersection(q) | Closest::SinglePoint(q) => q.0,
        Closest::Indeterminate => line.start,
    };
    Snap {
        edge,
        point,
        distance_m: Euclidean.distance(Point::from(p), Point::from(point)),
    }
}

/// Where a point meets the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The edge met.
    pub edge: u32,
    /// The closest point on it.
    pub point: Coord,
    /// Straight-line distance from the point to the edge, metres.
    pub distance_m: f64,
}

impl RoadGraph {
    /// Builds the graph, joining roads at shared vertices.
    pub fn build(roads: &[Road]) -> Self {
        let mut ids: HashMap<(i64, i64), u32> = HashMap::new();
        let mut nodes = Vec::new();
        let mut node = |c: Coord| -> u32 {
            let key = ((c.x * 100.0).round() as i64, (c.y * 100.0).round() as i64);
            *ids.entry(key).or_insert_with(|| {
                nodes.push(c);
                (nodes.len() - 1) as u32
            })
        };
        let mut edges = Vec::new();
        for (ri, road) in roads.iter().enumerate() {
            for line in road.line.lines() {
                let (from, to) = (node(line.start), node(line.end));
                if from == to {
                    continue;
                }
                edges.push(RoadEdge {
                    from,
                    to,
                    road: ri as u32,
                    length_m: Euclidean.length(&line),
                    class: road.class,
                    modes: ModeSet::of(&road.modes),
                    limit_mps: road.speed_kmh / 3.6,
                    oneway: road.oneway,
                });
            }
        }
        let segments = edges
            .iter()
            .enumerate()
            .map(|(i, e)| {
                GeomWithData::new(
                    Line::new(nodes[e.from as usize], nodes[e.to as usize]),
                    i as u32,
                )
            })
            .collect();
        RoadGraph {
            nodes,
            edges,
            segments: RTree::bulk_load(segments),
        }
    }

    /// Total length of all segments, kilometres.
    pub fn length_km(&self) -> f64 {
        self.edges.iter().map(|e| e.length_m).sum::<f64>() / 1000.0
    }

    /// Total length of segments of one class, kilometres.
    pub fn class_length_km(&self, class: RoadClass) -> f64 {
        self.edges
            .iter()
            .filter(|e| e.class == class)
            .map(|e| e.length_m)
            .sum::<f64>()
            / 1000.0
    }

    /// Sizes (in nodes) of the connected pieces of the network, largest first.
    pub fn pieces(&self) -> Vec<usize> {
        self.pieces_of(None).iter().map(Vec::len).collect()
    }

    /// The connected pieces of the network `mode` may use (directions ignored), each as its
    /// node ids in ascending order, largest piece first (ties: lowest first node id). With
    /// `None` every node counts and every segment joins; with a mode, only the nodes and
    /// segments open to it.
    pub fn pieces_of(&self, mode: Option<Mode>) -> Vec<Vec<u32>> {
        let mut sets = UnionFind::<u32>::new(self.nodes.len());
        let mut used = vec![mode.is_none(); self.nodes.len()];
        for e in self
            .edges
            .iter()
            .filter(|e| mode.is_none_or(|m| e.modes.allows(m)))
        {
            sets.union(e.from, e.to);
            used[e.from as usize] = true;
            used[e.to as usize] = true;
        }
        let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
        for n in (0..self.nodes.len() as u32).filter(|n| used[*n as usize]) {
            groups.entry(sets.find(n)).or_default().push(n);
        }
        let mut pieces: Vec<Vec<u32>> = groups.into_values().collect();
        pieces.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
        pieces
    }

    /// The closest segment usable by `mode` (any mode when `None`).
    pub fn snap(&self, p: Coord, mode: Option<Mode>) -> Option<Snap> {
        self.snaps(p, mode).next()
    }

    /// Every segment usable by `mode` (any mode when `None`), closest first, lazily: a caller
    /// that must refuse some attachments (never across water) takes the first it accepts.
    pub fn snaps(&self, p: Coord, mode: Option<Mode>) -> impl Iterator<Item = Snap> + '_ {
        let query = Point::from(p);
        self.segments
            .nearest_neighbor_iter(&query)
            .filter(move |s| mode.is_none_or(|m| self.edges[s.data as usize].modes.allows(m)))
            .map(move |s| snap_to(s.geom(), s.data, p))
    }

    /// The strongly connected pieces of the network `mode` may use, directions respected
    /// (one-way streets bind cars): within a piece every node reaches every other. Each piece
    /// is its node ids ascending, largest piece first (ties: lowest first node id). A patrol
    /// loop or a default deployment on one piece can always be driven.
    pub fn strong_pieces_of(&self, mode: Mode) -> Vec<Vec<u32>> {
        let mut g = petgraph::graph::DiGraph::<(), ()>::with_capacity(self.nodes.len(), 0);
        for _ in 0..self.nodes.len() {
            g.add_node(());
        }
        let mut used = vec![false; self.nodes.len()];
        for e in &self.edges {
            let (a, b) = (
                petgraph::graph::NodeIndex::new(e.from as usize),
                petgraph::graph::NodeIndex::new(e.to as usize),
            );
            if e.travel_time_s(mode, true).is_some() {
                g.add_edge(a, b, ());
            }
            if e.travel_time_s(mode, false).is_some() {
                g.add_edge(b, a, ());
            }
            if e.modes.allows(mode) {
                used[e.from as usize] = true;
                used[e.to as usize] = true;
            }
        }
        let mut pieces: Vec<Vec<u32>> = petgraph::algo::tarjan_scc(&g)
            .into_iter()
            .map(|c| {
                let mut v: Vec<u32> = c.into_iter().map(|n| n.index() as u32).collect();
                v.sort_unstable();
                v
            })
            .filter(|v| used[v[0] as usize])
            .collect();
        pieces.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::LineString;

    fn road(id: &str, pts: &[(f64, f64)], class: RoadClass) -> Road {
        Road {
            id: id.into(),
            name: None,
            class,
            modes: class.default_modes().to_vec(),
            oneway: false,
            speed_kmh: class.default_speed_kmh(),
            line: LineString::from(pts.to_vec()),
            source: "generated: test".into(),
        }
    }

    #[test]
    fn joins_at_shared_vertices_only() {
        let roads = vec![
            road("a", &[(0.0, 0.0), (100.0, 0.0)], RoadClass::Street),
            road("b", &[(100.0, 0.0), (100.0, 100.0)], RoadClass::Street),
            road("c", &[(300.0, 0.0), (300.0, 50.0)], RoadClass::Promenade),
        ];
        let g = RoadGraph::build(&roads);
        assert_eq!(g.nodes.len(), 5);
        assert_eq!(g.pieces(), vec![3, 2]);
        assert_eq!(g.pieces_of(None), vec![vec![0, 1, 2], vec![3, 4]]);
        // The promenade piece is foot/bike only: cars see the street piece alone.
        assert_eq!(g.pieces_of(Some(Mode::Car)), vec![vec![0, 1, 2]]);
        assert_eq!(g.pieces_of(Some(Mode::Foot)).len(), 2);
        assert!((g.length_km() - 0.25).abs() < 1e-9);
    }

    #[test]
    fn snaps_to_segments_open_to_the_mode() {
        let roads = vec![
            road("walk", &[(0.0, 0.0), (100.0, 0.0)], RoadClass::Promenade),
            road("drive", &[(0.0, 50.0), (100.0, 50.0)], RoadClass::Street),
        ];
        let g = RoadGraph::build(&roads);
        let p = Coord { x: 50.0, y: 10.0 };
        assert!((g.snap(p, None).unwrap().distance_m - 10.0).abs() < 1e-9);
        assert!((g.snap(p, Some(Mode::Car)).unwrap().distance_m - 40.0).abs() < 1e-9);
    }

    #[test]
    fn strong_pieces_respect_one_way_streets() {
        // A one-way spur out of a two-way street: cars can leave along it but never come back,
        // so its far end is a piece of its own for cars, while walkers join everything.
        let mut spur = road("spur", &[(100.0, 0.0), (100.0, 100.0)], RoadClass::Street);
        spur.oneway = true;
        let roads = vec![
            road("a", &[(0.0, 0.0), (100.0, 0.0)], RoadClass::Street),
            spur,
        ];
        let g = RoadGraph::build(&roads);
        assert_eq!(g.strong_pieces_of(Mode::Car), vec![vec![0, 1], vec![2]]);
        assert_eq!(g.strong_pieces_of(Mode::Foot), vec![vec![0, 1, 2]]);
        assert_eq!(g.pieces_of(Some(Mode::Car)), vec![vec![0, 1, 2]]);
    }

    #[test]
    fn oneway_blocks_cars_only_backwards() {
        let e = RoadEdge {
            from: 0,
            to: 1,
            road: 0,
            length_m: 100.0,
            class: RoadClass::Street,
            modes: ModeSet::of(&[Mode::Foot, Mode::Car]),
            limit_mps: 10.0,
            oneway: true,
        };
        assert!(e.travel_time_s(Mode::Car, false).is_none());
        assert!(e.travel_time_s(Mode::Foot, false).is_some());
        assert!(e.travel_time_s(Mode::Bike, true).is_none());
        assert!((e.travel_time_s(Mode::Car, true).unwrap() - 100.0 / 8.3).abs() < 1e-9);
    }
}
