//! Names in the 3D view: the merged grid's subdistricts, the landmarks, and over every open
//! incident its countdown to target. Labels are screen-space text pinned to a point of the
//! world (projected each frame), so they stay upright and legible at any zoom; their size
//! follows the window's height (twice at 4K what it is at 1080p). Where two would overlap,
//! the more important one stays: countdowns, then subdistricts, then landmarks. They are
//! painted beneath the panels, and stay when the panels are hidden.

use crate::feed::{countdown_text, WallState};
use crate::meshes::world;
use crate::SceneData;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui::{self, Align2, Color32, FontId};
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass};
use geo::{Centroid, Coord, InteriorPoint};

/// What a label names; lower ranks win overlaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Countdown = 0,
    Subdistrict = 1,
    Landmark = 2,
}

/// A text pinned to a point of the world.
#[derive(Debug, Clone)]
struct WorldLabel {
    text: String,
    anchor: Vec3,
    rank: Rank,
    colour: [u8; 3],
}

/// The scene's fixed labels: subdistricts and landmarks.
#[derive(Resource, Default)]
struct FixedLabels(Vec<WorldLabel>);

/// Font sizes in points (1.4 pixels per point at 1080 lines, 2.8 at 4K).
const SUBDISTRICT_PT: f32 = 20.0;
const LANDMARK_PT: f32 = 12.5;
const COUNTDOWN_PT: f32 = 13.5;

/// Draws the labels, and sets up egui for them and the panels.
pub struct LabelsPlugin;

impl Plugin for LabelsPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(EguiPlugin::default())
            .init_resource::<FixedLabels>()
            .add_systems(Startup, fixed_labels)
            .add_systems(EguiPrimaryContextPass, (scale_ui, paint).chain());
    }
}

/// The part of a bilingual name the wall's font can draw ("杨浦大桥 Yangpu Bridge" → the
/// English), or the whole name.
pub fn drawable_name(name: &str) -> &str {
    name.find(|c: char| c.is_ascii_alphanumeric())
        .map_or(name, |i| name[i..].trim())
}

fn fixed_labels(mut labels: ResMut<FixedLabels>, scene: Res<SceneData>) {
    for part in &scene.0.grid.parts {
        if let Some(p) = part.area.interior_point() {
            labels.0.push(WorldLabel {
                text: drawable_name(&part.name).to_uppercase(),
                anchor: Vec3::from(world(p.0, 5.0)),
                rank: Rank::Subdistrict,
                colour: [236, 236, 236],
            });
        }
    }
    for b in scene.0.buildings.iter().filter(|b| b.landmark) {
        if let (Some(name), Some(c)) = (&b.name, b.footprint.centroid()) {
            labels.0.push(WorldLabel {
                text: drawable_name(name).to_owned(),
                anchor: Vec3::from(world(c.0, b.height_m + 8.0)),
                rank: Rank::Landmark,
                colour: [255, 214, 170],
            });
        }
    }
}

/// Legible from 5 m: 1.4 pixels per point at 1080 lines, doubling at 4K.
fn scale_ui(mut contexts: EguiContexts, window: Query<&Window, With<PrimaryWindow>>) -> Result {
    let ctx = contexts.ctx_mut()?;
    if let Ok(w) = window.single() {
        let ppp = (w.physical_height() as f32 / 1080.0 * 1.4).clamp(1.0, 4.0);
        if (ctx.pixels_per_point() - ppp).abs() > 0.01 {
            ctx.set_pixels_per_point(ppp);
        }
    }
    Ok(())
}

/// The colour of a countdown: plenty of time, under a minute, overdue.
pub fn countdown_rgb(left_s: f64) -> [u8; 3] {
    if left_s < 0.0 {
        [255, 90, 90]
    } else if left_s < 60.0 {
        [255, 190, 60]
    } else {
        [170, 235, 170]
    }
}

/// Projects every label to the screen and paints those that fit, most important first.
fn paint(
    mut contexts: EguiContexts,
    cameras: Query<(&Camera, &GlobalTransform), With<Camera3d>>,
    fixed: Res<FixedLabels>,
    state: Res<WallState>,
    job: Option<Res<crate::capture::ScreenshotJob>>,
) -> Result {
    if job.is_some_and(|j| j.probing()) {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let Ok((camera, at)) = cameras.single() else {
        return Ok(());
    };
    let countdowns = state.incidents.iter().filter_map(|m| {
        let left = m
            .closed_at
            .is_none()
            .then(|| m.time_to_target(state.now_s))??;
        Some(WorldLabel {
            text: format!(
                "P{} {} {}",
                m.priority,
                m.target.label(),
                countdown_text(left)
            ),
            anchor: Vec3::from(world(
                Coord {
                    x: m.position[0],
                    y: m.position[1],
                },
                0.0,
            )),
            rank: Rank::Countdown,
            colour: countdown_rgb(left),
        })
    });
    let mut labels: Vec<WorldLabel> = countdowns.chain(fixed.0.iter().cloned()).collect();
    labels.sort_by_key(|l| l.rank);
    let ppp = ctx.pixels_per_point();
    let screen = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::background());
    let mut taken: Vec<egui::Rect> = Vec::new();
    for l in labels {
        let Ok(p) = camera.world_to_viewport(at, l.anchor) else {
            continue;
        };
        let size = match l.rank {
            Rank::Countdown => COUNTDOWN_PT,
            Rank::Subdistrict => SUBDISTRICT_PT,
            Rank::Landmark => LANDMARK_PT,
        };
        let colour = Color32::from_rgb(l.colour[0], l.colour[1], l.colour[2]);
        let galley = painter.layout_no_wrap(l.text, FontId::proportional(size), colour);
        let point = egui::pos2(p.x / ppp, p.y / ppp);
        // Countdowns sit above their marker; names centre on their point.
        let align = if l.rank == Rank::Countdown {
            Align2::CENTER_BOTTOM
        } else {
            Align2::CENTER_CENTER
        };
        let lift = if l.rank == Rank::Countdown {
            size * 1.4
        } else {
            0.0
        };
        let rect = align
            .anchor_size(point - egui::vec2(0.0, lift), galley.size())
            .expand2(egui::vec2(4.0, 1.0));
        if !screen.contains_rect(rect) || taken.iter().any(|t| t.intersects(rect)) {
            continue;
        }
        taken.push(rect.expand(2.0));
        painter.rect_filled(rect, 3.0, Color32::from_rgba_unmultiplied(12, 14, 20, 190));
        painter.galley(rect.min + egui::vec2(4.0, 1.0), galley, colour);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_what_the_font_draws() {
        assert_eq!(drawable_name("平凉路街道 Pingliang Road"), "Pingliang Road");
        assert_eq!(
            drawable_name("杨浦大桥浦西主塔 Yangpu Bridge Puxi pylon"),
            "Yangpu Bridge Puxi pylon"
        );
        assert_eq!(drawable_name("Dock 7"), "Dock 7");
        assert_eq!(drawable_name("大桥"), "大桥");
    }

    #[test]
    fn countdowns_turn_amber_then_red() {
        assert_eq!(countdown_rgb(125.0), [170, 235, 170]);
        assert_eq!(countdown_rgb(30.0), [255, 190, 60]);
        assert_eq!(countdown_rgb(-1.0), [255, 90, 90]);
        assert_eq!(countdown_text(125.4), "2:05");
        assert_eq!(countdown_text(-40.0), "-0:40");
    }
}
