//! The district as SensorThings sees it: every sensing asset of the scene is a Thing at its
//! Location, with one Datastream of the quantity its kind measures (`live.ron`), one Sensor
//! and one ObservedProperty per kind.
//!
//! Ids belong to assets, not to places in a list: the database keeps a registry (table
//! `datastreams`) of which asset (id and kind) each Datastream id was given to, and the
//! scene it was built on (a hash of its files). A scene edited since is refused with the
//! difference named (assets added, removed, moved, kinds changed, files changed), or — when
//! the operator accepts it — taken: new assets get new ids, removed ones (and an asset whose
//! kind changed, under its old kind) keep theirs, retired, with their history readable and no
//! new observations taken. A gateway configured once keeps writing to the same asset.

use crate::config::{LiveConfig, SensorRule};
use binjiang_scene::{AssetKind, Scene};
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// One sensing asset: a Thing with its Location and Datastream (all three share its id).
#[derive(Debug, Clone)]
pub struct Thing {
    /// `@iot.id` of the Thing, its Location and its Datastream (1-based).
    pub id: u64,
    /// The scene's asset id.
    pub asset_id: String,
    /// Its kind.
    pub kind: AssetKind,
    /// Its name in the scene, if any.
    pub name: Option<String>,
    /// WGS84 longitude, latitude.
    pub lon_lat: (f64, f64),
    /// Index of its rule (and of its Sensor and ObservedProperty, id = index + 1); `None`
    /// for a retired asset whose kind no rule covers any more.
    pub rule: Option<usize>,
    /// When the asset left the scene (an accepted scene change), ISO 8601: its history stays
    /// readable, new observations are refused.
    pub retired: Option<String>,
}

/// Every Thing of a scene, with the rules behind their Datastreams.
#[derive(Debug, Clone)]
pub struct Things {
    /// By id − 1 (ids are dense: retired assets keep theirs).
    pub things: Vec<Thing>,
    /// The rules, by index.
    pub rules: Vec<SensorRule>,
}

/// Positions closer than this, metres, are the same place (GeoJSON round trips).
const MOVED_M: f64 = 0.5;

impl Things {
    /// The Things of `scene` under `config`'s rules, numbered in scene order: what a new
    /// database registers (and what a tool without a database assumes).
    pub fn of_scene(scene: &Scene, config: &LiveConfig) -> Self {
        let rules: Vec<SensorRule> = config.rules.iter().map(|(_, r)| r.clone()).collect();
        let things = sensing(scene, config)
            .into_iter()
            .enumerate()
            .map(|(i, (a, rule))| Thing {
                id: i as u64 + 1,
                asset_id: a.id.clone(),
                kind: a.kind,
                name: a.name.clone(),
                lon_lat: scene.frame.to_wgs84(a.position.0),
                rule: Some(rule),
                retired: None,
            })
            .collect();
        Things { things, rules }
    }

    /// Thing (and Datastream) `id`, retired or not.
    pub fn get(&self, id: u64) -> Option<&Thing> {
        id.checked_sub(1)
            .and_then(|i| self.things.get(usize::try_from(i).ok()?))
    }

    /// The rule of Datastream `id`, if it takes observations (known and not retired).
    pub fn rule_of(&self, id: u64) -> Option<&SensorRule> {
        let t = self.get(id).filter(|t| t.retired.is_none())?;
        self.rules.get(t.rule?)
    }

    /// How many Things (and Datastreams), retired ones included.
    pub fn len(&self) -> usize {
        self.things.len()
    }

    /// Whether the scene has no sensing assets.
    pub fn is_empty(&self) -> bool {
        self.things.is_empty()
    }
}

/// The scene's sensing assets (those a rule covers), in scene order, with their rule index.
fn sensing<'a>(scene: &'a Scene, config: &LiveConfig) -> Vec<(&'a binjiang_scene::Asset, usize)> {
    scene
        .assets
        .iter()
        .filter_map(|a| {
            let rule = config.rules.iter().position(|(k, _)| *k == a.kind)?;
            Some((a, rule))
        })
        .collect()
}

/// How a scene differs from the one a database was built on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SceneChange {
    /// Sensing assets new to the database.
    pub added: Vec<String>,
    /// Sensing assets no longer in the scene.
    pub removed: Vec<String>,
    /// Assets moved: id and metres.
    pub moved: Vec<(String, f64)>,
    /// Assets whose kind changed: id, old kind, new kind.
    pub kind_changed: Vec<(String, String, String)>,
    /// Scene files changed, added or removed (roads, units, rules …).
    pub files: Vec<String>,
}

impl SceneChange {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.moved.is_empty()
            && self.kind_changed.is_empty()
            && self.files.is_empty()
    }
}

