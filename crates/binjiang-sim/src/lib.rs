//! Joint-dispatch simulation of a riverfront grid: the heart of Binjiang.
//!
//! Units of six agencies patrol their loops; incidents arise from a data-driven catalogue (or
//! a recorded list, or reports from outside), are reported by sensors, cameras, hotlines or
//! passing units, and are dispatched, one ticket per incident, to the best available unit of
//! every agency they need by road travel time, found exactly, under a typed policy. A
//! discrete-event core makes runs fast and byte-for-byte reproducible. The simulation knows
//! nothing of rendering, servers or files: it advances and emits typed events.

mod box_cells;
pub mod catalogue;
pub mod ch;
pub mod coverage;
pub mod event;
pub mod explain;
pub mod metrics;
pub mod moveup;
pub mod patrol;
pub mod policy;
pub mod projection;
pub mod route;
pub mod routing;
pub mod scheduler;
pub mod simulation;
pub mod source;
pub mod watch;

pub use catalogue::{
    in_daily_window, next_window_start, IncidentCatalogue, IncidentType, Origin, Source, Surge,
    CATALOGUE_FILE,
};
pub use event::{
    CancelReason, Event, EventKind, MoveUpEnd, Name, QueueReason, What, WithdrawReason,
};
pub use explain::{Candidate, CandidateStatus, Decision, DecisionKind, Rule};
pub use metrics::{metrics_of, IncidentKpis, Metrics, MetricsFold, Target};
pub use moveup::{AgencyCoverage, CoverageMonitor, MoveUp, MoveUpPolicy, Reach};
pub use policy::{
    AgencyRule, DispatchPolicy, DispatchRules, MergedDispatch, PolicyKind, Rank, SeparateDispatch,
};
pub use projection::{project, Projection, QueuePeak};
pub use routing::Router;
pub use simulation::incident::{Incident, IncidentStatus, Need};
pub use simulation::network::{NetworkChange, PreparedRoads};
pub use simulation::operator::{
    Command, CrewStatus, CrewStatusError, FixError, Operator, OperatorError, ReplayError,
};
pub use simulation::snapshot::{SimState, SnapshotError, SNAPSHOT_VERSION};
pub use simulation::unit::{UnitStatus, UnitView, FIX_FRESH_S};
pub use simulation::{SimError, SimOptions, Simulation, EXTERNAL_ID_WINDOW_S, PRIORITIES};
pub use source::{parse_recorded, IncidentSource, Input, InputRecord, Place, Report, ReportError};
