//! Incident types as data: what can happen, where, how often, and who must go.
//!
//! A scene ships `incident_types.ron`; a what-if scenario can swap it. Nothing about a
//! particular incident type is written in code.

use crate::policy::DispatchRules;
use binjiang_scene::{Agency, AssetKind, Location, Problem, Problems, Scene};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Priorities run from 1 (urgent) to this (routine): a type's `priority` is checked against
/// it here, and the dispatch core keeps one queue per priority.
pub const PRIORITIES: u8 = 4;

pub use binjiang_protocol::words::Source;

/// Where incidents of a type arise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Origin {
    /// At a random asset of this kind (bins overflow at bins).
    Asset(String),
    /// Within a radius (metres) of a random asset of this kind (vending near piers).
    NearAsset(String, f64),
    /// Within a radius (metres) of a random landmark building (crowds, lost children).
    NearLandmark(f64),
    /// Anywhere in the grid, cells weighted by their area (hotline complaints).
    AnyCell,
    /// In the grid's cells by id, each with its weight (a density learned from a district's
    /// records by `binjiang learn`): a uniform point in a cell drawn by weight.
    Cells(std::collections::BTreeMap<String, f64>),
}

/// A duration distribution fitted to a district's records (`binjiang learn`), in place of
/// the triangular guess or the uniform range an estimated catalogue gives.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Fitted {
    /// ln of the duration is normal: its median (exp μ) and σ.
    LogNormal {
        /// The median, in the field's unit.
        median: f64,
        /// The standard deviation of the log.
        sigma: f64,
    },
    /// Gamma with this shape and mean.
    Gamma {
        /// Shape k.
        shape: f64,
        /// Mean k·θ, in the field's unit.
        mean: f64,
    },
}

impl Fitted {
    /// Whether its parameters make a distribution (all positive and finite).
    pub fn is_valid(&self) -> bool {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        match *self {
            Fitted::LogNormal { median, sigma } => ok(median) && ok(sigma),
            Fitted::Gamma { shape, mean } => ok(shape) && ok(mean),
        }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut impl rand::Rng) -> f64 {
        use rand_distr::Distribution;
        match *self {
            Fitted::LogNormal { median, sigma } => {
                rand_distr::LogNormal::new(median.ln(), sigma).map_or(median, |d| d.sample(rng))
            }
            Fitted::Gamma { shape, mean } => {
                rand_distr::Gamma::new(shape, mean / shape).map_or(mean, |d| d.sample(rng))
            }
        }
    }
}

/// Hours in a week: an hour-of-week profile has this many weights, Monday 00:00 first.
pub const WEEK_HOURS: usize = 168;

/// One kind of incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentType {
    /// Stable key, e.g. `bin_overflow`.
    pub key: String,
    /// Human name.
    pub name: String,
    /// Agencies that must each send a unit ("one ticket however many agencies").
    pub agencies: Vec<Agency>,
    /// 1 = urgent … 4 = routine; lower is served first.
    pub priority: u8,
    /// Minutes a unit spends on scene: triangular (min, mode, max).
    pub on_scene_min: (f64, f64, f64),
    /// Where incidents arise.
    pub origin: Origin,
    /// How they are reported.
    pub source: Source,
    /// Expected incidents per day.
    pub per_day: f64,
    /// Relative weight of each hour of the day (24 values).
    pub profile: Vec<f64>,
    /// Counts towards the "street litter handled within 10 minutes" benchmark.
    #[serde(default)]
    pub street_cleaning: bool,
    /// Minutes after which an unclosed incident is escalated (not handled "in the bud").
    #[serde(default)]
    pub escalate_after_min: Option<f64>,
    /// Relative weight of each hour of the week (168 values, Monday 00:00 first), learned
    /// from records: where given, it replaces `profile` and the run's weekday matters
    /// (`SimOptions::weekday`); `per_day` stays the mean over the week's days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub week_profile: Option<Vec<f64>>,
    /// On-scene minutes fitted to records, in place of the triangular `on_scene_min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_scene_fit_min: Option<Fitted>,
    /// Seconds from arising to the report, fitted to records, in place of the catalogue's
    /// uniform `report_delay_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_delay_fit_s: Option<Fitted>,
}

