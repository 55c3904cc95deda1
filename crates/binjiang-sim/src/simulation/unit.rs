//! A unit's state through the day and where it is at any instant.

use crate::patrol::PatrolLoop;
use crate::route::Route;
use binjiang_scene::{Agency, Mode, Shift};
use geo::Coord;
use serde::Serialize;

/// What a unit is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    /// Not working: at home.
    OffDuty,
    /// Walking or riding its loop; available.
    Patrolling,
    /// On the way to an incident.
    EnRoute,
    /// At an incident.
    OnScene,
    /// Going back to its loop (available) or home after its shift (not available).
    Returning,
}

/// Where a returning unit is headed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Destination {
    /// Rejoin the loop at this phase.
    Patrol(f64),
    /// Go home: the shift is over.
    Home,
}

/// The simulation's view of one unit.
#[derive(Debug, Clone)]
pub(crate) struct UnitState {
    pub id: String,
    pub agency: Agency,
    pub mode: Mode,
    pub home: Coord,
    pub shift: Shift,
    /// Subdistrict (area) index of the home base.
    pub area: u16,
    pub patrol: PatrolLoop,
    pub status: UnitStatus,
    /// Loop phase 0 is at this time (seconds) while patrolling.
    pub patrol_epoch: f64,
    /// Current movement while en route or returning, with its departure time.
    pub leg: Option<(Route, f64)>,
    pub destination: Destination,
    /// (incident, need index) being served.
    pub job: Option<(u32, usize)>,
    pub on_duty: bool,
    /// Bumped on every change of plan; scheduled actions carry it to detect staleness.
    pub version: u64,
}

impl UnitState {
    /// Where the unit is at time `t` (seconds).
    pub fn position(&self, t: f64) -> Coord {
        match self.status {
            UnitStatus::OffDuty => self.home,
            UnitStatus::Patrolling => self.patrol.position(t - self.patrol_epoch),
            UnitStatus::EnRoute | UnitStatus::Returning | UnitStatus::OnScene => match &self.leg {
                Some((route, start)) => route.position_at(t - start),
                None => self.home,
            },
        }
    }

    /// Whether dispatch may pick this unit now.
    pub fn available(&self) -> bool {
        self.on_duty
            && (self.status == UnitStatus::Patrolling
                || (self.status == UnitStatus::Returning
                    && matches!(self.destination, Destination::Patrol(_))))
    }
}

/// A read-only view of a unit for displays and services.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitView {
    /// Index in the scene's unit list.
    pub index: u32,
    /// Stable id from the scene.
    pub id: String,
    /// Agency.
    pub agency: Agency,
    /// Travel mode.
    pub mode: Mode,
    /// Status now.
    pub status: UnitStatus,
    /// Position now, local metres.
    pub position: [f64; 2],
    /// Incident being served.
    pub incident: Option<u32>,
    /// Index of the grid part (subdistrict) of its home base.
    pub area: u16,
}
