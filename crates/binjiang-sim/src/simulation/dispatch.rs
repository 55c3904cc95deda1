//! Dispatch: who goes. R-tree candidates by straight line, ranked by road travel time;
//! queues when nobody may go; optional preemption of routine work for urgent incidents.

use super::incident::IncidentStatus;
use super::unit::UnitStatus;
use super::{Action, Simulation, PRIORITIES};
use crate::catalogue::Source;
use crate::event::{Event, EventKind};
use crate::scheduler::ms;

/// Queued parts considered per priority when a unit frees up (nearest first).
const QUEUE_CANDIDATES: usize = 4;

impl Simulation {
    /// The control room learns of incident `i`; `finder` is the patrol that found it.
    pub(super) fn report(&mut self, i: u32, finder: Option<u32>) {
        let now = self.now();
        let inc = &mut self.incidents[i as usize];
        if inc.status != IncidentStatus::Unreported {
            return;
        }
        inc.status = IncidentStatus::Open;
        inc.reported_at = Some(now);
        if finder.is_none() && inc.source == Source::Patrol {
            inc.source = Source::Hotline12345; // nobody passed by in time: a citizen called
        }
        let mut event = Event::at(now, EventKind::Reported, inc.position).incident(i);
        event.source = Some(inc.source);
        if let Some(u) = finder {
            event = event.unit(u, self.units[u as usize].agency);
        }
        self.log(event);
        for k in 0..self.incidents[i as usize].needs.len() {
            let agency = self.incidents[i as usize].needs[k].agency;
            match finder {
                Some(u)
                    if self.units[u as usize].agency == agency
                        && self.units[u as usize].available() =>
                {
                    self.assign(u, i, k);
                }
                _ => self.dispatch_need(i, k),
            }
        }
    }

    fn dispatch_need(&mut self, i: u32, k: usize) {
        if let Some(u) = self.choose_unit(i, k) {
            self.assign(u, i, k);
        } else if let Some(u) = self.preemptable(i, k) {
            self.preempt(u);
            self.assign(u, i, k);
        } else {
            self.enqueue(i, k);
        }
    }

    /// The available unit with the smallest road travel time among the nearest candidates.
    fn choose_unit(&mut self, i: u32, k: usize) -> Option<u32> {
        self.refresh_index_if_stale();
        let now = self.now();
        let inc = &self.incidents[i as usize];
        let (agency, p, area) = (inc.needs[k].agency, inc.position, inc.area);
        let units = &self.units;
        let policy = &self.policy;
        let candidates: Vec<u32> = self
            .index
            .nearest_in_matching((agency, true), [p.x, p.y], self.options.candidates, |u| {
                policy.may_serve(units[*u as usize].area, area)
            })
            .iter()
            .map(|h| *h.data)
            .collect();
        let mut best: Option<(f64, u32)> = None;
        for mode in binjiang_scene::Mode::ALL {
            let of_mode: Vec<u32> = candidates
                .iter()
                .copied()
                .filter(|u| self.units[*u as usize].mode == *mode)
                .collect();
            let starts: Vec<geo::Coord> = of_mode
                .iter()
                .map(|u| self.units[*u as usize].position(now))
                .collect();
            if let Some((i, t)) = self.router.fastest_of(*mode, &starts, p) {
                if best.is_none_or(|(bt, bu)| (t, of_mode[i]) < (bt, bu)) {
                    best = Some((t, of_mode[i]));
                }
            }
        }
        best.map(|(_, u)| u)
    }

