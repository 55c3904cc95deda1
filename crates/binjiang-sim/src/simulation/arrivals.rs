//! Incidents entering the run: drawn from the catalogue, replayed from a record, or reported
//! from outside; every random quantity of an incident is drawn when it is created.

use super::incident::{Incident, IncidentStatus, Need};
use super::{area_of, asset_kind, Action, Simulation};
use crate::catalogue::{Origin, Source};
use crate::event::{Name, What};
use crate::scheduler::ms;
use crate::source::{Input, InputRecord, Place, Report, ReportError};
use geo::Coord;
use rand::Rng;
use rand_distr::{Distribution, Poisson, Triangular};

/// Tries at placing a point on the grid before falling back to the anchor itself.
const PLACEMENT_TRIES: usize = 8;

/// What a new incident is, before it is numbered.
struct NewIncident {
    ti: usize,
    position: Coord,
    at: f64,
    source: Source,
    report_delay_s: Option<f64>,
    external_id: Option<Name>,
}

impl Simulation {
    /// Draws the incidents of hour `h` and schedules them, then the next hour's drawing.
    pub(super) fn generate_hour(&mut self, h: u32) {
        self.draw_hour(h);
        self.scheduler
            .push(ms((h + 1) as f64 * 3600.0), Action::GenerateHour(h + 1));
    }

