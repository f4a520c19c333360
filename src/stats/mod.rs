//! Statistics (SPEC §3 step 5, "review"): a report over a period — volume,
//! response and resolution times, SLA compliance, satisfaction, reopen rate,
//! backlog and ageing, technicians, recurring problems — as JSON, terminal
//! tables or an HTML page with SVG charts, and the weekly/monthly digest.
//!
//! Data: the store keeps a compact record per ticket (`record`), written with
//! the ticket; a report is one range scan over a period's records plus a
//! lookback (`LOOKBACK_DAYS`), fed to a pure aggregator.
//!
//! Invariant: everything but `compute` is pure; `compute` only reads the
//! store (and rebuilds the records once for a store made before they existed).

pub mod aggregate;
pub mod chart;
pub mod cluster;
pub mod digest;
pub mod format;
pub mod html;
pub mod keywords;
pub mod period;
pub mod record;
pub mod text;

use chrono::Days;
use chrono_tz::Tz;
use tracing::{info, warn};

use crate::config::Config;
use crate::core::ticket::{Lang, Urgency};
use crate::store::{Store, StoreError};
use aggregate::{Aggregator, PerUrgency, Query, Report};
use period::Period;

/// Tickets created this long before a period's end are read in full: those
/// resolved in the period or still open at its end count. Older tickets count
/// only while they are open now (a ticket older than this that was open at the
/// period's end but has been resolved since is missed).
pub const LOOKBACK_DAYS: u64 = 90;
/// Clusters listed in a report.
pub const TOP_CLUSTERS: usize = 10;

/// What a report needs from the config: the SLA targets and the time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    pub targets: PerUrgency<String>,
    pub timezone: String,
    pub tz: Tz,
}

impl Basis {
    pub fn from_config(config: &Config) -> Basis {
        let policy = config.policy();
        let target = |u: Urgency| policy.resolution_target(u).to_string();
        Basis {
            targets: PerUrgency {
                urgent: target(Urgency::Urgent),
                high: target(Urgency::High),
                medium: target(Urgency::Medium),
                low: target(Urgency::Low),
            },
            timezone: config.calendar.timezone.clone(),
            tz: policy.calendar.tz(),
        }
    }

    pub fn query(&self, period: Period, group: Option<String>, lang: Lang) -> Query {
        Query {
            period,
            group,
            targets: self.targets.clone(),
            timezone: self.timezone.clone(),
            lang,
            top_clusters: TOP_CLUSTERS,
        }
    }
}

/// The report for `q`, read from the store.
pub fn compute(store: &Store, q: Query) -> Result<Report, StoreError> {
    if !store.stats_ready()? {
        info!("building the statistics records from the tickets (once, for a store made before they existed)");
        let n = store.rebuild_stats()?;
        info!(tickets = n, "statistics records built");
    }
    // A ticket's ID date is its local creation date; a day's margin each side
    // covers tickets imported with an ID date that differs by a time zone.
    let lookback = q
        .period
        .to
        .checked_sub_days(Days::new(LOOKBACK_DAYS))
        .unwrap_or(q.period.from);
    let first = q.period.from.min(lookback) - Days::new(1);
    let last = q.period.to + Days::new(1);
    let mut agg = Aggregator::new(q);
    let count = store.scan_stats(first, last, |rec| agg.add(rec))?;
    if count.skipped > 0 {
        warn!(
            skipped = count.skipped,
            "statistics records of another format were skipped; run `itdesk stats --rebuild`"
        );
    }
    Ok(agg.finish())
}
