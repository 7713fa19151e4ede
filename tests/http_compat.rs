//! go-mcp-commander compatibility: its README's `curl` calls, run verbatim with curl
//! against `POST /`, get plain JSON answers without `Accept`, `initialize` or a session.

mod common;
mod http_support;

use std::process::Command;

use http_support::{events, HttpServer, TOKEN};
use serde_json::Value;

/// Runs curl with `args`; returns (HTTP status, body).
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

#[test]
fn the_documented_curl_calls_work_unchanged() {
    let s = HttpServer::start(&[], &[]);
    let url = format!("http://127.0.0.1:{}/", s.port);
    let auth = format!("X-MCP-Auth-Token: {TOKEN}");

    // tools/list, exactly as go-mcp-commander's README writes it.
    let (code, body) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        "Content-Type: application/json",
        "-H",
        &auth,
        "-d",
        r#"{"jsonrpc":"2.0","method":"tools/list","id":1}"#,
    ]);
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("plain JSON, not SSE");
    assert_eq!(v["id"], 1);
    let names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"execute_command"), "{names:?}");

    // tools/call execute_command.
    let (code, body) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        "Content-Type: application/json",
        "-H",
        &auth,
        "-d",
        r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"execute_command","arguments":{"command":"echo hello"}},"id":2}"#,
    ]);
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["id"], 2);
    assert_eq!(v["result"]["isError"], false);
    let out: Value =
        serde_json::from_str(v["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(out["stdout"], "hello\n");
    assert_eq!(out["exit_code"], 0);

    // A refusal reads the same as go-mcp-commander's.
    let (code, body) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        "Content-Type: application/json",
        "-H",
        &auth,
        "-d",
        r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"execute_command","arguments":{"command":"rm -rf /"}},"id":3}"#,
    ]);
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"]["isError"], true);
    assert!(v["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Command validation failed: "));

    // Bearer works on / too, and no token is a 401 with the JSON-RPC body.
    let (code, _) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        "Content-Type: application/json",
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
        "-d",
        r#"{"jsonrpc":"2.0","method":"tools/list","id":4}"#,
    ]);
    assert_eq!(code, 200);
    let (code, body) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"jsonrpc":"2.0","method":"tools/list","id":5}"#,
    ]);
    assert_eq!(code, 401);
    assert!(body.contains("-32001"));

    let err = s.stderr();
    let exec = events(&err, "CMD_EXEC");
    assert_eq!(exec.len(), 1, "{err}");
    assert_eq!(exec[0]["command"], "echo hello");
    assert_eq!(exec[0]["transport"], "http");
    assert!(exec[0]["caller"].as_str().unwrap().starts_with("token:"));
    assert_eq!(events(&err, "CMD_BLOCKED").len(), 1);
}

#[test]
fn a_curl_without_content_type_and_a_bad_body_get_clear_answers() {
    let s = HttpServer::start(&[], &[]);
    let url = format!("http://127.0.0.1:{}/", s.port);
    let auth = format!("X-MCP-Auth-Token: {TOKEN}");
    // curl -d sends application/x-www-form-urlencoded unless told otherwise.
    let (code, body) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        &auth,
        "-d",
        r#"{"jsonrpc":"2.0","method":"tools/list","id":1}"#,
    ]);
    assert_eq!(code, 200, "{body}");
    let (code, body) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        "not json",
    ]);
    assert_eq!(code, 400, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32700, "{body}");
    let (code, body) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        &auth,
        "-d",
        r#"{"method":"tools/list","id":1}"#,
    ]);
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        -32600
    );
    let (code, body) = curl(&[
        "-X",
        "POST",
        &url,
        "-H",
        &auth,
        "-d",
        r#"{"jsonrpc":"2.0","method":"no/such","id":9}"#,
    ]);
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{code} {body}"));
    assert_eq!(v["error"]["code"], -32601, "{code} {body}");
}

#[test]
fn tool_calls_are_audited_with_caller_transport_and_request_id() {
    let s = HttpServer::start(&["--log-level", "access"], &[]);
    let (code, body) = curl(&[
        "-X",
        "POST",
        &format!("http://127.0.0.1:{}/", s.port),
        "-H",
        &format!("X-MCP-Auth-Token: {TOKEN}"),
        "-d",
        r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"check_command","arguments":{"command":"ls"}},"id":"req-abc"}"#,
    ]);
    assert_eq!(code, 200, "{body}");
    let calls = s.wait_events("TOOL_CALL", 1, std::time::Duration::from_secs(5));
    assert_eq!(calls.len(), 1, "{}", s.stderr());
    let e = &calls[0];
    assert_eq!(e["tool"], "check_command");
    assert_eq!(e["transport"], "http");
    assert_eq!(e["caller"], mcp_commander::audit::caller_for_token(TOKEN));
    assert_eq!(e["request"], "req-abc");
}
