//! Helpers for the executor tests: the real binary run as an unprivileged user.
//!
//! CI runs as root, which is exempt from `RLIMIT_NPROC` and may read any
//! `/proc/*/environ`, so the sandbox tests start the server as uid/gid 65534 (`nobody`).
//! The binary is copied into a 0755 directory so that user can run it whatever the
//! permissions of the build tree.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{self, StdioServer};

/// The unprivileged user the tests run the server as.
pub const NOBODY: u32 = 65534;

/// True when the tests can switch to uid 65534 (they run as root). Otherwise they run as
/// the current user, which is unprivileged already.
pub fn is_root() -> bool {
    // SAFETY: geteuid never fails.
    unsafe { libc::geteuid() == 0 }
}

/// A 0755 copy of the binary that `nobody` can execute.
pub fn nobody_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // Copies left by earlier runs whose test process is gone.
        if let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("mcpc-exec-bin-") {
                    if !Path::new("/proc").join(pid).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let dir = std::env::temp_dir().join(format!("mcpc-exec-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("bin dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let bin = dir.join("mcp-commander");
        std::fs::copy(common::bin(), &bin).expect("copy binary");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // A child that another test thread forked while the copy was open for writing holds
        // that descriptor until it execs, and exec'ing the copy meanwhile fails with
        // ETXTBSY. Once it has run, no writer is left: wait for that (bounded).
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let run = Command::new(&bin)
                .arg("--version")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            match run {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
        bin
    })
    .clone()
}

/// A directory owned by `nobody` (mode 0755), removed when dropped.
pub struct NobodyDir(pub tempfile::TempDir);

impl NobodyDir {
    pub fn new() -> NobodyDir {
        let d = tempfile::Builder::new()
            .prefix("mcpc-exec-")
            .tempdir()
            .expect("tempdir");
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        chown_nobody(d.path());
        NobodyDir(d)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// A subdirectory owned by `nobody`.
    pub fn sub(&self, name: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::create_dir_all(&p).expect("mkdir");
        chown_nobody(&p);
        p
    }
}

pub fn chown_nobody(p: &Path) {
    if is_root() {
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
}

/// A command for the binary as `nobody`, in `cwd`, with a clean environment.
pub fn nobody_command(cwd: &Path) -> Command {
    nobody_running(&nobody_bin(), cwd)
}

/// A command for `program` as `nobody`, in `cwd`, with a clean environment.
pub fn nobody_running(program: &Path, cwd: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/nonexistent-home-for-tests")
        .env("LANG", "C.UTF-8")
        .current_dir(cwd);
    if is_root() {
        c.uid(NOBODY).gid(NOBODY);
    }
    c
}

/// The stdio server running as `nobody`, initialized, in `cwd`.
pub fn server(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> StdioServer {
    let mut c = nobody_command(cwd);
    for (k, v) in env {
        c.env(k, v);
    }
    let mut s = StdioServer::start_with(c, args);
    s.handshake("2025-06-18");
    s
}

/// Calls `execute_command` and returns the parsed result JSON and the wall time.
pub fn exec(s: &mut StdioServer, args: Value) -> (Value, Duration) {
    let t = Instant::now();
    let r = s.call("execute_command", args);
    (common::result_json(&r), t.elapsed())
}

/// `execute_command` with just a command and a timeout.
pub fn run(s: &mut StdioServer, command: &str, timeout: &str) -> (Value, Duration) {
    exec(s, json!({"command": command, "timeout": timeout}))
}

/// Asserts no process carries `marker` within 2 s, naming the survivors otherwise.
pub fn assert_gone(marker: &str) {
    let left = common::wait_gone(marker, Duration::from_secs(2));
    if !left.is_empty() {
        let desc: Vec<String> = left
            .iter()
            .map(|p| {
                let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                format!("{p}: {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
            })
            .collect();
        for p in &left {
            // SAFETY: cleaning up the processes the test found.
            unsafe { libc::kill(*p as i32, libc::SIGKILL) };
        }
        panic!("processes outlived the call:\n{}", desc.join("\n"));
    }
}

/// Peak resident memory (VmHWM) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A `sleep` whose command line carries a unique marker: a symlink named after the marker,
/// in `dir`, to the real `sleep` (a marker passed as an argument would be lost when a shell
/// execs the last command). Returns (marker, path of the symlink).
pub fn marked_sleep(dir: &Path, tag: &str) -> (String, String) {
    let m = common::marker(tag);
    let link = dir.join(&m);
    let real = ["/usr/bin/sleep", "/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sleep binary");
    std::os::unix::fs::symlink(real, &link).expect("symlink");
    (m, link.display().to_string())
}

/// An in-process executor over `sandbox`: `/bin/sh -c`, 4 KiB of output, two at a time.
pub fn executor(sandbox: mcp_commander::exec::sandbox::Sandbox) -> mcp_commander::exec::Executor {
    mcp_commander::exec::Executor::new(
        mcp_commander::exec::ExecSettings {
            shell: "/bin/sh".into(),
            shell_arg: "-c".into(),
            max_output: 4096,
            max_concurrency: 2,
        },
        sandbox,
    )
}

/// Runs `n` calls of `sleep 0.2` at once and waits for all: the zygote's pool then has `n`
/// shims or more (idle after, where shims are reused).
pub fn concurrent_sleeps(s: &mut StdioServer, n: usize) {
    let ids: Vec<_> = (0..n)
        .map(|_| {
            s.send(
                "tools/call",
                json!({"name": "execute_command",
                       "arguments": {"command": "sleep 0.2", "timeout": "5s"}}),
            )
        })
        .collect();
    for id in ids {
        s.response_within(id, Duration::from_secs(10))
            .expect("a concurrent call was never answered");
    }
}

/// Runs a command that sets `resource` (a `resource.RLIMIT_*` name) to `value` on every
/// other child of its zygote (its idle sibling shims; allowed where seccomp is off) and
/// renices its own shim (so that it retires). Returns how many it changed.
pub fn limit_sibling_shims(s: &mut StdioServer, resource: &str, value: u64) -> usize {
    let (r, _) = run(
        s,
        &format!(
            "sleep 0.2; Z=$(cut -d' ' -f4 /proc/$PPID/stat); \
             python3 -c 'import os, resource, sys\n\
             me, z = int(sys.argv[1]), int(sys.argv[2])\n\
             for p in open(\"/proc/%d/task/%d/children\" % (z, z)).read().split():\n\
             \x20   if int(p) != me:\n\
             \x20       resource.prlimit(int(p), resource.{resource}, ({value}, {value}))\n\
             \x20       print(\"changed\", p)\n\
             os.setpriority(os.PRIO_PROCESS, me, 5)' $PPID $Z"
        ),
        "10s",
    );
    assert_eq!(r["exit_code"], json!(0), "{r}");
    r["stdout"]
        .as_str()
        .unwrap_or_default()
        .matches("changed")
        .count()
}