/// The set of incident types of a scene or scenario, with shared settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentCatalogue {
    /// Default "in the bud" limit, minutes from arising to closing, for types that set none.
    pub escalate_after_min: f64,
    /// A unit passing within this many metres discovers a patrol-sourced incident.
    pub patrol_discovery_m: f64,
    /// Minutes after which an undiscovered patrol-sourced incident is phoned in to 12345.
    pub undiscovered_report_min: f64,
    /// Seconds between an incident arising and a sensor/camera/hotline report: (min, max).
    pub report_delay_s: (f64, f64),
    /// How each agency's units are chosen (zone first, maximum travel); see `docs/dispatch.md`.
    #[serde(default)]
    pub dispatch: DispatchRules,
    /// The types.
    pub types: Vec<IncidentType>,
    /// Rate changes in time and space (a scenario's overlay; none in a scene's file).
    #[serde(skip)]
    pub surges: Vec<Surge>,
}

/// A change of incident rates for some types, in a time window and an area: a festival
/// evening at the piers, a typhoon's water alarms. Where it applies, a factor above 1 adds
/// (factor − 1) × the base rate of extra incidents, drawn from their own random stream, and
/// a factor below 1 keeps each base incident with that probability: the base day's
/// incidents stay exactly as they were in the other arm (common random numbers).
#[derive(Debug, Clone, PartialEq)]
pub struct Surge {
    /// Type keys it applies to; empty: every type.
    pub types: Vec<String>,
    /// Rate multiplier (> 0).
    pub factor: f64,
    /// Seconds since midnight, [from, to); `None`: all day.
    pub window: Option<(f64, f64)>,
    /// Where, local metres; `None`: everywhere.
    pub area: Option<geo::MultiPolygon>,
}

/// Whether simulation time `t` falls in `window` — seconds since midnight, [from, to), every
/// day, running past midnight when `to < from`; `None` is all day. Surges, network changes,
/// scenario checks and the wall's overlay all ask it.
pub fn in_daily_window(window: Option<(f64, f64)>, t: f64) -> bool {
    window.is_none_or(|(from, to)| {
        let tod = t.rem_euclid(86_400.0);
        if from <= to {
            (from..to).contains(&tod)
        } else {
            tod >= from || tod < to
        }
    })
}

/// The first time at or after `t` that the daily window opening at `from` (seconds since
/// midnight) opens: today's opening, or tomorrow's if today's has passed. Network changes are
/// scheduled by it, and a what-if arm's first difference is found by it.
pub fn next_window_start(from: f64, t: f64) -> f64 {
    let day0 = t - t.rem_euclid(86_400.0);
    let start = day0 + from;
    if start < t {
        start + 86_400.0
    } else {
        start
    }
}

impl Surge {
    /// Whether it applies to an incident of type `key` arising at `t` at `p`.
    pub fn applies(&self, key: &str, t: f64, p: geo::Coord) -> bool {
        use geo::Contains;
        (self.types.is_empty() || self.types.iter().any(|k| k == key))
            && in_daily_window(self.window, t)
            && self
                .area
                .as_ref()
                .is_none_or(|area| area.contains(&geo::Point::from(p)))
    }
}

/// The catalogue's file in a scene folder.
pub const CATALOGUE_FILE: &str = "incident_types.ron";

/// Hourly weights of generated catalogues: quiet nights, busy afternoons and evenings.
pub const DAYTIME_PROFILE: [f64; 24] = [
    1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 5.0, 7.0, 8.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 10.0,
    10.0, 9.0, 7.0, 5.0, 3.0, 2.0,
];

/// What defines a generated type: key, agencies, priority, on-scene minutes (min, mode,
/// max), origin and source.
pub type TypeSpec<'a> = (&'a str, &'a [Agency], u8, (f64, f64, f64), Origin, Source);

impl IncidentType {
    /// A generated type (synthetic or imported scenes): the daytime profile; a type whose
    /// typical on-scene time leaves no room inside the default 30-minute "in the bud" limit
    /// gets its own limit of that time plus 25 minutes (for reporting, response and travel).
    /// `spec` is (key, agencies, priority, on-scene minutes, origin, source).
    pub fn generated(spec: TypeSpec, per_day: f64, street_cleaning: bool) -> Self {
        let (key, agencies, priority, on_scene_min, origin, source) = spec;
        let typical = on_scene_min.1;
        IncidentType {
            key: key.to_owned(),
            name: key.replace('_', " "),
            agencies: agencies.to_vec(),
            priority,
            on_scene_min,
            origin,
            source,
            per_day,
            profile: DAYTIME_PROFILE.to_vec(),
            street_cleaning,
            escalate_after_min: (typical + 25.0 > 30.0).then_some(typical + 25.0),
            week_profile: None,
            on_scene_fit_min: None,
            report_delay_fit_s: None,
        }
    }
}

