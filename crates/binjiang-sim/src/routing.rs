//! Travel times and paths over the road network, per mode, with contraction hierarchies.
//!
//! Each mode (foot, bike, car) gets its own directed graph with only the segments it may use
//! (the promenade is foot/bike only; one-way streets bind cars), prepared once with
//! `fast_paths`. A point is attached to the network at the closest point of the closest
//! segment its mode may use whose access walk does not cross water and is at most
//! [`MAX_ACCESS_M`] long; it leaves or enters that segment through either end (as the
//! segment's direction allows); the gap between the point and the segment is walked, which
//! is how a car crew reaches something on the promenade. A point with no such segment is
//! unreachable in that mode: there is no straight-line fallback anywhere, so nobody swims.
//!
//! One rule decides reachability everywhere (dispatch, queue, reassign, patrol loops): a
//! directed, one-way-aware road search finds a route, or the unit is not eligible.

use crate::box_cells::BoxCells;
use crate::ch::{PathSearch, SpaceTimes, UpwardGraphs};
use crate::route::Route;
use binjiang_scene::{ring_edges, GridSnap, Mode, RoadGraph, SegmentGrid, Snap};
use fast_paths::InputGraph;
use foldhash::{HashMap, HashMapExt};
use geo::{BoundingRect, Contains, Coord, Intersects, Line, MultiPolygon, Point, Polygon};
use std::sync::{Arc, OnceLock};

/// Travel times are kept in tenths of a second inside the hierarchies.
const TICKS_PER_S: f64 = 10.0;

/// Speed of the walk between a point and the network, m/s.
const ACCESS_SPEED_MPS: f64 = 1.3;

/// Longest walk between a point and the network, metres: farther, the point is reported as
/// off the network rather than silently joined to a distant road.
pub const MAX_ACCESS_M: f64 = 400.0;

/// A snap this close to a segment's end (as a fraction of its length) is at the junction.
const AT_NODE: f64 = 1e-9;

/// Node-to-node times kept per mode before the cache is emptied (bounded memory for runs of
/// weeks; a miss costs one contraction-hierarchy query).
const TIME_CACHE_ENTRIES: usize = 1 << 20;

/// Paths kept per mode before the cache is emptied (a path is tens of hops: a few MB).
const PATH_CACHE_ENTRIES: usize = 1 << 16;

/// Whether two points are the same, bit for bit (so a kept answer is the answer exactly).
fn same_bits(a: Coord, b: Coord) -> bool {
    a.x.to_bits() == b.x.to_bits() && a.y.to_bits() == b.y.to_bits()
}

/// Answers that never change (a time, a path, an attachment), kept up to `cap` of them and
/// then all forgotten at once: bounded memory for runs of weeks, and, unlike evicting by use,
/// the same answers in the same order whatever was asked before (runs stay deterministic).
#[derive(Debug, Clone)]
struct Memo<K, V> {
    map: HashMap<K, V>,
    cap: usize,
}

impl<K: std::hash::Hash + Eq, V: Clone> Memo<K, V> {
    fn new(cap: usize) -> Self {
        Memo {
            map: HashMap::new(),
            cap,
        }
    }

    /// The answer for `key`, if kept.
    fn get(&self, key: &K) -> Option<V> {
        self.map.get(key).cloned()
    }

    /// Keeps `value` for `key`, forgetting everything first if full.
    fn keep(&mut self, key: K, value: V) {
        if self.map.len() >= self.cap {
            self.map.clear();
        }
        self.map.insert(key, value);
    }
}

struct ModeRouter {
    /// The hierarchy `fast_paths` prepared, as upward graphs: times come from their search
    /// spaces, paths from a query that is `fast_paths`' own step for step.
    upward: Arc<UpwardGraphs>,
    search: PathSearch,
    spaces: SpaceTimes,
    times: Memo<(u32, u32), Option<u32>>,
    /// Paths between node pairs as `fast_paths` unpacked them, with each hop's ticks: a
    /// route is asked for again and again between the same junctions (units return to the
    /// same loops; incidents recur at the same places), and a path is the same every time.
    paths: PathMemo,
    /// Ticks of the fastest direct edge between two adjacent nodes (path hops).
    hops: Arc<HashMap<(u32, u32), u32>>,
    /// The segments this mode may use, by grid cell: most points are attached here without
    /// walking the scene's R-tree.
    segments: Arc<SegmentGrid>,
    /// Per node, where a point standing on it meets this mode's network, found once.
    node_snaps: Arc<[OnceLock<Option<Snap>>]>,
}

