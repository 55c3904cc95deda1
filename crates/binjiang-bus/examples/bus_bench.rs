//! The bus benchmarks of BENCHMARKS.md ("Beyond one machine"):
//!
//! 1. ingest: observation-sized messages published to a district's stream, each acknowledged
//!    by the bus once stored (replicated and fsynced on a cluster with `sync_interval:
//!    always`): one at a time (latency) and with many in flight (throughput);
//! 2. with `--twin`: reports published as a gateway would, timed from the publish until the
//!    twin's stream (`/api/v1/stream`, what the wall sees) shows a unit assigned to them.
//!
//! ```text
//! cargo run --release -p binjiang-bus --example bus_bench -- --bus nats://…,nats://…,nats://… \
//!     [--messages 20000] [--in-flight 512] \
//!     [--twin http://127.0.0.1:8080 --token T --district yangpu-riverfront --reports 200 --per-second 5]
//! ```

use async_nats::jetstream;
use binjiang_bus::gateway::Gateway;
use binjiang_bus::ingest;
use clap::Parser;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// The bus.
    #[arg(long)]
    bus: String,
    /// Messages for the throughput run.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Publishes in flight for the throughput run.
    #[arg(long, default_value_t = 512)]
    in_flight: usize,
    /// Observations per bus message in the twin run (an array when > 1).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// A twin serving `--district` with `--bus` (for the gateway → assigned run).
    #[arg(long)]
    twin: Option<String>,
    /// Its token (display or higher).
    #[arg(long, default_value = "")]
    token: String,
    /// The twin's district.
    #[arg(long, default_value = "yangpu-riverfront")]
    district: String,
    /// Reports to time.
    #[arg(long, default_value_t = 200)]
    reports: usize,
    /// Reports per second.
    #[arg(long, default_value_t = 5.0)]
    per_second: f64,
    /// Where the reports are (lon, lat).
    #[arg(long, num_args = 2, default_values_t = [121.5386, 31.2622])]
    at: Vec<f64>,
    /// Their incident types, taken in turn.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "litter,illegal_vending,food_safety"
    )]
    types: Vec<String>,
}

/// Publishes (id, body) pairs on `subject` with `in_flight` waiting for their stored
/// acknowledgement at once; returns how many failed.
async fn publish_many(
    js: &jetstream::Context,
    subject: &str,
    bodies: impl Iterator<Item = (String, Vec<u8>)>,
    in_flight: usize,
) -> usize {
    futures::stream::iter(bodies)
        .map(|(id, body)| async move {
            let m = async_nats::jetstream::message::PublishMessage::build()
                .payload(body.into())
                .message_id(id);
            js.send_publish(subject.to_owned(), m).await?.await
        })
        .buffer_unordered(in_flight)
        .filter(|a| futures::future::ready(a.is_err()))
        .count()
        .await
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let run = std::process::id();
    let bench = format!("bench-{run}");
    let client = async_nats::connect(args.bus.split(',').collect::<Vec<_>>()).await?;
    let js = jetstream::new(client);
    let stream = ingest::district_stream(&js, &args.bus, &bench).await?;
    let info = stream.get_info().await?;
    println!(
        "stream {} replicas {} (cluster: {})",
        info.config.name,
        info.config.num_replicas,
        info.cluster.and_then(|c| c.name).unwrap_or("none".into())
    );
    let body = serde_json::to_vec(&serde_json::json!({
        "Datastream": {"@iot.id": 1}, "result": 42.5, "phenomenonTime": "2026-11-23T10:00:00.000Z"
    }))?;
    let subject = ingest::subject(&bench, "observations");

    // One at a time: the acknowledgement latency.
    let mut one = Vec::new();
    for k in 0..1000 {
        let started = Instant::now();
        let m = async_nats::jetstream::message::PublishMessage::build()
            .payload(body.clone().into())
            .message_id(format!("one-{k}"));
        js.send_publish(subject.clone(), m).await?.await?;
        one.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "one at a time: {} messages, ack p50 {:.2} ms, p99 {:.2} ms, {:.0} msg/s",
        one.len(),
        pct(&mut one, 0.5),
        pct(&mut one, 0.99),
        1000.0 / (one.iter().sum::<f64>() / 1000.0)
    );

    // Many in flight: throughput.
    let started = Instant::now();
    let bodies = (0..args.messages).map(|k| (format!("many-{k}"), body.clone()));
    let failed = publish_many(&js, &subject, bodies, args.in_flight).await;
    let s = started.elapsed().as_secs_f64();
    println!(
        "{} in flight: {} messages in {s:.2} s = {:.0} msg/s acknowledged ({failed} failed)",
        args.in_flight,
        args.messages,
        args.messages as f64 / s
    );
    let _ = js.delete_stream(ingest::stream_name(&bench)).await;

    if let Some(twin) = &args.twin {
        gateway_to_assigned(&args, twin, run).await?;
        twin_throughput(&args, &js, twin, run).await?;
    }
    Ok(())
}