/// The standard incident types of generated scenes (synthetic, imported from OpenStreetMap):
/// the Yangpu catalogue's types in generic form, each with its share of a day's incidents
/// (the shares add up to 1) and no rate yet. The one table every generator draws from.
pub fn standard_mix() -> Vec<(IncidentType, f64)> {
    use Agency::*;
    let near = |kind: &str, r: f64| Origin::NearAsset(kind.into(), r);
    let at = |kind: &str| Origin::Asset(kind.into());
    let mix: [(TypeSpec, f64, bool); 10] = [
        (
            (
                "bin_overflow",
                &[Cleaning],
                3,
                (3.0, 5.0, 9.0),
                at("bin"),
                Source::Sensor,
            ),
            0.42,
            true,
        ),
        (
            (
                "litter",
                &[Cleaning],
                4,
                (2.0, 4.0, 8.0),
                near("bin", 60.0),
                Source::Patrol,
            ),
            0.32,
            true,
        ),
        (
            (
                "road_dust",
                &[UrbanManagement],
                4,
                (10.0, 15.0, 30.0),
                at("dust_sensor"),
                Source::Sensor,
            ),
            0.03,
            false,
        ),
        (
            (
                "illegal_vending",
                &[UrbanManagement, MarketSupervision],
                3,
                (10.0, 15.0, 30.0),
                near("pier", 200.0),
                Source::Camera,
            ),
            0.04,
            false,
        ),
        (
            (
                "fight_or_theft",
                &[Police],
                1,
                (15.0, 25.0, 60.0),
                Origin::NearLandmark(250.0),
                Source::Hotline110,
            ),
            0.03,
            false,
        ),
        (
            (
                "crowd_surge",
                &[Police, Security],
                1,
                (20.0, 35.0, 80.0),
                Origin::NearLandmark(100.0),
                Source::Camera,
            ),
            0.02,
            false,
        ),
        (
            (
                "manhole_displaced",
                &[UrbanManagement, Property],
                2,
                (15.0, 20.0, 40.0),
                at("manhole"),
                Source::Sensor,
            ),
            0.02,
            false,
        ),
        (
            (
                "standing_water",
                &[UrbanManagement, Cleaning],
                2,
                (20.0, 30.0, 60.0),
                at("water_sensor"),
                Source::Sensor,
            ),
            0.02,
            false,
        ),
        (
            (
                "electric_box_open",
                &[Property],
                2,
                (5.0, 10.0, 20.0),
                at("electric_box"),
                Source::Sensor,
            ),
            0.04,
            false,
        ),
        (
            (
                "hotline_complaint",
                &[UrbanManagement],
                4,
                (10.0, 20.0, 40.0),
                Origin::AnyCell,
                Source::Hotline12345,
            ),
            0.06,
            false,
        ),
    ];
    mix.into_iter()
        .map(|(spec, share, cleaning)| (IncidentType::generated(spec, 0.0, cleaning), share))
        .collect()
}

impl IncidentCatalogue {
    /// A catalogue of generated types with the shared defaults (30 min escalation, 40 m
    /// discovery, 45 min until a citizen calls, 20–90 s report delay).
    pub fn generated(types: Vec<IncidentType>) -> Self {
        IncidentCatalogue {
            escalate_after_min: 30.0,
            patrol_discovery_m: 40.0,
            undiscovered_report_min: 45.0,
            report_delay_s: (20.0, 90.0),
            dispatch: DispatchRules::default(),
            types,
            surges: Vec::new(),
        }
    }

