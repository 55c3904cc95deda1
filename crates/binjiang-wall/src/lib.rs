//! `binjiang-wall`: the control room's wall display.
//!
//! The district in 3D from its scene files, every patrol unit and incident moving with the
//! simulated day (run in-process) or with a live service (`--live`), KPIs per agency and
//! subdistrict, the alarm list with countdowns to target and an operator surface.
//! `--screenshot` renders one frame to a PNG with no screen (under Xvfb), which is how CI
//! checks it. The app is a list of plugins, one per concern, each reading the one state
//! interface [`feed::WallState`].

mod alarm;
pub mod anticipation;
mod camera;
mod capture;
pub mod cli;
mod colours;
pub mod embedded;
pub mod feed;
mod hud;
mod incidents;
mod labels;
pub mod live;
mod meshes;
mod overlay;
mod patrol;
mod scene_view;
mod units;

use bevy::picking::mesh_picking::MeshPickingPlugin;
use bevy::prelude::*;
use bevy::window::{MonitorSelection, PresentMode, WindowMode, WindowPosition, WindowResolution};
use binjiang_scene::{LoadError, Scene};
use binjiang_sim::{IncidentCatalogue, SimOptions, CATALOGUE_FILE};
use cli::Options;
use std::process::ExitCode;

/// The loaded scene, shared read-only by every view.
#[derive(Resource)]
pub struct SceneData(pub Scene);

/// Runs the wall with `opts` (a display is there, or the run is unattended under Xvfb).
pub fn run(opts: &Options) -> anyhow::Result<ExitCode> {
    let (w, h) = opts.window_size().map_err(anyhow::Error::msg)?;
    let start_s = opts.start_s().map_err(anyhow::Error::msg)?;
    let mut scene = match Scene::load(&opts.scene) {
        Ok(s) => s,
        Err(LoadError::Invalid(problems)) => {
            eprint!("{problems}");
            anyhow::bail!(
                "{} is not a valid scene (run `binjiang validate` for details)",
                opts.scene.display()
            );
        }
        Err(e) => return Err(e.into()),
    };
    let path = opts.scene.join(CATALOGUE_FILE);
    let (catalogue, warnings) = IncidentCatalogue::load(&path, &scene)
        .map_err(|problems| anyhow::anyhow!("{}the incident catalogue is not usable", problems))?;
    for w in warnings {
        eprintln!("{w}");
    }
    let live = opts.live().map_err(anyhow::Error::msg)?;
    let anticipation = match &opts.model {
        None => None,
        Some(dir) => Some(anticipation_of(dir, &scene, opts.date.as_deref())?),
    };
    let models = scene.dir.join(&scene.manifest.models_dir);
    let models = models.canonicalize().unwrap_or(models);

    let mut app = App::new();
    let assets = AssetPlugin {
        file_path: models.to_string_lossy().into_owned(),
        ..default()
    };
    if opts.offscreen {
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: None,
                    exit_condition: bevy::window::ExitCondition::DontExit,
                    ..default()
                })
                .set(assets)
                .disable::<bevy::winit::WinitPlugin>(),
        )
        .add_plugins(bevy::app::ScheduleRunnerPlugin::run_loop(
            std::time::Duration::ZERO,
        ));
        let target = capture::Offscreen::new(&mut app, w, h);
        app.insert_resource(target);
        if opts.bench_frames.is_some() {
            app.add_plugins(capture::WaitForGpu);
        }
    } else {
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: Some(window(opts, w, h)),
                    ..default()
                })
                .set(assets),
        );
    }
    app.insert_resource(feed::Clock {
        sim_s: start_s,
        // A screenshot shows `--at`; a benchmark renders the day as it runs.
        speed: if opts.screenshot.is_some() || live.is_some() {
            0.0
        } else {
            opts.speed
        },
    });
    match live {
        Some((url, token)) => {
            let link = live::LiveLink::start(url, token, &scene, &catalogue)
                .map_err(anyhow::Error::msg)?;
            app.insert_resource(feed::WallState {
                now_s: start_s,
                link: feed::Link::Live {
                    url: url.to_owned(),
                    state: Err("connecting".into()),
                },
                ..default()
            })
            .insert_resource(link)
            .add_plugins(live::LivePlugin);
        }
        None => {
            let sim_options = SimOptions {
                seed: opts.seed,
                policy: opts.policy,
                start_s,
                ..SimOptions::default()
            };
            let (mut sim, shown) = match &opts.scenario {
                None => (
                    embedded::EmbeddedSim::new(
                        &scene,
                        catalogue.clone(),
                        sim_options,
                        &[],
                        binjiang_sim::IncidentSource::Generated,
                        Some(std::sync::Arc::new(embedded::monitor_of(
                            &scene, &catalogue,
                        ))),
                    )
                    .map_err(anyhow::Error::msg)?,
                    scene,
                ),
                Some(name) => {
                    let s = binjiang_whatif::scenario::load(&scene, &catalogue, name, sim_options)
                        .map_err(|problems| {
                            anyhow::anyhow!("{problems}scenario \"{name}\" is not usable")
                        })?;
                    app.insert_resource(overlay::ScenarioOverlay {
                        name: s.name.clone(),
                        about: s.about.clone(),
                        network: s.network.clone(),
                        surges: s.catalogue.surges.clone(),
                    });
                    let monitor = embedded::monitor_of(&s.scene, &s.catalogue);
                    (
                        embedded::EmbeddedSim::new(
                            &s.scene,
                            s.catalogue,
                            s.options,
                            &s.network,
                            match s.recorded {
                                Some(list) => binjiang_sim::IncidentSource::Recorded(list),
                                None => binjiang_sim::IncidentSource::Generated,
                            },
                            Some(std::sync::Arc::new(monitor)),
                        )
                        .map_err(anyhow::Error::msg)?,
                        s.scene,
                    )
                }
            };
            scene = shown;
            let (state, follower) = sim.initial_state(&scene);
            app.insert_resource(state)
                .insert_resource(follower)
                .insert_resource(sim)
                .add_plugins(embedded::EmbeddedPlugin);
        }
    }
    if let Some(a) = anticipation {
        if let Some((url, token)) = live {
            anticipation::poll_counts(url, Some(token), a.counts.clone());
        }
        app.insert_resource(a);
    }
    app.insert_resource(camera::Antialias(bevy::render::view::Msaa::from_samples(
        opts.msaa,
    )));
    app.insert_resource(scene_view::Layers {
        visits: opts.patrol_layer,
        ..default()
    });
    app.insert_resource(SceneData(scene)).add_plugins((
        anticipation::AnticipationPlugin,
        patrol::PatrolPlugin,
        MeshPickingPlugin,
        scene_view::ScenePlugin,
        overlay::OverlayPlugin,
        units::UnitsPlugin,
        incidents::IncidentsPlugin,
        camera::CameraPlugin,
        capture::CapturePlugin,
        alarm::AlarmPlugin { on: opts.sound },
    ));
    // The labels and panels are egui layers of the window.
    if !opts.offscreen {
        app.add_plugins(labels::LabelsPlugin);
    }
    if !opts.hide_hud && !opts.offscreen {
        app.add_plugins(hud::HudPlugin);
    } else {
        app.init_resource::<hud::Selection>();
    }
    if let Some(p) = &opts.screenshot {
        app.insert_resource(capture::ScreenshotJob::new(
            p.clone(),
            opts.screenshot_state.clone(),
        ));
    }
    if let Some(n) = opts.bench_frames {
        // Render flat out, focused or not: the benchmark measures the renderer, not pacing.
        if !opts.offscreen {
            app.insert_resource(bevy::winit::WinitSettings::continuous());
        }
        app.insert_resource(capture::FrameBench::new(n));
    }
    Ok(match app.run() {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(code) => ExitCode::from(code.get()),
    })
}

