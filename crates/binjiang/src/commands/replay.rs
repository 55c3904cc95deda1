//! `binjiang replay <scene> --to URL --token T`: drives a live service from a simulated or
//! recorded day over its real APIs — incidents that a sensor rule raises as SensorThings
//! Observations of the nearest such sensor, every other incident as a report, units as GPS
//! fixes — the demo and the load generator. The local simulation runs at `--speed` from the
//! service's own clock, so a service on `--clock replay --speed N` and this command with the
//! same N stay in step.
//!
//! `--to nats://h1,h2,h3` publishes the same inputs on the bus instead, as a district's field
//! gateways would (`binjiang.<district>.observations|reports|positions`, each stored by the
//! bus before the next in order): the twin (`serve --bus`) takes them from there. Its clock is
//! then the wall clock in the district's time zone, or the service's (`--clock-from URL`).

use anyhow::Context;
use binjiang_live::config::LiveConfig;
use binjiang_live::things::Things;
use binjiang_sim::{parse_recorded, IncidentSource, SimOptions, Simulation, UnitStatus, What};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `binjiang replay`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scene folder the service runs.
    pub scene: PathBuf,
    /// The service, e.g. http://127.0.0.1:8080, or a bus, e.g. nats://127.0.0.1:4222 (a
    /// cluster: nats://h1:4222,h2:4222,h3:4222).
    #[arg(long)]
    pub to: String,
    /// A gateway (or admin) token (HTTP only); also read from BINJIANG_TOKEN, which keeps
    /// it out of `ps`.
    #[arg(
        long,
        env = "BINJIANG_TOKEN",
        hide_env_values = true,
        default_value = ""
    )]
    pub token: String,
    /// With --to nats://…: the district (subject token); default the scene folder's name.
    #[arg(long)]
    pub district: Option<String>,
    /// With --to nats://…: take the clock of the service at this URL (one on `--clock
    /// replay`) instead of the wall clock.
    #[arg(long)]
    pub clock_from: Option<String>,
    /// Simulated seconds per real second: the service's own speed (`serve --clock replay
    /// --speed N`), or 1 for a service on the wall clock (it refuses reports stamped more than
    /// 5 minutes ahead of its clock).
    #[arg(long, default_value_t = 600.0)]
    pub speed: f64,
    /// Simulated hours to replay.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Replay a recorded incident list (CSV, as `simulate --incidents-from`) instead of a
    /// generated day.
    #[arg(long)]
    pub incidents_from: Option<PathBuf>,
    /// Seed of the generated day.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Simulated seconds between GPS fixes of each unit on duty.
    #[arg(long, default_value_t = 60.0)]
    pub fix_every: f64,
}

/// One request to send.
struct Call {
    path: String,
    body: serde_json::Value,
}

/// Where calls go.
#[derive(Clone)]
enum Target {
    /// The service's HTTP API.
    Http {
        agent: ureq::Agent,
        auth: String,
        base: String,
    },
    /// The bus, as a gateway.
    Bus {
        gateway: Arc<binjiang_bus::gateway::Gateway>,
        runtime: tokio::runtime::Handle,
    },
}

impl Target {
    /// Sends `call`; `Ok(None)` acknowledged, `Ok(Some(why))` refused, `Err` failed.
    fn send(&self, call: &Call) -> Result<Option<String>, String> {
        match self {
            Target::Http { agent, auth, base } => {
                match agent
                    .post(format!("{base}{}", call.path))
                    .header("Authorization", auth)
                    .send_json(&call.body)
                {
                    Ok(r) if r.status().is_success() => Ok(None),
                    Ok(mut r) => {
                        let body = r.body_mut().read_to_string().unwrap_or_default();
                        Ok(Some(format!("{} {}: {body}", call.path, r.status())))
                    }
                    Err(e) => Err(format!("{}: {e}", call.path)),
                }
            }
            Target::Bus { gateway, runtime } => {
                let (kind, id, body) = on_bus(call);
                runtime
                    .block_on(gateway.publish(kind, &id, &body))
                    .map(|_| None)
                    .map_err(|e| format!("{}: {e}", call.path))
            }
        }
    }
}

