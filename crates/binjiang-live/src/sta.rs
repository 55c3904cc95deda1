//! OGC SensorThings API v1.1 (Sensing part) under `/v1.1`: the convention sensor gateways
//! and smart-city platforms speak. Things, Locations, Sensors, ObservedProperties and
//! Datastreams come from the scene (read only); Observations are created by gateways and
//! kept in SQLite. Reads take `$top`, `$skip`, `$count`, `$orderby`, `$select`, `$expand`
//! (nested, with its own options: [`expand`]) and, on Observations, `$filter` on
//! `phenomenonTime`, `resultTime`, `result` and `id`.

use crate::auth::{Caller, Need};
use crate::error::ApiError;
use crate::http::{base_url, parse_json, AppState};
use crate::inputs::{data_arrays, observation_in, pending, Accepted};
use crate::things::Thing;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::Value as SqlValue;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

mod expand;
use expand::Expand;

/// Default and largest `$top`.
const TOP_DEFAULT: usize = 100;
const TOP_MAX: usize = 10_000;
/// Largest `$skip`: more rows than any district will ever store, and small enough that
/// `$skip + $top + 1` is exact in SQLite's 64-bit integers (a larger one is a 400, not a
/// failed read).
const SKIP_MAX: usize = 1_000_000_000_000_000;
const MEASUREMENT: &str = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1.1", get(root))
        .route("/v1.1/", get(root))
        .route("/v1.1/{*path}", get(read).post(create))
}

async fn root(headers: HeaderMap) -> Json<Value> {
    let base = format!("{}/v1.1", base_url(&headers));
    let sets = [
        "Things",
        "Locations",
        "HistoricalLocations",
        "Datastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    ];
    Json(json!({
        "value": sets.iter().map(|s| json!({"name": s, "url": format!("{base}/{s}")})).collect::<Vec<_>>(),
        "serverSettings": {
            "conformance": [
                "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/create-entity",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array"
            ]
        }
    }))
}

/// One step of a resource path: `Things(3)` or `Datastreams`.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    set: String,
    id: Option<u64>,
}

fn parse_path(path: &str) -> Result<Vec<Segment>, ApiError> {
    let bad = |m: String| ApiError::not_found(m).at("path");
    path.trim_end_matches('/')
        .split('/')
        .map(|s| match s.split_once('(') {
            None => Ok(Segment {
                set: s.to_owned(),
                id: None,
            }),
            Some((set, rest)) => {
                let id = rest
                    .strip_suffix(')')
                    .and_then(|x| x.trim_matches('\'').parse::<u64>().ok())
                    .ok_or_else(|| {
                        bad(format!("\"{s}\": the id must be a number, as in {set}(1)"))
                    })?;
                Ok(Segment {
                    set: set.to_owned(),
                    id: Some(id),
                })
            }
        })
        .collect()
}

