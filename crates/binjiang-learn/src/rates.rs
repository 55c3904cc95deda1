//! When incidents happen: a type's daily rate and its hour-of-week profile, learned from
//! whole weeks of history.
//!
//! Raw hour-of-week means are noisy where events are few (8 weeks of a rare type leave most of
//! the 168 hours at 0 or 1), and the daily rhythm is shared by every day of the week. So each
//! hour's rate is shrunk, as a Poisson–gamma model does, toward the main-effects fit of the
//! week (the daily rhythm scaled by the day of the week's share — a Poisson GLM with hour of
//! day and day of week, no interaction): λ_h = (c_h + κ·m_h) / (W + κ), with c_h the count in
//! hour-of-week h over W weeks and m_h = D_day(h)·H_hod(h) / (N·W) from the day totals D,
//! the hour-of-day totals H and the total N. κ (weeks of prior
//! weight) is chosen by leave-one-week-out Poisson likelihood: a type with plenty of events
//! keeps its own weekly shape (κ small), a sparse one leans on its daily rhythm (κ large).
//! With more weeks the data outweigh the prior, so a longer history fits better.

use serde::Serialize;

/// Hours in a week.
pub const WEEK_H: usize = 168;

/// The hour of the week (0 = Monday 00:00 local) that Unix ms `at_ms` falls in, counting
/// from the local Monday 00:00 at `week_start_ms` (either way: before it counts back).
pub fn hour_of_week(week_start_ms: i64, at_ms: i64) -> usize {
    (at_ms - week_start_ms)
        .div_euclid(3_600_000)
        .rem_euclid(WEEK_H as i64) as usize
}

/// The prior weights tried, in weeks.
const KAPPAS: [f64; 10] = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// A type's learned timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    /// Events per day.
    pub per_day: f64,
    /// Expected events in each hour of the week, Monday 00:00 first.
    pub hour_of_week: Vec<f64>,
    /// The prior weight chosen, weeks.
    pub kappa: f64,
    /// Weeks of history.
    pub weeks: usize,
}

/// Counts per hour of the week for each week: `times_s` are seconds since the history's
/// first Monday 00:00 (local time); events outside `weeks` whole weeks are left out.
pub fn weekly_counts(times_s: &[f64], weeks: usize) -> Vec<[u32; WEEK_H]> {
    let mut counts = vec![[0u32; WEEK_H]; weeks];
    for &t in times_s {
        if !(t.is_finite() && t >= 0.0) {
            continue;
        }
        let hour = (t / 3600.0) as usize;
        let (week, h) = (hour / WEEK_H, hour % WEEK_H);
        if week < weeks {
            counts[week][h] += 1;
        }
    }
    counts
}

/// The shrunk hour-of-week rates from `counts` (per week) with prior weight `kappa` (0: the
/// raw means).
pub fn rates_with(counts: &[&[u32; WEEK_H]], kappa: f64) -> Vec<f64> {
    let w = counts.len() as f64;
    let mut by_hour = [0f64; WEEK_H];
    for c in counts {
        for (h, n) in c.iter().enumerate() {
            by_hour[h] += f64::from(*n);
        }
    }
    // The prior's centre: the main-effects fit of the week's table (day of the week × hour of
    // the day, the Poisson GLM without interaction, closed form for a two-way table): the
    // daily rhythm scaled by each day's share, so that busier weekends are kept and only
    // the interaction (a weekend's own afternoon shape) is shrunk.
    let (mut by_day, mut by_hod) = ([0f64; 7], [0f64; 24]);
    for (h, n) in by_hour.iter().enumerate() {
        by_day[h / 24] += n;
        by_hod[h % 24] += n;
    }
    let total: f64 = by_day.iter().sum();
    (0..WEEK_H)
        .map(|h| {
            let centre = if total > 0.0 {
                by_day[h / 24] * by_hod[h % 24] / total / w
            } else {
                0.0
            };
            (by_hour[h] + kappa * centre) / (w + kappa)
        })
        .collect()
}

