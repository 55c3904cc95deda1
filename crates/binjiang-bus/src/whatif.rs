//! What-if runs over a JetStream work queue.

use crate::nats::{bus, connect, publish_stored, retrying, stream_of, BusError};
use async_nats::jetstream::{self, consumer, stream};
use binjiang_sim::{IncidentCatalogue, SimOptions};
use binjiang_whatif::compare::{self, Run};
use binjiang_whatif::{report, scenario, Scenario};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The work queue of runs (each message taken by one worker).
pub const RUNS_STREAM: &str = "BINJIANG_WHATIF_RUNS";
/// Its subject.
pub const RUNS_SUBJECT: &str = "binjiang.whatif.runs";
/// Results, one subject per job.
pub const RESULTS_STREAM: &str = "BINJIANG_WHATIF_RESULTS";
/// The workers' shared durable consumer.
pub const WORKERS: &str = "binjiang-workers";
/// A run not acknowledged within this is given to another worker (default).
pub const ACK_WAIT: Duration = Duration::from_secs(30);

/// One run to do: which scene and scenarios (checked by hash on the worker's side), which arm
/// and seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunJob {
    /// The comparison it belongs to.
    pub job: String,
    /// The scene folder, as the workers see it.
    pub scene_dir: PathBuf,
    /// Hash of the scene's files.
    pub scene_hash: String,
    /// Every arm's scenario name and file hash, base first.
    pub arms: Vec<(String, Option<String>)>,
    /// The arm to run.
    pub arm: usize,
    /// The seed.
    pub seed: u64,
    /// Hours from the start.
    pub hours: f64,
}

/// What a worker returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// The arm.
    pub arm: usize,
    /// The seed.
    pub seed: u64,
    /// The run, or why not.
    pub run: Result<Run, String>,
}

/// The two streams, created if missing (file storage); returns the runs' stream.
pub async fn streams(js: &jetstream::Context, url: &str) -> Result<stream::Stream, BusError> {
    retrying(|| try_streams(js, url)).await
}

