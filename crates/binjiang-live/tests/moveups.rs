//! The live coverage monitor (issue 19) against a real service: coverage per agency in the
//! KPIs, a move-up proposed when a dispatch opens a hole, accepted (a command in the input
//! log, audited, replayed the same after a restart) or dismissed (audited, not proposed
//! again), and every bad request refused with a JSON reason naming the field.

mod common;

use common::*;
use serde_json::{json, Value};

/// Waits (polling the published view) until the recommendations answer satisfies `f`.
fn wait_recommendations(h: &Harness, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..60 {
        let (s, r) = h.get("/api/v1/recommendations", &h.tokens.display);
        assert_eq!(s, 200, "{r}");
        if f(&r) {
            return r;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// A litter report on the south cleaner's loop: it is sent, and the north cleaner is
/// proposed to cover its patrol (where most of the tiny scene's bins are).
fn hole(h: &Harness) -> Value {
    let (s, r) = h.post(
        "/api/v1/reports",
        &h.tokens.gateway,
        json!({"source": "hotline12345", "type": "litter", "lon": 121.50733, "lat": 31.24738}),
    );
    assert_eq!(s, 201, "{r}");
    let r = wait_recommendations(h, "a move-up", |r| {
        r["recommendations"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    r["recommendations"][0].clone()
}

#[test]
fn a_dispatch_opens_a_hole_a_move_up_is_proposed_and_accepting_it_is_logged_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let mut h = Harness::start_at(&db, |_| {});
    // Before any dispatch: coverage watched, nothing proposed.
    let r = wait_recommendations(&h, "coverage", |r| r["coverage"]["cleaning"].is_object());
    let cleaning = &r["coverage"]["cleaning"];
    assert_eq!(cleaning["threshold"], 1.0);
    assert_eq!(cleaning["free_units"], 2);
    assert_eq!(r["recommendations"], json!([]));
    let before = cleaning["share"].as_f64().unwrap();

    let m = hole(&h);
    assert_eq!(m["agency"], "cleaning");
    let (unit, covering) = (m["unit"].as_str().unwrap(), m["covering"].as_str().unwrap());
    assert_ne!(unit, covering);
    let (b, a) = (m["before"].as_f64().unwrap(), m["after"].as_f64().unwrap());
    assert!(
        a >= b + 0.02 && b < before,
        "{m} (coverage {before} before the dispatch)"
    );
    // The KPIs carry the same proposal (and so does the stream).
    let (_, kpis) = h.get("/api/v1/kpis", &h.tokens.display);
    assert_eq!(kpis["recommendations"][0]["id"], m["id"]);

    // Refusals name what is wrong; nothing changes.
    let id = m["id"].as_u64().unwrap();
    let (s, e) = h.post(
        &format!("/api/v1/recommendations/{id}/accept"),
        &h.tokens.display,
        json!({}),
    );
    assert_eq!(s, 403, "{e}");
    let (s, e) = h.post(
        "/api/v1/recommendations/abc/accept",
        &h.tokens.operator,
        json!({}),
    );
    assert_eq!((s, e["field"].as_str()), (400, Some("id")), "{e}");
    let (s, e) = h.post(
        "/api/v1/recommendations/999/accept",
        &h.tokens.operator,
        json!({}),
    );
    assert_eq!(s, 404, "{e}");
    let (s, e) = h.post(
        &format!("/api/v1/recommendations/{id}/approve"),
        &h.tokens.operator,
        json!({}),
    );
    assert_eq!(s, 404, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("accept, dismiss"),
        "{e}"
    );

    // The cleaning operator accepts: the unit moves up.
    let (s, done) = h.post(
        &format!("/api/v1/recommendations/{id}/accept"),
        &h.tokens.cleaning,
        json!({"reason": "north bank uncovered"}),
    );
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["id"], m["id"]);
    wait_recommendations(&h, "the proposal gone", |r| {
        r["recommendations"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["id"] != m["id"]))
    });
    // Accepted once: a second accept finds nothing.
    let (s, _) = h.post(
        &format!("/api/v1/recommendations/{id}/accept"),
        &h.tokens.cleaning,
        json!({}),
    );
    assert_eq!(s, 404);
    // Audited with who, why and what.
    let (_, audit) = h.get("/api/v1/audit", &h.tokens.admin);
    let row = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "accept_move_up")
        .unwrap_or_else(|| panic!("no audit row: {audit}"))
        .clone();
    assert_eq!(row["actor"], "op-li");
    assert_eq!(row["reason"], "north bank uncovered");
    assert_eq!(row["detail"]["unit"], unit);
    assert_eq!(row["detail"]["covering"], covering);
    h.stop();
    let events = binjiang_live::twin::logged_events(&db).unwrap();
    assert!(
        events.iter().any(|e| matches!(&e.what,
            binjiang_sim::What::MovedUp { unit: u, covering: c, operator: Some(op), .. }
                if u.as_ref() == unit && c.as_ref() == covering && op.as_ref() == "op-li")),
        "no moved_up event"
    );
    drop(h);
    // Rebuilt from the log: the same events, the move-up among them, none written twice.
    let h = Harness::start_at(&db, |_| {});
    let (s, _) = h.get("/api/v1/kpis", &h.tokens.display);
    assert_eq!(s, 200);
    let again = binjiang_live::twin::logged_events(&db).unwrap();
    assert_eq!(again[..events.len()], events[..]);
}

#[test]
fn a_dismissed_move_up_needs_a_reason_is_audited_and_not_proposed_again() {
    let h = Harness::start();
    let m = hole(&h);
    let id = m["id"].as_u64().unwrap();
    let url = format!("/api/v1/recommendations/{id}/dismiss");
    let (s, e) = h.post(&url, &h.tokens.operator, json!({}));
    assert_eq!((s, e["field"].as_str()), (422, Some("reason")), "{e}");
    let (s, e) = h.post(
        &url,
        &h.tokens.operator,
        json!({"reason": "x", "unit": "y"}),
    );
    assert_eq!((s, e["field"].as_str()), (422, Some("unit")), "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("unknown field"),
        "{e}"
    );
    let (s, done) = h.post(
        &url,
        &h.tokens.operator,
        json!({"reason": "festival stage set-up there"}),
    );
    assert_eq!(s, 200, "{done}");
    // Gone, and not back while the same move stays the best: several publications later
    // (the clock has moved on) the list is still empty.
    let t0 = h.get("/api/v1/clock", &h.tokens.display).1["t"]
        .as_f64()
        .unwrap();
    wait_recommendations(&h, "two seconds of twin time", |r| {
        let t = h.get("/api/v1/clock", &h.tokens.display).1["t"]
            .as_f64()
            .unwrap();
        assert_eq!(r["recommendations"], json!([]), "proposed again: {r}");
        t > t0 + 2.0
    });
    let (_, audit) = h.get("/api/v1/audit", &h.tokens.admin);
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["action"] == "dismiss_move_up" && r["reason"] == "festival stage set-up there"));
}

#[test]
fn coverage_reports_every_cell_and_the_patrol_kpi() {
    let h = Harness::start();
    let (s, c) = h.get("/api/v1/coverage", &h.tokens.display);
    assert_eq!(s, 200, "{c}");
    let scene = binjiang_scene::Scene::load(&tiny_dir()).unwrap();
    let cells = c["cells"].as_array().unwrap();
    assert_eq!(cells.len(), scene.grid.cells.len());
    assert_eq!(cells[0]["cell"], scene.grid.cells[0].id.as_str());
    assert!(cells
        .iter()
        .all(|x| x["since_visit_s"].as_f64().unwrap() >= 0.0));
    assert!(c["agencies"]["cleaning"]["share"].as_f64().is_some(), "{c}");
}
