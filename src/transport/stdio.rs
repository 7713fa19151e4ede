//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout.
//!
//! rmcp's own stdio transport silently drops lines it cannot parse; a client then waits
//! forever for an answer. This one answers every bad line: invalid JSON gets `-32700`, a
//! message that is not JSON-RPC gets `-32600` (with its id when it has one), and a line over
//! [`MAX_LINE`] gets an error and is discarded without being buffered, so a 20 MB line cannot
//! exhaust memory. Only the writer task touches stdout, so lines never interleave.

use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::RoleServer;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::mcp::rpc_errors::invalid_params;

/// The longest line accepted (4 MiB).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// A failure to hand a message to the writer (stdout is gone).
#[derive(Debug, thiserror::Error)]
#[error("stdout is closed")]
pub struct Closed;

/// rmcp transport over a reader and a writer (stdin and stdout in production).
pub struct LineTransport {
    incoming: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
    outgoing: mpsc::Sender<String>,
    /// Cancelled once stdin ended and the service has taken every message read before.
    closed: CancellationToken,
}

/// A transport on the process's stdin and stdout, and the writer task to await after the
/// service ends so the last answers reach stdout.
///
/// Tokio's `stdin()`/`stdout()` do every read and write on a blocking-pool thread: two
/// thread hand-offs per call, about a tenth of the server's CPU per `echo hi`. When they are
/// pipes (as MCP clients start us) they are read and written through epoll instead, on a
/// fresh open file description of the same pipe (`/proc/self/fd/N`), so making it
/// non-blocking does not change the descriptor the client or a parent may share with us.
/// Anything else (a terminal, a file, a socket) keeps tokio's blocking stdio.
pub fn stdio() -> (LineTransport, tokio::task::JoinHandle<()>) {
    #[cfg(target_os = "linux")]
    {
        use tokio::net::unix::pipe;
        let reader: Box<dyn AsyncRead + Unpin + Send> =
            match reopen_pipe(0, false).and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok()) {
                Some(r) => Box::new(r),
                None => Box::new(tokio::io::stdin()),
            };
        let writer: Box<dyn AsyncWrite + Unpin + Send> =
            match reopen_pipe(1, true).and_then(|fd| pipe::Sender::from_owned_fd(fd).ok()) {
                Some(w) => Box::new(w),
                None => Box::new(tokio::io::stdout()),
            };
        LineTransport::new(reader, writer)
    }
    #[cfg(not(target_os = "linux"))]
    LineTransport::new(tokio::io::stdin(), tokio::io::stdout())
}

/// A new non-blocking, close-on-exec open file description of descriptor `fd` when it is a
/// pipe; `None` otherwise (or when `/proc` cannot give one).
#[cfg(target_os = "linux")]
fn reopen_pipe(fd: i32, write: bool) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: fstat fills the struct we pass; a bad fd is an error, not UB.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFIFO {
        return None;
    }
    let path = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).ok()?;
    let mode = if write {
        libc::O_WRONLY
    } else {
        libc::O_RDONLY
    };
    // SAFETY: open on a valid C string; the result is a fresh descriptor we own.
    let new = unsafe { libc::open(path.as_ptr(), mode | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    // SAFETY: `new` is a fresh descriptor nobody else owns.
    (new >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(new) })
}

impl LineTransport {
    /// Starts the reader and writer tasks.
    pub fn new<R, W>(reader: R, writer: W) -> (LineTransport, tokio::task::JoinHandle<()>)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out_tx, out_rx) = mpsc::channel::<String>(256);
        let (in_tx, in_rx) = mpsc::channel(64);
        let writer = tokio::spawn(write_lines(writer, out_rx));
        tokio::spawn(read_lines(reader, in_tx, out_tx.clone()));
        let t = LineTransport {
            incoming: in_rx,
            outgoing: out_tx,
            closed: CancellationToken::new(),
        };
        (t, writer)
    }

    /// Cancelled when the client closed stdin, once the service has received every
    /// message sent before (so each call among them has been dispatched); rmcp itself
    /// then waits up to 5 s for the calls still running.
    pub fn closed(&self) -> CancellationToken {
        self.closed.clone()
    }
}

fn error_line(id: Value, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

async fn write_lines<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::Receiver<String>) {
    while let Some(mut line) = rx.recv().await {
        line.push('\n');
        if w.write_all(line.as_bytes()).await.is_err() || w.flush().await.is_err() {
            break;
        }
    }
}

async fn read_lines<R: AsyncRead + Unpin>(
    r: R,
    to_server: mpsc::Sender<RxJsonRpcMessage<RoleServer>>,
    to_client: mpsc::Sender<String>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, r);
    loop {
        let line = match next_line(&mut reader).await {
            Line::Eof => break,
            Line::TooLong => {
                let msg = format!("Request too large: a message may be at most {MAX_LINE} bytes");
                let _ = to_client.send(error_line(Value::Null, -32600, &msg)).await;
                continue;
            }
            Line::Text(Ok(l)) => l,
            Line::Text(Err(_)) => {
                let _ = to_client
                    .send(error_line(
                        Value::Null,
                        -32700,
                        "Parse error: the line is not valid UTF-8",
                    ))
                    .await;
                continue;
            }
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let _ = to_client
                    .send(error_line(
                        Value::Null,
                        -32700,
                        &format!("Parse error: {e}"),
                    ))
                    .await;
                continue;
            }
        };
        let id = match &value {
            Value::Object(m) => m.get("id").cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        };
        match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value) {
            Ok(msg) => {
                if to_server.send(msg).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                let reply = match serde_json::from_str(text)
                    .ok()
                    .and_then(|v| invalid_params(&v))
                {
                    // A method the server knows, with params that are no object.
                    Some(err) => error_line(id.clone(), i64::from(err.code.0), &err.message),
                    None => error_line(id.clone(), -32600, &format!("Invalid Request: {e}")),
                };
                // A notification (no id) gets no answer, as JSON-RPC says.
                if !id.is_null() || !is_notification_shape(text) {
                    let _ = to_client.send(reply).await;
                }
            }
        }
    }
}

enum Line {
    Text(Result<String, std::string::FromUtf8Error>),
    TooLong,
    Eof,
}

/// Reads one `\n`-terminated line. A line longer than [`MAX_LINE`] is skipped to its end
/// without being kept in memory. EOF after a partial line yields that line.
async fn next_line<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Line {
    let mut buf = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = match r.fill_buf().await {
            Ok(c) => c,
            Err(_) => return Line::Eof,
        };
        if chunk.is_empty() {
            return match (too_long, buf.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::Eof,
                (false, false) => Line::Text(String::from_utf8(buf)),
            };
        }
        let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            let take = if done { used - 1 } else { used };
            if buf.len() + take > MAX_LINE {
                too_long = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        r.consume(used);
        if done {
            return if too_long {
                Line::TooLong
            } else {
                Line::Text(String::from_utf8(buf))
            };
        }
    }
}

fn is_notification_shape(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("method").map(|_| v.get("id").is_none()))
        .unwrap_or(false)
}

impl Transport<RoleServer> for LineTransport {
    type Error = Closed;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        let tx = self.outgoing.clone();
        async move {
            let line = serde_json::to_string(&item).map_err(|_| Closed)?;
            tx.send(line).await.map_err(|_| Closed)
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        let message = self.incoming.recv().await;
        if message.is_none() {
            self.closed.cancel();
        }
        message
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