/// Paths between node pairs: each one's hops (the nodes after its first, each with the ticks
/// of the hop that reaches it) kept end to end in one list, found by the pair, all forgotten
/// together when [`PATH_CACHE_ENTRIES`] are held (as [`Memo`] forgets). One list, not a shared
/// slice per path: a path kept costs no allocation, and a run's end frees no thousands.
#[derive(Debug, Clone, Default)]
struct PathMemo {
    /// Where each pair's hops are in `hops` (start, count); `None`: no path.
    found: HashMap<(u32, u32), Option<(u32, u32)>>,
    hops: Vec<(u32, u32)>,
}

impl PathMemo {
    /// The hops kept for the pair: `None` if not kept, `Some(None)` if it has no path.
    fn get(&self, pair: (u32, u32)) -> Option<Option<&[(u32, u32)]>> {
        let kept = *self.found.get(&pair)?;
        Some(kept.map(|(start, n)| &self.hops[start as usize..(start + n) as usize]))
    }

    /// Starts keeping a pair's path, forgetting every other first if full: its hops are
    /// then pushed onto `hops` and the pair ended with [`PathMemo::end`].
    fn begin(&mut self) {
        if self.found.len() >= PATH_CACHE_ENTRIES {
            self.found.clear();
            self.hops.clear();
        }
    }

    /// Keeps the hops pushed since [`PathMemo::begin`] from `start` as the pair's path, or
    /// that it has none (and drops them).
    fn end(&mut self, pair: (u32, u32), start: usize, path: bool) -> Option<&[(u32, u32)]> {
        if !path {
            self.hops.truncate(start);
            self.found.insert(pair, None);
            return None;
        }
        let n = (self.hops.len() - start) as u32;
        self.found.insert(pair, Some((start as u32, n)));
        Some(&self.hops[start..])
    }
}

impl Clone for ModeRouter {
    /// Shares the prepared hierarchy; fresh scratch and empty caches (a clone answers
    /// exactly as the original would).
    fn clone(&self) -> Self {
        ModeRouter {
            upward: Arc::clone(&self.upward),
            search: PathSearch::new(self.upward.nodes()),
            spaces: SpaceTimes::new(&self.upward),
            times: Memo::new(TIME_CACHE_ENTRIES),
            paths: PathMemo::default(),
            hops: Arc::clone(&self.hops),
            segments: Arc::clone(&self.segments),
            node_snaps: Arc::clone(&self.node_snaps),
        }
    }
}

/// The water bodies a walk to the road must not cross: their polygons, and every edge of
/// their rings listed in the cells of a grid it passes through, so a walk is tested against
/// the few edges near it.
#[derive(Debug, Clone, Default)]
struct WaterMask {
    polygons: Vec<Polygon>,
    shore: ShoreCells,
}

/// The shores' edges by the cells of a grid over their bounding box: each edge listed in
/// every cell it passes through or comes within [`SHORE_MARGIN_M`] of. Most walks to a road
/// are a few metres, far from the river, in cells no shore passes; a walk near the bank
/// meets a cell or two of a few edges each. (An R-tree of the edges answered the same, at a
/// query's cost for every walk whose box met a shore's box: two walks in three on Yangpu's
/// long diagonal banks.)
#[derive(Debug, Clone, Default)]
struct ShoreCells(BoxCells<Line>);

/// Width of a shore cell, metres.
const SHORE_CELL_M: f64 = 50.0;

/// How near a cell an edge is listed in it: far above the rounding of a cell's bounds or of
/// the side of a line a corner is on, far below a cell.
const SHORE_MARGIN_M: f64 = 1e-3;

impl ShoreCells {
    fn new(lines: &[Line]) -> Self {
        let Some(bounds) = binjiang_scene::segment_grid::bounds_of(lines.iter().copied()) else {
            return ShoreCells::default();
        };
        let (min, max) = (bounds.min(), bounds.max());
        // Coarser cells for a vast water layer: at most a few million cells.
        let cell_m = SHORE_CELL_M.max(((max.x - min.x) * (max.y - min.y) / 4.0e6).sqrt());
        let grown = |c: Coord, by: f64| Coord {
            x: c.x + by,
            y: c.y + by,
        };
        let boxed = lines.iter().map(|l| {
            let g = l.bounding_rect();
            let m = SHORE_MARGIN_M;
            (grown(g.min(), -m), grown(g.max(), m), *l)
        });
        ShoreCells(BoxCells::new((min, max), cell_m, boxed, passes_near))
    }

    /// Whether some shore edge meets the straight walk from `a` to `b`. An edge that does
    /// meets it at a point of the walk's box, in one of the cells the box covers, and is
    /// listed there: every cell the box covers is looked in.
    fn meets(&self, a: Coord, b: Coord) -> bool {
        let walk = Line::new(a, b);
        let (lo, hi) = (walk.bounding_rect().min(), walk.bounding_rect().max());
        // Wholly beyond the grid: no shore there.
        !self.0.beyond(lo, hi) && self.0.in_box(lo, hi).any(|e| e.intersects(&walk))
    }
}

