//! The report a planner hands on: `report.json` (everything, machine-readable), `runs.csv`
//! (one row per arm and seed), and `index.html` — self-contained, opening with no network
//! (no script, font or style from elsewhere).

use crate::compare::{Difference, Kpi, Run};
use crate::Scenario;
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// What was compared, to reproduce it.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// The scene's name.
    pub scene: String,
    /// FNV-1a 64 of the scene's files (scene.ron, the layers, the incident catalogue), hex.
    pub scene_hash: String,
    /// Each arm: name, what it models, FNV-1a 64 of its file (empty for the plain scene).
    pub arms: Vec<ArmInfo>,
    /// Seeds 1..=seeds.
    pub seeds: u64,
    /// Hours simulated from the start.
    pub hours: f64,
    /// Start, seconds since midnight.
    pub start_s: f64,
    /// `binjiang` version.
    pub version: String,
}

/// One arm of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ArmInfo {
    /// Scenario name.
    pub name: String,
    /// What it models.
    pub about: String,
    /// Policy name.
    pub policy: String,
    /// Units in the arm.
    pub units: usize,
    /// Hash of the scenario file's bytes (hex), `None` for the plain scene.
    pub file_hash: Option<String>,
}

/// `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was compared.
    pub manifest: Manifest,
    /// Every KPI of every alternative against the base.
    pub differences: Vec<Difference>,
    /// Per arm, per hour from the start, per agency: means over the seeds.
    pub hourly: Vec<ArmHours>,
}

/// One arm's hours: means over the seeds, per agency key.
#[derive(Debug, Clone, Serialize)]
pub struct ArmHours {
    /// The arm.
    pub arm: String,
    /// Incident parts reported in each hour.
    pub reported: Vec<std::collections::BTreeMap<String, f64>>,
    /// Parts waiting for a unit at the end of each hour.
    pub queued: Vec<std::collections::BTreeMap<String, f64>>,
    /// Units en route or on scene at the end of each hour.
    pub busy: Vec<std::collections::BTreeMap<String, f64>>,
}

/// The means over `runs` of one arm of an hourly figure, per hour and agency.
fn hour_means(
    runs: &[&Run],
    figure: fn(&crate::compare::HourSample) -> [usize; 6],
) -> Vec<std::collections::BTreeMap<String, f64>> {
    let hours = runs.iter().map(|r| r.hourly.len()).max().unwrap_or(0);
    (0..hours)
        .map(|h| {
            binjiang_scene::Agency::ALL
                .iter()
                .enumerate()
                .map(|(k, a)| {
                    let sum: usize = runs
                        .iter()
                        .filter_map(|r| r.hourly.get(h).map(|x| figure(x)[k]))
                        .sum();
                    (a.key().to_owned(), sum as f64 / runs.len().max(1) as f64)
                })
                .collect()
        })
        .collect()
}

impl Report {
    /// The report of `runs` of `arms`.
    pub fn new(
        arms: &[Scenario],
        runs: &[Run],
        seeds: u64,
        hours: f64,
        differences: Vec<Difference>,
    ) -> Self {
        let hourly = arms
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let of: Vec<&Run> = runs.iter().filter(|r| r.arm == k).collect();
                ArmHours {
                    arm: a.name.clone(),
                    reported: hour_means(&of, |h| h.reported),
                    queued: hour_means(&of, |h| h.queued),
                    busy: hour_means(&of, |h| h.busy),
                }
            })
            .collect();
        let scene = arms
            .first()
            .map_or(String::new(), |a| a.scene.manifest.name.clone());
        let scene_hash = arms
            .first()
            .map_or(String::new(), |a| scene_hash(&a.scene.dir));
        Report {
            manifest: Manifest {
                scene,
                scene_hash,
                arms: arms
                    .iter()
                    .map(|a| ArmInfo {
                        name: a.name.clone(),
                        about: a.about.clone(),
                        policy: a.options.policy.name().to_owned(),
                        units: a.scene.units.len(),
                        file_hash: file_hash(&a.text),
                    })
                    .collect(),
                seeds,
                hours,
                start_s: arms.first().map_or(0.0, |a| a.options.start_s),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            differences,
            hourly,
        }
    }
}

