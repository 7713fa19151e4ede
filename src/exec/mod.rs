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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
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
    pub duration: Duration,
    pub timed_out: bool,
    pub cancelled: bool,
    /// Why the command could not run or was ended, if it could not or was.
    pub error: Option<String>,
}

impl ExecOutcome {
    fn failed(error: String, started: Instant) -> Self {
        let empty = OutputCap::new(0).finish();
        ExecOutcome {
            stdout: empty.clone(),
            stderr: empty,
            exit_code: -1,
            signal: None,
            duration: started.elapsed(),
            timed_out: false,
            cancelled: false,
            error: Some(error),
        }
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
    /// Cancelled by [`Executor::shutdown`]: ends every running command.
    shutdown: CancellationToken,
}

impl Executor {
    /// An executor with the given settings and the sandbox layers probed at start.
    pub fn new(settings: ExecSettings, sandbox: sandbox::Sandbox) -> Self {
        Executor {
            slots: Arc::new(Semaphore::new(settings.max_concurrency)),
            settings: Arc::new(settings),
            sandbox: Arc::new(sandbox),
            shutdown: CancellationToken::new(),
        }
    }

    /// Ends every running command's process tree now (server shutdown after its grace
    /// period); their calls return with an error. Later calls are refused.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
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

    /// Runs `req`. Waits for a free slot up to the request's timeout, then reports "busy".
    /// `cancel` ends the command's whole process tree.
    pub async fn run(&self, req: ExecRequest, cancel: CancellationToken) -> ExecOutcome {
        let started = Instant::now();
        if self.shutdown.is_cancelled() {
            return ExecOutcome::failed("the server is shutting down".into(), started);
        }
        let permit = tokio::select! {
            p = tokio::time::timeout(req.timeout, self.slots.clone().acquire_owned()) => match p {
                Ok(Ok(p)) => p,
                _ => return ExecOutcome::failed(format!(
                    "server busy: {} commands are already running (max concurrency); try again later",
                    self.settings.max_concurrency), started),
            },
            _ = cancel.cancelled() => {
                let mut o = ExecOutcome::failed("cancelled before it started".into(), started);
                o.cancelled = true;
                return o;
            }
        };
        // The slot is held here, across a second attempt.
        let _permit = permit;
        let mut sent = 0;
        loop {
            // A second attempt skips the zygote: its shims may be dying with it.
            let running = match self.spawn_at(&req, started, sent == 0) {
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
            let too_late = cancel.is_cancelled()
                || self.shutdown.is_cancelled()
                || started.elapsed() >= req.timeout;
            if !untaken || sent > 1 || too_late {
                return outcome;
            }
        }
    }

    /// Starts `req` now, without waiting for a concurrency slot; [`Running::wait`] finishes
    /// it. Must be called within a Tokio runtime. `Err` is the outcome of a failed start.
    pub fn spawn(&self, req: ExecRequest) -> Result<Running, Box<ExecOutcome>> {
        self.spawn_at(&req, Instant::now(), true)
    }

    fn spawn_at(
        &self,
        req: &ExecRequest,
        started: Instant,
        zygote: bool,
    ) -> Result<Running, Box<ExecOutcome>> {
        let s = &self.settings;
        let spawned = tree::spawn(&self.sandbox, s, req, TERM_GRACE, zygote).map_err(|e| {
            if e.raw_os_error() == Some(sandbox::WORKDIR_CHANGED_ERRNO) {
                return Box::new(ExecOutcome::failed(
                    sandbox::WORKDIR_CHANGED.to_string(),
                    started,
                ));
            }
            let hint = match e.raw_os_error() {
                Some(libc::EMFILE) => "; the server is out of file descriptors (each running command holds three): raise its open-files limit (ulimit -n) or lower --max-concurrency",
                Some(libc::ENFILE) => "; the system is out of file descriptors",
                _ => "",
            };
            Box::new(ExecOutcome::failed(
                format!("could not start {}: {e}{hint}", s.shell),
                started,
            ))
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
            timeout: req.timeout,
            shutdown: self.shutdown.clone(),
        })
    }
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
    started: Instant,
    timeout: Duration,
    shutdown: CancellationToken,
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
        let deadline = tokio::time::Instant::from_std(self.started) + self.timeout;
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
            Some(format!(
                "command timed out after {} and was stopped with its whole process tree",
                humantime::format_duration(self.timeout)
            ))
        } else if cancelled {
            Some("command was cancelled and stopped with its whole process tree".to_string())
        } else if shut_down {
            Some(
                "the server is shutting down: command stopped with its whole process tree"
                    .to_string(),
            )
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
