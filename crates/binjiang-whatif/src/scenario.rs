//! Scenario files: `scenes/<scene>/scenarios/<name>.ron`, an overlay on the scene's units, its
//! incident catalogue and the dispatch policy — what a planner changes to ask "what if".
//! Loaded like a scene: every problem is collected and named with its file, line and the bad
//! key or id; nothing is fixed silently.
//!
//! ```ron
//! (
//!     about: "Crowds at the piers on a National Day evening (estimate: 5× the usual rate)",
//!     units: (
//!         add: [(agency: "security", mode: "foot", count: 4, like: "security-foot-01",
//!                shift: Some("16:00-24:00"))],
//!         remove: ["police-car-04"],
//!         remove_count: [(agency: "cleaning", count: 2)],
//!         shifts: [(unit: "cleaning-foot-01", shift: "08:00-16:00")],
//!     ),
//!     incidents: (
//!         surges: [(types: ["crowding"], factor: 5.0, window: Some("17:00-23:00"),
//!                   area: Some(AroundLandmark(name: "Fisherman's Wharf", radius_m: 400.0)))],
//!         extra_types: [],
//!     ),
//!     policy: "merged-grid",
//!     preemption: None,
//!     dispatch: {"cleaning": (zone_first_s: Some(240.0), max_travel_s: None)},
//! )
//! ```

use binjiang_scene::problems::Location;
use binjiang_scene::shift::{parse_clock, Shift};
use binjiang_scene::{Agency, AssetKind, Mode, Problems, Scene};
use binjiang_sim::coverage::PatrolCoverage;
use binjiang_sim::{
    AgencyRule, CoverageMonitor, IncidentCatalogue, IncidentType, MoveUpPolicy, NetworkChange,
    PolicyKind, PreparedRoads, SimOptions, Surge,
};
use geo::{Area, Centroid, Coord, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The folder of a scene's scenarios.
pub const SCENARIOS_DIR: &str = "scenarios";

/// A scenario file as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// What it models and where its numbers come from.
    #[serde(default)]
    pub about: String,
    /// Changes to the units.
    #[serde(default)]
    pub units: UnitChanges,
    /// Changes to the incidents.
    #[serde(default)]
    pub incidents: IncidentChanges,
    /// The dispatch policy (`merged-grid`, `separate-grids`); `None`: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Urgent incidents may take units en route to less urgent ones; `None`: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemption: Option<bool>,
    /// Per agency key, the rule replacing the catalogue's (zone first within, maximum travel).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dispatch: BTreeMap<String, AgencyRule>,
    /// Road closures and speed changes, each in a daily window or all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetworkSpec>,
    /// An incident catalogue replacing the scene's before the other changes apply (the one
    /// `binjiang learn` wrote: the district's own rates, places and durations); a relative
    /// path is taken from the scene folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<String>,
    /// Move-ups made by the simulation itself: `auto` (every agency, whenever a move regains
    /// coverage), `below({"cleaning": 0.4})` (those agencies, below those shares), `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_up: Option<MoveUpSpec>,
}

/// `move_up` as written: agencies by key, as elsewhere in scenario files.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveUpSpec {
    /// No move-ups.
    Off,
    /// Every agency, whenever a move regains at least 2 % of its demand.
    Auto,
    /// The agencies named, below these shares.
    Below(BTreeMap<String, f64>),
}

/// A change of the road network as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// `HH:MM-HH:MM` every day; `None`: all day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Road ids closed to every mode; a trailing `*` matches a prefix (`promenade-*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub close: Vec<String>,
    /// Roads crossing this area are closed too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_within: Option<AreaSpec>,
    /// Speed factors per mode (`foot`, `bike`, `car`), e.g. `{"bike": 0.6}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub speed: BTreeMap<String, f64>,
}

/// Units added, removed and re-shifted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UnitChanges {
    /// New units, each group copying an existing unit's home and patrol loop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<AddUnits>,
    /// Units removed by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// Units removed by count: the agency's last units in the scene's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_count: Vec<RemoveCount>,
    /// New shifts for units (by id) or for every unit of an agency (by agency key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shifts: Vec<ShiftChange>,
}

