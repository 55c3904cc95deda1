//! Every input, however it arrives — HTTP, MQTT or the bus — is checked here and taken here:
//! an Observation (and the dataArray extension), a hotline or camera report, a unit's GPS
//! fixes. Checking names the field at fault and keeps nothing; taking goes straight to the
//! twin, or (`serve --ingest-via-bus`) through the bus, and answers once the input is on disk.
//! The HTTP handlers, the MQTT ingest and the bus ingest all call these, so one input is
//! judged alike whichever way it came.

use crate::error::ApiError;
use crate::forward::{fixes_body, observations_body, Forward, WAIT};
use crate::http::AppState;
use crate::store::PositionRow;
use crate::twin::{BusOutcome, NewFix, NewObservation, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use binjiang_sim::{Place, Report, Source};
use geo::BoundingRect;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

/// Observations may be stamped at most this long before now, seconds (gateways buffer
/// through outages of up to a week).
pub const OBSERVATION_MAX_AGE_S: f64 = 7.0 * 24.0 * 3600.0;

/// Reports may be stamped at most this long before now, seconds (a day: later is a record,
/// not a call to dispatch on).
pub const REPORT_MAX_AGE_S: f64 = 24.0 * 3600.0;

/// Anything stamped more than this after now is refused, seconds (clock skew allowance).
pub const MAX_SKEW_S: f64 = 300.0;

/// A report as hotlines and cameras send it.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportIn {
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    source: String,
    #[serde(rename = "type")]
    incident_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asset_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(default)]
    text: String,
}

impl ReportIn {
    /// Its bus message: the id is its `external_id` and a hash of its content, so the bus
    /// folds a retry (same id, same content) into the first copy, while other content under a
    /// used id is a new message the twin refuses (409). Stamped `now` when it has no time, so
    /// the twin takes it for when it arrived here.
    pub fn bus_message(mut self, now: String) -> (Option<String>, serde_json::Value) {
        let id = self.external_id.as_ref().map(|e| {
            use sha2::{Digest, Sha256};
            let content = serde_json::to_vec(&self).expect("plain data");
            let digest = Sha256::digest(&content);
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("{e}-{hex}")
        });
        self.time.get_or_insert(now);
        (id, serde_json::to_value(&self).expect("plain data"))
    }
}

/// Checks a report (an HTTP body or a bus message) as the twin will take it.
pub fn report_of(state: &AppState, r: ReportIn) -> Result<Report, ApiError> {
    let source = Source::parse(&r.source).ok_or_else(|| {
        ApiError::invalid(
            "source",
            format!(
                "unknown source \"{}\" (expected one of {})",
                r.source,
                Source::expected()
            ),
        )
    })?;
    if state.catalogue.index_of(&r.incident_type).is_none() {
        return Err(ApiError::invalid(
            "type",
            format!("unknown incident type \"{}\"", r.incident_type),
        ));
    }
    if let Some(e) = &r.external_id {
        if e.is_empty() || e.len() > 200 {
            return Err(ApiError::invalid(
                "external_id",
                "must be 1 to 200 characters",
            ));
        }
    }
    let place = match (&r.asset_id, r.lon, r.lat) {
        (Some(a), None, None) => {
            if !state.scene.assets.iter().any(|x| &x.id == a) {
                return Err(ApiError::invalid(
                    "asset_id",
                    format!("no asset \"{a}\" in the scene"),
                ));
            }
            Place::Asset(a.clone())
        }
        (None, Some(lon), Some(lat)) => Place::At(local_in_district(state, lon, lat)?),
        (Some(_), _, _) => {
            return Err(ApiError::invalid(
                "asset_id",
                "give asset_id or lon/lat, not both",
            ))
        }
        _ => {
            return Err(ApiError::invalid(
                "lon",
                "a report needs lon and lat, or asset_id",
            ))
        }
    };
    let now = state.clock.now();
    let time = match &r.time {
        None => now,
        Some(t) => {
            let t = state.clock.parse(t).ok_or_else(|| {
                ApiError::invalid("time", format!("\"{t}\" is not an RFC 3339 time"))
            })?;
            check_time("time", t, now, REPORT_MAX_AGE_S)?;
            t
        }
    };
    Ok(Report {
        external_id: r.external_id,
        time,
        source,
        incident_type: r.incident_type,
        place,
        text: r.text,
    })
}

