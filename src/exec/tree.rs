//! [`ProcessTree`]: everything one command started, and how it is ended.
//!
//! With the reaper layer the server's child is the shim ([`super::reaper`]), which owns the
//! tree: closing its stdin (the control pipe) asks it to end everything and exit, and a
//! shim that does not go in time is killed. Without it the command runs in a process group
//! of its own (pgid = its pid), and the group gets TERM, a grace
//! period, then KILL.
//!
//! Either way the server is a child subreaper, so an escapee whose shim died is reparented
//! to it; [`sweep_orphans`] kills and reaps such children (those we did not spawn and that
//! are not in our own process group), after each command and once a second.

use std::collections::HashSet;
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, Once};
use std::time::Duration;

use tokio::process::{Child, ChildStdin, Command};

use super::reaper::{ShimSpec, SUBCOMMAND};
use super::sandbox::Sandbox;
use super::{ExecRequest, ExecSettings};

/// Our direct children (shims or shells) that their callers will wait for.
static SPAWNED: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

/// How long a shim gets, beyond its own TERM grace, to end the tree and exit.
const SHIM_SLACK: Duration = Duration::from_millis(500);

fn registry() -> std::sync::MutexGuard<'static, Option<HashSet<u32>>> {
    SPAWNED.lock().unwrap_or_else(|e| e.into_inner())
}

/// The processes of one command, and how to end them.
#[derive(Debug)]
pub struct ProcessTree {
    pid: Option<u32>,
    /// The shim's stdin, when the reaper shim owns the tree.
    control: Option<ChildStdin>,
    reaper: bool,
    grace: Duration,
}

/// The server's handle on a started command: its own child (the exec'd shim or the shell),
/// or the control socket of a shim forked by the zygote.
pub enum Proc {
    Child(Child),
    #[cfg(target_os = "linux")]
    Shim(ShimConn),
    #[cfg(target_os = "linux")]
    Raw(super::spawn::RawChild),
}

/// A zygote-forked shim: it sends its pid, then the command's wait status (both `i32` LE).
///
/// The control socket joins the runtime's reactor only when the status is awaited (see
/// [`Proc::wait_eagerly`]): registered at once, the pid the shim sends as it starts would
/// wake the server in the middle of every command's start for nothing.
#[cfg(target_os = "linux")]
pub struct ShimConn {
    ctl: ShimCtl,
    buf: Vec<u8>,
    /// The control socket closed before a shim sent its pid: no shim took the request
    /// (the zygote and its shims died with it queued), so the command never started.
    untaken: bool,
}

#[cfg(target_os = "linux")]
enum ShimCtl {
    /// Non-blocking, not yet registered.
    Idle(std::os::unix::net::UnixStream),
    Registered(tokio::net::UnixStream),
    /// Registering it failed (no reactor): the command's status cannot be read.
    Lost,
}

#[cfg(target_os = "linux")]
impl ShimConn {
    fn pid(&self) -> Option<i32> {
        (self.buf.len() >= 4)
            .then(|| i32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]))
    }

    /// The socket, registered with the reactor from now on.
    fn registered(&mut self) -> std::io::Result<&mut tokio::net::UnixStream> {
        if let ShimCtl::Idle(_) = self.ctl {
            if let ShimCtl::Idle(s) = std::mem::replace(&mut self.ctl, ShimCtl::Lost) {
                self.ctl = ShimCtl::Registered(tokio::net::UnixStream::from_std(s)?);
            }
        }
        match &mut self.ctl {
            ShimCtl::Registered(s) => Ok(s),
            _ => Err(std::io::Error::other("the shim's control socket is lost")),
        }
    }

    /// Cancel-safe: bytes read so far are kept.
    async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        use tokio::io::AsyncReadExt;
        let mut tmp = [0u8; 8];
        while self.buf.len() < 8 {
            let want = 8 - self.buf.len();
            let n = self.registered()?.read(&mut tmp[..want]).await?;
            if n == 0 {
                // The shim died without reporting (killed): say so as a SIGKILL. Before
                // its pid, no shim had the request: nothing ran.
                self.untaken = self.buf.len() < 4;
                return Ok(ExitStatus::from_raw(libc::SIGKILL));
            }
            self.buf.extend_from_slice(&tmp[..n]);
        }
        let st = i32::from_le_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]);
        Ok(ExitStatus::from_raw(st))
    }

    /// Picks up the pid if it arrived but was not read yet.
    fn poll_pid(&mut self) -> Option<i32> {
        use std::io::Read;
        let mut tmp = [0u8; 8];
        while self.buf.len() < 4 {
            let want = 4 - self.buf.len();
            let got = match &mut self.ctl {
                ShimCtl::Idle(s) => s.read(&mut tmp[..want]),
                ShimCtl::Registered(s) => s.try_read(&mut tmp[..want]),
                ShimCtl::Lost => break,
            };
            match got {
                Ok(n) if n > 0 => self.buf.extend_from_slice(&tmp[..n]),
                _ => break,
            }
        }
        self.pid()
    }
}

