//! The audit trail and metrics of the HTTP transport: Insights queries over a real server's
//! stderr with successful, failing, refused and unauthorized calls; caller identity and
//! ids; nothing lost under 16 concurrent clients and an immediate SIGTERM; `/metrics`.

mod common;
#[path = "http_support/mod.rs"]
mod http_support;

use std::collections::BTreeMap;
use std::time::Duration;

use http_support::{events, session_headers, HttpServer, TOKEN};
use serde_json::{json, Value};

fn call(s: &HttpServer, command: &str) -> Value {
    let r = s.rpc(
        "/",
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "execute_command", "arguments": {"command": command}}}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

fn unauthorized(s: &HttpServer) {
    let r = s.request(
        "POST",
        "/",
        &[
            ("X-MCP-Auth-Token", "wrong-token"),
            ("Content-Type", "application/json"),
        ],
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    );
    assert_eq!(r.status, 401);
}

/// Events whose lines a Logs Insights `filter @message like /pattern/` returns, over whole
/// lines. A hit on a line of another event must come only from its run-to-run values
/// (timestamp, numbers, addresses, ids), never from its fixed text; such hits are reported
/// and left out, everything else is returned.
fn like(lines: &[&str], pattern: &str, expected: &str) -> Vec<String> {
    let re = regex::Regex::new(pattern).unwrap();
    let mut out = Vec::new();
    for l in lines.iter().filter(|l| re.is_match(l)) {
        let mut v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        let ev = v["event"].as_str().unwrap_or_default().to_string();
        if ev == expected {
            out.push(ev);
            continue;
        }
        // The port the test's server got (`"port":40189` matched /401/ once in CI).
        if let Some(config) = v.get_mut("config").filter(|c| c.get("port").is_some()) {
            config["port"] = Value::Null;
        }
        for key in [
            "timestamp",
            "caller",
            "duration_ms",
            "remote_addr",
            "request",
            "session",
            "uptime_s",
            "stdout_bytes",
            "stderr_bytes",
            "exit_code",
        ] {
            if v.get(key).is_some() {
                v[key] = Value::Null;
            }
        }
        if re.is_match(&v.to_string()) {
            out.push(ev);
        } else {
            eprintln!("note: /{pattern}/ matched only run-to-run values of a {ev} line");
        }
    }
    out
}

