//! A district's inputs through the bus, on real servers: `binjiang serve --bus` takes
//! SensorThings observations that a gateway publishes to the 3-node cluster of
//! scripts/nats-cluster.sh (fsync on every message). Killing the stream's leader node during
//! ingest, or the twin with `kill -9`, loses nothing the bus acknowledged and applies nothing
//! twice; a twin started while the bus is down serves HTTP, waits and catches up; a bad
//! message is refused on `.rejected` without stopping what follows; `binjiang city` shows the
//! district's KPIs.

mod common;

use binjiang_bus::gateway::Gateway;
use common::nats::{free_port, wait_for_port, Cluster, Nats};
use common::{binjiang, text, token, Server};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const DISTRICT: &str = "tiny-river";

/// Publishes `n` observations as a gateway would, one every `pace`, each waiting until the
/// bus stored it; returns their phenomenon times (all acknowledged, or it panics).
fn publish(urls: &str, n: usize, pace: Duration) -> std::thread::JoinHandle<BTreeSet<String>> {
    let urls = urls.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let gateway = Gateway::connect(&urls, DISTRICT).await.unwrap();
            let base = chrono::Utc::now() - chrono::Duration::seconds(10);
            let mut acked = BTreeSet::new();
            for k in 0..n {
                let t = (base + chrono::Duration::milliseconds(k as i64))
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let body = json!({"Datastream": {"@iot.id": 1 + k % 3}, "result": 10.0, "phenomenonTime": t});
                gateway
                    .publish("observations", &format!("obs-{k}"), &body)
                    .await
                    .unwrap_or_else(|e| panic!("observation {k} not stored by the bus: {e}"));
                acked.insert(t);
                tokio::time::sleep(pace).await;
            }
            acked
        })
    })
}

/// The twin's observations' phenomenon times, in full (duplicates kept).
fn observations(base: &str, admin: &str) -> Vec<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut r = agent
        .get(format!(
            "{base}/v1.1/Observations?$top=10000&$select=phenomenonTime"
        ))
        .header("Authorization", &format!("Bearer {admin}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.body_mut().read_json().unwrap();
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["phenomenonTime"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the twin holds at least `n` observations (or `limit` passes).
fn wait_for(base: &str, admin: &str, n: usize, limit: Duration) -> Vec<String> {
    let started = Instant::now();
    loop {
        let got = observations(base, admin);
        if got.len() >= n || started.elapsed() > limit {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn twin(db: &Path, urls: &str) -> Server {
    Server::start_with(db, &["--bus", urls, "--kpis-every-s", "0.5"])
}

/// Waits (90 s at most) until the twin holds as many observations as were acknowledged, and
/// a second more for late redeliveries; then every acknowledged one must be there once.
fn settles_on_exactly(base: &str, admin: &str, acked: &BTreeSet<String>) {
    let got = wait_for(base, admin, acked.len(), Duration::from_secs(90));
    std::thread::sleep(Duration::from_secs(1));
    let again = observations(base, admin);
    assert_eq!(again.len(), got.len(), "observations kept arriving");
    exactly(acked, &again);
}

/// Every acknowledged observation once, none twice.
fn exactly(acked: &BTreeSet<String>, got: &[String]) {
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        got.len(),
        "{} observations applied twice",
        got.len() - unique.len()
    );
    let missing: Vec<_> = acked.difference(&unique).take(5).collect();
    assert!(
        missing.is_empty(),
        "acknowledged by the bus, missing from the twin: {missing:?}…"
    );
    assert_eq!(&unique, acked);
}

#[test]
fn a_twin_killed_twice_mid_ingest_resumes_with_no_gap_and_no_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&dir.path().join("cluster"));
    let db = dir.path().join("live.db");
    let admin = token(&db, "admin");
    let n = 600;
    let gateway = publish(&cluster.urls, n, Duration::from_millis(4));
    for round in 1..=2 {
        let server = twin(&db, &cluster.urls);
        let got = wait_for(&server.base, &admin, round * 150, Duration::from_secs(60));
        assert!(
            got.len() >= round * 150,
            "round {round}: {} taken",
            got.len()
        );
        server.kill();
    }
    let server = twin(&db, &cluster.urls);
    let acked = gateway.join().unwrap();
    assert_eq!(acked.len(), n);
    settles_on_exactly(&server.base, &admin, &acked);
}

#[test]
fn the_stream_leader_killed_during_ingest_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&dir.path().join("cluster"));
    let db = dir.path().join("live.db");
    let admin = token(&db, "admin");
    let server = twin(&db, &cluster.urls);
    let n = 600;
    let gateway = publish(&cluster.urls, n, Duration::from_millis(4));
    let got = wait_for(&server.base, &admin, 150, Duration::from_secs(60));
    assert!(got.len() >= 150, "{} taken", got.len());
    // The node leading the district's stream (its Raft group), killed with -9.
    let leader = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let client = async_nats::connect(cluster.urls.split(',').collect::<Vec<_>>())
                .await
                .unwrap();
            let js = async_nats::jetstream::new(client);
            let stream = js
                .get_stream(binjiang_bus::ingest::stream_name(DISTRICT))
                .await
                .unwrap();
            let info = stream.get_info().await.unwrap();
            assert_eq!(info.config.num_replicas, 3);
            info.cluster.unwrap().leader.unwrap()
        });
    cluster.kill(&leader);
    let acked = gateway.join().unwrap();
    assert_eq!(acked.len(), n);
    settles_on_exactly(&server.base, &admin, &acked);
}

