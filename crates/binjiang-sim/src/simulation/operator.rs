//! What operators do to incidents, from the wall or the live service: acknowledge one,
//! send another unit for one agency's part, or close it. Each carries who did it and why, is
//! checked, recorded in the input log, logged as an event, and leaves units and queues
//! consistent. A refusal says why in words an operator can act on.

use super::dispatch::Release;
use super::incident::IncidentStatus;
use super::Simulation;
use crate::event::Name;
use crate::event::{CancelReason, What, WithdrawReason};
use crate::source::{Input, InputRecord};
use binjiang_scene::{Agency, Mode};
use serde::{Deserialize, Serialize};

/// Who acts, and why: every command carries both into the input log.
#[derive(Debug, Clone, Copy)]
pub struct Operator<'a> {
    /// The operator's identity (login, badge number).
    pub id: &'a str,
    /// Why, in their words.
    pub reason: &'a str,
}

/// An operator's command as recorded in the input log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Acknowledge an incident.
    Acknowledge {
        /// Incident number.
        incident: u32,
    },
    /// Send a unit for an agency's part.
    Reassign {
        /// Incident number.
        incident: u32,
        /// The part's agency.
        agency: Agency,
        /// The unit sent.
        unit: String,
    },
    /// Close an incident now.
    Close {
        /// Incident number.
        incident: u32,
        /// How it was handled, in the operator's words (a CAD disposition).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disposition: Option<String>,
    },
    /// Cancel an incident: a duplicate or a false alarm.
    Cancel {
        /// Incident number.
        incident: u32,
        /// Why.
        why: CancelReason,
    },
    /// Reopen a closed (not yet retired) incident: every part is dispatched again.
    Reopen {
        /// Incident number.
        incident: u32,
    },
    /// A free unit takes over a busy unit's patrol (an accepted move-up).
    MoveUp {
        /// The free unit.
        unit: String,
        /// The busy unit whose patrol it covers.
        covering: String,
    },
}

/// Why an operator's action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    /// No such incident.
    #[error("there is no incident #{0}")]
    NoIncident(u32),
    /// It is not open (not yet reported, or already closed).
    #[error("incident #{0} is not open")]
    NotOpen(u32),
    /// Only a closed incident can be reopened.
    #[error("incident #{0} is not closed")]
    NotClosed(u32),
    /// It has no unfinished part for that agency.
    #[error("incident #{0} has no unfinished part for {1}")]
    NoPart(u32, Agency),
    /// The unit cannot take it: wrong agency, off duty, or busy.
    #[error("unit #{0} is not a free {1} unit")]
    UnitUnavailable(u32, Agency),
    /// A move-up that cannot be made.
    #[error("unit \"{unit}\" cannot move up: {why}")]
    CannotMoveUp {
        /// The unit asked to move.
        unit: String,
        /// Why not.
        why: String,
    },
    /// No road leads from the unit to the incident in its mode.
    #[error("unit \"{unit}\" cannot reach incident #{incident}: no {mode} route from where it is (water, one-way streets or no road within reach)")]
    Unreachable {
        /// The unit's id.
        unit: String,
        /// Incident number.
        incident: u32,
        /// The unit's mode.
        mode: Mode,
    },
}

impl Simulation {
    fn open_incident(&self, i: u32) -> Result<(), OperatorError> {
        match self.incidents.get(i).map(|inc| inc.status) {
            None => Err(OperatorError::NoIncident(i)),
            Some(IncidentStatus::Open) => Ok(()),
            Some(_) => Err(OperatorError::NotOpen(i)),
        }
    }

    fn record(&mut self, by: &Operator, command: Command) {
        self.inputs.push(InputRecord {
            t: self.now(),
            input: Input::Command {
                operator: by.id.to_owned(),
                reason: by.reason.to_owned(),
                command,
            },
        });
    }

    /// Marks an open incident as seen by an operator (logged once).
    pub fn acknowledge(&mut self, i: u32, by: &Operator) -> Result<(), OperatorError> {
        self.open_incident(i)?;
        self.record(by, Command::Acknowledge { incident: i });
        let now = self.now();
        let inc = self.incident_mut(i);
        if inc.acknowledged_at.is_none() {
            inc.acknowledged_at = Some(now);
            let p = inc.position;
            self.log(
                p,
                What::Acknowledged {
                    incident: i,
                    operator: by.id.into(),
                },
            );
        }
        Ok(())
    }

