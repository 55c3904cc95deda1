//! Command line of the wall display, and what to do when there is no display.

use clap::Parser;
use std::path::PathBuf;

/// The control-room wall display of a Binjiang scene.
#[derive(Parser, Debug, Clone)]
#[command(name = "binjiang-wall", version, about)]
pub struct Options {
    /// The scene folder (holding scene.ron and incident_types.ron).
    pub scene: PathBuf,
    /// Start the day at this time of day (HH:MM).
    #[arg(long, default_value = "08:00")]
    pub at: String,
    /// Simulation speed: 0 (paused), 1, 10, 60 or 600 times real time.
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// Random seed of the simulated day.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Dispatch policy (its per-agency rules are the catalogue's `dispatch` section).
    #[arg(long, value_enum, default_value_t = binjiang_sim::PolicyKind::MergedGrid)]
    pub policy: binjiang_sim::PolicyKind,
    /// Render one frame at `--at` to this PNG and exit (works without a screen, under Xvfb).
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Window size in pixels, WxH.
    #[arg(long, default_value = "1920x1080")]
    pub window: String,
    /// Borderless fullscreen on the current monitor.
    #[arg(long)]
    pub fullscreen: bool,
    /// One borderless window spanning a COLSxROWS grid of monitors of `--window` size each.
    #[arg(long)]
    pub wall: Option<String>,
    /// Hide the operator panels (a clean 3D view, e.g. for pixel checks or a video wall).
    #[arg(long)]
    pub hide_hud: bool,
    /// Render this many frames, print mean and p99 frame time, and exit.
    #[arg(long)]
    pub bench_frames: Option<u32>,
    /// Multisample anti-aliasing, samples per pixel: 1 (off), 2, 4 or 8. Each sample is paid
    /// for every pixel of the wall; what it buys is smooth edges on roads and buildings.
    #[arg(long, default_value = "4", value_parser = sample_counts())]
    pub msaa: u32,
    /// With `--bench-frames` or `--screenshot`: render into an image in GPU memory instead of
    /// a window, so that no display or X server is needed (a GPU server in a rack, where a
    /// GPU driver cannot present to Xvfb). Each benchmarked frame waits for the GPU to
    /// finish it. The operator panels and labels, which belong to a window, are left out.
    #[arg(long)]
    pub offscreen: bool,
    /// Follow a live `binjiang serve` at this address (http://host:port) instead of
    /// simulating: its units, incidents and KPIs; operator commands go to it.
    #[arg(long, value_name = "URL")]
    pub live: Option<String>,
    /// The token the wall uses with `--live` (an operator's to act, a display's to watch);
    /// also read from BINJIANG_TOKEN.
    #[arg(long, env = "BINJIANG_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Run a planner's scenario (`<scene>/scenarios/<name>.ron`) in the embedded simulation:
    /// its units, rates, network changes and dispatch rules; closures and hot areas drawn.
    #[arg(long, value_name = "NAME", conflicts_with = "live")]
    pub scenario: Option<String>,
    /// A folder `binjiang learn` wrote: the forecast layer (incidents expected per cell in the
    /// next two hours) and the people counters against their crowd tides.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// The calendar date the day shown falls on (YYYY-MM-DD; default today, in the
    /// district's time): the forecast and the tides depend on the day of the week.
    #[arg(long)]
    pub date: Option<String>,
    /// Start with the alarm sound on (it is off by default; key `M` toggles it).
    #[arg(long)]
    pub sound: bool,
    /// Start with the patrol-visits layer on (key `V` toggles it): cells tinted by the time
    /// since a unit last passed.
    #[arg(long)]
    pub patrol_layer: bool,
    /// With `--screenshot`: also write what the frame shows (clock, source, units,
    /// incidents with their countdowns, KPIs) as JSON to this file.
    #[arg(long, value_name = "JSON")]
    pub screenshot_state: Option<PathBuf>,
}

impl Options {
    /// The window size in physical pixels, wall included.
    pub fn window_size(&self) -> Result<(u32, u32), String> {
        let (w, h) = parse_pair(&self.window, "--window")?;
        match &self.wall {
            Some(wall) => {
                let (cols, rows) = parse_pair(wall, "--wall")?;
                Ok((w * cols, h * rows))
            }
            None => Ok((w, h)),
        }
    }

    /// Seconds after midnight of `--at`.
    pub fn start_s(&self) -> Result<f64, String> {
        binjiang_scene::shift::parse_clock(&self.at)
            .map(f64::from)
            .map_err(|e| format!("--at: {e}"))
    }

    /// The live service and token, if the wall follows one.
    pub fn live(&self) -> Result<Option<(&str, &str)>, String> {
        match (&self.live, &self.token) {
            (None, _) => Ok(None),
            (Some(url), Some(token)) => Ok(Some((url, token))),
            (Some(_), None) => Err(
                "--live needs a token: --token T or BINJIANG_TOKEN (make one with `binjiang token add --role operator`)"
                    .into(),
            ),
        }
    }

