//! "How many cleaners do we need so that 95 % of litter is cleaned within 10 minutes?" The
//! smallest number of units of one agency whose KPI meets a target with 95 % confidence
//! (one-sided bound over the seeds), found by a galloping then bisecting search over the
//! count (the KPI is taken to improve with more units), with every count it tried.
//!
//! Units are added as copies of the agency's own units in turn (same home, loop, mode and
//! shift), and removed from the end of the scene's list: the district's layout is kept.

use crate::compare::{self, CompareError, Kpi};
use crate::Scenario;
use binjiang_scene::Agency;
use serde::Serialize;

/// A target: `<kpi>[@<scope>] >= <value>` or `<=`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffingTarget {
    /// KPI name (docs/kpis.md).
    pub kpi: String,
    /// `all`, `agency:<key>` or `subdistrict:<code>`.
    pub scope: String,
    /// `true` for `>=`, `false` for `<=`.
    pub at_least: bool,
    /// The bound.
    pub value: f64,
}

impl std::str::FromStr for StaffingTarget {
    type Err = String;

    /// Parses `cleaned_10min_share >= 0.95` or `response_p90_s@agency:police <= 180`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (lhs, at_least, rhs) = if let Some((l, r)) = text.split_once(">=") {
            (l, true, r)
        } else if let Some((l, r)) = text.split_once("<=") {
            (l, false, r)
        } else {
            return Err(format!(
                "target \"{text}\": expected \"<kpi>[@<scope>] >= <value>\" or \"<=\""
            ));
        };
        let (kpi, scope) = match lhs.trim().split_once('@') {
            Some((k, s)) => (k.trim(), s.trim()),
            None => (lhs.trim(), "all"),
        };
        let value: f64 = rhs
            .trim()
            .parse()
            .map_err(|_| format!("target \"{text}\": \"{}\" is not a number", rhs.trim()))?;
        if kpi.is_empty() || !value.is_finite() {
            return Err(format!("target \"{text}\": name a KPI and a finite value"));
        }
        Ok(StaffingTarget {
            kpi: kpi.to_owned(),
            scope: scope.to_owned(),
            at_least,
            value,
        })
    }
}

/// One count tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffingPoint {
    /// Units of the agency.
    pub units: usize,
    /// Seeds on which the KPI was defined.
    pub n: usize,
    /// Mean over the seeds.
    pub mean: Option<f64>,
    /// One-sided 95 % bound on the mean in the target's direction (lower for `>=`).
    pub bound95: Option<f64>,
    /// Whether the bound meets the target.
    pub meets: bool,
}

