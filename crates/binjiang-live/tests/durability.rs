//! What is acknowledged is on disk: a restart rebuilds the same twin, a full disk refuses
//! (503, nothing acknowledged) and the service recovers once it has room.

mod common;

use common::Harness;
use serde_json::{json, Value};

/// Incidents without the fields that move with the clock.
fn settled(all: &Value) -> Vec<Value> {
    all.as_array()
        .unwrap()
        .iter()
        .map(|i| json!({"id": i["id"], "type": i["type"], "external_id": i["external_id"], "acknowledged_at": i["acknowledged_at"],
            "arose_at": i["arose_at"], "disposition": i["disposition"], "cancelled": i["cancelled"], "closed_at": i["closed_at"],
            "units": i["parts"].as_array().unwrap().iter().map(|p| p["unit"].clone()).collect::<Vec<_>>()}))
        .collect()
}

#[test]
fn a_restart_rebuilds_the_same_twin_and_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let mut h = Harness::start_at(&db, |_| {});
    let gw = h.tokens.gateway.clone();
    let op = h.tokens.operator.clone();
    h.post(
        "/v1.1/Datastreams(3)/Observations",
        &gw,
        json!({"result": 12}),
    );
    for (k, (ty, lon, lat)) in [
        ("fight", 121.5078, 31.2527),
        ("litter", 121.5052, 31.2473),
        ("vending", 121.5063, 31.2526),
    ]
    .iter()
    .enumerate()
    {
        let (s, _) = h.post("/api/v1/reports", &gw, json!({"external_id": format!("r-{k}"), "source": "hotline12345", "type": ty, "lon": lon, "lat": lat}));
        assert_eq!(s, 201);
    }
    h.post(
        "/api/v1/units/clean-north/positions",
        &gw,
        json!({"time": h.get("/api/v1/clock", &gw).1["now"], "lon": 121.5031, "lat": 31.2510}),
    );
    let (s, _) = h.post("/api/v1/incidents/1/acknowledge", &op, json!({}));
    assert_eq!(s, 200);
    let (s, _) = h.post(
        "/api/v1/incidents/2/close",
        &op,
        json!({"reason": "moved on", "disposition": "advice given"}),
    );
    assert_eq!(s, 200);
    let before = settled(&h.get("/api/v1/incidents", &op).1);
    h.stop();
    let events_before = binjiang_live::twin::logged_events(&db).unwrap();
    let (inputs, observations) = (h.count("inputs"), h.count("observations"));
    drop(h);

    let h = Harness::start_at(&db, |_| {});
    let after = settled(&h.get("/api/v1/incidents", &h.tokens.operator).1);
    assert_eq!(after, before);
    assert_eq!(
        (h.count("inputs"), h.count("observations")),
        (inputs, observations)
    );
    // The rebuilt twin made the same decisions: the log on disk starts with the old one and
    // nothing of it was written twice.
    let events_after = binjiang_live::twin::logged_events(&db).unwrap();
    assert!(events_after.len() >= events_before.len());
    assert_eq!(events_after[..events_before.len()], events_before[..]);
    // Idempotence survives the restart.
    let (s, r) = h.post("/api/v1/reports", &h.tokens.gateway, json!({"external_id": "r-0", "source": "hotline12345", "type": "fight", "lon": 121.5078, "lat": 31.2527}));
    assert_eq!((s, r["new"].as_bool()), (200, Some(false)));
}

