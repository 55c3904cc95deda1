//! Building the twin from its database, and the snapshots that keep that quick.
//!
//! The log is the truth: every input the twin accepted and every decision it took. A rebuild
//! sets the dispatch core up as it was first started and replays the inputs at their times.
//! That grows with history (13.5 s at 10 million inputs), so every [`SNAPSHOT_EVERY_INPUTS`]
//! inputs or [`SNAPSHOT_EVERY`] of running the twin writes its state (CBOR: the core's
//! [`SimState`], the reports' external ids in their window, the last applied fixes) in the
//! same transaction as the inputs and events it follows, and a rebuild starts from the
//! latest snapshot that fits — same scene, same versions — replaying only the inputs after
//! it. A snapshot that does not fit or does not decode is skipped with a warning: the
//! rebuild then replays from the start (or from the last accepted scene change), which gives
//! the same state, only slower.
//!
//! After an accepted scene change ([`crate::things`]), the inputs up to the change are
//! replayed on the new scene for the state only: the decisions logged on the old scene stay
//! as they were logged, and what the new scene decides is logged from the change on.

use super::*;
use crate::store::{Rebase, SnapshotRow};
use binjiang_sim::{Place, SimState};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A snapshot is written after this many inputs since the last …
pub const SNAPSHOT_EVERY_INPUTS: u64 = 50_000;
/// … or after this long (of the service running) if any input arrived since.
pub const SNAPSHOT_EVERY: Duration = Duration::from_secs(600);
/// The version of the twin's own part of a snapshot (the core's is
/// [`binjiang_sim::SNAPSHOT_VERSION`]).
pub const TWIN_SNAPSHOT_VERSION: u32 = 1;
/// Inputs replayed per read, so memory stays bounded however long the log.
const CHUNK: i64 = 10_000;

/// What a snapshot holds beside the core.
#[derive(Serialize, Deserialize)]
struct TwinState {
    sim: SimState,
    /// External ids still in their window, with the report each named.
    reports: Vec<(String, (f64, Report))>,
    /// The last fix applied per unit: (time, local position).
    last_fix: Vec<(String, (f64, [f64; 2]))>,
}

/// Where the twin's logged history and its state meet: the state holds every input up to
/// `input_seq`; `events_logged` events of the log follow from what comes after.
struct Base {
    input_seq: u64,
    events_logged: u64,
}

fn sqlite(setup: &Setup) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    |source| StoreError::Sqlite {
        path: setup.db.display().to_string(),
        source,
    }
}

impl Twin {
    /// Builds the twin from the database: from the latest snapshot that fits, or from the
    /// start, every later input replayed at its time, then advanced to now. Events the log
    /// already holds are not written again; those of the time since are.
    pub fn rebuild(setup: Setup, clock: Clock, epoch: u64) -> Result<Self, crate::ServeError> {
        let conn = store::open(&setup.db)?;
        let saved = store::load(&conn).map_err(sqlite(&setup))?;
        let policy = setup.options.policy.build(setup.catalogue.dispatch.clone());
        let mut sim = Simulation::with_source(
            &setup.scene,
            setup.catalogue.clone(),
            setup.options.clone(),
            policy,
            IncidentSource::External,
        )?;
        // Every decision explained (GET /api/v1/incidents/<id>/decisions); a replay makes
        // the same records again, which the log keeps once.
        sim.set_explain(true);
        let mut reports = HashMap::new();
        let mut last_fix = HashMap::new();
        let mut restored_from = None;
        let base = match restore_latest(&conn, &setup, &saved, &mut sim) {
            Some((row, state)) => {
                restored_from = Some(row.input_seq);
                reports = state.reports.into_iter().collect();
                last_fix = state.last_fix.into_iter().collect();
                tracing::info!(
                    inputs = row.input_seq,
                    t = row.t,
                    "restored the snapshot; replaying the inputs after it"
                );
                Base {
                    input_seq: row.input_seq,
                    events_logged: saved.events.saturating_sub(row.event_seq),
                }
            }
            None => match saved.rebase {
                Some(rebase) => {
                    rebased(
                        &conn,
                        &setup,
                        &mut sim,
                        &rebase,
                        &mut reports,
                        &mut last_fix,
                    )?;
                    Base {
                        input_seq: rebase.input_seq,
                        events_logged: saved.events.saturating_sub(rebase.event_seq),
                    }
                }
                None => Base {
                    input_seq: 0,
                    events_logged: saved.events,
                },
            },
        };
        let mut batch = Batch {
            epoch,
            ..Batch::default()
        };
        // Today's KPIs: the day's decisions as logged, then those the rebuild writes.
        let now = clock.now().max(saved.last_t.unwrap_or(0.0));
        let today_start = (now / 86_400.0).floor() * 86_400.0;
        let mut today = MetricsFold::new(&setup.catalogue);
        for body in store::events_since(&conn, today_start).map_err(sqlite(&setup))? {
            let e: Event = serde_json::from_str(&body)
                .map_err(|e| crate::ServeError::Corrupt(format!("an event does not parse: {e}")))?;
            today.push(&e);
        }
        let mut seen = 0u64;
        let mut take_events = |sim: &mut Simulation, batch: &mut Batch| {
            for e in sim.drain_events() {
                if seen >= base.events_logged {
                    if e.t >= today_start {
                        today.push(&e);
                    }
                    batch.events.push((e.t, to_json(&e)));
                }
                seen += 1;
            }
        };
        replay(
            &conn,
            &setup,
            &mut sim,
            base.input_seq,
            None,
            &mut reports,
            &mut last_fix,
            &mut |sim, records| {
                sim.replay(records, records.last().map_or(0.0, |r| r.t))
                    .map_err(|e| crate::ServeError::Corrupt(e.to_string()))
            },
            &mut |sim| take_events(sim, &mut batch),
        )?;
        sim.advance_to(now);
        take_events(&mut sim, &mut batch);
        sim.drain_inputs();
        let gps_units = last_fix.iter().map(|(u, (t, _))| (u.clone(), *t)).collect();
        let events_logged = saved.events + batch.events.len() as u64;
        let watch =
            binjiang_sim::watch::CoverageWatch::new(setup.monitor.clone(), &setup.scene, &sim);
        let mut twin = Twin {
            bus_seq: saved.bus_seq,
            bus_waiters: HashMap::new(),
            bus_outcomes: std::collections::VecDeque::new(),
            sensors: saved.sensors.into_iter().collect(),
            next_observation: saved.max_observation + 1,
            reports,
            last_fix,
            gps_units,
            today,
            today_start,
            epoch,
            batch,
            clock,
            sim,
            setup,
            inputs_logged: saved.inputs,
            events_logged,
            // A rebuild that replayed many inputs snapshots at once, so the next is quick.
            snapshot_at: (base.input_seq, std::time::Instant::now()),
            restored_from,
            watch,
            last_decision: None,
        };
        // Coverage as of the start, so the first reader sees every agency's share rather
        // than nothing until the first input or tick arrives.
        twin.look();
        Ok(twin)
    }

