//! The one owner of the live twin's state. Like mini-redis's `Db` task: HTTP handlers send
//! it requests over a bounded channel; it applies them to the dispatch core in arrival
//! order on the live clock, hands what they changed to the writer (see [`crate::store`]) and
//! answers with a receipt the handler awaits before it acknowledges anything. Readers never
//! touch the state: they read the [`View`] it publishes.

use crate::auth::Caller;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::store::{
    self, AuditRow, Batch, ObservationRow, PositionRow, SensorState, StoreError, Writer,
};
use crate::things::Things;
use crate::view::View;
use axum::http::StatusCode;
use binjiang_scene::{Agency, Scene};
use binjiang_sim::{
    CancelReason, Event, IncidentCatalogue, IncidentSource, IncidentStatus, InputRecord,
    MetricsFold, Operator, OperatorError, Place, Report, SimOptions, Simulation, Source,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

mod rebuild;
pub use rebuild::{SNAPSHOT_EVERY, SNAPSHOT_EVERY_INPUTS, TWIN_SNAPSHOT_VERSION};

/// Seconds between clock ticks: units move, work finishes, the view is republished.
const TICK: Duration = Duration::from_millis(250);
/// Closed incidents stay reopenable (and listed) this long, seconds.
const KEEP_CLOSED_S: f64 = 24.0 * 3600.0;
/// A fix moves the twin's unit only if it moved this far (metres) or this long (seconds)
/// since the fix last applied: every fix is kept on disk, but the dispatch core does not
/// replan sixty units every second for trackers jittering in place.
const FIX_MOVE_M: f64 = 10.0;
const FIX_EVERY_S: f64 = 10.0;

/// A receipt: the answer, and a promise the data it depends on will be on disk.
#[derive(Debug)]
pub struct Receipt<T> {
    /// The answer (ids given, incident numbers).
    pub value: T,
    /// Resolved once the writer committed (or failed to).
    pub durable: oneshot::Receiver<Result<(), Arc<StoreError>>>,
}

/// The reply channel of a request.
pub type Reply<T> = oneshot::Sender<Result<Receipt<T>, ApiError>>;

/// An operator's action on an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Seen.
    Acknowledge,
    /// Send `unit` for `agency`'s part (replacing whoever serves it).
    Assign {
        /// The part's agency.
        agency: Agency,
        /// The unit's id.
        unit: String,
    },
    /// Close with a disposition.
    Close {
        /// How it was handled.
        disposition: String,
    },
    /// Cancel: duplicate or false alarm.
    Cancel {
        /// Why.
        why: CancelReason,
    },
    /// Reopen a closed incident.
    Reopen,
}

impl Action {
    /// The word used in URLs and the audit trail.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Assign { .. } => "assign",
            Action::Close { .. } => "close",
            Action::Cancel { .. } => "cancel",
            Action::Reopen => "reopen",
        }
    }
}

/// A checked observation, ready to apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewObservation {
    /// Datastream id (known).
    pub datastream: u64,
    /// phenomenonTime, Unix ms.
    pub phenomenon_ms: i64,
    /// resultTime, Unix ms.
    pub result_time_ms: i64,
    /// The value (in range).
    pub result: f64,
}

/// A checked GPS fix, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFix {
    /// As received.
    pub row: PositionRow,
    /// Local metres.
    pub local: [f64; 2],
}

