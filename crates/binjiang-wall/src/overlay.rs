//! `--scenario <name>`: what a planner's scenario changes, drawn on the district while its
//! overlays run in the embedded simulation — closed roads in red and areas of more incidents
//! outlined in amber, bright while their window is on, faint outside it, and the scenario's
//! name and summary in the clock panel.

use crate::colours::{color, CLOSED_RGB, SURGE_RGB};
use crate::feed::WallState;
use crate::meshes::world;
use crate::SceneData;
use bevy::prelude::*;
use binjiang_sim::{in_daily_window, NetworkChange, Surge};
use geo::{Coord, CoordsIter};

/// The scenario shown on the wall.
#[derive(Resource, Debug, Clone)]
pub struct ScenarioOverlay {
    /// Its name.
    pub name: String,
    /// What it models.
    pub about: String,
    /// Its road network changes.
    pub network: Vec<NetworkChange>,
    /// Its incident surges.
    pub surges: Vec<Surge>,
}

/// The scenario's lines: thick, and drawn over the ground and roads.
#[derive(Default, Reflect, GizmoConfigGroup)]
struct ScenarioGizmos;

/// Draws the scenario.
pub struct OverlayPlugin;

impl Plugin for OverlayPlugin {
    fn build(&self, app: &mut App) {
        app.init_gizmo_group::<ScenarioGizmos>()
            .add_systems(Startup, thick_lines)
            .add_systems(Update, draw);
    }
}

fn thick_lines(mut store: ResMut<GizmoConfigStore>) {
    let (config, _) = store.config_mut::<ScenarioGizmos>();
    config.line.width = 7.0;
    config.depth_bias = -0.5;
}

/// Closed roads (red) and surge areas (amber), a little above the ground.
fn draw(
    overlay: Option<Res<ScenarioOverlay>>,
    state: Res<WallState>,
    scene: Res<SceneData>,
    mut gizmos: Gizmos<ScenarioGizmos>,
) {
    let Some(overlay) = overlay else { return };
    let lift = |c: Coord| Vec3::from(world(c, 4.0));
    for change in &overlay.network {
        let on = in_daily_window(change.window, state.now_s);
        let colour = color(CLOSED_RGB).with_alpha(if on { 1.0 } else { 0.35 });
        for r in &change.closed_roads {
            if let Some(road) = scene.0.roads.get(*r as usize) {
                gizmos.linestrip(road.line.coords().map(|c| lift(*c)), colour);
            }
        }
    }
    for surge in &overlay.surges {
        let Some(area) = &surge.area else { continue };
        let on = in_daily_window(surge.window, state.now_s);
        let colour = color(SURGE_RGB).with_alpha(if on { 1.0 } else { 0.35 });
        for polygon in &area.0 {
            gizmos.linestrip(polygon.exterior().coords_iter().map(lift), colour);
        }
    }
}
