//! `binjiang synth`: a synthetic district of any size, valid and simulatable, for scaling.
//!
//! A square grid city north of a river: streets every 200 m (every fifth an arterial), a
//! riverside promenade, four subdistrict strips merged into one grid, a bin at every
//! junction, sensors and piers along the river, one landmark per km², and units of the six
//! agencies patrolling single blocks (foot, bike) or 2×2 blocks (cars), round the clock.
//! The incident catalogue mirrors the Yangpu one, scaled to the requested daily total; the
//! live rules (`live.ron`) alarm on bin fill and manhole tilt, so the scene can be served.
//!
//! `--districts N` writes a city instead: N such districts side by side, each its own scene
//! folder under `--out` named after Shanghai's 16 districts (`huangpu`, `xuhui`, …; then
//! `district-17`, …), each a subject token for the bus — the whole chain (`serve --bus` per
//! district, `replay --to nats://`, `city`) at city scale on one machine.

use binjiang_scene::manifest::{AgencySpec, GridSpec};
use binjiang_scene::{Agency, LocalFrame, LonLat, Manifest, UnitSpec};
use geo::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const BLOCK_M: f64 = 200.0;
const ORIGIN: (f64, f64) = (121.5, 31.25);
const SOURCE: &str = "generated: binjiang synth";

/// Arguments of `binjiang synth`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Area of the district, km² (0.5 to 400).
    #[arg(long)]
    pub area_km2: f64,
    /// Number of patrol units.
    #[arg(long)]
    pub units: usize,
    /// Expected incidents per day.
    #[arg(long)]
    pub incidents_per_day: f64,
    /// Random seed for placements.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output scene folder (created); with --districts, the city folder holding one scene
    /// folder per district.
    #[arg(long)]
    pub out: PathBuf,
    /// Write a city of this many districts (each with the size, units and incidents given),
    /// instead of one district.
    #[arg(long)]
    pub districts: Option<usize>,
}

/// Shanghai's 16 districts, in the city's own order, as district names on the bus.
pub const SHANGHAI: [&str; 16] = [
    "huangpu",
    "xuhui",
    "changning",
    "jingan",
    "putuo",
    "hongkou",
    "yangpu",
    "minhang",
    "baoshan",
    "jiading",
    "pudong",
    "jinshan",
    "songjiang",
    "qingpu",
    "fengxian",
    "chongming",
];

/// The live rules every synthetic district gets.
const LIVE_RON: &str = r#"// Live-service rules written by `binjiang synth` (as tests/scenes/tiny-river/live.ron).
(
    utc_offset: "+08:00",
    sensors: [
        (
            asset_kind: "bin", quantity: "bin_fill", name: "Bin fill level",
            definition: "https://binjiang.example/def/bin_fill",
            unit: (name: "percent", symbol: "%", definition: "http://unitsofmeasure.org/ucum.html#para-29"),
            range: (0.0, 100.0), alarm_at: 90.0, clear_below: 60.0, incident_type: "bin_overflow",
        ),
        (
            asset_kind: "manhole", quantity: "cover_tilt", name: "Manhole cover tilt",
            definition: "https://binjiang.example/def/cover_tilt",
            unit: (name: "degree", symbol: "°", definition: "http://unitsofmeasure.org/ucum.html#para-30"),
            range: (0.0, 90.0), alarm_at: 5.0, clear_below: 2.0, incident_type: "manhole_displaced",
        ),
    ],
)
"#;

