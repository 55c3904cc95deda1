//! The OpenAPI 3.1 document of every endpoint, served at `/api/v1/openapi.json` (built in,
//! nothing fetched). One table lists the endpoints; a test checks the router serves each.

use axum::Json;
use serde_json::{json, Map, Value};

/// One documented endpoint: (method, path, summary, roles allowed, success status, request
/// body schema).
pub type Endpoint = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u16,
    Option<&'static str>,
);

/// Every endpoint.
pub const ENDPOINTS: &[Endpoint] = &[
    ("post", "/api/v1/reports", "Report an incident (hotline 110/12345, camera analytics, operator entry); idempotent on external_id", "gateway, operator, admin", 201, Some("Report")),
    ("get", "/api/v1/units", "Units with CAD state and position; filters agency, status", "display, operator, gateway, admin", 200, None),
    ("post", "/api/v1/units/{id}/positions", "GPS fixes of a unit: one {time, lon, lat}, an array, or {fixes: [...]}", "gateway, operator, admin", 200, Some("Fixes")),
    ("post", "/api/v1/units/{id}/status", "A crew's status from its terminal: {status: on_scene | cleared}; the twin follows it instead of its estimate (409 if the unit is not en route / on scene)", "gateway, operator, admin", 200, Some("CrewStatus")),
    ("get", "/api/v1/incidents", "Open and recently closed incidents; filters status (or active), agency, bbox=min_lon,min_lat,max_lon,max_lat, near=lon,lat&radius=m (R-tree)", "display, operator, gateway, admin", 200, None),
    ("get", "/api/v1/incidents/{id}", "One incident with its parts", "display, operator, gateway, admin", 200, None),
    ("get", "/api/v1/incidents/{id}/decisions", "Why each unit was sent (or nobody was), oldest first: rule, the unit chosen, the units ranked by road and every unit nearer as the crow flies with its status and road time (docs/dispatch.md)", "display, operator, gateway, admin", 200, None),
    ("get", "/api/v1/incidents/{id}/eido", "The incident as a NENA EIDO (NENA-STA-021.1b) JSON document for another CAD: agencies, the incident, its location, the units sent with their common unit status, dispatches", "display, operator, gateway, admin", 200, None),
    ("post", "/api/v1/incidents/{id}/acknowledge", "Acknowledge (reason optional)", "operator, admin", 200, Some("Action")),
    ("post", "/api/v1/incidents/{id}/assign", "Send a unit for an agency's part (reason, agency, unit)", "operator, admin", 200, Some("Action")),
    ("post", "/api/v1/incidents/{id}/reassign", "Same as assign: replace the unit serving a part", "operator, admin", 200, Some("Action")),
    ("post", "/api/v1/incidents/{id}/close", "Close with a disposition (reason, disposition)", "operator, admin", 200, Some("Action")),
    ("post", "/api/v1/incidents/{id}/cancel", "Cancel as duplicate or false_alarm (reason, why)", "operator, admin", 200, Some("Action")),
    ("post", "/api/v1/incidents/{id}/reopen", "Reopen a closed incident (reason)", "operator, admin", 200, Some("Action")),
    ("get", "/api/v1/kpis", "KPIs now and since the district's midnight, per agency and subdistrict", "display, operator, gateway, admin", 200, None),
    ("get", "/api/v1/forecast", "Expected incidents per grid cell over the next hours (hours=1..168, default 2), per type and hour with a 90 % interval, from serve --model; 404 without a model", "display, operator, gateway, admin", 200, None),
    ("get", "/api/v1/recommendations", "Move-ups proposed now: {at, recommendations: [{id, agency, unit, covering, lon, lat, before, after, proposed_at}], coverage: {agency: {share, threshold, free_units}}}. A move-up is proposed when an agency's share of the hour's expected demand within 3 minutes of a free unit falls below live.ron's move_up threshold", "display, operator, gateway, admin", 200, None),
    ("post", "/api/v1/recommendations/{id}/accept", "Accept a move-up: the unit takes over the busy unit's patrol until its owner is free (a command in the input log; audited); 404 if no longer proposed, 409 if it cannot be made now", "operator, admin", 200, Some("RecommendationAction")),
    ("post", "/api/v1/recommendations/{id}/dismiss", "Dismiss a move-up (reason required; audited): not proposed again while the same move stays the best", "operator, admin", 200, Some("RecommendationAction")),
    ("get", "/api/v1/coverage", "Patrol coverage: per grid cell, seconds since its last visit (GPS fixes where fresh, else the patrol model) and whether it is watched (hot in some hour of the day), the share of hot cell-hours unvisited for over 2 h, and each agency's coverage", "display, operator, gateway, admin", 200, None),
    ("get", "/api/v1/audit", "Who did what, when, why; since=RFC 3339", "admin", 200, None),
    ("get", "/api/v1/clock", "The twin's clock: simulation seconds and calendar time", "display, operator, gateway, admin", 200, None),
    ("post", "/api/v1/forks", "Fork now: {hours (≤ 24), seed?} runs a copy of the live state forward with incidents drawn from the catalogue; projected KPIs and each agency's peak queue. The live twin is untouched", "operator, admin (at most 2 at once: 503 beyond)", 200, Some("Fork")),
    ("get", "/api/v1/stream", "WebSocket (upgrade): a snapshot {type: snapshot, seq, units, incidents, kpis}, then {type: delta, seq, base, units, incidents, removed, kpis?}; ?since=<seq> resumes (changes since, or a snapshot if that view is gone); ?token= for browsers. Slow clients are downsampled, then dropped", "display, operator, gateway, admin", 101, None),
    ("get", "/api/v1/openapi.json", "This document", "anyone", 200, None),
    ("get", "/metrics", "Prometheus metrics (OpenMetrics text): inputs accepted by kind, 503s, queue depth, group-commit (fsync) seconds and size, dispatch seconds, open and queued parts per agency; with --bus the log's place in the bus, its lag and refusals", "anyone", 200, None),
    ("get", "/v1.1", "SensorThings v1.1 service root", "anyone", 200, None),
    ("get", "/v1.1/Things", "SensorThings Things (the scene's sensing assets); also Things(id), Things(id)/Datastreams, Things(id)/Locations; $top $skip $count $orderby $select", "display, operator, gateway, admin", 200, None),
    ("get", "/v1.1/Locations", "SensorThings Locations", "display, operator, gateway, admin", 200, None),
    ("get", "/v1.1/Datastreams", "SensorThings Datastreams (one per Thing); also Datastreams(id), /Thing, /Sensor, /ObservedProperty, /Observations", "display, operator, gateway, admin", 200, None),
    ("get", "/v1.1/Sensors", "SensorThings Sensors (one per asset kind)", "display, operator, gateway, admin", 200, None),
    ("get", "/v1.1/ObservedProperties", "SensorThings ObservedProperties", "display, operator, gateway, admin", 200, None),
    ("get", "/v1.1/Observations", "SensorThings Observations; $filter on phenomenonTime, resultTime, result, id (eq ne gt ge lt le, and)", "display, operator, gateway, admin", 200, None),
    ("post", "/v1.1/Observations", "Create an Observation with its Datastream link; 201 with Location", "gateway, operator, admin", 201, Some("Observation")),
    ("post", "/v1.1/Datastreams({id})/Observations", "Create an Observation of a Datastream; 201 with Location", "gateway, operator, admin", 201, Some("Observation")),
    ("post", "/v1.1/CreateObservations", "dataArray batch: all rows checked before any is kept; 201 with the new selfLinks", "gateway, operator, admin", 201, Some("DataArray")),
];