#[test]
fn insights_queries_over_http_logs() {
    let mut s = HttpServer::start(
        &["--allowed-commands", "echo,true,false", "--rate-limit", "0"],
        &[],
    );
    for c in ["echo a", "true", "echo b"] {
        assert_eq!(call(&s, c)["result"]["isError"], false);
    }
    assert_eq!(call(&s, "false")["result"]["isError"], true);
    for c in ["rm -rf /", "cat /etc/shadow", "echo x; id"] {
        let r = call(&s, c);
        assert!(
            r["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("Command validation failed"),
            "{r}"
        );
    }
    for _ in 0..2 {
        unauthorized(&s);
    }
    s.sigterm();
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let stderr = s.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "JSON lines by default with --http"
    );

    let exec = like(&lines, "CMD_EXEC", "CMD_EXEC");
    assert_eq!(exec, vec!["CMD_EXEC"; 4], "{stderr}");
    let blocked = like(&lines, "blocked", "CMD_BLOCKED");
    assert_eq!(blocked, vec!["CMD_BLOCKED"; 3], "{stderr}");
    let e401 = like(&lines, "401", "AUTH_FAILED");
    assert_eq!(e401, vec!["AUTH_FAILED"; 2], "{stderr}");

    // filter event = "CMD_EXEC" | stats count() by caller
    let mut by_caller: BTreeMap<String, usize> = BTreeMap::new();
    for e in events(&stderr, "CMD_EXEC") {
        *by_caller
            .entry(e["caller"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert_eq!(e["transport"], "http");
    }
    let want = mcp_commander::audit::caller_for_token(TOKEN);
    assert_eq!(by_caller, BTreeMap::from([(want.clone(), 4)]));
    assert!(!stderr.contains(TOKEN), "token value in the log");
    assert!(
        !stderr.contains("wrong-token"),
        "presented token value in the log"
    );
    for e in events(&stderr, "AUTH_FAILED") {
        assert_eq!(e["status"], 401);
        assert_eq!(e["level"], "warn");
        assert!(
            e["remote_addr"].as_str().unwrap().starts_with("127.0.0.1"),
            "{e}"
        );
    }
    for e in events(&stderr, "CMD_BLOCKED") {
        assert_eq!(e["caller"], want.as_str());
        assert!(e["rule"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
    }
    let stop = events(&stderr, "SERVER_STOP");
    assert_eq!(stop.len(), 1);
    assert!(
        stop[0]["reason"].as_str().unwrap().contains("SIGTERM"),
        "{}",
        stop[0]
    );
}

/// The one `CMD_EXEC` event of the call answered `r`, which must carry no `session`.
fn only_exec_without_session(s: &HttpServer, r: &http_support::Reply) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
    let e = s.wait_events("CMD_EXEC", 1, Duration::from_secs(5));
    assert_eq!(e.len(), 1);
    let session = e[0]["session"].to_string();
    assert!(
        e[0].get("session").is_none_or(Value::is_null),
        "no session recorded from a client's header: {}",
        &session[..session.len().min(80)]
    );
    e
}

/// On `POST /` a session header means nothing, so it is not audited as the call's session
/// (a client could write any text, or another client's session id, into the trail), and a
/// request id of a megabyte is cut to a bounded audit field.
#[test]
fn client_text_on_post_root_does_not_pose_as_audit_ids() {
    let s = HttpServer::start(&[], &[]);
    let long_id = "x".repeat(1_000_000);
    let r = s.rpc(
        "/",
        &[("Mcp-Session-Id", "blocked 401 spoofed-session")],
        &json!({"jsonrpc": "2.0", "id": long_id, "method": "tools/call", "params": {"name": "execute_command", "arguments": {"command": "echo hi"}}}),
    );
    let e = only_exec_without_session(&s, &r);
    let request = e[0]["request"].as_str().expect("request id");
    assert!(request.len() < 200, "cut: {} bytes", request.len());
    assert!(
        request.starts_with("\"xxx") || request.starts_with("xxx"),
        "{request}"
    );
    let line = common::line_with(&s.stderr(), "CMD_EXEC").len();
    assert!(line < 4096, "the audit line stays small: {line} bytes");
}

/// Every line of `s`'s stderr is a JSON object with an event name and well under Docker's
/// 16 KiB split (4 KiB here, for calls whose commands are short); the `event` of each.
fn small_json_lines(s: &HttpServer) -> Vec<String> {
    s.stderr()
        .lines()
        .map(|l| {
            assert!(
                l.len() < 4096,
                "a {} byte line: {}…",
                l.len(),
                &l[..l.len().min(300)]
            );
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v["event"].as_str().expect("event").to_string()
        })
        .collect()
}

/// Names a client chooses cannot make an audit line of any size (review F3: one env name
/// of 770 KB, or 30,000 of them, made a single `CMD_EXEC` line that Docker splits at
/// 16 KiB into pieces that are no longer JSON and match `like /blocked/`): `env_keys` and
/// `TOOL_CALL`'s `arg_keys` list what fits and add `_count` and `_sha256`. Under
/// `--stateless` a client's `Mcp-Session-Id` is not recorded as the call's session (a
/// 200 KB header was written verbatim).
#[test]
fn client_chosen_names_keep_audit_lines_small() {
    let s = HttpServer::start(&["--log-level", "access"], &[]);
    let many: serde_json::Map<String, Value> = (0..30_000)
        .map(|i| (format!("K{i:05}_blocked"), json!("v")))
        .collect();
    let huge = json!({format!("X{}", "blocked".repeat(110_000)): "v"});
    let mut extra_args = many.clone();
    extra_args.insert("command".into(), json!("true"));
    for arguments in [
        json!({"command": "true", "env": huge}),
        json!({"command": "true", "env": many}),
        Value::Object(extra_args),
    ] {
        let r = s.rpc(
            "/",
            &[],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "execute_command", "arguments": arguments}}),
        );
        assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
    }
    let execs = s.wait_events("CMD_EXEC", 3, Duration::from_secs(10));
    assert_eq!(execs.len(), 3);
    for e in &execs[..2] {
        assert!(e["env_keys_count"].as_u64().is_some_and(|n| n > 0), "{e}");
        assert_eq!(e["env_keys_sha256"].as_str().map(str::len), Some(64), "{e}");
    }
    assert_eq!(execs[1]["env_keys_count"], 30_000);
    let calls = events(&s.stderr(), "TOOL_CALL");
    assert!(
        calls.iter().any(|c| c["arg_keys_count"] == 30_001),
        "{calls:?}"
    );
    let names = small_json_lines(&s);
    assert_eq!(names.iter().filter(|e| *e == "CMD_EXEC").count(), 3);

    let stateless = HttpServer::start(&["--stateless"], &[]);
    let claimed = format!("blocked-{}", "S".repeat(200_000));
    let r = stateless.rpc(
        "/mcp",
        &[
            ("MCP-Protocol-Version", "2025-06-18"),
            ("Mcp-Session-Id", claimed.as_str()),
        ],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "execute_command", "arguments": {"command": "true"}}}),
    );
    only_exec_without_session(&stateless, &r);
    assert!(small_json_lines(&stateless).contains(&"CMD_EXEC".to_string()));
}

