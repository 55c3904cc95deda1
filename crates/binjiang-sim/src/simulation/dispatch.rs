//! Dispatch: who goes. The best unit by the policy's rank of its road travel time, found
//! exactly: straight-line candidates from the R-tree are widened until the straight-line
//! lower bound (distance ÷ the mode's speed, less how far a unit may have moved since the
//! index was refreshed) cannot beat the best road time found. Parts nobody may take wait in
//! a queue, flagged with why, and are offered again whenever a unit becomes available and
//! every minute while anything waits; urgent work may take a unit off less urgent work.

use super::incident::IncidentStatus;
use super::unit::UnitStatus;
use super::{Action, Simulation, PRIORITIES, QUEUE_REVIEW_S};
use crate::catalogue::Source;
use crate::event::{QueueReason, What};
use crate::policy::Rank;
use crate::route::Route;
use crate::scheduler::ms;
use binjiang_scene::{Agency, Mode};

/// Candidates ranked by road in the first round of a search; each further round doubles.
const FIRST_ROUND: usize = 4;

/// A unit chosen for a part, with its route there.
pub(super) struct Choice {
    unit: u32,
    rank: Rank,
    route: Route,
}

impl Simulation {
    /// The control room learns of incident `i`; `finder` is the unit that came across it.
    pub(super) fn learn_of(&mut self, i: u32, finder: Option<u32>) {
        let now = self.now();
        // Reported already (perhaps closed and retired since): the deadline call is moot.
        if self
            .incident(i)
            .is_none_or(|inc| inc.status != IncidentStatus::Unreported)
        {
            return;
        }
        self.stop_watching(i);
        let inc = self.incident_mut(i);
        inc.status = IncidentStatus::Open;
        inc.reported_at = Some(now);
        if finder.is_none() && inc.source == Source::Patrol {
            inc.source = Source::Hotline12345; // nobody passed by in time: a citizen called
        }
        let (p, source) = (inc.position, inc.source);
        let finder_id = finder.map(|u| self.units[u as usize].id.clone());
        self.log(
            p,
            What::Reported {
                incident: i,
                source,
                finder: finder_id,
            },
        );
        for k in 0..self.inc(i).needs.len() {
            let taken = finder.is_some_and(|u| self.finder_takes(u, i, k));
            if !taken {
                self.dispatch_need(i, k);
            }
        }
    }

    /// A unit that found an incident handles its own agency's part on the spot, where the
    /// policy lets it serve there and it is free.
    fn finder_takes(&mut self, u: u32, i: u32, k: usize) -> bool {
        let unit = &self.units[u as usize];
        let inc = self.inc(i);
        let agency = inc.needs[k].agency;
        if unit.agency != agency
            || !unit.available()
            || !self.policy.eligible(agency, unit.area, inc.area)
        {
            return false;
        }
        let (mode, from, to, in_zone) = (
            unit.mode,
            unit.position(self.now()),
            inc.position,
            unit.area == inc.area,
        );
        let Some(route) = self.router.route(mode, from, to) else {
            return false;
        };
        if self
            .policy
            .rank(agency, in_zone, route.duration())
            .is_none()
        {
            return false;
        }
        self.explain(
            i,
            k,
            Some((u, route.duration())),
            Some(crate::explain::Rule::Discovered),
            None,
        );
        self.assign(u, i, k, route);
        true
    }

    pub(super) fn dispatch_need(&mut self, i: u32, k: usize) {
        match self.choose_unit(i, k) {
            Ok(c) => {
                self.explain(i, k, Some((c.unit, c.route.duration())), None, None);
                self.assign(c.unit, i, k, c.route)
            }
            Err(reason) => match self.preemptable(i, k) {
                Some(c) => {
                    self.explain(
                        i,
                        k,
                        Some((c.unit, c.route.duration())),
                        Some(crate::explain::Rule::Preempted),
                        None,
                    );
                    self.preempt(c.unit);
                    self.assign(c.unit, i, k, c.route);
                }
                None => self.enqueue(i, k, reason),
            },
        }
    }

