//! Importing real and hand-written OSM data.

use binjiang_osm::elements::{for_each, Element, MemberKind, Pass};
use binjiang_osm::{import, Bbox, ImportError, ImportOptions};
use binjiang_scene::Scene;
use proptest::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn kotka() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/osm/kotka-test.osm.pbf")
}

fn options(out: &Path) -> ImportOptions {
    ImportOptions {
        out: out.to_owned(),
        bbox: None,
        name: Some("test".into()),
        cell_m: 100.0,
        grid: None,
    }
}

fn all(path: &Path, pass: Pass) -> Vec<Element> {
    let mut v = Vec::new();
    for_each(path, pass, &mut |e| v.push(e)).unwrap();
    v
}

#[test]
fn kotka_imports_to_a_valid_scene_with_the_files_counts() {
    let dir = tempfile::tempdir().unwrap();
    let report = import(&kotka(), &options(dir.path()), &mut |_| {}).unwrap();
    let scene = Scene::load(dir.path()).unwrap();
    // Counted independently of the importer, straight from the file.
    let ways = all(&kotka(), Pass::Ways);
    let relations = all(&kotka(), Pass::Relations);
    let tag = |tags: &[(String, String)], k: &str| {
        tags.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let building_ways = ways.iter().filter(|e| matches!(e, Element::Way { tags, .. } if tag(tags, "building").is_some_and(|v| v != "no"))).count();
    let building_relations = relations
        .iter()
        .filter(|e| matches!(e, Element::Relation { tags, .. } if tag(tags, "type").as_deref() == Some("multipolygon") && tag(tags, "building").is_some()))
        .count();
    assert_eq!(report.buildings_in_file, building_ways + building_relations);
    assert_eq!(
        report.buildings + report.buildings_left_out,
        report.buildings_in_file
    );
    assert_eq!(scene.buildings.len(), report.buildings);
    assert!(
        report.buildings > 2000,
        "the extract holds ~2,200 buildings: {}",
        report.buildings
    );
    const MAPPED: &[&str] = &[
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "residential",
        "unclassified",
        "living_street",
        "road",
        "service",
        "track",
        "footway",
        "path",
        "pedestrian",
        "cycleway",
        "steps",
        "bridleway",
    ];
    let highway_ways = ways.iter().filter(|e| matches!(e, Element::Way { tags, .. } if tag(tags, "highway").is_some_and(|h| MAPPED.contains(&h.as_str())))).count();
    assert!(
        report.highway_ways <= highway_ways && report.highway_ways + 5 >= highway_ways,
        "{} of {highway_ways}",
        report.highway_ways
    );
    assert_eq!(scene.roads.len(), report.road_features);
    assert!(report.largest_piece_share > 0.95);
    assert_eq!(scene.units.len(), report.units);
    assert!(scene.roads.iter().all(|r| r.source == "osm"));
    let readme = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(readme.contains("© OpenStreetMap contributors") && readme.contains("ODbL"));
}

/// Writes elements back out as OSM XML (the export button's format).
fn to_xml(path: &Path) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let tags = |out: &mut String, tags: &[(String, String)]| {
        for (k, v) in tags {
            let _ = writeln!(out, "    <tag k=\"{}\" v=\"{}\"/>", esc(k), esc(v));
        }
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\" generator=\"binjiang test\">\n");
    for e in all(path, Pass::Nodes) {
        if let Element::Node {
            id,
            lon,
            lat,
            tags: t,
        } = e
        {
            let _ = writeln!(out, "  <node id=\"{id}\" lat=\"{lat}\" lon=\"{lon}\">");
            tags(&mut out, &t);
            out.push_str("  </node>\n");
        }
    }
    for e in all(path, Pass::Ways) {
        if let Element::Way { id, refs, tags: t } = e {
            let _ = writeln!(out, "  <way id=\"{id}\">");
            for r in refs {
                let _ = writeln!(out, "    <nd ref=\"{r}\"/>");
            }
            tags(&mut out, &t);
            out.push_str("  </way>\n");
        }
    }
    for e in all(path, Pass::Relations) {
        if let Element::Relation {
            id,
            members,
            tags: t,
        } = e
        {
            let _ = writeln!(out, "  <relation id=\"{id}\">");
            for m in members {
                let kind = match m.kind {
                    MemberKind::Node => "node",
                    MemberKind::Way => "way",
                    MemberKind::Relation => "relation",
                };
                let _ = writeln!(
                    out,
                    "    <member type=\"{kind}\" ref=\"{}\" role=\"{}\"/>",
                    m.id,
                    esc(&m.role)
                );
            }
            tags(&mut out, &t);
            out.push_str("  </relation>\n");
        }
    }
    out.push_str("</osm>\n");
    out
}

#[test]
fn the_same_extract_as_pbf_and_xml_gives_the_same_scene() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("kotka.osm");
    std::fs::write(&xml, to_xml(&kotka())).unwrap();
    let (a, b) = (dir.path().join("from-pbf"), dir.path().join("from-xml"));
    import(&kotka(), &options(&a), &mut |_| {}).unwrap();
    import(&xml, &options(&b), &mut |_| {}).unwrap();
    for f in [
        "roads.geojson",
        "buildings.geojson",
        "water.geojson",
        "assets.geojson",
        "subdistricts.geojson",
        "scene.ron",
        "incident_types.ron",
    ] {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs between the PBF and XML imports");
    }
}

