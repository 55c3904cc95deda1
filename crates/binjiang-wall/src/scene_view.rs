//! The district itself: ground, river, roads by class, buildings extruded to their heights,
//! landmark models, the merged grid's outline, grid cells and the heat layer (toggles), and
//! asset glyphs by kind (toggles). Built once from the scene files.

use crate::colours::{self, color};
use crate::feed::WallState;
use crate::meshes::{world, MeshBuilder};
use crate::SceneData;
use bevy::prelude::*;
use binjiang_scene::{AssetKind, RoadClass, Scene};
use geo::{BoundingRect, Centroid, Coord};
use std::collections::BTreeMap;

/// Which optional layers are shown.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct Layers {
    /// Grid cell borders.
    pub cells: bool,
    /// Incidents per cell today, as a heat map.
    pub heat: bool,
    /// Time since each cell's last patrol visit (key `V`).
    pub visits: bool,
    /// Asset glyphs, per kind.
    pub assets: BTreeMap<AssetKind, bool>,
}

impl Default for Layers {
    fn default() -> Self {
        let assets = AssetKind::ALL
            .iter()
            .map(|k| {
                (
                    *k,
                    matches!(
                        k,
                        AssetKind::ServiceStation | AssetKind::Pier | AssetKind::Camera
                    ),
                )
            })
            .collect();
        Layers {
            cells: false,
            heat: false,
            visits: false,
            assets,
        }
    }
}

/// The asset glyphs of one kind.
#[derive(Component)]
pub struct AssetGlyphs(pub AssetKind);

/// One grid cell's heat tile.
#[derive(Component)]
pub struct HeatTile(pub u32);

/// The landmark models being loaded (a screenshot waits for them).
#[derive(Resource, Default)]
pub struct ModelHandles(pub Vec<Handle<Mesh>>);

/// Heat materials, coolest to hottest.
#[derive(Resource)]
struct HeatPalette(Vec<Handle<StandardMaterial>>);

/// Draws the scene.
pub struct ScenePlugin;

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Layers>()
            .init_resource::<ModelHandles>()
            .add_systems(
                Startup,
                (
                    spawn_ground_and_water,
                    spawn_roads,
                    spawn_buildings,
                    spawn_grid,
                    spawn_assets,
                    spawn_heat,
                ),
            )
            .add_systems(Update, (show_layers, draw_cells, colour_heat));
    }
}

fn material(
    materials: &mut Assets<StandardMaterial>,
    rgb: [u8; 3],
    unlit: bool,
) -> Handle<StandardMaterial> {
    materials.add(StandardMaterial {
        base_color: color(rgb),
        unlit,
        perceptual_roughness: 0.9,
        ..default()
    })
}

fn spawn_mesh(
    commands: &mut Commands,
    meshes: &mut Assets<Mesh>,
    mesh: MeshBuilder,
    mat: Handle<StandardMaterial>,
) -> Entity {
    commands
        .spawn((
            Mesh3d(meshes.add(mesh.build())),
            MeshMaterial3d(mat),
            Transform::default(),
        ))
        .id()
}

/// Bounds of everything drawn, local metres.
pub fn bounds(scene: &Scene) -> (Coord, Coord) {
    let r = scene
        .grid
        .outline
        .bounding_rect()
        .unwrap_or(geo::Rect::new((0.0, 0.0), (1.0, 1.0)));
    (r.min(), r.max())
}

fn spawn_ground_and_water(
    mut commands: Commands,
    scene: Res<SceneData>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let (min, max) = bounds(&scene.0);
    let m = 2_000.0;
    let mut ground = MeshBuilder::default();
    ground.quad(
        world(
            Coord {
                x: min.x - m,
                y: min.y - m,
            },
            -0.5,
        ),
        world(
            Coord {
                x: max.x + m,
                y: min.y - m,
            },
            -0.5,
        ),
        world(
            Coord {
                x: max.x + m,
                y: max.y + m,
            },
            -0.5,
        ),
        world(
            Coord {
                x: min.x - m,
                y: max.y + m,
            },
            -0.5,
        ),
    );
    let ground_mat = material(&mut materials, colours::GROUND_RGB, true);
    spawn_mesh(&mut commands, &mut meshes, ground, ground_mat);
    let mut water = MeshBuilder::default();
    for w in &scene.0.water {
        for p in &w.area.0 {
            water.flat_polygon(p, 0.2);
        }
    }
    let water_mat = material(&mut materials, colours::WATER_RGB, true);
    spawn_mesh(&mut commands, &mut meshes, water, water_mat);
}

