//! What readers see: units, incidents and KPIs as of the last publish, with incidents in an
//! R-tree for bounding-box and radius queries. Built by the twin, shared read-only, so a
//! hundred wall displays polling do not slow ingest down.

use crate::clock::Clock;
use binjiang_sim::{Incident, IncidentStatus, MetricsFold, Simulation, UnitStatus};
use binjiang_spatial::PointIndex;
use std::collections::{BTreeMap, HashMap};

pub use binjiang_protocol::{
    AgencyNow, IncidentOut, IncidentState, Kpis, PartOut, PartStatus, PositionSource, UnitOut,
    UnitState,
};

/// The published state.
#[derive(Debug, Default)]
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
    /// Seconds since each grid cell's last patrol visit, in the grid's order.
    pub since_visit: Vec<f64>,
    /// Whether each grid cell is hot in some hour of the day (watched by patrol coverage).
    pub watched: Vec<bool>,
    /// The last decision explained so far (its id), if any: a stream delta lists the ids
    /// made since its base view.
    pub last_decision: Option<u64>,
}

impl View {
    /// An empty view (before the twin's first publish).
    pub fn empty() -> Self {
        View::default()
    }

    /// The view of `sim` now.
    pub fn of(
        sim: &Simulation,
        clock: &Clock,
        scene: &binjiang_scene::Scene,
        gps: &HashMap<String, f64>,
        today: &MetricsFold,
        today_start: f64,
    ) -> Self {
        let t = sim.now();
        let frame = &scene.frame;
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
                        PositionSource::Gps
                    } else {
                        PositionSource::Model
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
                        PartStatus::Done
                    } else if n.arrived_at.is_some() {
                        PartStatus::OnScene
                    } else if n.unit.is_some() {
                        PartStatus::EnRoute
                    } else {
                        PartStatus::Queued
                    };
                    if open && n.finished_at.is_none() {
                        let a = now_per_agency.entry(n.agency.key().into()).or_default();
                        a.open_parts += 1;
                        a.queued += usize::from(part == PartStatus::Queued);
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
                ..Kpis::default()
            },
            ..View::default()
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
