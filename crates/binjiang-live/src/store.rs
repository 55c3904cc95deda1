//! The twin's memory on disk: one SQLite database (WAL, `synchronous=FULL`) holding every
//! accepted input, every decision, the observations and fixes as received, the sensors' alarm
//! state, the audit trail and the access tokens.
//!
//! One writer thread owns the write connection. The twin hands it [`Batch`]es in order; it
//! commits whatever has queued up in one transaction (group commit: one fsync for many
//! requests) and only then tells each batch's waiters that their data is on disk. The queue
//! is bounded: when the disk cannot keep up the twin stops taking requests (503) instead of
//! growing memory. A failed commit fails its batches and every later batch of the same
//! epoch: the twin then rebuilds its state from the database, so nothing unsaved survives
//! in memory either.

pub use rusqlite::Connection;
use rusqlite::{params, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused (disk full, read-only, corrupt …).
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The write was not attempted: an earlier write of the same state failed.
    #[error("an earlier write failed; the twin is reloading from disk")]
    Superseded,
    /// The writer has stopped.
    #[error("the database writer has stopped")]
    Stopped,
}

/// One observation row.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationRow {
    /// `@iot.id`.
    pub id: u64,
    /// Datastream id.
    pub datastream: u64,
    /// phenomenonTime, Unix ms.
    pub phenomenon_ms: i64,
    /// resultTime, Unix ms.
    pub result_time_ms: i64,
    /// The value.
    pub result: f64,
}

/// One GPS fix as received.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRow {
    /// The unit's id.
    pub unit: String,
    /// When, Unix ms.
    pub at_ms: i64,
    /// WGS84.
    pub lon: f64,
    /// WGS84.
    pub lat: f64,
}

/// One audit entry: who did what, when, why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRow {
    /// When, ISO 8601.
    pub at: String,
    /// Unix ms (for `since` queries).
    #[serde(skip)]
    pub at_ms: i64,
    /// The token's name.
    pub actor: String,
    /// Its role.
    pub role: String,
    /// What (`acknowledge`, `close` …).
    pub action: String,
    /// The incident acted on.
    pub incident: Option<u32>,
    /// Why, in the operator's words.
    pub reason: String,
    /// The request's details (agency, unit, disposition …), JSON.
    pub detail: serde_json::Value,
}

/// A sensor's alarm state (one row per Datastream that has ever reported).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SensorState {
    /// Whether a value at or above the threshold would raise an incident now.
    pub disarmed: bool,
    /// The incident it raised, while that may still be open.
    pub incident: Option<u32>,
}

/// What one request (or one clock tick) adds to the database, written in one transaction
/// with whatever else is queued.
#[derive(Debug, Default)]
pub struct Batch {
    /// The twin's state epoch this batch belongs to.
    pub epoch: u64,
    /// New observations.
    pub observations: Vec<ObservationRow>,
    /// Simulation inputs (reports, commands, applied fixes), as JSON, with their time.
    pub inputs: Vec<(f64, String)>,
    /// Decisions (the simulation's events), as JSON, with their time.
    pub events: Vec<(f64, String)>,
    /// Raw fixes.
    pub positions: Vec<PositionRow>,
    /// Sensor states changed, by Datastream.
    pub sensors: Vec<(u64, SensorState)>,
    /// Audit entries.
    pub audit: Vec<AuditRow>,
    /// The last bus message (stream sequence) this batch's inputs include: saved in the same
    /// transaction, so the twin's log and its place in the bus never disagree.
    pub bus_seq: Option<u64>,
    /// A snapshot of the twin after this batch's inputs and events (see
    /// [`crate::twin`]'s rebuild): written in the same transaction, the two older ones
    /// kept, earlier ones deleted.
    pub snapshot: Option<SnapshotRow>,
    /// Told once the batch is on disk (or why not).
    pub done: Vec<oneshot::Sender<Result<(), Arc<StoreError>>>>,
}

/// A stored snapshot of the twin.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    /// The inputs it holds: every one up to this sequence number.
    pub input_seq: u64,
    /// The events logged for it: every one up to this sequence number.
    pub event_seq: u64,
    /// The twin's time, simulation seconds.
    pub t: f64,
    /// The format's version.
    pub version: i64,
    /// The hash of the scene it was taken on.
    pub scene: String,
    /// CBOR.
    pub body: Vec<u8>,
}

