//! Sensors, reports and fixes into a real service: rules, idempotence, bad input, access.

mod common;

use common::Harness;
use serde_json::{json, Value};

fn open_of(all: &Value, asset: &str) -> Vec<Value> {
    all.as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["external_id"]
                .as_str()
                .is_some_and(|e| e.starts_with(&format!("sensor:{asset}:")))
        })
        .cloned()
        .collect()
}

#[test]
fn a_full_bin_opens_one_incident_and_its_sensor_clears_it() {
    let h = Harness::start();
    let gw = &h.tokens.gateway;
    let (s, created) = h.post(
        "/v1.1/Datastreams(1)/Observations",
        gw,
        json!({"result": 95}),
    );
    assert_eq!(s, 201, "{created}");
    // Still full: no second incident for the same bin.
    let (s, _) = h.post(
        "/v1.1/Observations",
        gw,
        json!({"result": 97, "Datastream": {"@iot.id": 1}}),
    );
    assert_eq!(s, 201);
    let all = h.wait_for("the bin's incident", |all| {
        !open_of(all, "bin-1").is_empty()
    });
    let mine = open_of(&all, "bin-1");
    assert_eq!(mine.len(), 1, "{all}");
    assert_eq!(mine[0]["type"], "bin_overflow");
    assert_eq!(mine[0]["source"], "sensor");
    // Between the thresholds: hysteresis keeps it as it is.
    h.post(
        "/v1.1/Datastreams(1)/Observations",
        gw,
        json!({"result": 75}),
    );
    // Emptied: cleared by the sensor.
    h.post(
        "/v1.1/Datastreams(1)/Observations",
        gw,
        json!({"result": 10}),
    );
    let all = h.wait_for("cleared by sensor", |all| {
        open_of(all, "bin-1")
            .iter()
            .any(|i| i["disposition"] == "cleared by sensor")
    });
    let cleared = &open_of(&all, "bin-1")[0];
    assert_eq!(cleared["status"], "closed", "{cleared}");
    // Full again: a new incident.
    h.post(
        "/v1.1/Datastreams(1)/Observations",
        gw,
        json!({"result": 92}),
    );
    h.wait_for("a second incident", |all| open_of(all, "bin-1").len() == 2);
    assert_eq!(h.count("observations"), 5);
}

#[test]
fn reports_are_idempotent_on_external_id_and_a_reused_id_is_refused() {
    let h = Harness::start();
    let gw = &h.tokens.gateway;
    let body = json!({"external_id": "12345-000017", "source": "hotline12345", "type": "litter",
        "lon": 121.5031, "lat": 31.2512, "text": "cups on the steps"});
    let (s, first) = h.post("/api/v1/reports", gw, body.clone());
    assert_eq!(s, 201, "{first}");
    let (s, again) = h.post("/api/v1/reports", gw, body.clone());
    assert_eq!(s, 200, "a retry answers the same incident");
    assert_eq!(again["incident"], first["incident"]);
    assert_eq!(again["new"], false);
    let mut other = body.clone();
    other["type"] = json!("fight");
    let (s, refused) = h.post("/api/v1/reports", gw, other);
    assert_eq!(s, 409, "{refused}");
    assert_eq!(refused["field"], "external_id");
    let inputs = h.count("inputs");
    assert_eq!(inputs, 1, "one report on disk");
}

