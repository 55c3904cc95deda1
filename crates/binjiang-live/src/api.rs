//! The control room's REST API under `/api/v1`: reports in, GPS fixes in, operators' actions
//! on incidents, and reads of units, incidents (filtered through the R-tree), KPIs and the
//! audit trail. Every route checks its caller's role.

use crate::auth::{Caller, Need};
use crate::error::ApiError;
use crate::http::{AppState, JsonBody};
use crate::inputs::{fixes_of, pending, report_of, Accepted, FixIn, ReportIn};
use crate::store::AuditRow;
use crate::twin::{Action, Request};
use crate::view::{IncidentOut, UnitOut};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use binjiang_scene::Agency;
use binjiang_sim::CancelReason;
use serde::Deserialize;
use std::collections::HashMap;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", post(post_report))
        .route("/api/v1/units", get(get_units))
        .route("/api/v1/units/{id}/positions", post(post_positions))
        .route("/api/v1/units/{id}/status", post(post_crew_status))
        .route("/api/v1/incidents", get(get_incidents))
        .route("/api/v1/incidents/{id}", get(get_incident))
        .route("/api/v1/incidents/{id}/decisions", get(get_decisions))
        .route("/api/v1/incidents/{id}/eido", get(get_eido))
        .route("/api/v1/incidents/{id}/{action}", post(post_action))
        .route("/api/v1/kpis", get(get_kpis))
        .route("/api/v1/forecast", get(get_forecast))
        .route("/api/v1/audit", get(get_audit))
        .route("/api/v1/clock", get(get_clock))
        .route("/api/v1/forks", post(post_fork))
        .route("/api/v1/recommendations", get(get_recommendations))
        .route(
            "/api/v1/recommendations/{id}/{action}",
            post(post_recommendation),
        )
        .route("/api/v1/coverage", get(get_coverage))
}

/// The move-ups proposed now (issue 19), oldest first, with each agency's coverage.
async fn get_recommendations(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Need::Read)?;
    let view = state.view();
    Ok(Json(serde_json::json!({
        "at": view.kpis.at,
        "recommendations": view.kpis.recommendations,
        "coverage": view.kpis.coverage,
    })))
}

