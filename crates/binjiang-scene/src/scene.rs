//! Loading a whole scene folder: manifest, layers, merged grid, road graph, models, units.
//!
//! [`Scene::load`] reads the files; [`Scene::from_texts`] does everything else from strings
//! so the loader can be fuzzed without a file system. Either returns every problem at once.

use crate::features::{check_degrees, LayerReader};
use crate::grid::MergedGrid;
use crate::layers::{self, Asset, Building, Road, Subdistrict, WaterBody};
use crate::manifest::Manifest;
use crate::models::{self, ModelInfo};
use crate::problems::{Location, Problem, Problems};
use crate::projection::LocalFrame;
use crate::road_graph::RoadGraph;
use crate::units::{self, Unit, UnitContext, MANIFEST};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Layer files every scene has, in the order they are read.
pub const LAYER_FILES: [&str; 5] = [
    "subdistricts.geojson",
    "roads.geojson",
    "water.geojson",
    "buildings.geojson",
    "assets.geojson",
];

/// Why a scene could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The folder or its manifest cannot be read at all.
    #[error("cannot read scene at {path}: {source}")]
    Unreadable {
        /// What could not be read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The scene was read but is not valid; every problem is listed.
    #[error("{}", .0)]
    Invalid(Problems),
}

/// The raw texts of a scene's files, as read from disk (a missing layer is `None`).
#[derive(Debug, Clone, Default)]
pub struct SceneTexts {
    /// `scene.ron`.
    pub manifest: String,
    /// Layer texts by file name.
    pub layers: BTreeMap<String, Option<String>>,
}

/// A loaded, valid scene in local metres.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The folder it was loaded from.
    pub dir: PathBuf,
    /// The manifest as written.
    pub manifest: Manifest,
    /// The local metric frame about the manifest's origin.
    pub frame: LocalFrame,
    /// Subdistrict parts.
    pub subdistricts: Vec<Subdistrict>,
    /// Roads.
    pub roads: Vec<Road>,
    /// Water bodies.
    pub water: Vec<WaterBody>,
    /// Buildings.
    pub buildings: Vec<Building>,
    /// Assets: shared, like the grid, by every simulation of the scene (a run looks an
    /// asset up by id only when a report names one).
    pub assets: Arc<Vec<Asset>>,
    /// The merged grid: shared, not copied, by every simulation and monitor of the scene
    /// (its cells and polygons are thousands of allocations a run would otherwise copy and
    /// free).
    pub grid: Arc<MergedGrid>,
    /// The road network.
    pub road_graph: RoadGraph,
    /// Patrol units.
    pub units: Vec<Unit>,
    /// Models referenced by buildings, one entry per file.
    pub models: Vec<ModelInfo>,
    /// Warnings found while loading (the scene is usable).
    pub warnings: Vec<Problem>,
}

impl Scene {
    /// Loads and validates the scene in `dir`.
    pub fn load(dir: &Path) -> Result<Scene, LoadError> {
        let manifest_path = dir.join(MANIFEST);
        let manifest =
            std::fs::read_to_string(&manifest_path).map_err(|source| LoadError::Unreadable {
                path: manifest_path,
                source,
            })?;
        let layers = LAYER_FILES
            .iter()
            .map(|f| (f.to_string(), std::fs::read_to_string(dir.join(f)).ok()))
            .collect();
        Scene::from_texts(dir, &SceneTexts { manifest, layers })
    }

