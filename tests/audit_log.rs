//! The audit trail as an operator queries it: CloudWatch Logs Insights `like /…/` filters
//! over the real server's stderr, JSON-field queries, forged-line attempts, `--log-dir`, and
//! a read-only root filesystem.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{result_json, StdioServer};
use serde_json::{json, Value};

/// Runs a session with successful, failing and refused calls; returns stderr lines.
fn session(format: &str) -> Vec<String> {
    let mut s = StdioServer::initialized(
        &[
            "--log-format",
            format,
            "--allowed-commands",
            "echo,true,false,ls",
        ],
        &[],
    );
    for cmd in ["echo one", "true", "ls /"] {
        let r = s.call("execute_command", json!({"command": cmd}));
        assert_eq!(r["isError"], false, "{r}");
    }
    for cmd in ["false", "ls /definitely-missing"] {
        let r = s.call("execute_command", json!({"command": cmd}));
        assert_eq!(r["isError"], true, "{r}");
    }
    for cmd in ["rm -rf /", "cat /etc/passwd"] {
        let r = s.call("execute_command", json!({"command": cmd}));
        assert!(
            common::result_text(&r).starts_with("Command validation failed"),
            "{r}"
        );
    }
    let (code, stderr) = s.close();
    assert_eq!(code, Some(0));
    stderr.lines().map(String::from).collect()
}

/// Blanks the values that vary run to run (timestamp, numbers), so a query hit there is a
/// coincidence of digits, not fixed text.
fn fixed_text(line: &str) -> String {
    let ts = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z").unwrap();
    let num = regex::Regex::new(r"\d+(\.\d+)?").unwrap();
    num.replace_all(&ts.replace_all(line, "TS"), "N")
        .into_owned()
}

/// `filter @message like /pattern/ | stats count()` over whole lines, as Insights does, and
/// checks every hit is one of the `expected` events (or a digits coincidence, reported).
fn insights_count(
    lines: &[String],
    pattern: &str,
    event_of: impl Fn(&str) -> Option<String>,
    expected: &[&str],
) -> usize {
    let re = regex::Regex::new(pattern).unwrap();
    let mut hits = 0;
    for l in lines.iter().filter(|l| re.is_match(l)) {
        let ev = event_of(l).unwrap_or_default();
        if expected.contains(&ev.as_str()) {
            hits += 1;
        } else {
            assert!(
                !re.is_match(&fixed_text(l)),
                "query /{pattern}/ matches the fixed text of a {ev} line: {l}"
            );
            eprintln!("note: /{pattern}/ matched digits in a {ev} line (timestamp or a number), not its text");
        }
    }
    hits
}

fn text_event(l: &str) -> Option<String> {
    l.split(" event=")
        .nth(1)
        .map(|r| r.split(' ').next().unwrap_or("").to_string())
}

fn json_event(l: &str) -> Option<String> {
    serde_json::from_str::<Value>(l)
        .ok()?
        .get("event")?
        .as_str()
        .map(String::from)
}

#[test]
fn insights_queries_count_exactly_the_events_in_text_and_json() {
    for (format, event_of) in [
        ("text", text_event as fn(&str) -> Option<String>),
        ("json", json_event),
    ] {
        let lines = session(format);
        assert_eq!(
            insights_count(&lines, "CMD_EXEC", event_of, &["CMD_EXEC"]),
            5,
            "{format}: {lines:#?}"
        );
        assert_eq!(
            insights_count(&lines, "blocked", event_of, &["CMD_BLOCKED"]),
            2,
            "{format}: {lines:#?}"
        );
        assert_eq!(
            insights_count(&lines, "401", event_of, &["AUTH_FAILED"]),
            0,
            "{format}: {lines:#?}"
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| event_of(l).as_deref() == Some("SERVER_START"))
                .count(),
            1
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| event_of(l).as_deref() == Some("SERVER_STOP"))
                .count(),
            1
        );
    }
}

#[test]
fn json_field_queries_work() {
    let lines = session("json");
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // filter event = "CMD_EXEC" | stats count() by caller
    let mut by_caller: BTreeMap<String, usize> = BTreeMap::new();
    for v in parsed.iter().filter(|v| v["event"] == "CMD_EXEC") {
        *by_caller
            .entry(v["caller"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(by_caller, BTreeMap::from([("stdio".to_string(), 5)]));
    // filter event = "CMD_EXEC" and exit_code != 0
    assert_eq!(
        parsed
            .iter()
            .filter(|v| v["event"] == "CMD_EXEC" && v["exit_code"] != 0)
            .count(),
        2
    );
    // filter event = "CMD_BLOCKED" | stats count() by rule
    let rules: Vec<&str> = parsed
        .iter()
        .filter(|v| v["event"] == "CMD_BLOCKED")
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), 2);
    assert!(
        rules.iter().all(|r| !r.is_empty() && *r != "none"),
        "{rules:?}"
    );
    for v in &parsed {
        for key in ["timestamp", "level", "event", "message"] {
            assert!(v.get(key).is_some(), "{key} missing: {v}");
        }
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with(v["event"].as_str().unwrap()),
            "{v}"
        );
        let ts = v["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");
    }
}

