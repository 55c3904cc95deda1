//! `--live URL --token T`: the wall follows a `binjiang serve` instead of simulating.
//!
//! Two threads talk to the service so that a slow network never stalls a frame. The stream
//! thread follows `GET /api/v1/stream` (WebSocket) into a [`Mirror`] and leaves the latest
//! copy in a one-slot mailbox (the frame takes it when it changed; nothing queues up); it
//! reconnects with `?since=` after any break, so it resumes without a gap. The command
//! thread sends the operator's commands as HTTP requests with the wall's token (the
//! service records who and why) and hands back each answer: done, or refused with the
//! service's reason. Each frame turns the mirror into [`WallState`] in the scene's local
//! metres. A third thread reads patrol visits per cell (`GET /api/v1/coverage`) every 15
//! seconds; coverage and move-up proposals come with the stream's KPIs.

use crate::feed::{
    Clock, IncidentMark, Kpis, Link, OperatorCommand, OperatorCommands, Part, Projected, WallState,
    FADE_S, WALL_DISPOSITION, WALL_REASON,
};
use crate::SceneData;
use bevy::prelude::*;
use binjiang_protocol::{
    IncidentOut, Mirror, PartStatus, Projection, Refusal, StreamMessage, UnitState,
};
use binjiang_scene::{Agency, Scene};
use binjiang_sim::{IncidentCatalogue, Target, UnitStatus, UnitView};
use chrono::{DateTime, FixedOffset};
use std::collections::{BTreeSet, HashMap};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A stream that sends nothing for this long is taken as broken (the service publishes
/// several views a second).
const STREAM_SILENCE: Duration = Duration::from_secs(10);
/// Wait before reconnecting, doubling up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Commands waiting to be sent; more are refused at the wall rather than queued.
const COMMAND_QUEUE: usize = 16;
/// Between reads of the patrol visits per cell.
const VISITS_POLL: Duration = Duration::from_secs(15);

/// The latest state of the stream: the mirror, or why there is none.
#[derive(Debug, Default)]
struct Mailbox {
    mirror: Option<Mirror>,
    down: Option<String>,
    changed: bool,
}

/// What the service answered to one command.
#[derive(Debug)]
enum Answer {
    Done,
    Refused(String),
    Projection(Box<Projection>),
    /// Why each unit was sent to an incident.
    Decisions(u32, Vec<binjiang_sim::Decision>),
}

/// The wall's connection to a live service.
#[derive(Resource)]
pub struct LiveLink {
    url: String,
    mailbox: Arc<Mutex<Mailbox>>,
    commands: SyncSender<OperatorCommand>,
    answers: Mutex<Receiver<Answer>>,
    /// The last mirror taken, kept for the next frame's conversion.
    mirror: Mirror,
    convert: Converter,
    /// Seconds since each cell's last visit, as last read, with the read's calendar time.
    visits: Arc<Mutex<Option<Visits>>>,
}

impl LiveLink {
    /// Starts following `url` with `token`. Fails only on an address that cannot be a
    /// service's; an unreachable service is retried and shown on the wall.
    pub fn start(
        url: &str,
        token: &str,
        scene: &Scene,
        catalogue: &IncidentCatalogue,
    ) -> Result<Self, String> {
        let base = url.trim_end_matches('/').to_owned();
        let ws = if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            return Err(format!(
                "--live \"{url}\" must start with http:// (the service's address)"
            ));
        };
        let mailbox = Arc::new(Mutex::new(Mailbox::default()));
        {
            let (mailbox, token) = (Arc::clone(&mailbox), token.to_owned());
            std::thread::Builder::new()
                .name("live-stream".into())
                .spawn(move || follow_stream(&ws, &token, &mailbox))
                .map_err(|e| e.to_string())?;
        }
        let (commands, inbox) = mpsc::sync_channel(COMMAND_QUEUE);
        let (answer_tx, answers) = mpsc::channel();
        {
            let (base, token) = (base.clone(), token.to_owned());
            let units: Vec<String> = scene.units.iter().map(|u| u.id.clone()).collect();
            std::thread::Builder::new()
                .name("live-commands".into())
                .spawn(move || send_commands(&base, &token, &units, &inbox, &answer_tx))
                .map_err(|e| e.to_string())?;
        }
        let visits = Arc::new(Mutex::new(None));
        {
            let (url, token, visits) = (
                format!("{base}/api/v1/coverage"),
                token.to_owned(),
                Arc::clone(&visits),
            );
            std::thread::Builder::new()
                .name("live-visits".into())
                .spawn(move || poll_visits(&url, &token, &visits))
                .map_err(|e| e.to_string())?;
        }
        Ok(LiveLink {
            url: base,
            mailbox,
            commands,
            answers: Mutex::new(answers),
            mirror: Mirror::default(),
            convert: Converter::new(scene, catalogue),
            visits,
        })
    }
}

