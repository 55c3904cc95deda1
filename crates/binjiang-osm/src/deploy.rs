//! Writing the imported scene, and the stated default deployment that makes it run: units of
//! every agency placed on the largest strongly connected piece of the network each can use
//! (one-way streets respected: every patrol can be driven, home and back), patrolling
//! between two junctions about 400 m apart, round the clock; and an incident catalogue with
//! only the types whose places exist in the extract.

use crate::extent::{Bbox, ImportReport};
use crate::ImportError;
use binjiang_scene::manifest::{AgencySpec, GridSpec};
use binjiang_scene::{
    Agency, AssetKind, LoadError, LonLat, Manifest, Mode, RoadGraph, Scene, SceneTexts, UnitSpec,
};
use geo::Coord;
use serde_json::{json, Value};
use std::path::Path;

/// Division code of the single grid part when the extract has no usable boundaries.
pub const BBOX_CODE: &str = "000000001";

/// Default deployment: (agency, mode, count).
pub const DEPLOYMENT: [(Agency, Mode, usize); 9] = [
    (Agency::Police, Mode::Car, 2),
    (Agency::Police, Mode::Bike, 2),
    (Agency::MarketSupervision, Mode::Bike, 2),
    (Agency::UrbanManagement, Mode::Bike, 3),
    (Agency::Security, Mode::Foot, 4),
    (Agency::Cleaning, Mode::Foot, 3),
    (Agency::Cleaning, Mode::Bike, 1),
    (Agency::Property, Mode::Bike, 2),
    (Agency::Property, Mode::Foot, 1),
];

/// Distance between a unit's two patrol junctions, metres.
const PATROL_SPAN_M: f64 = 400.0;

/// The layers of an imported scene, as GeoJSON features.
pub struct Layers {
    /// Roads.
    pub roads: Vec<Value>,
    /// Buildings.
    pub buildings: Vec<Value>,
    /// Water.
    pub water: Vec<Value>,
    /// Assets.
    pub assets: Vec<Value>,
    /// Subdistrict parts.
    pub subdistricts: Vec<Value>,
}

fn write(path: &Path, text: &str) -> Result<(), ImportError> {
    std::fs::write(path, text).map_err(|e| ImportError::Write(path.to_owned(), e))
}

fn collection(features: &[Value]) -> String {
    json!({"type": "FeatureCollection", "features": features}).to_string() + "\n"
}