/// FNV-1a 64 of a scene folder's files (scene.ron, the layers, the catalogue), hex: the same
/// scene on two machines has the same hash.
pub fn scene_hash(dir: &Path) -> String {
    let mut bytes = Vec::new();
    for f in std::iter::once(binjiang_scene::units::MANIFEST)
        .chain(binjiang_scene::LAYER_FILES.iter().copied())
        .chain(std::iter::once(binjiang_sim::CATALOGUE_FILE))
    {
        bytes.extend(std::fs::read(dir.join(f)).unwrap_or_default());
    }
    format!("{:016x}", fnv1a(&bytes))
}

/// The hash of a scenario file's text, hex (empty text: `None`, the plain scene).
pub fn file_hash(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| format!("{:016x}", fnv1a(text.as_bytes())))
}

/// FNV-1a, 64 bits: a stable fingerprint of a scenario file for the manifest.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `report.json`, `runs.csv` and `index.html` into `dir` (created if missing).
pub fn write(
    dir: &Path,
    report: &Report,
    arms: &[Scenario],
    runs: &[Run],
    kpis: &[Kpi],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json + "\n")?;
    std::fs::write(dir.join("runs.csv"), csv(arms, runs, kpis))?;
    std::fs::write(dir.join("index.html"), html(report, arms, runs))?;
    Ok(())
}