    /// Sends free unit `u` for `agency`'s part of incident `i`, if a road leads there; the
    /// unit serving it now (if any) goes back to patrol, and a queued part leaves the queue.
    pub fn reassign(
        &mut self,
        i: u32,
        agency: Agency,
        u: u32,
        by: &Operator,
    ) -> Result<(), OperatorError> {
        self.open_incident(i)?;
        let k = self
            .inc(i)
            .needs
            .iter()
            .position(|n| n.agency == agency && n.finished_at.is_none())
            .ok_or(OperatorError::NoPart(i, agency))?;
        let unit = self
            .units
            .get(u as usize)
            .filter(|unit| unit.agency == agency && unit.available())
            .ok_or(OperatorError::UnitUnavailable(u, agency))?;
        let (mode, from, id) = (unit.mode, unit.position(self.now()), unit.id.to_string());
        let route = self.router.route(mode, from, self.inc(i).position).ok_or(
            OperatorError::Unreachable {
                unit: id.clone(),
                incident: i,
                mode,
            },
        )?;
        self.record(
            by,
            Command::Reassign {
                incident: i,
                agency,
                unit: id,
            },
        );
        self.explain(
            i,
            k,
            Some((u, route.duration())),
            Some(crate::explain::Rule::Operator),
            None,
        );
        match self.inc(i).needs[k].unit {
            Some(old) => {
                self.release(old, Release::Reassigned(by.id.into()));
                self.free_unit(old);
            }
            None => self.withdraw(i, agency, WithdrawReason::Reassigned),
        }
        self.assign(u, i, k, route);
        Ok(())
    }

    /// Closes an open incident now: units still on it finish and are free again, and its
    /// queued parts leave the queue.
    pub fn close(&mut self, i: u32, by: &Operator) -> Result<(), OperatorError> {
        self.close_as(i, None, by)
    }

    /// Closes an open incident now with a disposition (how it was handled).
    pub fn close_as(
        &mut self,
        i: u32,
        disposition: Option<&str>,
        by: &Operator,
    ) -> Result<(), OperatorError> {
        self.open_incident(i)?;
        self.record(
            by,
            Command::Close {
                incident: i,
                disposition: disposition.map(str::to_owned),
            },
        );
        self.end_incident(i, by, disposition.map(Name::from), None);
        Ok(())
    }

    /// Cancels an open incident (a duplicate or a false alarm): like closing, but the log
    /// says why so that handled work and noise are counted apart.
    pub fn cancel(
        &mut self,
        i: u32,
        why: CancelReason,
        by: &Operator,
    ) -> Result<(), OperatorError> {
        self.open_incident(i)?;
        self.record(by, Command::Cancel { incident: i, why });
        self.end_incident(i, by, None, Some(why));
        Ok(())
    }

    /// Reopens a closed incident that is still held (not retired): its parts are reset and
    /// dispatched again, as if newly reported.
    pub fn reopen(&mut self, i: u32, by: &Operator) -> Result<(), OperatorError> {
        match self.incidents.get(i).map(|inc| inc.status) {
            None => return Err(OperatorError::NoIncident(i)),
            Some(IncidentStatus::Closed) => {}
            Some(_) => return Err(OperatorError::NotClosed(i)),
        }
        self.record(by, Command::Reopen { incident: i });
        let inc = self.incident_mut(i);
        inc.status = IncidentStatus::Open;
        inc.closed_at = None;
        inc.disposition = None;
        inc.closed_by = None;
        inc.cancelled = None;
        inc.reopened += 1;
        for n in &mut inc.needs {
            n.unit = None;
            n.dispatched_at = None;
            n.arrived_at = None;
            n.finished_at = None;
        }
        let (p, parts) = (inc.position, inc.needs.len());
        self.log(
            p,
            What::Reopened {
                incident: i,
                operator: by.id.into(),
            },
        );
        for k in 0..parts {
            self.dispatch_need(i, k);
        }
        Ok(())
    }

