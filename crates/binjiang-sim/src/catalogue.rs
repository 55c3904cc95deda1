//! Incident types as data: what can happen, where, how often, and who must go.
//!
//! A scene ships `incident_types.ron`; a what-if scenario can swap it. Nothing about a
//! particular incident type is written in code.

use binjiang_scene::{Agency, AssetKind, Scene};
use serde::{Deserialize, Serialize};

/// How an incident comes to the control room's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An IoT sensor alert (bin level, cover tilt, water level, dust, box door).
    Sensor,
    /// Video analytics on the camera network.
    Camera,
    /// The 110 police emergency line.
    Hotline110,
    /// The 12345 citizens' service hotline.
    Hotline12345,
    /// Found by a patrolling unit passing close by.
    Patrol,
}

impl Source {
    /// Snake-case name as in files and logs.
    pub fn key(self) -> &'static str {
        match self {
            Source::Sensor => "sensor",
            Source::Camera => "camera",
            Source::Hotline110 => "hotline110",
            Source::Hotline12345 => "hotline12345",
            Source::Patrol => "patrol",
        }
    }
}

/// Where incidents of a type arise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Origin {
    /// At a random asset of this kind (bins overflow at bins).
    Asset(String),
    /// Within a radius (metres) of a random asset of this kind (vending near piers).
    NearAsset(String, f64),
    /// Within a radius (metres) of a random landmark building (crowds, lost children).
    NearLandmark(f64),
    /// Anywhere in the grid, cells weighted by their area (hotline complaints).
    AnyCell,
}

/// One kind of incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentType {
    /// Stable key, e.g. `bin_overflow`.
    pub key: String,
    /// Human name.
    pub name: String,
    /// Agencies that must each send a unit ("one ticket however many agencies").
    pub agencies: Vec<Agency>,
    /// 1 = urgent … 4 = routine; lower is served first.
    pub priority: u8,
    /// Minutes a unit spends on scene: triangular (min, mode, max).
    pub on_scene_min: (f64, f64, f64),
    /// Where incidents arise.
    pub origin: Origin,
    /// How they are reported.
    pub source: Source,
    /// Expected incidents per day.
    pub per_day: f64,
    /// Relative weight of each hour of the day (24 values).
    pub profile: Vec<f64>,
    /// Counts towards the "street litter handled within 10 minutes" benchmark.
    #[serde(default)]
    pub street_cleaning: bool,
    /// Minutes after which an unclosed incident is escalated (not handled "in the bud").
    #[serde(default)]
    pub escalate_after_min: Option<f64>,
}

/// The set of incident types of a scene or scenario, with shared settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentCatalogue {
    /// Default escalation time, minutes: closed sooner counts as handled "in the bud".
    pub escalate_after_min: f64,
    /// A patrolling unit passing within this many metres discovers a patrol-sourced incident.
    pub patrol_discovery_m: f64,
    /// Minutes after which an undiscovered patrol-sourced incident is phoned in to 12345.
    pub undiscovered_report_min: f64,
    /// Seconds between an incident arising and a sensor/camera/hotline report: (min, max).
    pub report_delay_s: (f64, f64),
    /// The types.
    pub types: Vec<IncidentType>,
}

/// Something wrong with a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The RON did not parse.
    #[error("incident_types.ron:{line}:{column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A type is inconsistent or refers to something the scene lacks.
    #[error("incident_types.ron: type \"{key}\": {message}")]
    Type {
        /// The type's key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl IncidentCatalogue {
    /// Parses a catalogue from RON text.
    pub fn from_ron(text: &str) -> Result<Self, CatalogueError> {
        ron::from_str(text).map_err(|e| CatalogueError::Syntax {
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })
    }

    /// Checks the catalogue against a scene: every origin exists, every agency has units.
    pub fn check(&self, scene: &Scene) -> Result<(), CatalogueError> {
        for t in &self.types {
            let err = |message: String| CatalogueError::Type {
                key: t.key.clone(),
                message,
            };
            if t.agencies.is_empty() {
                return Err(err("needs at least one agency".into()));
            }
            if t.profile.len() != 24
                || t.profile.iter().any(|w| !w.is_finite() || *w < 0.0)
                || t.profile.iter().sum::<f64>() <= 0.0
            {
                return Err(err(
                    "profile must be 24 non-negative hourly weights, not all zero".into(),
                ));
            }
            if !(t.per_day.is_finite() && t.per_day >= 0.0) {
                return Err(err(format!(
                    "per_day {} must be a non-negative number",
                    t.per_day
                )));
            }
            let (a, m, b) = t.on_scene_min;
            if !(a > 0.0 && a <= m && m <= b && b.is_finite()) {
                return Err(err(format!(
                    "on_scene_min {:?} must be (min <= mode <= max), all > 0",
                    t.on_scene_min
                )));
            }
            for agency in &t.agencies {
                if !scene.units.iter().any(|u| u.agency == *agency) {
                    return Err(err(format!(
                        "agency \"{agency}\" has no units in the scene"
                    )));
                }
            }
            self.check_origin(t, scene).map_err(err)?;
        }
        Ok(())
    }

    fn check_origin(&self, t: &IncidentType, scene: &Scene) -> Result<(), String> {
        match &t.origin {
            Origin::Asset(kind) | Origin::NearAsset(kind, _) => {
                let k = AssetKind::parse(kind).ok_or_else(|| {
                    format!(
                        "unknown asset kind \"{kind}\" (expected one of: {})",
                        AssetKind::expected()
                    )
                })?;
                if !scene.assets.iter().any(|a| a.kind == k) {
                    return Err(format!("the scene has no \"{kind}\" assets"));
                }
            }
            Origin::NearLandmark(_) if !scene.buildings.iter().any(|b| b.landmark) => {
                return Err("the scene has no landmarks".into())
            }
            _ => {}
        }
        Ok(())
    }

    /// Index of a type by key.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.types.iter().position(|t| t.key == key)
    }
}
