//! Where a command's requests go: to the running daemon over the control
//! socket, or — when none answers — to the store opened in this process,
//! through the same handler. A session is opened once per command, so a
//! command that pages through tickets opens the store (or connects) once.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::Value;
use tokio::net::UnixStream;

use crate::app::Core;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::control::peers::Caller;
use crate::control::{client, handle, ControlRequest};
use crate::core::id::TicketId;

/// sled's cache for a command that opens the store itself: a command reads
/// most pages once, so a larger cache would only keep what an export or a
/// full check read (up to the whole store) until the command ends.
pub const COMMAND_CACHE_MB: u64 = 16;

pub enum Session {
    Daemon { stream: UnixStream, socket: PathBuf },
    Offline(Box<Core>),
}

impl Session {
    /// The daemon if one answers at `[control] socket`, else the store itself.
    pub async fn open(config: &Config) -> anyhow::Result<Session> {
        let socket = config.control_socket();
        if let Some(stream) = client::connect(&socket).await? {
            return Ok(Session::Daemon { stream, socket });
        }
        let mut config = config.clone();
        config.store.cache_mb = config.store.cache_mb.min(COMMAND_CACHE_MB);
        let core = Core::start(&config, Arc::new(SystemClock)).with_context(|| {
            format!(
                "no daemon answered at {} and the store could not be opened directly",
                socket.display()
            )
        })?;
        Ok(Session::Offline(Box::new(core)))
    }

    pub fn is_daemon(&self) -> bool {
        matches!(self, Session::Daemon { .. })
    }

    pub async fn call(&mut self, req: ControlRequest) -> anyhow::Result<Value> {
        Ok(match self {
            Session::Daemon { stream, socket } => client::call(stream, socket, &req).await?,
            Session::Offline(core) => handle(req, &core.control, &Caller::this_process()).await?,
        })
    }

    /// Ends the session; the offline store is flushed and closed in order.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Session::Offline(core) = self {
            core.stop().await?;
        }
        Ok(())
    }

    /// Pages through tickets: `page(after)` makes each request, `each` gets
    /// every ticket of every page in order, until a page says there is no
    /// more or `each` says stop. Returns the first page's answer without its
    /// tickets (an export's `total`), and — when `each` stopped and more may
    /// follow — the ID to continue after.
    pub async fn pages(
        &mut self,
        mut page: impl FnMut(Option<TicketId>) -> ControlRequest,
        mut each: impl FnMut(Value) -> anyhow::Result<Flow>,
    ) -> anyhow::Result<(Value, Option<TicketId>)> {
        let mut after = None;
        let mut first = None;
        loop {
            let mut answer = self.call(page(after.take())).await?;
            let tickets = answer["tickets"].take();
            let next: Option<TicketId> = serde_json::from_value(answer["next"].take())
                .context("the daemon sent an unreadable page")?;
            first.get_or_insert(answer);
            let Value::Array(tickets) = tickets else {
                anyhow::bail!("the daemon sent a page without tickets");
            };
            let count = tickets.len();
            for (i, ticket) in tickets.into_iter().enumerate() {
                let id = ticket["id"].as_str().and_then(TicketId::parse);
                if each(ticket)? == Flow::Stop {
                    let more = i + 1 < count || next.is_some();
                    return Ok((first.unwrap_or_default(), id.filter(|_| more)));
                }
            }
            match next {
                Some(id) => after = Some(id),
                None => return Ok((first.unwrap_or_default(), None)),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    More,
    Stop,
}

/// One request in a session of its own.
pub async fn request(config: &Config, req: ControlRequest) -> anyhow::Result<Value> {
    let mut session = Session::open(config).await?;
    let answer = session.call(req).await;
    session.close().await?;
    answer
}
