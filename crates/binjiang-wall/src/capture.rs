//! Unattended runs: one screenshot at a given sim time (with, on request, what the frame
//! shows as JSON), or a frame-time benchmark.

use crate::feed::{Link, WallState};
use crate::scene_view::ModelHandles;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use std::path::PathBuf;

/// Frames rendered before the screenshot, so assets (glTF models) are loaded and drawn.
const SETTLE_FRAMES: u32 = 12;
/// Frames between attempts when a capture came back empty (render pipelines still compiling:
/// on a software renderer that takes seconds).
const RETRY_FRAMES: u32 = 5;
/// Attempts before giving up.
const MAX_ATTEMPTS: u32 = 60;
/// A frame whose central region (never covered by panels) has fewer distinct colours than
/// this on a sample grid was not drawn yet: the 3D pipelines compile after the panels'.
const MIN_COLOURS: usize = 16;
/// Frames rendered before timing starts (pipelines compile, assets load).
const WARM_UP_FRAMES: u32 = 10;
/// How long a live screenshot waits for the service's first view.
const LIVE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Take one screenshot after the scene settles, then exit.
#[derive(Resource, Debug, Clone)]
pub struct ScreenshotJob {
    /// Where to write the PNG.
    pub path: PathBuf,
    /// Where to write what the frame shows, if asked.
    pub state_path: Option<PathBuf>,
    /// What the frame shows, taken when the capture was asked for.
    shown: Option<serde_json::Value>,
    started: std::time::Instant,
    /// Probing whether the 3D is drawn yet (labels are held back meanwhile: their text would
    /// pass for a drawn scene); then the final capture.
    probing: bool,
    frames: u32,
    next_at: u32,
    attempts: u32,
    pending: bool,
}

impl ScreenshotJob {
    /// A job writing to `path`.
    pub fn new(path: PathBuf, state_path: Option<PathBuf>) -> Self {
        ScreenshotJob {
            path,
            state_path,
            shown: None,
            started: std::time::Instant::now(),
            probing: true,
            frames: 0,
            next_at: SETTLE_FRAMES,
            attempts: 0,
            pending: false,
        }
    }
}

impl ScreenshotJob {
    /// Whether overlays (labels) should be held back: the 3D is not known to be drawn yet.
    pub fn probing(&self) -> bool {
        self.probing
    }
}

/// Time `frames` frames, print mean and p99, then exit.
#[derive(Resource, Debug, Clone)]
pub struct FrameBench {
    frames: u32,
    seen: u32,
    times_ms: Vec<f64>,
    last: Option<std::time::Instant>,
}

impl FrameBench {
    /// A benchmark of `frames` frames.
    pub fn new(frames: u32) -> Self {
        FrameBench {
            frames: frames.max(1),
            seen: 0,
            times_ms: Vec::new(),
            last: None,
        }
    }
}

/// The image the wall renders into with `--offscreen`, and its size.
#[derive(Resource, Debug, Clone)]
pub struct Offscreen {
    /// The render target (copyable, for screenshots).
    pub image: Handle<Image>,
    /// Its size in pixels.
    pub size: UVec2,
}

impl Offscreen {
    /// A `w`×`h` target in `app`'s images (the image plugin must be in).
    pub fn new(app: &mut App, w: u32, h: u32) -> Self {
        use bevy::render::render_resource::{TextureFormat, TextureUsages};
        let mut image = Image::new_target_texture(w, h, TextureFormat::Rgba8UnormSrgb, None);
        image.texture_descriptor.usage |= TextureUsages::COPY_SRC;
        let image = app.world_mut().resource_mut::<Assets<Image>>().add(image);
        Offscreen {
            image,
            size: UVec2::new(w, h),
        }
    }
}

/// With no window, nothing paces the frames (a swapchain would): each frame waits until the
/// GPU has finished it, so the benchmark times the GPU's work too, not only the submission.
pub struct WaitForGpu;

impl Plugin for WaitForGpu {
    fn build(&self, app: &mut App) {
        use bevy::render::{Render, RenderApp, RenderSystems};
        app.sub_app_mut(RenderApp)
            .add_systems(Render, wait_for_gpu.after(RenderSystems::Render));
    }
}

fn wait_for_gpu(device: Res<bevy::render::renderer::RenderDevice>) {
    use bevy::render::render_resource::PollType;
    if let Err(e) = device.poll(PollType::wait_indefinitely()) {
        error!("waiting for the GPU: {e}");
    }
}

/// Runs the unattended jobs.
pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Last, (take_screenshot, bench_frames));
    }
}

fn take_screenshot(
    mut commands: Commands,
    job: Option<ResMut<ScreenshotJob>>,
    assets: Res<AssetServer>,
    models: Res<ModelHandles>,
    state: Res<WallState>,
    // What the frame shows beside the state, and where the frame is.
    (anticipation, offscreen): (
        Option<Res<crate::anticipation::Anticipation>>,
        Option<Res<Offscreen>>,
    ),
    mut exit: MessageWriter<AppExit>,
) {
    let Some(mut job) = job else { return };
    job.frames += 1;
    let loading = !models.0.iter().all(|h| assets.is_loaded(h.id()));
    if job.pending || job.frames < job.next_at || (loading && job.frames < SETTLE_FRAMES * 20) {
        return;
    }
    if let Link::Live { url, state: link } = &state.link {
        let following = matches!(link, Ok(seq) if *seq > 0) && !state.units.is_empty();
        if !following {
            if job.started.elapsed() > LIVE_WAIT {
                error!("screenshot: no view from {url} within {LIVE_WAIT:?}: {link:?}");
                exit.write(AppExit::error());
            }
            return;
        }
    }
    job.pending = true;
    job.attempts += 1;
    let mut seen = shown(&state);
    if let Some(a) = &anticipation {
        seen["anticipation"] = a.summary(state.now_s);
    }
    job.shown = Some(seen);
    let shot = match &offscreen {
        Some(o) => Screenshot::image(o.image.clone()),
        None => Screenshot::primary_window(),
    };
    commands.spawn(shot).observe(keep_or_retry);
}