async fn try_streams(js: &jetstream::Context, url: &str) -> Result<stream::Stream, BusError> {
    stream_of(
        js,
        url,
        stream::Config {
            name: RESULTS_STREAM.into(),
            subjects: vec!["binjiang.whatif.results.>".into()],
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(24 * 3600),
            ..Default::default()
        },
    )
    .await?;
    stream_of(
        js,
        url,
        stream::Config {
            name: RUNS_STREAM.into(),
            subjects: vec![RUNS_SUBJECT.into()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        },
    )
    .await
}

/// How long the server keeps a coordinator's results consumer that nobody pulls from. The
/// server's default for such a consumer is 5 s: a coordinator that took longer to publish its
/// runs (a big job, a cluster that fsyncs every message, a loaded machine) found its consumer
/// deleted and waited for results that could no longer come (issue 21's CI stop). Long
/// enough for any pause; short enough that a dead coordinator's consumer goes the same day.
pub const RESULTS_IDLE: Duration = Duration::from_secs(3600);

/// The consumer of job `job`'s results, created before any of its runs is published.
pub async fn results_feed(
    js: &jetstream::Context,
    url: &str,
    job: &str,
) -> Result<consumer::PullConsumer, BusError> {
    js.get_stream(RESULTS_STREAM)
        .await
        .map_err(|e| bus(url)(e.to_string()))?
        .create_consumer(consumer::pull::Config {
            filter_subject: format!("binjiang.whatif.results.{job}"),
            inactive_threshold: RESULTS_IDLE,
            ..Default::default()
        })
        .await
        .map_err(|e| bus(url)(format!("results consumer: {e}")))
}

/// Runs every arm on seeds 1..=`seeds` through workers on the bus at `url`; returns the runs
/// as [`compare::run`] would. `progress(done, total)` after each result.
pub async fn coordinate(
    url: &str,
    arms: &[Scenario],
    seeds: u64,
    hours: f64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Run>, BusError> {
    let js = connect(url).await?;
    streams(&js, url).await?;
    let job = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let scene_dir = arms
        .first()
        .map(|a| {
            a.scene
                .dir
                .canonicalize()
                .unwrap_or_else(|_| a.scene.dir.clone())
        })
        .unwrap_or_default();
    let names: Vec<(String, Option<String>)> = arms
        .iter()
        .map(|a| (a.name.clone(), report::file_hash(&a.text)))
        .collect();
    let scene_hash = report::scene_hash(&scene_dir);
    // Listen before publishing, so no result can be missed, and pull before publishing, so
    // the server never sees the consumer idle while the runs go out.
    let results = results_feed(&js, url, &job).await?;
    let mut messages = results
        .messages()
        .await
        .map_err(|e| bus(url)(e.to_string()))?;
    let total = (seeds as usize) * arms.len();
    for seed in 1..=seeds {
        for arm in 0..arms.len() {
            let body = RunJob {
                job: job.clone(),
                scene_dir: scene_dir.clone(),
                scene_hash: scene_hash.clone(),
                arms: names.clone(),
                arm,
                seed,
                hours,
            };
            let payload = serde_json::to_vec(&body).expect("plain data");
            let id = format!("{job}-{arm}-{seed}");
            publish_stored(&js, url, RUNS_SUBJECT.into(), &id, payload).await?;
        }
    }
    let mut got: BTreeMap<(u64, usize), Run> = BTreeMap::new();
    let stall = Duration::from_secs(120);
    while got.len() < total {
        let next = tokio::time::timeout(stall, messages.next())
            .await
            .map_err(|_| BusError::Stalled {
                waited: stall,
                got: got.len(),
                total,
            })?;
        let Some(message) = next else {
            return Err(bus(url)("the results feed ended".into()));
        };
        let message = message.map_err(|e| bus(url)(e.to_string()))?;
        let result: RunResult = serde_json::from_slice(&message.payload)
            .map_err(|e| bus(url)(format!("unreadable result: {e}")))?;
        message.ack().await.map_err(|e| bus(url)(e.to_string()))?;
        match result.run {
            Ok(run) => {
                // A redelivered run gives the same result again: the first is kept.
                got.entry((result.seed, result.arm)).or_insert(run);
                progress(got.len(), total);
            }
            Err(message) => {
                return Err(BusError::Run {
                    arm: names.get(result.arm).map_or(String::new(), |n| n.0.clone()),
                    seed: result.seed,
                    message,
                })
            }
        }
    }
    Ok(got.into_values().collect())
}

/// The scenarios of one job, loaded once per worker.
/// Jobs' loaded scenes and scenarios, most recently used last: a worker serves job after job
/// for days, so it keeps only the last [`JOBS_KEPT`] (a job's runs come together).
type Loaded = Vec<(String, Result<Vec<Scenario>, String>)>;

/// Jobs whose scenes a worker keeps loaded.
pub const JOBS_KEPT: usize = 4;

/// The job's scenarios: loaded now, or kept from its earlier runs.
fn job_arms<'a>(loaded: &'a mut Loaded, job: &RunJob) -> &'a Result<Vec<Scenario>, String> {
    match loaded.iter().position(|(id, _)| *id == job.job) {
        Some(i) => {
            let entry = loaded.remove(i);
            loaded.push(entry);
        }
        None => {
            if loaded.len() == JOBS_KEPT {
                drop(loaded.remove(0));
            }
            loaded.push((job.job.clone(), load_job(job)));
        }
    }
    &loaded.last().expect("just pushed").1
}

fn load_job(job: &RunJob) -> Result<Vec<Scenario>, String> {
    let scene = binjiang_scene::Scene::load(&job.scene_dir)
        .map_err(|e| format!("scene {}: {e}", job.scene_dir.display()))?;
    let hash = report::scene_hash(&job.scene_dir);
    if hash != job.scene_hash {
        return Err(format!(
            "scene {} differs on this worker (hash {hash}, the job's {})",
            job.scene_dir.display(),
            job.scene_hash
        ));
    }
    let catalogue =
        IncidentCatalogue::load(&job.scene_dir.join(binjiang_sim::CATALOGUE_FILE), &scene)
            .map_err(|p| p.to_string())?
            .0;
    job.arms
        .iter()
        .map(|(name, want)| {
            let s = scenario::load(&scene, &catalogue, name, SimOptions::default())
                .map_err(|p| p.to_string())?;
            let have = report::file_hash(&s.text);
            if &have != want {
                return Err(format!("scenario {name} differs on this worker"));
            }
            Ok(s)
        })
        .collect()
}