fn road_width(c: RoadClass) -> f64 {
    match c {
        RoadClass::Arterial => 16.0,
        RoadClass::Street => 10.0,
        RoadClass::Lane => 6.0,
        RoadClass::Promenade => 8.0,
    }
}

fn spawn_roads(
    mut commands: Commands,
    scene: Res<SceneData>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    for class in RoadClass::ALL {
        let mut b = MeshBuilder::default();
        for road in scene.0.roads.iter().filter(|r| r.class == *class) {
            for l in road.line.lines() {
                b.ribbon(
                    l.start,
                    l.end,
                    road_width(*class),
                    0.6 + *class as u8 as f64 * 0.05,
                );
            }
        }
        if b.triangles() > 0 {
            let mat = material(&mut materials, colours::road_rgb(*class), false);
            spawn_mesh(&mut commands, &mut meshes, b, mat);
        }
    }
}

fn spawn_buildings(
    mut commands: Commands,
    scene: Res<SceneData>,
    assets: Res<AssetServer>,
    mut handles: ResMut<ModelHandles>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let (mut plain, mut heritage, mut landmark) = (
        MeshBuilder::default(),
        MeshBuilder::default(),
        MeshBuilder::default(),
    );
    let model_mat = material(&mut materials, colours::HERITAGE_RGB, false);
    for b in &scene.0.buildings {
        if let (Some(model), Some(c)) = (&b.model, b.footprint.centroid()) {
            let mesh: Handle<Mesh> = assets.load(
                bevy::gltf::GltfAssetLabel::Primitive {
                    mesh: 0,
                    primitive: 0,
                }
                .from_asset(model.clone()),
            );
            handles.0.push(mesh.clone());
            commands.spawn((
                Mesh3d(mesh),
                MeshMaterial3d(model_mat.clone()),
                Transform::from_translation(Vec3::from(world(c.0, 0.0))),
            ));
            continue;
        }
        let target = if b.heritage {
            &mut heritage
        } else if b.landmark {
            &mut landmark
        } else {
            &mut plain
        };
        for p in &b.footprint.0 {
            target.extrusion(p, b.height_m);
        }
    }
    for (mesh, rgb) in [
        (plain, colours::BUILDING_RGB),
        (heritage, colours::HERITAGE_RGB),
        (landmark, colours::LANDMARK_RGB),
    ] {
        if mesh.triangles() > 0 {
            let mat = material(&mut materials, rgb, false);
            spawn_mesh(&mut commands, &mut meshes, mesh, mat);
        }
    }
}

fn spawn_grid(
    mut commands: Commands,
    scene: Res<SceneData>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let mut b = MeshBuilder::default();
    for p in &scene.0.grid.outline.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for l in ring.lines() {
                b.ribbon(l.start, l.end, 5.0, 1.5);
            }
        }
    }
    let mat = material(&mut materials, colours::GRID_RGB, true);
    spawn_mesh(&mut commands, &mut meshes, b, mat);
}

fn spawn_assets(
    mut commands: Commands,
    scene: Res<SceneData>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    for kind in AssetKind::ALL {
        let mut b = MeshBuilder::default();
        let (size, height) = if *kind == AssetKind::ServiceStation {
            (14.0, 10.0)
        } else {
            (5.0, 6.0)
        };
        for a in scene.0.assets.iter().filter(|a| a.kind == *kind) {
            b.column(a.position.0, size, height);
        }
        if b.triangles() > 0 {
            let mat = material(&mut materials, colours::asset_rgb(*kind), true);
            let e = spawn_mesh(&mut commands, &mut meshes, b, mat);
            commands.entity(e).insert(AssetGlyphs(*kind));
        }
    }
}

