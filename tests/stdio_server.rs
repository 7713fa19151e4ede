//! The stdio MCP server as a client meets it: the real binary, JSON-RPC lines on stdin and
//! stdout, logs on stderr.

mod common;

use std::time::{Duration, Instant};

use common::{marked_sleep, marker, result_json, result_text, wait_gone, StdioServer};
use serde_json::{json, Value};

const TOOLS: [&str; 5] = [
    "execute_command",
    "list_allowed_commands",
    "list_blocked_commands",
    "get_shell_info",
    "check_command",
];

#[test]
fn initialize_speaks_2025_06_18_and_2025_11_25() {
    for version in ["2025-06-18", "2025-11-25"] {
        let mut s = StdioServer::start(&[], &[]);
        let r = s.handshake(version);
        assert_eq!(r["result"]["protocolVersion"], version, "{r}");
        assert_eq!(r["result"]["serverInfo"]["name"], "mcp-commander");
        assert!(r["result"]["capabilities"]["tools"].is_object(), "{r}");
        let (code, _) = s.close();
        assert_eq!(code, Some(0));
    }
}

#[test]
fn stateless_2026_discover_and_call_without_initialize() {
    let mut s = StdioServer::start(&[], &[]);
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let r = s.request("server/discover", json!({"_meta": meta}));
    let versions = r["result"]["supportedVersions"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(versions.contains(&json!("2026-07-28")), "{r}");
    assert!(r["result"]["capabilities"]["tools"].is_object(), "{r}");
    let r = s.request("tools/list", json!({"_meta": meta}));
    let names: Vec<&str> = r["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 5, "{r}");
}

#[test]
fn tools_list_has_five_tools_with_schemas_and_annotations() {
    let mut s = StdioServer::initialized(&[], &[]);
    let r = s.request("tools/list", json!({}));
    let tools = r["result"]["tools"].as_array().expect("tools").clone();
    let mut names: Vec<String> = tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut want: Vec<String> = TOOLS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
    for t in &tools {
        let name = t["name"].as_str().unwrap();
        assert_eq!(t["inputSchema"]["type"], "object", "{name}");
        assert_eq!(t["outputSchema"]["type"], "object", "{name}");
        assert!(
            t["description"].as_str().unwrap().len() > 80,
            "{name} needs a real description"
        );
        let ann = &t["annotations"];
        if name == "execute_command" {
            assert_eq!(ann["destructiveHint"], true);
            assert_eq!(ann["openWorldHint"], true);
            assert_eq!(ann["readOnlyHint"], false);
            assert_eq!(t["inputSchema"]["required"], json!(["command"]));
            for key in ["command", "working_directory", "timeout", "env"] {
                assert!(
                    t["inputSchema"]["properties"][key].is_object(),
                    "input {key}"
                );
            }
            for key in [
                "stdout",
                "stderr",
                "exit_code",
                "duration",
                "timed_out",
                "truncated",
                "stdout_bytes",
                "stderr_bytes",
            ] {
                assert!(
                    t["outputSchema"]["properties"][key].is_object(),
                    "output {key}"
                );
            }
        } else {
            assert_eq!(ann["readOnlyHint"], true, "{name}");
            assert_eq!(ann["idempotentHint"], true, "{name}");
        }
    }
}

#[test]
fn echo_hello() {
    let mut s = StdioServer::initialized(&[], &[]);
    let r = s.call("execute_command", json!({"command": "echo hello"}));
    assert_eq!(r["isError"], false, "{r}");
    let j = result_json(&r);
    assert_eq!(j["stdout"], "hello\n");
    assert_eq!(j["stderr"], "");
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["timed_out"], false);
    assert_eq!(j["truncated"], false);
    assert_eq!(j["stdout_bytes"], 6);
    assert!(j["duration"].as_str().unwrap().ends_with('s'), "{j}");
    assert_eq!(
        r["structuredContent"], j,
        "structuredContent equals the text JSON"
    );
}

#[test]
fn non_zero_exit_is_an_error_with_its_code() {
    let mut s = StdioServer::initialized(&[], &[]);
    let r = s.call(
        "execute_command",
        json!({"command": "echo oops >&2; exit 3"}),
    );
    assert_eq!(r["isError"], true, "{r}");
    let j = result_json(&r);
    assert_eq!(j["exit_code"], 3);
    assert_eq!(j["stderr"], "oops\n");
}

#[test]
fn sleep_5_with_timeout_1s_returns_and_leaves_no_sleep() {
    let m = marker("timeout");
    let (_dir, sleep) = marked_sleep(&m);
    let mut s = StdioServer::initialized(&[], &[]);
    let t0 = Instant::now();
    let r = s.call(
        "execute_command",
        json!({"command": format!("{sleep} 5 & {sleep} 5; echo never"), "timeout": "1s"}),
    );
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(r["isError"], true);
    let j = result_json(&r);
    assert_eq!(j["timed_out"], true);
    assert_eq!(j["exit_code"], -1);
    assert!(!j["stdout"].as_str().unwrap().contains("never"));
    assert!(j["error"].as_str().unwrap().contains("timed out"), "{j}");
    let left = wait_gone(&m, Duration::from_secs(2));
    assert!(left.is_empty(), "sleep processes left: {left:?}");
}

#[test]
fn background_job_does_not_outlive_the_call() {
    let m = marker("bg");
    let (_dir, sleep) = marked_sleep(&m);
    let mut s = StdioServer::initialized(&[], &[]);
    let t0 = Instant::now();
    let r = s.call(
        "execute_command",
        json!({"command": format!("{sleep} 30 >/dev/null 2>&1 & echo started")}),
    );
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t0.elapsed()
    );
    let j = result_json(&r);
    assert_eq!(j["stdout"], "started\n");
    assert_eq!(j["exit_code"], 0);
    let left = wait_gone(&m, Duration::from_secs(2));
    assert!(left.is_empty(), "background job survived: {left:?}");
}

