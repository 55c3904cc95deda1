//! Incidents as a history records them, folded from the event log: when each arose (its
//! place and type), was reported, first reached and closed. The live twin's log (`learn
//! --from-db`) and a simulated run (`simulate --history-out`) give histories this way.

use binjiang_learn::Record;
use binjiang_scene::LocalFrame;
use binjiang_sim::{Event, What};
use std::collections::BTreeMap;

/// Folds events into records, one per incident.
pub struct Recorder {
    records: BTreeMap<u32, Record>,
    epoch_ms: i64,
    frame: LocalFrame,
}

impl Recorder {
    /// Records of a log whose time 0 is Unix ms `epoch_ms`, positions through `frame`.
    pub fn new(epoch_ms: i64, frame: LocalFrame) -> Self {
        Recorder {
            records: BTreeMap::new(),
            epoch_ms,
            frame,
        }
    }

    /// Takes one event.
    pub fn take(&mut self, e: &Event) {
        let at = self.epoch_ms + (e.t * 1000.0).round() as i64;
        match &e.what {
            What::Arose {
                incident,
                incident_type,
                agencies,
                external_id,
                ..
            } => {
                let (lon, lat) = self.frame.to_wgs84(geo::Coord { x: e.x, y: e.y });
                let agency = agencies
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join("+");
                self.records.insert(
                    *incident,
                    Record {
                        line: 0,
                        time_ms: at,
                        incident_type: incident_type.to_string(),
                        lon,
                        lat,
                        reported_ms: None,
                        arrived_ms: None,
                        cleared_ms: None,
                        agency: Some(agency),
                        external_id: external_id.as_ref().map(|x| x.to_string()),
                    },
                );
            }
            What::Reported { incident, .. } => {
                if let Some(r) = self.records.get_mut(incident) {
                    r.reported_ms.get_or_insert(at);
                }
            }
            What::Arrived { incident, .. } => {
                if let Some(r) = self.records.get_mut(incident) {
                    r.arrived_ms.get_or_insert(at);
                }
            }
            What::Closed { incident, .. } => {
                if let Some(r) = self.records.get_mut(incident) {
                    r.cleared_ms = Some(at);
                }
            }
            _ => {}
        }
    }

    /// The records, in incident order.
    pub fn into_records(self) -> Vec<Record> {
        self.records.into_values().collect()
    }
}
