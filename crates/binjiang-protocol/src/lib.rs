//! The live service's wire format, in one place for the service that writes it and the
//! clients that read it (the wall display, tests, tools): units, incidents and KPIs as the
//! HTTP API and the WebSocket stream carry them, the stream's snapshot and delta messages,
//! fork projections and refusals. Plain serde data; times are ISO 8601 with the district's
//! offset; positions WGS84. `docs/live.md` documents every field.

use binjiang_scene::{Agency, Mode};
pub mod kpis;
pub mod words;

pub use kpis::Metrics;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
pub use words::{CancelReason, Source};

/// A unit's state as a CAD names it (after NENA EIDO's unit statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

impl IncidentState {
    /// Whether the incident still needs the control room.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            IncidentState::Resolved | IncidentState::Closed | IncidentState::Cancelled
        )
    }
}

/// Where a unit's position comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionSource {
    /// A GPS fix at most `FIX_FRESH_S` old.
    Gps,
    /// The patrol model (no fresh fix, or the unit is on a job).
    Model,
}

/// One agency's part of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartStatus {
    /// Waiting for a unit.
    Queued,
    /// A unit is on its way.
    EnRoute,
    /// The unit is there.
    OnScene,
    /// Finished.
    Done,
}

/// One unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitOut {
    /// Scene id.
    pub id: String,
    /// Agency.
    pub agency: Agency,
    /// Mode.
    pub mode: Mode,
    /// CAD state.
    pub status: UnitState,
    /// WGS84.
    pub lon: f64,
    /// WGS84.
    pub lat: f64,
    /// Where the position comes from.
    pub position_source: PositionSource,
    /// Incident served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<u32>,
    /// Home subdistrict code.
    pub subdistrict: String,
}

/// One agency's part of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartOut {
    /// Agency.
    pub agency: Agency,
    /// Where the part stands.
    pub status: PartStatus,
    /// The unit serving it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// ISO time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_at: Option<String>,
    /// ISO time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrived_at: Option<String>,
    /// ISO time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub source: Source,
    /// The reporting system's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// ISO time.
    pub arose_at: String,
    /// ISO time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<String>,
    /// ISO time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    /// ISO time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    /// How an operator closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// Why it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<CancelReason>,
    /// One per agency.
    pub parts: Vec<PartOut>,
}

/// One agency now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    /// When, ISO.
    pub at: String,
    /// Open incidents now.
    pub open_incidents: usize,
    /// Per agency key, now.
    pub now_per_agency: BTreeMap<String, AgencyNow>,
    /// Open incidents per subdistrict code, now.
    pub now_per_subdistrict: BTreeMap<String, usize>,
    /// Since midnight (per agency and per subdistrict inside).
    pub today: Metrics,
    /// Per agency key: the share of the hour's expected demand a free unit reaches within
    /// 3 minutes by road, now (the coverage monitor; issue 19).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub coverage: BTreeMap<String, CoverageNow>,
    /// Move-ups proposed and not yet accepted or dismissed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommendations: Vec<Recommendation>,
    /// Patrol coverage since the service started: the share of hot cell-hours left
    /// unvisited for over two hours (from GPS fixes where fresh, else the patrol model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_cells_unvisited_2h_share: Option<f64>,
}

/// One agency's coverage now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageNow {
    /// Share of the hour's expected demand within 3 minutes of a free unit (1 without demand).
    pub share: f64,
    /// Below it, a move-up is proposed (`live.ron`'s `move_up`; 0: never).
    pub threshold: f64,
    /// Units free now.
    pub free_units: usize,
}

/// A proposed move-up: `unit` takes over the patrol of busy unit `covering`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Its id: `POST /api/v1/recommendations/<id>/accept|dismiss`.
    pub id: u64,
    /// The agency.
    pub agency: Agency,
    /// The free unit that moves.
    pub unit: String,
    /// The busy unit whose patrol it covers.
    pub covering: String,
    /// Where it joins that patrol, WGS84.
    pub lon: f64,
    /// Where it joins that patrol, WGS84.
    pub lat: f64,
    /// The agency's coverage now.
    pub before: f64,
    /// Its coverage once the unit is there.
    pub after: f64,
    /// When it was first proposed, ISO.
    pub proposed_at: String,
}

/// One message of `GET /api/v1/stream`. The service writes borrowed data; clients read owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamMessage<'a> {
    /// Everything, as of view `seq`.
    Snapshot {
        /// View number.
        seq: u64,
        /// Calendar time.
        at: Cow<'a, str>,
        /// Units.
        units: Cow<'a, [UnitOut]>,
        /// Incidents: open, and closed in the last day.
        incidents: Cow<'a, [IncidentOut]>,
        /// KPIs.
        kpis: Cow<'a, Kpis>,
    },
    /// What changed from view `base` to view `seq`.
    Delta {
        /// View number.
        seq: u64,
        /// The view it applies to.
        base: u64,
        /// Calendar time.
        at: Cow<'a, str>,
        /// Units whose state or position changed.
        units: Vec<Cow<'a, UnitOut>>,
        /// Incidents new or changed.
        incidents: Vec<Cow<'a, IncidentOut>>,
        /// Incidents no longer listed (retired a day after closing).
        removed: Vec<u32>,
        /// KPIs, when they changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kpis: Option<Cow<'a, Kpis>>,
        /// Ids of the decisions explained since the base view (`GET
        /// /api/v1/incidents/<id>/decisions` gives the records).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        decisions: Vec<u64>,
    },
}