/// Snapshots kept: the latest and the one before (in case the latest does not decode).
const SNAPSHOTS_KEPT: i64 = 2;

impl Batch {
    /// Whether there is nothing to write and nobody waiting.
    pub fn is_empty(&self) -> bool {
        self.observations.is_empty()
            && self.inputs.is_empty()
            && self.events.is_empty()
            && self.positions.is_empty()
            && self.sensors.is_empty()
            && self.audit.is_empty()
            && self.bus_seq.is_none()
            && self.snapshot.is_none()
            && self.done.is_empty()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS observations (
    id INTEGER PRIMARY KEY, datastream INTEGER NOT NULL, phenomenon_ms INTEGER NOT NULL,
    result_time_ms INTEGER NOT NULL, result REAL NOT NULL);
CREATE INDEX IF NOT EXISTS observations_by_stream ON observations (datastream, phenomenon_ms);
CREATE TABLE IF NOT EXISTS inputs (seq INTEGER PRIMARY KEY, t REAL NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, t REAL NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    id INTEGER PRIMARY KEY, unit TEXT NOT NULL, at_ms INTEGER NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sensors (
    datastream INTEGER PRIMARY KEY, disarmed INTEGER NOT NULL, incident INTEGER);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
    role TEXT NOT NULL, action TEXT NOT NULL, incident INTEGER, reason TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_ms);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY, input_seq INTEGER NOT NULL, event_seq INTEGER NOT NULL,
    t REAL NOT NULL, version INTEGER NOT NULL, scene TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS datastreams (
    id INTEGER PRIMARY KEY, asset_id TEXT NOT NULL, kind TEXT NOT NULL, lon REAL NOT NULL,
    lat REAL NOT NULL, retired_ms INTEGER);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, role TEXT NOT NULL, agency TEXT, name TEXT NOT NULL,
    created_ms INTEGER NOT NULL, revoked_ms INTEGER);
";

/// Opens (creating if needed) the database at `path` with the durability settings every
/// connection must share.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let wrap = |source| StoreError::Sqlite {
        path: path.display().to_string(),
        source,
    };
    let conn = Connection::open(path).map_err(wrap)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(wrap)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(wrap)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(wrap)?;
    conn.execute_batch(SCHEMA).map_err(wrap)?;
    migrate(&conn).map_err(wrap)?;
    Ok(conn)
}

/// Brings a database written by an earlier version up to this schema: columns added since.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has = |table: &str, column: &str| -> rusqlite::Result<bool> {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
        for n in names {
            if n? == column {
                return Ok(true);
            }
        }
        Ok(false)
    };
    if !has("tokens", "revoked_ms")? {
        conn.execute_batch("ALTER TABLE tokens ADD COLUMN revoked_ms INTEGER")?;
    }
    Ok(())
}

/// Reads a meta value.
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// Writes a meta value (durably: the caller's connection is in FULL mode).
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}

/// The writer's handle: a bounded queue of batches and the epoch of its last failure.
#[derive(Debug, Clone)]
pub struct Writer {
    tx: mpsc::Sender<Batch>,
    /// The highest epoch a write failed in (0: none).
    pub failed_epoch: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer thread on its own connection to `path`; `queue` batches may wait.
    /// `max_pages`, when set, caps the database size (SQLite's `max_page_count`): a full disk
    /// on demand, for tests.
    pub fn start(
        path: &Path,
        queue: usize,
        max_pages: Option<u64>,
        telemetry: Arc<crate::telemetry::Telemetry>,
    ) -> Result<(Self, std::thread::JoinHandle<()>), StoreError> {
        let conn = open(path)?;
        if let Some(pages) = max_pages {
            conn.pragma_update(None, "max_page_count", pages)
                .map_err(|source| StoreError::Sqlite {
                    path: path.display().to_string(),
                    source,
                })?;
        }
        let (tx, rx) = mpsc::channel(queue);
        let failed_epoch = Arc::new(AtomicU64::new(0));
        let failed = Arc::clone(&failed_epoch);
        let path = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("binjiang-writer".into())
            .spawn(move || write_loop(conn, path, rx, failed, telemetry))
            .expect("spawn the writer thread");
        Ok((Writer { tx, failed_epoch }, handle))
    }

    /// Queues a batch, waiting while the queue is full (back-pressure on the twin).
    pub async fn send(&self, batch: Batch) -> Result<(), StoreError> {
        self.tx.send(batch).await.map_err(|_| StoreError::Stopped)
    }
}

