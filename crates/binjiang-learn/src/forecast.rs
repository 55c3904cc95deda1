//! The next hours per grid cell, from a learned model: expected incidents per cell, per type
//! and per hour, with a 90 % interval — what `binjiang forecast`, the live twin's
//! `/api/v1/forecast` and the wall's forecast layer show.
//!
//! The model is read back from `model.json` (the layout `binjiang learn` writes, versioned):
//! each type's hour-of-week rates and its share of each cell. λ(cell, hour) = rate(hour of
//! the week) × share(cell), summed over types; the interval is the Poisson one of the window's
//! total in the cell (types and hours are independent Poisson counts, so their sum is one).

use crate::score::interval_90;
use crate::WEEK_H;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The layout of `model.json` this build writes and reads.
pub const MODEL_VERSION: u32 = 1;

/// What a forecast needs of `model.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelFile {
    /// Layout version.
    pub version: u32,
    /// The scene it was learned on (its manifest's name).
    pub scene: String,
    /// The local Monday 00:00 the hour-of-week profiles count from, RFC 3339.
    pub week_start: String,
    /// The grid's cell ids, in the grid's order.
    pub cells: Vec<String>,
    /// What was learned.
    pub summary: Summary,
}

/// `model.json`'s `summary` as far as a forecast reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    /// Per type.
    pub types: BTreeMap<String, TypeRates>,
}

/// One type's rates and places.
#[derive(Debug, Clone, Deserialize)]
pub struct TypeRates {
    /// Expected incidents per hour of the week, Monday 00:00 first (absent: too few weeks).
    pub hour_of_week: Option<Vec<f64>>,
    /// Shares of the cells (absent: no events on the grid).
    pub density: Option<DensityShares>,
}

/// A type's density as written.
#[derive(Debug, Clone, Deserialize)]
pub struct DensityShares {
    /// Share per cell id (cells with a negligible share are left out).
    pub share: BTreeMap<String, f64>,
}

/// Why a model cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not JSON of the layout.
    #[error("{file}: not a binjiang learn model: {why}")]
    Unreadable {
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// Written by another layout version.
    #[error("{file}: model layout version {found}; this binjiang reads version {MODEL_VERSION} (run binjiang learn again)")]
    Version {
        /// The file.
        file: String,
        /// Its version.
        found: u32,
    },
    /// Learned on another grid.
    #[error("{file}: learned on a grid of {model} cells ({first}…); this scene's grid has {scene}: learn again on this scene")]
    OtherGrid {
        /// The file.
        file: String,
        /// Cells in the model.
        model: usize,
        /// Cells in the scene.
        scene: usize,
        /// The model's first cell id.
        first: String,
    },
}

/// A model ready to forecast: per type, rates per hour of the week and shares per cell in
/// the grid's order.
#[derive(Debug, Clone)]
pub struct Forecaster {
    /// Unix ms of the Monday 00:00 the hours count from.
    pub week_start_ms: i64,
    /// Cell ids in the grid's order.
    pub cells: Vec<String>,
    /// (type, rates[168], shares[cells]).
    pub types: Vec<(String, Vec<f64>, Vec<f64>)>,
    /// Each cell's centre, WGS84 (lon, lat), for the output (zeros until given).
    pub centres: Vec<(f64, f64)>,
}

impl Forecaster {
    /// Reads `model.json` text (`file` names it in errors), checked against the scene's cell
    /// ids in order.
    pub fn from_json(file: &str, text: &str, scene_cells: &[String]) -> Result<Self, ModelError> {
        let unreadable = |why: String| ModelError::Unreadable {
            file: file.to_owned(),
            why,
        };
        let version: serde_json::Value =
            serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?;
        let found = version["version"].as_u64().unwrap_or(0) as u32;
        if found != MODEL_VERSION {
            return Err(ModelError::Version {
                file: file.to_owned(),
                found,
            });
        }
        let m: ModelFile =
            serde_json::from_value(version).map_err(|e| unreadable(e.to_string()))?;
        if m.cells != scene_cells {
            return Err(ModelError::OtherGrid {
                file: file.to_owned(),
                model: m.cells.len(),
                scene: scene_cells.len(),
                first: m.cells.first().cloned().unwrap_or_default(),
            });
        }
        let week_start_ms = chrono::DateTime::parse_from_rfc3339(&m.week_start)
            .map_err(|e| unreadable(format!("week_start \"{}\": {e}", m.week_start)))?
            .timestamp_millis();
        let types = m
            .summary
            .types
            .iter()
            .filter_map(|(key, t)| {
                let rates = t.hour_of_week.clone().filter(|r| r.len() == WEEK_H)?;
                let d = t.density.as_ref()?;
                let shares = m
                    .cells
                    .iter()
                    .map(|c| d.share.get(c).copied().unwrap_or(0.0))
                    .collect();
                Some((key.clone(), rates, shares))
            })
            .collect();
        Ok(Forecaster {
            week_start_ms,
            centres: vec![(0.0, 0.0); m.cells.len()],
            cells: m.cells,
            types,
        })
    }

    /// The hour of the week (0 = Monday 00:00 local) that Unix ms `at` falls in.
    pub fn hour_of_week(&self, at_ms: i64) -> usize {
        crate::rates::hour_of_week(self.week_start_ms, at_ms)
    }

    /// Expected incidents per cell in hour of the week `how` of the types named `keys`, in
    /// the grid's order: the coverage monitor's demand.
    pub fn expected_by_cell(&self, keys: &[&str], how: usize) -> Vec<f64> {
        let mut demand = vec![0.0; self.cells.len()];
        for (key, rates, shares) in &self.types {
            if !keys.contains(&key.as_str()) {
                continue;
            }
            let rate = rates[how % WEEK_H];
            for (d, s) in demand.iter_mut().zip(shares) {
                *d += rate * s;
            }
        }
        demand
    }