/// A client's copy of the service's state, kept current by the stream's messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mirror {
    /// The view number it holds (0: none yet).
    pub seq: u64,
    /// Calendar time of that view.
    pub at: String,
    /// Units, in the service's order.
    pub units: Vec<UnitOut>,
    /// Incidents by number.
    pub incidents: BTreeMap<u32, IncidentOut>,
    /// KPIs, once known.
    pub kpis: Option<Kpis>,
}

/// Why a stream message cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The view the client holds.
    pub have: u64,
    /// The view the delta applies to.
    pub base: u64,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a delta from view {} arrived while holding view {}",
            self.base, self.have
        )
    }
}

impl std::error::Error for Gap {}

impl Mirror {
    /// Applies one message; a delta must start from the view held (else the client
    /// reconnects with `?since=` and gets what it misses, or a snapshot).
    pub fn apply(&mut self, message: StreamMessage<'_>) -> Result<(), Gap> {
        match message {
            StreamMessage::Snapshot {
                seq,
                at,
                units,
                incidents,
                kpis,
            } => {
                *self = Mirror {
                    seq,
                    at: at.into_owned(),
                    units: units.into_owned(),
                    incidents: incidents.iter().map(|i| (i.id, i.clone())).collect(),
                    kpis: Some(kpis.into_owned()),
                };
            }
            StreamMessage::Delta {
                seq,
                base,
                at,
                units,
                incidents,
                removed,
                kpis,
                ..
            } => {
                if base != self.seq {
                    return Err(Gap {
                        have: self.seq,
                        base,
                    });
                }
                for u in units {
                    match self.units.iter_mut().find(|x| x.id == u.id) {
                        Some(x) => *x = u.into_owned(),
                        None => self.units.push(u.into_owned()),
                    }
                }
                for i in incidents {
                    self.incidents.insert(i.id, i.into_owned());
                }
                for id in removed {
                    self.incidents.remove(&id);
                }
                if let Some(k) = kpis {
                    self.kpis = Some(k.into_owned());
                }
                self.seq = seq;
                self.at = at.into_owned();
            }
        }
        Ok(())
    }
}

/// The expected peak of one agency's queue in a projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// Most parts waiting at once.
    pub parts: usize,
    /// When first reached (ISO 8601).
    pub at: String,
}

/// The answer to `POST /api/v1/forks`: where the district would stand if nothing changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// From (now), ISO 8601.
    pub from: String,
    /// To, ISO 8601.
    pub until: String,
    /// The seed of the drawn incidents.
    pub seed: u64,
    /// Incidents open at the end.
    pub open_at_end: usize,
    /// Per agency key, the longest queue and when.
    pub peak_queue: BTreeMap<String, Peak>,
    /// The day's KPIs (docs/kpis.md, since the district's midnight) as they would stand at
    /// the end: what happened so far, then the projection.
    pub kpis: Metrics,
}

/// Every 4xx/5xx answer's body: why, and the field at fault (a JSON path) when one is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// Why, in words.
    pub error: String,
    /// The field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, lon: f64) -> UnitOut {
        UnitOut {
            id: id.into(),
            agency: Agency::Police,
            mode: Mode::Foot,
            status: UnitState::Available,
            lon,
            lat: 31.25,
            position_source: PositionSource::Model,
            incident: None,
            subdistrict: "310110012".into(),
        }
    }

    fn kpis(open: usize) -> Kpis {
        Kpis {
            at: "2026-11-23T10:00:00.000+08:00".into(),
            open_incidents: open,
            now_per_agency: BTreeMap::new(),
            now_per_subdistrict: BTreeMap::new(),
            today: Metrics::default(),
            coverage: BTreeMap::new(),
            recommendations: Vec::new(),
            hot_cells_unvisited_2h_share: None,
        }
    }

    #[test]
    fn a_mirror_follows_snapshot_and_deltas_and_refuses_a_gap() {
        let units = vec![unit("a", 121.5), unit("b", 121.6)];
        let snap = StreamMessage::Snapshot {
            seq: 4,
            at: "t4".into(),
            units: Cow::Borrowed(&units),
            incidents: Cow::Owned(vec![]),
            kpis: Cow::Owned(kpis(0)),
        };
        // Over the wire and back, as a client receives it.
        let text = serde_json::to_string(&snap).unwrap();
        let back: StreamMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, snap);
        let mut m = Mirror::default();
        m.apply(back).unwrap();
        assert_eq!((m.seq, m.units.len()), (4, 2));
        let moved = unit("b", 121.7);
        let delta = StreamMessage::Delta {
            seq: 5,
            base: 4,
            at: "t5".into(),
            units: vec![Cow::Borrowed(&moved)],
            incidents: vec![],
            removed: vec![],
            kpis: Some(Cow::Owned(kpis(1))),
            decisions: vec![7, 8],
        };
        let text = serde_json::to_string(&delta).unwrap();
        assert!(text.contains(r#""decisions":[7,8]"#), "{text}");
        m.apply(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(m.units[1].lon, 121.7);
        assert_eq!(m.kpis.as_ref().unwrap().open_incidents, 1);
        let stale = StreamMessage::Delta {
            seq: 9,
            base: 8,
            at: "t9".into(),
            units: vec![],
            incidents: vec![],
            removed: vec![],
            kpis: None,
            decisions: vec![],
        };
        assert_eq!(m.apply(stale), Err(Gap { have: 5, base: 8 }));
        assert_eq!(m.seq, 5, "a refused delta changes nothing");
    }
}