/// What a path points at.
enum Target {
    Collection(&'static str, Option<u64>),
    Entity(&'static str, u64),
}

/// Resolves a resource path to an entity set (filtered by a parent) or one entity.
fn resolve(state: &AppState, segments: &[Segment]) -> Result<Target, ApiError> {
    let unknown = |s: &str| {
        ApiError::not_found(format!("no entity set \"{s}\" here (Things, Locations, Datastreams, Sensors, ObservedProperties, Observations)")).at("path")
    };
    let set_of = |s: &str| -> Result<&'static str, ApiError> {
        Ok(match s {
            "Things" | "Thing" => "Things",
            "Locations" | "Location" => "Locations",
            "Datastreams" | "Datastream" => "Datastreams",
            "Sensors" | "Sensor" => "Sensors",
            "ObservedProperties" | "ObservedProperty" => "ObservedProperties",
            "Observations" => "Observations",
            "HistoricalLocations" => "HistoricalLocations",
            "FeaturesOfInterest" | "FeatureOfInterest" => "FeaturesOfInterest",
            other => return Err(unknown(other)),
        })
    };
    let first = &segments[0];
    let set = set_of(&first.set)?;
    let Some(id) = first.id else {
        return if segments.len() == 1 {
            Ok(Target::Collection(set, None))
        } else {
            Err(unknown(&segments[1].set))
        };
    };
    exists(state, set, id)?;
    if segments.len() == 1 {
        return Ok(Target::Entity(set, id));
    }
    if segments.len() > 2 {
        return Err(
            ApiError::not_found("paths deeper than Set(id)/Related are not served").at("path"),
        );
    }
    let rel = &segments[1];
    let things = &state.things;
    // Thing, Location and Datastream share ids; Sensor and ObservedProperty ids are the rule's.
    let rule_id = |ds: u64| {
        things
            .get(ds)
            .and_then(|t| t.rule)
            .map_or(0, |r| r as u64 + 1)
    };
    Ok(match (set, rel.set.as_str(), rel.id) {
        ("Things", "Datastreams" | "Locations", None) => {
            Target::Collection(set_of(&rel.set)?, Some(id))
        }
        ("Locations", "Things", None) => Target::Collection("Things", Some(id)),
        ("Datastreams", "Thing", None) => Target::Entity("Things", id),
        ("Datastreams", "Sensor", None) => Target::Entity("Sensors", rule_id(id)),
        ("Datastreams", "ObservedProperty", None) => {
            Target::Entity("ObservedProperties", rule_id(id))
        }
        ("Datastreams", "Observations", None) => Target::Collection("Observations", Some(id)),
        ("Things", "HistoricalLocations", None) => {
            Target::Collection("HistoricalLocations", Some(id))
        }
        ("Observations", "Datastream", None) => Target::Entity("Datastreams", 0),
        _ => {
            return Err(ApiError::not_found(format!(
                "{}({id})/{} is not served",
                first.set, rel.set
            ))
            .at("path"))
        }
    })
}

fn exists(state: &AppState, set: &str, id: u64) -> Result<(), ApiError> {
    let ok = match set {
        "Things" | "Locations" | "Datastreams" => state.things.get(id).is_some(),
        "Sensors" | "ObservedProperties" => id >= 1 && id as usize <= state.things.rules.len(),
        "Observations" => true, // looked up in the database
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no {set}({id})")).at("path"))
    }
}

/// Query options of a read.
#[derive(Debug, Default)]
struct Options {
    top: usize,
    skip: usize,
    count: bool,
    orderby: Vec<(String, bool)>,
    select: Option<Vec<String>>,
    filter: Vec<Clause>,
    /// `$expand`: related entities put inline, each with its own options.
    expand: Vec<Expand>,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    column: &'static str,
    op: &'static str,
    value: SqlValue,
}

fn options(q: &HashMap<String, String>) -> Result<Options, ApiError> {
    options_at(q.iter().map(|(k, v)| (k.as_str(), v.as_str())), 0)
}

/// Query options from `(name, value)` pairs; `depth` is how deep in `$expand` they sit.
fn options_at<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    depth: usize,
) -> Result<Options, ApiError> {
    let mut o = Options {
        top: TOP_DEFAULT,
        ..Options::default()
    };
    for (k, v) in pairs {
        let k = k.to_owned();
        match k.as_str() {
            "$top" => {
                o.top = v.parse().ok().filter(|n| *n <= TOP_MAX).ok_or_else(|| {
                    ApiError::bad_request(
                        Some("$top".into()),
                        format!("\"{v}\" must be a number 0..={TOP_MAX}"),
                    )
                })?
            }
            "$skip" => {
                o.skip = v.parse().ok().filter(|n| *n <= SKIP_MAX).ok_or_else(|| {
                    ApiError::bad_request(
                        Some("$skip".into()),
                        format!("\"{v}\" must be a number 0..={SKIP_MAX}"),
                    )
                })?
            }
            "$count" => {
                o.count = match v {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ApiError::bad_request(
                            Some("$count".into()),
                            "must be true or false",
                        ))
                    }
                }
            }
            "$orderby" => {
                for part in v.split(',') {
                    let mut words = part.split_whitespace();
                    let field = words.next().unwrap_or_default().to_owned();
                    let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
                        None | Some("asc") => false,
                        Some("desc") => true,
                        Some(w) => {
                            return Err(ApiError::bad_request(
                                Some("$orderby".into()),
                                format!("\"{w}\": expected asc or desc"),
                            ))
                        }
                    };
                    o.orderby.push((field, desc));
                }
            }
            "$select" => o.select = Some(v.split(',').map(|s| s.trim().to_owned()).collect()),
            "$filter" => o.filter = parse_filter(v)?,
            "$expand" => o.expand = expand::parse(v, depth + 1)?,
            "$resultFormat" => {
                return Err(ApiError::bad_request(
                    Some(k.clone()),
                    format!("{k} is not supported by this service"),
                ))
            }
            _ => {}
        }
    }
    Ok(o)
}

