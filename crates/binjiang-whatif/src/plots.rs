//! The report's plots, as inline SVG (plotters' SVG backend: no font files, no network; text
//! is left to the browser): the response-time ECDF per arm with the 3-minute line, incidents
//! / queue / busy units per hour per arm, and each alternative's before/after scatter of the
//! same incidents (common random numbers pair them).

use crate::compare::{IncidentKey, Run};
use binjiang_scene::{GridCell, MergedGrid};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::collections::HashMap;

/// Arm colours (Okabe–Ito, as the wall's palette).
const ARM_RGB: [(u8, u8, u8); 6] = [
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
];

/// The colour of arm (or series) `arm`.
pub fn colour(arm: usize) -> RGBColor {
    let (r, g, b) = ARM_RGB[arm % ARM_RGB.len()];
    RGBColor(r, g, b)
}

/// Plot size in pixels.
pub const SIZE: (u32, u32) = (720, 380);

/// Runs a plotters drawing of `size` pixels into an SVG string; a drawing error leaves a note
/// instead.
pub fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    let mut out = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|_| draw(&root))
            .and_then(|_| root.present().map_err(|e| e.to_string()))
    };
    match result {
        Ok(()) => out,
        Err(e) => format!("<p>(plot not drawn: {e})</p>"),
    }
}

/// A chart of lines in `x` × `y` with a title and axis names.
pub type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart on `root` with a title, the ranges and the axes' names.
pub fn chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
    (x_desc, y_desc): (&str, &str),
) -> Result<Chart<'a, 'b>, String> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// One labelled line of width 2 in colour `c`.
pub fn line<'b: 'a, 'a>(
    chart: &mut Chart<'a, 'b>,
    points: impl IntoIterator<Item = (f64, f64)>,
    c: RGBColor,
    label: &str,
) -> Result<(), String> {
    chart
        .draw_series(LineSeries::new(
            points,
            ShapeStyle::from(&c).stroke_width(2),
        ))
        .map_err(|e| e.to_string())?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    Ok(())
}

/// The lines' legend at `at`.
pub fn legend<'b: 'a, 'a>(
    chart: &mut Chart<'a, 'b>,
    at: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(|e| e.to_string())
}

