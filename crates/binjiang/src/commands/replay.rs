//! `binjiang replay <scene> --to URL --token T`: drives a live service from a simulated or
//! recorded day over its real APIs — incidents that a sensor rule raises as SensorThings
//! Observations of the nearest such sensor, every other incident as a report, units as GPS
//! fixes — the demo and the load generator. The local simulation runs at `--speed` from the
//! service's own clock, so a service on `--clock replay --speed N` and this command with the
//! same N stay in step.

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
    /// The service, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub to: String,
    /// A gateway (or admin) token.
    #[arg(long)]
    pub token: String,
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

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        anyhow::bail!("--speed {} must be a positive number", args.speed);
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
    let things = Things::of_scene(&scene, &config);
    let base = args.to.trim_end_matches('/').to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let auth = format!("Bearer {}", args.token);
    let mut clock = agent
        .get(format!("{base}/api/v1/clock"))
        .header("Authorization", &auth)
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
        let (agent, auth, base, stats) = (
            agent.clone(),
            auth.clone(),
            base.clone(),
            Arc::clone(&stats),
        );
        senders.push(std::thread::spawn(move || {
            for call in ordered_rx {
                send(&agent, &auth, &base, &call, &stats);
            }
        }));
    }
    for _ in 0..3 {
        let (agent, auth, base, stats, rx) = (
            agent.clone(),
            auth.clone(),
            base.clone(),
            Arc::clone(&stats),
            Arc::clone(&fix_rx),
        );
        senders.push(std::thread::spawn(move || loop {
            let call = match rx.lock().expect("fix queue").recv() {
                Ok(c) => c,
                Err(_) => break,
            };
            send(&agent, &auth, &base, &call, &stats);
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
        "binjiang: replaying {} h from t = {t0:.0} s at {}× to {base}",
        args.hours, args.speed
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
                                .filter(|t| t.rule == rule)
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

fn send(agent: &ureq::Agent, auth: &str, base: &str, call: &Call, stats: &std::sync::Mutex<Stats>) {
    let started = Instant::now();
    let result = agent
        .post(format!("{base}{}", call.path))
        .header("Authorization", auth)
        .send_json(&call.body);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut s = stats.lock().expect("stats");
    s.sent += 1;
    match result {
        Ok(r) if r.status().is_success() => {
            s.ok += 1;
            s.latencies_ms.push(ms);
        }
        Ok(mut r) => {
            s.refused += 1;
            let body = r.body_mut().read_to_string().unwrap_or_default();
            s.refusals
                .push(format!("{} {}: {body}", call.path, r.status()));
        }
        Err(e) => {
            s.failed += 1;
            s.refusals.push(format!("{}: {e}", call.path));
        }
    }
}
