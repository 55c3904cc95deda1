//! Dispatch policies: which unit may serve which incident, and which of them goes.
//!
//! A policy decides *eligibility* (may a unit of this subdistrict serve an incident in that
//! one at all) and *ranking* (given a unit's road travel time, how good a choice is it). The
//! dispatcher finds the best-ranked unit exactly, by road, whatever the policy.
//!
//! Both built-in policies read per-agency [`AgencyRule`]s, data in the catalogue's `dispatch`
//! section (documented in `docs/dispatch.md`):
//! - `merged-grid`, today's Yangpu: one grid, pooled forces. A unit of the incident's own
//!   subdistrict goes when it can arrive within the agency's `zone_first_s`; otherwise the
//!   fastest unit from anywhere (the joint command's "zone first, pool when faster").
//! - `separate-grids`, the world before the merge: a unit serves only the subdistrict its home
//!   base lies in.
//!
//! In both, no unit is sent beyond the agency's `max_travel_s`: the part waits, flagged, for a
//! unit to come free or closer.

use binjiang_scene::Agency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How one agency's units are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyRule {
    /// Under `merged-grid`: a unit of the incident's own subdistrict is preferred when it can
    /// arrive within this many seconds; otherwise the fastest from anywhere. `None`: always
    /// the fastest.
    #[serde(default)]
    pub zone_first_s: Option<f64>,
    /// No unit is sent that needs longer than this, seconds: the part queues, flagged
    /// `beyond_max_travel`, until one is closer. `None`: no limit.
    #[serde(default)]
    pub max_travel_s: Option<f64>,
}

/// The rules of every agency (agencies not named get no preference and no limit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DispatchRules(pub BTreeMap<Agency, AgencyRule>);

impl Default for DispatchRules {
    /// The defaults argued for in `docs/dispatch.md`: response agencies always send the
    /// fastest unit and never refuse; foot-heavy agencies keep their own zone's unit when it
    /// can make the 3-minute (security, urban management, cleaning) or 5-minute (property,
    /// market supervision) mark, and send nobody who would need more than 15–30 minutes.
    fn default() -> Self {
        let rule = |zone: f64, max: f64| AgencyRule {
            zone_first_s: Some(zone),
            max_travel_s: Some(max),
        };
        DispatchRules(BTreeMap::from([
            (Agency::Police, AgencyRule::default()),
            (Agency::Security, rule(180.0, 900.0)),
            (Agency::UrbanManagement, rule(180.0, 1200.0)),
            (Agency::Cleaning, rule(180.0, 900.0)),
            (Agency::Property, rule(300.0, 1200.0)),
            (Agency::MarketSupervision, rule(300.0, 1800.0)),
        ]))
    }
}

impl DispatchRules {
    /// No preference and no limit for anyone: the fastest unit always goes.
    pub fn fastest_always() -> Self {
        DispatchRules(BTreeMap::new())
    }

    /// The rule of `agency`.
    pub fn of(&self, agency: Agency) -> AgencyRule {
        self.0.get(&agency).copied().unwrap_or_default()
    }
}

/// How good a choice a unit is: lower is better, compared tier first, then travel time.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rank {
    /// Preference class (0 best), e.g. "own zone within reach" before "anywhere".
    pub tier: u8,
    /// Road travel time, seconds.
    pub travel_s: f64,
}

/// Decides eligibility and ranking. Implement it for a new what-if policy.
pub trait DispatchPolicy: Send + Sync + std::fmt::Debug {
    /// The policy's name, for reports.
    fn name(&self) -> &'static str;

    /// Whether a unit of `agency` based in `unit_area` may serve an incident in
    /// `incident_area` at all (areas are subdistrict indices).
    fn eligible(&self, agency: Agency, unit_area: u16, incident_area: u16) -> bool;

    /// Whether a unit of `agency` may serve outside its home subdistrict at all: when not,
    /// searches need not look at other subdistricts' work.
    fn serves_beyond_home(&self, _agency: Agency) -> bool {
        true
    }

    /// The rank of sending such a unit with road time `travel_s`; `None`: never.
    fn rank(&self, agency: Agency, in_zone: bool, travel_s: f64) -> Option<Rank>;

    /// The best rank any unit could still get if it needs at least `travel_s`, in or out of
    /// the zone; `None` when no such unit could be sent. The exact search stops when this is
    /// no better than the best found.
    fn best_possible(&self, agency: Agency, travel_s: f64) -> Option<Rank>;
}

/// The built-in policies, by name (the command line's `--policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// One grid, pooled forces, zone first with overflow.
    #[default]
    MergedGrid,
    /// Each agency's units stay in their home subdistrict.
    SeparateGrids,
}

