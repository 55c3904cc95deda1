//! What an import covers and what it made of it: the bounding box, and the report. Shared
//! by the passes, the geometry and the deployment, so none of them depends on another.

use crate::ImportError;
use std::collections::BTreeMap;

/// A bounding box in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    /// West longitude.
    pub w: f64,
    /// South latitude.
    pub s: f64,
    /// East longitude.
    pub e: f64,
    /// North latitude.
    pub n: f64,
}

impl Bbox {
    /// Parses `W,S,E,N`.
    pub fn parse(text: &str) -> Result<Bbox, ImportError> {
        let v: Vec<f64> = text
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| ImportError::Bbox(format!("\"{text}\" must be four numbers W,S,E,N")))?;
        let [w, s, e, n] = v[..] else {
            return Err(ImportError::Bbox(format!(
                "\"{text}\" must be four numbers W,S,E,N"
            )));
        };
        if !(-180.0..=180.0).contains(&w)
            || !(-180.0..=180.0).contains(&e)
            || !(-90.0..=90.0).contains(&s)
            || !(-90.0..=90.0).contains(&n)
        {
            return Err(ImportError::Bbox(format!(
                "\"{text}\" is outside -180..180 / -90..90"
            )));
        }
        if w >= e || s >= n {
            return Err(ImportError::Bbox(format!(
                "\"{text}\" is inverted or empty: need W < E and S < N"
            )));
        }
        Ok(Bbox { w, s, e, n })
    }

    /// Whether (lon, lat) is strictly inside.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        lon > self.w && lon < self.e && lat > self.s && lat < self.n
    }

    /// `W,S,E,N`.
    pub fn text(&self) -> String {
        format!("{},{},{},{}", self.w, self.s, self.e, self.n)
    }
}

/// What an import read and wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// Bounding box used.
    pub bbox: String,
    /// Elements read, by kind (nodes are those the scene needed plus tagged ones).
    pub nodes_kept: usize,
    /// Ways with `highway=*` mapped to a road class.
    pub highway_ways: usize,
    /// Road features written (ways split at the bounding box).
    pub road_features: usize,
    /// Ways and multipolygon relations with `building=*`.
    pub buildings_in_file: usize,
    /// Buildings written.
    pub buildings: usize,
    /// Buildings left out: outside the box, unknown nodes, open rings or invalid geometry.
    pub buildings_left_out: usize,
    /// Water areas written.
    pub water: usize,
    /// `natural=coastline` ways seen (not turned into water: see README).
    pub coastline_ways: usize,
    /// Assets written per kind.
    pub assets: BTreeMap<String, usize>,
    /// Units deployed.
    pub units: usize,
    /// Share of road nodes in the largest connected piece.
    pub largest_piece_share: f64,
    /// Wall time, seconds.
    pub seconds: f64,
}