    /// Ends an open incident now: units still on it are released and free again, queued
    /// parts withdrawn, every part finished.
    fn end_incident(
        &mut self,
        i: u32,
        by: &Operator,
        disposition: Option<Name>,
        cancelled: Option<CancelReason>,
    ) {
        let serving: Vec<u32> = self
            .inc(i)
            .needs
            .iter()
            .enumerate()
            .filter(|(_, n)| n.finished_at.is_none())
            .filter_map(|(k, n)| {
                n.unit
                    .filter(|u| self.units[*u as usize].job == Some((i, k)))
            })
            .collect();
        for u in &serving {
            self.release(*u, Release::Closed);
        }
        let waiting: Vec<Agency> = self
            .inc(i)
            .needs
            .iter()
            .filter(|n| n.finished_at.is_none() && n.unit.is_none())
            .map(|n| n.agency)
            .collect();
        for a in waiting {
            self.withdraw(i, a, WithdrawReason::Closed);
        }
        let now = self.now();
        let inc = self.incident_mut(i);
        for n in inc.needs.iter_mut().filter(|n| n.finished_at.is_none()) {
            n.finished_at = Some(now);
        }
        inc.status = IncidentStatus::Closed;
        inc.closed_at = Some(now);
        inc.disposition = disposition.clone();
        inc.closed_by = Some(by.id.into());
        inc.cancelled = cancelled;
        let p = inc.position;
        self.log(
            p,
            What::Closed {
                incident: i,
                operator: Some(by.id.into()),
                disposition,
                cancelled,
            },
        );
        for u in serving {
            self.free_unit(u);
        }
    }

    /// Takes a queued part out of the queue without dispatch sending anyone.
    fn withdraw(&mut self, i: u32, agency: Agency, reason: WithdrawReason) {
        self.leave_queue(i, agency, || What::Withdrawn {
            incident: i,
            agency,
            reason,
        });
    }
}

/// Why an input log could not be replayed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// A report the run accepted is refused now.
    #[error("input {index} (t = {t} s): report refused: {error}")]
    Report {
        /// Its place in the log.
        index: usize,
        /// When it was accepted.
        t: f64,
        /// Why.
        error: crate::source::ReportError,
    },
    /// A command the run accepted is refused now.
    #[error("input {index} (t = {t} s): command refused: {error}")]
    Command {
        /// Its place in the log.
        index: usize,
        /// When it was accepted.
        t: f64,
        /// Why.
        error: OperatorError,
    },
    /// A crew status the run accepted is refused now.
    #[error("input {index} (t = {t} s): crew status refused: {error}")]
    Status {
        /// Its place in the log.
        index: usize,
        /// When it was accepted.
        t: f64,
        /// Why.
        error: CrewStatusError,
    },
    /// A position fix the run accepted is refused now.
    #[error("input {index} (t = {t} s): position fix refused: {error}")]
    Fix {
        /// Its place in the log.
        index: usize,
        /// When it was accepted.
        t: f64,
        /// Why.
        error: FixError,
    },
    /// A command names a unit the scene does not have.
    #[error("input {index}: no unit \"{unit}\" in the scene")]
    NoUnit {
        /// Its place in the log.
        index: usize,
        /// The unit id.
        unit: String,
    },
}

impl Simulation {
    /// Applies a saved input log (reports and operators' commands, as
    /// [`Simulation::inputs`] gave them) to a simulation set up like the one that wrote it,
    /// each at the time it was accepted, then advances to `until`. The simulation being
    /// deterministic, this resumes the saved run exactly: its event log is the original's,
    /// byte for byte. The log is plain JSON, so a run is saved by saving its inputs.
    pub fn replay(&mut self, inputs: &[InputRecord], until: f64) -> Result<(), ReplayError> {
        for (index, record) in inputs.iter().enumerate() {
            self.advance_to(record.t);
            let t = record.t;
            match &record.input {
                Input::Report { report, .. } => {
                    self.report(report.clone())
                        .map_err(|error| ReplayError::Report { index, t, error })?;
                }
                Input::Command {
                    operator,
                    reason,
                    command,
                } => {
                    let by = Operator {
                        id: operator,
                        reason,
                    };
                    let done = match command {
                        Command::Acknowledge { incident } => self.acknowledge(*incident, &by),
                        Command::Close {
                            incident,
                            disposition,
                        } => self.close_as(*incident, disposition.as_deref(), &by),
                        Command::Cancel { incident, why } => self.cancel(*incident, *why, &by),
                        Command::Reopen { incident } => self.reopen(*incident, &by),
                        Command::MoveUp { unit, covering } => self.move_up(unit, covering, &by),
                        Command::Reassign {
                            incident,
                            agency,
                            unit,
                        } => {
                            let u = self.unit_index(unit).ok_or_else(|| ReplayError::NoUnit {
                                index,
                                unit: unit.clone(),
                            })?;
                            self.reassign(*incident, *agency, u, &by)
                        }
                    };
                    done.map_err(|error| ReplayError::Command { index, t, error })?;
                }
                Input::Status { unit, status } => {
                    self.crew_status(unit, *status)
                        .map_err(|error| ReplayError::Status { index, t, error })?;
                }
                Input::Fix { unit, position } => {
                    self.fix(unit, *position)
                        .map_err(|error| ReplayError::Fix { index, t, error })?;
                }
            }
        }
        self.advance_to(until);
        Ok(())
    }
}

