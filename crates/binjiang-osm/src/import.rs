//! The import: three streaming passes, mapping, clipping, and writing the scene folder.

use crate::elements::{for_each, Element, MemberKind, Pass, Tags};
use crate::extent::{Bbox, ImportReport};
use crate::geometry::{self, Nodes};
use crate::mapping::{self, get, Oneway};
use crate::rings::{self, Ring};
use crate::{deploy, ImportError};
use binjiang_scene::AssetKind;
use geo::Polygon;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The scene folder to write.
    pub out: PathBuf,
    /// Clip to this box (default: the extent of the roads in the file, shrunk by 1 %).
    pub bbox: Option<Bbox>,
    /// Scene name (default: the input file's stem).
    pub name: Option<String>,
    /// Grid cell size, metres.
    pub cell_m: f64,
    /// Grid parts from a GeoJSON file of polygons with `code` and `name` (default: the box).
    pub grid: Option<PathBuf>,
}

/// What the passes keep.
#[derive(Default)]
struct Kept {
    relations: Vec<(i64, Tags, Vec<i64>, Vec<i64>)>,
    member_ways: HashSet<i64>,
    /// Kept ways by id; ordered, so every layer is written in id order.
    ways: BTreeMap<i64, (Vec<i64>, Tags)>,
    needed_nodes: HashSet<i64>,
    nodes: Nodes,
    tagged_nodes: Vec<(i64, f64, f64, AssetKind)>,
    coastline_ways: usize,
}

fn relevant(tags: &Tags) -> bool {
    mapping::road(tags).is_some()
        || mapping::is_building(tags)
        || mapping::is_water(tags)
        || mapping::asset(tags).is_some()
}

