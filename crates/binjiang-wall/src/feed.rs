//! The one state every view reads ([`WallState`]), the commands the panels send
//! ([`OperatorCommands`]), and the plugin that keeps the state current from whichever source
//! feeds the wall: the in-process simulation ([`crate::embedded`]) or a live service's stream
//! ([`crate::live`]). Views never know which.

use bevy::prelude::*;
use binjiang_scene::Agency;
use binjiang_sim::{CancelReason, Event, Metrics, Source, Target, UnitStatus, UnitView};
use std::collections::{BTreeMap, HashMap};

/// Closed incidents stay on the wall (fading) this long, simulated seconds.
pub const FADE_S: f64 = 300.0;

/// The displayed clock. The embedded simulation follows it; in live mode it follows the
/// service and the operator cannot change it.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Simulated seconds since midnight shown on the wall.
    pub sim_s: f64,
    /// Simulated seconds per wall second; 0 is paused.
    pub speed: f64,
}

/// One agency's part of an incident.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    /// The agency.
    pub agency: Agency,
    /// The unit serving it (index in the scene), if any.
    pub unit: Option<u32>,
    /// When its first unit arrived, wall seconds.
    pub arrived_at: Option<f64>,
    /// Finished.
    pub done: bool,
}

/// An incident as the wall shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentMark {
    /// Incident id.
    pub id: u32,
    /// Type name.
    pub type_name: String,
    /// 1 urgent … 4 routine.
    pub priority: u8,
    /// Position, local metres.
    pub position: [f64; 2],
    /// Subdistrict code.
    pub subdistrict: String,
    /// How it was reported.
    pub source: Source,
    /// When it was reported.
    pub reported_at: f64,
    /// What it is measured against (on site in 3 min; litter cleaned in 10).
    pub target: Target,
    /// When it closed, if it has.
    pub closed_at: Option<f64>,
    /// Agencies required, with the unit serving each.
    pub parts: Vec<Part>,
    /// Whether an operator has acknowledged it.
    pub acknowledged: bool,
}

impl IncidentMark {
    /// Whether some required agency has nobody assigned yet.
    pub fn waiting(&self) -> bool {
        self.closed_at.is_none() && self.parts.iter().any(|p| p.unit.is_none() && !p.done)
    }

    /// When the target falls due.
    pub fn due_at(&self) -> f64 {
        self.reported_at + self.target.within_s()
    }

    /// When the target was met: every required agency on site, or (litter) closed.
    pub fn met_at(&self) -> Option<f64> {
        match self.target {
            Target::Cleaned => self.closed_at,
            Target::OnSite if self.parts.is_empty() => None,
            Target::OnSite => self
                .parts
                .iter()
                .map(|p| p.arrived_at)
                .try_fold(f64::NEG_INFINITY, |a, b| b.map(|b| a.max(b))),
        }
    }

    /// Seconds left to the target at `now` (negative: overdue); `None` once met.
    pub fn time_to_target(&self, now: f64) -> Option<f64> {
        match self.met_at() {
            Some(_) => None,
            None => Some(self.due_at() - now),
        }
    }
}

/// "2:05" or "-0:40" (overdue).
pub fn countdown_text(s: f64) -> String {
    let sign = if s < 0.0 { "-" } else { "" };
    let t = s.abs().floor() as u64;
    format!("{sign}{}:{:02}", t / 60, t % 60)
}

/// KPIs of one agency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgencyKpi {
    /// Units patrolling (free).
    pub patrolling: usize,
    /// Units en route or on scene.
    pub busy: usize,
    /// Units off duty.
    pub off_duty: usize,
    /// Incident parts of this agency still open.
    pub open: usize,
    /// p90 report → its unit on site today, seconds.
    pub response_p90_s: Option<f64>,
    /// Share of its parts on site within 3 minutes today.
    pub on_site_3min_share: Option<f64>,
}

/// KPIs of one subdistrict today.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubdistrictKpi {
    /// Name.
    pub name: String,
    /// Official code.
    pub code: String,
    /// Incidents so far.
    pub incidents: usize,
    /// Open now.
    pub open: usize,
    /// Share on site (every agency) within 3 minutes.
    pub on_site_3min_share: Option<f64>,
}

/// Figures of the day so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kpis {
    /// Per agency.
    pub agencies: BTreeMap<Agency, AgencyKpi>,
    /// Per subdistrict of the merged grid, in the scene's order.
    pub subdistricts: Vec<SubdistrictKpi>,
    /// Share of incidents with every required agency on site within 3 minutes.
    pub on_site_3min_share: Option<f64>,
    /// Share handled "in the bud".
    pub in_the_bud_share: Option<f64>,
    /// Share of street litter cleaned within 10 minutes.
    pub cleaned_10min_share: Option<f64>,
    /// Incidents so far.
    pub incidents: usize,
    /// Closed so far.
    pub closed: usize,
    /// Incidents per grid cell (index in the scene's cells).
    pub per_cell: BTreeMap<u32, usize>,
}

