//! Paired runs: every arm (the base scenario and each alternative) runs the same seeds, so on
//! each seed the arms see the same base day (common random numbers: the same incidents at
//! the same places and times with the same on-scene times, except what a scenario adds or
//! removes). Per KPI, for each alternative: the mean of each arm, and the mean of the per-seed
//! differences (alternative − base) with its 95 % confidence interval (Student's t over the
//! seeds). A verdict is given only where the interval excludes zero.

use crate::Scenario;
use binjiang_scene::Agency;
use binjiang_sim::coverage::PatrolCoverageKpi;
use binjiang_sim::{IncidentSource, Metrics, SimOptions, Simulation, UnitStatus, What};
use foldhash::{HashMap, HashMapExt};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why a comparison could not run.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A scenario's simulation could not be set up (e.g. a unit with no road home).
    #[error("scenario \"{scenario}\": {message}")]
    Setup {
        /// The scenario.
        scenario: String,
        /// Why.
        message: String,
    },
    /// Fewer than two seeds: no interval.
    #[error("at least 2 seeds are needed for a confidence interval (got {0})")]
    TooFewSeeds(u64),
}

/// How KPIs read a run; `None` where a figure is undefined on that seed (e.g. a percentile
/// over no incidents).
type Read = Box<dyn Fn(&Run) -> Option<f64> + Send + Sync>;

/// A KPI: its name, where it applies, whether higher is better, and how to read it.
pub struct Kpi {
    /// e.g. `on_site_3min_share` (the names of docs/kpis.md).
    pub name: String,
    /// `all`, `agency:<key>` or `subdistrict:<code>`.
    pub scope: String,
    /// Higher is better (shares) or worse (seconds, counts).
    pub higher_is_better: bool,
    read: Read,
}

impl Kpi {
    /// Its value in a run.
    pub fn value(&self, run: &Run) -> Option<f64> {
        (self.read)(run)
    }
}

/// The KPIs compared: the grid's, then per agency, then per subdistrict, then per hour from
/// the start (`hours` of them): the on-site ≤ 3 min share of the incidents reported in that
/// hour and the units busy at its end.
pub fn kpis(subdistricts: &[String], hours: usize) -> Vec<Kpi> {
    let mut out: Vec<Kpi> = Vec::new();
    let mut add = |name: &str, scope: String, better: bool, read: Read| {
        out.push(Kpi {
            name: name.into(),
            scope,
            higher_is_better: better,
            read,
        })
    };
    add(
        "on_site_3min_share",
        "all".into(),
        true,
        Box::new(|r| r.metrics.all.on_site_3min_share),
    );
    add(
        "response_p50_s",
        "all".into(),
        false,
        Box::new(|r| r.metrics.all.response_s.p50),
    );
    add(
        "response_p90_s",
        "all".into(),
        false,
        Box::new(|r| r.metrics.all.response_s.p90),
    );
    add(
        "cleaned_10min_share",
        "all".into(),
        true,
        Box::new(|r| r.metrics.all.cleaned_10min_share),
    );
    add(
        "in_the_bud_share",
        "all".into(),
        true,
        Box::new(|r| r.metrics.all.in_the_bud_share),
    );
    add(
        "incidents",
        "all".into(),
        false,
        Box::new(|r| Some(r.metrics.all.incidents as f64)),
    );
    add(
        "open_at_end",
        "all".into(),
        false,
        Box::new(|r| Some(r.metrics.all.open_at_end as f64)),
    );
    add(
        "max_queue",
        "all".into(),
        false,
        Box::new(|r| Some(r.metrics.max_queue as f64)),
    );
    add(
        "hot_cells_unvisited_2h_share",
        "all".into(),
        false,
        Box::new(|r| r.patrol.unvisited_share),
    );
    for a in Agency::ALL {
        let key = a.key();
        add(
            "on_site_3min_share",
            format!("agency:{key}"),
            true,
            Box::new(move |r| r.metrics.per_agency.get(key)?.on_site_3min_share),
        );
        add(
            "response_p90_s",
            format!("agency:{key}"),
            false,
            Box::new(move |r| r.metrics.per_agency.get(key)?.response_s.p90),
        );
        add(
            "utilisation",
            format!("agency:{key}"),
            false,
            Box::new(move |r| r.metrics.per_agency.get(key).map(|x| x.utilisation)),
        );
    }
    for code in subdistricts {
        let c = code.clone();
        add(
            "on_site_3min_share",
            format!("subdistrict:{code}"),
            true,
            Box::new(move |r| r.metrics.per_subdistrict.get(&c)?.on_site_3min_share),
        );
    }
    for h in 0..hours {
        add(
            "on_site_3min_share",
            format!("hour:{h:02}"),
            true,
            Box::new(move |r| {
                let of_hour: Vec<&IncidentOutcome> =
                    r.incidents.iter().filter(|i| i.hour == Some(h)).collect();
                (!of_hour.is_empty()).then(|| {
                    of_hour
                        .iter()
                        .filter(|i| {
                            i.response_s
                                .is_some_and(|t| t <= binjiang_sim::metrics::ON_SITE_S)
                        })
                        .count() as f64
                        / of_hour.len() as f64
                })
            }),
        );
        add(
            "busy_units",
            format!("hour:{h:02}"),
            false,
            Box::new(move |r| r.hourly.get(h).map(|x| x.busy.iter().sum::<usize>() as f64)),
        );
    }
    out
}

