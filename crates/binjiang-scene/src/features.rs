//! Reading a GeoJSON layer into checked features in local metres.
//!
//! Every check that applies to all layers lives here: JSON syntax (with line and column),
//! ids (present, unique), the `source` property, coordinates (finite, WGS84 degrees rather
//! than projected metres, inside the scene) and ring closure / self-intersection.

use crate::problems::{Location, Problems};
use crate::projection::LocalFrame;
use geo::{Coord, LineString, Point, Polygon, Validation};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Features further than this from the scene origin are rejected as misplaced.
pub const MAX_EXTENT_M: f64 = 30_000.0;

/// Prefixes a `source` property may start with.
const SOURCES: &[&str] = &["osm", "survey", "estimate:", "generated:"];

/// A GeoJSON feature whose id and source have been checked.
#[derive(Debug, Clone)]
pub(crate) struct RawFeature {
    pub id: String,
    pub props: Map<String, Value>,
    pub geometry: geojson::Value,
}

/// Reads and checks one layer; problems go to `problems` under `file`.
pub(crate) struct LayerReader<'a> {
    pub file: &'a str,
    pub frame: LocalFrame,
    pub problems: &'a mut Problems,
}

impl LayerReader<'_> {
    /// Records an error against a feature.
    pub fn error(&mut self, id: &str, message: impl Into<String>) {
        self.problems
            .error(self.file, Location::Feature(id.to_owned()), message);
    }

    /// Parses the text of a FeatureCollection into features with unique ids and a source.
    pub fn features(&mut self, text: &str) -> Vec<RawFeature> {
        let root: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let at = Location::Text {
                    line: e.line(),
                    column: e.column(),
                };
                self.problems
                    .error(self.file, at, format!("malformed JSON: {e}"));
                return Vec::new();
            }
        };
        let Some(list) = feature_list(&root) else {
            self.problems.error(
                self.file,
                Location::File,
                "not a GeoJSON FeatureCollection (need \"type\": \"FeatureCollection\" and a \"features\" array)",
            );
            return Vec::new();
        };
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(list.len());
        for (i, value) in list.iter().enumerate() {
            if let Some(f) = self.feature(i, value, &mut seen) {
                out.push(f);
            }
        }
        out
    }

    fn feature(
        &mut self,
        i: usize,
        value: &Value,
        seen: &mut HashSet<String>,
    ) -> Option<RawFeature> {
        let fallback = format!("#{i}");
        let props = value
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let id = match props.get("id").or_else(|| value.get("id")) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                self.error(&fallback, "has no \"id\" (a stable string id is required)");
                return None;
            }
        };
        if !seen.insert(id.clone()) {
            self.error(&id, "duplicate id (ids must be unique within the layer)");
            return None;
        }
        let feature = match geojson::Feature::from_json_value(value.clone()) {
            Ok(f) => f,
            Err(e) => {
                self.error(&id, format!("not a valid GeoJSON feature: {e}"));
                return None;
            }
        };
        let Some(geometry) = feature.geometry.map(|g| g.value) else {
            self.error(&id, "has no geometry");
            return None;
        };
        let source_ok = self.check_source(&id, &props);
        let coords_ok = self.check_positions(&id, &geometry);
        (source_ok && coords_ok).then_some(RawFeature {
            id,
            props,
            geometry,
        })
    }

    fn check_source(&mut self, id: &str, props: &Map<String, Value>) -> bool {
        match props.get("source").and_then(Value::as_str) {
            Some(s) if SOURCES.iter().any(|p| s.starts_with(p)) => true,
            Some(s) => {
                self.error(
                    id,
                    format!(
                        "source \"{s}\" must start with one of: {}",
                        SOURCES.join(", ")
                    ),
                );
                false
            }
            None => {
                self.error(
                    id,
                    "has no \"source\" property (osm, survey, estimate: <how>, generated: <how>)",
                );
                false
            }
        }
    }

    fn check_positions(&mut self, id: &str, geometry: &geojson::Value) -> bool {
        let mut ok = true;
        for_each_position(geometry, &mut |pos| {
            if !ok {
                return;
            }
            if let Err(msg) = check_position(pos, &self.frame) {
                ok = false;
                self.error(id, msg);
            }
        });
        ok
    }

    /// The feature's geometry as one point in local metres.
    pub fn point(&mut self, f: &RawFeature) -> Option<Point> {
        match &f.geometry {
            geojson::Value::Point(p) => Some(self.project(p).into()),
            other => {
                self.error(
                    &f.id,
                    format!("geometry must be a Point, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// The feature's geometry as one line in local metres.
    pub fn line(&mut self, f: &RawFeature) -> Option<LineString> {
        match &f.geometry {
            geojson::Value::LineString(ps) if ps.len() >= 2 => {
                Some(ps.iter().map(|p| self.project(p)).collect())
            }
            geojson::Value::LineString(_) => {
                self.error(&f.id, "LineString needs at least 2 positions");
                None
            }
            other => {
                self.error(
                    &f.id,
                    format!("geometry must be a LineString, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// The feature's geometry as polygons in local metres (Polygon or MultiPolygon).
    pub fn polygons(&mut self, f: &RawFeature) -> Option<Vec<Polygon>> {
        let rings_list: Vec<&Vec<Vec<Vec<f64>>>> = match &f.geometry {
            geojson::Value::Polygon(rings) => vec![rings],
            geojson::Value::MultiPolygon(polys) => polys.iter().collect(),
            other => {
                self.error(
                    &f.id,
                    format!(
                        "geometry must be a Polygon or MultiPolygon, found {}",
                        other.type_name()
                    ),
                );
                return None;
            }
        };
        let mut out = Vec::with_capacity(rings_list.len());
        for (pi, rings) in rings_list.into_iter().enumerate() {
            if let Err(msg) = check_rings(rings) {
                self.error(&f.id, format!("polygon {pi}: {msg}"));
                return None;
            }
            let mut rings = rings.iter().map(|r| self.ring(r));
            let exterior = rings.next()?;
            let polygon = Polygon::new(exterior, rings.collect());
            if let Err(e) = polygon.check_validation() {
                self.error(&f.id, format!("polygon {pi}: {e}"));
                return None;
            }
            out.push(polygon);
        }
        Some(out)
    }

    fn ring(&self, positions: &[Vec<f64>]) -> LineString {
        positions.iter().map(|p| self.project(p)).collect()
    }

    fn project(&self, p: &[f64]) -> Coord {
        self.frame.to_local(p[0], p[1])
    }
}

fn feature_list(root: &Value) -> Option<&Vec<Value>> {
    (root.get("type")?.as_str()? == "FeatureCollection")
        .then(|| root.get("features")?.as_array())
        .flatten()
}

/// Checks one position: two finite numbers, WGS84 degrees, inside the scene.
pub(crate) fn check_position(pos: &[f64], frame: &LocalFrame) -> Result<(), String> {
    let [lon, lat] = match pos {
        [lon, lat] | [lon, lat, _] => [*lon, *lat],
        _ => return Err(format!("position {pos:?} must have 2 (or 3) numbers")),
    };
    check_lon_lat(lon, lat, frame)
}

/// Checks a longitude/latitude pair the same way for GeoJSON and the manifest.
pub(crate) fn check_lon_lat(lon: f64, lat: f64, frame: &LocalFrame) -> Result<(), String> {
    check_degrees(lon, lat)?;
    let local = frame.to_local(lon, lat);
    let dist = local.x.hypot(local.y);
    if dist > MAX_EXTENT_M {
        return Err(format!(
            "coordinate ({lon}, {lat}) lies {:.1} km from the scene origin (limit {} km): wrong place or swapped lon/lat?",
            dist / 1000.0,
            MAX_EXTENT_M / 1000.0
        ));
    }
    Ok(())
}

/// Checks that a pair is finite WGS84 degrees and not projected metres.
pub(crate) fn check_degrees(lon: f64, lat: f64) -> Result<(), String> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(format!("coordinate ({lon}, {lat}) is not a finite number"));
    }
    if lon.abs() > 1000.0 || lat.abs() > 1000.0 {
        return Err(format!(
            "coordinate ({lon}, {lat}) looks projected (metres); scene files must be WGS84 degrees (EPSG:4326)"
        ));
    }
    if lon.abs() > 180.0 || lat.abs() > 90.0 {
        return Err(format!(
            "coordinate ({lon}, {lat}) is out of range (lon -180..180, lat -90..90)"
        ));
    }
    Ok(())
}

fn check_rings(rings: &[Vec<Vec<f64>>]) -> Result<(), String> {
    if rings.is_empty() {
        return Err("has no rings".into());
    }
    for (ri, ring) in rings.iter().enumerate() {
        let role = if ri == 0 {
            "exterior ring".to_owned()
        } else {
            format!("interior ring {}", ri - 1)
        };
        if ring.len() < 4 {
            return Err(format!(
                "{role} has {} positions; a closed ring needs at least 4",
                ring.len()
            ));
        }
        if ring.first() != ring.last() {
            return Err(format!(
                "{role} is not closed (first position {:?} differs from last {:?})",
                ring[0],
                ring[ring.len() - 1]
            ));
        }
    }
    Ok(())
}

fn for_each_position(value: &geojson::Value, f: &mut dyn FnMut(&[f64])) {
    use geojson::Value as V;
    match value {
        V::Point(p) => f(p),
        V::MultiPoint(ps) | V::LineString(ps) => ps.iter().for_each(|p| f(p)),
        V::MultiLineString(ls) | V::Polygon(ls) => ls.iter().flatten().for_each(|p| f(p)),
        V::MultiPolygon(pss) => pss.iter().flatten().flatten().for_each(|p| f(p)),
        V::GeometryCollection(gs) => gs.iter().for_each(|g| for_each_position(&g.value, f)),
    }
}

/// A string property, if present and a string.
pub(crate) fn str_prop<'a>(f: &'a RawFeature, key: &str) -> Option<&'a str> {
    f.props.get(key).and_then(Value::as_str)
}

/// A number property, if present and a number.
pub(crate) fn num_prop(f: &RawFeature, key: &str) -> Option<f64> {
    f.props.get(key).and_then(Value::as_f64)
}

/// A boolean property, false when absent.
pub(crate) fn bool_prop(f: &RawFeature, key: &str) -> bool {
    f.props.get(key).and_then(Value::as_bool).unwrap_or(false)
}