impl fmt::Display for SceneChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(items: &[String]) -> String {
            const SHOWN: usize = 8;
            let mut s = items
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if items.len() > SHOWN {
                s.push_str(&format!(" and {} more", items.len() - SHOWN));
            }
            s
        }
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!(
                "{} asset(s) added ({})",
                self.added.len(),
                list(&self.added)
            ));
        }
        if !self.removed.is_empty() {
            parts.push(format!(
                "{} asset(s) removed ({})",
                self.removed.len(),
                list(&self.removed)
            ));
        }
        if !self.moved.is_empty() {
            let moved: Vec<String> = self
                .moved
                .iter()
                .map(|(id, m)| format!("{id} by {m:.1} m"))
                .collect();
            parts.push(format!("{} asset(s) moved ({})", moved.len(), list(&moved)));
        }
        if !self.kind_changed.is_empty() {
            let changed: Vec<String> = self
                .kind_changed
                .iter()
                .map(|(id, a, b)| format!("{id} {a} → {b}"))
                .collect();
            parts.push(format!(
                "{} asset kind(s) changed ({})",
                changed.len(),
                list(&changed)
            ));
        }
        if !self.files.is_empty() {
            parts.push(format!("files changed: {}", list(&self.files)));
        }
        f.write_str(&parts.join("; "))
    }
}

/// One registered Datastream as the database keeps it.
#[derive(Debug, Clone, PartialEq)]
struct Registered {
    id: u64,
    asset_id: String,
    kind: String,
    lon: f64,
    lat: f64,
    retired_ms: Option<i64>,
}

/// The files a scene is built from, each with its SHA-256: `scene.ron`, its GeoJSON layers,
/// `incident_types.ron` and `live.ron` (scenarios and models are not the twin's).
/// A catalogue from outside the scene folder (`serve --catalogue`) is recorded as
/// `--catalogue <its name>`.
pub fn scene_files(
    scene: &Scene,
    catalogue: Option<&std::path::Path>,
) -> std::io::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    if let Some(path) = catalogue {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.insert(
            format!("--catalogue {name}"),
            hex(&Sha256::digest(std::fs::read(path)?)),
        );
    }
    for entry in std::fs::read_dir(&scene.dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_file() && (name.ends_with(".ron") || name.ends_with(".geojson")) {
            let hash = Sha256::digest(std::fs::read(&path)?);
            files.insert(name, hex(&hash));
        }
    }
    Ok(files)
}

