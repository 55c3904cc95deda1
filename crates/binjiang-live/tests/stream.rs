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
    std::thread::sleep(std::time::Duration::from_millis(300));
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