#[test]
fn refusal_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("ran");
    let mut s = StdioServer::initialized(&["--allowed-commands", "echo,ls"], &[]);
    for line in [
        format!("touch {}", flag.display()),
        format!("echo hi; touch {}", flag.display()),
        format!("ls$(touch {})", flag.display()),
    ] {
        let r = s.call("execute_command", json!({"command": line}));
        assert_eq!(r["isError"], true, "{r}");
        let text = result_text(&r);
        assert!(text.starts_with("Command validation failed: "), "{text}");
        assert!(text.contains("rule"), "a refusal names its rule: {text}");
        assert!(r.get("structuredContent").is_none() || r["structuredContent"].is_null());
    }
    assert!(!flag.exists(), "a refused command ran");
    let r = s.call("execute_command", json!({"command": "echo allowed"}));
    assert_eq!(result_json(&r)["stdout"], "allowed\n");
    let stderr = s.stderr();
    assert_eq!(stderr.matches("event=CMD_BLOCKED").count(), 3, "{stderr}");
}

/// The default blocklist reads a command's relative names from the directory it starts in
/// (the call's `working_directory`, else the server's `--workdir`): `dd of=sda` run in
/// `/dev` is a write to a disk, the same line in a scratch directory is not.
#[test]
fn relative_names_are_read_from_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    // Harmless should the policy ever let it through in /dev: dd stops at the bad flag
    // before it opens anything.
    let line = "dd if=/dev/zero of=sda count=0 oflag=no-such-flag";
    let mut s = StdioServer::initialized(&[], &[]);
    let r = s.call(
        "execute_command",
        json!({"command": line, "working_directory": "/dev"}),
    );
    assert_eq!(r["isError"], true, "{r}");
    let text = result_text(&r);
    assert!(text.contains("default:dd-device"), "{text}");
    let r = s.call(
        "execute_command",
        json!({"command": line, "working_directory": dir.path()}),
    );
    // Allowed there: it runs, and dd itself refuses the flag.
    let j = result_json(&r);
    assert_eq!(j["exit_code"], 1, "{r}");
    assert!(
        j["stderr"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-flag"),
        "{r}"
    );
    // check_command has no working directory: it reads from the server's.
    let mut s = StdioServer::initialized(&["--workdir", "/dev"], &[]);
    let r = s.call("check_command", json!({"command": "mkswap sda2"}));
    assert_eq!(result_json(&r)["decision"], "deny", "{r}");
    assert_eq!(result_json(&r)["rule"], "default:disk-tool", "{r}");
    let r = s.call("check_command", json!({"command": "mkswap /tmp/swapfile"}));
    assert_eq!(result_json(&r)["decision"], "allow", "{r}");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = StdioServer::initialized(&["--max-timeout", "1m"], &[]);
    let cases = [
        (json!({}), "command"),
        (json!({"command": ""}), "empty"),
        (json!({"command": 42}), "invalid type"),
        (
            json!({"command": "true", "timeout": "soon"}),
            "invalid timeout",
        ),
        (json!({"command": "true", "timeout": "2h"}), "maximum"),
        (
            json!({"command": "true", "env": {"LD_PRELOAD": "/x.so"}}),
            "LD_PRELOAD",
        ),
        (json!({"command": "true", "env": {"PATH": "/tmp"}}), "PATH"),
        (
            json!({"command": "true", "working_directory": dir.path().join("missing").to_str().unwrap()}),
            "missing",
        ),
    ];
    for (args, needle) in cases {
        let r = s.call("execute_command", args.clone());
        assert_eq!(r["isError"], true, "{args}: {r}");
        let text = result_text(&r);
        assert!(
            text.contains(needle),
            "{args}: {text:?} should mention {needle:?}"
        );
    }
    // The server still serves.
    let r = s.call("execute_command", json!({"command": "echo ok", "working_directory": dir.path().to_str().unwrap(), "timeout": "5s", "env": {"GREETING": "hi"}}));
    assert_eq!(result_json(&r)["stdout"], "ok\n", "{r}");
}

