//! Making the explanation records of [`crate::explain`]: after the decision is taken, every
//! unit of the agency is put in its place — chosen, slower by road, of another zone, beyond
//! the travel limit, unreachable, busy, off duty, not allowed. Listed are the units the
//! search ranked by road (their road times kept from the search, not searched again), every
//! unit nearer as the crow flies than the one sent (searched if the search had not), and with
//! nobody sent the nearest few.

use super::Simulation;
use crate::event::QueueReason;
use crate::explain::{Candidate, CandidateStatus, Decision, DecisionKind, Rule, RANKED};

impl Simulation {
    /// Makes an explanation record of every decision from now on
    /// ([`Simulation::drain_decisions`]). Off by default: the dispatch core does no extra
    /// work.
    pub fn set_explain(&mut self, on: bool) {
        self.explaining = on;
    }

    /// The decisions explained since the last call, oldest first.
    pub fn drain_decisions(&mut self) -> Vec<Decision> {
        std::mem::take(&mut self.decisions)
    }

    /// Explains the decision on part `k` of incident `i`: `chosen` with its road time, or
    /// nobody (`reason`). `rule` is the rule that decided, `None` for the dispatch rules
    /// (fastest or zone first, told apart here). Call before the unit is assigned.
    pub(super) fn explain(
        &mut self,
        i: u32,
        k: usize,
        chosen: Option<(u32, f64)>,
        rule: Option<Rule>,
        reason: Option<QueueReason>,
    ) {
        if !self.explaining {
            return;
        }
        let now = self.now();
        let inc = self.inc(i);
        let (agency, p, area) = (inc.needs[k].agency, inc.position, inc.area);
        let crow = |q: geo::Coord| (q.x - p.x).hypot(q.y - p.y);
        let chosen_crow = chosen.map(|(u, _)| crow(self.units[u as usize].position(now)));
        let chosen_rank = chosen.and_then(|(u, eta)| {
            self.policy
                .rank(agency, self.units[u as usize].area == area, eta)
        });
        // Every unit of the agency, nearest first.
        let mut all: Vec<(f64, u32)> = self
            .units
            .iter()
            .enumerate()
            .filter(|(_, unit)| unit.agency == agency)
            .map(|(u, unit)| (crow(unit.position(now)), u as u32))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut rows: Vec<Candidate> = Vec::new();
        let mut searched = 0;
        for (d, u) in all {
            let is_chosen = chosen.is_some_and(|(c, _)| c == u);
            let nearer = chosen_crow.is_none_or(|c| d < c);
            let unit = &self.units[u as usize];
            let (mode, from, in_zone) = (unit.mode, unit.position(now), unit.area == area);
            let status_now = if is_chosen {
                Some(CandidateStatus::Chosen)
            } else if !unit.on_duty {
                Some(CandidateStatus::OffDuty)
            } else if !unit.available() {
                Some(CandidateStatus::Busy)
            } else if !self.policy.eligible(agency, unit.area, area) {
                Some(CandidateStatus::NotAllowedByPolicy)
            } else {
                None
            };
            let id = unit.id.clone();
            match status_now {
                Some(CandidateStatus::Chosen) => rows.push(Candidate {
                    unit: id,
                    eta_s: chosen.map(|(_, eta)| round1(eta)),
                    crow_m: d.round(),
                    status: CandidateStatus::Chosen,
                }),
                // Not free or not allowed: listed when nearer than the one sent (or, with
                // nobody sent, among the nearest).
                Some(status) => {
                    if (chosen.is_some() && nearer) || (chosen.is_none() && rows.len() < RANKED) {
                        rows.push(Candidate {
                            unit: id,
                            eta_s: None,
                            crow_m: d.round(),
                            status,
                        });
                    }
                }
                None => {
                    // Free and allowed: listed with its road time when the search ranked it,
                    // when it is nearer than the one sent, or (nobody sent) among the nearest.
                    let known = (self.searched_for == Some((i, self.now_ms)))
                        .then(|| self.searched.iter().find(|(s, _)| *s == u).map(|(_, t)| *t))
                        .flatten();
                    let listed = known.is_some()
                        || (chosen.is_some() && nearer)
                        || (chosen.is_none() && searched < RANKED);
                    if !listed {
                        continue;
                    }
                    searched += 1;
                    let eta = match known {
                        Some(t) => t,
                        None => self.router.travel_time(mode, from, p),
                    };
                    let status = match eta {
                        None => CandidateStatus::Unreachable,
                        Some(t) => match self.policy.rank(agency, in_zone, t) {
                            None => CandidateStatus::BeyondMaxTravel,
                            Some(rank) => match (chosen, chosen_rank) {
                                (Some((_, c)), Some(cr)) if t < c => {
                                    if rule.is_some() {
                                        CandidateStatus::PassedOverByRule
                                    } else if rank.tier > cr.tier {
                                        CandidateStatus::OtherZoneWithinZoneFirst
                                    } else {
                                        // The exact search never leaves a better unit: a bug.
                                        CandidateStatus::PassedOverByRule
                                    }
                                }
                                _ => CandidateStatus::SlowerByRoad,
                            },
                        },
                    };
                    rows.push(Candidate {
                        unit: id,
                        eta_s: eta.map(round1),
                        crow_m: d.round(),
                        status,
                    });
                }
            }
        }
        let rule = rule.unwrap_or(match chosen {
            None => Rule::Queued,
            Some(_)
                if rows
                    .iter()
                    .any(|c| c.status == CandidateStatus::OtherZoneWithinZoneFirst) =>
            {
                Rule::ZoneFirst
            }
            Some(_) => Rule::Fastest,
        });
        // Best first: the one sent, then by road time, then those with none.
        rows.sort_by(|a, b| {
            (a.status != CandidateStatus::Chosen)
                .cmp(&(b.status != CandidateStatus::Chosen))
                .then(a.eta_s.is_none().cmp(&b.eta_s.is_none()))
                .then(a.eta_s.unwrap_or(0.0).total_cmp(&b.eta_s.unwrap_or(0.0)))
                .then(a.crow_m.total_cmp(&b.crow_m))
                .then(a.unit.cmp(&b.unit))
        });
        // The ranked ones beyond the first RANKED go, unless nearer than the one sent.
        let mut others = 0;
        rows.retain(|c| {
            let keep = c.status == CandidateStatus::Chosen
                || chosen_crow.is_some_and(|d| c.crow_m < d.round())
                || others < RANKED;
            if c.status != CandidateStatus::Chosen {
                others += 1;
            }
            keep
        });
        let chosen_row = rows
            .iter()
            .find(|c| c.status == CandidateStatus::Chosen)
            .cloned();
        self.searched.clear();
        let text = words(chosen_row.as_ref(), &rows, reason);
        let id = self.next_decision;
        self.next_decision += 1;
        self.decisions.push(Decision {
            id,
            t: now,
            incident: i,
            agency,
            decision: if chosen.is_some() {
                DecisionKind::Dispatched
            } else {
                DecisionKind::Queued
            },
            rule,
            reason,
            chosen: chosen_row,
            candidates: rows,
            text,
        });
    }
}

