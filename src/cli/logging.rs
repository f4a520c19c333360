//! Logs on stderr: colours only on a terminal, and under journald (stderr is
//! the stream `JOURNAL_STREAM` names) no timestamps of our own, since the
//! journal stamps every line already.

use std::io::IsTerminal;

use clap::ValueEnum;

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

pub fn init(format: LogFormat) {
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_env("ITDESK_LOG").unwrap_or_else(|_| "info".into());
    // Whatever ITDESK_LOG asks for, no crate may log a password or a mail's text.
    for directive in crate::channels::SAFE_LOG_DIRECTIVES {
        // Invariant: constant, well-formed directives.
        filter = filter.add_directive(directive.parse().expect("valid log directive"));
    }
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let journald = stderr_is_journal(std::env::var("JOURNAL_STREAM").ok().as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!journald && std::io::stderr().is_terminal());
    match (format, journald) {
        (LogFormat::Human, true) => builder
            .without_time()
            .finish()
            .with(crate::store::SledReports)
            .init(),
        (LogFormat::Human, false) => builder.finish().with(crate::store::SledReports).init(),
        (LogFormat::Json, _) => builder
            .json()
            .finish()
            .with(crate::store::SledReports)
            .init(),
    }
}

/// Whether stderr is the journal stream systemd named in `JOURNAL_STREAM`
/// ("DEVICE:INODE"); a child that inherited the variable but writes
/// elsewhere is not.
fn stderr_is_journal(journal_stream: Option<&str>) -> bool {
    let Some((dev, ino)) = journal_stream.and_then(|v| v.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    rustix::fs::fstat(std::io::stderr()).is_ok_and(|st| st.st_dev == dev && st.st_ino == ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_is_recognised_only_by_the_stream_stderr_is() {
        let st = rustix::fs::fstat(std::io::stderr()).unwrap();
        let ours = format!("{}:{}", st.st_dev, st.st_ino);
        assert!(stderr_is_journal(Some(&ours)));
        let other = format!("{}:{}", st.st_dev, st.st_ino + 1);
        for value in [
            None,
            Some(""),
            Some("8:"),
            Some("x:y"),
            Some(other.as_str()),
        ] {
            assert!(!stderr_is_journal(value), "{value:?}");
        }
    }
}
