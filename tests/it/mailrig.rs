//! A real mail server for the email tests: `scripts/mailrig.sh` runs Dovecot
//! (IMAP, LMTP, Sieve) and Postfix on free loopback ports in a temp dir; this
//! wraps it with IMAP/SMTP helpers that act as the requesters' mail clients.
//!
//! Invariant: a rig that cannot start (Dovecot or Postfix missing) fails the
//! test with the setup command to run — never a silent skip.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use async_imap::types::Flag;
use async_imap::{Client, Session};
use futures::TryStreamExt;
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mail_parser::MessageParser;
use tokio::net::TcpStream;

pub const PASSWORD: &str = "secret";

/// A mail as a mail client shows it.
#[derive(Debug, Clone)]
pub struct ParsedMail {
    pub uid: u32,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub auto_submitted: Option<String>,
    /// The From address.
    pub from: String,
    pub body: String,
    pub flags: Vec<String>,
    pub raw: Vec<u8>,
}

impl ParsedMail {
    pub fn seen(&self) -> bool {
        self.flags.iter().any(|f| f == "\\Seen")
    }
}

pub struct MailRig {
    /// Keeps the rig directory alive; the daemons run out of it.
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    env: HashMap<String, String>,
    rt: tokio::runtime::Runtime,
    /// Mail `send` handed to Postfix, by recipient: what must arrive.
    submitted: std::sync::Mutex<HashMap<String, usize>>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailrig.sh")
}

fn rig_command(args: &[&str]) -> std::process::Output {
    Command::new(script())
        .args(args)
        .output()
        .expect("run scripts/mailrig.sh")
}

/// `kill SIGNAL PIDS…`, which must succeed.
fn signal(signal: &str, pids: &[String]) {
    let status = Command::new("kill")
        .arg(signal)
        .args(pids)
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pids:?}");
}

/// `user` may be a bare name of the rig's domain.
fn full(user: &str) -> String {
    if user.contains('@') {
        user.to_string()
    } else {
        format!("{user}@example.test")
    }
}

impl MailRig {
    pub fn start() -> MailRig {
        let dir = tempfile::Builder::new()
            .prefix("rig")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().join("rig");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut rig = MailRig {
            _dir: dir,
            root,
            env: HashMap::new(),
            rt,
            submitted: Default::default(),
        };
        rig.start_servers();
        rig
    }

    fn start_servers(&mut self) {
        let out = rig_command(&["start", &self.root.to_string_lossy()]);
        assert!(
            out.status.success(),
            "the mail rig (real Dovecot + Postfix) did not start — if they are missing, run `scripts/mailrig.sh install` as root:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(self.root.join("rig.env")).expect("rig.env");
        self.env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    pub fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("rig.env has no {key}"))
    }

    fn port(&self, key: &str) -> u16 {
        self.var(key)
            .parse()
            .unwrap_or_else(|_| panic!("rig.env {key} is not a port"))
    }

