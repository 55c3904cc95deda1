//! What operators do to incidents, from the wall or the live service: acknowledge one,
//! send another unit for one agency's part, or close it. Each is checked, logged as an
//! event, and leaves units and queues consistent.

use super::incident::IncidentStatus;
use super::Simulation;
use crate::event::{Event, EventKind};
use binjiang_scene::Agency;

/// Why an operator's action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    /// No such incident.
    #[error("there is no incident #{0}")]
    NoIncident(u32),
    /// It is not open (not yet reported, or already closed).
    #[error("incident #{0} is not open")]
    NotOpen(u32),
    /// It has no unfinished part for that agency.
    #[error("incident #{0} has no unfinished part for {1}")]
    NoPart(u32, Agency),
    /// The unit cannot take it: wrong agency, off duty, or busy.
    #[error("unit #{0} is not a free {1} unit")]
    UnitUnavailable(u32, Agency),
}

impl Simulation {
    fn open_incident(&self, i: u32) -> Result<(), OperatorError> {
        match self.incidents.get(i as usize).map(|inc| inc.status) {
            None => Err(OperatorError::NoIncident(i)),
            Some(IncidentStatus::Open) => Ok(()),
            Some(_) => Err(OperatorError::NotOpen(i)),
        }
    }

    /// Marks an open incident as seen by an operator (logged once).
    pub fn acknowledge(&mut self, i: u32) -> Result<(), OperatorError> {
        self.open_incident(i)?;
        let now = self.now();
        let inc = &mut self.incidents[i as usize];
        if inc.acknowledged_at.is_none() {
            inc.acknowledged_at = Some(now);
            let p = inc.position;
            self.log(Event::at(now, EventKind::Acknowledged, p).incident(i));
        }
        Ok(())
    }

    /// Sends free unit `u` for `agency`'s part of incident `i`; the unit serving it now (if
    /// any) goes back to patrol, and a queued part leaves the queue.
    pub fn reassign(&mut self, i: u32, agency: Agency, u: u32) -> Result<(), OperatorError> {
        self.open_incident(i)?;
        let k = self.incidents[i as usize]
            .needs
            .iter()
            .position(|n| n.agency == agency && n.finished_at.is_none())
            .ok_or(OperatorError::NoPart(i, agency))?;
        let free = self
            .units
            .get(u as usize)
            .is_some_and(|unit| unit.agency == agency && unit.available());
        if !free {
            return Err(OperatorError::UnitUnavailable(u, agency));
        }
        match self.incidents[i as usize].needs[k].unit {
            Some(old) => {
                self.release(old, EventKind::Reassigned);
                self.free_unit(old);
            }
            None => {
                self.queued.remove((i, agency));
            }
        }
        self.assign(u, i, k);
        Ok(())
    }

    /// Closes an open incident now: units still on it finish and are free again, and its
    /// queued parts leave the queue.
    pub fn close(&mut self, i: u32) -> Result<(), OperatorError> {
        self.open_incident(i)?;
        let serving: Vec<u32> = self.incidents[i as usize]
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
            self.release(*u, EventKind::Finished);
        }
        let now = self.now();
        let agencies: Vec<Agency> = self.incidents[i as usize]
            .needs
            .iter()
            .filter(|n| n.finished_at.is_none())
            .map(|n| n.agency)
            .collect();
        for a in agencies {
            self.queued.remove((i, a));
        }
        let inc = &mut self.incidents[i as usize];
        for n in inc.needs.iter_mut().filter(|n| n.finished_at.is_none()) {
            n.finished_at = Some(now);
        }
        inc.status = IncidentStatus::Closed;
        inc.closed_at = Some(now);
        let p = inc.position;
        self.log(Event::at(now, EventKind::Closed, p).incident(i));
        for u in serving {
            self.free_unit(u);
        }
        Ok(())
    }
}
