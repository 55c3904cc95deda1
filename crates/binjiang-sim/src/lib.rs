//! Joint-dispatch simulation of a riverfront grid: the heart of Binjiang.
//!
//! Units of six agencies patrol their loops; incidents arise from a data-driven catalogue,
//! are reported by sensors, cameras, hotlines or passing patrols, and are dispatched, one
//! ticket per incident, to the nearest available unit of every agency they need, by road
//! travel time. A discrete-event core makes runs fast and byte-for-byte reproducible.
//! The simulation knows nothing of rendering, servers or files: it advances and emits events.

pub mod catalogue;
pub mod event;
pub mod metrics;
pub mod patrol;
pub mod policy;
pub mod route;
pub mod routing;
pub mod scheduler;
pub mod simulation;

pub use catalogue::{IncidentCatalogue, IncidentType, Origin, Source};
pub use event::{Event, EventKind};
pub use metrics::Metrics;
pub use policy::{DispatchPolicy, MergedGrid, SeparateGrids};
pub use routing::Router;
pub use simulation::incident::{Incident, IncidentStatus, Need};
pub use simulation::operator::OperatorError;
pub use simulation::unit::{UnitStatus, UnitView};
pub use simulation::{SimError, SimOptions, Simulation};