    /// Stops Dovecot and Postfix (an outage); `restart` brings them back.
    pub fn stop(&self) {
        let out = rig_command(&["stop", &self.root.to_string_lossy()]);
        assert!(
            out.status.success(),
            "mailrig stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// SIGKILLs Dovecot (its master and every child: IMAP sessions, LMTP) as
    /// a crash would; Postfix keeps running. `restart` brings it back.
    pub fn kill_dovecot(&self) {
        let pid_file = self.root.join("dovecot/run/master.pid");
        let master = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("{}: {e}", pid_file.display()));
        let master = master.trim();
        // Stopped, the master cannot fork: a child killed before it would
        // otherwise be respawned in between (`kill` signals one pid at a time),
        // and the respawned anvil's socket keeps the next Dovecot from starting.
        signal("-STOP", &[master.to_string()]);
        let children = Command::new("ps")
            .args(["-o", "pid=", "--ppid", master])
            .output()
            .expect("ps");
        let mut pids: Vec<String> = String::from_utf8_lossy(&children.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        pids.push(master.to_string());
        signal("-KILL", &pids);
        // Dead, they may linger as zombies until init reaps them (a new
        // Dovecot would take the pid file's zombie for a running one); a
        // zombie holds no sockets.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let stat = Command::new("ps")
                .args(["-o", "stat=", "-p", &pids.join(",")])
                .output()
                .expect("ps");
            let stat = String::from_utf8_lossy(&stat.stdout);
            if stat.lines().all(|l| l.trim_start().starts_with('Z')) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Dovecot {pids:?} survived SIGKILL"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = std::fs::remove_file(&pid_file);
    }

    /// Stops Postfix alone (an SMTP outage; mail already queued stays queued).
    pub fn stop_postfix(&self) {
        self.postfix("stop");
    }

    /// Starts Postfix again after `stop_postfix`, on the same ports.
    pub fn start_postfix(&self) {
        // `postfix start` runs postsuper as the mail owner, and it logs to the
        // maillog itself when the stop left a half-received file behind.
        let status = Command::new("chown")
            .arg("postfix")
            .arg(self.var("POSTFIX_LOG"))
            .status()
            .expect("chown");
        assert!(status.success(), "chown the Postfix maillog");
        self.postfix("start");
    }

    fn postfix(&self, verb: &str) {
        let out = Command::new("postfix")
            .arg("-c")
            .arg(self.root.join("postfix"))
            .arg(verb)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run postfix");
        assert!(
            out.status.success(),
            "postfix {verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Whether Postfix has nothing queued (`postqueue -p`).
    #[allow(dead_code)] // used by benches/resilience.rs
    pub fn postfix_queue_empty(&self) -> bool {
        let out = Command::new("postqueue")
            .arg("-c")
            .arg(self.root.join("postfix"))
            .arg("-p")
            .output()
            .expect("run postqueue");
        String::from_utf8_lossy(&out.stdout).contains("Mail queue is empty")
    }

    /// Starts the stopped rig again on the same ports, where the daemon expects it.
    pub fn restart(&mut self) {
        let before: Vec<u16> = ["IMAP_PORT", "SMTP_PORT"]
            .iter()
            .map(|k| self.port(k))
            .collect();
        self.start_servers();
        let after: Vec<u16> = ["IMAP_PORT", "SMTP_PORT"]
            .iter()
            .map(|k| self.port(k))
            .collect();
        assert_eq!(
            before, after,
            "the restarted rig did not get its ports back"
        );
    }

    /// itdesk's `[imap]`, `[smtp]` and `[outbox]` for this rig as helpdesk@,
    /// with `extra` (TOML) merged over them key by key.
    pub fn config(&self, extra: &str) -> String {
        let password_file = self.root.join("helpdesk.password");
        std::fs::write(&password_file, format!("{PASSWORD}\n")).expect("password file");
        let base = format!(
            r#"
[imap]
host = "127.0.0.1"
port = {imap}
security = "plain"
username = "helpdesk@example.test"
password_file = "{pw}"
after_processing = "seen"

[smtp]
host = "127.0.0.1"
port = {smtp}
security = "plain"
username = "helpdesk@example.test"
password_file = "{pw}"
from = "IT Helpdesk <helpdesk@example.test>"

[outbox]
retry_base_seconds = 1
retry_max_seconds = 2
"#,
            imap = self.port("IMAP_PORT"),
            smtp = self.port("SMTP_PORT"),
            pw = password_file.display()
        );
        let mut table: toml::Table = base.parse().expect("base config");
        merge(
            &mut table,
            extra
                .parse()
                .unwrap_or_else(|e| panic!("extra config: {e}")),
        );
        toml::to_string(&table).expect("config serialises")
    }

    /// Logs in to the plain IMAP port as `user` (password "secret").
    pub async fn login(&self, user: &str) -> Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port("IMAP_PORT")))
            .await
            .expect("connect to the rig's IMAP");
        let mut client = Client::new(tcp);
        client
            .read_response()
            .await
            .expect("IMAP greeting")
            .expect("IMAP greeting");
        client
            .login(full(user), PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("IMAP login")
    }

    /// IMAP APPEND, as a mail client filing a message; creates the mailbox.
    pub fn append(&self, user: &str, mailbox: &str, raw: &[u8]) {
        self.append_all(user, mailbox, &[raw.to_vec()]);
    }

    /// Many APPENDs over one connection, in order.
    pub fn append_all(&self, user: &str, mailbox: &str, raws: &[Vec<u8>]) {
        self.rt.block_on(async {
            let mut s = self.login(user).await;
            if !mailbox.eq_ignore_ascii_case("INBOX") {
                let _ = s.create(mailbox).await; // exists already: harmless
            }
            for raw in raws {
                s.append(mailbox, None, None, raw)
                    .await
                    .expect("IMAP APPEND");
            }
            let _ = s.logout().await;
        })
    }

    /// Many APPENDs over parallel connections, for bulk: Dovecot syncs every
    /// APPEND to disk, one after another they take seconds. The order in the
    /// mailbox is not that of `raws`.
    pub fn append_unordered(&self, user: &str, mailbox: &str, raws: &[Vec<u8>]) {
        const CONNECTIONS: usize = 8;
        let per = raws.len().div_ceil(CONNECTIONS).max(1);
        self.rt
            .block_on(futures::future::join_all(raws.chunks(per).map(
                |chunk| async move {
                    let mut s = self.login(user).await;
                    for raw in chunk {
                        s.append(mailbox, None, None, raw)
                            .await
                            .expect("IMAP APPEND");
                    }
                    let _ = s.logout().await;
                },
            )));
    }

    /// SMTP to the rig's Postfix, as a mail program submitting a message.
    pub fn send(&self, from: &str, to: &str, raw: &[u8]) {
        let envelope = Envelope::new(
            Some(full(from).parse().expect("from")),
            vec![full(to).parse().expect("to")],
        )
        .expect("envelope");
        let port = self.port("SMTP_PORT");
        // The transport's pool spawns on (and is dropped into) the runtime.
        self.rt
            .block_on(async {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
                    .port(port)
                    .build()
                    .send_raw(&envelope, raw)
                    .await
            })
            .expect("SMTP submission to the rig");
        *self
            .submitted
            .lock()
            .unwrap()
            .entry(to.to_string())
            .or_default() += 1;
    }

    /// How many mails `send` has handed to Postfix for `to`.
    pub fn submitted_to(&self, to: &str) -> usize {
        self.submitted.lock().unwrap().get(to).copied().unwrap_or(0)
    }

    /// Every message in `user`'s `mailbox`, read without marking anything.
    /// A mailbox that does not exist (yet) reads as empty.
    pub fn messages(&self, user: &str, mailbox: &str) -> Vec<ParsedMail> {
        self.rt.block_on(async {
            let mut s = self.login(user).await;
            let Ok(selected) = s.examine(mailbox).await else {
                return Vec::new();
            };
            let mut out = Vec::new();
            if selected.exists > 0 {
                let fetches: Vec<_> = s
                    .uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])")
                    .await
                    .expect("FETCH")
                    .try_collect()
                    .await
                    .expect("FETCH");
                for f in &fetches {
                    let flags = f.flags().map(|flag| flag_name(&flag)).collect();
                    out.push(parse(
                        f.uid.unwrap_or(0),
                        f.body().unwrap_or_default(),
                        flags,
                    ));
                }
            }
            let _ = s.logout().await;
            out.sort_by_key(|m| m.uid);
            out
        })
    }

