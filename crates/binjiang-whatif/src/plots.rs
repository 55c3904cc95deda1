//! The report's plots, as inline SVG (plotters' SVG backend: no font files, no network; text
//! is left to the browser): the response-time ECDF per arm with the 3-minute line, incidents
//! / queue / busy units per hour per arm, and each alternative's before/after scatter of the
//! same incidents (common random numbers pair them).

use crate::compare::{IncidentKey, Run};
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

fn colour(arm: usize) -> RGBColor {
    let (r, g, b) = ARM_RGB[arm % ARM_RGB.len()];
    RGBColor(r, g, b)
}

/// Plot size in pixels.
const SIZE: (u32, u32) = (720, 380);

/// Runs a plotters drawing into an SVG string; a drawing error leaves a note instead.
fn svg(
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    let mut out = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
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
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Report → every agency on site: share within x seconds",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..x_max, 0f64..1f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("seconds after the report")
            .y_desc("share of reported incidents")
            .draw()
            .map_err(|e| e.to_string())?;
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
            let c = colour(*arm);
            chart
                .draw_series(LineSeries::new(
                    points,
                    ShapeStyle::from(&c).stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(names[*arm].clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| e.to_string())
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
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..hours as f64, 0f64..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("hour from the start")
            .y_desc("mean per seed")
            .draw()
            .map_err(|e| e.to_string())?;
        for (arm, s) in &series {
            let c = colour(*arm);
            chart
                .draw_series(LineSeries::new(
                    s.iter().enumerate().map(|(h, v)| (h as f64 + 1.0, *v)),
                    ShapeStyle::from(&c).stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(names[*arm].clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| e.to_string())
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
    svg(|root| {
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