/// Reads `<dir>/model.json` for the forecast and the tides; the day shown is `date`
/// (YYYY-MM-DD) or today, at the district's midnight (`live.ron`'s `utc_offset`, else
/// +08:00).
fn anticipation_of(
    dir: &std::path::Path,
    scene: &Scene,
    date: Option<&str>,
) -> anyhow::Result<anticipation::Anticipation> {
    #[derive(serde::Deserialize)]
    struct Offset {
        utc_offset: String,
    }
    let offset = std::fs::read_to_string(scene.dir.join("live.ron"))
        .ok()
        .and_then(|t| ron::from_str::<Offset>(&t).ok())
        .and_then(|o| o.utc_offset.parse::<chrono::FixedOffset>().ok())
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00"));
    let path = dir.join("model.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let file = path.display().to_string();
    let ids: Vec<String> = scene.grid.cells.iter().map(|c| c.id.clone()).collect();
    let (forecaster, tides) = binjiang_learn::forecast::read_model(&file, &text, &ids)?;
    let day = match date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|e| anyhow::anyhow!("--date \"{d}\" is not YYYY-MM-DD: {e}"))?,
        None => chrono::Utc::now().with_timezone(&offset).date_naive(),
    };
    let midnight = day
        .and_hms_opt(0, 0, 0)
        .and_then(|m| chrono::TimeZone::from_local_datetime(&offset, &m).single())
        .map_or(0, |m| m.timestamp_millis());
    Ok(anticipation::Anticipation::new(forecaster, tides, midnight))
}

fn window(opts: &Options, w: u32, h: u32) -> Window {
    let mut resolution = WindowResolution::new(w, h);
    resolution.set_scale_factor_override(Some(1.0));
    let spanning = opts.wall.is_some();
    Window {
        title: "Binjiang 滨江 — riverfront control room".into(),
        resolution,
        mode: if opts.fullscreen {
            WindowMode::BorderlessFullscreen(MonitorSelection::Current)
        } else {
            WindowMode::Windowed
        },
        decorations: !(spanning || opts.unattended()),
        position: if spanning {
            WindowPosition::At(IVec2::ZERO)
        } else {
            WindowPosition::Automatic
        },
        present_mode: if opts.bench_frames.is_some() {
            PresentMode::AutoNoVsync
        } else {
            PresentMode::AutoVsync
        },
        ..default()
    }
}