/// Agency shares of a unit fleet, and the mode mix per agency.
/// Sized so a day at the requested load is busy but workable (cleaners ride e-bike carts).
const FLEET: [(Agency, f64, &str); 6] = [
    (Agency::Police, 0.12, "car"),
    (Agency::MarketSupervision, 0.08, "bike"),
    (Agency::UrbanManagement, 0.22, "bike"),
    (Agency::Security, 0.12, "foot"),
    (Agency::Cleaning, 0.36, "bike"),
    (Agency::Property, 0.10, "bike"),
];

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !(0.5..=400.0).contains(&args.area_km2)
        || args.units < 6
        || args.incidents_per_day.is_nan()
        || args.incidents_per_day < 0.0
    {
        bail_usage!("need --area-km2 in [0.5, 400], --units ≥ 6 (one per agency) and --incidents-per-day ≥ 0");
    }
    let Some(count) = args.districts else {
        let city = City::new(args.area_km2, ORIGIN, 0, "");
        write_district(&city, args, args.seed, &args.out)?;
        return Ok(ExitCode::SUCCESS);
    };
    if !(1..=99).contains(&count) {
        bail_usage!("--districts {count}: need 1 to 99");
    }
    // Side by side, four to a row, 2 km apart.
    let side = City::new(args.area_km2, ORIGIN, 0, "").side;
    let step = side + 2000.0;
    for k in 0..count {
        let name = SHANGHAI
            .get(k)
            .map_or_else(|| format!("district-{:02}", k + 1), |n| (*n).to_owned());
        let frame = LocalFrame::new(ORIGIN.0, ORIGIN.1);
        let (lon, lat) = frame.to_wgs84(Coord {
            x: (k % 4) as f64 * step,
            y: (k / 4) as f64 * step,
        });
        let city = City::new(args.area_km2, (lon, lat), k + 1, &name);
        write_district(&city, args, args.seed + k as u64, &args.out.join(&name))?;
    }
    println!(
        "{}: a city of {count} districts (one scene folder each)",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes one district's scene folder.
fn write_district(city: &City, args: &Args, seed: u64, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    write(out, "subdistricts.geojson", city.subdistricts())?;
    write(out, "roads.geojson", city.roads())?;
    write(out, "water.geojson", city.water())?;
    write(out, "buildings.geojson", city.buildings())?;
    write(out, "assets.geojson", city.assets())?;
    std::fs::write(
        out.join("scene.ron"),
        city.manifest(args.units, &mut rng)
            .to_ron("Synthetic scene written by `binjiang synth` for scaling benchmarks.")?,
    )?;
    std::fs::write(
        out.join("incident_types.ron"),
        catalogue(args.incidents_per_day)?,
    )?;
    std::fs::write(out.join("live.ron"), LIVE_RON)?;
    println!(
        "{}: {} km², {} junctions, {} units, {} incidents/day",
        out.display(),
        args.area_km2,
        city.n * city.n,
        args.units,
        args.incidents_per_day
    );
    Ok(())
}

fn write(dir: &Path, name: &str, features: Vec<Value>) -> anyhow::Result<()> {
    let fc = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(dir.join(name), serde_json::to_string(&fc)? + "\n")?;
    Ok(())
}

struct City {
    frame: LocalFrame,
    /// Origin of the frame (the district's centre).
    origin: (f64, f64),
    /// The district's number in a city (0: a lone district); keeps codes apart.
    number: usize,
    /// Its name in a city.
    name: String,
    /// Junctions per side.
    n: usize,
    side: f64,
}

impl City {
    fn new(area_km2: f64, origin: (f64, f64), number: usize, name: &str) -> Self {
        let side = (area_km2 * 1e6).sqrt();
        let n = ((side / BLOCK_M).round() as usize).max(2) + 1;
        City {
            frame: LocalFrame::new(origin.0, origin.1),
            origin,
            number,
            name: name.to_owned(),
            n,
            side: (n - 1) as f64 * BLOCK_M,
        }
    }

    fn ll(&self, x: f64, y: f64) -> Value {
        let (lon, lat) = self.frame.to_wgs84(Coord {
            x: x - self.side / 2.0,
            y: y - self.side / 2.0,
        });
        json!([(lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7])
    }

    fn ll_pair(&self, x: f64, y: f64) -> LonLat {
        let v = self.ll(x, y);
        LonLat(v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0))
    }

    fn rect(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
        json!({"type": "Polygon", "coordinates": [[self.ll(x0, y0), self.ll(x1, y0), self.ll(x1, y1), self.ll(x0, y1), self.ll(x0, y0)]]})
    }

    fn point(&self, x: f64, y: f64) -> Value {
        json!({"type": "Point", "coordinates": self.ll(x, y)})
    }

    /// The official-looking code of subdistrict strip `i` (1..=4): 9 digits, apart per
    /// district of a city.
    fn code(&self, i: usize) -> String {
        format!("9{:02}00000{i}", self.number)
    }

    fn subdistricts(&self) -> Vec<Value> {
        let strips = 4;
        (0..strips)
            .map(|i| {
                let (x0, x1) = (self.side * i as f64 / strips as f64, self.side * (i + 1) as f64 / strips as f64);
                let geometry = self.rect(x0 - if i == 0 { 20.0 } else { 0.0 }, -20.0, x1 + if i == strips - 1 { 20.0 } else { 0.0 }, self.side + 20.0);
                json!({"type": "Feature", "geometry": geometry, "properties": {
                    "id": format!("strip-{i}"), "code": self.code(i + 1), "name": format!("Synthetic subdistrict {}", i + 1), "source": SOURCE}})
            })
            .collect()
    }

    fn roads(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let line = |pts: Vec<Value>| json!({"type": "LineString", "coordinates": pts});
        for j in 0..self.n {
            let y = j as f64 * BLOCK_M;
            let (class, modes) = if j == 0 {
                ("promenade", json!(["foot", "bike"]))
            } else if j % 5 == 0 {
                ("arterial", json!(["foot", "bike", "car"]))
            } else {
                ("street", json!(["foot", "bike", "car"]))
            };
            let pts = (0..self.n)
                .map(|i| self.ll(i as f64 * BLOCK_M, y))
                .collect();
            out.push(json!({"type": "Feature", "geometry": line(pts), "properties": {"id": format!("h{j}"), "class": class, "modes": modes, "source": SOURCE}}));
        }
        for i in 0..self.n {
            let x = i as f64 * BLOCK_M;
            let class = if i % 5 == 0 { "arterial" } else { "street" };
            let pts = (0..self.n)
                .map(|j| self.ll(x, j as f64 * BLOCK_M))
                .collect();
            out.push(json!({"type": "Feature", "geometry": line(pts), "properties": {"id": format!("v{i}"), "class": class, "source": SOURCE}}));
        }
        out
    }

    fn water(&self) -> Vec<Value> {
        vec![
            json!({"type": "Feature", "geometry": self.rect(-500.0, -600.0, self.side + 500.0, -20.0), "properties": {"id": "river", "name": "River", "source": SOURCE}}),
        ]
    }

    fn buildings(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let per_km = (1000.0 / BLOCK_M) as usize;
        for j in 0..self.n - 1 {
            for i in 0..self.n - 1 {
                let (x, y) = (i as f64 * BLOCK_M + 40.0, j as f64 * BLOCK_M + 40.0);
                let landmark = i % per_km == 2 && j % per_km == 2;
                let mut props = json!({"id": format!("b{i}-{j}"), "levels": 3 + (i * 7 + j * 3) % 15, "source": SOURCE});
                if landmark {
                    props["landmark"] = json!(true);
                    props["name"] = json!(format!("Landmark {i}-{j}"));
                }
                out.push(json!({"type": "Feature", "geometry": self.rect(x, y, x + 120.0, y + 120.0), "properties": props}));
            }
        }
        out
    }

    fn assets(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut add = |kind: &str, id: String, x: f64, y: f64| {
            out.push(json!({"type": "Feature", "geometry": self.point(x, y), "properties": {"id": id, "kind": kind, "source": SOURCE}}));
        };
        for j in 0..self.n {
            for i in 0..self.n {
                let (x, y) = (i as f64 * BLOCK_M, j as f64 * BLOCK_M);
                add("bin", format!("bin-{i}-{j}"), x + 8.0, y + 8.0);
                if (i + j) % 2 == 0 {
                    add(
                        "manhole",
                        format!("mh-{i}-{j}"),
                        x + 100.0_f64.min(self.side - x),
                        y,
                    );
                }
                if (i + 2 * j) % 7 == 0 {
                    add("electric_box", format!("ebox-{i}-{j}"), x + 15.0, y + 15.0);
                }
                if (i * 3 + j) % 11 == 0 {
                    add(
                        "dust_sensor",
                        format!("dust-{i}-{j}"),
                        x + 20.0,
                        y - 10.0_f64.min(y),
                    );
                }
            }
            if j == 0 {
                for i in 0..self.n {
                    add(
                        "water_sensor",
                        format!("ws-{i}"),
                        i as f64 * BLOCK_M + 50.0_f64.min(self.side - i as f64 * BLOCK_M),
                        5.0,
                    );
                    if i % 5 == 0 {
                        add("pier", format!("pier-{i}"), i as f64 * BLOCK_M, -10.0);
                    }
                }
            }
        }
        out
    }

    fn manifest(&self, units: usize, rng: &mut ChaCha8Rng) -> Manifest {
        let mut specs = Vec::with_capacity(units);
        for (fi, (agency, share, mode)) in FLEET.iter().enumerate() {
            let count = if fi == FLEET.len() - 1 {
                units - specs.len()
            } else {
                ((units as f64 * share).round() as usize).max(1)
            };
            for _ in 0..count {
                let span = if *mode == "car" { 2 } else { 1 };
                let i = rng.random_range(0..self.n - span) as f64 * BLOCK_M;
                let j = rng.random_range(0..self.n - span) as f64 * BLOCK_M;
                let d = span as f64 * BLOCK_M;
                let corners = [(i, j), (i + d, j), (i + d, j + d), (i, j + d)];
                let patrol: Vec<LonLat> =
                    corners.iter().map(|(x, y)| self.ll_pair(*x, *y)).collect();
                specs.push(UnitSpec {
                    id: format!("{agency}-{:05}", specs.len()),
                    agency: agency.key().to_owned(),
                    mode: (*mode).to_owned(),
                    home: patrol[0],
                    shift: "00:00-24:00".to_owned(),
                    patrol,
                });
            }
        }
        Manifest {
            name: if self.name.is_empty() {
                format!("Synthetic {:.1} km² district", self.side * self.side / 1e6)
            } else {
                let mut name = self.name.clone();
                name[..1].make_ascii_uppercase();
                format!("Synthetic {name} ({:.1} km²)", self.side * self.side / 1e6)
            },
            origin: LonLat(self.origin.0, self.origin.1),
            models_dir: "../../assets/models".to_owned(),
            grid: GridSpec {
                parts: (1..=4).map(|i| self.code(i)).collect(),
                cell_size_m: 100.0,
            },
            agencies: FLEET
                .iter()
                .map(|(a, _, _)| AgencySpec {
                    key: a.key().to_owned(),
                    name: format!("Synthetic {a}"),
                })
                .collect(),
            units: specs,
        }
    }
}

/// The standard catalogue, scaled to `per_day` incidents in total.
fn catalogue(per_day: f64) -> anyhow::Result<String> {
    use binjiang_sim::{catalogue::standard_mix, IncidentCatalogue, IncidentType};
    let types: Vec<IncidentType> = standard_mix()
        .into_iter()
        .map(|(t, share)| IncidentType {
            per_day: per_day * share,
            ..t
        })
        .collect();
    Ok(IncidentCatalogue::generated(types).to_ron(
        "Written by `binjiang synth`: the standard (Yangpu-like) types scaled to the requested daily total.",
    )?)
}
