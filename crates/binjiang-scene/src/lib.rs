//! Scenes of a riverfront district: the files GIS staff author, loaded into local metres.
//!
//! A scene is a folder with a RON manifest (`scene.ron`) and WGS84 GeoJSON layers
//! (subdistricts, roads, water, buildings, assets), plus optional glTF models. Loading checks
//! everything, reports every problem with its file and feature, builds the merged grid (the
//! union of the subdistrict parts, cut into cells) and the road graph.

pub mod domain;
mod features;
pub mod grid;
pub mod layers;
pub mod manifest;
pub mod models;
pub mod problems;
pub mod projection;
pub mod road_graph;
pub mod scene;
pub mod segment_grid;
pub mod shift;
pub mod summary;
pub mod units;

pub use domain::{Agency, AssetKind, Mode, RoadClass};
pub use features::MAX_EXTENT_M;
pub use grid::{floor_i64, ring_edges, GridCell, MergedGrid};
pub use layers::{Asset, Building, Road, Subdistrict, WaterBody};
pub use manifest::{LonLat, Manifest, UnitSpec};
pub use problems::{Location, Problem, Problems, Severity};
pub use projection::LocalFrame;
pub use road_graph::{ModeSet, RoadEdge, RoadGraph, Snap};
pub use scene::{LoadError, Scene, SceneTexts, LAYER_FILES};
pub use segment_grid::{GridSnap, SegmentGrid};
pub use shift::{Shift, DAY_S};
pub use summary::SceneSummary;
pub use units::Unit;