/// `count` new units of `agency` moving by `mode`: based at `like`'s home and patrolling its
/// loop, or based in an area (`home_in`) and/or patrolling along named roads
/// (`patrol_along`, each road from its first to its last point, in order).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AddUnits {
    /// Agency key.
    pub agency: String,
    /// `foot`, `bike` or `car`.
    pub mode: String,
    /// How many.
    pub count: u32,
    /// The unit whose home and patrol loop they take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like: Option<String>,
    /// Their base: a point inside this area (default: the start of their patrol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_in: Option<AreaSpec>,
    /// Road ids (a trailing `*` matches a prefix) their loop follows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patrol_along: Vec<String>,
    /// Their base at this point (lon, lat), snapped to the road network by the simulation:
    /// the post `binjiang plan` chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_at: Option<(f64, f64)>,
    /// Their loop through these points (lon, lat), in order, after any `patrol_along`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patrol_through: Vec<(f64, f64)>,
    /// Their shift; `None`: `like`'s (required without `like`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<String>,
}

/// Remove `count` units of `agency`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveCount {
    /// Agency key.
    pub agency: String,
    /// How many.
    pub count: u32,
}

/// A new shift for one unit or a whole agency.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftChange {
    /// A unit id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Or an agency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// `HH:MM-HH:MM`.
    pub shift: String,
}

/// Incident rates and types.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentChanges {
    /// Rate changes in a window and an area.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surges: Vec<SurgeSpec>,
    /// Types the catalogue does not have (flooding in a typhoon), as in `incident_types.ron`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_types: Vec<IncidentType>,
    /// Replay this recorded day (CSV, as `binjiang simulate --incidents-from` reads it; a
    /// path relative to the scenario file) instead of drawing incidents; surges then do not
    /// apply. Every seed replays the same list (seeds still vary on-scene times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
}

/// A rate change as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SurgeSpec {
    /// Type keys; empty: every type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Multiplier (> 0).
    pub factor: f64,
    /// `HH:MM-HH:MM`; `None`: all day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Where; `None`: the whole grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<AreaSpec>,
}

/// Where a surge applies.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum AreaSpec {
    /// A subdistrict of the grid, by its official code.
    Subdistrict(String),
    /// Within `radius_m` of the landmark whose name contains `name`.
    AroundLandmark {
        /// Part of the landmark's name.
        name: String,
        /// Metres.
        radius_m: f64,
    },
    /// Within `radius_m` of any asset of a kind (`pier`, `bin`, …).
    AroundAssets {
        /// Asset kind key.
        kind: String,
        /// Metres.
        radius_m: f64,
    },
    /// A polygon, WGS84 (lon, lat) vertices.
    Polygon(Vec<(f64, f64)>),
}

/// A scenario ready to run: the scene's units and catalogue changed, and the options.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name (the file's stem; `baseline` for none).
    pub name: String,
    /// What it models.
    pub about: String,
    /// The scene with the units changed.
    pub scene: Scene,
    /// The catalogue with types added, dispatch rules changed and surges set.
    pub catalogue: IncidentCatalogue,
    /// Policy and preemption.
    pub options: SimOptions,
    /// Road closures and speed changes.
    pub network: Vec<NetworkChange>,
    /// A recorded day replayed instead of drawn incidents.
    pub recorded: Option<std::sync::Arc<Vec<binjiang_sim::Report>>>,
    /// The file's bytes (for the report's hash), empty for the plain scene.
    pub text: String,
    /// The monitor making move-ups in its runs (`move_up`), if any.
    pub move_up: Option<std::sync::Arc<CoverageMonitor>>,
    /// What every run of it starts from, made by the first run that needs it and shared
    /// by every later run and every clone: a scenario's roads, network changes, grid,
    /// catalogue and options are fixed once it is made (staffing changes only units).
    prepared: std::sync::Arc<std::sync::OnceLock<Prepared>>,
}

/// A scenario's road networks, and its patrol coverage tracker before a run.
#[derive(Debug)]
struct Prepared {
    roads: PreparedRoads,
    coverage: PatrolCoverage,
}

