//! A command may not signal the server that runs it, the zygote that starts commands, the
//! server's parent (the MCP client), or every process at once (`kill -1`), whatever way it
//! asks: `kill`, `tgkill`, `tkill`, `rt_sigqueueinfo`, a pidfd, a descriptor's owner (`F_SETOWN`). The seccomp layer refuses those with
//! EPERM. Run as uid 65534: the same uid as the server, so without the layer every one of
//! these signals would be delivered.
//!
//! Linux only: they read `/proc` and switch to uid 65534.
#![cfg(target_os = "linux")]

mod common;
mod exec_support;

use exec_support::{run, server, NobodyDir};
use serde_json::json;
use std::time::{Duration, Instant};

/// The server's `__reaper --zygote` child (started on the first command).
fn zygote_of(server: u32) -> u32 {
    find_zygote(server).expect("the zygote runs after a first command")
}

/// The server's `__reaper --zygote` child, if it has one.
fn find_zygote(server: u32) -> Option<u32> {
    // Children are listed per thread: the zygote is a child of whichever thread started it.
    let mut children = String::new();
    for task in std::fs::read_dir(format!("/proc/{server}/task")).expect("tasks") {
        let path = task.expect("task").path().join("children");
        children += &std::fs::read_to_string(path).unwrap_or_default();
        children.push(' ');
    }
    children
        .split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--zygote"))
        })
}

/// Runs a first command, which also starts the zygote (when the reaper layer is on).
fn warm_up(s: &mut common::StdioServer) {
    let (r, _) = run(s, "echo warm", "10s");
    assert_eq!(r["exit_code"], json!(0), "{r}");
}

/// A state letter of `/proc/<pid>/stat` (`T` = stopped).
fn state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')')
        .next()
        .and_then(|s| s.trim_start().chars().next())
        .unwrap_or('?')
}

