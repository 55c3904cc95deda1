//! The operator surface (egui): clock and speed, KPIs per agency, the incident queue,
//! details of the selected unit or incident, layer toggles, legend and a help overlay.

use crate::camera::{CameraMode, FlyTo};
use crate::colours::{agency_rgb, priority_rgb};
use crate::feed::{Clock, IncidentMark, OperatorCommand, OperatorCommands, WallState};
use crate::scene_view::Layers;
use crate::SceneData;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui::{self, Align2, Color32, RichText};
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass};
use binjiang_scene::{Agency, AssetKind};
use binjiang_sim::{UnitStatus, UnitView};
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
        app.add_plugins(EguiPlugin::default())
            .init_resource::<Selection>()
            .init_resource::<Help>()
            .add_systems(Update, keys)
            .add_systems(
                EguiPrimaryContextPass,
                (
                    scale_ui,
                    top_bar,
                    kpi_panel,
                    queue_panel,
                    details,
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

/// Formats simulation seconds as the wall clock shows them.
pub fn clock_text(s: f64) -> String {
    let t = s.max(0.0) as u64;
    let day = t / 86_400;
    let (h, m, sec) = (t % 86_400 / 3600, t % 3600 / 60, t % 60);
    if day > 0 {
        format!("day {} {h:02}:{m:02}:{sec:02}", day + 1)
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

fn scale_ui(mut contexts: EguiContexts, window: Query<&Window, With<PrimaryWindow>>) -> Result {
    let ctx = contexts.ctx_mut()?;
    if let Ok(w) = window.single() {
        // Legible from 5 m: 1.4 points per pixel at 1080 lines, doubling at 4K.
        let ppp = (w.physical_height() as f32 / 1080.0 * 1.4).clamp(1.0, 4.0);
        if (ctx.pixels_per_point() - ppp).abs() > 0.01 {
            ctx.set_pixels_per_point(ppp);
        }
    }
    Ok(())
}

fn keys(
    input: Res<ButtonInput<KeyCode>>,
    mut clock: ResMut<Clock>,
    mut layers: ResMut<Layers>,
    mut help: ResMut<Help>,
    mut selection: ResMut<Selection>,
) {
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
                    for h in ["agency", "patrol", "busy", "off", "open", "p90 resp."] {
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
                        ui.end_row();
                    }
                });
            ui.separator();
            let pct = |v: Option<f64>| v.map_or("–".into(), |x| format!("{:.0} %", x * 100.0));
            ui.label(
                RichText::new(format!(
                    "on site ≤ 3 min: {}    handled in the bud: {}",
                    pct(k.on_site_3min_share),
                    pct(k.in_the_bud_share)
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

/// Open incidents, highest priority first, newest first within a priority.
pub fn queue_order(incidents: &[IncidentMark]) -> Vec<&IncidentMark> {
    let mut open: Vec<&IncidentMark> = incidents.iter().filter(|i| i.closed_at.is_none()).collect();
    open.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.reported_at.total_cmp(&a.reported_at))
            .then(a.id.cmp(&b.id))
    });
    open
}

fn queue_panel(
    mut contexts: EguiContexts,
    state: Res<WallState>,
    mut selection: ResMut<Selection>,
    mut fly: ResMut<FlyTo>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let open = queue_order(&state.incidents);
    egui::Window::new(format!("Incidents ({})", open.len()))
        .resizable(false)
        .collapsible(false)
        .anchor(Align2::RIGHT_BOTTOM, [-12.0, -12.0])
        .show(ctx, |ui| {
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .show(ui, |ui| {
                    for m in open.iter().take(40) {
                        let waiting = match (m.waiting(), m.acknowledged) {
                            (true, _) => " · WAITING",
                            (false, false) => " · new",
                            (false, true) => "",
                        };
                        let text = RichText::new(format!(
                            "P{} {}  {}{}",
                            m.priority,
                            clock_text(m.reported_at),
                            m.type_name,
                            waiting
                        ))
                        .color(c32(priority_rgb(m.priority)));
                        if ui
                            .selectable_label(*selection == Selection::Incident(m.id), text)
                            .clicked()
                        {
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
) -> Result {
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
    });
    for (agency, current, _) in m.parts.iter().filter(|p| !p.2) {
        let free: Vec<&UnitView> = state
            .units
            .iter()
            .filter(|u| {
                u.agency == *agency
                    && u.status == UnitStatus::Patrolling
                    && Some(u.index) != *current
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
    for (a, unit, done) in &m.parts {
        let who = unit
            .and_then(|u| scene.units.get(u as usize))
            .map_or("waiting for a unit".to_owned(), |u| u.id.clone());
        ui.label(
            RichText::new(format!(
                "■ {}: {}{}",
                agency_name(*a),
                who,
                if *done { " (finished)" } else { "" }
            ))
            .color(c32(agency_rgb(*a))),
        );
    }
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
                    ui.label(RichText::new(format!("◆ P{p}")).color(c32(priority_rgb(p))));
                }
                ui.label("(pulsing: a unit is still needed)");
            });
            ui.horizontal_wrapped(|ui| {
                ui.checkbox(&mut layers.cells, "cells");
                ui.checkbox(&mut layers.heat, "heat");
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
                ("space", "pause / resume"),
                ("+ / −", "faster / slower (1×, 10×, 60×, 600×)"),
                ("C / H", "grid cells / heat layer"),
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
    use binjiang_sim::Source;

    fn mark(id: u32, priority: u8, reported_at: f64) -> IncidentMark {
        IncidentMark {
            id,
            type_name: "x".into(),
            priority,
            position: [0.0, 0.0],
            source: Source::Sensor,
            reported_at,
            closed_at: None,
            parts: vec![],
            acknowledged: false,
        }
    }

    #[test]
    fn queue_is_highest_priority_then_newest() {
        let marks = vec![
            mark(1, 3, 100.0),
            mark(2, 1, 50.0),
            mark(3, 3, 200.0),
            mark(4, 1, 60.0),
        ];
        let order: Vec<u32> = queue_order(&marks).iter().map(|m| m.id).collect();
        assert_eq!(order, vec![4, 2, 3, 1]);
    }

    #[test]
    fn clock_shows_day_and_time() {
        assert_eq!(clock_text(30_600.0), "08:30:00");
        assert_eq!(clock_text(86_400.0 + 61.0), "day 2 00:01:01");
    }
}