    /// Expected incidents per cell over `hours` hours from `from_ms` (the hour it falls in
    /// counted whole), in the grid's order.
    pub fn forecast(&self, from_ms: i64, hours: usize) -> Vec<CellForecast> {
        let first = self.hour_of_week(from_ms);
        let mut out: Vec<CellForecast> = self
            .cells
            .iter()
            .zip(&self.centres)
            .map(|(id, (lon, lat))| CellForecast {
                cell: id.clone(),
                lon: *lon,
                lat: *lat,
                expected: 0.0,
                lo90: 0,
                hi90: 0,
                by_type: BTreeMap::new(),
                by_hour: vec![0.0; hours],
            })
            .collect();
        for (key, rates, shares) in &self.types {
            for (c, share) in shares.iter().enumerate() {
                if *share <= 0.0 {
                    continue;
                }
                let mut sum = 0.0;
                for (k, slot) in out[c].by_hour.iter_mut().enumerate() {
                    let e = rates[(first + k) % WEEK_H] * share;
                    *slot += e;
                    sum += e;
                }
                if sum > 0.0 {
                    out[c].by_type.insert(key.clone(), sum);
                }
            }
        }
        let r4 = |v: f64| (v * 1e4).round() / 1e4;
        for c in &mut out {
            c.expected = c.by_hour.iter().sum();
            (c.lo90, c.hi90) = interval_90(c.expected);
            // Four decimals: a ten-thousandth of an incident is below anything a control
            // room acts on, and the JSON stays small.
            c.expected = r4(c.expected);
            c.by_hour.iter_mut().for_each(|v| *v = r4(*v));
            c.by_type.values_mut().for_each(|v| *v = r4(*v));
            c.lon = (c.lon * 1e7).round() / 1e7;
            c.lat = (c.lat * 1e7).round() / 1e7;
        }
        out
    }
}

/// Reads what `binjiang learn` wrote into `model.json` (`text`; `file` names it in errors)
/// for a scene whose cells are `scene_cells`: the forecast and the crowd tides, from one read
/// of the file.
pub fn read_model(
    file: &str,
    text: &str,
    scene_cells: &[String],
) -> Result<(Forecaster, crate::crowd::TideBook), ModelError> {
    Ok((
        Forecaster::from_json(file, text, scene_cells)?,
        crate::crowd::TideBook::from_model_json(file, text)?,
    ))
}

/// A window's forecast as `binjiang forecast --json` and `GET /api/v1/forecast` give it:
/// `{"from": …, "hours": H, "cells": [every cell, in the grid's order]}`.
pub fn to_json(from: &str, hours: usize, cells: &[CellForecast]) -> serde_json::Value {
    serde_json::json!({"from": from, "hours": hours, "cells": cells})
}

/// One cell's forecast over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellForecast {
    /// The cell's id.
    pub cell: String,
    /// Its centre, WGS84.
    pub lon: f64,
    /// Its centre, WGS84.
    pub lat: f64,
    /// Expected incidents over the window.
    pub expected: f64,
    /// The 5 % quantile of the window's count.
    pub lo90: u64,
    /// The 95 % quantile.
    pub hi90: u64,
    /// Expected incidents per type over the window.
    pub by_type: BTreeMap<String, f64>,
    /// Expected incidents in each hour of the window.
    pub by_hour: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(week_start: &str) -> String {
        let mut rates = vec![0.0; WEEK_H];
        rates[0] = 2.0; // Monday 00:00–01:00
        rates[1] = 1.0;
        serde_json::json!({
            "version": 1, "scene": "t", "week_start": week_start, "cells": ["a", "b"],
            "summary": {"types": {
                "litter": {"hour_of_week": rates, "density": {"share": {"a": 0.75, "b": 0.25}}},
                "sparse": {"hour_of_week": null, "density": null}
            }}
        })
        .to_string()
    }

    #[test]
    fn rates_times_shares_from_the_hour_of_the_week() {
        let cells = vec!["a".to_owned(), "b".to_owned()];
        let f =
            Forecaster::from_json("m.json", &model("2026-10-05T00:00:00+08:00"), &cells).unwrap();
        // Two weeks later, Monday 00:30 local: hours 0 and 1 of the week.
        let from = f.week_start_ms + 2 * 7 * 86_400_000 + 1_800_000;
        let out = f.forecast(from, 2);
        assert!((out[0].expected - 2.25).abs() < 1e-12, "{out:?}");
        assert!((out[1].by_hour[0] - 0.5).abs() < 1e-12);
        assert_eq!(out[1].by_type["litter"], 0.75);
        assert!(out[0].lo90 <= 2 && out[0].hi90 >= 3);
        // Before the week start counts backwards: Sunday 23:00 is hour 167.
        assert_eq!(f.hour_of_week(f.week_start_ms - 1), WEEK_H - 1);
    }

    #[test]
    fn another_grid_or_version_is_refused_by_name() {
        let e = Forecaster::from_json("m.json", &model("2026-10-05T00:00:00+08:00"), &["a".into()])
            .unwrap_err();
        assert!(
            e.to_string().contains("m.json") && e.to_string().contains("2 cells"),
            "{e}"
        );
        let old = model("2026-10-05T00:00:00+08:00").replace("\"version\":1", "\"version\":9");
        let e = Forecaster::from_json("m.json", &old, &["a".into(), "b".into()]).unwrap_err();
        assert!(matches!(e, ModelError::Version { found: 9, .. }), "{e}");
    }
}