/// `$filter`: comparisons joined by `and` on phenomenonTime, resultTime, result or id.
fn parse_filter(text: &str) -> Result<Vec<Clause>, ApiError> {
    let bad = |m: String| ApiError::bad_request(Some("$filter".into()), m);
    let mut clauses = Vec::new();
    for part in split_and(text) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let [field, op, value] = words[..] else {
            return Err(bad(format!(
                "\"{part}\": expected <property> <eq|ne|gt|ge|lt|le> <value>"
            )));
        };
        let op = match op {
            "eq" => "=",
            "ne" => "!=",
            "gt" => ">",
            "ge" => ">=",
            "lt" => "<",
            "le" => "<=",
            other => {
                return Err(bad(format!(
                    "\"{other}\": expected eq, ne, gt, ge, lt or le"
                )))
            }
        };
        let time = |v: &str| -> Result<SqlValue, ApiError> {
            let v = v.trim_matches('\'');
            DateTime::parse_from_rfc3339(v)
                .map(|d| SqlValue::Integer(d.timestamp_millis()))
                .map_err(|_| bad(format!("\"{v}\" is not an ISO 8601 time")))
        };
        let number = |v: &str| -> Result<SqlValue, ApiError> {
            v.parse::<f64>()
                .map(SqlValue::Real)
                .map_err(|_| bad(format!("\"{v}\" is not a number")))
        };
        let (column, value) = match field {
            "phenomenonTime" => ("phenomenon_ms", time(value)?),
            "resultTime" => ("result_time_ms", time(value)?),
            "result" => ("result", number(value)?),
            "id" | "@iot.id" => ("id", number(value)?),
            other => return Err(bad(format!("filtering on \"{other}\" is not supported (phenomenonTime, resultTime, result, id)"))),
        };
        clauses.push(Clause { column, op, value });
    }
    Ok(clauses)
}

