//! The parts of incidents waiting for a unit, indexed for the freed unit's question: which
//! waiting part should I take?
//!
//! Under zone-first rules only a part in the unit's own subdistrict can rank in the first
//! tier, and in an overloaded city a freed unit otherwise walks past hundreds of other
//! subdistricts' parts, within the zone-first radius, that can never beat what it has found.
//! So each part is held twice: in one tree per (agency, priority) and in one per (agency,
//! priority, subdistrict). The unit's own subdistrict's parts and the others' are read from
//! the two trees and merged nearest first, each stream stopping at the bound that applies
//! to it (`QueuePick::consider` in `dispatch`).

use binjiang_scene::Agency;
use binjiang_spatial::ClassedIndex;
use serde::{Deserialize, Serialize};

/// Waiting parts, by incident and agency.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct WaitingParts {
    /// Every waiting part, by (agency, priority); keyed by (incident, agency, subdistrict).
    all: ClassedIndex<(Agency, u8), (u32, Agency, u16)>,
    /// The same parts by (agency, priority, subdistrict); keyed by (incident, agency).
    by_area: ClassedIndex<(Agency, u8, u16), (u32, Agency)>,
}

/// A waiting part found by a search: its incident and straight-line distance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub incident: u32,
    pub distance_m: f64,
    /// Where the incident is (as it was queued: its position, bit for bit).
    pub position: [f64; 2],
}

impl WaitingParts {
    /// Part `agency` of incident `i` (in subdistrict `area`, at `p`) waits with `priority`.
    pub fn insert(&mut self, i: u32, agency: Agency, area: u16, priority: u8, p: [f64; 2]) {
        self.all.set((i, agency, area), (agency, priority), p);
        self.by_area.set((i, agency), (agency, priority, area), p);
    }

    /// Part `agency` of incident `i` stops waiting; whether it was waiting.
    pub fn remove(&mut self, i: u32, agency: Agency) -> bool {
        // Its subdistrict, part of its key in `all`, is its class in `by_area`.
        let Some((_, _, area)) = self.by_area.class_of((i, agency)) else {
            return false;
        };
        self.by_area.remove((i, agency));
        self.all.remove((i, agency, area)).is_some()
    }

    /// How many of `agency`'s parts wait with `priority`.
    pub fn len_of(&self, agency: Agency, priority: u8) -> usize {
        self.all.len_of((agency, priority))
    }

    /// `agency`'s parts of `priority` in subdistrict `area`, nearest to `at` first.
    pub fn nearest_in_area(
        &self,
        agency: Agency,
        priority: u8,
        area: u16,
        at: [f64; 2],
    ) -> impl Iterator<Item = Found> + '_ {
        self.by_area
            .nearest_iter_in((agency, priority, area), at, |_| true)
            .map(move |h| Found {
                incident: h.data.0,
                distance_m: h.distance_m,
                position: h.position,
            })
    }

    /// `agency`'s parts of `priority` outside subdistrict `area` that `allowed` lets the unit
    /// serve, nearest to `at` first.
    pub fn nearest_elsewhere<'a>(
        &'a self,
        agency: Agency,
        priority: u8,
        area: u16,
        at: [f64; 2],
        allowed: impl Fn(u16) -> bool + 'a,
    ) -> impl Iterator<Item = Found> + 'a {
        self.all
            .nearest_iter_in((agency, priority), at, move |(_, _, a)| {
                *a != area && allowed(*a)
            })
            .map(|h| Found {
                incident: h.data.0,
                distance_m: h.distance_m,
                position: h.position,
            })
    }
}
