//! `--model <dir>`: what the district is about to bring, on the wall. A forecast layer — each
//! grid cell tinted by the incidents expected in it over the next two hours (white to deep
//! purple at the busiest cell) — and the people counters as columns coloured by their count
//! against their own tide for this hour of the week: green below the median, amber toward
//! the 99th percentile, red at or above it (what the live twin's crowd rule calls a surge).
//!
//! Embedded, there are no counts (the simulation has no crowds): a column shows the tide's
//! median for the hour, in grey-blue, so the planner sees where the crowds will be. Live, a
//! background thread reads each counter's latest observation from the service's SensorThings
//! API every 15 seconds, so a slow network never stalls a frame.

use crate::feed::WallState;
use crate::meshes::world;
use crate::SceneData;
use bevy::prelude::*;
use binjiang_learn::crowd::TideBook;
use binjiang_learn::forecast::{CellForecast, Forecaster};
use binjiang_scene::AssetKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Hours ahead the forecast layer shows.
pub const FORECAST_HOURS: usize = 2;
/// A live count older than this is not shown as current.
const STALE_MS: i64 = 30 * 60 * 1000;
/// Between reads of the counters' latest observations (live).
const POLL: Duration = Duration::from_secs(15);

/// The latest count per people counter: (count, Unix ms observed).
pub type Counts = Arc<Mutex<HashMap<String, (f64, i64)>>>;

/// What the wall learned from `--model`, and the day it shows.
#[derive(Resource)]
pub struct Anticipation {
    /// The forecast.
    pub forecaster: Forecaster,
    /// The crowd tides.
    pub tides: TideBook,
    /// Unix ms of the displayed day's local midnight.
    pub midnight_ms: i64,
    /// Live counts (empty when embedded).
    pub counts: Counts,
    /// The hour the layer was last computed for (Unix ms of its start).
    hour_ms: Option<i64>,
    /// The forecast shown.
    shown: Vec<CellForecast>,
}

impl Anticipation {
    /// The forecast of `forecaster` and tides `tides` for the day starting at `midnight_ms`.
    pub fn new(forecaster: Forecaster, tides: TideBook, midnight_ms: i64) -> Self {
        Anticipation {
            forecaster,
            tides,
            midnight_ms,
            counts: Counts::default(),
            hour_ms: None,
            shown: Vec::new(),
        }
    }

    /// What the layer and the columns show, for `--screenshot-state`: the window, the
    /// expected total and the five busiest cells, and each counter's value against its tide.
    pub fn summary(&self, now_s: f64) -> serde_json::Value {
        let mut top: Vec<&CellForecast> = self.shown.iter().collect();
        top.sort_by(|a, b| b.expected.total_cmp(&a.expected));
        let now_ms = self.midnight_ms + (now_s * 1000.0) as i64;
        let crowd: serde_json::Map<String, serde_json::Value> = self
            .tides
            .sites
            .keys()
            .map(|site| {
                let (value, live, level) = self.crowd_level(site, now_ms);
                (
                    site.clone(),
                    serde_json::json!({"value": value, "live": live, "level": level.name()}),
                )
            })
            .collect();
        serde_json::json!({
            "forecast_hours": FORECAST_HOURS,
            "forecast_from_ms": self.hour_ms,
            "expected_total": self.shown.iter().map(|c| c.expected).sum::<f64>(),
            "busiest_cells": top.iter().take(5).map(|c| serde_json::json!({"cell": c.cell, "expected": c.expected})).collect::<Vec<_>>(),
            "crowd": crowd,
        })
    }

    /// A counter's value now against its tide: (the value, whether it is a live count, its
    /// level).
    fn crowd_level(&self, site: &str, now_ms: i64) -> (Option<f64>, bool, Level) {
        let Some(tide) = self.tides.percentiles(site, now_ms) else {
            return (None, false, Level::Unknown);
        };
        let (median, p99) = (f64::from(tide.median), f64::from(tide.p99));
        let live = self
            .counts
            .lock()
            .ok()
            .and_then(|c| c.get(site).copied())
            .filter(|(_, at)| (now_ms - at).abs() <= STALE_MS);
        match live {
            Some((n, _)) => {
                let level = if n > p99 {
                    Level::Surge
                } else if n > median {
                    Level::Busy
                } else {
                    Level::Calm
                };
                (Some(n), true, level)
            }
            None => (Some(median), false, Level::Expected),
        }
    }
}

/// A counter's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// At or below the tide's median.
    Calm,
    /// Between the median and the 99th percentile.
    Busy,
    /// Above the 99th percentile: a surge.
    Surge,
    /// No live count: the tide's median is shown.
    Expected,
    /// No tide for the site.
    Unknown,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Calm => "calm",
            Level::Busy => "busy",
            Level::Surge => "surge",
            Level::Expected => "expected",
            Level::Unknown => "unknown",
        }
    }

    fn rgb(self) -> [f32; 3] {
        match self {
            Level::Calm => [0.0, 0.62, 0.45],
            Level::Busy => [0.90, 0.62, 0.0],
            Level::Surge => [0.84, 0.1, 0.1],
            Level::Expected => [0.45, 0.6, 0.8],
            Level::Unknown => [0.6, 0.6, 0.6],
        }
    }
}