/// What the twin is asked to do.
#[derive(Debug)]
pub enum Request {
    /// Observations, all valid (a batch is taken whole or not at all).
    Observations {
        /// In order.
        items: Vec<NewObservation>,
        /// Their `@iot.id`s.
        reply: Reply<Vec<u64>>,
    },
    /// A report from a hotline, camera or operator.
    Report {
        /// The report, time in simulation seconds.
        report: Report,
        /// The incident number (and whether it is new).
        reply: Reply<(u32, bool)>,
    },
    /// GPS fixes of one unit, oldest first.
    Fixes {
        /// The unit's id (known).
        unit: String,
        /// Fixes.
        fixes: Vec<NewFix>,
        /// How many were kept.
        reply: Reply<usize>,
    },
    /// A crew's status from its terminal.
    CrewStatus {
        /// The unit's id (known).
        unit: String,
        /// What the crew reported.
        status: binjiang_sim::CrewStatus,
        /// Nothing but the receipt.
        reply: Reply<()>,
    },
    /// A copy of the state for a what-if, with the day's KPI fold so far.
    Fork {
        /// Seed of the incidents the copy draws.
        seed: u64,
        /// The copy.
        reply: oneshot::Sender<(Simulation, MetricsFold)>,
    },
    /// An input taken from the bus (see [`BusInput`]): applied once, however often the bus
    /// delivers it.
    FromBus {
        /// Its stream sequence number.
        seq: u64,
        /// The sequence number of the bus message the sender gave before it in this session
        /// (or the twin's position when the session began): if the twin's log does not end
        /// there (a write failed and the twin was rebuilt), the message is refused and the
        /// session starts again from the log, so no message is skipped.
        after: u64,
        /// What it carries.
        input: BusInput,
        /// What it did; the receipt resolves once on disk.
        reply: Reply<BusOutcome>,
    },
    /// The outcome of bus message `seq`, for an HTTP or MQTT ingest that published it there
    /// (`serve --ingest-via-bus`): answered once the twin has taken it.
    AwaitBus {
        /// Its stream sequence number.
        seq: u64,
        /// What it did; `Err` if the twin no longer keeps that outcome.
        reply: Reply<BusOutcome>,
    },
    /// Where the log stands in the bus: the last message it holds.
    BusPosition {
        /// The stream sequence number (0: none yet).
        reply: oneshot::Sender<u64>,
    },
    /// An operator accepts or dismisses a proposed move-up.
    Recommendation {
        /// Who.
        caller: Caller,
        /// The proposal's id.
        id: u64,
        /// Accept (the move is made) or dismiss.
        accept: bool,
        /// Why.
        reason: String,
        /// The proposal acted on.
        reply: Reply<binjiang_protocol::Recommendation>,
    },
    /// An operator's action.
    Command {
        /// Who.
        caller: Caller,
        /// On which incident.
        incident: u32,
        /// What.
        action: Action,
        /// Why.
        reason: String,
        /// Nothing but the receipt.
        reply: Reply<()>,
    },
}

/// What a bus message carries, checked as its HTTP twin would be.
#[derive(Debug)]
pub enum BusInput {
    /// SensorThings observations.
    Observations(Vec<NewObservation>),
    /// A report.
    Report(Report),
    /// GPS fixes of one unit.
    Fixes {
        /// The unit (known).
        unit: String,
        /// Fixes.
        fixes: Vec<NewFix>,
    },
    /// Refused before it reached the twin: only its place in the bus is recorded.
    Refused(ApiError),
}

/// What a bus message did.
#[derive(Debug, Clone, PartialEq)]
pub enum BusOutcome {
    /// Observations taken, with their `@iot.id`s.
    Observations(Vec<u64>),
    /// A report: its incident number, and whether it is new.
    Report {
        /// The incident.
        incident: u32,
        /// Not a repeat of a known `external_id`.
        new: bool,
    },
    /// Fixes kept.
    Fixes(usize),
    /// Already in the log (a redelivery): nothing done.
    Duplicate,
    /// Refused for good (its place in the bus is recorded all the same).
    Refused(ApiError),
}

/// Outcomes of bus messages kept for ingests that wait on them.
const BUS_OUTCOMES_KEPT: usize = 8192;

