//! Helpers for the HTTP behaviour tests: the real binary with `--http` on a free loopback
//! port, and a tiny raw HTTP/1.1 client (no client library, so every header and status
//! the server sends is visible exactly as sent).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The token the test servers accept unless a test sets its own.
pub const TOKEN: &str = "test-token-0123456789";

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `mcp-commander --http`.
pub struct HttpServer {
    pub child: Child,
    pub port: u16,
    pub stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl HttpServer {
    /// Starts with `MCP_AUTH_TOKEN=TOKEN` plus `args` and `env`; waits for `/health`.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> HttpServer {
        let mut all_env = vec![("MCP_AUTH_TOKEN", TOKEN)];
        all_env.extend_from_slice(env);
        Self::start_raw(args, &all_env)
    }

    /// Starts with exactly `env` (no default token).
    pub fn start_raw(args: &[&str], env: &[(&str, &str)]) -> HttpServer {
        // A port may be taken between probing and binding; try a few.
        for _ in 0..5 {
            let port = free_port();
            if let Some(s) = Self::try_start(port, args, env) {
                return s;
            }
        }
        panic!("mcp-commander --http did not come up");
    }

    fn try_start(port: u16, args: &[&str], env: &[(&str, &str)]) -> Option<HttpServer> {
        let dir = tempfile::tempdir().expect("tempdir");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut c: Command = super::common::command();
        for (k, v) in env {
            c.env(k, v);
        }
        let port_s = port.to_string();
        let child = c
            .args(["--http", "--host", "127.0.0.1", "--port", &port_s])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start mcp-commander --http");
        let mut s = HttpServer {
            child,
            port,
            stderr_path,
            _dir: dir,
        };
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(_)) = s.child.try_wait() {
                return None;
            }
            if let Ok(r) = try_request(port, "GET", "/health", &[], b"") {
                if r.status == 200 {
                    return Some(s);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = s.child.kill();
        None
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// One request to this server.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        request(self.port, method, path, headers, body)
    }

    /// A JSON-RPC POST with the token and the headers Streamable HTTP requires.
    pub fn rpc(&self, path: &str, extra: &[(&str, &str)], body: &Value) -> Reply {
        self.rpc_as(TOKEN, path, extra, body)
    }

    /// [`HttpServer::rpc`] with another token.
    pub fn rpc_as(&self, token: &str, path: &str, extra: &[(&str, &str)], body: &Value) -> Reply {
        let auth = format!("Bearer {token}");
        let mut h = vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        h.extend_from_slice(extra);
        self.request("POST", path, &h, body.to_string().as_bytes())
    }

    /// Opens a 2025 session on `/mcp` with `token` (`initialize`, then
    /// `notifications/initialized`); returns its id.
    pub fn open_session_as(&self, token: &str) -> String {
        let init = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}});
        let r = self.rpc_as(token, "/mcp", &[], &init);
        assert_eq!(r.status, 200, "{r:?}");
        let sid = r.header("mcp-session-id").expect("session id").to_string();
        let note = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let r = self.rpc_as(token, "/mcp", &session_headers(&sid), &note);
        assert_eq!(r.status, 202, "{r:?}");
        sid
    }

    /// [`HttpServer::open_session_as`] with the default token.
    pub fn open_session(&self) -> String {
        self.open_session_as(TOKEN)
    }

    /// The server's stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }

    /// Waits up to `within` for the exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let until = Instant::now() + within;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            if Instant::now() > until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response as received.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; an SSE body yields its last `data:` event.
    pub fn json(&self) -> Value {
        let text = if self.body.trim_start().starts_with('{') {
            self.body.clone()
        } else {
            self.body
                .lines()
                .rev()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .find(|d| d.starts_with('{'))
                .unwrap_or_else(|| panic!("no JSON in body: {:?}", self.body))
                .to_string()
        };
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

/// One HTTP/1.1 request with `Connection: close`; panics on I/O errors.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    try_request(port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn try_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes())?;
    // A server may answer (413) and close before reading a large body: keep what it said.
    let wrote = s.write_all(body);
    let mut raw = Vec::new();
    let read = s.read_to_end(&mut raw);
    if raw.is_empty() {
        wrote?;
        read?;
    }
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> std::io::Result<Reply> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = nl + 2;
        let end = (start + size).min(b.len());
        out.extend_from_slice(&b[start..end]);
        b = &b[(end + 2).min(b.len())..];
    }
    out
}

/// The audit lines (JSON) on a server's stderr with `event`.
/// The headers of a request in the 2025 session `sid`.
pub fn session_headers(sid: &str) -> [(&str, &str); 2] {
    [
        ("Mcp-Session-Id", sid),
        ("MCP-Protocol-Version", "2025-06-18"),
    ]
}

pub fn events(stderr: &str, event: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == event)
        .collect()
}

impl HttpServer {
    /// Polls stderr up to `within` until `n` `event` lines are there; returns them.
    pub fn wait_events(&self, event: &str, n: usize, within: Duration) -> Vec<Value> {
        let until = Instant::now() + within;
        loop {
            let found = events(&self.stderr(), event);
            if found.len() >= n || Instant::now() > until {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
