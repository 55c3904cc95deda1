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
        &h.tokens.operator,
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
        &h.tokens.operator,
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
        h.post("/api/v1/forks", &h.tokens.operator, json!({"hours": 0}))
            .1["field"],
        "hours"
    );
    assert_eq!(
        h.post("/api/v1/forks", &h.tokens.operator, json!({"hours": 48}))
            .0,
        422
    );
    assert_eq!(
        h.post(
            "/api/v1/forks",
            &h.tokens.operator,
            json!({"hours": 1, "scenario": "typhoon"})
        )
        .1["field"],
        "scenario"
    );
}

/// Issue 17.9: projections were open to the display role with no limit on how many ran at
/// once. Now operators and admins only, and at most `max_forks` at a time (503 beyond).
#[test]
fn projections_are_for_operators_and_a_few_at_a_time() {
    let h = Harness::start_with(|o| o.max_forks = 1);
    let (s, r) = h.post("/api/v1/forks", &h.tokens.display, json!({"hours": 1}));
    assert_eq!(s, 403, "{r}");
    // Sixteen at once, one slot: the others are told to retry while it runs.
    let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..16)
            .map(|k| {
                let h = &h;
                scope.spawn(move || {
                    h.post(
                        "/api/v1/forks",
                        &h.tokens.operator,
                        json!({"hours": 24, "seed": k}),
                    )
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let busy: Vec<&serde_json::Value> = answers
        .iter()
        .filter(|(s, _)| *s == 503)
        .map(|(_, r)| r)
        .collect();
    assert!(ok >= 1, "{answers:?}");
    assert!(
        !busy.is_empty(),
        "some were refused while the slot was taken: {answers:?}"
    );
    assert!(busy[0]["error"]
        .as_str()
        .unwrap()
        .contains("projections are running"));
    assert_eq!(ok + busy.len(), 16);
}

/// Issue 17.9: the twin's queue was bounded by count (4,096 requests) but not by bytes (each
/// up to 8 MiB). Bodies in flight now hold their bytes against a budget: with the disk held
/// by another program, a second large batch is refused (503) while the first waits.
#[test]
fn request_bodies_in_flight_are_bounded_in_bytes() {
    let h = Harness::start_with(|o| o.max_request_bytes = 8 * 1024 * 1024 + 1024 * 1024);
    let locker = rusqlite::Connection::open(&h.db).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    // ~5 MiB of observations in one CreateObservations body.
    let rows: Vec<serde_json::Value> = (0..400_000)
        .map(|k| json!([f64::from(k % 50) + 0.123_456_789]))
        .collect();
    let body = json!([{"Datastream": {"@iot.id": 1}, "components": ["result"], "dataArray": rows}]);
    let text = body.to_string();
    assert!(text.len() > 5 * 1024 * 1024, "{}", text.len());
    std::thread::scope(|scope| {
        let first =
            scope.spawn(|| h.post_raw("/v1.1/CreateObservations", Some(&h.tokens.gateway), &text));
        // Once the first holds its bytes (it waits for the disk), a second one is refused.
        let in_flight = || -> u64 {
            let (_, m) = h.get("/metrics", &h.tokens.display);
            let m = m.as_str().unwrap_or_default().to_owned();
            m.lines()
                .find_map(|l| l.strip_prefix("binjiang_request_bytes_in_flight "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        let started = std::time::Instant::now();
        while in_flight() < text.len() as u64 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "the first never arrived"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let (s, refused) = h.post_raw("/v1.1/CreateObservations", Some(&h.tokens.gateway), &text);
        assert_eq!(s, 503, "{refused}");
        assert!(
            refused["error"]
                .as_str()
                .unwrap()
                .contains("request bytes in flight"),
            "{refused}"
        );
        locker.execute_batch("COMMIT").unwrap();
        let (s, r) = first.join().unwrap();
        assert_eq!(s, 201, "{r}");
    });
}
