//! Statistics (SPEC §3 step 5, "review"): a report over a period — volume,
//! response and resolution times, SLA compliance, satisfaction, reopen rate,
//! backlog and ageing, technicians, recurring problems — as JSON, terminal
//! tables or an HTML page with SVG charts, and the weekly/monthly digest.
//!
//! Data: the store keeps a compact record per ticket (`record`), written with
//! the ticket; a report is one range scan over a period's records plus a
//! lookback (`LOOKBACK_DAYS`), fed to a pure aggregator.
//!
//! Invariant: pure. The store feeds the aggregator its records
//! (`Store::report`), so statistics sit below the store that keeps them.

pub mod aggregate;
pub mod chart;
pub mod cluster;
pub mod digest;
pub mod faq;
pub mod faq_known;
pub mod format;
pub mod html;
pub mod keywords;
pub mod period;
pub mod record;
pub mod text;

use chrono_tz::Tz;

use crate::core::sla::Policy;
use crate::core::ticket::{Lang, Urgency};
use aggregate::{PerUrgency, Query};
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
    pub fn new(policy: &Policy) -> Basis {
        let target = |u: Urgency| policy.resolution_target(u).to_string();
        let tz = policy.calendar.tz();
        Basis {
            targets: PerUrgency {
                urgent: target(Urgency::Urgent),
                high: target(Urgency::High),
                medium: target(Urgency::Medium),
                low: target(Urgency::Low),
            },
            timezone: tz.name().to_string(),
            tz,
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
