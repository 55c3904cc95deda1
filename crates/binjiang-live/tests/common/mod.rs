//! A real service on 127.0.0.1 (ephemeral port) over the tiny test scene, with one token of
//! each role, and a blocking HTTP client (ureq) that never treats 4xx/5xx as transport
//! errors, so tests read every answer's status and JSON body.
#![allow(dead_code)]

use binjiang_live::auth::{add_token, Role};
use binjiang_live::clock::ClockMode;
use binjiang_live::{District, Running, ServeOptions};
use binjiang_scene::{Agency, Scene};
use binjiang_sim::IncidentCatalogue;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn tiny_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river")
}

pub fn district() -> District {
    let scene = Scene::load(&tiny_dir()).expect("tiny scene");
    let (catalogue, _) =
        IncidentCatalogue::load(&tiny_dir().join("incident_types.ron"), &scene).expect("catalogue");
    District::new(scene, catalogue).expect("live.ron")
}

pub struct Tokens {
    pub admin: String,
    pub gateway: String,
    pub display: String,
    /// Operator of every agency.
    pub operator: String,
    /// Operator of cleaning only.
    pub cleaning: String,
}

pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub running: Option<Running>,
    pub base: String,
    pub db: PathBuf,
    pub tokens: Tokens,
    pub agent: ureq::Agent,
    _dir: Option<tempfile::TempDir>,
}

pub fn options(db: &Path) -> ServeOptions {
    let mut o = ServeOptions::new(db.to_path_buf(), "127.0.0.1:0".parse().unwrap());
    // A replay clock at 1× from 10:00: every unit of the tiny scene is on duty.
    o.clock = ClockMode::Replay { speed: 1.0 };
    o.start_s = Some(10.0 * 3600.0);
    o
}

impl Harness {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(tune: impl FnOnce(&mut ServeOptions)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let mut h = Self::start_at(&db, tune);
        h._dir = Some(dir);
        h
    }

    /// Starts on `db` (kept by the caller), adding tokens.
    pub fn start_at(db: &Path, tune: impl FnOnce(&mut ServeOptions)) -> Self {
        let conn = binjiang_live::store::open(db).unwrap();
        let tokens = Tokens {
            admin: add_token(&conn, Role::Admin, None, "admin-1").unwrap(),
            gateway: add_token(&conn, Role::Gateway, None, "gateway-1").unwrap(),
            display: add_token(&conn, Role::Display, None, "wall-1").unwrap(),
            operator: add_token(&conn, Role::Operator, None, "op-wang").unwrap(),
            cleaning: add_token(&conn, Role::Operator, Some(Agency::Cleaning), "op-li").unwrap(),
        };
        drop(conn);
        let mut o = options(db);
        tune(&mut o);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt
            .block_on(binjiang_live::start(district(), o))
            .expect("service starts");
        let base = format!("http://{}", running.addr);
        Harness {
            rt,
            running: Some(running),
            base,
            db: db.to_path_buf(),
            tokens,
            agent: agent(),
            _dir: None,
        }
    }

    /// Stops gracefully (everything acknowledged is on disk).
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        call(
            &self.agent,
            "GET",
            &format!("{}{path}", self.base),
            Some(token),
            None,
        )
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        call(
            &self.agent,
            "POST",
            &format!("{}{path}", self.base),
            Some(token),
            Some(body.to_string()),
        )
    }

    pub fn post_raw(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        call(
            &self.agent,
            "POST",
            &format!("{}{path}", self.base),
            token,
            Some(body.to_owned()),
        )
    }

    /// The incident with external id `e`, from the API.
    pub fn incident_by_external(&self, e: &str) -> Option<Value> {
        let (_, all) = self.get("/api/v1/incidents", &self.tokens.admin);
        all.as_array()?
            .iter()
            .find(|i| i["external_id"] == e)
            .cloned()
    }

    /// Waits until `f` holds of the incidents list (the view republishes every 250 ms).
    pub fn wait_for(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..40 {
            let (_, all) = self.get("/api/v1/incidents", &self.tokens.admin);
            if f(&all) {
                return all;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}");
    }

    pub fn count(&self, table: &str) -> i64 {
        let c = rusqlite::Connection::open(&self.db).unwrap();
        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

pub fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let response = match method {
        "GET" => {
            let mut r = agent.get(url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        _ => {
            let mut r = agent.post(url).header("Content-Type", "application/json");
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.send(body.unwrap_or_default())
        }
    };
    let mut response = response.expect("the service answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}
