//! The operator surface (egui): clock and speed (or the live link), KPIs per agency and
//! per subdistrict, the alarm list by urgency and time to target, details of the selected
//! unit or incident with the operator's actions, the projection (key `P`), the move-ups
//! proposed (accept / dismiss), layer toggles, legend and a help overlay.

use crate::camera::{CameraMode, FlyTo};
use crate::colours::{agency_rgb, priority_rgb};
use crate::feed::{
    alarm_order, clock_text, countdown_text, Clock, Link, OperatorCommand, OperatorCommands,
    WallState, PROJECTION_HOURS,
};
use crate::labels::countdown_rgb;
use crate::scene_view::Layers;
use crate::SceneData;
use bevy::prelude::*;
use bevy_egui::egui::{self, Align2, Color32, RichText};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};
use binjiang_scene::{Agency, AssetKind};
use binjiang_sim::{CancelReason, UnitStatus, UnitView};
use geo::Coord;

/// What the operator has selected.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq)]
pub enum Selection {
    /// Nothing.
    #[default]
    None,
    /// A unit, by index.
    Unit(u32),
    /// An incident, by id.
    Incident(u32),
}

/// Whether the help overlay is shown.
#[derive(Resource, Debug, Default)]
struct Help(bool);

/// Speeds offered to the operator (simulated seconds per wall second).
pub const SPEEDS: [f64; 5] = [0.0, 1.0, 10.0, 60.0, 600.0];

/// The HUD.
pub struct HudPlugin;

impl Plugin for HudPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Selection>()
            .init_resource::<Help>()
            .add_systems(Update, keys)
            .add_systems(
                EguiPrimaryContextPass,
                (
                    top_bar,
                    kpi_panel,
                    move_ups,
                    queue_panel,
                    details,
                    projection,
                    legend,
                    help,
                )
                    .chain(),
            );
    }
}

fn c32(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgb(rgb[0], rgb[1], rgb[2])
}

#[allow(clippy::too_many_arguments)]
fn keys(
    input: Res<ButtonInput<KeyCode>>,
    mut clock: ResMut<Clock>,
    mut layers: ResMut<Layers>,
    mut help: ResMut<Help>,
    mut selection: ResMut<Selection>,
    mut state: ResMut<WallState>,
    mut commands: ResMut<OperatorCommands>,
) {
    // P shows a projection, or hides the one shown.
    if input.just_pressed(KeyCode::KeyP) && state.projection.take().is_none() {
        commands.0.push(OperatorCommand::Project(PROJECTION_HOURS));
    }
    if input.just_pressed(KeyCode::Space) {
        clock.speed = if clock.speed == 0.0 { 60.0 } else { 0.0 };
    }
    let i = SPEEDS.iter().position(|s| *s == clock.speed).unwrap_or(3);
    if input.just_pressed(KeyCode::Equal) || input.just_pressed(KeyCode::NumpadAdd) {
        clock.speed = SPEEDS[(i + 1).min(SPEEDS.len() - 1)];
    }
    if input.just_pressed(KeyCode::Minus) || input.just_pressed(KeyCode::NumpadSubtract) {
        clock.speed = SPEEDS[i.saturating_sub(1)];
    }
    if input.just_pressed(KeyCode::KeyC) {
        layers.cells = !layers.cells;
    }
    if input.just_pressed(KeyCode::KeyH) {
        layers.heat = !layers.heat;
    }
    if input.just_pressed(KeyCode::KeyV) {
        layers.visits = !layers.visits;
    }
    if input.just_pressed(KeyCode::F1) || input.just_pressed(KeyCode::Slash) {
        help.0 = !help.0;
    }
    if input.just_pressed(KeyCode::Escape) {
        *selection = Selection::None;
    }
}