/// Python probing each way to signal `targets` with signal 0 (nothing is delivered even
/// when allowed): prints `<how> <target> ok|<errno>` per attempt.
fn probe(targets: &[i64]) -> String {
    let list = targets
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "python3 -c 'import ctypes, fcntl, os, signal
libc = ctypes.CDLL(None, use_errno=True)
def sys(n, *a):
    if libc.syscall(n, *a) != 0:
        raise OSError(ctypes.get_errno(), \"\")
info = ctypes.create_string_buffer(128)
info[8] = 0xff; info[9] = 0xff; info[10] = 0xff; info[11] = 0xff
def t(how, p, f):
    try:
        f(); print(how, p, \"ok\")
    except OSError as e:
        print(how, p, e.errno)
for p in ({list},):
    t(\"kill\", p, lambda: os.kill(p, 0))
    if p > 0:
        t(\"tgkill\", p, lambda: sys(234, p, p, 0))
        t(\"tkill\", p, lambda: sys(200, p, 0))
        t(\"setown\", p, lambda: fcntl.fcntl(os.pipe()[0], fcntl.F_SETOWN, p))
        t(\"sigqueue\", p, lambda: sys(129, p, 0, info))
        t(\"pidfd\", p, lambda: signal.pidfd_send_signal(os.open(\"/proc/%d\" % p, os.O_RDONLY), 0))
'"
    )
}

/// Every way of `probe` fails with EPERM for each of `targets`.
fn assert_all_refused(s: &mut common::StdioServer, targets: &[i64]) {
    let (r, _) = run(s, &probe(targets), "20s");
    let out = r["stdout"].as_str().unwrap_or_default().to_string();
    for line in out.lines() {
        assert!(line.ends_with(" 1"), "not refused with EPERM: {line}\n{r}");
    }
    let kills = out.lines().filter(|l| l.starts_with("kill ")).count();
    assert_eq!(kills, targets.len(), "{r}");
    assert!(
        out.contains("pidfd") && out.contains("tkill") && out.contains("setown"),
        "{r}"
    );
}

#[test]
fn without_the_shim_commands_cannot_signal_the_server_either() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--sandbox-disable", "reaper"], &[]);
    let srv = s.child.id();
    // SAFETY: getpgid on a live pid.
    let group = unsafe { libc::getpgid(srv as i32) } as i64;
    assert_all_refused(&mut s, &[srv as i64, -1, -group]);
}

#[test]
fn commands_cannot_signal_the_server_its_zygote_its_client_or_everyone() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    warm_up(&mut s);
    let srv = s.child.id();
    let zyg = zygote_of(srv);
    // SAFETY: getpgid on a live pid.
    let group = unsafe { libc::getpgid(srv as i32) } as i64;
    // The parent of the server: this test process.
    let client = std::process::id() as i64;
    assert_all_refused(&mut s, &[srv as i64, zyg as i64, client, -1, -group]);

    // `kill` and `rt_sigqueueinfo` also take a thread id and then signal its whole process:
    // every thread of the server is out of reach too (Landlock's signal scope; seccomp
    // cannot know the thread ids).
    let tids: Vec<String> = std::fs::read_dir(format!("/proc/{srv}/task"))
        .expect("tasks")
        .filter_map(|t| t.ok()?.file_name().into_string().ok())
        .filter(|t| *t != srv.to_string())
        .collect();
    assert!(!tids.is_empty(), "the server has threads");
    let (r, _) = run(
        &mut s,
        &format!(
            "python3 -c 'import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
info = ctypes.create_string_buffer(128)
info[8] = 0xff; info[9] = 0xff; info[10] = 0xff; info[11] = 0xff
for t in ({},):
    try:
        os.kill(t, 0); print(\"kill\", t, \"ok\")
    except OSError as e:
        print(\"kill\", t, e.errno)
    r = libc.syscall(129, t, 0, info)
    print(\"sigqueue\", t, \"ok\" if r == 0 else ctypes.get_errno())
'",
            tids.join(", ")
        ),
        "20s",
    );
    let out = r["stdout"].as_str().unwrap_or_default();
    assert_eq!(out.lines().count(), 2 * tids.len(), "{r}");
    for line in out.lines() {
        assert!(
            line.ends_with(" 1"),
            "a server thread was reachable: {line}\n{r}"
        );
    }

    // The shell's own `kill -STOP` fails, and the server keeps running and serving.
    let (r, _) = run(&mut s, &format!("kill -STOP {srv} {zyg}"), "10s");
    let stopped = state(srv) == 'T' || state(zyg) == 'T';
    if stopped {
        // SAFETY: let them go on so the test can end.
        unsafe {
            libc::kill(srv as i32, libc::SIGCONT);
            libc::kill(zyg as i32, libc::SIGCONT);
        }
    }
    assert!(!stopped, "a command stopped the server or its zygote: {r}");
    assert_ne!(r["exit_code"], json!(0), "{r}");
    let err = r["stderr"].as_str().unwrap_or_default();
    assert!(err.contains("not permitted"), "{r}");
    let (r, _) = run(&mut s, "echo still here", "10s");
    assert_eq!(r["stdout"], json!("still here\n"), "{r}");
}

/// The server as the child of a `sh` that runs as `nobody` and waits for it, so that the
/// server's parent (its MCP client) has the server's uid too and only the sandbox keeps a
/// command's signals from it. Returns the server (whose `child` is the `sh`) and the pid of
/// the real server process.
fn server_with_a_nobody_parent(cwd: &std::path::Path, args: &[&str]) -> (common::StdioServer, u32) {
    let mut c = exec_support::nobody_running(std::path::Path::new("/bin/sh"), cwd);
    // Not the last command, so the shell stays as the parent instead of exec'ing it.
    c.arg("-c")
        .arg("\"$0\" \"$@\"; exit $?")
        .arg(exec_support::nobody_bin());
    let mut s = common::StdioServer::start_with(c, args);
    s.handshake("2025-06-18");
    let sh = s.child.id();
    let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children"))
        .expect("the shell's children");
    let srv = children
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .next()
        .expect("the server runs under the shell once it answered");
    (s, srv)
}

/// Landlock's signal scope (Linux 6.12+) alone already refuses all of the above; on a
/// kernel without it only the seccomp guard does. Here it is alone (`--sandbox-disable
/// landlock`): through the zygote, whose filter protects the pids the server passed it
/// (`--protect=`) and itself, and through the direct spawn. The server's parent runs as
/// `nobody` as well, so the kernel's uid check does not refuse signals to it either.
#[test]
fn with_seccomp_alone_commands_cannot_signal_the_server_its_zygote_or_its_client() {
    let dir = NobodyDir::new();
    for args in [
        &["--sandbox-disable", "landlock"][..],
        &["--sandbox-disable", "landlock,reaper"],
    ] {
        let (mut s, srv) = server_with_a_nobody_parent(dir.path(), args);
        let client = s.child.id() as i64;
        warm_up(&mut s);
        // SAFETY: getpgid on a live pid.
        let group = unsafe { libc::getpgid(srv as i32) } as i64;
        let mut targets = vec![srv as i64, client, -1, -group];
        match find_zygote(srv) {
            Some(zyg) => targets.push(zyg as i64),
            None => assert!(args[1].contains("reaper"), "no zygote: {args:?}"),
        }
        assert_all_refused(&mut s, &targets);
        // The control: without Landlock's scope a server thread id is reachable (seccomp
        // cannot know them), so the refusals above are the filter's.
        let tid = std::fs::read_dir(format!("/proc/{srv}/task"))
            .expect("tasks")
            .filter_map(|t| t.ok()?.file_name().into_string().ok())
            .find(|t| *t != srv.to_string())
            .expect("the server has threads");
        let (r, _) = run(&mut s, &format!("kill -0 {tid} && echo reachable"), "10s");
        assert_eq!(r["stdout"], json!("reachable\n"), "{args:?}: {r}");
        // SAFETY: ending the server this test started (its zygote follows on EOF); the
        // shell is killed when `s` drops.
        unsafe { libc::kill(srv as i32, libc::SIGKILL) };
    }
}

#[test]
fn commands_still_signal_their_own_processes() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    // kill of a child, of its own process group (signal 0), tgkill of itself: all still
    // work. (pidfd_send_signal is refused for every target: a pidfd can come from opening
    // any /proc/<pid>, so the filter cannot tell whose it is; programs fall back to kill.)
    let (r, _) = run(
        &mut s,
        "sleep 100 & p=$!; kill -0 $p && kill $p; wait $p; echo status $?; kill -0 -$$ && echo group; \
         python3 -c 'import signal, threading; signal.pthread_kill(threading.get_ident(), 0); print(\"tgkill\")'",
        "20s",
    );
    assert_eq!(r["stdout"], json!("status 143\ngroup\ntgkill\n"), "{r}");
}

/// A command leads a process group of its own (pgid = its pid) and cannot `setpgid` itself
/// into the server's process group (or the zygote's): from there its `kill(0, …)`, which
/// the filter must allow (the command's own group), would reach the server on kernels
/// without Landlock's signal scope. It stays in the server's session (a session per
/// command would cost a scheduler autogroup each), so the seccomp filter refuses the
/// join with EPERM.
fn assert_own_group(s: &mut common::StdioServer, groups: &[i32]) {
    let list = groups
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    // Fields 1 and 5 of the shell's own stat: pid, pgrp (its name, "sh" or the like, has
    // no space). Then a child of the shell tries to join each group.
    let cmd = format!(
        "cut -d' ' -f1,5 /proc/$$/stat; python3 -c 'import os
for g in ({list},):
    try:
        os.setpgid(0, g); print(\"joined\", g)
    except OSError as e:
        print(\"setpgid\", g, e.errno)
'"
    );
    let (r, _) = run(s, &cmd, "20s");
    assert_eq!(r["exit_code"], json!(0), "{r}");
    let out = r["stdout"].as_str().unwrap_or_default();
    let mut lines = out.lines();
    let ids: Vec<i32> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    assert_eq!(ids.len(), 2, "{r}");
    assert_eq!(ids[1], ids[0], "the command leads its process group: {r}");
    let tries: Vec<&str> = lines.collect();
    assert_eq!(tries.len(), groups.len(), "{r}");
    assert!(groups.iter().all(|&g| g > 0), "{groups:?}");
    for (line, g) in tries.iter().zip(groups) {
        assert_eq!(
            *line,
            format!("setpgid {g} 1"),
            "not refused with EPERM: {r}"
        );
    }
}

#[test]
fn commands_lead_their_own_group_and_cannot_join_the_servers() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    warm_up(&mut s);
    let srv = s.child.id() as i32;
    let zyg = zygote_of(srv as u32) as i32;
    // SAFETY: getpgid on live pids.
    let groups = unsafe { [libc::getpgid(srv), libc::getpgid(zyg)] };
    assert_own_group(&mut s, &groups);
}

#[test]
fn without_the_shim_commands_cannot_join_the_servers_group_either() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--sandbox-disable", "reaper"], &[]);
    let srv = s.child.id() as i32;
    // SAFETY: getpgid on a live pid.
    let group = unsafe { libc::getpgid(srv) };
    assert_own_group(&mut s, &[group]);
}

/// Idle shims (siblings of a command's shim, which seccomp alone cannot protect) take
/// requests whole off the server's sequenced-packet socket, so a stopped one takes none
/// and leaves nothing half-read. A command that stops every idle shim it can see (Landlock
/// off, as on kernels before 6.12) and retires its own delays the next call by at most
/// ~2 s — the zygote, finding a request that no shim took for a second, kills the stopped
/// shims and forks a fresh one — and that call still runs; later calls run normally.
#[test]
fn stopped_idle_shims_cost_one_call_not_the_server() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--sandbox-disable", "landlock"], &[]);
    warm_up(&mut s);
    // Four at once: the zygote's pool grows to four shims or more, idle after.
    exec_support::concurrent_sleeps(&mut s, 4);
    let stop = "sleep 0.2; Z=$(cut -d' ' -f4 /proc/$PPID/stat); \
                for p in $(cat /proc/$Z/task/*/children); do \
                [ $p != $PPID ] && kill -STOP $p && echo stopped $p; done; \
                python3 -c 'import os, sys; os.setpriority(os.PRIO_PROCESS, int(sys.argv[1]), 5)' \
                $PPID";
    let (r, _) = run(&mut s, stop, "10s");
    let stopped: Vec<u32> = r["stdout"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("stopped ")?.parse().ok())
        .collect();
    // (Without Landlock a shim runs one command: the idle ones are the fresh spares.)
    assert!(!stopped.is_empty(), "no idle shim to stop: {r}");
    let call = |s: &mut common::StdioServer, cmd: &str| {
        let id = s.send(
            "tools/call",
            json!({"name": "execute_command", "arguments": {"command": cmd, "timeout": "5s"}}),
        );
        let t = Instant::now();
        let r = s.response_within(id, Duration::from_secs(15));
        (r.map(|r| common::result_json(&r["result"])), t.elapsed())
    };
    // The attack's own shim retires (it was reniced): only stopped shims are left idle,
    // and the next request waits until the zygote sees it stuck.
    let (r, took) = call(&mut s, "echo next");
    let r = r.expect("the call after the attack was never answered");
    assert_eq!(r["stdout"], json!("next\n"), "{r}");
    assert!(took < Duration::from_millis(3500), "took {took:?}: {r}");
    let (r, took) = call(&mut s, "echo again");
    let r = r.expect("a later call was never answered");
    assert_eq!(r["stdout"], json!("again\n"), "{r}");
    assert!(took < Duration::from_secs(1), "took {took:?}: {r}");
    // The stopped shims were killed, not left to pile up.
    for pid in stopped {
        let until = Instant::now() + Duration::from_secs(2);
        while state(pid) == 'T' && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_ne!(state(pid), 'T', "shim {pid} is still stopped");
    }
}

/// A shim ends its command on a stop signal from its parent (the zygote) only: without
/// Landlock's signal scope a command can TERM its siblings' shims, and that must not end
/// (or, queued while a shim is idle, later end) another call's command.
#[test]
fn a_siblings_term_does_not_end_another_calls_command() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--sandbox-disable", "landlock"], &[]);
    warm_up(&mut s);
    let long = s.send(
        "tools/call",
        json!({"name": "execute_command",
               "arguments": {"command": "sleep 0.6; echo done", "timeout": "5s"}}),
    );
    std::thread::sleep(Duration::from_millis(100));
    let (r, _) = run(
        &mut s,
        "Z=$(cut -d' ' -f4 /proc/$PPID/stat); \
         for p in $(cat /proc/$Z/task/*/children); do \
         [ $p != $PPID ] && kill -TERM $p && echo termed $p; done; true",
        "10s",
    );
    assert!(
        r["stdout"].as_str().unwrap_or_default().contains("termed"),
        "no sibling to signal: {r}"
    );
    let r = s
        .response_within(long, Duration::from_secs(10))
        .expect("the long call was never answered");
    let r = common::result_json(&r["result"]);
    assert_eq!(r["stdout"], json!("done\n"), "{r}");
    for i in 0..4 {
        let (r, _) = run(&mut s, &format!("echo after {i}"), "10s");
        assert_eq!(r["stdout"], json!(format!("after {i}\n")), "{r}");
    }
}

/// A command cannot lower the zygote's or the server's resource limits or priority (a
/// zygote without descriptors fails every later call; every later command inherits the
/// zygote's limits), with every layer on: seccomp refuses `prlimit`, `setpriority`,
/// `sched_setaffinity` and `ioprio_set` aimed at them; its own child's priority it still
/// may change, no other process's limits.
#[test]
#[cfg(target_arch = "x86_64")] // ioprio_set is called by number (251)
fn a_command_cannot_change_the_zygotes_or_the_servers_limits() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    warm_up(&mut s);
    let probe = "Z=$(cut -d' ' -f4 /proc/$PPID/stat); S=$(cut -d' ' -f4 /proc/$Z/stat); \
                 sleep 5 & C=$!; \
                 python3 -c 'import ctypes, os, resource, sys\n\
                 libc = ctypes.CDLL(None, use_errno=True)\n\
                 for name, pid in zip((\"zygote\", \"server\", \"child\"), map(int, sys.argv[1:])):\n\
                 \x20   for what, f in ((\"prlimit\", lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (64, 64))),\n\
                 \x20                   (\"nice\", lambda: os.setpriority(os.PRIO_PROCESS, pid, 5)),\n\
                 \x20                   (\"affinity\", lambda: os.sched_setaffinity(pid, os.sched_getaffinity(pid))),\n\
                 \x20                   (\"ionice\", lambda: libc.syscall(251, 1, pid, 3 << 13) == 0 or (_ for _ in ()).throw(OSError(ctypes.get_errno(), \"\")))):\n\
                 \x20       try:\n\
                 \x20           f(); print(name, what, \"ok\")\n\
                 \x20       except OSError as e:\n\
                 \x20           print(name, what, e.errno)' $Z $S $C; kill $C";
    let (r, _) = run(&mut s, probe, "10s");
    let out = r["stdout"].as_str().unwrap_or_default();
    for target in ["zygote", "server"] {
        for what in ["prlimit", "nice", "affinity", "ionice"] {
            assert!(
                out.contains(&format!("{target} {what} 1\n")),
                "{target} {what}: {r}"
            );
        }
    }
    for what in ["nice", "affinity", "ionice"] {
        assert!(
            out.contains(&format!("child {what} ok\n")),
            "child {what}: {r}"
        );
    }
    // Setting another process's limits, even its own child's, is refused (its own it sets
    // with `setrlimit`, pid 0): the shims are not all known in advance.
    assert!(out.contains("child prlimit 1\n"), "child prlimit: {r}");
}

/// `rt_sigqueueinfo` lets a sender claim any pid in the signal's information (with a code
/// of its own): a command that queues TERM to its sibling shims "from the zygote"
/// (Landlock off, so nothing keeps its signals in) does not end their next commands — a
/// shim heeds only `kill`/`tgkill` from its parent.
#[test]
#[cfg(target_arch = "x86_64")] // rt_sigqueueinfo is called by number (129)
fn a_forged_stop_signal_does_not_end_a_later_command() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--sandbox-disable", "landlock"], &[]);
    warm_up(&mut s);
    exec_support::concurrent_sleeps(&mut s, 3);
    let forge = "Z=$(cut -d' ' -f4 /proc/$PPID/stat); \
                 python3 -c 'import ctypes, signal, struct, sys\n\
                 libc = ctypes.CDLL(None, use_errno=True)\n\
                 me, z = int(sys.argv[1]), int(sys.argv[2])\n\
                 for p in open(\"/proc/%d/task/%d/children\" % (z, z)).read().split():\n\
                 \x20   if int(p) == me: continue\n\
                 \x20   info = bytearray(128)\n\
                 \x20   struct.pack_into(\"iii\", info, 0, signal.SIGTERM, 0, -1)\n\
                 \x20   struct.pack_into(\"ii\", info, 16, z, 0)\n\
                 \x20   buf = (ctypes.c_char * 128).from_buffer(info)\n\
                 \x20   print(\"forged\", p, libc.syscall(129, int(p), signal.SIGTERM, buf))' \
                 $PPID $Z";
    let (r, _) = run(&mut s, forge, "10s");
    let out = r["stdout"].as_str().unwrap_or_default();
    assert!(out.contains(" 0\n"), "no signal was queued: {r}");
    for i in 0..4 {
        let (r, _) = run(&mut s, &format!("sleep 0.05; echo victim {i}"), "10s");
        assert_eq!(r["stdout"], json!(format!("victim {i}\n")), "{r}");
    }
}

/// Without seccomp a command can lower an idle sibling shim's `RLIMIT_NOFILE` so far that
/// the descriptors of the next request cannot be passed to it: such a shim retires on the
/// first request it cannot take (that one call fails) instead of swallowing every request
/// the kernel gives it; the calls after run.
#[test]
fn a_shim_that_cannot_take_requests_retires() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--sandbox-disable", "seccomp"], &[]);
    warm_up(&mut s);
    exec_support::concurrent_sleeps(&mut s, 3);
    let changed = exec_support::limit_sibling_shims(&mut s, "RLIMIT_NOFILE", 1);
    assert!(changed >= 2, "fewer than two shims changed");
    let mut ok = 0;
    for i in 0..(changed + 4) {
        let (r, _) = run(&mut s, &format!("echo call {i}"), "10s");
        if r["stdout"] == json!(format!("call {i}\n")) {
            ok += 1;
        }
    }
    assert!(ok >= 4, "only {ok} calls ran");
    let (r, _) = run(&mut s, "echo last", "10s");
    assert_eq!(r["stdout"], json!("last\n"), "{r}");
}
