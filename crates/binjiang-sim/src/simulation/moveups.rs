//! Move-ups in the simulation: a free unit takes over a busy unit's patrol until its owner
//! is free again (see [`crate::moveup`]). An operator orders one ([`Simulation::move_up`], a
//! command in the input log); with a monitor set ([`Simulation::set_move_up`]) the
//! simulation makes the monitor's proposals itself after every dispatch.

use super::operator::{Command, Operator, OperatorError};
use super::unit::Cover;
use super::{Action, Simulation};
use crate::event::{MoveUpEnd, Name, What};
use crate::moveup::CoverageMonitor;
use std::sync::Arc;

impl Simulation {
    /// Lets the simulation make `monitor`'s move-ups itself (`--move-up auto`): after every
    /// dispatch, each watched agency below its threshold gets its best move, again until it
    /// is above or no move gains. A run without a monitor never moves a unit up.
    pub fn set_move_up(&mut self, monitor: Arc<CoverageMonitor>) {
        self.move_up = Some(monitor);
    }

    /// The monitor making move-ups, if any.
    pub fn move_up_monitor(&self) -> Option<&CoverageMonitor> {
        self.move_up.as_deref()
    }

    /// The hour of the week now (0 = Monday 00:00), from the run's weekday.
    pub fn hour_of_week(&self) -> usize {
        (usize::from(self.options.weekday) * 24 + (self.now() / 3600.0).floor() as usize) % 168
    }

    /// The unit whose patrol unit `unit` covers now, if any (a move-up in force).
    pub fn covering(&self, unit: &str) -> Option<&str> {
        let u = &self.units[self.unit_index(unit)? as usize];
        u.cover_of().map(|b| self.units[b as usize].id.as_ref())
    }

    /// An operator's move-up: free unit `unit` takes over the patrol of `covering`, a busy
    /// unit of its agency whose patrol nobody covers yet. It joins that loop at its nearest
    /// point and goes back to its own when `covering` is free again.
    pub fn move_up(
        &mut self,
        unit: &str,
        covering: &str,
        by: &Operator,
    ) -> Result<(), OperatorError> {
        let refuse = |why: String| OperatorError::CannotMoveUp {
            unit: unit.to_owned(),
            why,
        };
        let f = self
            .unit_index(unit)
            .ok_or_else(|| refuse("no such unit".into()))?;
        let b = self
            .unit_index(covering)
            .ok_or_else(|| refuse(format!("no unit \"{covering}\"")))?;
        let (fu, bu) = (&self.units[f as usize], &self.units[b as usize]);
        if f == b {
            return Err(refuse("a unit cannot cover its own patrol".into()));
        }
        if fu.agency != bu.agency {
            return Err(refuse(format!(
                "\"{covering}\" is a {} unit, not {}",
                bu.agency, fu.agency
            )));
        }
        if !fu.available() {
            return Err(refuse("it is not free (busy or off duty)".into()));
        }
        if fu.cover.is_some() {
            return Err(refuse("it already covers another patrol".into()));
        }
        if !(bu.on_duty && bu.job.is_some()) {
            return Err(refuse(format!(
                "\"{covering}\" is not busy on duty: its patrol is not empty"
            )));
        }
        if bu.covered_by.is_some() {
            return Err(refuse(format!(
                "\"{covering}\"'s patrol is covered already"
            )));
        }
        self.inputs.push(crate::source::InputRecord {
            t: self.now(),
            input: crate::source::Input::Command {
                operator: by.id.to_owned(),
                reason: by.reason.to_owned(),
                command: Command::MoveUp {
                    unit: unit.to_owned(),
                    covering: covering.to_owned(),
                },
            },
        });
        self.cover(f, b, Some(by.id.into()));
        Ok(())
    }

    /// Unit `f` leaves its loop for `b`'s.
    fn cover(&mut self, f: u32, b: u32, operator: Option<Name>) {
        let now = self.now();
        let patrol = self.units[b as usize].patrol.clone();
        let covering = self.units[b as usize].id.clone();
        self.units[b as usize].covered_by = Some(f);
        let unit = &mut self.units[f as usize];
        let own = std::mem::replace(&mut unit.patrol, patrol);
        unit.cover = Some(Cover { covering: b, own });
        let (p, id, agency) = (unit.position(now), unit.id.clone(), unit.agency);
        self.log(
            p,
            What::MovedUp {
                unit: id,
                agency,
                covering,
                operator,
            },
        );
        self.go_to_patrol(f);
    }

    /// Unit `c` stops covering and has its own loop again; the caller says where it goes.
    pub(super) fn end_cover(&mut self, c: u32, why: MoveUpEnd) {
        let now = self.now();
        let unit = &mut self.units[c as usize];
        let Some(cover) = unit.cover.take() else {
            return;
        };
        unit.patrol = cover.own;
        let (p, id, agency) = (unit.position(now), unit.id.clone(), unit.agency);
        let covering = self.units[cover.covering as usize].id.clone();
        self.units[cover.covering as usize].covered_by = None;
        self.log(
            p,
            What::MoveUpEnded {
                unit: id,
                agency,
                covering,
                why,
            },
        );
    }

    /// The owner `b` of a covered patrol is free (or off duty): its cover goes home to its
    /// own loop.
    pub(super) fn end_covers_of(&mut self, b: u32, why: MoveUpEnd) {
        if let Some(c) = self.units[b as usize].covered_by {
            self.end_cover(c, why);
            if self.units[c as usize].available() {
                self.go_to_patrol(c);
            }
        }
    }

    /// A unit of `agency` was sent: with a monitor set, review coverage once this instant's
    /// work is done.
    pub(super) fn coverage_changed(&mut self) {
        if self.move_up.is_some() && !self.coverage_review_pending {
            self.coverage_review_pending = true;
            self.scheduler.push(self.now_ms, Action::ReviewCoverage);
        }
    }

    /// Makes the monitor's move-ups.
    pub(super) fn review_coverage(&mut self) {
        self.coverage_review_pending = false;
        let Some(monitor) = self.move_up.clone() else {
            return;
        };
        // Each move takes a free unit and fills a hole: the loop ends.
        loop {
            let how = self.hour_of_week();
            let Some(m) = monitor.propose(self, how).into_iter().next() else {
                break;
            };
            let (Some(f), Some(b)) = (self.unit_index(&m.unit), self.unit_index(&m.covering))
            else {
                break;
            };
            self.cover(f, b, None);
        }
    }
}
