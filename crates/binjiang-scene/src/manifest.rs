//! The scene manifest `scene.ron`: name, origin, merged grid, agencies and units.
//!
//! The manifest is parsed with words as plain strings; their meaning is checked in
//! [`crate::units`] so an unknown agency gets a message naming the unit, not a serde error.

use serde::{Deserialize, Serialize};

/// A WGS84 position as `(lon, lat)` degrees, the way GIS people write it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LonLat(pub f64, pub f64);

/// The manifest as written in `scene.ron`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Human name of the scene.
    pub name: String,
    /// Origin of the local metric frame; pick a point near the district's centre.
    pub origin: LonLat,
    /// Folder of glTF models, relative to the scene folder.
    #[serde(default = "default_models_dir")]
    pub models_dir: String,
    /// Which subdistrict parts form the merged grid and how it is cut into cells.
    pub grid: GridSpec,
    /// The agencies of the joint control room in this scene.
    pub agencies: Vec<AgencySpec>,
    /// Every patrol unit.
    pub units: Vec<UnitSpec>,
}

fn default_models_dir() -> String {
    "../../assets/models".to_owned()
}

/// The merged grid: a union of subdistrict parts, cut into square cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Official codes of the subdistrict parts (features of `subdistricts.geojson`).
    pub parts: Vec<String>,
    /// Cell side in metres.
    #[serde(default = "default_cell")]
    pub cell_size_m: f64,
}

fn default_cell() -> f64 {
    100.0
}

/// An agency taking part in the control room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencySpec {
    /// One of the six agency keys (`police`, `market_supervision`, …).
    pub key: String,
    /// The local body's name.
    pub name: String,
}

/// A patrol unit as written in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    /// Stable id, e.g. `police-car-01`.
    pub id: String,
    /// Agency key.
    pub agency: String,
    /// `foot`, `bike` or `car`.
    pub mode: String,
    /// Where the unit starts and ends its shift.
    pub home: LonLat,
    /// Shift as `HH:MM-HH:MM`; an end before the start runs past midnight.
    pub shift: String,
    /// Patrol loop as waypoints on the road network, visited in order and back to the first.
    pub patrol: Vec<LonLat>,
}

impl Manifest {
    /// The manifest as `scene.ron` text under a `//` header: generated scenes (synthetic,
    /// imported) build the typed value and write it once, never by formatting RON by hand.
    /// Each unit is one line.
    pub fn to_ron(&self, header: &str) -> Result<String, ron::Error> {
        let body = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::new().depth_limit(2))?;
        let header: String = header.lines().map(|l| format!("// {l}\n")).collect();
        Ok(format!("{header}{body}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_through_ron() {
        let m = Manifest {
            name: "Test".into(),
            origin: LonLat(121.5, 31.25),
            models_dir: default_models_dir(),
            grid: GridSpec {
                parts: vec!["310110006".into()],
                cell_size_m: 100.0,
            },
            agencies: vec![AgencySpec {
                key: "police".into(),
                name: "Police".into(),
            }],
            units: vec![UnitSpec {
                id: "p-1".into(),
                agency: "police".into(),
                mode: "car".into(),
                home: LonLat(121.5, 31.25),
                shift: "00:00-24:00".into(),
                patrol: vec![LonLat(121.5, 31.25), LonLat(121.51, 31.25)],
            }],
        };
        let text = m.to_ron("made by a test").unwrap();
        assert!(text.starts_with("// made by a test\n("));
        assert_eq!(ron::from_str::<Manifest>(&text).unwrap(), m);
    }
}