fn top_bar(
    mut contexts: EguiContexts,
    mut clock: ResMut<Clock>,
    scene: Res<SceneData>,
    mode: Res<CameraMode>,
    state: Res<WallState>,
    scenario: Option<Res<crate::overlay::ScenarioOverlay>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    egui::Window::new("clock")
        .title_bar(false)
        .resizable(false)
        .anchor(Align2::LEFT_TOP, [12.0, 12.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(clock_text(state.now_s))
                        .size(30.0)
                        .strong()
                        .monospace(),
                );
                ui.separator();
                match &state.link {
                    Link::Embedded => {
                        for s in SPEEDS {
                            let label = if s == 0.0 {
                                "⏸".to_owned()
                            } else {
                                format!("{s}×")
                            };
                            if ui
                                .selectable_label(clock.speed == s, RichText::new(label).size(18.0))
                                .clicked()
                            {
                                clock.speed = s;
                            }
                        }
                    }
                    Link::Live { url, state } => {
                        let (badge, colour, detail) = match state {
                            Ok(seq) => (" LIVE ", [120, 220, 120], format!("{url} · view {seq}")),
                            Err(why) => {
                                (" RECONNECTING ", [255, 120, 120], format!("{url}: {why}"))
                            }
                        };
                        ui.label(
                            RichText::new(badge)
                                .size(20.0)
                                .strong()
                                .color(Color32::BLACK)
                                .background_color(c32(colour)),
                        );
                        ui.label(RichText::new(detail).size(13.0));
                    }
                }
            });
            ui.label(
                RichText::new(format!(
                    "{} · {}{}",
                    scene.0.manifest.name,
                    if mode.tour { "tour · " } else { "" },
                    if mode.auto_focus {
                        "auto-focus on urgent"
                    } else {
                        "auto-focus off"
                    }
                ))
                .size(13.0),
            );
            if let Some(s) = &scenario {
                ui.label(
                    RichText::new(format!("scenario: {}", s.name))
                        .size(16.0)
                        .strong()
                        .color(Color32::from_rgb(255, 184, 26)),
                );
                ui.label(RichText::new(&s.about).size(12.0));
            }
        });
    Ok(())
}

