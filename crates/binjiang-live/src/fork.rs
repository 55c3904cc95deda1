//! "Fork now": if nothing changes, where are we in two hours? A copy of the live state runs
//! forward with incidents drawn from the catalogue ([`binjiang_sim::project`]), off the
//! twin's task; the live twin is never touched (the copy is taken between two requests).

use crate::clock::Clock;
use binjiang_protocol::{Peak, Projection};
use binjiang_sim::{MetricsFold, Simulation};

/// Longest projection, hours.
pub const MAX_HOURS: f64 = 24.0;

/// Runs `fork` (a copy from [`Simulation::fork_generated`]) for `hours`, continuing `today`
/// (the live twin's fold of the day so far), and dates the answer on the live clock.
pub fn project(
    fork: Simulation,
    today: MetricsFold,
    hours: f64,
    seed: u64,
    clock: &Clock,
) -> Projection {
    let p = binjiang_sim::project(fork, today, hours);
    Projection {
        from: clock.iso(p.from_s),
        until: clock.iso(p.until_s),
        seed,
        open_at_end: p.open_at_end,
        peak_queue: p
            .peak_queue
            .into_iter()
            .map(|(agency, q)| {
                (
                    agency.key().to_owned(),
                    Peak {
                        parts: q.parts,
                        at: clock.iso(q.at_s),
                    },
                )
            })
            .collect(),
        kpis: p.kpis,
    }
}