    /// How many messages of `user`'s `mailbox` lack `\Seen` (SEARCH UNSEEN).
    pub fn unseen(&self, user: &str, mailbox: &str) -> usize {
        self.rt.block_on(async {
            let mut s = self.login(user).await;
            let n = match s.examine(mailbox).await {
                Ok(_) => s.uid_search("UNSEEN").await.expect("SEARCH").len(),
                Err(_) => 0,
            };
            let _ = s.logout().await;
            n
        })
    }

    /// How many messages `user`'s `mailbox` holds, without fetching them.
    pub fn count(&self, user: &str, mailbox: &str) -> usize {
        self.rt.block_on(async {
            let mut s = self.login(user).await;
            let n = s
                .examine(mailbox)
                .await
                .map(|m| m.exists as usize)
                .unwrap_or(0);
            let _ = s.logout().await;
            n
        })
    }

    /// Dovecot forgets `user` while Postfix still accepts mail for it, so
    /// delivery fails after acceptance and Postfix returns a real DSN to the
    /// sender. (Dovecot re-reads its passwd-file when it changes.)
    pub fn remove_mailbox(&self, user: &str) {
        let users = self.root.join("dovecot/users");
        let text = std::fs::read_to_string(&users).expect("dovecot users file");
        let prefix = format!("{}:", full(user));
        let kept: String = text
            .lines()
            .filter(|l| !l.starts_with(&prefix))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_ne!(kept, text, "{user} is not a rig user");
        std::fs::write(&users, kept).expect("rewrite dovecot users file");
    }

    pub fn dovecot_log(&self) -> String {
        std::fs::read_to_string(self.var("DOVECOT_LOG")).unwrap_or_default()
    }

    pub fn postfix_log(&self) -> String {
        std::fs::read_to_string(self.var("POSTFIX_LOG")).unwrap_or_default()
    }
}

impl Drop for MailRig {
    fn drop(&mut self) {
        let _ = rig_command(&["stop", &self.root.to_string_lossy()]);
    }
}

/// The flag as IMAP spells it.
fn flag_name(flag: &Flag<'_>) -> String {
    match flag {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(name) => name.to_string(),
    }
}

fn parse(uid: u32, raw: &[u8], flags: Vec<String>) -> ParsedMail {
    let msg = MessageParser::default().parse(raw).unwrap_or_else(|| {
        panic!(
            "unparsable mail in the rig: {}",
            String::from_utf8_lossy(raw)
        )
    });
    ParsedMail {
        uid,
        subject: msg.subject().unwrap_or_default().to_string(),
        message_id: msg.message_id().unwrap_or_default().to_string(),
        in_reply_to: msg.in_reply_to().as_text().map(str::to_string),
        auto_submitted: msg
            .header_raw("Auto-Submitted")
            .map(|v| v.trim().to_string()),
        from: msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_lowercase(),
        body: msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
        flags,
        raw: raw.to_vec(),
    }
}

/// Tables merge recursively; any other value of `over` replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}
