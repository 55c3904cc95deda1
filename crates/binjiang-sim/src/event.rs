//! What happened, when: the simulation's only output. Views and metrics read these.

use crate::catalogue::Source;
use binjiang_scene::Agency;
use serde::Serialize;

/// Kinds of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An incident happened (nobody knows yet unless a sensor sees it at once).
    Arose,
    /// The control room learnt of it (sensor, camera, hotline, or a patrol found it).
    Reported,
    /// An agency's part of an incident waits: no unit may take it now.
    Queued,
    /// A unit was sent.
    Dispatched,
    /// A unit reached the scene.
    Arrived,
    /// A unit finished its part.
    Finished,
    /// Every required agency finished: the ticket is closed.
    Closed,
    /// A unit was taken off a lower-priority job for an urgent one.
    Preempted,
    /// A unit came on duty.
    ShiftStarted,
    /// A unit's shift ended (it goes home once free).
    ShiftEnded,
    /// A unit is back on its patrol loop.
    BackOnPatrol,
    /// A unit reached home after its shift.
    OffDuty,
    /// An operator acknowledged an incident.
    Acknowledged,
    /// An operator took a unit off an incident part to send another.
    Reassigned,
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Simulation seconds since the scene's midnight (millisecond resolution).
    pub t: f64,
    /// What happened.
    pub kind: EventKind,
    /// The incident, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<u32>,
    /// Index of the incident type (in the catalogue), on `Arose`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_type: Option<u16>,
    /// How it was reported, on `Reported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The unit (index in the scene's unit list), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<u32>,
    /// The agency concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<Agency>,
    /// Grid cell of the incident, on `Arose` (none when off the grid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<u32>,
    /// Where, local metres east of the origin.
    pub x: f64,
    /// Where, local metres north of the origin.
    pub y: f64,
}

impl Event {
    /// An event of `kind` at `t` and position, with no ids yet.
    pub fn at(t: f64, kind: EventKind, pos: geo::Coord) -> Self {
        Event {
            t,
            kind,
            incident: None,
            incident_type: None,
            source: None,
            unit: None,
            agency: None,
            cell: None,
            x: pos.x,
            y: pos.y,
        }
    }

    /// Sets the incident.
    pub fn incident(mut self, id: u32) -> Self {
        self.incident = Some(id);
        self
    }

    /// Sets the unit and its agency.
    pub fn unit(mut self, id: u32, agency: Agency) -> Self {
        self.unit = Some(id);
        self.agency = Some(agency);
        self
    }

    /// Sets the agency alone.
    pub fn agency(mut self, agency: Agency) -> Self {
        self.agency = Some(agency);
        self
    }
}