/// One hash of all the scene's files (of [`scene_files`]' JSON): what snapshots are tied to.
pub fn scene_hash(files: &BTreeMap<String, String>) -> String {
    hex(&Sha256::digest(
        serde_json::to_vec(files).expect("plain data"),
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why the registry could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// SQLite.
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A scene file could not be read.
    #[error("cannot read the scene's files: {0}")]
    Io(#[from] std::io::Error),
    /// The scene changed and the change was not accepted.
    #[error("the scene changed since this database was built on it: {0}. Serve the scene it was built on, or pass --accept-scene-change to take the new one (history is kept against asset ids; removed assets' history stays readable)")]
    Changed(SceneChange),
    /// The registry holds something this version cannot read.
    #[error("the Datastream registry is corrupt: {0}")]
    Corrupt(String),
}

/// What [`reconcile`] found and did.
#[derive(Debug)]
pub struct Reconciled {
    /// The Things, by registered id.
    pub things: Things,
    /// The change taken (empty when the scene is the one the database was built on).
    pub change: SceneChange,
    /// The scene's hash ([`scene_hash`]).
    pub scene_hash: String,
}

/// Meta key: the scene's files and their hashes (JSON).
pub const SCENE_FILES: &str = "scene_files";

/// Reads the database's registry, compares the scene with the one it was built on, and
/// returns the Things. `rebase` is where the log stands, recorded when a change is taken. A
/// new database (or one from before the registry) registers the
/// scene's sensing assets in scene order. A changed scene is refused unless `accept`; when
/// accepted, the registry and the recorded scene are updated in one transaction.
pub fn reconcile(
    conn: &mut Connection,
    scene: &Scene,
    config: &LiveConfig,
    catalogue: Option<&std::path::Path>,
    accept: bool,
    now_ms: i64,
    rebase: &crate::store::Rebase,
) -> Result<Reconciled, RegistryError> {
    let files = scene_files(scene, catalogue)?;
    let files_json = serde_json::to_string(&files).expect("plain data");
    let stored_files: Option<BTreeMap<String, String>> =
        match crate::store::meta(conn, SCENE_FILES)? {
            Some(text) => Some(
                serde_json::from_str(&text)
                    .map_err(|e| RegistryError::Corrupt(format!("{SCENE_FILES}: {e}")))?,
            ),
            None => None,
        };
    let registered = read(conn)?;
    let current = sensing(scene, config);
    let tx = conn.transaction()?;
    let mut change = SceneChange::default();
    if registered.is_empty() {
        // A new database, or one written before ids were registered: it was built on this
        // scene's order (the only numbering there was).
        for (i, (a, _)) in current.iter().enumerate() {
            let (lon, lat) = scene.frame.to_wgs84(a.position.0);
            insert(&tx, i as u64 + 1, &a.id, a.kind.key(), lon, lat)?;
        }
    } else {
        let live: BTreeMap<(&str, &str), &Registered> = registered
            .iter()
            .filter(|r| r.retired_ms.is_none())
            .map(|r| ((r.asset_id.as_str(), r.kind.as_str()), r))
            .collect();
        let live_by_asset: BTreeMap<&str, &Registered> = registered
            .iter()
            .filter(|r| r.retired_ms.is_none())
            .map(|r| (r.asset_id.as_str(), r))
            .collect();
        let mut next = registered.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        let mut seen = std::collections::HashSet::new();
        for (a, _) in &current {
            seen.insert(a.id.as_str());
            let (lon, lat) = scene.frame.to_wgs84(a.position.0);
            match live.get(&(a.id.as_str(), a.kind.key())) {
                Some(r) => {
                    let was = scene.frame.to_local(r.lon, r.lat);
                    let d = (was.x - a.position.0.x).hypot(was.y - a.position.0.y);
                    if d > MOVED_M {
                        change.moved.push((a.id.clone(), d));
                        tx.execute(
                            "UPDATE datastreams SET lon = ?2, lat = ?3 WHERE id = ?1",
                            params![r.id as i64, lon, lat],
                        )?;
                    }
                }
                None => {
                    if let Some(old) = live_by_asset.get(a.id.as_str()) {
                        change.kind_changed.push((
                            a.id.clone(),
                            old.kind.clone(),
                            a.kind.key().to_owned(),
                        ));
                        retire(&tx, old.id, now_ms)?;
                    } else {
                        change.added.push(a.id.clone());
                    }
                    insert(&tx, next, &a.id, a.kind.key(), lon, lat)?;
                    next += 1;
                }
            }
        }
        for r in registered.iter().filter(|r| r.retired_ms.is_none()) {
            if !seen.contains(r.asset_id.as_str()) {
                change.removed.push(r.asset_id.clone());
                retire(&tx, r.id, now_ms)?;
            }
        }
        if let Some(stored) = &stored_files {
            let mut names: Vec<&String> = stored.keys().chain(files.keys()).collect();
            names.sort();
            names.dedup();
            change.files = names
                .into_iter()
                .filter(|n| stored.get(*n) != files.get(*n))
                .cloned()
                .collect();
        }
    }
    if !change.is_empty() && !accept {
        // The transaction is dropped: nothing is changed.
        return Err(RegistryError::Changed(change));
    }
    crate::store::set_meta(&tx, SCENE_FILES, &files_json)?;
    if !change.is_empty() {
        // The log so far was decided on the old scene: a rebuild replays it on the new one
        // for the state but keeps the decisions logged (see `Twin::rebuild`).
        crate::store::set_meta(
            &tx,
            crate::store::REBASE,
            &serde_json::to_string(rebase).expect("plain data"),
        )?;
    }
    tx.commit()?;
    let rows = read(conn)?;
    let rules: Vec<SensorRule> = config.rules.iter().map(|(_, r)| r.clone()).collect();
    let by_id: BTreeMap<&str, &binjiang_scene::Asset> =
        scene.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut things = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if r.id != i as u64 + 1 {
            return Err(RegistryError::Corrupt(format!(
                "Datastream ids are not 1..={}: {} at place {}",
                rows.len(),
                r.id,
                i + 1
            )));
        }
        let kind = AssetKind::parse(&r.kind)
            .ok_or_else(|| RegistryError::Corrupt(format!("unknown kind \"{}\"", r.kind)))?;
        things.push(Thing {
            id: r.id,
            asset_id: r.asset_id.clone(),
            kind,
            name: by_id
                .get(r.asset_id.as_str())
                .filter(|a| a.kind == kind)
                .and_then(|a| a.name.clone()),
            lon_lat: (r.lon, r.lat),
            rule: config.rules.iter().position(|(k, _)| *k == kind),
            retired: r.retired_ms.map(|ms| {
                chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
        });
    }
    Ok(Reconciled {
        things: Things { things, rules },
        change,
        scene_hash: scene_hash(&files),
    })
}

fn read(conn: &Connection) -> rusqlite::Result<Vec<Registered>> {
    let mut stmt = conn
        .prepare("SELECT id, asset_id, kind, lon, lat, retired_ms FROM datastreams ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(Registered {
            id: r.get::<_, i64>(0)? as u64,
            asset_id: r.get(1)?,
            kind: r.get(2)?,
            lon: r.get(3)?,
            lat: r.get(4)?,
            retired_ms: r.get(5)?,
        })
    })?;
    rows.collect()
}

fn insert(
    conn: &Connection,
    id: u64,
    asset: &str,
    kind: &str,
    lon: f64,
    lat: f64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO datastreams (id, asset_id, kind, lon, lat) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id as i64, asset, kind, lon, lat],
    )?;
    Ok(())
}

fn retire(conn: &Connection, id: u64, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE datastreams SET retired_ms = ?2 WHERE id = ?1",
        params![id as i64, now_ms],
    )?;
    Ok(())
}
