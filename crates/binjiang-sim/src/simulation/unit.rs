//! A unit's state through the day and where it is at any instant.

use crate::event::Name;
use crate::patrol::PatrolLoop;
use crate::route::Route;
use binjiang_scene::{Agency, Mode, Shift};
use geo::Coord;
use serde::{Deserialize, Serialize};

/// Seconds a GPS fix stays fresh: a patrolling unit with a fix younger than this is where the
/// fix says (gateways send a fix every few seconds to a minute; two missed minutes mean the
/// tracker is off and the patrol model is the better guess again).
pub const FIX_FRESH_S: f64 = 120.0;

/// What a unit is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum Destination {
    /// Rejoin the loop at this phase.
    Patrol(f64),
    /// Go home: the shift is over.
    Home,
}

/// The simulation's view of one unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UnitState {
    pub id: Name,
    pub agency: Agency,
    pub mode: Mode,
    pub home: Coord,
    pub shift: Shift,
    /// Subdistrict (area) index whose polygon holds the home base.
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
    /// The last GPS fix (position, seconds), if any.
    pub fix: Option<(Coord, f64)>,
    /// While it covers a busy unit's patrol (a move-up): that unit and its own loop.
    #[serde(default)]
    pub cover: Option<Cover>,
    /// The unit covering this one's patrol while it is busy, if any.
    #[serde(default)]
    pub covered_by: Option<u32>,
}

/// A move-up in force: the unit patrols `covering`'s loop; `own` is its own, to go back to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cover {
    pub covering: u32,
    pub own: PatrolLoop,
}

impl UnitState {
    /// A unit off duty at home, before the run starts.
    pub fn new(u: &binjiang_scene::Unit, area: u16, patrol: PatrolLoop) -> Self {
        UnitState {
            id: Name::from(u.id.as_str()),
            agency: u.agency,
            mode: u.mode,
            home: u.home,
            shift: u.shift,
            area,
            patrol,
            status: UnitStatus::OffDuty,
            patrol_epoch: 0.0,
            leg: None,
            destination: Destination::Home,
            job: None,
            on_duty: false,
            version: 0,
            fix: None,
            cover: None,
            covered_by: None,
        }
    }

    /// The unit whose patrol this one covers, if any.
    pub fn cover_of(&self) -> Option<u32> {
        self.cover.as_ref().map(|c| c.covering)
    }

    /// Where the unit is at time `t` (seconds).
    pub fn position(&self, t: f64) -> Coord {
        self.position_from(t, &mut 0)
    }

    /// As [`UnitState::position`], its route searched from `hint` (see
    /// [`crate::route::Route::position_at_from`]).
    pub fn position_from(&self, t: f64, hint: &mut u32) -> Coord {
        match self.status {
            UnitStatus::OffDuty => self.home,
            UnitStatus::Patrolling => match self.fix {
                Some((p, at)) if t >= at && t - at <= FIX_FRESH_S => p,
                _ => self.patrol.position_from(t - self.patrol_epoch, hint),
            },
            // On scene: where its way there ended.
            UnitStatus::OnScene => self
                .leg
                .as_ref()
                .map_or(self.home, |(route, _)| route.end()),
            UnitStatus::EnRoute | UnitStatus::Returning => match &self.leg {
                Some((route, start)) => route.position_at_from(t - start, hint),
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

    /// Seconds from `t` until the unit's current plan first takes it within `radius` of `p`
    /// (its loop while patrolling, its leg while moving, where it stands on scene).
    pub fn seconds_until_within(&self, t: f64, p: Coord, radius: f64) -> Option<f64> {
        match (self.status, &self.leg) {
            (UnitStatus::Patrolling, _) => {
                self.patrol
                    .seconds_until_within(t - self.patrol_epoch, p, radius)
            }
            (UnitStatus::EnRoute | UnitStatus::Returning, Some((route, start))) => route
                .first_within(t - start, p, radius)
                .map(|at| at + start - t),
            _ => {
                let q = self.position(t);
                ((q.x - p.x).powi(2) + (q.y - p.y).powi(2) <= radius * radius).then_some(0.0)
            }
        }
    }

    /// The rectangle the unit's current plan stays in, as (min, max) corners.
    pub fn plan_bounds(&self, t: f64) -> (Coord, Coord) {
        match (self.status, &self.leg) {
            (UnitStatus::Patrolling, _) => self.patrol.bounds(),
            (UnitStatus::EnRoute | UnitStatus::Returning, Some((route, _))) => route.bounds(),
            _ => {
                let q = self.position(t);
                (q, q)
            }
        }
    }

    /// The public view of the unit, as unit number `index`, at time `t`.
    pub fn view(&self, index: u32, t: f64) -> UnitView {
        let p = self.position(t);
        UnitView {
            index,
            id: self.id.to_string(),
            agency: self.agency,
            mode: self.mode,
            status: self.status,
            position: [p.x, p.y],
            incident: self.job.map(|j| j.0),
            area: self.area,
        }
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
    /// Index of the grid part (subdistrict) whose polygon holds its home base.
    pub area: u16,
}
