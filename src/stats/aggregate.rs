//! The numbers of a report, from stats records fed one at a time.
//!
//! Which tickets count where (P is the period, `[start, end)`):
//! - volume by type, urgency, group, channel; first response; clusters: tickets
//!   **created** in P;
//! - resolution time, CSAT, reopen rate, per-technician resolution: tickets
//!   **resolved** in P (their resolution time is resolved − created);
//! - SLA: tickets resolved in P (met when resolved by their ETA) and tickets
//!   still open at the end of P whose ETA passed inside it (breached);
//! - backlog and ageing: tickets open at the end of P, by age then.
//!
//! Medians average the two middle values; p90 is the nearest-rank value
//! (the smallest that at least 90 % of the values do not exceed).
//!
//! Invariant: pure. The caller decides which records to feed (the store scan
//! reads the period plus a lookback for tickets still open or resolved in it).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::cluster::{self, Cluster};
use super::period::Period;
use super::record::Rec;
use crate::core::ticket::{Channel, Lang, ProblemType, Urgency};

/// Ageing buckets of the backlog: upper bounds in days (the last is open-ended).
pub const AGE_BUCKETS: [(&str, Option<i64>); 5] = [
    ("<1d", Some(1)),
    ("1-3d", Some(3)),
    ("3-7d", Some(7)),
    ("7-30d", Some(30)),
    (">=30d", None),
];
const DAY: i64 = 86_400;

