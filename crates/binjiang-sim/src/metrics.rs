//! Control-room figures computed from the event log alone.
//!
//! Like A/B Street's analytics, nothing here is a counter sprinkled through the engine: feed
//! it the events (from a run, a file, or the live service) and the catalogue, get the figures.

use crate::catalogue::IncidentCatalogue;
use crate::event::{Event, EventKind};
use binjiang_scene::Agency;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A unit counts as "on site within 3 minutes" below this many seconds after the report.
pub const ON_SITE_S: f64 = 180.0;
/// Street-cleaning incidents should be closed within this many seconds of the report.
pub const CLEANED_S: f64 = 600.0;

/// p50 / p90 / p99 of a set of durations, seconds (`None` when empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values`.
    pub fn of(values: &mut [f64]) -> Self {
        values.sort_by(f64::total_cmp);
        let rank = |q: f64| -> Option<f64> {
            if values.is_empty() {
                return None;
            }
            let r = (q * values.len() as f64).ceil() as usize;
            Some(round1(values[r.clamp(1, values.len()) - 1]))
        };
        Percentiles {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
        }
    }
}

/// Figures of one agency.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgencyMetrics {
    /// Units that worked at all.
    pub units: usize,
    /// Dispatches.
    pub dispatches: usize,
    /// Busy (en route or on scene) time over on-duty time.
    pub utilisation: f64,
    /// Dispatch → arrival.
    pub dispatch_to_arrival_s: Percentiles,
    /// Report → arrival.
    pub response_s: Percentiles,
    /// p90 of report → arrival, seconds.
    pub response_p90_s: Option<f64>,
    /// Longest queue of waiting parts.
    pub max_queue: usize,
}

/// Figures of one incident type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TypeMetrics {
    /// Incidents that arose.
    pub incidents: usize,
    /// Of which closed.
    pub closed: usize,
    /// Report → first arrival.
    pub response_s: Percentiles,
    /// Report → closed.
    pub report_to_close_s: Percentiles,
}

/// The figures of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Incidents that arose.
    pub incidents: usize,
    /// Reported to the control room.
    pub reported: usize,
    /// Closed.
    pub closed: usize,
    /// Still open (reported or not) at the end.
    pub open_at_end: usize,
    /// Report → first unit on site: p50.
    pub response_p50_s: Option<f64>,
    /// Report → first unit on site: p90.
    pub response_p90_s: Option<f64>,
    /// Report → first unit on site: p99.
    pub response_p99_s: Option<f64>,
    /// Share of reported incidents with a unit on site within 3 minutes of the report.
    pub on_site_3min_share: Option<f64>,
    /// Share of street-cleaning incidents closed within 10 minutes of the report.
    pub cleaned_10min_share: Option<f64>,
    /// Share of incidents closed before their escalation time ("handled in the bud").
    pub in_the_bud_share: Option<f64>,
    /// Preemptions.
    pub preemptions: usize,
    /// Longest queue of any agency.
    pub max_queue: usize,
    /// Per agency.
    pub per_agency: BTreeMap<String, AgencyMetrics>,
    /// Per incident type.
    pub per_type: BTreeMap<String, TypeMetrics>,
    /// Incidents that arose per grid cell index (cells with none are left out).
    pub per_cell: BTreeMap<u32, usize>,
}

#[derive(Default)]
struct Ticket {
    incident_type: usize,
    arose: f64,
    reported: Option<f64>,
    first_arrival: Option<f64>,
    closed: Option<f64>,
}

#[derive(Default)]
struct AgencyTally {
    units: std::collections::BTreeSet<u32>,
    dispatches: usize,
    dispatch_to_arrival: Vec<f64>,
    response: Vec<f64>,
    busy_s: f64,
    duty_s: f64,
    queue: usize,
    max_queue: usize,
}

