//! Running the `binjiang` binary from the repository root, as a user does.
#![allow(dead_code)]

pub mod nats;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `binjiang` with `args` in the repository root.
pub fn binjiang(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_binjiang"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// Runs `binjiang whatif <scene> --alt <alt> --seeds <seeds> --out <out>` and `extra`.
pub fn whatif(scene: &str, alt: &str, seeds: &str, out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "whatif", scene, "--alt", alt, "--seeds", seeds, "--out", out,
    ];
    args.extend_from_slice(extra);
    binjiang(&args)
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `binjiang serve` process on the tiny scene, on a free port.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    /// What it said before it listened.
    #[allow(dead_code)]
    pub startup: Vec<String>,
}

impl Server {
    /// Starts `binjiang serve tests/scenes/tiny-river --db <db>` and waits until it listens.
    pub fn start(db: &Path) -> Self {
        Self::start_with(db, &[])
    }

    /// [`Server::start`] with more arguments (`--clock replay --speed 600`).
    pub fn start_with(db: &Path, more: &[&str]) -> Self {
        Self::start_scene("tests/scenes/tiny-river", db, more)
    }

    /// [`Server::start_with`] on another scene folder.
    pub fn start_scene(scene: &str, db: &Path, more: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_binjiang"))
            .args(["serve", scene, "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(more)
            .current_dir(repo())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut startup = Vec::new();
        let base = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("the service says where it listens; it said {startup:?}"))
                .unwrap();
            if let Some(rest) = line.split_once(" on http://") {
                break format!("http://{}", rest.1.split_whitespace().next().unwrap());
            }
            startup.push(line);
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base,
            startup,
        }
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A token of `role` in `db`, from `binjiang token add` (the last word of its output).
pub fn token(db: &Path, role: &str) -> String {
    let out = binjiang(&[
        "token",
        "add",
        "--db",
        db.to_str().unwrap(),
        "--role",
        role,
        "--name",
        &format!("test-{role}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned()
}

/// Headless Chromium, with every host name failing to resolve (a page must not need the
/// network), screenshots `page` at `size`; the picture.
#[allow(dead_code)]
pub fn chromium_screenshot(page: &Path, dir: &Path, size: (u32, u32)) -> image::RgbImage {
    let png = dir.join("page.png");
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs (Debian: apt install chromium; scripts/deps.sh installs it)");
    assert!(out.status.success(), "{}", text(&out.stderr));
    image::open(&png).expect("a screenshot").to_rgb8()
}
