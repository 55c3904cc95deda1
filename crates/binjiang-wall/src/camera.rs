//! The camera: orbit / pan / zoom (mouse and keyboard), presets, an unattended tour for the
//! wall, and optional auto-focus on new urgent incidents.

use crate::feed::WallState;
use crate::meshes::world;
use crate::scene_view::bounds;
use crate::SceneData;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;
use bevy_panorbit_camera::{PanOrbitCamera, PanOrbitCameraPlugin};
use geo::{Centroid, Coord};

/// Markers are drawn at this multiple of their size in metres, so they keep a readable size
/// on screen at any zoom.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct MarkerScale(pub f32);

/// A named view of the district.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Shown in the HUD.
    pub name: &'static str,
    /// What the camera looks at, local metres.
    pub focus: Coord,
    /// Distance from it, metres.
    pub radius: f32,
}

/// The presets (whole strip, west, bridge, east) and the wall's behaviour.
#[derive(Resource, Debug, Clone)]
pub struct CameraMode {
    /// Presets, keys 1..=4.
    pub presets: Vec<Preset>,
    /// Cycle through the presets unattended.
    pub tour: bool,
    /// Fly to each new urgent incident.
    pub auto_focus: bool,
    timer: Timer,
    next: usize,
}

/// A request to fly the camera somewhere (local metres, radius).
#[derive(Resource, Debug, Default, Clone, PartialEq)]
pub struct FlyTo(pub Option<(Coord, f32)>);

/// Controls the camera.
pub struct CameraPlugin;

/// Seconds each preset is shown in tour mode.
const TOUR_S: f32 = 20.0;

impl Plugin for CameraPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(PanOrbitCameraPlugin)
            .insert_resource(MarkerScale(1.0))
            .init_resource::<FlyTo>()
            .add_systems(Startup, spawn_camera)
            .add_systems(
                Update,
                (keys, keyboard_orbit, tour, auto_focus, fly, marker_scale).chain(),
            );
    }
}

/// Presets from the scene's extent and its bridge landmark, if any.
pub fn presets(scene: &binjiang_scene::Scene) -> Vec<Preset> {
    let (min, max) = bounds(scene);
    let (w, h) = ((max.x - min.x) as f32, (max.y - min.y) as f32);
    // A curved strip's bounding-box centre lies off the strip; its centroid does not.
    let centre = scene.grid.outline.centroid().map_or(
        Coord {
            x: (min.x + max.x) / 2.0,
            y: (min.y + max.y) / 2.0,
        },
        |c| c.0,
    );
    let at = |f: f64| Coord {
        x: min.x + (max.x - min.x) * f,
        y: centre.y,
    };
    let bridge = scene
        .buildings
        .iter()
        .find(|b| {
            b.name
                .as_deref()
                .is_some_and(|n| n.contains("Bridge") || n.contains("大桥"))
        })
        .and_then(|b| b.footprint.centroid())
        .map_or(centre, |c| c.0);
    let whole = 1.05 * w.max(h * 1.6);
    vec![
        Preset {
            name: "whole strip",
            focus: centre,
            radius: whole,
        },
        Preset {
            name: "west",
            focus: at(0.2),
            radius: whole / 3.0,
        },
        Preset {
            name: "bridge",
            focus: bridge,
            radius: whole / 4.0,
        },
        Preset {
            name: "east",
            focus: at(0.8),
            radius: whole / 3.0,
        },
    ]
}