/// Takes runs from the bus at `url` until `stop` resolves (or forever), returning each
/// result before acknowledging its run; a run it holds unacknowledged for `ack_wait` (the
/// workers' consumer is created with it by the first worker) goes to another worker.
/// Returns how many runs it did.
pub async fn work(
    url: &str,
    ack_wait: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> Result<u64, BusError> {
    let js = connect(url).await?;
    let mut messages = take_runs(&js, url, ack_wait).await?;
    let mut loaded: Loaded = Vec::new();
    let mut done = 0u64;
    tokio::pin!(stop);
    loop {
        let message = tokio::select! {
            _ = &mut stop => return Ok(done),
            m = messages.next() => match m {
                Some(Ok(m)) => m,
                // A worker serves for days: a missed heartbeat, a consumer lost with a
                // cluster's leader, or a feed that ended is a reason to take runs afresh
                // (the bus keeps what was not acknowledged), not to stop.
                trouble => {
                    let why = match trouble {
                        Some(Err(e)) => e.to_string(),
                        _ => "the runs' feed ended".into(),
                    };
                    tracing::warn!("{why}; taking runs again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    messages = take_runs(&js, url, ack_wait).await?;
                    continue;
                }
            },
        };
        let job: RunJob = match serde_json::from_slice(&message.payload) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!("dropping an unreadable run: {e}");
                let _ = message.ack().await;
                continue;
            }
        };
        tracing::info!(job = %job.job, arm = job.arm, seed = job.seed, "running");
        let arms = job_arms(&mut loaded, &job);
        let run = match arms {
            Ok(arms) => match arms.get(job.arm) {
                Some(s) => {
                    let s = s.clone();
                    let (arm, seed, hours) = (job.arm, job.seed, job.hours);
                    tokio::task::spawn_blocking(move || compare::run_one(&s, arm, seed, hours))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                }
                None => Err(format!("no arm {}", job.arm)),
            },
            Err(e) => Err(e.clone()),
        };
        let result = RunResult {
            arm: job.arm,
            seed: job.seed,
            run,
        };
        let payload = serde_json::to_vec(&result).expect("plain data");
        // A redelivered run's result may be published twice; the coordinator keeps the first.
        let id = format!("{}-{}-{}-result", job.job, job.arm, job.seed);
        publish_stored(
            &js,
            url,
            format!("binjiang.whatif.results.{}", job.job),
            &id,
            payload,
        )
        .await?;
        message.ack().await.map_err(|e| bus(url)(e.to_string()))?;
        done += 1;
    }
}

/// The workers' feed of runs, one at a time: a worker runs one run at a time, and runs it
/// held beyond the one it runs would wait for nothing while other workers idle, and come
/// back to the bus after `ack_wait` as duplicates. Retried for 30 s, as a bus just started
/// or electing a leader answers slowly.
async fn take_runs(
    js: &jetstream::Context,
    url: &str,
    ack_wait: Duration,
) -> Result<consumer::pull::Stream, BusError> {
    retrying(|| async {
        let runs = try_streams(js, url).await?;
        let consumer: consumer::PullConsumer = runs
            .get_or_create_consumer(
                WORKERS,
                consumer::pull::Config {
                    durable_name: Some(WORKERS.into()),
                    ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| bus(url)(format!("workers' consumer: {e}")))?;
        consumer
            .stream()
            .max_messages_per_batch(1)
            .heartbeat(Duration::from_secs(15))
            .messages()
            .await
            .map_err(|e| bus(url)(format!("workers' consumer: {e}")))
    })
    .await
}

/// The scene folder `dir` as the workers will be told it.
pub fn scene_dir(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> RunJob {
        RunJob {
            job: id.into(),
            scene_dir: PathBuf::from("/no/such/scene"),
            scene_hash: String::new(),
            arms: vec![("baseline".into(), None)],
            arm: 0,
            seed: 1,
            hours: 1.0,
        }
    }

    /// Issue 17.9: a worker used to keep every job's scene for as long as it ran.
    #[test]
    fn a_worker_keeps_only_the_last_jobs_scenes() {
        let mut loaded: Loaded = Vec::new();
        for k in 0..10 {
            assert!(job_arms(&mut loaded, &job(&format!("job-{k}"))).is_err());
            // A job's later runs find it loaded.
            job_arms(&mut loaded, &job(&format!("job-{k}")));
            assert!(loaded.len() <= JOBS_KEPT);
        }
        let kept: Vec<&str> = loaded.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(kept, ["job-6", "job-7", "job-8", "job-9"]);
        // Using an older one makes it the most recent.
        job_arms(&mut loaded, &job("job-6"));
        assert_eq!(loaded.last().unwrap().0, "job-6");
    }
}
