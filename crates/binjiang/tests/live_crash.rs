//! `kill -9` during ingest, three times over, with clients counting acknowledgements: after
//! the last restart every acknowledged observation and report is there, none twice.

mod common;

use common::{token, Server};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

fn get(agent: &ureq::Agent, url: &str, token: &str) -> Value {
    let mut r = agent
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.body_mut().read_json().unwrap()
}

#[test]
fn nothing_acknowledged_is_lost_to_kill_9_and_nothing_counts_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let gateway = token(&db, "gateway");
    let admin = token(&db, "admin");
    let acked_observations = Arc::new(Mutex::new(BTreeSet::new()));
    let acked_reports = Arc::new(Mutex::new(BTreeSet::new()));
    for round in 0..3 {
        let server = Server::start(&db);
        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = Vec::new();
        for client in 0..2 {
            let (base, gw, stop) = (server.base.clone(), gateway.clone(), Arc::clone(&stop));
            let (obs, reps) = (Arc::clone(&acked_observations), Arc::clone(&acked_reports));
            clients.push(std::thread::spawn(move || {
                let agent = agent();
                let mut k = 0;
                while !stop.load(Ordering::SeqCst) {
                    k += 1;
                    let auth = format!("Bearer {gw}");
                    if client == 0 {
                        let rows: Vec<Value> = (0..20).map(|j| json!([f64::from((k + j) % 50)])).collect();
                        let body = json!([{"Datastream": {"@iot.id": 1 + k % 3}, "components": ["result"], "dataArray": rows}]);
                        let Ok(mut r) = agent.post(format!("{base}/v1.1/CreateObservations")).header("Authorization", &auth).send_json(&body) else { break };
                        if r.status().as_u16() == 201 {
                            let links: Vec<String> = r.body_mut().read_json().unwrap();
                            let mut set = obs.lock().unwrap();
                            for l in links {
                                let id: u64 = l.rsplit('(').next().unwrap().trim_end_matches(')').parse().unwrap();
                                assert!(set.insert(id), "observation id {id} given twice");
                            }
                        }
                    } else {
                        let id = format!("call-{round}-{k}");
                        let body = json!({"external_id": id, "source": "hotline12345", "type": "litter", "lon": 121.5031, "lat": 31.2512});
                        let Ok(r) = agent.post(format!("{base}/api/v1/reports")).header("Authorization", &auth).send_json(&body) else { break };
                        if r.status().as_u16() == 201 {
                            reps.lock().unwrap().insert(id);
                        }
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(400 + 200 * round));
        server.kill(); // SIGKILL: no graceful anything
        stop.store(true, Ordering::SeqCst);
        for c in clients {
            c.join().unwrap();
        }
    }
    let server = Server::start(&db);
    let agent = agent();
    let observations = acked_observations.lock().unwrap().clone();
    let reports = acked_reports.lock().unwrap().clone();
    assert!(
        observations.len() > 100 && reports.len() > 10,
        "the clients got acknowledgements: {} observations, {} reports",
        observations.len(),
        reports.len()
    );
    // Every acknowledged observation is there.
    let mut stored = BTreeSet::new();
    let mut url = format!(
        "{}/v1.1/Observations?$top=10000&$select=@iot.id",
        server.base
    );
    loop {
        let page = get(&agent, &url, &admin);
        for o in page["value"].as_array().unwrap() {
            assert!(
                stored.insert(o["@iot.id"].as_u64().unwrap()),
                "an observation stored twice"
            );
        }
        match page["@iot.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    let missing: Vec<&u64> = observations.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged observations lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    // Every acknowledged report is an incident, exactly once.
    let incidents = get(&agent, &format!("{}/api/v1/incidents", server.base), &admin);
    let mut seen = BTreeSet::new();
    for i in incidents.as_array().unwrap() {
        if let Some(e) = i["external_id"].as_str() {
            assert!(seen.insert(e.to_owned()), "report {e} became two incidents");
        }
    }
    let lost: Vec<&String> = reports.difference(&seen).collect();
    assert!(lost.is_empty(), "acknowledged reports lost: {lost:?}");
    server.kill();
}
