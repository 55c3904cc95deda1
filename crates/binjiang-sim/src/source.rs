//! What arrives, apart from what happens: where incidents come from, and the input log.
//!
//! Like A/B Street's scenarios, the simulation does not decide what the day brings. An
//! [`IncidentSource`] feeds the dispatcher: incidents generated from the catalogue, a
//! recorded list replayed at its times, or only [`Report`]s pushed in from outside (a
//! hotline, a camera, a live service). Every report and operator command accepted is kept in
//! the input log ([`InputRecord`]), separate from the event log of what happened.

use crate::catalogue::{IncidentCatalogue, Source};
use binjiang_scene::{LocalFrame, Location, Problems};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where a run's incidents come from.
#[derive(Debug, Clone)]
pub enum IncidentSource {
    /// Drawn hour by hour from the catalogue's rates and places.
    Generated,
    /// A recorded list, each report entering at its time.
    Recorded(Arc<Vec<Report>>),
    /// Nothing but reports pushed in with [`crate::Simulation::report`].
    External,
}

/// Where a report says the incident is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// Local metres east and north of the scene's origin.
    At([f64; 2]),
    /// At a scene asset, by its id (a bin's fill sensor, a camera).
    Asset(String),
}

/// An incident reported from outside the simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The reporting system's id (a 12345 ticket number); reports are idempotent on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// When it was reported, simulation seconds. A time already past is taken as is for the
    /// incident (it arose then) but the clock never moves back: it is dispatched now.
    pub time: f64,
    /// Who reported it.
    pub source: Source,
    /// Catalogue key of its type.
    pub incident_type: String,
    /// Where.
    pub place: Place,
    /// Free text from the caller or operator.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The type is not in the catalogue.
    #[error("incident_type: unknown type \"{0}\"")]
    UnknownType(String),
    /// The asset id is not in the scene.
    #[error("asset_id: no asset \"{0}\" in the scene")]
    UnknownAsset(String),
    /// The time or position is not a number.
    #[error("{0}: must be a finite number")]
    NotFinite(&'static str),
}

/// One accepted input, with the simulation time it was accepted at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// Simulation seconds when it was accepted.
    pub t: f64,
    /// What came in.
    #[serde(flatten)]
    pub input: Input,
}

/// What came in from outside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum Input {
    /// A report (the incident number it became).
    Report {
        /// The report.
        report: Report,
        /// The incident it opened (or the one it duplicated).
        incident: u32,
    },
    /// An operator's command.
    Command {
        /// Who.
        operator: String,
        /// Why, in their words.
        reason: String,
        /// What.
        command: crate::simulation::operator::Command,
    },
    /// A unit's crew reported its status from its terminal.
    Status {
        /// The unit's id.
        unit: String,
        /// What the crew reported.
        status: crate::simulation::operator::CrewStatus,
    },
    /// A unit's GPS fix, local metres.
    Fix {
        /// The unit's id.
        unit: String,
        /// Where it was, local metres.
        position: [f64; 2],
    },
}

/// Parses a recorded incident list: CSV with a header, columns `time,type,lon,lat` (time
/// `HH:MM:SS` from the run's midnight, `type` a catalogue key; `lon,lat` WGS84) and optional
/// `asset_id,external_id,source`. A row may give an `asset_id` instead of a position. Every
/// bad row is reported with its line number; nothing is half-read.
pub fn parse_recorded(
    file: &str,
    text: &str,
    catalogue: &IncidentCatalogue,
    frame: &LocalFrame,
) -> Result<Vec<Report>, Problems> {
    let mut problems = Problems::default();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.error(file, line_at(1), format!("unreadable header: {e}"));
            return Err(problems);
        }
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let (time, ty, lon, lat) = (column("time"), column("type"), column("lon"), column("lat"));
    let (asset, external, source) = (column("asset_id"), column("external_id"), column("source"));
    for (name, c) in [("time", time), ("type", ty), ("lon", lon), ("lat", lat)] {
        if c.is_none() {
            problems.error(
                file,
                line_at(1),
                format!("the header has no \"{name}\" column (expected time,type,lon,lat[,asset_id,external_id,source])"),
            );
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }
    let mut out = Vec::new();
    for row in reader.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.error(file, line_at(line), e.to_string());
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line() as usize);
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("");
        let mut bad = |m: String| problems.error(file, line_at(line), m);
        let Some(t) = parse_hms(get(time)) else {
            bad(format!(
                "time \"{}\" is not HH:MM:SS (hours may pass 24 for later days)",
                get(time)
            ));
            continue;
        };
        let key = get(ty);
        if catalogue.index_of(key).is_none() {
            bad(format!("type \"{key}\" is not in the catalogue"));
            continue;
        }
        let source = match get(source) {
            "" => catalogue.types[catalogue.index_of(key).unwrap_or(0)].source,
            s => match Source::parse(s) {
                Some(s) => s,
                None => {
                    bad(format!(
                        "source \"{s}\" is not one of: {}",
                        Source::expected()
                    ));
                    continue;
                }
            },
        };
        let place = match (get(asset), get(lon).parse::<f64>(), get(lat).parse::<f64>()) {
            (id, _, _) if !id.is_empty() => Place::Asset(id.to_owned()),
            (_, Ok(x), Ok(y))
                if x.is_finite()
                    && y.is_finite()
                    && (-180.0..=180.0).contains(&x)
                    && (-90.0..=90.0).contains(&y) =>
            {
                let p = frame.to_local(x, y);
                Place::At([p.x, p.y])
            }
            _ => {
                bad(format!(
                    "lon \"{}\", lat \"{}\": need a WGS84 position (or an asset_id)",
                    get(lon),
                    get(lat)
                ));
                continue;
            }
        };
        let external_id = Some(get(external))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        out.push(Report {
            external_id,
            time: t,
            source,
            incident_type: key.to_owned(),
            place,
            text: String::new(),
        });
    }
    if problems.has_errors() {
        return Err(problems);
    }
    out.sort_by(|a, b| a.time.total_cmp(&b.time));
    Ok(out)
}

fn line_at(line: usize) -> Location {
    Location::Text { line, column: 1 }
}

/// `HH:MM:SS` (or `HH:MM`) as seconds; hours may exceed 23 for later days.
fn parse_hms(text: &str) -> Option<f64> {
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let h: u32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let s: f64 = parts.get(2).map_or(Some(0.0), |s| s.parse().ok())?;
    (m < 60 && (0.0..60.0).contains(&s)).then(|| f64::from(h * 3600 + m * 60) + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_seconds_from_midnight() {
        assert_eq!(parse_hms("08:30:15"), Some(30_615.0));
        assert_eq!(parse_hms("25:00"), Some(90_000.0));
        assert_eq!(parse_hms("8:61:00"), None);
        assert_eq!(parse_hms("noon"), None);
    }
}