/// One arm's run on one seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// Index of the arm (0: base).
    pub arm: usize,
    /// Seed.
    pub seed: u64,
    /// Its figures.
    pub metrics: Metrics,
    /// Its incidents, one by one (for the ECDF and the before/after scatter).
    pub incidents: Vec<IncidentOutcome>,
    /// Per hour from the start, per agency (in [`Agency::ALL`] order).
    pub hourly: Vec<HourSample>,
    /// Hot cells left without a patrol for over two hours (issue 19).
    #[serde(default)]
    pub patrol: binjiang_sim::coverage::PatrolCoverageKpi,
}

/// What names the same incident in every arm of a seed: milliseconds arisen, type, and x, y
/// rounded to a metre.
pub type IncidentKey = (u64, String, i64, i64);

/// One reported incident of a run. On common random numbers the same base incident has the
/// same `key` in every arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentOutcome {
    /// The same incident across arms.
    pub key: IncidentKey,
    /// Its grid cell's id, if on the grid.
    pub cell: Option<String>,
    /// The hour from the run's start it was reported in.
    pub hour: Option<usize>,
    /// Report → every required agency on site, seconds; `None`: not reached in the run.
    pub response_s: Option<f64>,
}

/// The district at the end of an hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HourSample {
    /// Incident parts reported during the hour, per agency.
    pub reported: [usize; 6],
    /// Parts waiting for a unit at the end of the hour, per agency.
    pub queued: [usize; 6],
    /// Units en route or on scene at the end of the hour, per agency.
    pub busy: [usize; 6],
}

/// One KPI of one alternative against the base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The alternative.
    pub alt: String,
    /// KPI name.
    pub kpi: String,
    /// Scope (`all`, `agency:<key>`, `subdistrict:<code>`).
    pub scope: String,
    /// Seeds on which both arms had the figure.
    pub n: usize,
    /// Mean in the base arm over those seeds.
    pub base_mean: Option<f64>,
    /// Mean in the alternative over those seeds.
    pub alt_mean: Option<f64>,
    /// Mean of (alternative − base).
    pub diff_mean: Option<f64>,
    /// 95 % confidence interval of the mean difference.
    pub ci95: Option<(f64, f64)>,
    /// In words, only where the interval excludes zero.
    pub verdict: Option<String>,
}

