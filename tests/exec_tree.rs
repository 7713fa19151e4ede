//! The executor's containment guarantees (CONTRACT §6), end to end over stdio with the real
//! binary running as an unprivileged user: nothing a command starts outlives its call —
//! on timeout, after a normal exit, with `setsid` escapees holding the output pipe, on
//! `notifications/cancelled` — and a command's life does not hang on the thread that
//! spawned it.
//!
//! Linux only: they read `/proc` and switch to uid 65534.
#![cfg(target_os = "linux")]

mod common;
mod exec_support;

use std::time::{Duration, Instant};

use exec_support::{assert_gone, marked_sleep, run, server, NobodyDir};
use serde_json::json;

#[test]
fn timeout_ends_the_whole_tree_including_setsid_escapees() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (m, sleep) = marked_sleep(dir.path(), "tree");
    let cmd = format!("{sleep} 1000 & {sleep} 1000 & setsid {sleep} 1000 & wait");
    let (r, took) = run(&mut s, &cmd, "300ms");
    assert_eq!(r["timed_out"], json!(true), "{r}");
    assert_eq!(r["exit_code"], json!(-1), "{r}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_gone(&m);
}

#[test]
fn normal_exit_leaves_no_background_job() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (m, sleep) = marked_sleep(dir.path(), "bg");
    let cmd = format!("{sleep} 1000 >/dev/null 2>&1 & exit 0");
    let (r, took) = run(&mut s, &cmd, "10s");
    assert_eq!(r["exit_code"], json!(0), "{r}");
    assert_eq!(r["timed_out"], json!(false), "{r}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_gone(&m);
}

#[test]
fn escapee_holding_the_pipe_does_not_hold_the_call() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (m, sleep) = marked_sleep(dir.path(), "esc");
    let cmd = format!("setsid {sleep} 1000 & echo hi");
    let (r, took) = run(&mut s, &cmd, "30s");
    assert!(took < Duration::from_secs(1), "took {took:?}: {r}");
    assert_eq!(r["stdout"], json!("hi\n"), "{r}");
    assert_eq!(r["exit_code"], json!(0), "{r}");
    assert_gone(&m);
}

/// A process outside the command's tree can hold its output pipe (the command handed it
/// over a Unix socket): the call still ends when the command does, not at its timeout.
#[test]
fn a_pipe_held_outside_the_tree_does_not_hold_the_call() {
    let dir = NobodyDir::new();
    let sock = dir.path().join("holder.sock");
    // The holder: a process of the test (not of the server), which keeps every descriptor
    // it is sent for 20 s.
    let mut holder = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import os, socket, sys, time\n\
             s = socket.socket(socket.AF_UNIX)\n\
             s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(1)\n\
             print('ready', flush=True)\n\
             c, _ = s.accept()\n\
             msg, fds, _, _ = socket.recv_fds(c, 1, 4)\n\
             print('got', len(fds), flush=True)\n\
             time.sleep(20)",
        )
        .arg(&sock)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        holder.stdout.take().expect("stdout"),
    ));
    assert_eq!(lines.next().and_then(|l| l.ok()).as_deref(), Some("ready"));
    let mut s = server(dir.path(), &[], &[]);
    let cmd = format!(
        "python3 -c 'import socket, sys\n\
         s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n\
         socket.send_fds(s, [b\"x\"], [1, 2])' {} && echo handed",
        sock.display()
    );
    let (r, took) = run(&mut s, &cmd, "30s");
    let _ = holder.kill();
    let got = lines.next().and_then(|l| l.ok());
    let _ = holder.wait();
    assert_eq!(got.as_deref(), Some("got 2"), "{r}");
    assert_eq!(r["exit_code"], json!(0), "{r}");
    assert_eq!(r["stdout"], json!("handed\n"), "{r}");
    assert!(took < Duration::from_secs(3), "took {took:?}: {r}");
}