/// WGS84 → local metres, refusing points far outside the district.
fn local_in_district(state: &AppState, lon: f64, lat: f64) -> Result<[f64; 2], ApiError> {
    if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
        return Err(ApiError::invalid(
            "lon",
            format!("{lon} is not a longitude"),
        ));
    }
    if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
        return Err(ApiError::invalid("lat", format!("{lat} is not a latitude")));
    }
    let p = state.scene.frame.to_local(lon, lat);
    let margin = 2000.0;
    let outside = state.scene.grid.outline.bounding_rect().is_none_or(|b| {
        p.x < b.min().x - margin
            || p.x > b.max().x + margin
            || p.y < b.min().y - margin
            || p.y > b.max().y + margin
    });
    if outside {
        return Err(ApiError::invalid(
            "lon",
            format!("({lon}, {lat}) is more than {margin} m outside the district"),
        ));
    }
    Ok([p.x, p.y])
}

/// Refuses a time more than `max_age_s` before `now` or [`MAX_SKEW_S`] after it.
pub fn check_time(field: &str, t: f64, now: f64, max_age_s: f64) -> Result<(), ApiError> {
    if t > now + MAX_SKEW_S {
        return Err(ApiError::invalid(
            field,
            format!("{:.0} s in the future (more than {MAX_SKEW_S} s)", t - now),
        ));
    }
    if t < now - max_age_s {
        return Err(ApiError::invalid(
            field,
            format!("{:.0} s in the past (more than {max_age_s} s)", now - t),
        ));
    }
    Ok(())
}

/// Checks one unit's GPS fixes (an HTTP body or a bus message); `prefix` names the list in
/// errors.
pub fn fixes_of(
    state: &AppState,
    unit: &str,
    list: Vec<FixIn>,
    prefix: &str,
) -> Result<Vec<NewFix>, ApiError> {
    if list.is_empty() {
        return Err(ApiError::invalid("fixes", "no fixes"));
    }
    let now = state.clock.now();
    let mut fixes = Vec::with_capacity(list.len());
    for (k, f) in list.iter().enumerate() {
        let at = |field: &str| format!("{prefix}[{k}].{field}");
        let t = state.clock.parse(&f.time).ok_or_else(|| {
            ApiError::invalid(
                at("time"),
                format!("\"{}\" is not an RFC 3339 time", f.time),
            )
        })?;
        check_time(&at("time"), t, now, REPORT_MAX_AGE_S)?;
        let local = local_in_district(state, f.lon, f.lat)
            .map_err(|e| e.within(&format!("{prefix}[{k}]")))?;
        fixes.push(NewFix {
            row: PositionRow {
                unit: unit.to_owned(),
                at_ms: state.clock.unix_ms(t),
                lon: f.lon,
                lat: f.lat,
            },
            local,
        });
    }
    Ok(fixes)
}

/// One GPS fix.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FixIn {
    time: String,
    lon: f64,
    lat: f64,
}

/// Checks an Observation as posted over HTTP or MQTT or published on the bus (result,
/// optional times, and, unless the path or topic names it, its Datastream) at the twin's time
/// `now`: every ingest takes this one path.
pub fn observation_in(
    state: &AppState,
    v: &Value,
    stream: Option<u64>,
    now: f64,
) -> Result<NewObservation, ApiError> {
    let o = v
        .as_object()
        .ok_or_else(|| ApiError::invalid("", "an Observation must be a JSON object"))?;
    let datastream = match stream {
        Some(ds) => ds,
        None => {
            let link = o.get("Datastream").ok_or_else(|| {
                ApiError::invalid(
                    "Datastream",
                    "the Observation has no Datastream link ({\"@iot.id\": n})",
                )
            })?;
            let id = link
                .get("@iot.id")
                .ok_or_else(|| ApiError::invalid("Datastream.@iot.id", "missing"))?;
            id.as_u64()
                .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| {
                    ApiError::invalid("Datastream.@iot.id", format!("{id} is not a Datastream id"))
                })?
        }
    };
    let rule = state.things.rule_of(datastream).ok_or_else(|| {
        let why = match state.things.get(datastream) {
            Some(t) => format!(
                "Datastreams({datastream}) belongs to {} {}, removed from the scene{}: its history is readable, new observations are not taken",
                t.kind,
                t.asset_id,
                t.retired.as_deref().map(|at| format!(" at {at}")).unwrap_or_default()
            ),
            None => format!("no Datastreams({datastream})"),
        };
        ApiError::invalid("Datastream.@iot.id", why)
    })?;
    let result = match o.get("result") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        Some(other) => {
            return Err(ApiError::invalid(
                "result",
                format!("{other} is not a number"),
            ))
        }
        None => return Err(ApiError::invalid("result", "missing")),
    };
    let (lo, hi) = rule.range;
    if !(result.is_finite() && (lo..=hi).contains(&result)) {
        return Err(ApiError::invalid(
            "result",
            format!(
                "{result} {} is outside the sensor's range {lo}..{hi}",
                rule.unit.symbol
            ),
        ));
    }
    let time_of = |field: &str| -> Result<Option<f64>, ApiError> {
        match o.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                // An interval start/end: the observation's time is its end.
                let instant = s.rsplit('/').next().unwrap_or(s);
                let t = state.clock.parse(instant).ok_or_else(|| {
                    ApiError::invalid(field, format!("\"{s}\" is not an ISO 8601 time"))
                })?;
                check_time(field, t, now, OBSERVATION_MAX_AGE_S)?;
                Ok(Some(t))
            }
            Some(other) => Err(ApiError::invalid(
                field,
                format!("{other} is not an ISO 8601 time"),
            )),
        }
    };
    let phenomenon = time_of("phenomenonTime")?.unwrap_or(now);
    let result_time = time_of("resultTime")?.unwrap_or(phenomenon);
    Ok(NewObservation {
        datastream,
        phenomenon_ms: state.clock.unix_ms(phenomenon),
        result_time_ms: state.clock.unix_ms(result_time),
        result,
    })
}

