//! `binjiang whatif` on the tiny scene: the report is deterministic and matches the golden
//! `report.json`; the CSV has a row per arm and seed; the HTML needs no network, and headless
//! Chromium (networking off) renders its plots.
//! Regenerate the golden file with `BINJIANG_UPDATE_GOLDEN=1 cargo test -p binjiang --test whatif`.

mod common;

use common::{chromium_screenshot, repo, text, whatif};

fn report(out: &std::path::Path) -> String {
    let o = whatif(
        "tests/scenes/tiny-river",
        "more-cleaners",
        "6",
        out,
        &["--hours", "24"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::read_to_string(out.join("report.json")).unwrap()
}

#[test]
fn whatif_writes_a_deterministic_report_matching_the_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = report(&dir.path().join("a"));
    let second = report(&dir.path().join("b"));
    assert_eq!(first, second, "same scenarios and seeds, same report");
    let golden = repo().join("crates/binjiang/tests/golden/whatif-tiny-report.json");
    if std::env::var_os("BINJIANG_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &first).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("the golden file exists");
    assert_eq!(first, want, "report.json differs from {}", golden.display());

    let csv = std::fs::read_to_string(dir.path().join("a/runs.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 6,
        "a header and a row per arm and seed"
    );
    assert!(csv.starts_with("arm,seed,on_site_3min_share@all"));
    let html = std::fs::read_to_string(dir.path().join("a/index.html")).unwrap();
    assert!(html.contains("more-cleaners") && html.contains("95"));
    // The page opens with the control room's benchmarks in words, then the details grouped.
    let headline = html
        .find("The control room's benchmarks")
        .expect("a headline table");
    let details = html
        .find("Clear differences, in detail")
        .expect("grouped details");
    let plots = html.find("<h2>Plots</h2>").unwrap();
    assert!(
        headline < details && details < plots,
        "headline, details, plots in that order"
    );
    assert!(html.contains("Incidents with every agency on site within 3 minutes"));
    assert!(html.contains("Street litter cleaned within 10 minutes"));
    // (The inline SVG's xmlns is a name, not a fetch.)
    for banned in [
        "<script",
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
        "<link",
    ] {
        assert!(
            !html.contains(banned),
            "the page must open with no network: {banned}"
        );
    }
}

#[test]
fn whatif_names_a_bad_scenario_and_lists_the_scenes_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let o = whatif(
        "tests/scenes/tiny-river",
        "no-such-plan",
        "40",
        dir.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("no-such-plan.ron")
            && err.contains("cannot read")
            && err.contains("more-cleaners"),
        "{err}"
    );
}

/// Headless Chromium with networking off renders the page; the screenshot shows the plots
/// (the arms' line colours) and the tables.
#[test]
fn chromium_renders_the_report_with_its_plots_offline() {
    let dir = tempfile::tempdir().unwrap();
    report(&dir.path().join("r"));
    let page = dir.path().join("r/index.html");
    let img = chromium_screenshot(&page, dir.path(), (1280, 2400));
    let count = |rgb: [u8; 3]| {
        img.pixels()
            .filter(|p| (0..3).all(|i| (p[i] as i32 - rgb[i] as i32).abs() <= 12))
            .count()
    };
    // Base arm blue and first alternative vermilion (Okabe–Ito) are the plots' lines.
    let (base, alt) = (count([0, 114, 178]), count([213, 94, 0]));
    assert!(
        base > 300 && alt > 300,
        "plot lines: {base} base, {alt} alternative pixels"
    );
    let dark_text = img
        .pixels()
        .filter(|p| p[0] < 80 && p[1] < 80 && p[2] < 80)
        .count();
    assert!(
        dark_text > 5_000,
        "the tables and headings: {dark_text} dark pixels"
    );
}