/// Whether the line through `l` meets the cell of side `side` from `corner`, grown by
/// [`SHORE_MARGIN_M`]: not all four corners strictly on one side of it. (Asked only of cells
/// `l`'s box meets, so this is whether the segment itself does.)
fn passes_near(l: &Line, corner: Coord, side: f64) -> bool {
    let m = SHORE_MARGIN_M;
    let (x0, y0) = (corner.x - m, corner.y - m);
    let (x1, y1) = (x0 + side + 2.0 * m, y0 + side + 2.0 * m);
    let (dx, dy) = (l.end.x - l.start.x, l.end.y - l.start.y);
    let on = |x: f64, y: f64| dx * (y - l.start.y) - dy * (x - l.start.x);
    let s = [on(x0, y0), on(x1, y0), on(x0, y1), on(x1, y1)];
    !(s.iter().all(|v| *v > 0.0) || s.iter().all(|v| *v < 0.0))
}

impl WaterMask {
    fn new(water: &[MultiPolygon]) -> Self {
        let polygons: Vec<Polygon> = water.iter().flat_map(|m| m.0.iter().cloned()).collect();
        WaterMask {
            shore: ShoreCells::new(&ring_edges(&polygons)),
            polygons,
        }
    }

    /// Whether the straight walk from `a` to `b` crosses water. A point standing on water
    /// (a pier, a pontoon) may still step to its nearest road; a road on water is a bridge.
    /// A walk between two dry points crosses water exactly when it crosses a shore.
    fn crosses(&self, a: Coord, b: Coord) -> bool {
        if !self.shore.meets(a, b) {
            return false;
        }
        let on_water = |p: Coord| self.polygons.iter().any(|w| w.contains(&Point::from(p)));
        !on_water(a) && !on_water(b)
    }
}

/// A point attached to the network: where it meets a segment and how to get on or off.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    point: Coord,
    access_s: f64,
    edge: u32,
    /// Fraction along the edge from its `from` node.
    u: f64,
    /// (node, seconds along the edge between the anchor point and that node); a point at a
    /// junction is at that node whichever way the segment it snapped to runs.
    ends: [Option<(u32, f64)>; 3],
}

/// Shortest-time routing over a scene's road graph.
#[derive(Clone)]
pub struct Router {
    /// Per mode (in `Mode::ALL` order), travel speed on the network relative to the scene's
    /// (rain, crowds); 1 normally. Access walks keep their speed.
    speed: [f64; 3],
    roads: Arc<RoadGraph>,
    water: Arc<WaterMask>,
    modes: Vec<ModeRouter>,
    /// Where points met the network, by (mode, x, y bits): incidents and loop points are
    /// asked about again and again, an incident's place both to arrive at and to leave
    /// from. Emptied when full (bounded memory).
    snaps: Memo<(u8, u64, u64), Option<Snap>>,
}

/// Points' snaps kept before the cache is emptied.
const SNAP_CACHE_ENTRIES: usize = 1 << 16;

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("nodes", &self.roads.nodes.len())
            .finish()
    }
}

/// A point attached to a mode's network once, for many searches from or to it
/// ([`Router::attached`]); `None` inside if it cannot be.
#[derive(Debug, Clone, Copy)]
pub struct Attached {
    mode: Mode,
    leaving: bool,
    /// The point itself.
    point: Coord,
    anchor: Option<Anchor>,
}

/// The best way found between two anchors.
enum Way {
    SameEdge(f64),
    Via { exit: u32, entry: u32, seconds: f64 },
}

impl Router {
    /// Prepares one hierarchy per mode; walks to the network never cross `water`.
    pub fn new(roads: &RoadGraph, water: &[MultiPolygon]) -> Self {
        Self::build(roads, Arc::new(WaterMask::new(water)), [1.0; 3])
    }

    fn build(roads: &RoadGraph, water: Arc<WaterMask>, speed: [f64; 3]) -> Self {
        // Each mode's hierarchy alone, one per core: a tenth of a 50 km² day's run.
        use rayon::prelude::*;
        let modes = Mode::ALL
            .par_iter()
            .enumerate()
            .map(|(k, m)| ModeRouter::new(roads, *m, speed[k]))
            .collect();
        Router {
            speed,
            roads: Arc::new(roads.clone()),
            water,
            modes,
            snaps: Memo::new(SNAP_CACHE_ENTRIES),
        }
    }

    /// The same network with `closed_roads` (indexes in the scene's road list) closed to
    /// every mode and each mode's speed multiplied by `speed` (in `Mode::ALL` order): a
    /// typhoon closing the promenade, rain slowing bikes. Prepares new hierarchies.
    pub fn changed(&self, closed_roads: &[u32], speed: [f64; 3]) -> Router {
        let mut roads = (*self.roads).clone();
        for e in &mut roads.edges {
            if closed_roads.contains(&e.road) {
                e.modes = binjiang_scene::ModeSet::of(&[]);
            }
        }
        Self::build(&roads, Arc::clone(&self.water), speed)
    }