impl Proc {
    /// Waits for the shim (or shell) to exit.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        match self {
            Proc::Child(c) => c.wait().await,
            #[cfg(target_os = "linux")]
            Proc::Shim(s) => s.wait().await,
            #[cfg(target_os = "linux")]
            Proc::Raw(r) => r.wait().await,
        }
    }

    /// True when the command never started because no shim took its request (see
    /// [`ShimConn`]); it can be sent again.
    pub fn untaken(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Proc::Shim(s) => s.untaken,
            _ => false,
        }
    }

    /// Whether [`Proc::wait`] should be polled from the start. A zygote shim reports the
    /// status only after the command's whole tree is gone, which is also when its output
    /// pipes reach EOF; its wait starts once they have (or after a short while, should
    /// something outside the tree hold them).
    pub fn wait_eagerly(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Proc::Shim(_) => false,
            _ => true,
        }
    }

    /// The exit status if the direct child already exited (reaping it).
    fn try_wait(&mut self) -> Option<ExitStatus> {
        match self {
            Proc::Child(c) => c.try_wait().ok().flatten(),
            #[cfg(target_os = "linux")]
            Proc::Shim(_) => None,
            #[cfg(target_os = "linux")]
            Proc::Raw(r) => r.try_wait(),
        }
    }
}

/// A started command: the handle, its two output streams and its tree.
pub struct Spawned {
    pub proc: Proc,
    pub stdout: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>,
    pub stderr: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>,
    pub tree: ProcessTree,
}

/// Starts the command: through the zygote when the reaper layer is active (and the zygote
/// runs, and `zygote` allows it), else through an exec'd shim, else directly in a process
/// group of its own.
pub fn spawn(
    sandbox: &Sandbox,
    s: &ExecSettings,
    req: &ExecRequest,
    grace: Duration,
    zygote: bool,
) -> std::io::Result<Spawned> {
    start_sweeper();
    let workdir_id = match req.workdir_id {
        Some(id) => id,
        None => super::sandbox::DirId::of_path(&req.workdir)?,
    };
    let spec = sandbox.child_spec(&req.workdir, workdir_id, req.timeout);
    #[cfg(target_os = "linux")]
    if let Some(exe) = sandbox.reaper().filter(|_| zygote) {
        let seccomp = spec.seccomp.then_some(spec.deny_network);
        let cgroup_base = spec.cgroup.as_ref().map(|c| c.base.as_path());
        if let Some(z) = zygote::get(exe, seccomp, sandbox.protect(), cgroup_base) {
            let shim = ShimSpec {
                child: spec.clone(),
                grace_ms: grace.as_millis() as u64,
            };
            match z.spawn(shim, s, req, grace) {
                Ok(sp) => return Ok(sp),
                // The zygote's socket is closed: it is gone for good.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::BrokenPipe
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::NotConnected
                    ) =>
                {
                    z.mark_dead(&e)
                }
                // Anything else (no descriptors left for the pipes, say) is this call's
                // trouble: it tries the exec'd shim, the zygote stays in use.
                Err(_) => {}
            }
        }
    }
    #[cfg(target_os = "linux")]
    if sandbox.reaper().is_none() && super::spawn::supported() {
        return spawn_direct(sandbox, s, req, spec, grace);
    }
    let reaper = sandbox.reaper().is_some();
    let mut cmd = match sandbox.reaper() {
        Some(exe) => {
            let shim = ShimSpec {
                child: spec,
                grace_ms: grace.as_millis() as u64,
            };
            let json = serde_json::to_string(&shim).map_err(std::io::Error::other)?;
            let mut cmd = Command::new(exe);
            cmd.arg(SUBCOMMAND).arg(json).arg(&s.shell);
            // The shim's stdin is the control pipe; the command gets /dev/null.
            cmd.stdin(Stdio::piped());
            // The shim's own group (it puts the command in a group of its own).
            #[cfg(unix)]
            cmd.process_group(0);
            cmd
        }
        None => {
            let mut cmd = Command::new(&s.shell);
            cmd.stdin(Stdio::null()).kill_on_drop(true);
            direct_child_setup(&mut cmd, sandbox, spec)?;
            cmd
        }
    };
    if !s.shell_arg.is_empty() {
        cmd.arg(&s.shell_arg);
    }
    cmd.arg(&req.command)
        .env_clear()
        .envs(&req.env)
        .current_dir(&req.workdir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let mut reg = registry();
    let mut child = cmd.spawn()?;
    let pid = child.id();
    if let Some(p) = pid {
        reg.get_or_insert_with(HashSet::new).insert(p);
    }
    drop(reg);
    let control = if reaper { child.stdin.take() } else { None };
    let stdout = child
        .stdout
        .take()
        .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>);
    let stderr = child
        .stderr
        .take()
        .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>);
    Ok(Spawned {
        proc: Proc::Child(child),
        stdout,
        stderr,
        tree: ProcessTree {
            pid,
            control,
            reaper,
            grace,
        },
    })
}