fn kpi_panel(mut contexts: EguiContexts, state: Res<WallState>) -> Result {
    let ctx = contexts.ctx_mut()?;
    let k = &state.kpis;
    egui::Window::new("Agencies")
        .resizable(false)
        .collapsible(false)
        .anchor(Align2::RIGHT_TOP, [-12.0, 12.0])
        .show(ctx, |ui| {
            egui::Grid::new("kpis")
                .striped(true)
                .spacing([14.0, 4.0])
                .show(ui, |ui| {
                    for h in [
                        "agency",
                        "patrol",
                        "busy",
                        "off",
                        "open",
                        "p90 resp.",
                        "≤ 3 min",
                        "cover",
                    ] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for (a, x) in &k.agencies {
                        ui.label(
                            RichText::new(format!("■ {}", agency_name(*a)))
                                .color(c32(agency_rgb(*a)))
                                .strong(),
                        );
                        ui.label(x.patrolling.to_string());
                        ui.label(x.busy.to_string());
                        ui.label(x.off_duty.to_string());
                        ui.label(x.open.to_string());
                        ui.label(
                            x.response_p90_s
                                .map_or("–".into(), |s| format!("{:.1} min", s / 60.0)),
                        );
                        ui.label(share_text(x.on_site_3min_share));
                        // The share of the hour's demand a free unit reaches in 3 minutes;
                        // amber below the threshold that proposes a move-up.
                        match state.coverage.agencies.get(a.key()) {
                            Some(c) if c.share < c.threshold => ui.label(
                                RichText::new(share_text(Some(c.share)))
                                    .color(Color32::from_rgb(245, 160, 30)),
                            ),
                            Some(c) => ui.label(share_text(Some(c.share))),
                            None => ui.label("–"),
                        };
                        ui.end_row();
                    }
                });
            ui.separator();
            egui::Grid::new("subdistricts")
                .striped(true)
                .spacing([14.0, 4.0])
                .show(ui, |ui| {
                    for h in ["subdistrict", "today", "open", "≤ 3 min"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for d in &k.subdistricts {
                        ui.label(crate::labels::drawable_name(&d.name));
                        ui.label(d.incidents.to_string());
                        ui.label(d.open.to_string());
                        ui.label(share_text(d.on_site_3min_share));
                        ui.end_row();
                    }
                });
            ui.separator();
            ui.label(
                RichText::new(format!(
                    "on site ≤ 3 min: {}    litter ≤ 10 min: {}    in the bud: {}",
                    share_text(k.on_site_3min_share),
                    share_text(k.cleaned_10min_share),
                    share_text(k.in_the_bud_share)
                ))
                .size(16.0)
                .strong(),
            );
            ui.label(format!(
                "today: {} incidents, {} closed",
                k.incidents, k.closed
            ));
        });
    Ok(())
}

/// The move-ups proposed now: which free unit should cover which busy unit's patrol and
/// the coverage it regains, with Accept and Dismiss (the live service records who and why).
fn move_ups(
    mut contexts: EguiContexts,
    state: Res<WallState>,
    mut commands: ResMut<OperatorCommands>,
) -> Result {
    let c = &state.coverage;
    if c.recommendations.is_empty() && c.unvisited_share.is_none() {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    egui::Window::new(format!("Move-ups ({})", c.recommendations.len()))
        .resizable(false)
        .anchor(Align2::RIGHT_BOTTOM, [-12.0, -12.0])
        .show(ctx, |ui| {
            if let Some(u) = c.unvisited_share {
                ui.label(format!(
                    "hot cells unvisited > 2 h: {}",
                    share_text(Some(u))
                ));
            }
            for r in &c.recommendations {
                ui.separator();
                ui.label(
                    RichText::new(format!("{} → cover {}", r.unit, r.covering))
                        .color(c32(agency_rgb(r.agency)))
                        .strong(),
                );
                ui.label(format!(
                    "{} coverage {} → {}",
                    agency_name(r.agency),
                    share_text(Some(r.before)),
                    share_text(Some(r.after))
                ));
                ui.horizontal(|ui| {
                    if ui.button("Accept").clicked() {
                        commands.0.push(OperatorCommand::AcceptMoveUp(r.id));
                    }
                    if ui.button("Dismiss").clicked() {
                        commands.0.push(OperatorCommand::DismissMoveUp(r.id));
                    }
                });
            }
        });
    Ok(())
}

/// A share as the wall prints it.
fn share_text(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{:.0} %", x * 100.0))
}

fn agency_name(a: Agency) -> &'static str {
    match a {
        Agency::Police => "Police",
        Agency::MarketSupervision => "Market supervision",
        Agency::UrbanManagement => "Urban management",
        Agency::Security => "Security",
        Agency::Cleaning => "Cleaning",
        Agency::Property => "Property",
    }
}

fn queue_panel(
    mut contexts: EguiContexts,
    state: Res<WallState>,
    mut selection: ResMut<Selection>,
    mut fly: ResMut<FlyTo>,
    mut sound: ResMut<crate::alarm::AlarmSound>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let open = alarm_order(&state.incidents, state.now_s);
    egui::Window::new(format!("Alarms ({})", open.len()))
        .resizable(false)
        .collapsible(false)
        .anchor(Align2::RIGHT_BOTTOM, [-12.0, -12.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.checkbox(&mut sound.on, "sound (M)");
                if sound.rung > 0 {
                    ui.label(format!("rung {}×", sound.rung));
                }
                if let Some(why) = &state.refusal {
                    ui.label(
                        RichText::new(format!("last command refused: {why}"))
                            .color(Color32::from_rgb(255, 120, 120)),
                    );
                }
            });
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .show(ui, |ui| {
                    for m in open.iter().take(40) {
                        let waiting = match (m.waiting(), m.acknowledged) {
                            (true, _) => " · WAITING",
                            (false, false) => " · new",
                            (false, true) => "",
                        };
                        let (due, due_rgb) = match m.time_to_target(state.now_s) {
                            Some(left) => (
                                format!("{} {:>6}", m.target.label(), countdown_text(left)),
                                countdown_rgb(left),
                            ),
                            None => (format!("{} met", m.target.label()), [150, 150, 150]),
                        };
                        let clicked = ui
                            .horizontal(|ui| {
                                ui.label(
                                    RichText::new(format!("{:<12}", due))
                                        .monospace()
                                        .color(c32(due_rgb)),
                                );
                                let text = RichText::new(format!(
                                    "P{} {}  {}{}",
                                    m.priority,
                                    clock_text(m.reported_at),
                                    m.type_name,
                                    waiting
                                ))
                                .color(c32(priority_rgb(m.priority)));
                                ui.selectable_label(*selection == Selection::Incident(m.id), text)
                                    .clicked()
                            })
                            .inner;
                        if clicked {
                            *selection = Selection::Incident(m.id);
                            fly.0 = Some((
                                Coord {
                                    x: m.position[0],
                                    y: m.position[1],
                                },
                                600.0,
                            ));
                        }
                    }
                });
        });
    Ok(())
}

