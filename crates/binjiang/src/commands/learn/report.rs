//! `<out>/report/index.html`: what was learned, shown so a planner can judge it — the
//! held-out scores of the model and both baselines, and per type the fitted against the
//! observed hour-of-week profile, the map of the fitted density, QQ plots of the fitted
//! durations, the PAI curve and the held-out calibration. One self-contained page (inline
//! SVG, no scripts, no fonts, nothing fetched), like the what-if report.

use binjiang_learn::durations::Fit;
use binjiang_learn::model::{Holdout, TypeHistory, TypeModel, FORECASTERS, PAI_CURVE};
use binjiang_learn::rates::weekly_counts;
use binjiang_learn::WEEK_H;
use binjiang_scene::Scene;
use binjiang_sim::IncidentCatalogue;
use binjiang_whatif::plots::{chart, colour, grid_map, legend, line, mix, svg, Chart, SIZE};
use plotters::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the page is made of.
pub struct Inputs<'a> {
    /// The scene learned on.
    pub scene: &'a Scene,
    /// The scene's own catalogue (baseline (b)).
    pub base: &'a IncidentCatalogue,
    /// `--json`'s summary.
    pub summary: &'a Value,
    /// The records per type.
    pub by_type: &'a BTreeMap<String, TypeHistory>,
    /// What was learned per type, on every week.
    pub models: &'a BTreeMap<String, TypeModel>,
    /// The held-out scores per type.
    pub holdouts: &'a BTreeMap<String, Holdout>,
    /// Weeks of history.
    pub weeks: usize,
    /// The people counters' counts and tides, when given.
    pub crowd: Option<(
        &'a binjiang_learn::crowd::Counts,
        &'a BTreeMap<String, binjiang_learn::crowd::Tide>,
    )>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JSON number as the tables show it.
fn cell(v: &Value) -> String {
    v.as_f64().map_or_else(|| "–".into(), |x| format!("{x:.3}"))
}

