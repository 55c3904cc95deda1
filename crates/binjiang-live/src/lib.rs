//! The live twin: `binjiang serve`. Sensors (OGC SensorThings v1.1), hotline and camera
//! reports and GPS fixes come in over HTTP; the dispatch core decides on the live clock;
//! every accepted input and every decision is on disk (SQLite, WAL, fsync) before it is
//! acknowledged, and a restart rebuilds exactly the state before the stop or crash.
//!
//! Shape (after mini-redis): HTTP handlers (axum) check input and the caller's role, then
//! send a request over a bounded channel to the one task that owns the twin ([`twin`]); it
//! applies requests in order and hands what they changed to one writer thread ([`store`])
//! that commits in groups. Readers read the view the twin publishes. Full queues answer 503
//! with `Retry-After`; nothing is ever buffered without bound.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod eido;
pub mod error;
pub mod fork;
pub mod forward;
pub mod http;
pub mod inputs;
pub mod mqtt;
pub mod openapi;
pub mod sta;
pub mod store;
pub mod stream;
pub mod telemetry;
pub mod things;
pub mod twin;
pub mod view;

use binjiang_scene::Scene;
use binjiang_sim::{IncidentCatalogue, PolicyKind, SimOptions};
use clock::{Clock, ClockMode};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database.
    #[error("{0}")]
    Store(#[from] store::StoreError),
    /// The scene's `live.ron`.
    #[error("{0}")]
    Config(binjiang_scene::Problems),
    /// The simulation could not be set up.
    #[error("{0}")]
    Sim(#[from] binjiang_sim::SimError),
    /// The database belongs to another scene or its log does not replay.
    #[error("the database does not fit: {0}")]
    Corrupt(String),
    /// The scene changed since the database was built on it (refused unless accepted), or its
    /// Datastream registry cannot be read.
    #[error("{0}")]
    Scene(#[from] things::RegistryError),
    /// The address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

/// How to run the service.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The database file (created if missing).
    pub db: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Wall clock or replay.
    pub clock: ClockMode,
    /// For a new database on a replay clock: the time of day to start at, seconds.
    pub start_s: Option<f64>,
    /// For a new database: the dispatch policy and seed (kept in the database after).
    pub policy: PolicyKind,
    /// For a new database: the seed of on-scene times and report delays.
    pub seed: u64,
    /// Requests that may wait for the twin.
    pub queue: usize,
    /// Caps the database's size in pages (tests of a full disk).
    pub max_pages: Option<u64>,
    /// Also ingest SensorThings observations from this MQTT broker.
    pub mqtt: Option<mqtt::MqttConfig>,
    /// HTTP and MQTT inputs go through this bus (see [`forward`]).
    pub forward: Option<Arc<dyn forward::Forward>>,
    /// Take a scene that changed since the database was built on it (see [`things`]):
    /// Datastream ids stay with their assets, removed assets' history stays readable.
    pub accept_scene_change: bool,
    /// The twin snapshots its state after this many inputs (and every
    /// [`twin::SNAPSHOT_EVERY`] with any), so a restart replays only the inputs since.
    pub snapshot_every_inputs: u64,
    /// Bytes of request bodies in flight, at most (at least one body's limit): beyond, 503.
    pub max_request_bytes: usize,
    /// Projections (`POST /api/v1/forks`) running at once, at most: beyond, 503.
    pub max_forks: usize,
}

impl ServeOptions {
    /// Defaults for `db` and `listen`.
    pub fn new(db: PathBuf, listen: SocketAddr) -> Self {
        ServeOptions {
            db,
            listen,
            clock: ClockMode::Wall,
            start_s: None,
            policy: PolicyKind::MergedGrid,
            seed: 7,
            queue: 4096,
            max_pages: None,
            mqtt: None,
            forward: None,
            accept_scene_change: false,
            snapshot_every_inputs: twin::SNAPSHOT_EVERY_INPUTS,
            max_request_bytes: http::REQUEST_BYTES,
            max_forks: 2,
        }
    }
}

/// A running service.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Tells long-lived connections (stream clients) to close.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Ingest tasks beside HTTP (MQTT, the bus): each with its stop signal.
    ingests: Vec<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
    /// For tasks attached after the start; dropped on stop so the twin can drain.
    state: Option<http::AppState>,
    server: tokio::task::JoinHandle<()>,
    twin: tokio::task::JoinHandle<()>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops taking connections, finishes requests in flight (their acknowledgements
    /// included), lets the twin and the writer drain, and returns once all is on disk.
    pub async fn stop(mut self) {
        // Ingests first: they stop taking messages; those in flight are acknowledged or left
        // to the broker or bus for the next session.
        for (stop, task) in self.ingests.drain(..) {
            let _ = stop.send(());
            let _ = task.await;
        }
        self.state = None;
        // Stream clients (a wall is always connected) are told to close first, or the
        // graceful shutdown would wait for them for ever.
        let _ = self.stopping.send(true);
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.server).await;
        let _ = (&mut self.twin).await;
        if let Some(w) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
    }

    /// Runs `task` beside the service (an ingest from elsewhere, a publisher) on the twin's
    /// state; [`Running::stop`] fires its signal and awaits it before the twin drains.
    pub fn attach<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(http::AppState, tokio::sync::oneshot::Receiver<()>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let Some(state) = self.state.clone() else {
            return;
        };
        let (stop, stopped) = tokio::sync::oneshot::channel();
        self.ingests
            .push((stop, tokio::spawn(task(state, stopped))));
    }

    /// Waits until the server stops (Ctrl-C handled by the caller through [`Running::stop`]).
    pub async fn wait(&mut self) {
        let _ = (&mut self.server).await;
    }
}

/// Scene, catalogue and live rules, checked.
pub struct District {
    /// The scene.
    pub scene: Arc<Scene>,
    /// Its catalogue.
    pub catalogue: IncidentCatalogue,
    /// `live.ron`.
    pub config: config::LiveConfig,
    /// The catalogue's own file when it is not the scene's (`serve --catalogue`): its hash is
    /// recorded with the scene's files, so a changed catalogue is a scene change.
    pub catalogue_file: Option<PathBuf>,
    /// The crowd tides learned (`serve --model`): people counters compare with them.
    pub tides: Arc<binjiang_learn::crowd::TideBook>,
    /// The forecast learned (`serve --model`): `GET /api/v1/forecast`.
    pub forecaster: Option<Arc<binjiang_learn::forecast::Forecaster>>,
}

impl District {
    /// The coverage monitor: every agency with units, at `live.ron`'s thresholds (0: watch
    /// only); demand from the learned forecast where loaded, else the catalogue's.
    pub fn coverage_monitor(&self) -> binjiang_sim::CoverageMonitor {
        let scene = &self.scene;
        let thresholds: std::collections::BTreeMap<binjiang_scene::Agency, f64> = scene
            .units
            .iter()
            .map(|u| {
                (
                    u.agency,
                    self.config.move_up.get(&u.agency).copied().unwrap_or(0.0),
                )
            })
            .collect();
        let modes: Vec<binjiang_scene::Mode> = scene.units.iter().map(|u| u.mode).collect();
        let reach = binjiang_sim::Reach::of_scene(
            scene,
            &mut binjiang_sim::Router::of_scene(scene),
            binjiang_sim::moveup::TARGET_S,
            &modes,
        );
        match &self.forecaster {
            None => binjiang_sim::CoverageMonitor::from_catalogue(
                scene,
                &self.catalogue,
                reach,
                &thresholds,
            ),
            Some(f) => {
                let catalogue = &self.catalogue;
                binjiang_sim::CoverageMonitor::new(reach, &thresholds, |agency, how| {
                    let keys: Vec<&str> = catalogue
                        .types
                        .iter()
                        .filter(|t| t.agencies.contains(&agency))
                        .map(|t| t.key.as_str())
                        .collect();
                    f.expected_by_cell(&keys, how)
                })
            }
        }
    }

    /// Loads and checks `live.ron` for a loaded scene and catalogue.
    pub fn new(scene: Scene, catalogue: IncidentCatalogue) -> Result<Self, ServeError> {
        let config =
            config::LiveConfig::load(&scene.dir, &catalogue).map_err(ServeError::Config)?;
        Ok(District {
            scene: Arc::new(scene),
            catalogue,
            config,
            catalogue_file: None,
            tides: Arc::default(),
            forecaster: None,
        })
    }
}

/// Opens (or creates) the database, rebuilds the twin from it, and starts serving.
pub async fn start(district: District, options: ServeOptions) -> Result<Running, ServeError> {
    // Road reach for the coverage monitor takes a moment: found before the clock starts,
    // so a replay clock (600×) does not run ahead while the service sets up.
    let monitor = Arc::new(district.coverage_monitor());
    let mut conn = store::open(&options.db)?;
    let sqlite = |source| store::StoreError::Sqlite {
        path: options.db.display().to_string(),
        source,
    };
    let offset = district.config.utc_offset;
    let scene_name = district.scene.manifest.name.clone();
    // A new database fixes the day origin, the start, the policy and the seed for good.
    let epoch_ms = match store::meta(&conn, "epoch_ms").map_err(sqlite)? {
        Some(v) => {
            let stored_scene = store::meta(&conn, "scene")
                .map_err(sqlite)?
                .unwrap_or_default();
            if stored_scene != scene_name {
                return Err(ServeError::Corrupt(format!(
                    "{} was written for scene \"{stored_scene}\", not \"{scene_name}\"",
                    options.db.display()
                )));
            }
            v.parse::<i64>()
                .map_err(|e| ServeError::Corrupt(format!("epoch_ms: {e}")))?
        }
        None => {
            let now = chrono::Utc::now();
            let epoch = Clock::midnight_before(now, offset);
            let start = match (options.clock, options.start_s) {
                (ClockMode::Replay { .. }, Some(s)) => s,
                _ => (now.timestamp_millis() - epoch) as f64 / 1000.0,
            };
            store::set_meta(&conn, "epoch_ms", &epoch.to_string()).map_err(sqlite)?;
            store::set_meta(&conn, "start_s", &start.to_string()).map_err(sqlite)?;
            store::set_meta(&conn, "policy", options.policy.name()).map_err(sqlite)?;
            store::set_meta(&conn, "seed", &options.seed.to_string()).map_err(sqlite)?;
            store::set_meta(&conn, "scene", &scene_name).map_err(sqlite)?;
            epoch
        }
    };
    let meta = |k: &str| -> Result<String, ServeError> {
        store::meta(&conn, k)
            .map_err(sqlite)?
            .ok_or_else(|| ServeError::Corrupt(format!("meta \"{k}\" missing")))
    };
    let start_s: f64 = meta("start_s")?
        .parse()
        .map_err(|e| ServeError::Corrupt(format!("start_s: {e}")))?;
    let seed: u64 = meta("seed")?
        .parse()
        .map_err(|e| ServeError::Corrupt(format!("seed: {e}")))?;
    let policy_name = meta("policy")?;
    let policy = PolicyKind::ALL
        .into_iter()
        .find(|p| p.name() == policy_name)
        .ok_or_else(|| ServeError::Corrupt(format!("unknown policy \"{policy_name}\"")))?;
    let saved = store::load(&conn).map_err(sqlite)?;
    let base_t = saved.last_t.unwrap_or(start_s).max(start_s);
    let clock = Clock::new(epoch_ms, offset, options.clock, base_t);
    let reconciled = things::reconcile(
        &mut conn,
        &district.scene,
        &district.config,
        district.catalogue_file.as_deref(),
        options.accept_scene_change,
        chrono::Utc::now().timestamp_millis(),
        &store::Rebase {
            input_seq: saved.inputs,
            event_seq: saved.events,
            t: saved.last_t.unwrap_or(start_s),
        },
    )?;
    if !reconciled.change.is_empty() {
        tracing::warn!(change = %reconciled.change, "scene change accepted: Datastream ids kept per asset; the dispatch core is rebuilt on the new scene from here on");
    }
    drop(conn);

    let things = Arc::new(reconciled.things);
    let scene_hash = reconciled.scene_hash;
    let telemetry = Arc::new(telemetry::Telemetry::default());
    let setup = twin::Setup {
        scene: Arc::clone(&district.scene),
        catalogue: district.catalogue.clone(),
        options: SimOptions {
            seed,
            policy,
            start_s,
            ..SimOptions::default()
        },
        things: Arc::clone(&things),
        db: options.db.clone(),
        telemetry: Arc::clone(&telemetry),
        scene_hash,
        snapshot_every_inputs: options.snapshot_every_inputs,
        tides: Arc::clone(&district.tides),
        monitor: Some(monitor),
    };
    let (writer, writer_thread) =
        store::Writer::start(&options.db, 1024, options.max_pages, Arc::clone(&telemetry))?;
    let twin = twin::Twin::rebuild(setup, clock.clone(), 1)?;
    let (published, views_rx) = view::Published::new(twin.view());
    let (requests_tx, requests_rx) = mpsc::channel(options.queue);
    let twin_task = tokio::spawn(twin::run(twin, requests_rx, writer, Arc::clone(&published)));

    let (stopping, stopping_rx) = tokio::sync::watch::channel(false);
    let request_bytes = options.max_request_bytes.max(http::BODY_LIMIT);
    let state = http::AppState {
        stopping: stopping_rx,
        request_bytes: Arc::new(tokio::sync::Semaphore::new(request_bytes)),
        request_bytes_total: request_bytes,
        forks: Arc::new(tokio::sync::Semaphore::new(options.max_forks.max(1))),
        forks_limit: options.max_forks.max(1),
        requests: requests_tx,
        views: views_rx,
        published,
        clock,
        scene: Arc::clone(&district.scene),
        catalogue: Arc::new(district.catalogue),
        things,
        reader: Arc::new(Mutex::new(store::open(&options.db)?)),
        tokens: Arc::new(Mutex::new(Default::default())),
        telemetry,
        forward: options.forward.clone(),
        forecaster: district.forecaster.clone(),
    };
    let mqtt = options.mqtt.clone().map(|config| {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        (
            stop,
            tokio::spawn(mqtt::run(config, state.clone(), stopped)),
        )
    });
    tokio::spawn(forget_revoked_tokens(state.clone()));
    let kept = state.clone();
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: options.listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: options.listen.to_string(),
        source,
    })?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(%e, "server stopped");
        }
        // Dropping the app dropped every request sender: the twin drains and stops.
    });
    tracing::info!(%addr, "serving");
    Ok(Running {
        addr,
        shutdown: Some(shutdown_tx),
        stopping,
        ingests: mqtt.into_iter().collect(),
        state: Some(kept),
        server,
        twin: twin_task,
        writer: Some(writer_thread),
    })
}

