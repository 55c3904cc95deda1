//! A scene edited under a database (issue 17.2): Datastream ids belonged to places in the
//! scene's asset list, so removing 150 bins re-attributed a stored 10 % bin fill to a manhole
//! tilt Datastream and `Observations(n)/Datastream` panicked. Ids now belong to assets: a
//! changed scene is refused with the difference named, or taken with
//! `accept_scene_change`, history kept against asset ids.

mod common;

use binjiang_live::auth::{add_token, Role};
use binjiang_live::things::RegistryError;
use binjiang_live::{District, Running, ServeError};
use binjiang_scene::Scene;
use binjiang_sim::IncidentCatalogue;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A copy of the Yangpu scene as deep as the original, beside a link to the models.
fn yangpu_copy(root: &Path) -> PathBuf {
    let scene = root.join("scenes/yangpu-riverfront");
    std::fs::create_dir_all(&scene).unwrap();
    std::os::unix::fs::symlink(repo().join("assets"), root.join("assets")).unwrap();
    for f in std::fs::read_dir(repo().join("scenes/yangpu-riverfront")).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() {
            std::fs::copy(&f, scene.join(f.file_name().unwrap())).unwrap();
        }
    }
    scene
}

fn district(dir: &Path) -> District {
    let scene = Scene::load(dir).unwrap();
    let (catalogue, _) = IncidentCatalogue::load(&dir.join("incident_types.ron"), &scene).unwrap();
    District::new(scene, catalogue).unwrap()
}

fn start(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    db: &Path,
    accept: bool,
) -> Result<Running, ServeError> {
    let mut o = common::options(db);
    o.accept_scene_change = accept;
    rt.block_on(binjiang_live::start(district(dir), o))
}

/// Edits the copy's assets: `f` gets the features and changes them.
fn edit_assets(dir: &Path, f: impl FnOnce(&mut Vec<Value>)) {
    let path = dir.join("assets.geojson");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(doc["features"].as_array_mut().unwrap());
    std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
}

/// A running service, a reader's and a gateway's token.
struct Client<'a> {
    base: String,
    agent: &'a ureq::Agent,
    reader: &'a str,
    gateway: &'a str,
}

