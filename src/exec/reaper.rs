//! The per-command reaper shim: `mcp-commander __reaper <spec> <shell> <arg> <line>`.
//!
//! The server is multi-threaded, so between `fork` and `exec` it may only make raw
//! syscalls, and `PR_SET_PDEATHSIG` set there fires when the spawning *thread* exits. So
//! each command starts as this small single-threaded program instead, which:
//!
//! * becomes a child subreaper, so everything the command starts — `setsid` and
//!   double-fork escapees included — stays its descendant;
//! * forks the command into a new process group (and, with that layer, a
//!   cgroup of its own) with stdin `/dev/null`, the resource limits, Landlock and seccomp, and
//!   `PR_SET_PDEATHSIG` tied to the shim (a single thread that lives as long as the
//!   command);
//! * waits for the command, for a signal, or for its stdin — a pipe whose write end only
//!   the server holds — to close (the server's way to say "stop", and what happens when
//!   the server dies);
//! * then ends every descendant (TERM, a grace period, KILL — plus `cgroup.kill` — again
//!   until none is left), reaps them all, and exits the way the command did (same code, or
//!   the same signal).
//!
//! Exec'ing and relocating this (large) binary per command costs more than the command
//! often does, so the server normally starts one `__reaper --zygote` instead: a
//! single-threaded, already-initialised copy that keeps a pool of forked shims like the
//! above and hands each command it is sent ([`ZygoteRequest`], with the output pipes and a
//! control socket passed over its stdin socket) to an idle one. Such a shim reports its pid
//! and the command's wait status on the control socket rather than exiting like the
//! command (the status as soon as the tree is gone; the empty cgroup is removed after).
//! Shims are forked *before* their request and reused: an idle shim waits with the
//! Landlock ruleset and the cgroup of the previous command's settings ready (a fresh
//! ruleset per command; the cgroup is the last command's again when nothing of it is left
//! and it is as it was made, else a fresh one; the layers apply to the command's child,
//! never to the shim); the zygote reads the next request and hands it on over the shim's own
//! channel, the shim runs the command, waits until the server has let go of
//! the call, prepares for the next one and says it is free. The zygote forks a new shim
//! only when none is idle — so neither a fork nor a cgroup's creation is on a call's path,
//! and in a steady stream of calls nothing is forked but the commands (a fork per command,
//! and the exit that tore its copy of the zygote down again, cost more CPU than the rest of
//! the sandbox together). A shim runs no further command once anything a command can change
//! about it from outside (its limits, niceness, affinity, I/O priority) differs from when it
//! was forked, once a process of the last command is left, and after 1,000 commands.
//! Only the zygote reads the server's stream (a command can stop a shim where only
//! seccomp protects the zygote); a shim that has not read its request 2 s later is killed,
//! which ends that one call. The zygote installs the seccomp filter on itself once,
//! so its shims and commands inherit it instead of loading it per command; hence one
//! zygote per seccomp mode. The server names the processes that filter protects (itself and
//! its parent) on the zygote's command line ([`ZYGOTE_PROTECT`]). The exec'd form is the
//! fallback.
//!
//! `__reaper --probe <spec>` instead applies Landlock and seccomp in a child and prints
//! whether they really bite, as JSON: the start-up probe of [`super::sandbox::Sandbox`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sandbox::{ChildSpec, ProbeResult};

/// The subcommand name the server runs the shim under.
pub const SUBCOMMAND: &str = "__reaper";

/// `__reaper --zygote <mode>`: the seccomp filter the zygote installs on itself once, at
/// start, so every shim and command it forks inherits it (no filter is loaded per command).
/// Every command a zygote runs must want exactly that filter; the server keeps one zygote
/// per mode (no argument: no filter).
pub const ZYGOTE_SECCOMP_ALLOW_NET: &str = "--seccomp=allow-network";
/// As [`ZYGOTE_SECCOMP_ALLOW_NET`], with `--network deny`'s socket rule.
pub const ZYGOTE_SECCOMP_DENY_NET: &str = "--seccomp=deny-network";

/// The zygote argument for a command's seccomp setting (`Some(deny_network)` when on).
pub fn zygote_seccomp_arg(seccomp: Option<bool>) -> Option<&'static str> {
    seccomp.map(|deny| {
        if deny {
            ZYGOTE_SECCOMP_DENY_NET
        } else {
            ZYGOTE_SECCOMP_ALLOW_NET
        }
    })
}

/// `__reaper --zygote --protect=<pid>,<pid>`: the processes the zygote's filter keeps every
/// command's signals away from, besides the zygote itself — the server and its parent (the
/// MCP client). Required: the server knows both; the zygote need not guess them from
/// `/proc`.
pub const ZYGOTE_PROTECT: &str = "--protect=";

/// The zygote argument naming the processes to protect. Only real pids go in: a server that
/// is pid 1 of its namespace (a container without an init) has a parent pid of 0.
pub fn zygote_protect_arg(pids: &[i32]) -> String {
    let list: Vec<String> = pids
        .iter()
        .filter(|&&p| p > 0)
        .map(|p| p.to_string())
        .collect();
    format!("{ZYGOTE_PROTECT}{}", list.join(","))
}

/// What `__reaper --zygote` is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZygoteArgs {
    /// `Some(deny_network)` when the zygote installs the seccomp filter.
    pub seccomp: Option<bool>,
    /// The server's pids to protect (the zygote adds its own).
    pub protect: Vec<i32>,
}

/// Parses the arguments after `--zygote`: an optional seccomp mode and the required
/// `--protect=` list of positive pids (possibly empty), in any order, each at most once.
pub fn parse_zygote_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<ZygoteArgs, String> {
    let mut seccomp = None;
    let mut protect = None;
    for a in args {
        let Some(a) = a.to_str() else {
            return Err(format!("unknown argument {a:?}"));
        };
        let mode = match a {
            ZYGOTE_SECCOMP_ALLOW_NET => Some(false),
            ZYGOTE_SECCOMP_DENY_NET => Some(true),
            _ => None,
        };
        if let Some(deny) = mode {
            if seccomp.replace(deny).is_some() {
                return Err(format!("a second seccomp mode: {a}"));
            }
        } else if let Some(list) = a.strip_prefix(ZYGOTE_PROTECT) {
            let pids = list
                .split(',')
                .filter(|_| !list.is_empty())
                .map(|p| p.parse::<i32>().ok().filter(|&p| p > 0))
                .collect::<Option<Vec<i32>>>()
                .ok_or_else(|| format!("not a list of pids: {a}"))?;
            if protect.replace(pids).is_some() {
                return Err(format!("a second {ZYGOTE_PROTECT}"));
            }
        } else {
            return Err(format!("unknown argument {a:?}"));
        }
    }
    let protect = protect.ok_or_else(|| format!("missing {ZYGOTE_PROTECT}<pids>"))?;
    Ok(ZygoteArgs { seccomp, protect })
}

/// What the shim gets from the server for one command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShimSpec {
    pub child: ChildSpec,
    /// Milliseconds between TERM and KILL when ending the tree.
    pub grace_ms: u64,
}

/// One command for the zygote (`__reaper --zygote`): it forks a shim that runs it. Sent
/// as a little-endian `u32` length and this JSON, with the command's stdout and stderr
/// pipes and the shim's end of the control socket attached on the first byte.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZygoteRequest {
    pub spec: ShimSpec,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
}

/// What the start-up probe checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeSpec {
    pub landlock: bool,
    pub seccomp: bool,
    pub deny_network: bool,
    pub writable: Vec<PathBuf>,
}

/// Runs the shim once in probe mode. `Err` means the reaper cannot be used.
pub fn probe(exe: &Path, spec: &ProbeSpec) -> Result<ProbeResult, String> {
    // `/proc/self/exe` is a link: judge the file it names (a test harness is not the server).
    let named = std::fs::read_link(exe).unwrap_or_else(|_| exe.to_path_buf());
    let name = named
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if !name.starts_with("mcp-commander") {
        return Err(format!("{} is not the mcp-commander binary", exe.display()));
    }
    let json = serde_json::to_string(spec).map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .arg(SUBCOMMAND)
        .arg("--probe")
        .arg(json)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {SUBCOMMAND} --probe failed ({}): {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("unreadable probe answer: {e}"))
}

/// The probe without the shim (when it cannot run): a forked child of this process.
#[cfg(target_os = "linux")]
pub fn probe_in_process(
    landlock: bool,
    bpf: Option<&[seccompiler::sock_filter]>,
    deny_network: bool,
    writable: &[PathBuf],
) -> ProbeResult {
    imp::probe_layers(landlock.then_some(writable), bpf, deny_network)
}