impl Scenario {
    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| Prepared {
            roads: PreparedRoads::new(&self.scene, &self.network),
            coverage: PatrolCoverage::new(
                &self.scene,
                &self.catalogue,
                self.options.weekday,
                self.options.start_s,
            ),
        })
    }

    /// The road networks its runs use, prepared once.
    pub fn prepared_roads(&self) -> &PreparedRoads {
        &self.prepared().roads
    }

    /// A fresh patrol coverage tracker for a run of it.
    pub fn patrol_coverage(&self) -> PatrolCoverage {
        self.prepared().coverage.clone()
    }

    /// The scene as it is, under `options`.
    pub fn plain(scene: &Scene, catalogue: &IncidentCatalogue, options: SimOptions) -> Self {
        Scenario {
            name: "baseline".into(),
            about: "the scene as it is".into(),
            scene: scene.clone(),
            catalogue: catalogue.clone(),
            options,
            network: Vec::new(),
            recorded: None,
            text: String::new(),
            move_up: None,
            prepared: Default::default(),
        }
    }
}

/// A scenario file's text as written (no checks against a scene: [`from_text`] does those).
pub fn parse(text: &str) -> Result<ScenarioFile, ron::error::SpannedError> {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(text)
}

/// A scenario file's text as `from_text` reads it back: RON with the struct names left out.
pub fn to_text(spec: &ScenarioFile) -> Result<String, ron::Error> {
    ron::ser::to_string_pretty(
        spec,
        ron::ser::PrettyConfig::new()
            .struct_names(false)
            .indentor("    ".to_owned()),
    )
}

/// Where a scenario named `name` of `scene_dir` lives.
pub fn path_of(scene_dir: &Path, name: &str) -> PathBuf {
    scene_dir.join(SCENARIOS_DIR).join(format!("{name}.ron"))
}

/// Loads scenario `name` (`scenarios/<name>.ron`) over `scene` and `catalogue`. A scenario
/// named `baseline` with no file is the scene as it is.
pub fn load(
    scene: &Scene,
    catalogue: &IncidentCatalogue,
    name: &str,
    options: SimOptions,
) -> Result<Scenario, Problems> {
    let path = path_of(&scene.dir, name);
    if name == "baseline" && !path.exists() {
        return Ok(Scenario::plain(scene, catalogue, options));
    }
    let file = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => from_text(scene, catalogue, name, &file, &text, options),
        Err(e) => {
            let mut problems = Problems::default();
            problems.error(&file, Location::File, format!("cannot read: {e}"));
            Err(problems)
        }
    }
}

/// A scenario from its text (`file` names it in problems).
pub fn from_text(
    scene: &Scene,
    catalogue: &IncidentCatalogue,
    name: &str,
    file: &str,
    text: &str,
    options: SimOptions,
) -> Result<Scenario, Problems> {
    let mut problems = Problems::default();
    // `Some(…)` may be left out around optional values.
    let options_ron =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    let spec: ScenarioFile = match options_ron.from_str(text) {
        Ok(s) => s,
        Err(e) => {
            problems.ron_syntax(file, &e);
            return Err(problems);
        }
    };
    let replaced;
    let catalogue = match &spec.catalogue {
        None => catalogue,
        Some(path) => {
            let at = scene.dir.join(path);
            match IncidentCatalogue::load(&at, scene) {
                Ok((c, _)) => {
                    replaced = c;
                    &replaced
                }
                Err(inner) => {
                    problems.error(
                        file,
                        Location::Item {
                            kind: "setting",
                            id: "catalogue".into(),
                        },
                        format!(
                            "\"{path}\" ({}) is not a usable catalogue:\n{inner}",
                            at.display()
                        ),
                    );
                    return Err(problems);
                }
            }
        }
    };
    let mut checker = Checker {
        file,
        text,
        scene,
        problems,
    };
    let scenario = checker.apply(name, &spec, catalogue, options, text);
    if checker.problems.has_errors() {
        Err(checker.problems)
    } else {
        Ok(scenario)
    }
}

/// Checks a scenario against its scene while applying it, collecting every problem.
struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    scene: &'a Scene,
    problems: Problems,
}