#[test]
fn working_directory_and_env_apply() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::canonicalize(dir.path()).unwrap();
    let mut s = StdioServer::initialized(&[], &[]);
    let r = s.call("execute_command", json!({"command": "pwd; echo $GREETING", "working_directory": real.to_str().unwrap(), "env": {"GREETING": "hi"}}));
    assert_eq!(
        result_json(&r)["stdout"],
        format!("{}\nhi\n", real.display())
    );
}

#[test]
fn big_output_is_capped_with_totals() {
    let mut s = StdioServer::initialized(&["--max-output", "64KB"], &[]);
    let r = s.call(
        "execute_command",
        json!({"command": "head -c 10000000 /dev/zero | tr '\\0' a; echo err >&2"}),
    );
    let j = result_json(&r);
    assert_eq!(j["exit_code"], 0, "{j}");
    assert_eq!(j["truncated"], true);
    assert_eq!(j["stdout_bytes"], 10_000_000);
    assert_eq!(j["stderr_bytes"], 4);
    let out = j["stdout"].as_str().unwrap();
    assert!(out.len() < 64 * 1024 + 200, "kept {} bytes", out.len());
    assert!(
        out.contains("bytes omitted"),
        "marker where the middle was dropped"
    );
    assert!(out.starts_with("aaaa") && out.ends_with("aaaa"));
}

#[test]
fn calls_run_concurrently_and_ping_is_not_delayed() {
    let mut s = StdioServer::initialized(&[], &[]);
    let t0 = Instant::now();
    let a = s.send(
        "tools/call",
        json!({"name": "execute_command", "arguments": {"command": "sleep 1"}}),
    );
    let b = s.send(
        "tools/call",
        json!({"name": "execute_command", "arguments": {"command": "sleep 1"}}),
    );
    let p = s.send("ping", json!({}));
    let pong = s.response(p);
    assert!(pong.get("result").is_some(), "{pong}");
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "ping waited {:?}",
        t0.elapsed()
    );
    s.response(a);
    s.response(b);
    assert!(
        t0.elapsed() < Duration::from_millis(1800),
        "two sleeps took {:?}",
        t0.elapsed()
    );
}

