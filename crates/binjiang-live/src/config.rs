//! `live.ron`: how the live service reads a district — its clock (UTC offset), the rules
//! that turn sensor observations into incidents, and the coverage below which each agency
//! is offered a move-up.
//!
//! A scene file like the others, checked the same way: every problem at once, each naming the
//! file and the rule (by asset kind) and setting that is wrong.

use binjiang_scene::{Agency, AssetKind, Location, Problems};
use binjiang_sim::IncidentCatalogue;
use chrono::FixedOffset;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The file's name inside a scene folder.
pub const LIVE_FILE: &str = "live.ron";

/// A SensorThings UnitOfMeasurement: how a Datastream's results are to be read.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct UnitOfMeasurement {
    /// Full name ("percent").
    pub name: String,
    /// Symbol ("%").
    pub symbol: String,
    /// A URI defining it (UCUM).
    pub definition: String,
}

/// What one kind of sensing asset measures and when that is an incident.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorRule {
    /// The asset kind carrying the sensor (every asset of this kind is a Thing).
    pub asset_kind: String,
    /// Short key of the quantity ("bin_fill"), used in Datastream names.
    pub quantity: String,
    /// The ObservedProperty's name ("Bin fill level").
    pub name: String,
    /// A URI defining the observed property.
    pub definition: String,
    /// Its unit of measurement.
    pub unit: UnitOfMeasurement,
    /// Values a healthy sensor can report, inclusive; anything else is refused as bad input.
    pub range: (f64, f64),
    /// A value at or above this raises the incident.
    pub alarm_at: f64,
    /// Once raised, the alarm re-arms (and an open incident is cleared by the sensor) only
    /// when a value falls below this: hysteresis, so a value hovering at the threshold does
    /// not open an incident every minute.
    pub clear_below: f64,
    /// Catalogue key of the incident type raised.
    pub incident_type: String,
    /// Compare with the site's learned tide where the service has one (`serve --model`):
    /// above its 99th percentile for the hour of the week raises, below its 95th re-arms;
    /// `alarm_at` / `clear_below` are the fallback for sites without a tide.
    #[serde(default)]
    pub tide: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveFile {
    utc_offset: String,
    sensors: Vec<SensorRule>,
    /// Per agency key, the coverage below which a move-up is proposed.
    #[serde(default)]
    move_up: BTreeMap<String, f64>,
}

/// The checked contents of `live.ron`.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The district's offset from UTC: its midnight is the simulation's day origin.
    pub utc_offset: FixedOffset,
    /// One rule per sensing asset kind.
    pub rules: Vec<(AssetKind, SensorRule)>,
    /// Per agency, the share of the hour's demand within 3 minutes of a free unit below
    /// which the twin proposes a move-up (agencies not named: never; issue 19).
    pub move_up: BTreeMap<Agency, f64>,
}

impl LiveConfig {
    /// Reads and checks `live.ron` in scene folder `dir` against the catalogue.
    pub fn load(dir: &Path, catalogue: &IncidentCatalogue) -> Result<Self, Problems> {
        let path = dir.join(LIVE_FILE);
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let mut p = Problems::default();
            p.error(&file, Location::File, format!("cannot read: {e}"));
            p
        })?;
        Self::from_ron(&file, &text, catalogue)
    }

    /// Parses and checks the text of a `live.ron` named `file`.
    pub fn from_ron(
        file: &str,
        text: &str,
        catalogue: &IncidentCatalogue,
    ) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let raw: LiveFile = ron::from_str(text).map_err(|e| {
            problems.ron_syntax(file, &e);
            problems.clone()
        })?;
        let utc_offset = parse_offset(&raw.utc_offset);
        if utc_offset.is_none() {
            problems.error(
                file,
                Location::Item {
                    kind: "setting",
                    id: "utc_offset".into(),
                },
                format!("\"{}\" is not an offset like \"+08:00\"", raw.utc_offset),
            );
        }
        let mut rules = Vec::new();
        for r in raw.sensors {
            let at = Location::Item {
                kind: "sensor rule",
                id: r.asset_kind.clone(),
            };
            let mut bad = |m: String| problems.error(file, at.clone(), m);
            let kind = AssetKind::parse(&r.asset_kind);
            match kind {
                None => bad(format!(
                    "asset_kind: unknown kind \"{}\" (expected one of {})",
                    r.asset_kind,
                    AssetKind::expected()
                )),
                Some(k) if rules.iter().any(|(o, _)| *o == k) => {
                    bad("asset_kind: a second rule for the same kind".into())
                }
                Some(_) => {}
            }
            if !catalogue.types.iter().any(|t| t.key == r.incident_type) {
                bad(format!(
                    "incident_type: \"{}\" is not in the catalogue",
                    r.incident_type
                ));
            }
            let (lo, hi) = r.range;
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                bad(format!(
                    "range: ({lo}, {hi}) must be two finite numbers, low < high"
                ));
            } else if !(lo..=hi).contains(&r.alarm_at) {
                bad(format!(
                    "alarm_at: {} is outside range ({lo}, {hi})",
                    r.alarm_at
                ));
            }
            if !(r.clear_below.is_finite() && r.clear_below <= r.alarm_at) {
                bad(format!(
                    "clear_below: {} must be a number at most alarm_at ({})",
                    r.clear_below, r.alarm_at
                ));
            }
            if r.quantity.is_empty()
                || !r
                    .quantity
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            {
                bad(format!(
                    "quantity: \"{}\" must be a snake_case key",
                    r.quantity
                ));
            }
            if let Some(k) = kind {
                rules.push((k, r));
            }
        }
        let mut move_up = BTreeMap::new();
        for (key, threshold) in &raw.move_up {
            let at = Location::Item {
                kind: "move_up threshold",
                id: key.clone(),
            };
            match Agency::parse(key) {
                None => problems.error(
                    file,
                    at,
                    format!(
                        "move_up: unknown agency \"{key}\" (expected one of {})",
                        Agency::expected()
                    ),
                ),
                Some(_) if !(0.0..=1.0).contains(threshold) => problems.error(
                    file,
                    at,
                    format!("move_up: {threshold} must be a share from 0 to 1"),
                ),
                Some(a) => {
                    move_up.insert(a, *threshold);
                }
            }
        }
        if problems.has_errors() {
            return Err(problems);
        }
        Ok(LiveConfig {
            utc_offset: utc_offset.expect("checked above"),
            rules,
            move_up,
        })
    }

    /// The rule for assets of `kind`, if they carry a sensor.
    pub fn rule(&self, kind: AssetKind) -> Option<&SensorRule> {
        self.rules.iter().find(|(k, _)| *k == kind).map(|(_, r)| r)
    }
}

