//! The WebSocket stream: a snapshot, then numbered deltas; a reconnecting client resumes
//! from its last view without a gap.

mod common;

use common::Harness;
use serde_json::{json, Value};
use std::net::TcpStream;
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::WebSocket;

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

fn open(h: &Harness, query: &str, token: &str) -> Socket {
    let url = format!(
        "{}/api/v1/stream{query}",
        h.base.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, _) = tungstenite::connect(request).expect("upgrade");
    if let MaybeTlsStream::Plain(s) = socket.get_ref() {
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
    }
    socket
}

fn next(socket: &mut Socket) -> Value {
    loop {
        match socket.read().expect("a message within 5 s") {
            tungstenite::Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            _ => continue,
        }
    }
}

/// Reads until a message mentions incident `id`, returning it and the last seq seen.
fn until_incident(socket: &mut Socket, id: u64) -> Value {
    for _ in 0..100 {
        let m = next(socket);
        if m["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id)
        {
            return m;
        }
    }
    panic!("incident {id} never streamed");
}

#[test]
fn a_snapshot_then_deltas_and_a_resume_without_a_gap() {
    let h = Harness::start();
    let mut socket = open(&h, "", &h.tokens.display);
    let first = next(&mut socket);
    assert_eq!(first["type"], "snapshot", "{first}");
    assert_eq!(first["units"].as_array().unwrap().len(), 8);
    let mut seq = first["seq"].as_u64().unwrap();
    let (_, r) = h.post(
        "/api/v1/reports",
        &h.tokens.gateway,
        json!({"source": "camera", "type": "litter", "lon": 121.5052, "lat": 31.2473}),
    );
    let id = r["incident"].as_u64().unwrap();
    let m = until_incident(&mut socket, id);
    assert_eq!(m["type"], "delta", "{m}");
    assert!(m["seq"].as_u64().unwrap() > seq);
    assert!(
        m["base"].as_u64().unwrap() >= seq,
        "deltas build on what the client has"
    );
    seq = m["seq"].as_u64().unwrap();
    socket.close(None).ok();
    // Away, something happens; back with since=<last seq>: the changes since, not a snapshot.
    let (_, r) = h.post(
        "/api/v1/reports",
        &h.tokens.gateway,
        json!({"source": "camera", "type": "fight", "lon": 121.5078, "lat": 31.2527}),
    );
    let second = r["incident"].as_u64().unwrap();
    // Reconnect once the service has published a view with it (the API reads that view).
    h.wait_for("the second incident in the view", |all| {
        all.as_array().unwrap().iter().any(|i| i["id"] == second)
    });
    let mut socket = open(&h, &format!("?since={seq}"), &h.tokens.display);
    let m = next(&mut socket);
    assert_eq!(m["type"], "delta", "{m}");
    assert_eq!(m["base"].as_u64().unwrap(), seq);
    assert!(
        m["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == second),
        "the gap is filled: {m}"
    );
    // A view the service no longer keeps: a snapshot.
    let mut socket = open(&h, "?since=999999", &h.tokens.display);
    assert_eq!(next(&mut socket)["type"], "snapshot");
    // The token may come as a query parameter (browsers); none at all is refused.
    let url = format!(
        "{}/api/v1/stream?token={}",
        h.base.replace("http://", "ws://"),
        h.tokens.display
    );
    assert!(tungstenite::connect(url).is_ok());
    let url = format!("{}/api/v1/stream", h.base.replace("http://", "ws://"));
    match tungstenite::connect(url) {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
}

/// Regression (issue 17.1): stopping used to wait for every stream client to leave, and a
/// control room's wall never leaves. Now the stop closes the stream ("going away") and ends.
#[test]
fn stopping_closes_stream_clients_instead_of_waiting_for_them() {
    let mut h = Harness::start();
    let mut socket = open(&h, "", &h.tokens.display);
    assert_eq!(next(&mut socket)["type"], "snapshot");
    // Something acknowledged just before the stop must be on disk after it.
    let (status, r) = h.post(
        "/api/v1/reports",
        &h.tokens.gateway,
        json!({"external_id": "before-stop", "source": "camera", "type": "litter",
               "lon": 121.5052, "lat": 31.2473}),
    );
    assert_eq!(status, 201, "{r}");
    let running = h.running.take().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let handle = h.rt.handle().clone();
    let stopper = std::thread::spawn(move || {
        handle.block_on(running.stop());
        let _ = done_tx.send(());
    });
    // The client keeps its socket open and reads: it is told the service goes away.
    let mut closed = None;
    for _ in 0..200 {
        match socket.read() {
            Ok(tungstenite::Message::Close(frame)) => {
                closed = frame;
                break;
            }
            Ok(_) => continue,
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
    let frame = closed.expect("a close frame with a reason");
    assert_eq!(
        frame.code,
        tungstenite::protocol::frame::coding::CloseCode::Away
    );
    done_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the service stopped although a stream client was still connected");
    stopper.join().unwrap();
    drop(socket);
    let events = binjiang_live::twin::logged_events(&h.db).unwrap();
    assert!(
        !events.is_empty(),
        "the acknowledged report's decisions are on disk"
    );
    let conn = rusqlite::Connection::open(&h.db).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM inputs WHERE body LIKE '%before-stop%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1, "the acknowledged report is in the log");
}

/// Why this unit, live (issue 20): a dispatch's explanation record is in
/// `GET /api/v1/incidents/<id>/decisions`, a stream delta carries its id, and a restart
/// rebuilds the same records without writing any twice.
#[test]
fn decisions_are_explained_streamed_and_kept_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let mut h = Harness::start_at(&db, |_| {});
    let mut socket = open(&h, "", &h.tokens.display);
    next(&mut socket); // the snapshot
                       // A fight on the north bank's west end: the car across the river is nearer as the
                       // crow flies, the one on the north bank is sent.
    let (s, r) = h.post(
        "/api/v1/reports",
        &h.tokens.gateway,
        json!({"source": "hotline110", "type": "fight", "lon": 121.5010499, "lat": 31.2527058}),
    );
    assert_eq!(s, 201, "{r}");
    let id = r["incident"].as_u64().unwrap();
    let mut ids = Vec::new();
    for _ in 0..100 {
        let m = next(&mut socket);
        if let Some(d) = m["decisions"].as_array() {
            ids.extend(d.iter().map(|v| v.as_u64().unwrap()));
            break;
        }
    }
    assert!(!ids.is_empty(), "a delta names the new decision");
    let (s, d) = h.get(
        &format!("/api/v1/incidents/{id}/decisions"),
        &h.tokens.display,
    );
    assert_eq!(s, 200, "{d}");
    let d = d.as_array().unwrap().clone();
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(ids.contains(&d[0]["id"].as_u64().unwrap()));
    assert_eq!(d[0]["chosen"]["unit"], "police-north");
    let south = d[0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["unit"] == "police-south")
        .cloned()
        .unwrap_or_else(|| panic!("police-south listed: {d:?}"));
    assert_eq!(south["status"], "slower_by_road");
    // Bad requests are named.
    let (s, e) = h.get("/api/v1/incidents/xyz/decisions", &h.tokens.display);
    assert_eq!((s, e["field"].as_str()), (400, Some("id")), "{e}");
    let (s, _) = h.get("/api/v1/incidents/999/decisions", &h.tokens.display);
    assert_eq!(s, 404);
    drop(socket);
    h.stop();
    let count = h.count("decisions");
    drop(h);
    let h = Harness::start_at(&db, |_| {});
    let (s, again) = h.get(
        &format!("/api/v1/incidents/{id}/decisions"),
        &h.tokens.operator,
    );
    assert_eq!(s, 200);
    assert_eq!(
        again.as_array().unwrap(),
        &d,
        "the same record after the restart"
    );
    assert_eq!(h.count("decisions"), count, "nothing written twice");
}