/// The `{id}` of a path, or a 400 naming `id` and saying what it should be.
fn path_id<T: std::str::FromStr>(id: &str, should_be: &str) -> Result<T, ApiError> {
    id.parse().map_err(|_| {
        ApiError::bad_request(Some("id".into()), format!("\"{id}\" is not {should_be}"))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendationIn {
    reason: Option<String>,
}

/// `accept` makes the move (a command in the input log, audited); `dismiss` drops the
/// proposal (audited, and not proposed again while the same move stays the best).
async fn post_recommendation(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    JsonBody(body): JsonBody<RecommendationIn>,
) -> Result<Json<binjiang_protocol::Recommendation>, ApiError> {
    caller.require(Need::Act)?;
    let id: u64 = path_id(&id, "a recommendation id (a whole number)")?;
    let accept = match action.as_str() {
        "accept" => true,
        "dismiss" => false,
        other => {
            return Err(ApiError::not_found(format!(
                "no action \"{other}\" on a recommendation (accept, dismiss)"
            )))
        }
    };
    let reason = body.reason.unwrap_or_default();
    if !accept && reason.trim().is_empty() {
        return Err(ApiError::invalid(
            "reason",
            "dismiss needs a reason (why the move is not made)",
        ));
    }
    let done = state
        .submit(|reply| Request::Recommendation {
            caller,
            id,
            accept,
            reason,
            reply,
        })
        .await?;
    Ok(Json(done))
}

/// Patrol coverage now: seconds since each grid cell's last visit and whether the cell is
/// watched (hot in some hour of the day), the hot-cell KPI, and each agency's coverage.
async fn get_coverage(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Need::Read)?;
    let view = state.view();
    let cells: Vec<serde_json::Value> = state
        .scene
        .grid
        .cells
        .iter()
        .zip(&view.since_visit)
        .zip(&view.watched)
        .map(|((c, s), w)| serde_json::json!({"cell": c.id, "since_visit_s": s.round(), "watched": w}))
        .collect();
    Ok(Json(serde_json::json!({
        "at": view.kpis.at,
        "hot_cells_unvisited_2h_share": view.kpis.hot_cells_unvisited_2h_share,
        "agencies": view.kpis.coverage,
        "cells": cells,
    })))
}

async fn post_report(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(r): JsonBody<ReportIn>,
) -> Result<Response, ApiError> {
    caller.require(Need::Ingest)?;
    // Kept as sent only when it goes through the bus.
    let original = state.forward.is_some().then(|| r.clone());
    let report = report_of(&state, r)?;
    let arrived = report.time;
    let message = || {
        let original = original.expect("kept when forwarding");
        original.bus_message(state.clock.iso(arrived))
    };
    let (incident, new) = match state.take_report(report, message).await? {
        Accepted::Applied(answer) => answer,
        Accepted::Pending(seq) => return Ok(pending(seq)),
    };
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/api/v1/incidents/{incident}");
    Ok((
        status,
        [(axum::http::header::LOCATION, location)],
        Json(serde_json::json!({"incident": incident, "new": new})),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FixesIn {
    One(FixIn),
    Many(Vec<FixIn>),
    Wrapped { fixes: Vec<FixIn> },
}

async fn post_positions(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    JsonBody(body): JsonBody<FixesIn>,
) -> Result<Response, ApiError> {
    caller.require(Need::Ingest)?;
    if !state.scene.units.iter().any(|u| u.id == unit) {
        return Err(ApiError::not_found(format!("no unit \"{unit}\" in the scene")).at("unit"));
    }
    let (list, prefix) = match body {
        FixesIn::One(f) => (vec![f], ""),
        FixesIn::Many(v) => (v, ""),
        FixesIn::Wrapped { fixes } => (fixes, "fixes"),
    };
    let fixes = fixes_of(&state, &unit, list, prefix)?;
    let kept = match state.take_fixes(unit, fixes).await? {
        Accepted::Applied(kept) => kept,
        Accepted::Pending(seq) => return Ok(pending(seq)),
    };
    Ok(Json(serde_json::json!({"kept": kept})).into_response())
}

#[derive(Debug, Deserialize)]
struct UnitQuery {
    agency: Option<String>,
    status: Option<String>,
}

async fn get_units(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<UnitQuery>,
) -> Result<Json<Vec<UnitOut>>, ApiError> {
    caller.require(Need::Read)?;
    let agency = q.agency.as_deref().map(parse_agency).transpose()?;
    check_word("status", q.status.as_deref(), UNIT_STATES)?;
    let view = state.view();
    let units = view
        .units
        .iter()
        .filter(|u| agency.is_none_or(|a| u.agency == a))
        .filter(|u| q.status.as_deref().is_none_or(|s| word(u.status) == s))
        .cloned()
        .collect();
    Ok(Json(units))
}

/// Unit states a `status` filter may name.
const UNIT_STATES: &[&str] = &["available", "en_route", "on_scene", "cleared", "off_duty"];
/// Incident states a `status` filter may name (`active`: not yet resolved, closed or cancelled).
const INCIDENT_STATES: &[&str] = &[
    "active",
    "open",
    "reopened",
    "en_route",
    "on_scene",
    "resolved",
    "closed",
    "cancelled",
];

/// The snake_case word a state serialises to.
fn word<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// 422 unless `value` (if given) is one of `allowed`.
fn check_word(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), ApiError> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(ApiError::invalid(
            field,
            format!(
                "unknown {field} \"{v}\" (expected one of {})",
                allowed.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

fn parse_agency(text: &str) -> Result<Agency, ApiError> {
    Agency::parse(text).ok_or_else(|| {
        ApiError::invalid(
            "agency",
            format!(
                "unknown agency \"{text}\" (expected one of {})",
                Agency::expected()
            ),
        )
    })
}

#[derive(Debug, Deserialize)]
struct IncidentQuery {
    status: Option<String>,
    agency: Option<String>,
    /// `min_lon,min_lat,max_lon,max_lat`.
    bbox: Option<String>,
    /// `lon,lat` with `radius` metres.
    near: Option<String>,
    radius: Option<f64>,
}

fn numbers(field: &str, text: &str, n: usize) -> Result<Vec<f64>, ApiError> {
    let v: Vec<f64> = text
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::invalid(
                field,
                format!("\"{text}\" is not {n} comma-separated numbers"),
            )
        })?;
    if v.len() != n || v.iter().any(|x| !x.is_finite()) {
        return Err(ApiError::invalid(
            field,
            format!("\"{text}\" is not {n} comma-separated numbers"),
        ));
    }
    Ok(v)
}

async fn get_incidents(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<IncidentQuery>,
) -> Result<Json<Vec<IncidentOut>>, ApiError> {
    caller.require(Need::Read)?;
    let agency = q.agency.as_deref().map(parse_agency).transpose()?;
    check_word("status", q.status.as_deref(), INCIDENT_STATES)?;
    let view = state.view();
    let frame = &state.scene.frame;
    let chosen: Vec<usize> = match (&q.bbox, &q.near) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("bbox", "give bbox or near, not both")),
        (Some(b), None) => {
            let v = numbers("bbox", b, 4)?;
            let (a, c) = (frame.to_local(v[0], v[1]), frame.to_local(v[2], v[3]));
            let mut hits: Vec<usize> = view
                .index
                .inside_rect([a.x.min(c.x), a.y.min(c.y)], [a.x.max(c.x), a.y.max(c.y)])
                .map(|h| *h.data)
                .collect();
            hits.sort_unstable();
            hits
        }
        (None, Some(n)) => {
            let v = numbers("near", n, 2)?;
            let r = q
                .radius
                .ok_or_else(|| ApiError::invalid("radius", "near needs radius (metres)"))?;
            if !(r.is_finite() && r >= 0.0) {
                return Err(ApiError::invalid("radius", "must be metres ≥ 0"));
            }
            let p = frame.to_local(v[0], v[1]);
            view.index
                .within_radius([p.x, p.y], r)
                .map(|h| *h.data)
                .collect()
        }
        (None, None) => (0..view.incidents.len()).collect(),
    };
    let out = chosen
        .into_iter()
        .map(|k| &view.incidents[k])
        .filter(|i| agency.is_none_or(|a| i.parts.iter().any(|p| p.agency == a)))
        .filter(|i| {
            q.status.as_deref().is_none_or(|s| match s {
                "active" => !matches!(
                    i.status,
                    crate::view::IncidentState::Resolved
                        | crate::view::IncidentState::Closed
                        | crate::view::IncidentState::Cancelled
                ),
                s => word(i.status) == s,
            })
        })
        .cloned()
        .collect();
    Ok(Json(out))
}

async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<u32>,
) -> Result<Json<IncidentOut>, ApiError> {
    caller.require(Need::Read)?;
    state
        .view()
        .incidents
        .iter()
        .find(|i| i.id == id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no incident #{id}")))
}

/// Why each unit was sent to incident `id` (or nobody was), oldest first: the explanation
/// records of docs/dispatch.md, from the log.
async fn get_decisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    caller.require(Need::Read)?;
    let id: u32 = path_id(&id, "an incident number")?;
    let bodies: Vec<String> = state
        .read(move |c| {
            let mut stmt =
                c.prepare("SELECT body FROM decisions WHERE incident = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
        .await?;
    if bodies.is_empty() && !state.view().incidents.iter().any(|i| i.id == id) {
        return Err(ApiError::not_found(format!(
            "no incident #{id} (unknown, or closed over a day ago)"
        )));
    }
    Ok(Json(
        bodies
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect(),
    ))
}

/// The incident as a NENA EIDO document (JSON), for another CAD.
async fn get_eido(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Need::Read)?;
    let id: u32 = path_id(&id, "an incident number")?;
    let view = state.view();
    let incident = view
        .incidents
        .iter()
        .find(|i| i.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no incident #{id}")))?;
    let district = state
        .scene
        .dir
        .file_name()
        .map_or("district".into(), |n| n.to_string_lossy().into_owned());
    Ok(Json(crate::eido::eido(
        incident,
        &view.units,
        &district,
        &view.kpis.at,
    )))
}

/// The body of an action: why, and what the action needs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionIn {
    reason: Option<String>,
    agency: Option<String>,
    unit: Option<String>,
    disposition: Option<String>,
    why: Option<CancelReason>,
}

async fn post_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(u32, String)>,
    JsonBody(body): JsonBody<ActionIn>,
) -> Result<Json<IncidentOut>, ApiError> {
    caller.require(Need::Act)?;
    let reason = body.reason.clone().unwrap_or_default();
    let need_reason = || {
        if reason.trim().is_empty() {
            Err(ApiError::invalid(
                "reason",
                format!("{action} needs a reason"),
            ))
        } else {
            Ok(())
        }
    };
    let act = match action.as_str() {
        "acknowledge" => Action::Acknowledge,
        "assign" | "reassign" => {
            need_reason()?;
            let agency = parse_agency(
                body.agency
                    .as_deref()
                    .ok_or_else(|| ApiError::invalid("agency", "which agency's part"))?,
            )?;
            let unit = body
                .unit
                .clone()
                .ok_or_else(|| ApiError::invalid("unit", "which unit to send"))?;
            Action::Assign { agency, unit }
        }
        "close" => {
            need_reason()?;
            let disposition = body
                .disposition
                .clone()
                .filter(|d| !d.trim().is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "disposition",
                        "close needs a disposition (how it was handled)",
                    )
                })?;
            Action::Close { disposition }
        }
        "cancel" => {
            need_reason()?;
            Action::Cancel {
                why: body.why.ok_or_else(|| {
                    ApiError::invalid("why", "cancel needs why: duplicate or false_alarm")
                })?,
            }
        }
        "reopen" => {
            need_reason()?;
            Action::Reopen
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no action \"{other}\" (acknowledge, assign, reassign, close, cancel, reopen)"
            )))
        }
    };
    state
        .submit(|reply| Request::Command {
            caller,
            incident: id,
            action: act,
            reason,
            reply,
        })
        .await?;
    // The twin republishes after every command before answering the next request.
    let mut views = state.views.clone();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while !views.borrow().incidents.iter().any(|i| i.id == id) {
            if views.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    let view = state.view();
    view.incidents
        .iter()
        .find(|i| i.id == id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no incident #{id}")))
}

async fn get_kpis(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<crate::view::Kpis>, ApiError> {
    caller.require(Need::Read)?;
    Ok(Json(state.view().kpis.clone()))
}

/// Expected incidents per cell over the next `hours` (default 2, at most 168) from now, from
/// the model `serve --model` loaded.
async fn get_forecast(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Need::Read)?;
    let hours = match q.get("hours") {
        None => 2,
        Some(h) => h
            .parse::<usize>()
            .ok()
            .filter(|h| (1..=168).contains(h))
            .ok_or_else(|| {
                ApiError::bad_request(
                    Some("hours".into()),
                    format!("\"{h}\" must be a whole number of hours, 1 to 168"),
                )
            })?,
    };
    let Some(model) = &state.forecaster else {
        return Err(ApiError::not_found(
            "this service has no forecast: start it with serve --model <the folder binjiang learn wrote>",
        ));
    };
    let t = state.clock.now();
    let cells = model.forecast(state.clock.unix_ms(t), hours);
    Ok(Json(binjiang_learn::forecast::to_json(
        &state.clock.iso(t),
        hours,
        &cells,
    )))
}

async fn get_clock(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Need::Read)?;
    let t = state.clock.now();
    Ok(Json(
        serde_json::json!({"t": t, "now": state.clock.iso(t), "epoch_ms": state.clock.epoch_ms()}),
    ))
}

