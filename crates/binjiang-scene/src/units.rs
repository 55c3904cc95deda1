//! Agencies and patrol units of the manifest, checked against the grid and the road network.

use crate::domain::{Agency, Mode};
use crate::features::check_lon_lat;
use crate::grid::MergedGrid;
use crate::manifest::{AgencySpec, LonLat, UnitSpec};
use crate::problems::{Location, Problems};
use crate::projection::LocalFrame;
use crate::road_graph::RoadGraph;
use crate::shift::Shift;
use geo::Coord;
use std::collections::HashSet;

/// A home or patrol waypoint must be at most this far from a road its unit can use.
pub const MAX_ROAD_DISTANCE_M: f64 = 30.0;

/// File name of the manifest, used in problems.
pub const MANIFEST: &str = "scene.ron";

/// A patrol unit, checked and in local metres.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Stable id.
    pub id: String,
    /// Its agency.
    pub agency: Agency,
    /// How it moves.
    pub mode: Mode,
    /// Home base, local metres.
    pub home: Coord,
    /// Daily shift.
    pub shift: Shift,
    /// Patrol loop waypoints, local metres.
    pub patrol: Vec<Coord>,
}

/// Checks the declared agencies; returns the set of usable ones.
pub(crate) fn agencies(specs: &[AgencySpec], problems: &mut Problems) -> HashSet<Agency> {
    let mut out = HashSet::new();
    for spec in specs {
        let at = Location::Item {
            kind: "agency",
            id: spec.key.clone(),
        };
        match Agency::parse(&spec.key) {
            Some(a) if !out.insert(a) => problems.error(MANIFEST, at, "declared twice"),
            Some(_) => {}
            None => problems.error(
                MANIFEST,
                at,
                format!("unknown agency (expected one of: {})", Agency::expected()),
            ),
        }
    }
    out
}

/// What a unit is checked against.
pub(crate) struct UnitContext<'a> {
    pub frame: LocalFrame,
    pub grid: &'a MergedGrid,
    pub roads: &'a RoadGraph,
    pub agencies: &'a HashSet<Agency>,
}

/// Checks every unit; only fully valid units are returned.
pub(crate) fn units(specs: &[UnitSpec], ctx: &UnitContext, problems: &mut Problems) -> Vec<Unit> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for spec in specs {
        let mut errors = Vec::new();
        if !seen.insert(spec.id.as_str()) {
            errors.push("duplicate unit id".to_owned());
        }
        if let Some(unit) = unit(spec, ctx, &mut errors) {
            if errors.is_empty() {
                out.push(unit);
            }
        }
        for e in errors {
            problems.error(
                MANIFEST,
                Location::Item {
                    kind: "unit",
                    id: spec.id.clone(),
                },
                e,
            );
        }
    }
    out
}

fn unit(spec: &UnitSpec, ctx: &UnitContext, errors: &mut Vec<String>) -> Option<Unit> {
    let agency = Agency::parse(&spec.agency);
    match agency {
        None => errors.push(format!(
            "unknown agency \"{}\" (expected one of: {})",
            spec.agency,
            Agency::expected()
        )),
        Some(a) if !ctx.agencies.contains(&a) => {
            errors.push(format!("agency \"{a}\" is not declared in `agencies`"))
        }
        Some(_) => {}
    }
    let mode = Mode::parse(&spec.mode);
    if mode.is_none() {
        errors.push(format!(
            "unknown mode \"{}\" (expected one of: {})",
            spec.mode,
            Mode::expected()
        ));
    }
    let shift = Shift::parse(&spec.shift).map_err(|e| errors.push(e)).ok();
    if spec.patrol.len() < 2 {
        errors.push(format!(
            "patrol loop has {} waypoints; it needs at least 2",
            spec.patrol.len()
        ));
    }
    let home = place(ctx, "home", spec.home, mode, errors);
    let patrol: Vec<Option<Coord>> = spec
        .patrol
        .iter()
        .enumerate()
        .map(|(i, p)| place(ctx, &format!("patrol waypoint {i}"), *p, mode, errors))
        .collect();
    Some(Unit {
        id: spec.id.clone(),
        agency: agency?,
        mode: mode?,
        home: home?,
        shift: shift?,
        patrol: patrol.into_iter().collect::<Option<Vec<_>>>()?,
    })
}

fn place(
    ctx: &UnitContext,
    what: &str,
    p: LonLat,
    mode: Option<Mode>,
    errors: &mut Vec<String>,
) -> Option<Coord> {
    if let Err(e) = check_lon_lat(p.0, p.1, &ctx.frame) {
        errors.push(format!("{what}: {e}"));
        return None;
    }
    let c = ctx.frame.to_local(p.0, p.1);
    if !ctx.grid.contains(c) {
        errors.push(format!("{what} ({}, {}) is off the merged grid", p.0, p.1));
        return None;
    }
    let mode_word = mode.map_or("any mode".to_owned(), |m| format!("{m}"));
    match ctx.roads.snap(c, mode) {
        Some(s) if s.distance_m <= MAX_ROAD_DISTANCE_M => Some(c),
        Some(s) => {
            errors.push(format!(
                "{what} ({}, {}) is {:.1} m from the nearest road open to {mode_word} (limit {MAX_ROAD_DISTANCE_M} m)",
                p.0, p.1, s.distance_m
            ));
            None
        }
        None => {
            errors.push(format!("{what}: no road open to {mode_word} in the scene"));
            None
        }
    }
}