/// Most batches one transaction takes: bounds the latency of the first in the group.
const GROUP_MAX: usize = 512;

fn write_loop(
    mut conn: Connection,
    path: PathBuf,
    mut rx: mpsc::Receiver<Batch>,
    failed: Arc<AtomicU64>,
    telemetry: Arc<crate::telemetry::Telemetry>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(b) => group.push(b),
                Err(_) => break,
            }
        }
        let failed_at = failed.load(Ordering::SeqCst);
        let (stale, fresh): (Vec<Batch>, Vec<Batch>) = group
            .into_iter()
            .partition(|b| failed_at > 0 && b.epoch <= failed_at);
        let superseded = Arc::new(StoreError::Superseded);
        for b in stale {
            for d in b.done {
                let _ = d.send(Err(Arc::clone(&superseded)));
            }
        }
        if fresh.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let written = write_group(&mut conn, &fresh);
        telemetry
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        telemetry.commit_batches.observe(fresh.len() as f64);
        match written {
            Ok(()) => {
                for b in fresh {
                    for d in b.done {
                        let _ = d.send(Ok(()));
                    }
                }
            }
            Err(source) => {
                let epoch = fresh.iter().map(|b| b.epoch).max().unwrap_or(0);
                tracing::error!(%source, epoch, "database write failed; nothing of this group is acknowledged");
                failed.fetch_max(epoch, Ordering::SeqCst);
                let error = Arc::new(StoreError::Sqlite {
                    path: path.display().to_string(),
                    source,
                });
                for b in fresh {
                    for d in b.done {
                        let _ = d.send(Err(Arc::clone(&error)));
                    }
                }
            }
        }
    }
}

fn write_group(conn: &mut Connection, group: &[Batch]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut obs = tx.prepare_cached(
            "INSERT INTO observations (id, datastream, phenomenon_ms, result_time_ms, result) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut input = tx.prepare_cached("INSERT INTO inputs (t, body) VALUES (?1, ?2)")?;
        let mut event = tx.prepare_cached("INSERT INTO events (t, body) VALUES (?1, ?2)")?;
        let mut pos = tx.prepare_cached(
            "INSERT INTO positions (unit, at_ms, lon, lat) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut sensor = tx.prepare_cached(
            "INSERT INTO sensors (datastream, disarmed, incident) VALUES (?1, ?2, ?3)
             ON CONFLICT(datastream) DO UPDATE SET disarmed = ?2, incident = ?3",
        )?;
        let mut audit = tx.prepare_cached(
            "INSERT INTO audit (at_ms, at, actor, role, action, incident, reason, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for b in group {
            for o in &b.observations {
                obs.execute(params![
                    o.id as i64,
                    o.datastream as i64,
                    o.phenomenon_ms,
                    o.result_time_ms,
                    o.result
                ])?;
            }
            for (t, body) in &b.inputs {
                input.execute(params![t, body])?;
            }
            for (t, body) in &b.events {
                event.execute(params![t, body])?;
            }
            for p in &b.positions {
                pos.execute(params![p.unit, p.at_ms, p.lon, p.lat])?;
            }
            for (ds, s) in &b.sensors {
                sensor.execute(params![*ds as i64, s.disarmed, s.incident])?;
            }
            for a in &b.audit {
                audit.execute(params![
                    a.at_ms,
                    a.at,
                    a.actor,
                    a.role,
                    a.action,
                    a.incident,
                    a.reason,
                    a.detail.to_string()
                ])?;
            }
        }
    }
    if let Some(seq) = group.iter().filter_map(|b| b.bus_seq).max() {
        set_meta(&tx, BUS_SEQ, &seq.to_string())?;
    }
    if let Some(s) = group.iter().rev().find_map(|b| b.snapshot.as_ref()) {
        tx.execute(
            "INSERT INTO snapshots (input_seq, event_seq, t, version, scene, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![s.input_seq as i64, s.event_seq as i64, s.t, s.version, s.scene, s.body],
        )?;
        tx.execute(
            "DELETE FROM snapshots WHERE id NOT IN (SELECT id FROM snapshots ORDER BY id DESC LIMIT ?1)",
            [SNAPSHOTS_KEPT],
        )?;
    }
    tx.commit()
}

/// The meta key of the last bus message the log holds.
pub const BUS_SEQ: &str = "bus_seq";