/// The page.
pub fn html(i: &Inputs) -> String {
    let s = i.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Learned — {scene}</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}.best{{background:#dff3df}}.lost{{background:#f8dcdc}}</style></head><body>\n\
         <h1>Learned from the records: {scene}</h1>\n\
         <p>{rows} rows: {used} used, {malformed} malformed, {outside} outside the merged grid, \
         {unmapped} of unmapped categories; {weeks} weeks (the last {holdout} held out to score, \
         then everything refitted on all weeks). Methods and their reasons: docs/learn.md.</p>\n",
        scene = esc(&i.scene.manifest.name),
        rows = s["rows"],
        used = s["used"],
        malformed = s["malformed"],
        outside = s["outside_grid"],
        unmapped = s["unmapped"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum::<u64>()),
        weeks = i.weeks,
        holdout = s["holdout_weeks"],
    );
    out += "<h2>Held-out scores</h2>\n<p>Per type and over all (weighted by held-out incidents): \
            the Poisson log score per incident (higher is better), the PAI at 5 % and 10 % of the \
            area, and the coverage of 90 % intervals of hourly counts (0.9 is calibrated). \
            Forecasters: the model; baseline (a), the last four training weeks per cell spread \
            evenly over the hours; baseline (b), the scene's own catalogue. Green: the best; red: \
            the model where a baseline beats it.</p>\n<table><tr><th>type</th><th>held out</th>";
    for metric in ["log score", "PAI 5 %", "PAI 10 %", "coverage 90 %"] {
        for f in FORECASTERS {
            let _ = write!(out, "<th>{metric}<br>{f}</th>");
        }
    }
    out += "</tr>\n";
    let mut rows: Vec<(String, Value)> = s["types"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    rows.push(("all types".into(), s["holdout"].clone()));
    for (name, v) in &rows {
        let held = v
            .get("held_out_incidents")
            .or_else(|| v.get("incidents"))
            .cloned()
            .unwrap_or(Value::Null);
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", esc(name), held);
        for (metric, higher_better) in [
            ("log_score", true),
            ("pai_5pct", true),
            ("pai_10pct", true),
            ("coverage_90", true),
        ] {
            let values: Vec<Option<f64>> =
                FORECASTERS.iter().map(|f| v[metric][f].as_f64()).collect();
            // Coverage is best nearest 0.9, the others highest.
            let goodness = |x: f64| {
                if metric == "coverage_90" {
                    -(x - 0.9).abs()
                } else if higher_better {
                    x
                } else {
                    -x
                }
            };
            let best = values
                .iter()
                .flatten()
                .map(|x| goodness(*x))
                .fold(f64::NEG_INFINITY, f64::max);
            for (k, x) in values.iter().enumerate() {
                let class = match x {
                    Some(x) if goodness(*x) >= best => " class=\"best\"",
                    Some(x) if k == 0 && goodness(*x) < best => " class=\"lost\"",
                    _ => "",
                };
                let _ = write!(out, "<td{class}>{}</td>", cell(&v[metric][FORECASTERS[k]]));
            }
        }
        out += "</tr>\n";
    }
    out += "</table>\n";
    for (ty, h) in i.by_type {
        let Some(m) = i.models.get(ty) else { continue };
        let name = i
            .base
            .index_of(ty)
            .map_or(ty.clone(), |k| i.base.types[k].name.clone());
        let _ = write!(
            out,
            "<h2>{} <small>({})</small></h2>\n<p>{} events",
            esc(&name),
            esc(ty),
            m.events
        );
        if let Some(t) = &m.timing {
            let _ = write!(
                out,
                "; {:.2} per day; hour-of-week profile shrunk toward day of week × hour of day with κ = {} weeks",
                t.per_day, t.kappa
            );
        }
        if let Some(p) = m.ks_rescaled_p {
            let _ = write!(out, "; time-rescaling KS p = {p:.3}");
        }
        out += ".</p>\n";
        out += &week_profile(h, m, i.weeks);
        out += &density_map(i.scene, ty, m);
        for (what, fit, data) in [
            ("On-scene time", &m.on_scene, &h.on_scene_s),
            ("Report delay", &m.report_delay, &h.report_delay_s),
        ] {
            if let Some(fit) = fit {
                out += &qq(what, fit, data);
            }
        }
        if let Some(held) = i.holdouts.get(ty) {
            out += &pai_curve(held);
            out += &calibration(held);
        }
    }
    if let Some((counts, tides)) = i.crowd {
        out += "<h2>Crowd tides</h2>\n<p>Per people counter: the count per interval by hour of \
                the week — observed mean, and the fitted median, 95th and 99th percentiles \
                (negative binomial). A count above the 99th percentile for its hour of the week \
                is what the live twin's crowd rule calls a surge.</p>\n";
        for (site, t) in tides {
            out += &tide_plot(site, t, counts);
        }
    }
    out += "</body></html>\n";
    out
}

/// A site's tide: the fitted percentiles by hour of the week over the observed mean.
fn tide_plot(
    site: &str,
    t: &binjiang_learn::crowd::Tide,
    counts: &binjiang_learn::crowd::Counts,
) -> String {
    let n = counts.counts.iter().filter(|c| c.site == site).count();
    let top = t.p99.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    svg((960, 320), |root| {
        let mut c = chart(
            root,
            &format!(
                "{site}: {n} counts every {:.0} min; dispersion {}",
                t.interval_s / 60.0,
                t.dispersion
                    .map_or("none (Poisson)".into(), |k| format!("{k:.1}"))
            ),
            (0.0..WEEK_H as f64, 0.0..top),
            (
                "hour of the week (Monday 00:00 first)",
                "people per interval",
            ),
        )?;
        let series = |v: &[u32]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(h, x)| (h as f64 + 0.5, f64::from(*x)))
                .collect()
        };
        line(
            &mut c,
            t.mean.iter().enumerate().map(|(h, x)| (h as f64 + 0.5, *x)),
            RGBColor(160, 160, 160),
            "observed mean",
        )?;
        line(&mut c, series(&t.median), colour(0), "median")?;
        line(&mut c, series(&t.p95), colour(4), "95th percentile")?;
        line(&mut c, series(&t.p99), colour(1), "99th percentile")?;
        legend(&mut c, SeriesLabelPosition::UpperLeft)
    })
}

/// Observed mean count per hour of the week against the fitted rates.
fn week_profile(h: &TypeHistory, m: &TypeModel, weeks: usize) -> String {
    let Some(t) = &m.timing else {
        return String::new();
    };
    let counts = weekly_counts(&h.times_s, weeks);
    let observed: Vec<f64> = (0..WEEK_H)
        .map(|k| counts.iter().map(|w| f64::from(w[k])).sum::<f64>() / weeks.max(1) as f64)
        .collect();
    let top = observed
        .iter()
        .chain(&t.hour_of_week)
        .fold(0.0f64, |a, b| a.max(*b))
        .max(0.1)
        * 1.1;
    svg((960, 320), |root| {
        let mut c = chart(
            root,
            "Hour of the week (Monday 00:00 first): observed mean vs fitted",
            (0.0..WEEK_H as f64, 0.0..top),
            ("hour of the week", "incidents per hour"),
        )?;
        line(
            &mut c,
            observed
                .iter()
                .enumerate()
                .map(|(k, v)| (k as f64 + 0.5, *v)),
            RGBColor(160, 160, 160),
            "observed mean",
        )?;
        line(
            &mut c,
            t.hour_of_week
                .iter()
                .enumerate()
                .map(|(k, v)| (k as f64 + 0.5, *v)),
            colour(0),
            "fitted",
        )?;
        legend(&mut c, SeriesLabelPosition::UpperLeft)
    })
}

