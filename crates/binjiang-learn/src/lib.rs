//! Learning a district from its own records (issue 18). It reads a history of incidents as
//! a control room exports it: every bad row is named with its line, and a real export's
//! categories are mapped onto the catalogue's types, the unmapped ones counted, never
//! dropped. Per type it learns:
//! - the daily rate and hour-of-week profile, shrunk toward day of week × hour of day as far
//!   as held-out weeks say it should be;
//! - the density over the grid's cells, with hot cells kept and the catalogue's places as a
//!   prior;
//! - how long things take (report delays, on-scene times): lognormal against gamma by AIC,
//!   with a Kolmogorov–Smirnov p-value.
//!
//! It also learns the crowd tides of people counters, scores forecasts on held-out weeks
//! against baselines, and forecasts the next hours per cell.
//!
//! Pure functions over records: no scene, no simulation, no I/O beyond the text given. The
//! `binjiang learn` and `binjiang forecast` commands, the live twin and the wall use these.

pub mod crowd;
pub mod durations;
pub mod forecast;
pub mod history;
pub mod model;
pub mod rates;
pub mod score;
pub mod spatial;

pub use durations::{fit, Family, Fit};
pub use history::{parse, History, HistoryError, Record};
pub use rates::{learn, Timing, WEEK_H};