impl PolicyKind {
    /// Every built-in policy.
    pub const ALL: [PolicyKind; 2] = [PolicyKind::MergedGrid, PolicyKind::SeparateGrids];

    /// The policy's name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::MergedGrid => "merged-grid",
            PolicyKind::SeparateGrids => "separate-grids",
        }
    }

    /// The policy with `rules`.
    pub fn build(self, rules: DispatchRules) -> std::sync::Arc<dyn DispatchPolicy> {
        match self {
            PolicyKind::MergedGrid => std::sync::Arc::new(MergedDispatch { rules }),
            PolicyKind::SeparateGrids => std::sync::Arc::new(SeparateDispatch { rules }),
        }
    }
}

impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PolicyKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PolicyKind::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = PolicyKind::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown dispatch policy \"{s}\" (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// `merged-grid`: any unit serves the whole grid, zone first with overflow.
#[derive(Debug, Clone)]
pub struct MergedDispatch {
    /// Per-agency rules.
    pub rules: DispatchRules,
}

impl DispatchPolicy for MergedDispatch {
    fn name(&self) -> &'static str {
        PolicyKind::MergedGrid.name()
    }

    fn eligible(&self, _: Agency, _: u16, _: u16) -> bool {
        true
    }

    fn rank(&self, agency: Agency, in_zone: bool, travel_s: f64) -> Option<Rank> {
        let rule = self.rules.of(agency);
        if rule.max_travel_s.is_some_and(|m| travel_s > m) {
            return None;
        }
        let tier = match rule.zone_first_s {
            Some(z) if !(in_zone && travel_s <= z) => 1,
            _ => 0,
        };
        Some(Rank { tier, travel_s })
    }

    fn best_possible(&self, agency: Agency, travel_s: f64) -> Option<Rank> {
        self.rank(agency, true, travel_s)
    }
}

/// `separate-grids`: a unit serves only its home subdistrict.
#[derive(Debug, Clone)]
pub struct SeparateDispatch {
    /// Per-agency rules (only the travel limit applies).
    pub rules: DispatchRules,
}

impl DispatchPolicy for SeparateDispatch {
    fn name(&self) -> &'static str {
        PolicyKind::SeparateGrids.name()
    }

    fn eligible(&self, _: Agency, unit_area: u16, incident_area: u16) -> bool {
        unit_area == incident_area
    }

    fn serves_beyond_home(&self, _: Agency) -> bool {
        false
    }

    fn rank(&self, agency: Agency, _: bool, travel_s: f64) -> Option<Rank> {
        let limit = self.rules.of(agency).max_travel_s;
        (!limit.is_some_and(|m| travel_s > m)).then_some(Rank { tier: 0, travel_s })
    }

    fn best_possible(&self, agency: Agency, travel_s: f64) -> Option<Rank> {
        self.rank(agency, true, travel_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_first_prefers_the_own_zone_only_within_reach() {
        let p = MergedDispatch {
            rules: DispatchRules::default(),
        };
        let a = Agency::Cleaning; // zone first within 180 s, never beyond 900 s
        let own = p.rank(a, true, 170.0).unwrap();
        let other = p.rank(a, false, 60.0).unwrap();
        assert!(own < other, "own zone within 5 min beats a faster outsider");
        assert!(p.rank(a, false, 60.0).unwrap() < p.rank(a, true, 400.0).unwrap());
        assert_eq!(p.rank(a, true, 901.0), None);
        assert_eq!(p.best_possible(a, 901.0), None);
        // Police always send the fastest, however far.
        assert!(p.rank(Agency::Police, false, 10.0) < p.rank(Agency::Police, true, 11.0));
        assert!(p.rank(Agency::Police, true, 5000.0).is_some());
    }

    #[test]
    fn best_possible_bounds_every_rank_at_or_beyond_it() {
        let p = MergedDispatch {
            rules: DispatchRules::default(),
        };
        for agency in Agency::ALL {
            for lb in [0.0, 100.0, 299.0, 301.0, 899.0, 2000.0] {
                for t in [lb, lb + 1.0, lb + 500.0] {
                    for zone in [true, false] {
                        if let Some(r) = p.rank(*agency, zone, t) {
                            assert!(p.best_possible(*agency, lb).is_some_and(|b| b <= r));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn policy_names_parse_back() {
        for p in PolicyKind::ALL {
            assert_eq!(p.name().parse::<PolicyKind>(), Ok(p));
        }
        assert!("nope"
            .parse::<PolicyKind>()
            .unwrap_err()
            .contains("merged-grid"));
    }
}
