//! Issue 17.6: secrets never on the command line and never printed. The MQTT password comes
//! from a file or the environment, NATS credentials from the environment (files for the
//! secret parts), and a credential in a bus URL is blanked in every message. Each test greps
//! what the process printed, and the command line others can read in `ps`.

mod common;

use common::nats::{free_port, wait_for_port, Nats};
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NATS_SECRET: &str = "s3cret-nats-pw";
const MQTT_SECRET: &str = "s3cret-mqtt-pw";

fn replay_to(url: &str, env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_binjiang"))
        .args([
            "replay",
            "tests/scenes/tiny-river",
            "--to",
            url,
            "--hours",
            "0.1",
            "--speed",
            "100000",
        ])
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .unwrap()
}

#[test]
fn nats_credentials_come_from_the_environment_and_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    // On a port the server picks itself: one picked here and freed could be taken by the
    // other test's broker first, and the replays would then find nobody there.
    let server = Nats::start_with(dir.path(), &["--user", "alice", "--pass", NATS_SECRET]);
    let url = server.url.clone();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let pw = dir.path().join("nats-password");
    std::fs::write(&pw, format!("{NATS_SECRET}\n")).unwrap();
    let pw = pw.to_str().unwrap();
    // Right credentials, the password from a file: taken.
    let out = replay_to(
        &url,
        &[
            ("BINJIANG_NATS_USER", "alice"),
            ("BINJIANG_NATS_PASSWORD_FILE", pw),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Wrong password: refused, a failure while running, the password not printed.
    let out = replay_to(
        &url,
        &[
            ("BINJIANG_NATS_USER", "alice"),
            ("BINJIANG_NATS_PASSWORD", "wrong-and-secret"),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let all = text(&out.stderr) + &text(&out.stdout);
    assert!(all.contains("authorization"), "{all}");
    assert!(!all.contains("wrong-and-secret"), "{all}");
    // Credentials put in the URL anyway are blanked wherever the URL is printed.
    for url in [
        format!("nats://alice:{NATS_SECRET}@127.0.0.1:{port}"),
        format!("nats://alice:{NATS_SECRET}@127.0.0.1:1"),
    ] {
        let out = replay_to(&url, &[]);
        let all = text(&out.stderr) + &text(&out.stdout);
        assert!(!all.contains(NATS_SECRET), "{all}");
        assert!(all.contains("nats://***@127.0.0.1"), "{all}");
    }
    drop(server);
}

#[test]
fn the_mqtt_password_comes_from_a_file_and_is_never_on_the_command_line_or_printed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    std::fs::write(d.join("passwd"), format!("twin:{MQTT_SECRET}\n")).unwrap();
    let passwd = ["/usr/sbin/mosquitto_passwd", "/usr/bin/mosquitto_passwd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("mosquitto_passwd");
    assert!(Command::new(passwd)
        .args(["-U", "passwd"])
        .current_dir(d)
        .status()
        .unwrap()
        .success());
    std::fs::write(
        d.join("mosquitto.conf"),
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}/passwd\npersistence false\n",
            d.display()
        ),
    )
    .unwrap();
    let mosquitto = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("mosquitto");
    let mut broker = Command::new(mosquitto)
        .arg("-c")
        .arg(d.join("mosquitto.conf"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port, "mosquitto");
    // A wrong password from a file: the service runs, says the broker refused, and neither
    // its log nor its command line holds the password.
    std::fs::write(d.join("wrong"), "a-wrong-secret\n").unwrap();
    let log = d.join("serve.log");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_binjiang"))
        .args([
            "serve",
            "tests/scenes/tiny-river",
            "--listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(d.join("live.db"))
        .args([
            "--mqtt",
            &format!("127.0.0.1:{port}"),
            "--mqtt-user",
            "twin",
            "--mqtt-password-file",
        ])
        .arg(d.join("wrong"))
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", serve.id())).unwrap();
    assert!(!text(&cmdline).contains("a-wrong-secret"));
    let started = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("MQTT connection lost")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = serve.kill();
    let _ = serve.wait();
    let printed = std::fs::read_to_string(&log).unwrap();
    assert!(!printed.contains("a-wrong-secret"), "{printed}");
    // The old flag is gone: a password typed on the command line is refused outright.
    let out = binjiang(&[
        "serve",
        "tests/scenes/tiny-river",
        "--mqtt",
        "127.0.0.1:1",
        "--mqtt-user",
        "twin",
        "--mqtt-password",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let _ = broker.kill();
    let _ = broker.wait();
}