    /// The best available unit for part `k` of incident `i`, exactly, or why there is none.
    fn choose_unit(&mut self, i: u32, k: usize) -> Result<Choice, QueueReason> {
        self.refresh_index_if_stale();
        self.searched.clear();
        self.searched_for = Some((i, self.now_ms));
        let now = self.now();
        let inc = self.inc(i);
        let (agency, p, area) = (inc.needs[k].agency, inc.position, inc.area);
        let moved_s = (self.now_ms - self.last_refresh_ms) as f64 / 1000.0;
        let mut best: Option<(Rank, u32)> = None;
        // The best unit's position and the incident's, attached to its mode's roads.
        let mut best_ends = None;
        // Whether any free unit was allowed at all, and whether any was (or, by its straight-
        // line bound, must be) merely too far rather than cut off.
        let (mut any_free, mut any_in_reach_of_roads) = (false, false);
        let mut batch = std::mem::take(&mut self.candidate_batch);
        for mode in Mode::ALL {
            let speed = mode.speed_mps();
            // Where the incident meets this mode's roads: found once, if any unit is weighed.
            let mut arrival = None;
            let units = &self.units;
            let policy = &self.policy;
            let mut candidates =
                self.index
                    .nearest_iter_in((agency, *mode), [p.x, p.y], move |u| {
                        policy.eligible(agency, units[*u as usize].area, area)
                    });
            let mut round = FIRST_ROUND;
            loop {
                batch.clear();
                batch.extend(
                    candidates
                        .by_ref()
                        .take(round)
                        .map(|h| (*h.data, h.distance_m)),
                );
                let Some(&(_, farthest)) = batch.last() else {
                    break;
                };
                any_free = true;
                for &(u, d) in &batch {
                    let in_zone = units[u as usize].area == area;
                    // Its straight-line bound: if even that cannot beat the best, skip it.
                    let could =
                        policy.rank(agency, in_zone, (d - speed * moved_s).max(0.0) / speed);
                    let Some(could) = could else {
                        any_in_reach_of_roads = true; // beyond the travel limit however it goes
                        continue;
                    };
                    // Ties go to the lower id, whatever order the index walks equals in.
                    if best.is_some_and(|b| b < (could, u)) {
                        continue;
                    }
                    let router = &mut self.router;
                    let to = *arrival.get_or_insert_with(|| router.attached(*mode, p, false));
                    let from = router.attached(*mode, units[u as usize].position(now), true);
                    let t = router.travel_time_between(&from, &to);
                    if self.explaining {
                        // The explanation lists these road times without searching again.
                        self.searched.push((u, t));
                    }
                    let Some(t) = t else {
                        continue;
                    };
                    any_in_reach_of_roads = true;
                    if let Some(rank) = policy.rank(agency, in_zone, t) {
                        if best.is_none_or(|b| (rank, u) < b) {
                            best = Some((rank, u));
                            best_ends = Some((from, to));
                        }
                    }
                }
                // Every unit not yet ranked is at least this far now, as the crow flies. One
                // that could only tie the best might still have the lower id: go on then.
                let bound_s = (farthest - speed * moved_s).max(0.0) / speed;
                match policy.best_possible(agency, bound_s) {
                    None => break,
                    Some(b) if best.is_some_and(|(r, _)| r < b) => break,
                    _ => round *= 2,
                }
            }
        }
        self.candidate_batch = batch;
        let (Some((rank, u)), Some((from, to))) = (best, best_ends) else {
            return Err(match (any_free, any_in_reach_of_roads) {
                (false, _) => QueueReason::NoUnitFree,
                (true, false) => QueueReason::Unreachable,
                (true, true) => QueueReason::BeyondMaxTravel,
            });
        };
        let route = self
            .router
            .route_between(&from, &to)
            .ok_or(QueueReason::Unreachable)?;
        Ok(Choice {
            unit: u,
            rank,
            route,
        })
    }

    /// Moving units' index positions drift; refresh them at most every `index_refresh_s`
    /// (the exact search allows for the drift since).
    fn refresh_index_if_stale(&mut self) {
        if self.now_ms >= self.last_refresh_ms + ms(self.options.index_refresh_s) {
            self.refresh_index();
        }
    }

    /// Rebuilds the dispatch index from every available unit's position now (in bulk:
    /// cheaper than moving every unit one by one).
    pub(super) fn refresh_index(&mut self) {
        let now = self.now();
        // In the buffer the last refresh used (it runs every few simulated minutes).
        let mut items = std::mem::take(&mut self.refresh_items);
        items.clear();
        // Where each unit was found on its way or loop last time: a few vertices on now.
        let hints = &mut self.refresh_hints;
        hints.resize(self.units.len(), 0);
        items.extend(
            self.units
                .iter()
                .zip(hints.iter_mut())
                .enumerate()
                .filter(|(_, (u, _))| u.available())
                .map(|(i, (u, hint))| {
                    let p = u.position_from(now, hint);
                    (i as u32, (u.agency, u.mode), [p.x, p.y])
                }),
        );
        self.index.reload(&items);
        self.refresh_items = items;
        self.last_refresh_ms = self.now_ms;
    }

