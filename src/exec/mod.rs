//! The executor: runs one command line under the shell, bounded in time, output and
//! resources, and guarantees nothing it started outlives the call.
//!
//! It knows nothing of MCP or HTTP: an [`ExecRequest`] and a cancellation token in, an
//! [`ExecOutcome`] out. The parts:
//!
//! * [`env`](mod@env): the clean environment a command starts with.
//! * [`exposure`]: secrets commands could still read above the server (an init's
//!   environment), reported at start.
//! * [`output`]: head + tail capture of a stream, drained to the end.
//! * [`sandbox`]: which layers are on, probed at start, and what each child applies.
//! * [`reaper`]: the `__reaper` shim (and its zygote) that owns a command's process tree.
//! * `tree`: starting a command and ending everything it started; the orphan sweep.
//! * `spawn` (Linux): the vfork-style start used when there is no shim.
//! * `linux`: Landlock, seccomp, rlimits, `/proc` walks, descriptor passing.

pub mod env;
pub mod exposure;
#[cfg(target_os = "linux")]
pub(crate) mod linux;
pub mod output;
pub mod reaper;
pub mod sandbox;
#[cfg(target_os = "linux")]
mod spawn;
mod tree;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

pub use output::{Captured, OutputCap};
pub use sandbox::SandboxReport;
use tree::ProcessTree;

/// How long the process tree gets between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_millis(200);
/// How long we wait for the pipes to close after the tree was ended (or the command
/// exited), before giving up on an escaped process that still holds them.
const DRAIN_GRACE: Duration = Duration::from_millis(300);

/// How long a command whose status is read lazily ([`tree::Proc::wait_eagerly`]) may keep
/// its output open before its status is awaited anyway (something outside its tree may
/// hold the pipes).
const LAZY_WAIT: Duration = Duration::from_millis(20);

/// One command to run.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    pub command: String,
    /// Resolved, existing working directory (writable under Landlock).
    pub workdir: PathBuf,
    /// The identity `workdir` had when it was checked ([`sandbox::DirId::of_real`]): the
    /// command runs only in that directory, and only it is made writable, whatever the
    /// path names by the time the command starts. `None`: the executor takes it as the
    /// command starts.
    pub workdir_id: Option<sandbox::DirId>,
    pub timeout: Duration,
    /// The complete environment of the command (see [`env::build`]).
    pub env: BTreeMap<String, String>,
}

/// Executor-wide settings.
#[derive(Debug, Clone)]
pub struct ExecSettings {
    pub shell: String,
    pub shell_arg: String,
    /// Bytes kept per stream.
    pub max_output: usize,
    pub max_concurrency: usize,
}

/// What happened to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    pub stdout: Captured,
    pub stderr: Captured,
    /// The exit status, or -1 when the command did not exit on its own.
    pub exit_code: i32,
    /// The signal that ended the shell, if one did.
    pub signal: Option<i32>,
    /// How long the command ran (from its start; zero when it never started).
    pub duration: Duration,
    pub timed_out: bool,
    pub cancelled: bool,
    /// Why the command could not run or was ended, if it could not or was.
    pub error: Option<String>,
    /// How long the call waited for an execution slot (`--max-concurrency`), when none was
    /// free as it came; that wait counts against its timeout.
    pub queued: Option<Duration>,
    /// False when the command never started: no slot before its timeout, cancelled or
    /// stopped while it waited for one, refused at shutdown, or its start failed.
    pub started: bool,
}

impl ExecOutcome {
    /// The outcome of a command that never started; `since` is when the attempt began.
    fn failed(error: String, since: Instant) -> Self {
        let empty = OutputCap::new(0).finish();
        ExecOutcome {
            stdout: empty.clone(),
            stderr: empty,
            exit_code: -1,
            signal: None,
            duration: since.elapsed(),
            timed_out: false,
            cancelled: false,
            error: Some(error),
            queued: None,
            started: false,
        }
    }

    fn queued(mut self, queued: Option<Duration>) -> Self {
        self.queued = queued;
        self
    }

    /// True when the call should be reported as an error.
    pub fn is_error(&self) -> bool {
        self.exit_code != 0 || self.timed_out || self.error.is_some()
    }
}

/// Runs commands; cheap to clone and share.
#[derive(Clone)]
pub struct Executor {
    settings: Arc<ExecSettings>,
    slots: Arc<Semaphore>,
    sandbox: Arc<sandbox::Sandbox>,
    /// Cancelled by [`Executor::stop`]: ends every running command.
    shutdown: CancellationToken,
    /// Why [`Executor::stop`] was called (the first reason given).
    stop_reason: Arc<OnceLock<String>>,
}

