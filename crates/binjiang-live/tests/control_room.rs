//! Operators' actions through the CAD life cycle, the audit trail, and reads: units,
//! incidents by status, agency, bounding box and radius, KPIs, SensorThings collections.

mod common;

use common::Harness;
use serde_json::{json, Value};

fn report(h: &Harness, ty: &str, lon: f64, lat: f64) -> u64 {
    let (s, r) = h.post(
        "/api/v1/reports",
        &h.tokens.gateway,
        json!({"source": "hotline110", "type": ty, "lon": lon, "lat": lat}),
    );
    assert_eq!(s, 201, "{r}");
    r["incident"].as_u64().unwrap()
}

fn act(h: &Harness, id: u64, action: &str, body: Value) -> (u16, Value) {
    h.post(
        &format!("/api/v1/incidents/{id}/{action}"),
        &h.tokens.operator,
        body,
    )
}

#[test]
fn an_incident_goes_through_the_cad_life_cycle_and_the_audit_trail_says_who_and_why() {
    let h = Harness::start();
    let id = report(&h, "vending", 121.5063, 31.2526);
    let (s, inc) = act(&h, id, "acknowledge", json!({}));
    assert_eq!(s, 200, "{inc}");
    assert!(inc["acknowledged_at"].is_string());
    assert_eq!(inc["status"], "en_route");
    assert_eq!(
        inc["parts"].as_array().unwrap().len(),
        2,
        "urban management and market supervision"
    );
    // Assign needs a reason and a free unit of that agency.
    let (s, e) = act(
        &h,
        id,
        "assign",
        json!({"agency": "police", "unit": "police-north"}),
    );
    assert_eq!((s, e["field"].as_str()), (422, Some("reason")));
    let (s, e) = act(
        &h,
        id,
        "assign",
        json!({"reason": "closer", "agency": "market_supervision", "unit": "police-north"}),
    );
    assert_eq!((s, e["field"].as_str()), (409, Some("unit")), "{e}");
    // Close needs a disposition; then it is closed, and reopening dispatches it again.
    let (s, e) = act(&h, id, "close", json!({"reason": "gone"}));
    assert_eq!((s, e["field"].as_str()), (422, Some("disposition")));
    let (s, inc) = act(
        &h,
        id,
        "close",
        json!({"reason": "vendor left", "disposition": "advice given"}),
    );
    assert_eq!(s, 200, "{inc}");
    assert_eq!(inc["status"], "closed");
    assert_eq!(inc["disposition"], "advice given");
    let (s, e) = act(
        &h,
        id,
        "close",
        json!({"reason": "again", "disposition": "x"}),
    );
    assert_eq!(s, 409, "{e}");
    let (s, inc) = act(&h, id, "reopen", json!({"reason": "vendor back"}));
    assert_eq!(s, 200, "{inc}");
    assert!(
        matches!(inc["status"].as_str(), Some("en_route" | "reopened")),
        "{inc}"
    );
    assert!(inc["closed_at"].is_null());
    // A duplicate is cancelled, not closed.
    let dup = report(&h, "vending", 121.5063, 31.2526);
    let (s, e) = act(
        &h,
        dup,
        "cancel",
        json!({"reason": "same vendor", "why": "mistake"}),
    );
    assert_eq!((s, e["field"].as_str()), (422, Some("why")), "{e}");
    let (s, inc) = act(
        &h,
        dup,
        "cancel",
        json!({"reason": "same vendor", "why": "duplicate"}),
    );
    assert_eq!(s, 200, "{inc}");
    assert_eq!(inc["status"], "cancelled");
    let (s, _) = act(&h, 9999, "acknowledge", json!({}));
    assert_eq!(s, 404);
    let (s, _) = act(&h, id, "teleport", json!({"reason": "x"}));
    assert_eq!(s, 404);
    // The audit trail, oldest first, for admins.
    let (s, audit) = h.get("/api/v1/audit", &h.tokens.admin);
    assert_eq!(s, 200);
    let actions: Vec<(&str, &str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["actor"].as_str().unwrap(),
                a["action"].as_str().unwrap(),
                a["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("op-wang", "acknowledge", ""),
            ("op-wang", "close", "vendor left"),
            ("op-wang", "reopen", "vendor back"),
            ("op-wang", "cancel", "same vendor")
        ]
    );
    let last = audit.as_array().unwrap().last().unwrap();
    let since = last["at"].as_str().unwrap();
    let (_, recent) = h.get(
        &format!("/api/v1/audit?since={}", since.replace('+', "%2B")),
        &h.tokens.admin,
    );
    assert_eq!(recent.as_array().unwrap().len(), 1, "{recent}");
    let (s, e) = h.get("/api/v1/audit?since=monday", &h.tokens.admin);
    assert_eq!((s, e["field"].as_str()), (422, Some("since")));
}

