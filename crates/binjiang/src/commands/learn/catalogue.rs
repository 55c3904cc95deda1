//! The learned catalogue: the scene's incident catalogue with each learned type's rate,
//! hour-of-week profile, cells and durations replaced by what the records say — the file
//! `simulate --catalogue`, a what-if scenario's `catalogue:` and `serve --catalogue` take —
//! and the scene's own catalogue as a forecast (baseline (b) of the held-out scores).

use super::round;
use binjiang_learn::durations::{Family, Fit};
use binjiang_learn::model::TypeModel;
use binjiang_learn::WEEK_H;
use binjiang_scene::Scene;
use binjiang_sim::catalogue::{Fitted, Origin};
use binjiang_sim::IncidentCatalogue;
use std::collections::BTreeMap;

/// Cell weights below this are left out of a learned `Cells` origin (the density's floor
/// spreads a little over every cell; a catalogue need not list them all).
const MIN_CELL_WEIGHT: f64 = 1e-4;

/// A fitted duration in `unit` seconds (60 for minutes) as the catalogue's form.
fn fitted(fit: &Fit, unit: f64) -> Fitted {
    match fit.dist {
        Family::Lognormal => Fitted::LogNormal {
            median: fit.a.exp() / unit,
            sigma: fit.b,
        },
        Family::Gamma => Fitted::Gamma {
            shape: fit.a,
            mean: fit.a / fit.b / unit,
        },
    }
}

/// `base` with every learned type of `models` replaced where the records carried it: the
/// rate and hour-of-week profile (its 24-hour profile the mean over the days), the cells
/// weighted by the learned density, the fitted on-scene time (minutes) and report delay
/// (seconds). A type the records do not have keeps the scene's estimate. Returns the
/// catalogue and, per type, what was learned ("rate", "cells", "on_scene", "report_delay").
pub fn learned(
    base: &IncidentCatalogue,
    models: &BTreeMap<String, TypeModel>,
    scene: &Scene,
) -> (IncidentCatalogue, BTreeMap<String, Vec<&'static str>>) {
    let mut catalogue = base.clone();
    let mut what = BTreeMap::new();
    for t in &mut catalogue.types {
        let Some(m) = models.get(&t.key) else {
            continue;
        };
        let mut learned = Vec::new();
        if let Some(timing) = &m.timing {
            t.per_day = round(timing.per_day, 4);
            let mut daily = [0.0; 24];
            for (h, v) in timing.hour_of_week.iter().enumerate() {
                daily[h % 24] += v / 7.0;
            }
            if daily.iter().sum::<f64>() > 0.0 {
                t.profile = daily.iter().map(|v| round(*v, 5)).collect();
                t.week_profile = Some(timing.hour_of_week.iter().map(|v| round(*v, 5)).collect());
                learned.push("rate");
            }
        }
        if let Some(density) = &m.density {
            let cells: BTreeMap<String, f64> = scene
                .grid
                .cells
                .iter()
                .zip(&density.share)
                .filter(|(_, s)| **s >= MIN_CELL_WEIGHT)
                .map(|(c, s)| (c.id.clone(), round(*s, 6)))
                .collect();
            if !cells.is_empty() {
                t.origin = Origin::Cells(cells);
                learned.push("cells");
            }
        }
        if let Some(fit) = &m.on_scene {
            t.on_scene_fit_min = Some(fitted(fit, 60.0));
            learned.push("on_scene");
        }
        if let Some(fit) = &m.report_delay {
            t.report_delay_fit_s = Some(fitted(fit, 1.0));
            learned.push("report_delay");
        }
        what.insert(t.key.clone(), learned);
    }
    (catalogue, what)
}

/// The scene's catalogue as a forecast of type `key` over `hours` hours from a Monday 00:00:
/// its hourly rate times each cell's share, [hour][cell], with 1 % of the rate spread evenly
/// so that a cell the catalogue never places an incident in is unlikely, not impossible
/// (the log score is undefined otherwise). `shares` are the type's cell shares as the
/// catalogue places it ([`IncidentCatalogue::cell_shares`], computed once by the caller).
/// `None` for a type the catalogue lacks.
pub fn forecast(
    catalogue: &IncidentCatalogue,
    key: &str,
    shares: &[f64],
    hours: usize,
) -> Option<Vec<Vec<f64>>> {
    let ti = catalogue.index_of(key)?;
    let n = shares.len().max(1) as f64;
    let share: Vec<f64> = shares.iter().map(|s| 0.99 * s + 0.01 / n).collect();
    Some(
        (0..hours)
            .map(|h| {
                let rate = catalogue.hourly_rate(ti, 0, (h % WEEK_H) as u32);
                share.iter().map(|s| rate * s).collect()
            })
            .collect(),
    )
}
