//! The tides of crowds: people counters' counts per interval, learned per site and hour of
//! the week — the median, the 95th and the 99th percentile of a count, the peak and trough
//! hours — so that "a surge" means a count above what this site sees at this hour of the
//! week, not above a fixed number.
//!
//! Counts are overdispersed (a sunny Saturday against a rainy one), so a site's counts are
//! taken as negative binomial: the mean count per interval in each hour of the week (counts
//! are large and every interval counts, so no shrinkage is needed: 8 weeks of 15-minute
//! counts give 32 per hour of the week), and one dispersion per site by the method of moments
//! on the residuals (Poisson where there is no excess variance). The
//! percentiles are the negative binomial's, not the sample's: eight weeks of 15-minute counts
//! give 32 values per hour of the week, too few for an empirical 99th percentile.
//!
//! `counts.csv`: a header and `time,site,lon,lat,count` in any order, one row per site and
//! interval; times ISO 8601 (without an offset: the district's local time). Bad rows are
//! named with their line; more than 1 % refuses the file unless the caller allows it.

use crate::history::{parse_time, MALFORMED_SHARE};
use crate::rates::WEEK_H;
use chrono::FixedOffset;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;
use std::collections::BTreeMap;

/// One count of one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    /// Start of the interval, Unix ms.
    pub time_ms: i64,
    /// The site (a people counter's asset id).
    pub site: String,
    /// WGS84.
    pub lon: f64,
    /// WGS84.
    pub lat: f64,
    /// People counted in the interval.
    pub count: u32,
}

/// A counts file read: the counts, and the rows that could not be used, with why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Data rows.
    pub rows: usize,
    /// Counts read, in file order.
    pub counts: Vec<Count>,
    /// Malformed rows: line and reason.
    pub malformed: Vec<(usize, String)>,
}

/// Why a counts file cannot be used at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CountsError {
    /// The header lacks a required column.
    #[error(
        "{file}: the header has no \"{column}\" column (required: time, site, lon, lat, count)"
    )]
    MissingColumn {
        /// The file.
        file: String,
        /// The column.
        column: &'static str,
    },
    /// Too many malformed rows.
    #[error("{file}: {bad} of {rows} rows are malformed (first: line {line}: {why}); more than 1 % refuses the file (--skip-bad uses the rest)")]
    TooManyMalformed {
        /// The file.
        file: String,
        /// Malformed rows.
        bad: usize,
        /// All rows.
        rows: usize,
        /// The first bad line.
        line: usize,
        /// Why.
        why: String,
    },
    /// Not CSV at all.
    #[error("{file}: {why}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        why: String,
    },
}

/// Reads a counts file; `file` names it in every message, times without an offset are in
/// `local`.
pub fn parse_counts(
    file: &str,
    text: &str,
    local: FixedOffset,
    skip_bad: bool,
) -> Result<Counts, CountsError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| CountsError::Unreadable {
            file: file.to_owned(),
            why: format!("unreadable header: {e}"),
        })?
        .clone();
    let column = |name: &'static str| {
        header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or(CountsError::MissingColumn {
                file: file.to_owned(),
                column: name,
            })
    };
    let (time, site, lon, lat, count) = (
        column("time")?,
        column("site")?,
        column("lon")?,
        column("lat")?,
        column("count")?,
    );
    let mut out = Counts::default();
    for (k, row) in reader.records().enumerate() {
        out.rows += 1;
        let line = k + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                out.malformed.push((line, e.to_string()));
                continue;
            }
        };
        let get = |c: usize| row.get(c).unwrap_or("");
        let parsed = (|| {
            let t = parse_time(get(time), local)
                .ok_or_else(|| format!("time \"{}\" is not ISO 8601", get(time)))?;
            let s = get(site);
            if s.is_empty() {
                return Err("site is empty".to_owned());
            }
            let x: f64 = get(lon)
                .parse()
                .map_err(|_| format!("lon \"{}\" is not a number", get(lon)))?;
            let y: f64 = get(lat)
                .parse()
                .map_err(|_| format!("lat \"{}\" is not a number", get(lat)))?;
            if !((-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y)) {
                return Err(format!("lon {x}, lat {y} is not a WGS84 position"));
            }
            let n: u32 = get(count)
                .parse()
                .map_err(|_| format!("count \"{}\" is not a whole number ≥ 0", get(count)))?;
            Ok(Count {
                time_ms: t,
                site: s.to_owned(),
                lon: x,
                lat: y,
                count: n,
            })
        })();
        match parsed {
            Ok(c) => out.counts.push(c),
            Err(why) => out.malformed.push((line, why)),
        }
    }
    if !skip_bad && out.malformed.len() as f64 > MALFORMED_SHARE * out.rows.max(1) as f64 {
        let (line, why) = out.malformed[0].clone();
        return Err(CountsError::TooManyMalformed {
            file: file.to_owned(),
            bad: out.malformed.len(),
            rows: out.rows,
            line,
            why,
        });
    }
    Ok(out)
}