#[test]
fn incidents_are_found_by_status_agency_box_and_radius() {
    let h = Harness::start();
    let north = report(&h, "fight", 121.5078, 31.2527);
    let south = report(&h, "litter", 121.5052, 31.2473);
    let ids = |v: &Value| -> Vec<u64> {
        let mut x: Vec<u64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_u64().unwrap())
            .collect();
        x.sort();
        x
    };
    let t = &h.tokens.display;
    let (_, all) = h.get("/api/v1/incidents", t);
    assert_eq!(ids(&all), vec![north, south], "{all}");
    assert_eq!(
        ids(&h.get("/api/v1/incidents?agency=cleaning", t).1),
        vec![south]
    );
    assert_eq!(
        ids(&h
            .get("/api/v1/incidents?bbox=121.50,31.250,121.51,31.26", t)
            .1),
        vec![north]
    );
    assert_eq!(
        ids(&h
            .get("/api/v1/incidents?near=121.5052,31.2473&radius=150", t)
            .1),
        vec![south]
    );
    assert_eq!(
        ids(&h.get("/api/v1/incidents?status=active", t).1),
        vec![north, south]
    );
    assert_eq!(
        ids(&h.get("/api/v1/incidents?status=closed", t).1),
        Vec::<u64>::new()
    );
    assert_eq!(h.get("/api/v1/incidents?near=121.5,31.25", t).0, 422);
    assert_eq!(h.get("/api/v1/incidents?bbox=1,2,3", t).0, 422);
    assert_eq!(h.get("/api/v1/incidents?agency=navy", t).0, 422);
    assert_eq!(h.get("/api/v1/incidents?status=burning", t).0, 422);
    assert_eq!(h.get("/api/v1/units?status=asleep", t).0, 422);
    assert_eq!(h.get("/api/v1/units?status=available", t).0, 200);
    let (s, k) = h.get("/api/v1/kpis", t);
    assert_eq!(s, 200);
    assert_eq!(k["open_incidents"], 2, "{k}");
    assert_eq!(k["today"]["incidents"], 2, "{k}");
    assert!(
        k["now_per_agency"]["police"]["units_on_duty"]
            .as_u64()
            .unwrap()
            >= 2,
        "{k}"
    );
}

#[test]
fn sensorthings_reads_page_count_order_select_and_filter() {
    let h = Harness::start();
    let gw = &h.tokens.gateway;
    let (_, clock) = h.get("/api/v1/clock", gw);
    let epoch = clock["epoch_ms"].as_i64().unwrap();
    let t = clock["t"].as_f64().unwrap();
    let iso = |s: f64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(epoch + (s * 1000.0) as i64)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let rows: Vec<Value> = (0..5)
        .map(|k| json!([iso(t - 600.0 + 60.0 * k as f64), 10 + k]))
        .collect();
    let (s, links) = h.post(
        "/v1.1/CreateObservations",
        gw,
        json!([{"Datastream": {"@iot.id": 2}, "components": ["phenomenonTime", "result"], "dataArray@iot.count": 5, "dataArray": rows}]),
    );
    assert_eq!(s, 201, "{links}");
    assert_eq!(links.as_array().unwrap().len(), 5);
    let (_, page) = h.get(
        "/v1.1/Datastreams(2)/Observations?$top=2&$count=true&$orderby=phenomenonTime%20desc",
        gw,
    );
    assert_eq!(page["@iot.count"], 5, "{page}");
    let results: Vec<f64> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_f64().unwrap())
        .collect();
    assert_eq!(results, vec![14.0, 13.0]);
    let next = page["@iot.nextLink"].as_str().unwrap();
    let path = next.split_once("/v1.1").unwrap().1;
    let (_, page2) = h.get(&format!("/v1.1{path}"), gw);
    let results: Vec<f64> = page2["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_f64().unwrap())
        .collect();
    assert_eq!(results, vec![12.0, 11.0], "{page2}");
    let filter = format!(
        "phenomenonTime%20ge%20{}%20and%20phenomenonTime%20lt%20{}",
        iso(t - 480.0 - 1.0),
        iso(t - 360.0 + 1.0)
    );
    let (_, f) = h.get(
        &format!("/v1.1/Observations?$filter={filter}&$select=result"),
        gw,
    );
    let v = f["value"].as_array().unwrap();
    assert_eq!(v.len(), 3, "{f}");
    assert_eq!(v[0], json!({"result": 12.0}));
    let (s, e) = h.get("/v1.1/Observations?$filter=colour%20eq%20red", gw);
    assert_eq!((s, e["field"].as_str()), (400, Some("$filter")));
    // The scene's Things, with their Locations and Datastreams.
    let (_, things) = h.get("/v1.1/Things?$count=true", gw);
    assert_eq!(things["@iot.count"], 3, "bins 1 and 2 and the manhole");
    let (_, ds) = h.get("/v1.1/Things(3)/Datastreams", gw);
    assert_eq!(ds["value"][0]["unitOfMeasurement"]["symbol"], "°");
    let (_, loc) = h.get("/v1.1/Things(1)/Locations", gw);
    assert_eq!(loc["value"][0]["location"]["type"], "Point");
    let (_, o) = h.get("/v1.1/Observations(1)", gw);
    assert_eq!(o["@iot.id"], 1);
    assert!(o["@iot.selfLink"]
        .as_str()
        .unwrap()
        .ends_with("/v1.1/Observations(1)"));
    let (_, d) = h.get("/v1.1/Observations(1)/Datastream", gw);
    assert_eq!(d["@iot.id"], 2);
    assert_eq!(h.get("/v1.1/Things(42)", gw).0, 404);
    assert_eq!(h.get("/v1.1/Observations(4242)", gw).0, 404);
}