#[test]
fn a_full_disk_refuses_with_503_acknowledges_nothing_unsaved_and_recovers() {
    // About 60 pages of 4 KiB: the schema and a few hundred observations.
    let h = Harness::start_with(|o| o.max_pages = Some(60));
    let gw = h.tokens.gateway.clone();
    let mut acked = 0usize;
    let mut refused = None;
    for k in 0..400 {
        let rows: Vec<Value> = (0..50)
            .map(|j| json!([f64::from((k * 50 + j) % 50)]))
            .collect();
        let (s, answer) = h.post(
            "/v1.1/CreateObservations",
            &gw,
            json!([{"Datastream": {"@iot.id": 1}, "components": ["result"], "dataArray": rows}]),
        );
        match s {
            201 => acked += answer.as_array().unwrap().len(),
            503 => {
                refused = Some(answer);
                break;
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    let refused = refused.expect("the capped database fills up");
    assert!(
        refused["error"].as_str().unwrap().contains("not saved"),
        "{refused}"
    );
    // Exactly what was acknowledged is on disk.
    assert_eq!(h.count("observations") as usize, acked);
    // The service still answers and reads work; the twin reloaded from disk, so a small
    // write that fits is taken, and everything acknowledged is there, once.
    assert_eq!(h.get("/v1.1/Things", &gw).0, 200);
    let (s, one) = h.post(
        "/v1.1/Datastreams(1)/Observations",
        &gw,
        json!({"result": 1}),
    );
    assert_eq!(s, 201, "{one}");
    assert_eq!(h.count("observations") as usize, acked + 1);
    let id = one["@iot.id"].as_u64().unwrap();
    assert_eq!(id as usize, acked + 1, "ids continue from what is on disk");
}

#[test]
fn a_full_queue_answers_503_with_retry_after_and_loses_nothing_acknowledged() {
    // A queue of one request: concurrent clients overflow it at once.
    let h = Harness::start_with(|o| o.queue = 1);
    let (acked, busy) = (
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::atomic::AtomicUsize::new(0),
    );
    std::thread::scope(|s| {
        for _ in 0..16 {
            let (acked, busy, base, token) = (&acked, &busy, &h.base, &h.tokens.gateway);
            s.spawn(move || {
                let agent = common::agent();
                for _ in 0..40 {
                    let mut r = agent
                        .post(format!("{base}/v1.1/Datastreams(2)/Observations"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .send_json(json!({"result": 5}))
                        .unwrap();
                    match r.status().as_u16() {
                        201 => {
                            acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        503 => {
                            assert_eq!(r.headers().get("retry-after").unwrap(), "1");
                            let body: Value = r.body_mut().read_json().unwrap();
                            assert!(body["error"].as_str().unwrap().contains("busy"), "{body}");
                            busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        other => panic!("unexpected {other}"),
                    }
                }
            });
        }
    });
    let (acked, busy) = (acked.into_inner(), busy.into_inner());
    assert!(busy > 0, "16 clients overflow a queue of one");
    assert!(acked > 0);
    // What was acknowledged is on disk, and nothing refused was kept.
    assert_eq!(h.count("observations") as usize, acked);
}

#[test]
fn a_graceful_stop_finishes_the_acknowledgements_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let mut h = Harness::start_at(&db, |_| {});
    let acked = std::sync::atomic::AtomicUsize::new(0);
    let (base, token) = (h.base.clone(), h.tokens.gateway.clone());
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (acked, base, token) = (&acked, &base, &token);
            s.spawn(move || {
                let agent = common::agent();
                loop {
                    let rows: Vec<Value> = (0..50).map(|k| json!([f64::from(k)])).collect();
                    let body = json!([{"Datastream": {"@iot.id": 1}, "components": ["result"], "dataArray": rows}]);
                    match agent
                        .post(format!("{base}/v1.1/CreateObservations"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .send_json(&body)
                    {
                        Ok(r) if r.status().as_u16() == 201 => {
                            acked.fetch_add(50, std::sync::atomic::Ordering::SeqCst);
                        }
                        Ok(r) => assert_eq!(r.status().as_u16(), 503, "only 201, or 503 while stopping"),
                        Err(_) => return, // stopped: connection refused or closed
                    }
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(400));
        h.stop();
    });
    let acked = acked.into_inner();
    assert!(acked > 0);
    // Every acknowledgement given before or during the stop is on disk.
    assert!(h.count("observations") as usize >= acked);
    let h = Harness::start_at(&db, |_| {});
    assert!(h.count("observations") as usize >= acked);
}
