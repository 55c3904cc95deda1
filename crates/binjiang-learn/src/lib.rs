//! Learning a district from its own records (issue 18). This first part reads a history of
//! incidents as a control room exports it — every bad row named with its line, categories of
//! a real export mapped onto the catalogue's types and the unmapped ones counted, never
//! dropped — and fits how long things take (report delays, on-scene times) by maximum
//! likelihood, lognormal against gamma chosen by AIC, with a Kolmogorov–Smirnov p-value —
//! and learns each type's daily rate and hour-of-week profile, shrunk toward its daily
//! rhythm as far as held-out weeks say it should be.
//!
//! Pure functions over records: no scene, no simulation, no I/O beyond the text given. The
//! rate model, forecasts, held-out scoring and the `binjiang learn` command build on these.

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