impl<'a> Client<'a> {
    fn of(running: &Running, agent: &'a ureq::Agent, reader: &'a str, gateway: &'a str) -> Self {
        Client {
            base: format!("http://{}", running.addr),
            agent,
            reader,
            gateway,
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        common::call(self.agent, "GET", &url, Some(self.reader), None)
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        common::call(
            self.agent,
            "POST",
            &url,
            Some(self.gateway),
            Some(body.to_string()),
        )
    }
}

#[test]
fn a_changed_scene_is_refused_or_taken_with_history_kept_per_asset() {
    let root = tempfile::tempdir().unwrap();
    let dir = yangpu_copy(root.path());
    let db = root.path().join("live.db");
    let (gw, reader) = {
        let conn = binjiang_live::store::open(&db).unwrap();
        (
            add_token(&conn, Role::Gateway, None, "gw").unwrap(),
            add_token(&conn, Role::Display, None, "wall").unwrap(),
        )
    };
    let agent = common::agent();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let running = start(&rt, &dir, &db, false).unwrap();
    let client = Client::of(&running, &agent, &reader, &gw);
    let (get, post) = (
        |p: &str| client.get(p),
        |p: &str, b: Value| client.post(p, b),
    );
    let stream_of = |asset: &str| -> u64 {
        let (_, all) = get("/v1.1/Datastreams?$top=10000");
        all["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["properties"]["asset_id"] == asset)
            .and_then(|d| d["@iot.id"].as_u64())
            .unwrap_or_else(|| panic!("no Datastream of {asset}"))
    };
    let (bin, manhole) = (stream_of("bin-003"), stream_of("mh-001"));
    let (s, r) = post(
        &format!("/v1.1/Datastreams({bin})/Observations"),
        json!({"result": 10}),
    );
    assert_eq!(s, 201, "{r}");
    let bin_obs = r["@iot.id"].as_u64().unwrap();
    let (s, r) = post(
        &format!("/v1.1/Datastreams({manhole})/Observations"),
        json!({"result": 1}),
    );
    assert_eq!(s, 201, "{r}");
    let manhole_obs = r["@iot.id"].as_u64().unwrap();
    rt.block_on(running.stop());

    // 150 bins removed from the copy: refused, naming what changed; nothing is changed.
    edit_assets(&dir, |features| {
        let mut removed = 0;
        features.retain(|f| {
            let bin = f["properties"]["kind"] == "bin" && removed < 150;
            removed += usize::from(bin);
            !bin
        });
    });
    match start(&rt, &dir, &db, false) {
        Err(ServeError::Scene(RegistryError::Changed(change))) => {
            assert_eq!(change.removed.len(), 150);
            assert!(change.removed.contains(&"bin-003".to_owned()));
            assert!(change.added.is_empty() && change.moved.is_empty());
            assert_eq!(change.files, vec!["assets.geojson".to_owned()]);
            let text = ServeError::Scene(RegistryError::Changed(change)).to_string();
            assert!(text.contains("150 asset(s) removed (bin-001"), "{text}");
            assert!(text.contains("--accept-scene-change"), "{text}");
        }
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a changed scene was taken without a word"),
    }

    // Taken: the bin's history stays the bin's, readable; the manhole keeps its id.
    let running = start(&rt, &dir, &db, true).unwrap();
    let client = Client::of(&running, &agent, &reader, &gw);
    let (get, post) = (
        |p: &str| client.get(p),
        |p: &str, b: Value| client.post(p, b),
    );
    let (s, d) = get(&format!("/v1.1/Observations({bin_obs})/Datastream"));
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["@iot.id"], bin);
    assert_eq!(d["properties"]["asset_id"], "bin-003");
    assert_eq!(d["properties"]["kind"], "bin");
    assert!(d["properties"]["retired"].is_string(), "{d}");
    let (s, o) = get(&format!("/v1.1/Datastreams({bin})/Observations"));
    assert_eq!(s, 200);
    assert_eq!(o["value"][0]["result"], 10.0);
    let (s, d) = get(&format!("/v1.1/Observations({manhole_obs})/Datastream"));
    assert_eq!((s, d["@iot.id"].as_u64()), (200, Some(manhole)));
    assert_eq!(d["properties"]["asset_id"], "mh-001");
    // A removed asset takes no new observations; a kept one does, under its old id.
    let (s, r) = post(
        &format!("/v1.1/Datastreams({bin})/Observations"),
        json!({"result": 20}),
    );
    assert_eq!(s, 422, "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("removed from the scene"),
        "{r}"
    );
    let (s, r) = post(
        &format!("/v1.1/Datastreams({manhole})/Observations"),
        json!({"result": 1.5}),
    );
    assert_eq!(s, 201, "{r}");
    // Every stored observation reads back with its stream: no read panics.
    let (s, all) = get("/v1.1/Observations?$top=10000");
    assert_eq!(s, 200);
    for o in all["value"].as_array().unwrap() {
        let (s, d) = get(&format!("/v1.1/Observations({})/Datastream", o["@iot.id"]));
        assert_eq!(s, 200, "{d}");
    }
    rt.block_on(running.stop());

    // The recorded scene is now the edited one: a plain restart takes it.
    rt.block_on(start(&rt, &dir, &db, false).unwrap().stop());

    // A manhole moved 30 m north, a bin added: both named; taken, the new bin gets a new id.
    edit_assets(&dir, |features| {
        let m = features
            .iter_mut()
            .find(|f| f["properties"]["id"] == "mh-001")
            .unwrap();
        let lat = m["geometry"]["coordinates"][1].as_f64().unwrap();
        m["geometry"]["coordinates"][1] = json!(lat + 30.0 / 111_320.0);
        let mut new_bin = features
            .iter()
            .find(|f| f["properties"]["kind"] == "bin")
            .unwrap()
            .clone();
        new_bin["properties"]["id"] = json!("bin-new-1");
        features.push(new_bin);
    });
    match start(&rt, &dir, &db, false) {
        Err(ServeError::Scene(RegistryError::Changed(change))) => {
            assert_eq!(change.added, vec!["bin-new-1".to_owned()]);
            assert_eq!(change.moved.len(), 1);
            assert_eq!(change.moved[0].0, "mh-001");
            assert!((change.moved[0].1 - 30.0).abs() < 1.0, "{:?}", change.moved);
        }
        other => panic!(
            "expected a refusal naming the change, got {:?}",
            other.err()
        ),
    }
    let running = start(&rt, &dir, &db, true).unwrap();
    let (_, all) = Client::of(&running, &agent, &reader, &gw).get("/v1.1/Datastreams?$top=10000");
    let ids: Vec<u64> = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["@iot.id"].as_u64().unwrap())
        .collect();
    let new_id = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["properties"]["asset_id"] == "bin-new-1")
        .and_then(|d| d["@iot.id"].as_u64())
        .unwrap();
    assert_eq!(
        new_id,
        *ids.iter().max().unwrap(),
        "a new asset gets a new id"
    );
    rt.block_on(running.stop());
}