/// Runs every arm on seeds `1..=seeds` for `hours` from the scenarios' start, on all cores;
/// `progress(done, total)` is called after each run. An alternative that differs from the base
/// only from some hour on (a typhoon's window, a festival evening's surge) continues the base
/// run of its seed from just before then, instead of simulating the same hours again: the
/// runs are exactly what separate runs give (see [`Simulation::diverge`]).
pub fn run(
    arms: &[Scenario],
    seeds: u64,
    hours: f64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Run>, CompareError> {
    run_sharing(arms, seeds, hours, progress, true)
}

/// What a worker does: one arm on one seed, or the base arm on one seed with the
/// alternatives that continue it.
#[derive(Clone, Copy)]
enum Job {
    Arm(usize, u64),
    Shared(u64),
}

/// [`run`], sharing the base run's hours with the alternatives that allow it only if `share`.
fn run_sharing(
    arms: &[Scenario],
    seeds: u64,
    hours: f64,
    progress: &(dyn Fn(usize, usize) + Sync),
    share: bool,
) -> Result<Vec<Run>, CompareError> {
    if seeds < 2 {
        return Err(CompareError::TooFewSeeds(seeds));
    }
    // When each alternative first differs from the base, for those that continue its runs.
    let mut continuing: Vec<(f64, usize)> = (1..arms.len())
        .filter(|_| share)
        .filter_map(|k| Some((divergence(&arms[0], &arms[k], hours)?, k)))
        .collect();
    continuing.sort_by(|a, b| a.0.total_cmp(&b.0));
    let jobs: Vec<Job> = (1..=seeds)
        .flat_map(|s| {
            // The base arm runs inside the shared job when there is one.
            let own = (0..arms.len())
                .filter(|a| *a > 0 || continuing.is_empty())
                .filter(|a| !continuing.iter().any(|(_, k)| k == a))
                .map(move |a| Job::Arm(a, s));
            let shared = (!continuing.is_empty()).then_some(Job::Shared(s));
            shared.into_iter().chain(own)
        })
        .collect();
    let total = seeds as usize * arms.len();
    let done = AtomicUsize::new(0);
    let days: Vec<Vec<ArmDay>> = jobs
        .par_iter()
        .map(|job| {
            let days = match *job {
                Job::Arm(arm, seed) => day(&arms[arm], seed, hours)
                    .map(|d| vec![(arm, seed, d)])
                    .map_err(|m| (arm, m)),
                Job::Shared(seed) => shared_days(arms, &continuing, seed, hours),
            }
            .map_err(|(arm, message)| CompareError::Setup {
                scenario: arms[arm].name.clone(),
                message,
            })?;
            for _ in &days {
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            }
            Ok(days)
        })
        .collect::<Result<_, CompareError>>()?;
    let mut runs: Vec<Run> = days
        .into_iter()
        .flatten()
        .map(|(arm, seed, day)| Run::of_day(arm, seed, day))
        .collect();
    runs.sort_by_key(|r| (r.seed, r.arm));
    Ok(runs)
}

/// An arm's day on a seed: (arm, seed, day).
type ArmDay = (usize, u64, Day);

/// The base arm's day on `seed`, and the day of each alternative in `continuing` (by the time
/// it first differs, earliest first) continued from it; an alternative that cannot continue
/// it after all runs on its own.
fn shared_days(
    arms: &[Scenario],
    continuing: &[(f64, usize)],
    seed: u64,
    hours: f64,
) -> Result<Vec<ArmDay>, (usize, String)> {
    let mut base = ArmRun::new(&arms[0], seed, hours).map_err(|m| (0, m))?;
    let mut days = Vec::with_capacity(continuing.len() + 1);
    for &(from, k) in continuing {
        // Up to the last sample before the alternative differs.
        while base.next_t().is_some_and(|t| t < from - 0.001) {
            base.step();
        }
        let day = match base.diverge(&arms[k]) {
            Some(mut alt) => {
                while alt.step() {}
                alt.finish()
            }
            None => day(&arms[k], seed, hours).map_err(|m| (k, m))?,
        };
        days.push((k, seed, day));
    }
    while base.step() {}
    days.push((0, seed, base.finish()));
    Ok(days)
}

/// When `alt` first differs from `base` (the start of its first network change's window, or
/// of the hour its first surge starts in, whichever comes first), if it differs from it by
/// those alone and only after its first sample; `None` otherwise.
fn divergence(base: &Scenario, alt: &Scenario, hours: f64) -> Option<f64> {
    let start = base.options.start_s;
    let mut plain_alt = alt.catalogue.clone();
    plain_alt.surges.clear();
    let same_otherwise = base.network.is_empty()
        && base.catalogue.surges.is_empty()
        && base.recorded.is_none()
        && alt.recorded.is_none()
        && base.move_up.is_none()
        && alt.move_up.is_none()
        && base.options == alt.options
        && base.scene.units == alt.scene.units
        && plain_alt == base.catalogue;
    if !same_otherwise {
        return None;
    }
    // The first time at or after the start that `window` opens, if not open at the start.
    let first_opening = |window: Option<(f64, f64)>| -> Option<f64> {
        let (from, _) = window?;
        if binjiang_sim::in_daily_window(window, start) {
            return None;
        }
        Some(binjiang_sim::next_window_start(from, start))
    };
    let mut first = f64::INFINITY;
    for change in &alt.network {
        first = first.min(first_opening(change.window)?);
    }
    for surge in &alt.catalogue.surges {
        // A surge's incidents are drawn with their hour's, at the hour's start.
        first = first.min((first_opening(surge.window)? / 3600.0).floor() * 3600.0);
    }
    (first > start + binjiang_sim::coverage::SAMPLE_S && first < start + hours * 3600.0)
        .then_some(first)
}

/// Arm `arm` (`scenario`) on one seed, as [`run`] runs it: for workers on other machines.
pub fn run_one(scenario: &Scenario, arm: usize, seed: u64, hours: f64) -> Result<Run, String> {
    Ok(Run::of_day(arm, seed, day(scenario, seed, hours)?))
}

impl Run {
    /// Arm `arm`'s run on `seed`, from its day.
    fn of_day(arm: usize, seed: u64, (metrics, incidents, hourly, patrol): Day) -> Run {
        Run {
            arm,
            seed,
            metrics,
            incidents,
            hourly,
            patrol,
        }
    }
}

/// A day's figures, incidents, hours and patrol coverage.
type Day = (
    Metrics,
    Vec<IncidentOutcome>,
    Vec<HourSample>,
    PatrolCoverageKpi,
);

/// One arm's day on one seed: its figures, incidents and hours.
fn day(scenario: &Scenario, seed: u64, hours: f64) -> Result<Day, String> {
    let mut run = ArmRun::new(scenario, seed, hours)?;
    while run.step() {}
    Ok(run.finish())
}

/// One arm's run on one seed as it goes: its simulation, patrol coverage and hours, sampled
/// every two minutes.
struct ArmRun {
    sim: Simulation,
    coverage: binjiang_sim::coverage::PatrolCoverage,
    hourly: Vec<HourSample>,
    /// Simulated to here (a sample time).
    t: f64,
    /// The end of the hour being sampled.
    hour_end: f64,
    start: f64,
    end: f64,
}

impl ArmRun {
    fn new(scenario: &Scenario, seed: u64, hours: f64) -> Result<Self, String> {
        let options = SimOptions {
            seed,
            ..scenario.options
        };
        let start = options.start_s;
        let policy = options.policy.build(scenario.catalogue.dispatch.clone());
        let source = match &scenario.recorded {
            Some(list) => IncidentSource::Recorded(std::sync::Arc::clone(list)),
            None => IncidentSource::Generated,
        };
        let mut sim = Simulation::with_prepared_roads(
            &scenario.scene,
            scenario.catalogue.clone(),
            options,
            policy,
            source,
            scenario.prepared_roads(),
        )
        .map_err(|e| e.to_string())?;
        if let Some(monitor) = &scenario.move_up {
            sim.set_move_up(std::sync::Arc::clone(monitor));
        }
        let end = start + hours * 3600.0;
        Ok(ArmRun {
            sim,
            coverage: scenario.patrol_coverage(),
            hourly: Vec::new(),
            t: start,
            hour_end: (start + 3600.0).min(end),
            start,
            end,
        })
    }

    /// The time the next step simulates to, if any is left.
    fn next_t(&self) -> Option<f64> {
        (self.t < self.end).then(|| (self.t + binjiang_sim::coverage::SAMPLE_S).min(self.hour_end))
    }

    /// Simulates to the next sample (the units' paths, sampled every two minutes, for patrol
    /// coverage), and closes the hour if it ends there. Whether there was a step left.
    fn step(&mut self) -> bool {
        let Some(t) = self.next_t() else {
            return false;
        };
        self.t = t;
        self.sim.advance_to(t);
        self.coverage.observe_run(t, &self.sim);
        if t >= self.hour_end {
            let agency_index = |a: Agency| Agency::ALL.iter().position(|x| *x == a).unwrap_or(0);
            let mut h = HourSample::default();
            for (a, n) in self.sim.queue_lengths() {
                h.queued[agency_index(a)] = n;
            }
            for (agency, status) in self.sim.unit_statuses() {
                if matches!(status, UnitStatus::EnRoute | UnitStatus::OnScene) {
                    h.busy[agency_index(agency)] += 1;
                }
            }
            self.hourly.push(h);
            self.hour_end = (t + 3600.0).min(self.end);
        }
        true
    }

    /// This run from now on as `alt`'s arm on the same seed, exactly as that arm's own run
    /// would be now; `None` where that cannot be shown (see [`Simulation::diverge`]).
    fn diverge(&self, alt: &Scenario) -> Option<ArmRun> {
        let options = SimOptions {
            seed: self.sim.options().seed,
            ..alt.options
        };
        let sim = self
            .sim
            .diverge(&alt.catalogue, &options, alt.prepared_roads())?;
        let coverage = self.coverage.continue_as(&alt.patrol_coverage())?;
        Some(ArmRun {
            sim,
            coverage,
            hourly: self.hourly.clone(),
            ..*self
        })
    }

    /// The day's figures, incidents, hours and patrol coverage.
    fn finish(self) -> Day {
        let ArmRun {
            sim,
            coverage,
            mut hourly,
            start,
            end,
            ..
        } = self;
        let agency_index = |a: Agency| Agency::ALL.iter().position(|x| *x == a).unwrap_or(0);
        let events = sim.events();
        type Arising = (IncidentKey, Vec<Agency>, Option<String>);
        let mut arose: HashMap<u32, Arising> = HashMap::new();
        let mut reported: HashMap<u32, f64> = HashMap::new();
        let mut arrived: HashMap<u32, HashMap<Agency, f64>> = HashMap::new();
        for e in events {
            match &e.what {
                What::Arose {
                    incident,
                    incident_type,
                    agencies,
                    cell,
                    ..
                } => {
                    let key = (
                        (e.t * 1000.0).round() as u64,
                        incident_type.to_string(),
                        e.x.round() as i64,
                        e.y.round() as i64,
                    );
                    arose.insert(
                        *incident,
                        (key, agencies.clone(), cell.as_ref().map(|c| c.to_string())),
                    );
                }
                What::Reported { incident, .. } => {
                    reported.insert(*incident, e.t);
                    let hour = ((e.t - start) / 3600.0).floor().max(0.0) as usize;
                    if let (Some(h), Some((_, agencies, _))) =
                        (hourly.get_mut(hour), arose.get(incident))
                    {
                        for a in agencies {
                            h.reported[agency_index(*a)] += 1;
                        }
                    }
                }
                What::Arrived {
                    incident, agency, ..
                } => {
                    arrived
                        .entry(*incident)
                        .or_default()
                        .entry(*agency)
                        .or_insert(e.t);
                }
                _ => {}
            }
        }
        let mut incidents: Vec<IncidentOutcome> = reported
            .iter()
            .filter_map(|(id, at)| {
                let (key, agencies, cell) = arose.get(id)?;
                let response_s = arrived
                    .get(id)
                    .filter(|a| agencies.iter().all(|x| a.contains_key(x)))
                    .and_then(|a| a.values().copied().reduce(f64::max))
                    .map(|last| last - at);
                Some(IncidentOutcome {
                    key: key.clone(),
                    cell: cell.clone(),
                    hour: Some(((at - start) / 3600.0).floor().max(0.0) as usize),
                    response_s,
                })
            })
            .collect();
        incidents.sort_by(|a, b| a.key.cmp(&b.key));
        (
            binjiang_sim::metrics_of(events, sim.catalogue(), end),
            incidents,
            hourly,
            coverage.kpi(),
        )
    }
}

/// The paired differences of every KPI, for every alternative (arms 1…) against the base.
pub fn differences(arms: &[Scenario], runs: &[Run], kpis: &[Kpi]) -> Vec<Difference> {
    let mut out = Vec::new();
    for (alt, scenario) in arms.iter().enumerate().skip(1) {
        for k in kpis {
            let pairs: Vec<(f64, f64)> = runs
                .iter()
                .filter(|r| r.arm == 0)
                .filter_map(|b| {
                    let a = runs.iter().find(|r| r.arm == alt && r.seed == b.seed)?;
                    Some(((k.read)(b)?, (k.read)(a)?))
                })
                .collect();
            out.push(paired(&scenario.name, k, &pairs));
        }
    }
    out
}

/// The mean of `values` and the half-width of its Student's t interval at `quantile` (0.975
/// for a two-sided 95 % interval, 0.95 for a one-sided 95 % bound); `None` under 2 values.
pub fn mean_and_half_width(values: &[f64], quantile: f64) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .ok()?
        .inverse_cdf(quantile);
    Some((mean, t * (var / n as f64).sqrt()))
}

