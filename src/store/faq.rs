//! Approved FAQ entries, in the `meta` tree under `faq:` + the cluster's
//! keywords sorted (so `vpn+disconnect` and `disconnect+vpn` are one entry).
//! Written only through the engine.

use super::{codec, Store, StoreError};
use crate::stats::faq_known::{self, Approved};

const PREFIX: &str = "faq:";

fn key(keywords: &[String]) -> String {
    let mut sorted = keywords.to_vec();
    sorted.sort();
    format!("{PREFIX}{}", sorted.join("+"))
}

impl Store {
    /// Every approved entry, by cluster name.
    pub fn faq_approved(&self) -> Result<Vec<Approved>, StoreError> {
        let t = self.t()?;
        let mut out = Vec::new();
        for item in t.meta.scan_prefix(PREFIX) {
            let (k, v) = item?;
            out.push(codec::decode::<Approved>(&String::from_utf8_lossy(&k), &v)?);
        }
        out.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        Ok(out)
    }

    /// Stores `entry`, replacing an earlier approval of the same cluster.
    pub fn approve_faq(&self, entry: &Approved) -> Result<(), StoreError> {
        self.set_meta(&key(&entry.keywords), &codec::encode(entry))
    }

    /// Removes the approval of the cluster with these keywords; whether there was one.
    pub fn revoke_faq(&self, keywords: &[String]) -> Result<bool, StoreError> {
        let t = self.t()?;
        let _w = self.writing();
        Ok(t.meta.remove(key(keywords))?.is_some())
    }

    /// The approved fix a new request with this subject and description matches.
    pub fn known_fix(
        &self,
        subject: &str,
        description: &str,
    ) -> Result<Option<String>, StoreError> {
        let approved = self.faq_approved()?;
        Ok(faq_known::matching(&approved, subject, description).map(|a| a.fix.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cluster: &str, fix: &str) -> Approved {
        Approved {
            cluster: cluster.into(),
            keywords: faq_known::cluster_keywords(cluster).unwrap(),
            fix: fix.into(),
            by: "li".into(),
            at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn approvals_are_kept_replaced_matched_and_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.approve_faq(&entry("vpn+disconnect", "old")).unwrap();
        store
            .approve_faq(&entry("disconnect+vpn", "Update the VPN client"))
            .unwrap();
        assert_eq!(store.faq_approved().unwrap().len(), 1);
        let hit = store.known_fix("VPN断线", "").unwrap();
        assert_eq!(hit.as_deref(), Some("Update the VPN client"));
        assert_eq!(store.known_fix("Printer jam", "").unwrap(), None);
        let keywords = faq_known::cluster_keywords("vpn+disconnect").unwrap();
        assert!(store.revoke_faq(&keywords).unwrap());
        assert!(!store.revoke_faq(&keywords).unwrap());
        assert_eq!(store.known_fix("VPN断线", "").unwrap(), None);
    }
}
