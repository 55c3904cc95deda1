//! Units through the day: shifts, arriving, finishing, returning to patrol or going home.

use super::incident::IncidentStatus;
use super::unit::{Destination, UnitStatus};
use super::{Action, Simulation};
use crate::event::{MoveUpEnd, What};
use crate::route::Route;
use crate::scheduler::ms;
use binjiang_scene::DAY_S;

/// Spreads the patrol phases of units on duty at the start (the fractional parts of
/// multiples of the golden ratio fill the unit interval evenly).
const GOLDEN_FRACTION: f64 = 0.618_033_988_749_895;

/// The first time after `now` (seconds) that the clock shows `time_of_day` seconds.
fn next_time_of_day(now: f64, time_of_day: u32) -> f64 {
    let day = (now / DAY_S as f64).floor();
    let t = day * DAY_S as f64 + time_of_day as f64;
    if t <= now {
        t + DAY_S as f64
    } else {
        t
    }
}

impl Simulation {
    /// Puts a unit in its shift state at the run's start (on its loop, phase as if it had
    /// patrolled since its shift began) and schedules its shift changes.
    pub(super) fn start_unit(&mut self, u: u32) {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        let time_of_day = (now as u64 % u64::from(DAY_S)) as u32;
        if unit.shift.on_duty(time_of_day) {
            unit.status = UnitStatus::Patrolling;
            // Units sharing a loop do not walk it in lockstep: each starts its own way round.
            let stagger = (f64::from(u) * GOLDEN_FRACTION).fract() * unit.patrol.duration();
            unit.patrol_epoch = now - stagger;
            self.set_duty(u, true);
            self.schedule_shift_end(u);
        } else {
            self.schedule_shift_start(u);
        }
    }

    fn schedule_shift_start(&mut self, u: u32) {
        let t = next_time_of_day(self.now(), self.units[u as usize].shift.start_s);
        self.scheduler.push(ms(t), Action::ShiftStart(u));
    }

    fn schedule_shift_end(&mut self, u: u32) {
        let shift = self.units[u as usize].shift;
        if shift.end_s.abs_diff(shift.start_s) == DAY_S {
            return; // round-the-clock post
        }
        let t = next_time_of_day(self.now(), shift.end_s % DAY_S);
        self.scheduler.push(ms(t), Action::ShiftEnd(u));
    }

    pub(super) fn shift_start(&mut self, u: u32) {
        let idle = self.set_duty(u, true);
        self.schedule_shift_end(u);
        if idle {
            self.free_unit(u);
        }
    }

    pub(super) fn shift_end(&mut self, u: u32) {
        self.end_cover(u, MoveUpEnd::ShiftEnded);
        self.end_covers_of(u, MoveUpEnd::OwnerOffDuty);
        let idle = self.set_duty(u, false);
        self.schedule_shift_start(u);
        if idle {
            self.go_home(u);
        }
    }

    /// Puts a unit on or off duty and logs it; returns whether it has no job.
    fn set_duty(&mut self, u: u32, on_duty: bool) -> bool {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        unit.on_duty = on_duty;
        let (agency, p, idle, id) = (
            unit.agency,
            unit.position(now),
            unit.job.is_none(),
            unit.id.clone(),
        );
        let what = if on_duty {
            What::ShiftStarted { unit: id, agency }
        } else {
            What::ShiftEnded { unit: id, agency }
        };
        self.log(p, what);
        self.plan_changed(u);
        idle
    }

    /// A unit with no job: takes queued work, else returns to patrol (or home, off duty).
    pub(super) fn free_unit(&mut self, u: u32) {
        if !self.units[u as usize].on_duty {
            self.go_home(u);
        } else if !self.take_queued(u) {
            self.go_to_patrol(u);
            self.end_covers_of(u, MoveUpEnd::OwnerFree);
        }
    }