fn split_and(text: &str) -> Vec<&str> {
    text.split(" and ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn iso_utc(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn self_link(base: &str, set: &str, id: u64) -> String {
    format!("{base}/{set}({id})")
}

fn nav(obj: &mut Map<String, Value>, base: &str, set: &str, id: u64, related: &[&str]) {
    for r in related {
        obj.insert(
            format!("{r}@iot.navigationLink"),
            json!(format!("{base}/{set}({id})/{r}")),
        );
    }
}

/// What every entity of an asset says of it: its scene id, kind, and when it was retired.
fn asset_properties(t: &Thing) -> Value {
    json!({"asset_id": t.asset_id, "kind": t.kind, "retired": t.retired})
}

fn thing_json(base: &str, t: &Thing) -> Value {
    let mut o = Map::new();
    o.insert("@iot.id".into(), json!(t.id));
    o.insert(
        "@iot.selfLink".into(),
        json!(self_link(base, "Things", t.id)),
    );
    o.insert(
        "name".into(),
        json!(t.name.clone().unwrap_or_else(|| t.asset_id.clone())),
    );
    o.insert(
        "description".into(),
        json!(format!("{} {}", t.kind, t.asset_id)),
    );
    o.insert("properties".into(), asset_properties(t));
    nav(
        &mut o,
        base,
        "Things",
        t.id,
        &["Locations", "Datastreams", "HistoricalLocations"],
    );
    Value::Object(o)
}

fn location_json(base: &str, t: &Thing) -> Value {
    let mut o = Map::new();
    o.insert("@iot.id".into(), json!(t.id));
    o.insert(
        "@iot.selfLink".into(),
        json!(self_link(base, "Locations", t.id)),
    );
    o.insert("name".into(), json!(format!("{} position", t.asset_id)));
    o.insert(
        "description".into(),
        json!("surveyed position in the scene (WGS84)"),
    );
    o.insert("encodingType".into(), json!("application/geo+json"));
    o.insert(
        "location".into(),
        json!({"type": "Point", "coordinates": [t.lon_lat.0, t.lon_lat.1]}),
    );
    nav(&mut o, base, "Locations", t.id, &["Things"]);
    Value::Object(o)
}

fn datastream_json(state: &AppState, base: &str, t: &Thing) -> Value {
    let mut o = Map::new();
    let rule = t.rule.and_then(|i| state.things.rules.get(i));
    let Some(r) = rule else {
        // A retired asset whose kind no rule covers any more: its history, no quantity.
        o.insert("@iot.id".into(), json!(t.id));
        o.insert(
            "@iot.selfLink".into(),
            json!(self_link(base, "Datastreams", t.id)),
        );
        o.insert("name".into(), json!(format!("{} ({})", t.asset_id, t.kind)));
        o.insert(
            "description".into(),
            json!(format!(
                "{} {}: no rule in live.ron covers its kind now",
                t.kind, t.asset_id
            )),
        );
        o.insert("observationType".into(), json!(MEASUREMENT));
        o.insert(
            "unitOfMeasurement".into(),
            json!({"name": null, "symbol": null, "definition": null}),
        );
        o.insert("properties".into(), asset_properties(t));
        nav(
            &mut o,
            base,
            "Datastreams",
            t.id,
            &["Thing", "Observations"],
        );
        return Value::Object(o);
    };
    o.insert("@iot.id".into(), json!(t.id));
    o.insert(
        "@iot.selfLink".into(),
        json!(self_link(base, "Datastreams", t.id)),
    );
    o.insert(
        "name".into(),
        json!(format!("{} {}", t.asset_id, r.quantity)),
    );
    o.insert(
        "description".into(),
        json!(format!(
            "{} of {}; alarm at {} {}, clears below {} {}{}",
            r.name,
            t.asset_id,
            r.alarm_at,
            r.unit.symbol,
            r.clear_below,
            r.unit.symbol,
            if r.tide {
                " (where the service has a learned tide: above the site's 99th percentile for the hour of the week, clears below its 95th)"
            } else {
                ""
            }
        )),
    );
    o.insert("observationType".into(), json!(MEASUREMENT));
    o.insert("unitOfMeasurement".into(), json!(r.unit));
    o.insert("properties".into(), json!({"asset_id": t.asset_id, "kind": t.kind, "retired": t.retired, "range": [r.range.0, r.range.1], "alarm_at": r.alarm_at, "clear_below": r.clear_below, "incident_type": r.incident_type}));
    nav(
        &mut o,
        base,
        "Datastreams",
        t.id,
        &["Thing", "Sensor", "ObservedProperty", "Observations"],
    );
    Value::Object(o)
}

/// Sensor and ObservedProperty `id` (1-based): the rule behind them (checked by `exists`).
fn rule_by_id(state: &AppState, id: u64) -> Option<&crate::config::SensorRule> {
    let i = usize::try_from(id.checked_sub(1)?).ok()?;
    state.things.rules.get(i)
}

fn sensor_json(state: &AppState, base: &str, id: u64) -> Value {
    let Some(r) = rule_by_id(state, id) else {
        return json!({"@iot.id": id});
    };
    json!({
        "@iot.id": id, "@iot.selfLink": self_link(base, "Sensors", id),
        "name": format!("{} sensor", r.asset_kind),
        "description": format!("the {} sensor fitted to every {}", r.quantity, r.asset_kind),
        "encodingType": "text/plain", "metadata": r.definition,
        "Datastreams@iot.navigationLink": format!("{base}/Sensors({id})/Datastreams"),
    })
}

fn observed_property_json(state: &AppState, base: &str, id: u64) -> Value {
    let Some(r) = rule_by_id(state, id) else {
        return json!({"@iot.id": id});
    };
    json!({
        "@iot.id": id, "@iot.selfLink": self_link(base, "ObservedProperties", id),
        "name": r.name, "definition": r.definition, "description": format!("{} ({})", r.name, r.unit.symbol),
        "Datastreams@iot.navigationLink": format!("{base}/ObservedProperties({id})/Datastreams"),
    })
}

fn observation_json(base: &str, o: &crate::store::ObservationRow) -> Value {
    json!({
        "@iot.id": o.id,
        "@iot.selfLink": self_link(base, "Observations", o.id),
        "phenomenonTime": iso_utc(o.phenomenon_ms),
        "resultTime": iso_utc(o.result_time_ms),
        "result": o.result,
        "Datastream@iot.navigationLink": format!("{base}/Observations({})/Datastream", o.id),
    })
}

/// `$select` applied to an entity: the fields named, and every property `$expand` added
/// (an expanded navigation property stays whatever is selected).
fn select(v: Value, o: &Options) -> Value {
    match (v, &o.select) {
        (Value::Object(obj), Some(f)) => Value::Object(
            obj.into_iter()
                .filter(|(k, _)| {
                    let name = k.split('@').next().unwrap_or(k);
                    f.iter().any(|x| x == k)
                        || (!k.ends_with("@iot.navigationLink")
                            && o.expand.iter().any(|e| e.nav == name))
                })
                .collect(),
        ),
        (v, _) => v,
    }
}

/// A page of a collection with `@iot.count` and `@iot.nextLink` as the standard says.
fn page(items: Vec<Value>, total: Option<usize>, more: bool, next: String) -> Value {
    let mut o = Map::new();
    if let Some(n) = total {
        o.insert("@iot.count".into(), json!(n));
    }
    if more {
        o.insert("@iot.nextLink".into(), json!(next));
    }
    o.insert("value".into(), Value::Array(items));
    Value::Object(o)
}

fn next_link(base: &str, path: &str, q: &HashMap<String, String>, o: &Options) -> String {
    let mut pairs: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| *k != "$skip" && *k != "$top")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    pairs.sort();
    pairs.push(("$top".into(), o.top.to_string()));
    pairs.push(("$skip".into(), (o.skip + o.top).to_string()));
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", k, percent(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{base}/{path}?{query}")
}

fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b':'
            | b',' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    caller.require(Need::Read)?;
    let base = format!("{}/v1.1", base_url(&headers));
    let segments = parse_path(&path)?;
    let o = options(&q)?;
    let target = resolve(&state, &segments)?;
    let body = match target {
        // Observations(id)/Datastream: the observation's stream.
        Target::Entity("Datastreams", 0) => {
            let oid = segments[0].id.unwrap_or(0);
            let t = observation_stream(&state, oid).await?;
            let mut v = datastream_json(&state, &base, t);
            expand::entity(&state, &base, "Datastreams", &mut v, &o.expand).await?;
            select(v, &o)
        }
        Target::Entity(set, id) => {
            let mut v = entity(&state, &base, set, id).await?;
            expand::entity(&state, &base, set, &mut v, &o.expand).await?;
            select(v, &o)
        }
        Target::Collection(set, parent) => {
            let (mut items, total, more) = collection(&state, &base, set, parent, &o).await?;
            for v in &mut items {
                expand::entity(&state, &base, set, v, &o.expand).await?;
            }
            let items = items.into_iter().map(|v| select(v, &o)).collect();
            page(items, total, more, next_link(&base, &path, &q, &o))
        }
    };
    Ok(Json(body).into_response())
}

/// The Datastream of observation `oid` (404 if there is no such observation).
async fn observation_stream(state: &AppState, oid: u64) -> Result<&Thing, ApiError> {
    let ds = state
        .read(move |c| {
            c.query_row(
                "SELECT datastream FROM observations WHERE id = ?1",
                [i64::try_from(oid).unwrap_or(-1)],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .map_err(|_| ApiError::not_found(format!("no Observations({oid})")).at("path"))?;
    // Every stored observation's stream is registered (ids are never reused), but a read
    // never panics on stored data: a stream the registry lacks is named.
    state.things.get(ds as u64).ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Observations({oid}) names Datastreams({ds}), which the registry lacks"),
        )
    })
}

