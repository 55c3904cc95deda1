//! `GET /api/v1/stream` (WebSocket): every screen's feed. A snapshot — units, incidents,
//! KPIs — then deltas, each numbered with the view's `seq`. A client that reconnects with
//! `?since=<last seq>` gets the changes since that view if the service still keeps it (the
//! last 64), else a fresh snapshot: never a gap. A slow client is downsampled, never queued
//! for: each connection holds only the last view it sent, and a client skips the views it
//! was too slow for (the next delta covers them); one that does not take a message within
//! [`SEND_TIMEOUT`] is dropped.

use crate::auth::{Caller, Need};
use crate::error::ApiError;
use crate::http::AppState;
use crate::view::{IncidentOut, UnitOut, View};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use binjiang_protocol::StreamMessage;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A client that does not take a message within this is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The message taking a client from `from` (if it has it) to `to`.
pub fn message(from: Option<&View>, to: &View) -> String {
    let m = match from {
        None => StreamMessage::Snapshot {
            seq: to.seq,
            at: Cow::Borrowed(&to.kpis.at),
            units: Cow::Borrowed(&to.units),
            incidents: Cow::Borrowed(&to.incidents),
            kpis: Cow::Borrowed(&to.kpis),
        },
        Some(from) => {
            let old_units: HashMap<&str, &UnitOut> =
                from.units.iter().map(|u| (u.id.as_str(), u)).collect();
            let old_incidents: HashMap<u32, &IncidentOut> =
                from.incidents.iter().map(|i| (i.id, i)).collect();
            let new_ids: std::collections::HashSet<u32> =
                to.incidents.iter().map(|i| i.id).collect();
            StreamMessage::Delta {
                seq: to.seq,
                base: from.seq,
                at: Cow::Borrowed(&to.kpis.at),
                units: to
                    .units
                    .iter()
                    .filter(|u| old_units.get(u.id.as_str()) != Some(u))
                    .map(Cow::Borrowed)
                    .collect(),
                incidents: to
                    .incidents
                    .iter()
                    .filter(|i| old_incidents.get(&i.id) != Some(i))
                    .map(Cow::Borrowed)
                    .collect(),
                removed: from
                    .incidents
                    .iter()
                    .map(|i| i.id)
                    .filter(|id| !new_ids.contains(id))
                    .collect(),
                kpis: (from.kpis != to.kpis).then_some(Cow::Borrowed(&to.kpis)),
                decisions: match (from.last_decision, to.last_decision) {
                    (_, None) => Vec::new(),
                    (None, Some(b)) => (0..=b).collect(),
                    (Some(a), Some(b)) => (a + 1..=b).collect(),
                },
            }
        }
    };
    serde_json::to_string(&m).expect("plain data serialises")
}

/// `GET /api/v1/stream[?since=seq][&token=…]`: the token may come as a query parameter,
/// since browsers cannot set headers on a WebSocket.
pub async fn connect(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    mut parts: Parts,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if let Some(t) = q.get("token") {
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            let value = format!("Bearer {t}")
                .parse()
                .map_err(|_| ApiError::invalid("token", "not a token"))?;
            parts
                .headers
                .insert(axum::http::header::AUTHORIZATION, value);
        }
    }
    let caller = Caller::from_request_parts(&mut parts, &state).await?;
    caller.require(Need::Read)?;
    let since = match q.get("since") {
        None => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| {
            ApiError::invalid("since", format!("\"{s}\" is not a sequence number"))
        })?),
    };
    Ok(ws.on_upgrade(move |socket| serve(socket, state, since)))
}

async fn serve(mut socket: WebSocket, state: AppState, since: Option<u64>) {
    let mut views = state.views.clone();
    let mut stopping = state.stopping.clone();
    let mut sent: Option<Arc<View>> = since.and_then(|s| state.published.kept(s));
    loop {
        let now = Arc::clone(&views.borrow_and_update());
        if sent.as_ref().is_none_or(|v| v.seq != now.seq) {
            let text = message(sent.as_deref(), &now);
            match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await
            {
                Ok(Ok(())) => sent = Some(now),
                Ok(Err(_)) => return,
                Err(_) => {
                    tracing::warn!("stream client too slow: dropped");
                    return;
                }
            }
        }
        if *stopping.borrow_and_update() {
            return going_away(socket).await;
        }
        tokio::select! {
            changed = views.changed() => if changed.is_err() { return },
            _ = stopping.changed() => return going_away(socket).await,
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Says goodbye to a client as the service stops: a Close frame "going away" (1001), so a
/// wall reconnects to the next service instead of treating it as an error; a client that does
/// not answer within [`SEND_TIMEOUT`] is left.
async fn going_away(mut socket: WebSocket) {
    let frame = axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::AWAY,
        reason: "the service is stopping".into(),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}
