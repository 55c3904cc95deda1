//! An incident ticket: one per event, however many agencies it needs.

use crate::catalogue::Source;
use crate::event::Name;
use binjiang_scene::Agency;
use geo::Coord;
use serde::{Deserialize, Serialize};

/// One agency's part of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Need {
    /// The agency.
    pub agency: Agency,
    /// Seconds its unit will spend on scene, drawn when the incident was created (common
    /// random numbers: every policy sees the same work).
    pub on_scene_s: f64,
    /// The unit serving it, once dispatched.
    pub unit: Option<u32>,
    /// When it was dispatched, seconds.
    pub dispatched_at: Option<f64>,
    /// When the unit arrived, seconds.
    pub arrived_at: Option<f64>,
    /// When the unit finished, seconds.
    pub finished_at: Option<f64>,
}

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Generated for later: has not happened yet.
    Pending,
    /// Happened, not yet known to the control room.
    Unreported,
    /// Known, some agency not yet finished.
    Open,
    /// Every agency finished, or an operator closed it.
    Closed,
}

/// An incident ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Number, unique in the run.
    pub id: u32,
    /// Index of its type in the catalogue.
    pub incident_type: u16,
    /// Priority copied from the type (1 urgent … 4 routine).
    pub priority: u8,
    /// Position, local metres.
    #[serde(skip)]
    pub position: Coord,
    /// Grid cell, if on the grid.
    pub cell: Option<u32>,
    /// Subdistrict (area) index whose polygon holds it.
    pub area: u16,
    /// Lifecycle.
    pub status: IncidentStatus,
    /// When it happened.
    pub arose_at: f64,
    /// How it was (or will be) reported.
    pub source: Source,
    /// Seconds from arising to a sensor, camera or hotline report.
    pub report_delay_s: f64,
    /// The reporting system's id, for reports from outside.
    pub external_id: Option<Name>,
    /// When the control room learnt of it.
    pub reported_at: Option<f64>,
    /// When an operator acknowledged it.
    pub acknowledged_at: Option<f64>,
    /// When it closed.
    pub closed_at: Option<f64>,
    /// The operator who closed or cancelled it (none when its units finished it).
    pub closed_by: Option<Name>,
    /// How an operator closed it, if one did with a disposition.
    pub disposition: Option<Name>,
    /// Set when an operator cancelled it (duplicate, false alarm).
    pub cancelled: Option<crate::event::CancelReason>,
    /// How many times an operator reopened it.
    pub reopened: u32,
    /// One part per required agency.
    pub needs: Vec<Need>,
}

impl Incident {
    /// Whether every part is finished.
    pub fn all_finished(&self) -> bool {
        self.needs.iter().all(|n| n.finished_at.is_some())
    }

    /// The part of `agency`, if it needs one.
    pub fn part_of(&self, agency: Agency) -> Option<usize> {
        self.needs.iter().position(|n| n.agency == agency)
    }
}