impl Kpis {
    /// The figures shown, from the day's metrics (`today`) and the state now. The embedded
    /// and the live feed both come through here, so the wall shows the same figures the
    /// service's `/api/v1/kpis` does.
    pub fn of(
        today: &Metrics,
        scene: &binjiang_scene::Scene,
        units: &[UnitView],
        incidents: &[IncidentMark],
    ) -> Kpis {
        let mut agencies: BTreeMap<Agency, AgencyKpi> = Agency::ALL
            .iter()
            .map(|a| (*a, AgencyKpi::default()))
            .collect();
        for u in units {
            let k = agencies.entry(u.agency).or_default();
            match u.status {
                UnitStatus::OffDuty => k.off_duty += 1,
                UnitStatus::EnRoute | UnitStatus::OnScene => k.busy += 1,
                UnitStatus::Patrolling | UnitStatus::Returning => k.patrolling += 1,
            }
        }
        let open: Vec<&IncidentMark> = incidents.iter().filter(|i| i.closed_at.is_none()).collect();
        for i in &open {
            for p in i.parts.iter().filter(|p| !p.done) {
                agencies.entry(p.agency).or_default().open += 1;
            }
        }
        for (a, k) in agencies.iter_mut() {
            if let Some(m) = today.per_agency.get(a.key()) {
                k.response_p90_s = m.response_s.p90;
                k.on_site_3min_share = m.on_site_3min_share;
            }
        }
        let subdistricts = scene
            .grid
            .parts
            .iter()
            .map(|p| {
                let m = today.per_subdistrict.get(&p.code);
                SubdistrictKpi {
                    name: p.name.clone(),
                    code: p.code.clone(),
                    incidents: m.map_or(0, |m| m.incidents),
                    open: open.iter().filter(|i| i.subdistrict == p.code).count(),
                    on_site_3min_share: m.and_then(|m| m.on_site_3min_share),
                }
            })
            .collect();
        let cell_index: BTreeMap<&str, u32> = scene
            .grid
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i as u32))
            .collect();
        Kpis {
            agencies,
            subdistricts,
            on_site_3min_share: today.all.on_site_3min_share,
            in_the_bud_share: today.all.in_the_bud_share,
            cleaned_10min_share: today.all.cleaned_10min_share,
            incidents: today.all.incidents,
            closed: today.all.closed,
            per_cell: today
                .per_cell
                .iter()
                .filter_map(|(id, n)| Some((*cell_index.get(id.as_str())?, *n)))
                .collect(),
        }
    }
}

/// "If nothing changes": a projection of the day from now, as key `P` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Projected {
    /// From, wall seconds.
    pub from_s: f64,
    /// Until, wall seconds.
    pub until_s: f64,
    /// Incidents open at the end.
    pub open_at_end: usize,
    /// Per agency: the longest queue of waiting parts and when first reached.
    pub peak_queue: BTreeMap<Agency, (usize, f64)>,
    /// The day's figures as they would stand at the end.
    pub kpis: Metrics,
}

/// Where the wall's data comes from, for the operator to see.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Link {
    /// The in-process simulation.
    #[default]
    Embedded,
    /// A live service: its address, and whether the stream is up (else why not).
    Live {
        /// The service.
        url: String,
        /// `Ok(view number)` while following, else the last error.
        state: Result<u64, String>,
    },
}

/// What every view reads: the district at the displayed instant.
#[derive(Resource, Debug, Clone, Default)]
pub struct WallState {
    /// Simulated seconds since midnight.
    pub now_s: f64,
    /// Every unit.
    pub units: Vec<UnitView>,
    /// Open incidents and those closed in the last [`FADE_S`] seconds.
    pub incidents: Vec<IncidentMark>,
    /// Figures of the day so far.
    pub kpis: Kpis,
    /// Incidents of priority 1 reported since the previous frame (auto-focus, alarm sound).
    pub new_urgent: Vec<u32>,
    /// The event log of the day so far (embedded mode: timelines of selected incidents).
    pub log: Vec<Event>,
    /// The last operator command's outcome: `Err` with the refusal's reason.
    pub refusal: Option<String>,
    /// The projection last asked for (key `P`), while shown.
    pub projection: Option<Projected>,
    /// Where the data comes from.
    pub link: Link,
    /// Coverage now, the move-ups proposed and patrol visits (issue 19).
    pub coverage: CoverageView,
    /// Why each unit was sent, per incident shown (issue 20): its decisions, oldest first
    /// (embedded: as the simulation makes them; live: read when the incident is selected).
    pub why: BTreeMap<u32, Vec<binjiang_sim::Decision>>,
}