#[test]
fn cancellation_ends_a_running_command_within_a_second() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (m, sleep) = marked_sleep(dir.path(), "cancel");
    let id = s.send(
        "tools/call",
        json!({"name": "execute_command", "arguments": {"command": format!("{sleep} 1000"), "timeout": "60s"}}),
    );
    let until = Instant::now() + Duration::from_secs(5);
    while common::pids_with(&m).is_empty() {
        assert!(Instant::now() < until, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = Instant::now();
    s.send_raw(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id, "reason": "test"}})
            .to_string(),
    );
    let left = common::wait_gone(&m, Duration::from_secs(1));
    assert!(left.is_empty(), "still running 1 s after cancel: {left:?}");
    assert!(t.elapsed() < Duration::from_secs(1));
    // The server is still fine afterwards.
    let (r, _) = run(&mut s, "echo after", "5s");
    assert_eq!(r["stdout"], json!("after\n"), "{r}");
}

/// In-process: a command spawned from a thread that then exits keeps running (a
/// parent-death signal set from the multi-threaded server would kill it with the thread).
#[test]
fn command_outlives_the_short_lived_thread_that_spawned_it() {
    use mcp_commander::exec::sandbox::{Sandbox, SandboxSettings};
    use mcp_commander::exec::ExecRequest;

    let sandbox = Sandbox::new(SandboxSettings {
        reaper_exe: Some(common::bin()),
        ..SandboxSettings::default()
    })
    .expect("sandbox");
    assert_eq!(
        sandbox.report().process_tree,
        "reaper",
        "{:?}",
        sandbox.report()
    );
    let exec = exec_support::executor(sandbox);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let handle = rt.handle().clone();
    let env = [("PATH".to_string(), "/usr/bin:/bin".to_string())]
        .into_iter()
        .collect();
    let req = ExecRequest {
        command: "sleep 0.5; echo alive".into(),
        workdir: std::env::temp_dir(),
        workdir_id: None,
        timeout: Duration::from_secs(10),
        env,
    };
    let exec2 = exec.clone();
    let running = std::thread::spawn(move || {
        let _g = handle.enter();
        exec2.spawn(req).map_err(|o| format!("{o:?}"))
    })
    .join()
    .expect("thread")
    .expect("spawn");
    let out = rt.block_on(running.wait(tokio_util::sync::CancellationToken::new()));
    assert_eq!(out.stdout.text, "alive\n", "{out:?}");
    assert_eq!(out.exit_code, 0, "{out:?}");
}

fn start_marked(s: &mut common::StdioServer, sleep: &str, m: &str) {
    s.send(
        "tools/call",
        json!({"name": "execute_command", "arguments": {"command": format!("{sleep} 1000 & setsid {sleep} 1000 & wait"), "timeout": "60s"}}),
    );
    let until = Instant::now() + Duration::from_secs(5);
    while common::pids_with(m).len() < 2 {
        assert!(Instant::now() < until, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn server_shutdown_on_sigterm_ends_running_commands() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (m, sleep) = marked_sleep(dir.path(), "sigterm");
    start_marked(&mut s, &sleep, &m);
    // SAFETY: signalling the server this test started.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    assert_gone(&m);
}

/// On stdin EOF rmcp lets in-flight calls finish for up to 5 s, then cancels them; the
/// trees end then at the latest (`close` waits up to 10 s for the server to exit).
#[test]
fn server_exit_on_stdin_close_ends_running_commands() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (m, sleep) = marked_sleep(dir.path(), "eof");
    start_marked(&mut s, &sleep, &m);
    let _ = s.close();
    assert_gone(&m);
}

#[test]
fn server_killed_outright_still_ends_running_commands() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (m, sleep) = marked_sleep(dir.path(), "kill9");
    start_marked(&mut s, &sleep, &m);
    // The shim sees its control pipe close when the server dies, even by SIGKILL.
    let _ = s.child.kill();
    assert_gone(&m);
}