/// The bus message of an HTTP call: subject kind, message id, body.
fn on_bus(call: &Call) -> (&'static str, String, serde_json::Value) {
    let b = &call.body;
    let time = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
    if let Some(ds) = call
        .path
        .strip_prefix("/v1.1/Datastreams(")
        .and_then(|r| r.strip_suffix(")/Observations"))
    {
        let mut body = b.clone();
        body["Datastream"] = serde_json::json!({"@iot.id": ds.parse::<u64>().unwrap_or(0)});
        let id = format!("obs-{ds}-{}-{}", time("phenomenonTime"), b["result"]);
        ("observations", id, body)
    } else if let Some(unit) = call
        .path
        .strip_prefix("/api/v1/units/")
        .and_then(|r| r.strip_suffix("/positions"))
    {
        let id = format!("fix-{unit}-{}", time("time"));
        let body = serde_json::json!({"unit": unit, "fixes": [b]});
        ("positions", id, body)
    } else {
        let id = b["external_id"].as_str().unwrap_or_default().to_owned();
        ("reports", id, b.clone())
    }
}

/// The service's clock: its time of day now (s) and its day origin (Unix ms).
fn clock_of(agent: &ureq::Agent, base: &str, auth: &str) -> anyhow::Result<(f64, i64)> {
    let mut clock = agent
        .get(format!("{base}/api/v1/clock"))
        .header("Authorization", auth)
        .call()
        .with_context(|| format!("cannot reach {base}"))?;
    if clock.status().as_u16() != 200 {
        anyhow::bail!(
            "{base}/api/v1/clock answered {}: {}",
            clock.status(),
            clock.body_mut().read_to_string()?
        );
    }
    let clock: serde_json::Value = clock.body_mut().read_json()?;
    let t0 = clock["t"].as_f64().context("clock.t")?;
    let epoch_ms = clock["epoch_ms"].as_i64().context("clock.epoch_ms")?;
    Ok((t0, epoch_ms))
}

