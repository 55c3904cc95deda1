//! The wall display really renders: a frame of the Yangpu scene, taken under Xvfb with Mesa's
//! software Vulkan driver when there is no screen, checked pixel by pixel.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Renders one frame at 10:00; returns the image.
fn render(extra: &[&str], name: &str) -> image::RgbImage {
    render_at("10:00", extra, name)
}

/// Renders one frame at `at`; returns the image.
fn render_at(at: &str, extra: &[&str], name: &str) -> image::RgbImage {
    render_with(
        Command::new(env!("CARGO_BIN_EXE_binjiang-wall")),
        at,
        extra,
        name,
    )
}

/// Renders one frame at `at` with `wall` (a command for the wall binary); returns the image.
fn render_with(mut wall: Command, at: &str, extra: &[&str], name: &str) -> image::RgbImage {
    let out = std::env::temp_dir().join(format!(
        "binjiang-wall-test-{}-{name}.png",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&out);
    let status = wall
        .args([
            "scenes/yangpu-riverfront",
            "--at",
            at,
            "--window",
            "1280x720",
            "--screenshot",
        ])
        .arg(&out)
        .args(extra)
        .current_dir(repo())
        .status()
        .expect("binjiang-wall runs");
    assert!(status.success(), "binjiang-wall --screenshot failed: {status} (needs a display, or xvfb-run + Mesa Vulkan: bash scripts/deps.sh)");
    let img = image::open(&out).expect("a PNG was written").to_rgb8();
    assert_eq!((img.width(), img.height()), (1280, 720));
    img
}

fn near(p: &image::Rgb<u8>, rgb: [u8; 3], tol: i32) -> bool {
    (0..3).all(|i| (p[i] as i32 - rgb[i] as i32).abs() <= tol)
}

fn count(img: &image::RgbImage, pred: impl Fn(&image::Rgb<u8>) -> bool) -> usize {
    img.pixels().filter(|p| pred(p)).count()
}

// The palette of crates/binjiang-wall/src/colours.rs, as the test expects to see it.
const WATER: [u8; 3] = [22, 58, 92];
const AGENCIES: [(&str, [u8; 3]); 6] = [
    ("police", [0, 114, 178]),
    ("market_supervision", [230, 159, 0]),
    ("urban_management", [0, 158, 115]),
    ("security", [240, 228, 66]),
    ("cleaning", [86, 180, 233]),
    ("property", [204, 121, 167]),
];

#[test]
fn the_wall_renders_water_buildings_and_every_agency() {
    // 11:00: the wall runs the day from midnight, so where units stand is where the day put
    // them; at 09:00 and 10:00 the three property staff on duty patrol behind buildings from
    // this camera (checked: 0 purple pixels), at 11:00 one is in the open.
    let img = render_at("11:00", &["--hide-hud"], "3d");
    water_buildings_and_every_agency(&img);
}

/// `--offscreen` renders into an image in GPU memory with no display at all (no X server,
/// no Xvfb: how a GPU server in a rack runs the benchmark), and draws the same district.
#[test]
fn an_offscreen_frame_needs_no_display() {
    let mut wall = Command::new(env!("CARGO_BIN_EXE_binjiang-wall"));
    wall.env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env(
            "WGPU_BACKEND",
            std::env::var("WGPU_BACKEND").unwrap_or_else(|_| "vulkan".into()),
        );
    let img = render_with(wall, "11:00", &["--offscreen"], "offscreen");
    water_buildings_and_every_agency(&img);
}

fn water_buildings_and_every_agency(img: &image::RgbImage) {
    let total = (img.width() * img.height()) as usize;
    let distinct: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(
        distinct.len() > 200,
        "image looks blank: {} colours",
        distinct.len()
    );
    let water = count(img, |p| near(p, WATER, 4));
    assert!(
        water > total / 50,
        "river missing: {water} water pixels of {total}"
    );
    // Lit building walls and roofs: neutral greys brighter than the ground and roads.
    let buildings = count(img, |p| {
        let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
        (r - g).abs() < 14 && (g - b).abs() < 18 && (95..235).contains(&g)
    });
    assert!(
        buildings > total / 200,
        "buildings missing: {buildings} grey pixels"
    );
    for (agency, rgb) in AGENCIES {
        let n = count(img, |p| near(p, rgb, 10));
        assert!(n >= 8, "no {agency} marker visible ({n} pixels of {rgb:?})");
    }
}

#[test]
fn the_full_wall_with_panels_renders() {
    let img = render(&[], "hud");
    let distinct: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(distinct.len() > 200, "image looks blank");
    // The panels are drawn over the top-left corner: it is no longer the plain background.
    let corner = (20..200)
        .flat_map(|x| (20..60).map(move |y| (x, y)))
        .filter(|(x, y)| img.get_pixel(*x, *y).0 != [12, 14, 18])
        .count();
    assert!(corner > 1000, "no clock panel in the top-left corner");
}

/// `--scenario typhoon` at 15:00 draws the closed promenade in red (and gizmo lines render at
/// all: before `bevy_gizmos_render` was enabled, no line drawn with gizmos — assignments,
/// grid cells — ever reached the screen); the plain scene at the same time has no such red.
#[test]
fn a_scenario_draws_its_closed_roads() {
    const CLOSED: [u8; 3] = [237, 41, 41];
    let typhoon = render_at("15:00", &["--hide-hud", "--scenario", "typhoon"], "typhoon");
    let plain = render_at("15:00", &["--hide-hud"], "plain-15");
    let red = |img: &image::RgbImage| count(img, |p| near(p, CLOSED, 14));
    let (with, without) = (red(&typhoon), red(&plain));
    assert!(
        with > 2_000 && without < 200,
        "closed promenade: {with} red pixels with the scenario, {without} without"
    );
}

/// `--model` (the learned Yangpu demonstration, tests/golden/yangpu-learned) on a Saturday at
/// 15:00 tints the cells by the next two hours' forecast (purple, absent without a model) and
/// stands the five people counters up against their tides; the frame's state says what the
/// layer shows.
#[test]
fn a_model_draws_the_forecast_and_the_crowd_tides() {
    let state = std::env::temp_dir().join(format!(
        "binjiang-wall-test-{}-forecast.json",
        std::process::id()
    ));
    let model = repo().join("tests/golden/yangpu-learned");
    let with = render_at(
        "15:00",
        &[
            "--hide-hud",
            "--model",
            model.to_str().unwrap(),
            "--date",
            "2026-12-05",
            "--screenshot-state",
            state.to_str().unwrap(),
        ],
        "forecast",
    );
    let plain = render_at("15:00", &["--hide-hud"], "plain-forecast");
    let purple = |img: &image::RgbImage| {
        count(img, |p| {
            let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
            b > g + 40 && r > g + 20
        })
    };
    let (a, b) = (purple(&with), purple(&plain));
    assert!(
        a > 3_000 && a > 5 * b.max(1),
        "forecast tint: {a} purple pixels with the model, {b} without"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let f = &shown["anticipation"];
    assert_eq!(f["forecast_hours"], 2);
    let total = f["expected_total"].as_f64().unwrap();
    // Saturday 15:00–17:00 of the learned rates: tens of incidents over the strip.
    assert!((10.0..100.0).contains(&total), "{f}");
    assert_eq!(f["busiest_cells"].as_array().unwrap().len(), 5);
    let crowd = f["crowd"].as_object().unwrap();
    assert_eq!(crowd.len(), 5, "{f}");
    for (site, c) in crowd {
        assert_eq!(
            c["level"], "expected",
            "{site}: embedded shows the tide's median"
        );
        assert!(c["value"].as_f64().unwrap() > 0.0, "{site}: {c}");
    }
}

/// `--patrol-layer` tints the cells no patrol passed for over half an hour (amber, orange,
/// red beyond two hours; absent without the flag), and the frame's state gives the bands,
/// each agency's coverage and the move-ups proposed (embedded: the simulation's own day).
#[test]
fn the_patrol_layer_shows_cells_long_unvisited_and_the_state_gives_coverage() {
    let state = std::env::temp_dir().join(format!(
        "binjiang-wall-test-{}-visits.json",
        std::process::id()
    ));
    let with = render_at(
        "16:00",
        &[
            "--hide-hud",
            "--patrol-layer",
            "--screenshot-state",
            state.to_str().unwrap(),
        ],
        "visits",
    );
    let plain = render_at("16:00", &["--hide-hud"], "plain-visits");
    let warm = |img: &image::RgbImage| {
        count(img, |p| {
            let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
            r > g + 60 && r > b + 90
        })
    };
    let (a, b) = (warm(&with), warm(&plain));
    let shown: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let c = &shown["coverage"];
    let bands: Vec<u64> = c["watched_by_band"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let watched = c["watched"].as_u64().unwrap();
    assert_eq!(bands.iter().sum::<u64>(), watched, "{c}");
    assert!(watched > 100 && watched < 380, "hot in some hour: {c}");
    assert!(
        bands[1] + bands[2] + bands[3] > 10,
        "cells long unvisited: {c}"
    );
    assert!(bands[0] > 10, "cells patrolled lately: {c}");
    assert!(
        a > 2_000 && a > 3 * b.max(1),
        "visits tint: {a} warm pixels with the layer, {b} without ({c})"
    );
    assert_eq!(c["agencies"].as_object().unwrap().len(), 6, "{c}");
    let u = c["unvisited_share"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&u), "{c}");
    assert!(c["recommendations"].is_array());
}