    /// The catalogue as RON, the format of `incident_types.ron`, under a `//` header.
    pub fn to_ron(&self, header: &str) -> Result<String, ron::Error> {
        let body = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::new().depth_limit(3))?;
        let header: String = header.lines().map(|l| format!("// {l}\n")).collect();
        Ok(format!("{header}{body}\n"))
    }

    /// Parses a catalogue from RON text; a syntax error names `file`, line and column.
    pub fn from_ron(file: &str, text: &str) -> Result<Self, Problems> {
        ron::from_str(text).map_err(|e| {
            let mut problems = Problems::default();
            problems.ron_syntax(file, &e);
            problems
        })
    }

    /// Reads, parses and checks the catalogue at `path` against `scene`: every problem at
    /// once, each naming the file and the type or setting. A usable catalogue comes with its
    /// warnings, for the caller to show.
    pub fn load(path: &Path, scene: &Scene) -> Result<(Self, Vec<Problem>), Problems> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            let mut problems = Problems::default();
            problems.error(&file, Location::File, format!("cannot read: {e}"));
            problems
        })?;
        let catalogue = Self::from_ron(&file, &text)?;
        let problems = catalogue.check(&file, scene);
        if problems.has_errors() {
            Err(problems)
        } else {
            let warnings = problems.warnings().cloned().collect();
            Ok((catalogue, warnings))
        }
    }

    /// Every problem of the catalogue against a scene, all at once, each naming `file` and
    /// the type or setting (errors make it unusable; warnings say where a figure cannot mean
    /// what its author likely meant).
    pub fn check(&self, file: &str, scene: &Scene) -> Problems {
        let mut p = Problems::default();
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(self.escalate_after_min) {
            p.error(
                file,
                setting("escalate_after_min"),
                "must be a positive number of minutes",
            );
        }
        if !(self.patrol_discovery_m.is_finite() && self.patrol_discovery_m >= 0.0) {
            p.error(
                file,
                setting("patrol_discovery_m"),
                "must be a non-negative number of metres",
            );
        }
        if !positive(self.undiscovered_report_min) {
            p.error(
                file,
                setting("undiscovered_report_min"),
                "must be a positive number of minutes",
            );
        }
        let (lo, hi) = self.report_delay_s;
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi) {
            p.error(
                file,
                setting("report_delay_s"),
                format!("({lo}, {hi}) must be (min <= max), both >= 0"),
            );
        }
        for (agency, rule) in &self.dispatch.0 {
            for (name, v) in [
                ("zone_first_s", rule.zone_first_s),
                ("max_travel_s", rule.max_travel_s),
            ] {
                if v.is_some_and(|v| !positive(v)) {
                    p.error(
                        file,
                        setting(&format!("dispatch.{agency}.{name}")),
                        "must be a positive number of seconds",
                    );
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.types {
            if !seen.insert(t.key.as_str()) {
                p.error(file, type_at(&t.key), "key used by an earlier type");
            }
            self.check_type(t, file, scene, &mut p);
        }
        p
    }

    fn check_type(&self, t: &IncidentType, file: &str, scene: &Scene, p: &mut Problems) {
        let mut errors = Vec::new();
        if t.key.trim().is_empty() {
            errors.push("key must not be empty".to_owned());
        }
        if t.agencies.is_empty() {
            errors.push("needs at least one agency".into());
        }
        for (i, agency) in t.agencies.iter().enumerate() {
            if t.agencies[..i].contains(agency) {
                errors.push(format!("agency \"{agency}\" listed twice"));
            } else if !scene.units.iter().any(|u| u.agency == *agency) {
                errors.push(format!("agency \"{agency}\" has no units in the scene"));
            }
        }
        if !(1..=PRIORITIES).contains(&t.priority) {
            errors.push(format!(
                "priority {} must be 1 (urgent) to {PRIORITIES} (routine)",
                t.priority
            ));
        }
        if t.profile.len() != 24
            || t.profile.iter().any(|w| !w.is_finite() || *w < 0.0)
            || t.profile.iter().sum::<f64>() <= 0.0
        {
            errors.push("profile must be 24 non-negative hourly weights, not all zero".into());
        }
        if let Some(w) = &t.week_profile {
            if w.len() != WEEK_HOURS
                || w.iter().any(|v| !v.is_finite() || *v < 0.0)
                || w.iter().sum::<f64>() <= 0.0
            {
                errors.push(format!(
                    "week_profile must be {WEEK_HOURS} non-negative hourly weights (Monday 00:00 first), not all zero; it has {}",
                    w.len()
                ));
            }
        }
        for (name, fit) in [
            ("on_scene_fit_min", t.on_scene_fit_min),
            ("report_delay_fit_s", t.report_delay_fit_s),
        ] {
            if fit.is_some_and(|f| !f.is_valid()) {
                errors.push(format!(
                    "{name} {fit:?} must have positive, finite parameters"
                ));
            }
        }
        if !(t.per_day.is_finite() && t.per_day >= 0.0) {
            errors.push(format!(
                "per_day {} must be a non-negative number",
                t.per_day
            ));
        }
        let (a, m, b) = t.on_scene_min;
        if !(a > 0.0 && a <= m && m <= b && b.is_finite()) {
            errors.push(format!(
                "on_scene_min {:?} must be (min <= mode <= max), all > 0",
                t.on_scene_min
            ));
        }
        if let Some(limit) = t
            .escalate_after_min
            .filter(|l| !(l.is_finite() && *l > 0.0))
        {
            errors.push(format!(
                "escalate_after_min {limit} must be a positive number of minutes"
            ));
        }
        if let Err(message) = check_origin(&t.origin, scene) {
            errors.push(message);
        }
        for message in errors {
            p.error(file, type_at(&t.key), message);
        }
        let limit = t.escalate_after_min.unwrap_or(self.escalate_after_min);
        if limit.is_finite() && m.is_finite() && limit < m {
            p.warning(
                file,
                type_at(&t.key),
                format!("its \"in the bud\" limit ({limit} min) is below its typical on-scene time ({m} min): most can never count; set escalate_after_min for the type"),
            );
        }
    }

    /// The "in the bud" limit of type `ti`, seconds from arising to closing.
    pub fn in_bud_limit_s(&self, ti: usize) -> f64 {
        self.types
            .get(ti)
            .and_then(|t| t.escalate_after_min)
            .unwrap_or(self.escalate_after_min)
            * 60.0
    }

    /// Expected incidents of type `ti` in hour `hour` of a run whose first day is `weekday`
    /// (0 = Monday): the day's rate shared by the hour-of-week profile where the type has one,
    /// else by the hour-of-day profile.
    pub fn hourly_rate(&self, ti: usize, weekday: u8, hour: u32) -> f64 {
        let t = &self.types[ti];
        match &t.week_profile {
            Some(week) if !week.is_empty() => {
                let how = (usize::from(weekday) * 24 + hour as usize) % week.len();
                t.per_day * 7.0 * week[how] / week.iter().sum::<f64>()
            }
            _ => t.per_day * t.profile[(hour % 24) as usize] / t.profile.iter().sum::<f64>(),
        }
    }

    /// Each grid cell's share of type `ti`'s incidents as the catalogue places them, in the
    /// grid's order (sums to 1 where any place lies on the grid): by asset or landmark counts
    /// per cell (a radius around them is not spread), by area for `AnyCell`, by the weights
    /// for `Cells`. What a forecast from the catalogue alone says, and the demand a plan
    /// without a learned model covers.
    pub fn cell_shares(&self, ti: usize, scene: &Scene) -> Vec<f64> {
        let grid = &scene.grid;
        let mut share = vec![0.0; grid.cells.len()];
        let mut count_at = |p: geo::Coord| {
            if let Some(c) = grid.cell_at(p) {
                share[c] += 1.0;
            }
        };
        match &self.types[ti].origin {
            Origin::Asset(kind) | Origin::NearAsset(kind, _) => {
                let kind = AssetKind::parse(kind);
                for a in scene.assets.iter().filter(|a| Some(a.kind) == kind) {
                    count_at(a.position.0);
                }
            }
            Origin::NearLandmark(_) => {
                use geo::Centroid;
                for b in scene.buildings.iter().filter(|b| b.landmark) {
                    if let Some(p) = b.footprint.centroid() {
                        count_at(p.0);
                    }
                }
            }
            Origin::AnyCell => {
                for (s, c) in share.iter_mut().zip(&grid.cells) {
                    *s = c.area_m2;
                }
            }
            Origin::Cells(weights) => {
                for (s, c) in share.iter_mut().zip(&grid.cells) {
                    *s = weights.get(&c.id).copied().unwrap_or(0.0);
                }
            }
        }
        let total: f64 = share.iter().sum();
        if total > 0.0 {
            for s in &mut share {
                *s /= total;
            }
        }
        share
    }

    /// Expected incidents per grid cell, summed over `types` — each a type index with its
    /// [`Self::cell_shares`], computed once by the caller — and over the hours `hours` of a
    /// run whose first day is `weekday`: the demand patrol coverage calls hot and a plan
    /// covers when no learned model is given.
    pub fn expected_by_cell(
        &self,
        types: &[(usize, Vec<f64>)],
        weekday: u8,
        hours: &[u32],
    ) -> Vec<f64> {
        let cells = types.first().map_or(0, |(_, s)| s.len());
        let mut demand = vec![0.0; cells];
        for (ti, shares) in types {
            let rate: f64 = hours
                .iter()
                .map(|h| self.hourly_rate(*ti, weekday, *h))
                .sum();
            for (d, s) in demand.iter_mut().zip(shares) {
                *d += rate * s;
            }
        }
        demand
    }

    /// Index of a type by key.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.types.iter().position(|t| t.key == key)
    }
}