#[test]
fn server_secrets_are_not_in_the_command_environment() {
    let mut s = StdioServer::initialized(
        &[],
        &[
            ("MCP_AUTH_TOKEN", "tok-SECRET-123"),
            ("AWS_SECRET_ACCESS_KEY", "aws-SECRET-456"),
            ("MCP_ALLOWED_COMMANDS", ""),
        ],
    );
    let r = s.call("execute_command", json!({"command": "env"}));
    let j = result_json(&r);
    let out = j["stdout"].as_str().unwrap();
    assert!(out.contains("PATH="), "env printed something: {out}");
    assert!(!out.contains("SECRET"), "secret leaked: {out}");
    assert!(!out.contains("MCP_"), "MCP_ variable leaked: {out}");
    assert!(!s.stderr().contains("SECRET"), "secret in logs");
}

#[test]
fn eof_exits_zero_and_logs_stop() {
    let s = StdioServer::initialized(&[], &[]);
    let (code, stderr) = s.close();
    assert_eq!(code, Some(0));
    assert!(stderr.contains("event=SERVER_START"), "{stderr}");
    assert!(stderr.contains("event=SERVER_STOP"), "{stderr}");
    assert!(stderr.contains("stdin closed"), "{stderr}");
}

#[test]
fn malformed_lines_get_errors_and_the_server_keeps_serving() {
    let mut s = StdioServer::initialized(&[], &[]);
    s.send_raw("this is not json");
    let e = s
        .next_message(Duration::from_secs(5))
        .expect("an answer to a malformed line");
    assert_eq!(e["error"]["code"], -32700, "{e}");
    assert_eq!(e["id"], Value::Null);
    s.send_raw(r#"{"jsonrpc":"2.0","id":77,"params":{}}"#);
    let e = s.response(77);
    assert_eq!(e["error"]["code"], -32600, "{e}");
    let r = s.request(
        "tools/call",
        json!({"name": "no_such_tool", "arguments": {}}),
    );
    assert!(
        r.get("error").is_some() || r["result"]["isError"] == true,
        "{r}"
    );
    let r = s.call("execute_command", json!({"command": "echo alive"}));
    assert_eq!(result_json(&r)["stdout"], "alive\n");
}

/// A request whose params do not fit its method is `-32602` naming the problem, not
/// "method not found"; an unknown method is `-32601` with its name.
#[test]
fn shape_errors_are_invalid_params_and_unknown_methods_are_named() {
    let mut s = StdioServer::initialized(&[], &[]);
    for (line, code, text) in [
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            -32602,
            "Invalid params for tools/call: params is missing",
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"execute_command","arguments":"x"}}"#,
            -32602,
            "params.arguments must be an object",
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":[1]}"#,
            -32602,
            "params must be an object, not an array",
        ),
        (
            r#"{"jsonrpc":"2.0","id":4,"method":"foo/bar"}"#,
            -32601,
            "Method not found: foo/bar",
        ),
    ] {
        s.send_raw(line);
        let id: Value = serde_json::from_str::<Value>(line).unwrap()["id"].clone();
        let e = s.response(id.as_i64().unwrap());
        assert_eq!(e["error"]["code"], code, "{line}: {e}");
        let msg = e["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(text), "{line}: {msg}");
    }
    let r = s.call("execute_command", json!({"command": "echo alive"}));
    assert_eq!(result_json(&r)["stdout"], "alive\n");
}

