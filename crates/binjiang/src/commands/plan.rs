//! `binjiang plan <scene> --agency <key> [--units N] [--model <learn dir>] [--target-s 180]
//! --name <planned> [--verify N] [--json]`: where each of an agency's units should stand so
//! that the demand it must reach within the target is covered, counting that a unit is busy
//! part of the time (MEXCLP, crates/binjiang-plan), per shift; written as an ordinary what-if
//! overlay and, with `--verify`, checked by `whatif` on paired seeds (issue 19, first part).

use super::{load_scene_and_catalogue, round, INVALID};
use anyhow::Context;
use binjiang_plan::{solve, Instance, Method};
use binjiang_scene::{Agency, Mode, Scene, Shift};
use binjiang_sim::{IncidentCatalogue, Router};
use geo::{Coord, Distance, Euclidean, Point};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `binjiang plan`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scene folder.
    pub scene: PathBuf,
    /// The agency whose units are placed (police, security, urban_management, cleaning,
    /// property, market_supervision).
    #[arg(long)]
    pub agency: String,
    /// How many units (default: as many as the scene has; more or fewer take the agency's
    /// shifts in turn).
    #[arg(long)]
    pub units: Option<usize>,
    /// Demand from a learned model (`binjiang learn --out`), else the catalogue's rates.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The target: road seconds from a post to the incident.
    #[arg(long, default_value_t = 180.0)]
    pub target_s: f64,
    /// The scenario written: `<scene>/scenarios/<name>.ron`.
    #[arg(long)]
    pub name: String,
    /// Run `whatif` baseline against the plan on this many paired seeds (report in
    /// `<scene>/scenarios/<name>.report/`).
    #[arg(long)]
    pub verify: Option<u64>,
    /// Seconds the exact solver may take per shift before the heuristic stands.
    #[arg(long, default_value_t = 30.0)]
    pub time_limit_s: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One group of units that are on duty together.
