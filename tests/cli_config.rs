//! The command line and configuration as an operator meets them: flags, environment,
//! `~/.mcp_env`, precedence, `check`, `--version`, and bad configuration (exit 2).

mod common;

use std::process::Stdio;

use common::{command, line_with, result_json, StdioServer};
use serde_json::{json, Value};

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut c = command();
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).stdin(Stdio::null()).output().expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_configuration_exits_2_with_one_line() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (&["--log-level", "loud"], &[], "log-level"),
        (&[], &[("MCP_LOG_LEVEL", "loud")], "log-level"),
        (&["--timeout", "soon"], &[], "--timeout"),
        (&[], &[("MCP_DEFAULT_TIMEOUT", "soon")], "--timeout"),
        (&["--timeout", "20m"], &[], "max-timeout"),
        (&["--max-output", "12XB"], &[], "max-output"),
        (&["--rate-limit", "fast"], &[], "rate-limit"),
        (&["--http"], &[], "token"),
        (
            &["--http", "--no-auth", "--host", "0.0.0.0"],
            &[],
            "loopback",
        ),
        (&["--workdir", "/definitely/not/here"], &[], "workdir"),
        (
            &["--blocked-commands", "re:(unclosed"],
            &[],
            "regular expression",
        ),
        (
            &["--auth-token-file", "/definitely/not/here"],
            &[],
            "/definitely/not/here",
        ),
        (
            &["--pass-env", "LANG,GIT_CONFIG_PARAMETERS"],
            &[],
            "GIT_CONFIG_PARAMETERS",
        ),
        (&[], &[("MCP_PASS_ENV", "GIT_EDITOR")], "GIT_EDITOR"),
    ];
    for (args, env, needle) in cases {
        let (code, stdout, stderr) = run(args, env);
        assert_eq!(code, Some(2), "{args:?} {env:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line, got {stderr:?}"
        );
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} should mention {needle}"
        );
        assert!(
            stdout.is_empty(),
            "{args:?}: stdout must stay clean: {stdout:?}"
        );
    }
}

