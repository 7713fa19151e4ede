//! What happens to running commands when the HTTP conversation ends early: a client that
//! disconnects cancels its command (the process tree ends), and SIGTERM drains the server
//! (503s, running calls finish within `--shutdown-grace`, the rest are stopped and get an
//! error result, exit code 0).

mod common;
mod http_support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{marker, pids_with, wait_gone};
use http_support::{events, session_headers, HttpServer, TOKEN};
use serde_json::{json, Value};

fn call(id: u64, command: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "execute_command", "arguments": {"command": command, "timeout": "5m"}}})
}

/// Sends a POST and returns the open socket without reading the answer.
fn post_and_hold(port: u16, path: &str, headers: &[(&str, &str)], body: &Value) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.to_string();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    s
}

fn wait_running(m: &str, what: &str) {
    let until = Instant::now() + Duration::from_secs(10);
    while pids_with(m).is_empty() {
        assert!(
            Instant::now() < until,
            "{what}: command with {m} never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_that_disconnects_cancels_its_command() {
    let s = HttpServer::start(&[], &[]);
    let sid = s.open_session();
    let session_headers = session_headers(&sid);
    let modern = [
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "execute_command"),
    ];
    for (what, path, headers) in [
        ("go-mcp-commander POST /", "/", &[][..]),
        ("2025 session on /mcp", "/mcp", &session_headers[..]),
        ("2026-07-28 on /mcp", "/mcp", &modern[..]),
    ] {
        let m = marker("disc");
        let mut body = call(41, &format!("sleep 300; echo {m}"));
        if what.starts_with("2026") {
            body["params"]["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"}
            });
        }
        let sock = post_and_hold(s.port, path, headers, &body);
        wait_running(&m, what);
        drop(sock);
        let left = wait_gone(&m, Duration::from_secs(10));
        assert!(
            left.is_empty(),
            "{what}: command still running after the client left: {left:?}"
        );
    }
    let exec = s.wait_events("CMD_EXEC", 3, Duration::from_secs(5));
    assert_eq!(exec.len(), 3, "{}", s.stderr());
    assert!(exec.iter().all(|e| e["exit_code"] == -1));
}

#[test]
fn sigterm_lets_a_running_call_finish_and_refuses_new_work() {
    let mut s = HttpServer::start(&["--shutdown-grace", "20s"], &[]);
    let m = marker("finish");
    let port = s.port;
    let cmd = format!("sleep 2; echo {m}");
    let caller = std::thread::spawn(move || {
        let r = http_support::request(
            port,
            "POST",
            "/",
            &[
                ("Content-Type", "application/json"),
                ("X-MCP-Auth-Token", TOKEN),
            ],
            call(1, &cmd).to_string().as_bytes(),
        );
        (r, Instant::now())
    });
    wait_running(&m, "call");
    let term = Instant::now();
    s.sigterm();
    // Draining: health says so, and new requests are turned away.
    std::thread::sleep(Duration::from_millis(200));
    let h = s.request("GET", "/health", &[], b"");
    assert_eq!(h.status, 503, "{h:?}");
    assert_eq!(h.json()["status"], "draining");
    let r = s.rpc("/", &[], &call(2, "echo too late"));
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.header("connection"), Some("close"), "{r:?}");

    let (reply, answered) = caller.join().unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    let result = &reply.json()["result"];
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["structuredContent"]["stdout"], format!("{m}\n"));
    assert!(answered.duration_since(term) < Duration::from_secs(5));

    let code = s.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "exit status");
    assert!(
        term.elapsed() < Duration::from_secs(8),
        "exit took {:?}",
        term.elapsed()
    );
    let err = s.stderr();
    let stop = events(&err, "SERVER_STOP");
    assert_eq!(stop.len(), 1, "{err}");
    assert_eq!(stop[0]["reason"], "SIGTERM");
    assert_eq!(
        events(&err, "CMD_EXEC").len(),
        1,
        "the late request never ran"
    );
}

#[test]
fn sigterm_stops_a_call_past_the_grace_and_answers_it_with_an_error() {
    let mut s = HttpServer::start(&["--shutdown-grace", "2s"], &[]);
    let sid = s.open_session();
    let m = marker("grace");
    let port = s.port;
    let body = call(9, &format!("sleep 1000; echo {m}"));
    let caller = std::thread::spawn(move || {
        let sid_h = sid;
        let auth = format!("Bearer {TOKEN}");
        http_support::request(
            port,
            "POST",
            "/mcp",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
                ("Mcp-Session-Id", &sid_h),
                ("MCP-Protocol-Version", "2025-06-18"),
            ],
            body.to_string().as_bytes(),
        )
    });
    wait_running(&m, "call");
    let term = Instant::now();
    s.sigterm();
    let reply = caller.join().unwrap();
    let answered = term.elapsed();
    assert_eq!(reply.status, 200, "{reply:?}");
    let v = reply.json();
    assert_eq!(v["id"], 9, "{v}");
    let result = &v["result"];
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(result["structuredContent"]["exit_code"], -1);
    let error = result["structuredContent"]["error"].as_str().unwrap();
    assert!(error.contains("shutting down"), "{error}");
    assert!(
        answered >= Duration::from_millis(1900) && answered < Duration::from_secs(6),
        "answered {answered:?} after SIGTERM with a 2s grace"
    );
    let left = wait_gone(&m, Duration::from_secs(5));
    assert!(left.is_empty(), "process tree survived: {left:?}");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(
        term.elapsed() < Duration::from_secs(8),
        "exit took {:?}",
        term.elapsed()
    );
    let err = s.stderr();
    assert_eq!(events(&err, "SERVER_STOP").len(), 1, "{err}");
    let exec = events(&err, "CMD_EXEC");
    assert_eq!(exec.len(), 1);
    assert_eq!(exec[0]["exit_code"], -1);
}