/// One row per arm and seed, one column per KPI (empty where undefined).
fn csv(arms: &[Scenario], runs: &[Run], kpis: &[Kpi]) -> String {
    let mut out = String::from("arm,seed");
    for k in kpis {
        let _ = write!(out, ",{}@{}", k.name, k.scope);
    }
    out.push('\n');
    for r in runs {
        let _ = write!(out, "{},{}", arms[r.arm].name, r.seed);
        for k in kpis {
            match k.value(r) {
                Some(v) => {
                    let _ = write!(out, ",{v}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    out
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if x.abs() < 10.0 => format!("{x:.3}"),
        Some(x) => format!("{x:.0}"),
    }
}

/// The control room's benchmarks, the first thing a planner reads: what each means, its
/// target, and each arm's figure.
const BENCHMARKS: [(&str, &str, &str); 5] = [
    (
        "on_site_3min_share",
        "Incidents with every agency on site within 3 minutes",
        "90 %",
    ),
    (
        "in_the_bud_share",
        "Street incidents handled in the bud (before anyone reports them)",
        "95 %",
    ),
    (
        "cleaned_10min_share",
        "Street litter cleaned within 10 minutes",
        "95 %",
    ),
    ("response_p50_s", "Half of incidents reached within", "–"),
    (
        "response_p90_s",
        "Nine in ten incidents reached within",
        "3 min",
    ),
];

/// A KPI's value in a planner's units: shares in per cent, times in minutes.
fn shown(kpi: &str, v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if kpi.ends_with("_share") => format!("{:.1} %", v * 100.0),
        Some(v) if kpi.ends_with("_s") => format!("{:.1} min", v / 60.0),
        Some(v) => format!("{v:.1}"),
    }
}

/// A change in the same units: percentage points, minutes.
fn shown_change(kpi: &str, v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if kpi.ends_with("_share") => format!("{:+.1} pts", v * 100.0),
        Some(v) if kpi.ends_with("_s") => format!("{:+.1} min", v / 60.0),
        Some(v) => format!("{v:+.1}"),
    }
}

/// "better", "worse" or "no clear change" (the interval includes zero).
fn judged(d: &Difference) -> &'static str {
    match &d.verdict {
        Some(v) if v.ends_with("(better)") => "better",
        Some(_) => "worse",
        None => "no clear change",
    }
}

/// The headline table: the benchmarks, the base's figure, each alternative's with its change
/// and 95 % interval, in words.
fn headline(report: &Report) -> String {
    let m = &report.manifest;
    let base = m.arms.first().map_or("base", |a| a.name.as_str());
    let mut out = String::from(
        "<h2>The control room's benchmarks</h2>\n<table><tr><th>benchmark</th><th>target</th>",
    );
    let _ = write!(out, "<th>{}</th>", esc(base));
    for a in m.arms.iter().skip(1) {
        let _ = write!(
            out,
            "<th>{}</th><th>change [95 % interval]</th><th>in words</th>",
            esc(&a.name)
        );
    }
    out.push_str("</tr>\n");
    for (kpi, words, target) in BENCHMARKS {
        let of = |alt: &str| {
            report
                .differences
                .iter()
                .find(|d| d.kpi == kpi && d.scope == "all" && d.alt == alt)
        };
        let Some(first) = m.arms.get(1).and_then(|a| of(&a.name)) else {
            continue;
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{target}</td><td>{}</td>",
            esc(words),
            shown(kpi, first.base_mean)
        );
        for a in m.arms.iter().skip(1) {
            match of(&a.name) {
                Some(d) => {
                    let class = match judged(d) {
                        "better" => " class=\"better\"",
                        "worse" => " class=\"worse\"",
                        _ => "",
                    };
                    let _ = write!(
                        out,
                        "<td>{}</td><td>{} [{}, {}]</td><td{class}>{}</td>",
                        shown(kpi, d.alt_mean),
                        shown_change(kpi, d.diff_mean),
                        shown_change(kpi, d.ci95.map(|c| c.0)),
                        shown_change(kpi, d.ci95.map(|c| c.1)),
                        judged(d)
                    );
                }
                None => out.push_str("<td>–</td><td>–</td><td>–</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// The clear differences, grouped as a planner asks: the whole grid, each agency, each
/// subdistrict, each hour.
fn details(report: &Report) -> String {
    let mut out = String::from("<h2>Clear differences, in detail</h2>\n");
    let clear: Vec<&Difference> = report
        .differences
        .iter()
        .filter(|d| d.verdict.is_some())
        .collect();
    if clear.is_empty() {
        out.push_str("<p>No difference is clear at 95&nbsp;% with these seeds.</p>\n");
        return out;
    }
    for (title, prefix) in [
        ("The whole grid", "all"),
        ("By agency", "agency:"),
        ("By subdistrict", "subdistrict:"),
        ("By hour from the start", "hour:"),
    ] {
        let group: Vec<&&Difference> = clear
            .iter()
            .filter(|d| {
                if prefix == "all" {
                    d.scope == "all"
                } else {
                    d.scope.starts_with(prefix)
                }
            })
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h3>{title}</h3>\n<ul>");
        for d in group {
            let scope = d.scope.split_once(':').map_or("", |(_, s)| s);
            let _ = writeln!(
                out,
                "<li>{}{}{}: {} → {} with {} ({} [{}, {}]): {}</li>",
                esc(&d.kpi),
                if scope.is_empty() { "" } else { ", " },
                esc(scope),
                shown(&d.kpi, d.base_mean),
                shown(&d.kpi, d.alt_mean),
                esc(&d.alt),
                shown_change(&d.kpi, d.diff_mean),
                shown_change(&d.kpi, d.ci95.map(|c| c.0)),
                shown_change(&d.kpi, d.ci95.map(|c| c.1)),
                judged(d),
            );
        }
        out.push_str("</ul>\n");
    }
    out
}

/// The self-contained page: manifest, the benchmarks' headline table, the clear differences
/// grouped, plots, and every difference with its interval.
fn html(report: &Report, arms: &[Scenario], runs: &[Run]) -> String {
    let m = &report.manifest;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>What if — {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
         td:first-child,th:first-child,td:nth-child(2){{text-align:left}}\
         .better{{background:#dff3df}}.worse{{background:#f8dcdc}}</style></head><body>\n\
         <h1>What if: {}</h1>\n<p>{} seeds × {} arms, {} h from {:02}:{:02}, common random numbers \
         (each seed: the same base day in every arm). Differences are alternative − base with \
         95&nbsp;% confidence intervals (paired Student's t); a verdict only where the interval \
         excludes zero. Definitions: docs/kpis.md.</p>\n<p>Scene files' hash {}; binjiang {}.</p>\n\
         <h2>Arms</h2>\n<table><tr><th>arm</th>\
         <th>about</th><th>policy</th><th>units</th><th>file hash</th></tr>\n",
        esc(&m.scene),
        esc(&m.scene),
        m.seeds,
        m.arms.len(),
        m.hours,
        (m.start_s / 3600.0) as u32,
        (m.start_s % 3600.0 / 60.0) as u32,
        m.scene_hash,
        m.version,
    );
    for a in &m.arms {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.name),
            esc(&a.about),
            a.policy,
            a.units,
            a.file_hash.as_deref().unwrap_or("–")
        );
    }
    out.push_str("</table>\n");
    out.push_str(&headline(report));
    out.push_str(&details(report));
    out.push_str("<h2>Plots</h2>\n");
    let names: Vec<String> = m.arms.iter().map(|a| a.name.clone()).collect();
    // The plots, in the page's order, drawn on every core (each is a pure function of the
    // runs; a 40-seed report's scatter alone draws thousands of points).
    type Plot<'a> = Box<dyn Fn() -> String + Send + Sync + 'a>;
    let names = &names;
    let mut plots: Vec<Plot> = vec![
        Box::new(move || crate::plots::ecdf(names, runs)),
        Box::new(move || {
            crate::plots::hourly("Incident parts reported per hour", names, runs, |h| {
                h.reported.iter().sum()
            })
        }),
        Box::new(move || {
            crate::plots::hourly(
                "Parts waiting for a unit at the end of each hour",
                names,
                runs,
                |h| h.queued.iter().sum(),
            )
        }),
        Box::new(move || {
            crate::plots::hourly(
                "Units en route or on scene at the end of each hour",
                names,
                runs,
                |h| h.busy.iter().sum(),
            )
        }),
    ];
    for alt in 1..names.len() {
        plots.push(Box::new(move || crate::plots::scatter(names, runs, alt)));
    }
    let per_agency = plots.len();
    for arm in 0..names.len() {
        for (title, figure) in [
            (
                "Parts reported per hour",
                (|h| h.reported) as fn(&crate::compare::HourSample) -> [usize; 6],
            ),
            ("Parts waiting at the end of each hour", |h| h.queued),
            ("Units busy at the end of each hour", |h| h.busy),
        ] {
            plots.push(Box::new(move || {
                crate::plots::hourly_by_agency(title, names, runs, arm, figure)
            }));
        }
    }
    let maps = plots.len();
    plots.push(Box::new(move || crate::plots::cell_map(arms, runs, None)));
    for alt in 1..names.len() {
        plots.push(Box::new(move || {
            crate::plots::cell_map(arms, runs, Some(alt))
        }));
    }
    let figures: Vec<String> = plots.par_iter().map(|plot| plot()).collect();
    for (k, figure) in figures.into_iter().enumerate() {
        if k == per_agency {
            out.push_str("<h3>Per agency</h3>\n");
        }
        if k == maps {
            out.push_str("<h3>Where</h3>\n");
        }
        out.push_str(&figure);
        out.push('\n');
    }
    out.push_str(
        "<h2>Every KPI</h2>\n<table><tr><th>alternative</th><th>KPI</th><th>scope</th>\
         <th>seeds</th><th>base</th><th>alternative</th><th>difference</th><th>95 % CI</th></tr>\n",
    );
    for d in &report.differences {
        let class = match &d.verdict {
            Some(v) if v.ends_with("(better)") => " class=\"better\"",
            Some(_) => " class=\"worse\"",
            None => "",
        };
        let _ = writeln!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.alt),
            esc(&d.kpi),
            esc(&d.scope),
            d.n,
            num(d.base_mean),
            num(d.alt_mean),
            num(d.diff_mean),
            d.ci95
                .map_or("–".into(), |(lo, hi)| format!("[{}, {}]", num(Some(lo)), num(Some(hi)))),
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}