fn round1(s: f64) -> f64 {
    (s * 10.0).round() / 10.0
}

/// The record in words: the unit sent and why the nearer ones were not.
fn words(chosen: Option<&Candidate>, rows: &[Candidate], reason: Option<QueueReason>) -> String {
    let why = |c: &Candidate| -> String {
        let eta = c
            .eta_s
            .map_or(String::new(), |t| format!("{t:.0} s by road"));
        match c.status {
            CandidateStatus::Chosen => format!("sent, {eta}"),
            CandidateStatus::SlowerByRoad => eta,
            CandidateStatus::OtherZoneWithinZoneFirst => {
                format!("{eta}, but of another subdistrict (zone first)")
            }
            CandidateStatus::BeyondMaxTravel => format!("{eta}, beyond the travel limit"),
            CandidateStatus::Unreachable => "has no road there".into(),
            CandidateStatus::Busy => "busy".into(),
            CandidateStatus::OffDuty => "off duty".into(),
            CandidateStatus::NotAllowedByPolicy => "not allowed to serve there".into(),
            CandidateStatus::PassedOverByRule => format!("{eta}, passed over by the rule"),
        }
    };
    match chosen {
        Some(c) => {
            let mut text = format!(
                "{}, {:.0} s by road ({:.0} m away)",
                c.unit,
                c.eta_s.unwrap_or(0.0),
                c.crow_m
            );
            for o in rows
                .iter()
                .filter(|o| o.status != CandidateStatus::Chosen && o.crow_m < c.crow_m)
                .take(2)
            {
                text.push_str(&format!(
                    "; {} is {:.0} m away but {}",
                    o.unit,
                    o.crow_m,
                    why(o)
                ));
            }
            text
        }
        None => {
            let mut text = format!(
                "nobody sent: {}",
                match reason {
                    Some(QueueReason::NoUnitFree) => "every unit busy or off duty",
                    Some(QueueReason::BeyondMaxTravel) => "no free unit within the travel limit",
                    Some(QueueReason::Unreachable) => "no free unit has a road there",
                    Some(QueueReason::Preempted) => "its unit was taken for an urgent incident",
                    None => "no unit",
                }
            );
            if let Some(o) = rows.first() {
                text.push_str(&format!(
                    "; nearest {} {:.0} m away, {}",
                    o.unit,
                    o.crow_m,
                    why(o)
                ));
            }
            text
        }
    }
}
