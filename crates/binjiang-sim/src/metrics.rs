//! Control-room figures computed from the event log alone, folded one event at a time.
//!
//! Like A/B Street's analytics, nothing here is a counter sprinkled through the engine: feed
//! a [`MetricsFold`] the events (from a run, a file, or the live service) as they come, and
//! ask it for the figures at any time. Every figure's exact definition is in `docs/kpis.md`;
//! one rule holds for every response figure: each *reported* incident counts, and one not
//! reached by the end counts as never reached — it fails every time target and sorts last,
//! so a percentile that lands on it is `null` ("not reached within the run").

use crate::catalogue::IncidentCatalogue;
use crate::event::{Event, Name, QueueReason, What};
use binjiang_scene::Agency;
use foldhash::{HashMap, HashMapExt};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// "On site within 3 minutes" of the report: the control room's benchmark.
pub const ON_SITE_S: f64 = 180.0;
/// Street-cleaning incidents should be closed within 10 minutes of the report.
pub const CLEANED_S: f64 = 600.0;

/// What an open incident is measured against: the control room's benchmarks, as the wall's
/// countdowns and the KPIs count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Every required agency on site within [`ON_SITE_S`] of the report.
    OnSite,
    /// Street litter cleaned (closed) within [`CLEANED_S`] of the report.
    Cleaned,
}

impl Target {
    /// The target of incidents of type `t`.
    pub fn of(t: &crate::IncidentType) -> Self {
        if t.street_cleaning {
            Target::Cleaned
        } else {
            Target::OnSite
        }
    }

    /// Seconds after the report by which it is met.
    pub fn within_s(self) -> f64 {
        match self {
            Target::OnSite => ON_SITE_S,
            Target::Cleaned => CLEANED_S,
        }
    }

    /// What is due, in a few words ("on site", "cleaned").
    pub fn label(self) -> &'static str {
        match self {
            Target::OnSite => "on site",
            Target::Cleaned => "cleaned",
        }
    }
}

pub use binjiang_protocol::kpis::{AgencyMetrics, IncidentKpis, Metrics, Percentiles};

#[derive(Debug, Clone)]
struct Ticket {
    incident_type: Name,
    /// Its type's (cleaning work, in-the-bud budget in seconds), looked up once.
    kind: Option<(bool, f64)>,
    subdistrict: Name,
    agencies: Vec<Agency>,
    arose: f64,
    reported: Option<f64>,
    /// First arrival of each agency.
    arrivals: Vec<(Agency, f64)>,
    closed: Option<f64>,
    /// Cancelled by an operator (duplicate, false alarm): outside every KPI.
    cancelled: bool,
}

#[derive(Debug, Clone, Default)]
struct AgencyTally {
    units: BTreeSet<Name>,
    dispatches: usize,
    dispatch_to_arrival: Vec<f64>,
    busy_s: f64,
    duty_s: f64,
    queue: usize,
    max_queue: usize,
    queue_waits: Vec<f64>,
    beyond_max_travel: usize,
    unreachable: usize,
}

/// The figures of a log so far, kept up to date one event at a time.
#[derive(Debug, Clone)]
pub struct MetricsFold {
    /// (street cleaning, "in the bud" limit in seconds) by type key.
    types: HashMap<Name, (bool, f64)>,
    tickets: BTreeMap<u32, Ticket>,
    agencies: BTreeMap<Agency, AgencyTally>,
    dispatched_at: HashMap<(u32, Name), f64>,
    queued_since: HashMap<(u32, Agency), f64>,
    duty_since: HashMap<Name, (Agency, f64)>,
    busy_since: HashMap<Name, (Agency, f64)>,
    preemptions: usize,
    per_cell: BTreeMap<String, usize>,
}