fn details(
    mut contexts: EguiContexts,
    state: Res<WallState>,
    mut selection: ResMut<Selection>,
    scene: Res<SceneData>,
    mut commands: ResMut<OperatorCommands>,
    mut asked: Local<Option<(u32, f64)>>,
) -> Result {
    // Why its units were sent: asked for when an incident is selected, and again every ten
    // simulated seconds while it stays selected (live; embedded has it already).
    if let Selection::Incident(i) = *selection {
        let due = asked.is_none_or(|(j, at)| j != i || state.now_s - at >= 10.0);
        if due {
            *asked = Some((i, state.now_s));
            commands.0.push(OperatorCommand::Explain(i));
        }
    }
    let ctx = contexts.ctx_mut()?;
    let mut open = *selection != Selection::None;
    egui::Window::new("Selected")
        .open(&mut open)
        .resizable(false)
        .anchor(Align2::LEFT_BOTTOM, [12.0, -150.0])
        .show(ctx, |ui| match *selection {
            Selection::Unit(u) => unit_details(ui, &state, u),
            Selection::Incident(i) => {
                incident_details(ui, &state, &scene.0, i);
                incident_actions(ui, &state, &scene.0, i, &mut commands.0);
            }
            Selection::None => {}
        });
    if !open {
        *selection = Selection::None;
    }
    Ok(())
}

fn unit_details(ui: &mut egui::Ui, state: &WallState, u: u32) {
    let Some(v) = state.units.get(u as usize) else {
        return;
    };
    ui.label(
        RichText::new(&v.id)
            .size(18.0)
            .strong()
            .color(c32(agency_rgb(v.agency))),
    );
    ui.label(format!(
        "{} · {} · {:?}",
        agency_name(v.agency),
        v.mode,
        v.status
    ));
    if let Some(i) = v.incident {
        ui.label(format!("serving incident #{i}"));
    }
}

/// Acknowledge, close, and per unfinished part a choice of free units of its agency.
fn incident_actions(
    ui: &mut egui::Ui,
    state: &WallState,
    scene: &binjiang_scene::Scene,
    id: u32,
    commands: &mut Vec<OperatorCommand>,
) {
    let Some(m) = state
        .incidents
        .iter()
        .find(|m| m.id == id && m.closed_at.is_none())
    else {
        return;
    };
    ui.separator();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                !m.acknowledged,
                egui::Button::new(if m.acknowledged {
                    "acknowledged"
                } else {
                    "Acknowledge"
                }),
            )
            .clicked()
        {
            commands.push(OperatorCommand::Acknowledge(id));
        }
        if ui.button("Close incident").clicked() {
            commands.push(OperatorCommand::Close(id));
        }
        if ui.button("Cancel: duplicate").clicked() {
            commands.push(OperatorCommand::Cancel(id, CancelReason::Duplicate));
        }
        if ui.button("Cancel: false alarm").clicked() {
            commands.push(OperatorCommand::Cancel(id, CancelReason::FalseAlarm));
        }
    });
    for part in m.parts.iter().filter(|p| !p.done) {
        let agency = &part.agency;
        let free: Vec<&UnitView> = state
            .units
            .iter()
            .filter(|u| {
                u.agency == *agency
                    && u.status == UnitStatus::Patrolling
                    && Some(u.index) != part.unit
            })
            .collect();
        egui::ComboBox::from_id_salt(("send", id, agency.key()))
            .selected_text(format!("send another {} unit…", agency_name(*agency)))
            .show_ui(ui, |ui| {
                for u in free {
                    if ui
                        .selectable_label(
                            false,
                            scene
                                .units
                                .get(u.index as usize)
                                .map_or(u.id.as_str(), |s| s.id.as_str()),
                        )
                        .clicked()
                    {
                        commands.push(OperatorCommand::Reassign(id, *agency, u.index));
                    }
                }
            });
    }
    if let Some(why) = &state.refusal {
        ui.label(RichText::new(format!("refused: {why}")).color(Color32::from_rgb(255, 120, 120)));
    }
}

