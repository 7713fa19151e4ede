//! The Linux-only pieces of the sandbox: Landlock, seccomp, the per-user task count behind
//! the relative `RLIMIT_NPROC`, the cgroup v2 probe, and `/proc` walks over a process tree.
//!
//! Everything that runs between `fork` and `exec` ([`enforce`]) is a handful of raw
//! syscalls on data prepared beforehand, so it is safe in the child of a multi-threaded
//! parent as well as in the single-threaded reaper shim.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::sandbox::{DirId, WritableDir, WORKDIR_CHANGED, WORKDIR_CHANGED_ERRNO};
use landlock::{
    Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope, ABI,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// The Landlock ABI the running kernel offers (0 when it has none).
pub fn landlock_abi() -> i32 {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a null attribute only queries the ABI.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    };
    if v < 0 {
        0
    } else {
        v as i32
    }
}

/// The newest ABI whose access rights we ask for; the crate drops what the kernel lacks.
const WANTED_ABI: ABI = ABI::V8;

/// Device files every command may write to.
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"];

/// Opens the directory the canonical path `real` names (`O_PATH`), refusing to follow any
/// symlink on the way (`openat2` with `RESOLVE_NO_SYMLINKS`): `real` was resolved already,
/// so a symlink in it now means a component was swapped since (`ELOOP`). Where `openat2`
/// is missing (before Linux 5.6, or refused by a container's filter) the descriptor's
/// `/proc/self/fd` link must name `real` instead.
pub fn open_real_dir(real: &Path) -> std::io::Result<OwnedFd> {
    let c = std::ffi::CString::new(real.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: a zeroed open_how is valid; openat2 reads it and the C string.
    let fd = unsafe {
        let mut how: libc::open_how = std::mem::zeroed();
        how.flags = flags as u64;
        how.resolve = libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd >= 0 {
        // SAFETY: a fresh descriptor we own.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
    }
    let e = std::io::Error::last_os_error();
    if !matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS) | Some(libc::EPERM) | Some(libc::E2BIG)
    ) {
        return Err(e);
    }
    // SAFETY: open(2) on a valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let named = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    if named != real {
        return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
    }
    Ok(fd)
}

/// The identity (device, inode) of what `fd` refers to.
pub fn fd_id(fd: BorrowedFd<'_>) -> std::io::Result<DirId> {
    // SAFETY: fstat into local storage on a valid descriptor.
    let st = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd.as_raw_fd(), &mut st) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        st
    };
    #[allow(clippy::unnecessary_cast)]
    Ok(DirId {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
    })
}

/// Why [`landlock_ruleset`] made no ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesetError {
    /// The working directory's path no longer names the directory that was checked
    /// ([`WORKDIR_CHANGED`]).
    WorkdirChanged,
    /// Landlock refused (or is missing).
    Failed(String),
}

impl std::fmt::Display for RulesetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RulesetError::WorkdirChanged => f.write_str(WORKDIR_CHANGED),
            RulesetError::Failed(e) => f.write_str(e),
        }
    }
}

impl From<RulesetError> for std::io::Error {
    fn from(e: RulesetError) -> Self {
        match e {
            RulesetError::WorkdirChanged => {
                std::io::Error::from_raw_os_error(WORKDIR_CHANGED_ERRNO)
            }
            RulesetError::Failed(e) => std::io::Error::other(e),
        }
    }
}

/// Builds a Landlock ruleset: everything readable and executable, `writable` directories
/// (and the harmless devices) writable too; and, where the kernel has it (ABI 6, Linux
/// 6.12), signal scoping: the command's processes may signal each other but nothing
/// outside their domain — not the server or any of its threads, the zygote, the shims, the
/// MCP client or other commands — by any route (`kill` of a pid, a thread id or a group,
/// `tgkill`, `rt_sigqueueinfo`, a pidfd, SIGIO through `F_SETOWN`). Returns the ruleset fd
/// to enforce later.
///
/// Each writable directory is opened by its path and its rule added only when the
/// descriptor's identity is the one recorded when the directory was checked: a path that
/// names something else by now (renamed away, a symlink to `$HOME` in its place) is not
/// made writable — an allowed or temp directory is left out, and for the working
/// directory there is no ruleset ([`RulesetError::WorkdirChanged`]). The rule is bound to
/// the descriptor, so what is writable is exactly the directory that was checked.
pub fn landlock_ruleset(writable: &[WritableDir]) -> Result<OwnedFd, RulesetError> {
    let failed = |e: &dyn std::fmt::Display| RulesetError::Failed(e.to_string());
    let all = AccessFs::from_all(WANTED_ABI);
    let read = AccessFs::from_read(WANTED_ABI);
    let mut rs = Ruleset::default()
        .handle_access(all)
        .map_err(|e| failed(&e))?
        .scope(Scope::Signal)
        .map_err(|e| failed(&e))?
        .create()
        .map_err(|e| failed(&e))?;
    let root = PathFd::new("/").map_err(|e| failed(&e))?;
    rs = rs
        .add_rule(PathBeneath::new(root, read))
        .map_err(|e| failed(&e))?;
    for dir in writable {
        // A directory that vanished since it was checked is simply not writable; one that
        // is another directory now neither.
        let fd = PathFd::new(&dir.path)
            .ok()
            .filter(|fd| fd_id(fd.as_fd()).is_ok_and(|id| id == dir.id));
        match fd {
            Some(fd) => {
                rs = rs
                    .add_rule(PathBeneath::new(fd, all))
                    .map_err(|e| failed(&format!("{}: {e}", dir.path.display())))?;
            }
            None if dir.workdir => return Err(RulesetError::WorkdirChanged),
            None => {}
        }
    }
    let file_rw = AccessFs::from_file(WANTED_ABI);
    for dev in WRITABLE_DEVICES {
        if let Ok(fd) = PathFd::new(dev) {
            rs = rs
                .add_rule(PathBeneath::new(fd, file_rw))
                .map_err(|e| failed(&format!("{dev}: {e}")))?;
        }
    }
    let fd: Option<OwnedFd> = rs.into();
    fd.ok_or_else(|| RulesetError::Failed("this kernel has no Landlock".to_string()))
}

/// The seccomp filter: no ptrace, no reading or writing other processes' memory, no
/// io_uring (which bypasses syscall filtering); with `deny_network`, no sockets other
/// than Unix ones; and no signal to any of `protect` (the server, its parent, the zygote:
/// the command runs as the same user, so the kernel would deliver a `kill -STOP` to them)
/// — see [`signal_guard`]. On x86_64, no x32 system call either ([`refuse_x32`]).
pub fn seccomp_program(deny_network: bool, protect: &[libc::pid_t]) -> Result<BpfProgram, String> {
    let program = compile_rules(deny_network, protect)?;
    #[cfg(target_arch = "x86_64")]
    let program = refuse_x32(program)?;
    Ok(program)
}

/// What every refused call gets: EPERM.
const REFUSE: SeccompAction = SeccompAction::Errno(libc::EPERM as u32);