/// Entity `set(id)` as JSON (404 if there is none).
async fn entity(state: &AppState, base: &str, set: &str, id: u64) -> Result<Value, ApiError> {
    let thing = |id: u64| {
        state
            .things
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("no {set}({id})")).at("path"))
    };
    Ok(match set {
        "Things" => thing_json(base, thing(id)?),
        "Locations" => location_json(base, thing(id)?),
        "Datastreams" => datastream_json(state, base, thing(id)?),
        "Sensors" | "ObservedProperties" => {
            if rule_by_id(state, id).is_none() {
                return Err(ApiError::not_found(format!("no {set}({id})")).at("path"));
            }
            if set == "Sensors" {
                sensor_json(state, base, id)
            } else {
                observed_property_json(state, base, id)
            }
        }
        "Observations" => {
            let row = state
                .read(move |c| {
                    // An id past SQLite's integers is no row (never a failed read).
                    let id = i64::try_from(id).unwrap_or(-1);
                    observation_rows(c, "WHERE id = ?", &[SqlValue::Integer(id)], 1, 0)
                })
                .await?;
            let row = row
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::not_found(format!("no Observations({id})")).at("path"))?;
            observation_json(base, &row)
        }
        _ => return Err(ApiError::not_found(format!("{set} are not served"))),
    })
}

/// A page of entity set `set` (of `parent`'s, if given) under `o`: the items, the total if
/// `$count`, and whether more follow.
async fn collection(
    state: &AppState,
    base: &str,
    set: &str,
    parent: Option<u64>,
    o: &Options,
) -> Result<(Vec<Value>, Option<usize>, bool), ApiError> {
    if set == "Observations" {
        return observation_page(state, base, parent, o).await;
    }
    if !o.filter.is_empty() {
        return Err(ApiError::bad_request(
            Some("$filter".into()),
            format!("$filter is served on Observations only, not {set}"),
        ));
    }
    if let Some((f, _)) = o.orderby.iter().find(|(f, _)| f != "id" && f != "@iot.id") {
        return Err(ApiError::bad_request(
            Some("$orderby".into()),
            format!("{set} are ordered by id only, not \"{f}\""),
        ));
    }
    let desc = o.orderby.first().is_some_and(|(_, d)| *d);
    let rules = state.things.rules.len() as u64;
    let mut all: Vec<Value> = match set {
        "Things" | "Locations" | "Datastreams" => state
            .things
            .things
            .iter()
            .filter(|t| parent.is_none_or(|p| p == t.id))
            .map(|t| match set {
                "Things" => thing_json(base, t),
                "Locations" => location_json(base, t),
                _ => datastream_json(state, base, t),
            })
            .collect(),
        // A Sensor's or ObservedProperty's Datastreams (parent: the rule's id).
        "RuleDatastreams" => state
            .things
            .things
            .iter()
            .filter(|t| parent.is_some_and(|p| t.rule.map(|r| r as u64 + 1) == Some(p)))
            .map(|t| datastream_json(state, base, t))
            .collect(),
        "Sensors" => (1..=rules).map(|i| sensor_json(state, base, i)).collect(),
        "ObservedProperties" => (1..=rules)
            .map(|i| observed_property_json(state, base, i))
            .collect(),
        _ => Vec::new(),
    };
    if desc {
        all.reverse();
    }
    let total = all.len();
    let more = total > o.skip.saturating_add(o.top);
    let items = all.into_iter().skip(o.skip).take(o.top).collect();
    Ok((items, o.count.then_some(total), more))
}

