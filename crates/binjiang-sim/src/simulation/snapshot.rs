//! A simulation's state as data: what a live twin saves every so often so that a restart
//! replays only the inputs since, not the whole history.
//!
//! A snapshot holds everything that changes while a run goes on — units, incidents, the
//! queues, the R-trees as they are, the event queue and the random streams' positions — and
//! nothing the scene, catalogue, policy or options give (those are rebuilt as for a new
//! run). Restored into a simulation set up the same way, it continues exactly as the
//! original would: the same events, byte for byte (tested against an uninterrupted run).
//! Versioned: a snapshot of another version is refused, and its owner replays instead.

use super::incident::Incident;
use super::unit::UnitState;
use super::{Action, Simulation};
use crate::event::Name;
use crate::scheduler::Scheduler;
use binjiang_scene::{Agency, Mode};
use binjiang_spatial::{ClassedIndex, PointIndex};
use geo::Coord;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The snapshot format's version: bumped whenever [`SimState`] or what it holds changes shape
/// or meaning (4: the dispatch index and the queue are saved as their objects, not as
/// R-trees).
pub const SNAPSHOT_VERSION: u32 = 4;

/// Why a snapshot cannot be restored (its owner then replays from the start).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnapshotError {
    /// Written by another version of the format.
    #[error("snapshot version {found}, this build reads version {SNAPSHOT_VERSION}")]
    Version {
        /// The snapshot's version.
        found: u32,
    },
    /// Not taken of a simulation set up like this one (other units, other network phases).
    #[error("the snapshot does not fit this simulation: {0}")]
    Mismatch(String),
    /// Could not be taken: the simulation holds events or inputs not yet drained.
    #[error("the simulation holds {0} undrained events or inputs; drain them first")]
    Undrained(usize),
}

/// A random stream's position: its seed, stream and word.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct RngState {
    seed: [u8; 32],
    stream: u64,
    word_pos: u128,
}

impl RngState {
    fn of(rng: &ChaCha8Rng) -> Self {
        RngState {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos(),
        }
    }

    fn rng(&self) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos);
        rng
    }
}

/// What a simulation has done so far, as data (see the module's documentation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimState {
    version: u32,
    /// Unit ids in order, to check the snapshot fits the scene it is restored into.
    unit_ids: Vec<Name>,
    units: Vec<UnitState>,
    /// Incidents with their positions (which their own serialisation leaves out).
    incidents: Vec<(Incident, Coord)>,
    next_incident: u32,
    /// Sorted by id.
    external_ids: Vec<(Name, (u32, f64))>,
    queued: super::queue::WaitingParts,
    out_of_reach: BTreeSet<(u8, u32, Agency)>,
    review_pending: bool,
    index: ClassedIndex<(Agency, Mode), u32>,
    last_refresh_ms: u64,
    undiscovered: PointIndex<u32>,
    sightings: BTreeMap<u32, Option<(u64, u32, u64)>>,
    /// Sorted by unit.
    sightings_by_unit: Vec<(u32, Vec<u32>)>,
    scheduler: Scheduler<Action>,
    arrivals_rng: RngState,
    surge_rng: RngState,
    now_ms: u64,
    networks: usize,
    active_network: Option<usize>,
    /// A move-up review is scheduled for the snapshot's instant.
    #[serde(default)]
    coverage_review_pending: bool,
    /// The next explained decision's number.
    #[serde(default)]
    next_decision: u64,
}

impl SimState {
    /// The simulation time it was taken at, seconds.
    pub fn t(&self) -> f64 {
        self.now_ms as f64 / 1000.0
    }

    /// Its format's version.
    pub fn version(&self) -> u32 {
        self.version
    }
}

impl Simulation {
    /// The state so far, as data. Drain events and inputs first: they are the caller's, and
    /// a snapshot holding them would log them twice.
    pub fn snapshot(&self) -> Result<SimState, SnapshotError> {
        let undrained = self.log.len() + self.inputs.len() + self.decisions.len();
        if undrained > 0 {
            return Err(SnapshotError::Undrained(undrained));
        }
        let mut external_ids: Vec<(Name, (u32, f64))> = self
            .external_ids
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        external_ids.sort_by(|a, b| a.0.cmp(&b.0));
        let mut sightings_by_unit: Vec<(u32, Vec<u32>)> = self
            .sightings_by_unit
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        sightings_by_unit.sort_by_key(|(k, _)| *k);
        Ok(SimState {
            version: SNAPSHOT_VERSION,
            unit_ids: self.units.iter().map(|u| u.id.clone()).collect(),
            units: self.units.clone(),
            incidents: self
                .incidents
                .values()
                .map(|i| (i.clone(), i.position))
                .collect(),
            next_incident: self.next_incident,
            external_ids,
            queued: self.queued.clone(),
            out_of_reach: self.out_of_reach.clone(),
            review_pending: self.review_pending,
            index: self.index.clone(),
            last_refresh_ms: self.last_refresh_ms,
            undiscovered: self.undiscovered.clone(),
            sightings: self.sightings.clone(),
            sightings_by_unit,
            scheduler: self.scheduler.clone(),
            arrivals_rng: RngState::of(&self.arrivals_rng),
            surge_rng: RngState::of(&self.surge_rng),
            now_ms: self.now_ms,
            networks: self.networks.len(),
            active_network: self.active_network,
            coverage_review_pending: self.coverage_review_pending,
            next_decision: self.next_decision,
        })
    }

    /// Continues from `state`, taken of a simulation set up like this one (same scene,
    /// catalogue, options and policy). This one's own progress is replaced; if the network
    /// phase in force differs, its router is swapped as the event loop would have.
    pub fn restore(&mut self, state: SimState) -> Result<(), SnapshotError> {
        if state.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version {
                found: state.version,
            });
        }
        let ids: Vec<&Name> = self.units.iter().map(|u| &u.id).collect();
        if state.unit_ids.iter().collect::<Vec<_>>() != ids || state.units.len() != self.units.len()
        {
            return Err(SnapshotError::Mismatch(format!(
                "{} units in the snapshot, {} here, or in another order",
                state.units.len(),
                self.units.len()
            )));
        }
        if state.networks != self.networks.len() {
            return Err(SnapshotError::Mismatch(format!(
                "{} network phases in the snapshot, {} here",
                state.networks,
                self.networks.len()
            )));
        }
        if state.active_network != self.active_network {
            self.swap_network(state.active_network);
        }
        self.units = state.units;
        self.incidents = state
            .incidents
            .into_iter()
            .map(|(mut i, p)| {
                i.position = p;
                (i.id, i)
            })
            .collect();
        self.next_incident = state.next_incident;
        self.external_ids = state.external_ids.into_iter().collect();
        self.queued = state.queued;
        self.out_of_reach = state.out_of_reach;
        self.review_pending = state.review_pending;
        self.index = state.index;
        self.last_refresh_ms = state.last_refresh_ms;
        self.undiscovered = state.undiscovered;
        self.sightings = state.sightings;
        self.sightings_by_unit = state.sightings_by_unit.into_iter().collect();
        self.measure_extents();
        self.scheduler = state.scheduler;
        self.arrivals_rng = state.arrivals_rng.rng();
        self.surge_rng = state.surge_rng.rng();
        self.now_ms = state.now_ms;
        self.coverage_review_pending = state.coverage_review_pending;
        self.next_decision = state.next_decision;
        self.log.clear();
        self.inputs.clear();
        Ok(())
    }
}
