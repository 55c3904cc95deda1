//! `binjiang plan <scene> --agency <key> [--units N] [--scenario <base>] [--model <learn dir>]
//! [--objective on-site-3min|cleaned-10min|detection] [--shifts] --name <planned> [--verify N]
//! [--json]`: where each of an agency's units should stand so that the demand it must reach
//! within the target is covered, counting that a unit is busy part of the time (MEXCLP,
//! crates/binjiang-plan), per shift, and with `--shifts` when each shift should start;
//! written as an ordinary what-if overlay that carries the base scenario's other changes and,
//! with `--verify`, checked by `whatif` on paired seeds (issue 19).

use super::{load_scene_and_catalogue, round, INVALID};
use anyhow::Context;
use binjiang_plan::shifts::{solve_shifts, ShiftInstance};
use binjiang_plan::{greedy_curve, solve, Instance, Method};
use binjiang_scene::{Agency, Mode, Scene, Shift};
use binjiang_sim::{IncidentCatalogue, Reach, Router, Source};
use binjiang_whatif::scenario::{AddUnits, ScenarioFile};
use geo::Coord;
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
    /// How many units (default: as many as the base has; more or fewer take the agency's
    /// shifts in turn).
    #[arg(long)]
    pub units: Option<usize>,
    /// Plan on this scenario of the scene (`scenarios/<name>.ron`) instead of the scene as it
    /// is: its units, rates and rules; the plan carries its other changes.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Demand from a learned model (`binjiang learn --out`), else the catalogue's rates.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// What the posts should reach: every incident on site within the target
    /// (`on-site-3min`), street litter cleaned within 10 minutes (`cleaned-10min`: travel
    /// within 10 minutes less the typical clean-up), or incidents only a patrol finds
    /// (`detection`: loops through the busiest cells each post reaches).
    #[arg(long, value_enum, default_value_t = Objective::OnSite3min)]
    pub objective: Objective,
    /// Also choose when each unit's shift starts (whole hours, each unit keeping its shift's
    /// length) so that staffing follows the demand's hours.
    #[arg(long)]
    pub shifts: bool,
    /// The target: road seconds from a post to the incident (default 180; with
    /// `cleaned-10min`, 600 less the agency's typical clean-up time).
    #[arg(long)]
    pub target_s: Option<f64>,
    /// The scenario written: `<scene>/scenarios/<name>.ron`.
    #[arg(long)]
    pub name: String,
    /// Run `whatif` base against the plan on this many paired seeds (report in
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

/// What the plan maximises.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Expected demand on site within the target (the control room's 3 minutes).
    #[value(name = "on-site-3min")]
    OnSite3min,
    /// Expected street litter cleaned within 10 minutes of the report.
    #[value(name = "cleaned-10min")]
    Cleaned10min,
    /// Expected patrol-found incidents within reach of a post and on its loop.
    Detection,
}

impl Objective {
    fn key(self) -> &'static str {
        match self {
            Objective::OnSite3min => "on-site-3min",
            Objective::Cleaned10min => "cleaned-10min",
            Objective::Detection => "detection",
        }
    }
}

/// For a mode and a demand per cell, the cells with demand each cell's centre reaches.
type CoversOf<'a> = dyn Fn(Mode, &[f64]) -> Vec<Vec<usize>> + 'a;

/// Cells a detection loop passes through besides its post (the busiest it reaches).
const DETECTION_STOPS: usize = 6;