/// Starts the thread that reads each people counter's latest count from a live service.
pub fn poll_counts(url: &str, token: Option<&str>, counts: Counts) {
    let endpoint = format!(
        "{}/v1.1/Datastreams?$top=100000&$expand=Observations($top=1;$orderby=phenomenonTime%20desc)",
        url.trim_end_matches('/')
    );
    let auth = token.map(|t| format!("Bearer {t}"));
    std::thread::spawn(move || loop {
        let mut request = ureq::get(&endpoint);
        if let Some(a) = &auth {
            request = request.header("Authorization", a);
        }
        if let Ok(mut answer) = request.call() {
            if let Ok(v) = answer.body_mut().read_json::<serde_json::Value>() {
                let mut latest = HashMap::new();
                for d in v["value"].as_array().into_iter().flatten() {
                    if d["properties"]["kind"] != AssetKind::PeopleCounter.key() {
                        continue;
                    }
                    let (Some(site), Some(o)) = (
                        d["properties"]["asset_id"].as_str(),
                        d["Observations"].as_array().and_then(|o| o.first()),
                    ) else {
                        continue;
                    };
                    let at = o["phenomenonTime"]
                        .as_str()
                        .and_then(|t| {
                            chrono::DateTime::parse_from_rfc3339(t.rsplit('/').next().unwrap_or(t))
                                .ok()
                        })
                        .map(|t| t.timestamp_millis());
                    if let (Some(n), Some(at)) = (o["result"].as_f64(), at) {
                        latest.insert(site.to_owned(), (n, at));
                    }
                }
                if let Ok(mut c) = counts.lock() {
                    *c = latest;
                }
            }
        }
        std::thread::sleep(POLL);
    });
}

/// One grid cell's forecast tile.
#[derive(Component)]
struct ForecastTile(usize);

/// One people counter's column.
#[derive(Component)]
struct CrowdColumn(String);

/// Forecast materials, quiet to busy.
#[derive(Resource)]
struct Palette(Vec<Handle<StandardMaterial>>);

/// Draws the forecast layer and the crowd columns when the wall has a model.
pub struct AnticipationPlugin;

impl Plugin for AnticipationPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, spawn)
            .add_systems(Update, (update_forecast, colour_crowds));
    }
}

fn spawn(
    mut commands: Commands,
    scene: Res<SceneData>,
    anticipation: Option<Res<Anticipation>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let Some(anticipation) = anticipation else {
        return;
    };
    let palette: Vec<Handle<StandardMaterial>> = (0..6)
        .map(|i| {
            let t = i as f32 / 5.0;
            crate::scene_view::translucent(
                &mut materials,
                Color::srgba(
                    0.95 - 0.55 * t,
                    0.92 - 0.85 * t,
                    1.0 - 0.4 * t,
                    0.1 + 0.55 * t,
                ),
            )
        })
        .collect();
    crate::scene_view::spawn_cell_tiles(
        &mut commands,
        &scene.0,
        &mut meshes,
        &palette[0],
        2.5,
        ForecastTile,
    );
    commands.insert_resource(Palette(palette));
    let column = meshes.add(Cylinder::new(28.0, 120.0));
    for a in scene.0.assets.iter().filter(|a| {
        a.kind == AssetKind::PeopleCounter && anticipation.tides.sites.contains_key(&a.id)
    }) {
        let material = materials.add(StandardMaterial {
            base_color: Color::srgb(0.6, 0.6, 0.6),
            unlit: true,
            ..default()
        });
        commands.spawn((
            Mesh3d(column.clone()),
            MeshMaterial3d(material),
            Transform::from_translation(Vec3::from(world(a.position.0, 60.0))),
            CrowdColumn(a.id.clone()),
        ));
    }
}

/// Recomputes the layer when the hour changes.
fn update_forecast(
    state: Res<WallState>,
    anticipation: Option<ResMut<Anticipation>>,
    palette: Option<Res<Palette>>,
    mut tiles: Query<(
        &ForecastTile,
        &mut MeshMaterial3d<StandardMaterial>,
        &mut Visibility,
    )>,
) {
    let (Some(mut a), Some(palette)) = (anticipation, palette) else {
        return;
    };
    let now_ms = a.midnight_ms + (state.now_s * 1000.0) as i64;
    let hour_ms = now_ms.div_euclid(3_600_000) * 3_600_000;
    if a.hour_ms == Some(hour_ms) {
        return;
    }
    let shown = a.forecaster.forecast(now_ms, FORECAST_HOURS);
    let top = shown
        .iter()
        .map(|c| c.expected)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    for (tile, mut material, mut visibility) in &mut tiles {
        let e = shown.get(tile.0).map_or(0.0, |c| c.expected);
        // Five steps up to the busiest cell; a cell under a tenth of it is left clear, so
        // the layer shows where the next hours' work is, not the density's floor.
        let level = ((e / top) * 5.0).round() as usize;
        material.0 = palette.0[level.min(5)].clone();
        *visibility = if level == 0 {
            Visibility::Hidden
        } else {
            Visibility::Visible
        };
    }
    a.shown = shown;
    a.hour_ms = Some(hour_ms);
}

/// Colours each counter's column by its count against its tide.
fn colour_crowds(
    state: Res<WallState>,
    anticipation: Option<Res<Anticipation>>,
    columns: Query<(&CrowdColumn, &MeshMaterial3d<StandardMaterial>)>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let Some(a) = anticipation else { return };
    let now_ms = a.midnight_ms + (state.now_s * 1000.0) as i64;
    for (column, material) in &columns {
        let (_, _, level) = a.crowd_level(&column.0, now_ms);
        let [r, g, b] = level.rgb();
        let want = Color::srgb(r, g, b);
        // Only a real change touches the asset (a touched material is uploaded again).
        if materials
            .get(&material.0)
            .is_some_and(|m| m.base_color != want)
        {
            if let Some(mut m) = materials.get_mut(&material.0) {
                m.base_color = want;
            }
        }
    }
}
