//! `mcp-commander check` through the real binary: exit codes 0/1/2, the JSON shape, policy
//! files (presets, precedence, a failing example stopping start-up with file and line).

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcp-commander"));
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent-home-for-tests")
        .env("LANG", "C.UTF-8");
    c
}

fn check(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.arg("check").args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run mcp-commander")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write policy");
    p
}

#[test]
fn exit_0_on_allow_with_the_decision_as_json() {
    let o = check(
        &["--allowed-commands", "ls,grep", "--", "ls -la | grep x"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert_eq!(v["decision"], "allow");
    assert!(v["reason"].is_string());
    assert_eq!(
        v["commands"],
        serde_json::json!([["ls", "-la"], ["grep", "x"]])
    );
}

#[test]
fn exit_1_on_deny_naming_the_rule() {
    let o = check(&["--allowed-commands", "ls", "--", "ls; id"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["rule"], "not-allowed");
    let o = check(&["--", "rm -r -f /"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["rule"], "default:rm-root");
}

#[test]
fn relative_names_are_read_from_the_workdir() {
    let o = check(&["--workdir", "/dev", "--", "mkswap sda2"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["rule"], "default:disk-tool");
    let o = check(&["--workdir", "/tmp", "--", "mkswap sda2"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", json(&o));
}

/// The workdir is resolved as a command's would be, symlinks followed — as the server's
/// `check_command` does: `rm -rf .` in a directory that is a link to `/` is the rm of the
/// root, not an allowed line.
#[test]
fn the_workdir_is_resolved_as_the_server_resolves_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    std::os::unix::fs::symlink("/", &root).expect("symlink");
    let root = root.to_str().expect("utf-8 path");
    for wd in [root.to_string(), format!("{root}/tmp/..")] {
        let o = check(&["--workdir", &wd, "--", "rm -rf ."], &[]);
        assert_eq!(o.status.code(), Some(1), "{wd}: {}", json(&o));
        assert_eq!(json(&o)["rule"], "default:rm-root", "{wd}");
    }
    let o = check(
        &["--workdir", dir.path().to_str().unwrap(), "--", "rm -rf ."],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", json(&o));
    // Outside the allowed directories no command may start there, but the line is still
    // read from there: `rm -rf .` in `/` is the rm of the root, not an allowed line.
    let o = check(
        &["--workdir", "/", "--allowed-dirs", "/tmp", "--", "rm -rf ."],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", json(&o));
    assert_eq!(json(&o)["rule"], "default:rm-root");
}

#[test]
fn exit_2_on_usage_errors() {
    let o = check(&[], &[]);
    assert_eq!(o.status.code(), Some(2));
    let o = check(&["--blocked-commands", "re:(", "--", "ls"], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn presets_load_and_decide() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    for (preset, line, code) in [
        ("default", "ls -la; git status", 0),
        ("default", "rm -rf /", 1),
        ("readonly", "git log --oneline | head", 0),
        ("readonly", "rm x", 1),
        ("developer", "cargo test 2>&1 | tail", 0),
        ("developer", "git push --force", 1),
        ("ecs", "curl -s http://localhost/health", 0),
        ("ecs", "env", 1),
    ] {
        let path = root.join(format!("{preset}.toml"));
        let o = check(&["--policy", path.to_str().unwrap(), "--", line], &[]);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{preset}: {line}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn a_presets_line_rules_stay_when_the_environment_sets_blocked_commands() {
    let ecs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/ecs.toml");
    for (line, rule) in [
        ("cat < /proc/1/environ", "ecs-input-file"),
        ("uniq </proc/self/environ", "ecs-input-file"),
        ("SSLKEYLOGFILE=/tmp/k curl https://x", "ecs-no-keylog"),
    ] {
        let o = check(
            &["--policy", ecs.to_str().unwrap(), "--", line],
            &[("MCP_BLOCKED_COMMANDS", "dd")],
        );
        assert_eq!(o.status.code(), Some(1), "{line}");
        assert_eq!(json(&o)["rule"], rule, "{line}");
    }
}

#[test]
fn a_missing_allowed_dir_names_the_policy_file_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "dirs.toml",
        "allowed_dirs = [\"/nonexistent-dir-for-tests\"]\nallowed_commands = [\"ls\"]\n",
    );
    let o = check(&["--policy", p.to_str().unwrap(), "--", "ls"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(&format!("allowed_dirs of policy file {}", p.display()))
            && err.contains("/nonexistent-dir-for-tests"),
        "{err}"
    );
    // Given by the flag's variable, the flag is named.
    let o = check(
        &["--policy", p.to_str().unwrap(), "--", "ls"],
        &[("MCP_ALLOWED_DIRS", "/nonexistent-dir-for-tests")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invalid --allowed-dirs"), "{err}");
}

#[test]
fn a_failing_example_stops_start_up_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "bad.toml",
        "# mine\n[[rule]]\nid = \"ls-only\"\nmatch = \"ls\"\nexamples = [\"ls -l\", \"lsblk\"]\n",
    );
    for args in [
        vec!["check", "--policy", p.to_str().unwrap(), "--", "ls"],
        vec!["--policy", p.to_str().unwrap()],
    ] {
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&format!("{}:5:", p.display())),
            "names file and line: {err}"
        );
        assert!(err.contains("lsblk"), "{err}");
    }
    // The same through MCP_POLICY_FILE.
    let o = check(&["--", "ls"], &[("MCP_POLICY_FILE", p.to_str().unwrap())]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_syntax_error_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "syntax.toml",
        "allowed_commands = [\"ls\"]\n\n[[rule]\n",
    );
    let o = check(&["--policy", p.to_str().unwrap(), "--", "ls"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:3:", p.display())), "{err}");
    let o = check(&["--policy", "/nonexistent/policy.toml", "--", "ls"], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn flag_and_env_beat_the_policy_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "p.toml", "allowed_commands = [\"ls\"]\n");
    let p = p.to_str().unwrap();
    assert_eq!(
        check(&["--policy", p, "--", "ls"], &[]).status.code(),
        Some(0)
    );
    assert_eq!(
        check(&["--policy", p, "--", "id"], &[]).status.code(),
        Some(1)
    );
    let o = check(
        &["--policy", p, "--allowed-commands", "id", "--", "id"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    let o = check(
        &["--policy", p, "--", "id"],
        &[("MCP_ALLOWED_COMMANDS", "id")],
    );
    assert_eq!(o.status.code(), Some(0));
    // The file's rules always apply on top of the lists.
    let q = write(
        &dir,
        "q.toml",
        "[[rule]]\nid = \"no-push\"\ndecision = \"forbid\"\nmatch = \"git push\"\n",
    );
    let o = check(
        &[
            "--policy",
            q.to_str().unwrap(),
            "--allowed-commands",
            "git",
            "--",
            "git push",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["rule"], "no-push");
}

#[test]
fn values_from_the_policy_file_are_recorded_as_source_policy() {
    use mcp_commander::config::{parse_invocation, Source};
    if std::env::var_os("MCP_ALLOWED_COMMANDS").is_some()
        || std::env::var_os("MCP_BLOCKED_COMMANDS").is_some()
    {
        eprintln!("skipped: the test environment sets the allow/block lists itself");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "src.toml",
        "allowed_commands = [\"ls\"]\nblocked_commands = [\"dd\"]\nuse_default_blocklist = false\n",
    );
    let inv =
        parse_invocation(["mcp-commander", "--policy", p.to_str().unwrap()], &[]).expect("config");
    let c = &inv.config;
    assert_eq!(c.allowed_commands, vec!["ls".to_string()]);
    assert_eq!(c.blocked_commands, vec!["dd".to_string()]);
    assert!(!c.use_default_blocklist);
    assert_eq!(c.sources.get("MCP_ALLOWED_COMMANDS"), Some(&Source::Policy));
    assert_eq!(c.sources.get("MCP_BLOCKED_COMMANDS"), Some(&Source::Policy));
    assert_eq!(
        c.sources.get("use_default_blocklist"),
        Some(&Source::Policy)
    );
    // A flag wins over the file and is recorded as a flag.
    let inv = parse_invocation(
        [
            "mcp-commander",
            "--policy",
            p.to_str().unwrap(),
            "--allowed-commands",
            "id",
        ],
        &[],
    )
    .expect("config");
    assert_eq!(inv.config.allowed_commands, vec!["id".to_string()]);
    assert_eq!(
        inv.config.sources.get("MCP_ALLOWED_COMMANDS"),
        Some(&Source::Flag)
    );
}
