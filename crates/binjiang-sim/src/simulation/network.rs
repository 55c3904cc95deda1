//! A scenario's changes to the road network — roads closed, modes slowed — in force during a
//! daily window (a typhoon closes the promenade 14:00–22:00) or all day. Each change has its
//! own prepared network; at the window's start it is swapped in for dispatch and routing,
//! at its end swapped back. Units already on their way keep the route they set out on.

use super::{Action, Simulation};
use crate::patrol::PatrolLoop;
use crate::routing::Router;
use crate::scheduler::ms;
use binjiang_scene::Mode;
use foldhash::HashMap;
use std::sync::{Arc, Mutex};

/// One change of the network, as a scenario states it.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkChange {
    /// Seconds since midnight, [from, to) every day (may run past midnight); `None`: all day.
    pub window: Option<(f64, f64)>,
    /// Roads closed to every mode, by index in the scene's road list.
    pub closed_roads: Vec<u32>,
    /// Speed per mode relative to normal, in `Mode::ALL` order (foot, bike, car).
    pub speed: [f64; 3],
}

impl NetworkChange {
    /// The factor for `mode`.
    pub fn speed_of(&self, mode: Mode) -> f64 {
        Mode::ALL
            .iter()
            .position(|m| *m == mode)
            .map_or(1.0, |k| self.speed[k])
    }
}

/// A change ready to swap in.
#[derive(Debug, Clone)]
pub(super) struct NetworkPhase {
    pub(super) window: Option<(f64, f64)>,
    router: Router,
}

impl NetworkPhase {
    /// `change` made to `base` (the scene's own network, never another change's).
    fn prepare(base: &Router, change: &NetworkChange) -> Self {
        NetworkPhase {
            window: change.window,
            router: base.changed(&change.closed_roads, change.speed),
        }
    }
}

/// A scene's road networks prepared once for many runs: its own, and one per change of a
/// scenario. `whatif` runs one scene 80 times and more, and preparing the same hierarchies
/// for every run was a quarter of its work. Each run takes clones (the hierarchies shared,
/// caches its own), which answer exactly as freshly prepared networks would.
#[derive(Debug, Clone)]
pub struct PreparedRoads {
    pub(super) base: Router,
    pub(super) changes: Vec<NetworkPhase>,
    /// Patrol loops routed on `base`, shared by the runs.
    pub(super) loops: PatrolLoops,
}

/// Patrol loops already routed on a network, by mode and waypoints: a loop depends on
/// nothing else, and routing every unit's loop was most of setting up a run.
#[derive(Debug, Clone, Default)]
pub(super) struct PatrolLoops(Arc<Mutex<HashMap<LoopKey, PatrolLoop>>>);

/// A loop's mode and waypoints (coordinates by their bits).
type LoopKey = (Mode, Vec<(u64, u64)>);

impl PatrolLoops {
    /// Unit `u`'s loop, routed by `route` the first time its mode and waypoints are seen.
    pub(super) fn of<E>(
        &self,
        u: &binjiang_scene::Unit,
        route: impl FnOnce() -> Result<PatrolLoop, E>,
    ) -> Result<PatrolLoop, E> {
        let key = (
            u.mode,
            u.patrol
                .iter()
                .map(|p| (p.x.to_bits(), p.y.to_bits()))
                .collect(),
        );
        let known = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let Some(l) = known {
            return Ok(l);
        }
        let l = route()?;
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, l.clone());
        Ok(l)
    }
}

impl PreparedRoads {
    /// Prepares `scene`'s network and each of `changes` (every change is made to the scene's
    /// own network, not to another change's).
    pub fn new(scene: &binjiang_scene::Scene, changes: &[NetworkChange]) -> Self {
        let base = Router::of_scene(scene);
        let changes = changes
            .iter()
            .map(|c| NetworkPhase::prepare(&base, c))
            .collect();
        PreparedRoads {
            base,
            changes,
            loops: PatrolLoops::default(),
        }
    }
}

pub(super) const DAY_S: f64 = 86_400.0;

impl Simulation {
    /// Puts a scenario's network changes in force from now on (windows must not overlap;
    /// the scenario loader checks). Prepares one network per change, each from the scene's
    /// own network.
    pub fn with_network_changes(self, changes: &[NetworkChange]) -> Self {
        let base = match self.active_network {
            Some(k) => &self.networks[k].router,
            None => &self.router,
        };
        let prepared: Vec<NetworkPhase> = changes
            .iter()
            .map(|c| NetworkPhase::prepare(base, c))
            .collect();
        self.with_prepared_changes(&prepared)
    }

    /// As [`Simulation::with_network_changes`], with the changes' networks prepared.
    pub(super) fn with_prepared_changes(mut self, changes: &[NetworkPhase]) -> Self {
        let now = self.now();
        for phase in changes {
            let k = self.networks.len();
            let window = phase.window;
            self.networks.push(phase.clone());
            match window {
                None => self.network_on(k),
                Some((from, _)) => {
                    if crate::in_daily_window(window, now) {
                        self.network_on(k);
                    } else {
                        let start = crate::catalogue::next_window_start(from, now);
                        self.scheduler.push(ms(start), Action::NetworkOn(k));
                    }
                }
            }
        }
        self
    }

    /// Change `k` comes into force (and is scheduled to end, and to come again tomorrow).
    pub(super) fn network_on(&mut self, k: usize) {
        if self.active_network.is_none() {
            std::mem::swap(&mut self.router, &mut self.networks[k].router);
            self.active_network = Some(k);
        }
        if let Some((from, to)) = self.networks[k].window {
            let now = self.now();
            let tod = now.rem_euclid(DAY_S);
            let length = (to - from).rem_euclid(DAY_S);
            let into = (tod - from).rem_euclid(DAY_S);
            let end = now + (length - into).max(0.0);
            self.scheduler.push(ms(end), Action::NetworkOff(k));
            self.scheduler
                .push(ms(end - length + DAY_S), Action::NetworkOn(k));
        }
    }

    /// Puts network phase `target` (or the normal network) in force, as restoring a
    /// snapshot taken while it was.
    pub(super) fn swap_network(&mut self, target: Option<usize>) {
        if let Some(k) = self.active_network.take() {
            std::mem::swap(&mut self.router, &mut self.networks[k].router);
        }
        if let Some(k) = target.filter(|k| *k < self.networks.len()) {
            std::mem::swap(&mut self.router, &mut self.networks[k].router);
            self.active_network = Some(k);
        }
    }

    /// Change `k` ends: the normal network again.
    pub(super) fn network_off(&mut self, k: usize) {
        if self.active_network == Some(k) {
            std::mem::swap(&mut self.router, &mut self.networks[k].router);
            self.active_network = None;
        }
    }

    /// Seconds from `from` to `to` in `mode` on the network in force now; `None` if there
    /// is no way.
    pub fn travel_time(&mut self, mode: Mode, from: geo::Coord, to: geo::Coord) -> Option<f64> {
        self.router.travel_time(mode, from, to)
    }
}