    /// Seconds to traverse edge `e` in `mode`, at this network's speed.
    fn edge_time(&self, e: &binjiang_scene::RoadEdge, mode: Mode, forwards: bool) -> Option<f64> {
        let k = Mode::ALL.iter().position(|m| *m == mode).unwrap_or(0);
        e.travel_time_s(mode, forwards).map(|t| t / self.speed[k])
    }

    /// The router of a scene: its roads and its water.
    pub fn of_scene(scene: &binjiang_scene::Scene) -> Self {
        let water: Vec<MultiPolygon> = scene.water.iter().map(|w| w.area.clone()).collect();
        Router::new(&scene.road_graph, &water)
    }

    /// Whether `p` can be attached to the network of `mode` (a road within
    /// [`MAX_ACCESS_M`], not across water).
    pub fn on_network(&self, mode: Mode, p: Coord) -> bool {
        self.snap(mode, p).is_some()
    }

    /// Seconds from `from` to `to` in `mode`, access walks included; `None` if unreachable.
    pub fn travel_time(&mut self, mode: Mode, from: Coord, to: Coord) -> Option<f64> {
        let (a, b) = (
            self.anchor(mode, from, true)?,
            self.anchor(mode, to, false)?,
        );
        self.time_between(mode, &a, &b)
    }

    /// `p` attached to the network of `mode`, to leave from (`leaving`) or to arrive at, for
    /// many searches from or to it: a freed unit weighing every waiting part, every
    /// candidate unit weighed for one incident.
    pub fn attached(&mut self, mode: Mode, p: Coord, leaving: bool) -> Attached {
        Attached {
            mode,
            leaving,
            point: p,
            anchor: self.anchor(mode, p, leaving),
        }
    }

    /// [`Router::travel_time`] from the point `from` is attached at to the point `to` is
    /// (in `from`'s mode; `None` unless `from` leaves and `to` arrives).
    pub fn travel_time_between(&mut self, from: &Attached, to: &Attached) -> Option<f64> {
        let (a, b) = Self::pair(from, to)?;
        self.time_between(from.mode, a, b)
    }