impl Checker<'_> {
    /// Where `needle` first appears in the file (line and column), for naming the place of
    /// a bad id or key; else the item.
    fn at(&self, kind: &'static str, needle: &str) -> Location {
        let quoted = format!("\"{needle}\"");
        match self.text.find(&quoted).or_else(|| self.text.find(needle)) {
            Some(i) => {
                let before = &self.text[..i];
                Location::Text {
                    line: before.matches('\n').count() + 1,
                    column: before.len() - before.rfind('\n').map_or(0, |n| n + 1) + 1,
                }
            }
            None => Location::Item {
                kind,
                id: needle.to_owned(),
            },
        }
    }

    fn error(&mut self, kind: &'static str, needle: &str, message: String) {
        let at = self.at(kind, needle);
        self.problems.error(self.file, at, message);
    }

    fn agency(&mut self, key: &str, what: &'static str) -> Option<Agency> {
        let a = Agency::parse(key);
        if a.is_none() {
            self.error(
                what,
                key,
                format!(
                    "{what}: unknown agency \"{key}\" (expected one of {})",
                    Agency::expected()
                ),
            );
        }
        a
    }

    fn shift(&mut self, text: &str, what: &'static str) -> Option<Shift> {
        match Shift::parse(text) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(what, text, format!("{what}: shift \"{text}\": {e}"));
                None
            }
        }
    }

    fn apply(
        &mut self,
        name: &str,
        spec: &ScenarioFile,
        catalogue: &IncidentCatalogue,
        mut options: SimOptions,
        text: &str,
    ) -> Scenario {
        let mut scene = self.scene.clone();
        self.units(&spec.units, &mut scene);
        let mut catalogue = catalogue.clone();
        for t in &spec.incidents.extra_types {
            if catalogue.index_of(&t.key).is_some() {
                self.error(
                    "incidents.extra_types",
                    &t.key,
                    format!(
                        "incidents.extra_types: type \"{}\" is already in the catalogue",
                        t.key
                    ),
                );
            } else {
                catalogue.types.push(t.clone());
            }
        }
        for s in &spec.incidents.surges {
            if let Some(surge) = self.surge(s, &catalogue) {
                catalogue.surges.push(surge);
            }
        }
        for (key, rule) in &spec.dispatch {
            if let Some(a) = self.agency(key, "dispatch") {
                let bad = |v: Option<f64>| v.is_some_and(|x| !(x.is_finite() && x >= 0.0));
                if bad(rule.zone_first_s) || bad(rule.max_travel_s) {
                    self.error(
                        "dispatch",
                        key,
                        format!("dispatch \"{key}\": seconds must be finite and ≥ 0"),
                    );
                }
                catalogue.dispatch.0.insert(a, *rule);
            }
        }
        if let Some(p) = &spec.policy {
            match PolicyKind::ALL.iter().find(|k| k.name() == p) {
                Some(k) => options.policy = *k,
                None => self.error(
                    "policy",
                    p,
                    format!(
                        "policy: unknown policy \"{p}\" (expected one of {})",
                        PolicyKind::ALL.map(|k| k.name()).join(", ")
                    ),
                ),
            }
        }
        if let Some(p) = spec.preemption {
            options.preemption = p;
        }
        let network = self.network(&spec.network);
        let recorded = spec
            .incidents
            .recorded
            .as_ref()
            .and_then(|r| self.recorded(r, &catalogue));
        if spec.incidents.recorded.is_some() && !spec.incidents.surges.is_empty() {
            self.error(
                "incidents.recorded",
                "recorded",
                "incidents: a recorded day is replayed as it is: surges cannot apply to it".into(),
            );
        }
        let policy = match &spec.move_up {
            None | Some(MoveUpSpec::Off) => MoveUpPolicy::Off,
            Some(MoveUpSpec::Auto) => MoveUpPolicy::Auto,
            Some(MoveUpSpec::Below(by_key)) => {
                let mut thresholds = BTreeMap::new();
                for (key, t) in by_key {
                    let Some(a) = self.agency(key, "move_up") else {
                        continue;
                    };
                    if !(0.0..=1.0).contains(t) {
                        self.error(
                            "move_up",
                            key,
                            format!("move_up: threshold {t} for {a} must be a share from 0 to 1"),
                        );
                    }
                    thresholds.insert(a, *t);
                }
                MoveUpPolicy::Below(thresholds)
            }
        };
        let move_up = match policy {
            MoveUpPolicy::Off => None,
            policy => {
                let thresholds = policy.thresholds();
                Some(std::sync::Arc::new(CoverageMonitor::for_scene(
                    &scene,
                    &catalogue,
                    &thresholds,
                )))
            }
        };
        Scenario {
            name: name.to_owned(),
            about: spec.about.clone(),
            scene,
            catalogue,
            options,
            network,
            recorded,
            text: text.to_owned(),
            move_up,
            prepared: Default::default(),
        }
    }

    fn units(&mut self, changes: &UnitChanges, scene: &mut Scene) {
        // Removals act on the scene's units, before any are added: `remove_count` with an
        // `add` of the same agency replaces its units (it used to remove the ones just added).
        for id in &changes.remove {
            let before = scene.units.len();
            scene.units.retain(|u| &u.id != id);
            if scene.units.len() == before {
                self.error(
                    "units.remove",
                    id,
                    format!("units.remove: no unit \"{id}\" in the scene"),
                );
            }
        }
        for r in &changes.remove_count {
            let Some(agency) = self.agency(&r.agency, "units.remove_count") else {
                continue;
            };
            let have = scene.units.iter().filter(|u| u.agency == agency).count();
            if r.count as usize > have {
                self.error(
                    "units.remove_count",
                    &r.agency,
                    format!(
                        "units.remove_count: {} has {have} units, cannot remove {}",
                        r.agency, r.count
                    ),
                );
                continue;
            }
            for _ in 0..r.count {
                if let Some(i) = scene.units.iter().rposition(|u| u.agency == agency) {
                    scene.units.remove(i);
                }
            }
        }
        for (k, add) in changes.add.iter().enumerate() {
            let agency = self.agency(&add.agency, "units.add");
            let mode = Mode::parse(&add.mode);
            if mode.is_none() {
                self.error(
                    "units.add",
                    &add.mode,
                    format!(
                        "units.add: unknown mode \"{}\" (expected one of {})",
                        add.mode,
                        Mode::expected()
                    ),
                );
            }
            let what = add.like.clone().unwrap_or_else(|| add.agency.clone());
            if add.count == 0 {
                self.error("units.add", &what, "units.add: count must be ≥ 1".into());
            }
            let placed_by = add.home_in.is_some()
                || !add.patrol_along.is_empty()
                || add.home_at.is_some()
                || !add.patrol_through.is_empty();
            let template = match (&add.like, placed_by) {
                (Some(like), false) => {
                    let found = self.scene.units.iter().find(|u| &u.id == like).cloned();
                    if found.is_none() {
                        self.error(
                            "units.add",
                            like,
                            format!("units.add: like: no unit \"{like}\" in the scene"),
                        );
                    }
                    found.map(|u| (u.home, u.patrol, Some(u.shift)))
                }
                (None, true) => self.placed(add),
                (None, false) => {
                    self.error(
                        "units.add",
                        &what,
                        "units.add: say where: like a unit, or home_in / home_at and/or patrol_along / patrol_through".into(),
                    );
                    None
                }
                (Some(like), true) => {
                    self.error(
                        "units.add",
                        like,
                        "units.add: like takes a unit's home and loop: no home_in, home_at, patrol_along or patrol_through with it".into(),
                    );
                    None
                }
            };
            let shift = match &add.shift {
                Some(s) => self.shift(s, "units.add"),
                None => {
                    let s = template.as_ref().and_then(|t| t.2);
                    if s.is_none() && template.is_some() {
                        self.error(
                            "units.add",
                            &what,
                            "units.add: new units placed by area or roads need a shift".into(),
                        );
                    }
                    s
                }
            };
            if let (Some(agency), Some(mode), Some((home, patrol, _)), Some(shift)) =
                (agency, mode, template, shift)
            {
                for n in 0..add.count {
                    scene.units.push(binjiang_scene::Unit {
                        id: format!("{}-{}-extra-{}-{}", agency.key(), mode.key(), k + 1, n + 1),
                        agency,
                        mode,
                        home,
                        shift,
                        patrol: patrol.clone(),
                    });
                }
            }
        }
        for c in &changes.shifts {
            let Some(shift) = self.shift(&c.shift, "units.shifts") else {
                continue;
            };
            match (&c.unit, &c.agency) {
                (Some(id), None) => match scene.units.iter_mut().find(|u| &u.id == id) {
                    Some(u) => u.shift = shift,
                    None => self.error(
                        "units.shifts",
                        id,
                        format!("units.shifts: no unit \"{id}\" in the scene"),
                    ),
                },
                (None, Some(key)) => {
                    if let Some(a) = self.agency(key, "units.shifts") {
                        for u in scene.units.iter_mut().filter(|u| u.agency == a) {
                            u.shift = shift;
                        }
                    }
                }
                _ => self.error(
                    "units.shifts",
                    &c.shift,
                    "units.shifts: name either a unit or an agency".into(),
                ),
            }
        }
        if scene.units.is_empty() {
            self.problems
                .error(self.file, Location::File, "no unit is left".to_owned());
        }
    }

    /// The recorded day at `path` (relative to the scenario's folder); its problems (with
    /// their line numbers) join the scenario's.
    fn recorded(
        &mut self,
        path: &str,
        catalogue: &IncidentCatalogue,
    ) -> Option<std::sync::Arc<Vec<binjiang_sim::Report>>> {
        let full = Path::new(self.file)
            .parent()
            .unwrap_or(Path::new("."))
            .join(path);
        let text = match std::fs::read_to_string(&full) {
            Ok(t) => t,
            Err(e) => {
                self.error(
                    "incidents.recorded",
                    path,
                    format!("incidents.recorded: cannot read {}: {e}", full.display()),
                );
                return None;
            }
        };
        match binjiang_sim::parse_recorded(
            &full.display().to_string(),
            &text,
            catalogue,
            &self.scene.frame,
        ) {
            Ok(list) => Some(std::sync::Arc::new(list)),
            Err(problems) => {
                for p in problems.all() {
                    self.problems
                        .error(&p.file, p.location.clone(), p.message.clone());
                }
                None
            }
        }
    }

    fn network(&mut self, specs: &[NetworkSpec]) -> Vec<NetworkChange> {
        let mut out: Vec<NetworkChange> = Vec::new();
        for spec in specs {
            let window = match &spec.window {
                None => None,
                Some(w) => match window(w) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        self.error("network", w, format!("network: window \"{w}\": {e}"));
                        continue;
                    }
                },
            };
            let mut closed: Vec<u32> = Vec::new();
            for pattern in &spec.close {
                let hits = self.roads_matching(pattern);
                if hits.is_empty() {
                    self.error(
                        "network",
                        pattern,
                        format!("network: close: no road \"{pattern}\" in the scene"),
                    );
                }
                closed.extend(hits);
            }
            if let Some(area) = &spec.close_within {
                if let Some(area) = self.area(area) {
                    use geo::Intersects;
                    closed.extend(
                        self.scene
                            .roads
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| r.line.intersects(&area))
                            .map(|(i, _)| i as u32),
                    );
                }
            }
            closed.sort_unstable();
            closed.dedup();
            let mut speed = [1.0; 3];
            for (mode, factor) in &spec.speed {
                match Mode::ALL.iter().position(|m| m.key() == mode) {
                    Some(k) if factor.is_finite() && *factor > 0.0 => speed[k] = *factor,
                    Some(_) => self.error(
                        "network",
                        mode,
                        format!("network: speed \"{mode}\": {factor} must be a number > 0"),
                    ),
                    None => self.error(
                        "network",
                        mode,
                        format!(
                            "network: speed: unknown mode \"{mode}\" (expected one of {})",
                            Mode::expected()
                        ),
                    ),
                }
            }
            let change = NetworkChange {
                window,
                closed_roads: closed,
                speed,
            };
            if out.iter().any(|o| windows_overlap(o.window, change.window)) {
                let label = spec.window.clone().unwrap_or_else(|| "all day".into());
                self.error(
                    "network",
                    &label,
                    format!(
                        "network: window {label} overlaps another change's (one change at a time)"
                    ),
                );
                continue;
            }
            out.push(change);
        }
        out
    }

    /// Indexes of the scene's roads whose id is `pattern`, or starts with it before a
    /// trailing `*`.
    fn roads_matching(&self, pattern: &str) -> Vec<u32> {
        self.scene
            .roads
            .iter()
            .enumerate()
            .filter(|(_, r)| match pattern.strip_suffix('*') {
                Some(prefix) => r.id.starts_with(prefix),
                None => r.id == pattern,
            })
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Home and loop of units placed by area and/or roads (no shift: the caller's).
    fn placed(&mut self, add: &AddUnits) -> Option<(Coord, Vec<Coord>, Option<Shift>)> {
        let mut patrol: Vec<Coord> = Vec::new();
        for pattern in &add.patrol_along {
            let roads: Vec<&binjiang_scene::Road> = self
                .roads_matching(pattern)
                .into_iter()
                .map(|i| &self.scene.roads[i as usize])
                .collect();
            if roads.is_empty() {
                self.error(
                    "units.add",
                    pattern,
                    format!("units.add: patrol_along: no road \"{pattern}\" in the scene"),
                );
                return None;
            }
            for r in roads {
                patrol.extend(r.line.0.first().copied());
                patrol.extend(r.line.0.last().copied());
            }
        }
        let frame = self.scene.frame;
        let local = |(lon, lat): (f64, f64)| -> Option<Coord> {
            ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat))
                .then(|| frame.to_local(lon, lat))
        };
        for p in &add.patrol_through {
            match local(*p) {
                Some(c) => patrol.push(c),
                None => {
                    self.error(
                        "units.add",
                        &add.agency,
                        format!(
                            "units.add: patrol_through: ({}, {}) is not a lon, lat",
                            p.0, p.1
                        ),
                    );
                    return None;
                }
            }
        }
        let home = match (&add.home_in, add.home_at) {
            (_, Some(p)) => match local(p) {
                Some(c) => c,
                None => {
                    self.error(
                        "units.add",
                        &add.agency,
                        format!("units.add: home_at: ({}, {}) is not a lon, lat", p.0, p.1),
                    );
                    return None;
                }
            },
            (Some(area), None) => {
                use geo::InteriorPoint;
                self.area(area)?.interior_point()?.0
            }
            (None, None) => *patrol.first()?,
        };
        if patrol.is_empty() {
            patrol.push(home);
        }
        Some((home, patrol, None))
    }

    fn surge(&mut self, s: &SurgeSpec, catalogue: &IncidentCatalogue) -> Option<Surge> {
        let mut ok = true;
        for key in &s.types {
            if catalogue.index_of(key).is_none() {
                self.error(
                    "incidents.surges",
                    key,
                    format!("incidents.surges: unknown incident type \"{key}\""),
                );
                ok = false;
            }
        }
        if !(s.factor.is_finite() && s.factor > 0.0) {
            self.error(
                "incidents.surges",
                "factor",
                format!("incidents.surges: factor {} must be a number > 0", s.factor),
            );
            ok = false;
        }
        let window = match &s.window {
            None => None,
            Some(w) => match window(w) {
                Ok(w) => Some(w),
                Err(e) => {
                    self.error(
                        "incidents.surges",
                        w,
                        format!("incidents.surges: window \"{w}\": {e}"),
                    );
                    ok = false;
                    None
                }
            },
        };
        let area = match &s.area {
            None => None,
            Some(a) => {
                let area = self.area(a);
                ok &= area.is_some();
                area
            }
        };
        ok.then(|| Surge {
            types: s.types.clone(),
            factor: s.factor,
            window,
            area,
        })
    }

    fn area(&mut self, a: &AreaSpec) -> Option<MultiPolygon> {
        let disc = |c: Coord, r: f64| -> Polygon {
            let ring: Vec<Coord> = (0..=48)
                .map(|i| {
                    let t = f64::from(i) / 48.0 * std::f64::consts::TAU;
                    Coord {
                        x: c.x + r * t.cos(),
                        y: c.y + r * t.sin(),
                    }
                })
                .collect();
            Polygon::new(ring.into(), vec![])
        };
        let radius_ok = |r: f64| r.is_finite() && r > 0.0;
        match a {
            AreaSpec::Subdistrict(code) => {
                let p = self.scene.grid.parts.iter().find(|p| &p.code == code);
                if p.is_none() {
                    self.error(
                        "incidents.surges",
                        code,
                        format!("incidents.surges: area: no subdistrict \"{code}\" in the grid"),
                    );
                }
                p.map(|p| p.area.clone())
            }
            AreaSpec::AroundLandmark { name, radius_m } => {
                let b = self.scene.buildings.iter().find(|b| {
                    b.landmark && b.name.as_deref().is_some_and(|n| n.contains(name.as_str()))
                });
                let c = b.and_then(|b| b.footprint.centroid());
                if c.is_none() {
                    self.error(
                        "incidents.surges",
                        name,
                        format!("incidents.surges: area: no landmark named like \"{name}\""),
                    );
                }
                if !radius_ok(*radius_m) {
                    self.error(
                        "incidents.surges",
                        name,
                        format!("incidents.surges: area: radius_m {radius_m} must be > 0"),
                    );
                    return None;
                }
                c.map(|c| MultiPolygon(vec![disc(c.0, *radius_m)]))
            }
            AreaSpec::AroundAssets { kind, radius_m } => {
                let Some(k) = AssetKind::parse(kind) else {
                    self.error(
                        "incidents.surges",
                        kind,
                        format!(
                            "incidents.surges: area: unknown asset kind \"{kind}\" (expected one of {})",
                            AssetKind::expected()
                        ),
                    );
                    return None;
                };
                if !radius_ok(*radius_m) {
                    self.error(
                        "incidents.surges",
                        kind,
                        format!("incidents.surges: area: radius_m {radius_m} must be > 0"),
                    );
                    return None;
                }
                let discs: Vec<Polygon> = self
                    .scene
                    .assets
                    .iter()
                    .filter(|x| x.kind == k)
                    .map(|x| disc(x.position.0, *radius_m))
                    .collect();
                if discs.is_empty() {
                    self.error(
                        "incidents.surges",
                        kind,
                        format!(
                            "incidents.surges: area: the scene has no asset of kind \"{kind}\""
                        ),
                    );
                    return None;
                }
                Some(MultiPolygon(discs))
            }
            AreaSpec::Polygon(vertices) => {
                let ring: Vec<Coord> = vertices
                    .iter()
                    .map(|(lon, lat)| self.scene.frame.to_local(*lon, *lat))
                    .collect();
                let p = Polygon::new(ring.into(), vec![]);
                if vertices.len() < 3 || p.unsigned_area() < 1.0 {
                    self.error(
                        "incidents.surges",
                        "Polygon",
                        "incidents.surges: area: a polygon needs at least 3 vertices and some area"
                            .into(),
                    );
                    return None;
                }
                Some(MultiPolygon(vec![p]))
            }
        }
    }
}

/// Parses `HH:MM-HH:MM` to seconds since midnight (the end may be `24:00`; a window may run
/// past midnight).
pub fn window(text: &str) -> Result<(f64, f64), String> {
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| "expected HH:MM-HH:MM".to_owned())?;
    let (a, b) = (parse_clock(a.trim())?, parse_clock(b.trim())?);
    if a == b {
        return Err("an empty window".into());
    }
    Ok((f64::from(a), f64::from(b)))
}

/// Whether two daily windows (`None`: all day) share any instant.
fn windows_overlap(a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return true;
    };
    // Minute by minute over a day: windows are given to the minute.
    (0..1440).any(|m| {
        let t = f64::from(m) * 60.0;
        binjiang_sim::in_daily_window(Some(a), t) && binjiang_sim::in_daily_window(Some(b), t)
    })
}

/// The scenarios a scene ships, by name.
pub fn list(scene_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scene_dir.join(SCENARIOS_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "ron").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}