/// Means, mean difference and its 95 % interval over `pairs` of (base, alternative).
fn paired(alt: &str, k: &Kpi, pairs: &[(f64, f64)]) -> Difference {
    let n = pairs.len();
    let mean = |f: &dyn Fn(&(f64, f64)) -> f64| {
        (n > 0).then(|| pairs.iter().map(f).sum::<f64>() / n as f64)
    };
    let (base_mean, alt_mean) = (mean(&|p| p.0), mean(&|p| p.1));
    let diff_mean = mean(&|p| p.1 - p.0);
    let diffs: Vec<f64> = pairs.iter().map(|p| p.1 - p.0).collect();
    let ci95 = mean_and_half_width(&diffs, 0.975).map(|(dm, half)| (dm - half, dm + half));
    let verdict = ci95.and_then(|(lo, hi)| {
        let up = if lo > 0.0 {
            true
        } else if hi < 0.0 {
            false
        } else {
            return None;
        };
        let better = up == k.higher_is_better;
        Some(format!(
            "{} {} {} under \"{alt}\" ({})",
            k.name,
            if k.scope == "all" {
                String::new()
            } else {
                format!("({})", k.scope)
            },
            if up { "rises" } else { "falls" },
            if better { "better" } else { "worse" }
        ))
        .map(|s| s.replace("  ", " "))
    });
    Difference {
        alt: alt.to_owned(),
        kpi: k.name.clone(),
        scope: k.scope.clone(),
        n,
        base_mean,
        alt_mean,
        diff_mean,
        ci95,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kpi() -> Kpi {
        Kpi {
            name: "on_site_3min_share".into(),
            scope: "all".into(),
            higher_is_better: true,
            read: Box::new(|r| r.metrics.all.on_site_3min_share),
        }
    }

    #[test]
    fn the_interval_matches_a_hand_computed_paired_t() {
        // Differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t(2, 0.975) = 4.302653.
        let pairs = [(0.5, 0.6), (0.5, 0.7), (0.4, 0.7)];
        let d = paired("more-cleaners", &kpi(), &pairs);
        let (lo, hi) = d.ci95.unwrap();
        let half = 4.302_652_729_749_464 * 0.1 / 3f64.sqrt();
        assert!((lo - (0.2 - half)).abs() < 1e-9 && (hi - (0.2 + half)).abs() < 1e-9);
        assert_eq!(d.n, 3);
        assert!(
            d.verdict.is_none(),
            "the interval [{lo:.3}, {hi:.3}] includes zero: no verdict"
        );
        let tight = [(0.5, 0.7), (0.5, 0.71), (0.5, 0.69), (0.5, 0.7)];
        let d = paired("more-cleaners", &kpi(), &tight);
        assert_eq!(
            d.verdict.as_deref(),
            Some("on_site_3min_share rises under \"more-cleaners\" (better)")
        );
    }

    /// The shortcut changes nothing: with the base run's hours shared by the alternatives
    /// that allow it, every run of every arm is the run it is alone, for the shipped Yangpu
    /// scenario that shares (typhoon) and those that cannot (another grid, more units), in
    /// one comparison.
    #[test]
    fn sharing_the_base_runs_hours_gives_the_same_runs() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenes/yangpu-riverfront");
        let scene = binjiang_scene::Scene::load(&dir).unwrap();
        let catalogue =
            binjiang_sim::IncidentCatalogue::load(&dir.join(binjiang_sim::CATALOGUE_FILE), &scene)
                .unwrap()
                .0;
        let arms: Vec<Scenario> = [
            "baseline",
            "typhoon",
            "separate-grids",
            "national-day-evening",
        ]
        .iter()
        .map(|n| crate::scenario::load(&scene, &catalogue, n, SimOptions::default()).unwrap())
        .collect();
        assert_eq!(divergence(&arms[0], &arms[1], 24.0), Some(14.0 * 3600.0));
        assert_eq!(
            divergence(&arms[0], &arms[2], 24.0),
            None,
            "another grid: from the start"
        );
        assert_eq!(
            divergence(&arms[0], &arms[3], 24.0),
            None,
            "more units: from the start"
        );
        // The typhoon's runs continue the base runs (not run alone after all).
        let mut base = ArmRun::new(&arms[0], 1, 24.0).unwrap();
        while base.next_t().is_some_and(|t| t < 14.0 * 3600.0 - 0.001) {
            base.step();
        }
        assert!(base.diverge(&arms[1]).is_some());
        let quiet = |_: usize, _: usize| {};
        let shared = run_sharing(&arms, 3, 24.0, &quiet, true).unwrap();
        let alone = run_sharing(&arms, 3, 24.0, &quiet, false).unwrap();
        assert_eq!(shared.len(), 12);
        assert_eq!(
            serde_json::to_string(&shared).unwrap(),
            serde_json::to_string(&alone).unwrap()
        );
    }
}