#[test]
fn a_twin_waits_for_an_unreachable_bus_refuses_bad_messages_and_shows_in_the_city() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let admin = token(&db, "admin");
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    // No bus yet: the twin still serves.
    let server = twin(&db, &url);
    assert!(observations(&server.base, &admin).is_empty());
    std::thread::sleep(Duration::from_secs(1));
    let _nats = Nats::start_on(dir.path(), port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let gateway = rt.block_on(Gateway::connect(&url, DISTRICT)).unwrap();
    let bad = json!({"Datastream": {"@iot.id": 999_999}, "result": 1.0});
    rt.block_on(gateway.publish("observations", "bad-1", &bad))
        .unwrap();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for k in 0..5 {
        let body =
            json!({"Datastream": {"@iot.id": 1}, "result": f64::from(k), "phenomenonTime": now});
        rt.block_on(gateway.publish("observations", &format!("good-{k}"), &body))
            .unwrap();
    }
    let got = wait_for(&server.base, &admin, 5, Duration::from_secs(60));
    assert_eq!(
        got.len(),
        5,
        "the twin took the good messages once the bus came"
    );
    // Where the log stands in the bus, and the refusal, on /metrics.
    let metrics = ureq::get(format!("{}/metrics", server.base))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(metrics.contains("binjiang_bus_position 6"), "{metrics}");
    assert!(
        metrics.contains("binjiang_bus_refused_total 1"),
        "{metrics}"
    );
    // The refusal, with its field, on the district's .rejected subject.
    let rejection: binjiang_bus::ingest::Rejection = rt.block_on(async {
        let client = async_nats::connect(&url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let stream = js
            .get_stream(binjiang_bus::ingest::REJECTED_STREAM)
            .await
            .unwrap();
        let m = stream
            .get_last_raw_message_by_subject("binjiang.tiny-river.rejected")
            .await
            .unwrap();
        serde_json::from_slice(&m.payload).unwrap()
    });
    assert_eq!(rejection.subject, "binjiang.tiny-river.observations");
    assert_eq!(rejection.field.as_deref(), Some("Datastream.@iot.id"));
    assert!(rejection.error.contains("999999"), "{}", rejection.error);
    // The city view: this district, with its KPIs.
    let out = binjiang(&[
        "city",
        "--bus",
        &url,
        "--once",
        "--json",
        "--min-districts",
        "1",
        "--timeout-s",
        "30",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let city: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let districts = city["districts"].as_array().unwrap();
    assert_eq!(districts.len(), 1);
    assert_eq!(districts[0]["district"], DISTRICT);
    assert!(districts[0]["kpis"]["now_per_agency"]["police"]["units_on_duty"].is_u64());
    let table = binjiang(&["city", "--bus", &url, "--once", "--timeout-s", "30"]);
    let table = text(&table.stdout);
    assert!(
        table.contains("tiny-river") && table.contains("city (1 districts)"),
        "{table}"
    );
}

/// The chain at city scale in miniature: `synth --districts 3` writes three valid districts;
/// two twins serve two of them on one bus, `replay --to nats://` feeds one, and `city`
/// lists both with their own clocks and units.
#[test]
fn a_synthetic_city_of_districts_runs_on_one_bus() {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("city");
    let made = binjiang(&[
        "synth",
        "--districts",
        "3",
        "--area-km2",
        "1",
        "--units",
        "12",
        "--incidents-per-day",
        "300",
        "--out",
        city.to_str().unwrap(),
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    for name in ["huangpu", "xuhui", "changning"] {
        let valid = binjiang(&["validate", city.join(name).to_str().unwrap()]);
        assert!(valid.status.success(), "{name}: {}", text(&valid.stderr));
    }
    let nats = Nats::start(dir.path());
    let mut twins = Vec::new();
    for name in ["huangpu", "xuhui"] {
        let db = dir.path().join(format!("{name}.db"));
        let scene = city.join(name);
        twins.push(common::Server::start_scene(
            scene.to_str().unwrap(),
            &db,
            &["--bus", &nats.url, "--kpis-every-s", "0.5"],
        ));
    }
    let fed = binjiang(&[
        "replay",
        city.join("huangpu").to_str().unwrap(),
        "--to",
        &nats.url,
        "--speed",
        "1",
        "--hours",
        "0.001",
        "--fix-every",
        "1",
    ]);
    assert!(fed.status.success(), "{}", text(&fed.stderr));
    let report = text(&fed.stderr);
    assert!(report.contains(", 0 refused, 0 failed"), "{report}");
    let out = binjiang(&[
        "city",
        "--bus",
        &nats.url,
        "--once",
        "--json",
        "--min-districts",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let names: Vec<&str> = v["districts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["district"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["huangpu", "xuhui"]);
    for d in v["districts"].as_array().unwrap() {
        let on_duty: u64 = d["kpis"]["now_per_agency"]
            .as_object()
            .unwrap()
            .values()
            .map(|a| a["units_on_duty"].as_u64().unwrap())
            .sum();
        assert_eq!(on_duty, 12, "{}", d["district"]);
    }
}

/// `--ingest-via-bus`: HTTP inputs are checked, published to the district's subjects, taken
/// by the twin from there, and answered as before (201 and ids, the incident number); a bad
/// one is refused with 4xx and never reaches the bus.
#[test]
fn http_inputs_take_the_bus_path_with_ingest_via_bus() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let db = dir.path().join("live.db");
    let gw = token(&db, "gateway");
    let server = Server::start_with(&db, &["--bus", &nats.url, "--ingest-via-bus"]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let post = |path: &str, body: Value| -> (u16, Value) {
        let mut r = agent
            .post(format!("{}{path}", server.base))
            .header("Authorization", &format!("Bearer {gw}"))
            .send_json(&body)
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_json().unwrap_or(Value::Null),
        )
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stored = |subject: &str| -> Option<Value> {
        rt.block_on(async {
            let client = async_nats::connect(&nats.url).await.unwrap();
            let js = async_nats::jetstream::new(client);
            let name = if subject.ends_with(".rejected") {
                binjiang_bus::ingest::REJECTED_STREAM.to_owned()
            } else {
                binjiang_bus::ingest::stream_name(DISTRICT)
            };
            let stream = js.get_stream(name).await.ok()?;
            let m = stream.get_last_raw_message_by_subject(subject).await.ok()?;
            Some(serde_json::from_slice(&m.payload).unwrap())
        })
    };

    let (s, v) = post("/v1.1/Datastreams(1)/Observations", json!({"result": 12.5}));
    assert_eq!(s, 201, "{v}");
    assert!(v["@iot.id"].is_u64(), "{v}");
    let on_bus = stored("binjiang.tiny-river.observations").expect("on the bus");
    assert_eq!(on_bus[0]["Datastream"]["@iot.id"], 1);
    assert_eq!(on_bus[0]["result"], 12.5);

    let rows = json!([{"Datastream": {"@iot.id": 2}, "components": ["result"], "dataArray": [[1.0], [2.0], [3.0]]}]);
    let (s, v) = post("/v1.1/CreateObservations", rows);
    assert_eq!(s, 201, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 3);

    let report = json!({"external_id": "via-bus-1", "source": "hotline12345", "type": "litter", "lon": 121.5052, "lat": 31.2473});
    let (s, v) = post("/api/v1/reports", report.clone());
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["new"], true);
    let incident = v["incident"].clone();
    assert_eq!(
        stored("binjiang.tiny-river.reports").unwrap()["external_id"],
        "via-bus-1"
    );
    // The same report again: the same incident, not new (the bus keeps one copy, the twin
    // is idempotent on external_id).
    let (s, v) = post("/api/v1/reports", report);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["incident"], incident);
    assert_eq!(v["new"], false);
    // Other content under the same external_id: refused by the twin, as over plain HTTP.
    let other = json!({"external_id": "via-bus-1", "source": "hotline12345", "type": "fight", "lon": 121.5078, "lat": 31.2527});
    let (s, v) = post("/api/v1/reports", other);
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["field"], "external_id");

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (s, v) = post(
        "/api/v1/units/clean-north/positions",
        json!({"time": now, "lon": 121.5031, "lat": 31.2510}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kept"], 1);
    assert_eq!(
        stored("binjiang.tiny-river.positions").unwrap()["unit"],
        "clean-north"
    );

    // Refused here, named, and nothing published.
    let (s, v) = post(
        "/v1.1/Datastreams(1)/Observations",
        json!({"result": 1000.0}),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], "result");
    // The last observations message is still the CreateObservations batch, as one message.
    let last = stored("binjiang.tiny-river.observations").unwrap();
    assert_eq!(
        last.as_array().unwrap().len(),
        3,
        "the refused one reached the bus: {last}"
    );
    assert_eq!(last[2]["result"], 3.0);
    // The 202 of an input the twin has not taken yet is documented.
    let doc: Value = ureq::get(format!("{}/api/v1/openapi.json", server.base))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert!(doc["paths"]["/api/v1/reports"]["post"]["responses"]["202"].is_object());
    // Only the conflicting report was refused on the bus (recorded once on disk, just after
    // the answer).
    let started = Instant::now();
    let rejected = loop {
        match stored("binjiang.tiny-river.rejected") {
            Some(r) => break r,
            None if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            None => panic!("the 409 is not recorded on .rejected"),
        }
    };
    assert_eq!(rejected["field"], "external_id");
}

/// `--ingest-via-bus` with MQTT (mosquitto): observations a gateway publishes to the broker
/// are acknowledged once the bus holds them, and the twin takes them from the bus.
#[test]
fn mqtt_observations_take_the_bus_path_with_ingest_via_bus() {
    use rumqttc::{Client, MqttOptions, QoS};
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let port = free_port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let exe = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("mosquitto is installed (scripts/deps.sh)");
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _broker = Killed(
        std::process::Command::new(exe)
            .arg("-c")
            .arg(&conf)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, "mosquitto");
    let db = dir.path().join("live.db");
    let admin = token(&db, "admin");
    let broker = format!("127.0.0.1:{port}");
    let server = Server::start_with(
        &db,
        &["--bus", &nats.url, "--ingest-via-bus", "--mqtt", &broker],
    );
    // A gateway: QoS 1, one message at a time, until the service (subscribed once connected)
    // has taken the first; then five more.
    let mut options = MqttOptions::new("gateway-via-bus", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 64);
    std::thread::spawn(move || for _ in connection.iter() {});
    let send = |k: u32| {
        let body = json!({"result": f64::from(k)}).to_string();
        client
            .publish(
                "v1.1/Datastreams(1)/Observations",
                QoS::AtLeastOnce,
                false,
                body,
            )
            .unwrap();
    };
    let started = Instant::now();
    let mut k = 0;
    while observations(&server.base, &admin).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing arrived"
        );
        send(k);
        k += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let first = observations(&server.base, &admin).len();
    for j in 0..5 {
        send(50 + j);
    }
    let got = wait_for(&server.base, &admin, first + 5, Duration::from_secs(30));
    assert!(got.len() >= first + 5, "{} of {}", got.len(), first + 5);
    // …and every one of them went through the bus.
    let on_bus = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let client = async_nats::connect(&nats.url).await.unwrap();
            let js = async_nats::jetstream::new(client);
            let mut stream = js
                .get_stream(binjiang_bus::ingest::stream_name(DISTRICT))
                .await
                .unwrap();
            stream.info().await.unwrap().state.messages
        });
    assert!(
        on_bus as usize >= got.len(),
        "{on_bus} messages on the bus, {} observations",
        got.len()
    );
}

/// A gateway written with NATS's own Python client (nats-py, installed by scripts/deps.sh)
/// publishes observations to the district's subject with JetStream message ids; the twin
/// takes every one once (a retried id is folded by the bus), and the gateway reads the
/// district's KPIs the twin published.
#[test]
fn a_gateway_on_the_nats_python_client_feeds_the_twin() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let db = dir.path().join("live.db");
    let admin = token(&db, "admin");
    let server = twin(&db, &nats.url);
    let out = std::process::Command::new("python3")
        .arg(common::repo().join("tests/nats/gateway.py"))
        .args([&nats.url, DISTRICT, "20"])
        .output()
        .expect("python3 runs (scripts/deps.sh installs it and nats-py)");
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "nats-py gateway failed:\n{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("published 20"), "{stdout}");
    assert!(stdout.contains("duplicate folded"), "{stdout}");
    assert!(stdout.contains("kpis tiny-river "), "{stdout}");
    let got = wait_for(&server.base, &admin, 20, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));
    let again = observations(&server.base, &admin);
    assert_eq!(again.len(), got.len());
    assert_eq!(again.len(), 20, "each of the gateway's observations once");
}