fn setting(id: &str) -> Location {
    Location::Item {
        kind: "setting",
        id: id.to_owned(),
    }
}

fn type_at(key: &str) -> Location {
    Location::Item {
        kind: "type",
        id: key.to_owned(),
    }
}

/// Whether incidents of `origin` can be placed in `scene`.
fn check_origin(origin: &Origin, scene: &Scene) -> Result<(), String> {
    match origin {
        Origin::Asset(kind) | Origin::NearAsset(kind, _) => {
            let k = AssetKind::parse(kind).ok_or_else(|| {
                format!(
                    "unknown asset kind \"{kind}\" (expected one of: {})",
                    AssetKind::expected()
                )
            })?;
            if !scene.assets.iter().any(|a| a.kind == k) {
                return Err(format!("the scene has no \"{kind}\" assets"));
            }
        }
        Origin::NearLandmark(_) if !scene.buildings.iter().any(|b| b.landmark) => {
            return Err("the scene has no landmarks".into())
        }
        Origin::AnyCell if scene.grid.cells.is_empty() => {
            return Err("AnyCell needs a grid with cells; this scene's grid has none".into())
        }
        Origin::Cells(weights) => {
            if let Some(id) = weights
                .keys()
                .find(|id| !scene.grid.cells.iter().any(|c| &c.id == *id))
            {
                return Err(format!(
                    "Cells: \"{id}\" is not a cell of this scene's grid"
                ));
            }
            if weights.values().any(|w| !w.is_finite() || *w < 0.0)
                || weights.values().sum::<f64>() <= 0.0
            {
                return Err("Cells: weights must be non-negative, not all zero".into());
            }
        }
        _ => {}
    }
    match origin {
        Origin::NearAsset(_, r) | Origin::NearLandmark(r) if !(r.is_finite() && *r >= 0.0) => Err(
            format!("radius {r} must be a non-negative number of metres"),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_catalogues_round_trip_through_ron() {
        let t = IncidentType::generated(
            (
                "bin_overflow",
                &[Agency::Cleaning],
                3,
                (3.0, 5.0, 9.0),
                Origin::NearAsset("bin".into(), 60.0),
                Source::Patrol,
            ),
            12.5,
            true,
        );
        let cat = IncidentCatalogue::generated(vec![t]);
        let text = cat.to_ron("written by a test\nsecond line").unwrap();
        assert!(text.starts_with("// written by a test\n// second line\n"));
        assert_eq!(IncidentCatalogue::from_ron("t.ron", &text).unwrap(), cat);
    }
}

#[cfg(test)]
mod window_tests {
    use super::in_daily_window;

    #[test]
    fn windows_may_wrap_past_midnight() {
        let evening = Some((17.0 * 3600.0, 23.0 * 3600.0));
        assert!(in_daily_window(evening, 18.0 * 3600.0));
        assert!(!in_daily_window(evening, 12.0 * 3600.0));
        assert!(!in_daily_window(evening, 23.0 * 3600.0), "the end is out");
        assert!(
            in_daily_window(evening, 86_400.0 + 18.0 * 3600.0),
            "every day"
        );
        let night = Some((22.0 * 3600.0, 6.0 * 3600.0));
        assert!(in_daily_window(night, 23.0 * 3600.0) && in_daily_window(night, 3600.0));
        assert!(!in_daily_window(night, 12.0 * 3600.0));
        assert!(in_daily_window(None, 12.0 * 3600.0));
    }
}