fn incident_details(ui: &mut egui::Ui, state: &WallState, scene: &binjiang_scene::Scene, id: u32) {
    let Some(m) = state.incidents.iter().find(|m| m.id == id) else {
        ui.label(format!("incident #{id} is closed"));
        return;
    };
    ui.label(
        RichText::new(format!("#{} {}", m.id, m.type_name))
            .size(18.0)
            .strong()
            .color(c32(priority_rgb(m.priority))),
    );
    ui.label(format!(
        "priority {} · reported by {} at {}",
        m.priority,
        m.source.key(),
        clock_text(m.reported_at)
    ));
    match m.time_to_target(state.now_s) {
        Some(left) => ui.label(
            RichText::new(format!(
                "target: {} within {} min — {}",
                m.target.label(),
                m.target.within_s() / 60.0,
                if left < 0.0 {
                    format!("overdue by {}", countdown_text(-left))
                } else {
                    format!("{} left", countdown_text(left))
                }
            ))
            .color(c32(countdown_rgb(left))),
        ),
        None => ui.label(format!(
            "target: {} within {} min — met",
            m.target.label(),
            m.target.within_s() / 60.0
        )),
    };
    for p in &m.parts {
        let who = p
            .unit
            .and_then(|u| scene.units.get(u as usize))
            .map_or("waiting for a unit".to_owned(), |u| u.id.clone());
        ui.label(
            RichText::new(format!(
                "■ {}: {}{}",
                agency_name(p.agency),
                who,
                if p.done {
                    " (finished)"
                } else if p.arrived_at.is_some() {
                    " (on site)"
                } else {
                    ""
                }
            ))
            .color(c32(agency_rgb(p.agency))),
        );
    }
    why_this_unit(ui, state, id);
    ui.separator();
    for e in state.log.iter().filter(|e| e.incident() == Some(id)) {
        let who = e.unit().map_or(String::new(), |u| format!(" {u}"));
        ui.label(
            RichText::new(format!("{}  {:?}{who}", clock_text(e.t), e.kind()))
                .monospace()
                .size(12.0),
        );
    }
}

/// "Why this unit", per agency: the unit sent, the next two by road, and the units nearer as
/// the crow flies that were not sent, each with its road time and why (issue 20); the units
/// are ringed on the map while the incident is selected.
fn why_this_unit(ui: &mut egui::Ui, state: &WallState, id: u32) {
    let Some(decisions) = state.why.get(&id) else {
        return;
    };
    // The latest decision of each agency.
    let mut latest: std::collections::BTreeMap<Agency, &binjiang_sim::Decision> =
        std::collections::BTreeMap::new();
    for d in decisions {
        latest.insert(d.agency, d);
    }
    if latest.is_empty() {
        return;
    }
    ui.separator();
    ui.label(RichText::new("Why this unit").strong());
    for (agency, d) in latest {
        ui.label(
            RichText::new(format!(
                "{} ({:?}): {}",
                agency_name(agency),
                d.rule,
                d.text
            ))
            .color(c32(agency_rgb(agency)))
            .size(13.0),
        );
        let chosen_crow = d.chosen.as_ref().map(|c| c.crow_m);
        let mut next = 0;
        for c in &d.candidates {
            let nearer = chosen_crow.is_some_and(|m| c.crow_m < m);
            let shown = c.status == binjiang_sim::CandidateStatus::Chosen
                || nearer
                || (next < 2 && c.eta_s.is_some());
            if !shown {
                continue;
            }
            if c.status != binjiang_sim::CandidateStatus::Chosen && !nearer {
                next += 1;
            }
            let eta = c.eta_s.map_or("–".to_owned(), |t| format!("{:.0} s", t));
            ui.label(
                RichText::new(format!(
                    "  {:<18} {:>7} by road {:>6.0} m  {:?}",
                    c.unit, eta, c.crow_m, c.status
                ))
                .monospace()
                .size(12.0),
            );
        }
    }
}

