//! The twin's clock: simulation seconds since the district's midnight on the day the
//! database was created, following the wall clock or, for demos and load tests, a replay
//! clock running `speed` times faster from where the log stopped.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use std::time::Instant;

/// How the clock runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// Real time.
    Wall,
    /// `speed` simulated seconds per real second, from where the log stopped.
    Replay {
        /// Simulated seconds per real second (> 0).
        speed: f64,
    },
}

/// Maps between simulation seconds and calendar time.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Unix milliseconds of simulation time 0 (a midnight in the district).
    epoch_ms: i64,
    offset: FixedOffset,
    mode: ClockMode,
    base_t: f64,
    started: Instant,
}

impl Clock {
    /// A clock whose time 0 is `epoch_ms`; a replay clock starts at `base_t`.
    pub fn new(epoch_ms: i64, offset: FixedOffset, mode: ClockMode, base_t: f64) -> Self {
        Clock {
            epoch_ms,
            offset,
            mode,
            base_t,
            started: Instant::now(),
        }
    }

    /// Unix milliseconds of the district's last midnight before `now`.
    pub fn midnight_before(now: DateTime<Utc>, offset: FixedOffset) -> i64 {
        let local = now.with_timezone(&offset);
        let midnight = local
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists");
        offset
            .from_local_datetime(&midnight)
            .single()
            .expect("a fixed offset has no gaps")
            .timestamp_millis()
    }

    /// Simulation seconds now.
    pub fn now(&self) -> f64 {
        match self.mode {
            ClockMode::Wall => (Utc::now().timestamp_millis() - self.epoch_ms) as f64 / 1000.0,
            ClockMode::Replay { speed } => {
                self.base_t + speed * self.started.elapsed().as_secs_f64()
            }
        }
    }

    /// Unix milliseconds of simulation time 0.
    pub fn epoch_ms(&self) -> i64 {
        self.epoch_ms
    }

    /// Unix milliseconds of simulation second `t`, to the nearest millisecond.
    pub fn unix_ms(&self, t: f64) -> i64 {
        self.epoch_ms + (t * 1000.0).round() as i64
    }

    /// The calendar time of simulation second `t`, in the district's offset.
    pub fn datetime(&self, t: f64) -> DateTime<FixedOffset> {
        let ms = self.unix_ms(t);
        self.offset
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or_else(|| self.offset.timestamp_millis_opt(self.epoch_ms).unwrap())
    }

    /// `t` as ISO 8601 (RFC 3339, milliseconds, the district's offset).
    pub fn iso(&self, t: f64) -> String {
        self.datetime(t)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
    }

    /// Simulation seconds of a calendar time.
    pub fn t_of(&self, at: DateTime<FixedOffset>) -> f64 {
        (at.timestamp_millis() - self.epoch_ms) as f64 / 1000.0
    }

    /// Parses an ISO 8601 / RFC 3339 time (with offset or `Z`) to simulation seconds.
    pub fn parse(&self, text: &str) -> Option<f64> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|d| self.t_of(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let epoch = Clock::midnight_before(now, offset);
        let clock = Clock::new(epoch, offset, ClockMode::Wall, 0.0);
        // 03:00 UTC is 11:00 in Shanghai.
        assert_eq!(clock.parse("2026-11-23T03:00:00Z"), Some(11.0 * 3600.0));
        assert_eq!(
            clock.iso(11.0 * 3600.0 + 0.5),
            "2026-11-23T11:00:00.500+08:00"
        );
        assert_eq!(clock.parse("yesterday"), None);
    }
}
