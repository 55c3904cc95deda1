//! Shifts as seconds of the scene day, parsed from `HH:MM-HH:MM`.

use serde::{Deserialize, Serialize};

/// Seconds in a day.
pub const DAY_S: u32 = 86_400;

/// A daily shift; `end < start` means it runs past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// Start, seconds after midnight.
    pub start_s: u32,
    /// End, seconds after midnight.
    pub end_s: u32,
}

impl Shift {
    /// Parses `HH:MM-HH:MM`.
    ///
    /// ```
    /// use binjiang_scene::Shift;
    /// let s = Shift::parse("19:00-07:00").unwrap();
    /// assert!(s.on_duty(23 * 3600) && !s.on_duty(12 * 3600));
    /// ```
    pub fn parse(text: &str) -> Result<Shift, String> {
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| format!("shift \"{text}\" is not HH:MM-HH:MM"))?;
        let start_s = parse_clock(a.trim())?;
        let end_s = parse_clock(b.trim())?;
        if start_s == end_s {
            return Err(format!("shift \"{text}\" starts and ends at the same time"));
        }
        Ok(Shift { start_s, end_s })
    }

    /// Whether the unit works at `t` seconds after midnight (any day).
    pub fn on_duty(&self, t: u32) -> bool {
        let t = t % DAY_S;
        if self.start_s < self.end_s {
            (self.start_s..self.end_s).contains(&t)
        } else {
            t >= self.start_s || t < self.end_s
        }
    }
}

/// Parses `HH:MM` (00:00 to 24:00) into seconds.
pub fn parse_clock(text: &str) -> Result<u32, String> {
    let bad = || format!("\"{text}\" is not a time of day HH:MM");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_day_and_night_shifts() {
        let day = Shift::parse("07:00-19:00").unwrap();
        assert!(day.on_duty(7 * 3600) && !day.on_duty(19 * 3600));
        let night = Shift::parse("19:00-07:00").unwrap();
        assert!(night.on_duty(2 * 3600) && !night.on_duty(8 * 3600));
        assert!(Shift::parse("7-19").is_err());
        assert!(Shift::parse("07:00-07:00").is_err());
        assert!(parse_clock("25:00").is_err());
    }
}
