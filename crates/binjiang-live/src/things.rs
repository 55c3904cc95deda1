//! The district as SensorThings sees it: every sensing asset of the scene is a Thing at its
//! Location, with one Datastream of the quantity its kind measures (`live.ron`), one Sensor
//! and one ObservedProperty per kind. Ids are stable: they follow the scene's asset order, so
//! a gateway configured once keeps working across restarts.

use crate::config::{LiveConfig, SensorRule};
use binjiang_scene::{AssetKind, Scene};

/// One sensing asset: a Thing with its Location and Datastream (all three share its id).
#[derive(Debug, Clone)]
pub struct Thing {
    /// `@iot.id` of the Thing, its Location and its Datastream (1-based).
    pub id: u64,
    /// The scene's asset id.
    pub asset_id: String,
    /// Its kind.
    pub kind: AssetKind,
    /// Its name in the scene, if any.
    pub name: Option<String>,
    /// WGS84 longitude, latitude.
    pub lon_lat: (f64, f64),
    /// Index of its rule (and of its Sensor and ObservedProperty, id = index + 1).
    pub rule: usize,
}

/// Every Thing of a scene, with the rules behind their Datastreams.
#[derive(Debug, Clone)]
pub struct Things {
    /// By id − 1.
    pub things: Vec<Thing>,
    /// The rules, by index.
    pub rules: Vec<SensorRule>,
}

impl Things {
    /// The Things of `scene` under `config`'s rules.
    pub fn of_scene(scene: &Scene, config: &LiveConfig) -> Self {
        let rules: Vec<SensorRule> = config.rules.iter().map(|(_, r)| r.clone()).collect();
        let things = scene
            .assets
            .iter()
            .filter_map(|a| {
                let rule = config.rules.iter().position(|(k, _)| *k == a.kind)?;
                Some((a, rule))
            })
            .enumerate()
            .map(|(i, (a, rule))| Thing {
                id: i as u64 + 1,
                asset_id: a.id.clone(),
                kind: a.kind,
                name: a.name.clone(),
                lon_lat: scene.frame.to_wgs84(a.position.0),
                rule,
            })
            .collect();
        Things { things, rules }
    }

    /// Thing (and Datastream) `id`.
    pub fn get(&self, id: u64) -> Option<&Thing> {
        id.checked_sub(1)
            .and_then(|i| self.things.get(usize::try_from(i).ok()?))
    }

    /// The rule of Datastream `id`.
    pub fn rule_of(&self, id: u64) -> Option<&SensorRule> {
        self.get(id).map(|t| &self.rules[t.rule])
    }

    /// How many Things (and Datastreams).
    pub fn len(&self) -> usize {
        self.things.len()
    }

    /// Whether the scene has no sensing assets.
    pub fn is_empty(&self) -> bool {
        self.things.is_empty()
    }
}