/// Patrol visits as read: the view's calendar time, seconds since each cell's last visit,
/// and whether each cell is watched.
type Visits = (String, Vec<f64>, Vec<bool>);

/// Reads the patrol visits per cell every [`VISITS_POLL`], forever (a failed read keeps the
/// last one).
fn poll_visits(url: &str, token: &str, visits: &Mutex<Option<Visits>>) {
    loop {
        let read = ureq::get(url)
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_json::<serde_json::Value>().ok());
        if let Some(v) = read {
            let cells = v["cells"].as_array().cloned().unwrap_or_default();
            let since = cells
                .iter()
                .map(|c| c["since_visit_s"].as_f64().unwrap_or(0.0))
                .collect();
            let watched = cells
                .iter()
                .map(|c| c["watched"].as_bool().unwrap_or(true))
                .collect();
            let at = v["at"].as_str().unwrap_or_default().to_owned();
            if let Ok(mut slot) = visits.lock() {
                *slot = Some((at, since, watched));
            }
        }
        std::thread::sleep(VISITS_POLL);
    }
}

/// Follows the stream forever, reconnecting with `?since=` after a break.
fn follow_stream(ws: &str, token: &str, mailbox: &Mutex<Mailbox>) {
    let mut mirror = Mirror::default();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let error = match stream_once(ws, token, &mut mirror, mailbox) {
            Ok(()) => "the service closed the stream".to_owned(),
            Err(e) => e,
        };
        {
            let mut m = mailbox.lock().unwrap_or_else(|p| p.into_inner());
            m.down = Some(error);
            m.changed = true;
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if mirror.seq > 0 {
            backoff = backoff.min(FIRST_BACKOFF * 4);
        }
    }
}

/// One connection: until it breaks.
fn stream_once(
    ws: &str,
    token: &str,
    mirror: &mut Mirror,
    mailbox: &Mutex<Mailbox>,
) -> Result<(), String> {
    use tungstenite::client::IntoClientRequest;
    let url = if mirror.seq > 0 {
        format!("{ws}/api/v1/stream?since={}", mirror.seq)
    } else {
        format!("{ws}/api/v1/stream")
    };
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {token}")
            .parse()
            .map_err(|_| "the token is not a valid header value".to_owned())?,
    );
    let (mut socket, _) = tungstenite::connect(request).map_err(|e| match e {
        tungstenite::Error::Http(r) => {
            let body = r
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice::<Refusal>(b).ok())
                .map_or(String::new(), |r| format!(": {}", r.error));
            format!("the service refused the stream ({}){body}", r.status())
        }
        e => format!("cannot reach {ws}: {e}"),
    })?;
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = socket.get_ref() {
        let _ = s.set_read_timeout(Some(STREAM_SILENCE));
    }
    loop {
        let text = match socket.read().map_err(|e| format!("stream broke: {e}"))? {
            tungstenite::Message::Text(t) => t,
            tungstenite::Message::Close(_) => return Ok(()),
            _ => continue,
        };
        let message: StreamMessage =
            serde_json::from_str(&text).map_err(|e| format!("unreadable stream message: {e}"))?;
        mirror.apply(message).map_err(|gap| gap.to_string())?;
        let mut m = mailbox.lock().unwrap_or_else(|p| p.into_inner());
        m.mirror = Some(mirror.clone());
        m.down = None;
        m.changed = true;
    }
}