    /// Unit `u`'s plan changed (dispatched, on scene, returning, back on its loop, on or
    /// off duty): the dispatch index and the planned sightings follow it. The one place a
    /// change of plan is registered.
    pub(super) fn plan_changed(&mut self, u: u32) {
        let unit = &self.units[u as usize];
        if unit.available() {
            let p = unit.position(self.now());
            self.index.set(u, (unit.agency, unit.mode), [p.x, p.y]);
        } else {
            self.index.remove(u);
        }
        let extent = self.extent_of(u);
        self.reach
            .set(u as usize, extent, self.catalogue.patrol_discovery_m);
        self.replan_sightings(u);
    }

    /// Sends unit `u` along `route` to part `k` of incident `i`.
    pub(super) fn assign(&mut self, u: u32, i: u32, k: usize, route: Route) {
        // A unit covering another's patrol is its own again once sent.
        self.end_cover(u, crate::event::MoveUpEnd::Dispatched);
        let now = self.now();
        let eta_s = route.duration();
        let from = route.start();
        let unit = &mut self.units[u as usize];
        unit.status = UnitStatus::EnRoute;
        unit.job = Some((i, k));
        unit.leg = Some((route, now));
        unit.version += 1;
        let (agency, version, id) = (unit.agency, unit.version, unit.id.clone());
        let need = &mut self.incident_mut(i).needs[k];
        need.unit = Some(u);
        need.dispatched_at = Some(now);
        self.log(
            from,
            What::Dispatched {
                incident: i,
                agency,
                unit: id,
                eta_s: (eta_s * 10.0).round() / 10.0,
            },
        );
        self.scheduler
            .push(ms(now + eta_s), Action::Arrive { unit: u, version });
        self.plan_changed(u);
        self.coverage_changed();
    }

    pub(super) fn enqueue(&mut self, i: u32, k: usize, reason: QueueReason) {
        self.explain(i, k, None, None, Some(reason));
        let inc = self.inc(i);
        let (agency, p, priority, area) = (
            inc.needs[k].agency,
            inc.position,
            inc.priority.clamp(1, PRIORITIES),
            inc.area,
        );
        self.queued.insert(i, agency, area, priority, [p.x, p.y]);
        self.log(
            p,
            What::Queued {
                incident: i,
                agency,
                reason,
            },
        );
        if reason == QueueReason::BeyondMaxTravel {
            self.out_of_reach.insert((priority, i, agency));
            if !self.review_pending {
                self.review_pending = true;
                self.scheduler
                    .push(self.now_ms + ms(QUEUE_REVIEW_S), Action::ReviewQueue);
            }
        }
    }

    /// Takes `agency`'s part of `i` out of the queue, logging `why` (what it became) if it
    /// was there.
    pub(super) fn leave_queue(&mut self, i: u32, agency: Agency, why: impl FnOnce() -> What) {
        if !self.queued.remove(i, agency) {
            return;
        }
        let inc = self.inc(i);
        let (priority, p) = (inc.priority.clamp(1, PRIORITIES), inc.position);
        self.out_of_reach.remove(&(priority, i, agency));
        self.log(p, why());
    }

    /// Takes `agency`'s part of `i` out of the queue because a unit is being sent.
    fn dequeue(&mut self, i: u32, agency: Agency) {
        self.leave_queue(i, agency, || What::Dequeued {
            incident: i,
            agency,
        });
    }