/// A page of Observations (of Datastream `stream`, if given) under `o`, from the database.
async fn observation_page(
    state: &AppState,
    base: &str,
    stream: Option<u64>,
    o: &Options,
) -> Result<(Vec<Value>, Option<usize>, bool), ApiError> {
    if let Some((f, _)) = o.orderby.iter().find(|(f, _)| {
        !matches!(
            f.as_str(),
            "phenomenonTime" | "resultTime" | "result" | "id" | "@iot.id"
        )
    }) {
        return Err(ApiError::bad_request(
            Some("$orderby".into()),
            format!("cannot order Observations by \"{f}\""),
        ));
    }
    let mut clauses = o.filter.clone();
    if let Some(ds) = stream {
        clauses.push(Clause {
            column: "datastream",
            op: "=",
            value: SqlValue::Integer(ds as i64),
        });
    }
    let (top, skip, count) = (o.top, o.skip, o.count);
    let order: Vec<(String, bool)> = o.orderby.clone();
    let (rows, total) = state
        .read(move |c| {
            let (where_sql, params) = where_clause(&clauses);
            let order_sql = if order.is_empty() {
                "ORDER BY id".to_owned()
            } else {
                let keys: Vec<String> = order
                    .iter()
                    .map(|(f, d)| format!("{} {}", column_of(f), if *d { "DESC" } else { "ASC" }))
                    .collect();
                format!("ORDER BY {}", keys.join(", "))
            };
            let rows = observation_rows(
                c,
                &format!("{where_sql} {order_sql}"),
                &params,
                top + 1,
                skip,
            )?;
            let total = if count {
                Some(c.query_row(
                    &format!("SELECT count(*) FROM observations {where_sql}"),
                    rusqlite::params_from_iter(params.iter()),
                    |r| r.get::<_, i64>(0),
                )? as usize)
            } else {
                None
            };
            Ok((rows, total))
        })
        .await?;
    let more = rows.len() > top;
    let items = rows
        .iter()
        .take(top)
        .map(|r| observation_json(base, r))
        .collect();
    Ok((items, total, more))
}

fn column_of(field: &str) -> &'static str {
    match field {
        "phenomenonTime" => "phenomenon_ms",
        "resultTime" => "result_time_ms",
        "result" => "result",
        _ => "id",
    }
}

fn where_clause(clauses: &[Clause]) -> (String, Vec<SqlValue>) {
    if clauses.is_empty() {
        return (String::new(), Vec::new());
    }
    let sql = clauses
        .iter()
        .map(|c| format!("{} {} ?", c.column, c.op))
        .collect::<Vec<_>>()
        .join(" AND ");
    (
        format!("WHERE {sql}"),
        clauses.iter().map(|c| c.value.clone()).collect(),
    )
}