macro_rules! keyed {
    ($(#[$meta:meta])* $name:ident, $enum:ident { $($field:ident => $variant:ident),+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name<T> { $(pub $field: T),+ }

        impl<T> $name<T> {
            pub fn get(&self, key: $enum) -> &T {
                match key { $($enum::$variant => &self.$field),+ }
            }

            pub fn get_mut(&mut self, key: $enum) -> &mut T {
                match key { $($enum::$variant => &mut self.$field),+ }
            }
        }
    };
}

keyed!(
    /// One value per problem type; JSON keys are the types' keys.
    PerType, ProblemType { hardware => Hardware, software => Software, network => Network, access => Access, other => Other }
);
keyed!(
    /// One value per urgency; JSON keys are the urgencies' keys.
    PerUrgency, Urgency { urgent => Urgent, high => High, medium => Medium, low => Low }
);
keyed!(
    /// One value per channel; JSON keys are the channels' keys.
    PerChannel, Channel { email => Email, chat => Chat, desk => Desk }
);

/// What to report on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub period: Period,
    /// Only this technician group's tickets.
    pub group: Option<String>,
    /// The configured resolution target per urgency, as written ("4h", "3wd").
    pub targets: PerUrgency<String>,
    pub timezone: String,
    /// Language of the cluster labels.
    pub lang: Lang,
    pub top_clusters: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub period: PeriodView,
    pub totals: Totals,
    pub by_type: PerType<u64>,
    pub by_urgency: PerUrgency<u64>,
    pub by_channel: PerChannel<u64>,
    /// Largest first.
    pub by_group: Vec<NamedCount>,
    pub first_response: Times,
    pub resolution: Times,
    pub sla: SlaReport,
    pub csat: Csat,
    pub reopen: Reopen,
    pub backlog: Backlog,
    /// Most resolved first.
    pub technicians: Vec<Technician>,
    /// Largest first.
    pub recurring: Vec<Cluster>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodView {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// Counted up to this instant only (the period runs into the future).
    #[serde(default)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub timezone: String,
    pub group: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub opened: u64,
    pub resolved: u64,
    pub closed: u64,
    pub open_at_end: u64,
    /// Resolved late in the period, or open at its end past their ETA.
    pub breached: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedCount {
    pub name: String,
    pub count: u64,
}

/// Durations in seconds; `None` without data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    pub count: u64,
    pub mean_s: Option<f64>,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Times {
    pub all: Durations,
    pub by_urgency: PerUrgency<Durations>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sla {
    /// The configured target, as written ("4h", "3wd"); absent in `all`.
    pub target: Option<String>,
    pub met: u64,
    pub breached: u64,
    /// met / (met + breached); `None` when nothing fell due.
    pub compliance: Option<f64>,
    /// Median resolution time as a share of the time each ticket was allowed
    /// (ETA − created): 1.0 is exactly on target.
    pub median_of_target: Option<f64>,
    pub p90_of_target: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaReport {
    pub all: Sla,
    pub by_urgency: PerUrgency<Sla>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    pub average: Option<f64>,
    pub rated: u64,
    /// Tickets resolved in the period: the ones that were asked to rate.
    pub resolved: u64,
    pub response_rate: Option<f64>,
    /// Ratings with 1, 2, 3, 4 and 5 stars.
    pub distribution: [u64; 5],
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reopen {
    pub resolved: u64,
    /// Of those, reopened at least once before this resolution.
    pub reopened: u64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Backlog {
    pub open: u64,
    pub by_age: Vec<NamedCount>,
    pub by_urgency: PerUrgency<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Technician {
    pub name: String,
    /// Assigned tickets created or resolved in the period.
    pub handled: u64,
    pub resolved: u64,
    pub median_resolution_s: Option<f64>,
    pub csat_average: Option<f64>,
    pub rated: u64,
}

#[derive(Default)]
struct TechAcc {
    handled: u64,
    resolution: Vec<i64>,
    stars: Vec<u8>,
}

/// Feed it every record that may matter, then `finish`.
pub struct Aggregator {
    q: Query,
    start: i64,
    end: i64,
    totals: Totals,
    by_type: PerType<u64>,
    by_urgency: PerUrgency<u64>,
    by_channel: PerChannel<u64>,
    by_group: HashMap<String, u64>,
    first_response: PerUrgency<Vec<i64>>,
    resolution: PerUrgency<Vec<i64>>,
    /// Resolution time / allowed time, per urgency.
    of_target: PerUrgency<Vec<f64>>,
    sla: PerUrgency<Sla>,
    stars: [u64; 5],
    reopened: u64,
    backlog: Backlog,
    techs: HashMap<String, TechAcc>,
    words: cluster::Interner,
    documents: Vec<cluster::Document>,
}

impl Aggregator {
    pub fn new(q: Query) -> Aggregator {
        let (start, end) = (q.period.start.timestamp(), q.period.end.timestamp());
        let backlog = Backlog {
            by_age: AGE_BUCKETS
                .iter()
                .map(|(name, _)| NamedCount {
                    name: (*name).into(),
                    count: 0,
                })
                .collect(),
            ..Backlog::default()
        };
        Aggregator {
            q,
            start,
            end,
            totals: Totals::default(),
            by_type: PerType::default(),
            by_urgency: PerUrgency::default(),
            by_channel: PerChannel::default(),
            by_group: HashMap::new(),
            first_response: PerUrgency::default(),
            resolution: PerUrgency::default(),
            of_target: PerUrgency::default(),
            sla: PerUrgency::default(),
            stars: [0; 5],
            reopened: 0,
            backlog,
            techs: HashMap::new(),
            words: cluster::Interner::default(),
            documents: Vec::new(),
        }
    }

    fn within(&self, at: i64) -> bool {
        self.start <= at && at < self.end
    }

    pub fn add(&mut self, r: &Rec<'_>) {
        if self.q.group.as_deref().is_some_and(|g| g != r.group) {
            return;
        }
        let created_in = self.within(r.created);
        let resolved_in = r.resolved.filter(|&at| self.within(at));
        if created_in {
            self.totals.opened += 1;
            *self.by_type.get_mut(r.problem_type) += 1;
            *self.by_urgency.get_mut(r.urgency) += 1;
            *self.by_channel.get_mut(r.channel) += 1;
            bump(&mut self.by_group, r.group);
            if let Some(ack) = r.acknowledged {
                self.first_response.get_mut(r.urgency).push(ack - r.created);
            }
            let words = r.keywords().map(|w| self.words.id(w)).collect();
            self.documents.push(cluster::Document {
                id: r.ticket_id(),
                words,
            });
        }
        if r.closed.is_some_and(|at| self.within(at)) {
            self.totals.closed += 1;
        }
        if let Some(resolved) = resolved_in {
            self.totals.resolved += 1;
            let took = resolved - r.created;
            self.resolution.get_mut(r.urgency).push(took);
            let allowed = r.eta - r.created;
            if allowed > 0 {
                self.of_target
                    .get_mut(r.urgency)
                    .push(took as f64 / allowed as f64);
            }
            let sla = self.sla.get_mut(r.urgency);
            if resolved <= r.eta {
                sla.met += 1;
            } else {
                sla.breached += 1;
            }
            if let Some(stars) = r.stars.filter(|s| (1..=5).contains(s)) {
                self.stars[usize::from(stars - 1)] += 1;
            }
            if r.reopen_count > 0 {
                self.reopened += 1;
            }
        }
        let open_at_end = r.created < self.end && r.done().is_none_or(|done| done >= self.end);
        if open_at_end {
            self.backlog.open += 1;
            *self.backlog.by_urgency.get_mut(r.urgency) += 1;
            let age = self.end - r.created;
            let bucket = AGE_BUCKETS
                .iter()
                .position(|(_, max)| max.is_none_or(|days| age < days * DAY))
                .unwrap_or(AGE_BUCKETS.len() - 1);
            self.backlog.by_age[bucket].count += 1;
            if self.start <= r.eta && r.eta < self.end {
                self.sla.get_mut(r.urgency).breached += 1;
            }
        }
        if let Some(name) = r.assignee.filter(|_| created_in || resolved_in.is_some()) {
            let tech = match self.techs.get_mut(name) {
                Some(t) => t,
                None => self.techs.entry(name.to_string()).or_default(),
            };
            tech.handled += 1;
            if let Some(resolved) = resolved_in {
                tech.resolution.push(resolved - r.created);
                tech.stars.extend(r.stars.filter(|s| (1..=5).contains(s)));
            }
        }
    }

    pub fn finish(self) -> Report {
        let Aggregator {
            q,
            mut totals,
            by_type,
            by_urgency,
            by_channel,
            by_group,
            first_response,
            resolution,
            mut of_target,
            mut sla,
            stars,
            reopened,
            backlog,
            techs,
            words,
            documents,
            ..
        } = self;
        let mut all_sla = Sla::default();
        for u in Urgency::ALL {
            let s = sla.get_mut(*u);
            s.target = Some(q.targets.get(*u).clone());
            s.compliance = ratio(s.met, s.met + s.breached);
            let shares = of_target.get_mut(*u);
            shares.sort_by(f64::total_cmp);
            s.median_of_target = median_f(shares);
            s.p90_of_target = p90_f(shares);
            all_sla.met += s.met;
            all_sla.breached += s.breached;
        }
        all_sla.compliance = ratio(all_sla.met, all_sla.met + all_sla.breached);
        let mut all_shares: Vec<f64> = Urgency::ALL
            .iter()
            .flat_map(|u| of_target.get(*u).iter().copied())
            .collect();
        all_shares.sort_by(f64::total_cmp);
        all_sla.median_of_target = median_f(&all_shares);
        all_sla.p90_of_target = p90_f(&all_shares);
        totals.open_at_end = backlog.open;
        totals.breached = all_sla.breached;

        let rated: u64 = stars.iter().sum();
        let star_sum: u64 = stars
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u64 + 1) * n)
            .sum();
        let csat = Csat {
            average: (rated > 0).then(|| star_sum as f64 / rated as f64),
            rated,
            resolved: totals.resolved,
            response_rate: ratio(rated, totals.resolved),
            distribution: stars,
        };
        let reopen = Reopen {
            resolved: totals.resolved,
            reopened,
            rate: ratio(reopened, totals.resolved),
        };

        let mut by_group: Vec<NamedCount> = by_group
            .into_iter()
            .map(|(name, count)| NamedCount { name, count })
            .collect();
        by_group.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));

        let mut technicians: Vec<Technician> = techs
            .into_iter()
            .map(|(name, mut t)| {
                t.resolution.sort_unstable();
                let rated = t.stars.len() as u64;
                Technician {
                    name,
                    handled: t.handled,
                    resolved: t.resolution.len() as u64,
                    median_resolution_s: median(&t.resolution),
                    csat_average: (rated > 0)
                        .then(|| t.stars.iter().map(|s| f64::from(*s)).sum::<f64>() / rated as f64),
                    rated,
                }
            })
            .collect();
        technicians.sort_by(|a, b| {
            b.resolved
                .cmp(&a.resolved)
                .then(b.handled.cmp(&a.handled))
                .then_with(|| a.name.cmp(&b.name))
        });

        Report {
            period: PeriodView {
                from: q.period.from,
                to: q.period.to,
                until: q.period.clipped.then_some(q.period.end),
                timezone: q.timezone.clone(),
                group: q.group.clone(),
            },
            totals,
            by_type,
            by_urgency,
            by_channel,
            by_group,
            first_response: times(first_response),
            resolution: times(resolution),
            sla: SlaReport {
                all: all_sla,
                by_urgency: sla,
            },
            csat,
            reopen,
            backlog,
            technicians,
            recurring: cluster::clusters(&documents, &words, q.lang, q.top_clusters),
        }
    }
}

fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn times(mut per: PerUrgency<Vec<i64>>) -> Times {
    let mut all: Vec<i64> = Vec::new();
    let mut out = Times::default();
    for u in Urgency::ALL {
        let values = per.get_mut(*u);
        values.sort_unstable();
        *out.by_urgency.get_mut(*u) = durations(values);
        all.extend_from_slice(values);
    }
    all.sort_unstable();
    out.all = durations(&all);
    out
}

/// `sorted` ascending.
pub fn durations(sorted: &[i64]) -> Durations {
    let n = sorted.len();
    Durations {
        count: n as u64,
        mean_s: (n > 0).then(|| sorted.iter().map(|v| *v as f64).sum::<f64>() / n as f64),
        median_s: median(sorted),
        p90_s: p90(sorted).map(|v| v as f64),
    }
}

fn median(sorted: &[i64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2] as f64),
        _ => Some((sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0),
    }
}

fn median_f(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Nearest rank: the ⌈0.9·n⌉-th smallest.
fn p90_rank(n: usize) -> Option<usize> {
    (n > 0).then(|| (n * 9).div_ceil(10) - 1)
}

fn p90(sorted: &[i64]) -> Option<i64> {
    p90_rank(sorted.len()).map(|i| sorted[i])
}

fn p90_f(sorted: &[f64]) -> Option<f64> {
    p90_rank(sorted.len()).map(|i| sorted[i])
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
pub(crate) mod tests;
