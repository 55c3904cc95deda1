//! Paired what-if arms share their day until the alternative first differs.
//!
//! A typhoon scenario closes the promenade 14:00–22:00 and makes water alarms ten times as
//! common then; until 14:00 its day is the base arm's day, event for event (common random
//! numbers). Instead of simulating those hours twice, the base run is taken to just before
//! the first window and continued as the alternative from there. The copy must be exactly
//! the state the alternative would have reached alone, so this is done only where that can
//! be shown: the alternative differs by surges and network changes alone, none of them has
//! had any effect yet, and the few things they did touch from the start (the surge stream's
//! draws, the scheduler's order of the network windows) are remade as they would have been.

use super::network::{PreparedRoads, DAY_S};
use super::{Action, IncidentSource, Simulation};
use crate::catalogue::{in_daily_window, next_window_start, IncidentCatalogue};
use crate::scheduler::ms;
use crate::SimOptions;
use std::sync::Arc;

impl Simulation {
    /// This run, from now on under `catalogue` (this run's with surges set) and `roads`'
    /// network changes, exactly as a run set up with them
    /// ([`Simulation::with_prepared_roads`]) would be now; `None` where that cannot be shown
    /// (this run has surges or changes of its own, the options differ, incidents are not
    /// drawn, or a surge or change would already have acted by now).
    pub fn diverge(
        &self,
        catalogue: &IncidentCatalogue,
        options: &SimOptions,
        roads: &PreparedRoads,
    ) -> Option<Simulation> {
        let plain = self.networks.is_empty() && self.catalogue.surges.is_empty();
        let mut without_surges = catalogue.clone();
        without_surges.surges.clear();
        if !plain
            || without_surges != *self.catalogue
            || *options != self.options
            || !matches!(self.source, IncidentSource::Generated)
        {
            return None;
        }
        let start = self.options.start_s;
        // Each change would have been scheduled at set-up, at its first window's start.
        let mut firsts = Vec::with_capacity(roads.changes.len());
        for phase in &roads.changes {
            let (from, _) = phase.window?;
            if in_daily_window(phase.window, start) {
                return None;
            }
            let first = next_window_start(from, start);
            if ms(first) <= self.now_ms {
                return None;
            }
            firsts.push(ms(first));
        }
        // The hours drawn so far: a surge may not reach into any of them, or it would have
        // added or thinned incidents there.
        let drawn = self.scheduler.pending().find_map(|(_, a)| match a {
            Action::GenerateHour(h) => Some(*h),
            _ => None,
        })?;
        for s in &catalogue.surges {
            let window = s.window?;
            if (0..drawn).any(|h| window_meets(window, h as f64 * 3600.0, 3600.0)) {
                return None;
            }
        }
        let mut fork = self.clone();
        // Surges aside it is this run's catalogue (checked above): the same discovery
        // radius, so the units' reach boxes stand.
        fork.catalogue = Arc::new(catalogue.clone());
        // The surge stream as the alternative drew it, hour by hour, type by type, beside
        // the base stream (whose draws this run made already, the same).
        fork.surge_rng = super::rng_stream(fork.options.seed, 5);
        let incidents = fork.next_incident;
        if !fork.catalogue.surges.is_empty() {
            for h in 0..drawn {
                for ti in 0..fork.catalogue.types.len() {
                    let rate = fork.catalogue.hourly_rate(ti, fork.options.weekday, h);
                    fork.draw_surges(h, ti, rate);
                }
            }
        }
        if fork.next_incident != incidents {
            return None;
        }
        // The changes' windows, ordered among the other actions as the set-up's pushes.
        fork.scheduler
            .make_room_after(self.setup_seq, firsts.len() as u64);
        for (k, at) in firsts.into_iter().enumerate() {
            fork.scheduler
                .push_as(at, self.setup_seq + 1 + k as u64, Action::NetworkOn(k));
        }
        fork.networks = roads.changes.clone();
        Some(fork)
    }
}

/// Whether the daily `window` meets the interval of `length` seconds from `t` (shorter than
/// a day).
fn window_meets(window: (f64, f64), t: f64, length: f64) -> bool {
    in_daily_window(Some(window), t) || (window.0 - t).rem_euclid(DAY_S) < length
}

#[cfg(test)]
mod tests {
    use super::window_meets;

    #[test]
    fn a_window_meets_the_hours_it_overlaps_only() {
        let w = (14.0 * 3600.0, 22.0 * 3600.0);
        assert!(!window_meets(w, 13.0 * 3600.0, 3600.0));
        assert!(window_meets(w, 14.0 * 3600.0, 3600.0));
        assert!(window_meets(w, 21.0 * 3600.0, 3600.0));
        assert!(!window_meets(w, 22.0 * 3600.0, 3600.0));
        assert!(window_meets(w, 13.5 * 3600.0, 3600.0));
        // Past midnight, on the next day.
        let night = (23.0 * 3600.0, 1.0 * 3600.0);
        assert!(window_meets(night, 24.5 * 3600.0, 3600.0));
        assert!(!window_meets(night, 25.0 * 3600.0, 3600.0));
        assert!(window_meets(night, 22.5 * 3600.0, 3600.0));
    }
}