const TINY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="60.5300" lon="26.9400"/><node id="2" lat="60.5300" lon="26.9440"/>
  <node id="3" lat="60.5320" lon="26.9440"/><node id="4" lat="60.5320" lon="26.9400"/>
  <node id="5" lat="60.5305" lon="26.9410"/><node id="6" lat="60.5305" lon="26.9430"/>
  <node id="7" lat="60.5315" lon="26.9430"/><node id="8" lat="60.5315" lon="26.9410"/>
  <node id="9" lat="60.5290" lon="26.9380"/><node id="10" lat="60.5330" lon="26.9380"/>
  <node id="11" lat="60.5330" lon="26.9460"/><node id="12" lat="60.5290" lon="26.9460"/>
  <node id="13" lat="60.5291" lon="26.9390"><tag k="amenity" v="waste_basket"/></node>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/></way>
  <way id="101"><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>
  <way id="102"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/></way>
  <way id="200"><nd ref="9"/><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="9"/><tag k="highway" v="residential"/><tag k="name" v="Ring Road"/></way>
  <relation id="300">
    <member type="way" ref="100" role="outer"/><member type="way" ref="101" role="outer"/>
    <member type="way" ref="102" role="inner"/>
    <tag k="type" v="multipolygon"/><tag k="building" v="yes"/><tag k="building:levels" v="4"/><tag k="name" v="Courtyard block"/>
  </relation>
</osm>
"#;

#[test]
fn multipolygon_with_a_hole_from_hand_written_xml() {
    let dir = tempfile::tempdir().unwrap();
    let osm = dir.path().join("tiny.osm");
    std::fs::write(&osm, TINY).unwrap();
    let out = dir.path().join("scene");
    let opts = ImportOptions {
        bbox: Some(Bbox::parse("26.9370,60.5285,26.9470,60.5335").unwrap()),
        ..options(&out)
    };
    let report = import(&osm, &opts, &mut |_| {}).unwrap();
    assert_eq!((report.buildings, report.buildings_in_file), (1, 1));
    let scene = Scene::load(&out).unwrap();
    let b = &scene.buildings[0];
    assert_eq!(b.footprint.0.len(), 1);
    assert_eq!(
        b.footprint.0[0].interiors().len(),
        1,
        "the courtyard is a hole"
    );
    assert!((b.height_m - 12.8).abs() < 1e-9);
    assert_eq!(b.name.as_deref(), Some("Courtyard block"));
    assert_eq!(report.assets.get("bin"), Some(&1));
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scene");
    let truncated = dir.path().join("truncated.osm.pbf");
    std::fs::write(&truncated, &std::fs::read(kotka()).unwrap()[..3000]).unwrap();
    assert!(matches!(
        import(&truncated, &options(&out), &mut |_| {}),
        Err(ImportError::Malformed(..))
    ));
    let text = dir.path().join("notes.osm");
    std::fs::write(&text, "<html><body>not osm</body></html>").unwrap();
    let err = import(&text, &options(&out), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not an OSM XML file"), "{err}");
    let empty = ImportOptions {
        bbox: Some(Bbox::parse("10,10,11,11").unwrap()),
        ..options(&out)
    };
    assert!(matches!(
        import(&kotka(), &empty, &mut |_| {}),
        Err(ImportError::NoData(_))
    ));
    assert!(matches!(
        Bbox::parse("26.97,60.52,26.93,60.54"),
        Err(ImportError::Bbox(_))
    ));
    assert!(matches!(Bbox::parse("1,2,3"), Err(ImportError::Bbox(_))));
    assert!(matches!(
        import(&dir.path().join("missing.pbf"), &options(&out), &mut |_| {}),
        Err(ImportError::Unreadable(..))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn readers_never_panic_on_junk(bytes in prop::collection::vec(any::<u8>(), 0..600), xml in any::<bool>(), pass in 0usize..3) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        let mut data = if xml { b"<osm>".to_vec() } else { Vec::new() };
        data.extend(bytes);
        std::fs::write(&path, data).unwrap();
        let pass = [Pass::Nodes, Pass::Ways, Pass::Relations][pass];
        let _ = for_each(&path, pass, &mut |_| {});
    }

    #[test]
    fn truncated_pbf_never_panics(cut in 0usize..20_000) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.osm.pbf");
        let bytes = std::fs::read(kotka()).unwrap();
        std::fs::write(&path, &bytes[..cut.min(bytes.len())]).unwrap();
        let _ = for_each(&path, Pass::Ways, &mut |_| {});
    }
}

#[test]
fn grid_parts_come_from_a_geojson_file() {
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("grid.geojson");
    let part = |code: &str, w: f64, e: f64| {
        format!(
            r#"{{"type":"Feature","properties":{{"code":"{code}","name":"Part {code}"}},"geometry":{{"type":"Polygon","coordinates":[[[{w},60.522],[{e},60.522],[{e},60.538],[{w},60.538],[{w},60.522]]]}}}}"#
        )
    };
    std::fs::write(
        &grid,
        format!(
            r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
            part("111111111", 26.935, 26.95),
            part("222222222", 26.95, 26.965)
        ),
    )
    .unwrap();
    let out = dir.path().join("scene");
    let opts = ImportOptions {
        grid: Some(grid),
        ..options(&out)
    };
    import(&kotka(), &opts, &mut |_| {}).unwrap();
    let scene = Scene::load(&out).unwrap();
    let mut codes: Vec<&str> = scene.grid.parts.iter().map(|p| p.code.as_str()).collect();
    codes.sort();
    assert_eq!(codes, vec!["111111111", "222222222"]);
    assert!(scene
        .grid
        .cells
        .iter()
        .any(|c| c.subdistrict == "222222222"));
}