/// The rules of [`seccomp_program`] as seccompiler compiles them: its architecture check
/// (any other `AUDIT_ARCH` kills the process), then the rules on the system call number.
fn compile_rules(deny_network: bool, protect: &[libc::pid_t]) -> Result<BpfProgram, String> {
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    let mut rules: std::collections::BTreeMap<i64, Vec<SeccompRule>> = [
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        // Another process's descriptors and memory advice: ptrace's kin.
        libc::SYS_pidfd_getfd,
        libc::SYS_process_madvise,
    ]
    .into_iter()
    .map(|n| (n, vec![]))
    .collect();
    if deny_network {
        let not_unix = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )
        .map_err(|e| e.to_string())?;
        rules.insert(
            libc::SYS_socket,
            vec![SeccompRule::new(vec![not_unix]).map_err(|e| e.to_string())?],
        );
    }
    rules.extend(signal_guard(protect).map_err(|e| e.to_string())?);
    // `prlimit64` setting another process's limits (pid not 0, a new limit given): the
    // supervising processes are not all known in advance (a reused shim whose
    // `RLIMIT_NOFILE` a command lowered could take no more requests), and a command has
    // `setrlimit` (pid 0) for its own. Reading another's limits stays allowed.
    let not_zero = |arg: u8| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::Ne, 0)
            .map_err(|e| e.to_string())
    };
    rules.insert(
        libc::SYS_prlimit64,
        vec![SeccompRule::new(vec![not_zero(0)?, not_zero(2)?]).map_err(|e| e.to_string())?],
    );
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, REFUSE, arch).map_err(|e| e.to_string())?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())
}

/// `AUDIT_ARCH_X86_64` (`EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;

/// `__X32_SYSCALL_BIT`: an x32 system call reaches the filter with `AUDIT_ARCH_X86_64` and
/// its number with this bit set.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// How many instructions seccompiler's architecture check takes at the start of a program.
#[cfg(target_arch = "x86_64")]
const ARCH_CHECK_LEN: usize = 3;