#[test]
fn a_client_that_never_finishes_its_headers_is_dropped() {
    use std::io::Read;
    let s = HttpServer::start(&[], &[]);
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(20),
        "connection closed after {waited:?} (header read timeout is 10 s)"
    );
    // The server is still fine for everyone else.
    assert_eq!(s.request("GET", "/health", &[], b"").status, 200);
}

#[test]
fn sigint_drains_like_sigterm() {
    let mut s = HttpServer::start(&[], &[]);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let stop = events(&s.stderr(), "SERVER_STOP");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0]["reason"], "SIGINT");
}

#[test]
fn notifications_cancelled_in_a_session_ends_the_command() {
    let s = HttpServer::start(&[], &[]);
    let sid = s.open_session();
    let headers = session_headers(&sid);
    let m = marker("cancel");
    let _held = post_and_hold(
        s.port,
        "/mcp",
        &headers,
        &call(77, &format!("sleep 300; echo {m}")),
    );
    wait_running(&m, "call");
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 77, "reason": "user pressed stop"}});
    let r = s.rpc("/mcp", &headers, &cancel);
    assert_eq!(r.status, 202, "{r:?}");
    let left = wait_gone(&m, Duration::from_secs(10));
    assert!(
        left.is_empty(),
        "command survived notifications/cancelled: {left:?}"
    );
}

/// One keep-alive connection with Nagle off on our side, reading chunked or sized bodies.
struct KeepAlive {
    reader: std::io::BufReader<TcpStream>,
    writer: TcpStream,
    port: u16,
    /// When the status line of the last answer arrived.
    head_at: Instant,
}

impl KeepAlive {
    fn open(port: u16) -> KeepAlive {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        KeepAlive {
            reader: std::io::BufReader::new(s.try_clone().unwrap()),
            writer: s,
            port,
            head_at: Instant::now(),
        }
    }

    /// A connection with an initialised 2025 session, and the headers its requests need.
    fn session(port: u16) -> (KeepAlive, [(&'static str, String); 2]) {
        let mut c = KeepAlive::open(port);
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}});
        let (h, _) = c.post(&[], &init);
        let sid = h
            .iter()
            .find(|(k, _)| k == "mcp-session-id")
            .unwrap()
            .1
            .clone();
        let headers = [
            ("Mcp-Session-Id", sid),
            ("MCP-Protocol-Version", "2025-06-18".to_string()),
        ];
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        c.post(
            &refs,
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        );
        (c, headers)
    }

    fn post(&mut self, headers: &[(&str, &str)], body: &Value) -> (Vec<(String, String)>, String) {
        use std::io::{BufRead, Read};
        let body = body.to_string();
        let mut req = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
             Content-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        self.writer.write_all(req.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        self.head_at = Instant::now();
        let mut hdrs = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                hdrs.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |k: &str| hdrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let mut out = Vec::new();
        if let Some(n) = get("content-length") {
            out = vec![0; n.parse().unwrap()];
            self.reader.read_exact(&mut out).unwrap();
        } else if get("transfer-encoding").is_some() {
            loop {
                line.clear();
                self.reader.read_line(&mut line).unwrap();
                let n = usize::from_str_radix(line.trim(), 16).unwrap();
                let mut buf = vec![0; n + 2];
                self.reader.read_exact(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
        (hdrs, String::from_utf8_lossy(&out).to_string())
    }
}

#[test]
fn small_answers_are_not_held_back_by_delayed_acks() {
    // Without TCP_NODELAY a response written in pieces (an SSE stream: head and priming
    // event, then the message) waits ~40 ms for the client's delayed ACK on every call. A
    // call longer than the coalescing window (5 ms) is written in pieces.
    let s = HttpServer::start(&["--rate-limit", "0"], &[]);
    let (mut c, headers) = KeepAlive::session(s.port);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let slow = call(5, "sleep 0.01");
    let mut lat = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let (h, body) = c.post(&headers, &slow);
        lat.push(t.elapsed());
        assert!(body.contains("exit_code"), "{body}");
        assert!(h.iter().any(|(k, _)| k == "transfer-encoding"), "{h:?}");
    }
    lat.sort();
    // The delay is on every call, the host's noise on some (tests of this file run at
    // once): the fastest quarter shows it (a CI run's median read 40 ms with it on).
    assert!(
        lat[5] < Duration::from_millis(35),
        "25th percentile {:?} over keep-alive: {lat:?}",
        lat[5]
    );
}

#[test]
fn a_quick_session_answer_goes_out_whole_and_a_slow_one_starts_at_once() {
    let s = HttpServer::start(&["--rate-limit", "0"], &[]);
    let (mut c, headers) = KeepAlive::session(s.port);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Quick: priming event and result in one piece with a Content-Length.
    let info = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "get_shell_info", "arguments": {}}});
    let (h, body) = c.post(&headers, &info);
    let get =
        |h: &[(String, String)], k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert!(
        get(&h, "content-type").is_some_and(|v| v.starts_with("text/event-stream")),
        "{h:?}"
    );
    assert_eq!(
        get(&h, "content-length").map(|v| v.parse::<usize>().unwrap()),
        Some(body.len()),
        "{h:?}"
    );
    assert!(get(&h, "transfer-encoding").is_none(), "{h:?}");
    assert!(body.contains("retry:"), "the priming event is kept: {body}");
    assert!(body.contains("shell_arg"), "{body}");
    // Slow: the head and priming event go out when the window ends, the result streams
    // when the command is done.
    let t = Instant::now();
    let (h, body) = c.post(&headers, &call(6, "sleep 0.5; echo done"));
    let head = c.head_at - t;
    assert!(
        get(&h, "transfer-encoding").is_some_and(|v| v.contains("chunked")),
        "{h:?}"
    );
    assert!(body.contains("retry:") && body.contains("done"), "{body}");
    assert!(t.elapsed() >= Duration::from_millis(500));
    assert!(
        head < Duration::from_millis(300),
        "the head waited {head:?} for a 500 ms command"
    );
}

