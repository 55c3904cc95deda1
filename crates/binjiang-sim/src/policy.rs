//! Dispatch policies: which unit may serve which incident.
//!
//! `merged-grid` is today's Yangpu: any unit serves the whole riverfront grid.
//! `separate-grids` is the world before the merge: a unit serves only the subdistrict its
//! home base is in. New policies implement [`DispatchPolicy`].

/// Decides whether a unit may be sent to an incident, by their areas (subdistrict indices).
pub trait DispatchPolicy: Send + Sync + std::fmt::Debug {
    /// The policy's name, as on the command line.
    fn name(&self) -> &'static str;

    /// Whether a unit based in `unit_area` may serve an incident in `incident_area`.
    fn may_serve(&self, unit_area: u16, incident_area: u16) -> bool;
}

/// Any unit serves the whole grid.
#[derive(Debug, Clone, Copy, Default)]
pub struct MergedGrid;

impl DispatchPolicy for MergedGrid {
    fn name(&self) -> &'static str {
        "merged-grid"
    }

    fn may_serve(&self, _: u16, _: u16) -> bool {
        true
    }
}

/// A unit serves only its home subdistrict.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeparateGrids;

impl DispatchPolicy for SeparateGrids {
    fn name(&self) -> &'static str {
        "separate-grids"
    }

    fn may_serve(&self, unit_area: u16, incident_area: u16) -> bool {
        unit_area == incident_area
    }
}

/// The policy named `name` (`merged-grid` or `separate-grids`).
pub fn by_name(name: &str) -> Option<Box<dyn DispatchPolicy>> {
    match name {
        "merged-grid" => Some(Box::new(MergedGrid)),
        "separate-grids" => Some(Box::new(SeparateGrids)),
        _ => None,
    }
}

/// Names accepted by [`by_name`].
pub const POLICY_NAMES: &[&str] = &["merged-grid", "separate-grids"];