/// Builds the scene in memory, deploys units on it, writes the folder once and checks that
/// what was written loads.
pub fn write_scene(
    out: &Path,
    name: &str,
    bbox: &Bbox,
    cell_m: f64,
    layers: &Layers,
    input: &Path,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let files: Vec<(&str, String)> = [
        ("roads.geojson", &layers.roads),
        ("buildings.geojson", &layers.buildings),
        ("water.geojson", &layers.water),
        ("assets.geojson", &layers.assets),
        ("subdistricts.geojson", &layers.subdistricts),
    ]
    .into_iter()
    .map(|(file, features)| (file, collection(features)))
    .collect();
    let parts: Vec<String> = layers
        .subdistricts
        .iter()
        .filter_map(|f| {
            f.pointer("/properties/code")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    let mut manifest = Manifest {
        name: name.to_owned(),
        origin: LonLat((bbox.w + bbox.e) / 2.0, (bbox.s + bbox.n) / 2.0),
        models_dir: "../../assets/models".to_owned(),
        grid: GridSpec {
            parts,
            cell_size_m: cell_m,
        },
        agencies: Agency::ALL
            .iter()
            .map(|a| AgencySpec {
                key: a.key().to_owned(),
                name: format!("{a} (default deployment)"),
            })
            .collect(),
        units: Vec::new(),
    };
    // The network the units are deployed on: the scene without units, in memory.
    let texts = SceneTexts {
        manifest: manifest_text(&manifest)?,
        layers: files
            .iter()
            .map(|(f, t)| (f.to_string(), Some(t.clone())))
            .collect(),
    };
    let scene = Scene::from_texts(out, &texts).map_err(invalid)?;
    let (units, share) = units(&scene);
    report.units = units.len();
    report.largest_piece_share = share;
    manifest.units = units;
    std::fs::create_dir_all(out).map_err(|e| ImportError::Write(out.to_owned(), e))?;
    for (file, text) in &files {
        write(&out.join(file), text)?;
    }
    write(&out.join("scene.ron"), &manifest_text(&manifest)?)?;
    write(&out.join("incident_types.ron"), &catalogue(&scene)?)?;
    write(&out.join("README.md"), &readme(name, input, report))?;
    Scene::load(out).map(|_| ()).map_err(invalid)
}

fn invalid(e: LoadError) -> ImportError {
    match e {
        LoadError::Invalid(p) => ImportError::Invalid(p.to_string()),
        other => ImportError::Invalid(other.to_string()),
    }
}

fn manifest_text(m: &Manifest) -> Result<String, ImportError> {
    m.to_ron(
        "Imported from OpenStreetMap by `binjiang import osm` (© OpenStreetMap contributors, ODbL).\n\
         Units are the importer's stated default deployment (see README.md).",
    )
    .map_err(|e| ImportError::Invalid(format!("scene.ron: {e}")))
}

/// Places the default deployment; returns the units and the largest piece's share of nodes.
fn units(scene: &Scene) -> (Vec<UnitSpec>, f64) {
    let g = &scene.road_graph;
    let mut out = Vec::new();
    let share = g
        .pieces()
        .first()
        .map_or(0.0, |n| *n as f64 / g.nodes.len().max(1) as f64);
    for (agency, wanted, count) in DEPLOYMENT {
        // A mode with no network here (no car roads, say) deploys on foot instead.
        let Some((mode, piece)) = largest_piece(g, wanted)
            .map(|p| (wanted, p))
            .or_else(|| largest_piece(g, Mode::Foot).map(|p| (Mode::Foot, p)))
        else {
            continue;
        };
        for i in 0..count {
            let home = piece[(2 * i + 1) * piece.len() / (2 * count)];
            let p = g.nodes[home as usize];
            let other = piece
                .iter()
                .copied()
                .filter(|n| *n != home)
                .min_by(|a, b| {
                    span_error(g.nodes[*a as usize], p)
                        .total_cmp(&span_error(g.nodes[*b as usize], p))
                })
                .unwrap_or(home);
            let ll = |c: Coord| {
                let (lon, lat) = scene.frame.to_wgs84(c);
                LonLat(lon, lat)
            };
            let n = out
                .iter()
                .filter(|u: &&UnitSpec| u.agency == agency.key())
                .count();
            out.push(UnitSpec {
                id: format!("{agency}-{mode}-{:02}", n + 1),
                agency: agency.key().to_owned(),
                mode: mode.key().to_owned(),
                home: ll(p),
                shift: "00:00-24:00".to_owned(),
                patrol: vec![ll(p), ll(g.nodes[other as usize])],
            });
        }
    }
    (out, share)
}

fn span_error(a: Coord, b: Coord) -> f64 {
    ((a.x - b.x).hypot(a.y - b.y) - PATROL_SPAN_M).abs()
}

/// The largest strongly connected piece of the network `mode` may use (a car there can reach
/// every other node of it and come back, one-way streets respected), its nodes west to east
/// (ties south to north), so units spread evenly along it.
fn largest_piece(g: &RoadGraph, mode: Mode) -> Option<Vec<u32>> {
    let mut piece = g.strong_pieces_of(mode).into_iter().next()?;
    piece.sort_by(|a, b| {
        let (ca, cb) = (g.nodes[*a as usize], g.nodes[*b as usize]);
        ca.x.total_cmp(&cb.x).then(ca.y.total_cmp(&cb.y))
    });
    Some(piece)
}

/// Incidents per km² of grid per day in imported scenes (an estimate to tune).
const INCIDENTS_PER_KM2: f64 = 31.5;

/// The standard incident types at rates per km² of grid; a type whose place (an asset kind,
/// landmarks) the extract lacks arises anywhere in the grid instead.
fn catalogue(scene: &Scene) -> Result<String, ImportError> {
    use binjiang_sim::{catalogue::standard_mix, IncidentCatalogue, IncidentType, Origin};
    let km2 = scene.grid.area_km2().max(0.1);
    let has = |kind: &str| {
        AssetKind::parse(kind).is_some_and(|k| scene.assets.iter().any(|a| a.kind == k))
    };
    let landmarks = scene.buildings.iter().any(|b| b.landmark);
    let types: Vec<IncidentType> = standard_mix()
        .into_iter()
        .map(|(t, share)| {
            let origin = match &t.origin {
                Origin::Asset(k) | Origin::NearAsset(k, _) if !has(k) => Origin::AnyCell,
                Origin::NearLandmark(_) if !landmarks => Origin::AnyCell,
                o => o.clone(),
            };
            let per_day = (INCIDENTS_PER_KM2 * km2 * share * 100.0).round() / 100.0;
            IncidentType {
                origin,
                per_day,
                ..t
            }
        })
        .collect();
    IncidentCatalogue::generated(types)
        .to_ron("Written by `binjiang import osm`: the standard types at rates per km² of this grid (estimates to tune); types whose places the extract lacks arise anywhere.")
        .map_err(|e| ImportError::Invalid(format!("incident catalogue: {e}")))
}

fn readme(name: &str, input: &Path, r: &ImportReport) -> String {
    let assets: Vec<String> = r.assets.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!(
        "# Scene: {name}\n\nImported from OpenStreetMap by `binjiang import osm` from `{}`.\n\n\
         **Map data © OpenStreetMap contributors, available under the Open Database License (ODbL) 1.0.**\n\
         Every feature keeps `source: osm` and its OSM id (`osm_id`).\n\n\
         - bounding box (W,S,E,N): {}\n- roads: {} features from {} highway ways (largest connected piece: {:.1} % of road nodes)\n\
         - buildings: {} of {} in the file (left out: {} outside the box or with broken geometry)\n- water areas: {}\n\
         - coastline ways seen but not turned into water: {}\n- assets: {}\n\n\
         The grid is the bounding box as one part (code {BBOX_CODE}) unless `--grid` gave its parts. The {} units are the importer's stated default\n\
         deployment (police 2 cars + 2 bikes, market supervision 2, urban management 3, security 4 on foot,\n\
         cleaning 3 on foot + 1 bike, property 3), round the clock, each patrolling between two junctions ~400 m\n\
         apart; `incident_types.ron` holds generic types at estimated rates per km². Edit both for real planning.\n",
        input.file_name().map_or(String::new(), |f| f.to_string_lossy().into_owned()),
        r.bbox, r.road_features, r.highway_ways, r.largest_piece_share * 100.0, r.buildings, r.buildings_in_file, r.buildings_left_out, r.water, r.coastline_ways, assets.join(", "), r.units
    )
}
