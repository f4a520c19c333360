//! The IMAP commands every part of the channel sends, each bounded in time:
//! SEARCH, FETCH and the timeout and error wrapping the others share.

use std::time::Duration;

use async_imap::types::Fetch;
use async_imap::Session;
use futures::TryStreamExt;

use super::{ImapError, Stream};

/// Bound on connect, login and every command but the big fetch.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// `1,2,3,7` — short and correct for any set.
pub(super) fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `UID SEARCH query`, in UID order (the order the mail came in).
pub(super) async fn search_uids(
    session: &mut Session<Stream>,
    query: &str,
) -> Result<Vec<u32>, ImapError> {
    let mut uids: Vec<u32> = timed("SEARCH", session.uid_search(query))
        .await?
        .map_err(|e| protocol("SEARCH", e))?
        .into_iter()
        .collect();
    uids.sort_unstable();
    Ok(uids)
}

pub(super) fn protocol(op: &'static str, e: impl std::fmt::Display) -> ImapError {
    ImapError::Protocol {
        op,
        reason: e.to_string(),
    }
}

pub(super) async fn timed<T>(
    op: &'static str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ImapError> {
    tokio::time::timeout(COMMAND_TIMEOUT, fut)
        .await
        .map_err(|_| ImapError::Timeout(op))
}

/// `UID FETCH set query`, every response collected, within `limit`.
pub(super) async fn fetch(
    session: &mut Session<Stream>,
    set: String,
    query: &str,
    limit: Duration,
) -> Result<Vec<Fetch>, ImapError> {
    let all = async { session.uid_fetch(set, query).await?.try_collect().await };
    tokio::time::timeout(limit, all)
        .await
        .map_err(|_| ImapError::Timeout("FETCH"))?
        .map_err(|e| protocol("FETCH", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_list_every_uid() {
        assert_eq!(uid_set(&[1, 2, 7]), "1,2,7");
    }
}
