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

/// Hourly weights of generated catalogues: quiet nights, busy afternoons and evenings.
pub const DAYTIME_PROFILE: [f64; 24] = [
    1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 5.0, 7.0, 8.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 10.0,
    10.0, 9.0, 7.0, 5.0, 3.0, 2.0,
];

/// What defines a generated type: key, agencies, priority, on-scene minutes (min, mode,
/// max), origin and source.
pub type TypeSpec<'a> = (&'a str, &'a [Agency], u8, (f64, f64, f64), Origin, Source);

impl IncidentType {
    /// A generated type (synthetic or imported scenes): the daytime profile, no escalation
    /// override. `spec` is (key, agencies, priority, on-scene minutes, origin, source).
    pub fn generated(spec: TypeSpec, per_day: f64, street_cleaning: bool) -> Self {
        let (key, agencies, priority, on_scene_min, origin, source) = spec;
        IncidentType {
            key: key.to_owned(),
            name: key.replace('_', " "),
            agencies: agencies.to_vec(),
            priority,
            on_scene_min,
            origin,
            source,
            per_day,
            profile: DAYTIME_PROFILE.to_vec(),
            street_cleaning,
            escalate_after_min: None,
        }
    }
}

impl IncidentCatalogue {
    /// A catalogue of generated types with the shared defaults (30 min escalation, 40 m
    /// discovery, 45 min until a citizen calls, 20–90 s report delay).
    pub fn generated(types: Vec<IncidentType>) -> Self {
        IncidentCatalogue {
            escalate_after_min: 30.0,
            patrol_discovery_m: 40.0,
            undiscovered_report_min: 45.0,
            report_delay_s: (20.0, 90.0),
            types,
        }
    }

    /// The catalogue as RON, the format of `incident_types.ron`, under a `//` header.
    pub fn to_ron(&self, header: &str) -> Result<String, ron::Error> {
        let body = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::new().depth_limit(3))?;
        let header: String = header.lines().map(|l| format!("// {l}\n")).collect();
        Ok(format!("{header}{body}\n"))
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_catalogues_round_trip_through_ron() {
        let t = IncidentType::generated(
            (
                "bin_overflow",
                &[Agency::Cleaning],
                3,
                (3.0, 5.0, 9.0),
                Origin::NearAsset("bin".into(), 60.0),
                Source::Patrol,
            ),
            12.5,
            true,
        );
        let cat = IncidentCatalogue::generated(vec![t]);
        let text = cat.to_ron("written by a test\nsecond line").unwrap();
        assert!(text.starts_with("// written by a test\n// second line\n"));
        assert_eq!(IncidentCatalogue::from_ron(&text).unwrap(), cat);
    }
}