#[test]
fn bad_input_names_the_field_keeps_nothing_and_the_service_runs_on() {
    let h = Harness::start();
    let gw = &h.tokens.gateway;
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("/api/v1/reports", "{\"source\": \"hotline110\", \"type\": ".into(), 400, "body"),
        ("/api/v1/reports", json!({"source": "hotline110", "type": "fight", "lon": "east", "lat": 31.25}).to_string(), 422, "lon"),
        ("/api/v1/reports", json!({"source": "fax", "type": "fight", "lon": 121.503, "lat": 31.25}).to_string(), 422, "source"),
        ("/api/v1/reports", json!({"source": "hotline110", "type": "alien_landing", "lon": 121.503, "lat": 31.25}).to_string(), 422, "type"),
        ("/api/v1/reports", json!({"source": "hotline110", "type": "fight", "asset_id": "bin-99"}).to_string(), 422, "asset_id"),
        ("/api/v1/reports", json!({"source": "hotline110", "type": "fight", "lon": 2.35, "lat": 48.85}).to_string(), 422, "lon"),
        ("/api/v1/reports", json!({"source": "hotline110", "type": "fight", "lon": 121.503, "lat": 31.25, "time": "2030-01-01T00:00:00Z"}).to_string(), 422, "time"),
        ("/api/v1/reports", json!({"source": "hotline110", "type": "fight", "lon": 121.503, "lat": 31.25, "time": "2020-01-01T00:00:00Z"}).to_string(), 422, "time"),
        ("/api/v1/reports", json!({"source": "hotline110", "type": "fight", "lon": 121.503, "lat": 31.25, "colour": "red"}).to_string(), 422, "colour"),
        ("/v1.1/Observations", json!({"result": 50, "Datastream": {"@iot.id": 99}}).to_string(), 422, "Datastream.@iot.id"),
        ("/v1.1/Observations", json!({"result": 50}).to_string(), 422, "Datastream"),
        ("/v1.1/Observations", json!({"result": "full", "Datastream": {"@iot.id": 1}}).to_string(), 422, "result"),
        ("/v1.1/Observations", json!({"result": 101, "Datastream": {"@iot.id": 1}}).to_string(), 422, "result"),
        ("/v1.1/Datastreams(1)/Observations", json!({"result": 50, "phenomenonTime": "soon"}).to_string(), 422, "phenomenonTime"),
        ("/v1.1/Datastreams(1)/Observations", json!({"result": 50, "phenomenonTime": "2031-01-01T00:00:00Z"}).to_string(), 422, "phenomenonTime"),
        ("/v1.1/Datastreams(77)/Observations", json!({"result": 50}).to_string(), 404, "path"),
        ("/v1.1/CreateObservations", json!([{"Datastream": {"@iot.id": 1}, "components": ["result"], "dataArray": [[10], [1000]]}]).to_string(), 422, "[0].dataArray[1].result"),
        ("/v1.1/CreateObservations", json!([{"Datastream": {"@iot.id": 1}, "components": ["result", "phenomenonTime"], "dataArray": [[10]]}]).to_string(), 422, "[0].dataArray[0]"),
        ("/api/v1/units/nobody/positions", json!({"time": "2026-01-01T00:00:00Z", "lon": 121.5, "lat": 31.25}).to_string(), 404, "unit"),
        ("/v1.1/Things", json!({"name": "new"}).to_string(), 405, "path"),
    ];
    for (path, body, status, field) in &cases {
        let (s, answer) = h.post_raw(path, Some(gw), body);
        assert_eq!(s, *status, "{path} {body}: {answer}");
        assert_eq!(answer["field"], *field, "{path} {body}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
    }
    // Too big: 413, named — answered on the headers, as a client that says
    // `Expect: 100-continue` (curl does for large bodies) learns before sending 20 MB.
    // (A client that sends the body anyway gets the same answer, but the server closes the
    // connection without reading the rest, so it may see the close before the answer.)
    for path in ["/v1.1/CreateObservations", "/api/v1/reports"] {
        let (status, answer) = too_big(&h, path, gw);
        assert_eq!(status, 413, "{path}: {answer}");
        assert_eq!(answer["field"], "body", "{path}");
    }
    // Nothing was kept, and the service still takes good input.
    assert_eq!(h.count("observations") + h.count("inputs"), 0);
    let (s, _) = h.post(
        "/v1.1/Datastreams(1)/Observations",
        gw,
        json!({"result": 50}),
    );
    assert_eq!(s, 201);
    assert_eq!(h.count("observations"), 1);
}

/// Sends only the headers of a 20 MB POST with `Expect: 100-continue`; returns the answer.
fn too_big(h: &Harness, path: &str, token: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let addr = h.base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(text.clone())),
    )
}

