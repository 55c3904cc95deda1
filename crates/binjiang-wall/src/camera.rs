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

/// The camera's multisampling (`--msaa`).
#[derive(Resource, Debug, Clone, Copy)]
pub struct Antialias(pub bevy::render::view::Msaa);

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

/// The camera's tilt: 0.95 rad (54°) above the horizon shows heights and the street grid.
pub const PITCH: f32 = 0.95;
/// Vertical field of view (Bevy's default).
pub const FOV_Y: f32 = std::f32::consts::FRAC_PI_4;
/// Where on screen (normalised device coordinates) the whole district should fit: nearly
/// edge to edge, below the clock bar.
const FIT_X: (f32, f32) = (-0.97, 0.97);
const FIT_Y: (f32, f32) = (-0.96, 0.86);

/// A camera pose as the orbit camera holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    /// Turn about the vertical, radians (0: looking north).
    pub yaw: f32,
    /// What it looks at.
    pub focus: Vec3,
    /// Distance from it.
    pub radius: f32,
}

impl Framing {
    /// The camera's transform, exactly as bevy_panorbit_camera places it.
    pub fn transform(&self) -> Transform {
        let rotation =
            Quat::from_axis_angle(Vec3::Y, self.yaw) * Quat::from_axis_angle(Vec3::X, -PITCH);
        Transform {
            translation: self.focus + rotation * Vec3::new(0.0, 0.0, self.radius),
            rotation,
            ..default()
        }
    }

    /// The box the points cover on screen, normalised device coordinates: (min, max).
    pub fn screen_box(&self, points: &[Vec3], aspect: f32) -> (Vec2, Vec2) {
        let view = self.transform().to_matrix().inverse();
        let t = (FOV_Y / 2.0).tan();
        let mut min = Vec2::splat(f32::INFINITY);
        let mut max = Vec2::splat(f32::NEG_INFINITY);
        for p in points {
            let v = view.transform_point3(*p);
            let depth = (-v.z).max(1e-3);
            let ndc = Vec2::new(v.x / depth / (t * aspect), v.y / depth / t);
            min = min.min(ndc);
            max = max.max(ndc);
        }
        (min, max)
    }

    /// Moves and zooms the camera (same yaw) until the points fill the fitting box.
    fn fit(mut self, points: &[Vec3], aspect: f32) -> Self {
        let t = (FOV_Y / 2.0).tan();
        for _ in 0..24 {
            let (min, max) = self.screen_box(points, aspect);
            let centre = (min + max) / 2.0;
            let want = Vec2::new((FIT_X.0 + FIT_X.1) / 2.0, (FIT_Y.0 + FIT_Y.1) / 2.0);
            let shift = centre - want;
            // Screen offsets to ground metres: across the view, and along it (foreshortened).
            let right = Vec3::new(self.yaw.cos(), 0.0, -self.yaw.sin());
            let ahead = Vec3::new(-self.yaw.sin(), 0.0, -self.yaw.cos());
            self.focus += right * shift.x * self.radius * t * aspect
                + ahead * shift.y * self.radius * t / PITCH.sin();
            let zoom =
                ((max.x - min.x) / (FIT_X.1 - FIT_X.0)).max((max.y - min.y) / (FIT_Y.1 - FIT_Y.0));
            self.radius *= zoom.clamp(0.5, 2.0);
        }
        self
    }

    /// The pose whose view the points fill best, north kept up-ish (yaw within ±90°).
    pub fn best(points: &[Vec3], aspect: f32) -> Self {
        let n = points.len().max(1) as f32;
        let centroid = points.iter().copied().sum::<Vec3>() / n;
        let extent = points
            .iter()
            .map(|p| p.distance(centroid))
            .fold(100.0f32, f32::max);
        (-45..=45)
            .map(|step| {
                Framing {
                    yaw: (step as f32 * 2.0).to_radians(),
                    focus: centroid,
                    radius: extent * 2.5,
                }
                .fit(points, aspect)
            })
            .min_by(|a, b| a.radius.total_cmp(&b.radius))
            .expect("candidates")
    }
}