/// The stop reason of [`Executor::shutdown`].
pub const SHUTTING_DOWN: &str = "the server is shutting down";

impl Executor {
    /// An executor with the given settings and the sandbox layers probed at start.
    pub fn new(settings: ExecSettings, sandbox: sandbox::Sandbox) -> Self {
        Executor {
            slots: Arc::new(Semaphore::new(settings.max_concurrency)),
            settings: Arc::new(settings),
            sandbox: Arc::new(sandbox),
            shutdown: CancellationToken::new(),
            stop_reason: Arc::new(OnceLock::new()),
        }
    }

    /// Ends every running command's process tree now (server shutdown after its grace
    /// period); their calls return with an error. Later calls are refused.
    pub fn shutdown(&self) {
        self.stop(SHUTTING_DOWN);
    }

    /// [`Executor::shutdown`], saying why: `reason` (e.g. "the client closed stdin") starts
    /// the error of every call it ends or refuses — running, waiting for a slot or new —
    /// and it wins over the calls' own cancellation when both happen. The first reason
    /// given stays.
    pub fn stop(&self, reason: &str) {
        let _ = self.stop_reason.set(reason.to_string());
        self.shutdown.cancel();
    }

    fn stop_reason(&self) -> &str {
        stop_reason(&self.stop_reason)
    }

    /// The executor's settings.
    pub fn settings(&self) -> &ExecSettings {
        &self.settings
    }

    /// Which isolation layers are active.
    pub fn sandbox_report(&self) -> &SandboxReport {
        self.sandbox.report()
    }

    /// Commands running right now.
    pub fn running(&self) -> usize {
        self.settings.max_concurrency - self.slots.available_permits()
    }

    /// Runs `req`. Waits for a free slot up to the request's timeout (the wait counts
    /// against it: a call returns within its timeout), then reports "busy".
    /// `cancel` ends the command's whole process tree.
    pub async fn run(&self, req: ExecRequest, cancel: CancellationToken) -> ExecOutcome {
        let called = Instant::now();
        let deadline = called + req.timeout;
        if self.shutdown.is_cancelled() {
            return ExecOutcome::failed(
                format!("{}; the command was not started", self.stop_reason()),
                called,
            );
        }
        let (permit, queued) = match self.slots.clone().try_acquire_owned() {
            Ok(p) => (p, None),
            Err(_) => match self.wait_for_slot(&req, &cancel, called).await {
                Ok(p) => (p, Some(called.elapsed())),
                Err(o) => return *o,
            },
        };
        // The slot is held here, across a second attempt.
        let _permit = permit;
        let mut sent = 0;
        loop {
            // A second attempt skips the zygote: its shims may be dying with it.
            let running = match self.spawn_at(&req, deadline, queued, sent == 0) {
                Ok(running) => running,
                Err(o) => return *o,
            };
            sent += 1;
            let (outcome, untaken) = running.finish(cancel.clone()).await;
            // No shim took the request (the zygote and its shims died with it queued, or
            // a shim died between taking it and starting it): nothing ran, so it is sent
            // once more, on the same deadline, through an exec'd shim of its own — unless
            // the call was cancelled, the server is shutting down or the deadline passed
            // meanwhile.
            let too_late =
                cancel.is_cancelled() || self.shutdown.is_cancelled() || Instant::now() >= deadline;
            if !untaken || sent > 1 || too_late {
                return outcome;
            }
        }
    }