#[test]
fn every_endpoint_checks_its_callers_role() {
    let h = Harness::start();
    let t = &h.tokens;
    // No token, an unknown token.
    let (s, a) = common::call(
        &h.agent,
        "GET",
        &format!("{}/api/v1/units", h.base),
        None,
        None,
    );
    assert_eq!((s, a["field"].as_str()), (401, Some("Authorization")));
    let (s, _) = h.get("/api/v1/units", "bj_not-a-token");
    assert_eq!(s, 401);
    // Display reads, never writes.
    assert_eq!(h.get("/api/v1/units", &t.display).0, 200);
    assert_eq!(
        h.post(
            "/v1.1/Datastreams(1)/Observations",
            &t.display,
            json!({"result": 5})
        )
        .0,
        403
    );
    // Gateways ingest, never act nor audit.
    let (s, r) = h.post(
        "/api/v1/reports",
        &t.gateway,
        json!({"source": "hotline110", "type": "fight", "lon": 121.5078, "lat": 31.2527}),
    );
    assert_eq!(s, 201, "{r}");
    let id = r["incident"].as_u64().unwrap();
    assert_eq!(
        h.post(
            &format!("/api/v1/incidents/{id}/acknowledge"),
            &t.gateway,
            json!({})
        )
        .0,
        403
    );
    assert_eq!(h.get("/api/v1/audit", &t.gateway).0, 403);
    assert_eq!(h.get("/api/v1/audit", &t.operator).0, 403);
    // An operator of cleaning may not touch a police incident; one of all agencies may.
    let (s, a) = h.post(
        &format!("/api/v1/incidents/{id}/close"),
        &t.cleaning,
        json!({"reason": "x", "disposition": "y"}),
    );
    assert_eq!(s, 403, "{a}");
    let (s, a) = h.post(
        &format!("/api/v1/incidents/{id}/acknowledge"),
        &t.operator,
        json!({}),
    );
    assert_eq!(s, 200, "{a}");
    // HTTP Basic with the token as password, as SensorThings clients send it.
    let url = format!("{}/v1.1/Things", h.base);
    let basic = format!("Basic {}", base64_of(&format!("gw:{}", t.gateway)));
    let r = h
        .agent
        .get(&url)
        .header("Authorization", &basic)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(h.get("/api/v1/audit", &t.admin).0, 200);
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn a_fresh_gps_fix_is_where_the_unit_is_and_dispatch_uses_it() {
    let h = Harness::start();
    let gw = &h.tokens.gateway;
    // clean-south patrols the south bank; put it by bin-2's corner with a fix.
    let (_, clock) = h.get("/api/v1/clock", gw);
    let now = clock["now"].as_str().unwrap().to_owned();
    let (s, a) = h.post(
        "/api/v1/units/clean-south/positions",
        gw,
        json!([{"time": now, "lon": 121.5073, "lat": 31.2474}]),
    );
    assert_eq!(s, 200, "{a}");
    // The fix shows once the twin publishes its next view: wait for it.
    let started = std::time::Instant::now();
    let unit = loop {
        let (_, units) = h.get("/api/v1/units", gw);
        let unit = units
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == "clean-south")
            .unwrap()
            .clone();
        if unit["position_source"] == "gps" {
            break unit;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{unit}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(unit["position_source"], "gps", "{unit}");
    assert!(
        (unit["lon"].as_f64().unwrap() - 121.5073).abs() < 1e-6,
        "{unit}"
    );
    // Litter right there goes to the unit the fix put there.
    let (s, r) = h.post(
        "/api/v1/reports",
        gw,
        json!({"source": "camera", "type": "litter", "lon": 121.50735, "lat": 31.24742}),
    );
    assert_eq!(s, 201, "{r}");
    let all = h.wait_for("the litter dispatched", |all| {
        all.as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == r["incident"] && i["parts"][0]["unit"].is_string())
    });
    let inc = all
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == r["incident"])
        .unwrap();
    assert_eq!(inc["parts"][0]["unit"], "clean-south", "{inc}");
    assert_eq!(h.count("positions"), 1);
}

mod fuzz {
    //! Arbitrary bodies at every endpoint that takes one: never a 5xx, always a JSON reason.
    use super::common::Harness;
    use proptest::prelude::*;
    use serde_json::{json, Value};
    use std::sync::OnceLock;

    fn harness() -> &'static Harness {
        static H: OnceLock<Harness> = OnceLock::new();
        H.get_or_init(Harness::start)
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            any::<i64>().prop_map(Value::from),
            "[a-z_@.()0-9:T-]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("result".to_owned()),
                            Just("Datastream".to_owned()),
                            Just("@iot.id".to_owned()),
                            Just("phenomenonTime".to_owned()),
                            Just("dataArray".to_owned()),
                            Just("components".to_owned()),
                            Just("source".to_owned()),
                            Just("type".to_owned()),
                            Just("lon".to_owned()),
                            Just("lat".to_owned()),
                            Just("time".to_owned()),
                            Just("reason".to_owned()),
                            Just("disposition".to_owned()),
                            "[a-z]{1,6}"
                        ],
                        inner
                    ),
                    0..5
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn no_body_gets_a_5xx(body in json_value(), raw in ".{0,40}", which in 0usize..7) {
            let h = harness();
            let path = ["/v1.1/Observations", "/v1.1/CreateObservations", "/v1.1/Datastreams(1)/Observations",
                "/api/v1/reports", "/api/v1/units/clean-north/positions", "/api/v1/incidents/0/close", "/api/v1/incidents/0/assign"][which];
            for text in [body.to_string(), raw.clone(), json!([body.clone()]).to_string()] {
                let (status, answer) = h.post_raw(path, Some(&h.tokens.admin), &text);
                prop_assert!(status < 500, "{path} {text}: {status} {answer}");
                if status >= 400 {
                    prop_assert!(answer["error"].is_string(), "{path} {text}: {answer}");
                }
            }
        }
    }
}