#[test]
fn version_and_help() {
    let (code, out, _) = run(&["--version"], &[]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("mcp-commander "), "{out}");
    let (code, out, _) = run(&["--help"], &[]);
    assert_eq!(code, Some(0));
    for flag in [
        "--log-dir",
        "--log-level",
        "--allowed-commands",
        "--blocked-commands",
        "--timeout",
        "--shell",
        "--shell-arg",
        "--use-default-blocklist",
        "--http",
        "--host",
        "--port",
        "--policy",
        "--max-timeout",
        "--max-output",
        "--max-concurrency",
        "--workdir",
        "--allowed-dirs",
        "--pass-env",
        "--log-format",
        "--auth-token-file",
        "--no-auth",
        "--allowed-origins",
        "--stateless",
        "--rate-limit",
        "--metrics",
        "--shutdown-grace",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn check_prints_the_decision_and_sets_the_exit_code() {
    let (code, out, _) = run(&["check", "--allowed-commands", "ls", "--", "ls -la"], &[]);
    assert_eq!(code, Some(0));
    let d: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(d["decision"], "allow");
    assert_eq!(d["commands"], json!([["ls", "-la"]]));
    let (code, out, _) = run(&["check", "--allowed-commands", "ls", "--", "ls; id"], &[]);
    assert_eq!(code, Some(1));
    let d: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(d["decision"], "deny");
    assert!(d["reason"].as_str().unwrap().len() > 10);
    assert!(d["rule"].is_string());
    let (code, _, _) = run(&["check", "--", "rm -r -f /"], &[]);
    assert_eq!(code, Some(1));
    let (code, _, _) = run(&["check", "--", "echo halting"], &[]);
    assert_eq!(code, Some(0));
    let (code, _, _) = run(
        &[
            "check",
            "--use-default-blocklist=false",
            "--",
            "shutdown -h now",
        ],
        &[],
    );
    assert_eq!(code, Some(0));
    let (code, _, stderr) = run(&["check"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
}

/// `~/.mcp_env` may not turn sandbox layers off (a command that can write the file would
/// switch them off for every later start); a flag or the environment still can.
#[test]
fn the_env_file_cannot_turn_the_sandbox_off() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".mcp_env"),
        "MCP_SANDBOX_DISABLE=all\nMCP_DEFAULT_TIMEOUT=7s\nTMPDIR=/\nPATH=/tmp/x\nMCP_AUTH_TOKEN=from-the-file-0123456789\n",
    )
    .unwrap();
    let h = home.path().to_str().unwrap();
    let mut s = StdioServer::initialized(&[], &[("HOME", h)]);
    let i = shell_info(&[], &[("HOME", h)]);
    assert_eq!(i["default_timeout"], "7s", "the file's other keys apply");
    assert_ne!(i["sandbox"]["seccomp"], "off", "{i}");
    assert_ne!(i["sandbox"]["landlock"]["status"], "off", "{i}");
    let warning = line_with(&s.stderr(), "CONFIG_IGNORED");
    // Only the server's own settings: not TMPDIR (`/` made the whole file system the
    // writable temp dir) nor PATH.
    assert!(
        warning.contains("keys=MCP_SANDBOX_DISABLE,TMPDIR,PATH"),
        "{warning}"
    );
    let r = result_json(&s.call(
        "execute_command",
        json!({"command": "echo $TMPDIR; echo $PATH"}),
    ));
    let out = r["stdout"].as_str().unwrap_or_default();
    assert!(!out.contains("/tmp/x") && !out.starts_with("/\n"), "{r}");
    // A token the file adds shows where it came from in SERVER_START (never its value).
    let start = line_with(&s.stderr(), "event=SERVER_START");
    assert!(
        start.contains("\\\"MCP_AUTH_TOKEN\\\":\\\"file\\\""),
        "{start}"
    );
    assert!(!start.contains("from-the-file"), "{start}");
    // From the environment it is still honoured.
    let i = shell_info(&[], &[("HOME", h), ("MCP_SANDBOX_DISABLE", "seccomp")]);
    assert_eq!(i["sandbox"]["seccomp"], "off", "{i}");
}

fn shell_info(args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut s = StdioServer::initialized(args, env);
    result_json(&s.call("get_shell_info", json!({})))
}

#[test]
fn precedence_flag_env_file_default() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".mcp_env"),
        "# operator settings\nexport MCP_DEFAULT_TIMEOUT=7s\nMCP_SHELL='/bin/bash'\nFILE_ONLY_SECRET=\"from-file\"\n",
    )
    .unwrap();
    let h = home.path().to_str().unwrap();
    let i = shell_info(&[], &[("HOME", h)]);
    assert_eq!(i["default_timeout"], "7s", "file beats default");
    assert_eq!(i["shell"], "/bin/bash");
    assert_eq!(i["shell_arg"], "-c", "MCP_SHELL alone implies -c");
    let i = shell_info(&[], &[("HOME", h), ("MCP_DEFAULT_TIMEOUT", "9s")]);
    assert_eq!(i["default_timeout"], "9s", "env beats file");
    let i = shell_info(
        &["--timeout", "11s"],
        &[("HOME", h), ("MCP_DEFAULT_TIMEOUT", "9s")],
    );
    assert_eq!(i["default_timeout"], "11s", "flag beats env");
    let i = shell_info(&[], &[]);
    assert_eq!(i["default_timeout"], "30s", "default");

    // Values from the file never reach commands, and SERVER_START says where values came from.
    let mut s = StdioServer::initialized(
        &["--max-concurrency", "3"],
        &[("HOME", h), ("MCP_MAX_OUTPUT", "1MB")],
    );
    let out = result_json(&s.call("execute_command", json!({"command": "env"})));
    assert!(!out["stdout"].as_str().unwrap().contains("from-file"));
    let stderr = s.stderr();
    let start = stderr
        .lines()
        .find(|l| l.contains("event=SERVER_START"))
        .expect("SERVER_START");
    for (key, src) in [
        ("MCP_DEFAULT_TIMEOUT", "file"),
        ("MCP_MAX_OUTPUT", "env"),
        ("MCP_MAX_CONCURRENCY", "flag"),
    ] {
        assert!(
            start.contains(&format!("\\\"{key}\\\":\\\"{src}\\\"")),
            "{key} from {src}: {start}"
        );
    }
}

#[test]
fn log_level_from_the_environment_is_honoured() {
    let s = StdioServer::initialized(&[], &[("MCP_LOG_LEVEL", "off")]);
    let (code, stderr) = s.close();
    assert_eq!(code, Some(0));
    assert!(stderr.is_empty(), "level off writes nothing: {stderr}");
    let mut s = StdioServer::initialized(&["--log-level", "access"], &[]);
    s.call("list_allowed_commands", json!({}));
    assert!(s.stderr().contains("event=TOOL_CALL"), "{}", s.stderr());
    let mut s = StdioServer::initialized(&[], &[]);
    s.call("list_allowed_commands", json!({}));
    s.call("execute_command", json!({"command": "true"}));
    let e = s.stderr();
    assert!(!e.contains("event=TOOL_CALL"), "TOOL_CALL is below info");
    assert!(
        e.contains("event=CMD_EXEC"),
        "CMD_EXEC is written at the default level: {e}"
    );
}

#[test]
fn json_log_format() {
    let mut s = StdioServer::initialized(&["--log-format", "json"], &[]);
    s.call("execute_command", json!({"command": "echo secret-output"}));
    let (_, stderr) = s.close();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let exec = lines
        .iter()
        .find(|l| l["event"] == "CMD_EXEC")
        .expect("CMD_EXEC");
    for key in [
        "timestamp",
        "level",
        "message",
        "command",
        "workdir",
        "exit_code",
        "duration_ms",
        "timed_out",
        "stdout_bytes",
        "stderr_bytes",
        "truncated",
        "env_keys",
        "caller",
        "transport",
    ] {
        assert!(exec.get(key).is_some(), "CMD_EXEC lacks {key}: {exec}");
    }
    assert_eq!(exec["caller"], "stdio");
    assert!(exec["message"].as_str().unwrap().starts_with("CMD_EXEC"));
    assert!(
        !stderr.contains("secret-output\\n"),
        "command output never logged"
    );
}