/// Imports `input` into a scene folder; `progress` is told each pass as it starts.
pub fn import(
    input: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let mut k = Kept::default();
    progress("pass 1/3: relations");
    for_each(input, Pass::Relations, &mut |e| {
        if let Element::Relation { id, members, tags } = e {
            if get(&tags, "type") == Some("multipolygon")
                && (mapping::is_building(&tags) || mapping::is_water(&tags))
            {
                let ways = |role: &str| {
                    members
                        .iter()
                        .filter(|m| {
                            m.kind == MemberKind::Way
                                && (m.role == role || (role == "outer" && m.role.is_empty()))
                        })
                        .map(|m| m.id)
                        .collect::<Vec<_>>()
                };
                let (outer, inner) = (ways("outer"), ways("inner"));
                k.member_ways.extend(outer.iter().chain(&inner));
                k.relations.push((id, tags, outer, inner));
            }
        }
    })?;
    progress("pass 2/3: ways");
    for_each(input, Pass::Ways, &mut |e| {
        if let Element::Way { id, refs, tags } = e {
            if get(&tags, "natural") == Some("coastline") {
                k.coastline_ways += 1;
            }
            if relevant(&tags) || k.member_ways.contains(&id) {
                k.needed_nodes.extend(&refs);
                k.ways.insert(id, (refs, tags));
            }
        }
    })?;
    progress("pass 3/3: nodes");
    for_each(input, Pass::Nodes, &mut |e| {
        if let Element::Node { id, lon, lat, tags } = e {
            if k.needed_nodes.contains(&id) {
                k.nodes.insert(id, (lon, lat));
            }
            if let Some(kind) = mapping::asset(&tags) {
                k.tagged_nodes.push((id, lon, lat, kind));
            }
        }
    })?;
    let grid = opts.grid.as_deref().map(read_grid).transpose()?;
    let bbox = match (opts.bbox, &grid) {
        (Some(b), _) => b,
        (None, Some((_, extent))) => *extent,
        (None, None) => {
            road_extent(&k).ok_or_else(|| ImportError::NoData("(whole file)".into()))?
        }
    };
    let mut report = ImportReport {
        bbox: bbox.text(),
        nodes_kept: k.nodes.len(),
        coastline_ways: k.coastline_ways,
        ..ImportReport::default()
    };
    let roads = roads(&k, &bbox, &mut report);
    if roads.is_empty() {
        return Err(ImportError::NoData(bbox.text()));
    }
    let buildings = buildings(&k, &bbox, &mut report);
    let water = water(&k, &bbox, &mut report);
    let assets = assets(&k, &bbox, &mut report);
    let name = opts.name.clone().unwrap_or_else(|| {
        input.file_stem().map_or("imported".into(), |s| {
            s.to_string_lossy().trim_end_matches(".osm").to_owned()
        })
    });
    let subdistricts = grid.map_or_else(|| vec![subdistrict(&bbox)], |(parts, _)| parts);
    let layers = deploy::Layers {
        roads,
        buildings,
        water,
        assets,
        subdistricts,
    };
    deploy::write_scene(
        &opts.out,
        &name,
        &bbox,
        opts.cell_m,
        &layers,
        input,
        &mut report,
    )?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn road_extent(k: &Kept) -> Option<Bbox> {
    let mut b: Option<Bbox> = None;
    for (refs, tags) in k.ways.values() {
        if mapping::road(tags).is_none() {
            continue;
        }
        for (lon, lat) in refs.iter().filter_map(|r| k.nodes.get(r)) {
            let x = b.get_or_insert(Bbox {
                w: *lon,
                s: *lat,
                e: *lon,
                n: *lat,
            });
            (x.w, x.s, x.e, x.n) = (x.w.min(*lon), x.s.min(*lat), x.e.max(*lon), x.n.max(*lat));
        }
    }
    // Shrink by 1 % so the box's edges do not cut through the outermost nodes.
    b.filter(|b| b.e > b.w && b.n > b.s).map(|b| {
        let (dx, dy) = ((b.e - b.w) * 0.01, (b.n - b.s) * 0.01);
        Bbox {
            w: b.w + dx,
            s: b.s + dy,
            e: b.e - dx,
            n: b.n - dy,
        }
    })
}

fn ll(p: (f64, f64)) -> Value {
    json!([(p.0 * 1e7).round() / 1e7, (p.1 * 1e7).round() / 1e7])
}

fn feature(id: String, props: Value, geometry: Value) -> Value {
    let mut props = props;
    props["id"] = json!(id);
    props["source"] = json!("osm");
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

fn roads(k: &Kept, bbox: &Bbox, report: &mut ImportReport) -> Vec<Value> {
    let mut out = Vec::new();
    for (id, (refs, tags)) in &k.ways {
        let Some(r) = mapping::road(tags) else {
            continue;
        };
        report.highway_ways += 1;
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for p in refs.iter().map(|n| k.nodes.get(n).copied()) {
            match p {
                Some(p) if bbox.contains(p.0, p.1) => {
                    runs.last_mut().unwrap_or(&mut Vec::new()).push(p)
                }
                _ => runs.push(Vec::new()),
            }
        }
        for (i, mut run) in runs.into_iter().filter(|r| r.len() >= 2).enumerate() {
            run.dedup();
            if run.len() < 2 {
                continue;
            }
            if r.oneway == Oneway::Reversed {
                run.reverse();
            }
            let modes: Vec<&str> = r.modes.iter().map(|m| m.key()).collect();
            let mut props = json!({"class": r.class.key(), "modes": modes, "speed_kmh": (r.speed_kmh * 10.0).round() / 10.0, "oneway": r.oneway != Oneway::No, "osm_id": format!("w{id}")});
            if let Some(n) = &r.name {
                props["name"] = json!(n);
            }
            out.push(feature(format!("w{id}-{i}"), props, json!({"type": "LineString", "coordinates": run.into_iter().map(ll).collect::<Vec<_>>()})));
        }
    }
    report.road_features = out.len();
    out
}

/// Closed ways and multipolygon relations whose tags satisfy `keep`, as (id, tags, polygons, left out).
fn areas(k: &Kept, keep: impl Fn(&Tags) -> bool) -> Vec<(String, &Tags, Vec<Polygon>, usize)> {
    let mut out = Vec::new();
    for (id, (refs, tags)) in &k.ways {
        if !keep(tags) {
            continue;
        }
        let closed = refs.len() >= 4 && refs.first() == refs.last();
        let ring: Vec<Ring> = if closed { vec![refs.clone()] } else { vec![] };
        let (polys, bad) = geometry::polygons(geometry::rings(&ring, &k.nodes), vec![]);
        out.push((format!("w{id}"), tags, polys, bad + usize::from(!closed)));
    }
    for (id, tags, outer, inner) in &k.relations {
        if !keep(tags) {
            continue;
        }
        let pieces = |ids: &[i64]| {
            ids.iter()
                .filter_map(|w| k.ways.get(w).map(|(r, _)| r.clone()))
                .collect::<Vec<_>>()
        };
        let (outer_rings, open_o) = rings::join(pieces(outer));
        let (inner_rings, open_i) = rings::join(pieces(inner));
        let (polys, bad) = geometry::polygons(
            geometry::rings(&outer_rings, &k.nodes),
            geometry::rings(&inner_rings, &k.nodes),
        );
        out.push((format!("r{id}"), tags, polys, bad + open_o + open_i));
    }
    out
}

fn polygon_json(polys: &[Polygon]) -> Value {
    let rings = |p: &Polygon| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|r| r.0.iter().map(|c| ll((c.x, c.y))).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    if polys.len() == 1 {
        json!({"type": "Polygon", "coordinates": rings(&polys[0])})
    } else {
        json!({"type": "MultiPolygon", "coordinates": polys.iter().map(rings).collect::<Vec<_>>()})
    }
}

fn buildings(k: &Kept, bbox: &Bbox, report: &mut ImportReport) -> Vec<Value> {
    let mut out = Vec::new();
    for (id, tags, polys, _) in areas(k, mapping::is_building) {
        report.buildings_in_file += 1;
        let inside: Vec<Polygon> = polys
            .into_iter()
            .filter(|p| geometry::polygon_inside(p, bbox))
            .collect();
        if inside.is_empty() {
            report.buildings_left_out += 1;
            continue;
        }
        let name = get(tags, "name");
        let mut props = json!({"height_m": (mapping::building_height(tags) * 10.0).round() / 10.0, "heritage": mapping::is_heritage(tags), "landmark": name.is_some(), "osm_id": id});
        if let Some(n) = name {
            props["name"] = json!(n);
        }
        out.push(feature(id, props, polygon_json(&inside)));
    }
    report.buildings = out.len();
    out
}

fn water(k: &Kept, bbox: &Bbox, report: &mut ImportReport) -> Vec<Value> {
    let mut out = Vec::new();
    for (id, tags, polys, _) in areas(k, mapping::is_water) {
        let touching: Vec<Polygon> = polys
            .into_iter()
            .filter(|p| p.exterior().0.iter().any(|c| bbox.contains(c.x, c.y)))
            .collect();
        if touching.is_empty() {
            continue;
        }
        let mut props = json!({"osm_id": id});
        if let Some(n) = get(tags, "name") {
            props["name"] = json!(n);
        }
        out.push(feature(id, props, polygon_json(&touching)));
    }
    report.water = out.len();
    out
}

fn assets(k: &Kept, bbox: &Bbox, report: &mut ImportReport) -> Vec<Value> {
    let mut out = Vec::new();
    let mut add = |id: String, kind: AssetKind, p: (f64, f64)| {
        if bbox.contains(p.0, p.1) {
            *report.assets.entry(kind.key().to_owned()).or_default() += 1;
            out.push(feature(
                id.clone(),
                json!({"kind": kind.key(), "osm_id": id}),
                json!({"type": "Point", "coordinates": ll(p)}),
            ));
        }
    };
    for (id, lon, lat, kind) in &k.tagged_nodes {
        add(format!("n{id}"), *kind, (*lon, *lat));
    }
    for (id, (refs, tags)) in &k.ways {
        if let (Some(kind), Some(p)) = (
            mapping::asset(tags),
            refs.first().and_then(|r| k.nodes.get(r)),
        ) {
            add(format!("w{id}"), kind, *p);
        }
    }
    out
}

/// Reads `--grid`: polygon features with `code` and `name`, and their extent.
fn read_grid(path: &Path) -> Result<(Vec<Value>, Bbox), ImportError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ImportError::Unreadable(path.to_owned(), e))?;
    let bad = |m: String| ImportError::Malformed(path.to_owned(), m);
    let root: Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("{}:{}: malformed JSON: {e}", e.line(), e.column())))?;
    let features = root
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("not a GeoJSON FeatureCollection".into()))?;
    let mut extent: Option<Bbox> = None;
    let mut out = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let props = f
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| bad(format!("feature #{i} has no properties")))?;
        if props.get("code").and_then(Value::as_str).is_none() {
            return Err(bad(format!(
                "feature #{i} has no \"code\" (a 9-digit division code)"
            )));
        }
        let mut f = f.clone();
        if props.get("source").is_none() {
            f["properties"]["source"] = json!("survey");
        }
        if props.get("id").is_none() {
            f["properties"]["id"] = json!(format!("part-{i}"));
        }
        let coords = f
            .pointer("/geometry/coordinates")
            .cloned()
            .unwrap_or(Value::Null);
        for p in flatten(&coords) {
            let x = extent.get_or_insert(Bbox {
                w: p.0,
                s: p.1,
                e: p.0,
                n: p.1,
            });
            (x.w, x.s, x.e, x.n) = (x.w.min(p.0), x.s.min(p.1), x.e.max(p.0), x.n.max(p.1));
        }
        out.push(f);
    }
    let extent = extent
        .filter(|b| b.e > b.w && b.n > b.s)
        .ok_or_else(|| bad("no polygon coordinates".into()))?;
    Ok((out, extent))
}

fn flatten(v: &Value) -> Vec<(f64, f64)> {
    match v.as_array() {
        Some(a) if a.len() >= 2 && a[0].is_number() => {
            vec![(a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0))]
        }
        Some(a) => a.iter().flat_map(flatten).collect(),
        None => Vec::new(),
    }
}

fn subdistrict(b: &Bbox) -> Value {
    let ring = vec![
        ll((b.w, b.s)),
        ll((b.e, b.s)),
        ll((b.e, b.n)),
        ll((b.w, b.n)),
        ll((b.w, b.s)),
    ];
    json!({"type": "Feature", "properties": {"id": "bbox", "code": deploy::BBOX_CODE, "name": "Imported area (bounding box)", "source": "generated: the import's bounding box"}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
}
