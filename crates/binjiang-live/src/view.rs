//! What readers see: units, incidents and KPIs as of the last publish, with incidents in an
//! R-tree for bounding-box and radius queries. Built by the twin, shared read-only, so a
//! hundred wall displays polling do not slow ingest down.

use crate::clock::Clock;
use crate::twin::Setup;
use binjiang_scene::Agency;
use binjiang_sim::{
    CancelReason, Incident, IncidentStatus, Metrics, MetricsFold, Simulation, UnitStatus,
};
use binjiang_spatial::PointIndex;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A unit's state as a CAD names it (after NENA EIDO's unit statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitState {
    /// On duty, free: patrolling, or back to its loop after a job.
    Available,
    /// Sent and on its way (the core's dispatch is the departure: units leave at once).
    EnRoute,
    /// At the incident.
    OnScene,
    /// Job done, riding back to its loop (available again).
    Cleared,
    /// Not on shift.
    OffDuty,
}

/// An incident's state as a CAD names it (after NENA EIDO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Known, nobody sent yet (parts queued).
    Open,
    /// Reopened by an operator, nobody sent yet.
    Reopened,
    /// A unit is on its way and none is on scene.
    EnRoute,
    /// A unit is on scene.
    OnScene,
    /// Every part done by the units (closed without an operator).
    Resolved,
    /// Closed by an operator (or cleared by its sensor), with a disposition.
    Closed,
    /// Cancelled: duplicate or false alarm.
    Cancelled,
}

/// One unit for the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitOut {
    /// Scene id.
    pub id: String,
    /// Agency.
    pub agency: Agency,
    /// Mode.
    pub mode: binjiang_scene::Mode,
    /// CAD state.
    pub status: UnitState,
    /// WGS84.
    pub lon: f64,
    /// WGS84.
    pub lat: f64,
    /// Where the position comes from: a fresh GPS fix, or the patrol model.
    pub position_source: &'static str,
    /// Incident served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<u32>,
    /// Home subdistrict code.
    pub subdistrict: String,
}

/// One agency's part of an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartOut {
    /// Agency.
    pub agency: Agency,
    /// `queued`, `en_route`, `on_scene` or `done`.
    pub status: &'static str,
    /// The unit serving it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// ISO times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatched_at: Option<String>,
    /// ISO time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrived_at: Option<String>,
    /// ISO time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// One incident for the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentOut {
    /// Number.
    pub id: u32,
    /// Catalogue key.
    #[serde(rename = "type")]
    pub incident_type: String,
    /// 1 urgent … 4 routine.
    pub priority: u8,
    /// CAD state.
    pub status: IncidentState,
    /// WGS84.
    pub lon: f64,
    /// WGS84.
    pub lat: f64,
    /// Subdistrict code.
    pub subdistrict: String,
    /// How it was reported.
    pub source: binjiang_sim::Source,
    /// The reporting system's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// ISO times.
    pub arose_at: String,
    /// ISO time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<String>,
    /// ISO time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    /// ISO time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    /// How an operator closed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// Why it was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<CancelReason>,
    /// One per agency.
    pub parts: Vec<PartOut>,
}

/// One agency now.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgencyNow {
    /// Units on shift.
    pub units_on_duty: usize,
    /// Of which free.
    pub units_available: usize,
    /// Parts not yet done.
    pub open_parts: usize,
    /// Parts waiting for a unit.
    pub queued: usize,
}

/// KPIs: now, and since the district's midnight (definitions in docs/kpis.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// When, ISO.
    pub at: String,
    /// Open incidents now.
    pub open_incidents: usize,
    /// Per agency, now.
    pub now_per_agency: BTreeMap<String, AgencyNow>,
    /// Open incidents per subdistrict code, now.
    pub now_per_subdistrict: BTreeMap<String, usize>,
    /// Since midnight (per agency and per subdistrict inside).
    pub today: Metrics,
}