struct Group {
    shift: Shift,
    shift_text: String,
    mode: Mode,
    /// The scene's units of the group (their current homes), by index.
    current: Vec<usize>,
    /// How many units the plan places in it.
    units: usize,
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let Some(agency) = Agency::parse(&args.agency) else {
        bail_usage!(
            "--agency {}: expected one of {}",
            args.agency,
            Agency::expected()
        );
    };
    if !(args.target_s.is_finite() && args.target_s > 0.0) {
        bail_usage!("--target-s {} must be a positive number", args.target_s);
    }
    if args.name.is_empty()
        || !args
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail_usage!("--name \"{}\": letters, digits, - and _ only", args.name);
    }
    let (scene, catalogue) = match load_scene_and_catalogue(&args.scene)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let own: Vec<usize> = (0..scene.units.len())
        .filter(|&u| scene.units[u].agency == agency)
        .collect();
    if own.is_empty() {
        eprintln!(
            "{}: the scene has no {} units",
            args.scene.display(),
            agency.key()
        );
        return Ok(ExitCode::from(INVALID));
    }
    let n = args.units.unwrap_or(own.len());
    if n == 0 {
        bail_usage!("--units must be at least 1");
    }
    let types: Vec<(usize, Vec<f64>)> = (0..catalogue.types.len())
        .filter(|&t| catalogue.types[t].agencies.contains(&agency))
        .map(|t| (t, catalogue.cell_shares(t, &scene)))
        .collect();
    let model = match &args.model {
        Some(dir) => Some(super::forecast::load_model(dir, &scene)?.0),
        None => None,
    };
    let groups = groups(&scene, &own, n);
    let mut router = Router::of_scene(&scene);
    let centres: Vec<Coord> = scene.grid.cells.iter().map(|c| c.centre()).collect();
    let busy = busy_share(&catalogue, &types, &scene, &own, args.target_s);
    let mut reach_by_mode: BTreeMap<&str, Vec<Vec<usize>>> = BTreeMap::new();
    let mut posts: Vec<Value> = Vec::new();
    let (mut before_sum, mut after_sum, mut bound_sum, mut weight) = (0.0, 0.0, 0.0, 0.0);
    let mut methods = Vec::new();
    let mut scenario_adds = String::new();
    for g in &groups {
        let demand = demand_of(&catalogue, &types, model.as_ref(), &g.shift);
        let total: f64 = demand.iter().sum();
        // Candidate posts: the cells' centres; each reaches the cells with demand among those
        // within the target by road in the group's mode (found once per mode).
        let reach = reach_by_mode.entry(g.mode.key()).or_insert_with(|| {
            let reach_m = args.target_s * g.mode.speed_mps();
            centres
                .iter()
                .map(|a| {
                    (0..centres.len())
                        .filter(|&i| {
                            Euclidean.distance(Point::from(*a), Point::from(centres[i])) <= reach_m
                        })
                        .filter(|&i| {
                            router
                                .travel_time(g.mode, *a, centres[i])
                                .is_some_and(|t| t <= args.target_s)
                        })
                        .collect()
                })
                .collect()
        });
        let covers: Vec<Vec<usize>> = reach
            .iter()
            .map(|cells| cells.iter().copied().filter(|&i| demand[i] > 0.0).collect())
            .collect();
        let instance = Instance {
            demand: demand.clone(),
            covers,
            units: g.units,
            busy,
        };
        let now: Vec<usize> = g
            .current
            .iter()
            .map(|&u| nearest(&centres, scene.units[u].home))
            .collect();
        let before = instance.expected(&now);
        let plan = solve(&instance, args.time_limit_s).map_err(anyhow::Error::msg)?;
        before_sum += before * total;
        after_sum += plan.expected * total;
        bound_sum += plan.bound * total;
        weight += total;
        methods.push(plan.method);
        for &j in &plan.posts {
            // The loop: from the post to the busiest other cell it reaches, and back.
            let far = instance.covers[j]
                .iter()
                .copied()
                .filter(|&i| i != j)
                .max_by(|a, b| demand[*a].total_cmp(&demand[*b]).then(b.cmp(a)));
            let through: Vec<Coord> = far.map(|i| vec![centres[i]]).unwrap_or_default();
            let loop_m = far
                .and_then(|i| router.travel_time(g.mode, centres[j], centres[i]))
                .map_or(0.0, |t| 2.0 * t * g.mode.speed_mps());
            let (lon, lat) = scene.frame.to_wgs84(centres[j]);
            posts.push(
                json!({"unit": posts.len() + 1, "lon": round(lon, 7), "lat": round(lat, 7),
                              "loop_m": loop_m.round(), "shift": g.shift_text}),
            );
            let ll = |c: Coord| {
                let (lon, lat) = scene.frame.to_wgs84(c);
                format!("({lon:.7}, {lat:.7})")
            };
            let _ = writeln!(
                scenario_adds,
                "            (agency: \"{}\", mode: \"{}\", count: 1, home_at: {}, patrol_through: [{}], shift: \"{}\"),",
                agency.key(),
                g.mode.key(),
                ll(centres[j]),
                std::iter::once(centres[j]).chain(through).map(ll).collect::<Vec<_>>().join(", "),
                g.shift_text
            );
        }
    }
    let share = |v: f64| if weight > 0.0 { v / weight } else { 0.0 };
    let (before, after, bound) = (share(before_sum), share(after_sum), share(bound_sum));
    let method = if methods.iter().all(|m| *m == Method::Mip) {
        "mip"
    } else {
        "heuristic"
    };
    let removed: Vec<String> = own
        .iter()
        .map(|&u| format!("\"{}\"", scene.units[u].id))
        .collect();
    let scenario = format!(
        "// Written by binjiang plan: {n} {agency} unit(s) placed for on site within {t:.0} s by road \
         (maximum expected covering location, busy share {busy:.2}); demand from {from}.\n\
         // Expected covered demand {before:.3} before, {after:.3} after, bound {bound:.3} ({method}).\n\
         (\n    about: \"binjiang plan: {agency} posts for on site within {t:.0} s\",\n    units: (\n        remove: [{removed}],\n        add: [\n{scenario_adds}        ],\n    ),\n)\n",
        agency = agency.key(),
        t = args.target_s,
        from = args.model.as_ref().map_or("the catalogue's rates".to_owned(), |m| m.display().to_string()),
        removed = removed.join(", "),
    );
    let dir = scene.dir.join(binjiang_whatif::scenario::SCENARIOS_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{}.ron", args.name));
    // The overlay must load as any scenario does before it is kept.
    if let Err(problems) = binjiang_whatif::scenario::from_text(
        &scene,
        &catalogue,
        &args.name,
        &path.display().to_string(),
        &scenario,
        binjiang_sim::SimOptions::default(),
    ) {
        anyhow::bail!("the plan's scenario does not load (a bug):\n{problems}");
    }
    std::fs::write(&path, &scenario).with_context(|| format!("cannot write {}", path.display()))?;
    let verify = match args.verify {
        Some(seeds) => Some(verify(args, &scene, agency, seeds)?),
        None => None,
    };
    let out = json!({
        "agency": agency.key(),
        "units": n,
        "objective": format!("on site within {:.0} s", args.target_s),
        "busy": round(busy, 3),
        "expected": {"before": round(before, 3), "after": round(after, 3), "bound": round(bound, 3)},
        "gap": round(if bound > 0.0 { (bound - after) / bound } else { 0.0 }, 3),
        "solver": method,
        "scenario": path.display().to_string(),
        "posts": posts,
        "verify": verify,
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "{n} {} unit(s): expected covered demand {:.3} → {:.3} (bound {:.3}, {method}); scenario {}",
            agency.key(),
            before,
            after,
            bound,
            path.display()
        );
        if let Some(v) = &out["verify"].as_object() {
            println!(
                "verified on paired seeds: {} on site ≤ 3 min {} → {} (difference {}, 95 % CI {})",
                agency.key(),
                v["base"],
                v["plan"],
                v["diff"],
                v["ci95"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The units grouped by shift and mode (a bike keeps its speed); `n` units share the
/// groups in the scene's order of the agency's units (cycling when `n` is larger).
fn groups(scene: &Scene, own: &[usize], n: usize) -> Vec<Group> {
    let mut by_shift: BTreeMap<(u32, u32, &str), Group> = BTreeMap::new();
    for k in 0..n.max(own.len()) {
        let u = &scene.units[own[k % own.len()]];
        let key = (u.shift.start_s, u.shift.end_s, u.mode.key());
        let g = by_shift.entry(key).or_insert_with(|| Group {
            shift: u.shift,
            shift_text: format!(
                "{:02}:{:02}-{:02}:{:02}",
                u.shift.start_s / 3600,
                u.shift.start_s % 3600 / 60,
                u.shift.end_s / 3600 % 24,
                u.shift.end_s % 3600 / 60
            ),
            mode: u.mode,
            current: Vec::new(),
            units: 0,
        });
        if k < own.len() {
            g.current.push(own[k]);
        }
        if k < n {
            g.units += 1;
        }
    }
    by_shift.into_values().filter(|g| g.units > 0).collect()
}

/// Expected incidents per cell in a week's hours of `shift`, of the types the agency
/// serves (`types`, each with its cell shares): from the learned model where given, else
/// from the catalogue.
fn demand_of(
    catalogue: &IncidentCatalogue,
    types: &[(usize, Vec<f64>)],
    model: Option<&binjiang_learn::forecast::Forecaster>,
    shift: &Shift,
) -> Vec<f64> {
    let hours: Vec<u32> = (0..binjiang_learn::WEEK_H as u32)
        .filter(|h| shift.on_duty((h % 24) * 3600 + 1800))
        .collect();
    let Some(f) = model else {
        return catalogue.expected_by_cell(types, 0, &hours);
    };
    let mut demand = vec![0.0; f.cells.len()];
    for (key, rates, shares) in &f.types {
        if !types.iter().any(|(t, _)| &catalogue.types[*t].key == key) {
            continue;
        }
        let rate: f64 = hours.iter().map(|h| rates[*h as usize]).sum();
        for (d, s) in demand.iter_mut().zip(shares) {
            *d += rate * s;
        }
    }
    demand
}

/// The share of its duty time a unit of the agency is busy: a day's work (each incident's
/// typical on-scene time plus the target's travel) over the units' duty seconds, at most
/// 0.95.
fn busy_share(
    catalogue: &IncidentCatalogue,
    types: &[(usize, Vec<f64>)],
    scene: &Scene,
    own: &[usize],
    target_s: f64,
) -> f64 {
    let work: f64 = types
        .iter()
        .map(|(t, _)| {
            let ty = &catalogue.types[*t];
            let (a, m, b) = ty.on_scene_min;
            ty.per_day * ((a + m + b) / 3.0 * 60.0 + target_s)
        })
        .sum();
    let duty: f64 = own
        .iter()
        .map(|&u| {
            let s = scene.units[u].shift;
            f64::from((s.end_s + 86_400 - s.start_s) % 86_400).max(3600.0)
        })
        .sum();
    (work / duty.max(1.0)).clamp(0.0, 0.95)
}

/// The index of the point nearest `p`.
fn nearest(points: &[Coord], p: Coord) -> usize {
    (0..points.len())
        .min_by(|a, b| {
            let d = |i: usize| (points[i].x - p.x).powi(2) + (points[i].y - p.y).powi(2);
            d(*a).total_cmp(&d(*b))
        })
        .unwrap_or(0)
}

/// Runs `whatif baseline <name>` on `seeds` paired seeds and reads the agency's on-site ≤ 3
/// min share from its report.
fn verify(args: &Args, scene: &Scene, agency: Agency, seeds: u64) -> anyhow::Result<Value> {
    let out = scene
        .dir
        .join(binjiang_whatif::scenario::SCENARIOS_DIR)
        .join(format!("{}.report", args.name));
    let whatif = super::whatif::Args {
        search: None,
        scene: Some(args.scene.clone()),
        base: "baseline".into(),
        alts: vec![args.name.clone()],
        seeds,
        hours: 24.0,
        out: Some(out.clone()),
        workers: None,
        quiet: true,
    };
    let code = super::whatif::run(&whatif)?;
    if code != ExitCode::SUCCESS {
        anyhow::bail!("the verification's what-if failed");
    }
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json"))
            .with_context(|| format!("cannot read {}", out.join("report.json").display()))?,
    )?;
    let scope = format!("agency:{}", agency.key());
    let d = report["differences"]
        .as_array()
        .and_then(|ds| {
            ds.iter()
                .find(|d| d["kpi"] == "on_site_3min_share" && d["scope"] == scope.as_str())
        })
        .cloned()
        .unwrap_or(Value::Null);
    let r = |v: &Value| v.as_f64().map(|x| round(x, 3));
    Ok(json!({
        "kpi": format!("on_site_3min_share ({scope})"),
        "seeds": seeds,
        "base": r(&d["base_mean"]),
        "plan": r(&d["alt_mean"]),
        "diff": r(&d["diff_mean"]),
        "ci95": d["ci95"].as_array().map(|a| a.iter().map(r).collect::<Vec<_>>()),
        "report": out.display().to_string(),
    }))
}
