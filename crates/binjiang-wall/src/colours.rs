//! The wall's palette: dark, calm background; agency colours from the Okabe–Ito set, which
//! stays distinguishable for the common forms of colour blindness; incident priorities in
//! hot colours that nothing else on the wall uses.

use bevy::prelude::Color;
use binjiang_scene::{Agency, AssetKind, RoadClass};

/// sRGB bytes of an agency's marker colour.
pub fn agency_rgb(a: Agency) -> [u8; 3] {
    match a {
        Agency::Police => [0, 114, 178],
        Agency::MarketSupervision => [230, 159, 0],
        Agency::UrbanManagement => [0, 158, 115],
        Agency::Security => [240, 228, 66],
        Agency::Cleaning => [86, 180, 233],
        Agency::Property => [204, 121, 167],
    }
}

/// sRGB bytes of an incident marker by priority (1 urgent … 4 routine).
pub fn priority_rgb(priority: u8) -> [u8; 3] {
    match priority {
        1 => [255, 45, 85],
        2 => [255, 110, 20],
        3 => [255, 214, 10],
        _ => [235, 235, 235],
    }
}

/// Water, unlit so a screenshot test can find it.
pub const WATER_RGB: [u8; 3] = [22, 58, 92];
/// Ground.
pub const GROUND_RGB: [u8; 3] = [30, 33, 38];
/// Generated buildings.
pub const BUILDING_RGB: [u8; 3] = [120, 126, 134];
/// Heritage buildings.
pub const HERITAGE_RGB: [u8; 3] = [176, 120, 92];
/// Other named landmarks.
pub const LANDMARK_RGB: [u8; 3] = [196, 200, 210];
/// The merged grid's outline.
pub const GRID_RGB: [u8; 3] = [0, 200, 200];
/// A road a scenario closes, while closed.
pub const CLOSED_RGB: [u8; 3] = [237, 41, 41];
/// An area where a scenario brings more incidents, while it does.
pub const SURGE_RGB: [u8; 3] = [255, 184, 26];

/// Road surface colour by class.
pub fn road_rgb(c: RoadClass) -> [u8; 3] {
    match c {
        RoadClass::Arterial => [92, 96, 104],
        RoadClass::Street => [72, 76, 84],
        RoadClass::Lane => [60, 63, 70],
        RoadClass::Promenade => [150, 128, 92],
    }
}

/// Asset glyph colour by kind (muted: assets are context, not alarms).
pub fn asset_rgb(k: AssetKind) -> [u8; 3] {
    match k {
        AssetKind::Camera => [150, 150, 220],
        AssetKind::ServiceStation => [255, 255, 255],
        AssetKind::Pier => [200, 200, 160],
        AssetKind::WaterSensor | AssetKind::DustSensor => [120, 200, 200],
        _ => [110, 140, 120],
    }
}

/// A Bevy colour from sRGB bytes.
pub fn color(rgb: [u8; 3]) -> Color {
    Color::srgb_u8(rgb[0], rgb[1], rgb[2])
}
