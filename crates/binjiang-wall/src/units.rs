//! Patrol units as agency-coloured markers moving along the roads.

use crate::camera::MarkerScale;
use crate::colours::{agency_rgb, color};
use crate::feed::WallState;
use crate::hud::Selection;
use crate::meshes::world;
use bevy::picking::events::{Click, Pointer};
use bevy::prelude::*;
use binjiang_scene::Agency;
use binjiang_sim::UnitStatus;
use geo::Coord;
use std::collections::BTreeMap;

/// Marks a unit's entity with its index in the scene.
#[derive(Component)]
pub struct UnitMarker(pub u32);

/// Shared mesh and one material per agency.
#[derive(Resource)]
struct UnitLook {
    mesh: Handle<Mesh>,
    agency: BTreeMap<Agency, Handle<StandardMaterial>>,
}

/// Draws units.
pub struct UnitsPlugin;

impl Plugin for UnitsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, load_look)
            .add_systems(Update, sync_units);
    }
}

fn load_look(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let mesh = meshes.add(Cylinder::new(1.0, 1.0));
    let agency = Agency::ALL
        .iter()
        .map(|a| {
            (
                *a,
                materials.add(StandardMaterial {
                    base_color: color(agency_rgb(*a)),
                    unlit: true,
                    ..default()
                }),
            )
        })
        .collect();
    commands.insert_resource(UnitLook { mesh, agency });
}

/// Marker size in metres at scale 1: radius and height.
const RADIUS_M: f32 = 9.0;
const HEIGHT_M: f32 = 34.0;

fn sync_units(
    mut commands: Commands,
    state: Res<WallState>,
    look: Option<Res<UnitLook>>,
    scale: Res<MarkerScale>,
    mut markers: Query<(&UnitMarker, &mut Transform, &mut Visibility)>,
) {
    let Some(look) = look else { return };
    let mut seen = vec![false; state.units.len()];
    for (m, mut t, mut v) in &mut markers {
        let Some(u) = state.units.get(m.0 as usize) else {
            continue;
        };
        seen[m.0 as usize] = true;
        *t = transform(u.position, scale.0, u.status);
        *v = if u.status == UnitStatus::OffDuty {
            Visibility::Hidden
        } else {
            Visibility::Visible
        };
    }
    for (i, u) in state.units.iter().enumerate().filter(|(i, _)| !seen[*i]) {
        commands
            .spawn((
                Mesh3d(look.mesh.clone()),
                MeshMaterial3d(look.agency[&u.agency].clone()),
                transform(u.position, scale.0, u.status),
                UnitMarker(i as u32),
                Name::new(u.id.clone()),
            ))
            .observe(select_unit);
    }
}

fn transform(p: [f64; 2], scale: f32, status: UnitStatus) -> Transform {
    // Busy units stand taller: an operator sees at a glance who is working.
    let tall = if matches!(status, UnitStatus::EnRoute | UnitStatus::OnScene) {
        1.6
    } else {
        1.0
    };
    let h = HEIGHT_M * scale * tall;
    Transform::from_translation(
        Vec3::from(world(Coord { x: p[0], y: p[1] }, 0.0)) + Vec3::Y * h / 2.0,
    )
    .with_scale(Vec3::new(RADIUS_M * scale, h, RADIUS_M * scale))
}

fn select_unit(
    click: On<Pointer<Click>>,
    markers: Query<&UnitMarker>,
    mut selection: ResMut<Selection>,
) {
    if let Ok(m) = markers.get(click.entity) {
        *selection = Selection::Unit(m.0);
    }
}