/// The published state.
#[derive(Debug)]
pub struct View {
    /// Publication number (1, 2, …): stream clients resume from it.
    pub seq: u64,
    /// Simulation seconds.
    pub t: f64,
    /// Units.
    pub units: Vec<UnitOut>,
    /// Open incidents and those closed in the last day, by number.
    pub incidents: Vec<IncidentOut>,
    /// Incident positions (local metres) → index into `incidents`.
    pub index: PointIndex<usize>,
    /// KPIs.
    pub kpis: Kpis,
}

impl View {
    /// An empty view (before the twin's first publish).
    pub fn empty() -> Self {
        View {
            seq: 0,
            t: 0.0,
            units: Vec::new(),
            incidents: Vec::new(),
            index: PointIndex::default(),
            kpis: Kpis {
                at: String::new(),
                open_incidents: 0,
                now_per_agency: BTreeMap::new(),
                now_per_subdistrict: BTreeMap::new(),
                today: Metrics::default(),
            },
        }
    }

    /// The view of `sim` now.
    pub fn of(
        sim: &Simulation,
        clock: &Clock,
        setup: &Setup,
        gps: &HashMap<String, f64>,
        today: &MetricsFold,
        today_start: f64,
    ) -> Self {
        let t = sim.now();
        let frame = &setup.scene.frame;
        let areas = sim.areas();
        let views = sim.units();
        let units: Vec<UnitOut> = views
            .iter()
            .map(|u| {
                let (lon, lat) = frame.to_wgs84(geo::Coord {
                    x: u.position[0],
                    y: u.position[1],
                });
                let fresh_fix = gps
                    .get(&u.id)
                    .is_some_and(|at| t - at <= binjiang_sim::FIX_FRESH_S);
                UnitOut {
                    id: u.id.clone(),
                    agency: u.agency,
                    mode: u.mode,
                    status: match u.status {
                        UnitStatus::OffDuty => UnitState::OffDuty,
                        UnitStatus::Patrolling => UnitState::Available,
                        UnitStatus::EnRoute => UnitState::EnRoute,
                        UnitStatus::OnScene => UnitState::OnScene,
                        UnitStatus::Returning => UnitState::Cleared,
                    },
                    lon,
                    lat,
                    position_source: if fresh_fix && u.status == UnitStatus::Patrolling {
                        "gps"
                    } else {
                        "model"
                    },
                    incident: u.incident,
                    subdistrict: areas[u.area as usize].to_string(),
                }
            })
            .collect();
        let iso = |x: Option<f64>| x.map(|s| clock.iso(s));
        let mut incidents = Vec::new();
        let mut points = Vec::new();
        let mut now_per_agency: BTreeMap<String, AgencyNow> = BTreeMap::new();
        let mut now_per_subdistrict: BTreeMap<String, usize> = BTreeMap::new();
        for u in &views {
            let a = now_per_agency.entry(u.agency.key().into()).or_default();
            a.units_on_duty += usize::from(u.status != UnitStatus::OffDuty);
            a.units_available += usize::from(u.status == UnitStatus::Patrolling);
        }
        let mut open_incidents = 0;
        for inc in sim.incidents() {
            if matches!(
                inc.status,
                IncidentStatus::Pending | IncidentStatus::Unreported
            ) {
                continue;
            }
            let status = state_of(inc);
            let open = inc.status == IncidentStatus::Open;
            let sub = areas[inc.area as usize].to_string();
            if open {
                open_incidents += 1;
                *now_per_subdistrict.entry(sub.clone()).or_default() += 1;
            }
            let parts = inc
                .needs
                .iter()
                .map(|n| {
                    let part = if n.finished_at.is_some() {
                        "done"
                    } else if n.arrived_at.is_some() {
                        "on_scene"
                    } else if n.unit.is_some() {
                        "en_route"
                    } else {
                        "queued"
                    };
                    if open && n.finished_at.is_none() {
                        let a = now_per_agency.entry(n.agency.key().into()).or_default();
                        a.open_parts += 1;
                        a.queued += usize::from(part == "queued");
                    }
                    PartOut {
                        agency: n.agency,
                        status: part,
                        unit: n.unit.map(|u| views[u as usize].id.clone()),
                        dispatched_at: iso(n.dispatched_at),
                        arrived_at: iso(n.arrived_at),
                        finished_at: iso(n.finished_at),
                    }
                })
                .collect();
            let (lon, lat) = frame.to_wgs84(inc.position);
            points.push(([inc.position.x, inc.position.y], incidents.len()));
            incidents.push(IncidentOut {
                id: inc.id,
                incident_type: sim.catalogue().types[inc.incident_type as usize]
                    .key
                    .clone(),
                priority: inc.priority,
                status,
                lon,
                lat,
                subdistrict: sub,
                source: inc.source,
                external_id: inc.external_id.as_ref().map(|e| e.to_string()),
                arose_at: clock.iso(inc.arose_at),
                reported_at: iso(inc.reported_at),
                acknowledged_at: iso(inc.acknowledged_at),
                closed_at: iso(inc.closed_at),
                disposition: inc.disposition.as_ref().map(|d| d.to_string()),
                cancelled: inc.cancelled,
                parts,
            });
        }
        View {
            seq: 0,
            t,
            units,
            incidents,
            index: PointIndex::bulk_load(points),
            kpis: Kpis {
                at: clock.iso(t),
                open_incidents,
                now_per_agency,
                now_per_subdistrict,
                today: today.summary(t.max(today_start)),
            },
        }
    }
}