/// A site's learned tide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tide {
    /// WGS84 of the site (its first row).
    pub lon: f64,
    /// WGS84.
    pub lat: f64,
    /// The counting interval, seconds (the most common gap between a site's rows).
    pub interval_s: f64,
    /// Counts used.
    pub counts: usize,
    /// Negative binomial dispersion k (variance μ + μ²/k); `None`: Poisson.
    pub dispersion: Option<f64>,
    /// Mean count per interval in each hour of the week, Monday 00:00 first.
    pub mean: Vec<f64>,
    /// Median count per interval, per hour of the week.
    pub median: Vec<u32>,
    /// 95th percentile.
    pub p95: Vec<u32>,
    /// 99th percentile.
    pub p99: Vec<u32>,
    /// The three busiest hours of the week (0 = Monday 00:00), busiest first.
    pub peak_hours: Vec<usize>,
    /// The three quietest hours among those with any crowd (mean ≥ 1), quietest first.
    pub trough_hours: Vec<usize>,
}

/// Learns each site's tide from `counts`, hours counted from `week_start_ms` (a local Monday
/// 00:00) over `weeks` whole weeks. Sites with fewer than two weeks of counts are left out.
pub fn tides(counts: &[Count], week_start_ms: i64, weeks: usize) -> BTreeMap<String, Tide> {
    let mut by_site: BTreeMap<&str, Vec<&Count>> = BTreeMap::new();
    for c in counts {
        by_site.entry(c.site.as_str()).or_default().push(c);
    }
    by_site
        .into_iter()
        .filter_map(|(site, rows)| Some((site.to_owned(), tide(&rows, week_start_ms, weeks)?)))
        .collect()
}

fn tide(rows: &[&Count], week_start_ms: i64, weeks: usize) -> Option<Tide> {
    let mut times: Vec<i64> = rows.iter().map(|c| c.time_ms).collect();
    times.sort_unstable();
    let mut gaps: BTreeMap<i64, usize> = BTreeMap::new();
    for w in times.windows(2) {
        if w[1] > w[0] {
            *gaps.entry(w[1] - w[0]).or_default() += 1;
        }
    }
    let interval_ms = gaps
        .iter()
        .max_by_key(|(g, n)| (**n, -**g))
        .map(|(g, _)| *g)?;
    // Sums and numbers of intervals per week and hour of the week.
    let mut sums = vec![[0u32; WEEK_H]; weeks];
    let mut seen = vec![[0u32; WEEK_H]; weeks];
    let mut at: Vec<(usize, usize, u32)> = Vec::with_capacity(rows.len());
    for c in rows {
        let hours = (c.time_ms - week_start_ms).div_euclid(3_600_000);
        if hours < 0 {
            continue;
        }
        let (w, h) = ((hours as usize) / WEEK_H, (hours as usize) % WEEK_H);
        if w < weeks {
            sums[w][h] = sums[w][h].saturating_add(c.count);
            seen[w][h] += 1;
            at.push((w, h, c.count));
        }
    }
    let weeks_seen = seen.iter().filter(|s| s.iter().any(|n| *n > 0)).count();
    if weeks_seen < 2 {
        return None;
    }
    // Mean per interval in each hour of the week over the intervals counted (a gap in the
    // feed lowers nothing); an hour never counted takes the same hour of the day's mean.
    let (mut by_how, mut n_how) = ([0f64; WEEK_H], [0f64; WEEK_H]);
    for w in 0..weeks {
        for h in 0..WEEK_H {
            by_how[h] += f64::from(sums[w][h]);
            n_how[h] += f64::from(seen[w][h]);
        }
    }
    let (mut by_hod, mut n_hod) = ([0f64; 24], [0f64; 24]);
    for h in 0..WEEK_H {
        by_hod[h % 24] += by_how[h];
        n_hod[h % 24] += n_how[h];
    }
    let mean: Vec<f64> = (0..WEEK_H)
        .map(|h| {
            if n_how[h] > 0.0 {
                by_how[h] / n_how[h]
            } else if n_hod[h % 24] > 0.0 {
                by_hod[h % 24] / n_hod[h % 24]
            } else {
                0.0
            }
        })
        .collect();
    // Dispersion by moments: Σ((x − μ)² − μ) = Σ μ²/k.
    let (mut excess, mut mu2) = (0.0, 0.0);
    for (_, h, x) in &at {
        let m = mean[*h];
        excess += (f64::from(*x) - m).powi(2) - m;
        mu2 += m * m;
    }
    let dispersion = (excess > 0.0 && mu2 > 0.0).then(|| mu2 / excess);
    let q = |p: f64| -> Vec<u32> {
        mean.iter()
            .map(|m| nb_quantile(*m, dispersion, p))
            .collect()
    };
    let mut order: Vec<usize> = (0..WEEK_H).collect();
    order.sort_by(|a, b| mean[*b].total_cmp(&mean[*a]).then(a.cmp(b)));
    let peak_hours = order.iter().take(3).copied().collect();
    let trough_hours = order
        .iter()
        .rev()
        .filter(|h| mean[**h] >= 1.0)
        .take(3)
        .copied()
        .collect();
    Some(Tide {
        lon: rows[0].lon,
        lat: rows[0].lat,
        interval_s: interval_ms as f64 / 1000.0,
        counts: at.len(),
        dispersion: dispersion.map(|k| (k * 1000.0).round() / 1000.0),
        median: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        mean: mean.iter().map(|m| (m * 100.0).round() / 100.0).collect(),
        peak_hours,
        trough_hours,
    })
}

