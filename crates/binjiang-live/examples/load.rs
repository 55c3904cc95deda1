//! Load generator for BENCHMARKS.md: sends SensorThings observations to a running
//! `binjiang serve` from several client threads, paced or flat out, and reports acknowledged
//! observations per second and acknowledgement latency.
//!
//!     cargo run --release -p binjiang-live --example load -- <base> <token> \
//!         [--batch 1000] [--spread 1] [--clients 8] [--rate 0] [--seconds 10] [--datastreams 449] [--alarms]
//!
//! `--batch 1` posts single Observations (POST /v1.1/Datastreams(n)/Observations); larger
//! batches use the dataArray extension (POST /v1.1/CreateObservations). `--rate` is
//! observations per second over all clients (0: as fast as acknowledgements come back).
//! Values stay below every alarm threshold unless `--alarms` (then use `--datastreams 212`,
//! Yangpu's bins, which come first).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (base, token) = (args[1].clone(), args[2].clone());
    let flag = |name: &str, default: f64| -> f64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let (batch, clients, rate, seconds) = (
        flag("--batch", 1000.0) as usize,
        flag("--clients", 8.0) as usize,
        flag("--rate", 0.0),
        flag("--seconds", 10.0),
    );
    let streams = flag("--datastreams", 449.0) as u64;
    let alarms = args.iter().any(|a| a == "--alarms");
    // A batch spread over this many Datastreams (one dataArray each), as a gateway serving
    // many sensors sends it; 1 puts a whole batch on one stream.
    let spread = (flag("--spread", 1.0) as usize).clamp(1, batch.max(1));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new((0usize, String::new())));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let per_client_interval =
        (rate > 0.0).then(|| Duration::from_secs_f64(batch as f64 * clients as f64 / rate));
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (base, token, latencies, refused) = (
                base.clone(),
                token.clone(),
                Arc::clone(&latencies),
                Arc::clone(&refused),
            );
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let auth = format!("Bearer {token}");
                let mut k: u64 = c as u64 * 7919;
                let mut next = Instant::now()
                    + per_client_interval
                        .map_or(Duration::ZERO, |i| i.mul_f64(c as f64 / clients as f64));
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    if let Some(i) = per_client_interval {
                        let now = Instant::now();
                        if next > now {
                            std::thread::sleep(next - now);
                        }
                        next += i;
                    }
                    let now_iso =
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    let sent = Instant::now();
                    let response = if batch == 1 {
                        k += 1;
                        // Alarms: a full bin (95 %), then emptied (10 %), bin after bin:
                        // every other post raises an incident, the next clears it.
                        let (value, stream) = if alarms {
                            (
                                if k.is_multiple_of(2) { 95.0 } else { 10.0 },
                                1 + (k / 2) % streams,
                            )
                        } else {
                            ((k % 50) as f64 * 0.01, 1 + k % streams)
                        };
                        agent
                            .post(format!("{base}/v1.1/Datastreams({stream})/Observations"))
                            .header("Authorization", &auth)
                            .send_json(
                                serde_json::json!({"result": value, "phenomenonTime": now_iso}),
                            )
                    } else {
                        k += 1;
                        let rows: Vec<serde_json::Value> = (0..batch)
                            .map(|j| {
                                serde_json::json!([now_iso, ((k as usize + j) % 50) as f64 * 0.01])
                            })
                            .collect();
                        agent
                            .post(format!("{base}/v1.1/CreateObservations"))
                            .header("Authorization", &auth)
                            .send_json(
                                serde_json::json!([{"Datastream": {"@iot.id": 1 + k % streams},
                                "components": ["phenomenonTime", "result"], "dataArray": rows}]),
                            )
                    };
                    match response {
                        Ok(mut r) if r.status().as_u16() == 201 => {
                            let _ = r.body_mut().read_to_vec();
                            mine.push(sent.elapsed().as_secs_f64() * 1000.0);
                        }
                        Ok(mut r) => {
                            let mut x = refused.lock().unwrap();
                            x.0 += 1;
                            x.1 = format!(
                                "{} {}",
                                r.status(),
                                r.body_mut().read_to_string().unwrap_or_default()
                            );
                        }
                        Err(e) => {
                            let mut x = refused.lock().unwrap();
                            x.0 += 1;
                            x.1 = e.to_string();
                        }
                    }
                }
                latencies.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut l = latencies.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let acked = l.len()
        * if batch == 1 {
            1
        } else {
            (batch / spread) * spread
        };
    let refused = refused.lock().unwrap();
    println!(
        "batch {batch} clients {clients} rate {}: {acked} observations acknowledged in {elapsed:.1} s = {:.0}/s; {} requests, latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms; {} refused{}",
        if rate > 0.0 { format!("{rate:.0}/s") } else { "max".into() },
        acked as f64 / elapsed,
        l.len(),
        pct(0.5),
        pct(0.99),
        l.last().copied().unwrap_or(f64::NAN),
        refused.0,
        if refused.0 > 0 { format!(" (last: {})", refused.1) } else { String::new() }
    );
}