/// A client's method name comes back in the error, and rmcp logs that error at warn: a
/// megabyte-long name with the audit words in it must give neither a megabyte answer nor
/// a log line the CloudWatch queries (`CMD_EXEC`, `blocked`, `401`) would count.
#[test]
fn a_huge_method_name_is_cut_and_cannot_pose_as_an_audit_event() {
    let mut s = StdioServer::initialized(&["--log-format", "json"], &[]);
    let method = format!("CMD_EXEC blocked 401 {}", "x".repeat(900 * 1024));
    let line = json!({"jsonrpc": "2.0", "id": 5, "method": method}).to_string();
    s.send_raw(&line);
    let e = s.response(5);
    assert_eq!(e["error"]["code"], -32601, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("Method not found: CMD_EXEC"), "{msg}");
    assert!(msg.len() < 300, "{} bytes", msg.len());
    let r = s.call("execute_command", json!({"command": "echo alive"}));
    assert_eq!(result_json(&r)["stdout"], "alive\n");
    let (_, stderr) = s.close();
    for l in stderr.lines() {
        assert!(l.len() < 4096, "a {}-byte log line", l.len());
        let mut v: Value = serde_json::from_str(l).expect("a JSON line");
        if v["event"] != "CMD_EXEC" {
            // Its fixed text: a timestamp such as `…:12.401Z` or a duration may hold 401.
            for key in ["timestamp", "duration_ms", "uptime_s", "pid"] {
                if v.get(key).is_some() {
                    v[key] = Value::Null;
                }
            }
            let fixed = v.to_string();
            for w in ["CMD_EXEC", "blocked", "401"] {
                assert!(!fixed.contains(w), "{w} in a {} line: {l}", v["event"]);
            }
        }
    }
}

#[test]
fn a_20_mb_line_is_an_error_not_a_crash() {
    let mut s = StdioServer::initialized(&[], &[]);
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{{"name":"execute_command","arguments":{{"command":"echo {}"}}}}}}"#,
        "x".repeat(20 * 1024 * 1024)
    );
    s.send_raw(&big);
    let e = s
        .next_message(Duration::from_secs(20))
        .expect("an answer to the huge line");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("too large"),
        "{e}"
    );
    let r = s.call("execute_command", json!({"command": "echo still here"}));
    assert_eq!(result_json(&r)["stdout"], "still here\n");
    assert!(s.child.try_wait().unwrap().is_none(), "server exited");
}

#[test]
fn list_tools_report_policy_and_shell() {
    let mut s = StdioServer::initialized(
        &[
            "--allowed-commands",
            "ls,git status",
            "--blocked-commands",
            "dd",
        ],
        &[],
    );
    let a = result_json(&s.call("list_allowed_commands", json!({})));
    assert_eq!(
        a,
        json!({"allowed_commands": ["ls", "git status"], "allow_all": false})
    );
    let b = result_json(&s.call("list_blocked_commands", json!({})));
    assert_eq!(b["using_default_blocklist"], true);
    assert_eq!(b["blocked_commands"][0], "dd");
    let i = result_json(&s.call("get_shell_info", json!({})));
    assert_eq!(i["shell"], "/bin/sh");
    assert_eq!(i["shell_arg"], "-c");
    assert_eq!(i["default_timeout"], "30s");
    assert!(i["sandbox"].is_object(), "{i}");
    let c = result_json(&s.call("check_command", json!({"command": "git push"})));
    assert_eq!(c["decision"], "deny");
    let c = result_json(&s.call("check_command", json!({"command": "git status -s"})));
    assert_eq!(c["decision"], "allow");
    assert_eq!(c["commands"], json!([["git", "status", "-s"]]));

    let mut s = StdioServer::initialized(&[], &[]);
    let a = result_json(&s.call("list_allowed_commands", json!({})));
    assert_eq!(a, json!({"allowed_commands": [], "allow_all": true}));
}

#[test]
fn call_env_cannot_smuggle_options_that_run_code() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("pwned");
    let mut s = StdioServer::initialized(&["--allowed-commands", "tar,echo"], &[]);
    for (name, value) in [
        (
            "TAR_OPTIONS",
            format!(
                "--checkpoint=1 --checkpoint-action=exec=touch {}",
                flag.display()
            ),
        ),
        ("tar_options", "x".to_string()),
        ("AWKPATH", "/tmp".to_string()),
        ("LESS", "x".to_string()),
        ("SYSTEMD_PAGER", "x".to_string()),
        ("CC", "x".to_string()),
        ("MY_PRELOAD_X", "x".to_string()),
    ] {
        let r = s.call(
            "execute_command",
            json!({"command": "tar -cf /dev/null /etc/hostname", "env": {name: value}}),
        );
        assert_eq!(r["isError"], true, "{name}: {r}");
        assert!(result_text(&r).contains(name), "{name}: {r}");
    }
    assert!(!flag.exists(), "TAR_OPTIONS ran code");
    let r = s.call(
        "execute_command",
        json!({"command": "echo $GREETING", "env": {"GREETING": "hi"}}),
    );
    assert_eq!(result_json(&r)["stdout"], "hi\n");
}