    /// Waits for an execution slot until the call's deadline; the outcome of a call that
    /// never got one (timed out, cancelled or stopped while it waited) otherwise.
    async fn wait_for_slot(
        &self,
        req: &ExecRequest,
        cancel: &CancellationToken,
        called: Instant,
    ) -> Result<OwnedSemaphorePermit, Box<ExecOutcome>> {
        let deadline = tokio::time::Instant::from_std(called + req.timeout);
        let slots = self.settings.max_concurrency;
        let (error, timed_out, cancelled) = tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => (format!(
                "{}: the command was still waiting for one of the {slots} execution slots (--max-concurrency) and never started",
                self.stop_reason()), false, false),
            _ = cancel.cancelled() => ("the call was cancelled while it waited for an execution slot; the command never started".to_string(), false, true),
            p = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()) => match p {
                Ok(Ok(p)) => return Ok(p),
                _ => (format!(
                    "server busy: timed out after {} waiting for one of the {slots} execution slots (--max-concurrency); the command never started; try again later or with a longer timeout",
                    humantime::format_duration(req.timeout)), true, false),
            },
        };
        let mut o = ExecOutcome::failed(error, called).queued(Some(called.elapsed()));
        o.duration = Duration::ZERO;
        o.timed_out = timed_out;
        o.cancelled = cancelled;
        Err(Box::new(o))
    }

    /// Starts `req` now, without waiting for a concurrency slot; [`Running::wait`] finishes
    /// it. Must be called within a Tokio runtime. `Err` is the outcome of a failed start.
    pub fn spawn(&self, req: ExecRequest) -> Result<Running, Box<ExecOutcome>> {
        self.spawn_at(&req, Instant::now() + req.timeout, None, true)
    }

    /// Starts `req` now; it must end by `deadline` (the call's, which a wait for a slot,
    /// `queued`, took part of).
    fn spawn_at(
        &self,
        req: &ExecRequest,
        deadline: Instant,
        queued: Option<Duration>,
        zygote: bool,
    ) -> Result<Running, Box<ExecOutcome>> {
        let s = &self.settings;
        let started = Instant::now();
        let spawned = tree::spawn(&self.sandbox, s, req, TERM_GRACE, zygote).map_err(|e| {
            if e.raw_os_error() == Some(sandbox::WORKDIR_CHANGED_ERRNO) {
                return Box::new(
                    ExecOutcome::failed(sandbox::WORKDIR_CHANGED.to_string(), started)
                        .queued(queued),
                );
            }
            let hint = match e.raw_os_error() {
                Some(libc::EMFILE) => "; the server is out of file descriptors (each running command holds three): raise its open-files limit (ulimit -n) or lower --max-concurrency",
                Some(libc::ENFILE) => "; the system is out of file descriptors",
                _ => "",
            };
            Box::new(
                ExecOutcome::failed(format!("could not start {}: {e}{hint}", s.shell), started)
                    .queued(queued),
            )
        })?;
        let stdout = Arc::new(Mutex::new(OutputCap::new(s.max_output)));
        let stderr = Arc::new(Mutex::new(OutputCap::new(s.max_output)));
        let out = spawned.stdout.map(|p| drain(p, stdout.clone()));
        let err = spawned.stderr.map(|p| drain(p, stderr.clone()));
        let readers: Readers = Box::pin(async move {
            let out = async {
                if let Some(f) = out {
                    f.await
                }
            };
            let err = async {
                if let Some(f) = err {
                    f.await
                }
            };
            futures::future::join(out, err).await;
        });
        Ok(Running {
            child: spawned.proc,
            tree: spawned.tree,
            readers,
            stdout,
            stderr,
            started,
            deadline,
            queued,
            timeout: req.timeout,
            shutdown: self.shutdown.clone(),
            stop_reason: self.stop_reason.clone(),
        })
    }
}

fn stop_reason(reason: &OnceLock<String>) -> &str {
    reason.get().map_or(SHUTTING_DOWN, String::as_str)
}

/// Both output streams, read to their end into their caps.
type Readers = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A started command: its process, its tree and the readers draining its output. The
/// readers are polled by [`Running::wait`] alongside the process rather than spawned as
/// tasks of their own: no task hand-offs between the pipes and the waiter.
pub struct Running {
    child: tree::Proc,
    tree: ProcessTree,
    readers: Readers,
    stdout: Arc<Mutex<OutputCap>>,
    stderr: Arc<Mutex<OutputCap>>,
    /// When the command started.
    started: Instant,
    /// When the call's time is up.
    deadline: Instant,
    /// How long the call waited for its slot, when it had to.
    queued: Option<Duration>,
    /// The call's whole timeout (for the error text).
    timeout: Duration,
    shutdown: CancellationToken,
    stop_reason: Arc<OnceLock<String>>,
}

impl Running {
    /// Waits for the command to exit, time out or be cancelled; in every case ends its whole
    /// process tree, then collects what it printed.
    pub async fn wait(self, cancel: CancellationToken) -> ExecOutcome {
        self.finish(cancel).await.0
    }