/// The inputs that go through the bus with `serve --ingest-via-bus` (and may answer 202).
const INGESTS: [&str; 5] = [
    "/api/v1/reports",
    "/api/v1/units/{id}/positions",
    "/v1.1/Observations",
    "/v1.1/Datastreams({id})/Observations",
    "/v1.1/CreateObservations",
];

/// The document.
pub fn build() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, roles, status, body) in ENDPOINTS {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": summary,
            "description": format!("Roles: {roles}. Errors are JSON {{\"error\", \"field\"}}: 400 malformed, 401 no or unknown token, 403 role, 404 unknown, 409 conflict with the state, 413 body over 8 MiB, 422 invalid field, 503 busy or not saved (Retry-After)."),
            "responses": { status.to_string(): {"description": "success"}, "4XX": {"description": "refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "503": {"description": "busy or not saved; nothing was kept"} },
            "security": if *roles == "anyone" { json!([]) } else { json!([{"bearer": []}, {"basic": []}]) },
        });
        if INGESTS.contains(path) && *method == "post" {
            op["responses"]["202"] = json!({"description": "with serve --ingest-via-bus: stored on the bus (replicated, on disk), not yet taken by the twin within 10 s; it will be", "content": {"application/json": {"schema": {"type": "object", "properties": {"bus_seq": {"type": "integer"}, "status": {"type": "string"}}}}}});
        }
        if let Some(schema) = body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        }
        let params: Vec<Value> = ["id"]
            .iter()
            .filter(|p| path.contains(&format!("{{{p}}}")))
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Binjiang live twin", "version": env!("CARGO_PKG_VERSION"), "description": "Sensors (OGC SensorThings v1.1), reports and GPS in; dispatch decided; nothing acknowledged before it is on disk."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "basic": {"type": "http", "scheme": "basic", "description": "the token as password; user name ignored"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}, "field": {"type": "string"}}},
                "Report": {"type": "object", "required": ["source", "type"], "properties": {
                    "external_id": {"type": "string"}, "source": {"enum": ["sensor", "camera", "hotline110", "hotline12345", "patrol"]},
                    "type": {"type": "string", "description": "catalogue key"}, "lon": {"type": "number"}, "lat": {"type": "number"},
                    "asset_id": {"type": "string"}, "time": {"type": "string", "format": "date-time"}, "text": {"type": "string"}}},
                "Fix": {"type": "object", "required": ["time", "lon", "lat"], "properties": {"time": {"type": "string", "format": "date-time"}, "lon": {"type": "number"}, "lat": {"type": "number"}}},
                "Fixes": {"oneOf": [{"$ref": "#/components/schemas/Fix"}, {"type": "array", "items": {"$ref": "#/components/schemas/Fix"}}, {"type": "object", "properties": {"fixes": {"type": "array", "items": {"$ref": "#/components/schemas/Fix"}}}}]},
                "CrewStatus": {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["on_scene", "cleared"]}}},
                "Fork": {"type": "object", "required": ["hours"], "properties": {"hours": {"type": "number"}, "seed": {"type": "integer"}, "scenario": {"type": "string", "description": "refused (422): scenario overlays come with binjiang whatif; a fork projects the live state as it is"}}},
                "RecommendationAction": {"type": "object", "properties": {"reason": {"type": "string", "description": "required to dismiss"}}},
                "Action": {"type": "object", "properties": {"reason": {"type": "string"}, "agency": {"type": "string"}, "unit": {"type": "string"}, "disposition": {"type": "string"}, "why": {"enum": ["duplicate", "false_alarm"]}}},
                "Observation": {"type": "object", "required": ["result"], "properties": {"result": {"type": "number"}, "phenomenonTime": {"type": "string"}, "resultTime": {"type": "string"}, "Datastream": {"type": "object", "properties": {"@iot.id": {"type": "integer"}}}}},
                "DataArray": {"type": "array", "items": {"type": "object", "properties": {"Datastream": {"type": "object"}, "components": {"type": "array", "items": {"type": "string"}}, "dataArray": {"type": "array", "items": {"type": "array"}}}}}
            }
        }
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(build())
}