#[test]
fn session_and_request_ids_over_streamable_http() {
    let s = HttpServer::start(&[], &[]);
    let sid = s.open_session();
    let h = session_headers(&sid);
    let r = s.rpc("/mcp", &h, &json!({"jsonrpc": "2.0", "id": 42, "method": "tools/call", "params": {"name": "execute_command", "arguments": {"command": "echo hi"}}}));
    assert_eq!(r.status, 200, "{r:?}");
    let e = s.wait_events("CMD_EXEC", 1, Duration::from_secs(5));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["session"], sid.as_str(), "{}", e[0]);
    assert!(
        e[0]["request"].as_str().is_some_and(|r| r.contains("42")),
        "{}",
        e[0]
    );
}

#[test]
fn nothing_lost_1000_calls_16_clients_then_sigterm() {
    let mut s = HttpServer::start(
        &[
            "--rate-limit",
            "0",
            "--max-concurrency",
            "16",
            "--log-level",
            "info",
        ],
        &[],
    );
    let per_client = 1000 / 16;
    let extra = 1000 % 16;
    std::thread::scope(|scope| {
        for c in 0..16 {
            let s = &s;
            let n = per_client + usize::from(c < extra);
            scope.spawn(move || {
                for i in 0..n {
                    let r = call(s, &format!("echo c{c}-{i}"));
                    assert_eq!(r["result"]["isError"], false, "{r}");
                }
            });
        }
    });
    // SIGTERM right after the last response.
    s.sigterm();
    assert_eq!(s.wait_exit(Duration::from_secs(30)), Some(0));
    let stderr = s.stderr();
    let exec = events(&stderr, "CMD_EXEC");
    assert_eq!(exec.len(), 1000, "every call has its CMD_EXEC line");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("CMD_EXEC")).count(),
        1000,
        "and no other line says CMD_EXEC"
    );
    assert_eq!(events(&stderr, "SERVER_STOP").len(), 1);
}

fn metric(body: &str, series: &str) -> f64 {
    body.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn metrics_require_the_token_and_move_with_calls() {
    let s = HttpServer::start(
        &[
            "--metrics",
            "--allowed-commands",
            "echo,false,sleep",
            "--rate-limit",
            "3/m",
        ],
        &[],
    );
    let bearer = format!("Bearer {TOKEN}");
    let scrape = || {
        let r = s.request("GET", "/metrics", &[("Authorization", &bearer)], b"");
        assert_eq!(r.status, 200, "{r:?}");
        r.body
    };
    assert_eq!(s.request("GET", "/metrics", &[], b"").status, 401);
    let before = scrape();
    assert!(before.contains("mcp_commander_build_info"), "{before}");
    call(&s, "echo hi");
    call(&s, "false");
    call(&s, "rm -rf /");
    unauthorized(&s);
    let after = scrape();
    let d = |series: &str| metric(&after, series) - metric(&before, series);
    assert_eq!(
        d("mcp_commander_commands_total{outcome=\"ok\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        d("mcp_commander_commands_total{outcome=\"non_zero\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        d("mcp_commander_commands_total{outcome=\"refused\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        d("mcp_commander_refusals_total{rule=\"default:rm-root\"}"),
        1.0,
        "{after}"
    );
    assert!(d("mcp_commander_auth_failures_total") >= 1.0, "{after}");
    assert_eq!(
        d("mcp_commander_command_duration_seconds_count"),
        2.0,
        "{after}"
    );
    assert_eq!(metric(&after, "mcp_commander_running_commands"), 0.0);
    // The budget (3/m, burst 6) runs out: the 429s are counted.
    let mut limited = false;
    for _ in 0..10 {
        let r = s.rpc(
            "/",
            &[],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        );
        if r.status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "rate limit reached");
    let last = s.request("GET", "/metrics", &[("Authorization", &bearer)], b"");
    if last.status == 200 {
        assert!(
            metric(&last.body, "mcp_commander_rate_limited_requests_total") >= 1.0,
            "{}",
            last.body
        );
    }
}