    /// Validates a scene given its file texts; models are looked up under `dir`.
    pub fn from_texts(dir: &Path, texts: &SceneTexts) -> Result<Scene, LoadError> {
        let mut problems = Problems::default();
        let manifest = parse_manifest(&texts.manifest, &mut problems)
            .ok_or_else(|| LoadError::Invalid(problems.clone()))?;
        let frame = LocalFrame::new(manifest.origin.0, manifest.origin.1);
        let text =
            |name: &str| -> Option<&str> { texts.layers.get(name).and_then(|t| t.as_deref()) };
        for name in LAYER_FILES {
            if text(name).is_none() {
                problems.error(name, Location::File, "missing or unreadable (every scene has this layer; it may be an empty FeatureCollection)");
            }
        }
        let subdistricts = read_layer(0, texts, frame, &mut problems, layers::subdistricts);
        let roads = read_layer(1, texts, frame, &mut problems, layers::roads);
        let water = read_layer(2, texts, frame, &mut problems, layers::water);
        let buildings = read_layer(3, texts, frame, &mut problems, layers::buildings);
        let assets = read_layer(4, texts, frame, &mut problems, layers::assets);

        let grid = build_grid(&manifest, &subdistricts, &mut problems);
        let road_graph = RoadGraph::build(&roads);
        check_connectivity(&road_graph, &mut problems);
        let models = check_models(dir, &manifest, &buildings, &mut problems);
        let agencies = units::agencies(&manifest.agencies, &mut problems);
        let ctx = UnitContext {
            frame,
            grid: &grid,
            roads: &road_graph,
            agencies: &agencies,
        };
        let units = units::units(&manifest.units, &ctx, &mut problems);

        if problems.has_errors() {
            return Err(LoadError::Invalid(problems));
        }
        Ok(Scene {
            dir: dir.to_owned(),
            manifest,
            frame,
            subdistricts,
            roads,
            water,
            buildings,
            assets: Arc::new(assets),
            grid: Arc::new(grid),
            road_graph,
            units,
            models,
            warnings: problems.warnings().cloned().collect(),
        })
    }
}

fn read_layer<T>(
    index: usize,
    texts: &SceneTexts,
    frame: LocalFrame,
    problems: &mut Problems,
    parse: fn(&mut LayerReader, &str) -> Vec<T>,
) -> Vec<T> {
    let file = LAYER_FILES[index];
    let text = texts
        .layers
        .get(file)
        .and_then(|t| t.as_deref())
        .unwrap_or(EMPTY);
    parse(
        &mut LayerReader {
            file,
            frame,
            problems,
        },
        text,
    )
}

const EMPTY: &str = r#"{"type":"FeatureCollection","features":[]}"#;

fn parse_manifest(text: &str, problems: &mut Problems) -> Option<Manifest> {
    let manifest: Manifest = match ron::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            problems.ron_syntax(MANIFEST, &e);
            return None;
        }
    };
    if let Err(e) = check_degrees(manifest.origin.0, manifest.origin.1) {
        problems.error(
            MANIFEST,
            Location::Item {
                kind: "origin",
                id: "origin".into(),
            },
            e,
        );
        return None;
    }
    if !(manifest.grid.cell_size_m >= 10.0 && manifest.grid.cell_size_m <= 5000.0) {
        problems.error(
            MANIFEST,
            grid_at(),
            format!(
                "cell_size_m {} must be between 10 and 5000",
                manifest.grid.cell_size_m
            ),
        );
        return None;
    }
    Some(manifest)
}

fn grid_at() -> Location {
    Location::Item {
        kind: "grid",
        id: "grid".into(),
    }
}

fn build_grid(
    manifest: &Manifest,
    subdistricts: &[Subdistrict],
    problems: &mut Problems,
) -> MergedGrid {
    let (parts, unknown) = MergedGrid::parts_from(&manifest.grid.parts, subdistricts);
    for code in unknown {
        problems.error(
            MANIFEST,
            grid_at(),
            format!("part \"{code}\" matches no subdistrict code in subdistricts.geojson"),
        );
    }
    if manifest.grid.parts.is_empty() {
        problems.error(MANIFEST, grid_at(), "has no parts");
    }
    MergedGrid::build(parts, manifest.grid.cell_size_m)
}

fn check_connectivity(graph: &RoadGraph, problems: &mut Problems) {
    let pieces = graph.pieces();
    if pieces.len() > 1 {
        let sizes: Vec<String> = pieces.iter().take(10).map(usize::to_string).collect();
        problems.warning(
            LAYER_FILES[1],
            Location::File,
            format!(
                "road network is split into {} pieces (nodes per piece: {}{})",
                pieces.len(),
                sizes.join(", "),
                if pieces.len() > 10 { ", …" } else { "" }
            ),
        );
    }
}

fn check_models(
    dir: &Path,
    manifest: &Manifest,
    buildings: &[Building],
    problems: &mut Problems,
) -> Vec<ModelInfo> {
    let mut found: BTreeMap<&str, Result<ModelInfo, String>> = BTreeMap::new();
    for b in buildings {
        let Some(file) = b.model.as_deref() else {
            continue;
        };
        let result = found
            .entry(file)
            .or_insert_with(|| models::inspect(&dir.join(&manifest.models_dir).join(file), file));
        if let Err(e) = result {
            problems.error(LAYER_FILES[3], Location::Feature(b.id.clone()), e.clone());
        }
    }
    found.into_values().filter_map(Result::ok).collect()
}
