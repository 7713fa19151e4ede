//! Connections and request bodies that would otherwise hold the server's resources: sockets
//! that never send a request, more sockets than the server can hold, bodies sent a byte at
//! a time, and request bodies that are not one JSON-RPC message.
//!
//! This binary lowers its own open-files limit (the servers it starts inherit it), so its
//! tests live apart from the other HTTP tests.

mod common;
mod http_support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use http_support::{session_headers, HttpServer, TOKEN};
use serde_json::{json, Value};

/// Reads until EOF or an error; how long that took, and whether it was a clean close or a
/// reset (both mean the server closed the connection).
fn wait_closed(c: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    c.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                return Some(start.elapsed())
            }
            Err(_) => return None,
        }
    }
}

fn health(s: &HttpServer) -> bool {
    http_support::try_request(s.port, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200)
}

/// Lowers this process's soft open-files limit (and so that of the servers it starts) to
/// 256, so a server holds at most 128 connections. Every test that counts on the cap calls
/// it (tests run in any order); the others are not affected by the lower limit.
fn lower_open_files() {
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("getrlimit");
    nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_NOFILE,
        256.min(hard),
        hard,
    )
    .expect("setrlimit");
}

/// How many connections the server lowered to 256 open files holds.
const CAP: usize = 128;

/// Held by a test that fills a server's 128 places: this process has only 256 descriptors
/// too, so two such tests at once would run out.
static FILLING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Starts a server with the lowered limit (checking that it inherited it) and no request
/// rate limit, so many connections can be busy at once; the caller holds [`FILLING`].
fn capped_server() -> HttpServer {
    lower_open_files();
    let s = HttpServer::start(&[], &[("MCP_RATE_LIMIT", "0")]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", s.child.id())).unwrap();
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max open files") && l.split_whitespace().nth(3) == Some("256")),
        "the server inherits the lowered limit: {limits}"
    );
    s
}

/// The sockets the server process has open.
fn sockets_of(s: &HttpServer) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", s.child.id()))
        .map(|fds| {
            fds.filter_map(Result::ok)
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter(|target| target.to_string_lossy().starts_with("socket:"))
                .count()
        })
        .unwrap_or(0)
}