    /// Whether a snapshot is due: enough inputs since the last, or long enough with some.
    pub(super) fn snapshot_due(&self) -> bool {
        let (inputs, at) = self.snapshot_at;
        let since = self.inputs_logged - inputs;
        since >= self.setup.snapshot_every_inputs.max(1)
            || (since > 0 && at.elapsed() >= SNAPSHOT_EVERY)
    }

    /// Puts a snapshot of the state into the batch being built: written in the same
    /// transaction as the inputs and events it follows. Call after [`Twin::collect`].
    pub(super) fn take_snapshot(&mut self) {
        self.snapshot_at = (self.inputs_logged, std::time::Instant::now());
        let sim = match self.sim.snapshot() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%e, "no snapshot taken");
                return;
            }
        };
        let mut reports: Vec<(String, (f64, Report))> = self
            .reports
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        reports.sort_by(|a, b| a.0.cmp(&b.0));
        let mut last_fix: Vec<(String, (f64, [f64; 2]))> =
            self.last_fix.iter().map(|(k, v)| (k.clone(), *v)).collect();
        last_fix.sort_by(|a, b| a.0.cmp(&b.0));
        let state = TwinState {
            sim,
            reports,
            last_fix,
        };
        let mut body = Vec::new();
        if let Err(e) = ciborium::into_writer(&state, &mut body) {
            tracing::warn!(%e, "no snapshot taken: it does not encode");
            return;
        }
        self.batch.snapshot = Some(SnapshotRow {
            input_seq: self.inputs_logged,
            event_seq: self.events_logged,
            t: self.sim.now(),
            version: snapshot_version(),
            scene: self.setup.scene_hash.clone(),
            body,
        });
    }
}

/// The version a snapshot is written with: the twin's and the core's together.
fn snapshot_version() -> i64 {
    i64::from(TWIN_SNAPSHOT_VERSION) * 1000 + i64::from(binjiang_sim::SNAPSHOT_VERSION)
}

/// Restores the latest snapshot that fits into `sim`; `None` (after warning) if none does.
fn restore_latest(
    conn: &rusqlite::Connection,
    setup: &Setup,
    saved: &store::Saved,
    sim: &mut Simulation,
) -> Option<(SnapshotRow, TwinState)> {
    let rows = match store::snapshots(conn) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(%e, "cannot read the snapshots; replaying the log from the start");
            return None;
        }
    };
    for row in rows {
        let why = if row.version != snapshot_version() {
            format!(
                "written by another version ({}, this build writes {})",
                row.version,
                snapshot_version()
            )
        } else if row.scene != setup.scene_hash {
            "taken on another scene".to_owned()
        } else if row.input_seq > saved.inputs || row.event_seq > saved.events {
            "ahead of the log".to_owned()
        } else if saved.rebase.is_some_and(|r| row.input_seq < r.input_seq) {
            "taken before the last scene change".to_owned()
        } else {
            match ciborium::from_reader::<TwinState, _>(row.body.as_slice()) {
                Err(e) => format!("does not decode: {e}"),
                Ok(state) => match sim.restore(state.sim.clone()) {
                    Err(e) => e.to_string(),
                    Ok(()) => return Some((row, state)),
                },
            }
        };
        tracing::warn!(
            inputs = row.input_seq,
            "snapshot skipped ({why}); an older one or a replay from the start is used"
        );
    }
    None
}