/// Poisson log-likelihood of `counts` under rates `lambda` (a rate of 0 gets a floor so one
/// unexpected event is costly, not impossible).
pub fn poisson_loglik(counts: &[u32; WEEK_H], lambda: &[f64]) -> f64 {
    counts
        .iter()
        .zip(lambda)
        .map(|(k, l)| crate::score::poisson_ln_pmf(u64::from(*k), l.max(1e-6)))
        .sum()
}

/// Learns a type's timing from its weekly counts (at least 2 weeks).
pub fn learn(counts: &[[u32; WEEK_H]]) -> Option<Timing> {
    let weeks = counts.len();
    if weeks < 2 {
        return None;
    }
    // Leave one week out: fit on the others, score the one left out.
    let score = |kappa: f64| -> f64 {
        (0..weeks)
            .map(|out| {
                let rest: Vec<&[u32; WEEK_H]> = counts
                    .iter()
                    .enumerate()
                    .filter(|(w, _)| *w != out)
                    .map(|(_, c)| c)
                    .collect();
                poisson_loglik(&counts[out], &rates_with(&rest, kappa))
            })
            .sum()
    };
    let kappa = KAPPAS
        .into_iter()
        .map(|k| (k, score(k)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)?;
    let all: Vec<&[u32; WEEK_H]> = counts.iter().collect();
    let hour_of_week = rates_with(&all, kappa);
    let per_day = hour_of_week.iter().sum::<f64>() / 7.0;
    Some(Timing {
        per_day,
        hour_of_week,
        kappa,
        weeks,
    })
}

/// The time-rescaling test (Brown et al. 2002) of `times_s` (seconds from the history's first
/// Monday 00:00, in order or not) against a learned timing: mapped through the cumulative
/// intensity, the gaps between events of a Poisson process with that intensity are Exp(1), so
/// 1 − e^(−gap) is uniform; the KS statistic and p-value of that against the uniform say
/// whether the timing explains when events came. Times recorded to `bin_s` (1 for seconds,
/// 60 for minutes) tie: events sharing a bin are spread evenly through it first, or the zero
/// gaps alone would reject every model. `None` with fewer than 8 events.
pub fn time_rescaling_ks(times_s: &[f64], timing: &Timing, bin_s: f64) -> Option<(f64, f64)> {
    let mut t: Vec<f64> = times_s
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    if t.len() < 8 {
        return None;
    }
    t.sort_by(f64::total_cmp);
    // Spread ties through their bin.
    if bin_s > 0.0 {
        let mut i = 0;
        while i < t.len() {
            let bin = (t[i] / bin_s).floor();
            let mut j = i;
            while j < t.len() && (t[j] / bin_s).floor() == bin {
                j += 1;
            }
            let n = (j - i) as f64;
            for (k, v) in t[i..j].iter_mut().enumerate() {
                *v = (bin + (k as f64 + 0.5) / n) * bin_s;
            }
            i = j;
        }
    }
    // Cumulative intensity: piecewise constant per hour of the week.
    let cumulative = |s: f64| -> f64 {
        let hour = (s / 3600.0).floor();
        let whole_weeks = (hour / WEEK_H as f64).floor();
        let week_total: f64 = timing.hour_of_week.iter().sum();
        let into = (hour - whole_weeks * WEEK_H as f64) as usize;
        let before: f64 = timing.hour_of_week[..into].iter().sum();
        whole_weeks * week_total + before + timing.hour_of_week[into % WEEK_H] * (s / 3600.0 - hour)
    };
    let mut u: Vec<f64> = t
        .windows(2)
        .map(|w| 1.0 - (-(cumulative(w[1]) - cumulative(w[0]))).exp())
        .collect();
    u.sort_by(f64::total_cmp);
    let d = crate::durations::ks_statistic(&u, |v| v);
    Some((d, crate::durations::kolmogorov_p(d, u.len())))
}
