//! The scene's GeoJSON layers as domain features in local metres.
//!
//! One function per layer turns checked [`RawFeature`]s into typed features and reports
//! anything domain-specific that is wrong (unknown road class, asset kind, bad height …).

use crate::domain::{AssetKind, Mode, RoadClass};
use crate::features::{bool_prop, num_prop, str_prop, LayerReader, RawFeature};
use geo::{LineString, MultiPolygon, Point};
use serde_json::Value;

/// Metres per storey when a building gives `levels` but no height.
pub const METRES_PER_LEVEL: f64 = 3.2;

/// A subdistrict part (a polygon of one subdistrict that the grid may cover).
#[derive(Debug, Clone)]
pub struct Subdistrict {
    /// Feature id.
    pub id: String,
    /// Official statistical division code, e.g. `310110006`.
    pub code: String,
    /// Name, e.g. `平凉路街道 Pingliang Road`.
    pub name: String,
    /// The part's area, local metres.
    pub area: MultiPolygon,
    /// Where the geometry came from.
    pub source: String,
}

/// A road, street, lane or promenade segment.
#[derive(Debug, Clone)]
pub struct Road {
    /// Feature id.
    pub id: String,
    /// Street name, if any.
    pub name: Option<String>,
    /// Road class.
    pub class: RoadClass,
    /// Modes allowed on it.
    pub modes: Vec<Mode>,
    /// Whether cars may only drive in the drawing direction (foot and bike may go both ways).
    pub oneway: bool,
    /// Speed limit, km/h.
    pub speed_kmh: f64,
    /// Centreline, local metres.
    pub line: LineString,
    /// Where the geometry came from.
    pub source: String,
}

/// A body of water (the river).
#[derive(Debug, Clone)]
pub struct WaterBody {
    /// Feature id.
    pub id: String,
    /// Name, if any.
    pub name: Option<String>,
    /// Water area, local metres.
    pub area: MultiPolygon,
    /// Where the geometry came from.
    pub source: String,
}

/// A building footprint with its height.
#[derive(Debug, Clone)]
pub struct Building {
    /// Feature id.
    pub id: String,
    /// Name, if any.
    pub name: Option<String>,
    /// Height above ground, metres.
    pub height_m: f64,
    /// Listed heritage building.
    pub heritage: bool,
    /// A named landmark operators navigate by.
    pub landmark: bool,
    /// glTF model file, relative to the scene's models folder.
    pub model: Option<String>,
    /// Footprint, local metres.
    pub footprint: MultiPolygon,
    /// Where the geometry came from.
    pub source: String,
}

/// A piece of street furniture or a sensor.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Stable id (sensor alerts refer to it).
    pub id: String,
    /// What it is.
    pub kind: AssetKind,
    /// Name, if any.
    pub name: Option<String>,
    /// Position, local metres.
    pub position: Point,
    /// Where the position came from.
    pub source: String,
}

fn source(f: &RawFeature) -> String {
    str_prop(f, "source").unwrap_or_default().to_owned()
}

fn name(f: &RawFeature) -> Option<String> {
    str_prop(f, "name").map(str::to_owned)
}

/// Reads `subdistricts.geojson`.
pub(crate) fn subdistricts(r: &mut LayerReader, text: &str) -> Vec<Subdistrict> {
    let mut out = Vec::new();
    for f in r.features(text) {
        let code = match str_prop(&f, "code") {
            Some(c) if c.len() == 9 && c.bytes().all(|b| b.is_ascii_digit()) => c.to_owned(),
            Some(c) => {
                r.error(
                    &f.id,
                    format!("code \"{c}\" is not a 9-digit official division code"),
                );
                continue;
            }
            None => {
                r.error(&f.id, "has no \"code\" (official division code)");
                continue;
            }
        };
        let Some(name) = name(&f) else {
            r.error(&f.id, "has no \"name\"");
            continue;
        };
        if let Some(polys) = r.polygons(&f) {
            out.push(Subdistrict {
                id: f.id.clone(),
                code,
                name,
                area: MultiPolygon(polys),
                source: source(&f),
            });
        }
    }
    out
}