/// Coverage as the wall shows it: each agency's share of the hour's demand within 3 minutes
/// of a free unit, the move-ups proposed, and how long ago a patrol passed each cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoverageView {
    /// Seconds since each grid cell's last visit, in the grid's order (empty until known).
    pub since_visit: Vec<f64>,
    /// Whether each cell is watched (hot in some hour of the day): the layer tints only
    /// these, not water or empty cells no patrol is meant to pass.
    pub watched: Vec<bool>,
    /// Per agency key.
    pub agencies: BTreeMap<String, binjiang_protocol::CoverageNow>,
    /// Open proposals, oldest first.
    pub recommendations: Vec<binjiang_protocol::Recommendation>,
    /// Share of hot cell-hours left unvisited for over two hours.
    pub unvisited_share: Option<f64>,
}

/// What an operator asks from the wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorCommand {
    /// Mark it as seen.
    Acknowledge(u32),
    /// Send this free unit (by index) for this agency's part.
    Reassign(u32, Agency, u32),
    /// Close it now (resolved).
    Close(u32),
    /// Cancel it: a duplicate or a false alarm.
    Cancel(u32, CancelReason),
    /// Project the day this many hours ahead.
    Project(u32),
    /// Make the proposed move-up with this id.
    AcceptMoveUp(u64),
    /// Drop the proposed move-up with this id.
    DismissMoveUp(u64),
    /// Fetch why each unit was sent to this incident (live; embedded has it already).
    Explain(u32),
}

/// Commands from the panels, taken by the feed before its next step: applied to the
/// embedded simulation, or sent to the live service.
#[derive(Resource, Debug, Default, Clone, PartialEq)]
pub struct OperatorCommands(pub Vec<OperatorCommand>);

/// What the operator's commands say about who gives them and why.
pub const WALL_REASON: &str = "operator at the wall display";
/// The disposition of an incident closed from the wall.
pub const WALL_DISPOSITION: &str = "resolved (closed at the wall)";
/// Hours projected by key `P`.
pub const PROJECTION_HOURS: u32 = 2;

/// Unit index in the scene by id: how events and the service name units.
pub fn unit_indexes(scene: &binjiang_scene::Scene) -> HashMap<String, u32> {
    scene
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.clone(), i as u32))
        .collect()
}

/// Each catalogue type's name and target, by key.
pub fn type_names(
    catalogue: &binjiang_sim::IncidentCatalogue,
) -> HashMap<String, (String, Target)> {
    catalogue
        .types
        .iter()
        .map(|t| (t.key.clone(), (t.name.clone(), Target::of(t))))
        .collect()
}

/// What the wall's unit tests share: the tiny test scene and incident marks.
/// Formats simulation seconds as the wall clock shows them.
pub fn clock_text(s: f64) -> String {
    let t = s.max(0.0) as u64;
    let day = t / 86_400;
    let (h, m, sec) = (t % 86_400 / 3600, t % 3600 / 60, t % 60);
    if day > 0 {
        format!("day {} {h:02}:{m:02}:{sec:02}", day + 1)
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

/// The alarm list: open incidents whose target is still running first, by urgency
/// (priority) then time left to target (the most overdue first); then those whose target is
/// met, by priority, oldest first.
pub fn alarm_order(incidents: &[IncidentMark], now: f64) -> Vec<&IncidentMark> {
    let mut open: Vec<&IncidentMark> = incidents.iter().filter(|i| i.closed_at.is_none()).collect();
    let key = |m: &IncidentMark| m.time_to_target(now).unwrap_or(f64::INFINITY);
    open.sort_by(|a, b| {
        a.time_to_target(now)
            .is_none()
            .cmp(&b.time_to_target(now).is_none())
            .then(a.priority.cmp(&b.priority))
            .then(key(a).total_cmp(&key(b)))
            .then(a.reported_at.total_cmp(&b.reported_at))
            .then(a.id.cmp(&b.id))
    });
    open
}

#[cfg(test)]
pub mod fixtures {
    use super::*;

    /// `tests/scenes/tiny-river` and its catalogue.
    pub fn tiny() -> (binjiang_scene::Scene, binjiang_sim::IncidentCatalogue) {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
        let scene = binjiang_scene::Scene::load(&dir).unwrap();
        let catalogue =
            binjiang_sim::IncidentCatalogue::load(&dir.join(binjiang_sim::CATALOGUE_FILE), &scene)
                .unwrap()
                .0;
        (scene, catalogue)
    }

    /// An open incident needing the police, nobody sent, reported at `reported_at`.
    pub fn open_mark(id: u32, priority: u8, reported_at: f64) -> IncidentMark {
        IncidentMark {
            id,
            type_name: "fight".into(),
            priority,
            position: [0.0, 0.0],
            subdistrict: "310110006".into(),
            source: Source::Hotline110,
            reported_at,
            target: Target::OnSite,
            closed_at: None,
            parts: vec![Part {
                agency: Agency::Police,
                unit: None,
                arrived_at: None,
                done: false,
            }],
            acknowledged: false,
        }
    }
}