/// Out of file descriptors, calls that cannot get their pipes are answered at once with
/// an error that says so and what to do; the others run, and once they have ended the next
/// call runs: nothing hangs and the server serves on. The server's open-files limit is
/// lowered (`prlimit`) to what it has open plus room for about two running commands, then
/// eight `sleep 1` calls are made at once.
#[test]
fn out_of_descriptors_calls_fail_clearly_and_the_server_serves_on() {
    let mut s = StdioServer::initialized(&[], &[]);
    let r = result_json(&s.call("execute_command", json!({"command": "echo warm"})));
    assert_eq!(r["stdout"], json!("warm\n"), "{r}");
    let pid = s.child.id() as i32;
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's descriptors")
        .count() as u64;
    let limit = libc::rlimit {
        rlim_cur: open + 9,
        rlim_max: open + 9,
    };
    // SAFETY: prlimit on a child of this test with a valid struct; the old value is not read.
    let set = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &limit, std::ptr::null_mut()) };
    assert_eq!(set, 0, "prlimit: {}", std::io::Error::last_os_error());
    let ids: Vec<i64> = (0..8)
        .map(|_| {
            s.send(
                "tools/call",
                json!({"name": "execute_command", "arguments": {"command": "sleep 1; echo ok", "timeout": "10s"}}),
            )
        })
        .collect();
    let (mut ran, mut refused) = (0, 0);
    for id in ids {
        let r = s
            .response_within(id, Duration::from_secs(20))
            .expect("a call was never answered");
        let v = result_json(&r["result"]);
        if v["stdout"] == json!("ok\n") {
            ran += 1;
            continue;
        }
        let error = v["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("Too many open files") && error.contains("open-files limit"),
            "{v}"
        );
        refused += 1;
    }
    assert!(ran >= 1 && refused >= 1, "ran {ran}, refused {refused}");
    let r = result_json(&s.call("execute_command", json!({"command": "echo after"})));
    assert_eq!(r["stdout"], json!("after\n"), "{r}");
}

/// The JSON audit lines of `event` in `stderr` (a server run with `--log-format json`).
fn audit_events(stderr: &str, event: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == event)
        .collect()
}

/// Seconds in a Go-style duration such as `1.2s` or `950.5ms` (0 for anything smaller).
fn go_seconds(d: &str) -> f64 {
    if let Some(ms) = d.strip_suffix("ms") {
        ms.parse::<f64>().unwrap() / 1000.0
    } else if let Some(s) = d
        .strip_suffix('s')
        .filter(|s| !s.ends_with(|c: char| c.is_alphabetic() || c == 'µ'))
    {
        s.parse().unwrap()
    } else {
        0.0
    }
}

/// The `CMD_EXEC` lines of `command` in `stderr` (JSON format).
fn exec_lines(stderr: &str, command: &str) -> Vec<Value> {
    audit_events(stderr, "CMD_EXEC")
        .into_iter()
        .filter(|e| e["command"] == command)
        .collect()
}

/// A server logging JSON lines, running `command` (whose processes carry `marker`) in a
/// call of its own; returns the server and the call's id once the command runs.
fn running_call(command: &str, marker: &str) -> (StdioServer, i64) {
    let mut s = StdioServer::initialized(&["--log-format", "json"], &[]);
    let id = s.send(
        "tools/call",
        json!({"name": "execute_command", "arguments": {"command": command}}),
    );
    wait_running(marker);
    (s, id)
}

