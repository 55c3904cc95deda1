//! The words an incident is described with on the wire: how it came to the control room
//! and why an operator cancelled it. Shared by the dispatch core and its clients.

use serde::{Deserialize, Serialize};

/// How an incident comes to the control room's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An IoT sensor alert (bin level, cover tilt, water level, dust, box door).
    Sensor,
    /// Video analytics on the camera network.
    Camera,
    /// The 110 police emergency line.
    Hotline110,
    /// The 12345 citizens' service hotline.
    Hotline12345,
    /// Found by a patrolling unit passing close by.
    Patrol,
}

impl Source {
    /// Snake-case name as in files and logs.
    pub fn key(self) -> &'static str {
        match self {
            Source::Sensor => "sensor",
            Source::Camera => "camera",
            Source::Hotline110 => "hotline110",
            Source::Hotline12345 => "hotline12345",
            Source::Patrol => "patrol",
        }
    }

    /// Every source.
    pub const ALL: [Source; 5] = [
        Source::Sensor,
        Source::Camera,
        Source::Hotline110,
        Source::Hotline12345,
        Source::Patrol,
    ];

    /// The source named `key`.
    pub fn parse(key: &str) -> Option<Self> {
        Source::ALL.into_iter().find(|s| s.key() == key)
    }

    /// The accepted names, for messages.
    pub fn expected() -> String {
        Source::ALL.map(|s| s.key()).join(", ")
    }
}

/// Why an operator cancelled an incident rather than closing it: the control room counts
/// duplicates and false alarms apart from handled work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// Another report of an incident already open.
    Duplicate,
    /// Nothing was there.
    FalseAlarm,
}
