//! OSM tags → the scene's vocabulary: road classes, modes and speeds, building heights,
//! water, and asset kinds (the table in README.md says the same).

use crate::elements::Tags;
use binjiang_scene::{AssetKind, Mode, RoadClass};

/// Height given to a building with neither `height` nor `building:levels`, metres (3 storeys).
pub const DEFAULT_BUILDING_HEIGHT_M: f64 = 9.6;

/// The value of `key`, if tagged.
pub fn get<'a>(tags: &'a Tags, key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A road from a `highway=*` way.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadTags {
    /// Scene class.
    pub class: RoadClass,
    /// Allowed modes.
    pub modes: Vec<Mode>,
    /// Speed limit, km/h.
    pub speed_kmh: f64,
    /// One-way for cars; `Reversed` when `oneway=-1`.
    pub oneway: Oneway,
    /// `name`, if any.
    pub name: Option<String>,
}

/// Direction rules for cars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oneway {
    /// Both ways.
    No,
    /// In the drawing direction.
    Forward,
    /// Against the drawing direction.
    Reversed,
}

/// The road a way's tags describe, or `None` when it is not a road people use.
pub fn road(tags: &Tags) -> Option<RoadTags> {
    let highway = get(tags, "highway")?;
    use Mode::*;
    let (class, mut modes) = match highway {
        "motorway" | "motorway_link" | "trunk" | "trunk_link" => (RoadClass::Arterial, vec![Car]),
        "primary" | "primary_link" | "secondary" | "secondary_link" => {
            (RoadClass::Arterial, vec![Foot, Bike, Car])
        }
        "tertiary" | "tertiary_link" | "residential" | "unclassified" | "living_street"
        | "road" => (RoadClass::Street, vec![Foot, Bike, Car]),
        "service" | "track" => (RoadClass::Lane, vec![Foot, Bike, Car]),
        "footway" | "path" | "pedestrian" | "cycleway" | "steps" | "bridleway" => {
            (RoadClass::Promenade, vec![Foot, Bike])
        }
        _ => return None,
    };
    if matches!(get(tags, "access"), Some("no" | "private"))
        || matches!(get(tags, "motor_vehicle"), Some("no"))
    {
        modes.retain(|m| *m != Car);
    }
    if get(tags, "foot") == Some("no") {
        modes.retain(|m| *m != Foot);
    }
    if get(tags, "bicycle") == Some("no") || highway == "steps" {
        modes.retain(|m| *m != Bike);
    }
    if modes.is_empty() {
        return None;
    }
    let oneway = match get(tags, "oneway") {
        Some("yes" | "true" | "1") => Oneway::Forward,
        Some("-1" | "reverse") => Oneway::Reversed,
        _ if matches!(get(tags, "junction"), Some("roundabout")) => Oneway::Forward,
        _ => Oneway::No,
    };
    let speed_kmh = get(tags, "maxspeed")
        .and_then(parse_speed)
        .unwrap_or(class.default_speed_kmh());
    Some(RoadTags {
        class,
        modes,
        speed_kmh,
        oneway,
        name: get(tags, "name").map(str::to_owned),
    })
}

fn parse_speed(v: &str) -> Option<f64> {
    let v = v.trim();
    let (n, mph) = match v.strip_suffix("mph") {
        Some(n) => (n.trim(), true),
        None => (v.trim_end_matches("km/h").trim(), false),
    };
    let n: f64 = n.parse().ok()?;
    let kmh = if mph { n * 1.609_344 } else { n };
    (kmh > 0.0 && kmh <= 130.0).then_some(kmh)
}

/// Whether a way or relation is a building.
pub fn is_building(tags: &Tags) -> bool {
    get(tags, "building").is_some_and(|v| v != "no")
}