fn spawn_heat(
    mut commands: Commands,
    scene: Res<SceneData>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let palette: Vec<Handle<StandardMaterial>> = (0..6)
        .map(|i| {
            let t = i as f32 / 5.0;
            translucent(
                &mut materials,
                Color::srgba(1.0, 0.85 - 0.7 * t, 0.1, 0.15 + 0.45 * t),
            )
        })
        .collect();
    spawn_cell_tiles(
        &mut commands,
        &scene.0,
        &mut meshes,
        &palette[0],
        2.0,
        |i| (Visibility::Hidden, HeatTile(i as u32)),
    );
    commands.insert_resource(HeatPalette(palette));
}

/// An unlit, see-through material: the layers tinted over the district (heat, forecast,
/// patrol visits).
pub fn translucent(
    materials: &mut Assets<StandardMaterial>,
    colour: Color,
) -> Handle<StandardMaterial> {
    materials.add(StandardMaterial {
        base_color: colour,
        unlit: true,
        alpha_mode: AlphaMode::Blend,
        ..default()
    })
}

/// One flat tile per grid cell at `height`, in `material`, each with `tag(cell index)`:
/// every cell is the same square, so one mesh is placed per cell at its south-west corner
/// (the heat and forecast layers).
pub fn spawn_cell_tiles<B: Bundle>(
    commands: &mut Commands,
    scene: &Scene,
    meshes: &mut Assets<Mesh>,
    material: &Handle<StandardMaterial>,
    height: f64,
    tag: impl Fn(usize) -> B,
) {
    let size = scene.grid.cell_size_m;
    let mut square = MeshBuilder::default();
    square.flat_polygon(
        &geo::Rect::new((0.0, 0.0), (size, size)).to_polygon(),
        height,
    );
    let square = meshes.add(square.build());
    for (i, cell) in scene.grid.cells.iter().enumerate() {
        commands.spawn((
            Mesh3d(square.clone()),
            MeshMaterial3d(material.clone()),
            Transform::from_translation(Vec3::from(world(cell.square.min(), 0.0))),
            tag(i),
        ));
    }
}

fn show_layers(
    layers: Res<Layers>,
    mut glyphs: Query<(&AssetGlyphs, &mut Visibility), Without<HeatTile>>,
    mut tiles: Query<&mut Visibility, With<HeatTile>>,
) {
    if !layers.is_changed() {
        return;
    }
    for (g, mut v) in &mut glyphs {
        *v = if layers.assets.get(&g.0).copied().unwrap_or(false) {
            Visibility::Visible
        } else {
            Visibility::Hidden
        };
    }
    for mut v in &mut tiles {
        *v = if layers.heat {
            Visibility::Visible
        } else {
            Visibility::Hidden
        };
    }
}

fn draw_cells(layers: Res<Layers>, scene: Res<SceneData>, mut gizmos: Gizmos) {
    if !layers.cells {
        return;
    }
    for c in &scene.0.grid.cells {
        let (a, b) = (c.square.min(), c.square.max());
        let corners = [
            Coord { x: a.x, y: a.y },
            Coord { x: b.x, y: a.y },
            Coord { x: b.x, y: b.y },
            Coord { x: a.x, y: b.y },
            Coord { x: a.x, y: a.y },
        ];
        gizmos.linestrip(
            corners.iter().map(|p| Vec3::from(world(*p, 2.5))),
            Color::srgba(0.0, 0.8, 0.8, 0.35),
        );
    }
}

fn colour_heat(
    layers: Res<Layers>,
    state: Res<WallState>,
    palette: Option<Res<HeatPalette>>,
    mut tiles: Query<(&HeatTile, &mut MeshMaterial3d<StandardMaterial>)>,
) {
    let Some(palette) = palette else { return };
    if !layers.heat || !state.is_changed() {
        return;
    }
    let max = state
        .kpis
        .per_cell
        .values()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f32;
    for (tile, mut mat) in &mut tiles {
        let n = state.kpis.per_cell.get(&tile.0).copied().unwrap_or(0) as f32;
        let level = ((n / max) * (palette.0.len() - 1) as f32).round() as usize;
        if mat.0 != palette.0[level] {
            mat.0 = palette.0[level].clone();
        }
    }
}
