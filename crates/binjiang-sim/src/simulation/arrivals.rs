//! Where and when incidents arise, and how patrols come across them.

use super::incident::{Incident, IncidentStatus, Need};
use super::unit::UnitStatus;
use super::{area_of, Action, Simulation};
use crate::catalogue::{Origin, Source};
use crate::event::{Event, EventKind};
use crate::scheduler::ms;
use binjiang_scene::AssetKind;
use geo::Coord;
use rand::Rng;
use rand_distr::{Distribution, Poisson};

/// Tries at placing a point on the grid before falling back to the anchor itself.
const PLACEMENT_TRIES: usize = 8;

impl Simulation {
    /// Draws the incidents of hour `h` for every type and schedules them.
    pub(super) fn generate_hour(&mut self, h: u32) {
        for ti in 0..self.catalogue.types.len() {
            let t = &self.catalogue.types[ti];
            let rate = t.per_day * t.profile[(h % 24) as usize] / t.profile.iter().sum::<f64>();
            let n = if rate > 0.0 {
                Poisson::new(rate)
                    .map(|d| d.sample(&mut self.arrivals_rng) as u64)
                    .unwrap_or(0)
            } else {
                0
            };
            for _ in 0..n {
                let at = h as f64 * 3600.0 + self.arrivals_rng.random_range(0.0..3600.0);
                let position = self.draw_origin(ti);
                self.add_incident(ti, position, at, None, None);
            }
        }
        self.scheduler
            .push(ms((h + 1) as f64 * 3600.0), Action::GenerateHour(h + 1));
    }

    /// Creates a pending incident of type `ti` at `position`, arising at `at` seconds;
    /// `source` and `report_delay_s` default to the type's source and a random delay.
    pub(super) fn add_incident(
        &mut self,
        ti: usize,
        position: Coord,
        at: f64,
        source: Option<Source>,
        report_delay_s: Option<f64>,
    ) -> u32 {
        let (lo, hi) = self.catalogue.report_delay_s;
        let report_delay_s = report_delay_s.unwrap_or_else(|| {
            if hi > lo {
                self.arrivals_rng.random_range(lo..hi)
            } else {
                lo
            }
        });
        let t = &self.catalogue.types[ti];
        let id = self.incidents.len() as u32;
        let needs = t
            .agencies
            .iter()
            .map(|a| Need {
                agency: *a,
                unit: None,
                dispatched_at: None,
                arrived_at: None,
                finished_at: None,
            })
            .collect();
        self.incidents.push(Incident {
            id,
            incident_type: ti as u16,
            priority: t.priority,
            position,
            cell: self.grid.cell_at(position).map(|c| c as u32),
            area: area_of(&self.grid, &self.areas, position),
            status: IncidentStatus::Pending,
            arose_at: at,
            source: source.unwrap_or(t.source),
            report_delay_s,
            reported_at: None,
            acknowledged_at: None,
            closed_at: None,
            needs,
        });
        self.scheduler.push(ms(at), Action::Arise(id));
        id
    }

    fn draw_origin(&mut self, ti: usize) -> Coord {
        match self.catalogue.types[ti].origin.clone() {
            Origin::Asset(kind) => self.random_asset(&kind),
            Origin::NearAsset(kind, r) => {
                let anchor = self.random_asset(&kind);
                self.near(anchor, r)
            }
            Origin::NearLandmark(r) => {
                let i = self
                    .arrivals_rng
                    .random_range(0..self.places.landmarks.len());
                self.near(self.places.landmarks[i], r)
            }
            Origin::AnyCell => self.random_cell_point(),
        }
    }

    fn random_asset(&mut self, kind: &str) -> Coord {
        let k = AssetKind::parse(kind).map_or(0, |k| k as usize);
        let list = &self.places.assets[k];
        list[self.arrivals_rng.random_range(0..list.len())]
    }

    /// A uniform point within `r` of `anchor`, on the grid if possible.
    fn near(&mut self, anchor: Coord, r: f64) -> Coord {
        for _ in 0..PLACEMENT_TRIES {
            let (d, a) = (
                r * self.arrivals_rng.random::<f64>().sqrt(),
                self.arrivals_rng.random_range(0.0..std::f64::consts::TAU),
            );
            let p = Coord {
                x: anchor.x + d * a.cos(),
                y: anchor.y + d * a.sin(),
            };
            if self.grid.contains(p) {
                return p;
            }
        }
        anchor
    }

    fn random_cell_point(&mut self) -> Coord {
        let total = *self.places.cell_cumulative_area.last().unwrap_or(&0.0);
        let pick = self
            .arrivals_rng
            .random_range(0.0..total.max(f64::MIN_POSITIVE));
        let c = self
            .places
            .cell_cumulative_area
            .partition_point(|a| *a < pick)
            .min(self.grid.cells.len() - 1);
        let square = self.grid.cells[c].square;
        for _ in 0..PLACEMENT_TRIES {
            let p = Coord {
                x: self
                    .arrivals_rng
                    .random_range(square.min().x..square.max().x),
                y: self
                    .arrivals_rng
                    .random_range(square.min().y..square.max().y),
            };
            if self.grid.contains(p) {
                return p;
            }
        }
        self.grid.cells[c].centre()
    }

    pub(super) fn arise(&mut self, i: u32) {
        let now = self.now();
        let inc = &mut self.incidents[i as usize];
        inc.status = IncidentStatus::Unreported;
        let mut event = Event::at(now, EventKind::Arose, inc.position).incident(i);
        event.incident_type = Some(inc.incident_type);
        event.cell = inc.cell;
        let source = inc.source;
        self.log(event);
        if source == Source::Patrol {
            self.plan_discovery(i);
        } else {
            let delay = self.incidents[i as usize].report_delay_s;
            self.scheduler.push(ms(now + delay), Action::Report(i));
        }
    }

    /// Schedules the first pass of a patrolling unit within discovery range, or a citizen's
    /// 12345 call if nobody will pass before `undiscovered_report_min`.
    fn plan_discovery(&mut self, i: u32) {
        let now = self.now();
        let inc = &self.incidents[i as usize];
        let deadline = inc.arose_at + self.catalogue.undiscovered_report_min * 60.0;
        let (p, r) = (inc.position, self.catalogue.patrol_discovery_m);
        let mut best: Option<(f64, u32)> = None;
        for (u, unit) in self.units.iter().enumerate() {
            if unit.status != UnitStatus::Patrolling || !unit.on_duty {
                continue;
            }
            if let Some(d) = unit
                .patrol
                .seconds_until_within(now - unit.patrol_epoch, p, r)
            {
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, u as u32));
                }
            }
        }
        match best {
            Some((d, u)) if now + d < deadline => {
                let version = self.units[u as usize].version;
                self.scheduler.push(
                    ms(now + d),
                    Action::Discover {
                        incident: i,
                        unit: u,
                        version,
                    },
                );
            }
            _ => self
                .scheduler
                .push(ms(deadline.max(now)), Action::Report(i)),
        }
    }

    pub(super) fn discover(&mut self, i: u32, u: u32, version: u64) {
        if self.incidents[i as usize].status != IncidentStatus::Unreported {
            return;
        }
        let unit = &self.units[u as usize];
        if unit.version != version || unit.status != UnitStatus::Patrolling {
            self.plan_discovery(i); // that unit was called away: who passes next?
            return;
        }
        self.report(i, Some(u));
    }
}
