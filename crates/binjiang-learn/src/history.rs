//! An incident history as a control room exports it: a CSV with a header, columns in any
//! order. `time,type,lon,lat` are required; `reported_at,arrived_at,cleared_at,agency,
//! external_id` are optional. Times are ISO 8601; one without an offset is in the district's
//! local time (the offset given: `live.ron`'s `utc_offset`, else +08:00).
//!
//! A real export names its own categories: with a map (`source_type,type`), each is put onto a
//! catalogue type; a category with no mapping is counted and listed, never silently dropped.
//! A malformed row is named with its line and reason; more than 1 % of malformed rows refuses
//! the file (a wrong export, not a few typos) unless the caller allows it.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use std::collections::{BTreeMap, BTreeSet};

/// One incident of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its line in the file (1 is the header).
    pub line: usize,
    /// When it arose (or was first recorded), Unix milliseconds.
    pub time_ms: i64,
    /// The catalogue type (after mapping).
    pub incident_type: String,
    /// WGS84.
    pub lon: f64,
    /// WGS84.
    pub lat: f64,
    /// When it was reported, Unix milliseconds.
    pub reported_ms: Option<i64>,
    /// When a unit arrived.
    pub arrived_ms: Option<i64>,
    /// When it was cleared.
    pub cleared_ms: Option<i64>,
    /// The agency that handled it.
    pub agency: Option<String>,
    /// The exporting system's id.
    pub external_id: Option<String>,
}

/// A history read from a file: what could be used, and what could not, with why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Data rows in the file.
    pub rows: usize,
    /// Rows read, in file order.
    pub records: Vec<Record>,
    /// Malformed rows: line and reason.
    pub malformed: Vec<(usize, String)>,
    /// Rows whose category no mapping puts onto a type, by category.
    pub unmapped: BTreeMap<String, usize>,
    /// Rows whose type the catalogue does not know (no map given), by type.
    pub unknown_types: BTreeMap<String, usize>,
}

/// Why a history cannot be used at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryError {
    /// The header lacks a required column.
    #[error("{file}: the header has no \"{column}\" column (required: time, type, lon, lat)")]
    MissingColumn {
        /// The file.
        file: String,
        /// The column.
        column: &'static str,
    },
    /// The file is not CSV at all.
    #[error("{file}: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Too many malformed rows: probably the wrong export.
    #[error("{file}: {bad} of {rows} rows are malformed (more than 1 %), the first at line {first_line}: {first_reason}; pass --skip-bad to use the rest")]
    TooManyMalformed {
        /// The file.
        file: String,
        /// Malformed rows.
        bad: usize,
        /// Data rows.
        rows: usize,
        /// The first one's line.
        first_line: usize,
        /// And why.
        first_reason: String,
    },
}

/// Malformed rows allowed before the file is refused (unless `skip_bad`).
pub const MALFORMED_SHARE: f64 = 0.01;

/// Parses an ISO 8601 time; one without an offset is in `local`.
pub fn parse_time(text: &str, local: FixedOffset) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return local
                .from_local_datetime(&naive)
                .single()
                .map(|t| t.timestamp_millis());
        }
    }
    None
}

/// The header [`to_csv`] writes: every column [`parse`] reads.
pub const CSV_HEADER: &str =
    "time,type,lon,lat,reported_at,arrived_at,cleared_at,agency,external_id";