/// One classic BPF instruction.
#[cfg(target_arch = "x86_64")]
fn bpf(code: u32, jt: u8, jf: u8, k: u32) -> seccompiler::sock_filter {
    seccompiler::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// Refuses (EPERM, as every refusal of this filter) any system call numbered
/// `__X32_SYSCALL_BIT` or above. On a kernel with x32 enabled such numbers arrive with the
/// x86_64 `AUDIT_ARCH`, pass the architecture check, and match none of the rules written for
/// the x86_64 numbers: `0x40000000 | ptrace` would be allowed. EPERM rather than a kill: a
/// program probing for x32 gets an error it can handle, and an x32 program fails its first
/// call either way. (Numbers that are negative as an `int` are refused too; the kernel has
/// no such call.) seccompiler 0.5 has no option for this, so three instructions go into the
/// compiled program right after the architecture check:
///
/// ```text
/// 0  ld  [arch]                      (seccompiler)
/// 1  jeq #AUDIT_ARCH_X86_64, 3, 2    (seccompiler: jt = 1, jf = 0)
/// 2  ret #KILL_PROCESS               (seccompiler)
/// 3  ld  [nr]                        (inserted)
/// 4  jge #0x40000000, 5, 6           (inserted: jt = 0, jf = 1)
/// 5  ret #ERRNO(EPERM)               (inserted)
/// 6  … seccompiler's rules, from `ld [nr]` on
/// ```
///
/// No jump needs fixing. Classic BPF jumps only forward (offsets are unsigned), so nothing
/// after the insertion point jumps back across it, and the jumps among seccompiler's rules
/// move together, keeping their relative offsets. Before it, the only jump is the
/// architecture check's, whose targets (index 2 and index 3) do not pass it: index 3, the
/// way on for the right architecture, is now the x32 check. The exact prefix is checked
/// here, so a seccompiler that lays the program out differently is an error, not a filter
/// with a hole (the tests check the jump targets too).
#[cfg(target_arch = "x86_64")]
fn refuse_x32(mut program: BpfProgram) -> Result<BpfProgram, String> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let arch_check = [
        bpf(
            BPF_LD | BPF_W | BPF_ABS,
            0,
            0,
            std::mem::offset_of!(libc::seccomp_data, arch) as u32,
        ),
        bpf(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AUDIT_ARCH_X86_64),
        bpf(BPF_RET | BPF_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
    ];
    if program.get(..ARCH_CHECK_LEN) != Some(&arch_check[..]) {
        return Err("unexpected architecture check in seccompiler's program: no x32 rule".into());
    }
    let x32_check = [
        bpf(
            BPF_LD | BPF_W | BPF_ABS,
            0,
            0,
            std::mem::offset_of!(libc::seccomp_data, nr) as u32,
        ),
        bpf(BPF_JMP | BPF_JGE | BPF_K, 0, 1, X32_SYSCALL_BIT),
        bpf(BPF_RET | BPF_K, 0, 0, u32::from(REFUSE)),
    ];
    program.splice(ARCH_CHECK_LEN..ARCH_CHECK_LEN, x32_check);
    if program.len() > libc::BPF_MAXINSNS as usize {
        return Err(format!(
            "the seccomp program is too long ({} instructions)",
            program.len()
        ));
    }
    Ok(program)
}

/// The calls that change another process's CPU affinity or scheduling, by pid (the first
/// argument).
const PER_PROCESS_SETTINGS: [i64; 4] = [
    libc::SYS_sched_setaffinity,
    libc::SYS_sched_setscheduler,
    libc::SYS_sched_setparam,
    libc::SYS_sched_setattr,
];

/// The rules of the filter that keep commands off the protected processes. Refused (EPERM):
///
/// * `kill` of a protected pid, of a protected process's group, and of `-1` (every
///   process the user may signal, the server included);
/// * `tgkill`, `rt_sigqueueinfo`, `rt_tgsigqueueinfo` aimed at a protected process;
/// * `tkill` altogether: obsolete (libc uses `tgkill`), and it takes a bare thread id;
/// * `fcntl(F_SETOWN)` naming a protected process or group, `F_SETOWN_EX`, `ioctl(FIOSETOWN)`
///   and `ioctl(SIOCSPGRP)`: a descriptor's owner gets SIGIO from the kernel;
/// * `pidfd_send_signal` altogether: a pidfd can also come from opening any `/proc/<pid>`,
///   so the filter cannot tell whose it is (programs that try pidfds first, such as Go's
///   runtime, fall back to `kill`).
///
/// * `setpgid` into a protected process's group, from where the command's `kill(0, …)`
///   would reach it;
/// * `sched_setaffinity`, `sched_setscheduler`, `sched_setparam`, `sched_setattr` of a
///   protected process, and `setpriority`/`ioprio_set` of a protected process or group or
///   of every process of the user: a command could otherwise lower the server's or the
///   zygote's priority, and every later command would inherit the zygote's. A command
///   still sets its own and its children's. Like `kill`, these take thread ids as well: a
///   server thread's id passes the filter — for signals Landlock's scope closes that, for
///   these nothing does (the zygote, single-threaded, is covered whole). (`prlimit64` of
///   any other process is refused in [`compile_rules`].)
///
/// A command still signals its own processes and its own process group (`kill(0, …)`
/// included). This is the fallback for kernels without
/// Landlock's signal scope ([`landlock_ruleset`]), which closes what a pid filter cannot:
/// `kill` of one of the server's thread ids, SIGIO through `F_SETOWN`.
fn signal_guard(
    protect: &[libc::pid_t],
) -> Result<Vec<(i64, Vec<SeccompRule>)>, seccompiler::BackendError> {
    let arg0_is = |v: libc::pid_t| -> Result<SeccompRule, seccompiler::BackendError> {
        // The pid argument is an `int`: compare its 32 bits (a negative one as two's
        // complement).
        SeccompRule::new(vec![SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Eq,
            v as u32 as u64,
        )?])
    };
    let mut pids: Vec<libc::pid_t> = protect.iter().copied().filter(|&p| p > 0).collect();
    pids.sort_unstable();
    pids.dedup();
    let mut groups: Vec<libc::pid_t> = pids
        .iter()
        // SAFETY: getpgid has no memory effects; it fails for a pid that is gone.
        .map(|&p| unsafe { libc::getpgid(p) })
        .filter(|&g| g > 1)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let mut kill_targets = pids.clone();
    kill_targets.push(-1);
    kill_targets.extend(groups.iter().map(|g| -g));
    kill_targets.sort_unstable();
    kill_targets.dedup();
    let to = |targets: &[libc::pid_t]| -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
        targets.iter().map(|&t| arg0_is(t)).collect()
    };
    let mut rules = vec![
        (libc::SYS_pidfd_send_signal, vec![]),
        // tkill (obsolete; libc signals threads with tgkill) takes a thread id with no
        // process to check it against: refused whatever it names.
        (libc::SYS_tkill, vec![]),
        (libc::SYS_kill, to(&kill_targets)?),
    ];
    if !groups.is_empty() {
        // Joining a protected group would make the command's `kill(0, …)` reach it.
        let arg1_is = |g: &libc::pid_t| {
            SeccompRule::new(vec![SeccompCondition::new(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                *g as u32 as u64,
            )?])
        };
        rules.push((
            libc::SYS_setpgid,
            groups.iter().map(arg1_is).collect::<Result<_, _>>()?,
        ));
    }
    if !pids.is_empty() {
        rules.push((libc::SYS_tgkill, to(&pids)?));
        rules.push((libc::SYS_rt_sigqueueinfo, to(&pids)?));
        rules.push((libc::SYS_rt_tgsigqueueinfo, to(&pids)?));
        // What a process of the same user may change about another one, and every process
        // it starts inherits: resource limits, CPU affinity, scheduling.
        for nr in PER_PROCESS_SETTINGS {
            rules.push((nr, to(&pids)?));
        }
    }
    // Niceness and I/O priority: of a protected process or group, or of every process of
    // the user at once (`PRIO_USER`, `IOPRIO_WHO_USER`).
    let who_is = |which: u64, who: libc::pid_t| -> Result<SeccompRule, seccompiler::BackendError> {
        SeccompRule::new(vec![
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, which)?,
            SeccompCondition::new(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                who as u32 as u64,
            )?,
        ])
    };
    let any_of = |which: u64| -> Result<SeccompRule, seccompiler::BackendError> {
        SeccompRule::new(vec![SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Eq,
            which,
        )?])
    };
    // PRIO_PROCESS 0, PRIO_PGRP 1, PRIO_USER 2; IOPRIO_WHO_PROCESS 1, _PGRP 2, _USER 3.
    for (nr, process, group, user) in [
        (libc::SYS_setpriority, 0, 1, 2),
        (libc::SYS_ioprio_set, 1, 2, 3),
    ] {
        let mut r = vec![any_of(user)?];
        for &p in &pids {
            r.push(who_is(process, p)?);
        }
        for &g in &groups {
            r.push(who_is(group, g)?);
        }
        rules.push((nr, r));
    }
    // The owner of a descriptor gets SIGIO/SIGURG (or the `F_SETSIG` signal) from the kernel
    // itself, no signal call made: `fcntl(F_SETOWN, PID or -GROUP)` naming a protected
    // process or group is refused, and `F_SETOWN_EX`, `ioctl(FIOSETOWN)` and
    // `ioctl(SIOCSPGRP)` altogether (their owner lies behind a pointer).
    let arg_is =
        |arg: u8, v: u64| SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, v);
    let mut fcntl = vec![SeccompRule::new(vec![arg_is(1, F_SETOWN_EX)?])?];
    for t in pids.iter().copied().chain(groups.iter().map(|g| -g)) {
        fcntl.push(SeccompRule::new(vec![
            arg_is(1, libc::F_SETOWN as u64)?,
            arg_is(2, t as u32 as u64)?,
        ])?);
    }
    rules.push((libc::SYS_fcntl, fcntl));
    rules.push((
        libc::SYS_ioctl,
        vec![
            SeccompRule::new(vec![arg_is(1, FIOSETOWN)?])?,
            SeccompRule::new(vec![arg_is(1, SIOCSPGRP)?])?,
        ],
    ));
    Ok(rules)
}

/// `fcntl`'s `F_SETOWN_EX` (`<asm-generic/fcntl.h>`), and the `ioctl` requests that set a
/// descriptor's owner (`<asm-generic/sockios.h>`).
const F_SETOWN_EX: u64 = 15;
const FIOSETOWN: u64 = 0x8901;
const SIOCSPGRP: u64 = 0x8902;

/// One resource limit to set in the child.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Rlimit {
    pub resource: i32,
    pub value: u64,
    /// `value` is known to be within the hard limit the child inherits (its parent read
    /// it): the child only sets it, without reading it first.
    #[serde(default)]
    pub clamped: bool,
}

/// Makes the calling process, and everything it starts from now on, the out-of-memory
/// killer's first choice (`oom_score_adj` 1000). The zygote and the exec'd shim call it
/// before they make themselves non-dumpable (after that `/proc/self` belongs to root and
/// the write fails), so every command they start inherits it: `RLIMIT_DATA` bounds each
/// process's private memory, not shared mappings (`MAP_SHARED|MAP_ANONYMOUS`, memfd, SysV
/// shm) nor the sum over a command's processes, so without the cgroup layer a command can
/// still run the machine out of memory, and then the command, not the server or the
/// host's other processes, should be what the kernel ends. Best effort: any process may
/// raise its own score.
pub fn first_for_the_oom_killer() {
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
}

