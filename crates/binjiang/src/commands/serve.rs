//! `binjiang serve <scene>`: the live twin (crates/binjiang-live) on this machine.

use super::INVALID;
use anyhow::Context;
use binjiang_live::clock::ClockMode;
use binjiang_live::{District, ServeError, ServeOptions};
use binjiang_sim::PolicyKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `binjiang serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scene folder (holding scene.ron, incident_types.ron and live.ron).
    pub scene: PathBuf,
    /// The event log and state (SQLite; created if missing).
    #[arg(long, default_value = "binjiang.db")]
    pub db: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// `wall` (real time) or `replay` (a demo clock running --speed times real time, from
    /// where the log stopped or, for a new database, from --at).
    #[arg(long, default_value = "wall")]
    pub clock: String,
    /// Simulated seconds per real second on the replay clock.
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// A new database on the replay clock starts at this time of day (HH:MM).
    #[arg(long, value_parser = parse_clock)]
    pub at: Option<f64>,
    /// Dispatch policy of a new database.
    #[arg(long, value_enum, default_value_t = PolicyKind::MergedGrid)]
    pub policy: PolicyKind,
    /// Seed of a new database (on-scene times, report delays).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Also take SensorThings observations from this MQTT broker (host:port), topics
    /// v1.1/Datastreams(<id>)/Observations and v1.1/Observations, QoS 1.
    #[arg(long)]
    pub mqtt: Option<String>,
    /// The broker's user name.
    #[arg(long, requires = "mqtt")]
    pub mqtt_user: Option<String>,
    /// A file holding the broker's password (with --mqtt-user); else BINJIANG_MQTT_PASSWORD.
    /// Never on the command line: every user of the machine can read it there in `ps`.
    #[arg(long, requires = "mqtt_user")]
    pub mqtt_password_file: Option<PathBuf>,
    /// Connect to the broker over TLS, trusting this CA certificate (PEM).
    #[arg(long, requires = "mqtt")]
    pub mqtt_ca: Option<PathBuf>,
    /// Client certificate (PEM) for a broker that asks for one (with --mqtt-key).
    #[arg(long, requires_all = ["mqtt_ca", "mqtt_key"])]
    pub mqtt_cert: Option<PathBuf>,
    /// Client private key (PEM) (with --mqtt-cert).
    #[arg(long, requires = "mqtt_cert")]
    pub mqtt_key: Option<PathBuf>,
    /// MQTT client id: the broker keeps this session (and what arrives while the service is
    /// down) under it.
    #[arg(long, default_value = "binjiang-twin")]
    pub mqtt_client_id: String,
    /// Also take the district's inputs from a NATS JetStream bus (a server, or a cluster as
    /// nats://h1:4222,h2:4222,h3:4222): subjects binjiang.<district>.observations, .reports
    /// and .positions, each acknowledged to the bus once in the log; KPIs are published to
    /// binjiang.<district>.kpis. An unreachable bus is retried; the service runs meanwhile.
    #[arg(long)]
    pub bus: Option<String>,
    /// HTTP and MQTT inputs go through the bus too (checked, published, then taken by the
    /// twin from there): one path for every input. Answers come once the twin has taken them
    /// (202 with the bus sequence number if that takes over 10 s).
    #[arg(long, requires = "bus")]
    pub ingest_via_bus: bool,
    /// The district on the bus; default the scene folder's name.
    #[arg(long, requires = "bus")]
    pub district: Option<String>,
    /// Seconds between KPI publications on the bus.
    #[arg(long, default_value_t = 5.0, requires = "bus")]
    pub kpis_every_s: f64,
    /// A bus message unacknowledged this long is redelivered, seconds.
    #[arg(long, default_value_t = 30.0, requires = "bus")]
    pub bus_ack_wait_s: f64,
    /// Take a scene edited since the database was built on it. Without it such a scene is
    /// refused, naming what changed (assets added, removed, moved, kinds changed, files).
    /// With it, Datastream ids stay with their assets, new assets get new ids, removed
    /// assets' history stays readable, and the dispatch core is rebuilt on the new scene.
    #[arg(long)]
    pub accept_scene_change: bool,
    /// The incident catalogue to run instead of the scene's (e.g. the one `binjiang learn`
    /// wrote); its hash is kept with the scene's, so a later change to it is a scene change.
    #[arg(long)]
    pub catalogue: Option<PathBuf>,
    /// A folder `binjiang learn` wrote: `GET /api/v1/forecast` answers from its model, and
    /// people counters are compared with their learned tides.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Caps the database at this many pages (4 KiB each): a full disk on demand, for tests.
    #[arg(long, hide = true)]
    pub max_pages: Option<u64>,
}

/// The broker's password: from --mqtt-password-file, else BINJIANG_MQTT_PASSWORD, else none.
fn mqtt_password(args: &Args) -> anyhow::Result<String> {
    if let Some(path) = &args.mqtt_password_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--mqtt-password-file: cannot read {}", path.display()))?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_owned());
    }
    Ok(std::env::var("BINJIANG_MQTT_PASSWORD").unwrap_or_default())
}

fn parse_clock(text: &str) -> Result<f64, String> {
    binjiang_scene::shift::parse_clock(text).map(f64::from)
}

/// Runs the service until Ctrl-C or SIGTERM, then shuts down gracefully.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let clock = match args.clock.as_str() {
        "wall" => ClockMode::Wall,
        "replay" if args.speed.is_finite() && args.speed > 0.0 => {
            ClockMode::Replay { speed: args.speed }
        }
        "replay" => bail_usage!("--speed {} must be a positive number", args.speed),
        other => bail_usage!("--clock {other}: expected wall or replay"),
    };
    let (scene, catalogue) =
        match super::load_scene_with_catalogue(&args.scene, args.catalogue.as_deref())? {
            Ok(loaded) => loaded,
            Err(code) => return Ok(code),
        };
    let mut district = match District::new(scene, catalogue) {
        Ok(d) => d,
        Err(ServeError::Config(problems)) => {
            eprint!("{problems}");
            return Ok(ExitCode::from(INVALID));
        }
        Err(e) => return Err(e.into()),
    };
    district.catalogue_file = args.catalogue.clone();
    if let Some(dir) = &args.model {
        let (forecaster, tides) = super::forecast::load_model(dir, &district.scene)?;
        district.forecaster = Some(std::sync::Arc::new(forecaster));
        district.tides = std::sync::Arc::new(tides);
    }
    say_crowd_rules(&district);
    let mut options = ServeOptions::new(args.db.clone(), args.listen);
    options.clock = clock;
    options.start_s = args.at;
    options.policy = args.policy;
    options.seed = args.seed;
    options.max_pages = args.max_pages;
    options.accept_scene_change = args.accept_scene_change;
    if let Some(addr) = &args.mqtt {
        let Some(mut config) = binjiang_live::mqtt::MqttConfig::parse(addr) else {
            bail_usage!("--mqtt {addr}: expected host:port");
        };
        config.client_id = args.mqtt_client_id.clone();
        config.credentials = match &args.mqtt_user {
            None => None,
            Some(user) => Some((user.clone(), mqtt_password(args)?)),
        };
        if let Some(ca) = &args.mqtt_ca {
            let read = |p: &PathBuf| {
                std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
            };
            let client_auth = match (&args.mqtt_cert, &args.mqtt_key) {
                (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
                _ => None,
            };
            config.tls = Some(binjiang_live::mqtt::MqttTls {
                ca: read(ca)?,
                client_auth,
            });
        }
        options.mqtt = Some(config);
    }
    let bus = match &args.bus {
        Some(url) => {
            let district = match &args.district {
                Some(d) => {
                    binjiang_bus::ingest::check_district(d).map_err(anyhow::Error::msg)?;
                    d.clone()
                }
                None => super::district_of(&args.scene)?,
            };
            let seconds = |flag: &str, v: f64| {
                if v.is_finite() && v > 0.0 {
                    Ok(std::time::Duration::from_secs_f64(v))
                } else {
                    Err(crate::failure::usage(format!(
                        "{flag} {v} must be a positive number"
                    )))
                }
            };
            Some((
                url.clone(),
                district,
                seconds("--kpis-every-s", args.kpis_every_s)?,
                seconds("--bus-ack-wait-s", args.bus_ack_wait_s)?,
            ))
        }
        None => None,
    };
    if let (true, Some((url, district, _, _))) = (args.ingest_via_bus, &bus) {
        options.forward = Some(std::sync::Arc::new(binjiang_bus::gateway::Forwarder::new(
            url, district,
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut running = match binjiang_live::start(district, options).await {
            Ok(r) => r,
            Err(e @ (ServeError::Corrupt(_) | ServeError::Sim(_) | ServeError::Scene(_))) => {
                return Err(crate::failure::invalid(
                    anyhow::Error::from(e).context(args.db.display().to_string()),
                ));
            }
            Err(e) => return Err(anyhow::Error::from(e)),
        };
        if let Some((url, district, every, ack_wait)) = bus {
            let (u, d) = (url.clone(), district.clone());
            running
                .attach(move |state, stop| binjiang_bus::ingest::run(u, d, ack_wait, state, stop));
            let (u, d) = (url.clone(), district.clone());
            running
                .attach(move |state, stop| binjiang_bus::city::publish(u, d, every, state, stop));
            eprintln!(
                "binjiang: taking binjiang.{district}.* from the bus {}",
                binjiang_bus::nats::redact(&url)
            );
        }
        eprintln!(
            "binjiang: serving {} on http://{} (database {}); Ctrl-C stops",
            args.scene.display(),
            running.addr,
            args.db.display()
        );
        shutdown_signal().await;
        eprintln!("binjiang: stopping: finishing requests in flight");
        running.stop().await;
        eprintln!("binjiang: stopped; everything acknowledged is on disk");
        Ok(ExitCode::SUCCESS)
    })
}

/// Says at start which people counters compare with a learned tide and which fall back to
/// a fixed threshold.
fn say_crowd_rules(district: &District) {
    for (kind, rule) in district.config.rules.iter().filter(|(_, r)| r.tide) {
        let sites: Vec<&str> = district
            .scene
            .assets
            .iter()
            .filter(|a| a.kind == *kind)
            .map(|a| a.id.as_str())
            .collect();
        let (learned, fixed): (Vec<&str>, Vec<&str>) = sites
            .iter()
            .partition(|id| district.tides.sites.contains_key(**id));
        if !learned.is_empty() {
            eprintln!(
                "binjiang: {}: {} site(s) raise {} above their learned 99th percentile for the hour of the week",
                kind.key(),
                learned.len(),
                rule.incident_type
            );
        }
        if !fixed.is_empty() {
            eprintln!(
                "binjiang: {}: no learned tide for {} (serve --model with binjiang learn --counts): fixed threshold {} {} (clear below {})",
                kind.key(),
                fixed.join(", "),
                rule.alarm_at,
                rule.unit.symbol,
                rule.clear_below
            );
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