/// `records` as a history CSV that [`parse`] reads back: times ISO 8601 in `local`'s offset
/// (milliseconds only where a time has them), positions to 7 decimals (1 cm), empty fields where a record has none.
pub fn to_csv(records: &[Record], local: FixedOffset) -> String {
    let time = |ms: i64| {
        local
            .timestamp_millis_opt(ms)
            .single()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default()
    };
    let opt = |ms: Option<i64>| ms.map(time).unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(CSV_HEADER.split(','));
    for r in records {
        let _ = out.write_record([
            time(r.time_ms),
            r.incident_type.clone(),
            format!("{:.7}", r.lon),
            format!("{:.7}", r.lat),
            opt(r.reported_ms),
            opt(r.arrived_ms),
            opt(r.cleared_ms),
            r.agency.clone().unwrap_or_default(),
            r.external_id.clone().unwrap_or_default(),
        ]);
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Reads a history. `types` are the catalogue's keys; `map`, if given, puts an export's
/// categories onto them (then `type` holds the export's category). `file` names the file in
/// every message.
pub fn parse(
    file: &str,
    text: &str,
    types: &BTreeSet<String>,
    map: Option<&BTreeMap<String, String>>,
    local: FixedOffset,
    skip_bad: bool,
) -> Result<History, HistoryError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| HistoryError::Unreadable {
            file: file.into(),
            reason: e.to_string(),
        })?
        .clone();
    let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let required = |name: &'static str| {
        column(name).ok_or(HistoryError::MissingColumn {
            file: file.into(),
            column: name,
        })
    };
    let (c_time, c_type, c_lon, c_lat) = (
        required("time")?,
        required("type")?,
        required("lon")?,
        required("lat")?,
    );
    let optional = [
        column("reported_at"),
        column("arrived_at"),
        column("cleared_at"),
    ];
    let (c_agency, c_external) = (column("agency"), column("external_id"));
    let mut history = History::default();
    for (k, row) in reader.records().enumerate() {
        let line = k + 2;
        history.rows += 1;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                history.malformed.push((line, e.to_string()));
                continue;
            }
        };
        let get = |c: usize| row.get(c).unwrap_or("");
        let mut bad = |why: String| history.malformed.push((line, why));
        let Some(time_ms) = parse_time(get(c_time), local) else {
            bad(format!("time \"{}\" is not an ISO 8601 time", get(c_time)));
            continue;
        };
        let coordinate = |c: usize, name: &str, range: f64| -> Result<f64, String> {
            get(c)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && v.abs() <= range)
                .ok_or_else(|| format!("{name} \"{}\" is not a number in ±{range}", get(c)))
        };
        let (lon, lat) = match (
            coordinate(c_lon, "lon", 180.0),
            coordinate(c_lat, "lat", 90.0),
        ) {
            (Ok(lon), Ok(lat)) => (lon, lat),
            (Err(e), _) | (_, Err(e)) => {
                bad(e);
                continue;
            }
        };
        let category = get(c_type);
        if category.is_empty() {
            bad("type is empty".into());
            continue;
        }
        let incident_type = match map {
            Some(map) => match map.get(category) {
                Some(t) => t.clone(),
                None => {
                    *history.unmapped.entry(category.to_owned()).or_default() += 1;
                    continue;
                }
            },
            None => category.to_owned(),
        };
        if !types.contains(&incident_type) {
            *history.unknown_types.entry(incident_type).or_default() += 1;
            continue;
        }
        let mut times = [None; 3];
        let mut failed = None;
        for (slot, (c, name)) in
            times.iter_mut().zip(
                optional
                    .iter()
                    .zip(["reported_at", "arrived_at", "cleared_at"]),
            )
        {
            let Some(c) = c else { continue };
            let text = get(*c);
            if text.is_empty() {
                continue;
            }
            match parse_time(text, local) {
                Some(t) if t >= time_ms => *slot = Some(t),
                Some(_) => failed = Some(format!("{name} {text} is before the time")),
                None => failed = Some(format!("{name} \"{text}\" is not an ISO 8601 time")),
            }
        }
        if let Some(why) = failed {
            bad(why);
            continue;
        }
        let text_of = |c: Option<usize>| c.map(get).filter(|s| !s.is_empty()).map(str::to_owned);
        history.records.push(Record {
            line,
            time_ms,
            incident_type,
            lon,
            lat,
            reported_ms: times[0],
            arrived_ms: times[1],
            cleared_ms: times[2],
            agency: text_of(c_agency),
            external_id: text_of(c_external),
        });
    }
    let bad = history.malformed.len();
    if !skip_bad && bad as f64 > MALFORMED_SHARE * history.rows.max(1) as f64 {
        let (first_line, first_reason) = history.malformed[0].clone();
        return Err(HistoryError::TooManyMalformed {
            file: file.into(),
            bad,
            rows: history.rows,
            first_line,
            first_reason,
        });
    }
    Ok(history)
}

