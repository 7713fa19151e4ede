//! A minimal blocking HTTP/1.1 client for the load benchmarks: one keep-alive connection
//! with TCP_NODELAY, bearer token, JSON or SSE answers (`Content-Length` or chunked).
//! Shared by `benches/load.rs` and `benches/http_load.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// The token the benchmark servers are started with (`MCP_AUTH_TOKEN`).
pub const TOKEN: &str = "bench-token-0123456789";

/// The 2025 `initialize` request.
pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    port: u16,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        Conn {
            reader: BufReader::new(s.try_clone().expect("clone")),
            writer: s,
            port,
        }
    }

    /// POSTs `body`; returns the response headers (lowercased names) and body.
    pub fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (Vec<(String, String)>, String) {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
             Content-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.writer.write_all(req.as_bytes()).expect("write");
        let mut status = String::new();
        self.reader.read_line(&mut status).expect("status");
        assert!(
            status.contains(" 200 ") || status.contains(" 202 "),
            "{status}"
        );
        let mut hdrs = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                hdrs.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |k: &str| hdrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let mut out = Vec::new();
        if let Some(len) = get("content-length") {
            let mut buf = vec![0; len.parse().expect("length")];
            self.reader.read_exact(&mut buf).expect("body");
            out = buf;
        } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).expect("chunk size");
                let n = usize::from_str_radix(size.trim(), 16).expect("hex size");
                let mut buf = vec![0; n + 2];
                self.reader.read_exact(&mut buf).expect("chunk");
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
        (hdrs, String::from_utf8_lossy(&out).to_string())
    }
}

/// A connection with an initialised 2025 MCP session on `/mcp` (SSE answers).
pub struct Session {
    conn: Conn,
    sid: String,
}

impl Session {
    pub fn open(port: u16) -> Session {
        let mut conn = Conn::open(port);
        let (h, _) = conn.post("/mcp", &[], INITIALIZE);
        let sid = h
            .iter()
            .find(|(k, _)| k == "mcp-session-id")
            .map(|(_, v)| v.clone())
            .expect("session id");
        let mut s = Session { conn, sid };
        s.post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        s
    }

    /// Posts one JSON-RPC message in the session; returns the answer's body.
    pub fn post(&mut self, body: &str) -> String {
        let sid = self.sid.clone();
        let proto = ("MCP-Protocol-Version", "2025-06-18");
        self.conn
            .post("/mcp", &[("Mcp-Session-Id", &sid), proto], body)
            .1
    }
}
