//! `binjiang replay` drives a real `binjiang serve` (both on a 600× replay clock) with a
//! simulated half day over the real APIs: everything it sends is acknowledged, and the
//! service dispatches the incidents it learns of.

mod common;

use common::{binjiang, text, token, Server};
use std::time::Duration;

#[test]
fn replay_drives_a_live_service_over_its_apis() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let gateway = token(&db, "gateway");
    let admin = token(&db, "admin");
    let day = dir.path().join("day.csv");
    std::fs::write(
        &day,
        "time,type,lon,lat,asset_id,external_id\n\
         08:01:00,bin_overflow,,,bin-1,\n\
         08:02:00,fight,121.5078,31.2527,,110-1\n\
         08:03:00,vending,121.5063,31.2526,,12345-7\n\
         08:04:00,litter,121.5031,31.2512,,12345-8\n",
    )
    .unwrap();
    let server = Server::start_with(
        &db,
        &["--clock", "replay", "--speed", "600", "--at", "08:00"],
    );
    let out = binjiang(&[
        "replay",
        "tests/scenes/tiny-river",
        "--to",
        &server.base,
        "--token",
        &gateway,
        "--speed",
        "600",
        "--hours",
        "0.25",
        "--incidents-from",
        day.to_str().unwrap(),
        "--fix-every",
        "120",
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(" 0 refused, 0 failed"), "{err}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let get = |path: &str| -> serde_json::Value {
        agent
            .get(format!("{}{path}", server.base))
            .header("Authorization", &format!("Bearer {admin}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    // An observation's incident is published with the twin's next tick (observations change
    // the view only through what they trigger): wait for it rather than read at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let incidents = loop {
        let incidents = get("/api/v1/incidents");
        if incidents.as_array().unwrap().len() >= 4 || std::time::Instant::now() > deadline {
            break incidents;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let all = incidents.as_array().unwrap();
    assert_eq!(all.len(), 4, "{incidents}");
    let bin = all.iter().find(|i| i["type"] == "bin_overflow").unwrap();
    assert_eq!(
        bin["source"], "sensor",
        "raised by its fill sensor over SensorThings: {bin}"
    );
    assert!(
        all.iter().any(|i| i["parts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["unit"].is_string())),
        "the service sent units: {incidents}"
    );
    let units = get("/api/v1/units");
    assert!(units.as_array().unwrap().len() == 8, "{units}");
    server.kill();
}