/// Polls up to 10 s until a process carries `marker`.
fn wait_running(marker: &str) {
    let until = Instant::now() + Duration::from_secs(10);
    while common::pids_with(marker).is_empty() {
        assert!(Instant::now() < until, "{marker} never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The client quits (closes stdin) while a call runs: after 4 s (within rmcp's 5 s drain)
/// the command's tree is ended, its `CMD_EXEC` line is written with the reason, and the server exits 0
/// with `SERVER_STOP` "stdin closed". Before, the command died with the server and no
/// `CMD_EXEC` line was written (review F2).
#[test]
fn closing_stdin_ends_a_running_call_and_audits_it() {
    let m = marker("stdin-eof");
    let (_dir, sleep) = marked_sleep(&m);
    let command = format!("{sleep} 30; echo {m}");
    let (s, _) = running_call(&command, &m);
    let closed = Instant::now();
    let (code, stderr) = s.close();
    let took = closed.elapsed();
    assert_eq!(code, Some(0), "{stderr}");
    // The 4 s grace after EOF, then the command's end and its audit line.
    assert!(took < Duration::from_secs(8), "exit took {took:?}");
    let left = wait_gone(&m, Duration::from_secs(2));
    assert!(
        left.is_empty(),
        "the command's processes survived: {left:?}"
    );
    let exec = exec_lines(&stderr, &command);
    assert_eq!(exec.len(), 1, "{stderr}");
    let e = &exec[0];
    assert_eq!(e["exit_code"], -1, "{e}");
    assert_eq!(e["started"], true, "{e}");
    assert_eq!(e["timed_out"], false, "{e}");
    assert_eq!(e["caller"], "stdio", "{e}");
    assert_eq!(e["transport"], "stdio", "{e}");
    let reason = e["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("closed stdin"), "{e}");
    assert!(e["duration_ms"].as_f64().unwrap() < 8000.0, "{e}");
    let stop = audit_events(&stderr, "SERVER_STOP");
    assert_eq!(stop.len(), 1, "{stderr}");
    assert_eq!(stop[0]["reason"], "stdin closed", "{stderr}");
}

/// Requests piped in (`printf … | mcp-commander`, stdin closed right after them): a call
/// that ends within the drain is run and answered in full, not ended because stdin closed.
#[test]
fn requests_piped_in_are_answered_after_stdin_closes() {
    use std::io::Write;
    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "pipe", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "execute_command",
            "arguments": {"command": "sleep 0.5; echo piped"}}}),
    ];
    let mut child = std::process::Command::new(common::bin())
        .args(["--log-format", "json"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in &lines {
        writeln!(stdin, "{l}").expect("write");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("server ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let answer: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["id"] == 2)
        .unwrap_or_else(|| panic!("no answer to the call: {stdout}"));
    let j = result_json(&answer["result"]);
    assert_eq!(j["exit_code"], 0, "{j}");
    assert_eq!(j["stdout"], "piped\n", "{j}");
    let exec = exec_lines(&stderr, "sleep 0.5; echo piped");
    assert_eq!(exec.len(), 1, "{stderr}");
    assert_eq!(exec[0]["exit_code"], 0, "{stderr}");
}

/// SIGTERM over stdio: the running call is answered at once, and its answer and audit line
/// name the shutdown and the signal rather than a plain cancellation.
#[test]
fn sigterm_ends_a_running_call_and_names_the_shutdown() {
    let m = marker("stdio-term");
    let (_dir, sleep) = marked_sleep(&m);
    let command = format!("{sleep} 30");
    let (mut s, id) = running_call(&command, &m);
    let pid = nix::unistd::Pid::from_raw(s.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let r = s
        .response_within(id, Duration::from_secs(3))
        .expect("answered after SIGTERM");
    let j = result_json(&r["result"]);
    let error = j["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("shutting down on SIGTERM") && !error.contains("cancelled"),
        "{j}"
    );
    assert!(wait_gone(&m, Duration::from_secs(2)).is_empty());
    let (code, stderr) = s.close();
    assert_eq!(code, Some(0), "{stderr}");
    let exec = exec_lines(&stderr, &command);
    assert_eq!(exec.len(), 1, "{stderr}");
    assert_eq!(exec[0]["reason"].as_str(), Some(error), "{stderr}");
    assert_eq!(audit_events(&stderr, "SERVER_STOP")[0]["reason"], "SIGTERM");
}

/// With one execution slot taken by a `sleep 1`: a call that got the slot late says how
/// long it queued; one whose timeout ran out while it ran after queuing says how much of
/// the timeout the queue took; one whose timeout ran out in the queue says it never
/// started. The audit lines carry `queued_ms` and `started` (review F5: the last two were
/// reported "timed out after Ns" / audited as executed).
#[test]
fn time_in_the_queue_is_reported_as_such() {
    let m = marker("slot");
    let (_dir, sleep) = marked_sleep(&m);
    let mut s = StdioServer::initialized(&["--log-format", "json", "--max-concurrency", "1"], &[]);
    let call = |s: &mut StdioServer, command: &str, timeout: &str| {
        s.send(
            "tools/call",
            json!({"name": "execute_command",
                   "arguments": {"command": command, "timeout": timeout}}),
        )
    };
    let holder = call(&mut s, &format!("{sleep} 1"), "10s");
    wait_running(&m);
    let late = call(&mut s, "echo late", "10s");
    let cut = call(&mut s, "sleep 5", "3s");
    let never = call(&mut s, "echo never", "500ms");

    let j = result_json(&s.response(never)["result"]);
    assert_eq!(j["timed_out"], true, "{j}");
    assert_eq!(j["exit_code"], -1, "{j}");
    let e = j["error"].as_str().unwrap();
    assert!(
        e.contains("timed out after 500ms waiting for one of the 1 execution slots")
            && e.contains("never started"),
        "{j}"
    );
    assert_eq!(j["duration"], "0s", "{j}");
    assert!(j["queued"].is_string(), "{j}");

    let j = result_json(&s.response(holder)["result"]);
    assert_eq!(j["exit_code"], 0, "{j}");
    assert!(j.get("queued").is_none(), "{j}");

    let j = result_json(&s.response(late)["result"]);
    assert_eq!(j["exit_code"], 0, "{j}");
    assert_eq!(j["stdout"], "late\n", "{j}");
    assert!(j.get("error").is_none(), "{j}");
    assert!(go_seconds(j["queued"].as_str().unwrap()) >= 0.7, "{j}");

    let j = result_json(&s.response(cut)["result"]);
    assert_eq!(j["timed_out"], true, "{j}");
    let e = j["error"].as_str().unwrap();
    assert!(
        e.contains("timed out after 3s, ")
            && e.contains("of which it waited for an execution slot"),
        "{j}"
    );
    assert!(j["queued"].is_string(), "{j}");

    let (_, stderr) = s.close();
    let line = |cmd: &str| {
        let mut exec = exec_lines(&stderr, cmd);
        assert_eq!(exec.len(), 1, "CMD_EXEC for {cmd}: {stderr}");
        exec.remove(0)
    };
    let n = line("echo never");
    assert_eq!(n["started"], false, "{n}");
    assert!(
        n["message"].as_str().unwrap().contains("did not start"),
        "{n}"
    );
    assert!(n["queued_ms"].as_f64().unwrap() >= 400.0, "{n}");
    assert_eq!(n["duration_ms"], 0.0, "{n}");
    assert!(
        n["reason"].as_str().unwrap().contains("never started"),
        "{n}"
    );
    let l = line("echo late");
    assert_eq!(l["started"], true, "{l}");
    assert!(l["queued_ms"].as_f64().unwrap() >= 700.0, "{l}");
    assert!(l.get("reason").is_none(), "{l}");
    let h = line(&format!("{sleep} 1"));
    assert_eq!(h["started"], true, "{h}");
    assert!(h.get("queued_ms").is_none(), "{h}");
    let c = line("sleep 5");
    assert_eq!(c["started"], true, "{c}");
    assert!(c["queued_ms"].as_f64().unwrap() >= 700.0, "{c}");
}