/// In-process: `Executor::shutdown` (what the server calls when its shutdown grace is over)
/// ends running commands with their trees and refuses new ones.
#[test]
fn executor_shutdown_ends_running_commands() {
    use mcp_commander::exec::sandbox::{Sandbox, SandboxSettings};
    use mcp_commander::exec::ExecRequest;

    let dir = NobodyDir::new();
    let (m, sleep) = marked_sleep(dir.path(), "shutdown");
    let exec = exec_support::executor(
        Sandbox::new(SandboxSettings {
            reaper_exe: Some(common::bin()),
            ..SandboxSettings::default()
        })
        .expect("sandbox"),
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let req = ExecRequest {
        command: format!("setsid {sleep} 1000 & {sleep} 1000"),
        workdir: std::env::temp_dir(),
        workdir_id: None,
        timeout: Duration::from_secs(60),
        env: [("PATH".to_string(), "/usr/bin:/bin".to_string())]
            .into_iter()
            .collect(),
    };
    let out = rt.block_on(async {
        let e = exec.clone();
        let task =
            tokio::spawn(
                async move { e.run(req, tokio_util::sync::CancellationToken::new()).await },
            );
        let until = Instant::now() + Duration::from_secs(5);
        while common::pids_with(&m).len() < 2 {
            assert!(Instant::now() < until, "the command never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        exec.shutdown();
        task.await.expect("join")
    });
    assert_eq!(out.exit_code, -1, "{out:?}");
    assert!(out.error.unwrap_or_default().contains("shutting down"));
    assert_gone(&m);
}

/// With every optional layer off (what macOS and a broken shim get), the always-on layers
/// still contain the tree: group kill, plus the server as subreaper of escapees.
#[test]
fn always_on_layers_alone_still_end_escapees() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--sandbox-disable", "all"], &[]);
    let sb = common::result_json(&s.call("get_shell_info", json!({})))["sandbox"].clone();
    assert_eq!(sb["process_tree"], json!("process_group"), "{sb}");

    let (m, sleep) = marked_sleep(dir.path(), "nogroup");
    let (r, took) = run(
        &mut s,
        &format!("setsid {sleep} 1000 & {sleep} 1000 >/dev/null & echo hi"),
        "30s",
    );
    assert!(took < Duration::from_secs(1), "took {took:?}: {r}");
    assert_eq!(r["stdout"], json!("hi\n"), "{r}");
    assert_gone(&m);

    let (m, sleep) = marked_sleep(dir.path(), "nogroup-timeout");
    let (r, took) = run(
        &mut s,
        &format!("{sleep} 1000 & setsid {sleep} 1000 & wait"),
        "300ms",
    );
    assert_eq!(r["timed_out"], json!(true), "{r}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_gone(&m);
}

/// Many calls at once: each gets its own output and status (the zygote hands every shim
/// its own pipes and control socket).
#[test]
fn concurrent_commands_each_get_their_own_output() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--max-concurrency", "8"], &[]);
    let ids: Vec<(i64, usize)> = (0..16)
        .map(|i| {
            let id = s.send(
                "tools/call",
                json!({"name": "execute_command", "arguments": {"command": format!("sleep 0.1; echo out{i}; echo err{i} >&2; exit {}", i % 3), "timeout": "20s"}}),
            );
            (id, i)
        })
        .collect();
    for (id, i) in ids {
        let r = s.response(id);
        let r = common::result_json(&r["result"]);
        assert_eq!(r["stdout"], json!(format!("out{i}\n")), "{r}");
        assert_eq!(r["stderr"], json!(format!("err{i}\n")), "{r}");
        assert_eq!(r["exit_code"], json!(i % 3), "{r}");
    }
}

/// A command killed by a signal is reported with that signal (the shim passes the wait
/// status through), and a missing program is an ordinary exit 127.
#[test]
fn statuses_pass_through_the_shim() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (r, _) = run(&mut s, "kill -TERM $$", "5s");
    assert_eq!(r["exit_code"], json!(-1), "{r}");
    assert_eq!(r["signal"], json!(15), "{r}");
    let (r, _) = run(&mut s, "no-such-program-xyz", "5s");
    assert_eq!(r["exit_code"], json!(127), "{r}");
}