/// The answer and the curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staffing {
    /// The agency.
    pub agency: Agency,
    /// Its units today (in the scenario).
    pub today: usize,
    /// The target.
    pub target: StaffingTarget,
    /// The smallest count meeting it, if any up to the maximum.
    pub answer: Option<usize>,
    /// Every count tried, by count.
    pub curve: Vec<StaffingPoint>,
}

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum StaffingError {
    /// The target names no KPI the comparison knows.
    #[error("unknown KPI \"{0}\" (known: {1})")]
    UnknownKpi(String, String),
    /// The agency has no unit to copy.
    #[error("the scenario has no {0} unit to copy")]
    NoUnits(&'static str),
    /// A run failed.
    #[error(transparent)]
    Runs(#[from] CompareError),
}

/// `scenario` with exactly `count` units of `agency`.
pub fn with_units(scenario: &Scenario, agency: Agency, count: usize) -> Scenario {
    let mut s = scenario.clone();
    let own: Vec<binjiang_scene::Unit> = s
        .scene
        .units
        .iter()
        .filter(|u| u.agency == agency)
        .cloned()
        .collect();
    let mut have = own.len();
    while have > count {
        if let Some(i) = s.scene.units.iter().rposition(|u| u.agency == agency) {
            s.scene.units.remove(i);
        }
        have -= 1;
    }
    let mut k = 0;
    while have < count && !own.is_empty() {
        let mut u = own[k % own.len()].clone();
        u.id = format!("{}-staffing-{}", agency.key(), k + 1);
        s.scene.units.push(u);
        k += 1;
        have += 1;
    }
    s.name = format!("{} with {count} {}", scenario.name, agency.key());
    s
}

/// Searches counts 1..=`max` of `agency` for the smallest meeting `target`.
pub fn search(
    scenario: &Scenario,
    agency: Agency,
    target: &StaffingTarget,
    max: usize,
    seeds: u64,
    hours: f64,
) -> Result<Staffing, StaffingError> {
    let codes: Vec<String> = scenario
        .scene
        .grid
        .parts
        .iter()
        .map(|p| p.code.clone())
        .collect();
    let kpis = compare::kpis(&codes, hours.ceil() as usize);
    let Some(kpi) = kpis
        .iter()
        .find(|k| k.name == target.kpi && k.scope == target.scope)
    else {
        let mut known: Vec<String> = kpis
            .iter()
            .map(|k| format!("{}@{}", k.name, k.scope))
            .collect();
        known.dedup();
        return Err(StaffingError::UnknownKpi(
            format!("{}@{}", target.kpi, target.scope),
            known.join(", "),
        ));
    };
    let today = scenario
        .scene
        .units
        .iter()
        .filter(|u| u.agency == agency)
        .count();
    if today == 0 {
        return Err(StaffingError::NoUnits(agency.key()));
    }
    let max = max.max(1);
    let mut curve: Vec<StaffingPoint> = Vec::new();
    let try_count = |n: usize, curve: &mut Vec<StaffingPoint>| -> Result<bool, StaffingError> {
        if let Some(p) = curve.iter().find(|p| p.units == n) {
            return Ok(p.meets);
        }
        let p = point(
            &with_units(scenario, agency, n),
            n,
            kpi,
            target,
            seeds,
            hours,
        )?;
        let meets = p.meets;
        curve.push(p);
        Ok(meets)
    };
    // Bracket the answer: today's count, doubling up while it falls short; then bisect
    // between the largest count known short (`lo`, 0 at first) and the smallest known to meet.
    let mut lo = 0usize;
    let mut n = today.clamp(1, max);
    let mut hi = loop {
        if try_count(n, &mut curve)? {
            break Some(n);
        }
        lo = n;
        if n == max {
            break None;
        }
        n = (n * 2).min(max);
    };
    if let Some(h) = hi.as_mut() {
        while *h - lo > 1 {
            let mid = lo + (*h - lo) / 2;
            if try_count(mid, &mut curve)? {
                *h = mid;
            } else {
                lo = mid;
            }
        }
    }
    curve.sort_by_key(|p| p.units);
    Ok(Staffing {
        agency,
        today,
        target: target.clone(),
        answer: hi,
        curve,
    })
}

/// The KPI over the seeds with `n` units, and whether its one-sided bound meets the target.
fn point(
    scenario: &Scenario,
    n: usize,
    kpi: &Kpi,
    target: &StaffingTarget,
    seeds: u64,
    hours: f64,
) -> Result<StaffingPoint, StaffingError> {
    let runs = compare::run(std::slice::from_ref(scenario), seeds, hours, &|_, _| {})?;
    let values: Vec<f64> = runs.iter().filter_map(|r| kpi.value(r)).collect();
    let count = values.len();
    let mean = (count > 0).then(|| values.iter().sum::<f64>() / count as f64);
    let bound95 = compare::mean_and_half_width(&values, 0.95).map(|(m, half)| {
        if target.at_least {
            m - half
        } else {
            m + half
        }
    });
    let meets = bound95.is_some_and(|b| {
        if target.at_least {
            b >= target.value
        } else {
            b <= target.value
        }
    });
    Ok(StaffingPoint {
        units: n,
        n: count,
        mean,
        bound95,
        meets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_why() {
        let t: StaffingTarget = "cleaned_10min_share >= 0.95".parse().unwrap();
        assert_eq!(
            (t.kpi.as_str(), t.scope.as_str(), t.at_least, t.value),
            ("cleaned_10min_share", "all", true, 0.95)
        );
        let t: StaffingTarget = "response_p90_s@agency:police <= 180".parse().unwrap();
        assert_eq!((t.scope.as_str(), t.at_least), ("agency:police", false));
        assert!("cleaned > 0.9".parse::<StaffingTarget>().is_err());
        assert!("cleaned >= lots"
            .parse::<StaffingTarget>()
            .unwrap_err()
            .contains("not a number"));
    }
}