/// The CAD state of an incident.
fn state_of(inc: &Incident) -> IncidentState {
    if inc.status == IncidentStatus::Closed {
        return if inc.cancelled.is_some() {
            IncidentState::Cancelled
        } else if inc.closed_by.is_some() {
            IncidentState::Closed
        } else {
            IncidentState::Resolved
        };
    }
    let on_scene = inc
        .needs
        .iter()
        .any(|n| n.arrived_at.is_some() && n.finished_at.is_none());
    let en_route = inc.needs.iter().any(|n| n.unit.is_some());
    if on_scene {
        IncidentState::OnScene
    } else if en_route {
        IncidentState::EnRoute
    } else if inc.reopened > 0 {
        IncidentState::Reopened
    } else {
        IncidentState::Open
    }
}

/// Views kept for stream clients that reconnect: a client whose last view is still here gets
/// the changes since, not a new snapshot.
pub const KEPT_VIEWS: usize = 64;

/// Where the twin publishes: the latest view (watch) and the last [`KEPT_VIEWS`].
#[derive(Debug)]
pub struct Published {
    tx: tokio::sync::watch::Sender<std::sync::Arc<View>>,
    kept: std::sync::Mutex<std::collections::VecDeque<std::sync::Arc<View>>>,
}

impl Published {
    /// Starts with `first` (seq 1).
    pub fn new(
        mut first: View,
    ) -> (
        std::sync::Arc<Self>,
        tokio::sync::watch::Receiver<std::sync::Arc<View>>,
    ) {
        first.seq = 1;
        let first = std::sync::Arc::new(first);
        let (tx, rx) = tokio::sync::watch::channel(std::sync::Arc::clone(&first));
        let kept = std::sync::Mutex::new(std::collections::VecDeque::from([first]));
        (std::sync::Arc::new(Published { tx, kept }), rx)
    }

    /// Publishes `view` as the next.
    pub fn publish(&self, mut view: View) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        view.seq = kept.back().map_or(1, |v| v.seq + 1);
        let view = std::sync::Arc::new(view);
        if kept.len() == KEPT_VIEWS {
            kept.pop_front();
        }
        kept.push_back(std::sync::Arc::clone(&view));
        drop(kept);
        let _ = self.tx.send(view);
    }

    /// View `seq`, if still kept.
    pub fn kept(&self, seq: u64) -> Option<std::sync::Arc<View>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().find(|v| v.seq == seq).cloned()
    }
}
