//! Incidents as markers coloured by priority: pulsing while a required agency still has
//! nobody assigned, a line to each assigned unit, fading out after they close.

use crate::camera::MarkerScale;
use crate::colours::{color, priority_rgb};
use crate::feed::{IncidentMark, WallState, FADE_S};
use crate::hud::Selection;
use crate::meshes::world;
use bevy::picking::events::{Click, Pointer};
use bevy::prelude::*;
use geo::Coord;
use std::collections::HashMap;

/// Marks an incident's entity with its id.
#[derive(Component)]
pub struct IncidentMarker(pub u32);

/// Entities of the incidents on the wall, by id.
#[derive(Resource, Default)]
struct OnWall {
    entities: HashMap<u32, (Entity, Handle<StandardMaterial>)>,
    mesh: Handle<Mesh>,
}

/// Draws incidents.
pub struct IncidentsPlugin;

impl Plugin for IncidentsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, setup)
            .add_systems(Update, (sync_incidents, draw_assignments));
    }
}

fn setup(mut commands: Commands, mut meshes: ResMut<Assets<Mesh>>) {
    // A diamond: an octahedron-like sphere of few segments reads well from afar.
    let mesh = meshes.add(Sphere::new(1.0).mesh().uv(4, 2));
    commands.insert_resource(OnWall {
        entities: HashMap::new(),
        mesh,
    });
}

/// Marker radius in metres at scale 1, and how high it floats.
const RADIUS_M: f32 = 16.0;
const FLOAT_M: f32 = 60.0;

#[allow(clippy::too_many_arguments)]
fn sync_incidents(
    mut commands: Commands,
    state: Res<WallState>,
    time: Res<Time>,
    scale: Res<MarkerScale>,
    mut wall: ResMut<OnWall>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut transforms: Query<&mut Transform, With<IncidentMarker>>,
) {
    let present: std::collections::HashSet<u32> = state.incidents.iter().map(|i| i.id).collect();
    let gone: Vec<u32> = wall
        .entities
        .keys()
        .copied()
        .filter(|id| !present.contains(id))
        .collect();
    for id in gone {
        if let Some((e, _)) = wall.entities.remove(&id) {
            commands.entity(e).despawn();
        }
    }
    let pulse = 1.0 + 0.35 * (time.elapsed_secs() * 5.0).sin();
    for mark in &state.incidents {
        let alpha = mark.closed_at.map_or(1.0, |c| {
            (1.0 - (state.now_s - c) / FADE_S).clamp(0.0, 1.0) as f32
        });
        let s = scale.0 * if mark.waiting() { pulse } else { 1.0 };
        let t = transform(mark, s);
        match wall.entities.get(&mark.id) {
            Some((e, mat)) => {
                if let Ok(mut tr) = transforms.get_mut(*e) {
                    *tr = t;
                }
                if let Some(mut m) = materials.get_mut(mat) {
                    if (m.base_color.alpha() - alpha).abs() > 0.01 {
                        m.base_color.set_alpha(alpha);
                    }
                }
            }
            None => {
                let mat = materials.add(StandardMaterial {
                    base_color: color(priority_rgb(mark.priority)),
                    unlit: true,
                    alpha_mode: AlphaMode::Blend,
                    ..default()
                });
                let e = commands
                    .spawn((
                        Mesh3d(wall.mesh.clone()),
                        MeshMaterial3d(mat.clone()),
                        t,
                        IncidentMarker(mark.id),
                    ))
                    .observe(select_incident)
                    .id();
                wall.entities.insert(mark.id, (e, mat));
            }
        }
    }
}

fn transform(mark: &IncidentMark, scale: f32) -> Transform {
    let p = Vec3::from(world(
        Coord {
            x: mark.position[0],
            y: mark.position[1],
        },
        0.0,
    ));
    Transform::from_translation(p + Vec3::Y * FLOAT_M * scale.max(0.5))
        .with_scale(Vec3::splat(RADIUS_M * scale))
}

fn draw_assignments(state: Res<WallState>, scale: Res<MarkerScale>, mut gizmos: Gizmos) {
    for mark in state.incidents.iter().filter(|m| m.closed_at.is_none()) {
        let from = Vec3::from(world(
            Coord {
                x: mark.position[0],
                y: mark.position[1],
            },
            0.0,
        )) + Vec3::Y * FLOAT_M * scale.0.max(0.5);
        let c = color(priority_rgb(mark.priority));
        for part in &mark.parts {
            let Some(u) = part
                .unit
                .filter(|_| !part.done)
                .and_then(|u| state.units.iter().find(|x| x.index == u))
            else {
                continue;
            };
            let to = Vec3::from(world(
                Coord {
                    x: u.position[0],
                    y: u.position[1],
                },
                0.0,
            )) + Vec3::Y * 20.0 * scale.0;
            gizmos.line(from, to, c);
        }
    }
}

fn select_incident(
    click: On<Pointer<Click>>,
    markers: Query<&IncidentMarker>,
    mut selection: ResMut<Selection>,
) {
    if let Ok(m) = markers.get(click.entity) {
        *selection = Selection::Incident(m.0);
    }
}
