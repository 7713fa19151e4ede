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
//! above. The server sends each command ([`ZygoteRequest`], with the output pipes and a
//! control socket attached) as one message on a sequenced-packet socket, the zygote's
//! stdin, which every idle shim waits on: the kernel gives the message, whole, to one of
//! them (no hop through the zygote; a stopped or killed shim takes none and leaves no half
//! message). The shim tells the zygote it took one (the zygote forks a new shim only when
//! none is idle), reports its pid and the command's wait status on the control socket
//! rather than exiting like the command (the status as soon as the tree is gone), waits
//! until the server has let go of the call, prepares for the next command and says it is
//! free. Shims are forked *before* their request and reused: an idle shim waits with the
//! Landlock ruleset and the cgroup of its last command's settings ready (a fresh ruleset
//! per command; the cgroup is the last command's again when nothing of it is left and it is
//! as it was made, else a fresh one; the layers apply to the command's child, never to the
//! shim) — so neither a fork nor a cgroup's creation is on a call's path, and in a steady
//! stream of calls nothing is forked but the commands (a fork per command, and the exit
//! that tore its copy of the zygote down again, cost more CPU than the rest of the sandbox
//! together). Shims and cgroups are reused only for commands under Landlock (without it a
//! command could write its cgroup and its shim's `/proc` files). A shim runs no further
//! command once anything a command can change about it from outside (its niceness, I/O
//! priority, scheduling policy; its limits, where seccomp does not refuse setting another
//! process's) differs from when it was forked, once a process of the last command is
//! left, and after 1,000 commands; each command's child resets the CPU affinity to the
//! shim's at fork. The zygote kills a shim that stops (a command can stop its idle
//! siblings where Landlock's signal scope is missing), and a request that no shim took
//! for a second makes it kill the stopped ones and fork a fresh one. The zygote installs
//! the seccomp filter on itself once,
//! so its shims and commands inherit it instead of loading it per command; hence one
//! zygote per seccomp mode. The server names the processes that filter protects (itself and
//! its parent) on the zygote's command line ([`ZYGOTE_PROTECT`]), and where the commands'
//! cgroups go ([`ZYGOTE_CGROUP_BASE`]). The exec'd form is the fallback.
//!
//! `__reaper --probe <spec>` instead applies Landlock and seccomp in a child and prints
//! whether they really bite, as JSON: the start-up probe of [`super::sandbox::Sandbox`].

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sandbox::{ChildSpec, ProbeResult, WritableDir};

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

/// `__reaper --zygote --cgroup-base=<dir>`: where the shims make the commands' cgroups,
/// so the zygote can end and remove those of a shim that was killed.
pub const ZYGOTE_CGROUP_BASE: &str = "--cgroup-base=";

/// The zygote argument naming the cgroup base, when the cgroup layer is on.
pub fn zygote_cgroup_arg(base: Option<&Path>) -> Option<std::ffi::OsString> {
    base.map(|b| {
        let mut arg = std::ffi::OsString::from(ZYGOTE_CGROUP_BASE);
        arg.push(b);
        arg
    })
}

/// `__reaper --zygote --idle-retire=<ms>`: how long a shim waits idle for a request
/// before it retires (default [`IDLE_RETIRE`]), so the pool shrinks back after a burst.
pub const ZYGOTE_IDLE_RETIRE: &str = "--idle-retire=";

/// How long a shim waits idle before it retires, unless `--idle-retire=` says otherwise.
/// (The zygote always keeps one idle: in a quiet server that one is replaced once a
/// minute.)
pub const IDLE_RETIRE: std::time::Duration = std::time::Duration::from_secs(60);

/// What `__reaper --zygote` is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZygoteArgs {
    /// `Some(deny_network)` when the zygote installs the seccomp filter.
    pub seccomp: Option<bool>,
    /// The server's pids to protect (the zygote adds its own).
    pub protect: Vec<i32>,
    /// Where the commands' cgroups are made, when that layer is on.
    pub cgroup_base: Option<PathBuf>,
    /// How long a shim waits idle before it retires.
    pub idle_retire: std::time::Duration,
}

