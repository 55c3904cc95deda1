//! Travel times and paths over the road network, per mode, with contraction hierarchies.
//!
//! Each mode (foot, bike, car) gets its own directed graph with only the segments it may use
//! (the promenade is foot/bike only; one-way streets bind cars), prepared once with
//! `fast_paths`. Points off the network are snapped to the nearest node the mode can use and
//! the gap is walked, which is how a car crew reaches something on the promenade.

use crate::route::Route;
use binjiang_scene::{Mode, RoadGraph};
use binjiang_spatial::PointIndex;
use fast_paths::{FastGraph, InputGraph, PathCalculator};
use geo::Coord;
use std::collections::HashMap;

/// Travel times are kept in tenths of a second inside the hierarchies.
const TICKS_PER_S: f64 = 10.0;

/// Speed of the walk between a point and the network, m/s.
const ACCESS_SPEED_MPS: f64 = 1.3;

struct ModeRouter {
    graph: FastGraph,
    calculator: PathCalculator,
    nodes: PointIndex<u32>,
    times: HashMap<(u32, u32), Option<u32>>,
}

/// Shortest-time routing over a scene's road graph.
pub struct Router {
    coords: Vec<Coord>,
    modes: Vec<ModeRouter>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").field("nodes", &self.coords.len()).finish()
    }
}

impl Router {
    /// Prepares one hierarchy per mode.
    pub fn new(roads: &RoadGraph) -> Self {
        let modes = Mode::ALL.iter().map(|m| ModeRouter::new(roads, *m)).collect();
        Router { coords: roads.nodes.clone(), modes }
    }

    fn mode(&mut self, m: Mode) -> &mut ModeRouter {
        &mut self.modes[m as usize]
    }

    /// The node nearest to `p` that `mode` can use, and the gap in metres.
    pub fn snap(&self, mode: Mode, p: Coord) -> Option<(u32, f64)> {
        self.modes[mode as usize]
            .nodes
            .nearest_matching([p.x, p.y], 1, |_| true)
            .first()
            .map(|h| (*h.data, h.distance_m))
    }

    /// Seconds from `from` to `to` in `mode`, access walks included; `None` if unreachable.
    pub fn travel_time(&mut self, mode: Mode, from: Coord, to: Coord) -> Option<f64> {
        let (a, da) = self.snap(mode, from)?;
        let (b, db) = self.snap(mode, to)?;
        let ticks = self.mode(mode).node_time(a, b)?;
        Some(ticks as f64 / TICKS_PER_S + (da + db) / ACCESS_SPEED_MPS)
    }

    /// The fastest route from `from` to `to` in `mode`; `None` if unreachable.
    pub fn route(&mut self, mode: Mode, from: Coord, to: Coord) -> Option<Route> {
        let (a, da) = self.snap(mode, from)?;
        let (b, db) = self.snap(mode, to)?;
        let router = &mut self.modes[mode as usize];
        let path = router.calculator.calc_path(&router.graph, a as usize, b as usize)?;
        let mut route = Route::starting_at(from);
        route.push(self.coords[a as usize], da / ACCESS_SPEED_MPS);
        let nodes = path.get_nodes();
        for pair in nodes.windows(2) {
            let ticks = router.node_time(pair[0] as u32, pair[1] as u32)?;
            route.push(self.coords[pair[1]], ticks as f64 / TICKS_PER_S);
        }
        route.push(to, db / ACCESS_SPEED_MPS);
        Some(route)
    }
}

impl ModeRouter {
    fn new(roads: &RoadGraph, mode: Mode) -> Self {
        let mut input = InputGraph::new();
        let mut usable = vec![false; roads.nodes.len()];
        for e in &roads.edges {
            let (from, to) = (e.from as usize, e.to as usize);
            if let Some(t) = e.travel_time_s(mode, true) {
                input.add_edge(from, to, ticks(t));
                usable[from] = true;
                usable[to] = true;
            }
            if let Some(t) = e.travel_time_s(mode, false) {
                input.add_edge(to, from, ticks(t));
                usable[from] = true;
                usable[to] = true;
            }
        }
        // Only nodes with an edge for this mode are ever queried (snapping picks from
        // `usable`), so fast_paths' node count (highest id seen + 1) always covers them.
        input.freeze();
        let graph = fast_paths::prepare(&input);
        let calculator = fast_paths::create_calculator(&graph);
        let nodes = PointIndex::bulk_load(
            usable.iter().enumerate().filter(|(_, u)| **u).map(|(i, _)| ([roads.nodes[i].x, roads.nodes[i].y], i as u32)).collect(),
        );
        ModeRouter { graph, calculator, nodes, times: HashMap::new() }
    }

    fn node_time(&mut self, a: u32, b: u32) -> Option<u32> {
        if a == b {
            return Some(0);
        }
        if let Some(t) = self.times.get(&(a, b)) {
            return *t;
        }
        let t = self
            .calculator
            .calc_path(&self.graph, a as usize, b as usize)
            .map(|p| p.get_weight() as u32);
        self.times.insert((a, b), t);
        t
    }
}

fn ticks(seconds: f64) -> usize {
    ((seconds * TICKS_PER_S).round() as usize).max(1)
}