/// With 128 connections open (the limit at 256 open files), a new one takes the place of
/// the one idle longest, which is closed at once, so the server still answers; the number
/// it holds stays at the cap. When every connection is serving a request (here: heads
/// sent, bodies still awaited), a connection over the cap is closed at once instead. A
/// connection that sends nothing is closed at the header timeout (10 s).
#[test]
fn idle_connections_are_closed_and_their_number_is_capped() {
    let _filling = FILLING.lock().unwrap_or_else(|e| e.into_inner());
    let s = capped_server();
    // The listener and the runtimes' own socket pairs.
    let own = sockets_of(&s);
    let mut idle: Vec<TcpStream> = (0..CAP)
        .map(|_| TcpStream::connect(("127.0.0.1", s.port)).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let newer = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let closed = wait_closed(&mut idle[0], Duration::from_secs(5));
    assert!(
        closed.is_some_and(|t| t < Duration::from_secs(3)),
        "the connection idle longest makes room for a new one at once: {closed:?}"
    );
    assert!(health(&s), "a new client is served while the cap is full");
    let more: Vec<TcpStream> = (0..CAP / 2)
        .map(|_| TcpStream::connect(("127.0.0.1", s.port)).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let held = sockets_of(&s) - own;
    assert!(
        held <= CAP,
        "the server holds no more connections than the cap: {held}"
    );
    drop((idle, newer, more));

    // Every place serving a request: the newcomer is the one closed.
    let waiting: Vec<TcpStream> = (0..CAP)
        .map(|_| {
            let mut c = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
            c.write_all(head(s.port, "/", 100).as_bytes()).unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    let mut over = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let closed = wait_closed(&mut over, Duration::from_secs(5));
    assert!(
        closed.is_some_and(|t| t < Duration::from_secs(3)),
        "over the cap with every connection serving, the newcomer is closed at once: {closed:?}"
    );
    drop(waiting);
    let until = Instant::now() + Duration::from_secs(10);
    while !health(&s) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        health(&s),
        "the server answers again once connections close"
    );

    let mut silent = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let closed = wait_closed(&mut silent, Duration::from_secs(25));
    assert!(
        closed.is_some_and(|t| t > Duration::from_secs(8) && t < Duration::from_secs(15)),
        "a connection that sends nothing is closed at the 10 s header timeout: {closed:?}"
    );
    assert!(health(&s));
}

/// One client without a token keeps 128 connections open (the cap at 256 open files),
/// each having sent one byte of a request head, and reopens each one the server closes.
/// Meanwhile `/health` and an authenticated call on new connections are answered every
/// time: a new connection takes the place of the flood's oldest (review F1: they were
/// closed unanswered for as long as the flood went on).
#[test]
fn a_flood_of_unfinished_heads_does_not_lock_out_new_clients() {
    let _filling = FILLING.lock().unwrap_or_else(|e| e.into_inner());
    let s = capped_server();
    let port = s.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let open_one = move || -> Option<TcpStream> {
        let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
        c.write_all(b"G").ok()?;
        c.set_nonblocking(true).ok()?;
        Some(c)
    };
    let flood = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut held: Vec<Option<TcpStream>> = (0..CAP).map(|_| open_one()).collect();
            let mut reopened = 0usize;
            let until = Instant::now() + Duration::from_secs(60);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < until {
                for c in held.iter_mut() {
                    let mut buf = [0u8; 64];
                    let gone = match c.as_mut().map(|c| c.read(&mut buf)) {
                        None | Some(Ok(_)) => true,
                        Some(Err(e)) => e.kind() != ErrorKind::WouldBlock,
                    };
                    if gone {
                        *c = open_one();
                        reopened += 1;
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            reopened
        })
    };
    std::thread::sleep(Duration::from_millis(1000));
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "execute_command", "arguments": {"command": "echo served"}}});
    let mut failed = Vec::new();
    for round in 0..15 {
        if !health(&s) {
            failed.push(format!("round {round}: /health"));
        }
        let auth = format!("Bearer {TOKEN}");
        let r = http_support::try_request(
            port,
            "POST",
            "/",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            call.to_string().as_bytes(),
        );
        if !r
            .as_ref()
            .is_ok_and(|r| r.status == 200 && r.body.contains("served"))
        {
            failed.push(format!("round {round}: call {r:?}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reopened = flood.join().expect("flood thread");
    assert!(
        failed.is_empty(),
        "new clients are served during the flood ({reopened} flood connections reopened): {failed:?}"
    );
    assert!(
        reopened > 0,
        "the flood held the cap (its connections were being closed for new clients)"
    );
}

fn head(port: u16, path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-MCP-Auth-Token: {TOKEN}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         MCP-Protocol-Version: 2025-06-18\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// A body sent one byte every two seconds never completes a request: after 30 s in all the
/// answer is 408 with a JSON-RPC error, on `/mcp` and on `/`, and the connection closes.
/// (The body layer alone only bounds the pause between two pieces.)
#[test]
fn a_body_sent_a_byte_at_a_time_times_out_in_all() {
    let s = HttpServer::start(&[], &[]);
    let threads: Vec<_> = ["/", "/mcp"]
        .into_iter()
        .map(|path| {
            let port = s.port;
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                c.write_all(head(port, path, 1000).as_bytes()).unwrap();
                let start = Instant::now();
                let mut sent = 0;
                // Up to 50 s of drip; the answer must come before that.
                while start.elapsed() < Duration::from_secs(50) {
                    if c.write_all(b" ").is_err() {
                        break;
                    }
                    sent += 1;
                    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut buf = [0u8; 4096];
                    match c.read(&mut buf) {
                        Ok(n) if n > 0 => {
                            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                            return (path, start.elapsed(), sent, text);
                        }
                        Ok(_) => break,
                        Err(e)
                            if e.kind() == ErrorKind::WouldBlock
                                || e.kind() == ErrorKind::TimedOut => {}
                        Err(_) => break,
                    }
                }
                (path, start.elapsed(), sent, String::new())
            })
        })
        .collect();
    for t in threads {
        let (path, took, sent, text) = t.join().unwrap();
        assert!(
            text.starts_with("HTTP/1.1 408"),
            "{path}: {text:?} after {took:?}, {sent} bytes"
        );
        assert!(
            took > Duration::from_secs(25) && took < Duration::from_secs(40),
            "{path}: answered after {took:?}"
        );
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{path}: {text}"
        );
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        assert_eq!(v["error"]["code"], -32600, "{path}: {v}");
    }
    assert!(health(&s));
}

/// Input that is not one JSON-RPC message gets a JSON-RPC error, not rmcp's plain-text 415:
/// a parse error (-32700) for malformed JSON and -32600 for a batch; the session is not
/// disturbed and the server keeps answering.
#[test]
fn malformed_json_and_batches_on_mcp_get_json_rpc_errors() {
    let s = HttpServer::start(&[], &[]);
    let post = |body: &str| {
        s.request(
            "POST",
            "/mcp",
            &[
                ("X-MCP-Auth-Token", TOKEN),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ],
            body.as_bytes(),
        )
    };
    for (body, code) in [
        ("{bad", -32700),
        ("", -32700),
        ("[]", -32600),
        ("42", -32600),
        (
            r#"[{"jsonrpc":"2.0","method":"tools/list","id":1}]"#,
            -32600,
        ),
    ] {
        let r = post(body);
        assert_eq!(r.status, 400, "{body:?}: {r:?}");
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{body:?}"
        );
        assert_eq!(r.json()["error"]["code"], code, "{body:?}: {}", r.body);
        assert_eq!(r.json()["jsonrpc"], "2.0");
    }
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let r = post(init);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.json()["result"]["serverInfo"].is_object(), "{}", r.body);
}