/// `+HH:MM` or `-HH:MM` as a fixed offset.
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = text[1..].split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 || h < 0 || m < 0 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tiny_catalogue() -> IncidentCatalogue {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
        let text = std::fs::read_to_string(dir.join("incident_types.ron")).unwrap();
        IncidentCatalogue::from_ron("incident_types.ron", &text).unwrap()
    }

    const GOOD: &str = r#"(utc_offset: "+08:00", sensors: [(asset_kind: "bin", quantity: "bin_fill", name: "Bin fill",
        definition: "d", unit: (name: "percent", symbol: "%", definition: "u"), range: (0.0, 100.0),
        alarm_at: 90.0, clear_below: 60.0, incident_type: "bin_overflow")])"#;

    /// Every problem of `text`, as printed.
    fn problems(text: &str) -> String {
        LiveConfig::from_ron("live.ron", text, &tiny_catalogue())
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn the_good_file_loads() {
        let c = LiveConfig::from_ron("live.ron", GOOD, &tiny_catalogue()).unwrap();
        assert_eq!(c.rules.len(), 1);
        assert!(c.rule(AssetKind::Bin).is_some());
    }

    #[test]
    fn each_bad_setting_is_named() {
        let cases = [
            (GOOD.replace("+08:00", "CST"), "utc_offset"),
            (GOOD.replace("\"bin\"", "\"bench\""), "asset_kind: unknown kind \"bench\""),
            (GOOD.replace("bin_overflow", "bin_fire"), "incident_type: \"bin_fire\""),
            (GOOD.replace("(0.0, 100.0)", "(100.0, 0.0)"), "range"),
            (GOOD.replace("alarm_at: 90.0", "alarm_at: 190.0"), "alarm_at: 190"),
            (GOOD.replace("clear_below: 60.0", "clear_below: 95.0"), "clear_below: 95"),
            (GOOD.replace("\"bin_fill\"", "\"Bin Fill\""), "quantity"),
            (
                GOOD.replacen(
                    "])",
                    ", (asset_kind: \"bin\", quantity: \"x\", name: \"x\", definition: \"d\", unit: (name: \"n\", symbol: \"s\", definition: \"u\"), range: (0.0, 1.0), alarm_at: 1.0, clear_below: 0.5, incident_type: \"bin_overflow\")])",
                    1,
                ),
                "a second rule",
            ),
            (GOOD.replace("sensors:", "sensorz:"), "live.ron:1:"),
        ];
        for (text, expected) in cases {
            let p = problems(&text);
            assert!(p.contains("live.ron"), "{p}");
            assert!(p.contains(expected), "expected {expected:?} in {p}");
        }
        // Several problems at once, each named.
        let both = GOOD
            .replace("+08:00", "CST")
            .replace("bin_overflow", "bin_fire");
        let p = problems(&both);
        assert!(p.contains("utc_offset") && p.contains("bin_fire"), "{p}");
    }

    proptest! {
        #[test]
        fn any_text_is_a_config_or_named_problems(text in ".{0,300}") {
            let _ = LiveConfig::from_ron("live.ron", &text, &tiny_catalogue());
        }

        #[test]
        fn any_offset_text_parses_or_is_refused(text in "[-+]?[0-9:]{0,8}") {
            let _ = parse_offset(&text);
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+08:00").unwrap().local_minus_utc(), 8 * 3600);
        assert_eq!(
            parse_offset("-05:30").unwrap().local_minus_utc(),
            -(5 * 3600 + 1800)
        );
        for bad in ["08:00", "+8", "+25:00", "+08:61", ""] {
            assert!(parse_offset(bad).is_none(), "{bad}");
        }
    }
}
