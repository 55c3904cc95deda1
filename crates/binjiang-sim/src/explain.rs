//! Why each unit was sent (issue 20): for every decision that sends, or could not send, a
//! unit — dispatch, a freed unit taking queued work, discovery on patrol, preemption, an
//! operator's reassignment — one record: the rule that decided, the chosen unit with its
//! road time, the units the search ranked by road and every unit nearer as the crow flies
//! than the chosen one, each with why it was not sent. A control room overrides what it
//! does not understand; a unit 150 m away across the river that was not sent looks like a
//! mistake until the twin says it is 14 minutes by road.
//!
//! Records are made only when asked for ([`crate::Simulation::set_explain`]): the event log
//! stays as it is, and a run without them does no extra work.

use crate::event::{Name, QueueReason};
use binjiang_scene::Agency;
use serde::{Deserialize, Serialize};

/// At most this many units ranked by road are listed (the nearer-as-the-crow-flies ones come
/// on top).
pub const RANKED: usize = 10;

/// What the decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// A unit was sent.
    Dispatched,
    /// Nobody was sent: the part waits.
    Queued,
}

/// The rule that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The fastest unit by road.
    Fastest,
    /// A unit of the incident's own subdistrict within the agency's zone-first time, though a
    /// unit of another was faster.
    ZoneFirst,
    /// The unit that came across it on patrol handles it on the spot.
    Discovered,
    /// Taken off less urgent work for an urgent incident.
    Preempted,
    /// An operator chose the unit.
    Operator,
    /// Nobody sent (see `reason`).
    Queued,
}

/// Why a unit was, or was not, sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateStatus {
    /// Sent.
    Chosen,
    /// Free and allowed, but slower by road than the one sent.
    SlowerByRoad,
    /// Faster by road, but of another subdistrict while the incident's own had a unit within
    /// the zone-first time.
    OtherZoneWithinZoneFirst,
    /// Its road time is beyond the agency's maximum travel time.
    BeyondMaxTravel,
    /// No road leads there from it in its mode (water, one-way streets).
    Unreachable,
    /// On another job.
    Busy,
    /// Not on shift.
    OffDuty,
    /// The policy does not let it serve there (separate grids: another subdistrict).
    NotAllowedByPolicy,
    /// Free and faster, but the rule (discovery, preemption, an operator) chose another.
    PassedOverByRule,
}

/// One unit in a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The unit's id.
    pub unit: Name,
    /// Road seconds from where it was to the incident (`None`: not searched, or no road).
    pub eta_s: Option<f64>,
    /// Straight-line metres.
    pub crow_m: f64,
    /// Why it was or was not sent.
    pub status: CandidateStatus,
}

/// One decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Its number in the run (0, 1, …).
    pub id: u64,
    /// Simulation seconds.
    pub t: f64,
    /// The incident.
    pub incident: u32,
    /// The part's agency.
    pub agency: Agency,
    /// What it did.
    pub decision: DecisionKind,
    /// The rule that decided.
    pub rule: Rule,
    /// Why nobody was sent (`queued`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<QueueReason>,
    /// The unit sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<Candidate>,
    /// The units ranked by road (best first, up to [`RANKED`]) and every unit nearer as the
    /// crow flies than the one sent, each with its status.
    pub candidates: Vec<Candidate>,
    /// In words, for the wall and the log.
    pub text: String,
}