/// Everything the twin is built from.
#[derive(Clone)]
pub struct Setup {
    /// The scene.
    pub scene: Arc<Scene>,
    /// Its catalogue.
    pub catalogue: IncidentCatalogue,
    /// Simulation options (seed, policy, start = the database's first second).
    pub options: SimOptions,
    /// The Things.
    pub things: Arc<Things>,
    /// The database file.
    pub db: PathBuf,
    /// Metrics.
    pub telemetry: Arc<crate::telemetry::Telemetry>,
    /// The scene's files' hash ([`crate::things::scene_hash`]): a snapshot is restored only
    /// into the scene it was taken on.
    pub scene_hash: String,
    /// A snapshot is taken after this many inputs (see [`SNAPSHOT_EVERY_INPUTS`]).
    pub snapshot_every_inputs: u64,
    /// The crowd tides learned: a rule with `tide` compares each site's count with its own.
    pub tides: Arc<binjiang_learn::crowd::TideBook>,
    /// The coverage monitor (reach by road, thresholds, demand): coverage in the KPIs and
    /// move-ups proposed.
    pub monitor: Option<Arc<binjiang_sim::CoverageMonitor>>,
}

/// The live twin's state.
pub struct Twin {
    setup: Setup,
    clock: Clock,
    sim: Simulation,
    sensors: HashMap<u64, SensorState>,
    next_observation: u64,
    /// Reports by external id with when they were taken, for telling a retry from a reused
    /// id: kept [`binjiang_sim::EXTERNAL_ID_WINDOW_S`], as the core keeps the ids.
    reports: HashMap<String, (f64, Report)>,
    last_fix: HashMap<String, (f64, [f64; 2])>,
    gps_units: HashMap<String, f64>,
    today: MetricsFold,
    today_start: f64,
    epoch: u64,
    batch: Batch,
    /// The last bus message the log holds.
    bus_seq: u64,
    /// Ingests waiting for a bus message's outcome, by sequence number.
    bus_waiters: HashMap<u64, Reply<BusOutcome>>,
    /// The latest outcomes, oldest first.
    bus_outcomes: std::collections::VecDeque<(u64, BusOutcome)>,
    /// Inputs and events in the log once the batches handed to the writer are written.
    inputs_logged: u64,
    events_logged: u64,
    /// The inputs logged at the last snapshot, and when it was taken.
    snapshot_at: (u64, std::time::Instant),
    /// The snapshot this twin was rebuilt from (its last input), if any.
    restored_from: Option<u64>,
    /// Coverage, move-up proposals and patrol coverage.
    watch: binjiang_sim::watch::CoverageWatch,
    /// The last decision explained (its id in this run of the core), for the stream.
    last_decision: Option<u64>,
}

impl Twin {
    /// The snapshot the rebuild started from (the last input it holds), or `None` if it
    /// replayed the log from the start (or from the last scene change).
    pub fn restored_from(&self) -> Option<u64> {
        self.restored_from
    }