    /// The anchors of a pair to travel between; `None` unless `from` leaves and `to`
    /// arrives, in one mode, and both are attached.
    fn pair<'a>(from: &'a Attached, to: &'a Attached) -> Option<(&'a Anchor, &'a Anchor)> {
        if !from.leaving || to.leaving || from.mode != to.mode {
            return None;
        }
        Some((from.anchor.as_ref()?, to.anchor.as_ref()?))
    }

    fn time_between(&mut self, mode: Mode, a: &Anchor, b: &Anchor) -> Option<f64> {
        let way = self.best_way(mode, a, b)?;
        let network = match way {
            Way::SameEdge(s) => s,
            Way::Via { seconds, .. } => seconds,
        };
        Some(a.access_s + network + b.access_s)
    }

    /// The fastest route from `from` to `to` in `mode`; `None` if unreachable.
    pub fn route(&mut self, mode: Mode, from: Coord, to: Coord) -> Option<Route> {
        let (from, to) = (
            self.attached(mode, from, true),
            self.attached(mode, to, false),
        );
        self.route_between(&from, &to)
    }

    /// [`Router::route`] between two attached points (as [`Router::travel_time_between`]):
    /// the route of the pair whose time was just weighed, without attaching them again.
    pub fn route_between(&mut self, from: &Attached, to: &Attached) -> Option<Route> {
        let (a, b) = Self::pair(from, to)?;
        let (mode, from, to) = (from.mode, from.point, to.point);
        let way = self.best_way(mode, a, b)?;
        let path = match way {
            Way::SameEdge(_) => None,
            Way::Via { exit, entry, .. } => Some(self.modes[mode as usize].path(exit, entry)?),
        };
        let mut route = Route::stay_with_room(from, 6 + path.map_or(0, |p| p.len()));
        route.push(a.point, a.access_s);
        match way {
            Way::SameEdge(s) => route.push(b.point, s),
            Way::Via { exit, entry, .. } => {
                let leave = a
                    .ends
                    .iter()
                    .flatten()
                    .find(|(n, _)| *n == exit)
                    .map_or(0.0, |e| e.1);
                route.push(self.roads.nodes[exit as usize], leave);
                for &(node, ticks) in path.iter().flat_map(|p| p.iter()) {
                    route.push(self.roads.nodes[node as usize], ticks as f64 / TICKS_PER_S);
                }
                let enter = b
                    .ends
                    .iter()
                    .flatten()
                    .find(|(n, _)| *n == entry)
                    .map_or(0.0, |e| e.1);
                route.push(b.point, enter);
            }
        }
        route.push(to, b.access_s);
        Some(route)
    }

    /// Attaches `p` to the closest segment `mode` may use; `leaving` picks the directions
    /// that matter (leaving the point towards a node, or arriving from a node).
    fn anchor(&mut self, mode: Mode, p: Coord, leaving: bool) -> Option<Anchor> {
        let key = (mode as u8, p.x.to_bits(), p.y.to_bits());
        let snap = match self.snaps.get(&key) {
            Some(snap) => snap,
            None => {
                let snap = self.snap(mode, p);
                self.snaps.keep(key, snap);
                snap
            }
        };
        snap.map(|snap| self.anchor_at(mode, snap, leaving))
    }

    /// Where `p` meets the network of `mode`: the closest segment within [`MAX_ACCESS_M`]
    /// whose access walk does not cross water.
    fn snap(&self, mode: Mode, p: Coord) -> Option<Snap> {
        // The grid answers where no tie is to be broken; the R-tree walk, whose order among
        // equally close segments has always decided, answers the rest.
        let router = &self.modes[mode as usize];
        match router.segments.closest(p, MAX_ACCESS_M) {
            GridSnap::NoneWithin => return None,
            GridSnap::Closest(s) if s.distance_m > MAX_ACCESS_M => return None,
            GridSnap::Closest(s) if !self.water.crosses(p, s.point) => return Some(s),
            GridSnap::Tied { edge } => {
                // Most ties are junctions: a point standing on a node. Each node's walk is
                // taken once per network and kept for every run that shares it.
                let e = &self.roads.edges[edge as usize];
                if let Some(n) = [e.from, e.to]
                    .into_iter()
                    .find(|n| same_bits(self.roads.nodes[*n as usize], p))
                {
                    return *router.node_snaps[n as usize].get_or_init(|| self.walk(mode, p));
                }
            }
            // The closest is across water: the walk goes on to the next.
            GridSnap::Closest(_) => {}
        }
        self.walk(mode, p)
    }

    /// The first snap of the R-tree's nearest-first walk within reach and not across water.
    fn walk(&self, mode: Mode, p: Coord) -> Option<Snap> {
        self.roads
            .snaps(p, Some(mode))
            .take_while(|s| s.distance_m <= MAX_ACCESS_M)
            .find(|s| !self.water.crosses(p, s.point))
    }

    /// The anchor of a point that meets the network at `snap`.
    fn anchor_at(&self, mode: Mode, snap: Snap, leaving: bool) -> Anchor {
        let e = &self.roads.edges[snap.edge as usize];
        let start = self.roads.nodes[e.from as usize];
        let u = if e.length_m > 0.0 {
            ((snap.point.x - start.x).hypot(snap.point.y - start.y) / e.length_m).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (fwd, back) = (
            self.edge_time(e, mode, true),
            self.edge_time(e, mode, false),
        );
        let at_node = if u <= AT_NODE {
            Some((e.from, 0.0))
        } else if u >= 1.0 - AT_NODE {
            Some((e.to, 0.0))
        } else {
            None
        };
        let ends = if leaving {
            [
                fwd.map(|t| (e.to, (1.0 - u) * t)),
                back.map(|t| (e.from, u * t)),
                at_node,
            ]
        } else {
            [
                fwd.map(|t| (e.from, u * t)),
                back.map(|t| (e.to, (1.0 - u) * t)),
                at_node,
            ]
        };
        Anchor {
            point: snap.point,
            access_s: snap.distance_m / ACCESS_SPEED_MPS,
            edge: snap.edge,
            u,
            ends,
        }
    }

    fn best_way(&mut self, mode: Mode, a: &Anchor, b: &Anchor) -> Option<Way> {
        let mut best: Option<Way> = None;
        let mut best_s = f64::INFINITY;
        if a.edge == b.edge {
            let e = &self.roads.edges[a.edge as usize];
            let direct = if b.u >= a.u {
                self.edge_time(e, mode, true).map(|t| (b.u - a.u) * t)
            } else {
                self.edge_time(e, mode, false).map(|t| (a.u - b.u) * t)
            };
            if let Some(s) = direct {
                best_s = s;
                best = Some(Way::SameEdge(s));
            }
        }
        let router = &mut self.modes[mode as usize];
        for (exit, leave) in a.ends.iter().flatten() {
            for (entry, enter) in b.ends.iter().flatten() {
                let Some(ticks) = router.node_time(*exit, *entry) else {
                    continue;
                };
                let s = leave + ticks as f64 / TICKS_PER_S + enter;
                if s < best_s {
                    best_s = s;
                    best = Some(Way::Via {
                        exit: *exit,
                        entry: *entry,
                        seconds: s,
                    });
                }
            }
        }
        best
    }
}