    pub(super) fn go_to_patrol(&mut self, u: u32) {
        let now = self.now();
        let unit = &self.units[u as usize];
        let p = unit.position(now);
        // The nearest point of the loop it can ride to (one-way streets may rule some out).
        let (phase, join) = unit.patrol.nearest_phase(p);
        let (mode, start) = (unit.mode, unit.patrol.position(0.0));
        let (route, phase) = match self.router.route(mode, p, join) {
            Some(r) => (r, phase),
            None => (
                self.router
                    .route(mode, p, start)
                    .unwrap_or_else(|| Route::stay(p)),
                0.0,
            ),
        };
        self.set_leg(u, route, Destination::Patrol(phase));
    }

    fn go_home(&mut self, u: u32) {
        let now = self.now();
        let unit = &self.units[u as usize];
        let p = unit.position(now);
        let route = self
            .router
            .route(unit.mode, p, unit.home)
            .unwrap_or_else(|| Route::stay(p));
        self.set_leg(u, route, Destination::Home);
    }

    fn set_leg(&mut self, u: u32, route: Route, destination: Destination) {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        let arrive = now + route.duration();
        unit.status = UnitStatus::Returning;
        unit.destination = destination;
        unit.leg = Some((route, now));
        unit.version += 1;
        let version = unit.version;
        self.scheduler
            .push(ms(arrive), Action::Rejoin { unit: u, version });
        self.plan_changed(u);
    }

    pub(super) fn rejoin(&mut self, u: u32, version: u64) {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        if unit.version != version {
            return;
        }
        let p = unit.position(now);
        unit.leg = None;
        let (agency, id) = (unit.agency, unit.id.clone());
        match unit.destination {
            Destination::Patrol(phase) => {
                unit.status = UnitStatus::Patrolling;
                unit.patrol_epoch = now - phase;
                unit.version += 1;
                self.log(p, What::BackOnPatrol { unit: id, agency });
                self.plan_changed(u);
                // Available from a new place: waiting work it can now reach is its own.
                self.take_queued(u);
            }
            Destination::Home => {
                unit.status = UnitStatus::OffDuty;
                self.log(p, What::OffDuty { unit: id, agency });
            }
        }
    }

    pub(super) fn arrive(&mut self, u: u32, version: u64) {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        if unit.version != version {
            return;
        }
        unit.status = UnitStatus::OnScene;
        let Some((i, k)) = unit.job else { return };
        let (agency, id) = (unit.agency, unit.id.clone());
        let need = &mut self.incident_mut(i).needs[k];
        need.arrived_at = Some(now);
        let on_scene_s = need.on_scene_s;
        let p = self.inc(i).position;
        self.log(
            p,
            What::Arrived {
                incident: i,
                agency,
                unit: id,
            },
        );
        self.scheduler
            .push(ms(now + on_scene_s), Action::Finish { unit: u, version });
        self.plan_changed(u);
    }

    pub(super) fn finish(&mut self, u: u32, version: u64) {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        if unit.version != version {
            return;
        }
        let Some((i, k)) = unit.job.take() else {
            return;
        };
        let (agency, id) = (unit.agency, unit.id.clone());
        let inc = self.incident_mut(i);
        inc.needs[k].finished_at = Some(now);
        let (p, closed) = (inc.position, inc.all_finished());
        if closed {
            inc.status = IncidentStatus::Closed;
            inc.closed_at = Some(now);
        }
        self.log(
            p,
            What::Finished {
                incident: i,
                agency,
                unit: id,
            },
        );
        if closed {
            self.log(
                p,
                What::Closed {
                    incident: i,
                    operator: None,
                    disposition: None,
                    cancelled: None,
                },
            );
        }
        self.free_unit(u);
    }
}

#[cfg(test)]
mod tests {
    use super::next_time_of_day;

    #[test]
    fn next_time_of_day_rolls_over_midnight() {
        assert_eq!(next_time_of_day(0.0, 7 * 3600), 25_200.0);
        assert_eq!(next_time_of_day(25_200.0, 7 * 3600), 25_200.0 + 86_400.0);
        assert_eq!(
            next_time_of_day(90_000.0, 3600),
            86_400.0 + 86_400.0 + 3600.0
        );
    }
}