/// The dataArray extension: `[{"Datastream": {"@iot.id": n}, "components": [...], "dataArray": [[...], ...]}]`.
/// Every row is checked before any is taken: a bad row refuses the whole request, naming it.
pub fn data_arrays(state: &AppState, v: &Value, now: f64) -> Result<Vec<NewObservation>, ApiError> {
    let arrays = v.as_array().ok_or_else(|| {
        ApiError::invalid(
            "",
            "CreateObservations takes a JSON array of dataArray documents",
        )
    })?;
    let mut out = Vec::new();
    for (i, doc) in arrays.iter().enumerate() {
        let at = |f: &str| format!("[{i}].{f}");
        let link = doc
            .get("Datastream")
            .ok_or_else(|| ApiError::invalid(at("Datastream"), "missing"))?;
        let components: Vec<&str> = doc
            .get("components")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid(at("components"), "missing or not an array"))?
            .iter()
            .map(|c| c.as_str().unwrap_or(""))
            .collect();
        if !components.contains(&"result") {
            return Err(ApiError::invalid(
                at("components"),
                "must include \"result\"",
            ));
        }
        if let Some(c) = components
            .iter()
            .find(|c| !matches!(**c, "phenomenonTime" | "resultTime" | "result" | "id"))
        {
            return Err(ApiError::invalid(
                at("components"),
                format!("unsupported component \"{c}\""),
            ));
        }
        let rows = doc
            .get("dataArray")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid(at("dataArray"), "missing or not an array"))?;
        for (j, row) in rows.iter().enumerate() {
            let cells = row
                .as_array()
                .filter(|r| r.len() == components.len())
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!("[{i}].dataArray[{j}]"),
                        format!("must be an array of {} values", components.len()),
                    )
                })?;
            let mut obj = Map::new();
            obj.insert("Datastream".into(), link.clone());
            for (c, cell) in components.iter().zip(cells) {
                if *c != "id" {
                    obj.insert((*c).to_owned(), cell.clone());
                }
            }
            let o = observation_in(state, &Value::Object(obj), None, now)
                .map_err(|e| e.within(&format!("[{i}].dataArray[{j}]")))?;
            out.push(o);
        }
    }
    if out.is_empty() {
        return Err(ApiError::invalid("dataArray", "no observations"));
    }
    Ok(out)
}

/// An input taken through the bus: applied (with what the twin answered), or stored but not
/// yet applied.
#[derive(Debug)]
pub enum Accepted<T> {
    /// Taken by the twin and on disk.
    Applied(T),
    /// Stored on the bus as this message; the twin has not taken it yet.
    Pending(u64),
}

/// The 202 answer for an input stored on the bus that the twin has not taken yet.
pub fn pending(seq: u64) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({
            "bus_seq": seq,
            "status": "stored on the bus (replicated, on disk); the twin has not taken it yet and will"
        })),
    )
        .into_response()
}