async fn get_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<AuditRow>>, ApiError> {
    caller.require(Need::Audit)?;
    let since_ms = match q.get("since") {
        None => i64::MIN,
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|_| ApiError::invalid("since", format!("\"{s}\" is not an RFC 3339 time")))?
            .timestamp_millis(),
    };
    let rows = state
        .read(move |c| {
            let mut stmt = c.prepare(
                "SELECT at_ms, at, actor, role, action, incident, reason, detail FROM audit WHERE at_ms >= ?1 ORDER BY id LIMIT 10000",
            )?;
            let rows = stmt.query_map([since_ms], |r| {
                Ok(AuditRow {
                    at_ms: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    role: r.get(3)?,
                    action: r.get(4)?,
                    incident: r.get(5)?,
                    reason: r.get(6)?,
                    detail: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
                })
            })?;
            rows.collect()
        })
        .await?;
    Ok(Json(rows))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForkIn {
    hours: f64,
    seed: Option<u64>,
    scenario: Option<String>,
}

/// `POST /api/v1/forks`: runs a copy of the live state forward; the live twin is untouched.
async fn post_fork(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(f): JsonBody<ForkIn>,
) -> Result<Json<binjiang_protocol::Projection>, ApiError> {
    // A projection costs a core for a while: operators and admins, a few at a time.
    caller.require(Need::Act)?;
    if !(f.hours.is_finite() && f.hours > 0.0 && f.hours <= crate::fork::MAX_HOURS) {
        return Err(ApiError::invalid(
            "hours",
            format!("{} must be in (0, {}]", f.hours, crate::fork::MAX_HOURS),
        ));
    }
    if let Some(s) = f.scenario {
        return Err(ApiError::invalid(
            "scenario",
            format!("scenario \"{s}\": scenario overlays come with binjiang whatif; a fork projects the live state as it is"),
        ));
    }
    let _slot = std::sync::Arc::clone(&state.forks)
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::unavailable(
                format!(
                    "{} projections are running, the most at once; retry",
                    state.forks_limit
                ),
                2,
            )
        })?;
    let seed = f.seed.unwrap_or(7);
    let (tx, rx) = tokio::sync::oneshot::channel();
    state
        .requests
        .try_send(Request::Fork { seed, reply: tx })
        .map_err(|_| ApiError::unavailable("the twin is busy; retry", 1))?;
    let (copy, today) = rx
        .await
        .map_err(|_| ApiError::unavailable("the service is shutting down", 5))?;
    let clock = state.clock.clone();
    let hours = f.hours;
    let projection =
        tokio::task::spawn_blocking(move || crate::fork::project(copy, today, hours, seed, &clock))
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(projection))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrewStatusIn {
    status: binjiang_sim::CrewStatus,
}

/// `POST /api/v1/units/<id>/status {"status": "on_scene" | "cleared"}`: what the crew pressed
/// on its terminal; the twin follows it instead of its own estimate.
async fn post_crew_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    JsonBody(body): JsonBody<CrewStatusIn>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Need::Ingest)?;
    if !state.scene.units.iter().any(|u| u.id == unit) {
        return Err(ApiError::not_found(format!("no unit \"{unit}\" in the scene")).at("unit"));
    }
    let status = body.status;
    state
        .submit(|reply| Request::CrewStatus {
            unit: unit.clone(),
            status,
            reply,
        })
        .await?;
    Ok(Json(serde_json::json!({"unit": unit, "status": status})))
}