/// The meta key of the last accepted scene change: a [`Rebase`] (JSON).
pub const REBASE: &str = "rebase";

/// Where the log stood when the scene changed under it: the decisions logged up to here
/// were taken on the old scene and stay as logged; a rebuild replays these inputs on the new
/// scene for the state only and logs what it decides after.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rebase {
    /// The last input (sequence number) of the old scene.
    pub input_seq: u64,
    /// The last event (sequence number) logged on the old scene.
    pub event_seq: u64,
    /// The twin's time then, simulation seconds.
    pub t: f64,
}

/// Everything a restart needs, read in one go.
#[derive(Debug, Default)]
pub struct Saved {
    /// How many events are on disk.
    pub events: u64,
    /// How many inputs are on disk.
    pub inputs: u64,
    /// The last accepted scene change, if any.
    pub rebase: Option<Rebase>,
    /// The latest time in the log (inputs or events).
    pub last_t: Option<f64>,
    /// Sensor states.
    pub sensors: Vec<(u64, SensorState)>,
    /// The highest observation id.
    pub max_observation: u64,
    /// The last bus message the log holds (0: none).
    pub bus_seq: u64,
}

/// Reads what a restart needs.
pub fn load(conn: &Connection) -> rusqlite::Result<Saved> {
    // Rows are only ever appended, in time order: the last row has the latest time, and the
    // highest sequence number is the count (both found through the primary key, not a scan).
    let last_t = |table: &str| -> rusqlite::Result<Option<f64>> {
        conn.query_row(
            &format!("SELECT t FROM {table} ORDER BY seq DESC LIMIT 1"),
            [],
            |r| r.get(0),
        )
        .optional()
    };
    let (last_input, last_event) = (last_t("inputs")?, last_t("events")?);
    let mut saved = Saved {
        events: conn.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| {
            r.get::<_, i64>(0)
        })? as u64,
        last_t: match (last_input, last_event) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        ..Saved::default()
    };
    let mut stmt = conn.prepare("SELECT datastream, disarmed, incident FROM sensors")?;
    saved.sensors = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                SensorState {
                    disarmed: r.get(1)?,
                    incident: r.get(2)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    saved.max_observation =
        conn.query_row("SELECT coalesce(max(id), 0) FROM observations", [], |r| {
            r.get::<_, i64>(0)
        })? as u64;
    saved.inputs = conn.query_row("SELECT coalesce(max(seq), 0) FROM inputs", [], |r| {
        r.get::<_, i64>(0)
    })? as u64;
    saved.rebase = meta(conn, REBASE)?.and_then(|v| serde_json::from_str(&v).ok());
    saved.bus_seq = meta(conn, BUS_SEQ)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(saved)
}

/// The stored snapshots, latest first.
pub fn snapshots(conn: &Connection) -> rusqlite::Result<Vec<SnapshotRow>> {
    let mut stmt = conn.prepare(
        "SELECT input_seq, event_seq, t, version, scene, body FROM snapshots ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SnapshotRow {
            input_seq: r.get::<_, i64>(0)? as u64,
            event_seq: r.get::<_, i64>(1)? as u64,
            t: r.get(2)?,
            version: r.get(3)?,
            scene: r.get(4)?,
            body: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// The events (JSON) at or after time `t`. Events are appended in time order, so the first
/// is found by bisecting the sequence numbers, not by scanning the log.
pub fn events_since(conn: &Connection, t: f64) -> rusqlite::Result<Vec<String>> {
    let n: i64 = conn.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?;
    let t_at = |seq: i64| -> rusqlite::Result<f64> {
        conn.query_row(
            "SELECT t FROM events WHERE seq >= ?1 ORDER BY seq LIMIT 1",
            [seq],
            |r| r.get(0),
        )
    };
    // The first sequence number whose time is ≥ t (n + 1 if none).
    let (mut lo, mut hi) = (1i64, n + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if t_at(mid)? < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let mut stmt = conn.prepare("SELECT body FROM events WHERE seq >= ?1 ORDER BY seq")?;
    let rows = stmt.query_map([lo], |r| r.get(0))?;
    rows.collect()
}

/// Up to `limit` simulation inputs after sequence number `after`, in order: (seq, JSON).
pub fn inputs_after(
    conn: &Connection,
    after: i64,
    limit: i64,
) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, body FROM inputs WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let rows = stmt.query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
