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

/// Incidents not yet retired, by number. Numbers are given in order and incidents mostly
/// retire in about that order, so they are kept in a list from the oldest kept on: a lookup
/// (a dispatch makes many) is an index, where a B-tree searched a few nodes. Each is boxed,
/// so a slot left by one retired before an older one costs a word.
#[derive(Debug, Clone, Default)]
pub(crate) struct IncidentTable {
    /// The number of `slots[0]`.
    first: u32,
    slots: std::collections::VecDeque<Option<Box<Incident>>>,
    len: usize,
}

impl IncidentTable {
    fn slot(&self, id: u32) -> Option<usize> {
        id.checked_sub(self.first).map(|k| k as usize)
    }

    /// Incident `id`, unless retired.
    pub(crate) fn get(&self, id: u32) -> Option<&Incident> {
        self.slots.get(self.slot(id)?)?.as_deref()
    }

    /// Incident `id` to change, unless retired.
    pub(crate) fn get_mut(&mut self, id: u32) -> Option<&mut Incident> {
        let k = self.slot(id)?;
        self.slots.get_mut(k)?.as_deref_mut()
    }

    /// Keeps `incident` as number `id` (replacing any kept as `id`).
    pub(crate) fn insert(&mut self, id: u32, incident: Incident) {
        if self.slots.is_empty() {
            self.first = id;
        }
        while id < self.first {
            self.slots.push_front(None);
            self.first -= 1;
        }
        let k = (id - self.first) as usize;
        if k >= self.slots.len() {
            self.slots.resize(k + 1, None);
        }
        if self.slots[k].replace(Box::new(incident)).is_none() {
            self.len += 1;
        }
    }

    /// Keeps only the incidents `keep` says to keep.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Incident) -> bool) {
        for slot in &mut self.slots {
            if slot.as_deref().is_some_and(|i| !keep(i)) {
                *slot = None;
                self.len -= 1;
            }
        }
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first += 1;
        }
        while matches!(self.slots.back(), Some(None)) {
            self.slots.pop_back();
        }
    }

    /// Every incident kept, by number.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Incident> {
        self.slots.iter().filter_map(|s| s.as_deref())
    }

    /// How many are kept.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl FromIterator<(u32, Incident)> for IncidentTable {
    fn from_iter<I: IntoIterator<Item = (u32, Incident)>>(items: I) -> Self {
        let mut table = IncidentTable::default();
        for (id, incident) in items {
            table.insert(id, incident);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn incident(id: u32) -> Incident {
        Incident {
            id,
            incident_type: 0,
            priority: 1,
            position: Coord { x: 0.0, y: 0.0 },
            cell: None,
            area: 0,
            status: IncidentStatus::Pending,
            arose_at: f64::from(id),
            source: Source::Hotline110,
            report_delay_s: 0.0,
            external_id: None,
            reported_at: None,
            acknowledged_at: None,
            closed_at: None,
            closed_by: None,
            disposition: None,
            cancelled: None,
            reopened: 0,
            needs: Vec::new(),
        }
    }

    proptest! {
        /// Against a B-tree of the same incidents: the same lookups, count and order, through
        /// numbers given in order and out of it and retirements from anywhere.
        #[test]
        fn the_table_is_a_map_by_number(
            steps in proptest::collection::vec((0u8..4, 0u32..60, 0u32..5), 0..200),
        ) {
            let (mut table, mut model) = (IncidentTable::default(), BTreeMap::new());
            let mut next = 0u32;
            for (what, id, m) in steps {
                match what {
                    0 | 1 => {
                        let id = if what == 0 { next } else { id };
                        next = next.max(id + 1);
                        table.insert(id, incident(id));
                        model.insert(id, incident(id));
                    }
                    2 => {
                        let keep = |i: &Incident| !i.id.is_multiple_of(m + 2);
                        table.retain(keep);
                        model.retain(|_, i| keep(i));
                    }
                    _ => {
                        if let Some(i) = table.get_mut(id) {
                            i.reopened += 1;
                        }
                        if let Some(i) = model.get_mut(&id) {
                            i.reopened += 1;
                        }
                    }
                }
                prop_assert_eq!(table.len(), model.len());
                for id in 0..62 {
                    prop_assert_eq!(table.get(id), model.get(&id));
                }
                prop_assert!(table.values().eq(model.values()));
            }
        }
    }
}