/// Publishes through `forward` and waits for the twin's outcome.
async fn publish_and_wait(
    state: &AppState,
    forward: &dyn Forward,
    kind: &'static str,
    id: Option<String>,
    body: &serde_json::Value,
) -> Result<Accepted<BusOutcome>, ApiError> {
    let payload = serde_json::to_vec(body).expect("plain data");
    let (seq, duplicate) = forward.publish(kind, id, payload).await.map_err(|e| {
        ApiError::unavailable(
            format!("the bus did not store it, nothing was kept: {e}"),
            2,
        )
    })?;
    let wait = async {
        let (tx, rx) = oneshot::channel();
        state
            .requests
            .send(Request::AwaitBus { seq, reply: tx })
            .await
            .ok()?;
        let receipt = rx.await.ok()?.ok()?;
        match receipt.durable.await {
            Ok(Ok(())) => Some(receipt.value),
            _ => None,
        }
    };
    Ok(match tokio::time::timeout(WAIT, wait).await {
        // A retry the bus folded into the first copy: the same incident, not a new one.
        Ok(Some(BusOutcome::Report { incident, .. })) if duplicate => {
            Accepted::Applied(BusOutcome::Report {
                incident,
                new: false,
            })
        }
        Ok(Some(outcome)) => Accepted::Applied(outcome),
        _ => Accepted::Pending(seq),
    })
}

/// What an unexpected outcome means: the twin answered another kind of input.
fn mismatch(outcome: &BusOutcome) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the twin answered {outcome:?} for this input"),
    )
}

impl AppState {
    /// Publishes `body` on the district's `kind` subject, waits for the twin to take it, and
    /// picks the answer of this kind of input (a refusal is the twin's 4xx).
    async fn through_bus<T>(
        &self,
        forward: &dyn Forward,
        kind: &'static str,
        id: Option<String>,
        body: &serde_json::Value,
        pick: fn(BusOutcome) -> Result<T, BusOutcome>,
    ) -> Result<Accepted<T>, ApiError> {
        match publish_and_wait(self, forward, kind, id, body).await? {
            Accepted::Pending(seq) => Ok(Accepted::Pending(seq)),
            Accepted::Applied(BusOutcome::Refused(e)) => Err(e),
            Accepted::Applied(outcome) => pick(outcome)
                .map(Accepted::Applied)
                .map_err(|other| mismatch(&other)),
        }
    }

    /// Takes checked observations: straight to the twin, or through the bus.
    pub async fn take_observations(
        &self,
        items: Vec<NewObservation>,
    ) -> Result<Accepted<Vec<u64>>, ApiError> {
        let Some(forward) = self.forward.clone() else {
            return self
                .submit(|reply| Request::Observations { items, reply })
                .await
                .map(Accepted::Applied);
        };
        let body = observations_body(&items);
        self.through_bus(forward.as_ref(), "observations", None, &body, |o| match o {
            BusOutcome::Observations(ids) => Ok(ids),
            other => Err(other),
        })
        .await
    }

    /// Takes a checked report: straight to the twin, or through the bus as `message` makes
    /// it (its message id and body); answers the incident and whether it is new.
    pub async fn take_report(
        &self,
        report: Report,
        message: impl FnOnce() -> (Option<String>, serde_json::Value),
    ) -> Result<Accepted<(u32, bool)>, ApiError> {
        let Some(forward) = self.forward.clone() else {
            return self
                .submit(|reply| Request::Report { report, reply })
                .await
                .map(Accepted::Applied);
        };
        let (id, body) = message();
        self.through_bus(forward.as_ref(), "reports", id, &body, |o| match o {
            BusOutcome::Report { incident, new } => Ok((incident, new)),
            other => Err(other),
        })
        .await
    }

    /// Takes one unit's checked fixes: straight to the twin, or through the bus; answers how
    /// many were kept.
    pub async fn take_fixes(
        &self,
        unit: String,
        fixes: Vec<NewFix>,
    ) -> Result<Accepted<usize>, ApiError> {
        let Some(forward) = self.forward.clone() else {
            return self
                .submit(|reply| Request::Fixes { unit, fixes, reply })
                .await
                .map(Accepted::Applied);
        };
        let body = fixes_body(&unit, &fixes);
        self.through_bus(forward.as_ref(), "positions", None, &body, |o| match o {
            BusOutcome::Fixes(kept) => Ok(kept),
            other => Err(other),
        })
        .await
    }
}