/// Without the shim on Linux: the vfork-style spawn of [`super::spawn`].
/// The child's limits in the form the async-signal-safe setup code applies them.
#[cfg(target_os = "linux")]
fn raw_rlimits(spec: &super::sandbox::ChildSpec) -> Vec<super::linux::Rlimit> {
    spec.rlimits
        .iter()
        .map(|&(r, v)| super::linux::Rlimit {
            resource: r.raw(),
            value: v,
            clamped: false,
        })
        .collect()
}

#[cfg(target_os = "linux")]
fn spawn_direct(
    sandbox: &Sandbox,
    s: &ExecSettings,
    req: &ExecRequest,
    spec: super::sandbox::ChildSpec,
    grace: Duration,
) -> std::io::Result<Spawned> {
    use super::linux;
    let rlimits = raw_rlimits(&spec);
    let ruleset = match &spec.landlock {
        Some(w) => Some(linux::landlock_ruleset(w)?),
        None => None,
    };
    let mut args: Vec<&str> = Vec::with_capacity(2);
    if !s.shell_arg.is_empty() {
        args.push(&s.shell_arg);
    }
    args.push(&req.command);
    let mut reg = registry();
    let (child, pipes) = super::spawn::spawn(&super::spawn::SpawnSpec {
        program: &s.shell,
        args: &args,
        env: &req.env,
        cwd: &req.workdir,
        cwd_id: spec.workdir_id,
        rlimits: &rlimits,
        landlock: ruleset.as_ref(),
        bpf: sandbox.bpf(),
    })?;
    let pid = child.pid() as u32;
    reg.get_or_insert_with(HashSet::new).insert(pid);
    drop(reg);
    let stdout = tokio::net::unix::pipe::Receiver::from_owned_fd(pipes.stdout)?;
    let stderr = tokio::net::unix::pipe::Receiver::from_owned_fd(pipes.stderr)?;
    Ok(Spawned {
        proc: Proc::Raw(child),
        stdout: Some(Box::new(stdout)),
        stderr: Some(Box::new(stderr)),
        tree: ProcessTree {
            pid: Some(pid),
            control: None,
            reaper: false,
            grace,
        },
    })
}

/// The zygote: one long-lived `__reaper --zygote` child that forks a shim per command.
#[cfg(target_os = "linux")]
mod zygote {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::net::UnixStream;
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    use super::super::linux;
    use super::super::reaper::{
        zygote_cgroup_arg, zygote_protect_arg, zygote_seccomp_arg, ShimSpec, ZygoteRequest,
        MAX_REQUEST, SUBCOMMAND,
    };
    use super::{registry, ExecRequest, ExecSettings, Proc, ProcessTree, ShimConn, Spawned};

    pub struct Zygote {
        /// The sequenced-packet socket the zygote's idle shims take requests from.
        req: Mutex<OwnedFd>,
        dead: AtomicBool,
    }

