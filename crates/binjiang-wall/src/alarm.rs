//! The alarm sound: off unless the operator turns it on (key `M`, the Alarms panel's
//! checkbox, or `--sound`), as a control room sharing one space asked. When on, a new
//! urgent (P1) incident rings a high two-tone chime and an incident whose countdown runs out
//! a low tone. Tones are synthesised (bevy_audio's `Pitch`): no sound files to ship.

use crate::feed::WallState;
use bevy::audio::{AudioPlayer, Pitch, PlaybackSettings, Volume};
use bevy::prelude::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// Whether the wall rings, and what it has rung.
#[derive(Resource, Debug, Default)]
pub struct AlarmSound {
    /// Ring at all (off by default).
    pub on: bool,
    /// Chimes rung since start (shown in the panel; for checks).
    pub rung: u32,
    /// Open incidents already overdue at the last look.
    overdue: BTreeSet<u32>,
}

/// Why the wall rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chime {
    /// A new urgent incident.
    Urgent(u32),
    /// An incident's target was missed just now.
    Overdue(u32),
}

impl AlarmSound {
    /// Starts on or off.
    pub fn new(on: bool) -> Self {
        AlarmSound { on, ..default() }
    }

    /// The chimes `state` calls for since the last look (remembering what is overdue now).
    pub fn chimes(&mut self, state: &WallState) -> Vec<Chime> {
        let mut out: Vec<Chime> = state.new_urgent.iter().map(|i| Chime::Urgent(*i)).collect();
        let overdue: BTreeSet<u32> = state
            .incidents
            .iter()
            .filter(|m| m.closed_at.is_none())
            .filter(|m| m.time_to_target(state.now_s).is_some_and(|t| t < 0.0))
            .map(|m| m.id)
            .collect();
        out.extend(
            overdue
                .difference(&self.overdue)
                .map(|i| Chime::Overdue(*i)),
        );
        self.overdue = overdue;
        out
    }
}

/// The tones: (frequency Hz, milliseconds) per chime.
const URGENT: [(f32, u64); 2] = [(880.0, 350), (1320.0, 350)];
const OVERDUE: [(f32, u64); 1] = [(440.0, 600)];

/// Rings the alarm.
pub struct AlarmPlugin {
    /// Start with the sound on.
    pub on: bool,
}

impl Plugin for AlarmPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(AlarmSound::new(self.on))
            .add_systems(Update, (toggle, ring).chain());
    }
}

fn toggle(input: Res<ButtonInput<KeyCode>>, mut sound: ResMut<AlarmSound>) {
    if input.just_pressed(KeyCode::KeyM) {
        sound.on = !sound.on;
    }
}

fn ring(
    mut commands: Commands,
    state: Res<WallState>,
    mut sound: ResMut<AlarmSound>,
    mut pitches: Option<ResMut<Assets<Pitch>>>,
) {
    let chimes = sound.chimes(&state);
    if !sound.on || chimes.is_empty() {
        return;
    }
    let Some(pitches) = pitches.as_deref_mut() else {
        return;
    };
    let urgent = chimes.iter().any(|c| matches!(c, Chime::Urgent(_)));
    let tones: &[(f32, u64)] = if urgent { &URGENT } else { &OVERDUE };
    for (hz, ms) in tones {
        let tone = pitches.add(Pitch::new(*hz, Duration::from_millis(*ms)));
        commands.spawn((
            AudioPlayer(tone),
            PlaybackSettings::DESPAWN.with_volume(Volume::Linear(0.6)),
        ));
    }
    sound.rung += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(id: u32, reported_at: f64) -> crate::feed::IncidentMark {
        crate::feed::fixtures::open_mark(id, 1, reported_at)
    }

    #[test]
    fn new_urgent_and_newly_overdue_incidents_ring_once() {
        let mut sound = AlarmSound::default();
        assert!(!sound.on, "sound is off by default");
        let mut state = WallState {
            now_s: 100.0,
            incidents: vec![open(1, 0.0), open(2, 50.0)],
            new_urgent: vec![2],
            ..default()
        };
        assert_eq!(sound.chimes(&state), vec![Chime::Urgent(2)]);
        state.new_urgent.clear();
        state.now_s = 181.0; // #1 is one second past its 3 minutes
        assert_eq!(sound.chimes(&state), vec![Chime::Overdue(1)]);
        assert_eq!(sound.chimes(&state), vec![], "rings once per incident");
        state.now_s = 231.0;
        assert_eq!(sound.chimes(&state), vec![Chime::Overdue(2)]);
    }
}