/// Entry point of `mcp-commander __reaper …` (the arguments after the subcommand).
/// Returns the exit code, or does not return when the command died of a signal.
pub fn main(args: Vec<std::ffi::OsString>) -> u8 {
    #[cfg(target_os = "linux")]
    {
        imp::main(args)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = args;
        eprintln!("mcp-commander: the reaper shim is Linux only");
        125
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::ffi::{CString, OsString};
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use super::super::linux::{self, Rlimit};
    use super::{ProbeResult, ProbeSpec, ShimSpec, ZygoteArgs, ZygoteRequest};

    /// Exit code when the shim itself cannot do its job (bad spec, layer not applicable).
    const SHIM_FAILED: u8 = 125;

    pub fn main(args: Vec<OsString>) -> u8 {
        let mut it = args.into_iter();
        let Some(first) = it.next() else {
            eprintln!("mcp-commander __reaper: missing spec");
            return SHIM_FAILED;
        };
        if first == "--zygote" {
            return match super::parse_zygote_args(it) {
                Ok(args) => zygote(args),
                Err(e) => {
                    eprintln!("mcp-commander __reaper --zygote: {e}");
                    SHIM_FAILED
                }
            };
        }
        if first == "--probe" {
            let spec: ProbeSpec =
                match serde_json::from_slice(it.next().unwrap_or_default().as_bytes()) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("mcp-commander __reaper --probe: bad spec: {e}");
                        return SHIM_FAILED;
                    }
                };
            // SAFETY: plain prctl on this process; failing here means no reaper.
            if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
                eprintln!(
                    "PR_SET_CHILD_SUBREAPER: {}",
                    std::io::Error::last_os_error()
                );
                return SHIM_FAILED;
            }
            let bpf = if spec.seccomp {
                match linux::seccomp_program(spec.deny_network, &[]) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        let r = ProbeResult {
                            landlock: Err("not probed".into()),
                            seccomp: Err(e),
                        };
                        println!("{}", serde_json::to_string(&r).unwrap_or_default());
                        return 0;
                    }
                }
            } else {
                None
            };
            let r = probe_layers(
                spec.landlock.then_some(&spec.writable[..]),
                bpf.as_deref(),
                spec.deny_network,
            );
            println!("{}", serde_json::to_string(&r).unwrap_or_default());
            return 0;
        }
        let spec: ShimSpec = match serde_json::from_slice(first.as_bytes()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mcp-commander __reaper: bad spec: {e}");
                return SHIM_FAILED;
            }
        };
        let argv: Vec<CString> = match it
            .map(|a| CString::new(a.as_bytes().to_vec()))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(v) if !v.is_empty() => v,
            _ => {
                eprintln!("mcp-commander __reaper: missing or invalid command");
                return SHIM_FAILED;
            }
        };
        run(spec, argv)
    }

    /// Forks a child that applies the layers and checks they bite; reports each.
    pub fn probe_layers(
        landlock: Option<&[PathBuf]>,
        bpf: Option<&[seccompiler::sock_filter]>,
        deny_network: bool,
    ) -> ProbeResult {
        let mut result = ProbeResult {
            landlock: Err("off".into()),
            seccomp: Err("off".into()),
        };
        let ll = match landlock.map(linux::landlock_ruleset) {
            Some(Ok(fd)) => Some(fd),
            Some(Err(e)) => {
                result.landlock = Err(e);
                None
            }
            None => None,
        };
        let ll_raw = linux::raw(&ll);
        // SAFETY: the child only makes raw syscalls and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: raw syscalls in the forked child, then _exit.
            unsafe {
                let mut bits = 0;
                if ll_raw >= 0 && linux::enforce(&[], ll_raw, None).is_err() {
                    bits |= 1;
                }
                if let Some(p) = bpf {
                    if linux::enforce(&[], -1, Some(p)).is_err() {
                        bits |= 2;
                    } else {
                        let r = libc::process_vm_readv(
                            libc::getpid(),
                            std::ptr::null(),
                            0,
                            std::ptr::null(),
                            0,
                            0,
                        );
                        if r != -1 {
                            bits |= 4;
                        }
                        if deny_network {
                            let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
                            if s >= 0 {
                                bits |= 8;
                            }
                        }
                    }
                }
                libc::_exit(bits);
            }
        }
        if pid < 0 {
            let e = std::io::Error::last_os_error().to_string();
            return ProbeResult {
                landlock: Err(format!("cannot fork: {e}")),
                seccomp: Err(format!("cannot fork: {e}")),
            };
        }
        let mut st = 0;
        // SAFETY: waiting for the child we just forked.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        let bits = if libc::WIFEXITED(st) {
            libc::WEXITSTATUS(st)
        } else {
            0xff
        };
        if ll.is_some() {
            result.landlock = if bits & 1 == 0 {
                Ok(())
            } else {
                Err("landlock_restrict_self failed".into())
            };
        }
        if bpf.is_some() {
            result.seccomp = if bits & 2 != 0 {
                Err("the filter could not be installed".into())
            } else if bits & 4 != 0 {
                Err("the filter did not block process_vm_readv".into())
            } else if bits & 8 != 0 {
                Err("the filter did not block an AF_INET socket".into())
            } else if bits == 0xff {
                Err("the probe child died".into())
            } else {
                Ok(())
            };
        }
        result
    }

    fn run(spec: ShimSpec, argv: Vec<CString>) -> u8 {
        let bpf = if spec.child.seccomp {
            // The server sent its pid and its parent; ours is the server too.
            let mut protect = spec.child.protect.clone();
            // SAFETY: getppid never fails.
            protect.push(unsafe { libc::getppid() });
            match linux::seccomp_program(spec.child.deny_network, &protect) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("mcp-commander: cannot prepare the seccomp layer: {e}");
                    return SHIM_FAILED;
                }
            }
        } else {
            None
        };
        let setup = match Setup::new(None) {
            Ok(s) => s,
            Err(code) => return code,
        };
        match supervise(&setup, &spec, argv, 0, bpf.as_deref(), Prepared::default()) {
            Ok((st, cgroup)) => {
                if let Some(cg) = cgroup {
                    cg.remove();
                }
                exit_like(st)
            }
            Err(code) => code,
        }
    }

    /// What a shim sets up once, however many commands it runs: it is a child subreaper,
    /// not dumpable, without core dumps, takes its signals through `sfd`, and gives its
    /// commands `devnull` as stdin.
    #[derive(Clone, Copy)]
    struct Setup {
        me: i32,
        sfd: i32,
        devnull: i32,
    }

    impl Setup {
        /// `devnull`: a `/dev/null` descriptor the shim already has (one is opened
        /// otherwise).
        fn new(devnull: Option<i32>) -> Result<Setup, u8> {
            // SAFETY: prctl/setrlimit on this single-threaded process; getpid never fails.
            let me = unsafe {
                libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
                libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
                linux::set_rlimit(libc::RLIMIT_CORE as i32, 0);
                libc::getpid()
            };
            // Signals arrive through a signalfd, so the loops see them in order.
            let mask = shim_signals();
            // SAFETY: blocking the signals we read from the signalfd.
            let sfd = unsafe {
                libc::sigprocmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut());
                libc::signalfd(-1, &mask, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK)
            };
            if sfd < 0 {
                eprintln!(
                    "mcp-commander __reaper: signalfd: {}",
                    std::io::Error::last_os_error()
                );
                return Err(SHIM_FAILED);
            }
            let devnull = devnull.unwrap_or_else(|| {
                // SAFETY: opening /dev/null.
                unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }
            });
            Ok(Setup { me, sfd, devnull })
        }
    }

    /// The signals the shim takes through its signalfd.
    fn shim_signals() -> libc::sigset_t {
        // SAFETY: sigset manipulation on local storage.
        unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut mask);
            for s in [
                libc::SIGCHLD,
                libc::SIGTERM,
                libc::SIGINT,
                libc::SIGHUP,
                libc::SIGQUIT,
            ] {
                libc::sigaddset(&mut mask, s);
            }
            mask
        }
    }

    /// Runs the command under the layers and ends its whole tree once it exits or `ctl`
    /// (the server's end of the control channel) closes or speaks. `bpf` is the seccomp
    /// filter the command's child installs (`None` when the layer is off, or when this
    /// process already runs under the command's filter and the child inherits it). Returns
    /// the command's wait status once nothing of it runs any more, with its (empty) cgroup
    /// for the caller to remove; or the shim's exit code when it could not run it.
    fn supervise(
        setup: &Setup,
        spec: &ShimSpec,
        argv: Vec<CString>,
        ctl: i32,
        bpf: Option<&[seccompiler::sock_filter]>,
        mut prepared: Prepared,
    ) -> Result<(i32, Option<CommandCgroup>), u8> {
        let Setup { me, sfd, devnull } = *setup;

        // Everything the child needs is prepared here, before fork.
        let rlimits: Vec<Rlimit> = spec
            .child
            .rlimits
            .iter()
            .map(|&(r, v)| Rlimit {
                resource: r.raw(),
                value: v,
            })
            .collect();
        let (ll, cgroup) = match prepared.take(&spec.child, me) {
            Ok(layers) => layers,
            Err(e) => {
                eprintln!("mcp-commander: {e}");
                return Err(SHIM_FAILED);
            }
        };
        let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());

        // The command starts vfork-style, like the no-shim path (`super::super::spawn`):
        // `clone(CLONE_VM | CLONE_VFORK)` on a small stack of its own, so the shim's page
        // tables are not copied for a child that execs at once (and torn down again at its
        // exec). The child gets its own credentials, rlimits, signal dispositions and
        // seccomp/Landlock state exactly as after fork; it only shares our memory until it
        // execs, while we are suspended.
        let mut start = ChildStart {
            shim: me,
            devnull,
            // Set below when the child has to move itself into its cgroup.
            cgroup_procs: -1,
            rlimits: &rlimits,
            landlock: linux::raw(&ll),
            bpf,
            argv: &ptrs,
        };
        let mut stack = prepared.stack.take().unwrap_or_else(|| child_stack(false));
        // Born inside its cgroup where the kernel can (clone3, Linux 5.7); otherwise the
        // child writes itself into `cgroup.procs` before anything else.
        let born_inside = cgroup.as_ref().and_then(|c| {
            // SAFETY: as below; the child only reads `start`.
            unsafe {
                linux::clone_vfork_into_cgroup(
                    child_entry,
                    &start as *const ChildStart<'_> as *mut libc::c_void,
                    &mut stack,
                    c.handle.as_raw_fd(),
                )
            }
            .ok()
        });
        // SAFETY: the stack top is within the allocation, 16-byte aligned as the ABI wants;
        // this process is single-threaded and stays suspended until the child execs or
        // exits, so `start` and the stack outlive the child's use of them.
        let mut procs = None;
        let child = born_inside.unwrap_or_else(|| unsafe {
            procs = match cgroup.as_ref().map(CommandCgroup::procs) {
                Some(Ok(f)) => Some(f),
                Some(Err(e)) => {
                    eprintln!("mcp-commander: cannot prepare the cgroup layer: {e}");
                    return -1;
                }
                None => None,
            };
            start.cgroup_procs = procs.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1);
            let top = stack.as_mut_ptr().add(stack.capacity());
            let top = (top as usize & !15) as *mut libc::c_void;
            libc::clone(
                child_entry,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                &start as *const ChildStart<'_> as *mut libc::c_void,
            )
        });
        drop((stack, procs));
        if child < 0 {
            eprintln!(
                "mcp-commander: cannot start the command: {}",
                std::io::Error::last_os_error()
            );
            return Err(SHIM_FAILED);
        }
        // No `setpgid(child, child)` from here: CLONE_VFORK resumes us only once the child
        // exec'd or exited, so by then it already leads its group (pgid = pid), which
        // `teardown` signals as `-child`.
        drop(ll);

        let mut status: Option<i32> = None;
        wait_loop(child, sfd, ctl, &mut status);
        teardown(
            me,
            child,
            sfd,
            Duration::from_millis(spec.grace_ms),
            cgroup.as_ref(),
            &mut status,
        );
        // No status means the command could not be ended (see teardown): not a success.
        Ok((status.unwrap_or(libc::SIGKILL), cgroup))
    }

    /// What the command's side of the start needs, prepared before `clone`.
    struct ChildStart<'a> {
        shim: i32,
        devnull: i32,
        cgroup_procs: i32,
        rlimits: &'a [Rlimit],
        landlock: i32,
        bpf: Option<&'a [seccompiler::sock_filter]>,
        argv: &'a [*const libc::c_char],
    }

    extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: runs in the vfork child on its own stack; `arg` points at the parent's
        // `ChildStart`, alive while the parent is suspended; exec_child execs or exits.
        unsafe {
            let a = &*(arg as *const ChildStart<'_>);
            exec_child(
                a.shim,
                a.devnull,
                a.cgroup_procs,
                a.rlimits,
                a.landlock,
                a.bpf,
                a.argv,
            )
        }
    }

    /// The command's side of the start: new group, stdin /dev/null, parent-death signal,
    /// limits, Landlock, seccomp, exec.
    unsafe fn exec_child(
        shim: i32,
        devnull: i32,
        cgroup_procs: i32,
        rlimits: &[Rlimit],
        landlock: i32,
        bpf: Option<&[seccompiler::sock_filter]>,
        argv: &[*const libc::c_char],
    ) -> ! {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        // The Rust runtime ignores SIGPIPE; the command must not inherit that.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        // A process group of its own (see `spawn::child_main` for why not a session). A
        // fresh child leads no group, so this cannot fail; if it did, `-child` would name
        // no group for the teardown.
        if libc::setpgid(0, 0) < 0 {
            eprintln!(
                "mcp-commander: cannot start a process group for the command: {}",
                std::io::Error::last_os_error()
            );
            libc::_exit(126);
        }
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::getppid() != shim {
            libc::_exit(SHIM_FAILED as i32);
        }
        // Into the command's own cgroup ("0" moves the writer) before anything else runs.
        if cgroup_procs >= 0
            && libc::write(cgroup_procs, b"0".as_ptr() as *const libc::c_void, 1) != 1
        {
            eprintln!(
                "mcp-commander: cannot enter the command's cgroup: {}",
                std::io::Error::last_os_error()
            );
            libc::_exit(126);
        }
        if devnull >= 0 {
            libc::dup2(devnull, 0);
        } else {
            libc::close(0);
        }
        if let Err((step, errno)) = linux::enforce(rlimits, landlock, bpf) {
            eprintln!(
                "mcp-commander: cannot apply the {step} layer: {}",
                std::io::Error::from_raw_os_error(errno)
            );
            libc::_exit(126);
        }
        libc::execvp(argv[0], argv.as_ptr());
        let e = std::io::Error::last_os_error();
        eprintln!(
            "mcp-commander: cannot run {}: {e}",
            std::ffi::CStr::from_ptr(argv[0]).to_string_lossy()
        );
        libc::_exit(127);
    }

    /// A `poll` entry waiting for `fd` to be readable.
    fn pollin(fd: i32) -> libc::pollfd {
        libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }
    }

    /// Waits until the command exits, a stop signal arrives, or the server's control pipe
    /// (our stdin) closes or carries a byte.
    fn wait_loop(child: i32, sfd: i32, ctl: i32, status: &mut Option<i32>) {
        let mut fds = [pollin(ctl), pollin(sfd)];
        loop {
            // SAFETY: polling two valid descriptors.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            if fds[1].revents != 0 && drain_signals(sfd) {
                return;
            }
            reap(child, status);
            if status.is_some() {
                return;
            }
            if fds[0].revents != 0 {
                return;
            }
        }
    }

    /// Reads pending signals; true when one asks us to stop.
    fn drain_signals(sfd: i32) -> bool {
        let mut stop = false;
        loop {
            // SAFETY: reading whole signalfd_siginfo records into local storage.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let n = unsafe {
                libc::read(
                    sfd,
                    &mut info as *mut _ as *mut libc::c_void,
                    std::mem::size_of::<libc::signalfd_siginfo>(),
                )
            };
            if n <= 0 {
                return stop;
            }
            if info.ssi_signo != libc::SIGCHLD as u32 {
                stop = true;
            }
        }
    }

    /// Reaps every exited child; remembers the command's status. False once none is left.
    fn reap(child: i32, status: &mut Option<i32>) -> bool {
        loop {
            let mut st = 0;
            // SAFETY: waitpid on our own children.
            let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
            if r == child {
                *status = Some(st);
            }
            if r == 0 {
                return true;
            }
            if r < 0 {
                return false;
            }
        }
    }

    fn signal_tree(me: i32, group: i32, sig: i32) {
        // SAFETY: signalling the command's group and our own descendants.
        unsafe { libc::kill(-group, sig) };
        for pid in linux::descendants(me) {
            // SAFETY: as above.
            unsafe { libc::kill(pid, sig) };
        }
    }

    /// Ends every descendant: TERM (and CONT, so stopped ones can act on it), up to
    /// `grace` for them to go, then KILL until none is left. All are reaped.
    fn teardown(
        me: i32,
        group: i32,
        sfd: i32,
        grace: Duration,
        cgroup: Option<&CommandCgroup>,
        status: &mut Option<i32>,
    ) {
        if !reap(group, status) {
            return;
        }
        signal_tree(me, group, libc::SIGTERM);
        signal_tree(me, group, libc::SIGCONT);
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if !reap(group, status) {
                return;
            }
            let mut fd = pollin(sfd);
            // SAFETY: polling the signalfd for the next SIGCHLD, 10 ms at most.
            unsafe { libc::poll(&mut fd, 1, 10) };
            drain_signals(sfd);
        }
        // A descendant we may not signal (one that became another user) would keep this
        // loop going forever; after a second of KILLs we give up on it.
        let until = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(cg) = cgroup {
                cg.kill();
            }
            signal_tree(me, group, libc::SIGKILL);
            if !reap(group, status) || Instant::now() > until {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The per-command layers an idle shim sets up while it waits for its command, for
    /// the settings the previous command had (see [`Hint`]): its Landlock ruleset and its
    /// cgroup. What the command turns out to want differently is made again.
    #[derive(Default)]
    struct Prepared {
        landlock: Option<(Vec<PathBuf>, std::os::fd::OwnedFd)>,
        cgroup: Option<(super::super::sandbox::CgroupSpec, CommandCgroup)>,
        /// The command's start stack (see `supervise`), its top pages already touched.
        stack: Option<Vec<u8>>,
    }

    /// The size of the stack the command's side of the start runs on.
    const CHILD_STACK: usize = 64 * 1024;

    /// A stack for the command's start. It only needs valid memory, not zeroed memory: an
    /// uninitialised allocation saves clearing it (only the pages the child touches are
    /// ever faulted in — ahead of time with `touched`, the top 16 KiB it uses).
    fn child_stack(touched: bool) -> Vec<u8> {
        let mut stack: Vec<u8> = Vec::with_capacity(CHILD_STACK);
        if touched {
            let top = stack.spare_capacity_mut();
            for off in (CHILD_STACK - 16 * 1024..CHILD_STACK).step_by(4096) {
                top[off] = std::mem::MaybeUninit::new(0);
            }
        }
        stack
    }

    impl Prepared {
        /// Prepares what `hint` names; a layer that cannot be prepared now is left to
        /// [`Prepared::take`] (which reports the error for the command that wants it).
        /// `kept` is the cgroup the shim's last command ran in: used again when it has
        /// the settings `hint` names and is as that command found it
        /// ([`CommandCgroup::reusable`]), removed otherwise.
        fn ahead(hint: &Hint, me: i32, kept: Option<KeptCgroup>) -> Prepared {
            let kept = match (kept, &hint.cgroup) {
                (Some((spec, cg)), Some(want)) if spec == *want && cg.reusable(want) => {
                    Some((spec, cg))
                }
                (Some((_, cg)), _) => {
                    cg.remove();
                    None
                }
                (None, _) => None,
            };
            Prepared {
                landlock: hint.landlock.as_ref().and_then(|paths| {
                    let fd = linux::landlock_ruleset(paths).ok()?;
                    Some((paths.clone(), fd))
                }),
                cgroup: kept.or_else(|| {
                    let spec = hint.cgroup.as_ref()?;
                    let cg = CommandCgroup::create(spec, me).ok()?;
                    Some((spec.clone(), cg))
                }),
                stack: Some(child_stack(true)),
            }
        }

        /// The Landlock ruleset and the cgroup `child` wants: the prepared ones when they
        /// match, fresh ones otherwise (a prepared cgroup it does not want is removed).
        #[allow(clippy::type_complexity)]
        fn take(
            &mut self,
            child: &super::super::sandbox::ChildSpec,
            me: i32,
        ) -> Result<(Option<std::os::fd::OwnedFd>, Option<CommandCgroup>), String> {
            let ll = match (&child.landlock, self.landlock.take()) {
                (None, _) => None,
                (Some(want), Some((have, fd))) if *want == have => Some(fd),
                (Some(want), _) => Some(
                    linux::landlock_ruleset(want)
                        .map_err(|e| format!("cannot prepare the Landlock layer: {e}"))?,
                ),
            };
            let cgroup = match (&child.cgroup, self.cgroup.take()) {
                (Some(want), Some((have, cg))) if *want == have => Some(cg),
                (want, have) => {
                    if let Some((_, cg)) = have {
                        cg.remove();
                    }
                    match want {
                        Some(w) => Some(
                            CommandCgroup::create(w, me)
                                .map_err(|e| format!("cannot prepare the cgroup layer: {e}"))?,
                        ),
                        None => None,
                    }
                }
            };
            Ok((ll, cgroup))
        }

        /// Removes what was prepared for a command that never came.
        fn discard(self) {
            if let Some((_, cg)) = self.cgroup {
                cg.remove();
            }
        }
    }

    /// A command's cgroup kept by its shim for the next command, with its settings.
    type KeptCgroup = (super::super::sandbox::CgroupSpec, CommandCgroup);

    /// How many cgroups this shim has made: a shim names each new one anew.
    static CGROUP_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

    /// The prefix of every cgroup the shim `pid` makes (see [`CommandCgroup`]).
    fn cgroup_prefix(pid: i32) -> String {
        format!("mcpc-{pid}-")
    }

    /// The command's own cgroup: `<base>/mcpc-<shim pid>-<n>`, with `pids.max` and
    /// `memory.max` when those controllers are delegated; `cgroup.kill` ends everything in
    /// it at once. No two commands are in one at the same time; a shim's next command runs
    /// in the same one when it is as new ([`CommandCgroup::reusable`]): creating and
    /// removing a cgroup per command (a new css_set at the clone, the kernel's deferred
    /// teardown of the old one) cost ~0.15 ms on every call.
    struct CommandCgroup {
        dir: std::path::PathBuf,
        /// The directory itself, for `clone3(CLONE_INTO_CGROUP)`.
        handle: std::fs::File,
    }

    impl CommandCgroup {
        fn create(spec: &super::super::sandbox::CgroupSpec, shim: i32) -> std::io::Result<Self> {
            let seq = CGROUP_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = spec.base.join(format!("{}{seq}", cgroup_prefix(shim)));
            // A leftover of an earlier shim with the same pid is empty; reuse it.
            match std::fs::create_dir(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
            let made = CommandCgroup {
                handle: std::fs::File::open(&dir)?,
                dir,
            };
            if let Some(n) = spec.pids_max {
                std::fs::write(made.dir.join("pids.max"), n.to_string())?;
            }
            if let Some(n) = spec.memory_max {
                std::fs::write(made.dir.join("memory.max"), n.to_string())?;
            }
            Ok(made)
        }

        /// Its `cgroup.procs`, for a child that moves itself in (without `clone3`).
        fn procs(&self) -> std::io::Result<std::fs::File> {
            std::fs::OpenOptions::new()
                .write(true)
                .open(self.dir.join("cgroup.procs"))
        }

        fn kill(&self) {
            let _ = std::fs::write(self.dir.join("cgroup.kill"), "1");
        }

        /// Whether the next command with `spec` may run in this cgroup: nothing in it
        /// (no process, no child cgroup, not frozen), its limits still `spec`'s (a command
        /// that could write them, Landlock off, may have changed them), and at most
        /// [`REUSE_MEMORY`] of memory still charged to it (files a command left in a
        /// tmpfs stay charged and would count against the next command's limit).
        fn reusable(&self, spec: &super::super::sandbox::CgroupSpec) -> bool {
            let read = |file: &str| std::fs::read_to_string(self.dir.join(file)).ok();
            let number = |file: &str| read(file).and_then(|v| v.trim().parse::<u64>().ok());
            let empty = read("cgroup.events").is_some_and(|ev| {
                ev.lines().any(|l| l == "populated 0") && !ev.lines().any(|l| l == "frozen 1")
            }) && read("cgroup.stat").is_some_and(|st| {
                st.lines().any(|l| l == "nr_descendants 0")
                    && !st
                        .lines()
                        .any(|l| l.starts_with("nr_dying_descendants ") && !l.ends_with(" 0"))
            });
            // The kernel stores a limit in pages: a value that is not a whole page reads
            // back rounded down.
            let limit_is = |file: &str, want: u64| {
                number(file).is_some_and(|have| have <= want && want - have < 65536)
            };
            empty
                && spec.pids_max.is_none_or(|n| number("pids.max") == Some(n))
                && spec.memory_max.is_none_or(|n| {
                    limit_is("memory.max", n)
                        && number("memory.current").is_some_and(|c| c <= REUSE_MEMORY)
                })
        }

        /// Removes the (now empty) cgroup, and any cgroup a command made inside it; the
        /// kernel may need a moment after the last reap before it counts as empty.
        fn remove(self) {
            drop(self.handle);
            for _ in 0..20 {
                if remove_cgroup_tree(&self.dir) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// How much memory may still be charged to a command's cgroup for the next command to
    /// run in it.
    const REUSE_MEMORY: u64 = 1 << 20;

    /// Removes the (empty) cgroup `dir` with the cgroups inside it, deepest first. True
    /// when it is gone.
    fn remove_cgroup_tree(dir: &std::path::Path) -> bool {
        if std::fs::remove_dir(dir).is_ok() {
            return true;
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    remove_cgroup_tree(&e.path());
                }
            }
        }
        std::fs::remove_dir(dir).is_ok() || !dir.exists()
    }

    #[cfg(test)]
    mod cgroup_tests {
        use super::super::super::sandbox::CgroupSpec;
        use super::CommandCgroup;

        /// A directory with the files `reusable` reads, as a cgroup after its command.
        fn fake(files: &[(&str, &str)]) -> (tempfile::TempDir, CommandCgroup) {
            let dir = tempfile::tempdir().expect("tempdir");
            let base: &[(&str, &str)] = &[
                ("cgroup.events", "populated 0\nfrozen 0\n"),
                ("cgroup.stat", "nr_descendants 0\nnr_dying_descendants 0\n"),
                ("pids.max", "64\n"),
                ("memory.max", "536870912\n"),
                ("memory.current", "4096\n"),
            ];
            for (name, text) in base.iter().chain(files) {
                std::fs::write(dir.path().join(name), text).expect("write");
            }
            let cg = CommandCgroup {
                dir: dir.path().to_path_buf(),
                handle: std::fs::File::open(dir.path()).expect("open"),
            };
            (dir, cg)
        }

        #[test]
        fn a_cgroup_is_used_again_only_as_it_was_made() {
            let spec = CgroupSpec {
                base: "/unused".into(),
                pids_max: Some(64),
                memory_max: Some(512 << 20),
            };
            assert!(fake(&[]).1.reusable(&spec));
            // Limits off: only emptiness counts.
            let bare = CgroupSpec {
                base: "/unused".into(),
                pids_max: None,
                memory_max: None,
            };
            assert!(fake(&[("pids.max", "max\n"), ("memory.current", "1e12")])
                .1
                .reusable(&bare));
            for changed in [
                ("cgroup.events", "populated 1\nfrozen 0\n"),
                ("cgroup.events", "populated 0\nfrozen 1\n"),
                ("cgroup.stat", "nr_descendants 1\nnr_dying_descendants 0\n"),
                ("cgroup.stat", "nr_descendants 0\nnr_dying_descendants 2\n"),
                ("pids.max", "max\n"),
                ("pids.max", "65\n"),
                ("memory.max", "max\n"),
                ("memory.max", "1073741824\n"),
                ("memory.current", "2097152\n"),
                ("memory.current", "garbage"),
            ] {
                assert!(!fake(&[changed]).1.reusable(&spec), "{changed:?}");
            }
            // A limit that is not a whole page reads back rounded down.
            let odd = CgroupSpec {
                memory_max: Some((512 << 20) + 100),
                ..spec.clone()
            };
            assert!(fake(&[]).1.reusable(&odd));
        }
    }

    /// Exits with the command's code, or dies of the same signal.
    fn exit_like(st: i32) -> u8 {
        let mask = &shim_signals();
        if libc::WIFEXITED(st) {
            return libc::WEXITSTATUS(st) as u8;
        }
        if libc::WIFSIGNALED(st) {
            let sig = libc::WTERMSIG(st);
            // SAFETY: restoring the default action and raising the signal on ourselves.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
                libc::sigprocmask(libc::SIG_UNBLOCK, mask, std::ptr::null_mut());
                let mut one: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut one);
                libc::sigaddset(&mut one, sig);
                libc::sigprocmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
                libc::raise(sig);
            }
            return 128u8.wrapping_add(sig as u8);
        }
        SHIM_FAILED
    }

    /// The zygote: a long-lived, single-threaded, already-initialised shim that forks one
    /// supervising shim per request on its stdin socket, so a command does not pay for
    /// exec'ing and relocating this binary. It is the subreaper of what dead shims leave
    /// behind, and when the server goes away (EOF) it ends every tree and exits.
    fn zygote(args: ZygoteArgs) -> u8 {
        // SAFETY: prctl/setrlimit on this single-threaded process.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            linux::set_rlimit(libc::RLIMIT_CORE as i32, 0);
        }
        let filter = ZygoteFilter::install(args);
        let mask = shim_signals();
        // SAFETY: blocking the signals we read from the signalfd.
        let sfd = unsafe {
            libc::sigprocmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut());
            libc::signalfd(-1, &mask, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK)
        };
        if sfd < 0 {
            return SHIM_FAILED;
        }
        let mut shims = Shims::default();
        // The last request handed on: what a new shim prepares for.
        let mut last: Vec<u8> = Vec::new();
        let mut pool = Pool::default();
        let mut swept = Instant::now();
        loop {
            if !pool.has_idle() {
                match fork_spare(sfd, &filter, &last) {
                    Some(sp) => {
                        shims.live.insert(sp.pid);
                        pool.shims.push(sp);
                    }
                    // No fork now (EAGAIN under a process limit): try again shortly.
                    None => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            // A request is read only when a shim is ready for it (until then it waits in
            // the socket); the server hanging up is seen either way.
            let ready = pool.has_idle();
            let mut fds = vec![
                libc::pollfd {
                    fd: 0,
                    events: libc::POLLRDHUP | if ready { libc::POLLIN } else { 0 },
                    revents: 0,
                },
                pollin(sfd),
            ];
            fds.extend(pool.shims.iter().map(|s| pollin(s.notify.as_raw_fd())));
            let wait = pool
                .ack_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1));
            // SAFETY: polling valid descriptors.
            let n = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    wait.as_millis() as i32 + 1,
                )
            };
            if n < 0 {
                continue;
            }
            if fds[1].revents != 0 && drain_signals(sfd) {
                break;
            }
            shims.reap(&last);
            if swept.elapsed() >= Duration::from_secs(1) {
                swept = Instant::now();
                shims.sweep_cgroups();
                // Children that are not shims are escapees of a shim that died; nobody else
                // will end them.
                for pid in linux::own_children() {
                    if !shims.live.contains(&pid) {
                        // SAFETY: signalling our own orphaned child.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
            let revents: Vec<i16> = fds[2..].iter().map(|f| f.revents).collect();
            pool.update(&revents, &shims.live);
            if fds[0].revents & libc::POLLIN != 0 {
                // (No idle shim left by `update`: the request waits for the next one.)
                if !pool.has_idle() {
                    continue;
                }
                match read_message(0) {
                    Ok((body, passed)) => {
                        // Without an idle shim (the one there died just now) the call ends:
                        // its descriptors close here.
                        if let Some(sp) = pool.idle() {
                            sp.hand(&body, &passed);
                        }
                        drop(passed);
                        last = body;
                    }
                    Err(true) => break,
                    // Without its descriptors: dropped (the server never sends such).
                    Err(false) => {}
                }
            } else if fds[0].revents != 0 {
                break;
            }
        }
        // Idle shims see their channel close, remove what they prepared and exit; busy
        // ones do once their command is over.
        drop(pool);
        // The server is gone: the shims saw their control sockets close and are ending
        // their trees; give them the grace, then kill whatever is left.
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until && shims.reap(&last) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // SAFETY: getpid never fails.
        let me = unsafe { libc::getpid() };
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            for pid in linux::descendants(me) {
                // SAFETY: signalling our own descendants.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            if !shims.reap(&last) || Instant::now() > until {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // The cgroups of shims killed just now empty within moments.
        for _ in 0..20 {
            shims.sweep_cgroups();
            if shims.leftovers.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        0
    }

    /// The seccomp filter of the zygote's commands. Installed on the zygote itself at start
    /// (after `PR_SET_NO_NEW_PRIVS`), the filter is inherited by every shim it forks and by
    /// every command, so no command loads it again. Neither the zygote nor a shim makes a
    /// call it denies (ptrace, process_vm_*, io_uring, non-Unix sockets). Should installing
    /// it fail, the compiled program is kept and each command's child installs it, as the
    /// exec'd shim does.
    struct ZygoteFilter {
        /// `Some(deny_network)` when the filter is in force on this process.
        installed: Option<bool>,
        /// The program to install per command when it is not.
        program: Option<(bool, seccompiler::BpfProgram)>,
        /// Who the commands may not signal: this zygote, the server, the server's parent.
        protect: Vec<i32>,
    }

    impl ZygoteFilter {
        /// `args.protect` are the server's pids (see [`super::ZYGOTE_PROTECT`]); this
        /// zygote protects itself too.
        fn install(args: ZygoteArgs) -> ZygoteFilter {
            // SAFETY: getpid never fails.
            let mut protect = vec![unsafe { libc::getpid() }];
            protect.extend(args.protect);
            let mut f = ZygoteFilter {
                installed: None,
                program: None,
                protect,
            };
            let Some(deny) = args.seccomp else {
                return f;
            };
            let program = match linux::seccomp_program(deny, &f.protect) {
                Ok(p) => p,
                Err(e) => {
                    // Each shim reports it for its command (see `for_command`).
                    eprintln!("mcp-commander __reaper --zygote: seccomp program: {e}");
                    return f;
                }
            };
            // SAFETY: no_new_privs and the filter on this single-threaded process; the
            // program is valid and outlives the call.
            match unsafe { linux::enforce(&[], -1, Some(&program)) } {
                Ok(()) => f.installed = Some(deny),
                Err((step, errno)) => {
                    eprintln!(
                        "mcp-commander __reaper --zygote: cannot apply the {step} layer to \
                         itself ({}); each command will",
                        std::io::Error::from_raw_os_error(errno)
                    );
                    f.program = Some((deny, program));
                }
            }
            f
        }

        /// The program a command's child must install: `None` when the layer is off for it
        /// or already in force here. `Err` when this zygote's own filter is not the one the
        /// command wants (the server starts a zygote per mode, so that is a bug).
        fn for_command(
            &self,
            child: &super::super::sandbox::ChildSpec,
        ) -> Result<Option<std::borrow::Cow<'_, [seccompiler::sock_filter]>>, String> {
            let wanted = child.seccomp.then_some(child.deny_network);
            if self.installed.is_some() {
                return if self.installed == wanted {
                    Ok(None)
                } else {
                    Err("the zygote's seccomp filter is not this command's".into())
                };
            }
            let Some(deny) = wanted else {
                return Ok(None);
            };
            match &self.program {
                Some((d, p)) if *d == deny => Ok(Some(std::borrow::Cow::Borrowed(&p[..]))),
                _ => linux::seccomp_program(deny, &self.protect)
                    .map(|p| Some(std::borrow::Cow::Owned(p))),
            }
        }
    }

    /// Reaps exited children of the zygote; false once it has none.
    /// The zygote's children (its pool of shims) and what a killed one leaves behind.
    #[derive(Default)]
    struct Shims {
        live: std::collections::HashSet<i32>,
        /// The cgroup bases the requests named (learnt when a child is killed).
        bases: Vec<PathBuf>,
        /// Cgroups of killed shims not yet removable (still populated), with retries left.
        leftovers: Vec<(PathBuf, u8)>,
    }

    impl Shims {
        /// Notes the cgroup base a request names (decoding only that field).
        fn learn(&mut self, body: &[u8]) {
            #[derive(serde::Deserialize)]
            struct Req {
                spec: Spec,
            }
            #[derive(serde::Deserialize)]
            struct Spec {
                child: Child,
            }
            #[derive(serde::Deserialize)]
            struct Child {
                #[serde(default)]
                cgroup: Option<Cgroup>,
            }
            #[derive(serde::Deserialize)]
            struct Cgroup {
                base: PathBuf,
            }
            if let Ok(Req {
                spec:
                    Spec {
                        child:
                            Child {
                                cgroup: Some(Cgroup { base }),
                            },
                    },
            }) = serde_json::from_slice(body)
            {
                if !self.bases.contains(&base) {
                    self.bases.push(base);
                }
            }
        }

        /// Reaps exited children; false once there are none. A shim killed by a
        /// signal (by the server, by us, by a command) removed nothing: its cgroup's
        /// processes are killed and the cgroup removed, now or on a later sweep.
        fn reap(&mut self, last: &[u8]) -> bool {
            loop {
                let mut st = 0;
                // SAFETY: waitpid on our own children.
                let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
                if r <= 0 {
                    return r == 0;
                }
                self.live.remove(&r);
                if libc::WIFSIGNALED(st) {
                    // Only now, off the calls' path: the base every request of this
                    // zygote's sandbox names.
                    self.learn(last);
                    let prefix = cgroup_prefix(r);
                    for base in &self.bases {
                        let Ok(entries) = std::fs::read_dir(base) else {
                            continue;
                        };
                        for e in entries.flatten() {
                            if e.file_name().as_bytes().starts_with(prefix.as_bytes()) {
                                let dir = e.path();
                                let _ = std::fs::write(dir.join("cgroup.kill"), "1");
                                self.leftovers.push((dir, 50));
                            }
                        }
                    }
                    self.sweep_cgroups();
                }
            }
        }

        /// Tries to remove the leftover cgroups (each gets ~50 tries, one per sweep).
        fn sweep_cgroups(&mut self) {
            self.leftovers.retain_mut(|(dir, tries)| {
                *tries = tries.saturating_sub(1);
                !remove_cgroup_tree(dir) && *tries > 0
            });
        }
    }

    extern "C" {
        /// The C library's environment (glibc and musl), what `execvp` reads `PATH` from.
        static mut environ: *mut *mut libc::c_char;
    }

    /// A command's environment: `KEY=value` strings and the NULL-terminated array of them,
    /// what `environ` points at while the command starts (a reused shim frees it after).
    struct EnvBlock {
        _strings: Vec<CString>,
        ptrs: Vec<*mut libc::c_char>,
    }

    impl EnvBlock {
        /// `None` for a name `setenv` would refuse (empty, or with `=`) or a NUL byte.
        fn new(env: &[(String, String)]) -> Option<EnvBlock> {
            let mut strings = Vec::with_capacity(env.len());
            for (k, v) in env {
                if k.is_empty() || k.contains('=') {
                    return None;
                }
                let mut kv = Vec::with_capacity(k.len() + v.len() + 2);
                kv.extend_from_slice(k.as_bytes());
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                strings.push(CString::new(kv).ok()?);
            }
            let mut ptrs: Vec<*mut libc::c_char> = strings
                .iter()
                .map(|c| c.as_ptr() as *mut libc::c_char)
                .chain(std::iter::once(std::ptr::null_mut()))
                .collect();
            ptrs.shrink_to_fit();
            Some(EnvBlock {
                _strings: strings,
                ptrs,
            })
        }
    }

    /// What an idle shim prepares before its request arrives: the settings of the
    /// previous command, which the server gives every command alike unless its
    /// configuration says otherwise.
    #[derive(Debug, Default)]
    struct Hint {
        landlock: Option<Vec<PathBuf>>,
        cgroup: Option<super::super::sandbox::CgroupSpec>,
    }

    /// How long a shim may take to read the request handed to it before the zygote kills
    /// it (and with it the request: its caller sees the call end). The zygote looks only
    /// then (the request left the channel, or the shim said it is free again): a shim
    /// does not wake it up to say it took one.
    const SPARE_ACK: Duration = Duration::from_secs(2);

    /// How many idle shims the zygote keeps; more exit as they become idle.
    const IDLE_MAX: usize = 16;

    /// Where a shim of the zygote's pool is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Phase {
        /// Waiting for a request (`FREE` said, or freshly forked).
        Idle,
        /// Handed a request at this instant; whether it read it is looked at after
        /// [`SPARE_ACK`].
        Handed(Instant),
        /// Read its request in time, running the command.
        Busy,
    }

    /// A shim of the zygote's pool (see [`spare_shim`]).
    struct Spare {
        pid: i32,
        /// Our end of the stream requests are handed on.
        chan: std::os::fd::OwnedFd,
        /// Our end of the pipe it says `FREE` on.
        notify: std::os::fd::OwnedFd,
        phase: Phase,
        /// When it last became idle (forked, or said `FREE`).
        idle_since: Instant,
    }

    impl Spare {
        /// Hands the shim a request as read from the server: its length and body, with its
        /// descriptors. A shim that cannot take it (gone) leaves the descriptors to us,
        /// and dropping them ends the call.
        fn hand(&mut self, body: &[u8], fds: &[std::os::fd::OwnedFd]) {
            let mut message = Vec::with_capacity(4 + body.len());
            message.extend_from_slice(&(body.len() as u32).to_le_bytes());
            message.extend_from_slice(body);
            let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
            let _ = linux::send_with_fds(self.chan.as_raw_fd(), &message, &raw);
            self.phase = Phase::Handed(Instant::now());
        }

        /// Reads what the shim said.
        fn hear(&mut self) -> Heard {
            let mut b = [0u8; 16];
            // SAFETY: reading into a local buffer from our pipe end (poll said readable).
            let n = unsafe {
                libc::read(
                    self.notify.as_raw_fd(),
                    b.as_mut_ptr() as *mut libc::c_void,
                    b.len(),
                )
            };
            if n <= 0 {
                return Heard::Gone;
            }
            for &c in &b[..n as usize] {
                self.phase = match (c, self.phase) {
                    (FREE, Phase::Handed(_) | Phase::Busy) => {
                        self.idle_since = Instant::now();
                        Phase::Idle
                    }
                    _ => return Heard::OutOfTurn,
                };
            }
            Heard::Fine
        }
    }

    /// What [`Spare::hear`] made of a shim's bytes.
    enum Heard {
        Fine,
        /// Its end closed: it exited or was killed.
        Gone,
        /// A byte that does not fit its phase.
        OutOfTurn,
    }

    /// The zygote's shims, idle or running a command.
    #[derive(Default)]
    struct Pool {
        shims: Vec<Spare>,
    }

    impl Pool {
        /// The idle shim to hand the next request to: the one most recently idle (its
        /// pages and caches are warmest).
        fn idle(&mut self) -> Option<&mut Spare> {
            self.shims
                .iter_mut()
                .filter(|s| s.phase == Phase::Idle)
                .max_by_key(|s| s.idle_since)
        }

        fn has_idle(&self) -> bool {
            self.shims.iter().any(|s| s.phase == Phase::Idle)
        }

        /// When the oldest hand-off not checked yet is due for its check.
        fn ack_deadline(&self) -> Option<Instant> {
            self.shims
                .iter()
                .filter_map(|s| match s.phase {
                    Phase::Handed(at) => Some(at + SPARE_ACK),
                    _ => None,
                })
                .min()
        }

        /// Acts on what `revents[i]` says of shim `i`, kills shims sitting on a request
        /// past [`SPARE_ACK`] (a command may have stopped one: the call must not hang on
        /// it; killed, it drops the request's descriptors, so the server sees the call
        /// end), and lets idle shims beyond [`IDLE_MAX`] go (their channel closes).
        fn update(&mut self, revents: &[i16], live: &std::collections::HashSet<i32>) {
            // Only a child not reaped yet: a reaped one's pid may be someone else's now.
            let kill = |pid: i32| {
                if live.contains(&pid) {
                    // SAFETY: killing our own child (at worst a zombie).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            };
            let mut i = 0;
            let mut stalled = false;
            self.shims.retain_mut(|s| {
                let ev = revents.get(i).copied().unwrap_or(0);
                i += 1;
                if ev != 0 {
                    match s.hear() {
                        Heard::Fine => {}
                        // It exited (retired) or was killed: the zygote reaps it.
                        Heard::Gone => return false,
                        // Not a shim we can trust with a request any more.
                        Heard::OutOfTurn => {
                            kill(s.pid);
                            return false;
                        }
                    }
                }
                if matches!(s.phase, Phase::Handed(at) if at.elapsed() >= SPARE_ACK) {
                    if linux::unread_bytes(s.chan.as_raw_fd()) != Some(0) {
                        kill(s.pid);
                        stalled = true;
                        return false;
                    }
                    s.phase = Phase::Busy;
                }
                true
            });
            if stalled {
                // A command that stopped one idle shim may have stopped them all: each would
                // cost a call. They go now, so the attack costs one call, not one per shim.
                self.shims.retain(|s| {
                    let stopped = s.phase == Phase::Idle && linux::is_stopped(s.pid);
                    if stopped {
                        kill(s.pid);
                    }
                    !stopped
                });
            }
            let idle = self.shims.iter().filter(|s| s.phase == Phase::Idle).count();
            let mut extra = idle.saturating_sub(IDLE_MAX);
            self.shims.retain(|s| {
                let go = extra > 0 && s.phase == Phase::Idle;
                extra -= usize::from(go);
                !go
            });
        }
    }

    /// Forks a new shim, which prepares for a request like `last` (the previous one) and
    /// waits for us to hand it one. `None` when fork failed.
    fn fork_spare(zygote_sfd: i32, filter: &ZygoteFilter, last: &[u8]) -> Option<Spare> {
        use std::os::fd::FromRawFd;
        let (chan, theirs_chan) = std::os::unix::net::UnixStream::pair().ok()?;
        let mut ends = [0; 2];
        // SAFETY: a pipe into local storage.
        if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return None;
        }
        // SAFETY: we own both fresh ends.
        let (notify, theirs_notify) = unsafe {
            (
                std::os::fd::OwnedFd::from_raw_fd(ends[0]),
                std::os::fd::OwnedFd::from_raw_fd(ends[1]),
            )
        };
        // SAFETY: this process is single-threaded; the child never returns.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            drop((chan, notify));
            let theirs_chan: std::os::fd::OwnedFd = theirs_chan.into();
            // The other shims' channels stay the zygote's alone: a copy here would keep
            // one open after the zygote closed it (that shim would never see it end).
            linux::close_all_but(&[
                zygote_sfd,
                theirs_chan.as_raw_fd(),
                theirs_notify.as_raw_fd(),
            ]);
            spare_shim(zygote_sfd, filter, last, theirs_chan, theirs_notify);
        }
        (pid > 0).then_some(Spare {
            pid,
            chan: chan.into(),
            notify,
            phase: Phase::Idle,
            idle_since: Instant::now(),
        })
    }

    /// One request as sent by the server (and handed on to a shim): a little-endian `u32`
    /// length, the JSON [`ZygoteRequest`] (not decoded here), three descriptors on the
    /// first byte. `Err(true)` at EOF or a broken stream, `Err(false)` for a message read
    /// whole but without its three descriptors.
    #[allow(clippy::type_complexity)]
    fn read_message(sock: i32) -> Result<(Vec<u8>, Vec<std::os::fd::OwnedFd>), bool> {
        let mut len = [0u8; 4];
        let mut passed = Vec::new();
        match linux::recv_with_fds(sock, &mut len, &mut passed) {
            Ok(0) | Err(_) => return Err(true),
            Ok(n) => {
                if n < 4 && !matches!(linux::read_exact(sock, &mut len[n..]), Ok(true)) {
                    return Err(true);
                }
            }
        }
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        if !matches!(linux::read_exact(sock, &mut body), Ok(true)) {
            return Err(true);
        }
        if passed.len() != 3 {
            return Err(false);
        }
        Ok((body, passed))
    }

    /// How many commands one shim runs before it makes way for a fresh fork.
    const SHIM_USES: u32 = 1000;

    /// How long a shim waits, after reporting a command's status, for the server to let go
    /// of the call's control socket before it takes another command (otherwise it retires).
    const RELEASE_WAIT: Duration = Duration::from_secs(10);

    /// A shim: forked ahead of its first command (so neither the fork nor the cgroup's
    /// creation are on a call's path) and reused for the next ones. The zygote alone reads
    /// the server's requests (a command could stop or kill a shim, which only the zygote's
    /// filter protects from: a shim must never own the shared stream) and hands each on to
    /// an idle shim over a channel of the shim's own; a shim that has not read its request in
    /// time is killed. After a command the shim runs the next one only when nothing of the
    /// last one is left and the command could not have changed it ([`Pristine`]);
    /// otherwise, and after [`SHIM_USES`] commands, it exits.
    fn spare_shim(
        zygote_sfd: i32,
        filter: &ZygoteFilter,
        last: &[u8],
        chan: std::os::fd::OwnedFd,
        notify: std::os::fd::OwnedFd,
    ) -> ! {
        // SAFETY: closing the zygote's signalfd and replacing the server's request socket
        // (our stdin) with /dev/null in this child — or ending it: the socket must not stay,
        // fd 0 is every command's stdin.
        unsafe {
            libc::close(zygote_sfd);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null < 0 || libc::dup2(null, 0) < 0 {
                libc::_exit(0);
            }
            libc::close(null);
        }
        let Ok(setup) = Setup::new(Some(0)) else {
            // SAFETY: ending the shim without running the zygote's destructors.
            unsafe { libc::_exit(0) }
        };
        let me = setup.me;
        let pristine = Pristine::now();
        // SAFETY: reading the C library's environment pointer (the zygote's, empty).
        let own_env = unsafe { environ };
        let mut prepared = Prepared::ahead(&rehearse(last), me, None);
        let mut uses = 0;
        let quit = |prepared: Prepared| -> ! {
            prepared.discard();
            // SAFETY: ending the shim without running the zygote's destructors.
            unsafe { libc::_exit(0) }
        };
        loop {
            let Ok((body, passed)) = read_message(chan.as_raw_fd()) else {
                quit(prepared)
            };
            let (reusable, kept) = match serde_json::from_slice::<ZygoteRequest>(&body) {
                Ok(req) => shim_from_zygote(&setup, req, passed, filter, prepared, own_env),
                // Undecodable: its descriptors close here, so its caller sees the call end.
                Err(_) => {
                    drop(passed);
                    prepared.discard();
                    (true, None)
                }
            };
            uses += 1;
            let clean = reusable && pristine.as_ref().is_some_and(Pristine::holds);
            if !clean || uses >= SHIM_USES {
                if let Some((_, cg)) = kept {
                    cg.remove();
                }
                // SAFETY: as in `quit`.
                unsafe { libc::_exit(0) }
            }
            // Ready for the next command (like the last one) before saying so.
            prepared = Prepared::ahead(&Hint::of(&body), me, kept);
            if linux::write_all(notify.as_raw_fd(), &[FREE]).is_err() {
                quit(prepared)
            }
        }
    }

    /// The byte a shim sends once it is ready for another command.
    const FREE: u8 = b'F';

    /// What about a shim a command could change from outside (same user: resource limits,
    /// niceness, CPU affinity, I/O priority, scheduling policy) and the next command would
    /// inherit, as found when it was forked; and no process of the last command left. A
    /// shim that finds itself changed retires instead of running another command.
    struct Pristine {
        rlimits: Vec<(libc::rlim_t, libc::rlim_t)>,
        nice: i32,
        affinity: Vec<u8>,
        ioprio: i64,
    }

    /// The resource limits Linux has: `RLIMIT_CPU` (0) to `RLIMIT_RTTIME` (15).
    const RLIMITS: i32 = 16;

    impl Pristine {
        fn now() -> Option<Pristine> {
            let mut rlimits = Vec::new();
            for r in 0..RLIMITS {
                let mut l = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: prlimit on ourselves into local storage.
                if unsafe { libc::prlimit(0, r as _, std::ptr::null(), &mut l) } != 0 {
                    return None;
                }
                rlimits.push((l.rlim_cur, l.rlim_max));
            }
            // SAFETY: plain queries of our own scheduling state into local storage.
            unsafe {
                *libc::__errno_location() = 0;
                let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
                if nice == -1 && *libc::__errno_location() != 0 {
                    return None;
                }
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0
                {
                    return None;
                }
                let affinity = std::slice::from_raw_parts(
                    &set as *const libc::cpu_set_t as *const u8,
                    std::mem::size_of::<libc::cpu_set_t>(),
                )
                .to_vec();
                // IOPRIO_WHO_PROCESS (1), this process.
                let ioprio = libc::syscall(libc::SYS_ioprio_get, 1, 0);
                if ioprio < 0 || libc::sched_getscheduler(0) != libc::SCHED_OTHER {
                    return None;
                }
                Some(Pristine {
                    rlimits,
                    nice,
                    affinity,
                    ioprio,
                })
            }
        }

        /// Whether this shim is still as it was forked, with no child left.
        fn holds(&self) -> bool {
            let mut st = 0;
            // SAFETY: waitpid on our own children (none expected: ECHILD).
            let childless = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) } < 0;
            childless
                && Pristine::now().is_some_and(|now| {
                    now.rlimits == self.rlimits
                        && now.nice == self.nice
                        && now.affinity == self.affinity
                        && now.ioprio == self.ioprio
                })
        }
    }

    /// While no request is there yet: goes through what taking one like `last` will do —
    /// decoding it, making the C strings of its command and environment — and touches the
    /// stack, so that the pages this copy of the zygote writes to are its own (copy-on-write
    /// after the fork) and the code is mapped before a call waits on it. Returns the
    /// settings to prepare the layers for.
    fn rehearse(last: &[u8]) -> Hint {
        let mut stack = [0u8; 32 * 1024];
        for page in stack.chunks_mut(4096) {
            page[0] = 1;
        }
        std::hint::black_box(&mut stack);
        let Ok(req) = serde_json::from_slice::<ZygoteRequest>(last) else {
            return Hint::default();
        };
        let strings: Vec<CString> = req
            .argv
            .iter()
            .chain(req.env.iter().map(|(k, _)| k))
            .filter_map(|a| CString::new(a.as_bytes()).ok())
            .collect();
        std::hint::black_box(strings);
        Hint::from(req)
    }

    impl Hint {
        /// The settings of the request `body` (none when it does not decode).
        fn of(body: &[u8]) -> Hint {
            serde_json::from_slice::<ZygoteRequest>(body)
                .map(Hint::from)
                .unwrap_or_default()
        }

        fn from(req: ZygoteRequest) -> Hint {
            Hint {
                landlock: req.spec.child.landlock,
                cgroup: req.spec.child.cgroup,
            }
        }
    }

    /// Runs one command handed from the zygote: takes the passed descriptors as stdout,
    /// stderr and control socket, moves into the command's directory and environment,
    /// tells the server its pid, supervises the command and reports its wait status. Then
    /// waits for the server to let go of the call. Returns whether the shim may run another
    /// command, and the command's cgroup (empty now) for the next one to use or remove.
    fn shim_from_zygote(
        setup: &Setup,
        req: ZygoteRequest,
        fds: Vec<std::os::fd::OwnedFd>,
        filter: &ZygoteFilter,
        prepared: Prepared,
        own_env: *mut *mut libc::c_char,
    ) -> (bool, Option<KeptCgroup>) {
        // SAFETY: descriptor juggling in our own single-threaded process.
        unsafe {
            libc::dup2(fds[0].as_raw_fd(), 1);
            libc::dup2(fds[1].as_raw_fd(), 2);
        }
        let ctl = fds[2].as_raw_fd();
        if linux::write_all(ctl, &setup.me.to_le_bytes()).is_err() {
            prepared.discard();
            return (release(fds, None), None);
        }
        let ready = (|| {
            std::env::set_current_dir(&req.cwd)
                .map_err(|e| (format!("cannot enter {}: {e}", req.cwd.display()), 126 << 8))?;
            let failed = |what: String| (what, (SHIM_FAILED as i32) << 8);
            // The command's environment, built once as a C array and made this process's
            // `environ` (the zygote's is empty; single-threaded, so replacing it is safe):
            // execvp then searches the command's own PATH and passes exactly these
            // variables, without a setenv per variable.
            let envp = EnvBlock::new(&req.env)
                .ok_or_else(|| failed("invalid environment variable".into()))?;
            let argv = req
                .argv
                .iter()
                .map(|a| CString::new(a.as_bytes()))
                .collect::<Result<Vec<_>, _>>()
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| failed("invalid command".into()))?;
            let bpf = filter
                .for_command(&req.spec.child)
                .map_err(|e| failed(format!("cannot prepare the seccomp layer: {e}")))?;
            Ok((argv, bpf, envp))
        })();
        let (argv, bpf, mut envp) = match ready {
            Ok(r) => r,
            Err((what, st)) => {
                eprintln!("mcp-commander: {what}");
                prepared.discard();
                return (release(fds, Some(st)), None);
            }
        };
        // SAFETY: single-threaded; the block outlives the command's start (the caller
        // restores our own `environ` afterwards).
        unsafe { environ = envp.ptrs.as_mut_ptr() };
        let supervised = supervise(setup, &req.spec, argv, ctl, bpf.as_deref(), prepared);
        // SAFETY: single-threaded; our own (empty) environment again, before the command's
        // block is freed.
        unsafe { environ = own_env };
        drop(envp);
        match supervised {
            Ok((st, cgroup)) => {
                let reusable = release(fds, Some(st));
                let spec = req.spec.child.cgroup;
                (reusable, spec.zip(cgroup))
            }
            Err(code) => {
                release(fds, Some((code as i32) << 8));
                (false, None)
            }
        }
    }

    /// The end of a call: every copy we hold of the output pipes goes first (so its
    /// readers see EOF without waiting for us), then the status (if any) goes to the server,
    /// and the shim waits until the server has closed the control socket: only then can no
    /// late kill meant for this call reach the shim's next command. True when it did in
    /// time.
    fn release(mut fds: Vec<std::os::fd::OwnedFd>, status: Option<i32>) -> bool {
        // SAFETY: replacing our stdout/stderr with our stdin, /dev/null (see `spare_shim`),
        // and going back to `/`.
        unsafe {
            libc::dup2(0, 1);
            libc::dup2(0, 2);
            libc::chdir(c"/".as_ptr());
        }
        // The passed stdout and stderr (the control socket stays).
        fds.drain(..2);
        let ctl = fds[0].as_raw_fd();
        if let Some(st) = status {
            let _ = linux::write_all(ctl, &st.to_le_bytes());
        }
        let until = Instant::now() + RELEASE_WAIT;
        loop {
            let mut fd = libc::pollfd {
                fd: ctl,
                events: 0,
                revents: 0,
            };
            let left = until.saturating_duration_since(Instant::now());
            // SAFETY: polling one valid descriptor for its hang-up.
            let n = unsafe { libc::poll(&mut fd, 1, left.as_millis() as i32 + 1) };
            if n > 0 && fd.revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                return true;
            }
            if n == 0 || Instant::now() >= until {
                return false;
            }
            if n > 0 {
                // Data from the server after the status (it sends none): not ours to read.
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn parse(args: &[&str]) -> Result<ZygoteArgs, String> {
        parse_zygote_args(args.iter().map(OsString::from))
    }

    #[test]
    fn zygote_arguments_round_trip() {
        for seccomp in [None, Some(false), Some(true)] {
            let mut args: Vec<String> = zygote_seccomp_arg(seccomp)
                .into_iter()
                .map(String::from)
                .collect();
            args.push(zygote_protect_arg(&[4242, 17]));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let want = ZygoteArgs {
                seccomp,
                protect: vec![4242, 17],
            };
            assert_eq!(parse(&args), Ok(want.clone()));
            // In either order.
            let reversed: Vec<&str> = args.iter().rev().copied().collect();
            assert_eq!(parse(&reversed), Ok(want));
        }
        assert_eq!(
            parse(&["--protect=7"]),
            Ok(ZygoteArgs {
                seccomp: None,
                protect: vec![7]
            })
        );
        // A server that is pid 1 of its namespace has a parent pid of 0: not sent.
        assert_eq!(zygote_protect_arg(&[1, 0]), "--protect=1");
        assert_eq!(zygote_protect_arg(&[0, -3]), "--protect=");
        assert_eq!(parse(&["--protect="]).map(|a| a.protect), Ok(vec![]));
    }

    #[test]
    fn bad_zygote_arguments_are_refused() {
        for bad in [
            &[][..],
            &["--seccomp=allow-network"],
            &["--protect=1,,2"],
            &["--protect=1,x"],
            &["--protect=0"],
            &["--protect=-1"],
            &["--protect=1 "],
            &["--protect=99999999999"],
            &["--protect=1", "--protect=2"],
            &[
                "--seccomp=deny-network",
                "--seccomp=allow-network",
                "--protect=1",
            ],
            &["--protect=1", "--seccomp=everything"],
            &["--protect", "1"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let not_utf8 = OsString::from_vec(b"--seccomp=allow-network\xff".to_vec());
            assert!(parse_zygote_args([OsString::from("--protect=1"), not_utf8]).is_err());
        }
    }
}