    /// The simulation (read only): for tests and forks.
    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }

    /// Advances the twin to the clock's now.
    fn advance(&mut self) {
        let now = self.clock.now();
        if now > self.sim.now() {
            self.sim.advance_to(now);
        }
        let day = (self.sim.now() / 86_400.0).floor() * 86_400.0;
        if day > self.today_start {
            self.today_start = day;
            self.today = MetricsFold::new(&self.setup.catalogue);
        }
    }

    /// Moves what the simulation logged into the batch.
    fn collect(&mut self) {
        for d in self.sim.drain_decisions() {
            self.last_decision = Some(d.id);
            self.batch.decisions.push((d.incident, d.t, to_json(&d)));
        }
        for r in self.sim.drain_inputs() {
            self.batch.inputs.push((r.t, to_json(&r)));
            self.inputs_logged += 1;
        }
        for e in self.sim.drain_events() {
            if e.t >= self.today_start {
                self.today.push(&e);
            }
            self.batch.events.push((e.t, to_json(&e)));
            self.events_logged += 1;
        }
    }

    /// A receipt for the batch being built.
    /// A request's answer: its value with a receipt for the batch it is in, or the refusal.
    fn answer<T>(&mut self, done: Result<T, ApiError>) -> Result<Receipt<T>, ApiError> {
        done.map(|value| self.receipt(value))
    }

    fn receipt<T>(&mut self, value: T) -> Receipt<T> {
        let (tx, rx) = oneshot::channel();
        self.batch.done.push(tx);
        Receipt { value, durable: rx }
    }

    fn observations(&mut self, items: Vec<NewObservation>) -> Result<Vec<u64>, ApiError> {
        self.setup
            .telemetry
            .accept("observation", items.len() as u64);
        let mut ids = Vec::with_capacity(items.len());
        for o in items {
            let id = self.next_observation;
            self.next_observation += 1;
            ids.push(id);
            self.batch.observations.push(ObservationRow {
                id,
                datastream: o.datastream,
                phenomenon_ms: o.phenomenon_ms,
                result_time_ms: o.result_time_ms,
                result: o.result,
            });
            self.apply_rule(o.datastream, id, o.result, o.phenomenon_ms)?;
        }
        Ok(ids)
    }

    /// Threshold with hysteresis: at or above `alarm_at` an armed sensor raises its incident
    /// (one open incident per asset and type); below `clear_below` it re-arms and clears the
    /// incident if still open. A rule with `tide` takes both from the site's learned tide for
    /// the hour of the week the value was observed in, where there is one.
    fn apply_rule(
        &mut self,
        ds: u64,
        obs: u64,
        value: f64,
        phenomenon_ms: i64,
    ) -> Result<(), ApiError> {
        let things = Arc::clone(&self.setup.things);
        let (Some(thing), Some(rule)) = (things.get(ds), things.rule_of(ds)) else {
            return Err(ApiError::invalid(
                "Datastream.@iot.id",
                format!("Datastreams({ds}) takes no observations"),
            ));
        };
        let (alarm_at, clear_below) = rule
            .tide
            .then(|| self.setup.tides.thresholds(&thing.asset_id, phenomenon_ms))
            .flatten()
            .unwrap_or((rule.alarm_at, rule.clear_below));
        let state = self.sensors.get(&ds).copied().unwrap_or_default();
        let mut next = state;
        if value >= alarm_at && !state.disarmed {
            let report = Report {
                external_id: Some(format!("sensor:{}:{obs}", thing.asset_id)),
                time: self.sim.now(),
                source: Source::Sensor,
                incident_type: rule.incident_type.clone(),
                place: Place::Asset(thing.asset_id.clone()),
                text: format!("{} {} {}", rule.name, value, rule.unit.symbol),
            };
            let started = std::time::Instant::now();
            let n = self
                .sim
                .report(report)
                .map_err(|e| internal(format!("sensor rule of {}: {e}", thing.asset_id)))?;
            self.setup
                .telemetry
                .dispatch_seconds
                .observe(started.elapsed().as_secs_f64());
            next = SensorState {
                disarmed: true,
                incident: Some(n),
            };
        } else if value < clear_below && state.disarmed {
            if let Some(n) = state.incident {
                if self
                    .sim
                    .incident(n)
                    .is_some_and(|i| i.status == IncidentStatus::Open)
                {
                    let who = format!("sensor:{}", thing.asset_id);
                    let why = format!("{} fell to {} {}", rule.quantity, value, rule.unit.symbol);
                    let by = Operator {
                        id: &who,
                        reason: &why,
                    };
                    self.sim
                        .close_as(n, Some("cleared by sensor"), &by)
                        .map_err(|e| internal(e.to_string()))?;
                }
            }
            next = SensorState::default();
        }
        if next != state {
            self.sensors.insert(ds, next);
            self.batch.sensors.push((ds, next));
        }
        Ok(())
    }

    fn report(&mut self, mut report: Report) -> Result<(u32, bool), ApiError> {
        // Stamped up to the skew allowance ahead (or a millisecond, by rounding): it is
        // happening now, not later.
        report.time = report.time.min(self.sim.now());
        let window_start = self.sim.now() - binjiang_sim::EXTERNAL_ID_WINDOW_S;
        if let Some(e) = &report.external_id {
            if let Some((_, seen)) = self.reports.get(e).filter(|(at, _)| *at >= window_start) {
                if !same_report(seen, &report) {
                    return Err(ApiError::conflict(format!(
                        "external_id \"{e}\" was already used for a different report"
                    ))
                    .at("external_id"));
                }
            }
        }
        let known = report
            .external_id
            .as_ref()
            .and_then(|e| self.reports.get(e))
            .is_some_and(|(at, _)| *at >= window_start);
        let started = std::time::Instant::now();
        let n = self
            .sim
            .report(report.clone())
            .map_err(|e| report_error(&e))?;
        self.setup.telemetry.accept("report", 1);
        if !known {
            self.setup
                .telemetry
                .dispatch_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        if let (Some(e), false) = (&report.external_id, known) {
            self.reports.insert(e.clone(), (self.sim.now(), report));
        }
        Ok((n, !known))
    }

    fn fixes(&mut self, unit: String, fixes: Vec<NewFix>) -> Result<usize, ApiError> {
        let n = fixes.len();
        self.setup.telemetry.accept("fix", n as u64);
        let now = self.sim.now();
        let epoch_ms = self.clock.epoch_ms();
        let mut latest = None;
        for f in fixes {
            let t = (f.row.at_ms - epoch_ms) as f64 / 1000.0;
            if latest.as_ref().is_none_or(|(lt, _)| t >= *lt) {
                latest = Some((t, f.local));
            }
            self.batch.positions.push(f.row);
        }
        if let Some((t, p)) = latest {
            self.gps_units.insert(unit.clone(), t);
            let fresh = now - t <= binjiang_sim::FIX_FRESH_S;
            let moved = self.last_fix.get(&unit).is_none_or(|(at, q)| {
                now - at >= FIX_EVERY_S || (p[0] - q[0]).hypot(p[1] - q[1]) >= FIX_MOVE_M
            });
            if fresh && moved {
                self.sim
                    .fix(&unit, p)
                    .map_err(|e| ApiError::invalid("unit", e.to_string()))?;
                self.last_fix.insert(unit, (now, p));
            }
        }
        Ok(n)
    }

    fn command(
        &mut self,
        caller: &Caller,
        i: u32,
        action: &Action,
        reason: &str,
    ) -> Result<(), ApiError> {
        let inc = self.sim.incident(i).ok_or_else(|| {
            ApiError::not_found(format!(
                "no incident #{i} (unknown, or closed over a day ago)"
            ))
        })?;
        if let Some(mine) = caller.agency {
            let parts: Vec<Agency> = inc.needs.iter().map(|n| n.agency).collect();
            let allowed = match action {
                Action::Acknowledge => parts.contains(&mine),
                Action::Assign { agency, .. } => *agency == mine,
                _ => parts.iter().all(|a| *a == mine),
            };
            if !allowed {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "an operator of {mine} may not {} incident #{i} (its parts: {})",
                        action.key(),
                        parts.iter().map(|a| a.key()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        let by = Operator {
            id: &caller.name,
            reason,
        };
        let done = match action {
            Action::Acknowledge => self.sim.acknowledge(i, &by),
            Action::Assign { agency, unit } => {
                let u = self
                    .sim
                    .units()
                    .iter()
                    .position(|v| v.id == *unit)
                    .ok_or_else(|| ApiError::invalid("unit", format!("no unit \"{unit}\"")))?;
                self.sim.reassign(i, *agency, u as u32, &by)
            }
            Action::Close { disposition } => self.sim.close_as(i, Some(disposition), &by),
            Action::Cancel { why } => self.sim.cancel(i, *why, &by),
            Action::Reopen => self.sim.reopen(i, &by),
        };
        done.map_err(|e| operator_error(&e))?;
        self.audit(
            caller,
            action.key(),
            Some(i),
            reason,
            match action {
                Action::Assign { agency, unit } => {
                    serde_json::json!({"agency": agency, "unit": unit})
                }
                Action::Close { disposition } => serde_json::json!({"disposition": disposition}),
                Action::Cancel { why } => serde_json::json!({"why": why}),
                _ => serde_json::json!({}),
            },
        );
        Ok(())
    }

    fn bus_input(
        &mut self,
        seq: u64,
        after: u64,
        input: BusInput,
    ) -> Result<Receipt<BusOutcome>, ApiError> {
        if seq <= self.bus_seq {
            return Ok(self.receipt(BusOutcome::Duplicate));
        }
        if after != self.bus_seq {
            return Err(ApiError::conflict(format!(
                "bus message {seq} follows {after}, but the log ends at {}: resume from the log",
                self.bus_seq
            )));
        }
        let outcome = match input {
            BusInput::Observations(items) => self.observations(items).map(BusOutcome::Observations),
            BusInput::Report(report) => self
                .report(report)
                .map(|(incident, new)| BusOutcome::Report { incident, new }),
            BusInput::Fixes { unit, fixes } => self.fixes(unit, fixes).map(BusOutcome::Fixes),
            BusInput::Refused(e) => Err(e),
        }
        .unwrap_or_else(BusOutcome::Refused);
        self.bus_seq = seq;
        self.batch.bus_seq = Some(seq);
        let telemetry = &self.setup.telemetry;
        telemetry.bus_position.set(seq as i64);
        if matches!(outcome, BusOutcome::Refused(_)) {
            telemetry.bus_refused.inc();
        }
        if let Some(waiter) = self.bus_waiters.remove(&seq) {
            let receipt = self.receipt(outcome.clone());
            let _ = waiter.send(Ok(receipt));
        }
        if self.bus_outcomes.len() == BUS_OUTCOMES_KEPT {
            self.bus_outcomes.pop_front();
        }
        self.bus_outcomes.push_back((seq, outcome.clone()));
        Ok(self.receipt(outcome))
    }

    fn await_bus(&mut self, seq: u64, reply: Reply<BusOutcome>) {
        if seq > self.bus_seq {
            // Forgotten waiters (their ingest gave up) go once the log is past them.
            let past = self.bus_seq;
            self.bus_waiters.retain(|s, _| *s > past);
            self.bus_waiters.insert(seq, reply);
            return;
        }
        let kept = self
            .bus_outcomes
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, o)| o.clone());
        let answer = match kept {
            Some(outcome) => Ok(self.receipt(outcome)),
            None => Err(ApiError::new(
                StatusCode::GONE,
                format!("bus message {seq} was taken; its outcome is no longer kept"),
            )),
        };
        let _ = reply.send(answer);
    }

    fn handle(&mut self, request: Request) {
        self.advance();
        match request {
            Request::Observations { items, reply } => {
                let done = self.observations(items);
                let _ = reply.send(self.answer(done));
            }
            Request::Report { report, reply } => {
                let done = self.report(report);
                let _ = reply.send(self.answer(done));
            }
            Request::Fixes { unit, fixes, reply } => {
                let done = self.fixes(unit, fixes);
                let _ = reply.send(self.answer(done));
            }
            Request::CrewStatus {
                unit,
                status,
                reply,
            } => {
                let done = self
                    .sim
                    .crew_status(&unit, status)
                    .map_err(|e| ApiError::conflict(e.to_string()).at("status"))
                    .map(|()| self.setup.telemetry.accept("crew_status", 1));
                let _ = reply.send(self.answer(done));
            }
            Request::Fork { seed, reply } => {
                let _ = reply.send((self.sim.fork_generated(seed), self.today.clone()));
            }
            Request::FromBus {
                seq,
                after,
                input,
                reply,
            } => {
                let _ = reply.send(self.bus_input(seq, after, input));
            }
            Request::BusPosition { reply } => {
                let _ = reply.send(self.bus_seq);
            }
            Request::AwaitBus { seq, reply } => self.await_bus(seq, reply),
            Request::Command {
                caller,
                incident,
                action,
                reason,
                reply,
            } => {
                let done = self.command(&caller, incident, &action, &reason);
                let _ = reply.send(self.answer(done));
            }
            Request::Recommendation {
                caller,
                id,
                accept,
                reason,
                reply,
            } => {
                let done = self.recommendation(&caller, id, accept, &reason);
                let _ = reply.send(self.answer(done));
            }
        }
        self.look();
        self.collect();
    }

    /// Looks at coverage again after a change (see [`binjiang_sim::watch::CoverageWatch::look`]).
    fn look(&mut self) {
        use chrono::{Datelike, Timelike};
        let local = self.clock.datetime(self.sim.now());
        let how = local.weekday().num_days_from_monday() as usize * 24 + local.hour() as usize;
        let clock = &self.clock;
        self.watch
            .look(&self.sim, how, |t| clock.iso(t), &self.setup.scene.frame);
    }

    /// Records an operator's accepted action in the audit trail (with the batch).
    fn audit(
        &mut self,
        caller: &Caller,
        action: &str,
        incident: Option<u32>,
        reason: &str,
        detail: serde_json::Value,
    ) {
        self.setup.telemetry.accept("command", 1);
        let now = self.sim.now();
        self.batch.audit.push(AuditRow {
            at: self.clock.iso(now),
            at_ms: self.clock.epoch_ms() + (now * 1000.0) as i64,
            actor: caller.name.clone(),
            role: caller.role.key().into(),
            action: action.into(),
            incident,
            reason: reason.into(),
            detail,
        });
    }

    /// Accepts (makes the move, a command in the input log) or dismisses proposal `id`;
    /// either way audited.
    fn recommendation(
        &mut self,
        caller: &Caller,
        id: u64,
        accept: bool,
        reason: &str,
    ) -> Result<binjiang_protocol::Recommendation, ApiError> {
        let r = self.watch.get(id).cloned().ok_or_else(|| {
            ApiError::not_found(format!(
                "no open recommendation {id} (accepted, dismissed, or no longer the best move)"
            ))
        })?;
        if let Some(mine) = caller.agency {
            if mine != r.agency {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "an operator of {mine} may not act on a move-up of {}",
                        r.agency
                    ),
                ));
            }
        }
        let action = if accept {
            let by = Operator {
                id: &caller.name,
                reason,
            };
            self.sim
                .move_up(&r.unit, &r.covering, &by)
                .map_err(|e| ApiError::conflict(e.to_string()))?;
            self.watch.accepted(id);
            "accept_move_up"
        } else {
            self.watch.dismissed(id);
            "dismiss_move_up"
        };
        self.audit(
            caller,
            action,
            None,
            reason,
            serde_json::json!({
                "recommendation": id, "agency": r.agency, "unit": r.unit,
                "covering": r.covering, "before": r.before, "after": r.after,
            }),
        );
        Ok(r)
    }

    /// The state as readers see it.
    pub fn view(&self) -> View {
        let mut view = View::of(
            &self.sim,
            &self.clock,
            &self.setup.scene,
            &self.gps_units,
            &self.today,
            self.today_start,
        );
        view.kpis.coverage = self.watch.coverage().clone();
        view.kpis.recommendations = self.watch.recommendations().to_vec();
        view.kpis.hot_cells_unvisited_2h_share = self.watch.unvisited_share();
        view.since_visit = self.watch.since_visit(self.sim.now());
        view.watched = self.watch.watched().to_vec();
        view.last_decision = self.last_decision;
        view
    }

    fn take_batch(&mut self) -> Batch {
        std::mem::replace(
            &mut self.batch,
            Batch {
                epoch: self.epoch,
                ..Batch::default()
            },
        )
    }
}