/// The smallest n with P(X ≤ n) ≥ `p` for a negative binomial of mean `mean` and dispersion
/// `k` (Poisson without one): a binary search on the distribution function (the regularised
/// incomplete beta, or gamma for the Poisson), so a busy pier's thousands cost no more than
/// a quiet corner's few.
pub fn nb_quantile(mean: f64, k: Option<f64>, p: f64) -> u32 {
    use statrs::function::beta::beta_reg;
    use statrs::function::gamma::gamma_ur;
    if !(mean.is_finite() && mean > 0.0) {
        return 0;
    }
    let cdf = |n: u32| -> f64 {
        let n = f64::from(n);
        match k {
            Some(k) => beta_reg(k, n + 1.0, k / (k + mean)),
            None => gamma_ur(n + 1.0, mean),
        }
    };
    let sd = (mean + k.map_or(0.0, |k| mean * mean / k)).sqrt();
    let (mut lo, mut hi) = (0u32, (mean + 40.0 * sd + 100.0).min(4e9) as u32);
    if cdf(hi) < p {
        return hi;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if cdf(mid) >= p {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The tides read back from `model.json` (`crowd`), with the week they count from: what the
/// live twin's crowd rule compares a count with.
#[derive(Debug, Clone, Default)]
pub struct TideBook {
    /// Unix ms of the Monday 00:00 hours count from.
    pub week_start_ms: i64,
    /// Per site.
    pub sites: BTreeMap<String, Tide>,
}

impl TideBook {
    /// The tides `model.json` holds (its `crowd`), or an empty book when it has none;
    /// `file` names it in errors.
    pub fn from_model_json(file: &str, text: &str) -> Result<Self, crate::forecast::ModelError> {
        #[derive(Deserialize)]
        struct Crowd {
            week_start: String,
            sites: BTreeMap<String, Tide>,
        }
        let unreadable = |why: String| crate::forecast::ModelError::Unreadable {
            file: file.to_owned(),
            why,
        };
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?;
        if v["crowd"].is_null() {
            return Ok(TideBook::default());
        }
        let c: Crowd = serde_json::from_value(v["crowd"].clone())
            .map_err(|e| unreadable(format!("crowd: {e}")))?;
        if let Some((site, _)) = c
            .sites
            .iter()
            .find(|(_, t)| t.p99.len() != WEEK_H || t.p95.len() != WEEK_H)
        {
            return Err(unreadable(format!(
                "crowd.sites.{site}: needs 168 hourly percentiles"
            )));
        }
        let week_start_ms = chrono::DateTime::parse_from_rfc3339(&c.week_start)
            .map_err(|e| unreadable(format!("crowd.week_start \"{}\": {e}", c.week_start)))?
            .timestamp_millis();
        Ok(TideBook {
            week_start_ms,
            sites: c.sites,
        })
    }

    /// The site's (alarm at, clear below) for a count in the interval starting at `at_ms`: its
    /// 99th percentile for that hour of the week (a count above it raises), and its 95th
    /// (below it the alarm re-arms). `None` for a site without a tide.
    pub fn thresholds(&self, site: &str, at_ms: i64) -> Option<(f64, f64)> {
        let p = self.percentiles(site, at_ms)?;
        Some((f64::from(p.p99) + 1.0, f64::from(p.p95) + 1.0))
    }

    /// The site's median, 95th and 99th percentile counts for the hour of the week that
    /// `at_ms` falls in; `None` for a site without a tide.
    pub fn percentiles(&self, site: &str, at_ms: i64) -> Option<Percentiles> {
        let t = self.sites.get(site)?;
        let h = crate::rates::hour_of_week(self.week_start_ms, at_ms);
        Some(Percentiles {
            median: t.median[h],
            p95: t.p95[h],
            p99: t.p99[h],
        })
    }
}

/// A site's tide at one hour of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    /// Median count per interval.
    pub median: u32,
    /// 95th percentile.
    pub p95: u32,
    /// 99th percentile.
    pub p99: u32,
}

/// ln of the negative binomial probability, for tests and the report.
pub fn nb_ln_pmf(n: u32, mean: f64, k: f64) -> f64 {
    let n = f64::from(n);
    ln_gamma(n + k) - ln_gamma(k) - ln_gamma(n + 1.0)
        + k * (k / (k + mean)).ln()
        + n * (mean / (k + mean)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shanghai() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn quantiles_of_poisson_and_negative_binomial() {
        // Poisson(10): median 10, 99 % at 18.
        assert_eq!(nb_quantile(10.0, None, 0.5), 10);
        assert_eq!(nb_quantile(10.0, None, 0.99), 18);
        // Overdispersed counts reach further.
        assert!(nb_quantile(10.0, Some(2.0), 0.99) > 25);
        assert_eq!(nb_quantile(0.0, Some(2.0), 0.99), 0);
        let total: f64 = (0..400).map(|n| nb_ln_pmf(n, 20.0, 3.0).exp()).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bad_rows_are_named_and_many_refuse_the_file() {
        let mut text = String::from("site,time,count,lon,lat\n");
        for k in 0..150 {
            text.push_str(&format!(
                "pier-1,2026-10-05T{:02}:{:02}:00,{k},121.5,31.25\n",
                k / 4 % 24,
                k % 4 * 15
            ));
        }
        text.push_str("pier-1,2026-10-06T00:00:00,-3,121.5,31.25\n");
        let c = parse_counts("c.csv", &text, shanghai(), false).unwrap();
        assert_eq!(
            c.malformed,
            vec![(152, "count \"-3\" is not a whole number ≥ 0".to_owned())]
        );
        text.push_str("pier-1,noon,3,121.5,31.25\n");
        let e = parse_counts("c.csv", &text, shanghai(), false).unwrap_err();
        assert!(e.to_string().starts_with("c.csv: 2 of 152 rows"), "{e}");
        assert!(parse_counts("c.csv", &text, shanghai(), true).is_ok());
        let e = parse_counts("c.csv", "time,site,lon,lat\n", shanghai(), false).unwrap_err();
        assert!(e.to_string().contains("\"count\""), "{e}");
    }

    proptest! {
        /// Any text is counts or a refusal naming the file: never a panic.
        #[test]
        fn any_text_parses_or_is_refused(text in ".{0,300}", rows in proptest::collection::vec("[0-9T:+ ,.a-z_-]{0,50}", 0..20)) {
            let mut body = String::from("time,site,lon,lat,count\n");
            for r in &rows {
                body.push_str(r);
                body.push('\n');
            }
            for t in [text.as_str(), body.as_str()] {
                match parse_counts("c.csv", t, shanghai(), false) {
                    Ok(c) => prop_assert!(c.counts.len() + c.malformed.len() <= c.rows),
                    Err(e) => prop_assert!(e.to_string().starts_with("c.csv")),
                }
            }
        }
    }
}
