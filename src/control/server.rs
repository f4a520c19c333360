//! The control socket server: accepts local admin connections until shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::peers::{self, Caller};
use super::{handle, ControlContext, ControlError, ControlRequest, ControlResponse, ErrorCode};
use crate::shutdown::Shutdown;

/// Binds the socket (replacing a stale one): readable and writable by the
/// daemon's user only, or with `staff_group` by that group too (mode 0660).
pub fn bind(path: &Path, staff_group: Option<&str>) -> Result<UnixListener, ControlError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| ControlError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // Bound under a temporary name and renamed once its mode is set, so
    // nobody can connect while it still has the mode the umask gave it.
    let fresh = path.with_extension("binding");
    if fresh.exists() {
        std::fs::remove_file(&fresh).map_err(io)?;
    }
    let listener = UnixListener::bind(&fresh).map_err(io)?;
    let mode = match staff_group {
        Some(group) => {
            let gid =
                peers::group_id(group).ok_or_else(|| ControlError::NoGroup(group.to_string()))?;
            std::os::unix::fs::chown(&fresh, None, Some(gid)).map_err(io)?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(mode)).map_err(io)?;
    std::fs::rename(&fresh, path).map_err(io)?;
    Ok(listener)
}

pub async fn serve(
    listener: UnixListener,
    path: PathBuf,
    ctx: Arc<ControlContext>,
    staff_group: Option<String>,
    mut shutdown: Shutdown,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let ctx = ctx.clone();
                    let group = staff_group.clone();
                    connections.spawn(async move {
                        if let Err(e) = connection(stream, &ctx, group.as_deref()).await {
                            debug!(error = %e, "control connection ended with an error");
                        }
                    });
                }
                Err(e) => warn!(error = %e, "control socket accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.wait() => break,
        }
    }
    let _ = std::fs::remove_file(&path);
    crate::shutdown::finish(connections, "control").await;
}

async fn connection(
    stream: UnixStream,
    ctx: &ControlContext,
    staff_group: Option<&str>,
) -> std::io::Result<()> {
    let caller = Caller::of_uid(stream.peer_cred()?.uid());
    let admitted = peers::admit(&caller, staff_group);
    if let Err(why) = &admitted {
        warn!(user = %caller.login, uid = caller.uid, "control socket: refused ({why})");
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let response = match (&admitted, serde_json::from_str::<ControlRequest>(&line)) {
            (Err(why), _) => ControlResponse::Error {
                message: format!("refused: {why}"),
                code: ErrorCode::Refused,
            },
            (Ok(()), Ok(req)) => answer(req, ctx, &caller).await,
            (Ok(()), Err(e)) => ControlResponse::Error {
                message: format!("bad request: {e}"),
                code: ErrorCode::Usage,
            },
        };
        // Invariant: responses are plain JSON values.
        let mut out = serde_json::to_vec(&response).expect("responses serialise");
        out.push(b'\n');
        write.write_all(&out).await?;
    }
    Ok(())
}

/// One request, logged with who asked for what.
async fn answer(req: ControlRequest, ctx: &ControlContext, caller: &Caller) -> ControlResponse {
    let op = serde_json::to_value(&req)
        .ok()
        .and_then(|v| v["op"].as_str().map(String::from));
    info!(user = %caller.login, op = op.as_deref().unwrap_or("?"), "control request");
    match handle(req, ctx, caller).await {
        Ok(v) => ControlResponse::Ok(v),
        Err(e) => ControlResponse::Error {
            message: e.to_string(),
            code: e.code(),
        },
    }
}