fn spawn_camera(mut commands: Commands, scene: Res<SceneData>) {
    let presets = presets(&scene.0);
    let p = presets[0].clone();
    commands.spawn((
        Camera3d::default(),
        // The whole strip is seen from kilometres away: push the far plane out.
        Projection::Perspective(PerspectiveProjection {
            near: 1.0,
            far: 60_000.0,
            ..default()
        }),
        // Unlit markers keep their exact colours: the palette is chosen for the wall.
        Tonemapping::None,
        PanOrbitCamera {
            focus: Vec3::from(world(p.focus, 0.0)),
            radius: Some(p.radius),
            yaw: Some(0.0),
            pitch: Some(0.95),
            zoom_lower_limit: 80.0,
            zoom_upper_limit: Some(p.radius * 3.0),
            ..default()
        },
    ));
    commands.insert_resource(CameraMode {
        presets,
        tour: false,
        auto_focus: true,
        timer: Timer::from_seconds(TOUR_S, TimerMode::Repeating),
        next: 1,
    });
    commands.spawn((
        DirectionalLight {
            illuminance: 9_000.0,
            shadow_maps_enabled: false,
            ..default()
        },
        Transform::from_xyz(-1.0, 2.0, 1.5).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.insert_resource(GlobalAmbientLight {
        brightness: 900.0,
        ..default()
    });
    commands.insert_resource(ClearColor(Color::srgb_u8(12, 14, 18)));
}

fn keys(input: Res<ButtonInput<KeyCode>>, mut mode: ResMut<CameraMode>, mut fly: ResMut<FlyTo>) {
    for (i, key) in [
        KeyCode::Digit1,
        KeyCode::Digit2,
        KeyCode::Digit3,
        KeyCode::Digit4,
    ]
    .iter()
    .enumerate()
    {
        if input.just_pressed(*key) {
            if let Some(p) = mode.presets.get(i) {
                fly.0 = Some((p.focus, p.radius));
            }
        }
    }
    if input.just_pressed(KeyCode::KeyT) {
        mode.tour = !mode.tour;
    }
    if input.just_pressed(KeyCode::KeyF) {
        mode.auto_focus = !mode.auto_focus;
    }
}

/// Keyboard camera control for a wall without a mouse: arrows pan, Q/E orbit, W/S tilt,
/// PageUp/PageDown zoom. Rates are per second, panning scaled by the zoom.
fn keyboard_orbit(
    input: Res<ButtonInput<KeyCode>>,
    time: Res<Time>,
    mut cameras: Query<&mut PanOrbitCamera>,
) {
    let dt = time.delta_secs();
    let axis = |neg: KeyCode, pos: KeyCode| {
        input.pressed(pos) as i8 as f32 - input.pressed(neg) as i8 as f32
    };
    let (pan_x, pan_z) = (
        axis(KeyCode::ArrowLeft, KeyCode::ArrowRight),
        axis(KeyCode::ArrowUp, KeyCode::ArrowDown),
    );
    let (orbit, tilt, zoom) = (
        axis(KeyCode::KeyQ, KeyCode::KeyE),
        axis(KeyCode::KeyS, KeyCode::KeyW),
        axis(KeyCode::PageUp, KeyCode::PageDown),
    );
    if pan_x == 0.0 && pan_z == 0.0 && orbit == 0.0 && tilt == 0.0 && zoom == 0.0 {
        return;
    }
    for mut cam in &mut cameras {
        let yaw = cam.target_yaw;
        let (right, back) = (
            Vec3::new(yaw.cos(), 0.0, -yaw.sin()),
            Vec3::new(yaw.sin(), 0.0, yaw.cos()),
        );
        let speed = cam.target_radius * 0.6 * dt;
        cam.target_focus += (right * pan_x + back * pan_z) * speed;
        cam.target_yaw += orbit * 1.2 * dt;
        cam.target_pitch = (cam.target_pitch + tilt * 0.8 * dt).clamp(0.15, 1.5);
        cam.target_radius = (cam.target_radius * (1.0 + zoom * 1.5 * dt)).max(80.0);
    }
}

fn tour(time: Res<Time>, mut mode: ResMut<CameraMode>, mut fly: ResMut<FlyTo>) {
    if !mode.tour || !mode.timer.tick(time.delta()).just_finished() {
        return;
    }
    let p = mode.presets[mode.next % mode.presets.len()].clone();
    mode.next += 1;
    fly.0 = Some((p.focus, p.radius));
}

fn auto_focus(state: Res<WallState>, mode: Res<CameraMode>, mut fly: ResMut<FlyTo>) {
    if !mode.auto_focus {
        return;
    }
    if let Some(m) = state
        .new_urgent
        .last()
        .and_then(|id| state.incidents.iter().find(|m| m.id == *id))
    {
        fly.0 = Some((
            Coord {
                x: m.position[0],
                y: m.position[1],
            },
            700.0,
        ));
    }
}

fn fly(mut fly: ResMut<FlyTo>, mut cameras: Query<&mut PanOrbitCamera>) {
    let Some((focus, radius)) = fly.0.take() else {
        return;
    };
    for mut cam in &mut cameras {
        cam.target_focus = Vec3::from(world(focus, 0.0));
        cam.target_radius = radius;
    }
}

fn marker_scale(cameras: Query<&PanOrbitCamera>, mut scale: ResMut<MarkerScale>) {
    if let Some(r) = cameras.iter().next().and_then(|c| c.radius) {
        let s = (r / 2_500.0).clamp(0.15, 4.0);
        if (scale.0 - s).abs() > 1e-3 {
            scale.0 = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keyboard control in a headless app: holding keys moves the camera's targets.
    #[test]
    fn keys_pan_orbit_and_zoom_the_camera_headless() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .init_resource::<ButtonInput<KeyCode>>()
            .add_systems(Update, keyboard_orbit);
        let cam = app
            .world_mut()
            .spawn(PanOrbitCamera {
                target_radius: 1000.0,
                target_pitch: 0.9,
                ..default()
            })
            .id();
        app.update();
        {
            let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
            keys.press(KeyCode::ArrowRight);
            keys.press(KeyCode::KeyE);
            keys.press(KeyCode::PageUp);
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
        app.update();
        let c = app.world().get::<PanOrbitCamera>(cam).unwrap();
        assert!(c.target_focus.x > 0.0, "panned right: {:?}", c.target_focus);
        assert!(c.target_yaw > 0.0, "orbited");
        assert!(c.target_radius < 1000.0, "zoomed in");
    }

    #[test]
    fn presets_cover_the_strip_and_find_the_bridge() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenes/yangpu-riverfront");
        let scene = binjiang_scene::Scene::load(&dir).unwrap();
        let p = presets(&scene);
        assert_eq!(
            p.iter().map(|p| p.name).collect::<Vec<_>>(),
            vec!["whole strip", "west", "bridge", "east"]
        );
        assert!(p[0].radius > p[1].radius && p[1].focus.x < p[3].focus.x);
        assert_ne!(
            p[2].focus, p[0].focus,
            "the Yangpu Bridge landmark was found for the bridge preset"
        );
    }
}
