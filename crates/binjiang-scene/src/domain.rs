//! The scene's vocabularies: agencies, travel modes, road classes and asset kinds.
//!
//! Scene files spell these as snake_case strings; parsing them here gives one clear error
//! for an unknown word instead of a serde message about enum variants.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The snake_case word used in scene files.
            pub fn key(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the snake_case word used in scene files.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted words, comma-separated, for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.key()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.key())
            }
        }
    };
}

vocabulary! {
    /// The six forces of the joint control room: the "3" that share one office and the "X"
    /// brought under the same command.
    Agency {
        /// Public security (110).
        Police = "police",
        /// Market supervision: licensing, food safety, vending.
        MarketSupervision = "market_supervision",
        /// Urban management (城管): city appearance, street order.
        UrbanManagement = "urban_management",
        /// Security guards of the core area.
        Security = "security",
        /// Cleaning staff.
        Cleaning = "cleaning",
        /// Property-management staff (facilities, covers, boxes).
        Property = "property",
    }
}

vocabulary! {
    /// How a unit or a traveller moves over the road network.
    Mode {
        /// On foot.
        Foot = "foot",
        /// Bicycle or e-bike.
        Bike = "bike",
        /// Car or van.
        Car = "car",
    }
}

vocabulary! {
    /// What kind of way a road is, which sets its defaults for modes and speed.
    RoadClass {
        /// A main road (Yangshupu Road, Pingliang Road).
        Arterial = "arterial",
        /// An ordinary city street.
        Street = "street",
        /// A lane or access road.
        Lane = "lane",
        /// The riverside walkway: foot and bike only.
        Promenade = "promenade",
    }
}

vocabulary! {
    /// Kinds of street furniture and sensors the control room watches.
    AssetKind {
        /// Litter bin (overflow sensor).
        Bin = "bin",
        /// Manhole cover (displacement sensor).
        Manhole = "manhole",
        /// Electricity box (door sensor).
        ElectricBox = "electric_box",
        /// Standing-water sensor.
        WaterSensor = "water_sensor",
        /// Road-dust sensor.
        DustSensor = "dust_sensor",
        /// CCTV camera.
        Camera = "camera",
        /// Public service station (驿站 / party-and-public service station).
        ServiceStation = "service_station",
        /// Pier or ferry landing.
        Pier = "pier",
        /// Public toilet.
        Toilet = "toilet",
        /// Fire hydrant.
        Hydrant = "hydrant",
        /// Sightseeing-vehicle stop.
        ShuttleStop = "shuttle_stop",
        /// People counter (a camera counting passers-by per interval): the crowd's tide.
        PeopleCounter = "people_counter",
    }
}

impl Mode {
    /// Cruising speed of a unit in this mode, metres per second, before road limits.
    pub fn speed_mps(self) -> f64 {
        match self {
            Mode::Foot => 1.3,
            Mode::Bike => 4.2,
            Mode::Car => 8.3,
        }
    }
}

impl RoadClass {
    /// Modes allowed when the feature does not say.
    pub fn default_modes(self) -> &'static [Mode] {
        match self {
            RoadClass::Promenade => &[Mode::Foot, Mode::Bike],
            _ => &[Mode::Foot, Mode::Bike, Mode::Car],
        }
    }

    /// Speed limit in km/h when the feature does not say.
    pub fn default_speed_kmh(self) -> f64 {
        match self {
            RoadClass::Arterial => 40.0,
            RoadClass::Street => 30.0,
            RoadClass::Lane => 15.0,
            RoadClass::Promenade => 10.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for a in Agency::ALL {
            assert_eq!(Agency::parse(a.key()), Some(*a));
        }
        assert_eq!(
            AssetKind::parse("electric_box"),
            Some(AssetKind::ElectricBox)
        );
        assert_eq!(RoadClass::parse("motorway"), None);
        assert!(Agency::expected().contains("market_supervision"));
    }
}