/// Publishes reports one by one and times each until the twin's stream shows a unit on it.
async fn gateway_to_assigned(args: &Args, twin: &str, run: u32) -> anyhow::Result<()> {
    let published: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let assigned: Arc<Mutex<HashMap<String, f64>>> = Arc::default();
    let decided: Arc<Mutex<HashMap<String, f64>>> = Arc::default();
    let ws = twin.replacen("http", "ws", 1) + "/api/v1/stream";
    let (token, p, a, d) = (
        args.token.clone(),
        Arc::clone(&published),
        Arc::clone(&assigned),
        Arc::clone(&decided),
    );
    std::thread::spawn(move || -> anyhow::Result<()> {
        use tungstenite::client::IntoClientRequest;
        let mut request = ws.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse()?);
        let (mut socket, _) = tungstenite::connect(request)?;
        loop {
            let tungstenite::Message::Text(text) = socket.read()? else {
                continue;
            };
            let now = Instant::now();
            let m: serde_json::Value = serde_json::from_str(&text)?;
            for i in m["incidents"].as_array().into_iter().flatten() {
                let Some(id) = i["external_id"].as_str() else {
                    continue;
                };
                let Some(t0) = p.lock().unwrap().get(id).copied() else {
                    continue;
                };
                let ms = (now - t0).as_secs_f64() * 1000.0;
                // On the stream at all: dispatch decided (a unit sent, or queued for one).
                d.lock().unwrap().entry(id.to_owned()).or_insert(ms);
                let has_unit = i["parts"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["unit"].is_string()));
                if has_unit {
                    a.lock().unwrap().entry(id.to_owned()).or_insert(ms);
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let gateway = Gateway::connect(&args.bus, &args.district).await?;
    let gap = Duration::from_secs_f64(1.0 / args.per_second);
    for k in 0..args.reports {
        let id = format!("bench-{run}-{k}");
        // Spread over ±0.003° (about ±300 m) so no one unit takes them all.
        let jitter = |j: usize| ((k * 7919 + j * 104_729) % 601) as f64 / 100_000.0 - 0.003;
        let body = serde_json::json!({
            "external_id": id, "source": "hotline12345", "type": args.types[k % args.types.len()],
            "lon": args.at[0] + jitter(1), "lat": args.at[1] + jitter(2), "text": "bus benchmark"
        });
        published.lock().unwrap().insert(id.clone(), Instant::now());
        gateway.publish("reports", &id, &body).await?;
        tokio::time::sleep(gap).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (what, times) in [
        ("dispatch decided (unit sent or queued)", &decided),
        ("a unit assigned", &assigned),
    ] {
        let mut ms: Vec<f64> = times.lock().unwrap().values().copied().collect();
        println!(
            "gateway → {what}, on the twin's stream: {} of {} reports, p50 {:.1} ms, p99 {:.1} ms",
            ms.len(),
            args.reports,
            pct(&mut ms, 0.5),
            pct(&mut ms, 0.99)
        );
    }
    Ok(())
}

/// Publishes `--messages` observations to the twin's district at once and times the twin
/// until its log holds them all (`$count` of its Observations).
async fn twin_throughput(
    args: &Args,
    js: &jetstream::Context,
    twin: &str,
    run: u32,
) -> anyhow::Result<()> {
    let count = || -> anyhow::Result<u64> {
        let v: serde_json::Value =
            ureq::get(format!("{twin}/v1.1/Observations?$count=true&$top=1"))
                .header("Authorization", &format!("Bearer {}", args.token))
                .call()?
                .body_mut()
                .read_json()?;
        Ok(v["@iot.count"].as_u64().unwrap_or(0))
    };
    let before = count()?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let subject = ingest::subject(&args.district, "observations");
    let started = Instant::now();
    let batch = args.batch.max(1);
    let bodies = (0..args.messages.div_ceil(batch)).map(|k| {
        let one = |j: usize| {
            serde_json::json!({
                "Datastream": {"@iot.id": 1 + (k * batch + j) % 50}, "result": 1.0, "phenomenonTime": now
            })
        };
        let body = if batch == 1 {
            one(0)
        } else {
            serde_json::Value::Array((0..batch).map(one).collect())
        };
        let body = serde_json::to_vec(&body).expect("plain data");
        (format!("twin-{run}-{k}"), body)
    });
    let failed = publish_many(js, &subject, bodies, args.in_flight).await;
    let published = started.elapsed().as_secs_f64();
    let want = before + (args.messages.div_ceil(batch) * batch) as u64;
    while count()? < want {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = started.elapsed().as_secs_f64();
    println!(
        "twin ingest: {} observations ({batch} per message) published in {published:.2} s ({failed} failed), all in the twin's log after {s:.2} s = {:.0} obs/s end to end",
        want - before,
        (want - before) as f64 / s
    );
    Ok(())
}
