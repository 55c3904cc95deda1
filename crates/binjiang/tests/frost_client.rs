//! A standard SensorThings client — FROST's Python client (frost-sta-client, installed by
//! scripts/deps.sh) — creates and reads through a real `binjiang serve`.

mod common;

use common::{repo, token, Server};

#[test]
fn frost_sta_client_creates_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let gateway = token(&db, "gateway");
    let server = Server::start(&db);
    let out = std::process::Command::new("python3")
        .arg(repo().join("tests/frost/sta_roundtrip.py"))
        .arg(format!("{}/v1.1", server.base))
        .arg(&gateway)
        .output()
        .expect("python3 runs (scripts/deps.sh installs it and frost-sta-client)");
    let (stdout, stderr) = (common::text(&out.stdout), common::text(&out.stderr));
    assert!(
        out.status.success(),
        "frost-sta-client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("round trip ok: 5 observations"), "{stdout}");
    server.kill();
}