/// Runs the twin until `requests` closes: applies requests and clock ticks, queues their
/// batches on the writer, publishes views. If a write fails, rebuilds from the database.
pub async fn run(
    mut twin: Twin,
    mut requests: mpsc::Receiver<Request>,
    writer: Writer,
    views: Arc<crate::view::Published>,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_retire = twin.sim.now();
    loop {
        let publish = tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else { break };
                if writer.failed_epoch.load(Ordering::SeqCst) >= twin.epoch {
                    twin = reload(twin);
                }
                // Observations and fixes change the view only through what they trigger,
                // which the next tick publishes (as for HTTP).
                let changes_view = !matches!(
                    request,
                    Request::Observations { .. }
                        | Request::Fixes { .. }
                        | Request::Fork { .. }
                        | Request::BusPosition { .. }
                        | Request::AwaitBus { .. }
                        | Request::FromBus {
                            input: BusInput::Observations(_) | BusInput::Fixes { .. },
                            ..
                        }
                );
                twin.handle(request);
                changes_view
            }
            _ = tick.tick() => {
                if writer.failed_epoch.load(Ordering::SeqCst) >= twin.epoch {
                    twin = reload(twin);
                }
                twin.advance();
                twin.look();
                twin.collect();
                if twin.sim.now() - last_retire > 60.0 {
                    last_retire = twin.sim.now();
                    twin.sim.retire_closed_before(last_retire - KEEP_CLOSED_S);
                    // External ids past their window name nothing any more (as in the core).
                    let forget = last_retire - binjiang_sim::EXTERNAL_ID_WINDOW_S;
                    twin.reports.retain(|_, (at, _)| *at >= forget);
                }
                true
            }
        };
        if twin.snapshot_due() {
            twin.take_snapshot();
        }
        // Publish first: a client acknowledged after the write then reads its own change.
        if publish {
            views.publish(twin.view());
        }
        let batch = twin.take_batch();
        if !batch.is_empty() && writer.send(batch).await.is_err() {
            tracing::error!("the database writer stopped; the twin stops");
            break;
        }
    }
    // Flush what the last request produced; the writer drains its queue before stopping.
    let batch = twin.take_batch();
    if !batch.is_empty() {
        let _ = writer.send(batch).await;
    }
}