/// A building's height: `height` (m), else `building:levels` × 3.2 m, else the default.
pub fn building_height(tags: &Tags) -> f64 {
    let metres =
        get(tags, "height").and_then(|h| h.trim().trim_end_matches('m').trim().parse::<f64>().ok());
    let levels = get(tags, "building:levels")
        .and_then(|l| l.trim().parse::<f64>().ok())
        .map(|l| l * binjiang_scene::layers::METRES_PER_LEVEL);
    metres
        .or(levels)
        .filter(|h| *h > 0.0 && *h <= 700.0)
        .unwrap_or(DEFAULT_BUILDING_HEIGHT_M)
}

/// Whether `historic=*` or `heritage=*` marks a heritage building.
pub fn is_heritage(tags: &Tags) -> bool {
    get(tags, "historic").is_some() || get(tags, "heritage").is_some()
}

/// Whether a way or relation is a water area.
pub fn is_water(tags: &Tags) -> bool {
    get(tags, "natural") == Some("water")
        || get(tags, "waterway") == Some("riverbank")
        || get(tags, "water") == Some("river")
}

/// The asset kind a node (or small way) stands for, by its tags.
pub fn asset(tags: &Tags) -> Option<AssetKind> {
    let is = |k: &str, v: &str| get(tags, k) == Some(v);
    Some(match () {
        _ if is("amenity", "waste_basket")
            || is("amenity", "waste_disposal")
            || is("amenity", "recycling") =>
        {
            AssetKind::Bin
        }
        _ if is("man_made", "surveillance") => AssetKind::Camera,
        _ if get(tags, "manhole").is_some() || is("man_made", "manhole") => AssetKind::Manhole,
        _ if is("amenity", "police") => AssetKind::ServiceStation,
        _ if is("amenity", "toilets") => AssetKind::Toilet,
        _ if is("man_made", "pier") || is("amenity", "ferry_terminal") => AssetKind::Pier,
        _ if is("emergency", "fire_hydrant") => AssetKind::Hydrant,
        _ if is("man_made", "street_cabinet") || is("power", "substation") => {
            AssetKind::ElectricBox
        }
        _ if is("highway", "bus_stop") => AssetKind::ShuttleStop,
        _ if is("man_made", "monitoring_station") => AssetKind::WaterSensor,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn roads_get_class_modes_speed_and_direction() {
        let r = road(&t(&[("highway", "footway")])).unwrap();
        assert_eq!(
            (r.class, r.modes.clone()),
            (RoadClass::Promenade, vec![Mode::Foot, Mode::Bike])
        );
        let r = road(&t(&[
            ("highway", "residential"),
            ("oneway", "-1"),
            ("maxspeed", "20 mph"),
        ]))
        .unwrap();
        assert_eq!(r.oneway, Oneway::Reversed);
        assert!((r.speed_kmh - 32.187).abs() < 0.01);
        assert!(road(&t(&[("highway", "proposed")])).is_none());
        assert!(!road(&t(&[("highway", "service"), ("access", "private")]))
            .unwrap()
            .modes
            .contains(&Mode::Car));
    }

    #[test]
    fn building_heights_follow_the_stated_rule() {
        assert_eq!(building_height(&t(&[("height", "12 m")])), 12.0);
        assert!((building_height(&t(&[("building:levels", "5")])) - 16.0).abs() < 1e-9);
        assert_eq!(
            building_height(&t(&[("building", "yes")])),
            DEFAULT_BUILDING_HEIGHT_M
        );
        assert!(is_heritage(&t(&[("historic", "building")])));
    }

    #[test]
    fn assets_by_tag() {
        assert_eq!(
            asset(&t(&[("amenity", "waste_basket")])),
            Some(AssetKind::Bin)
        );
        assert_eq!(
            asset(&t(&[("man_made", "surveillance")])),
            Some(AssetKind::Camera)
        );
        assert_eq!(
            asset(&t(&[("amenity", "police")])),
            Some(AssetKind::ServiceStation)
        );
        assert_eq!(asset(&t(&[("amenity", "bench")])), None);
    }
}
