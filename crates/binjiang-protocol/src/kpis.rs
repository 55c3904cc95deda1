//! The figures of a run or a live day as they travel: what `binjiang simulate --json`, the
//! what-if report and the live service's `kpis` carry. Plain data (serde only); the dispatch
//! core computes them (`binjiang_sim::MetricsFold`), clients only read them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// p50 / p90 / p99 of a set of durations, seconds (`None`: no values, or the rank falls on
/// one that never ended within the run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (infinite values: never ended).
    pub fn of(values: &mut [f64]) -> Self {
        // Three selections, highest rank first, each within the part below the last: O(n),
        // where sorting the whole day's durations was O(n log n). The value at a rank is the
        // one a sort would put there, ties included.
        let n = values.len();
        let index = |q: f64| ((q * n as f64).ceil() as usize).clamp(1, n.max(1)) - 1;
        let mut end = n;
        let mut rank = |q: f64| -> Option<f64> {
            if n == 0 {
                return None;
            }
            let i = index(q);
            let (_, v, _) = values[..end].select_nth_unstable_by(i, f64::total_cmp);
            let v = *v;
            end = i + 1;
            v.is_finite().then(|| round1(v))
        };
        let (p99, p90, p50) = (rank(0.99), rank(0.90), rank(0.50));
        Percentiles { p50, p90, p99 }
    }
}

/// The incident figures of a set of incidents (the whole run, a subdistrict, a type).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentKpis {
    /// Incidents that arose.
    pub incidents: usize,
    /// Of which reported to the control room.
    pub reported: usize,
    /// Closed.
    pub closed: usize,
    /// Not closed at the end (reported or not).
    pub open_at_end: usize,
    /// Reported, but no unit on site by the end.
    pub unreached: usize,
    /// Arising → report (detection), over reported incidents.
    pub detection_s: Percentiles,
    /// Report → first unit on site.
    pub first_on_site_s: Percentiles,
    /// Report → every required agency on site ("on site" for joint incidents).
    pub response_s: Percentiles,
    /// Share of reported incidents with every required agency on site within 3 minutes.
    pub on_site_3min_share: Option<f64>,
    /// Share of reported incidents with a first unit on site within 3 minutes.
    pub first_on_site_3min_share: Option<f64>,
    /// Share of reported street-cleaning incidents closed within 10 minutes of the report.
    pub cleaned_10min_share: Option<f64>,
    /// Share of incidents closed within their type's "in the bud" limit of arising.
    pub in_the_bud_share: Option<f64>,
    /// Report → closed.
    pub report_to_close_s: Percentiles,
}

/// Figures of one agency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgencyMetrics {
    /// Units that came on duty.
    pub units: usize,
    /// Dispatches.
    pub dispatches: usize,
    /// Busy (en route or on scene) time over on-duty time.
    pub utilisation: f64,
    /// Dispatch → arrival.
    pub dispatch_to_arrival_s: Percentiles,
    /// Report → this agency's unit on site, over its parts of reported incidents.
    pub response_s: Percentiles,
    /// Share of its parts of reported incidents on site within 3 minutes.
    pub on_site_3min_share: Option<f64>,
    /// Queued → dequeued, over every spell in the queue (still waiting: never).
    pub queue_wait_s: Percentiles,
    /// Longest queue of waiting parts.
    pub max_queue: usize,
    /// Parts queued because no free unit could arrive within the maximum travel time.
    pub queued_beyond_max_travel: usize,
    /// Parts queued because no free unit had a road there.
    pub queued_unreachable: usize,
}

/// The figures of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The whole grid.
    #[serde(flatten)]
    pub all: IncidentKpis,
    /// Report → every required agency on site: p50 (as `all.response_s`).
    pub response_p50_s: Option<f64>,
    /// p90 of the same.
    pub response_p90_s: Option<f64>,
    /// p99 of the same.
    pub response_p99_s: Option<f64>,
    /// Queued → dequeued, every agency.
    pub queue_wait_s: Percentiles,
    /// Preemptions.
    pub preemptions: usize,
    /// Longest queue of any agency.
    pub max_queue: usize,
    /// Per agency.
    pub per_agency: BTreeMap<String, AgencyMetrics>,
    /// Per subdistrict code (the polygon holding the incident).
    pub per_subdistrict: BTreeMap<String, IncidentKpis>,
    /// Per incident type key.
    pub per_type: BTreeMap<String, IncidentKpis>,
    /// Incidents that arose per grid cell id (cells with none are left out).
    pub per_cell: BTreeMap<String, usize>,
    /// Incidents an operator cancelled (duplicates, false alarms): left out of every other
    /// figure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cancelled: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
        // Never reached sorts last: a percentile on it is "not reached".
        let mut v = vec![10.0, f64::INFINITY, 20.0];
        let p = Percentiles::of(&mut v);
        assert_eq!((p.p50, p.p90), (Some(20.0), None));
    }

    /// The selections give what sorting the values and reading the ranks gives.
    #[test]
    fn selection_agrees_with_a_full_sort() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for n in 0..300 {
            let v: Vec<f64> = (0..n)
                .map(|_| match rng.random_range(0..10) {
                    0 => f64::INFINITY,
                    1..=3 => f64::from(rng.random_range(0..5)), // ties
                    _ => rng.random_range(0.0..1000.0),
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let at = |q: f64| {
                (!sorted.is_empty())
                    .then(|| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1])
                    .filter(|x| x.is_finite())
                    .map(round1)
            };
            let want = Percentiles {
                p50: at(0.5),
                p90: at(0.9),
                p99: at(0.99),
            };
            assert_eq!(Percentiles::of(&mut v.clone()), want, "n = {n}");
        }
    }
}
