//! What-if analysis for planners: scenario overlays on a scene ([`scenario`]), paired runs of
//! a base and alternative scenarios on common random numbers with the paired differences of
//! every KPI and their confidence intervals ([`compare`]), and the report files.

pub mod compare;
pub mod plots;
pub mod report;
pub mod scenario;
pub mod staffing;

pub use scenario::{Scenario, ScenarioFile};
