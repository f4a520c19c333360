//! What the chat benches (`chat`, `resilience`'s `discord` scenario) share:
//! the tests' fake Discord, the daemon's `[discord]` config for it, the
//! requesters and their DMs, and a counter of the daemon's log lines.
//!
//! Not in `common/mod.rs`, which the mail benches include too: the fake needs
//! `crate::support` (tests/it/support.rs) at the bench's root, so a bench
//! includes this with `#[path = "common/discord.rs"]` beside
//! `#[path = "../tests/it/support.rs"] mod support;`.

#[path = "../../tests/it/fake_discord.rs"]
// The benches use a few of the tests' actions; the fake's unit test does not run here.
#[allow(dead_code, unused_imports)]
pub mod fake_discord;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use fake_discord::{
    FakeDiscord, GROUP_CHANNELS, GUILD, HELP_CHANNEL, LEAD_ROLE, ON_DUTY_CHANNEL, TECH_ROLE,
};

/// The first requester; requester `i` is `FIRST_REQUESTER + i`.
pub const FIRST_REQUESTER: u64 = 9_000_000_000_010_000;
/// What the daemon logs for each new chat ticket, after its commit was flushed.
pub const TICKET_LOGGED: &str = "chat request opened a ticket";

/// Requester `i`'s DM: distinct, specific enough not to be vague, not urgent;
/// Chinese and English in turn.
pub fn dm_text(i: usize) -> String {
    if i % 2 == 0 {
        format!("三楼打印机显示错误代码 E-{i}，什么都打印不出来，关机重启后还是一样，销售部没法打印合同。")
    } else {
        format!("The printer on floor 3 shows error E-{i} and prints nothing; switching it off and on again did not help, sales cannot print contracts.")
    }
}

pub fn requester(i: usize) -> u64 {
    FIRST_REQUESTER + i as u64
}

/// `[discord]` for this fake, with a staff channel per group (so that every
/// ticket's card opens a thread, as in production).
pub fn discord_toml(fake: &FakeDiscord, token_file: &Path) -> String {
    let mut text = format!(
        "[discord]\ntoken_file = \"{}\"\napi_base = \"{}\"\nguild_id = \"{GUILD}\"\nhelp_channel = \"{HELP_CHANNEL}\"\n\
         technician_role = \"{TECH_ROLE}\"\nlead_role = \"{LEAD_ROLE}\"\non_duty_channel = \"{ON_DUTY_CHANNEL}\"\n",
        token_file.display(),
        fake.api_base
    );
    for (group, channel) in GROUP_CHANNELS {
        text.push_str(&format!(
            "\n[groups.{group}]\nchat_channel = \"{channel}\"\n"
        ));
    }
    text
}

/// Counts the lines of a growing log that contain `needle`, reading only what
/// was appended since the last call.
pub struct LogCount {
    path: PathBuf,
    needle: &'static str,
    offset: u64,
    /// An incomplete last line, kept for the next read.
    partial: String,
    count: usize,
}

impl LogCount {
    /// Starts at the log's current end: earlier lines are not counted.
    pub fn new(path: &Path, needle: &'static str) -> LogCount {
        let offset = std::fs::metadata(path).map_or(0, |m| m.len());
        LogCount {
            path: path.to_path_buf(),
            needle,
            offset,
            partial: String::new(),
            count: 0,
        }
    }

    pub fn count(&mut self) -> usize {
        let mut file = std::fs::File::open(&self.path).expect("daemon log");
        file.seek(SeekFrom::Start(self.offset)).expect("seek");
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("read the daemon log");
        self.offset += bytes.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&bytes));
        if let Some(end) = self.partial.rfind('\n') {
            self.count += self.partial[..end]
                .lines()
                .filter(|l| l.contains(self.needle))
                .count();
            self.partial.drain(..=end);
        }
        self.count
    }
}