    /// Whether the run ends by itself (screenshot or benchmark) rather than with an operator.
    pub fn unattended(&self) -> bool {
        self.screenshot.is_some() || self.bench_frames.is_some()
    }
}

/// The sample counts a GPU offers, as numbers (clap lists them in its error).
fn sample_counts() -> impl clap::builder::TypedValueParser<Value = u32> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["1", "2", "4", "8"])
        .map(|s| s.parse().expect("each possible value is a number"))
}

fn parse_pair(text: &str, flag: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{flag} \"{text}\" must look like 1920x1080");
    let (a, b) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (a, b): (u32, u32) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a == 0 || b == 0 || a > 32_768 || b > 32_768 {
        return Err(bad());
    }
    Ok((a, b))
}

/// Environment variable set when the wall re-runs itself under Xvfb.
const UNDER_XVFB: &str = "BINJIANG_WALL_UNDER_XVFB";

/// What to do about the display before starting Bevy.
pub enum DisplayPlan {
    /// A display is there: go on.
    Ready,
    /// No display, unattended run: it re-ran itself under Xvfb and exited with this code.
    RanUnderXvfb(i32),
}

/// Finds a display, or re-runs an unattended job under `xvfb-run` with Mesa's software Vulkan.
pub fn plan_display(opts: &Options) -> Result<DisplayPlan, String> {
    if opts.offscreen {
        return if opts.unattended() {
            Ok(DisplayPlan::Ready)
        } else {
            Err("--offscreen renders for --bench-frames or --screenshot only: an operator needs a window".into())
        };
    }
    let has_display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if has_display {
        return Ok(DisplayPlan::Ready);
    }
    if !opts.unattended() {
        return Err("no display found (neither DISPLAY nor WAYLAND_DISPLAY is set).\n\
             To get a picture without a screen, render one frame to a PNG:\n    \
             binjiang-wall <scene> --screenshot out.png [--at 08:30] [--window 1920x1080]\n\
             It runs itself under Xvfb with Mesa's software Vulkan driver \
             (Debian: apt install xvfb xauth mesa-vulkan-drivers libvulkan1; `bash scripts/deps.sh` does it)."
            .into());
    }
    if std::env::var_os(UNDER_XVFB).is_some() {
        return Err("still no display under Xvfb: is xvfb-run working?".into());
    }
    let (w, h) = opts.window_size()?;
    let runtime = std::env::temp_dir().join(format!("binjiang-wall-xdg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&runtime);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = std::process::Command::new("xvfb-run")
        .args(["-a", "-s", &format!("-screen 0 {w}x{h}x24")])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(UNDER_XVFB, "1")
        .env("WGPU_BACKEND", std::env::var("WGPU_BACKEND").unwrap_or_else(|_| "vulkan".into()))
        .env("XDG_RUNTIME_DIR", &runtime)
        .status()
        .map_err(|e| format!("no display, and xvfb-run could not be started ({e}); install xvfb and xauth, or run under a display"))?;
    Ok(DisplayPlan::RanUnderXvfb(status.code().unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_wall_sizes() {
        let mut o = Options::parse_from(["binjiang-wall", "scene"]);
        assert_eq!(o.window_size(), Ok((1920, 1080)));
        o.wall = Some("3x2".into());
        assert_eq!(o.window_size(), Ok((5760, 2160)));
        o.window = "banana".into();
        assert!(o.window_size().is_err());
        assert_eq!(
            Options::parse_from(["w", "s", "--at", "08:30"]).start_s(),
            Ok(30_600.0)
        );
        assert!(Options::parse_from(["w", "s", "--at", "8h"])
            .start_s()
            .is_err());
    }

    #[test]
    fn msaa_takes_the_sample_counts_a_gpu_has() {
        assert_eq!(Options::parse_from(["w", "s"]).msaa, 4);
        assert_eq!(Options::parse_from(["w", "s", "--msaa", "1"]).msaa, 1);
        let err = Options::try_parse_from(["w", "s", "--msaa", "3"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--msaa") && err.contains("[possible values: 1, 2, 4, 8]"),
            "{err}"
        );
    }

    #[test]
    fn offscreen_is_for_unattended_runs_only() {
        let o = Options::parse_from(["w", "s", "--offscreen"]);
        let Err(msg) = plan_display(&o) else {
            panic!("an operator needs a window")
        };
        assert!(msg.contains("--offscreen"), "{msg}");
        let o = Options::parse_from(["w", "s", "--offscreen", "--bench-frames", "5"]);
        assert!(matches!(plan_display(&o), Ok(DisplayPlan::Ready)));
    }

    #[test]
    fn no_display_names_screenshot_and_xvfb() {
        if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
            return; // only meaningful without a display
        }
        let o = Options::parse_from(["binjiang-wall", "scene"]);
        let Err(msg) = plan_display(&o) else {
            panic!("must refuse")
        };
        assert!(
            msg.contains("--screenshot") && msg.contains("Xvfb"),
            "{msg}"
        );
    }
}