/// The grid's outline points, in world coordinates on the ground.
pub fn outline_points(scene: &binjiang_scene::Scene) -> Vec<Vec3> {
    use geo::CoordsIter;
    scene
        .grid
        .outline
        .exterior_coords_iter()
        .map(|c| Vec3::from(world(c, 0.0)))
        .collect()
}

/// Presets from the scene's extent and its bridge landmark, if any; the whole strip as
/// `framing` shows it.
pub fn presets(scene: &binjiang_scene::Scene, framing: &Framing) -> Vec<Preset> {
    let (min, max) = bounds(scene);
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
    let whole = framing.radius;
    vec![
        Preset {
            name: "whole strip",
            focus: Coord {
                x: f64::from(framing.focus.x),
                y: -f64::from(framing.focus.z),
            },
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

fn spawn_camera(
    mut commands: Commands,
    scene: Res<SceneData>,
    window: Query<&Window, With<bevy::window::PrimaryWindow>>,
    offscreen: Option<Res<crate::capture::Offscreen>>,
    antialias: Option<Res<Antialias>>,
) {
    let aspect = match &offscreen {
        Some(o) => o.size.x as f32 / o.size.y.max(1) as f32,
        None => window
            .single()
            .map_or(16.0 / 9.0, |w| w.width() / w.height().max(1.0)),
    };
    let framing = Framing::best(&outline_points(&scene.0), aspect);
    let presets = presets(&scene.0, &framing);
    let p = presets[0].clone();
    let camera = commands
        .spawn((
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
                yaw: Some(framing.yaw),
                pitch: Some(PITCH),
                zoom_lower_limit: 80.0,
                zoom_upper_limit: Some(p.radius * 3.0),
                ..default()
            },
        ))
        .id();
    if let Some(aa) = antialias {
        commands.entity(camera).insert(aa.0);
    }
    if let Some(o) = &offscreen {
        commands
            .entity(camera)
            .insert(bevy::camera::RenderTarget::Image(o.image.clone().into()));
    }
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
        let framing = Framing::best(&outline_points(&scene), 16.0 / 9.0);
        let p = presets(&scene, &framing);
        assert_eq!(
            p.iter().map(|p| p.name).collect::<Vec<_>>(),
            vec!["whole strip", "west", "bridge", "east"]
        );
        assert!(p[0].radius > p[1].radius && p[1].focus.x < p[3].focus.x);
        // Operators' request: the whole strip fills the screen. It used to leave ~40 % of
        // the frame empty; now its box spans the fitting box edge to edge in one direction
        // and stays inside it in the other.
        let points = outline_points(&scene);
        for aspect in [16.0 / 9.0, 32.0 / 9.0, 4.0 / 3.0] {
            let f = Framing::best(&points, aspect);
            let (min, max) = f.screen_box(&points, aspect);
            let fill_x = (max.x - min.x) / (FIT_X.1 - FIT_X.0);
            let fill_y = (max.y - min.y) / (FIT_Y.1 - FIT_Y.0);
            assert!(
                fill_x.max(fill_y) > 0.97 && fill_x.max(fill_y) < 1.01,
                "aspect {aspect}: fills {fill_x:.2} × {fill_y:.2}"
            );
            assert!(
                min.x >= FIT_X.0 - 0.02 && max.x <= FIT_X.1 + 0.02,
                "aspect {aspect}: {min} {max}"
            );
            assert!(min.y >= FIT_Y.0 - 0.02 && max.y <= FIT_Y.1 + 0.02);
            eprintln!(
                "aspect {aspect:.2}: yaw {:.0}°, box {:.0} % × {:.0} % of the frame",
                f.yaw.to_degrees(),
                (max.x - min.x) / 2.0 * 100.0,
                (max.y - min.y) / 2.0 * 100.0
            );
        }
        assert_ne!(
            p[2].focus, p[0].focus,
            "the Yangpu Bridge landmark was found for the bridge preset"
        );
    }
}
