//! The environment every command starts with (CONTRACT §6) keeps git from running programs
//! the line does not name: a bare repository committed inside a cloned work tree is not
//! used (its config holds an alias), `git commit` without `-m` fails at once instead of
//! starting an editor, and under an allow list without `ssh` git uses no ssh transport.
//!
//! Each test first shows, by running the same git directly with the server's plain
//! environment, that the fixture would run its program; then that through the server it
//! does not.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

/// git with a clean environment (no user or system config), in `dir`.
fn git_in(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/nonexistent-home-for-tests")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .current_dir(dir);
    c
}

fn git_ok(dir: &Path, args: &[&str]) -> Output {
    let out = git_in(dir).args(args).output().expect("run git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    out
}

/// A repository at `top/src` that tracks a bare repository `evil/` whose config has an
/// alias `st` touching `marker`, cloned to `top/work/r`. Returns `top/work`.
fn embedded_bare_repo(top: &Path, marker: &Path) -> PathBuf {
    let src = top.join("src");
    let evil = src.join("evil");
    for d in ["objects", "refs"] {
        std::fs::create_dir_all(evil.join(d)).expect("mkdir");
        std::fs::write(evil.join(d).join(".keep"), "").expect("write");
    }
    std::fs::write(evil.join("HEAD"), "ref: refs/heads/main\n").expect("write");
    std::fs::write(
        evil.join("config"),
        format!(
            "[core]\n\tbare = true\n[alias]\n\tst = !touch {}\n",
            marker.display()
        ),
    )
    .expect("write");
    git_ok(&src, &["init", "-q", "."]);
    git_ok(&src, &["add", "-A"]);
    git_ok(&src, &["commit", "-qm", "embedded bare repository"]);
    let work = top.join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git_ok(&work, &["clone", "-q", "../src", "r"]);
    work
}

fn server_in(dir: &Path, args: &[&str]) -> common::StdioServer {
    let mut c = common::command();
    c.current_dir(dir);
    let mut s = common::StdioServer::start_with(c, args);
    s.handshake("2025-06-18");
    s
}

fn run(s: &mut common::StdioServer, command: &str) -> Value {
    let r = s.call(
        "execute_command",
        json!({"command": command, "timeout": "20s"}),
    );
    common::result_json(&r)
}

#[test]
fn an_embedded_bare_repository_is_not_used() {
    let top = tempfile::tempdir().expect("tempdir");
    let marker = top.path().join("ALIAS-RAN");
    let work = embedded_bare_repo(top.path(), &marker);

    // Armed: plain git (git's default safe.bareRepository=all) runs the alias.
    let mut direct = git_in(&work.join("r/evil"));
    direct.arg("st").output().expect("run git");
    assert!(
        marker.exists(),
        "the fixture's alias did not run without the guard"
    );
    std::fs::remove_file(&marker).expect("rm marker");

    for args in [&[][..], &["--allowed-commands", "git"][..]] {
        let mut s = server_in(&work, args);
        for line in ["git -C r/evil st", "cd r/evil && git st"] {
            let r = run(&mut s, line);
            assert!(
                !marker.exists(),
                "{line} ran the embedded repository's alias: {r}"
            );
            // git looks the alias up without a repository, and finds no such command.
            assert_ne!(r["exit_code"], json!(0), "{r}");
        }
        let r = run(&mut s, "git -C r/evil log");
        let err = r["stderr"].as_str().unwrap_or_default();
        assert!(err.contains("safe.bareRepository"), "{args:?}: {r}");
        // The work tree itself is an ordinary repository and works as before.
        let r = run(&mut s, "git -C r status --short && git -C r log --oneline");
        assert_eq!(r["exit_code"], json!(0), "{r}");
        // Naming the bare repository explicitly is refused by the policy under an allow
        // list (`--git-dir` other than a .git), so the guard need not cover it.
        if !args.is_empty() {
            let r = s.call(
                "execute_command",
                json!({"command": "git --git-dir=r/evil st"}),
            );
            assert!(common::result_text(&r).contains("vector:git-hooks"), "{r}");
        }
    }
    assert!(!marker.exists());
}

#[test]
fn git_starts_no_editor() {
    let top = tempfile::tempdir().expect("tempdir");
    git_ok(top.path(), &["init", "-q", "-b", "main", "."]);
    std::fs::write(top.path().join("a"), "a\n").expect("write");
    git_ok(top.path(), &["add", "a"]);
    let mut s = server_in(top.path(), &["--allowed-commands", "git"]);
    let who = "git -c user.name=t -c user.email=t@example.com";
    // No message: git stops at once (an editor would have waited for the timeout).
    let r = run(&mut s, &format!("{who} commit"));
    assert_ne!(r["exit_code"], json!(0), "{r}");
    let err = r["stderr"].as_str().unwrap_or_default();
    assert!(err.contains("empty commit message"), "{r}");
    let head = || {
        git_in(top.path())
            .args(["log", "-1", "--format=%s %p"])
            .output()
            .expect("git")
    };
    assert!(!head().status.success(), "nothing was committed");

    // A merge whose conflict was resolved: --continue keeps git's own message.
    git_ok(top.path(), &["commit", "-q", "-m", "base"]);
    git_ok(top.path(), &["checkout", "-q", "-b", "side"]);
    std::fs::write(top.path().join("a"), "side\n").expect("write");
    git_ok(top.path(), &["commit", "-q", "-am", "side"]);
    git_ok(top.path(), &["checkout", "-q", "main"]);
    std::fs::write(top.path().join("a"), "main\n").expect("write");
    git_ok(top.path(), &["commit", "-q", "-am", "main"]);
    let conflict = git_in(top.path())
        .args(["merge", "-q", "side"])
        .output()
        .expect("git");
    assert!(!conflict.status.success(), "{conflict:?}");
    std::fs::write(top.path().join("a"), "both\n").expect("write");
    git_ok(top.path(), &["add", "a"]);
    let r = run(&mut s, &format!("{who} merge --continue"));
    assert_eq!(r["exit_code"], json!(0), "{r}");
    let log = String::from_utf8_lossy(&head().stdout).to_string();
    assert!(log.starts_with("Merge branch 'side'"), "{log}");
    assert_eq!(log.split_whitespace().count(), 5, "two parents: {log}");
}

#[test]
fn without_ssh_on_the_allow_list_git_uses_no_ssh() {
    let top = tempfile::tempdir().expect("tempdir");
    let line = "git ls-remote nonexistent.invalid:x; git ls-remote ssh://nonexistent.invalid/x; git ls-remote foo::x";
    let mut s = server_in(top.path(), &["--allowed-commands", "git"]);
    let r = run(&mut s, line);
    let err = r["stderr"].as_str().unwrap_or_default();
    assert_eq!(err.matches("transport 'ssh' not allowed").count(), 2, "{r}");
    assert!(err.contains("transport 'foo' not allowed"), "{r}");

    // With ssh allowed, git goes on to run ssh (which cannot resolve the host).
    let mut s = server_in(top.path(), &["--allowed-commands", "git,ssh"]);
    let r = run(&mut s, "git ls-remote nonexistent.invalid:x");
    let err = r["stderr"].as_str().unwrap_or_default();
    assert!(!err.contains("not allowed"), "{r}");
    assert_ne!(r["exit_code"], json!(0), "{r}");

    // ssh allowed to one host only does not cover git's ssh to whatever host a URL names.
    let mut narrow = server_in(
        top.path(),
        &["--allowed-commands", "git,ssh git@example.com"],
    );
    let r = run(&mut narrow, "git ls-remote nonexistent.invalid:x");
    let err = r["stderr"].as_str().unwrap_or_default();
    assert!(err.contains("transport 'ssh' not allowed"), "{r}");

    // Local clones still work under an allow list.
    git_ok(top.path(), &["init", "-q", "src"]);
    git_ok(
        &top.path().join("src"),
        &["commit", "-q", "--allow-empty", "-m", "x"],
    );
    let r = run(&mut s, "git clone -q src copy && git -C copy log --oneline");
    assert_eq!(r["exit_code"], json!(0), "{r}");
}

/// Under an allow list, a program copied into a `PATH` entry commands may write (one inside
/// the temp directory, and `.`) cannot run under an allowed name: those entries are taken
/// out of the commands' `PATH` and the server says so at start. Without an allow list the
/// same line does run the copy (the fixture works; nothing is shadowed there that the
/// policy would not allow anyway).
#[test]
fn an_allowed_name_cannot_be_shadowed_on_a_writable_path_entry() {
    let top = tempfile::tempdir().expect("tempdir");
    let bin = top.path().join("bin");
    let work = top.path().join("work");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::fs::create_dir_all(&work).expect("mkdir");
    let path = format!("{}:.:/usr/local/bin:/usr/bin:/bin", bin.display());
    let start = |args: &[&str]| {
        let mut c = common::command();
        c.current_dir(&work).env("PATH", &path);
        let mut s = common::StdioServer::start_with(c, args);
        s.handshake("2025-06-18");
        s
    };
    let marker = |name: &str| top.path().join(name);

    let mut open = start(&[]);
    let r = run(
        &mut open,
        &format!(
            "cp /usr/bin/touch {}/ls; ls {}",
            bin.display(),
            marker("open").display()
        ),
    );
    assert_eq!(r["exit_code"], 0, "{r}");
    assert!(
        marker("open").exists(),
        "without an allow list the copy runs (fixture): {r}"
    );
    let (_, log) = open.close();
    assert!(!log.contains("PATH_GUARD"), "{log}");
    std::fs::remove_file(bin.join("ls")).expect("rm");

    let mut listed = start(&["--allowed-commands", "ls,cat,cp"]);
    let r = run(
        &mut listed,
        &format!(
            "cp /usr/bin/touch {}/ls; ls {}",
            bin.display(),
            marker("ls").display()
        ),
    );
    assert!(!marker("ls").exists(), "touch ran as ls: {r}");
    assert!(
        r["stderr"].as_str().unwrap_or("").contains("cannot access"),
        "the real ls ran: {r}"
    );
    let r = run(
        &mut listed,
        &format!("cp /usr/bin/touch ./cat && cat {}", marker("cat").display()),
    );
    assert!(!marker("cat").exists(), "touch ran as cat from '.': {r}");
    assert!(work.join("cat").exists(), "the copy was made: {r}");
    let (_, log) = listed.close();
    let guard = log
        .lines()
        .find(|l| l.contains("PATH_GUARD"))
        .unwrap_or_else(|| panic!("no PATH_GUARD line: {log}"));
    assert!(
        guard.contains(&format!("{}:.", bin.display())),
        "names the dropped entries: {guard}"
    );
}
