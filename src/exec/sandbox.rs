//! Isolation layers applied to every command, and the [`ProcessTree`] that ends them.
//!
//! Always on: a process group of its own, a clean environment (see [`super::env`]), and
//! resource limits set in the child before `exec`. [`SandboxReport`] records what is
//! really active, for `get_shell_info` and `/health`.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio::process::Command;

/// Which isolation layers are active, as found at start.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct SandboxReport {
    /// How the command's process tree is contained: `process_group`.
    pub process_tree: String,
    /// Resource limits applied in the child.
    pub rlimits: String,
    /// Environment handling: `clean`.
    pub environment: String,
    /// Whether the server's own memory and environment can be read by same-user processes.
    pub dumpable: bool,
}

/// The sandbox configuration shared by all commands.
#[derive(Debug, Clone)]
pub struct Sandbox {
    report: SandboxReport,
}

impl Sandbox {
    /// Probes the layers available here and prepares them.
    pub fn probe() -> Sandbox {
        Sandbox {
            report: SandboxReport {
                process_tree: "process_group".into(),
                rlimits: "core=0".into(),
                environment: "clean".into(),
                dumpable: true,
            },
        }
    }

    /// The probed status.
    pub fn report(&self) -> &SandboxReport {
        &self.report
    }

    /// A command that runs `line` under `shell shell_arg`, with the layers set up.
    pub fn command(&self, shell: &str, shell_arg: &str, line: &str, _workdir: &Path) -> Command {
        let mut cmd = Command::new(shell);
        if !shell_arg.is_empty() {
            cmd.arg(shell_arg);
        }
        cmd.arg(line);
        #[cfg(unix)]
        {
            cmd.process_group(0);
            // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    let zero = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    libc::setrlimit(libc::RLIMIT_CORE, &zero);
                    Ok(())
                });
            }
        }
        cmd
    }
}

/// The processes one command started: its process group.
#[derive(Debug)]
pub struct ProcessTree {
    pgid: Option<i32>,
}

impl ProcessTree {
    /// The tree rooted at the spawned shell (`pid` is its process group id too).
    pub fn new(pid: Option<u32>) -> Self {
        ProcessTree {
            pgid: pid.map(|p| p as i32),
        }
    }

    /// Sends TERM to the whole group, waits up to `grace` for it to go, then KILL.
    pub async fn terminate(&self, grace: Duration) {
        #[cfg(unix)]
        if let Some(pgid) = self.pgid {
            if !group_alive(pgid) {
                return;
            }
            signal_group(pgid, libc::SIGTERM);
            signal_group(pgid, libc::SIGCONT);
            let until = tokio::time::Instant::now() + grace;
            while tokio::time::Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if !group_alive(pgid) {
                    return;
                }
            }
            signal_group(pgid, libc::SIGKILL);
        }
        #[cfg(not(unix))]
        let _ = grace;
    }
}

#[cfg(unix)]
fn signal_group(pgid: i32, sig: i32) {
    // SAFETY: plain syscall on a process group we created.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// True while any process of the group exists (zombies included).
#[cfg(unix)]
fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}