/// The share of each arm's reported incidents with every agency on site within x seconds.
pub fn ecdf(names: &[String], runs: &[Run]) -> String {
    let curves: Vec<(usize, Vec<f64>, usize)> = (0..names.len())
        .map(|arm| {
            let mut times: Vec<f64> = runs
                .iter()
                .filter(|r| r.arm == arm)
                .flat_map(|r| r.incidents.iter().filter_map(|i| i.response_s))
                .collect();
            let total = runs
                .iter()
                .filter(|r| r.arm == arm)
                .map(|r| r.incidents.len())
                .sum();
            times.sort_by(f64::total_cmp);
            (arm, times, total)
        })
        .collect();
    let x_max = curves
        .iter()
        .filter_map(|(_, t, _)| t.get(t.len() * 95 / 100).copied())
        .fold(600.0f64, f64::max)
        .min(3600.0);
    svg(SIZE, |root| {
        let mut chart = chart(
            root,
            "Report → every agency on site: share within x seconds",
            (0f64..x_max, 0f64..1f64),
            ("seconds after the report", "share of reported incidents"),
        )?;
        chart
            .draw_series(LineSeries::new(
                [(180.0, 0.0), (180.0, 1.0)],
                ShapeStyle::from(&BLACK.mix(0.5)).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?
            .label("3 minutes")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.5)));
        for (arm, times, total) in &curves {
            let n = (*total).max(1) as f64;
            let mut points = vec![(0.0, 0.0)];
            for (i, t) in times.iter().enumerate() {
                points.push((*t, i as f64 / n));
                points.push((*t, (i + 1) as f64 / n));
            }
            points.push((x_max, times.len() as f64 / n));
            line(&mut chart, points, colour(*arm), &names[*arm])?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Mean per seed of one hourly figure, summed over agencies, one line per arm.
pub fn hourly(
    title: &str,
    names: &[String],
    runs: &[Run],
    figure: fn(&crate::compare::HourSample) -> usize,
) -> String {
    let series: Vec<(usize, Vec<f64>)> = (0..names.len())
        .map(|arm| {
            let of_arm: Vec<&Run> = runs.iter().filter(|r| r.arm == arm).collect();
            let hours = of_arm.iter().map(|r| r.hourly.len()).max().unwrap_or(0);
            let mean = (0..hours)
                .map(|h| {
                    of_arm
                        .iter()
                        .filter_map(|r| r.hourly.get(h).map(figure))
                        .sum::<usize>() as f64
                        / of_arm.len().max(1) as f64
                })
                .collect();
            (arm, mean)
        })
        .collect();
    let hours = series
        .iter()
        .map(|(_, s)| s.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let y_max = series
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .fold(1.0f64, f64::max)
        * 1.1;
    svg(SIZE, |root| {
        let mut chart = chart(
            root,
            title,
            (0f64..hours as f64, 0f64..y_max),
            ("hour from the start", "mean per seed"),
        )?;
        for (arm, s) in &series {
            let points = s.iter().enumerate().map(|(h, v)| (h as f64 + 1.0, *v));
            line(&mut chart, points, colour(*arm), &names[*arm])?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// Each base incident's response against the same incident's under alternative `alt`.
pub fn scatter(names: &[String], runs: &[Run], alt: usize) -> String {
    let base: HashMap<(u64, &IncidentKey), f64> = runs
        .iter()
        .filter(|r| r.arm == 0)
        .flat_map(|r| {
            r.incidents
                .iter()
                .filter_map(move |i| Some(((r.seed, &i.key), i.response_s?)))
        })
        .collect();
    let points: Vec<(f64, f64)> = runs
        .iter()
        .filter(|r| r.arm == alt)
        .flat_map(|r| {
            let base = &base;
            r.incidents
                .iter()
                .filter_map(move |i| Some((*base.get(&(r.seed, &i.key))?, i.response_s?)))
        })
        .collect();
    let max = points
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .fold(300.0f64, f64::max)
        .min(3600.0);
    let c = colour(alt);
    svg(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "The same incidents: {} against {} (seconds)",
                    names[alt], names[0]
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..max, 0f64..max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(format!("response under {}", names[0]))
            .y_desc(format!("under {}", names[alt]))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (max, max)], BLACK.mix(0.4)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(*p, 2, ShapeStyle::from(&c.mix(0.6)).filled())),
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// p90 (nearest rank) of the reached responses per grid cell for `arm`, pooled over seeds.
fn cell_p90(runs: &[Run], arm: usize) -> HashMap<String, f64> {
    let mut per: HashMap<String, Vec<f64>> = HashMap::new();
    for r in runs.iter().filter(|r| r.arm == arm) {
        for i in &r.incidents {
            if let (Some(c), Some(t)) = (&i.cell, i.response_s) {
                per.entry(c.clone()).or_default().push(t);
            }
        }
    }
    per.into_iter()
        .map(|(c, mut v)| {
            v.sort_by(f64::total_cmp);
            let k = ((v.len() as f64 * 0.9).ceil() as usize).clamp(1, v.len()) - 1;
            (c, v[k])
        })
        .collect()
}

/// Mixes two colours, `t` in 0..=1.
pub fn mix(a: (u8, u8, u8), b: (u8, u8, u8), t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let f = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    RGBColor(f(a.0, b.0), f(a.1, b.1), f(a.2, b.2))
}

/// The grid's cells coloured by p90 response under the base (`alt` = `None`: light yellow
/// at 60 s to dark red at 600 s and more), or by its change under alternative `alt` (blue:
/// faster, red: slower, full at ±300 s), with the alternative's closed roads drawn.
pub fn cell_map(arms: &[crate::Scenario], runs: &[Run], alt: Option<usize>) -> String {
    let Some(base) = arms.first() else {
        return String::new();
    };
    let base_p90 = cell_p90(runs, 0);
    let alt_p90 = alt.map(|k| cell_p90(runs, k));
    let title = match alt {
        None => format!(
            "p90 response per grid cell under {} (yellow 60 s … dark red ≥ 600 s)",
            base.name
        ),
        Some(k) => format!(
            "Change of p90 per cell under {} (blue faster, red slower, ±300 s); closed roads red",
            arms[k].name
        ),
    };
    let fill = |cell: &GridCell| match &alt_p90 {
        None => base_p90
            .get(&cell.id)
            .map(|p| mix((255, 240, 170), (150, 0, 20), (p - 60.0) / 540.0)),
        Some(a) => match (base_p90.get(&cell.id), a.get(&cell.id)) {
            (Some(b), Some(x)) => {
                let d = (x - b) / 300.0;
                Some(if d >= 0.0 {
                    mix((245, 245, 245), (200, 30, 30), d)
                } else {
                    mix((245, 245, 245), (30, 90, 200), -d)
                })
            }
            _ => None,
        },
    };
    grid_map(&base.scene.grid, &title, fill, |chart| {
        if let Some(k) = alt {
            for change in &arms[k].network {
                for r in &change.closed_roads {
                    if let Some(road) = base.scene.roads.get(*r as usize) {
                        chart
                            .draw_series(LineSeries::new(
                                road.line.0.iter().map(|c| (c.x, c.y)),
                                ShapeStyle::from(&RGBColor(237, 41, 41)).stroke_width(3),
                            ))
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
        }
        Ok(())
    })
}

/// The grid's cells, in local metres, each filled with `fill`'s colour (light grey where it
/// has none), under `title`; `overlay` draws on top (closed roads, sites).
pub fn grid_map(
    grid: &MergedGrid,
    title: &str,
    fill: impl Fn(&GridCell) -> Option<RGBColor>,
    overlay: impl FnOnce(&mut Chart) -> Result<(), String>,
) -> String {
    let (Some(min_x), Some(max_x), Some(min_y), Some(max_y)) = (
        grid.cells.iter().map(|c| c.square.min().x).reduce(f64::min),
        grid.cells.iter().map(|c| c.square.max().x).reduce(f64::max),
        grid.cells.iter().map(|c| c.square.min().y).reduce(f64::min),
        grid.cells.iter().map(|c| c.square.max().y).reduce(f64::max),
    ) else {
        return String::new();
    };
    let width = 860u32;
    let height =
        ((f64::from(width) * (max_y - min_y) / (max_x - min_x)) as u32 + 60).clamp(220, 860);
    svg((width, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .build_cartesian_2d(min_x..max_x, min_y..max_y)
            .map_err(|e| e.to_string())?;
        for cell in &grid.cells {
            let (lo, hi) = (cell.square.min(), cell.square.max());
            let colour = fill(cell).unwrap_or(RGBColor(238, 238, 238));
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(lo.x, lo.y), (hi.x, hi.y)],
                    colour.filled(),
                )))
                .map_err(|e| e.to_string())?;
        }
        overlay(&mut chart)
    })
}

/// Agency colours (the wall's Okabe–Ito palette), in `Agency::ALL` order.
const AGENCY_RGB: [(u8, u8, u8); 6] = [
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (240, 228, 66),
    (86, 180, 233),
    (204, 121, 167),
];

/// Mean per seed of one hourly figure of arm `arm`, one line per agency.
pub fn hourly_by_agency(
    title: &str,
    names: &[String],
    runs: &[Run],
    arm: usize,
    figure: fn(&crate::compare::HourSample) -> [usize; 6],
) -> String {
    let of_arm: Vec<&Run> = runs.iter().filter(|r| r.arm == arm).collect();
    let hours = of_arm.iter().map(|r| r.hourly.len()).max().unwrap_or(0);
    let series: Vec<Vec<f64>> = (0..6)
        .map(|k| {
            (0..hours)
                .map(|h| {
                    of_arm
                        .iter()
                        .filter_map(|r| r.hourly.get(h).map(|x| figure(x)[k]))
                        .sum::<usize>() as f64
                        / of_arm.len().max(1) as f64
                })
                .collect()
        })
        .collect();
    let y_max = series
        .iter()
        .flat_map(|s| s.iter().copied())
        .fold(1.0f64, f64::max)
        * 1.1;
    svg(SIZE, |root| {
        let mut chart = chart(
            root,
            &format!("{title} — {}", names[arm]),
            (0f64..hours.max(1) as f64, 0f64..y_max),
            ("hour from the start", "mean per seed"),
        )?;
        for (k, s) in series.iter().enumerate() {
            let (r, g, b) = AGENCY_RGB[k];
            let points = s.iter().enumerate().map(|(h, v)| (h as f64 + 1.0, *v));
            line(
                &mut chart,
                points,
                RGBColor(r, g, b),
                binjiang_scene::Agency::ALL[k].key(),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}