/// The head of the answer to one request sent on a connection the client means to keep
/// (no `Connection: close` from the client side).
fn kept_alive_answer(port: u16, headers: &[(&str, &str)], body: &str) -> String {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    c.write_all(req.as_bytes()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Refusals answered before the body is read close the connection, so a client that
/// reuses it does not have its next request read from the middle of the unread body.
#[test]
fn refusals_before_the_body_is_read_close_the_connection() {
    let s = HttpServer::start(&[], &[("MCP_RATE_LIMIT", "1/s")]);
    let body = r#"{"jsonrpc":"2.0","method":"tools/list","id":1}"#;
    let ok = kept_alive_answer(s.port, &[("X-MCP-Auth-Token", TOKEN)], body);
    assert!(ok.starts_with("http/1.1 200"), "{ok}");
    assert!(
        !ok.contains("connection: close"),
        "an answered request keeps the connection: {ok}"
    );
    let unauth = kept_alive_answer(s.port, &[("X-MCP-Auth-Token", "wrong")], body);
    assert!(unauth.starts_with("http/1.1 401"), "{unauth}");
    assert!(unauth.contains("connection: close"), "{unauth}");
    let foreign = kept_alive_answer(
        s.port,
        &[
            ("X-MCP-Auth-Token", TOKEN),
            ("Origin", "http://evil.example"),
        ],
        body,
    );
    assert!(foreign.starts_with("http/1.1 403"), "{foreign}");
    assert!(foreign.contains("connection: close"), "{foreign}");
    let limited = (0..20)
        .map(|_| kept_alive_answer(s.port, &[("X-MCP-Auth-Token", TOKEN)], body))
        .find(|h| h.starts_with("http/1.1 429"))
        .expect("a 429 within 20 requests at 1 per second");
    assert!(limited.contains("connection: close"), "{limited}");
}

/// At most 2,048 MCP sessions are open at once: the next `initialize` gets 503 with
/// `Retry-After`, the open sessions keep working, and ending one makes room again.
#[test]
fn sessions_are_capped_and_ending_one_makes_room() {
    let s = HttpServer::start(&[], &[("MCP_RATE_LIMIT", "0")]);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let mut first = None;
    for i in 0..2048 {
        let r = s.rpc("/mcp", &[], &init);
        assert_eq!(r.status, 200, "session {i}: {r:?}");
        if first.is_none() {
            first = r.header("mcp-session-id").map(str::to_string);
        }
    }
    let over = s.rpc("/mcp", &[], &init);
    assert_eq!(over.status, 503, "{over:?}");
    assert_eq!(over.header("retry-after"), Some("60"));
    assert_eq!(over.json()["error"]["code"], -32000, "{}", over.body);
    let sid = first.expect("a session id");
    let h = session_headers(&sid);
    s.rpc(
        "/mcp",
        &h,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    let call = s.rpc("/mcp", &h, &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "execute_command", "arguments": {"command": "echo still-here"}}}));
    assert_eq!(call.status, 200, "{call:?}");
    assert!(call.body.contains("still-here"), "{}", call.body);
    let del = s.request(
        "DELETE",
        "/mcp",
        &[
            ("X-MCP-Auth-Token", TOKEN),
            ("Mcp-Session-Id", sid.as_str()),
        ],
        b"",
    );
    assert!(del.status < 300, "{del:?}");
    let again = s.rpc("/mcp", &[], &init);
    assert_eq!(again.status, 200, "room again after a DELETE: {again:?}");
}
