//! Unattended runs: one screenshot at a given sim time, or a frame-time benchmark.

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

/// Take one screenshot after the scene settles, then exit.
#[derive(Resource, Debug, Clone)]
pub struct ScreenshotJob {
    /// Where to write the PNG.
    pub path: PathBuf,
    frames: u32,
    next_at: u32,
    attempts: u32,
    pending: bool,
}

impl ScreenshotJob {
    /// A job writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        ScreenshotJob {
            path,
            frames: 0,
            next_at: SETTLE_FRAMES,
            attempts: 0,
            pending: false,
        }
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
) {
    let Some(mut job) = job else { return };
    job.frames += 1;
    let loading = !models.0.iter().all(|h| assets.is_loaded(h.id()));
    if job.pending || job.frames < job.next_at || (loading && job.frames < SETTLE_FRAMES * 20) {
        return;
    }
    job.pending = true;
    job.attempts += 1;
    commands
        .spawn(Screenshot::primary_window())
        .observe(keep_or_retry);
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
    if distinct_colours(&rgb) < MIN_COLOURS && job.attempts < MAX_ATTEMPTS {
        job.next_at = job.frames + RETRY_FRAMES;
        return;
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