/// Applies the limits, Landlock and seccomp to the calling process. Only raw syscalls on
/// prepared data: safe between `fork` and `exec`. Returns the failing step's errno.
///
/// # Safety
/// `bpf` must be a valid program and `landlock` an open ruleset fd (or -1).
pub unsafe fn enforce(
    rlimits: &[Rlimit],
    landlock: RawFd,
    bpf: Option<&[seccompiler::sock_filter]>,
) -> Result<(), (&'static str, i32)> {
    for r in rlimits {
        if r.clamped {
            let v = r.value as libc::rlim_t;
            let new = libc::rlimit {
                rlim_cur: v,
                rlim_max: v,
            };
            libc::setrlimit(r.resource as _, &new);
        } else {
            set_rlimit(r.resource, r.value);
        }
    }
    if (landlock >= 0 || bpf.is_some()) && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        return Err(("no_new_privs", errno()));
    }
    if landlock >= 0 && libc::syscall(libc::SYS_landlock_restrict_self, landlock, 0u32) != 0 {
        return Err(("landlock", errno()));
    }
    if let Some(prog) = bpf {
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        if libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &fprog as *const libc::sock_fprog,
        ) != 0
        {
            return Err(("seccomp", errno()));
        }
    }
    Ok(())
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Lowers a limit (soft and hard) to `value`, never above the current hard limit.
///
/// # Safety
/// Plain syscalls; async-signal-safe.
pub unsafe fn set_rlimit(resource: i32, value: u64) {
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // glibc and musl type the resource differently; let the call decide.
    if libc::getrlimit(resource as _, &mut cur) != 0 {
        return;
    }
    let v = (value as libc::rlim_t).min(cur.rlim_max);
    let new = libc::rlimit {
        rlim_cur: v,
        rlim_max: v,
    };
    libc::setrlimit(resource as _, &new);
}

/// How many tasks (threads included, as `RLIMIT_NPROC` counts them) `uid` has now.
pub fn count_user_tasks(uid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0u64;
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(s) = name.to_str() else { continue };
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // The task directory's link count is its thread count plus two.
        if let Ok(m) = std::fs::metadata(Path::new("/proc").join(s).join("task")) {
            if m.uid() == uid {
                n += m.nlink().saturating_sub(2).max(1);
            }
        }
    }
    n
}

/// Parent of every process, from `/proc/*/stat`.
fn parent_map() -> HashMap<i32, i32> {
    let mut map = HashMap::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return map;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Some(ppid) = stat_field(pid, 1) {
            map.insert(pid, ppid);
        }
    }
    map
}

/// Field `n` (0 = state, 1 = ppid, ...) after the command name of `/proc/pid/stat`.
fn stat_field(pid: i32, n: usize) -> Option<i32> {
    stat_after_name(pid)?
        .split_whitespace()
        .nth(n)?
        .parse()
        .ok()
}

/// `/proc/<pid>/stat` after the command name (which is in parentheses and may contain
/// anything): the state, the ppid, ….
fn stat_after_name(pid: i32) -> Option<String> {
    let mut text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let at = text.rfind(')')? + 1;
    Some(text.split_off(at))
}

/// Every living descendant of `root`.
pub fn descendants(root: i32) -> Vec<i32> {
    let map = parent_map();
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&pid, &ppid) in &map {
        children.entry(ppid).or_default().push(pid);
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        if let Some(kids) = children.get(&p) {
            for &k in kids {
                out.push(k);
                stack.push(k);
            }
        }
    }
    out
}

/// Children that may have been reparented to this process as its subreaper: the kernel
/// hands orphans to the first live thread, the main one, so its list is enough (one read
/// instead of one per thread); all threads when the main one is gone.
pub fn adopted_children() -> Vec<i32> {
    // SAFETY: getpid never fails.
    let pid = unsafe { libc::getpid() };
    match std::fs::read_to_string(format!("/proc/self/task/{pid}/children")) {
        Ok(text) => text
            .split_whitespace()
            .filter_map(|s| s.parse::<i32>().ok())
            .collect(),
        Err(_) => own_children(),
    }
}

/// Direct children of this process (all threads), from `/proc/self/task/*/children`.
pub fn own_children() -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in rd.flatten() {
        if let Ok(text) = std::fs::read_to_string(e.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|s| s.parse::<i32>().ok()),
            );
        }
    }
    out
}

/// A writable cgroup v2 directory to create per-command cgroups in, and which resource
/// controllers its children get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupBase {
    pub dir: PathBuf,
    pub pids: bool,
    pub memory: bool,
}

/// Finds our own cgroup v2 directory and checks we can create a child cgroup there with
/// `cgroup.kill` (Linux 5.14+); `Err` says why not.
pub fn cgroup_probe() -> Result<CgroupBase, String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
    let rel = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("no cgroup v2 hierarchy")?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    let mount = mounts
        .lines()
        .find(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|t| t.starts_with("cgroup2 "))
        })
        .and_then(|l| l.split_whitespace().nth(4))
        .ok_or("cgroup v2 is not mounted")?;
    let dir = Path::new(mount).join(rel.trim_start_matches('/'));
    let writable = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        // SAFETY: access(2) on a valid C string.
        .map(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0)
        .unwrap_or(false);
    if !writable {
        return Err(format!(
            "{} is not writable (no delegated cgroup)",
            dir.display()
        ));
    }
    let probe = dir.join(format!("mcpc-probe-{}", std::process::id()));
    std::fs::create_dir(&probe)
        .map_err(|e| format!("cannot create a cgroup in {}: {e}", dir.display()))?;
    let has_kill = probe.join("cgroup.kill").exists();
    let _ = std::fs::remove_dir(&probe);
    if !has_kill {
        return Err("this kernel has no cgroup.kill (Linux 5.14+)".into());
    }
    let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    let on = |c: &str| enabled.split_whitespace().any(|x| x == c);
    Ok(CgroupBase {
        pids: on("pids"),
        memory: on("memory"),
        dir,
    })
}

/// Marks every descriptor above stderr close-on-exec. Whatever the server inherited from
/// whoever started it (a terminal's, an editor's or a supervisor's pipes and sockets) must
/// not reach the commands it runs, or the zygote. `close_range(CLOSE_RANGE_CLOEXEC)`
/// (Linux 5.11), else each entry of `/proc/self/fd`. Call it before any thread exists.
pub fn cloexec_inherited() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: only sets flags on descriptors; nothing is closed.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    } == 0;
    if done {
        return;
    }
    for fd in open_fds_above_stderr() {
        // SAFETY: F_GETFD/F_SETFD on a descriptor number; a closed one just fails.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// Whether the process `pid` is stopped (state `T`, or `t` under a tracer), from
/// `/proc/<pid>/stat`.
pub fn is_stopped(pid: i32) -> bool {
    stat_after_name(pid)
        .and_then(|rest| rest.trim_start().chars().next())
        .is_some_and(|c| c == 'T' || c == 't')
}

/// The descriptors above stderr this process has open, from `/proc/self/fd` (the listing's
/// own descriptor included; it is closed by the time the list is returned).
fn open_fds_above_stderr() -> Vec<RawFd> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .filter(|&fd| fd > 2)
                .collect()
        })
        .unwrap_or_default()
}

