//! What happened, when: the simulation's only output. Views, metrics and services read these.
//!
//! Like A/B Street's `sim/src/events.rs`, an event is an enum whose variants carry their own
//! data, with stable ids (incident numbers, unit ids and type keys as the scene and catalogue
//! spell them, external ids of reports), so a log can be read back, streamed to a wall, or
//! compared between runs without the simulation that wrote it. The JSON Lines form is
//! documented in `docs/events.md`.

use crate::catalogue::Source;
use binjiang_scene::Agency;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A stable name (unit id, type key, subdistrict code, cell id) shared cheaply by events.
pub type Name = Arc<str>;

/// Why a part of an incident waits in the queue: a planner reads these to tell "not enough
/// units" from "units too far" from "nobody can get there at all".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    /// Every unit the policy allows is busy or off duty.
    NoUnitFree,
    /// A free unit exists, but none could arrive within the agency's maximum travel time.
    BeyondMaxTravel,
    /// No free unit has a road there (across water, against one-way streets, off the network).
    Unreachable,
    /// Its unit was taken for an urgent incident.
    Preempted,
}

/// Why a queued part left the queue without a unit being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawReason {
    /// An operator closed the incident.
    Closed,
    /// An operator sent a unit of their choice.
    Reassigned,
}

pub use binjiang_protocol::words::CancelReason;

/// Why a move-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveUpEnd {
    /// The patrol's owner is free again: the cover goes back to its own loop.
    OwnerFree,
    /// The patrol's owner went off duty.
    OwnerOffDuty,
    /// The cover was sent to a job.
    Dispatched,
    /// The cover's shift ended.
    ShiftEnded,
}

/// One event of the log: when, where (local metres), and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Simulation seconds since the scene's midnight (millisecond resolution).
    pub t: f64,
    /// Where, local metres east of the origin.
    pub x: f64,
    /// Where, local metres north of the origin.
    pub y: f64,
    /// What happened.
    #[serde(flatten)]
    pub what: What,
}

