//! `binjiang whatif` on the tiny scene: the report is deterministic and matches the golden
//! `report.json`; the CSV has a row per arm and seed; the HTML needs no network.
//! Regenerate the golden file with `BINJIANG_UPDATE_GOLDEN=1 cargo test -p binjiang --test whatif`.

mod common;

use common::{binjiang, repo, text};

fn report(out: &std::path::Path) -> String {
    let o = binjiang(&[
        "whatif",
        "tests/scenes/tiny-river",
        "--alt",
        "more-cleaners",
        "--seeds",
        "6",
        "--hours",
        "24",
        "--out",
        out.to_str().unwrap(),
    ]);
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
    for banned in ["<script", "http://", "https://", "@import", "<link"] {
        assert!(
            !html.contains(banned),
            "the page must open with no network: {banned}"
        );
    }
}

#[test]
fn whatif_names_a_bad_scenario_and_lists_the_scenes_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let o = binjiang(&[
        "whatif",
        "tests/scenes/tiny-river",
        "--alt",
        "no-such-plan",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("no-such-plan.ron")
            && err.contains("cannot read")
            && err.contains("more-cleaners"),
        "{err}"
    );
}