    /// Queued work for unit `u`, just available: the most urgent first, then the best rank
    /// by road among the parts it may serve (a dispatcher does not send a cleaner across the
    /// city for old litter while fresh litter waits next to them). Exact, like dispatch: parts
    /// are ranked nearest first until the straight-line bound cannot beat the best found.
    /// The unit's own subdistrict's parts and the others' come from separate trees, merged
    /// nearest first, each stream stopping at its own bound (see `QueuePick::consider`).
    pub(super) fn take_queued(&mut self, u: u32) -> bool {
        let unit = &self.units[u as usize];
        let (agency, mode, area) = (unit.agency, unit.mode, unit.area);
        let from = unit.position(self.now());
        for priority in 1..=PRIORITIES {
            if self.queued.len_of(agency, priority) == 0 {
                continue;
            }
            let departure = self.router.attached(mode, from, true);
            let mut pick = QueuePick {
                router: &mut self.router,
                policy: &*self.policy,
                agency,
                mode,
                departure,
                best: None,
            };
            let at = [from.x, from.y];
            // The streams are R-tree walks with inline heaps (a kilobyte and more): they stay
            // where they are made and are walked through references, not moved about.
            let mut here = pick
                .policy
                .eligible(agency, area, area)
                .then(|| self.queued.nearest_in_area(agency, priority, area, at));
            let policy = pick.policy;
            let mut elsewhere = policy.serves_beyond_home(agency).then(|| {
                self.queued
                    .nearest_elsewhere(agency, priority, area, at, move |a| {
                        policy.eligible(agency, area, a)
                    })
            });
            pick.consider(here.iter_mut().flatten(), elsewhere.iter_mut().flatten());
            let best = pick.best;
            drop((here, elsewhere));
            let Some((own, i, arrival)) = best else {
                continue;
            };
            let Some(route) = self.router.route_between(&departure, &arrival) else {
                continue;
            };
            let k = self.inc(i).part_of(agency).unwrap_or(0);
            // A unit already free may have come nearer the part than this one since it
            // began to wait (it was out of reach then). The part goes to whichever is best,
            // as a dispatch would send it, and this unit looks again.
            let others_free = Mode::ALL
                .iter()
                .any(|m| self.index.len_of((agency, *m)) > 0);
            if others_free {
                if let Ok(c) = self.choose_unit(i, k) {
                    if (c.rank, c.unit) < (own, u) {
                        self.explain(i, k, Some((c.unit, c.route.duration())), None, None);
                        self.dequeue(i, agency);
                        self.assign(c.unit, i, k, c.route);
                        return self.take_queued(u);
                    }
                }
            }
            self.explain(i, k, Some((u, route.duration())), None, None);
            self.dequeue(i, agency);
            self.assign(u, i, k, route);
            return true;
        }
        false
    }

    /// Every minute while parts wait beyond reach: offer each (most urgent first, then
    /// oldest) to the units available now, wherever they have moved to.
    pub(super) fn review_queue(&mut self) {
        self.review_pending = false;
        let waiting: Vec<(u8, u32, Agency)> = self.out_of_reach.iter().copied().collect();
        for (_, i, agency) in waiting {
            let idle = Mode::ALL
                .iter()
                .any(|m| self.index.len_of((agency, *m)) > 0);
            let Some(k) = self.incident(i).and_then(|inc| inc.part_of(agency)) else {
                continue;
            };
            if !idle {
                continue;
            }
            if let Ok(c) = self.choose_unit(i, k) {
                self.explain(i, k, Some((c.unit, c.route.duration())), None, None);
                self.dequeue(i, agency);
                self.assign(c.unit, i, k, c.route);
            }
        }
        if !self.out_of_reach.is_empty() && !self.review_pending {
            self.review_pending = true;
            self.scheduler
                .push(self.now_ms + ms(QUEUE_REVIEW_S), Action::ReviewQueue);
        }
    }

    /// For an urgent incident with nobody free: the best-ranked unit of the agency that is
    /// still on its way to strictly less urgent work.
    fn preemptable(&mut self, i: u32, k: usize) -> Option<Choice> {
        let inc = self.inc(i);
        if !self.options.preemption || inc.priority != 1 {
            return None;
        }
        let (agency, p, area, priority) =
            (inc.needs[k].agency, inc.position, inc.area, inc.priority);
        let now = self.now();
        let mut best: Option<Choice> = None;
        for u in 0..self.units.len() as u32 {
            let unit = &self.units[u as usize];
            let Some((j, _)) = unit.job else { continue };
            if unit.agency != agency
                || unit.status != UnitStatus::EnRoute
                || self.inc(j).priority <= priority
                || !self.policy.eligible(agency, unit.area, area)
            {
                continue;
            }
            let (mode, from, in_zone) = (unit.mode, unit.position(now), unit.area == area);
            let Some(route) = self.router.route(mode, from, p) else {
                continue;
            };
            let Some(rank) = self.policy.rank(agency, in_zone, route.duration()) else {
                continue;
            };
            if best.as_ref().is_none_or(|b| (rank, u) < (b.rank, b.unit)) {
                best = Some(Choice {
                    unit: u,
                    rank,
                    route,
                });
            }
        }
        best
    }