/// Closes every descriptor above stderr but `keep` (in a freshly forked, single-threaded
/// child): `close_range` (Linux 5.9) over the gaps, else each entry of `/proc/self/fd`.
pub fn close_all_but(keep: &[RawFd]) {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&fd| fd > 2).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from: libc::c_uint = 3;
    let mut ranges = Vec::with_capacity(keep.len() + 1);
    for &fd in &keep {
        if fd as libc::c_uint > from {
            ranges.push((from, fd as libc::c_uint - 1));
        }
        from = fd as libc::c_uint + 1;
    }
    ranges.push((from, libc::c_uint::MAX));
    // SAFETY: closing descriptor ranges this process owns and no longer wants.
    let done = ranges.iter().all(|&(lo, hi)| unsafe {
        libc::syscall(libc::SYS_close_range, lo, hi, 0 as libc::c_uint) == 0
    });
    if done {
        return;
    }
    for fd in open_fds_above_stderr() {
        if !keep.contains(&fd) {
            // SAFETY: as above (the directory's own descriptor is closed already).
            unsafe { libc::close(fd) };
        }
    }
}

/// `struct clone_args` up to `cgroup` (`CLONE_ARGS_SIZE_VER2`, Linux 5.7).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `clone3` flag: start the child in the cgroup `clone_args.cgroup` names (Linux 5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

// `mcpc_clone3(args, size, entry, arg)`: the raw `clone3` system call, and in the child —
// which starts on the stack `args` gives, with every register but rax, rcx and r11 as the
// parent had them — a call of `entry(arg)`, then `exit` with what it returns (it should
// exec or exit itself). Returns the child's pid or `-errno` in the parent. A function of
// its own in assembly because a child that shares our memory must never return into a
// Rust frame on the parent's stack (which is what `libc::syscall` would do).
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".globl mcpc_clone3",
    ".type mcpc_clone3,@function",
    ".p2align 4",
    "mcpc_clone3:",
    "push r12",
    "push r13",
    "mov r12, rdx",
    "mov r13, rcx",
    "mov eax, 435", // SYS_clone3
    "syscall",
    "test rax, rax",
    "jz 2f",
    "pop r13",
    "pop r12",
    "ret",
    "2:",
    "xor ebp, ebp",
    "mov rdi, r13",
    "call r12",
    "mov edi, eax",
    "mov eax, 60", // SYS_exit
    "syscall",
    "ud2",
    ".size mcpc_clone3, .-mcpc_clone3",
);

#[cfg(target_arch = "x86_64")]
extern "C" {
    fn mcpc_clone3(
        args: *const CloneArgs,
        size: usize,
        entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
        arg: *mut libc::c_void,
    ) -> libc::c_long;
}

/// Starts `entry(arg)` vfork-style — sharing our memory, on `stack`, with us suspended
/// until it execs or exits, like `clone(CLONE_VM | CLONE_VFORK)` — directly inside the
/// cgroup whose directory `cgroup` is open, so it never runs outside it and does not have
/// to move itself there (a `cgroup.procs` write per command). `Err(errno)` when the kernel
/// (or a container's seccomp profile) has no `clone3` or `CLONE_INTO_CGROUP`, or on other
/// architectures: the caller then starts the child the older way.
///
/// # Safety
/// As for `clone(CLONE_VM | CLONE_VFORK)`: `stack` must stay valid and unused by anything
/// else until the call returns, `arg` must be what `entry` expects, and `entry` may only do
/// what is safe in a vfork child (no allocation, no locks), ending in exec or `_exit`.
pub unsafe fn clone_vfork_into_cgroup(
    entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
    stack: &mut Vec<u8>,
    cgroup: RawFd,
) -> Result<libc::pid_t, i32> {
    #[cfg(target_arch = "x86_64")]
    {
        let args = CloneArgs {
            flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64 | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            // The kernel starts the child at stack + stack_size: that top is 16-byte
            // aligned, as the ABI wants at the entry's `call`, whatever the allocation's.
            stack: stack.as_mut_ptr() as u64,
            stack_size: {
                let base = stack.as_mut_ptr() as u64;
                ((base + stack.capacity() as u64) & !15) - base
            },
            cgroup: cgroup as u64,
            ..CloneArgs::default()
        };
        let r = mcpc_clone3(&args, std::mem::size_of::<CloneArgs>(), entry, arg);
        if r < 0 {
            Err(-r as i32)
        } else {
            Ok(r as libc::pid_t)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (entry, arg, stack, cgroup);
        Err(libc::ENOSYS)
    }
}

/// The raw fd of a ruleset, for [`enforce`].
pub fn raw(fd: &Option<OwnedFd>) -> RawFd {
    fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1)
}

/// Sends `data` as one message of the sequenced-packet socket `sock` (see
/// [`seqpacket_pair`]) with `fds` attached (`SCM_RIGHTS`). Never waits: `WouldBlock` when
/// the socket (or its peer's queue) is full.
pub fn send_packet_now(sock: RawFd, data: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let fd_bytes = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes as u32) } as usize;
    // u64 storage keeps the control buffer aligned for cmsghdr.
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr, iovec and the control buffer outlive the call; the cmsg header and
    // data are written inside the buffer CMSG_SPACE sized.
    let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c) as *mut RawFd, fds.len());
        libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // A message goes whole or not at all.
    Ok(())
}

/// One whole message of the sequenced-packet socket `sock` (see [`seqpacket_pair`]), with
/// its descriptors: `Ok(None)` when it did not fit `buf` or its descriptors did not fit
/// (what was received is dropped), `Ok(Some(0))` at end of stream.
pub fn recv_packet(
    sock: RawFd,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> std::io::Result<Option<usize>> {
    use std::os::fd::FromRawFd;
    const MAX_FDS: usize = 8;
    // SAFETY: pure size computation.
    let space =
        unsafe { libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<RawFd>()) as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: as in send_packet_now; the kernel fills at most `space` control bytes, and
    // we only read cmsgs it reports.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        let n = loop {
            let n = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
            if n >= 0 || errno() != libc::EINTR {
                break n;
            }
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c) as *const RawFd;
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                    / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        if msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
            fds.clear();
            return Ok(None);
        }
        Ok(Some(n as usize))
    }
}

/// A connected pair of Unix sequenced-packet sockets (close-on-exec): each `sendmsg` is one
/// message that one `recvmsg` takes whole — several processes can read one end, and one
/// that dies or stops never leaves half a message behind.
pub fn seqpacket_pair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: socketpair fills two descriptors we then own.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// How many bytes wait to be read on the socket `fd` (`FIONREAD`; for a sequenced-packet
/// socket the whole queue's or the next message's, depending on the kernel: zero only when
/// nothing waits); `None` when the kernel does not say.
pub fn pending_bytes(fd: RawFd) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into local storage.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    (r == 0 && n >= 0).then_some(n as usize)
}