    /// A zygote per shim binary, seccomp mode (`Some(deny_network)` when on), protected
    /// pids and cgroup base: the zygote runs under its commands' filter, so commands that
    /// want another one (another sandbox in this process) need another zygote. `None`: it
    /// could not start.
    type Key = (PathBuf, Option<bool>, Vec<i32>, Option<PathBuf>);
    static ZYGOTES: Mutex<Vec<(Key, Option<&'static Zygote>)>> = Mutex::new(Vec::new());

    /// The running zygote for this binary, seccomp mode and protected pids (the server and
    /// its parent: the zygote's filter keeps its commands' signals away from them and from
    /// the zygote itself), started on first use; `None` when it cannot run.
    pub fn get(
        exe: &Path,
        seccomp: Option<bool>,
        protect: &[i32],
        cgroup_base: Option<&Path>,
    ) -> Option<&'static Zygote> {
        let mut all = ZYGOTES.lock().unwrap_or_else(|e| e.into_inner());
        let found = all.iter().find(|((e, s, p, c), _)| {
            e == exe && *s == seccomp && p == protect && c.as_deref() == cgroup_base
        });
        let z = match found {
            Some(&(_, z)) => z,
            None => {
                let z = match start(exe, seccomp, protect, cgroup_base) {
                    Ok(z) => Some(&*Box::leak(Box::new(z))),
                    Err(e) => {
                        degraded(&format!("the reaper's zygote cannot start ({e})"));
                        None
                    }
                };
                let key = (
                    exe.to_path_buf(),
                    seccomp,
                    protect.to_vec(),
                    cgroup_base.map(Path::to_path_buf),
                );
                all.push((key, z));
                z
            }
        };
        z.filter(|z| !z.dead.load(Ordering::Relaxed))
    }

    /// A `SANDBOX_DEGRADED` warning: commands keep every layer but start more slowly.
    fn degraded(what: &str) {
        crate::audit::Event::new(
            "SANDBOX_DEGRADED",
            crate::config::LogLevel::Warn,
            &format!("{what}; commands now start through an exec'd shim, with the same layers"),
        )
        .emit();
    }

