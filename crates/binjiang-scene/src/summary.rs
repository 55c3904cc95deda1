//! The figures `binjiang info` prints about a loaded scene.

use crate::domain::{Agency, AssetKind, RoadClass};
use crate::scene::Scene;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Counts and sizes of a scene, as `binjiang info --json` prints them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SceneSummary {
    /// Scene name.
    pub name: String,
    /// Area of the merged grid, km².
    pub grid_area_km2: f64,
    /// Number of grid cells.
    pub cells: usize,
    /// Cells per subdistrict code.
    pub cells_per_subdistrict: BTreeMap<String, usize>,
    /// Length of the riverside promenade, km.
    pub riverfront_km: f64,
    /// Length of all roads, km.
    pub roads_km: f64,
    /// Road graph nodes.
    pub road_nodes: usize,
    /// Connected pieces of the road graph.
    pub road_pieces: usize,
    /// Buildings.
    pub buildings: usize,
    /// Named landmarks.
    pub landmarks: usize,
    /// Heritage buildings.
    pub heritage: usize,
    /// Distinct glTF models.
    pub models: usize,
    /// Water area, km².
    pub water_km2: f64,
    /// Assets per kind.
    pub assets: BTreeMap<String, usize>,
    /// Units per agency.
    pub units: BTreeMap<String, usize>,
    /// Warnings found while loading.
    pub warnings: usize,
}

impl SceneSummary {
    /// Summarises a loaded scene.
    pub fn of(scene: &Scene) -> Self {
        let mut assets: BTreeMap<String, usize> = AssetKind::ALL
            .iter()
            .map(|k| (k.key().to_owned(), 0))
            .collect();
        for a in scene.assets.iter() {
            *assets.entry(a.kind.key().to_owned()).or_default() += 1;
        }
        let mut units: BTreeMap<String, usize> = Agency::ALL
            .iter()
            .map(|a| (a.key().to_owned(), 0))
            .collect();
        for u in &scene.units {
            *units.entry(u.agency.key().to_owned()).or_default() += 1;
        }
        let mut cells_per_subdistrict = BTreeMap::new();
        for c in &scene.grid.cells {
            *cells_per_subdistrict
                .entry(c.subdistrict.clone())
                .or_default() += 1;
        }
        use geo::Area;
        SceneSummary {
            name: scene.manifest.name.clone(),
            grid_area_km2: round3(scene.grid.area_km2()),
            cells: scene.grid.cells.len(),
            cells_per_subdistrict,
            riverfront_km: round3(scene.road_graph.class_length_km(RoadClass::Promenade)),
            roads_km: round3(scene.road_graph.length_km()),
            road_nodes: scene.road_graph.nodes.len(),
            road_pieces: scene.road_graph.pieces().len(),
            buildings: scene.buildings.len(),
            landmarks: scene.buildings.iter().filter(|b| b.landmark).count(),
            heritage: scene.buildings.iter().filter(|b| b.heritage).count(),
            models: scene.models.len(),
            water_km2: round3(
                scene
                    .water
                    .iter()
                    .map(|w| w.area.unsigned_area())
                    .sum::<f64>()
                    / 1e6,
            ),
            assets,
            units,
            warnings: scene.warnings.len(),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl fmt::Display for SceneSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.name)?;
        let rows: [(&str, String); 11] = [
            (
                "merged grid",
                format!(
                    "{:.3} km², {} cells of the grid",
                    self.grid_area_km2, self.cells
                ),
            ),
            (
                "riverfront",
                format!("{:.2} km of promenade", self.riverfront_km),
            ),
            (
                "roads",
                format!(
                    "{:.2} km, {} nodes, {} piece(s)",
                    self.roads_km, self.road_nodes, self.road_pieces
                ),
            ),
            ("buildings", self.buildings.to_string()),
            ("landmarks", self.landmarks.to_string()),
            ("heritage", self.heritage.to_string()),
            ("models", self.models.to_string()),
            ("water", format!("{:.3} km²", self.water_km2)),
            ("cells/subdistrict", join(&self.cells_per_subdistrict)),
            ("assets", join(&self.assets)),
            ("units", join(&self.units)),
        ];
        for (k, v) in rows {
            writeln!(f, "  {k:<18} {v}")?;
        }
        Ok(())
    }
}

fn join(map: &BTreeMap<String, usize>) -> String {
    map.iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