/// The service's Datastream id of each (asset, kind) that takes observations.
fn datastream_ids(
    agent: &ureq::Agent,
    base: &str,
    auth: &str,
) -> anyhow::Result<std::collections::HashMap<(String, String), u64>> {
    let mut ids = std::collections::HashMap::new();
    let mut next = Some(format!("{base}/v1.1/Datastreams?$top=10000"));
    while let Some(url) = next.take() {
        let mut answer = agent
            .get(&url)
            .header("Authorization", auth)
            .call()
            .with_context(|| format!("cannot reach {base}"))?;
        if answer.status().as_u16() != 200 {
            anyhow::bail!("{url} answered {}", answer.status());
        }
        let page: serde_json::Value = answer.body_mut().read_json()?;
        for d in page["value"].as_array().into_iter().flatten() {
            let p = &d["properties"];
            if let (Some(id), Some(asset), Some(kind), None) = (
                d["@iot.id"].as_u64(),
                p["asset_id"].as_str(),
                p["kind"].as_str(),
                p["retired"].as_str(),
            ) {
                ids.insert((asset.to_owned(), kind.to_owned()), id);
            }
        }
        next = page["@iot.nextLink"].as_str().map(str::to_owned);
    }
    Ok(ids)
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        bail_usage!("--speed {} must be a positive number", args.speed);
    }
    let (scene, catalogue) = match super::load_scene_and_catalogue(&args.scene)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let config = match LiveConfig::load(&scene.dir, &catalogue) {
        Ok(c) => c,
        Err(problems) => {
            eprint!("{problems}");
            return Ok(ExitCode::from(super::INVALID));
        }
    };
    let mut things = Things::of_scene(&scene, &config);
    let base = args.to.trim_end_matches('/').to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let auth = format!("Bearer {}", args.token);
    // Kept alive while the senders publish on the bus.
    let mut runtime = None;
    let (target, (t0, epoch_ms)) = if base.starts_with("nats://") {
        let district = match &args.district {
            Some(d) => d.clone(),
            None => super::district_of(&args.scene)?,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let gateway = rt.block_on(binjiang_bus::gateway::Gateway::connect(&base, &district))?;
        let clock = match &args.clock_from {
            Some(url) => clock_of(&agent, url.trim_end_matches('/'), &auth)?,
            None => {
                let now = chrono::Utc::now();
                let epoch = binjiang_live::clock::Clock::midnight_before(now, config.utc_offset);
                ((now.timestamp_millis() - epoch) as f64 / 1000.0, epoch)
            }
        };
        let handle = rt.handle().clone();
        runtime = Some(rt);
        let gateway = Arc::new(gateway);
        (
            Target::Bus {
                gateway,
                runtime: handle,
            },
            clock,
        )
    } else {
        let clock = clock_of(&agent, &base, &auth)?;
        // The service numbers Datastreams per asset (its registry survives scene edits):
        // post to its ids, not to this scene's order.
        let ids = datastream_ids(&agent, &base, &auth)?;
        things.things.retain_mut(|t| {
            match ids.get(&(t.asset_id.clone(), t.kind.key().to_owned())) {
                Some(id) => {
                    t.id = *id;
                    true
                }
                None => false,
            }
        });
        (
            Target::Http {
                agent,
                auth,
                base: base.clone(),
            },
            clock,
        )
    };
    let source = match &args.incidents_from {
        None => IncidentSource::Generated,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            match parse_recorded(&path.display().to_string(), &text, &catalogue, &scene.frame) {
                Ok(list) => IncidentSource::Recorded(Arc::new(list)),
                Err(problems) => {
                    eprint!("{problems}");
                    return Ok(ExitCode::from(super::INVALID));
                }
            }
        }
    };
    let options = SimOptions {
        seed: args.seed,
        start_s: t0,
        ..SimOptions::default()
    };
    let policy = options.policy.build(catalogue.dispatch.clone());
    let mut sim = Simulation::with_source(&scene, catalogue, options, policy, source)?;

    // Ordered calls (reports, alarms and their all-clears) on one sender; fixes on others.
    let (ordered_tx, ordered_rx) = mpsc::sync_channel::<Call>(10_000);
    let (fix_tx, fix_rx) = mpsc::sync_channel::<Call>(10_000);
    let fix_rx = Arc::new(std::sync::Mutex::new(fix_rx));
    let stats = Arc::new(std::sync::Mutex::new(Stats::default()));
    let mut senders = Vec::new();
    {
        let (target, stats) = (target.clone(), Arc::clone(&stats));
        senders.push(std::thread::spawn(move || {
            for call in ordered_rx {
                send(&target, &call, &stats);
            }
        }));
    }
    for _ in 0..3 {
        let (target, stats, rx) = (target.clone(), Arc::clone(&stats), Arc::clone(&fix_rx));
        senders.push(std::thread::spawn(move || loop {
            let call = match rx.lock().expect("fix queue").recv() {
                Ok(c) => c,
                Err(_) => break,
            };
            send(&target, &call, &stats);
        }));
    }

    let iso = |t: f64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(
            epoch_ms + (t * 1000.0).round() as i64,
        )
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let end = t0 + args.hours * 3600.0;
    let started = Instant::now();
    let mut alarms: HashMap<u32, (u64, f64)> = HashMap::new();
    let mut next_fix = t0;
    let frame = scene.frame;
    eprintln!(
        "binjiang: replaying {} h from t = {t0:.0} s at {}× to {}",
        args.hours,
        args.speed,
        binjiang_bus::nats::redact(&base)
    );
    loop {
        let target = (t0 + args.speed * started.elapsed().as_secs_f64()).min(end);
        sim.advance_to(target);
        for e in sim.drain_events() {
            match &e.what {
                What::Reported {
                    incident, source, ..
                } => {
                    let Some(inc) = sim.incident(*incident) else {
                        continue;
                    };
                    let key = sim.catalogue().types[inc.incident_type as usize]
                        .key
                        .clone();
                    let sensor = things
                        .rules
                        .iter()
                        .position(|r| r.incident_type == key)
                        .and_then(|rule| {
                            things
                                .things
                                .iter()
                                .filter(|t| t.rule == Some(rule))
                                .min_by(|a, b| {
                                    let d = |t: &binjiang_live::things::Thing| {
                                        let p = frame.to_local(t.lon_lat.0, t.lon_lat.1);
                                        (p.x - e.x).hypot(p.y - e.y)
                                    };
                                    d(a).total_cmp(&d(b))
                                })
                                .map(|t| {
                                    (
                                        t.id,
                                        things.rules[rule].alarm_at,
                                        things.rules[rule].range.0,
                                    )
                                })
                        });
                    let call = match sensor {
                        Some((ds, alarm, normal)) => {
                            alarms.insert(*incident, (ds, normal));
                            Call {
                                path: format!("/v1.1/Datastreams({ds})/Observations"),
                                body: serde_json::json!({"result": alarm, "phenomenonTime": iso(e.t)}),
                            }
                        }
                        None => {
                            let (lon, lat) = frame.to_wgs84(geo::Coord { x: e.x, y: e.y });
                            Call {
                                path: "/api/v1/reports".into(),
                                body: serde_json::json!({
                                    "external_id": format!("replay-{}-{}-{incident}", args.seed, t0 as u64),
                                    "source": source.key(), "type": key, "lon": lon, "lat": lat, "time": iso(e.t),
                                    "text": "replayed by binjiang replay"}),
                            }
                        }
                    };
                    ordered_tx.send(call)?;
                }
                What::Closed { incident, .. } => {
                    if let Some((ds, normal)) = alarms.remove(incident) {
                        ordered_tx.send(Call {
                            path: format!("/v1.1/Datastreams({ds})/Observations"),
                            body: serde_json::json!({"result": normal, "phenomenonTime": iso(e.t)}),
                        })?;
                    }
                }
                _ => {}
            }
        }
        sim.retire_closed();
        if target >= next_fix {
            next_fix = target + args.fix_every;
            for u in sim
                .units()
                .into_iter()
                .filter(|u| u.status != UnitStatus::OffDuty)
            {
                let (lon, lat) = frame.to_wgs84(geo::Coord {
                    x: u.position[0],
                    y: u.position[1],
                });
                let _ = fix_tx.try_send(Call {
                    path: format!("/api/v1/units/{}/positions", u.id),
                    body: serde_json::json!({"time": iso(target), "lon": lon, "lat": lat}),
                });
            }
        }
        if target >= end {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(ordered_tx);
    drop(fix_tx);
    for s in senders {
        let _ = s.join();
    }
    drop(runtime);
    let s = stats.lock().expect("stats");
    let mut lat = s.latencies_ms.clone();
    lat.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    eprintln!(
        "binjiang: sent {} requests: {} acknowledged, {} refused, {} failed; acknowledgement p50 {:.1} ms, p99 {:.1} ms",
        s.sent, s.ok, s.refused, s.failed, pct(0.5), pct(0.99)
    );
    for r in s.refusals.iter().take(10) {
        eprintln!("  refused: {r}");
    }
    Ok(if s.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::INVALID)
    })
}

#[derive(Default)]
struct Stats {
    sent: usize,
    ok: usize,
    refused: usize,
    failed: usize,
    latencies_ms: Vec<f64>,
    refusals: Vec<String>,
}

fn send(target: &Target, call: &Call, stats: &std::sync::Mutex<Stats>) {
    let started = Instant::now();
    let result = target.send(call);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut s = stats.lock().expect("stats");
    s.sent += 1;
    match result {
        Ok(None) => {
            s.ok += 1;
            s.latencies_ms.push(ms);
        }
        Ok(Some(refusal)) => {
            s.refused += 1;
            s.refusals.push(refusal);
        }
        Err(e) => {
            s.failed += 1;
            s.refusals.push(e);
        }
    }
}
