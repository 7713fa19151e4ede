//! The official MCP Python SDK (PyPI `mcp` 2.x) as the client, over Streamable HTTP:
//! the 2025 `initialize` handshake with sessions, the stateless 2026-07-28 revision, with
//! either token header, and `--stateless` replicas behind a round-robin "load balancer".
//! The script (`tests/py/http_session.py`) runs a full tool session: list, echo, non-zero
//! exit, refusal, check_command.

mod common;
mod http_support;

use http_support::{events, HttpServer, TOKEN};

fn session(urls: &str, header: &str, mode: &str) -> String {
    let (ok, out) = common::run_python("http_session.py", &[urls, TOKEN, header, mode], &[]);
    assert!(
        ok,
        "python session ({header}, {mode}) against {urls} failed:\n{out}"
    );
    assert!(out.contains("done"), "{out}");
    out
}

#[test]
fn handshake_2025_with_sessions_bearer_and_x_mcp_header() {
    let s = HttpServer::start(&[], &[]);
    let out = session(&s.url("/mcp"), "bearer", "legacy");
    assert!(out.contains("protocol: 2025-"), "{out}");
    // Closing the session (DELETE) is acknowledged the way the SDK expects.
    assert!(!out.contains("Session termination failed"), "{out}");
    session(&s.url("/mcp"), "x-mcp", "legacy");
    // Calls made inside an MCP session carry its id and the JSON-RPC request id.
    let err = s.stderr();
    let exec = events(&err, "CMD_EXEC");
    assert_eq!(exec.len(), 4, "{err}");
    for e in &exec {
        assert!(e["session"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
        assert!(e["request"].is_string(), "{e}");
        assert_eq!(e["transport"], "http");
        assert_eq!(e["caller"], common_caller());
    }
    assert_ne!(
        exec[0]["session"], exec[2]["session"],
        "two clients, two sessions"
    );
    let blocked = events(&err, "CMD_BLOCKED");
    assert_eq!(blocked.len(), 2);
    assert!(blocked[0]["session"].is_string());
}

fn common_caller() -> String {
    mcp_commander::audit::caller_for_token(TOKEN)
}

#[test]
fn stateless_2026_07_28_revision_and_discovery() {
    let s = HttpServer::start(&[], &[]);
    let out = session(&s.url("/mcp"), "bearer", "2026-07-28");
    assert!(out.contains("protocol: 2026-07-28"), "{out}");
    // "auto" probes server/discover first and picks the newest revision both speak.
    let out = session(&s.url("/mcp"), "x-mcp", "auto");
    assert!(out.contains("protocol: 2026-07-28"), "{out}");
}

#[test]
fn stateless_flag_serves_both_eras_without_sessions() {
    let s = HttpServer::start(&["--stateless"], &[]);
    session(&s.url("/mcp"), "bearer", "legacy");
    session(&s.url("/mcp"), "x-mcp", "2026-07-28");
    let exec = events(&s.stderr(), "CMD_EXEC");
    assert_eq!(exec.len(), 4);
    assert!(
        exec.iter().all(|e| e.get("session").is_none()),
        "no server-side sessions: {exec:?}"
    );
}

#[test]
fn one_client_alternating_between_two_stateless_replicas() {
    let a = HttpServer::start(&["--stateless"], &[]);
    let b = HttpServer::start(&["--stateless"], &[]);
    let urls = format!("{},{}", a.url("/mcp"), b.url("/mcp"));
    for mode in ["legacy", "2026-07-28"] {
        let out = session(&urls, "bearer", mode);
        assert!(out.contains("ok: alternated"), "{out}");
    }
    // Both replicas really ran commands for the one client.
    assert!(!events(&a.stderr(), "CMD_EXEC").is_empty());
    assert!(!events(&b.stderr(), "CMD_EXEC").is_empty());
}