/// Why a unit's position fix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixError {
    /// No unit with that id.
    #[error("unit: no unit \"{0}\" in the scene")]
    NoUnit(String),
    /// The position is not a pair of finite numbers.
    #[error("position: must be finite numbers")]
    NotFinite,
}

impl Simulation {
    /// Takes a GPS fix of unit `unit` at local position `p`, now: while the fix is fresh
    /// (see [`super::unit::FIX_FRESH_S`]) a patrolling unit is where the fix says, for
    /// dispatch and for every view, not where its patrol model would put it.
    pub fn fix(&mut self, unit: &str, p: [f64; 2]) -> Result<(), FixError> {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return Err(FixError::NotFinite);
        }
        let u = self
            .unit_index(unit)
            .ok_or_else(|| FixError::NoUnit(unit.to_owned()))?;
        self.inputs.push(InputRecord {
            t: self.now(),
            input: Input::Fix {
                unit: unit.to_owned(),
                position: p,
            },
        });
        let now_ms = self.now_ms;
        self.units[u as usize].fix = Some((geo::Coord { x: p[0], y: p[1] }, self.now()));
        self.plan_changed(u);
        self.scheduler.push(
            now_ms + crate::scheduler::ms(super::unit::FIX_FRESH_S),
            super::Action::FixExpired {
                unit: u,
                at_ms: now_ms,
            },
        );
        Ok(())
    }

    /// A fix went stale: unless a newer one came, the unit is back on its model.
    pub(super) fn fix_expired(&mut self, u: u32, at_ms: u64) {
        let fix_ms = self.units[u as usize]
            .fix
            .map(|(_, t)| crate::scheduler::ms(t));
        if fix_ms == Some(at_ms) {
            self.units[u as usize].fix = None;
            self.plan_changed(u);
        }
    }
}

/// What a crew reports from its terminal (a CAD's mobile data terminal): it arrived, or it is
/// done — earlier or later than the model's estimate, which the twin then follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrewStatus {
    /// Arrived at its incident.
    OnScene,
    /// Done with its part; back to patrol.
    Cleared,
}

/// Why a crew's status was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrewStatusError {
    /// No unit with that id.
    #[error("unit: no unit \"{0}\" in the scene")]
    NoUnit(String),
    /// "On scene" from a unit not on its way to an incident.
    #[error("unit \"{0}\" is not on its way to an incident")]
    NotEnRoute(String),
    /// "Cleared" from a unit not at an incident.
    #[error("unit \"{0}\" is not at an incident")]
    NotOnScene(String),
}

impl Simulation {
    /// Takes a crew's status: `OnScene` makes an en-route unit arrive now (its on-scene time
    /// counts from now); `Cleared` finishes an on-scene unit's part now. The model's own
    /// arrival or finish for it is dropped.
    pub fn crew_status(&mut self, unit: &str, status: CrewStatus) -> Result<(), CrewStatusError> {
        let u = self
            .unit_index(unit)
            .ok_or_else(|| CrewStatusError::NoUnit(unit.to_owned()))? as usize;
        let state = &self.units[u];
        match status {
            CrewStatus::OnScene
                if !(state.status == super::unit::UnitStatus::EnRoute && state.job.is_some()) =>
            {
                return Err(CrewStatusError::NotEnRoute(unit.to_owned()))
            }
            CrewStatus::Cleared
                if !(state.status == super::unit::UnitStatus::OnScene && state.job.is_some()) =>
            {
                return Err(CrewStatusError::NotOnScene(unit.to_owned()))
            }
            _ => {}
        }
        self.inputs.push(InputRecord {
            t: self.now(),
            input: Input::Status {
                unit: unit.to_owned(),
                status,
            },
        });
        // A new plan version: the model's pending arrival or finish for it goes stale.
        self.units[u].version += 1;
        let version = self.units[u].version;
        match status {
            CrewStatus::OnScene => self.arrive(u as u32, version),
            CrewStatus::Cleared => self.finish(u as u32, version),
        }
        Ok(())
    }
}