#[test]
fn a_command_cannot_forge_log_lines() {
    let forged = "echo 'hi\n2026-01-01T00:00:00.000Z level=info event=CMD_EXEC message=\"CMD_EXEC forged\" \u{1b}[31mred\u{1b}[0m\r'";
    for format in ["text", "json"] {
        let mut s = StdioServer::initialized(&["--log-format", format], &[]);
        let r = s.call("execute_command", json!({"command": forged}));
        assert_eq!(result_json(&r)["exit_code"], 0);
        let (_, stderr) = s.close();
        let exec_lines: Vec<&str> = stderr.lines().filter(|l| l.contains("CMD_EXEC")).collect();
        assert_eq!(exec_lines.len(), 1, "{format}: exactly one line: {stderr}");
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\r'),
            "{format}: raw control characters in the log"
        );
        let l = exec_lines[0];
        assert!(
            l.contains("\\n") && (l.contains("\\u{1b}") || l.contains("\\u001b")),
            "{format}: escaped: {l}"
        );
    }
}

#[test]
fn log_dir_gets_a_dated_copy_and_nothing_is_written_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let mut s = StdioServer::initialized(&["--log-dir", logs.to_str().unwrap()], &[]);
    s.call("execute_command", json!({"command": "true"}));
    let (_, stderr) = s.close();
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let day = regex::Regex::new(r"^mcp-commander\.\d{4}-\d\d-\d\d\.log$").unwrap();
    assert!(day.is_match(&files[0]), "{files:?}");
    let copy = std::fs::read_to_string(logs.join(&files[0])).unwrap();
    assert_eq!(copy, stderr, "the file holds the same lines as stderr");
    // A directory the server made is its user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{mode:o}");
    }
}

fn unshare_available() -> Result<(), String> {
    let out = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount --make-rprivate / && mount -o remount,bind,ro / && true",
        ])
        .output()
        .map_err(|e| format!("unshare not runnable: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "unshare -m with a read-only remount failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `script` with `sh` in a private mount namespace (the script remounts `/`
/// read-only itself); returns its stdout and stderr.
fn in_read_only_root(script: &str) -> (String, String) {
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .output()
        .expect("run unshare");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn read_only_root_filesystem_stdio() {
    if let Err(why) = unshare_available() {
        // Only a machine without mount namespaces lands here; say so loudly.
        eprintln!("SKIPPED read_only_root_filesystem_stdio: {why}");
        return;
    }
    let rw = tempfile::tempdir().unwrap();
    let rwp = rw.path().to_str().unwrap().to_string();
    let script = format!(
        "set -e; mount --make-rprivate /; mount -o remount,bind,ro /; mount -t tmpfs tmpfs {rwp}; \
         before=$(find {rwp} -printf '%p %s %T@\\n' | sha256sum); \
         printf '%s\\n' '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"t\",\"version\":\"0\"}}}}}}' \
           '{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}}' \
           '{{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{{\"name\":\"execute_command\",\"arguments\":{{\"command\":\"echo served\"}}}}}}' \
         | HOME=/nonexistent TMPDIR={rwp} {bin} --log-format json || true; \
         after=$(find {rwp} -printf '%p %s %T@\\n' | sha256sum); [ \"$before\" = \"$after\" ] && echo UNCHANGED",
        bin = common::bin().display(),
    );
    let (stdout, stderr) = in_read_only_root(&script);
    assert!(
        stdout.contains("served\\n"),
        "the call was served: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("UNCHANGED"),
        "the writable dir was not written: {stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("\"event\":\"CMD_EXEC\""),
        "logs on stderr: {stderr}"
    );
    assert!(stderr.contains("\"event\":\"SERVER_START\""), "{stderr}");
}

#[test]
fn read_only_root_filesystem_http() {
    if let Err(why) = unshare_available() {
        eprintln!("SKIPPED read_only_root_filesystem_http: {why}");
        return;
    }
    let rw = tempfile::tempdir().unwrap();
    let rwp = rw.path().to_str().unwrap().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A small client in Python (always present where the tests run), talking to the server
    // started inside the namespace; the listing of the writable dir is compared around it.
    let client = format!(
        r#"import json, sys, time, urllib.request
base = "http://127.0.0.1:{port}"
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/health", timeout=1).read(); break
    except Exception:
        time.sleep(0.02)
body = json.dumps({{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {{"name": "execute_command", "arguments": {{"command": "echo served"}}}}}}).encode()
req = urllib.request.Request(base + "/", data=body, headers={{"Content-Type": "application/json", "X-MCP-Auth-Token": "ro-token"}})
print(urllib.request.urlopen(req, timeout=10).read().decode())"#
    );
    let script = format!(
        "set -e; mount --make-rprivate /; mount -o remount,bind,ro /; mount -t tmpfs tmpfs {rwp}; \
         before=$(find {rwp} -printf '%p %s %T@\\n' | sha256sum); \
         MCP_AUTH_TOKEN=ro-token HOME=/nonexistent TMPDIR={rwp} {bin} --http --port {port} & pid=$!; \
         python3 -c '{client}'; kill -TERM $pid; wait $pid; echo \"EXIT=$?\"; \
         after=$(find {rwp} -printf '%p %s %T@\\n' | sha256sum); [ \"$before\" = \"$after\" ] && echo UNCHANGED",
        bin = common::bin().display(),
        client = client.replace('\'', "'\\''"),
    );
    let (stdout, stderr) = in_read_only_root(&script);
    assert!(
        stdout.contains("served\\n"),
        "the call was served: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("EXIT=0"),
        "clean exit on SIGTERM: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("UNCHANGED"),
        "the writable dir was not written: {stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("\"event\":\"CMD_EXEC\""),
        "JSON logs on stderr: {stderr}"
    );
    assert!(stderr.contains("\"event\":\"SERVER_STOP\""), "{stderr}");
}