impl ModeRouter {
    fn new(roads: &RoadGraph, mode: Mode, speed: f64) -> Self {
        let mut input = InputGraph::new();
        let mut hops: HashMap<(u32, u32), u32> = HashMap::new();
        for (a, b, t) in road_hops(roads, mode, speed) {
            input.add_edge(a as usize, b as usize, t);
            hops.entry((a, b))
                .and_modify(|old| *old = (*old).min(t as u32))
                .or_insert(t as u32);
        }
        // Only nodes with an edge for this mode are ever queried (anchors come from the
        // mode's own segments), so fast_paths' node count (highest id seen + 1) covers them.
        input.freeze();
        let upward = Arc::new(UpwardGraphs::of(&fast_paths::prepare(&input)));
        ModeRouter {
            search: PathSearch::new(upward.nodes()),
            spaces: SpaceTimes::new(&upward),
            upward,
            times: Memo::new(TIME_CACHE_ENTRIES),
            paths: PathMemo::default(),
            hops: Arc::new(hops),
            segments: Arc::new(SegmentGrid::new(roads, mode)),
            node_snaps: (0..roads.nodes.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The nodes after `a` on the path from `a` to `b`, each with the ticks of the hop that
    /// reaches it; `None` if there is no path.
    fn path(&mut self, a: u32, b: u32) -> Option<&[(u32, u32)]> {
        // (Asked twice rather than matched once: a kept answer's borrow would outlive the
        // match and forbid keeping a new one.)
        if self.paths.get((a, b)).is_some() {
            return self.paths.get((a, b)).flatten();
        }
        self.paths.begin();
        let start = self.paths.hops.len();
        let found = self.spaces.path(&self.upward, &mut self.search, a, b);
        let paths = &mut self.paths;
        let complete = found.is_some_and(|(nodes, _)| {
            nodes
                .windows(2)
                .all(|pair| match self.hops.get(&(pair[0], pair[1])) {
                    Some(t) => {
                        paths.hops.push((pair[1], *t));
                        true
                    }
                    None => false,
                })
        });
        self.paths.end((a, b), start, complete)
    }

    fn node_time(&mut self, a: u32, b: u32) -> Option<u32> {
        if a == b {
            return Some(0);
        }
        if let Some(t) = self.times.get(&(a, b)) {
            return t;
        }
        let t = self.spaces.time(&self.upward, a, b);
        self.times.keep((a, b), t);
        t
    }
}

/// Every directed hop `mode` may take on `roads` at `speed` (relative to the scene's), with
/// its ticks: what a mode's hierarchy is prepared from, in the order it is added.
pub fn road_hops(
    roads: &RoadGraph,
    mode: Mode,
    speed: f64,
) -> impl Iterator<Item = (u32, u32, usize)> + '_ {
    roads.edges.iter().flat_map(move |e| {
        let forwards = e.travel_time_s(mode, true);
        let backwards = e.travel_time_s(mode, false);
        let hop = |a: u32, b: u32, t: f64| (a, b, ticks(t / speed));
        [
            forwards.map(|t| hop(e.from, e.to, t)),
            backwards.map(|t| hop(e.to, e.from, t)),
        ]
        .into_iter()
        .flatten()
    })
}

fn ticks(seconds: f64) -> usize {
    ((seconds * TICKS_PER_S).round() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use binjiang_scene::{Road, RoadClass};
    use geo::LineString;

    fn street(pts: &[(f64, f64)], oneway: bool) -> Road {
        Road {
            id: "s".into(),
            name: None,
            class: RoadClass::Street,
            modes: vec![Mode::Foot, Mode::Car],
            oneway,
            speed_kmh: 36.0,
            line: LineString::from(pts.to_vec()),
            source: "generated: test".into(),
        }
    }

    #[test]
    fn mid_edge_points_travel_along_the_edge_not_via_a_node_behind() {
        let roads = RoadGraph::build(&[street(&[(0.0, 0.0), (1000.0, 0.0)], false)]);
        let mut r = Router::new(&roads, &[]);
        let t = r
            .travel_time(
                Mode::Car,
                Coord { x: 750.0, y: 0.0 },
                Coord { x: 100.0, y: 0.0 },
            )
            .unwrap();
        assert!((t - 650.0 / 8.3).abs() < 1e-9, "{t}");
        let route = r
            .route(
                Mode::Car,
                Coord { x: 750.0, y: 0.0 },
                Coord { x: 100.0, y: 0.0 },
            )
            .unwrap();
        assert!(route.position_at(10.0).x < 750.0);
    }

    #[test]
    fn the_quickest_by_road_is_not_the_nearest_as_the_crow_flies() {
        // A U-shaped street: the far arm's tip is close as the crow flies, far by road.
        let roads = RoadGraph::build(&[street(
            &[(0.0, 0.0), (0.0, 500.0), (100.0, 500.0), (100.0, 0.0)],
            false,
        )]);
        let mut r = Router::new(&roads, &[]);
        let to = Coord { x: 0.0, y: 50.0 };
        let near = r
            .travel_time(Mode::Car, Coord { x: 100.0, y: 40.0 }, to)
            .unwrap();
        let far = r
            .travel_time(Mode::Car, Coord { x: 0.0, y: 300.0 }, to)
            .unwrap();
        assert!((far - 250.0 / 8.3).abs() < 0.1, "{far}");
        assert!((near - 1010.0 / 8.3).abs() < 0.1, "{near}");
    }

    #[test]
    fn the_walk_to_a_road_never_crosses_water() {
        // A street north of a river; a point on the south bank is 150 m from it as the crow
        // flies, across the water.
        let roads = RoadGraph::build(&[street(&[(0.0, 100.0), (1000.0, 100.0)], false)]);
        let river = MultiPolygon(vec![
            geo::Rect::new((-100.0, -50.0), (1100.0, 50.0)).to_polygon()
        ]);
        let south = Coord { x: 500.0, y: -50.5 };
        let north = Coord { x: 200.0, y: 100.0 };
        let dry = Router::new(&roads, &[]);
        assert!(dry.on_network(Mode::Foot, south));
        let mut wet = Router::new(&roads, &[river]);
        assert!(!wet.on_network(Mode::Foot, south));
        assert_eq!(wet.travel_time(Mode::Foot, south, north), None);
        assert!(wet.route(Mode::Foot, north, south).is_none());
        // A pier standing on the water still steps onto its road.
        assert!(wet.on_network(Mode::Foot, Coord { x: 500.0, y: 40.0 }));
        // Too far from any road: off the network.
        assert!(!dry.on_network(Mode::Foot, Coord { x: 500.0, y: 600.0 }));
    }

    #[test]
    fn one_way_streets_force_a_detour_for_cars() {
        // A one-way eastbound street and a two-way loop back round the block.
        let roads = RoadGraph::build(&[
            street(&[(0.0, 0.0), (1000.0, 0.0)], true),
            street(
                &[(1000.0, 0.0), (1000.0, 100.0), (0.0, 100.0), (0.0, 0.0)],
                false,
            ),
        ]);
        let mut r = Router::new(&roads, &[]);
        let (east, west) = (Coord { x: 800.0, y: 0.0 }, Coord { x: 200.0, y: 0.0 });
        let forwards = r.travel_time(Mode::Car, west, east).unwrap();
        let backwards = r.travel_time(Mode::Car, east, west).unwrap();
        assert!((forwards - 600.0 / 8.3).abs() < 1e-9);
        assert!((backwards - 1600.0 / 8.3).abs() < 0.1, "{backwards}"); // 200 on, 1,200 round the block, 200 back
        let walk = r.travel_time(Mode::Foot, east, west).unwrap();
        assert!(
            (walk - 600.0 / 1.3).abs() < 1e-9,
            "pedestrians ignore one-way"
        );
    }

    /// The bundled Yangpu scene.
    fn yangpu() -> binjiang_scene::Scene {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenes/yangpu-riverfront");
        binjiang_scene::Scene::load(&dir).expect("the bundled scene loads")
    }

    /// Against the R-tree's nearest-first walk, which decided every attachment before the
    /// grid: on the Yangpu scene (its river included), on its junctions, along its segments
    /// and anywhere around it, and on a network with roads closed, the grid's snap is the
    /// walk's, bit for bit.
    #[test]
    fn every_snap_is_the_r_tree_walks_first() {
        use rand::{Rng, SeedableRng};
        let scene = yangpu();
        let open = Router::of_scene(&scene);
        let closed_roads: Vec<u32> = (0..scene.roads.len() as u32).step_by(3).collect();
        let closed = open.changed(&closed_roads, [1.0, 0.8, 0.5]);
        let roads = &scene.road_graph;
        let (mut min, mut max) = (roads.nodes[0], roads.nodes[0]);
        for n in &roads.nodes {
            (min.x, min.y, max.x, max.y) = (
                min.x.min(n.x),
                min.y.min(n.y),
                max.x.max(n.x),
                max.y.max(n.y),
            );
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let mut points: Vec<Coord> = roads.nodes.clone();
        for e in &roads.edges {
            let (a, b) = (roads.nodes[e.from as usize], roads.nodes[e.to as usize]);
            let f: f64 = rng.random();
            points.push(Coord {
                x: a.x + f * (b.x - a.x),
                y: a.y + f * (b.y - a.y),
            });
            // A few metres off the road, as a post or a kerbside incident stands.
            points.push(Coord {
                x: a.x + f * (b.x - a.x) + rng.random_range(-20.0..20.0),
                y: a.y + f * (b.y - a.y) + rng.random_range(-20.0..20.0),
            });
        }
        for _ in 0..5000 {
            points.push(Coord {
                x: rng.random_range(min.x - 600.0..max.x + 600.0),
                y: rng.random_range(min.y - 600.0..max.y + 600.0),
            });
        }
        let (mut found, mut none) = (0, 0);
        for router in [&open, &closed] {
            for mode in Mode::ALL {
                for p in &points {
                    // Twice: the second answer of a junction comes from what the first kept.
                    for _ in 0..2 {
                        let snap = router.snap(*mode, *p);
                        assert_eq!(snap, router.walk(*mode, *p), "{mode:?} at {p:?}");
                        if snap.is_some() {
                            found += 1
                        } else {
                            none += 1
                        }
                    }
                }
            }
        }
        // Both answers were exercised: points on the network and points off it.
        assert!(
            found > 10_000 && none > 1_000,
            "{found} snapped, {none} not"
        );
    }

    /// Kept paths come back hop for hop, a pair with no path comes back as none, a path
    /// whose hops were begun and then found incomplete leaves nothing behind, and when full
    /// everything is forgotten at once (and kept afresh).
    #[test]
    fn kept_paths_come_back_and_are_forgotten_together() {
        let mut memo = PathMemo::default();
        let keep = |memo: &mut PathMemo, pair: (u32, u32), hops: &[(u32, u32)], whole: bool| {
            memo.begin();
            let start = memo.hops.len();
            memo.hops.extend_from_slice(hops);
            memo.end(pair, start, whole).map(<[_]>::to_vec)
        };
        assert_eq!(
            keep(&mut memo, (1, 2), &[(5, 10), (2, 7)], true),
            Some(vec![(5, 10), (2, 7)])
        );
        assert_eq!(keep(&mut memo, (2, 1), &[(9, 1)], false), None);
        assert_eq!(keep(&mut memo, (3, 3), &[], true), Some(vec![]));
        assert_eq!(memo.get((1, 2)), Some(Some(&[(5, 10), (2, 7)][..])));
        assert_eq!(memo.get((2, 1)), Some(None));
        assert_eq!(memo.get((3, 3)), Some(Some(&[][..])));
        assert_eq!(memo.get((4, 4)), None);
        assert_eq!(memo.hops.len(), 2, "the incomplete path's hop was dropped");
        for k in 3..PATH_CACHE_ENTRIES as u32 {
            keep(&mut memo, (k, 0), &[(k, k)], true);
        }
        assert_eq!(memo.found.len(), PATH_CACHE_ENTRIES);
        assert_eq!(keep(&mut memo, (7, 7), &[(1, 1)], true), Some(vec![(1, 1)]));
        assert_eq!(memo.get((1, 2)), None, "forgotten when full");
        assert_eq!(memo.get((7, 7)), Some(Some(&[(1, 1)][..])));
        assert_eq!((memo.found.len(), memo.hops.len()), (1, 1));
    }

    /// The shore cells only spare the R-tree: on the Yangpu river, every walk (short and
    /// long, along and across the bank, far inland and beyond the water's box) crosses water
    /// exactly when the R-tree says so.
    #[test]
    fn the_shore_cells_never_change_whether_a_walk_crosses_water() {
        use rand::{Rng, SeedableRng};
        let scene = yangpu();
        let water: Vec<MultiPolygon> = scene.water.iter().map(|w| w.area.clone()).collect();
        let mask = WaterMask::new(&water);
        // The reference: every shore edge whose box meets the walk's, found by an R-tree.
        let tree = rstar::RTree::bulk_load(ring_edges(&mask.polygons));
        let crosses_by_tree = |a: Coord, b: Coord| {
            let walk = Line::new(a, b);
            let envelope = rstar::AABB::from_corners(Point::from(a), Point::from(b));
            let on_water = |p: Coord| mask.polygons.iter().any(|w| w.contains(&Point::from(p)));
            tree.locate_in_envelope_intersecting(&envelope)
                .any(|e| e.intersects(&walk))
                && !on_water(a)
                && !on_water(b)
        };
        let nodes = &scene.road_graph.nodes;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut crossing, mut dry) = (0, 0);
        for _ in 0..20_000 {
            let a = nodes[rng.random_range(0..nodes.len())];
            let a = Coord {
                x: a.x + rng.random_range(-1500.0..1500.0),
                y: a.y + rng.random_range(-1500.0..1500.0),
            };
            let reach = [5.0, 50.0, 400.0, 3000.0][rng.random_range(0..4)];
            let b = Coord {
                x: a.x + rng.random_range(-reach..reach),
                y: a.y + rng.random_range(-reach..reach),
            };
            let crosses = mask.crosses(a, b);
            assert_eq!(crosses, crosses_by_tree(a, b), "{a:?} -> {b:?}");
            if crosses {
                crossing += 1
            } else {
                dry += 1
            }
        }
        assert!(
            crossing > 500 && dry > 500,
            "{crossing} crossing, {dry} dry"
        );
    }
}
