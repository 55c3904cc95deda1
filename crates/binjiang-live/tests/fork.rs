//! "Fork now": a projection from the live state that never changes the live state.

mod common;

use common::Harness;
use serde_json::json;

#[test]
fn a_fork_projects_kpis_and_peak_queues_and_leaves_the_live_twin_alone() {
    let h = Harness::start();
    let gw = &h.tokens.gateway;
    for (ty, lon, lat) in [
        ("fight", 121.5078, 31.2527),
        ("litter", 121.5052, 31.2473),
        ("vending", 121.5063, 31.2526),
    ] {
        let (s, _) = h.post(
            "/api/v1/reports",
            gw,
            json!({"source": "hotline110", "type": ty, "lon": lon, "lat": lat}),
        );
        assert_eq!(s, 201);
    }
    let before = h.get("/api/v1/incidents", &h.tokens.admin).1;
    let inputs = h.count("inputs");
    let (s, p) = h.post(
        "/api/v1/forks",
        &h.tokens.display,
        json!({"hours": 6, "seed": 11}),
    );
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["seed"], 11);
    let peak = p["peak_queue"].as_object().unwrap();
    assert_eq!(peak.len(), 6, "every agency: {p}");
    // The day's KPIs at the end include today's three incidents and six hours of new ones.
    let incidents = p["kpis"]["incidents"].as_u64().unwrap();
    assert!(incidents > 3, "{p}");
    let from = chrono::DateTime::parse_from_rfc3339(p["from"].as_str().unwrap()).unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(p["until"].as_str().unwrap()).unwrap();
    assert_eq!((until - from).num_seconds(), 6 * 3600);
    // Same seed, same state: the same projection.
    let (_, again) = h.post(
        "/api/v1/forks",
        &h.tokens.display,
        json!({"hours": 6, "seed": 11}),
    );
    assert_eq!(again["kpis"]["incidents"], p["kpis"]["incidents"]);
    // The live twin did not move: no input, the same incidents.
    assert_eq!(h.count("inputs"), inputs);
    let after = h.get("/api/v1/incidents", &h.tokens.admin).1;
    let ids = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(
        h.post("/api/v1/forks", &h.tokens.display, json!({"hours": 0}))
            .1["field"],
        "hours"
    );
    assert_eq!(
        h.post("/api/v1/forks", &h.tokens.display, json!({"hours": 48}))
            .0,
        422
    );
    assert_eq!(
        h.post(
            "/api/v1/forks",
            &h.tokens.display,
            json!({"hours": 1, "scenario": "typhoon"})
        )
        .1["field"],
        "scenario"
    );
}
