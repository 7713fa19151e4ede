//! A `vfork`-style spawn for commands run without the reaper shim (Linux).
//!
//! The always-on layers need resource limits (and, if on, Landlock and seccomp) set between
//! fork and exec. Through `std::process::Command::pre_exec` that forces a real `fork` of the
//! whole server (page tables, copy-on-write faults) instead of the `posix_spawn` path, which
//! cost ~0.16 ms per command. Here the child is started with
//! `clone(CLONE_VM | CLONE_VFORK)` on its own small stack, like `posix_spawn` does, and
//! makes only raw syscalls on data prepared beforehand until it execs. The server waits for
//! it through a pidfd.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::OnceLock;

use tokio::io::unix::AsyncFd;

use super::linux::{self, Rlimit};
use super::sandbox::{self, DirId};

/// What the child needs, all prepared before `clone`.
struct ChildArgs {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    /// The identity `cwd` had when the server checked it.
    cwd_id: DirId,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    rlimits: *const Rlimit,
    n_rlimits: usize,
    landlock: RawFd,
    bpf: *const seccompiler::sock_filter,
    bpf_len: usize,
    err: RawFd,
}

/// A started command and the pidfd to wait on it.
pub struct RawChild {
    pid: i32,
    pidfd: AsyncFd<OwnedFd>,
    status: Option<ExitStatus>,
}

/// The command's output pipes (read ends).
pub struct Pipes {
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// True when this kernel has pidfds (Linux 5.3+), which the waiting needs.
pub fn supported() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        // SAFETY: pidfd_open on ourselves; the fd is closed at once.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
        if fd >= 0 {
            // SAFETY: closing the fd we just got.
            unsafe { libc::close(fd as i32) };
            true
        } else {
            false
        }
    })
}

fn cstring(b: &[u8]) -> std::io::Result<CString> {
    CString::new(b).map_err(|_| std::io::Error::other("a NUL byte in the command or environment"))
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Finds `program` on the command's `PATH` (as the command's own shell would).
fn resolve(program: &str, path: Option<&str>) -> std::io::Result<PathBuf> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    for dir in path.unwrap_or("/usr/local/bin:/usr/bin:/bin").split(':') {
        let p = Path::new(if dir.is_empty() { "." } else { dir }).join(program);
        let Ok(c) = cstring(p.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: access(2) on a valid C string.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
            return Ok(p);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{program} not found on PATH"),
    ))
}

/// Everything one spawn needs.
pub struct SpawnSpec<'a> {
    pub program: &'a str,
    pub args: &'a [&'a str],
    pub env: &'a std::collections::BTreeMap<String, String>,
    pub cwd: &'a Path,
    /// The identity `cwd` had when it was checked: the child checks it is there.
    pub cwd_id: DirId,
    pub rlimits: &'a [Rlimit],
    pub landlock: Option<&'a OwnedFd>,
    pub bpf: Option<&'a [seccompiler::sock_filter]>,
}