    fn start(
        exe: &Path,
        seccomp: Option<bool>,
        protect: &[i32],
        cgroup_base: Option<&Path>,
    ) -> std::io::Result<Zygote> {
        let (ours, theirs) = linux::seqpacket_pair()?;
        // Room for the largest request in the send buffer (the kernel caps it at
        // `net.core.wmem_max`; a request bigger than the buffer goes through an exec'd
        // shim instead, see `spawn`).
        let room = MAX_REQUEST as libc::c_int;
        // SAFETY: setsockopt with an int argument on our own socket.
        unsafe {
            libc::setsockopt(
                ours.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                &room as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        let mut reg = registry();
        let child = std::process::Command::new(exe)
            .arg(SUBCOMMAND)
            .arg("--zygote")
            .args(zygote_seccomp_arg(seccomp))
            .arg(zygote_protect_arg(protect))
            .args(zygote_cgroup_arg(cgroup_base))
            .env_clear()
            .stdin(std::process::Stdio::from(theirs))
            .stdout(std::process::Stdio::null())
            .process_group(0)
            .spawn()?;
        // Registered so the orphan sweep leaves it alone; it exits when our end closes.
        reg.get_or_insert_with(Default::default).insert(child.id());
        Ok(Zygote {
            req: Mutex::new(ours),
            dead: AtomicBool::new(false),
        })
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

    impl Zygote {
        /// After the zygote failed a request: every later command starts through an
        /// exec'd shim (the same layers, ~1 ms slower); said once in the audit log.
        pub fn mark_dead(&self, why: &std::io::Error) {
            if !self.dead.swap(true, Ordering::Relaxed) {
                degraded(&format!("the reaper's zygote failed ({why})"));
            }
        }

        pub fn spawn(
            &self,
            spec: ShimSpec,
            s: &ExecSettings,
            req: &ExecRequest,
            grace: std::time::Duration,
        ) -> std::io::Result<Spawned> {
            let mut argv = vec![s.shell.clone()];
            if !s.shell_arg.is_empty() {
                argv.push(s.shell_arg.clone());
            }
            argv.push(req.command.clone());
            let body = serde_json::to_vec(&ZygoteRequest {
                spec,
                argv,
                env: req
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                cwd: req.workdir.clone(),
            })
            .map_err(std::io::Error::other)?;
            if body.len() > MAX_REQUEST {
                // More than a shim takes in one message: this call goes through an exec'd
                // shim (the caller's fallback), the zygote stays in use.
                return Err(std::io::Error::other("request too large for the zygote"));
            }
            let (out_r, out_w) = pipe()?;
            let (err_r, err_w) = pipe()?;
            let (ctl, ctl_shim) = UnixStream::pair()?;
            // Everything that can fail happens before the send: once a shim may have the
            // request, an error here would make the caller start the command a second
            // time through an exec'd shim.
            ctl.set_nonblocking(true)?;
            let stdout = tokio::net::unix::pipe::Receiver::from_owned_fd(out_r)?;
            let stderr = tokio::net::unix::pipe::Receiver::from_owned_fd(err_r)?;
            {
                let sock = self.req.lock().unwrap_or_else(|e| e.into_inner());
                // One message, which one idle shim takes whole. Never waiting: the server's
                // thread must not block on shims that do not read (stopped by a command,
                // until the zygote replaces them). A full queue (`WouldBlock`) or a request
                // bigger than the send buffer (EMSGSIZE) is this call's trouble, not the
                // zygote's: the call goes through an exec'd shim.
                linux::send_packet_now(
                    sock.as_raw_fd(),
                    &body,
                    &[out_w.as_raw_fd(), err_w.as_raw_fd(), ctl_shim.as_raw_fd()],
                )?;
            }
            drop((out_w, err_w, ctl_shim));
            let ctl = super::ShimCtl::Idle(ctl);
            Ok(Spawned {
                proc: Proc::Shim(ShimConn {
                    ctl,
                    buf: Vec::with_capacity(8),
                    untaken: false,
                }),
                stdout: Some(Box::new(stdout)),
                stderr: Some(Box::new(stderr)),
                tree: ProcessTree {
                    pid: None,
                    control: None,
                    reaper: true,
                    grace,
                },
            })
        }
    }
}

/// Without the shim: a process group of its own, limits, Landlock and seccomp applied between
/// fork and exec (raw syscalls only, as the server is multi-threaded).
fn direct_child_setup(
    cmd: &mut Command,
    sandbox: &Sandbox,
    spec: super::sandbox::ChildSpec,
) -> std::io::Result<()> {
    // A process group of its own, as in `spawn::spawn`.
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    {
        use super::linux;
        use std::os::fd::AsRawFd;
        let rlimits = raw_rlimits(&spec);
        let ruleset = match &spec.landlock {
            Some(w) => Some(std::sync::Arc::new(linux::landlock_ruleset(w)?)),
            None => None,
        };
        let bpf: Option<Vec<seccompiler::sock_filter>> = sandbox.bpf().map(|b| b.to_vec());
        let cwd_id = spec.workdir_id;
        // SAFETY: the closure only makes raw syscalls on data prepared here; the ruleset
        // fd stays open because the closure owns it.
        unsafe {
            cmd.pre_exec(move || {
                // `Command` entered the working directory by name before this runs: the
                // one the server checked, or one put in its place since?
                if !super::sandbox::cwd_is(cwd_id) {
                    return Err(std::io::Error::from_raw_os_error(
                        super::sandbox::WORKDIR_CHANGED_ERRNO,
                    ));
                }
                let fd = ruleset.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1);
                linux::enforce(&rlimits, fd, bpf.as_deref())
                    .map_err(|(_, errno)| std::io::Error::from_raw_os_error(errno))
            });
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let _ = sandbox;
        let rlimits: Vec<(i32, u64)> = spec.rlimits.iter().map(|&(r, v)| (r.raw(), v)).collect();
        let cwd_id = spec.workdir_id;
        // SAFETY: only stat and getrlimit/setrlimit between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if !super::sandbox::cwd_is(cwd_id) {
                    return Err(std::io::Error::from_raw_os_error(
                        super::sandbox::WORKDIR_CHANGED_ERRNO,
                    ));
                }
                for &(res, v) in &rlimits {
                    let mut cur = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(res as _, &mut cur) == 0 {
                        let v = (v as libc::rlim_t).min(cur.rlim_max);
                        let new = libc::rlimit {
                            rlim_cur: v,
                            rlim_max: v,
                        };
                        libc::setrlimit(res as _, &new);
                    }
                }
                Ok(())
            });
        }
    }
    Ok(())
}