/// Key `P`: where the district would stand if nothing changes.
fn projection(mut contexts: EguiContexts, state: Res<WallState>) -> Result {
    let Some(p) = &state.projection else {
        return Ok(());
    };
    let ctx = contexts.ctx_mut()?;
    egui::Window::new(format!(
        "Projection {} to {} (P closes)",
        clock_text(p.from_s),
        clock_text(p.until_s)
    ))
    .resizable(false)
    .collapsible(false)
    .anchor(Align2::CENTER_TOP, [0.0, 12.0])
    .show(ctx, |ui| {
        ui.label("if nothing changes: incidents drawn from the catalogue from now on");
        egui::Grid::new("projection")
            .striped(true)
            .spacing([14.0, 4.0])
            .show(ui, |ui| {
                for h in ["agency", "peak queue", "at", "≤ 3 min (day)"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for (a, (parts, at)) in &p.peak_queue {
                    ui.label(RichText::new(agency_name(*a)).color(c32(agency_rgb(*a))));
                    ui.label(parts.to_string());
                    ui.label(if *parts == 0 {
                        "–".into()
                    } else {
                        clock_text(*at)
                    });
                    ui.label(share_text(
                        p.kpis
                            .per_agency
                            .get(a.key())
                            .and_then(|m| m.on_site_3min_share),
                    ));
                    ui.end_row();
                }
            });
        ui.label(
            RichText::new(format!(
                "day at {}: on site ≤ 3 min {} · {} incidents · {} open",
                clock_text(p.until_s),
                share_text(p.kpis.all.on_site_3min_share),
                p.kpis.all.incidents,
                p.open_at_end
            ))
            .strong(),
        );
    });
    Ok(())
}

fn legend(mut contexts: EguiContexts, mut layers: ResMut<Layers>) -> Result {
    let ctx = contexts.ctx_mut()?;
    egui::Window::new("Legend")
        .resizable(false)
        .default_open(true)
        .anchor(Align2::LEFT_BOTTOM, [12.0, -12.0])
        .show(ctx, |ui| {
            ui.horizontal_wrapped(|ui| {
                for a in Agency::ALL {
                    ui.label(
                        RichText::new(format!("■ {}", agency_name(*a))).color(c32(agency_rgb(*a))),
                    );
                }
            });
            ui.horizontal(|ui| {
                for p in 1..=4u8 {
                    ui.label(RichText::new(format!("■ P{p}")).color(c32(priority_rgb(p))));
                }
                ui.label("(pulsing: a unit is still needed)");
            });
            ui.horizontal_wrapped(|ui| {
                ui.checkbox(&mut layers.cells, "cells");
                ui.checkbox(&mut layers.heat, "heat");
                ui.checkbox(&mut layers.visits, "visits");
                for k in AssetKind::ALL {
                    if let Some(on) = layers.assets.get_mut(k) {
                        ui.checkbox(on, k.key());
                    }
                }
            });
        });
    Ok(())
}

fn help(mut contexts: EguiContexts, help: Res<Help>) -> Result {
    if !help.0 {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    egui::Window::new("Keys")
        .resizable(false)
        .anchor(Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            for (k, what) in [
                ("mouse left / right / wheel", "orbit / pan / zoom"),
                (
                    "arrows · Q/E · W/S · PgUp/PgDn",
                    "pan · orbit · tilt · zoom",
                ),
                ("1 2 3 4", "whole strip / west / bridge / east"),
                ("T", "tour: cycle the presets unattended"),
                ("F", "auto-focus on new urgent incidents"),
                ("space", "pause / resume (embedded simulation)"),
                (
                    "P",
                    "projection: where the day stands in 2 h if nothing changes",
                ),
                ("+ / −", "faster / slower (1×, 10×, 60×, 600×)"),
                ("C / H", "grid cells / heat layer"),
                ("V", "patrol visits: cells unvisited for 30 min, 1 h, 2 h"),
                ("click", "select a unit or incident; Esc clears"),
                ("F1 or ?", "this help"),
            ] {
                ui.label(RichText::new(format!("{k:<28} {what}")).monospace());
            }
        });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::IncidentMark;

    fn mark(id: u32, priority: u8, reported_at: f64) -> IncidentMark {
        crate::feed::fixtures::open_mark(id, priority, reported_at)
    }

    #[test]
    fn alarms_are_by_urgency_then_time_to_target() {
        let mut litter = mark(5, 3, 0.0);
        litter.target = binjiang_sim::Target::Cleaned;
        let mut met = mark(6, 1, 10.0);
        met.parts = vec![crate::feed::Part {
            agency: Agency::Police,
            unit: Some(0),
            arrived_at: Some(100.0),
            done: false,
        }];
        let marks = vec![
            mark(1, 3, 100.0),
            mark(2, 1, 50.0),
            mark(3, 3, 200.0),
            mark(4, 1, 60.0),
            litter,
            met,
        ];
        // At 300 s: P1 #2 is 70 s overdue, #4 60 s; P3 #1 is 20 s overdue, #3 has 80 s
        // left, litter #5 300 s; #6 met its target and goes last.
        let order: Vec<u32> = alarm_order(&marks, 300.0).iter().map(|m| m.id).collect();
        assert_eq!(order, vec![2, 4, 1, 3, 5, 6]);
    }

    #[test]
    fn clock_shows_day_and_time() {
        assert_eq!(clock_text(30_600.0), "08:30:00");
        assert_eq!(clock_text(86_400.0 + 61.0), "day 2 00:01:01");
    }
}
