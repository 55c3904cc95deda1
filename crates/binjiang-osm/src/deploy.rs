//! Writing the imported scene, and the stated default deployment that makes it run: units of
//! every agency placed on the largest strongly connected piece of the network each can use
//! (one-way streets respected: every patrol can be driven, home and back), patrolling
//! between two junctions about 400 m apart, round the clock; and an incident catalogue with
//! only the types whose places exist in the extract.

use crate::extent::{Bbox, ImportReport};
use crate::ImportError;
use binjiang_scene::{Agency, AssetKind, LoadError, Mode, RoadGraph, Scene};
use geo::Coord;
use serde_json::{json, Value};
use std::fmt::Write as _;
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

/// Writes the scene folder, deploys units and checks the result loads.
pub fn write_scene(
    out: &Path,
    name: &str,
    bbox: &Bbox,
    cell_m: f64,
    layers: &Layers,
    input: &Path,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    std::fs::create_dir_all(out).map_err(|e| ImportError::Write(out.to_owned(), e))?;
    for (file, features) in [
        ("roads.geojson", &layers.roads),
        ("buildings.geojson", &layers.buildings),
        ("water.geojson", &layers.water),
        ("assets.geojson", &layers.assets),
        ("subdistricts.geojson", &layers.subdistricts),
    ] {
        write(&out.join(file), &collection(features))?;
    }
    let origin = ((bbox.w + bbox.e) / 2.0, (bbox.s + bbox.n) / 2.0);
    let parts: Vec<String> = layers
        .subdistricts
        .iter()
        .filter_map(|f| {
            f.pointer("/properties/code")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    write(
        &out.join("scene.ron"),
        &manifest(name, origin, cell_m, &parts, &[]),
    )?;
    let scene = load(out)?;
    let (units, share) = units(&scene);
    report.units = units.len();
    report.largest_piece_share = share;
    write(
        &out.join("scene.ron"),
        &manifest(name, origin, cell_m, &parts, &units),
    )?;
    write(&out.join("incident_types.ron"), &catalogue(&scene)?)?;
    write(&out.join("README.md"), &readme(name, input, report))?;
    load(out).map(|_| ())
}

fn load(dir: &Path) -> Result<Scene, ImportError> {
    Scene::load(dir).map_err(|e| match e {
        LoadError::Invalid(p) => ImportError::Invalid(p.to_string()),
        other => ImportError::Invalid(other.to_string()),
    })
}

/// A unit to write: id, agency, mode, home and one other patrol junction (lon, lat).
type UnitLine = (String, Agency, Mode, (f64, f64), (f64, f64));

fn manifest(
    name: &str,
    origin: (f64, f64),
    cell_m: f64,
    parts: &[String],
    units: &[UnitLine],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "// Imported from OpenStreetMap by `binjiang import osm` (© OpenStreetMap contributors, ODbL).");
    let _ = writeln!(
        s,
        "// Units are the importer's stated default deployment (see README.md).\n("
    );
    let parts: Vec<String> = parts.iter().map(|p| format!("{p:?}")).collect();
    let _ = writeln!(s, "    name: {name:?},\n    origin: ({}, {}),\n    grid: (parts: [{}], cell_size_m: {cell_m:?}),\n    agencies: [", origin.0, origin.1, parts.join(", "));
    for a in Agency::ALL {
        let _ = writeln!(
            s,
            "        (key: \"{a}\", name: \"{a} (default deployment)\"),"
        );
    }
    let _ = writeln!(s, "    ],\n    units: [");
    for (id, agency, mode, a, b) in units {
        let _ = writeln!(s, "        (id: \"{id}\", agency: \"{agency}\", mode: \"{mode}\", home: ({}, {}), shift: \"00:00-24:00\", patrol: [({}, {}), ({}, {})]),", a.0, a.1, a.0, a.1, b.0, b.1);
    }
    let _ = writeln!(s, "    ],\n)");
    s
}

/// Places the default deployment; returns the units and the largest piece's share of nodes.
fn units(scene: &Scene) -> (Vec<UnitLine>, f64) {
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
            let ll = |c: Coord| scene.frame.to_wgs84(c);
            let id = format!(
                "{}-{}-{:02}",
                agency,
                mode,
                out.iter().filter(|u: &&UnitLine| u.1 == agency).count() + 1
            );
            out.push((id, agency, mode, ll(p), ll(g.nodes[other as usize])));
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