/// The grid's cells coloured by the fitted share (white to dark blue at the densest cell).
fn density_map(scene: &Scene, ty: &str, m: &TypeModel) -> String {
    let Some(d) = &m.density else {
        return String::new();
    };
    let top = d.share.iter().fold(0.0f64, |a, b| a.max(*b)).max(1e-12);
    let share: BTreeMap<&str, f64> = scene
        .grid
        .cells
        .iter()
        .zip(&d.share)
        .map(|(c, s)| (c.id.as_str(), *s))
        .collect();
    grid_map(
        &scene.grid,
        &format!(
            "Fitted density of {ty} per cell (darkest {:.1} %; kernel {:.0} m, raw weight {}, prior {})",
            top * 100.0,
            d.bandwidth_m,
            d.raw_weight,
            d.prior_weight
        ),
        |c| {
            share
                .get(c.id.as_str())
                .map(|s| mix((250, 250, 255), (0, 60, 140), (s / top).sqrt()))
        },
        |_| Ok(()),
    )
}

/// Observed quantiles against the fit's, minutes, with the diagonal.
fn qq(what: &str, fit: &Fit, data: &[f64]) -> String {
    let mut x: Vec<f64> = data
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let step = (n / 200).max(1);
    let points: Vec<(f64, f64)> = (0..n)
        .step_by(step)
        .map(|k| {
            (
                fit.quantile((k as f64 + 0.5) / n as f64) / 60.0,
                x[k] / 60.0,
            )
        })
        .collect();
    let top = points
        .iter()
        .map(|(a, b)| a.max(*b))
        .fold(0.0f64, f64::max)
        .max(0.1)
        * 1.05;
    svg((480, 380), |root| {
        let mut c = diagonal_chart(
            root,
            &format!(
                "{what}: QQ against the {:?} fit (KS p = {:.3})",
                fit.dist, fit.ks_p
            ),
            top,
            ("fitted quantile, min", "observed, min"),
            "y = x",
        )?;
        c.draw_series(
            points
                .iter()
                .map(|p| Circle::new(*p, 2, colour(0).filled())),
        )
        .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Hit rate against the share of the area flagged, per forecaster.
fn pai_curve(held: &Holdout) -> String {
    svg(SIZE, |root| {
        let mut c = diagonal_chart(
            root,
            "Held out: share of incidents in the top-ranked cells",
            1.0,
            ("share of the grid's area flagged", "hit rate"),
            "chance",
        )?;
        for (k, name) in FORECASTERS.iter().enumerate() {
            line(
                &mut c,
                std::iter::once((0.0, 0.0)).chain(
                    PAI_CURVE
                        .iter()
                        .zip(&held.pai_curve[k])
                        .map(|(a, h)| (*a, *h)),
                ),
                colour(k),
                name,
            )?;
        }
        legend(&mut c, SeriesLabelPosition::LowerRight)
    })
}

/// Held-out hours binned by expected count: mean expected against mean observed.
fn calibration(held: &Holdout) -> String {
    let top = held
        .calibration
        .iter()
        .flatten()
        .map(|(a, b)| a.max(*b))
        .fold(0.0f64, f64::max)
        .max(0.1)
        * 1.1;
    svg(SIZE, |root| {
        let mut c = diagonal_chart(
            root,
            "Held out: hourly counts, expected vs observed (deciles of the expected)",
            top,
            ("expected per hour", "observed per hour"),
            "calibrated",
        )?;
        for (k, name) in FORECASTERS.iter().enumerate() {
            line(&mut c, held.calibration[k].iter().copied(), colour(k), name)?;
        }
        legend(&mut c, SeriesLabelPosition::UpperLeft)
    })
}

/// A square chart from 0 to `top` on both axes with the diagonal drawn in grey and named
/// `diagonal` (perfect agreement: a QQ plot's y = x, chance, calibration).
fn diagonal_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    top: f64,
    axes: (&str, &str),
    diagonal: &str,
) -> Result<Chart<'a, 'b>, String> {
    let mut c = chart(root, title, (0.0..top, 0.0..top), axes)?;
    line(
        &mut c,
        [(0.0, 0.0), (top, top)],
        RGBColor(180, 180, 180),
        diagonal,
    )?;
    Ok(c)
}
