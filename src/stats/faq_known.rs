//! Approved FAQ entries: a recurring cluster staff reviewed, with the fix a
//! requester is told to try first when a new request matches it.
//!
//! Matching uses the clustering's own keywords: a request matches an entry
//! when its keywords (`keywords::extract`, as the report reads them) contain
//! every keyword of the cluster. Among several, the most specific (most
//! keywords) wins, then the cluster name, so the choice is deterministic.
//!
//! Invariant: pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::cluster::Cluster;
use super::keywords;

/// One approved entry, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approved {
    /// The cluster's name: its keywords joined by `+` (as `itdesk faq` shows).
    pub cluster: String,
    pub keywords: Vec<String>,
    /// The fix shown to requesters, masked.
    pub fix: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The keywords a cluster name stands for; `None` when it names none.
pub fn cluster_keywords(cluster: &str) -> Option<Vec<String>> {
    let words: Vec<String> = cluster
        .split('+')
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    (!words.is_empty()).then_some(words)
}

/// The approved entry a new request with this subject and description matches.
pub fn matching<'a>(
    approved: &'a [Approved],
    subject: &str,
    description: &str,
) -> Option<&'a Approved> {
    let words = keywords::extract(subject, description);
    approved
        .iter()
        .filter(|a| !a.keywords.is_empty() && a.keywords.iter().all(|k| words.contains(k)))
        .max_by(|a, b| {
            a.keywords
                .len()
                .cmp(&b.keywords.len())
                .then_with(|| b.cluster.cmp(&a.cluster))
        })
}

/// The recurring clusters no approved entry covers yet, in their order.
pub fn unapproved<'a>(recurring: &'a [Cluster], approved: &[Approved]) -> Vec<&'a Cluster> {
    recurring
        .iter()
        .filter(|c| {
            !approved
                .iter()
                .any(|a| same_words(&a.keywords, &c.keywords))
        })
        .collect()
}

fn same_words(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|w| b.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cluster: &str, fix: &str) -> Approved {
        Approved {
            cluster: cluster.into(),
            keywords: cluster_keywords(cluster).unwrap(),
            fix: fix.into(),
            by: "li".into(),
            at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_request_with_all_of_the_cluster_s_keywords_matches_in_either_language() {
        let approved = [entry("vpn+disconnect", "Update the VPN client")];
        for (subject, body) in [
            ("VPN keeps dropping", ""),
            ("VPN断线", "每小时一次"),
            ("Help", "Since Monday the VPN disconnects with error 809."),
        ] {
            let hit = matching(&approved, subject, body).map(|a| a.fix.as_str());
            assert_eq!(hit, Some("Update the VPN client"), "{subject}");
        }
        assert_eq!(matching(&approved, "VPN password expired", ""), None);
        assert_eq!(matching(&approved, "打印机卡纸", "三楼"), None);
    }

    #[test]
    fn the_most_specific_entry_wins_and_nothing_matches_an_empty_request() {
        let approved = [entry("vpn", "single"), entry("disconnect+vpn", "pair")];
        let hit = matching(&approved, "VPN disconnects every hour", "");
        assert_eq!(hit.map(|a| a.fix.as_str()), Some("pair"));
        let hit = matching(&approved, "VPN password expired", "");
        assert_eq!(hit.map(|a| a.fix.as_str()), Some("single"));
        assert_eq!(matching(&approved, "", ""), None);
        assert_eq!(matching(&[], "VPN disconnects every hour", ""), None);
    }

    #[test]
    fn cluster_names_without_keywords_are_refused() {
        assert_eq!(cluster_keywords(" + "), None);
        assert_eq!(cluster_keywords(""), None);
        assert_eq!(
            cluster_keywords("VPN+disconnect"),
            Some(vec!["vpn".to_string(), "disconnect".to_string()])
        );
    }

    #[test]
    fn clusters_with_an_approved_entry_are_not_listed_as_missing() {
        let c = |k: &str| Cluster {
            label: k.into(),
            keywords: cluster_keywords(k).unwrap(),
            count: 2,
            examples: Vec::new(),
        };
        let recurring = [c("printer+toner"), c("disconnect+vpn")];
        let approved = [entry("vpn+disconnect", "fix")];
        let missing: Vec<&str> = unapproved(&recurring, &approved)
            .iter()
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(missing, ["printer+toner"]);
    }
}