/// Parses the arguments after `--zygote`: an optional seccomp mode, the required
/// `--protect=` list of positive pids (possibly empty), an optional `--cgroup-base=`
/// absolute directory and an optional `--idle-retire=` positive number of milliseconds,
/// in any order, each at most once.
pub fn parse_zygote_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<ZygoteArgs, String> {
    let mut seccomp = None;
    let mut protect = None;
    let mut cgroup_base: Option<PathBuf> = None;
    let mut idle_retire = None;
    for a in args {
        if let Some(dir) = a
            .as_encoded_bytes()
            .strip_prefix(ZYGOTE_CGROUP_BASE.as_bytes())
        {
            let dir = PathBuf::from(std::ffi::OsStr::from_bytes(dir));
            if !dir.is_absolute() {
                return Err(format!("not an absolute directory: {a:?}"));
            }
            if cgroup_base.replace(dir).is_some() {
                return Err(format!("a second {ZYGOTE_CGROUP_BASE}"));
            }
            continue;
        }
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
        } else if let Some(ms) = a.strip_prefix(ZYGOTE_IDLE_RETIRE) {
            let ms = ms
                .parse::<u64>()
                .ok()
                .filter(|&ms| ms > 0)
                .ok_or_else(|| format!("not a positive number of milliseconds: {a}"))?;
            if idle_retire
                .replace(std::time::Duration::from_millis(ms))
                .is_some()
            {
                return Err(format!("a second {ZYGOTE_IDLE_RETIRE}"));
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
    Ok(ZygoteArgs {
        seccomp,
        protect,
        cgroup_base,
        idle_retire: idle_retire.unwrap_or(IDLE_RETIRE),
    })
}

/// The largest request (JSON [`ZygoteRequest`]) a zygote's shim takes, in one message: the
/// server sends bigger ones through an exec'd shim. (The socket's send buffer, capped by
/// `net.core.wmem_max`, may refuse smaller ones: the same fallback.)
pub const MAX_REQUEST: usize = 512 * 1024;

/// What the shim gets from the server for one command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShimSpec {
    pub child: ChildSpec,
    /// Milliseconds between TERM and KILL when ending the tree.
    pub grace_ms: u64,
}

/// One command for the zygote's shims (`__reaper --zygote`): sent as this JSON in one
/// message on the zygote's sequenced-packet socket, with the command's stdout and stderr
/// pipes and the shim's end of the control socket attached (at most [`MAX_REQUEST`]
/// bytes).
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
    /// The writable directories with their identities ([`super::sandbox::Sandbox::writable`]).
    pub writable: Vec<WritableDir>,
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
    writable: &[WritableDir],
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

    use super::super::linux::{self, Rlimit, RulesetError};
    use super::super::sandbox::{self, WritableDir};
    use super::{ProbeResult, ProbeSpec, ShimSpec, ZygoteArgs, ZygoteRequest, MAX_REQUEST};

    /// Exit code when the shim itself cannot do its job (bad spec, layer not applicable).
    const SHIM_FAILED: u8 = 125;

    /// Exit code when the working directory was replaced after the server checked it
    /// ([`sandbox::WORKDIR_CHANGED`]): the command did not run.
    const WORKDIR_CHANGED_EXIT: u8 = 126;

    /// Why [`Prepared::take`] has no layers for a command.
    enum Taken {
        WorkdirChanged,
        Failed(String),
    }

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
        landlock: Option<&[WritableDir]>,
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
                result.landlock = Err(e.to_string());
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
        let setup = match Setup::new(None, false) {
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
        /// The CPU affinity each command starts with (a zygote shim's at fork: a sibling's
        /// command may narrow the shim's since); `None` leaves the shim's.
        affinity: Option<libc::cpu_set_t>,
        /// The shim's hard limits, by resource (`None`: unreadable). Its commands inherit
        /// them, and they stay as they are: seccomp refuses a command setting another
        /// process's limits, and without seccomp a shim whose limits changed runs no
        /// further command ([`Pristine`]).
        hard: [Option<libc::rlim_t>; RLIMITS as usize],
    }

    impl Setup {
        /// `devnull`: a `/dev/null` descriptor the shim already has (one is opened
        /// otherwise).
        fn new(devnull: Option<i32>, keep_affinity: bool) -> Result<Setup, u8> {
            // An exec'd shim is still dumpable here; a zygote's shim has it already.
            linux::first_for_the_oom_killer();
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
            let affinity = keep_affinity.then(|| {
                // SAFETY: reading our affinity into local storage.
                unsafe {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    let size = std::mem::size_of::<libc::cpu_set_t>();
                    (libc::sched_getaffinity(0, size, &mut set) == 0).then_some(set)
                }
            });
            let mut hard = [None; RLIMITS as usize];
            for (r, slot) in hard.iter_mut().enumerate() {
                let mut cur = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: reading our own limit into local storage.
                if unsafe { libc::getrlimit(r as _, &mut cur) } == 0 {
                    *slot = Some(cur.rlim_max);
                }
            }
            Ok(Setup {
                me,
                sfd,
                devnull,
                affinity: affinity.flatten(),
                hard,
            })
        }

        /// The limit a command gets for `resource` when asked for `value`: never above
        /// the hard limit it inherits (`clamped`: the child only sets it), or left to the
        /// child to read when the shim could not read its own.
        // `rlim_t` is `u64` here but not on every libc.
        #[allow(clippy::unnecessary_cast)]
        fn rlimit(&self, resource: i32, value: u64) -> Rlimit {
            let h = usize::try_from(resource)
                .ok()
                .and_then(|r| self.hard.get(r).copied().flatten());
            match h {
                Some(h) => Rlimit {
                    resource,
                    value: (value as libc::rlim_t).min(h) as u64,
                    clamped: true,
                },
                None => Rlimit {
                    resource,
                    value,
                    clamped: false,
                },
            }
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
        let Setup {
            me,
            sfd,
            devnull,
            ref affinity,
            ..
        } = *setup;
        // The shim entered the working directory by name (the zygote's shim with
        // `set_current_dir`, an exec'd one as the server started it): the directory the
        // server checked, or one put in its place since (a symlink to elsewhere)? The
        // command inherits this working directory, so it never runs in the latter.
        if !sandbox::cwd_is(spec.child.workdir_id) {
            prepared.discard();
            eprintln!("mcp-commander: {}", sandbox::WORKDIR_CHANGED);
            return Err(WORKDIR_CHANGED_EXIT);
        }

        // Everything the child needs is prepared here, before fork.
        let rlimits: Vec<Rlimit> = spec
            .child
            .rlimits
            .iter()
            .map(|&(r, v)| setup.rlimit(r.raw(), v))
            .collect();
        let (ll, cgroup) = match prepared.take(&spec.child, me) {
            Ok(layers) => layers,
            Err(Taken::WorkdirChanged) => {
                eprintln!("mcp-commander: {}", sandbox::WORKDIR_CHANGED);
                return Err(WORKDIR_CHANGED_EXIT);
            }
            Err(Taken::Failed(e)) => {
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
            affinity: affinity.as_ref(),
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
        affinity: Option<&'a libc::cpu_set_t>,
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
            exec_child(a)
        }
    }

    /// The command's side of the start: new group, stdin /dev/null, parent-death signal,
    /// limits, Landlock, seccomp, exec.
    unsafe fn exec_child(a: &ChildStart<'_>) -> ! {
        let ChildStart {
            shim,
            devnull,
            affinity,
            cgroup_procs,
            rlimits,
            landlock,
            bpf,
            argv,
        } = *a;
        // Back to the shim's CPU affinity at fork, whatever a sibling's command set since
        // (the kernel keeps it within the cpuset; an error leaves it as it is).
        if let Some(set) = affinity {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
        }
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
    ///
    /// Only the parent (the zygote, or the server for an exec'd shim) may stop a shim, with
    /// `kill`: with Landlock's signal scope missing, a command can signal its siblings'
    /// shims, and a stop signal queued while a shim is idle would otherwise end its next
    /// command. At most 64 records per call (a sender in a loop cannot hold the
    /// caller here).
    fn drain_signals(sfd: i32) -> bool {
        // SAFETY: getppid never fails.
        let parent = unsafe { libc::getppid() } as u32;
        let mut stop = false;
        for _ in 0..64 {
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
                break;
            }
            // `kill`/`tgkill` of the parent: a sender cannot forge those (`rt_sigqueueinfo`
            // lets it claim any pid, but only with a code of its own).
            let by_kill = info.ssi_code == libc::SI_USER || info.ssi_code == libc::SI_TKILL;
            if info.ssi_signo != libc::SIGCHLD as u32 && by_kill && info.ssi_pid == parent {
                stop = true;
            }
        }
        stop
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
    ///
    /// A ruleset is made for the directories *and their identities* (see
    /// [`linux::landlock_ruleset`]) and used only for a command whose spec names the same
    /// ones: one made for a directory that has since been replaced under the same path is
    /// never used for the new one.
    #[derive(Default)]
    struct Prepared {
        landlock: Option<(Vec<WritableDir>, std::os::fd::OwnedFd)>,
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
        ) -> Result<(Option<std::os::fd::OwnedFd>, Option<CommandCgroup>), Taken> {
            let ll = match (&child.landlock, self.landlock.take()) {
                (None, _) => None,
                // Same paths with the same identities: the rules are bound to the very
                // directories the command's spec names.
                (Some(want), Some((have, fd))) if *want == have => Some(fd),
                (Some(want), _) => Some(linux::landlock_ruleset(want).map_err(|e| match e {
                    RulesetError::WorkdirChanged => Taken::WorkdirChanged,
                    RulesetError::Failed(e) => {
                        Taken::Failed(format!("cannot prepare the Landlock layer: {e}"))
                    }
                })?),
            };
            let cgroup = match (&child.cgroup, self.cgroup.take()) {
                (Some(want), Some((have, cg))) if *want == have => Some(cg),
                (want, have) => {
                    if let Some((_, cg)) = have {
                        cg.remove();
                    }
                    match want {
                        Some(w) => Some(CommandCgroup::create(w, me).map_err(|e| {
                            Taken::Failed(format!("cannot prepare the cgroup layer: {e}"))
                        })?),
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
        /// Whether `cgroup.kill` was written: such a cgroup is never used again (the
        /// kernel kills every later `CLONE_INTO_CGROUP` child of it at birth, comparing its
        /// kill count with the one of the parent's cgroup).
        killed: std::cell::Cell<bool>,
    }

    impl CommandCgroup {
        fn create(spec: &super::super::sandbox::CgroupSpec, shim: i32) -> std::io::Result<Self> {
            // A directory that exists already is not ours to use (a leftover, or made by a
            // command that could write there to trap the next one: frozen, say): the next
            // name is tried.
            let mut tries = 0;
            let dir = loop {
                let seq = CGROUP_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let dir = spec.base.join(format!("{}{seq}", cgroup_prefix(shim)));
                match std::fs::create_dir(&dir) {
                    Ok(()) => break dir,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 16 => {
                        tries += 1;
                    }
                    Err(e) => return Err(e),
                }
            };
            let made = CommandCgroup {
                handle: std::fs::File::open(&dir)?,
                dir,
                killed: std::cell::Cell::new(false),
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
            self.killed.set(true);
            let _ = std::fs::write(self.dir.join("cgroup.kill"), "1");
        }

        /// Whether the next command with `spec` may run in this cgroup: nothing in it
        /// (no process, no child cgroup, not frozen), its limits still `spec`'s (a command
        /// that could write them, Landlock off, may have changed them), and at most
        /// [`REUSE_MEMORY`] of memory still charged to it (files a command left in a
        /// tmpfs stay charged and would count against the next command's limit).
        fn reusable(&self, spec: &super::super::sandbox::CgroupSpec) -> bool {
            if self.killed.get() {
                return false;
            }
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
                killed: std::cell::Cell::new(false),
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
            // A cgroup that `cgroup.kill` was written to: never again.
            let (_keep, killed) = fake(&[]);
            killed.killed.set(true);
            assert!(!killed.reusable(&spec));
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

    /// The zygote: a long-lived, single-threaded, already-initialised shim that keeps one
    /// idle shim or more waiting on the server's socket (its stdin), so a command does not
    /// pay for exec'ing and relocating this binary. It is the subreaper of what dead shims
    /// leave behind, and when the server goes away (hang-up) it ends every tree and exits.
    fn zygote(args: ZygoteArgs) -> u8 {
        linux::first_for_the_oom_killer();
        // SAFETY: prctl/setrlimit on this single-threaded process.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            linux::set_rlimit(libc::RLIMIT_CORE as i32, 0);
        }
        let cgroup_base = args.cgroup_base.clone();
        // Shims waiting on the server's socket give up after this long idle and retire
        // (the option is the socket's, so every shim's copy has it).
        let idle = libc::timeval {
            tv_sec: args.idle_retire.as_secs() as libc::time_t,
            tv_usec: args.idle_retire.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: setsockopt with a timeval on our stdin (a socket; on anything else it
        // fails and shims never retire idle).
        unsafe {
            libc::setsockopt(
                0,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &idle as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
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
        let mut shims = Shims {
            bases: cgroup_base.into_iter().collect(),
            ..Shims::default()
        };
        let mut pool = Pool::default();
        let mut swept = Instant::now();
        loop {
            if !pool.has_idle() && pool.shims.len() < POOL_MAX {
                match fork_spare(sfd, &filter) {
                    Some(sp) => {
                        shims.live.insert(sp.pid);
                        pool.shims.push(sp);
                    }
                    // No fork now (EAGAIN under a process limit): try again shortly.
                    None => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            // Requests are not ours to read (the shims take them); only the server hanging
            // up wakes us on fd 0.
            let mut fds = vec![
                libc::pollfd {
                    fd: 0,
                    events: libc::POLLRDHUP,
                    revents: 0,
                },
                pollin(sfd),
            ];
            fds.extend(pool.shims.iter().map(|s| pollin(s.notify.as_raw_fd())));
            let wait = Duration::from_secs(1).saturating_sub(swept.elapsed());
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
            if fds[0].revents != 0 {
                break;
            }
            shims.reap();
            let revents: Vec<i16> = fds[2..].iter().map(|f| f.revents).collect();
            pool.update(&revents, &shims.live);
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
                if pool.unstick(&shims.live) && pool.shims.len() < POOL_MAX {
                    if let Some(sp) = fork_spare(sfd, &filter) {
                        shims.live.insert(sp.pid);
                        pool.shims.push(sp);
                    }
                }
            }
        }
        // Idle shims see the server's socket end, remove what they prepared and exit; busy
        // ones do once their command is over.
        drop(pool);
        // The server is gone: the shims saw their control sockets close and are ending
        // their trees; give them the grace, then kill whatever is left.
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until && shims.reap() {
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
            if !shims.reap() || Instant::now() > until {
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
        /// Where the shims make their cgroups (`--cgroup-base=`).
        bases: Vec<PathBuf>,
        /// Cgroups of killed shims not yet removable (still populated), with retries left.
        leftovers: Vec<(PathBuf, u8)>,
    }

    impl Shims {
        /// Reaps exited children; false once there are none. A shim killed by a
        /// signal (by the server, by us, by a command) removed nothing, and one on an error
        /// path may not have: its cgroups' processes are killed and the cgroups removed,
        /// now or on a later sweep.
        fn reap(&mut self) -> bool {
            loop {
                let mut st = 0;
                // SAFETY: waitpid on our own children.
                let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG | libc::WUNTRACED) };
                if r <= 0 {
                    return r == 0;
                }
                if libc::WIFSTOPPED(st) {
                    // Stopped (a command can stop its siblings where Landlock's signal scope
                    // is missing): idle, it would sit on the next request the kernel gives
                    // it; busy, on its call until the timeout. Killed, its call ends now and
                    // a fresh shim takes the next.
                    if self.live.contains(&r) {
                        // SAFETY: killing our own (stopped) child.
                        unsafe { libc::kill(r, libc::SIGKILL) };
                    }
                    continue;
                }
                // Whatever a shim left (killed, or an error path that did not remove its
                // cgroup): its cgroups' processes are killed and the cgroups removed.
                if self.live.remove(&r) {
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
            let ptrs: Vec<*mut libc::c_char> = strings
                .iter()
                .map(|c| c.as_ptr() as *mut libc::c_char)
                .chain(std::iter::once(std::ptr::null_mut()))
                .collect();
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
        landlock: Option<Vec<WritableDir>>,
        cgroup: Option<super::super::sandbox::CgroupSpec>,
    }

    /// How many shims the zygote runs at most (idle or busy); a request finds one idle
    /// unless more than this many commands run at once.
    const POOL_MAX: usize = 256;

    /// Where a shim of the zygote's pool is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Phase {
        /// Waiting for a request (`FREE` said, or freshly forked).
        Idle,
        /// Took a request (`TOOK_REQUEST` said), running its command.
        Busy,
    }

    /// The byte a shim sends when it has taken a request off the server's socket.
    const TOOK_REQUEST: u8 = b'T';

    /// A shim of the zygote's pool (see [`spare_shim`]).
    struct Spare {
        pid: i32,
        /// Our end of the pipe it says `TOOK_REQUEST` and `FREE` on.
        notify: std::os::fd::OwnedFd,
        phase: Phase,
    }

    impl Spare {
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
                    (TOOK_REQUEST, Phase::Idle) => Phase::Busy,
                    (FREE, Phase::Busy) => Phase::Idle,
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
        /// Whether a shim took a request since the last [`Pool::unstick`].
        took: bool,
    }

    impl Pool {
        fn has_idle(&self) -> bool {
            self.shims.iter().any(|s| s.phase == Phase::Idle)
        }

        /// Acts on what `revents[i]` says of shim `i`.
        fn update(&mut self, revents: &[i16], live: &std::collections::HashSet<i32>) {
            let mut i = 0;
            let mut took = false;
            self.shims.retain_mut(|s| {
                let ev = revents.get(i).copied().unwrap_or(0);
                i += 1;
                if ev == 0 {
                    return true;
                }
                match s.hear() {
                    // Every byte is a request taken or a command done.
                    Heard::Fine => {
                        took = true;
                        true
                    }
                    // It exited (retired) or was killed: the zygote reaps it.
                    Heard::Gone => false,
                    // Not a shim to count on any more.
                    Heard::OutOfTurn => {
                        kill_child(s.pid, live);
                        false
                    }
                }
            });
            self.took |= took;
        }

        /// Called once a second: a request that waits on the server's socket while no
        /// shim took one for a second is stuck — the idle shims were stopped (a command
        /// can `kill -STOP` its siblings where only seccomp protects the zygote), or the
        /// one the kernel woke for it was stopped before it read it. The stopped ones are
        /// killed; true when a fresh shim should be forked to take the request.
        fn unstick(&mut self, live: &std::collections::HashSet<i32>) -> bool {
            let stuck = !self.took && linux::pending_bytes(0).is_some_and(|n| n > 0);
            self.took = false;
            if stuck {
                self.shims.retain(|s| {
                    let stopped = linux::is_stopped(s.pid);
                    if stopped {
                        kill_child(s.pid, live);
                    }
                    !stopped
                });
            }
            stuck
        }
    }

    /// Kills the zygote's child `pid` if it is not reaped yet (a reaped one's pid may be
    /// someone else's now).
    fn kill_child(pid: i32, live: &std::collections::HashSet<i32>) {
        if live.contains(&pid) {
            // SAFETY: killing our own child (at worst a zombie).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }

    /// Forks a new shim, which takes requests off the server's socket (our stdin). `None`
    /// when fork failed.
    fn fork_spare(zygote_sfd: i32, filter: &ZygoteFilter) -> Option<Spare> {
        use std::os::fd::FromRawFd;
        // What the shim must stay (the zygote cannot be changed by a command: seccomp
        // protects it).
        let baseline = Pristine::now();
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
            drop(notify);
            // The server's socket moves off fd 0 (every command's stdin is /dev/null
            // there), close-on-exec: no command gets it.
            // SAFETY: duplicating our stdin to a free descriptor.
            let requests = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3) };
            if requests < 0 {
                // SAFETY: ending the child without running the zygote's destructors.
                unsafe { libc::_exit(0) }
            }
            // SAFETY: we own the fresh duplicate.
            let requests = unsafe { std::os::fd::OwnedFd::from_raw_fd(requests) };
            // The other shims' pipes stay the zygote's alone.
            linux::close_all_but(&[zygote_sfd, requests.as_raw_fd(), theirs_notify.as_raw_fd()]);
            spare_shim(zygote_sfd, filter, &baseline, requests, theirs_notify);
        }
        (pid > 0).then_some(Spare {
            pid,
            notify,
            phase: Phase::Idle,
        })
    }

    /// One request as the server sends it: one message on the sequenced-packet socket, the
    /// JSON [`ZygoteRequest`] with three descriptors (stdout, stderr, control socket).
    /// `Err(true)` at end of stream or a broken socket, `Err(false)` for a message that is
    /// too big or without its three descriptors (dropped: its caller sees the call end).
    #[allow(clippy::type_complexity)]
    fn take_request(sock: i32, buf: &mut [u8]) -> Result<(usize, Vec<std::os::fd::OwnedFd>), bool> {
        let mut passed = Vec::new();
        match linux::recv_packet(sock, buf, &mut passed) {
            Err(_) | Ok(Some(0)) => Err(true),
            Ok(None) => Err(false),
            Ok(Some(_)) if passed.len() != 3 => Err(false),
            Ok(Some(n)) => Ok((n, passed)),
        }
    }

    /// How many commands one shim runs before it makes way for a fresh fork.
    const SHIM_USES: u32 = 1000;

    /// How long a shim waits, after reporting a command's status, for the server to let go
    /// of the call's control socket before it takes another command (otherwise it retires).
    const RELEASE_WAIT: Duration = Duration::from_secs(10);

    /// A shim: forked ahead of its first command (so neither the fork nor the cgroup's
    /// creation are on a call's path) and reused for the next ones. Idle shims wait in
    /// `recvmsg` on the server's sequenced-packet socket: the kernel gives each request,
    /// whole, to one of them (a stopped or killed shim takes none, and leaves no half
    /// message behind); the shim tells the zygote it took one, so the zygote keeps one
    /// idle. After a command the shim runs the next one only when nothing of the last one
    /// is left and the command could not have changed it ([`Pristine`]); otherwise, and
    /// after [`SHIM_USES`] commands, it exits.
    fn spare_shim(
        zygote_sfd: i32,
        filter: &ZygoteFilter,
        pristine: &Option<Pristine>,
        requests: std::os::fd::OwnedFd,
        notify: std::os::fd::OwnedFd,
    ) -> ! {
        // SAFETY: closing the zygote's signalfd and replacing the server's socket on our
        // stdin (a close-on-exec copy is `requests`) with /dev/null in this child — or
        // ending it: fd 0 is every command's stdin.
        unsafe {
            libc::close(zygote_sfd);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null < 0 || libc::dup2(null, 0) < 0 {
                libc::_exit(0);
            }
            libc::close(null);
        }
        let Ok(setup) = Setup::new(Some(0), true) else {
            // SAFETY: ending the shim without running the zygote's destructors.
            unsafe { libc::_exit(0) }
        };
        let me = setup.me;
        // SAFETY: reading the C library's environment pointer (the zygote's, empty).
        let own_env = unsafe { environ };
        let mut prepared = Prepared::ahead(&rehearse(), me, None);
        let mut uses = 0;
        let quit = |prepared: Prepared| -> ! {
            prepared.discard();
            // SAFETY: ending the shim without running the zygote's destructors.
            unsafe { libc::_exit(0) }
        };
        let mut buf = vec![0u8; MAX_REQUEST];
        loop {
            let (n, passed) = match take_request(requests.as_raw_fd(), &mut buf) {
                Ok(r) => r,
                Err(true) => quit(prepared),
                // Dropped (its descriptors close: the call ends). The server sends no such
                // message: its descriptors did not fit (a command lowered this shim's
                // `RLIMIT_NOFILE`, say) — a shim that cannot take requests retires, or it
                // would swallow every one the kernel gives it.
                Err(false) => quit(prepared),
            };
            let _ = linux::write_all(notify.as_raw_fd(), &[TOOK_REQUEST]);
            if filter.installed.is_none() && !pristine.as_ref().is_some_and(Pristine::unchanged) {
                // Changed while idle, by a sibling's command (without seccomp it may set
                // our limits): this command does not run under that (and its caller
                // learns why); the shim retires.
                refuse(passed);
                quit(prepared)
            }
            let (reusable, kept, next) = match serde_json::from_slice::<ZygoteRequest>(&buf[..n]) {
                Ok(req) => {
                    let (reusable, kept) =
                        shim_from_zygote(&setup, &req, passed, filter, prepared, own_env);
                    (reusable, kept, Hint::from(req))
                }
                // Undecodable: its descriptors close here, so its caller sees the call end.
                Err(_) => {
                    drop(passed);
                    prepared.discard();
                    (true, None, Hint::default())
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
            prepared = Prepared::ahead(&next, me, kept);
            if linux::write_all(notify.as_raw_fd(), &[FREE]).is_err() {
                quit(prepared)
            }
        }
    }

    /// Answers a request without running it: a shim changed from outside says so on the
    /// command's stderr and reports exit code 126.
    fn refuse(fds: Vec<std::os::fd::OwnedFd>) {
        let _ = linux::write_all(
            fds[1].as_raw_fd(),
            b"mcp-commander: another command changed the resource limits or scheduling of \
              the process that was to run this one; it did not run\n",
        );
        // SAFETY: getpid never fails.
        let me = unsafe { libc::getpid() };
        let _ = linux::write_all(fds[2].as_raw_fd(), &me.to_le_bytes());
        let _ = linux::write_all(fds[2].as_raw_fd(), &(126i32 << 8).to_le_bytes());
    }

    /// The byte a shim sends once it is ready for another command.
    const FREE: u8 = b'F';

    /// What about a shim a command could change from outside (same user: niceness, I/O
    /// priority, scheduling policy — and resource limits where seccomp is off, which
    /// otherwise refuses setting another process's) and every command it starts would
    /// inherit, as the zygote was when it forked the shim. A shim checks itself after each
    /// command (its own may have changed it: it retires) and, without seccomp, also after
    /// taking each request (a sibling's command may have lowered its limits while it was
    /// idle: that call is refused). (CPU affinity is not checked but reset in each
    /// command's child, to the shim's at fork: an orchestrator may change the cpuset.)
    #[derive(Clone, PartialEq)]
    struct Pristine {
        rlimits: Vec<(libc::rlim_t, libc::rlim_t)>,
        nice: i32,
        ioprio: i64,
        policy: i32,
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
                // IOPRIO_WHO_PROCESS (1), this process.
                let ioprio = libc::syscall(libc::SYS_ioprio_get, 1, 0);
                let policy = libc::sched_getscheduler(0);
                if ioprio < 0 || policy < 0 {
                    return None;
                }
                Some(Pristine {
                    rlimits,
                    nice,
                    ioprio,
                    policy,
                })
            }
        }

        /// Whether this process is as `self` says.
        fn unchanged(&self) -> bool {
            Pristine::now().is_some_and(|now| now == *self)
        }

        /// Whether this shim is as `self` says, with no child left.
        fn holds(&self) -> bool {
            let mut st = 0;
            // SAFETY: waitpid on our own children (none expected: ECHILD).
            let childless = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) } < 0;
            childless && self.unchanged()
        }
    }

    /// While no request is there yet: touches the stack, so that the pages this copy of
    /// the zygote writes to first are its own (copy-on-write after the fork) before a call
    /// waits on it. (The settings of the first command are not known yet: its layers are
    /// made when it comes; a reused shim prepares for the next like its last.)
    fn rehearse() -> Hint {
        let mut stack = [0u8; 32 * 1024];
        for page in stack.chunks_mut(4096) {
            page[0] = 1;
        }
        std::hint::black_box(&mut stack);
        Hint::default()
    }

    impl Hint {
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
        req: &ZygoteRequest,
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
                // Without Landlock the command could write to its cgroup, its shim's
                // `/proc` files, its own `cgroup.kill`: neither goes to another command.
                let landlocked = req.spec.child.landlock.is_some();
                let killed = libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL;
                let kept = match (&req.spec.child.cgroup, cgroup) {
                    (Some(spec), Some(cg)) if landlocked && !killed => Some((spec.clone(), cg)),
                    (_, Some(cg)) => {
                        cg.remove();
                        None
                    }
                    _ => None,
                };
                (reusable && landlocked, kept)
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
            let base = Path::new("/sys/fs/cgroup/x y");
            args.extend(zygote_cgroup_arg(Some(base)).and_then(|a| a.into_string().ok()));
            args.push("--idle-retire=250".into());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let want = ZygoteArgs {
                seccomp,
                protect: vec![4242, 17],
                cgroup_base: Some(base.to_path_buf()),
                idle_retire: std::time::Duration::from_millis(250),
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
                protect: vec![7],
                cgroup_base: None,
                idle_retire: IDLE_RETIRE,
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
            &["--protect=1", "--cgroup-base=relative"],
            &["--protect=1", "--cgroup-base="],
            &["--protect=1", "--cgroup-base=/a", "--cgroup-base=/b"],
            &["--protect=1", "--idle-retire=0"],
            &["--protect=1", "--idle-retire=-5"],
            &["--protect=1", "--idle-retire=1s"],
            &["--protect=1", "--idle-retire=5", "--idle-retire=6"],
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