fn observation_rows(
    c: &rusqlite::Connection,
    tail: &str,
    params: &[SqlValue],
    limit: usize,
    offset: usize,
) -> rusqlite::Result<Vec<crate::store::ObservationRow>> {
    let sql = format!(
        "SELECT id, datastream, phenomenon_ms, result_time_ms, result FROM observations {tail} LIMIT {limit} OFFSET {offset}"
    );
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
        Ok(crate::store::ObservationRow {
            id: r.get::<_, i64>(0)? as u64,
            datastream: r.get::<_, i64>(1)? as u64,
            phenomenon_ms: r.get(2)?,
            result_time_ms: r.get(3)?,
            result: r.get(4)?,
        })
    })?;
    rows.collect()
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(path): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Need::Ingest)?;
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than {} bytes; split the batch",
                    crate::http::BODY_LIMIT
                ),
            )
            .at("body")
        } else {
            ApiError::bad_request(Some("body".into()), e.body_text())
        }
    })?;
    let base = format!("{}/v1.1", base_url(&headers));
    let segments = parse_path(&path)?;
    let now = state.clock.now();
    let value: Value = parse_json(&bytes)?;
    match segments.as_slice() {
        [Segment { set, id: None }] if set == "CreateObservations" => {
            let items = data_arrays(&state, &value, now)?;
            let ids = match state.take_observations(items).await? {
                Accepted::Applied(ids) => ids,
                Accepted::Pending(seq) => return Ok(pending(seq)),
            };
            let links: Vec<String> = ids.iter().map(|id| self_link(&base, "Observations", *id)).collect();
            Ok((StatusCode::CREATED, Json(links)).into_response())
        }
        [Segment { set, id: None }] if set == "Observations" => one_observation(&state, &base, &value, None, now).await,
        [Segment { set, id: Some(ds) }, Segment { set: rel, id: None }] if set == "Datastreams" && rel == "Observations" => {
            exists(&state, "Datastreams", *ds)?;
            one_observation(&state, &base, &value, Some(*ds), now).await
        }
        _ => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("creating at /v1.1/{path} is not served: the scene defines Things, Locations, Sensors, ObservedProperties and Datastreams; create Observations"),
        )
        .at("path")),
    }
}

async fn one_observation(
    state: &AppState,
    base: &str,
    v: &Value,
    ds: Option<u64>,
    now: f64,
) -> Result<Response, ApiError> {
    let item = observation_in(state, v, ds, now)?;
    let ids = match state.take_observations(vec![item]).await? {
        Accepted::Applied(ids) => ids,
        Accepted::Pending(seq) => return Ok(pending(seq)),
    };
    let id = ids[0];
    let row = crate::store::ObservationRow {
        id,
        datastream: item.datastream,
        phenomenon_ms: item.phenomenon_ms,
        result_time_ms: item.result_time_ms,
        result: item.result,
    };
    let link = self_link(base, "Observations", id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, link)],
        Json(observation_json(base, &row)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Fuzzing the parsers of what clients send: never a panic, always an answer.
        #[test]
        fn any_path_filter_or_options_parse_or_are_refused(
            path in "[A-Za-z()0-9/']{0,40}",
            filter in "[a-zA-Z0-9 :.'@-]{0,80}",
            top in ".{0,12}",
            skip in prop_oneof![".{0,12}".boxed(), any::<u64>().prop_map(|n| n.to_string()).boxed(), "[0-9]{15,25}".boxed()],
            order in "[a-zA-Z ,]{0,30}",
            select in "[a-zA-Z@., ]{0,30}",
            count in ".{0,6}",
        ) {
            let _ = parse_path(&path);
            let _ = parse_filter(&filter);
            let q: HashMap<String, String> = [("$top".to_owned(), top), ("$skip".to_owned(), skip), ("$orderby".to_owned(), order), ("$filter".to_owned(), filter), ("$select".to_owned(), select), ("$count".to_owned(), count)].into_iter().collect();
            if let Ok(o) = options(&q) {
                // What the read and the next link compute from them cannot overflow.
                let end = o.skip.checked_add(o.top + 1).expect("skip + top fits");
                prop_assert!(i64::try_from(end).is_ok(), "{end} fits SQLite's integers");
            }
        }
    }

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("Datastreams(12)/Observations").unwrap(),
            vec![
                Segment {
                    set: "Datastreams".into(),
                    id: Some(12)
                },
                Segment {
                    set: "Observations".into(),
                    id: None
                }
            ]
        );
        assert!(parse_path("Things(x)").is_err());
    }

    #[test]
    fn filters() {
        let f = parse_filter("phenomenonTime ge 2026-11-23T00:00:00Z and result gt 5").unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].column, "phenomenon_ms");
        assert!(parse_filter("name eq 'x'").is_err());
        assert!(parse_filter("phenomenonTime ge yesterday").is_err());
        assert!(parse_filter("result approx 5").is_err());
    }
}
