//! Units through the day: shifts, arriving, finishing, returning to patrol or going home.

use super::unit::{Destination, UnitStatus};
use super::{Action, Simulation};
use crate::event::{Event, EventKind};
use crate::route::Route;
use crate::scheduler::ms;
use binjiang_scene::DAY_S;
use rand::Rng;
use rand_distr::{Distribution, Triangular};

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
    /// Puts a unit in its state at the start of the day and schedules its shift changes.
    pub(super) fn start_unit(&mut self, u: u32) {
        let unit = &mut self.units[u as usize];
        if unit.shift.on_duty(0) {
            unit.status = UnitStatus::Patrolling;
            unit.patrol_epoch = 0.0;
            let (agency, p) = (unit.agency, unit.position(0.0));
            self.index.set(u, (agency, true), [p.x, p.y]);
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
        let (agency, p, idle) = (unit.agency, unit.position(now), unit.job.is_none());
        let kind = if on_duty {
            EventKind::ShiftStarted
        } else {
            EventKind::ShiftEnded
        };
        self.log(Event::at(now, kind, p).unit(u, agency));
        idle
    }

    /// A unit with no job: takes queued work, else returns to patrol (or home, off duty).
    pub(super) fn free_unit(&mut self, u: u32) {
        if !self.units[u as usize].on_duty {
            self.go_home(u);
        } else if let Some((i, k)) = self.take_queued(u) {
            self.assign(u, i, k);
        } else {
            self.go_to_patrol(u);
        }
    }

    fn go_to_patrol(&mut self, u: u32) {
        let now = self.now();
        let unit = &self.units[u as usize];
        let p = unit.position(now);
        let (phase, join) = unit.patrol.nearest_phase(p);
        let route = self
            .router
            .route(unit.mode, p, join)
            .unwrap_or_else(|| Route::stay(p));
        self.set_leg(u, route, Destination::Patrol(phase));
        let agency = self.units[u as usize].agency;
        self.index.set(u, (agency, true), [p.x, p.y]);
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
        self.index.remove(u);
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
    }

    pub(super) fn rejoin(&mut self, u: u32, version: u64) {
        let now = self.now();
        let unit = &mut self.units[u as usize];
        if unit.version != version {
            return;
        }
        let p = unit.position(now);
        unit.leg = None;
        let agency = unit.agency;
        match unit.destination {
            Destination::Patrol(phase) => {
                unit.status = UnitStatus::Patrolling;
                unit.patrol_epoch = now - phase;
                self.log(Event::at(now, EventKind::BackOnPatrol, p).unit(u, agency));
            }
            Destination::Home => {
                unit.status = UnitStatus::OffDuty;
                self.log(Event::at(now, EventKind::OffDuty, p).unit(u, agency));
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
        let agency = unit.agency;
        let inc = &mut self.incidents[i as usize];
        inc.needs[k].arrived_at = Some(now);
        let (a, m, b) = self.catalogue.types[inc.incident_type as usize].on_scene_min;
        let p = inc.position;
        self.log(
            Event::at(now, EventKind::Arrived, p)
                .incident(i)
                .unit(u, agency),
        );
        let minutes = if b > a {
            Triangular::new(a, b, m)
                .map(|d| d.sample(&mut self.service_rng))
                .unwrap_or(m)
        } else {
            a
        };
        let jitter_ms: u64 = self.service_rng.random_range(0..1000);
        self.scheduler.push(
            ms(now + minutes * 60.0) + jitter_ms,
            Action::Finish { unit: u, version },
        );
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
        let agency = unit.agency;
        let inc = &mut self.incidents[i as usize];
        inc.needs[k].finished_at = Some(now);
        let (p, closed) = (inc.position, inc.all_finished());
        if closed {
            inc.status = super::incident::IncidentStatus::Closed;
            inc.closed_at = Some(now);
        }
        self.log(
            Event::at(now, EventKind::Finished, p)
                .incident(i)
                .unit(u, agency),
        );
        if closed {
            self.log(Event::at(now, EventKind::Closed, p).incident(i));
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
