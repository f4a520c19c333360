//! What the rig benches (`ingest`, `latency`, `memory`, `resilience`) share:
//! the integration tests' mail rig, the daemon as a child process whose memory
//! can be read from /proc, help requests, medians and the machine
//! description that goes with every figure.
// Each bench uses a different part of this module and of the rig.
#![allow(dead_code)]

#[path = "../../tests/it/mailrig.rs"]
pub mod mailrig;
pub mod store;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use mailrig::MailRig;

pub const HELPDESK: &str = "helpdesk@example.test";
/// Our notices' Message-IDs end in this domain (see `Daemon::start`).
pub const NOTICE_DOMAIN: &str = "itdesk.bench";

/// Help request `n` of a batch tagged `tag`: from alice or tech in turn (not
/// bob, whose vacation autoresponder would answer every notice), a distinct
/// subject and Message-ID, a body that no rule finds vague.
pub fn request(n: usize, tag: &str) -> Vec<u8> {
    let (name, addr) = if n % 2 == 0 {
        ("Alice Wang", "alice@example.test")
    } else {
        ("Tech Li", "tech@example.test")
    };
    format!(
        "From: {name} <{addr}>\r\nTo: IT Helpdesk <{HELPDESK}>\r\nSubject: Printer on floor 3 shows error E-{n}\r\n\
         Date: Mon, 2 Oct 2023 10:05:00 +0800\r\nMessage-ID: <{}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Hello,\r\n\r\nsince this morning the printer on the third floor shows error code E-{n}\r\n\
         and prints nothing. We switched it off and on again, the error comes back.\r\n\
         The sales team cannot print contracts.\r\n\r\nThanks,\r\n{name}\r\n",
        message_id(n, tag)
    )
    .into_bytes()
}

pub fn message_id(n: usize, tag: &str) -> String {
    format!("bench-{tag}-{n}@example.test")
}

/// The daemon as a child process, on a state directory the caller owns
/// (`dir/state`), so that it can be killed and started again on it.
pub struct Daemon {
    child: Child,
    pub dir: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Writes `dir/itdesk.toml` (the rig's `[imap]`/`[smtp]` from `rig_toml`
    /// plus a store in `dir/state`) and starts `itdesk run`; returns once its
    /// control socket answers. The log goes to `dir/daemon.log`, appended.
    pub fn start(dir: &Path, rig_toml: &str) -> Daemon {
        let config = dir.join("itdesk.toml");
        let text = format!(
            "[helpdesk]\nname = \"Bench Desk\"\nmessage_id_domain = \"{NOTICE_DOMAIN}\"\n\n[store]\npath = \"{}\"\n\n{rig_toml}\n",
            dir.join("state").display()
        );
        std::fs::write(&config, text).expect("write config");
        let log = dir.join("daemon.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_itdesk"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start itdesk run");
        let daemon = Daemon {
            child,
            dir: dir.to_path_buf(),
            log,
        };
        let socket = dir.join("state").join("control.sock");
        daemon.wait_for("the control socket", Duration::from_secs(60), || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        });
        daemon
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Peak resident set size so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        status_kib(&proc_status(self.pid()), "VmHWM:")
    }

    /// The resident set now, from one read of /proc/PID/status.
    pub fn resident(&self) -> Resident {
        let status = proc_status(self.pid());
        let mib = |key| status_kib(&status, key) as f64 / 1024.0;
        Resident {
            rss: mib("VmRSS:"),
            peak: mib("VmHWM:"),
            anon: mib("RssAnon:"),
            file: mib("RssFile:"),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `cond` every 10 ms; panics with the daemon's log if it dies or
    /// `timeout` passes first.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !cond() {
            self.assert_alive(what);
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}; log tail:\n{}",
                tail(&self.log_text(), 30)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Panics with the daemon's log if it has exited.
    pub fn assert_alive(&self, what: &str) {
        let status = Path::new("/proc")
            .join(self.pid().to_string())
            .join("status");
        let alive = std::fs::read_to_string(status).is_ok_and(|s| !s.contains("State:\tZ"));
        assert!(
            alive,
            "the daemon died during {what}; log tail:\n{}",
            tail(&self.log_text(), 30)
        );
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        signal(self.pid(), "TERM");
        let status = self.child.wait().expect("wait for the daemon");
        assert!(
            status.success(),
            "the daemon exited with {status}; log tail:\n{}",
            tail(&self.log_text(), 30)
        );
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// Resident memory in MiB: the set now (VmRSS) and its peak so far (VmHWM);
/// of the set now, the heap and other anonymous memory (RssAnon) and the
/// mapped files, mostly the binary's code (RssFile).
pub struct Resident {
    pub rss: f64,
    pub peak: f64,
    pub anon: f64,
    pub file: f64,
}

pub fn proc_status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default()
}

/// The value of `key` (e.g. "VmRSS:") in a /proc status text, in KiB (0 if
/// it is not there: the process is gone).
pub fn status_kib(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Distinct Message-IDs of our notices that Postfix's cleanup accepted, i.e.
/// that the SMTP server took responsibility for.
pub fn notices_accepted(rig: &MailRig) -> usize {
    let log = rig.postfix_log();
    let suffix = format!("@{NOTICE_DOMAIN}>");
    log.lines()
        .filter(|l| l.contains("/cleanup[") && l.contains(&suffix))
        .filter_map(|l| l.split("message-id=<").nth(1))
        .collect::<std::collections::HashSet<_>>()
        .len()
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The value at quantile `q` (0..=1), nearest rank.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// CPU, cores, memory, kernel and load: printed before every bench's figures.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_gib = proc_meminfo_kib("MemTotal:") as f64 / 1024.0 / 1024.0;
    let avail_gib = proc_meminfo_kib("MemAvailable:") as f64 / 1024.0 / 1024.0;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem_gib:.1} GiB RAM ({avail_gib:.1} GiB available), kernel {}, load average {}", kernel.trim(), load())
}

/// The 1-, 5- and 15-minute load averages.
pub fn load() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn proc_meminfo_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `--name value` from the command line after `--`, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: cannot parse {v:?}"))
        })
        .unwrap_or(default)
}

/// Whether `--name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// Looks for new mail in `user`'s INBOX every 10 ms until `stop` says so, and
/// hands each new message's header block to `seen`, with when it was seen.
pub fn watch_headers(
    rig: &MailRig,
    user: &str,
    stop: std::sync::mpsc::Receiver<()>,
    mut seen: impl FnMut(&[u8], Instant),
) {
    use futures::TryStreamExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut s = rig.login(user).await;
        s.select("INBOX").await.expect("SELECT");
        let mut last = 0u32;
        while stop.try_recv().is_err() {
            let fetched: Vec<_> = s
                .uid_fetch(format!("{}:*", last + 1), "(UID BODY.PEEK[HEADER])")
                .await
                .expect("FETCH")
                .try_collect()
                .await
                .expect("FETCH");
            let now = Instant::now();
            for f in &fetched {
                // `N:*` names the last message even when it is older than N.
                let Some(uid) = f.uid.filter(|&u| u > last) else {
                    continue;
                };
                last = last.max(uid);
                seen(f.header().unwrap_or_default(), now);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = s.logout().await;
    });
}