impl MetricsFold {
    /// An empty fold for logs of runs with `catalogue`.
    pub fn new(catalogue: &IncidentCatalogue) -> Self {
        let types = catalogue
            .types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    Name::from(t.key.as_str()),
                    (t.street_cleaning, catalogue.in_bud_limit_s(i)),
                )
            })
            .collect();
        MetricsFold {
            types,
            tickets: BTreeMap::new(),
            agencies: BTreeMap::new(),
            dispatched_at: HashMap::new(),
            queued_since: HashMap::new(),
            duty_since: HashMap::new(),
            busy_since: HashMap::new(),
            preemptions: 0,
            per_cell: BTreeMap::new(),
        }
    }

    /// Folds every event of `events`.
    pub fn extend<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        for e in events {
            self.push(e);
        }
    }

    /// Folds one event.
    pub fn push(&mut self, e: &Event) {
        let t = e.t;
        match &e.what {
            What::Arose {
                incident,
                incident_type,
                subdistrict,
                cell,
                agencies,
                ..
            } => {
                self.tickets.insert(
                    *incident,
                    Ticket {
                        incident_type: incident_type.clone(),
                        kind: self.types.get(incident_type).copied(),
                        subdistrict: subdistrict.clone(),
                        agencies: agencies.clone(),
                        arose: t,
                        reported: None,
                        arrivals: Vec::new(),
                        closed: None,
                        cancelled: false,
                    },
                );
                if let Some(c) = cell {
                    // A new string only for a cell's first incident.
                    match self.per_cell.get_mut(&**c) {
                        Some(n) => *n += 1,
                        None => {
                            self.per_cell.insert(c.to_string(), 1);
                        }
                    }
                }
            }
            What::Reported { incident, .. } => {
                if let Some(k) = self.tickets.get_mut(incident) {
                    k.reported = Some(t);
                }
            }
            What::Queued {
                incident,
                agency,
                reason,
            } => {
                self.queued_since.insert((*incident, *agency), t);
                let a = self.agencies.entry(*agency).or_default();
                a.queue += 1;
                a.max_queue = a.max_queue.max(a.queue);
                match reason {
                    QueueReason::BeyondMaxTravel => a.beyond_max_travel += 1,
                    QueueReason::Unreachable => a.unreachable += 1,
                    QueueReason::NoUnitFree | QueueReason::Preempted => {}
                }
            }
            What::Dequeued { incident, agency }
            | What::Withdrawn {
                incident, agency, ..
            } => {
                let since = self.queued_since.remove(&(*incident, *agency));
                let a = self.agencies.entry(*agency).or_default();
                a.queue = a.queue.saturating_sub(1);
                if let (What::Dequeued { .. }, Some(s)) = (&e.what, since) {
                    a.queue_waits.push(t - s);
                }
            }
            What::Dispatched {
                incident,
                agency,
                unit,
                ..
            } => {
                self.dispatched_at.insert((*incident, unit.clone()), t);
                self.busy_since.entry(unit.clone()).or_insert((*agency, t));
                self.agencies.entry(*agency).or_default().dispatches += 1;
            }
            What::Arrived {
                incident,
                agency,
                unit,
            } => {
                if let Some(k) = self.tickets.get_mut(incident) {
                    if !k.arrivals.iter().any(|(a, _)| a == agency) {
                        k.arrivals.push((*agency, t));
                    }
                }
                if let Some(d) = self.dispatched_at.remove(&(*incident, unit.clone())) {
                    let a = self.agencies.entry(*agency).or_default();
                    a.dispatch_to_arrival.push(t - d);
                }
            }
            What::Finished { agency, unit, .. }
            | What::Preempted { agency, unit, .. }
            | What::Reassigned { agency, unit, .. } => {
                if let Some((_, s)) = self.busy_since.remove(unit) {
                    self.agencies.entry(*agency).or_default().busy_s += t - s;
                }
                self.preemptions += usize::from(matches!(e.what, What::Preempted { .. }));
            }
            What::Closed {
                incident,
                cancelled,
                ..
            } => {
                if let Some(k) = self.tickets.get_mut(incident) {
                    k.closed = Some(t);
                    k.cancelled = cancelled.is_some();
                }
            }
            What::ShiftStarted { unit, agency } => {
                self.duty_since.insert(unit.clone(), (*agency, t));
                self.agencies
                    .entry(*agency)
                    .or_default()
                    .units
                    .insert(unit.clone());
            }
            What::ShiftEnded { unit, agency } => {
                if let Some((_, s)) = self.duty_since.remove(unit) {
                    self.agencies.entry(*agency).or_default().duty_s += t - s;
                }
            }
            What::Reopened { incident, .. } => {
                if let Some(k) = self.tickets.get_mut(incident) {
                    k.closed = None;
                    k.cancelled = false;
                }
            }
            What::BackOnPatrol { .. }
            | What::OffDuty { .. }
            | What::Acknowledged { .. }
            | What::MovedUp { .. }
            | What::MoveUpEnded { .. } => {}
        }
    }

    /// The figures of the log so far, as of `end` seconds.
    pub fn summary(&self, end: f64) -> Metrics {
        // Duplicates and false alarms are counted apart, not as work handled.
        let all: Vec<&Ticket> = self.tickets.values().filter(|k| !k.cancelled).collect();
        let cancelled = self.tickets.len() - all.len();
        // Grouped by the names the tickets share (no string made per ticket).
        let mut per_subdistrict: BTreeMap<&str, Vec<&Ticket>> = BTreeMap::new();
        let mut per_type: BTreeMap<&str, Vec<&Ticket>> =
            self.types.keys().map(|k| (&**k, Vec::new())).collect();
        for k in &all {
            per_subdistrict.entry(&k.subdistrict).or_default().push(k);
            per_type.entry(&k.incident_type).or_default().push(k);
        }
        // The whole run's figures, each subdistrict's, each type's and each agency's go over
        // every ticket once each: on as many cores as there are (the same figures in any
        // order).
        use rayon::prelude::*;
        let ((kpis, (per_subdistrict, per_type)), agencies) = rayon::join(
            || {
                rayon::join(
                    || self.kpis(&all),
                    || {
                        let of = |(k, v): (&str, Vec<&Ticket>)| (k.to_owned(), self.kpis(&v));
                        rayon::join(
                            || per_subdistrict.into_par_iter().map(of).collect(),
                            || per_type.into_par_iter().map(of).collect(),
                        )
                    },
                )
            },
            || {
                self.agencies
                    .par_iter()
                    .map(|(agency, tally)| self.agency_metrics(*agency, tally, end))
                    .collect::<Vec<_>>()
            },
        );
        let mut m = Metrics {
            response_p50_s: kpis.response_s.p50,
            response_p90_s: kpis.response_s.p90,
            response_p99_s: kpis.response_s.p99,
            all: kpis,
            preemptions: self.preemptions,
            per_subdistrict,
            per_type,
            per_cell: self.per_cell.clone(),
            cancelled,
            ..Metrics::default()
        };
        // Every agency's waits, in agency order.
        let mut waits: Vec<f64> = Vec::new();
        for (agency, metrics, tally_waits) in agencies {
            waits.extend(&tally_waits);
            m.max_queue = m.max_queue.max(metrics.max_queue);
            m.per_agency.insert(agency.key().to_owned(), metrics);
        }
        m.queue_wait_s = Percentiles::of(&mut waits);
        m
    }

    /// `agency`'s figures, and the waits of its queued parts (those still waiting at the end
    /// count as endless).
    fn agency_metrics(
        &self,
        agency: Agency,
        tally: &AgencyTally,
        end: f64,
    ) -> (Agency, AgencyMetrics, Vec<f64>) {
        let mut tally_waits = tally.queue_waits.clone();
        tally_waits.extend(
            self.queued_since
                .keys()
                .filter(|(_, a)| *a == agency)
                .map(|_| f64::INFINITY),
        );
        let (mut response, on_site) = self.agency_response(agency);
        let parts = response.len();
        let metrics = AgencyMetrics {
            units: tally.units.len(),
            dispatches: tally.dispatches,
            utilisation: self.utilisation(agency, tally, end),
            dispatch_to_arrival_s: Percentiles::of(&mut tally.dispatch_to_arrival.clone()),
            response_s: Percentiles::of(&mut response),
            on_site_3min_share: share(on_site, parts),
            queue_wait_s: Percentiles::of(&mut tally_waits),
            max_queue: tally.max_queue,
            queued_beyond_max_travel: tally.beyond_max_travel,
            queued_unreachable: tally.unreachable,
        };
        (agency, metrics, tally_waits)
    }

    /// Report → this agency's arrival over its parts of reported incidents, and how many
    /// were within 3 minutes.
    fn agency_response(&self, agency: Agency) -> (Vec<f64>, usize) {
        let times: Vec<f64> = self
            .tickets
            .values()
            .filter(|k| k.agencies.contains(&agency))
            .filter_map(|k| {
                let r = k.reported?;
                Some(
                    k.arrivals
                        .iter()
                        .find(|(a, _)| *a == agency)
                        .map_or(f64::INFINITY, |(_, t)| t - r),
                )
            })
            .collect();
        let within = times.iter().filter(|t| **t <= ON_SITE_S).count();
        (times, within)
    }

    fn utilisation(&self, agency: Agency, tally: &AgencyTally, end: f64) -> f64 {
        let open = |m: &HashMap<Name, (Agency, f64)>| -> f64 {
            m.values()
                .filter(|(a, _)| *a == agency)
                .map(|(_, s)| end - s)
                .sum()
        };
        let duty = tally.duty_s + open(&self.duty_since);
        let busy = tally.busy_s + open(&self.busy_since);
        if duty > 0.0 {
            round3(busy / duty)
        } else {
            0.0
        }
    }

    fn kpis(&self, tickets: &[&Ticket]) -> IncidentKpis {
        let reported: Vec<&&Ticket> = tickets.iter().filter(|k| k.reported.is_some()).collect();
        let since_report = |k: &Ticket, t: Option<f64>| match (k.reported, t) {
            (Some(r), Some(t)) => t - r,
            _ => f64::INFINITY,
        };
        let mut detection: Vec<f64> = reported
            .iter()
            .filter_map(|k| Some(k.reported? - k.arose))
            .collect();
        let mut first: Vec<f64> = reported
            .iter()
            .map(|k| {
                let t = k.arrivals.iter().map(|(_, t)| *t).reduce(f64::min);
                since_report(k, t)
            })
            .collect();
        let mut all_on_site: Vec<f64> = reported
            .iter()
            .map(|k| {
                let every = k
                    .agencies
                    .iter()
                    .all(|a| k.arrivals.iter().any(|(b, _)| a == b));
                let t = every
                    .then(|| k.arrivals.iter().map(|(_, t)| *t).reduce(f64::max))
                    .flatten();
                since_report(k, t)
            })
            .collect();
        let mut to_close: Vec<f64> = reported.iter().map(|k| since_report(k, k.closed)).collect();
        let within = |v: &[f64], limit: f64| v.iter().filter(|t| **t <= limit).count();
        let cleaning: Vec<&&&Ticket> = reported
            .iter()
            .filter(|k| k.kind.is_some_and(|t| t.0))
            .collect();
        let cleaned = cleaning
            .iter()
            .filter(|k| since_report(k, k.closed) <= CLEANED_S)
            .count();
        let in_bud = tickets
            .iter()
            .filter(|k| {
                let limit = k.kind.map_or(0.0, |t| t.1);
                k.closed.is_some_and(|c| c - k.arose <= limit)
            })
            .count();
        let closed = tickets.iter().filter(|k| k.closed.is_some()).count();
        IncidentKpis {
            incidents: tickets.len(),
            reported: reported.len(),
            closed,
            open_at_end: tickets.len() - closed,
            unreached: first.iter().filter(|t| t.is_infinite()).count(),
            on_site_3min_share: share(within(&all_on_site, ON_SITE_S), reported.len()),
            first_on_site_3min_share: share(within(&first, ON_SITE_S), reported.len()),
            cleaned_10min_share: share(cleaned, cleaning.len()),
            in_the_bud_share: share(in_bud, tickets.len()),
            detection_s: Percentiles::of(&mut detection),
            first_on_site_s: Percentiles::of(&mut first),
            response_s: Percentiles::of(&mut all_on_site),
            report_to_close_s: Percentiles::of(&mut to_close),
        }
    }
}

/// Computes the figures of `events`, a log that ends at `end` seconds.
pub fn metrics_of(events: &[Event], catalogue: &IncidentCatalogue, end: f64) -> Metrics {
    let mut fold = MetricsFold::new(catalogue);
    fold.extend(events);
    fold.summary(end)
}

fn share(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| round3(n as f64 / of as f64))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