/// Forgets the cached tokens whenever `binjiang token revoke` (another process) revoked one,
/// so a revoked token is refused within [`auth::TOKENS_POLL`]. Ends when the service stops.
async fn forget_revoked_tokens(state: http::AppState) {
    let mut stopping = state.stopping.clone();
    // None until first read: the first read clears too, in case a token was cached and
    // revoked before it.
    let mut seen: Option<Option<String>> = None;
    let mut poll = tokio::time::interval(auth::TOKENS_POLL);
    loop {
        tokio::select! {
            _ = poll.tick() => {}
            _ = stopping.changed() => return,
        }
        if *stopping.borrow() {
            return;
        }
        let Ok(version) = state.read(|c| store::meta(c, auth::TOKENS_VERSION)).await else {
            continue;
        };
        if seen.as_ref() != Some(&version) {
            state
                .tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            if seen.is_some() {
                tracing::info!("tokens were revoked: the token cache is cleared");
            }
        }
        seen = Some(version);
    }
}

/// Every route, with the body limit.
pub fn router(state: http::AppState) -> axum::Router {
    axum::Router::new()
        .merge(api::routes())
        .merge(sta::routes())
        .route("/api/v1/stream", axum::routing::get(stream::connect))
        .route("/metrics", axum::routing::get(metrics))
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(openapi::document),
        )
        .fallback(|| async {
            error::ApiError::not_found("no such endpoint; see /api/v1/openapi.json").at("path")
        })
        .layer(axum::extract::DefaultBodyLimit::max(http::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::refuse_oversized,
        ))
        .with_state(state)
}

/// `GET /metrics`: Prometheus (OpenMetrics text). Open like a health check: counts only.
async fn metrics(
    axum::extract::State(state): axum::extract::State<http::AppState>,
) -> impl axum::response::IntoResponse {
    let t = &state.telemetry;
    t.queue_depth
        .set((state.requests.max_capacity() - state.requests.capacity()) as i64);
    t.request_bytes
        .set((state.request_bytes_total - state.request_bytes.available_permits()) as i64);
    for (agency, now) in &state.view().kpis.now_per_agency {
        let label = telemetry::AgencyLabel {
            agency: agency.clone(),
        };
        t.open_parts
            .get_or_create(&label)
            .set(now.open_parts as i64);
        t.queued_parts.get_or_create(&label).set(now.queued as i64);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        t.render(),
    )
}