/// Reads `roads.geojson`.
pub(crate) fn roads(r: &mut LayerReader, text: &str) -> Vec<Road> {
    let mut out = Vec::new();
    for f in r.features(text) {
        let Some(class) = road_class(r, &f) else {
            continue;
        };
        let Some(modes) = road_modes(r, &f, class) else {
            continue;
        };
        let speed_kmh = num_prop(&f, "speed_kmh").unwrap_or(class.default_speed_kmh());
        if !(speed_kmh > 0.0 && speed_kmh <= 130.0) {
            r.error(&f.id, format!("speed_kmh {speed_kmh} must be in (0, 130]"));
            continue;
        }
        let Some(line) = r.line(&f) else { continue };
        out.push(Road {
            id: f.id.clone(),
            name: name(&f),
            class,
            modes,
            oneway: bool_prop(&f, "oneway"),
            speed_kmh,
            line,
            source: source(&f),
        });
    }
    out
}

fn road_class(r: &mut LayerReader, f: &RawFeature) -> Option<RoadClass> {
    let text = str_prop(f, "class");
    let class = text.and_then(RoadClass::parse);
    if class.is_none() {
        r.error(
            &f.id,
            format!(
                "unknown road class {:?} (expected one of: {})",
                text.unwrap_or(""),
                RoadClass::expected()
            ),
        );
    }
    class
}

fn road_modes(r: &mut LayerReader, f: &RawFeature, class: RoadClass) -> Option<Vec<Mode>> {
    let Some(list) = f.props.get("modes") else {
        return Some(class.default_modes().to_vec());
    };
    let words: Option<Vec<&str>> = list
        .as_array()
        .and_then(|a| a.iter().map(Value::as_str).collect());
    let Some(words) = words else {
        r.error(&f.id, "\"modes\" must be an array of strings");
        return None;
    };
    let mut modes = Vec::new();
    for w in words {
        match Mode::parse(w) {
            Some(m) => modes.push(m),
            None => {
                r.error(
                    &f.id,
                    format!(
                        "unknown mode \"{w}\" (expected one of: {})",
                        Mode::expected()
                    ),
                );
                return None;
            }
        }
    }
    if modes.is_empty() {
        r.error(&f.id, "\"modes\" is empty: nobody could use this road");
        return None;
    }
    Some(modes)
}

/// Reads `water.geojson`.
pub(crate) fn water(r: &mut LayerReader, text: &str) -> Vec<WaterBody> {
    let mut out = Vec::new();
    for f in r.features(text) {
        if let Some(polys) = r.polygons(&f) {
            out.push(WaterBody {
                id: f.id.clone(),
                name: name(&f),
                area: MultiPolygon(polys),
                source: source(&f),
            });
        }
    }
    out
}

/// Reads `buildings.geojson`.
pub(crate) fn buildings(r: &mut LayerReader, text: &str) -> Vec<Building> {
    let mut out = Vec::new();
    for f in r.features(text) {
        let Some(height_m) = building_height(r, &f) else {
            continue;
        };
        let Some(polys) = r.polygons(&f) else {
            continue;
        };
        out.push(Building {
            id: f.id.clone(),
            name: name(&f),
            height_m,
            heritage: bool_prop(&f, "heritage"),
            landmark: bool_prop(&f, "landmark"),
            model: str_prop(&f, "model").map(str::to_owned),
            footprint: MultiPolygon(polys),
            source: source(&f),
        });
    }
    out
}

fn building_height(r: &mut LayerReader, f: &RawFeature) -> Option<f64> {
    let height =
        num_prop(f, "height_m").or_else(|| num_prop(f, "levels").map(|l| l * METRES_PER_LEVEL));
    match height {
        Some(h) if h > 0.0 && h <= 700.0 => Some(h),
        Some(h) => {
            r.error(&f.id, format!("height {h} m must be in (0, 700]"));
            None
        }
        None => {
            r.error(&f.id, "has neither \"height_m\" nor \"levels\"");
            None
        }
    }
}

/// Reads `assets.geojson`.
pub(crate) fn assets(r: &mut LayerReader, text: &str) -> Vec<Asset> {
    let mut out = Vec::new();
    for f in r.features(text) {
        let text = str_prop(&f, "kind");
        let Some(kind) = text.and_then(AssetKind::parse) else {
            r.error(
                &f.id,
                format!(
                    "unknown asset kind {:?} (expected one of: {})",
                    text.unwrap_or(""),
                    AssetKind::expected()
                ),
            );
            continue;
        };
        if let Some(position) = r.point(&f) {
            out.push(Asset {
                id: f.id.clone(),
                kind,
                name: name(&f),
                position,
                source: source(&f),
            });
        }
    }
    out
}