impl ProcessTree {
    /// Ends everything the command started and returns the status of the server's child
    /// (`status` when it already exited).
    pub async fn end(
        &mut self,
        proc: &mut Proc,
        mut status: Option<ExitStatus>,
    ) -> Option<ExitStatus> {
        #[cfg(target_os = "linux")]
        if let Proc::Shim(conn) = proc {
            return self.end_shim(conn, status).await;
        }
        if let (true, Proc::Child(child)) = (self.reaper, &mut *proc) {
            // Closing the control pipe tells the shim to end the tree (a no-op if it is
            // already doing so after the command exited).
            drop(self.control.take());
            let status = match status {
                Some(st) => Some(st),
                None => match tokio::time::timeout(self.grace + SHIM_SLACK, child.wait()).await {
                    Ok(st) => st.ok(),
                    Err(_) => {
                        let _ = child.start_kill();
                        let st = child.wait().await.ok();
                        sweep_orphans();
                        st
                    }
                },
            };
            self.unregister();
            return status;
        }
        #[cfg(unix)]
        if let Some(pgid) = self.pid.map(|p| p as i32) {
            if group_alive(pgid) {
                signal_group(pgid, libc::SIGTERM);
                signal_group(pgid, libc::SIGCONT);
                let until = tokio::time::Instant::now() + self.grace;
                while tokio::time::Instant::now() < until && group_alive(pgid) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    // Dead members stay zombies, keeping the group "alive", until reaped.
                    if status.is_none() {
                        status = proc.try_wait();
                    }
                    reap_dead_orphans();
                }
                if group_alive(pgid) {
                    signal_group(pgid, libc::SIGKILL);
                }
            }
        }
        let status = match status {
            Some(st) => Some(st),
            None => proc.wait().await.ok(),
        };
        self.unregister();
        sweep_orphans();
        status
    }

    /// A zygote shim: half-closing the control socket asks it to end the tree; one that
    /// does not report in time is killed (the zygote reaps it and its leftovers).
    #[cfg(target_os = "linux")]
    async fn end_shim(
        &mut self,
        conn: &mut ShimConn,
        status: Option<ExitStatus>,
    ) -> Option<ExitStatus> {
        use tokio::io::AsyncWriteExt;
        if status.is_some() {
            return status;
        }
        if let Ok(ctl) = conn.registered() {
            let _ = ctl.shutdown().await;
        }
        match tokio::time::timeout(self.grace + SHIM_SLACK, conn.wait()).await {
            Ok(st) => st.ok(),
            Err(_) => {
                if let Some(pid) = conn.poll_pid() {
                    // SAFETY: killing the shim that runs this command.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                // A shim that never sent its pid (no spare ever took the request) cannot
                // be killed from here; the call ends anyway, its status unknown (the
                // zygote kills a spare that sits on a request).
                tokio::time::timeout(SHIM_SLACK, conn.wait())
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
        }
    }

    fn unregister(&mut self) {
        if let Some(p) = self.pid.take() {
            if let Some(set) = registry().as_mut() {
                set.remove(&p);
            }
        }
    }
}

impl Drop for ProcessTree {
    fn drop(&mut self) {
        // A call dropped half-way: the shim sees its control pipe close and ends the tree;
        // a direct command's group is killed.
        #[cfg(unix)]
        if !self.reaper {
            if let Some(pgid) = self.pid.map(|p| p as i32) {
                signal_group(pgid, libc::SIGKILL);
            }
        }
        self.unregister();
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

/// Kills and reaps children of this process that we did not spawn and that are not in our
/// own process group: escapees of commands, reparented to us as their subreaper.
pub fn sweep_orphans() {
    orphans(true);
}

/// Reaps orphans that already exited (a TERMed group member reparented to us stays a
/// zombie, and keeps its group "alive", until someone reaps it).
fn reap_dead_orphans() {
    orphans(false);
}

fn orphans(kill: bool) {
    #[cfg(not(target_os = "linux"))]
    let _ = kill;
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpgrp never fails.
        let own_group = unsafe { libc::getpgrp() };
        let reg = registry();
        let orphans: Vec<i32> = super::linux::adopted_children()
            .into_iter()
            .filter(|&p| !reg.as_ref().is_some_and(|s| s.contains(&(p as u32))))
            // SAFETY: getpgid on a child pid.
            .filter(|&p| unsafe { libc::getpgid(p) } != own_group)
            .collect();
        drop(reg);
        if kill {
            for &p in &orphans {
                // SAFETY: signalling children that are ours and nobody waits for.
                unsafe {
                    libc::kill(p, libc::SIGKILL);
                }
            }
        }
        for &p in &orphans {
            let mut st = 0;
            // SAFETY: as above; WNOHANG never blocks (the next sweep gets late ones).
            unsafe {
                libc::waitpid(p, &mut st, libc::WNOHANG);
            }
        }
    }
}

/// Starts the once-a-second orphan sweep (a plain thread, independent of any runtime).
fn start_sweeper() {
    static START: Once = Once::new();
    START.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("orphan-sweeper".into())
            .spawn(|| loop {
                std::thread::sleep(Duration::from_secs(1));
                sweep_orphans();
            });
    });
}