/// Replays the inputs up to an accepted scene change on the new scene, for the state only:
/// the decisions were logged on the old scene and stay as they are. Inputs the new scene
/// cannot take (a command for a unit it no longer has) are skipped and counted.
fn rebased(
    conn: &rusqlite::Connection,
    setup: &Setup,
    sim: &mut Simulation,
    rebase: &Rebase,
    reports: &mut HashMap<String, (f64, Report)>,
    last_fix: &mut HashMap<String, (f64, [f64; 2])>,
) -> Result<(), crate::ServeError> {
    let mut skipped = 0usize;
    replay(
        conn,
        setup,
        sim,
        0,
        Some(rebase.input_seq),
        reports,
        last_fix,
        &mut |sim, records| {
            for r in records {
                if sim.replay(std::slice::from_ref(r), r.t).is_err() {
                    skipped += 1;
                }
            }
            Ok(())
        },
        &mut |sim| {
            sim.drain_events();
        },
    )?;
    if rebase.t > sim.now() {
        sim.advance_to(rebase.t);
    }
    sim.drain_events();
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "inputs from before the scene change that the new scene cannot take were skipped"
        );
    }
    Ok(())
}

/// Feeds a chunk of inputs to the core.
type ApplyChunk<'a> =
    dyn FnMut(&mut Simulation, &[InputRecord]) -> Result<(), crate::ServeError> + 'a;

/// Replays the inputs after `after` (up to `until`, if given) in chunks: `apply` feeds a
/// chunk to the core, `drained` takes what it decided. Reports at an asset the scene no
/// longer has are placed where the registry last had it.
#[allow(clippy::too_many_arguments)]
fn replay(
    conn: &rusqlite::Connection,
    setup: &Setup,
    sim: &mut Simulation,
    after: u64,
    until: Option<u64>,
    reports: &mut HashMap<String, (f64, Report)>,
    last_fix: &mut HashMap<String, (f64, [f64; 2])>,
    apply: &mut ApplyChunk<'_>,
    drained: &mut dyn FnMut(&mut Simulation),
) -> Result<(), crate::ServeError> {
    let in_scene: HashSet<&str> = setup.scene.assets.iter().map(|a| a.id.as_str()).collect();
    let mut last_seq = after as i64;
    let end = until.map_or(i64::MAX, |u| u as i64);
    loop {
        let limit = CHUNK.min(end - last_seq);
        if limit <= 0 {
            break;
        }
        let chunk = store::inputs_after(conn, last_seq, limit).map_err(sqlite(setup))?;
        if chunk.is_empty() {
            break;
        }
        let mut records = Vec::with_capacity(chunk.len());
        for (seq, body) in &chunk {
            last_seq = *seq;
            let mut r: InputRecord = serde_json::from_str(body).map_err(|e| {
                crate::ServeError::Corrupt(format!("input {seq} does not parse: {e}"))
            })?;
            if let binjiang_sim::Input::Report { report, .. } = &mut r.input {
                if let Place::Asset(id) = &report.place {
                    if !in_scene.contains(id.as_str()) {
                        if let Some(t) = setup.things.things.iter().find(|t| &t.asset_id == id) {
                            let p = setup.scene.frame.to_local(t.lon_lat.0, t.lon_lat.1);
                            report.place = Place::At([p.x, p.y]);
                        }
                    }
                }
            }
            records.push(r);
        }
        apply(sim, &records)?;
        sim.drain_inputs();
        drained(sim);
        for r in records {
            match r.input {
                binjiang_sim::Input::Report { report, .. } => {
                    if let Some(e) = &report.external_id {
                        // The first taking of an id in its window is the one a retry
                        // is compared with (a repeat is logged, and changes nothing).
                        let fresh = r.t - binjiang_sim::EXTERNAL_ID_WINDOW_S;
                        if reports.get(e).is_none_or(|(at, _)| *at < fresh) {
                            reports.insert(e.clone(), (r.t, report));
                        }
                    }
                }
                binjiang_sim::Input::Fix { unit, position } => {
                    last_fix.insert(unit, (r.t, position));
                }
                binjiang_sim::Input::Command { .. } | binjiang_sim::Input::Status { .. } => {}
            }
        }
    }
    Ok(())
}