/// What happened, with the data of that kind of event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// An incident happened (nobody knows yet unless a sensor sees it at once).
    Arose {
        /// Incident number (its index in the run).
        incident: u32,
        /// Catalogue key of its type.
        incident_type: Name,
        /// 1 urgent … 4 routine.
        priority: u8,
        /// The agencies it needs, one part each.
        agencies: Vec<Agency>,
        /// Code of the subdistrict whose polygon holds it (nearest part off the grid).
        subdistrict: Name,
        /// Grid cell id, if on the grid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cell: Option<Name>,
        /// The reporting system's id, for reports from outside.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<Name>,
    },
    /// The control room learnt of it (sensor, camera, hotline, or a unit passing by).
    Reported {
        /// Incident number.
        incident: u32,
        /// How.
        source: Source,
        /// The unit that came across it, for patrol discoveries.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finder: Option<Name>,
    },
    /// An agency's part waits for a unit.
    Queued {
        /// Incident number.
        incident: u32,
        /// The agency whose part waits.
        agency: Agency,
        /// Why it waits.
        reason: QueueReason,
    },
    /// A queued part left the queue because a unit was sent (a `Dispatched` follows).
    Dequeued {
        /// Incident number.
        incident: u32,
        /// The agency.
        agency: Agency,
    },
    /// A queued part left the queue with no unit sent by dispatch.
    Withdrawn {
        /// Incident number.
        incident: u32,
        /// The agency.
        agency: Agency,
        /// Why.
        reason: WithdrawReason,
    },
    /// A unit was sent.
    Dispatched {
        /// Incident number.
        incident: u32,
        /// The unit's agency.
        agency: Agency,
        /// The unit's id.
        unit: Name,
        /// Road travel time expected, seconds.
        eta_s: f64,
    },
    /// A unit reached the scene.
    Arrived {
        /// Incident number.
        incident: u32,
        /// The unit's agency.
        agency: Agency,
        /// The unit's id.
        unit: Name,
    },
    /// A unit finished its part.
    Finished {
        /// Incident number.
        incident: u32,
        /// The unit's agency.
        agency: Agency,
        /// The unit's id.
        unit: Name,
    },
    /// The ticket is closed: every required agency finished, or an operator closed it.
    Closed {
        /// Incident number.
        incident: u32,
        /// The operator who closed it early, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operator: Option<Name>,
        /// How the operator closed it (a CAD disposition: "resolved", "advice given" …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disposition: Option<Name>,
        /// Set when an operator cancelled it instead: a duplicate or a false alarm.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cancelled: Option<CancelReason>,
    },
    /// An operator reopened a closed incident: every part is dispatched again.
    Reopened {
        /// Incident number.
        incident: u32,
        /// Who reopened it.
        operator: Name,
    },
    /// A unit was taken off a less urgent job for an urgent one (its part re-queues).
    Preempted {
        /// The incident it was taken off.
        incident: u32,
        /// The unit's agency.
        agency: Agency,
        /// The unit's id.
        unit: Name,
    },
    /// An operator took a unit off an incident part to send another.
    Reassigned {
        /// Incident number.
        incident: u32,
        /// The unit's agency.
        agency: Agency,
        /// The unit taken off.
        unit: Name,
        /// Who decided.
        operator: Name,
    },
    /// An operator acknowledged an incident.
    Acknowledged {
        /// Incident number.
        incident: u32,
        /// Who.
        operator: Name,
    },
    /// A unit came on duty.
    ShiftStarted {
        /// The unit's id.
        unit: Name,
        /// Its agency.
        agency: Agency,
    },
    /// A unit's shift ended (it goes home once free).
    ShiftEnded {
        /// The unit's id.
        unit: Name,
        /// Its agency.
        agency: Agency,
    },
    /// A unit is back on its patrol loop.
    BackOnPatrol {
        /// The unit's id.
        unit: Name,
        /// Its agency.
        agency: Agency,
    },
    /// A unit reached home after its shift.
    OffDuty {
        /// The unit's id.
        unit: Name,
        /// Its agency.
        agency: Agency,
    },
    /// A free unit left its patrol to cover a busy unit's (a move-up).
    MovedUp {
        /// The unit that moves.
        unit: Name,
        /// Its agency.
        agency: Agency,
        /// The busy unit whose patrol it takes over.
        covering: Name,
        /// The operator who accepted it; none when the simulation's own policy moved it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operator: Option<Name>,
    },
    /// A move-up ended: the unit has its own patrol again.
    MoveUpEnded {
        /// The unit that covered.
        unit: Name,
        /// Its agency.
        agency: Agency,
        /// The unit it covered for.
        covering: Name,
        /// Why it ended.
        why: MoveUpEnd,
    },
}

/// The kind of an event without its data: for filtering and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// See [`What::Arose`].
    Arose,
    /// See [`What::Reported`].
    Reported,
    /// See [`What::Queued`].
    Queued,
    /// See [`What::Dequeued`].
    Dequeued,
    /// See [`What::Withdrawn`].
    Withdrawn,
    /// See [`What::Dispatched`].
    Dispatched,
    /// See [`What::Arrived`].
    Arrived,
    /// See [`What::Finished`].
    Finished,
    /// See [`What::Closed`].
    Closed,
    /// See [`What::Reopened`].
    Reopened,
    /// See [`What::Preempted`].
    Preempted,
    /// See [`What::Reassigned`].
    Reassigned,
    /// See [`What::Acknowledged`].
    Acknowledged,
    /// See [`What::ShiftStarted`].
    ShiftStarted,
    /// See [`What::ShiftEnded`].
    ShiftEnded,
    /// See [`What::BackOnPatrol`].
    BackOnPatrol,
    /// See [`What::OffDuty`].
    OffDuty,
    /// See [`What::MovedUp`].
    MovedUp,
    /// See [`What::MoveUpEnded`].
    MoveUpEnded,
}

