//! MQTT ingest against a real broker (mosquitto, installed by scripts/deps.sh): observations
//! as gateways publish them, a malformed message dropped, the broker restarted, the service
//! stopped while gateways keep publishing — nothing acknowledged is lost.

mod common;

use binjiang_live::mqtt::MqttConfig;
use common::Harness;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Broker {
    child: Child,
}

impl Broker {
    fn start(dir: &Path, port: u16) -> Self {
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n"),
        )
        .unwrap();
        Self::with_config(&conf, port)
    }

    /// Starts mosquitto on config file `conf` and waits until `port` accepts connections.
    fn with_config(conf: &Path, port: u16) -> Self {
        let exe = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("mosquitto is installed (scripts/deps.sh installs Debian's mosquitto)");
        let mut child = Command::new(exe)
            .arg("-c")
            .arg(conf)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "mosquitto did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // A port another test's broker took would answer too: this broker must be running.
        assert!(
            child.try_wait().unwrap().is_none(),
            "mosquitto exited: port {port} is taken"
        );
        Broker { child }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A client id no other client of this test run has: the four tests run side by side, and
/// a broker disconnects a client when another connects with its id.
fn unique_id(what: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{what}-{}-{n}", std::process::id())
}

/// The service's MQTT settings for a broker on `port`, with a client id of its own.
fn service_config(port: u16) -> MqttConfig {
    let mut config = MqttConfig::parse(&format!("127.0.0.1:{port}")).unwrap();
    config.client_id = unique_id("twin");
    config
}

/// Publishes with QoS 1 and waits for the broker's PUBACKs. A connection error fails the test
/// with its reason (a clean session's unacknowledged messages die with the connection, so
/// waiting on would be waiting for ever).
fn publish(port: u16, messages: &[(&str, String)]) {
    let mut options = MqttOptions::new(unique_id("gateway"), "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 64);
    let owned: Vec<(String, String)> = messages
        .iter()
        .map(|(t, p)| (t.to_string(), p.clone()))
        .collect();
    let n = owned.len();
    // Publish from another thread while this one drives the connection.
    let publisher = std::thread::spawn(move || {
        for (topic, payload) in owned {
            client
                .publish(topic, QoS::AtLeastOnce, false, payload.into_bytes())
                .unwrap();
        }
        client
    });
    let mut acked = 0;
    for event in connection.iter() {
        match event {
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                acked += 1;
                if acked == n {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => panic!("the gateway lost its broker after {acked} of {n} PUBACKs: {e}"),
        }
    }
    publisher.join().unwrap().disconnect().ok();
}

/// Probes are bin-fill observations of exactly this value (the tests' own are whole
/// numbers): counted apart.
const PROBE_RESULT: f64 = 0.125;

/// Observations in the database other than probes.
fn observations(h: &Harness) -> i64 {
    h.count(&format!("observations WHERE result != {PROBE_RESULT}"))
}

/// Waits until the service is subscribed: publishes a probe observation every 250 ms until
/// one is on disk (a probe published before the subscription is dropped by the broker). No
/// fixed sleep: a slow machine just takes more probes.
fn until_subscribed(h: &Harness, port: u16) {
    let probes = || h.count(&format!("observations WHERE result = {PROBE_RESULT}"));
    let before = probes();
    let started = Instant::now();
    while probes() == before {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the service never subscribed"
        );
        publish(
            port,
            &[(
                "v1.1/Datastreams(1)/Observations",
                format!("{{\"result\": {PROBE_RESULT}}}"),
            )],
        );
        let sent = Instant::now();
        while probes() == before && sent.elapsed() < Duration::from_millis(250) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn wait_for_count(h: &Harness, n: i64) {
    let started = Instant::now();
    while observations(h) < n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "expected {n} observations, have {}",
            observations(h)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(observations(h), n, "nothing twice");
}

#[test]
fn observations_over_mqtt_survive_bad_messages_broker_restarts_and_service_downtime() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let broker = Broker::start(dir.path(), port);
    let db = dir.path().join("live.db");
    let config = service_config(port);
    let with_mqtt = |o: &mut binjiang_live::ServeOptions| o.mqtt = Some(config.clone());
    let mut h = Harness::start_at(&db, with_mqtt);
    until_subscribed(&h, port);
    let mut batch: Vec<(&str, String)> = (0..20)
        .map(|k| {
            (
                "v1.1/Datastreams(1)/Observations",
                format!("{{\"result\": {k}}}"),
            )
        })
        .collect();
    batch.push(("v1.1/Datastreams(1)/Observations", "not json".into()));
    batch.push((
        "v1.1/Datastreams(99)/Observations",
        "{\"result\": 1}".into(),
    ));
    batch.push((
        "v1.1/Datastreams(1)/Observations",
        "{\"result\": 150}".into(),
    ));
    batch.push((
        "v1.1/Observations",
        "{\"result\": 3, \"Datastream\": {\"@iot.id\": 3}}".into(),
    ));
    publish(port, &batch);
    wait_for_count(&h, 21);
    // The same observations over SensorThings HTTP.
    let (_, page) = h.get("/v1.1/Datastreams(3)/Observations", &h.tokens.display);
    assert_eq!(page["value"][0]["result"], 3.0);

    // The broker restarts: the service reconnects and subscribes again.
    drop(broker);
    let broker = Broker::start(dir.path(), port);
    until_subscribed(&h, port);
    publish(
        port,
        &(0..5)
            .map(|k| {
                (
                    "v1.1/Datastreams(2)/Observations",
                    format!("{{\"result\": {k}}}"),
                )
            })
            .collect::<Vec<_>>(),
    );
    wait_for_count(&h, 26);

    // The service stops; gateways go on publishing; the broker keeps them for its session.
    h.stop();
    drop(h);
    publish(
        port,
        &(0..3)
            .map(|k| {
                (
                    "v1.1/Datastreams(2)/Observations",
                    format!("{{\"result\": {k}}}"),
                )
            })
            .collect::<Vec<_>>(),
    );
    let h = Harness::start_at(&db, with_mqtt);
    wait_for_count(&h, 29);
    drop(broker);
}

/// Regression: under a burst larger than the service's pending window, ingest once stalled
/// (acknowledgements queued for an event loop that was no longer polled).
#[test]
fn a_burst_of_twelve_thousand_messages_is_all_taken() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _broker = Broker::start(dir.path(), port);
    let config = service_config(port);
    let h = Harness::start_with(|o| o.mqtt = Some(config));
    until_subscribed(&h, port);
    let topics: Vec<String> = (1..=3)
        .map(|d| format!("v1.1/Datastreams({d})/Observations"))
        .collect();
    std::thread::scope(|s| {
        for topic in &topics {
            let messages: Vec<(&str, String)> = (0..4000)
                .map(|k| (topic.as_str(), format!("{{\"result\": {}}}", k % 50)))
                .collect();
            s.spawn(move || publish(port, &messages));
        }
    });
    wait_for_count(&h, 12_000);
}

/// Runs openssl, panicking with its output on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn observations_over_mqtt_with_tls_and_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A CA, and a broker certificate for 127.0.0.1 signed by it.
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=binjiang test CA",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "broker.key",
            "-out",
            "broker.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "broker.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "broker.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    // A password file: user "twin", password "s3cret".
    std::fs::write(d.join("passwd"), "twin:s3cret\n").unwrap();
    let exe = ["/usr/sbin/mosquitto_passwd", "/usr/bin/mosquitto_passwd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("mosquitto_passwd");
    let out = Command::new(exe)
        .args(["-U", "passwd"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // mosquitto started as root runs as its own user: let it read the files.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in ["ca.pem", "broker.pem", "broker.key", "passwd"] {
        std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    // Gateways publish on a plain local listener; the service connects over TLS with a password.
    let (plain, tls) = (free_port(), free_port());
    let conf = format!(
        "per_listener_settings true\nlistener {plain} 127.0.0.1\nallow_anonymous true\n\
         listener {tls} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/broker.pem\nkeyfile {d}/broker.key\n\
         allow_anonymous false\npassword_file {d}/passwd\npersistence false\n",
        d = d.display()
    );
    std::fs::write(d.join("mosquitto.conf"), conf).unwrap();
    let broker = Broker::with_config(&d.join("mosquitto.conf"), tls);
    let mut config = MqttConfig::parse(&format!("127.0.0.1:{tls}")).unwrap();
    config.client_id = unique_id("twin");
    config.credentials = Some(("twin".into(), "s3cret".into()));
    config.tls = Some(binjiang_live::mqtt::MqttTls {
        ca: std::fs::read(d.join("ca.pem")).unwrap(),
        client_auth: None,
    });
    let h = Harness::start_with(|o| o.mqtt = Some(config));
    until_subscribed(&h, plain);
    publish(
        plain,
        &(0..5)
            .map(|k| {
                (
                    "v1.1/Datastreams(1)/Observations",
                    format!("{{\"result\": {k}}}"),
                )
            })
            .collect::<Vec<_>>(),
    );
    wait_for_count(&h, 5);
    drop(h);
    drop(broker);
}

/// Issue 17.8: the MQTT ingest used to await the twin inside its connection loop with a 5 s
/// keep-alive, so a stalled twin dropped the connection and the broker delivered again what
/// was already stored; and a failed write left messages unacknowledged with nothing forcing
/// the redelivery. Here another program holds the database's write lock for 12 s — longer
/// than the keep-alive and than the writer's 10 s busy timeout, so the disk stalls and then a
/// write fails — while a gateway publishes: every observation is stored exactly once.
#[test]
fn a_twin_stalled_for_ten_seconds_stores_nothing_twice_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _broker = Broker::start(dir.path(), port);
    let config = service_config(port);
    let h = Harness::start_with(|o| o.mqtt = Some(config.clone()));
    until_subscribed(&h, port);
    let locker = rusqlite::Connection::open(&h.db).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let n = 300;
    let messages: Vec<(&str, String)> = (0..n)
        .map(|k| {
            (
                "v1.1/Datastreams(1)/Observations",
                // Distinct values below every alarm: 1.0, 1.1, … 30.9.
                format!("{{\"result\": {}}}", 1.0 + f64::from(k) / 10.0),
            )
        })
        .collect();
    let gateway = std::thread::spawn(move || publish(port, &messages));
    // The stall itself (not a wait for anything): the lock is held this long.
    std::thread::sleep(Duration::from_secs(12));
    locker.execute_batch("COMMIT").unwrap();
    gateway.join().unwrap();
    let started = Instant::now();
    while observations(&h) < i64::from(n) {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "expected {n} observations, have {}",
            observations(&h)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A redelivery comes before anything published later: once a last message is stored,
    // any duplicate would be too.
    publish(
        port,
        &[(
            "v1.1/Datastreams(2)/Observations",
            "{\"result\": 0.5}".into(),
        )],
    );
    while h.count("observations WHERE datastream = 2 AND result = 0.5") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the last message never arrived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(observations(&h), i64::from(n) + 1, "nothing stored twice");
    assert_eq!(
        h.count(&format!(
            "(SELECT DISTINCT result FROM observations WHERE datastream = 1 AND result != {PROBE_RESULT})"
        )),
        i64::from(n),
        "every observation the gateway sent is stored"
    );
}