impl Metrics {
    /// Computes the figures of `events`, a log that ends at `end` seconds.
    pub fn from_events(events: &[Event], catalogue: &IncidentCatalogue, end: f64) -> Metrics {
        let mut tickets: BTreeMap<u32, Ticket> = BTreeMap::new();
        let mut agencies: HashMap<Agency, AgencyTally> = HashMap::new();
        let mut dispatched: HashMap<(u32, u32), f64> = HashMap::new();
        let mut duty_since: HashMap<u32, f64> = HashMap::new();
        let mut busy_since: HashMap<u32, f64> = HashMap::new();
        let mut m = Metrics::default();
        for e in events {
            let tally = e.agency.map(|a| agencies.entry(a).or_default());
            match e.kind {
                EventKind::Arose => {
                    let t = Ticket {
                        incident_type: e.incident_type.unwrap_or(0) as usize,
                        arose: e.t,
                        ..Ticket::default()
                    };
                    tickets.insert(e.incident.unwrap_or(0), t);
                    if let Some(c) = e.cell {
                        *m.per_cell.entry(c).or_default() += 1;
                    }
                }
                EventKind::Reported => {
                    if let Some(t) = e.incident.and_then(|i| tickets.get_mut(&i)) {
                        t.reported = Some(e.t);
                    }
                }
                EventKind::Queued => {
                    if let Some(a) = tally {
                        a.queue += 1;
                        a.max_queue = a.max_queue.max(a.queue);
                    }
                }
                EventKind::Dispatched => {
                    let (i, u) = (e.incident.unwrap_or(0), e.unit.unwrap_or(0));
                    dispatched.insert((i, u), e.t);
                    busy_since.entry(u).or_insert(e.t);
                    if let Some(a) = tally {
                        a.dispatches += 1;
                        if e.t > tickets.get(&i).and_then(|t| t.reported).unwrap_or(e.t) {
                            a.queue = a.queue.saturating_sub(1); // taken from the queue later
                        }
                    }
                }
                EventKind::Arrived => {
                    let (i, u) = (e.incident.unwrap_or(0), e.unit.unwrap_or(0));
                    let ticket = tickets.get_mut(&i);
                    let reported = ticket.as_ref().and_then(|t| t.reported);
                    if let Some(t) = ticket {
                        t.first_arrival.get_or_insert(e.t);
                    }
                    if let Some(a) = tally {
                        if let Some(d) = dispatched.get(&(i, u)) {
                            a.dispatch_to_arrival.push(e.t - d);
                        }
                        if let Some(r) = reported {
                            a.response.push(e.t - r);
                        }
                    }
                }
                EventKind::Finished | EventKind::Preempted | EventKind::Reassigned => {
                    let u = e.unit.unwrap_or(0);
                    if let (Some(a), Some(s)) = (tally, busy_since.remove(&u)) {
                        a.busy_s += e.t - s;
                    }
                    m.preemptions += usize::from(e.kind == EventKind::Preempted);
                }
                EventKind::Closed => {
                    if let Some(t) = e.incident.and_then(|i| tickets.get_mut(&i)) {
                        t.closed = Some(e.t);
                    }
                }
                EventKind::ShiftStarted => {
                    let u = e.unit.unwrap_or(0);
                    duty_since.insert(u, e.t);
                    if let Some(a) = tally {
                        a.units.insert(u);
                    }
                }
                EventKind::ShiftEnded => {
                    if let (Some(a), Some(s)) = (tally, duty_since.remove(&e.unit.unwrap_or(0))) {
                        a.duty_s += e.t - s;
                    }
                }
                EventKind::BackOnPatrol | EventKind::OffDuty | EventKind::Acknowledged => {}
            }
        }
        close_open_intervals(events, &mut agencies, &duty_since, &busy_since, end);
        m.summarise_tickets(&tickets, catalogue);
        m.summarise_agencies(agencies);
        m
    }

