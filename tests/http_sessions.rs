//! MCP sessions on `/mcp` (2025 revisions): who may use a session, and what a request
//! naming a session it cannot use is told.

mod common;
mod http_support;

use std::time::{Duration, Instant};

use http_support::{session_headers, HttpServer, Reply};
use serde_json::{json, Value};

const OPENER: &str = "opener-token-0123456789";
const OTHER: &str = "other-token-0123456789";

fn echo(id: u64, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "execute_command", "arguments": {"command": format!("echo {text}")}}})
}

/// `v` is a JSON-RPC error with `code` and a message containing `says`.
fn assert_error(v: &Value, code: i64, says: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(says)),
        "{v}"
    );
}

fn delete(s: &HttpServer, token: &str, sid: &str) -> Reply {
    s.request(
        "DELETE",
        "/mcp",
        &[("X-MCP-Auth-Token", token), ("Mcp-Session-Id", sid)],
        b"",
    )
}

fn assert_session_not_found(r: &Reply, what: &str) {
    assert_eq!(r.status, 404, "{what}: {r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
    let v = r.json();
    assert_eq!(
        v["error"]["message"], "Not Found: Session not found",
        "{what}: {v}"
    );
}

/// A session opened with one token cannot be used, streamed or deleted with another, even
/// one the server accepts (a rotated token): the answer is the one for a session that does
/// not exist, and a warning says so without the fixed texts the log queries look for.
#[test]
fn a_session_belongs_to_the_token_that_opened_it() {
    let tokens = format!("{OPENER},{OTHER}");
    let s = HttpServer::start_raw(&[], &[("MCP_AUTH_TOKEN", &tokens)]);
    let sid = s.open_session_as(OPENER);
    let h = session_headers(&sid);

    let stolen = s.rpc_as(OTHER, "/mcp", &h, &echo(1, "stolen"));
    assert_session_not_found(&stolen, "POST with the other token");
    let unknown = s.rpc_as(
        OTHER,
        "/mcp",
        &session_headers("no-such-session"),
        &echo(1, "stolen"),
    );
    assert_eq!(
        stolen.body, unknown.body,
        "an existing session of another token looks like no session at all"
    );
    let stream = s.request(
        "GET",
        "/mcp",
        &[
            ("X-MCP-Auth-Token", OTHER),
            ("Accept", "text/event-stream"),
            ("Mcp-Session-Id", &sid),
        ],
        b"",
    );
    assert_session_not_found(&stream, "GET with the other token");
    assert_session_not_found(&delete(&s, OTHER, &sid), "DELETE with the other token");

    // The owner's session is untouched and still works.
    let own = s.rpc_as(OPENER, "/mcp", &h, &echo(3, "still-mine"));
    assert_eq!(own.status, 200, "{own:?}");
    assert!(own.body.contains("still-mine"), "{}", own.body);
    let err = s.stderr();
    assert!(!err.contains("stolen"), "the refused call ran: {err}");

    let warned: Vec<Value> = err
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["level"] == "warn" && v["message"].as_str().is_some_and(|m| m.contains("SESSION"))
        })
        .collect();
    assert_eq!(warned.len(), 3, "one warning per refused request: {err}");
    // The fixed text only: the client's port, the caller and session ids differ from run
    // to run (`remote_addr="127.0.0.1:40132"` held 401 once in CI).
    let run_values = regex::Regex::new(r#"(caller|remote_addr|session)="[^"]*""#).unwrap();
    for w in &warned {
        let m = w["message"].as_str().unwrap_or_default();
        let fixed_text = run_values.replace_all(m, "");
        for fixed in ["401", "blocked", "CMD_EXEC"] {
            assert!(!fixed_text.contains(fixed), "{fixed:?} in {m:?}");
        }
        assert!(m.contains("remote_addr=\"127.0.0.1:"), "{m}");
        assert!(m.contains("caller=\"token:"), "{m}");
    }
    assert!(
        !err.contains(OPENER) && !err.contains(OTHER),
        "a token was logged"
    );
}