#[test]
fn a_second_sigterm_ends_running_calls_at_once() {
    let mut s = HttpServer::start(&["--shutdown-grace", "60s"], &[]);
    let m = marker("again");
    let port = s.port;
    let cmd = format!("sleep 1000; echo {m}");
    let caller = std::thread::spawn(move || {
        http_support::request(
            port,
            "POST",
            "/",
            &[
                ("Content-Type", "application/json"),
                ("X-MCP-Auth-Token", TOKEN),
            ],
            call(3, &cmd).to_string().as_bytes(),
        )
    });
    wait_running(&m, "call");
    let term = Instant::now();
    s.sigterm();
    std::thread::sleep(Duration::from_millis(300));
    s.sigterm();
    let reply = caller.join().unwrap();
    assert!(
        term.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        term.elapsed()
    );
    let result = &reply.json()["result"];
    assert_eq!(result["isError"], true, "{result}");
    assert!(result["structuredContent"]["error"]
        .as_str()
        .unwrap()
        .contains("shutting down"));
    assert!(wait_gone(&m, Duration::from_secs(5)).is_empty());
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
}

/// `--max-concurrency 1`: at the end of the shutdown grace the running call and the one
/// still waiting for the slot are both answered and audited with the shutdown's reason;
/// the waiting one says it never started (before it read "the command was still running
/// when the shutdown grace ran out", and its `CMD_EXEC` looked like a command's; review F5).
#[test]
fn a_call_still_queued_when_the_grace_runs_out_says_it_never_started() {
    let mut s = HttpServer::start(&["--shutdown-grace", "1s", "--max-concurrency", "1"], &[]);
    let m = marker("slot-grace");
    let port = s.port;
    let post = move |id: u64, command: String| {
        std::thread::spawn(move || {
            let auth = format!("Bearer {TOKEN}");
            let body = call(id, &command).to_string();
            http_support::request(
                port,
                "POST",
                "/",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                body.as_bytes(),
            )
        })
    };
    let running = post(1, format!("sleep 1000; echo {m}"));
    wait_running(&m, "call");
    let queued = post(2, "echo never-ran".to_string());
    std::thread::sleep(Duration::from_millis(300));
    s.sigterm();
    let answer = |t: std::thread::JoinHandle<http_support::Reply>| {
        t.join().unwrap().json()["result"]["structuredContent"].clone()
    };
    let q = answer(queued);
    let error = q["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("on SIGTERM and the shutdown grace ran out")
            && error.contains("never started")
            && !error.contains("still running"),
        "{q}"
    );
    assert!(q["queued"].is_string(), "{q}");
    let r = answer(running);
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("on SIGTERM and the shutdown grace ran out")
            && error.contains("stopped with its whole process tree"),
        "{r}"
    );
    assert!(wait_gone(&m, Duration::from_secs(5)).is_empty());
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let err = s.stderr();
    let exec = events(&err, "CMD_EXEC");
    assert_eq!(exec.len(), 2, "{err}");
    let never = exec
        .iter()
        .find(|e| e["command"] == "echo never-ran")
        .unwrap();
    assert_eq!(never["started"], false, "{never}");
    assert!(never["queued_ms"].as_f64().unwrap() > 0.0, "{never}");
    assert_eq!(never["reason"], q["error"], "{never}");
}