/// Writes all of `data` to a blocking descriptor.
pub fn write_all(fd: RawFd, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        // SAFETY: writing from a valid buffer.
        let n = unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        data = &data[n as usize..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn counts_this_users_tasks() {
        // SAFETY: getuid never fails.
        let n = count_user_tasks(unsafe { libc::getuid() });
        assert!(n >= 1, "{n}");
    }

    #[test]
    fn finds_descendants() {
        let mut c = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut found = Vec::new();
        while found.len() < 2 && std::time::Instant::now() < until {
            found = descendants(me);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // SAFETY: ending the group this test started.
        unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
        let _ = c.kill();
        let _ = c.wait();
        assert!(found.contains(&(c.id() as i32)), "{found:?}");
        assert!(found.len() >= 2, "{found:?}");
    }

    #[test]
    fn passes_whole_messages_with_descriptors_over_a_seqpacket_socket() {
        let (a, b) = seqpacket_pair().unwrap();
        let file = std::fs::File::open("/dev/null").unwrap();
        send_packet_now(a.as_raw_fd(), b"hello", &[file.as_raw_fd()]).unwrap();
        send_packet_now(a.as_raw_fd(), b"world!", &[file.as_raw_fd()]).unwrap();
        // (The whole queue or the next message, depending on the kernel.)
        assert!(pending_bytes(b.as_raw_fd()).is_some_and(|n| n == 11 || n == 5));
        let mut buf = [0u8; 16];
        let mut fds = Vec::new();
        // One message per receive, whatever room there is.
        let n = recv_packet(b.as_raw_fd(), &mut buf, &mut fds).unwrap();
        assert_eq!(n.map(|n| &buf[..n]), Some(&b"hello"[..]));
        assert_eq!(fds.len(), 1);
        assert_ne!(fds[0].as_raw_fd(), file.as_raw_fd());
        // Too big for the buffer: reported and dropped whole, descriptors included.
        let mut small = [0u8; 4];
        let mut more = Vec::new();
        assert_eq!(
            recv_packet(b.as_raw_fd(), &mut small, &mut more).unwrap(),
            None
        );
        assert!(more.is_empty());
        assert_eq!(pending_bytes(b.as_raw_fd()), Some(0));
        // The other end closed: end of stream.
        drop(a);
        assert_eq!(
            recv_packet(b.as_raw_fd(), &mut buf, &mut more).unwrap(),
            Some(0)
        );
    }

    #[test]
    fn seccomp_program_compiles_with_and_without_network() {
        assert!(!seccomp_program(false, &[]).unwrap().is_empty());
        assert!(
            seccomp_program(true, &[]).unwrap().len() > seccomp_program(false, &[]).unwrap().len()
        );
    }

    /// What the kernel hands a seccomp filter (`struct seccomp_data`), as bytes.
    fn seccomp_data(arch: u32, nr: u32, args: [u64; 6]) -> [u8; 64] {
        use std::mem::offset_of;
        let mut d = [0u8; std::mem::size_of::<libc::seccomp_data>()];
        let nr_at = offset_of!(libc::seccomp_data, nr);
        let arch_at = offset_of!(libc::seccomp_data, arch);
        let args_at = offset_of!(libc::seccomp_data, args);
        d[nr_at..nr_at + 4].copy_from_slice(&nr.to_ne_bytes());
        d[arch_at..arch_at + 4].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            let at = args_at + 8 * i;
            d[at..at + 8].copy_from_slice(&a.to_ne_bytes());
        }
        d
    }

    /// A classic BPF interpreter for the instructions seccompiler and [`refuse_x32`] emit;
    /// any other opcode fails the test. Returns the `SECCOMP_RET_*` value.
    fn run_filter(program: &[seccompiler::sock_filter], data: &[u8; 64]) -> u32 {
        use libc::{
            BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K,
            BPF_LD, BPF_RET, BPF_W,
        };
        let mut a: u32 = 0;
        let mut pc = 0usize;
        loop {
            let ins = program
                .get(pc)
                .unwrap_or_else(|| panic!("ran off the end of the program at {pc}"));
            pc += 1;
            let k = ins.k;
            let jump = |taken: bool| usize::from(if taken { ins.jt } else { ins.jf });
            match u32::from(ins.code) {
                c if c == BPF_LD | BPF_W | BPF_ABS => {
                    let at = k as usize;
                    assert!(at.is_multiple_of(4) && at + 4 <= data.len(), "load at {at}");
                    a = u32::from_ne_bytes(data[at..at + 4].try_into().unwrap());
                }
                c if c == BPF_ALU | BPF_AND | BPF_K => a &= k,
                c if c == BPF_JMP | BPF_JA => pc += k as usize,
                c if c == BPF_JMP | BPF_JEQ | BPF_K => pc += jump(a == k),
                c if c == BPF_JMP | BPF_JGT | BPF_K => pc += jump(a > k),
                c if c == BPF_JMP | BPF_JGE | BPF_K => pc += jump(a >= k),
                c if c == BPF_JMP | BPF_JSET | BPF_K => pc += jump(a & k != 0),
                c if c == BPF_RET | BPF_K => return k,
                c => panic!("opcode {c:#06x} at {} is not interpreted", pc - 1),
            }
        }
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;

    /// The `AUDIT_ARCH` of the machine the tests run on.
    #[cfg(target_arch = "x86_64")]
    const NATIVE: u32 = AUDIT_ARCH_X86_64;
    #[cfg(target_arch = "aarch64")]
    const NATIVE: u32 = 183 | 0x8000_0000 | 0x4000_0000;
    #[cfg(target_arch = "riscv64")]
    const NATIVE: u32 = 243 | 0x8000_0000 | 0x4000_0000;

    /// Runs `program` on a native call `nr` with `args`.
    fn decide(program: &[seccompiler::sock_filter], nr: i64, args: &[u64]) -> u32 {
        let mut all = [0u64; 6];
        all[..args.len()].copy_from_slice(args);
        run_filter(program, &seccomp_data(NATIVE, nr as u32, all))
    }

    #[test]
    fn the_compiled_filter_allows_refuses_and_kills_as_intended() {
        // SAFETY: getpid/getppid never fail.
        let (me, parent) = unsafe { (libc::getpid(), libc::getppid()) };
        // SAFETY: getpgid of ourselves.
        let group = unsafe { libc::getpgid(0) };
        let other = 0x3fff_fff0u64; // no such pid is protected
        let neg = |p: i32| p as i64 as u64; // an `int` sign-extended into the register
        for deny_network in [false, true] {
            let p = seccomp_program(deny_network, &[me, parent]).unwrap();
            let p = &p[..];
            assert_eq!(decide(p, libc::SYS_write, &[1, 0, 0]), ALLOW);
            assert_eq!(decide(p, libc::SYS_getpid, &[]), ALLOW);
            for nr in [
                libc::SYS_ptrace,
                libc::SYS_process_vm_readv,
                libc::SYS_process_vm_writev,
                libc::SYS_io_uring_setup,
                libc::SYS_pidfd_send_signal,
            ] {
                assert_eq!(decide(p, nr, &[0, 0, 0]), EPERM, "syscall {nr}");
            }
            // Another architecture's call is ended by seccompiler's check, as before.
            let i386 = 3 | 0x4000_0000; // AUDIT_ARCH_I386
            let d = seccomp_data(i386, libc::SYS_write as u32, [0; 6]);
            assert_eq!(run_filter(p, &d), libc::SECCOMP_RET_KILL_PROCESS);
            // Signals: not to a protected process, its group or everyone; elsewhere yes.
            let sig = libc::SIGSTOP as u64;
            for target in [me, parent, -group, -1] {
                for arg in [neg(target), target as u32 as u64] {
                    assert_eq!(
                        decide(p, libc::SYS_kill, &[arg, sig]),
                        EPERM,
                        "kill {target}"
                    );
                }
            }
            for nr in [libc::SYS_rt_sigqueueinfo, libc::SYS_tgkill] {
                assert_eq!(decide(p, nr, &[me as u64, me as u64, sig]), EPERM);
                assert_eq!(decide(p, nr, &[other, other, sig]), ALLOW);
            }
            assert_eq!(decide(p, libc::SYS_kill, &[other, sig]), ALLOW);
            // tkill names a thread id of any process: refused whatever it names.
            for target in [me as u64, other, 0] {
                assert_eq!(decide(p, libc::SYS_tkill, &[target, sig]), EPERM);
            }
            // A descriptor's owner gets SIGIO from the kernel: not a protected one.
            let (setown, getfl) = (libc::F_SETOWN as u64, libc::F_GETFL as u64);
            for owner in [me as u64, neg(-group)] {
                assert_eq!(decide(p, libc::SYS_fcntl, &[3, setown, owner]), EPERM);
            }
            assert_eq!(decide(p, libc::SYS_fcntl, &[3, setown, other]), ALLOW);
            assert_eq!(decide(p, libc::SYS_fcntl, &[3, getfl, 0]), ALLOW);
            assert_eq!(decide(p, libc::SYS_fcntl, &[3, F_SETOWN_EX, 0]), EPERM);
            assert_eq!(decide(p, libc::SYS_ioctl, &[3, FIOSETOWN, 0]), EPERM);
            assert_eq!(decide(p, libc::SYS_ioctl, &[3, SIOCSPGRP, 0]), EPERM);
            assert_eq!(decide(p, libc::SYS_ioctl, &[1, 0x5401, 0]), ALLOW);
            assert_eq!(
                decide(p, libc::SYS_kill, &[neg(-(other as i32)), sig]),
                ALLOW
            );
            // kill(0, …): the command's own group.
            assert_eq!(decide(p, libc::SYS_kill, &[0, sig]), ALLOW);
            // setpgid: a group of its own or another of its groups, not a protected one.
            assert_eq!(decide(p, libc::SYS_setpgid, &[0, 0]), ALLOW);
            assert_eq!(decide(p, libc::SYS_setpgid, &[0, other]), ALLOW);
            assert_eq!(
                decide(p, libc::SYS_setpgid, &[0, group as u64]),
                EPERM,
                "setpgid into the server's group"
            );
            // Limits and scheduling: not of a protected process (or group, or everyone's
            // niceness at once); of its own (0) and of others, yes.
            // prlimit64: reading anyone's limits, setting its own (pid 0); not setting
            // another's.
            let prlimit = libc::SYS_prlimit64;
            assert_eq!(decide(p, prlimit, &[0, 7, 0x1000, 0]), ALLOW);
            assert_eq!(decide(p, prlimit, &[other, 7, 0, 0x1000]), ALLOW);
            assert_eq!(decide(p, prlimit, &[me as u64, 7, 0, 0x1000]), ALLOW);
            for pid in [me as u64, other, neg(-5)] {
                assert_eq!(decide(p, prlimit, &[pid, 7, 0x1000, 0]), EPERM, "{pid}");
            }
            for nr in PER_PROCESS_SETTINGS {
                assert_eq!(decide(p, nr, &[me as u64, 7, 0]), EPERM, "syscall {nr}");
                assert_eq!(decide(p, nr, &[parent as u64, 7, 0]), EPERM, "syscall {nr}");
                assert_eq!(decide(p, nr, &[0, 7, 0]), ALLOW, "syscall {nr}");
                assert_eq!(decide(p, nr, &[other, 7, 0]), ALLOW, "syscall {nr}");
            }
            for (nr, process, grp, user) in [
                (libc::SYS_setpriority, 0u64, 1u64, 2u64),
                (libc::SYS_ioprio_set, 1, 2, 3),
            ] {
                assert_eq!(decide(p, nr, &[process, me as u64, 5]), EPERM);
                assert_eq!(decide(p, nr, &[grp, group as u64, 5]), EPERM);
                assert_eq!(decide(p, nr, &[user, 0, 5]), EPERM);
                assert_eq!(decide(p, nr, &[process, 0, 5]), ALLOW);
                assert_eq!(decide(p, nr, &[process, other, 5]), ALLOW);
                assert_eq!(decide(p, nr, &[grp, other, 5]), ALLOW);
            }
            for nr in [libc::SYS_pidfd_getfd, libc::SYS_process_madvise] {
                assert_eq!(decide(p, nr, &[3, 4, 0]), EPERM, "syscall {nr}");
            }
            // Sockets: Unix ones always, others only without `--network deny`.
            let unix = libc::AF_UNIX as u64;
            let inet = libc::AF_INET as u64;
            assert_eq!(decide(p, libc::SYS_socket, &[unix, 1, 0]), ALLOW);
            let want = if deny_network { EPERM } else { ALLOW };
            assert_eq!(decide(p, libc::SYS_socket, &[inet, 1, 0]), want);
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn x32_system_calls_are_refused() {
        let x32 = |nr: i64| (X32_SYSCALL_BIT as i64) | nr;
        for deny_network in [false, true] {
            let p = seccomp_program(deny_network, &[1]).unwrap();
            assert_eq!(decide(&p, libc::SYS_write, &[1, 0, 0]), ALLOW);
            assert_eq!(decide(&p, libc::SYS_ptrace, &[]), EPERM);
            // 521 is x32's own ptrace number.
            for nr in [
                x32(libc::SYS_ptrace),
                x32(libc::SYS_write),
                x32(0),
                x32(521),
                x32(libc::SYS_kill),
                u32::MAX as i64,
            ] {
                assert_eq!(decide(&p, nr, &[1, 9]), EPERM, "syscall {nr:#x}");
            }
            // Without the inserted check these were allowed: the hole it closes.
            let bare = compile_rules(deny_network, &[1]).unwrap();
            assert_eq!(decide(&bare, x32(libc::SYS_ptrace), &[]), ALLOW);
            assert_eq!(decide(&bare, x32(libc::SYS_kill), &[1, 9]), ALLOW);
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_x32_check_goes_where_no_jump_crosses() {
        for deny_network in [false, true] {
            let bare = compile_rules(deny_network, &[1, 2]).unwrap();
            // No jump before the insertion point lands beyond it (jumps only go forward,
            // so none after it can cross it backwards).
            for (i, ins) in bare[..ARCH_CHECK_LEN].iter().enumerate() {
                let class = u32::from(ins.code) & 0x07;
                if class == libc::BPF_JMP {
                    let far = if u32::from(ins.code) & 0xf0 == libc::BPF_JA {
                        ins.k as usize
                    } else {
                        usize::from(ins.jt.max(ins.jf))
                    };
                    assert!(i + 1 + far <= ARCH_CHECK_LEN, "jump at {i}: {ins:?}");
                }
            }
            // Nothing else moved: the prefix, three new instructions, the rest unchanged.
            let p = seccomp_program(deny_network, &[1, 2]).unwrap();
            assert_eq!(p.len(), bare.len() + 3);
            assert_eq!(p[..ARCH_CHECK_LEN], bare[..ARCH_CHECK_LEN]);
            assert_eq!(p[ARCH_CHECK_LEN + 3..], bare[ARCH_CHECK_LEN..]);
        }
    }

    #[test]
    #[should_panic(expected = "is not interpreted")]
    fn the_test_interpreter_refuses_opcodes_it_does_not_know() {
        // BPF_LDX | BPF_W | BPF_MEM, then a return.
        let program = [
            seccompiler::sock_filter {
                code: 0x61,
                jt: 0,
                jf: 0,
                k: 0,
            },
            seccompiler::sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0,
            },
        ];
        run_filter(&program, &[0; 64]);
    }

    /// A directory `base/d`, a directory `base/h` (the stand-in for `$HOME`) and `base`
    /// itself, resolved.
    fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let t = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(t.path()).expect("canonical");
        let d = base.join("d");
        let h = base.join("h");
        std::fs::create_dir(&d).expect("mkdir d");
        std::fs::create_dir(&h).expect("mkdir h");
        (t, d, h)
    }

    /// `path` renamed away (to `path.old`) and a symlink to `target` put in its place: what
    /// a command that may write the parent can do between the check and the use.
    fn replace_with_symlink(path: &Path, target: &Path) {
        let mut old = path.as_os_str().to_owned();
        old.push(".old");
        std::fs::rename(path, &old).expect("rename");
        std::os::unix::fs::symlink(target, path).expect("symlink");
    }

    /// Whether a child process under `ruleset` can create a file in `dir`.
    fn can_create_in(ruleset: &OwnedFd, dir: &Path) -> bool {
        let file = std::ffi::CString::new(dir.join("probe").as_os_str().as_bytes()).unwrap();
        let fd = ruleset.as_raw_fd();
        // SAFETY: the child makes raw syscalls only (prctl, landlock_restrict_self, open)
        // and exits; the parent waits for it.
        unsafe {
            let pid = libc::fork();
            if pid == 0 {
                if enforce(&[], fd, None).is_err() {
                    libc::_exit(2);
                }
                let f = libc::open(
                    file.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o600,
                );
                libc::_exit(if f >= 0 { 0 } else { 1 });
            }
            assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
            assert!(
                libc::WIFEXITED(st) && libc::WEXITSTATUS(st) != 2,
                "the probe child could not enforce the ruleset ({st:#x})"
            );
            libc::WEXITSTATUS(st) == 0
        }
    }

    fn writable(path: &Path, id: DirId, workdir: bool) -> WritableDir {
        WritableDir {
            path: path.to_path_buf(),
            id,
            workdir,
        }
    }

    #[test]
    fn a_real_directory_has_the_identity_stat_gives_and_a_symlinked_path_none() {
        use std::os::unix::fs::MetadataExt;
        let (_t, d, h) = dirs();
        let m = std::fs::metadata(&d).unwrap();
        assert_eq!(
            DirId::of_real(&d).expect("identity"),
            DirId {
                dev: m.dev(),
                ino: m.ino()
            }
        );
        // A path with a symlink in it is refused even though it leads to a directory: the
        // canonical path was resolved already, a symlink there now was put in since.
        let link = d.parent().unwrap().join("l");
        std::os::unix::fs::symlink(&h, &link).unwrap();
        let e = DirId::of_real(&link).expect_err("through a symlink");
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
        let e = DirId::of_real(&link.join(".")).expect_err("below a symlink");
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
        // A file is not a directory.
        std::fs::write(d.join("f"), b"").unwrap();
        assert!(DirId::of_real(&d.join("f")).is_err());
    }

    /// F1 of the r12 review: an allowed directory (say one under the temp dir, which
    /// commands may write) renamed away and replaced by a symlink to `$HOME` after its
    /// identity was recorded: its rule must not make `$HOME` writable. (Without the
    /// identity check, `PathFd` follows the symlink and `h` is writable.)
    #[test]
    fn a_writable_dir_swapped_for_a_symlink_after_its_check_is_not_made_writable() {
        if landlock_abi() == 0 {
            println!("SKIPPED: the kernel has no Landlock");
            return;
        }
        let (_t, d, h) = dirs();
        let id = DirId::of_real(&d).unwrap();
        // As checked: `d` writable, `h` not.
        let rs = landlock_ruleset(&[writable(&d, id, false)]).expect("ruleset");
        assert!(
            can_create_in(&rs, &d),
            "the checked directory is not writable"
        );
        assert!(
            !can_create_in(&rs, &h),
            "a directory never allowed is writable"
        );

        replace_with_symlink(&d, &h);
        let rs = landlock_ruleset(&[writable(&d, id, false)]).expect("ruleset");
        assert!(
            !can_create_in(&rs, &h),
            "the symlink's target became writable through the allowed dir's rule"
        );
        assert!(!can_create_in(&rs, &d), "writable through the symlink");
        let mut old = d.as_os_str().to_owned();
        old.push(".old");
        assert!(
            !can_create_in(&rs, Path::new(&old)),
            "the renamed directory: its path no longer names it, so no rule (fail closed)"
        );
    }

    /// The same swap for the command's working directory: no ruleset at all, so the
    /// command does not run (the shim and the server report [`WORKDIR_CHANGED`]).
    #[test]
    fn a_working_directory_swapped_after_its_check_gets_no_ruleset() {
        if landlock_abi() == 0 {
            println!("SKIPPED: the kernel has no Landlock");
            return;
        }
        let (_t, d, h) = dirs();
        let id = DirId::of_real(&d).unwrap();
        assert!(landlock_ruleset(&[writable(&d, id, true)]).is_ok());
        replace_with_symlink(&d, &h);
        assert_eq!(
            landlock_ruleset(&[writable(&d, id, true)]).err(),
            Some(RulesetError::WorkdirChanged)
        );
        // Gone altogether: the same.
        std::fs::remove_file(&d).unwrap();
        assert_eq!(
            landlock_ruleset(&[writable(&d, id, true)]).err(),
            Some(RulesetError::WorkdirChanged)
        );
        // And the error reaches the server's spawn as the sentinel it words for the caller.
        let e: std::io::Error = RulesetError::WorkdirChanged.into();
        assert_eq!(e.raw_os_error(), Some(WORKDIR_CHANGED_ERRNO));
    }
}