/// Sends commands one at a time, answering each.
fn send_commands(
    base: &str,
    token: &str,
    units: &[String],
    inbox: &Receiver<OperatorCommand>,
    answers: &mpsc::Sender<Answer>,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    for command in inbox {
        if let OperatorCommand::Explain(id) = command {
            let read = agent
                .get(format!("{base}/api/v1/incidents/{id}/decisions"))
                .header("Authorization", format!("Bearer {token}"))
                .call()
                .ok()
                .filter(|r| r.status().is_success())
                .and_then(|mut r| r.body_mut().read_json::<Vec<binjiang_sim::Decision>>().ok());
            if let Some(d) = read {
                if answers.send(Answer::Decisions(id, d)).is_err() {
                    return;
                }
            }
            continue;
        }
        let (path, body) = request_of(command, units);
        let answer = match agent
            .post(format!("{base}{path}"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string())
        {
            Err(e) => Answer::Refused(format!("the service did not answer: {e}")),
            Ok(mut r) => {
                let status = r.status().as_u16();
                let text = r.body_mut().read_to_string().unwrap_or_default();
                answer_of(command, status, &text)
            }
        };
        if answers.send(answer).is_err() {
            return;
        }
    }
}

/// The HTTP request of a command: path and JSON body.
fn request_of(command: OperatorCommand, units: &[String]) -> (String, serde_json::Value) {
    use serde_json::json;
    let action = |id: u32, what: &str| format!("/api/v1/incidents/{id}/{what}");
    match command {
        OperatorCommand::Acknowledge(i) => {
            (action(i, "acknowledge"), json!({"reason": WALL_REASON}))
        }
        OperatorCommand::Reassign(i, agency, unit) => (
            action(i, "reassign"),
            json!({
                "reason": WALL_REASON,
                "agency": agency.key(),
                "unit": units.get(unit as usize).map_or("", String::as_str),
            }),
        ),
        OperatorCommand::Close(i) => (
            action(i, "close"),
            json!({"reason": WALL_REASON, "disposition": WALL_DISPOSITION}),
        ),
        OperatorCommand::Cancel(i, why) => (
            action(i, "cancel"),
            json!({"reason": WALL_REASON, "why": why}),
        ),
        OperatorCommand::Project(hours) => ("/api/v1/forks".into(), json!({"hours": hours})),
        OperatorCommand::AcceptMoveUp(id) => (
            format!("/api/v1/recommendations/{id}/accept"),
            json!({"reason": WALL_REASON}),
        ),
        OperatorCommand::DismissMoveUp(id) => (
            format!("/api/v1/recommendations/{id}/dismiss"),
            json!({"reason": WALL_REASON}),
        ),
        // Read, not posted: handled before (see `send_commands`).
        OperatorCommand::Explain(id) => (format!("/api/v1/incidents/{id}/decisions"), json!({})),
    }
}

/// What an answer means for the wall.
fn answer_of(command: OperatorCommand, status: u16, text: &str) -> Answer {
    if (200..300).contains(&status) {
        return match command {
            OperatorCommand::Project(_) => match serde_json::from_str::<Projection>(text) {
                Ok(p) => Answer::Projection(Box::new(p)),
                Err(e) => Answer::Refused(format!("unreadable projection: {e}")),
            },
            _ => Answer::Done,
        };
    }
    Answer::Refused(match serde_json::from_str::<Refusal>(text) {
        Ok(Refusal {
            error,
            field: Some(f),
        }) => format!("{error} (field {f}; HTTP {status})"),
        Ok(Refusal { error, field: None }) => format!("{error} (HTTP {status})"),
        Err(_) => format!(
            "HTTP {status}: {}",
            text.chars().take(200).collect::<String>()
        ),
    })
}

/// Turns the service's units and incidents into the wall's: local metres, scene indexes,
/// wall seconds.
#[derive(Debug)]
struct Converter {
    scene_units: HashMap<String, u32>,
    areas: HashMap<String, u16>,
    types: HashMap<String, (String, Target)>,
    frame: binjiang_scene::LocalFrame,
    /// The district's midnight the wall counts seconds from: that of the first view seen.
    midnight: Option<DateTime<FixedOffset>>,
    /// Incidents seen so far; those of the first view are not "new" (no auto-focus, no
    /// chime for what was already open when the wall connected).
    seen: Option<BTreeSet<u32>>,
}

impl Converter {
    fn new(scene: &Scene, catalogue: &IncidentCatalogue) -> Self {
        Converter {
            scene_units: crate::feed::unit_indexes(scene),
            areas: scene
                .grid
                .parts
                .iter()
                .enumerate()
                .map(|(i, p)| (p.code.clone(), i as u16))
                .collect(),
            types: crate::feed::type_names(catalogue),
            frame: scene.frame,
            midnight: None,
            seen: None,
        }
    }

    /// Seconds of `iso` since the wall's midnight.
    fn seconds(&mut self, iso: &str) -> Option<f64> {
        let t = DateTime::parse_from_rfc3339(iso).ok()?;
        let midnight = *self.midnight.get_or_insert_with(|| {
            let m = t
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists");
            m.and_local_timezone(*t.offset())
                .single()
                .expect("a fixed offset has no gaps")
        });
        Some((t - midnight).num_milliseconds() as f64 / 1000.0)
    }

    fn fill(&mut self, mirror: &Mirror, state: &mut WallState, scene: &Scene) {
        let Some(now) = self.seconds(&mirror.at) else {
            return;
        };
        state.now_s = now;
        state.units = mirror
            .units
            .iter()
            .filter_map(|u| {
                let c = self.frame.to_local(u.lon, u.lat);
                Some(UnitView {
                    index: *self.scene_units.get(&u.id)?,
                    id: u.id.clone(),
                    agency: u.agency,
                    mode: u.mode,
                    status: match u.status {
                        UnitState::Available => UnitStatus::Patrolling,
                        UnitState::EnRoute => UnitStatus::EnRoute,
                        UnitState::OnScene => UnitStatus::OnScene,
                        UnitState::Cleared => UnitStatus::Returning,
                        UnitState::OffDuty => UnitStatus::OffDuty,
                    },
                    position: [c.x, c.y],
                    incident: u.incident,
                    area: self.areas.get(&u.subdistrict).copied().unwrap_or(0),
                })
            })
            .collect();
        state.units.sort_by_key(|u| u.index);
        state.new_urgent.clear();
        let mut marks = Vec::new();
        let first = self.seen.is_none();
        let mut seen = self.seen.take().unwrap_or_default();
        for i in mirror.incidents.values() {
            let Some(m) = self.mark(i) else { continue };
            if m.closed_at.is_some_and(|c| now - c >= FADE_S) {
                continue;
            }
            if seen.insert(m.id) && !first && m.priority == 1 && m.closed_at.is_none() {
                state.new_urgent.push(m.id);
            }
            marks.push(m);
        }
        self.seen = Some(seen);
        state.incidents = marks;
        if let Some(k) = &mirror.kpis {
            state.kpis = Kpis::of(&k.today, scene, &state.units, &state.incidents);
            state.coverage.agencies = k.coverage.clone();
            state.coverage.recommendations = k.recommendations.clone();
            state.coverage.unvisited_share = k.hot_cells_unvisited_2h_share;
        }
    }

    fn mark(&mut self, i: &IncidentOut) -> Option<IncidentMark> {
        let (type_name, target) = self
            .types
            .get(&i.incident_type)
            .cloned()
            .unwrap_or_else(|| (i.incident_type.clone(), Target::OnSite));
        let c = self.frame.to_local(i.lon, i.lat);
        let reported_at = self.seconds(i.reported_at.as_deref().unwrap_or(&i.arose_at))?;
        let closed_at = match &i.closed_at {
            Some(t) => Some(self.seconds(t)?),
            None => None,
        };
        let parts = i
            .parts
            .iter()
            .map(|p| Part {
                agency: p.agency,
                unit: p
                    .unit
                    .as_ref()
                    .and_then(|u| self.scene_units.get(u).copied()),
                arrived_at: p.arrived_at.as_deref().and_then(|t| self.seconds(t)),
                done: p.status == PartStatus::Done,
            })
            .collect();
        Some(IncidentMark {
            id: i.id,
            type_name,
            priority: i.priority,
            position: [c.x, c.y],
            subdistrict: i.subdistrict.clone(),
            source: i.source,
            reported_at,
            target,
            closed_at,
            parts,
            acknowledged: i.acknowledged_at.is_some(),
        })
    }

    fn projection(&mut self, p: &Projection) -> Projected {
        Projected {
            from_s: self.seconds(&p.from).unwrap_or_default(),
            until_s: self.seconds(&p.until).unwrap_or_default(),
            open_at_end: p.open_at_end,
            peak_queue: p
                .peak_queue
                .iter()
                .filter_map(|(a, q)| {
                    let agency = Agency::ALL.iter().find(|x| x.key() == a)?;
                    Some((*agency, (q.parts, self.seconds(&q.at).unwrap_or_default())))
                })
                .collect(),
            kpis: p.kpis.clone(),
        }
    }
}

/// Drives the wall from a live service.
pub struct LivePlugin;

impl Plugin for LivePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OperatorCommands>()
            .add_systems(PreUpdate, (send, receive).chain());
    }
}