    /// Patrolling units' index positions drift as they move; refresh them at most every
    /// `index_refresh_s` (candidates are then re-ranked with exact positions and road times).
    fn refresh_index_if_stale(&mut self) {
        let refresh_ms = ms(self.options.index_refresh_s);
        if self
            .last_refresh_ms
            .is_some_and(|t| self.now_ms < t + refresh_ms)
        {
            return;
        }
        // Rebuilding in bulk is cheaper than moving every unit one by one.
        let now = self.now();
        let on_duty = self
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.on_duty || u.job.is_some());
        let items = on_duty
            .map(|(i, u)| {
                let p = u.position(now);
                (i as u32, (u.agency, u.available()), [p.x, p.y])
            })
            .collect();
        self.index = binjiang_spatial::ClassedIndex::bulk_load(items);
        self.last_refresh_ms = Some(self.now_ms);
    }

    /// Sends unit `u` to part `k` of incident `i`.
    pub(super) fn assign(&mut self, u: u32, i: u32, k: usize) {
        let now = self.now();
        let p = self.incidents[i as usize].position;
        let unit = &self.units[u as usize];
        let from = unit.position(now);
        let route = self.router.route(unit.mode, from, p).unwrap_or_else(|| {
            let mut r = crate::route::Route::stay(from);
            r.push(
                p,
                ((p.x - from.x).hypot(p.y - from.y)) / unit.mode.speed_mps(),
            );
            r
        });
        let arrive = now + route.duration();
        let unit = &mut self.units[u as usize];
        unit.status = UnitStatus::EnRoute;
        unit.job = Some((i, k));
        unit.leg = Some((route, now));
        unit.version += 1;
        let (agency, version) = (unit.agency, unit.version);
        self.index.set(u, (agency, false), [from.x, from.y]);
        let need = &mut self.incidents[i as usize].needs[k];
        need.unit = Some(u);
        need.dispatched_at = Some(now);
        self.log(
            Event::at(now, EventKind::Dispatched, from)
                .incident(i)
                .unit(u, agency),
        );
        self.scheduler
            .push(ms(arrive), Action::Arrive { unit: u, version });
    }

    fn enqueue(&mut self, i: u32, k: usize) {
        let inc = &self.incidents[i as usize];
        let (agency, p) = (inc.needs[k].agency, inc.position);
        self.queued.set(
            (i, agency),
            (agency, inc.priority.clamp(1, PRIORITIES)),
            [p.x, p.y],
        );
        self.log(
            Event::at(self.now(), EventKind::Queued, p)
                .incident(i)
                .agency(agency),
        );
    }

    /// Queued work for a freed unit: the most urgent first, then the nearest it may serve
    /// and can reach (a dispatcher does not send a cleaner across the city for old litter
    /// while fresh litter waits next to them).
    pub(super) fn take_queued(&mut self, u: u32) -> Option<(u32, usize)> {
        let unit = &self.units[u as usize];
        let (agency, mode, from, area) =
            (unit.agency, unit.mode, unit.position(self.now()), unit.area);
        for priority in 1..=PRIORITIES {
            let incidents = &self.incidents;
            let policy = &self.policy;
            let nearest: Vec<u32> = self
                .queued
                .nearest_in_matching(
                    (agency, priority),
                    [from.x, from.y],
                    QUEUE_CANDIDATES,
                    |(i, _)| policy.may_serve(area, incidents[*i as usize].area),
                )
                .iter()
                .map(|h| h.data.0)
                .collect();
            for i in nearest {
                if self
                    .router
                    .connected(mode, from, self.incidents[i as usize].position)
                {
                    self.queued.remove((i, agency));
                    let k = self.incidents[i as usize]
                        .needs
                        .iter()
                        .position(|n| n.agency == agency)?;
                    return Some((i, k));
                }
            }
        }
        None
    }

    /// For an urgent incident with nobody free: the nearest unit of the agency that is still
    /// on its way to strictly less urgent work.
    fn preemptable(&mut self, i: u32, k: usize) -> Option<u32> {
        let inc = &self.incidents[i as usize];
        if !self.options.preemption || inc.priority != 1 {
            return None;
        }
        let (agency, p, area, priority) =
            (inc.needs[k].agency, inc.position, inc.area, inc.priority);
        let now = self.now();
        let mut best: Option<(f64, u32)> = None;
        for u in 0..self.units.len() as u32 {
            let unit = &self.units[u as usize];
            let Some((j, _)) = unit.job else { continue };
            let busy_with = self.incidents[j as usize].priority;
            if unit.agency != agency
                || unit.status != UnitStatus::EnRoute
                || busy_with <= priority
                || !self.policy.may_serve(unit.area, area)
            {
                continue;
            }
            let (mode, from) = (unit.mode, unit.position(now));
            if let Some(t) = self.router.travel_time(mode, from, p) {
                if best.is_none_or(|(bt, bu)| (t, u) < (bt, bu)) {
                    best = Some((t, u));
                }
            }
        }
        best.map(|(_, u)| u)
    }

    /// Takes unit `u` off its job; the job's part goes back to the queue.
    fn preempt(&mut self, u: u32) {
        let Some((j, k)) = self.release(u, EventKind::Preempted) else {
            return;
        };
        let need = &mut self.incidents[j as usize].needs[k];
        need.unit = None;
        need.dispatched_at = None;
        self.enqueue(j, k);
    }

    /// Takes unit `u` off its job, logging `why`; its pending arrival or finish becomes void.
    /// Returns the (incident, part) it was serving. The caller says what the unit does next.
    pub(super) fn release(&mut self, u: u32, why: EventKind) -> Option<(u32, usize)> {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        let (j, k) = unit.job.take()?;
        unit.version += 1;
        let (agency, from) = (unit.agency, unit.position(now));
        self.log(Event::at(now, why, from).incident(j).unit(u, agency));
        Some((j, k))
    }
}
