//! How units come across incidents nobody has reported: any on-duty unit whose path — its
//! patrol loop, its way to a job or back, the spot it works at — passes within range of an
//! undiscovered incident finds it. Each undiscovered incident keeps one planned sighting (the
//! earliest pass known); whenever a unit's plan changes, the incidents it was to find are
//! planned again and those its new path passes sooner are given to it.

use super::{Action, Simulation};
use crate::scheduler::ms;

impl Simulation {
    /// Incident `i`, which only a passing unit can find, starts being watched for. If nobody
    /// finds it by the catalogue's deadline, a citizen phones it in.
    pub(super) fn watch_for(&mut self, i: u32) {
        let p = self.inc(i).position;
        let deadline = self.deadline_ms(i);
        self.scheduler
            .push(deadline.max(self.now_ms), Action::Report(i));
        self.undiscovered.insert([p.x, p.y], i);
        self.sightings.insert(i, None);
        self.plan_sighting(i);
    }

    /// When a citizen phones `i` in if nobody has found it.
    fn deadline_ms(&self, i: u32) -> u64 {
        let inc = self.inc(i);
        ms(inc.arose_at + self.catalogue.undiscovered_report_min * 60.0)
    }

    /// The earliest pass of any on-duty unit within range of `i`, before its deadline.
    fn plan_sighting(&mut self, i: u32) {
        let now = self.now();
        let (p, r) = (self.inc(i).position, self.catalogue.patrol_discovery_m);
        let deadline = self.deadline_ms(i);
        let mut best: Option<(u64, u32)> = None;
        debug_assert!(
            (0..self.units.len())
                .all(|u| super::reach::widened(self.extent_of(u as u32), r) == self.reach.get(u)),
            "a unit's plan changed without plan_changed"
        );
        let units = &self.units;
        self.reach.for_each_holding(p.x, p.y, |u| {
            if let Some(d) = units[u].seconds_until_within(now, p, r) {
                let at = ms(now + d);
                if at < deadline && best.is_none_or(|b| (at, u as u32) < b) {
                    best = Some((at, u as u32));
                }
            }
        });
        self.set_sighting(i, best);
    }

    fn set_sighting(&mut self, i: u32, plan: Option<(u64, u32)>) {
        if let Some(Some((_, old, _))) = self.sightings.get(&i) {
            if let Some(list) = self.sightings_by_unit.get_mut(old) {
                list.retain(|j| *j != i);
            }
        }
        let planned = plan.map(|(at, u)| {
            let version = self.units[u as usize].version;
            self.sightings_by_unit.entry(u).or_default().push(i);
            self.scheduler.push(
                at,
                Action::Discover {
                    incident: i,
                    unit: u,
                    version,
                },
            );
            (at, u, version)
        });
        self.sightings.insert(i, planned);
    }

    /// After unit `u`'s plan changed: the incidents it was to find are planned again, and
    /// those its new path passes sooner than planned are now its to find.
    pub(super) fn replan_sightings(&mut self, u: u32) {
        if self.sightings.is_empty() {
            return;
        }
        for i in self.sightings_by_unit.remove(&u).unwrap_or_default() {
            self.sightings.insert(i, None);
            self.plan_sighting(i);
        }
        let unit = &self.units[u as usize];
        if !unit.on_duty {
            return;
        }
        let (now, r) = (self.now(), self.catalogue.patrol_discovery_m);
        let (min, max) = unit.plan_bounds(now);
        // In the list the last replan used (plans change a thousand times a day).
        let mut near = std::mem::take(&mut self.near_undiscovered);
        near.clear();
        near.extend(
            self.undiscovered
                .inside_rect([min.x - r, min.y - r], [max.x + r, max.y + r])
                .map(|h| *h.data),
        );
        for &i in &near {
            let p = self.inc(i).position;
            let Some(d) = self.units[u as usize].seconds_until_within(now, p, r) else {
                continue;
            };
            let at = ms(now + d);
            let sooner = match self.sightings.get(&i) {
                Some(Some((planned, by, _))) => (at, u) < (*planned, *by),
                Some(None) => true,
                None => false,
            };
            if sooner && at < self.deadline_ms(i) {
                self.set_sighting(i, Some((at, u)));
            }
        }
        self.near_undiscovered = near;
    }

    /// Unit `u`'s plan extent while on duty, `[min x, min y, max x, max y]`; an empty box
    /// off duty.
    pub(super) fn extent_of(&self, u: u32) -> [f64; 4] {
        let unit = &self.units[u as usize];
        if !unit.on_duty {
            return [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
        }
        let (min, max) = unit.plan_bounds(self.now());
        [min.x, min.y, max.x, max.y]
    }

    /// Every unit's plan extent, afresh (at the start, and after a restore).
    pub(super) fn measure_extents(&mut self) {
        let r = self.catalogue.patrol_discovery_m;
        let mut reach = super::reach::ReachBoxes::with_units(self.units.len());
        for u in 0..self.units.len() {
            reach.set(u, self.extent_of(u as u32), r);
        }
        self.reach = reach;
    }

    /// A planned sighting comes due: unless a newer plan replaced it, the unit finds `i`.
    pub(super) fn discover(&mut self, i: u32, u: u32, version: u64) {
        let current = matches!(
            self.sightings.get(&i),
            Some(Some((at, by, v))) if *by == u && *v == version && *at == self.now_ms
        );
        if current {
            self.learn_of(i, Some(u));
        }
    }

    /// `i` was reported: nobody needs to find it any more.
    pub(super) fn stop_watching(&mut self, i: u32) {
        let Some(plan) = self.sightings.remove(&i) else {
            return;
        };
        if let Some((_, u, _)) = plan {
            if let Some(list) = self.sightings_by_unit.get_mut(&u) {
                list.retain(|j| *j != i);
            }
        }
        let p = self.inc(i).position;
        self.undiscovered.remove_at([p.x, p.y], |j| *j == i);
    }
}