    /// Draws the incidents of hour `h` for every type; those before the run's start are
    /// drawn but never happen, so a run started at 08:00 sees exactly the incidents a run
    /// from midnight sees from 08:00 on.
    pub(super) fn draw_hour(&mut self, h: u32) {
        let start = self.options.start_s;
        for ti in 0..self.catalogue.types.len() {
            let rate = self.catalogue.hourly_rate(ti, self.options.weekday, h);
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
                let source = self.catalogue.types[ti].source;
                let new = NewIncident {
                    ti,
                    position,
                    at,
                    source,
                    report_delay_s: None,
                    external_id: None,
                };
                let draws = self.draw_incident(&new);
                if at >= start && self.survives_thinning(ti, at, position) {
                    self.add_incident(new, draws);
                }
            }
            if !self.catalogue.surges.is_empty() {
                self.draw_surges(h, ti, rate);
            }
        }
    }

    /// Whether a base incident is kept by the surges below 1 that apply to it.
    fn survives_thinning(&mut self, ti: usize, at: f64, p: Coord) -> bool {
        let key = &self.catalogue.types[ti].key;
        let keep: f64 = self
            .catalogue
            .surges
            .iter()
            .filter(|s| s.factor < 1.0 && s.applies(key, at, p))
            .map(|s| s.factor)
            .product();
        keep >= 1.0 || self.surge_rng.random::<f64>() < keep
    }

    /// The extra incidents of type `ti` in hour `h` that surges above 1 add: for each,
    /// Poisson((factor − 1) × the hour's base rate) candidates placed like the type's own,
    /// kept where and when the surge applies. Drawn with the surge stream (the base stream is
    /// swapped out meanwhile), so the base day is unchanged.
    pub(super) fn draw_surges(&mut self, h: u32, ti: usize, rate: f64) {
        let start = self.options.start_s;
        let surges: Vec<usize> = (0..self.catalogue.surges.len())
            .filter(|&k| {
                let s = &self.catalogue.surges[k];
                s.factor > 1.0
                    && (s.types.is_empty() || s.types.contains(&self.catalogue.types[ti].key))
            })
            .collect();
        if surges.is_empty() || rate <= 0.0 {
            return;
        }
        std::mem::swap(&mut self.arrivals_rng, &mut self.surge_rng);
        for k in surges {
            let extra = (self.catalogue.surges[k].factor - 1.0) * rate;
            let n = Poisson::new(extra)
                .map(|d| d.sample(&mut self.arrivals_rng) as u64)
                .unwrap_or(0);
            for _ in 0..n {
                let at = h as f64 * 3600.0 + self.arrivals_rng.random_range(0.0..3600.0);
                let position = self.draw_origin(ti);
                let new = NewIncident {
                    ti,
                    position,
                    at,
                    source: self.catalogue.types[ti].source,
                    report_delay_s: None,
                    external_id: None,
                };
                let draws = self.draw_incident(&new);
                let key = &self.catalogue.types[ti].key;
                if at >= start && self.catalogue.surges[k].applies(key, at, position) {
                    self.add_incident(new, draws);
                }
            }
        }
        std::mem::swap(&mut self.arrivals_rng, &mut self.surge_rng);
    }

    /// Replays recorded report `k` at its time.
    pub(super) fn recorded(&mut self, k: usize) {
        let report = self.world.recorded[k].clone();
        // The list was checked when the simulation was set up: this cannot be refused. It is
        // part of the run's source, not of its input log (a replay brings it again).
        let _ = self.take_report(report, false);
    }

    /// An incident reported from outside (a hotline call, a camera alert, an operator's
    /// entry, a live service). Returns its number; a report whose `external_id` was seen
    /// before returns the first one's number and changes nothing (idempotent). A report in
    /// the future waits for its time; one stamped in the past is taken as arising then, but
    /// the clock never moves back: it is reported and dispatched now.
    pub fn report(&mut self, report: Report) -> Result<u32, ReportError> {
        self.take_report(report, true)
    }

    /// Takes a report in, recording it in the input log when it came from outside.
    fn take_report(&mut self, report: Report, from_outside: bool) -> Result<u32, ReportError> {
        let (ti, position) = self.place_of(&report)?;
        let external_id = report.external_id.as_deref().map(Name::from);
        let fresh_after = self.now() - super::EXTERNAL_ID_WINDOW_S;
        if let Some((i, _)) = external_id
            .as_ref()
            .and_then(|e| self.external_ids.get(e))
            .filter(|(_, at)| *at >= fresh_after)
        {
            return Ok(*i);
        }
        // A patrol "report" is an incident a unit must still come across.
        let delay = (report.source != Source::Patrol).then_some(0.0);
        let future = report.time > self.now();
        let new = NewIncident {
            ti,
            position,
            at: report.time.max(0.0),
            source: report.source,
            report_delay_s: delay,
            external_id: external_id.clone(),
        };
        let draws = self.draw_incident(&new);
        let id = self.add_incident(new, draws);
        if let Some(e) = external_id {
            self.external_ids.insert(e, (id, self.now()));
        }
        if from_outside {
            self.inputs.push(InputRecord {
                t: self.now(),
                input: Input::Report {
                    report,
                    incident: id,
                },
            });
        }
        if !future {
            // Past or present: it happens now as far as the clock goes.
            let now = self.now();
            self.advance_to(now);
        }
        Ok(id)
    }

    /// The type index and position of a report, or why it cannot be taken.
    pub(super) fn place_of(&self, report: &Report) -> Result<(usize, Coord), ReportError> {
        let ti = self
            .catalogue
            .index_of(&report.incident_type)
            .ok_or_else(|| ReportError::UnknownType(report.incident_type.clone()))?;
        if !report.time.is_finite() {
            return Err(ReportError::NotFinite("time"));
        }
        let position = match &report.place {
            Place::At([x, y]) if x.is_finite() && y.is_finite() => Coord { x: *x, y: *y },
            Place::At(_) => return Err(ReportError::NotFinite("position")),
            Place::Asset(id) => self
                .world
                .asset_at(id)
                .ok_or_else(|| ReportError::UnknownAsset(id.clone()))?,
        };
        Ok((ti, position))
    }

    /// The random quantities of an incident: report delay and on-scene seconds per agency.
    fn draw_incident(&mut self, new: &NewIncident) -> (f64, Vec<f64>) {
        let (lo, hi) = self.catalogue.report_delay_s;
        let t = &self.catalogue.types[new.ti];
        let drawn_delay = if let Some(fit) = t.report_delay_fit_s {
            fit.sample(&mut self.arrivals_rng)
        } else if hi > lo {
            self.arrivals_rng.random_range(lo..hi)
        } else {
            lo
        };
        let (a, m, b) = t.on_scene_min;
        let fit = t.on_scene_fit_min;
        let on_scene = t
            .agencies
            .iter()
            .map(|_| {
                let minutes = if let Some(fit) = fit {
                    fit.sample(&mut self.arrivals_rng)
                } else if b > a {
                    Triangular::new(a, b, m)
                        .map(|d| d.sample(&mut self.arrivals_rng))
                        .unwrap_or(m)
                } else {
                    a
                };
                let jitter_ms: u32 = self.arrivals_rng.random_range(0..1000);
                minutes * 60.0 + f64::from(jitter_ms) / 1000.0
            })
            .collect();
        (new.report_delay_s.unwrap_or(drawn_delay), on_scene)
    }

    /// Numbers a new incident and schedules its arising.
    fn add_incident(
        &mut self,
        new: NewIncident,
        (report_delay_s, on_scene): (f64, Vec<f64>),
    ) -> u32 {
        let t = &self.catalogue.types[new.ti];
        let id = self.next_incident;
        self.next_incident += 1;
        let needs = t
            .agencies
            .iter()
            .zip(on_scene)
            .map(|(a, on_scene_s)| Need {
                agency: *a,
                on_scene_s,
                unit: None,
                dispatched_at: None,
                arrived_at: None,
                finished_at: None,
            })
            .collect();
        let grid = &self.world.grid;
        let incident = Incident {
            id,
            incident_type: new.ti as u16,
            priority: t.priority,
            position: new.position,
            cell: grid.cell_at(new.position).map(|c| c as u32),
            area: area_of(grid, new.position),
            status: IncidentStatus::Pending,
            arose_at: new.at,
            source: new.source,
            report_delay_s,
            external_id: new.external_id,
            reported_at: None,
            acknowledged_at: None,
            closed_at: None,
            closed_by: None,
            disposition: None,
            cancelled: None,
            reopened: 0,
            needs,
        };
        self.incidents.insert(id, incident);
        self.scheduler
            .push(ms(new.at).max(self.now_ms), Action::Arise(id));
        id
    }

    fn draw_origin(&mut self, ti: usize) -> Coord {
        let origin = self.catalogue.types[ti].origin.clone();
        match origin {
            Origin::Asset(_) => self.random_asset(ti),
            Origin::NearAsset(_, r) => {
                let anchor = self.random_asset(ti);
                self.near(anchor, r)
            }
            Origin::NearLandmark(r) => {
                let i = self
                    .arrivals_rng
                    .random_range(0..self.world.landmarks.len());
                self.near(self.world.landmarks[i], r)
            }
            Origin::AnyCell => self.random_cell_point(),
            Origin::Cells(_) => {
                let cells = &self.world.type_cells[ti];
                let total = cells.last().map_or(0.0, |(w, _)| *w);
                let pick = self
                    .arrivals_rng
                    .random_range(0.0..total.max(f64::MIN_POSITIVE));
                let k = cells
                    .partition_point(|(w, _)| *w < pick)
                    .min(cells.len().saturating_sub(1));
                let c = cells.get(k).map_or(0, |(_, c)| *c);
                self.point_in_cell(c)
            }
        }
    }

    /// A random asset of the kind type `ti` arises at (the catalogue check guarantees the
    /// kind is known and present).
    fn random_asset(&mut self, ti: usize) -> Coord {
        let kind = asset_kind(&self.catalogue.types[ti].origin);
        let list = &self.world.assets[kind.map_or(usize::MAX, |k| k as usize)];
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
            if self.world.grid.contains(p) {
                return p;
            }
        }
        anchor
    }

    /// A point in a cell drawn by area (the catalogue check guarantees cells exist).
    fn random_cell_point(&mut self) -> Coord {
        let world = &self.world;
        let total = *world.cell_cumulative_area.last().unwrap_or(&0.0);
        let pick = self
            .arrivals_rng
            .random_range(0.0..total.max(f64::MIN_POSITIVE));
        let c = world
            .cell_cumulative_area
            .partition_point(|a| *a < pick)
            .min(world.grid.cells.len().saturating_sub(1));
        self.point_in_cell(c)
    }

    /// A uniform point in grid cell `c`, on the grid if possible, else its centre.
    fn point_in_cell(&mut self, c: usize) -> Coord {
        let square = self.world.grid.cells[c].square;
        for _ in 0..PLACEMENT_TRIES {
            let p = Coord {
                x: self
                    .arrivals_rng
                    .random_range(square.min().x..square.max().x),
                y: self
                    .arrivals_rng
                    .random_range(square.min().y..square.max().y),
            };
            if self.world.grid.contains(p) {
                return p;
            }
        }
        self.world.grid.cells[c].centre()
    }

    pub(super) fn arise(&mut self, i: u32) {
        let now = self.now();
        let inc = self.incident_mut(i);
        inc.status = IncidentStatus::Unreported;
        let (ti, cell, area, p) = (inc.incident_type, inc.cell, inc.area, inc.position);
        let (priority, source, delay) = (inc.priority, inc.source, inc.report_delay_s);
        let external_id = inc.external_id.clone();
        let world = &self.world;
        let what = What::Arose {
            incident: i,
            incident_type: world.type_keys[ti as usize].clone(),
            priority,
            agencies: self.catalogue.types[ti as usize].agencies.clone(),
            subdistrict: world
                .areas
                .get(area as usize)
                .cloned()
                .unwrap_or_else(|| "".into()),
            cell: cell.map(|c| world.cells[c as usize].clone()),
            external_id,
        };
        self.log(p, what);
        if source == Source::Patrol {
            self.watch_for(i);
        } else {
            self.scheduler.push(ms(now + delay), Action::Report(i));
        }
    }
}