    fn summarise_tickets(
        &mut self,
        tickets: &BTreeMap<u32, Ticket>,
        catalogue: &IncidentCatalogue,
    ) {
        self.incidents = tickets.len();
        self.reported = tickets.values().filter(|t| t.reported.is_some()).count();
        self.closed = tickets.values().filter(|t| t.closed.is_some()).count();
        self.open_at_end = self.incidents - self.closed;
        let mut response: Vec<f64> = tickets
            .values()
            .filter_map(|t| Some(t.first_arrival? - t.reported?))
            .collect();
        let reported_with_arrival = response.len();
        let on_site = response.iter().filter(|r| **r <= ON_SITE_S).count();
        self.on_site_3min_share = share(on_site, self.reported.max(reported_with_arrival));
        let p = Percentiles::of(&mut response);
        (
            self.response_p50_s,
            self.response_p90_s,
            self.response_p99_s,
        ) = (p.p50, p.p90, p.p99);
        let cleaning: Vec<&Ticket> = tickets
            .values()
            .filter(|t| {
                t.reported.is_some()
                    && catalogue
                        .types
                        .get(t.incident_type)
                        .is_some_and(|ty| ty.street_cleaning)
            })
            .collect();
        let cleaned = cleaning
            .iter()
            .filter(|t| {
                t.closed
                    .zip(t.reported)
                    .is_some_and(|(c, r)| c - r <= CLEANED_S)
            })
            .count();
        self.cleaned_10min_share = share(cleaned, cleaning.len());
        let in_bud = tickets
            .values()
            .filter(|t| {
                let limit = catalogue
                    .types
                    .get(t.incident_type)
                    .and_then(|ty| ty.escalate_after_min)
                    .unwrap_or(catalogue.escalate_after_min);
                t.closed.is_some_and(|c| c - t.arose <= limit * 60.0)
            })
            .count();
        self.in_the_bud_share = share(in_bud, tickets.len());
        for (ti, ty) in catalogue.types.iter().enumerate() {
            let of_type: Vec<&Ticket> =
                tickets.values().filter(|t| t.incident_type == ti).collect();
            let mut resp: Vec<f64> = of_type
                .iter()
                .filter_map(|t| Some(t.first_arrival? - t.reported?))
                .collect();
            let mut close: Vec<f64> = of_type
                .iter()
                .filter_map(|t| Some(t.closed? - t.reported?))
                .collect();
            self.per_type.insert(
                ty.key.clone(),
                TypeMetrics {
                    incidents: of_type.len(),
                    closed: of_type.iter().filter(|t| t.closed.is_some()).count(),
                    response_s: Percentiles::of(&mut resp),
                    report_to_close_s: Percentiles::of(&mut close),
                },
            );
        }
    }

    fn summarise_agencies(&mut self, mut agencies: HashMap<Agency, AgencyTally>) {
        for a in Agency::ALL {
            let Some(mut t) = agencies.remove(a) else {
                continue;
            };
            let response = Percentiles::of(&mut t.response);
            self.max_queue = self.max_queue.max(t.max_queue);
            self.per_agency.insert(
                a.key().to_owned(),
                AgencyMetrics {
                    units: t.units.len(),
                    dispatches: t.dispatches,
                    utilisation: if t.duty_s > 0.0 {
                        round3(t.busy_s / t.duty_s)
                    } else {
                        0.0
                    },
                    dispatch_to_arrival_s: Percentiles::of(&mut t.dispatch_to_arrival),
                    response_s: response,
                    response_p90_s: response.p90,
                    max_queue: t.max_queue,
                },
            );
        }
    }
}

/// Units still on duty or busy at the end of the log count up to `end`.
fn close_open_intervals(
    events: &[Event],
    agencies: &mut HashMap<Agency, AgencyTally>,
    duty_since: &HashMap<u32, f64>,
    busy_since: &HashMap<u32, f64>,
    end: f64,
) {
    let agency_of: HashMap<u32, Agency> = events
        .iter()
        .filter_map(|e| Some((e.unit?, e.agency?)))
        .collect();
    for (u, s) in duty_since {
        if let Some(a) = agency_of.get(u).and_then(|a| agencies.get_mut(a)) {
            a.duty_s += end - s;
        }
    }
    for (u, s) in busy_since {
        if let Some(a) = agency_of.get(u).and_then(|a| agencies.get_mut(a)) {
            a.busy_s += end - s;
        }
    }
}

fn share(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| round3(n as f64 / of as f64))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!((p.p50, p.p90, p.p99), (Some(50.0), Some(90.0), Some(99.0)));
        assert_eq!(Percentiles::of(&mut []).p50, None);
        assert_eq!(Percentiles::of(&mut [7.0]).p99, Some(7.0));
    }
}