/// Starts the command in a new process group with stdin `/dev/null` and piped output.
/// Call with the spawn registry locked, so an early exit is not reaped by the orphan sweep.
pub fn spawn(spec: &SpawnSpec<'_>) -> std::io::Result<(RawChild, Pipes)> {
    let program = resolve(spec.program, spec.env.get("PATH").map(String::as_str))?;
    let program = cstring(program.as_os_str().as_bytes())?;
    let mut argv_c = vec![cstring(spec.program.as_bytes())?];
    for a in spec.args {
        argv_c.push(cstring(a.as_bytes())?);
    }
    let envp_c = spec
        .env
        .iter()
        .map(|(k, v)| cstring(format!("{k}={v}").as_bytes()))
        .collect::<std::io::Result<Vec<_>>>()?;
    let cwd = cstring(spec.cwd.as_os_str().as_bytes())?;
    let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = envp_c.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());

    // SAFETY: opening /dev/null.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if null < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    let null = unsafe { OwnedFd::from_raw_fd(null) };
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (fail_r, fail_w) = pipe()?;
    let args = ChildArgs {
        program: program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: cwd.as_ptr(),
        cwd_id: spec.cwd_id,
        stdin: null.as_raw_fd(),
        stdout: out_w.as_raw_fd(),
        stderr: err_w.as_raw_fd(),
        rlimits: spec.rlimits.as_ptr(),
        n_rlimits: spec.rlimits.len(),
        landlock: spec.landlock.map(|f| f.as_raw_fd()).unwrap_or(-1),
        bpf: spec.bpf.map(|b| b.as_ptr()).unwrap_or(std::ptr::null()),
        bpf_len: spec.bpf.map(|b| b.len()).unwrap_or(0),
        err: fail_w.as_raw_fd(),
    };
    let mut stack = vec![0u8; 64 * 1024];
    // SAFETY: the stack top is within the allocation; 16-byte aligned as the ABI wants.
    let top = unsafe { stack.as_mut_ptr().add(stack.len()) };
    let top = (top as usize & !15) as *mut libc::c_void;

    // Block every signal so no handler of ours runs in the child (which shares our
    // memory); the child resets handlers to default before unblocking.
    // SAFETY: signal mask manipulation of this thread, restored below.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(
            child_main,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &args as *const ChildArgs as *mut libc::c_void,
        );
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        pid
    };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // CLONE_VFORK: the child has exec'd or exited by now.
    drop((out_w, err_w, fail_w, null, stack));
    let mut errno = [0u8; 4];
    // SAFETY: a non-blocking read would also do: the write end is closed everywhere now.
    let n = unsafe {
        libc::read(
            fail_r.as_raw_fd(),
            errno.as_mut_ptr() as *mut libc::c_void,
            4,
        )
    };
    if n == 4 {
        let mut st = 0;
        // SAFETY: reaping the child that failed to exec.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        return Err(std::io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
    }
    // SAFETY: pidfd_open on our own child.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        // SAFETY: ending and reaping the child we cannot wait for.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
        }
        return Err(e);
    }
    // SAFETY: a fresh pidfd we own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: the AsyncFd owns the pidfd, which stays open and unchanged while it lives.
    let pidfd = unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) }?;
    let child = RawChild {
        pid,
        pidfd,
        status: None,
    };
    Ok((
        child,
        Pipes {
            stdout: out_r,
            stderr: err_r,
        },
    ))
}

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: runs in the vfork child on its own stack: only raw syscalls on the prepared,
    // read-only arguments, then exec or _exit.
    unsafe {
        let a = &*(arg as *const ChildArgs);
        for sig in 1..libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut cur: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut cur) != 0 {
                continue;
            }
            if cur.sa_sigaction != libc::SIG_DFL
                && (cur.sa_sigaction != libc::SIG_IGN || sig == libc::SIGPIPE)
            {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        let fail = |e: i32| -> ! {
            let b = e.to_ne_bytes();
            libc::write(a.err, b.as_ptr() as *const libc::c_void, 4);
            libc::_exit(127)
        };
        let errno = || *libc::__errno_location();
        // A process group of its own. Not a session (`setsid`): with the scheduler's
        // autogroups (CONFIG_SCHED_AUTOGROUP, on by default) every session is a scheduling
        // group of its own, and creating and tearing one down per command cost ~0.1 ms of
        // server CPU per call over HTTP (p50 0.49 -> 0.63 ms in an A/B) besides changing
        // how the command and the server share the CPUs. What a session kept out — the
        // command `setpgid`-ing itself into the server's group to reach it with
        // `kill(0, …)` — the seccomp filter refuses instead (`linux::signal_guard`), and
        // Landlock's signal scope (Linux 6.12+) would stop the signal anyway.
        if libc::setpgid(0, 0) != 0 {
            fail(errno());
        }
        if libc::dup2(a.stdin, 0) < 0 || libc::dup2(a.stdout, 1) < 0 || libc::dup2(a.stderr, 2) < 0
        {
            fail(errno());
        }
        if libc::chdir(a.cwd) != 0 {
            fail(errno());
        }
        // Entered by name: the directory the server checked, or one put in its place
        // since (a symlink to elsewhere)? Never run the command in the latter.
        if !sandbox::cwd_is(a.cwd_id) {
            fail(sandbox::WORKDIR_CHANGED_ERRNO);
        }
        let rlimits = std::slice::from_raw_parts(a.rlimits, a.n_rlimits);
        let bpf = (!a.bpf.is_null()).then(|| std::slice::from_raw_parts(a.bpf, a.bpf_len));
        if let Err((_, e)) = linux::enforce(rlimits, a.landlock, bpf) {
            fail(e);
        }
        libc::execve(a.program, a.argv, a.envp);
        fail(errno())
    }
}

impl RawChild {
    /// The child's pid (its process group id too).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The exit status if it already exited (reaping it).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            let mut st = 0;
            // SAFETY: reaping our own child, without blocking.
            if unsafe { libc::waitpid(self.pid, &mut st, libc::WNOHANG) } == self.pid {
                self.status = Some(ExitStatus::from_raw(st));
            }
        }
        self.status
    }

    /// Waits for the child to exit and reaps it. Cancel-safe.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(st) = self.status {
            return Ok(st);
        }
        loop {
            let mut guard = self.pidfd.readable().await?;
            let mut st = 0;
            // SAFETY: reaping our own child, without blocking.
            let r = unsafe { libc::waitpid(self.pid, &mut st, libc::WNOHANG) };
            if r == self.pid {
                let st = ExitStatus::from_raw(st);
                self.status = Some(st);
                return Ok(st);
            }
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            guard.clear_ready();
        }
    }
}