    /// [`Running::wait`], and whether the command never started because no shim took its
    /// request (then it can be sent again).
    async fn finish(mut self, cancel: CancellationToken) -> (ExecOutcome, bool) {
        let deadline = tokio::time::Instant::from_std(self.deadline);
        let mut timed_out = false;
        let mut cancelled = false;
        let mut shut_down = false;
        let mut readers = self.readers;
        let mut drained = false;
        let mut waiting = self.child.wait_eagerly();
        let status = loop {
            tokio::select! {
                st = self.child.wait(), if waiting || drained => break st.ok(),
                _ = &mut readers, if !drained => drained = true,
                _ = tokio::time::sleep(LAZY_WAIT), if !waiting && !drained => waiting = true,
                _ = tokio::time::sleep_until(deadline) => { timed_out = true; break None }
                _ = cancel.cancelled() => { cancelled = true; break None }
                _ = self.shutdown.cancelled() => { shut_down = true; break None }
            }
        };
        // The server stops a call's command through its own token and the call's at once
        // (HTTP's shutdown grace cancels both): the server's reason is the one to give.
        if cancelled && self.shutdown.is_cancelled() {
            cancelled = false;
            shut_down = true;
        }
        // Whatever happened, nothing the command started may outlive the call; the pipes
        // keep being drained meanwhile.
        let status = {
            let end = self.tree.end(&mut self.child, status);
            tokio::pin!(end);
            loop {
                tokio::select! {
                    st = &mut end => break st,
                    _ = &mut readers, if !drained => drained = true,
                }
            }
        };

        // Give the readers a moment to collect what is left in the pipes; an escaped
        // process may hold them open forever, so do not wait for EOF beyond that.
        if !drained {
            let _ = tokio::time::timeout(DRAIN_GRACE, &mut readers).await;
        }
        drop(readers);

        let untaken = !(timed_out || cancelled || shut_down) && self.child.untaken();
        let (exit_code, signal) = match (timed_out || cancelled || shut_down || untaken, status) {
            (false, Some(st)) => exit_of(&st),
            (_, Some(_)) if untaken => (-1, None),
            (_, Some(st)) => (-1, exit_of(&st).1),
            (_, None) => (-1, None),
        };
        let error = if timed_out {
            let timeout = humantime::format_duration(self.timeout);
            Some(match self.queued {
                Some(q) => format!(
                    "command timed out after {timeout}, {} of which it waited for an execution slot (--max-concurrency) before it started, and was stopped with its whole process tree",
                    format_duration(q)
                ),
                None => format!(
                    "command timed out after {timeout} and was stopped with its whole process tree"
                ),
            })
        } else if cancelled {
            Some("command was cancelled and stopped with its whole process tree".to_string())
        } else if shut_down {
            Some(format!(
                "{}: the command was stopped with its whole process tree",
                stop_reason(&self.stop_reason)
            ))
        } else if untaken {
            Some(UNTAKEN.to_string())
        } else {
            signal.map(|n| format!("command was ended by signal {n}"))
        };
        let lock = |m: &Arc<Mutex<OutputCap>>| m.lock().unwrap_or_else(|e| e.into_inner()).finish();
        let outcome = ExecOutcome {
            stdout: lock(&self.stdout),
            stderr: lock(&self.stderr),
            exit_code,
            signal,
            duration: self.started.elapsed(),
            timed_out,
            cancelled,
            error,
            queued: self.queued,
            started: !untaken,
        };
        (outcome, untaken)
    }
}

/// The error of a command no shim took (after the second attempt, for [`Executor::run`]).
pub const UNTAKEN: &str = "the command did not start: the sandbox's supervising processes ended before one took it; nothing ran";

#[cfg(unix)]
fn exit_of(st: &std::process::ExitStatus) -> (i32, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => (c, None),
        (None, Some(sig)) => (-1, Some(sig)),
        _ => (-1, None),
    }
}

#[cfg(not(unix))]
fn exit_of(st: &std::process::ExitStatus) -> (i32, Option<i32>) {
    (st.code().unwrap_or(-1), None)
}

async fn drain<R: tokio::io::AsyncRead + Unpin>(mut pipe: R, into: Arc<Mutex<OutputCap>>) {
    // Read into spare capacity: a zeroed 64 KiB buffer per stream per call costs more
    // than most commands print.
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        match pipe.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => into.lock().unwrap_or_else(|e| e.into_inner()).push(&buf),
        }
    }
}

/// Formats a duration the way Go's `time.Duration` prints (`1.2ms`, `3.004s`), which is what
/// go-mcp-commander clients parse.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if ns == 0 {
        "0s".into()
    } else if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{}µs", trim(format!("{:.3}", ns as f64 / 1e3)))
    } else if ns < 1_000_000_000 {
        format!("{}ms", trim(format!("{:.3}", ns as f64 / 1e6)))
    } else {
        format!("{}s", trim(format!("{:.3}", d.as_secs_f64())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_durations() {
        assert_eq!(format_duration(Duration::from_micros(1200)), "1.2ms");
        assert_eq!(format_duration(Duration::from_millis(3004)), "3.004s");
        assert_eq!(format_duration(Duration::from_nanos(500)), "500ns");
        assert_eq!(format_duration(Duration::from_nanos(1500)), "1.5µs");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