/// Hands the panels' commands to the command thread.
fn send(mut commands: ResMut<OperatorCommands>, link: Res<LiveLink>, mut state: ResMut<WallState>) {
    for c in commands.0.drain(..) {
        match link.commands.try_send(c) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                state.refusal = Some("too many commands waiting for the service; try again".into());
            }
            Err(TrySendError::Disconnected(_)) => {
                state.refusal = Some("the command link to the service has stopped".into());
            }
        }
    }
}

/// Takes the service's answers and the latest view into the wall's state.
fn receive(
    mut link: ResMut<LiveLink>,
    mut state: ResMut<WallState>,
    mut clock: ResMut<Clock>,
    scene: Res<SceneData>,
) {
    let link = &mut *link;
    let answers: Vec<Answer> = {
        let rx = link.answers.lock().unwrap_or_else(|p| p.into_inner());
        rx.try_iter().collect()
    };
    for a in answers {
        match a {
            Answer::Done => state.refusal = None,
            Answer::Refused(why) => state.refusal = Some(why),
            Answer::Projection(p) => {
                state.refusal = None;
                state.projection = Some(link.convert.projection(&p));
            }
            Answer::Decisions(id, d) => {
                state.why.insert(id, d);
            }
        }
    }
    // Visits as read, aged to the view shown (they are read every 15 s).
    let read = link.visits.lock().ok().and_then(|v| v.clone());
    if let Some((at, cells, watched)) = read {
        if let Some(age) = link
            .convert
            .seconds(&at)
            .map(|t| (state.now_s - t).max(0.0))
        {
            state.coverage.since_visit = cells.iter().map(|s| s + age).collect();
            state.coverage.watched = watched;
        }
    }
    let (fresh, down) = {
        let mut m = link.mailbox.lock().unwrap_or_else(|p| p.into_inner());
        if !std::mem::take(&mut m.changed) {
            return;
        }
        (m.mirror.take(), m.down.clone())
    };
    if let Some(fresh) = fresh {
        link.mirror = fresh;
        link.convert.fill(&link.mirror, &mut state, &scene.0);
        clock.sim_s = state.now_s;
    } else {
        state.new_urgent.clear();
    }
    state.link = Link::Live {
        url: link.url.clone(),
        state: match down {
            Some(why) => Err(why),
            None => Ok(link.mirror.seq),
        },
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_become_the_service_requests() {
        let units = vec!["police-01".to_owned(), "clean-02".to_owned()];
        let (path, body) = request_of(OperatorCommand::Reassign(7, Agency::Cleaning, 1), &units);
        assert_eq!(path, "/api/v1/incidents/7/reassign");
        assert_eq!(body["unit"], "clean-02");
        assert_eq!(body["agency"], "cleaning");
        assert!(body["reason"].as_str().is_some_and(|r| !r.is_empty()));
        let (path, body) = request_of(
            OperatorCommand::Cancel(3, binjiang_sim::CancelReason::FalseAlarm),
            &units,
        );
        assert_eq!(
            (path.as_str(), &body["why"]),
            (
                "/api/v1/incidents/3/cancel",
                &serde_json::json!("false_alarm")
            )
        );
        let (_, body) = request_of(OperatorCommand::Close(3), &units);
        assert!(
            body["disposition"].is_string(),
            "the service needs a disposition"
        );
    }

    #[test]
    fn refusals_show_the_services_reason_and_field() {
        let a = answer_of(
            OperatorCommand::Close(9),
            409,
            r#"{"error": "incident #9 is not open"}"#,
        );
        assert!(
            matches!(a, Answer::Refused(ref w) if w == "incident #9 is not open (HTTP 409)"),
            "{a:?}"
        );
        let a = answer_of(
            OperatorCommand::Reassign(9, Agency::Police, 0),
            422,
            r#"{"error": "unit police-99 is not free", "field": "unit"}"#,
        );
        assert!(
            matches!(a, Answer::Refused(ref w) if w.contains("field unit")),
            "{a:?}"
        );
        assert!(
            matches!(answer_of(OperatorCommand::Close(9), 502, "<html>"), Answer::Refused(ref w) if w.starts_with("HTTP 502"))
        );
        assert!(matches!(
            answer_of(OperatorCommand::Acknowledge(9), 200, "{}"),
            Answer::Done
        ));
    }

    #[test]
    fn a_bad_address_is_refused_before_anything_starts() {
        let (scene, catalogue) = crate::feed::fixtures::tiny();
        let Err(e) = LiveLink::start("127.0.0.1:8080", "t", &scene, &catalogue) else {
            panic!("must refuse an address without a scheme");
        };
        assert!(e.contains("http://"), "{e}");
    }

    #[test]
    fn times_count_from_the_first_views_midnight() {
        let (scene, catalogue) = crate::feed::fixtures::tiny();
        let mut c = Converter::new(&scene, &catalogue);
        assert_eq!(c.seconds("2026-11-23T10:00:00.500+08:00"), Some(36_000.5));
        assert_eq!(c.seconds("2026-11-24T00:00:01.000+08:00"), Some(86_401.0));
        assert_eq!(c.seconds("2026-11-23T02:00:00Z"), Some(36_000.0));
        assert_eq!(c.seconds("soon"), None);
    }
}