/// `DELETE` ends a session once: a second `DELETE`, or one naming a session that never
/// existed, is 404 (rmcp would accept any id).
#[test]
fn deleting_an_unknown_or_ended_session_is_404() {
    let s = HttpServer::start(&[], &[]);
    let sid = s.open_session();
    let first = delete(&s, http_support::TOKEN, &sid);
    assert_eq!(first.status, 204, "{first:?}");
    assert_session_not_found(&delete(&s, http_support::TOKEN, &sid), "second DELETE");
    assert_session_not_found(
        &delete(
            &s,
            http_support::TOKEN,
            "00000000-0000-0000-0000-000000000000",
        ),
        "DELETE of an id never given out",
    );
    let after = s.rpc("/mcp", &session_headers(&sid), &echo(1, "gone"));
    assert_eq!(after.status, 404, "{after:?}");
}

/// Two `Mcp-Session-Id` headers: 400 with a JSON-RPC error, whichever comes first.
#[test]
fn a_repeated_session_header_is_400() {
    let s = HttpServer::start(&[], &[]);
    let sid = s.open_session();
    for pair in [
        [sid.as_str(), "bogus"],
        ["bogus", sid.as_str()],
        [sid.as_str(), sid.as_str()],
    ] {
        let r = s.rpc(
            "/mcp",
            &[
                ("Mcp-Session-Id", pair[0]),
                ("Mcp-Session-Id", pair[1]),
                ("MCP-Protocol-Version", "2025-06-18"),
            ],
            &echo(1, "twice"),
        );
        assert_eq!(r.status, 400, "{pair:?}: {r:?}");
        assert_error(&r.json(), -32600, "Mcp-Session-Id");
    }
    assert!(
        !s.stderr().contains("twice"),
        "a call with two session ids ran"
    );
}

/// `DELETE` of a session while one of its calls runs ends that call at once: its command's
/// processes are gone, the caller's open stream gets a JSON-RPC error for its request id
/// (review F6: the stream just ended, and the command ran on for rmcp's 5 s drain holding
/// its concurrency slot), the command is audited, and the next call gets the slot at once.
#[test]
fn deleting_a_session_ends_its_running_call_with_an_error() {
    let s = HttpServer::start(&["--max-concurrency", "1"], &[]);
    let sid = s.open_session();
    let m = common::marker("delete");
    let port = s.port;
    let call = {
        let sid = sid.clone();
        let m = m.clone();
        std::thread::spawn(move || {
            let body = json!({"jsonrpc": "2.0", "id": 77, "method": "tools/call",
                "params": {"name": "execute_command", "arguments": {"command": format!("sleep 30; echo {m}"), "timeout": "60s"}}});
            let auth = format!("Bearer {}", http_support::TOKEN);
            let mut h = vec![
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ];
            h.extend_from_slice(&session_headers(&sid));
            let started = Instant::now();
            let r = http_support::request(port, "POST", "/mcp", &h, body.to_string().as_bytes());
            (r, started.elapsed())
        })
    };
    let until = Instant::now() + Duration::from_secs(10);
    while common::pids_with(&m).is_empty() {
        assert!(Instant::now() < until, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let deleting = Instant::now();
    let del = delete(&s, http_support::TOKEN, &sid);
    assert_eq!(del.status, 204, "{del:?}");
    assert!(
        deleting.elapsed() < Duration::from_secs(3),
        "{:?}",
        deleting.elapsed()
    );
    let left = common::wait_gone(&m, Duration::from_secs(1));
    assert!(
        left.is_empty(),
        "the command outlived its session: {left:?}"
    );

    let (r, took) = call.join().expect("caller");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    assert_eq!(r.status, 200, "{r:?}");
    let answer: Value = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v["id"] == 77)
        .unwrap_or_else(|| panic!("no answer for request 77 on the stream: {}", r.body));
    assert_error(&answer, -32000, "session was ended");

    let quick = Instant::now();
    let other = s.rpc("/", &[], &echo(1, "next-call"));
    assert!(other.body.contains("next-call"), "{other:?}");
    assert!(
        quick.elapsed() < Duration::from_secs(2),
        "the slot was free at once: {:?}",
        quick.elapsed()
    );
    let execs = s.wait_events("CMD_EXEC", 2, Duration::from_secs(5));
    assert!(
        execs
            .iter()
            .any(|e| e["exit_code"] == -1 && e["command"].as_str().is_some_and(|c| c.contains(&m))),
        "{execs:?}"
    );
}
