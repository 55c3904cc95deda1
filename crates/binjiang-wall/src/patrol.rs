//! Patrol coverage and move-ups on the map (issue 19). The visits layer (key `V`,
//! `--patrol-layer`) tints each watched grid cell (hot in some hour of the day: not water,
//! not cells no incident is expected in) by how long ago a unit on duty last passed through
//! it: clear under half an hour, pale amber to an hour, orange to two hours, red beyond (what
//! the KPI counts as unvisited in a hot cell). Each proposed move-up is drawn as a line from
//! the free unit to where it would join the busy unit's patrol, with a ring there; the panel
//! to accept or dismiss it is the HUD's.

use crate::feed::WallState;
use crate::meshes::world;
use crate::scene_view::{spawn_cell_tiles, translucent, Layers};
use crate::SceneData;
use bevy::prelude::*;

/// Upper bounds of the layer's bands, seconds since the last visit; beyond the last: red.
pub const BANDS_S: [f64; 3] = [1800.0, 3600.0, 7200.0];

/// One grid cell's visits tile.
#[derive(Component)]
struct VisitTile(usize);

/// The layer's materials: pale amber, orange, red.
#[derive(Resource)]
struct VisitPalette(Vec<Handle<StandardMaterial>>);

/// Draws the visits layer and the proposed move-ups.
pub struct PatrolPlugin;

impl Plugin for PatrolPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, spawn)
            .add_systems(Update, (colour_visits, draw_move_ups, ring_candidates));
    }
}

/// The band of `since_s` seconds without a visit: 0 (recent) to 3 (over two hours).
pub fn band(since_s: f64) -> usize {
    BANDS_S.iter().filter(|b| since_s > **b).count()
}

fn spawn(
    mut commands: Commands,
    scene: Res<SceneData>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let palette: Vec<Handle<StandardMaterial>> = [
        [0.98, 0.85, 0.45, 0.30],
        [0.96, 0.55, 0.12, 0.45],
        [0.86, 0.08, 0.08, 0.60],
    ]
    .iter()
    .map(|[r, g, b, a]| translucent(&mut materials, Color::srgba(*r, *g, *b, *a)))
    .collect();
    spawn_cell_tiles(
        &mut commands,
        &scene.0,
        &mut meshes,
        &palette[0],
        3.0,
        |i| (Visibility::Hidden, VisitTile(i)),
    );
    commands.insert_resource(VisitPalette(palette));
}

fn colour_visits(
    layers: Res<Layers>,
    state: Res<WallState>,
    palette: Option<Res<VisitPalette>>,
    mut tiles: Query<(
        &VisitTile,
        &mut MeshMaterial3d<StandardMaterial>,
        &mut Visibility,
    )>,
) {
    let Some(palette) = palette else { return };
    if !(layers.is_changed() || state.is_changed()) {
        return;
    }
    for (tile, mut material, mut visibility) in &mut tiles {
        let watched = state.coverage.watched.get(tile.0).copied().unwrap_or(false);
        let since = state.coverage.since_visit.get(tile.0).copied();
        let level = since.filter(|_| watched).map_or(0, band);
        let want = if layers.visits && level > 0 {
            Visibility::Visible
        } else {
            Visibility::Hidden
        };
        if *visibility != want {
            *visibility = want;
        }
        if level > 0 && material.0 != palette.0[level - 1] {
            material.0 = palette.0[level - 1].clone();
        }
    }
}

fn draw_move_ups(state: Res<WallState>, scene: Res<SceneData>, mut gizmos: Gizmos) {
    for r in &state.coverage.recommendations {
        let Some(unit) = state.units.iter().find(|u| u.id == r.unit) else {
            continue;
        };
        let from = geo::Coord {
            x: unit.position[0],
            y: unit.position[1],
        };
        let to = scene.0.frame.to_local(r.lon, r.lat);
        let colour = Color::srgb(0.2, 0.9, 0.4);
        gizmos.line(
            Vec3::from(world(from, 12.0)),
            Vec3::from(world(to, 12.0)),
            colour,
        );
        ring(&mut gizmos, to, 12.0, 40.0, colour);
    }
}

/// A flat ring on the ground at `at`, `height` metres up.
fn ring(gizmos: &mut Gizmos, at: geo::Coord, height: f64, radius: f32, colour: Color) {
    gizmos.circle(
        Isometry3d::new(
            Vec3::from(world(at, height)),
            Quat::from_rotation_x(std::f32::consts::FRAC_PI_2),
        ),
        radius,
        colour,
    );
}

/// While an incident is selected, rings the units its latest decisions weighed: green the
/// one sent, grey the slower, red those with no road, amber the busy or off duty, blue the
/// other zone's (issue 20's "why this unit" on the map).
fn ring_candidates(
    state: Res<WallState>,
    selection: Res<crate::hud::Selection>,
    mut gizmos: Gizmos,
) {
    use binjiang_sim::CandidateStatus as S;
    let crate::hud::Selection::Incident(id) = *selection else {
        return;
    };
    let Some(decisions) = state.why.get(&id) else {
        return;
    };
    let mut latest = std::collections::BTreeMap::new();
    for d in decisions {
        latest.insert(d.agency, d);
    }
    for d in latest.values() {
        for c in &d.candidates {
            let Some(u) = state.units.iter().find(|u| u.id == c.unit.as_ref()) else {
                continue;
            };
            let colour = match c.status {
                S::Chosen => Color::srgb(0.2, 0.9, 0.3),
                S::SlowerByRoad | S::PassedOverByRule => Color::srgb(0.75, 0.75, 0.75),
                S::Unreachable | S::BeyondMaxTravel => Color::srgb(0.9, 0.2, 0.2),
                S::Busy | S::OffDuty => Color::srgb(0.95, 0.65, 0.1),
                S::OtherZoneWithinZoneFirst | S::NotAllowedByPolicy => Color::srgb(0.3, 0.5, 0.95),
            };
            let at = geo::Coord {
                x: u.position[0],
                y: u.position[1],
            };
            ring(&mut gizmos, at, 14.0, 30.0, colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_split_at_half_an_hour_an_hour_and_two_hours() {
        assert_eq!(band(0.0), 0);
        assert_eq!(band(1800.0), 0);
        assert_eq!(band(1800.5), 1);
        assert_eq!(band(3601.0), 2);
        assert_eq!(band(7200.0), 2);
        assert_eq!(band(7201.0), 3);
    }
}
