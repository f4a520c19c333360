//! Test support: temp dirs with a config, the daemon as a child process, the
//! CLI, and waiting for a condition with a deadline (never a fixed sleep).

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn itdesk_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_itdesk"))
}

/// Polls `cond` until it holds or `timeout` passes; panics with `what` then.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A state directory with a config file in it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Sandbox {
    /// `extra` is appended to a minimal config (store, control socket).
    pub fn new(extra: &str) -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("itdesk.toml");
        let text = format!(
            "[helpdesk]\nname = \"Test Desk\"\nmessage_id_domain = \"itdesk.test\"\n\n[store]\npath = \"{}\"\n\n{extra}\n",
            dir.path().join("state").display()
        );
        std::fs::write(&config, text).expect("write config");
        Sandbox { dir, config }
    }

    /// `[control] socket` of the config, or its default in the store.
    pub fn socket(&self) -> PathBuf {
        let text = std::fs::read_to_string(&self.config).expect("config");
        let table: toml::Table = text.parse().expect("config is TOML");
        match table
            .get("control")
            .and_then(|c| c.get("socket"))
            .and_then(|s| s.as_str())
        {
            Some(socket) => PathBuf::from(socket),
            None => self.dir.path().join("state").join("control.sock"),
        }
    }

    /// Runs `itdesk --config <ours> ARGS…` to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(itdesk_bin())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("ITDESK_LOG", "warn")
            .output()
            .expect("run itdesk")
    }

    /// Like `cli`, but the command must succeed; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "itdesk {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let text = self.cli_ok(args);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("itdesk {args:?} printed no JSON ({e}): {text}"))
    }

    /// Alice's "VPN drops" request logged at the desk under `subject`; its ID.
    pub fn open_vpn_request(&self, subject: &str) -> String {
        let t = self.cli_json(&[
            "tickets",
            "open",
            "--from",
            "alice@example.test",
            "--name",
            "王爱丽",
            "--subject",
            subject,
            "--body",
            "连上公司 VPN 后十几分钟就断开，每天都这样。",
            "--json",
        ]);
        t["id"]
            .as_str()
            .expect("the opened ticket's id")
            .to_string()
    }

    /// Every ticket, as `itdesk tickets list --json` prints them.
    pub fn tickets(&self) -> Vec<serde_json::Value> {
        self.cli_json(&["tickets", "list", "--json"])
            .as_array()
            .expect("ticket list")
            .clone()
    }

    /// One ticket, as `itdesk tickets show ID --json` prints it.
    pub fn ticket(&self, id: &str) -> serde_json::Value {
        self.cli_json(&["tickets", "show", id, "--json"])
    }

    /// Notices queued in the outbox (`outbox list --json`; timers are queued
    /// too, and stay).
    pub fn queued_notices(&self) -> Vec<serde_json::Value> {
        self.cli_json(&["outbox", "list", "--json"])["queued"]
            .as_array()
            .expect("queued")
            .iter()
            .filter(|e| e["body"].get("notice").is_some())
            .cloned()
            .collect()
    }

    /// The outbox's dead letters (`outbox list --json`).
    pub fn dead_letters(&self) -> Vec<serde_json::Value> {
        self.cli_json(&["outbox", "list", "--json"])["dead_letters"]
            .as_array()
            .expect("dead_letters")
            .clone()
    }

    pub fn start_daemon(&self) -> Daemon {
        self.start_daemon_with(&[], &[])
    }

    /// `itdesk ARGS… run` with extra environment variables (e.g. ITDESK_LOG).
    pub fn start_daemon_with(&self, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let log = std::fs::File::create(self.dir.path().join("daemon.log")).expect("log file");
        let child = Command::new(itdesk_bin())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .arg("run")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start itdesk run");
        let daemon = Daemon {
            child,
            log: self.dir.path().join("daemon.log"),
        };
        let socket = self.socket();
        wait_until(
            "the daemon's control socket",
            Duration::from_secs(20),
            || std::os::unix::net::UnixStream::connect(&socket).is_ok(),
        );
        daemon
    }
}

pub struct Daemon {
    child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{sig} failed");
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "daemon exited with {status}; log:\n{}",
                    self.log_text()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not stop on SIGTERM; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Until the daemon has linked `ticket`'s new chat thread to it. The
    /// chat app shows the thread a moment before: a message posted there in
    /// between (at a bot's speed, not a person's) finds no ticket yet.
    pub fn wait_thread_linked(&self, ticket: &str) {
        wait_until(
            &format!("{ticket}'s thread linked"),
            Duration::from_secs(20),
            || {
                self.log_text()
                    .lines()
                    .any(|l| l.contains("ticket thread opened") && l.contains(ticket))
            },
        );
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