    /// Takes unit `u` off its job; the job's part goes back to the queue.
    fn preempt(&mut self, u: u32) {
        let Some((j, k)) = self.release(u, Release::Preempted) else {
            return;
        };
        let need = &mut self.incident_mut(j).needs[k];
        need.unit = None;
        need.dispatched_at = None;
        self.enqueue(j, k, QueueReason::Preempted);
    }

    /// Takes unit `u` off its job, saying why; its pending arrival or finish becomes void.
    /// Returns the (incident, part) it was serving. The caller says what the unit does next.
    pub(super) fn release(&mut self, u: u32, why: Release) -> Option<(u32, usize)> {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        let (j, k) = unit.job.take()?;
        unit.version += 1;
        let (agency, from, id) = (unit.agency, unit.position(now), unit.id.clone());
        let incident = j;
        let what = match why {
            Release::Preempted => What::Preempted {
                incident,
                agency,
                unit: id,
            },
            Release::Reassigned(operator) => What::Reassigned {
                incident,
                agency,
                unit: id,
                operator,
            },
            Release::Closed => What::Finished {
                incident,
                agency,
                unit: id,
            },
        };
        self.log(from, what);
        Some((j, k))
    }
}

/// A freed unit's choice among waiting parts, as it is searched.
struct QueuePick<'a> {
    router: &'a mut crate::routing::Router,
    policy: &'a dyn crate::policy::DispatchPolicy,
    agency: Agency,
    mode: Mode,
    /// Where the freed unit meets its mode's roads.
    departure: crate::routing::Attached,
    /// The best rank found so far, its incident and where that meets the unit's roads.
    best: Option<(Rank, u32, crate::routing::Attached)>,
}

impl QueuePick<'_> {
    /// Weighs the parts in the unit's subdistrict and those elsewhere (each nearest first)
    /// in one order, nearest first, as a single search would; each stream stops where the
    /// straight-line bound for its parts cannot beat the best found. Parts elsewhere can
    /// never rank in zone-first's first tier, so their stream ends early; the parts of the
    /// unit's own subdistrict are not walked past on the way.
    fn consider(
        &mut self,
        here: impl Iterator<Item = super::queue::Found>,
        elsewhere: impl Iterator<Item = super::queue::Found>,
    ) {
        let speed = self.mode.speed_mps();
        let (mut here, mut elsewhere) = (here.peekable(), elsewhere.peekable());
        let (mut here_open, mut elsewhere_open) = (true, true);
        loop {
            let near = |open: bool, p: Option<&super::queue::Found>| {
                p.filter(|_| open).map(|f| f.distance_m)
            };
            let in_zone = match (
                near(here_open, here.peek()),
                near(elsewhere_open, elsewhere.peek()),
            ) {
                (None, None) => break,
                (Some(a), Some(b)) => a <= b,
                (a, _) => a.is_some(),
            };
            let next = if in_zone {
                here.next()
            } else {
                elsewhere.next()
            };
            let Some(part) = next else { break };
            let (i, d) = (part.incident, part.distance_m);
            // No part of this stream this far or farther can rank better, nor this one.
            let could = self.policy.rank(self.agency, in_zone, d / speed);
            let best = self.best.as_ref().map(|b| (b.0, b.1));
            if could.is_none_or(|c| best.is_some_and(|(r, _)| r < c)) {
                if in_zone {
                    here_open = false;
                } else {
                    elsewhere_open = false;
                }
                continue;
            }
            // A part that could only tie the best wins on a lower id alone, whatever order
            // the index walks equal distances in; those after it in the stream may still.
            if could.is_some_and(|c| best.is_some_and(|b| b < (c, i))) {
                continue;
            }
            let [x, y] = part.position;
            let to = self.router.attached(self.mode, geo::Coord { x, y }, false);
            let Some(t) = self.router.travel_time_between(&self.departure, &to) else {
                continue;
            };
            if let Some(rank) = self.policy.rank(self.agency, in_zone, t) {
                if best.is_none_or(|b| (rank, i) < b) {
                    self.best = Some((rank, i, to));
                }
            }
        }
    }
}

/// Why a unit is taken off its job.
pub(super) enum Release {
    /// For an urgent incident.
    Preempted,
    /// An operator sent another unit.
    Reassigned(crate::event::Name),
    /// An operator closed the incident: the unit's part is done.
    Closed,
}