/// Rebuilds the twin from disk after a failed write, discarding whatever did not reach it.
fn reload(twin: Twin) -> Twin {
    let epoch = twin.epoch + 1;
    tracing::warn!(
        epoch,
        "a write failed: rebuilding the twin from the database"
    );
    match Twin::rebuild(twin.setup.clone(), twin.clock.clone(), epoch) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(%e, "cannot rebuild from the database; keeping the state in memory");
            Twin { epoch, ..twin }
        }
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

fn internal(message: String) -> ApiError {
    tracing::error!(%message, "internal error");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
}

/// Whether two reports say the same thing (a retry): source, type, place and text. Times
/// are left out: a retry without a time is stamped when it arrives.
fn same_report(a: &Report, b: &Report) -> bool {
    a.source == b.source
        && a.incident_type == b.incident_type
        && a.place == b.place
        && a.text == b.text
}

fn report_error(e: &binjiang_sim::ReportError) -> ApiError {
    use binjiang_sim::ReportError as R;
    match e {
        R::UnknownType(t) => ApiError::invalid("type", format!("unknown incident type \"{t}\"")),
        R::UnknownAsset(a) => {
            ApiError::invalid("asset_id", format!("no asset \"{a}\" in the scene"))
        }
        R::NotFinite(f) => ApiError::invalid(*f, format!("{f} must be a finite number")),
    }
}

fn operator_error(e: &OperatorError) -> ApiError {
    match e {
        OperatorError::NoIncident(_) => ApiError::not_found(e.to_string()),
        OperatorError::UnitUnavailable(..) | OperatorError::Unreachable { .. } => {
            ApiError::conflict(e.to_string()).at("unit")
        }
        OperatorError::NoPart(..) => ApiError::conflict(e.to_string()).at("agency"),
        _ => ApiError::conflict(e.to_string()),
    }
}

/// Events for tests: the decisions the twin logged, from the database.
pub fn logged_events(db: &std::path::Path) -> rusqlite::Result<Vec<Event>> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare("SELECT body FROM events ORDER BY seq")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.map(|r| r.map(|b| serde_json::from_str(&b).expect("events parse")))
        .collect()
}