#[test]
fn the_openapi_document_lists_every_route_the_service_serves() {
    let h = Harness::start();
    let (s, doc) = h.get("/api/v1/openapi.json", &h.tokens.display);
    assert_eq!(s, 200);
    let paths = doc["paths"].as_object().unwrap();
    for (method, path, _, _, status, _) in binjiang_live::openapi::ENDPOINTS {
        assert!(paths[*path][*method].is_object(), "{method} {path}");
        if *method == "get" && !path.contains('{') {
            let (s, a) = h.get(path, &h.tokens.admin);
            // A plain GET of the WebSocket route is refused for want of an upgrade; this
            // service has no learned model, so the forecast says how to get one (404).
            let expected = match (*status, *path) {
                (101, _) => 400,
                (_, "/api/v1/forecast") => 404,
                _ => 200,
            };
            assert_eq!(s, expected, "{path}: {a}");
        }
    }
    for route in [
        "/api/v1/reports",
        "/api/v1/units/{id}/positions",
        "/api/v1/incidents/{id}/close",
        "/v1.1/CreateObservations",
    ] {
        assert!(paths.contains_key(route), "{route}");
    }
}

#[test]
fn prometheus_metrics_count_ingest_commits_and_open_work() {
    let h = Harness::start();
    for v in [10, 20, 30] {
        h.post(
            "/v1.1/Datastreams(2)/Observations",
            &h.tokens.gateway,
            json!({"result": v}),
        );
    }
    report(&h, "litter", 121.5052, 31.2473);
    // The gauges follow the view the twin publishes on its next tick: wait for it.
    let metrics = || {
        let (s, text) = common::call(&h.agent, "GET", &format!("{}/metrics", h.base), None, None);
        assert_eq!(s, 200);
        text.as_str().unwrap().to_owned()
    };
    let started = std::time::Instant::now();
    let text = loop {
        let text = metrics();
        if text.contains("binjiang_open_parts{agency=\"cleaning\"} 1") {
            break text;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("binjiang_accepted_total{kind=\"observation\"}"), 3.0);
    assert_eq!(value("binjiang_accepted_total{kind=\"report\"}"), 1.0);
    assert_eq!(value("binjiang_dispatch_seconds_count"), 1.0);
    assert!(value("binjiang_commit_seconds_count") >= 4.0);
    assert_eq!(value("binjiang_open_parts{agency=\"cleaning\"}"), 1.0);
    assert_eq!(value("binjiang_queue_depth"), 0.0);
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn a_crews_terminal_says_when_it_arrived_and_when_it_is_done() {
    let h = Harness::start();
    let id = report(&h, "fight", 121.5078, 31.2527);
    let (_, inc) = h.get(&format!("/api/v1/incidents/{id}"), &h.tokens.operator);
    let unit = inc["parts"][0]["unit"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/units/{unit}/status");
    let (s, e) = h.post(&path, &h.tokens.gateway, json!({"status": "cleared"}));
    assert_eq!((s, e["field"].as_str()), (409, Some("status")), "{e}");
    let (s, _) = h.post(&path, &h.tokens.gateway, json!({"status": "on_scene"}));
    assert_eq!(s, 200);
    let (_, inc) = h.get(&format!("/api/v1/incidents/{id}"), &h.tokens.operator);
    assert_eq!(inc["status"], "on_scene", "{inc}");
    let (s, _) = h.post(&path, &h.tokens.gateway, json!({"status": "cleared"}));
    assert_eq!(s, 200);
    let (_, inc) = h.get(&format!("/api/v1/incidents/{id}"), &h.tokens.operator);
    assert_eq!(inc["status"], "resolved", "{inc}");
    assert_eq!(
        h.post(&path, &h.tokens.gateway, json!({"status": "asleep"}))
            .0,
        422
    );
    assert_eq!(
        h.post(
            "/api/v1/units/ghost/status",
            &h.tokens.gateway,
            json!({"status": "cleared"})
        )
        .0,
        404
    );
    assert_eq!(
        h.post(&path, &h.tokens.display, json!({"status": "cleared"}))
            .0,
        403
    );
}

/// Issue 17.7: a token revoked from another process (`binjiang token revoke`) is refused by
/// the running service at once — its cached identity is forgotten — and the others work on.
#[test]
fn a_revoked_token_is_refused_by_the_running_service() {
    let h = Harness::start();
    let (s, _) = h.get("/api/v1/incidents", &h.tokens.operator);
    assert_eq!(s, 200, "the token works (and is now cached)");
    let mut conn = binjiang_live::store::open(&h.db).unwrap();
    assert_eq!(
        binjiang_live::auth::revoke_tokens(&mut conn, "op-wang").unwrap(),
        1
    );
    let mut refused = None;
    for _ in 0..100 {
        let (s, r) = h.get("/api/v1/incidents", &h.tokens.operator);
        if s == 401 {
            refused = Some(r);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = refused.expect("the revoked token is refused within 5 s");
    assert_eq!(r["field"], "Authorization", "{r}");
    let (s, _) = h.get("/api/v1/incidents", &h.tokens.display);
    assert_eq!(s, 200, "other tokens work on");
}

/// Issue 17 ("the OpenAPI schemas are copied by hand and drift"): every request schema with
/// properties is checked against what the service really takes. A body with a field no one
/// knows is refused naming the fields the service expects; those must be exactly the
/// schema's properties. And every refusal matches the `Error` schema.
#[test]
fn every_request_schema_names_exactly_the_fields_the_service_takes() {
    let h = Harness::start();
    let (_, doc) = h.get("/api/v1/openapi.json", &h.tokens.display);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let incident = report(&h, "litter", 121.5052, 31.2473);
    let mut checked = Vec::new();
    for (method, path, _, _, _, body) in binjiang_live::openapi::ENDPOINTS {
        let (Some(name), "post") = (body, *method) else {
            continue;
        };
        let schema = &schemas[*name];
        let Some(properties) = schema["properties"].as_object() else {
            continue; // oneOf / arrays: no field list to compare
        };
        let id = if path.starts_with("/api/v1/units/") {
            "clean-north".to_owned()
        } else {
            incident.to_string()
        };
        let url = path.replace("{id}", &id);
        let (s, r) = h.post(&url, &h.tokens.admin, json!({"zz_not_in_the_schema": 1}));
        let error = r["error"].as_str().unwrap_or_default().to_owned();
        if !error.contains("unknown field") {
            // A body parsed by hand (SensorThings): no field list to compare.
            assert!((400..500).contains(&s), "{path}: {s} {r}");
            continue;
        }
        assert_eq!(s, 422, "{path}: {r}");
        let expected: std::collections::BTreeSet<&str> = error
            .split("expected")
            .nth(1)
            .unwrap_or_default()
            .split('`')
            .skip(1)
            .step_by(2)
            .collect();
        let documented: std::collections::BTreeSet<&str> =
            properties.keys().map(String::as_str).collect();
        assert_eq!(
            documented, expected,
            "{path}: schema {name} vs what the service takes"
        );
        checked.push(*name);
    }
    for name in ["Report", "CrewStatus", "Fork", "Action"] {
        assert!(checked.contains(&name), "{name} was checked: {checked:?}");
    }
    // Every refusal is an Error: a string "error", and "field" a string when present.
    for (s, r) in [
        h.get("/api/v1/incidents/999999", &h.tokens.admin),
        h.post("/api/v1/reports", &h.tokens.admin, json!({"source": "x"})),
        h.get("/v1.1/Observations?$top=x", &h.tokens.admin),
        h.get("/api/v1/incidents", "bj_not_a_token"),
    ] {
        assert!((400..500).contains(&s), "{s} {r}");
        let required = schemas["Error"]["required"].as_array().unwrap();
        for k in required {
            assert!(r[k.as_str().unwrap()].is_string(), "{r}");
        }
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        for k in keys {
            assert!(
                schemas["Error"]["properties"].get(k).is_some(),
                "{k} not in Error: {r}"
            );
            assert!(r[k].is_string(), "{r}");
        }
    }
}