/// One group of units that are on duty together.
struct Group {
    shift: Shift,
    shift_text: String,
    mode: Mode,
    /// The base's units of the group's shift and mode (where they stand today), by index:
    /// what the "before" is measured from (empty for a planned shift no unit works today).
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
    if let Some(t) = args.target_s {
        if !(t.is_finite() && t > 0.0) {
            bail_usage!("--target-s {t} must be a positive number");
        }
    }
    if args.name.is_empty()
        || !args
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail_usage!("--name \"{}\": letters, digits, - and _ only", args.name);
    }
    if args.scenario.as_deref() == Some(args.name.as_str()) {
        bail_usage!(
            "--name \"{}\" would overwrite the base scenario: choose another name",
            args.name
        );
    }
    let (scene, catalogue) = match load_scene_and_catalogue(&args.scene)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    // The base: the scene as it is, or a scenario of it (its units, rates and rules).
    let (base, base_spec) = match &args.scenario {
        None => (
            binjiang_whatif::scenario::Scenario::plain(
                &scene,
                &catalogue,
                binjiang_sim::SimOptions::default(),
            ),
            ScenarioFile::default(),
        ),
        Some(name) => {
            let path = binjiang_whatif::scenario::path_of(&scene.dir, name);
            if !path.is_file() {
                eprintln!(
                    "--scenario {name}: no {} (the scene's scenarios: {})",
                    path.display(),
                    binjiang_whatif::scenario::list(&scene.dir).join(", ")
                );
                return Ok(ExitCode::from(INVALID));
            }
            let loaded = match binjiang_whatif::scenario::load(
                &scene,
                &catalogue,
                name,
                binjiang_sim::SimOptions::default(),
            ) {
                Ok(s) => s,
                Err(problems) => {
                    eprint!("{problems}");
                    return Ok(ExitCode::from(INVALID));
                }
            };
            let spec = binjiang_whatif::scenario::parse(&loaded.text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            (loaded, spec)
        }
    };
    let (plan_scene, plan_catalogue) = (&base.scene, &base.catalogue);
    let own: Vec<usize> = (0..plan_scene.units.len())
        .filter(|&u| plan_scene.units[u].agency == agency)
        .collect();
    if own.is_empty() {
        eprintln!(
            "{}: the {} has no {} units",
            args.scene.display(),
            args.scenario
                .as_ref()
                .map_or("scene".to_owned(), |s| format!("scenario \"{s}\"")),
            agency.key()
        );
        return Ok(ExitCode::from(INVALID));
    }
    let n = args.units.unwrap_or(own.len());
    if n == 0 {
        bail_usage!("--units must be at least 1");
    }
    let serves = |t: usize| plan_catalogue.types[t].agencies.contains(&agency);
    let all_types: Vec<(usize, Vec<f64>)> = (0..plan_catalogue.types.len())
        .filter(|&t| serves(t))
        .map(|t| (t, plan_catalogue.cell_shares(t, plan_scene)))
        .collect();
    let types: Vec<(usize, Vec<f64>)> = all_types
        .iter()
        .filter(|(t, _)| {
            let ty = &plan_catalogue.types[*t];
            match args.objective {
                Objective::OnSite3min => true,
                Objective::Cleaned10min => ty.street_cleaning,
                Objective::Detection => ty.source == Source::Patrol,
            }
        })
        .cloned()
        .collect();
    if types.is_empty() {
        eprintln!(
            "--objective {}: {} serves no incident type it applies to ({})",
            args.objective.key(),
            agency.key(),
            match args.objective {
                Objective::Cleaned10min => "street cleaning types",
                _ => "types found on patrol",
            }
        );
        return Ok(ExitCode::from(INVALID));
    }
    let target_s = match (args.target_s, args.objective) {
        (Some(t), _) => t,
        (None, Objective::Cleaned10min) => cleaning_travel_s(plan_catalogue, &types),
        (None, _) => 180.0,
    };
    let model = match &args.model {
        Some(dir) => Some(super::forecast::load_model(dir, plan_scene)?.0),
        None => None,
    };
    let mut router = Router::of_scene(plan_scene);
    let centres: Vec<Coord> = plan_scene.grid.cells.iter().map(|c| c.centre()).collect();
    // The busy share counts all the agency's work, whatever the objective.
    let busy = busy_share(plan_catalogue, &all_types, plan_scene, &own, target_s);
    let modes: Vec<Mode> = own.iter().map(|&u| plan_scene.units[u].mode).collect();
    let reach = Reach::of_scene(plan_scene, &mut router, target_s, &modes);
    let covers_of = |mode: Mode, demand: &[f64]| -> Vec<Vec<usize>> {
        (0..centres.len())
            .map(|c| {
                reach
                    .cells_from(mode, c)
                    .into_iter()
                    .filter(|&i| demand[i] > 0.0)
                    .collect()
            })
            .collect()
    };
    // Units to place: each takes the mode and shift of the base's units in turn; with
    // --shifts, the shifts' starts are planned.
    let mut planned: Vec<(Shift, Mode)> = (0..n)
        .map(|k| {
            let u = &plan_scene.units[own[k % own.len()]];
            (u.shift, u.mode)
        })
        .collect();
    let mut shift_plan = Value::Null;
    if args.shifts {
        shift_plan = plan_shifts(
            &mut planned,
            plan_catalogue,
            &types,
            model.as_ref(),
            busy,
            &|mode, demand| covers_of(mode, demand),
            args.time_limit_s,
        )?;
    }
    let planned_groups = groups(plan_scene, &own, &planned);
    // Where the base's units stand today, in their own shifts: the "before".
    let today: Vec<(Shift, Mode)> = own
        .iter()
        .map(|&u| (plan_scene.units[u].shift, plan_scene.units[u].mode))
        .collect();
    let (mut before_sum, mut before_weight) = (0.0, 0.0);
    let mut standing: Vec<(Shift, Mode, Vec<usize>)> = Vec::new();
    for g in groups(plan_scene, &own, &today) {
        let demand = demand_of(plan_catalogue, &types, model.as_ref(), &g.shift);
        let total: f64 = demand.iter().sum();
        let instance = Instance {
            covers: covers_of(g.mode, &demand),
            fixed: fixed_of(&standing, g.shift, &reach, centres.len()),
            demand,
            units: g.units,
            busy,
        };
        let now: Vec<usize> = g
            .current
            .iter()
            .map(|&u| nearest(&centres, plan_scene.units[u].home))
            .collect();
        before_sum += instance.expected(&now) * total;
        before_weight += total;
        standing.push((g.shift, g.mode, now));
    }
    let mut placed: Vec<(Shift, Mode, Vec<usize>)> = Vec::new();
    let mut posts: Vec<Value> = Vec::new();
    let (mut after_sum, mut bound_sum, mut weight) = (0.0, 0.0, 0.0);
    let mut methods = Vec::new();
    let mut adds: Vec<AddUnits> = Vec::new();
    let mut loops_cells = vec![false; centres.len()];
    for g in &planned_groups {
        let demand = demand_of(plan_catalogue, &types, model.as_ref(), &g.shift);
        let total: f64 = demand.iter().sum();
        // Units of shifts placed before that are on duty for most of this one's hours count
        // as standing where they were put.
        let instance = Instance {
            covers: covers_of(g.mode, &demand),
            fixed: fixed_of(&placed, g.shift, &reach, centres.len()),
            demand: demand.clone(),
            units: g.units,
            busy,
        };
        let plan = solve(&instance, args.time_limit_s).map_err(anyhow::Error::msg)?;
        placed.push((g.shift, g.mode, plan.posts.clone()));
        after_sum += plan.expected * total;
        bound_sum += plan.bound * total;
        weight += total;
        methods.push(plan.method);
        for &j in &plan.posts {
            // The loop: from the post through the busiest other cells it reaches (one; three
            // for detection, in order round the post), and back.
            let stops = if args.objective == Objective::Detection {
                DETECTION_STOPS
            } else {
                1
            };
            let mut through: Vec<usize> = instance.covers[j]
                .iter()
                .copied()
                .filter(|&i| i != j)
                .collect();
            through.sort_by(|a, b| demand[*b].total_cmp(&demand[*a]).then(a.cmp(b)));
            through.truncate(stops);
            let (cj, angle) = (centres[j], |i: &usize| {
                (centres[*i].y - centres[j].y).atan2(centres[*i].x - centres[j].x)
            });
            through.sort_by(|a, b| angle(a).total_cmp(&angle(b)));
            let stops_at: Vec<Coord> = std::iter::once(cj)
                .chain(through.iter().map(|i| centres[*i]))
                .chain(std::iter::once(cj))
                .collect();
            let mut loop_m = 0.0;
            for w in stops_at.windows(2) {
                if let Some(route) = router.route(g.mode, w[0], w[1]) {
                    loop_m += route.duration() * g.mode.speed_mps();
                    mark_cells(plan_scene, &route, &mut loops_cells);
                }
            }
            let (lon, lat) = plan_scene.frame.to_wgs84(cj);
            posts.push(
                json!({"unit": posts.len() + 1, "lon": round(lon, 7), "lat": round(lat, 7),
                              "loop_m": loop_m.round(), "shift": g.shift_text}),
            );
            let ll = |c: Coord| {
                let (lon, lat) = plan_scene.frame.to_wgs84(c);
                (round(lon, 7), round(lat, 7))
            };
            adds.push(AddUnits {
                agency: agency.key().into(),
                mode: g.mode.key().into(),
                count: 1,
                like: None,
                home_in: None,
                patrol_along: Vec::new(),
                home_at: Some(ll(cj)),
                patrol_through: stops_at[..stops_at.len() - 1]
                    .iter()
                    .map(|c| ll(*c))
                    .collect(),
                shift: Some(g.shift_text.clone()),
            });
        }
    }
    // Each a share of the demand in the hours its units work (with --shifts the hours
    // differ; `shifts` gives the week's totals).
    let share = |v: f64, w: f64| if w > 0.0 { v / w } else { 0.0 };
    let (before, after, bound) = (
        share(before_sum, before_weight),
        share(after_sum, weight),
        share(bound_sum, weight),
    );
    let method = if methods.iter().all(|m| *m == Method::Mip) {
        "mip"
    } else {
        "heuristic"
    };
    let detections = (args.objective == Objective::Detection).then(|| {
        let week = demand_of(
            plan_catalogue,
            &types,
            model.as_ref(),
            &Shift::parse("00:00-24:00").expect("a shift"),
        );
        let total: f64 = week.iter().sum();
        let mut current = vec![false; centres.len()];
        for &u in &own {
            let unit = &plan_scene.units[u];
            let pts: Vec<Coord> = unit
                .patrol
                .iter()
                .copied()
                .chain(unit.patrol.first().copied())
                .collect();
            for w in pts.windows(2) {
                if let Some(route) = router.route(unit.mode, w[0], w[1]) {
                    mark_cells(plan_scene, &route, &mut current);
                }
            }
        }
        let on = |cells: &[bool]| {
            round(
                week.iter()
                    .zip(cells)
                    .filter(|(_, c)| **c)
                    .map(|(d, _)| d)
                    .sum::<f64>()
                    / total.max(1e-12),
                3,
            )
        };
        json!({"before": on(&current), "after": on(&loops_cells)})
    });
    let spec = planned_scenario(&scene, agency, &base_spec, adds);
    let header = format!(
        "// Written by binjiang plan: {n} {agency} unit(s) placed for {objective} (travel within {t:.0} s by road; \
         maximum expected covering location, busy share {busy:.2}){shifts}; demand from {from}; base: {base}.\n\
         // Expected covered demand {before:.3} before, {after:.3} after, bound {bound:.3} ({method}).\n",
        agency = agency.key(),
        objective = args.objective.key(),
        t = target_s,
        shifts = if args.shifts { ", shifts planned" } else { "" },
        from = args.model.as_ref().map_or("the catalogue's rates".to_owned(), |m| m.display().to_string()),
        base = args.scenario.as_deref().unwrap_or("the scene as it is"),
    );
    let scenario = header + &binjiang_whatif::scenario::to_text(&spec)? + "\n";
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
        anyhow::bail!("the plan's scenario does not load (a bug):\n{problems}\n{scenario}");
    }
    std::fs::write(&path, &scenario).with_context(|| format!("cannot write {}", path.display()))?;
    let verify = match args.verify {
        Some(seeds) => Some(verify(args, &scene, agency, seeds)?),
        None => None,
    };
    let out = json!({
        "agency": agency.key(),
        "units": n,
        "objective": args.objective.key(),
        "target_s": target_s.round(),
        "base": args.scenario.as_deref().unwrap_or("baseline"),
        "busy": round(busy, 3),
        "expected": {"before": round(before, 3), "after": round(after, 3), "bound": round(bound, 3),
                     "of": "the demand in the hours each shift works"},
        "gap": round(if bound > 0.0 { (bound - after) / bound } else { 0.0 }, 3),
        "solver": method,
        "shifts": shift_plan,
        "detections": detections,
        "scenario": path.display().to_string(),
        "posts": posts,
        "verify": verify,
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "{n} {} unit(s), {}: expected covered demand {:.3} → {:.3} (bound {:.3}, {method}); scenario {}",
            agency.key(),
            args.objective.key(),
            before,
            after,
            bound,
            path.display()
        );
        if let Some(v) = &out["verify"].as_object() {
            println!(
                "verified on paired seeds: {} {} → {} (difference {}, 95 % CI {})",
                v["kpi"], v["base"], v["plan"], v["diff"], v["ci95"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The base's changes with the agency's staffing replaced by the plan's: its units in the
/// scene removed (those the base has not removed already), the base's additions, removals
/// by count and shift changes for the agency dropped, the planned units added.
fn planned_scenario(
    scene: &Scene,
    agency: Agency,
    base: &ScenarioFile,
    adds: Vec<AddUnits>,
) -> ScenarioFile {
    let mut spec = base.clone();
    let key = agency.key();
    let of_agency = |id: &str| scene.units.iter().any(|u| u.id == id && u.agency == agency);
    spec.about = format!(
        "binjiang plan: {key} posts{}",
        if base.about.is_empty() {
            String::new()
        } else {
            format!(" over \"{}\"", base.about)
        }
    );
    spec.units.add.retain(|a| a.agency != key);
    spec.units.remove_count.retain(|r| r.agency != key);
    spec.units
        .shifts
        .retain(|s| s.agency.as_deref() != Some(key) && !s.unit.as_deref().is_some_and(of_agency));
    for u in scene.units.iter().filter(|u| u.agency == agency) {
        if !spec.units.remove.contains(&u.id) {
            spec.units.remove.push(u.id.clone());
        }
    }
    spec.units.add.extend(adds);
    spec
}

/// Per cell, how many units of the shifts `placed` reach it that are on duty for at least
/// half of `shift`'s hours.
fn fixed_of(
    placed: &[(Shift, Mode, Vec<usize>)],
    shift: Shift,
    reach: &Reach,
    cells: usize,
) -> Vec<usize> {
    let quarters =
        |s: Shift| -> Vec<bool> { (0..96u32).map(|q| s.on_duty(q * 900 + 450)).collect() };
    let mine = quarters(shift);
    let length = mine.iter().filter(|q| **q).count();
    let mut fixed = vec![0usize; cells];
    for (s, mode, posts) in placed {
        let together = quarters(*s)
            .iter()
            .zip(&mine)
            .filter(|(a, b)| **a && **b)
            .count();
        if 2 * together < length {
            continue;
        }
        for &j in posts {
            for i in reach.cells_from(*mode, j) {
                fixed[i] += 1;
            }
        }
    }
    fixed
}

/// Marks the cells a route passes through (its vertices and the straight runs between them,
/// in half-cell steps).
fn mark_cells(scene: &Scene, route: &binjiang_sim::route::Route, cells: &mut [bool]) {
    let step = scene.grid.cell_size_m / 2.0;
    let pts: Vec<Coord> = route.vertices().map(|(p, _)| p).collect();
    for w in pts.windows(2) {
        let (dx, dy) = (w[1].x - w[0].x, w[1].y - w[0].y);
        let k = ((dx.hypot(dy) / step).ceil() as usize).max(1);
        for s in 0..=k {
            let f = s as f64 / k as f64;
            if let Some(c) = scene.grid.cell_at(Coord {
                x: w[0].x + f * dx,
                y: w[0].y + f * dy,
            }) {
                cells[c] = true;
            }
        }
    }
}

/// Seconds of travel that leave time to clean up within 10 minutes: 600 less the typical
/// (most likely) on-scene time of the street-cleaning types, weighted by their rates; at
/// least a minute.
fn cleaning_travel_s(catalogue: &IncidentCatalogue, types: &[(usize, Vec<f64>)]) -> f64 {
    let (mut w, mut sum) = (0.0, 0.0);
    for (t, _) in types {
        let ty = &catalogue.types[*t];
        w += ty.per_day;
        sum += ty.per_day * ty.on_scene_min.1 * 60.0;
    }
    let on_scene = if w > 0.0 { sum / w } else { 0.0 };
    (binjiang_sim::Target::Cleaned.within_s() - on_scene).max(60.0)
}

/// Plans the shifts' starts of `planned` (each unit keeping its shift's length and mode):
/// hour h of the day is worth its expected demand times the expected covered share with n
/// units of a mode on duty (greedy placement, nested), each mode on its own. Returns what
/// the JSON says of it.
fn plan_shifts(
    planned: &mut [(Shift, Mode)],
    catalogue: &IncidentCatalogue,
    types: &[(usize, Vec<f64>)],
    model: Option<&binjiang_learn::forecast::Forecaster>,
    busy: f64,
    covers_of: &CoversOf,
    time_limit_s: f64,
) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    let modes: std::collections::BTreeSet<Mode> = planned.iter().map(|(_, m)| *m).collect();
    for mode in modes {
        let members: Vec<usize> = (0..planned.len())
            .filter(|k| planned[*k].1 == mode)
            .collect();
        let lengths: Vec<u32> = members
            .iter()
            .map(|k| {
                let s = planned[*k].0;
                let len = (s.end_s + 86_400 - s.start_s) % 86_400;
                (if len == 0 { 24 } else { len.div_ceil(3600) }).clamp(1, 24)
            })
            .collect();
        let value: Vec<Vec<f64>> = (0..24u32)
            .map(|h| {
                let hour = Shift {
                    start_s: h * 3600,
                    end_s: (h + 1) * 3600,
                };
                let demand = demand_of(catalogue, types, model, &hour);
                let total: f64 = demand.iter().sum();
                let instance = Instance {
                    covers: covers_of(mode, &demand),
                    demand,
                    units: members.len(),
                    busy,
                    fixed: Vec::new(),
                };
                greedy_curve(&instance).iter().map(|e| e * total).collect()
            })
            .collect();
        let instance = ShiftInstance {
            value,
            lengths: lengths.clone(),
        };
        let before: Vec<u32> = members
            .iter()
            .map(|k| planned[*k].0.start_s / 3600)
            .collect();
        let plan = solve_shifts(&instance, time_limit_s).map_err(anyhow::Error::msg)?;
        for (k, (start, len)) in members.iter().zip(plan.starts.iter().zip(&lengths)) {
            planned[*k].0 = if *len >= 24 {
                planned[*k].0
            } else {
                Shift {
                    start_s: start * 3600,
                    end_s: ((start + len) % 24) * 3600,
                }
            };
        }
        let on_duty = |starts: &[u32]| instance.on_duty(starts).to_vec();
        out.insert(
            mode.key().into(),
            json!({
                "expected_covered_per_week": {"before": round(instance.total(&before) , 2), "after": round(plan.value, 2)},
                "on_duty_by_hour": {"before": on_duty(&before), "after": on_duty(&plan.starts)},
                "solver": if plan.method == Method::Mip { "mip" } else { "heuristic" },
            }),
        );
    }
    let sum = |k: &str| -> f64 {
        out.values()
            .map(|v| v["expected_covered_per_week"][k].as_f64().unwrap_or(0.0))
            .sum()
    };
    let (before, after) = (sum("before"), sum("after"));
    out.insert(
        "expected_covered_per_week".into(),
        json!({"before": round(before, 2), "after": round(after, 2),
               "of": "incidents a week within the target of a free unit, each mode placed on its own and the modes summed"}),
    );
    Ok(Value::Object(out))
}

/// The planned units grouped by shift and mode (a bike keeps its speed), each group with the
/// base's units of that shift and mode (where they stand today).
fn groups(scene: &Scene, own: &[usize], planned: &[(Shift, Mode)]) -> Vec<Group> {
    let text = |s: Shift| {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            s.start_s / 3600,
            s.start_s % 3600 / 60,
            s.end_s / 3600 % 24,
            s.end_s % 3600 / 60
        )
    };
    let mut by_shift: BTreeMap<(u32, u32, &str), Group> = BTreeMap::new();
    for (shift, mode) in planned {
        by_shift
            .entry((shift.start_s, shift.end_s, mode.key()))
            .or_insert_with(|| Group {
                shift: *shift,
                shift_text: text(*shift),
                mode: *mode,
                current: Vec::new(),
                units: 0,
            })
            .units += 1;
    }
    for &u in own {
        let unit = &scene.units[u];
        if let Some(g) = by_shift.get_mut(&(unit.shift.start_s, unit.shift.end_s, unit.mode.key()))
        {
            g.current.push(u);
        }
    }
    by_shift.into_values().collect()
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
        base: args.scenario.clone().unwrap_or_else(|| "baseline".into()),
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
    // The KPI the objective aims at: the agency's on-site share, or litter cleaned within
    // 10 minutes (a district-wide KPI: cleaning is the only agency that cleans).
    let (kpi, scope) = match args.objective {
        Objective::Cleaned10min => ("cleaned_10min_share", "all".to_owned()),
        _ => ("on_site_3min_share", format!("agency:{}", agency.key())),
    };
    let d = report["differences"]
        .as_array()
        .and_then(|ds| {
            ds.iter()
                .find(|d| d["kpi"] == kpi && d["scope"] == scope.as_str())
        })
        .cloned()
        .unwrap_or(Value::Null);
    let r = |v: &Value| v.as_f64().map(|x| round(x, 3));
    Ok(json!({
        "kpi": format!("{kpi} ({scope})"),
        "seeds": seeds,
        "base": r(&d["base_mean"]),
        "plan": r(&d["alt_mean"]),
        "diff": r(&d["diff_mean"]),
        "ci95": d["ci95"].as_array().map(|a| a.iter().map(r).collect::<Vec<_>>()),
        "report": out.display().to_string(),
    }))
}