/// Saves a frame that has content and exits; retries a frame that was not drawn yet.
fn keep_or_retry(
    captured: On<ScreenshotCaptured>,
    mut job: ResMut<ScreenshotJob>,
    mut exit: MessageWriter<AppExit>,
) {
    job.pending = false;
    let Ok(img) = captured.image.clone().try_into_dynamic() else {
        error!("screenshot: unreadable image format");
        exit.write(AppExit::error());
        return;
    };
    let rgb = img.to_rgb8();
    if job.probing {
        job.next_at = job.frames + RETRY_FRAMES;
        if distinct_colours(&rgb) >= MIN_COLOURS || job.attempts >= MAX_ATTEMPTS {
            // Drawn: now the frame with its labels.
            job.probing = false;
        }
        return;
    }
    if let (Some(p), Some(shown)) = (&job.state_path, &job.shown) {
        let text = serde_json::to_string_pretty(shown).expect("plain data");
        if let Err(e) = std::fs::write(p, text) {
            error!("cannot write {}: {e}", p.display());
            exit.write(AppExit::error());
            return;
        }
    }
    match rgb.save(&job.path) {
        Ok(()) => {
            info!(
                "screenshot saved to {} after {} frames",
                job.path.display(),
                job.frames
            );
            exit.write(AppExit::Success);
        }
        Err(e) => {
            error!("cannot write {}: {e}", job.path.display());
            exit.write(AppExit::error());
        }
    }
}

/// What the frame shows, for whoever checks the screenshot: the clock, where the data
/// comes from, the units, the alarm list with countdowns, and the KPIs.
fn shown(state: &WallState) -> serde_json::Value {
    use serde_json::json;
    let link = match &state.link {
        Link::Embedded => json!({"embedded": true}),
        Link::Live { url, state } => match state {
            Ok(seq) => json!({"live": url, "seq": seq}),
            Err(why) => json!({"live": url, "down": why}),
        },
    };
    let alarms: Vec<_> = crate::feed::alarm_order(&state.incidents, state.now_s)
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "priority": m.priority,
                "type": m.type_name,
                "subdistrict": m.subdistrict,
                "target": m.target.label(),
                "time_to_target_s": m.time_to_target(state.now_s),
            })
        })
        .collect();
    let k = &state.kpis;
    let c = &state.coverage;
    let coverage = json!({
        "unvisited_share": c.unvisited_share,
        "cells": c.since_visit.len(),
        "watched": c.watched.iter().filter(|w| **w).count(),
        "watched_by_band": (0..=crate::patrol::BANDS_S.len())
            .map(|b| {
                c.since_visit
                    .iter()
                    .zip(&c.watched)
                    .filter(|(s, w)| **w && crate::patrol::band(**s) == b)
                    .count()
            })
            .collect::<Vec<_>>(),
        "agencies": c.agencies,
        "recommendations": c.recommendations,
    });
    json!({
        "coverage": coverage,
        "clock": crate::feed::clock_text(state.now_s),
        "now_s": state.now_s,
        "link": link,
        "units": state.units.iter().map(|u| json!({"id": u.id, "status": format!("{:?}", u.status), "x": u.position[0], "y": u.position[1]})).collect::<Vec<_>>(),
        "alarms": alarms,
        "kpis": {
            "incidents": k.incidents,
            "on_site_3min_share": k.on_site_3min_share,
            "per_agency": k.agencies.iter().map(|(a, x)| (a.key().to_owned(), json!({"open": x.open, "on_site_3min_share": x.on_site_3min_share}))).collect::<serde_json::Map<_, _>>(),
            "per_subdistrict": k.subdistricts.iter().map(|d| (d.code.clone(), json!({"incidents": d.incidents, "open": d.open, "on_site_3min_share": d.on_site_3min_share}))).collect::<serde_json::Map<_, _>>(),
        },
    })
}

fn distinct_colours(img: &image::RgbImage) -> usize {
    let (w, h) = img.dimensions();
    let mut seen = std::collections::HashSet::new();
    for y in (h * 3 / 10..h * 7 / 10).step_by((h as usize / 80).max(1)) {
        for x in (w * 3 / 10..w * 7 / 10).step_by((w as usize / 100).max(1)) {
            seen.insert(img.get_pixel(x, y).0);
        }
    }
    seen.len()
}

/// Measures frame-to-frame wall time itself: Bevy's clocks clamp slow frames at 250 ms.
fn bench_frames(bench: Option<ResMut<FrameBench>>, mut exit: MessageWriter<AppExit>) {
    let Some(mut bench) = bench else { return };
    let now = std::time::Instant::now();
    let previous = bench.last.replace(now);
    bench.seen += 1;
    if bench.seen <= WARM_UP_FRAMES {
        return;
    }
    let Some(previous) = previous else { return };
    bench.times_ms.push((now - previous).as_secs_f64() * 1000.0);
    if bench.times_ms.len() as u32 >= bench.frames {
        let mut t = bench.times_ms.clone();
        t.sort_by(f64::total_cmp);
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let p99 = t[((t.len() as f64 * 0.99).ceil() as usize).clamp(1, t.len()) - 1];
        println!(
            "frames {}  mean {mean:.2} ms ({:.1} fps)  p99 {p99:.2} ms",
            t.len(),
            1000.0 / mean
        );
        exit.write(AppExit::Success);
    }
}