impl Event {
    /// An event `what` at `t` and `pos`.
    pub fn new(t: f64, pos: geo::Coord, what: What) -> Self {
        Event {
            t,
            x: pos.x,
            y: pos.y,
            what,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match &self.what {
            What::Arose { .. } => EventKind::Arose,
            What::Reported { .. } => EventKind::Reported,
            What::Queued { .. } => EventKind::Queued,
            What::Dequeued { .. } => EventKind::Dequeued,
            What::Withdrawn { .. } => EventKind::Withdrawn,
            What::Dispatched { .. } => EventKind::Dispatched,
            What::Arrived { .. } => EventKind::Arrived,
            What::Finished { .. } => EventKind::Finished,
            What::Closed { .. } => EventKind::Closed,
            What::Reopened { .. } => EventKind::Reopened,
            What::Preempted { .. } => EventKind::Preempted,
            What::Reassigned { .. } => EventKind::Reassigned,
            What::Acknowledged { .. } => EventKind::Acknowledged,
            What::ShiftStarted { .. } => EventKind::ShiftStarted,
            What::ShiftEnded { .. } => EventKind::ShiftEnded,
            What::BackOnPatrol { .. } => EventKind::BackOnPatrol,
            What::OffDuty { .. } => EventKind::OffDuty,
            What::MovedUp { .. } => EventKind::MovedUp,
            What::MoveUpEnded { .. } => EventKind::MoveUpEnded,
        }
    }

    /// The incident concerned, if any.
    pub fn incident(&self) -> Option<u32> {
        match &self.what {
            What::Arose { incident, .. }
            | What::Reported { incident, .. }
            | What::Queued { incident, .. }
            | What::Dequeued { incident, .. }
            | What::Withdrawn { incident, .. }
            | What::Dispatched { incident, .. }
            | What::Arrived { incident, .. }
            | What::Finished { incident, .. }
            | What::Closed { incident, .. }
            | What::Reopened { incident, .. }
            | What::Preempted { incident, .. }
            | What::Reassigned { incident, .. }
            | What::Acknowledged { incident, .. } => Some(*incident),
            _ => None,
        }
    }

    /// The unit concerned (the finder of a patrol report), if any.
    pub fn unit(&self) -> Option<&str> {
        match &self.what {
            What::Dispatched { unit, .. }
            | What::Arrived { unit, .. }
            | What::Finished { unit, .. }
            | What::Preempted { unit, .. }
            | What::Reassigned { unit, .. }
            | What::ShiftStarted { unit, .. }
            | What::ShiftEnded { unit, .. }
            | What::BackOnPatrol { unit, .. }
            | What::OffDuty { unit, .. }
            | What::MovedUp { unit, .. }
            | What::MoveUpEnded { unit, .. } => Some(unit),
            What::Reported { finder, .. } => finder.as_deref(),
            _ => None,
        }
    }

    /// The agency concerned, if any.
    pub fn agency(&self) -> Option<Agency> {
        match &self.what {
            What::Queued { agency, .. }
            | What::Dequeued { agency, .. }
            | What::Withdrawn { agency, .. }
            | What::Dispatched { agency, .. }
            | What::Arrived { agency, .. }
            | What::Finished { agency, .. }
            | What::Preempted { agency, .. }
            | What::Reassigned { agency, .. }
            | What::ShiftStarted { agency, .. }
            | What::ShiftEnded { agency, .. }
            | What::BackOnPatrol { agency, .. }
            | What::OffDuty { agency, .. }
            | What::MovedUp { agency, .. }
            | What::MoveUpEnded { agency, .. } => Some(*agency),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_with_a_kind_tag() {
        let e = Event::new(
            12.5,
            geo::Coord { x: 1.0, y: -2.0 },
            What::Dispatched {
                incident: 3,
                agency: Agency::Cleaning,
                unit: "clean-1".into(),
                eta_s: 61.2,
            },
        );
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"t":12.5,"x":1.0,"y":-2.0,"kind":"dispatched","incident":3,"agency":"cleaning","unit":"clean-1","eta_s":61.2}"#
        );
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.kind(), EventKind::Dispatched);
        assert_eq!(back.unit(), Some("clean-1"));
    }
}
