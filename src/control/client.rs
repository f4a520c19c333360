//! The CLI's side of the control socket.

use std::path::Path;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::{ControlError, ControlRequest, ControlResponse};

/// Connects to a running daemon; `Ok(None)` when none is listening there.
pub async fn connect(path: &Path) -> Result<Option<UnixStream>, ControlError> {
    match UnixStream::connect(path).await {
        Ok(s) => Ok(Some(s)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(ControlError::NotAllowed {
                path: path.display().to_string(),
            })
        }
        Err(source) => Err(ControlError::Connect {
            path: path.display().to_string(),
            source,
        }),
    }
}

pub async fn call(
    stream: &mut UnixStream,
    path: &Path,
    req: &ControlRequest,
) -> Result<Value, ControlError> {
    let io = |source| ControlError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut line = serde_json::to_vec(req).map_err(|e| ControlError::Protocol(e.to_string()))?;
    line.push(b'\n');
    stream.write_all(&line).await.map_err(io)?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer).await.map_err(io)?;
    if answer.is_empty() {
        return Err(ControlError::Protocol(
            "the daemon closed the connection without answering".into(),
        ));
    }
    match serde_json::from_str(&answer).map_err(|e| ControlError::Protocol(e.to_string()))? {
        ControlResponse::Ok(v) => Ok(v),
        ControlResponse::Error { message, code } => Err(ControlError::Daemon { message, code }),
    }
}