/// Reads a category map: CSV `source_type,type`, every target a catalogue type.
pub fn parse_map(
    file: &str,
    text: &str,
    types: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut map = BTreeMap::new();
    let mut problems = Vec::new();
    let header = reader.headers().cloned().unwrap_or_default();
    let (Some(c_from), Some(c_to)) = (
        header.iter().position(|h| h == "source_type"),
        header.iter().position(|h| h == "type"),
    ) else {
        return Err(vec![format!("{file}: the header must be source_type,type")]);
    };
    for (k, row) in reader.records().enumerate() {
        let line = k + 2;
        let Ok(row) = row else {
            problems.push(format!("{file}:{line}: not a CSV row"));
            continue;
        };
        let (from, to) = (row.get(c_from).unwrap_or(""), row.get(c_to).unwrap_or(""));
        if from.is_empty() || !types.contains(to) {
            problems.push(format!(
                "{file}:{line}: \"{from}\" → \"{to}\": the target is not a catalogue type"
            ));
            continue;
        }
        if map.insert(from.to_owned(), to.to_owned()).is_some() {
            problems.push(format!("{file}:{line}: \"{from}\" is mapped twice"));
        }
    }
    if problems.is_empty() {
        Ok(map)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn types() -> BTreeSet<String> {
        ["litter", "bin_overflow", "fight"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn shanghai() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn columns_in_any_order_local_times_and_optional_durations() {
        let text = "lat,lon,type,time,cleared_at,agency\n\
                    31.25,121.52,litter,2026-11-02 08:00:00,2026-11-02T08:12:00+08:00,cleaning\n\
                    31.26,121.53,fight,2026-11-02T01:00:00Z,,\n";
        let h = parse("h.csv", text, &types(), None, shanghai(), false).unwrap();
        assert_eq!(h.rows, 2);
        assert_eq!(h.records.len(), 2);
        let a = &h.records[0];
        assert_eq!(
            a.cleared_ms.unwrap() - a.time_ms,
            12 * 60 * 1000,
            "local time at +08:00"
        );
        assert_eq!(a.agency.as_deref(), Some("cleaning"));
        assert_eq!(
            h.records[1].time_ms - a.time_ms,
            60 * 60 * 1000,
            "01:00Z is 09:00 local"
        );
    }

    #[test]
    fn every_bad_row_is_named_and_many_refuse_the_file() {
        let mut text = String::from("time,type,lon,lat\n");
        for k in 0..200 {
            text.push_str(&format!(
                "2026-11-02T08:{:02}:00+08:00,litter,121.5,31.25\n",
                k % 60
            ));
        }
        text.push_str("yesterday,litter,121.5,31.25\n");
        text.push_str("2026-11-02T09:00:00+08:00,litter,east,31.25\n");
        let h = parse("h.csv", &text, &types(), None, shanghai(), false).unwrap();
        assert_eq!(h.malformed.len(), 2);
        assert_eq!(h.malformed[0].0, 202);
        assert!(h.malformed[0].1.contains("yesterday"));
        assert!(h.malformed[1].1.contains("lon \"east\""));
        text.push_str("2026-11-02T09:00:00+08:00,litter,121.5,\n");
        let e = parse("h.csv", &text, &types(), None, shanghai(), false).unwrap_err();
        assert!(
            matches!(e, HistoryError::TooManyMalformed { bad: 3, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("line 202"), "{e}");
        assert!(parse("h.csv", &text, &types(), None, shanghai(), true).is_ok());
        let e = parse(
            "h.csv",
            "when,type,lon,lat\n",
            &types(),
            None,
            shanghai(),
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"time\""), "{e}");
    }

    #[test]
    fn categories_are_mapped_and_the_unmapped_counted() {
        let map = parse_map(
            "m.csv",
            "source_type,type\n暴露垃圾,litter\nGarbage bin full,bin_overflow\n",
            &types(),
        )
        .unwrap();
        let text = "time,type,lon,lat\n\
                    2026-11-02T08:00:00+08:00,暴露垃圾,121.5,31.25\n\
                    2026-11-02T08:01:00+08:00,Graffiti,121.5,31.25\n\
                    2026-11-02T08:02:00+08:00,Graffiti,121.5,31.25\n";
        let h = parse("h.csv", text, &types(), Some(&map), shanghai(), false).unwrap();
        assert_eq!(h.records.len(), 1);
        assert_eq!(h.records[0].incident_type, "litter");
        assert_eq!(h.unmapped.get("Graffiti"), Some(&2));
        let problems = parse_map("m.csv", "source_type,type\nX,nonsense\n", &types()).unwrap_err();
        assert!(problems[0].contains("m.csv:2"), "{problems:?}");
    }

    proptest! {
        /// What `to_csv` writes, `parse` reads back as it was (positions to 1e-7°).
        #[test]
        fn written_histories_read_back(rows in proptest::collection::vec(
            (1_600_000_000_000i64..1_900_000_000_000, 0usize..3, -1800.0f64..1800.0,
             proptest::option::of(0i64..5_000_000), proptest::option::of(0i64..9_000_000),
             proptest::option::of("[a-z]{1,8}"), proptest::option::of("[A-Za-z0-9-]{1,12}")), 0..30)) {
            let keys: Vec<String> = types().into_iter().collect();
            let records: Vec<Record> = rows.iter().enumerate().map(|(k, (t, ty, d, rep, clr, agency, ext))| Record {
                line: k + 2,
                time_ms: *t,
                incident_type: keys[*ty].clone(),
                lon: ((121.5 + d / 1e4) * 1e7f64).round() / 1e7,
                lat: ((31.25 - d / 1e4) * 1e7f64).round() / 1e7,
                reported_ms: rep.map(|r| t + r),
                arrived_ms: None,
                cleared_ms: clr.map(|c| t + c),
                agency: agency.clone(),
                external_id: ext.clone(),
            }).collect();
            let text = to_csv(&records, shanghai());
            let h = parse("h.csv", &text, &types(), None, shanghai(), false).unwrap();
            prop_assert_eq!(h.malformed.len(), 0);
            prop_assert_eq!(h.records.len(), records.len());
            for (a, b) in h.records.iter().zip(&records) {
                prop_assert_eq!((a.time_ms, &a.incident_type, a.reported_ms, a.cleared_ms), (b.time_ms, &b.incident_type, b.reported_ms, b.cleared_ms));
                prop_assert_eq!((&a.agency, &a.external_id), (&b.agency, &b.external_id));
                prop_assert!((a.lon - b.lon).abs() < 1e-9 && (a.lat - b.lat).abs() < 1e-9);
            }
        }

        /// Any text is a history or a refusal naming the file: never a panic.
        #[test]
        fn any_text_parses_or_is_refused(text in ".{0,400}", rows in proptest::collection::vec("[0-9T:+ ,.a-z_-]{0,60}", 0..20)) {
            let mut body = String::from("time,type,lon,lat,reported_at,cleared_at\n");
            for r in &rows {
                body.push_str(r);
                body.push('\n');
            }
            for t in [text.as_str(), body.as_str()] {
                match parse("h.csv", t, &types(), None, shanghai(), false) {
                    Ok(h) => prop_assert!(h.records.len() + h.malformed.len() <= h.rows),
                    Err(e) => prop_assert!(e.to_string().starts_with("h.csv")),
                }
                let _ = parse_map("m.csv", t, &types());
            }
        }
    }
}
