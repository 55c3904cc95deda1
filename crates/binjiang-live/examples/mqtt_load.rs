//! MQTT ingest beside HTTP, for BENCHMARKS.md: publishes `n` SensorThings observations with
//! QoS 1 to a broker from `clients` gateway connections, then waits until the service (run
//! with `--mqtt`) holds them all, reading `$count` over HTTP. Reports observations per second
//! end to end (publish → on the service's disk).
//!
//!     cargo run --release -p binjiang-live --example mqtt_load -- <broker host:port> <service base> <token> [n] [clients]

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use std::time::{Duration, Instant};

fn count(base: &str, token: &str) -> u64 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let v: serde_json::Value = agent
        .get(format!("{base}/v1.1/Observations?$count=true&$top=0"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("service")
        .body_mut()
        .read_json()
        .expect("json");
    v["@iot.count"].as_u64().unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (broker, base, token) = (&args[1], &args[2], &args[3]);
    let n: usize = args.get(4).map_or(100_000, |a| a.parse().expect("n"));
    let clients: usize = args.get(5).map_or(4, |a| a.parse().expect("clients"));
    let (host, port) = broker.rsplit_once(':').expect("host:port");
    let port: u16 = port.parse().expect("port");
    let before = count(base, token);
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let host = host.to_owned();
            std::thread::spawn(move || {
                let mut options =
                    MqttOptions::new(format!("load-{c}-{}", std::process::id()), host, port);
                options.set_keep_alive(Duration::from_secs(30));
                options.set_inflight(200);
                let (client, mut connection) = Client::new(options, 1000);
                let mine = n / clients;
                let publisher = std::thread::spawn(move || {
                    for k in 0..mine {
                        let topic = format!(
                            "v1.1/Datastreams({})/Observations",
                            1 + (k * clients + c) % 449
                        );
                        let body = format!("{{\"result\": {}}}", (k % 50) as f64 * 0.01);
                        client
                            .publish(topic, QoS::AtLeastOnce, false, body.into_bytes())
                            .unwrap();
                    }
                    client
                });
                let mut acked = 0;
                for event in connection.iter() {
                    if let Ok(Event::Incoming(Packet::PubAck(_))) = event {
                        acked += 1;
                        if acked == mine {
                            break;
                        }
                    }
                }
                let client = publisher.join().unwrap();
                client.disconnect().ok();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let published = started.elapsed().as_secs_f64();
    let target = before + (n / clients * clients) as u64;
    while count(base, token) < target {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stored = started.elapsed().as_secs_f64();
    println!(
        "{} observations over MQTT (QoS 1, {clients} gateways): broker acknowledged all in {published:.2} s; on the service's disk after {stored:.2} s = {:.0}/s end to end",
        n / clients * clients,
        (n / clients * clients) as f64 / stored
    );
}
