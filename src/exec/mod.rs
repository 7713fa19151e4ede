//! The executor: runs one command line under the shell, bounded in time, output and
//! resources, and guarantees nothing it started outlives the call.
//!
//! It knows nothing of MCP or HTTP: an [`ExecRequest`] and a cancellation token in, an
//! [`ExecOutcome`] out. The isolation layers applied to the child live in [`sandbox`].

pub mod env;
pub mod output;
pub mod sandbox;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use output::{Captured, OutputCap};
pub use sandbox::SandboxReport;

/// How long the process group gets between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_millis(200);
/// How long we wait for the pipes to close after the group was killed, before giving up on
/// an escaped process that still holds them.
const DRAIN_GRACE: Duration = Duration::from_millis(300);

/// One command to run.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    pub command: String,
    /// Resolved, existing working directory.
    pub workdir: PathBuf,
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
}

impl Executor {
    /// An executor with the given settings and the sandbox layers probed at start.
    pub fn new(settings: ExecSettings, sandbox: sandbox::Sandbox) -> Self {
        Executor {
            slots: Arc::new(Semaphore::new(settings.max_concurrency)),
            settings: Arc::new(settings),
            sandbox: Arc::new(sandbox),
        }
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
        let out = self.run_now(req, cancel, started).await;
        drop(permit);
        out
    }

    async fn run_now(
        &self,
        req: ExecRequest,
        cancel: CancellationToken,
        started: Instant,
    ) -> ExecOutcome {
        let s = &self.settings;
        let mut cmd = self
            .sandbox
            .command(&s.shell, &s.shell_arg, &req.command, &req.workdir);
        cmd.env_clear()
            .envs(&req.env)
            .current_dir(&req.workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return ExecOutcome::failed(format!("could not start {}: {e}", s.shell), started)
            }
        };
        let tree = sandbox::ProcessTree::new(child.id());

        let stdout = Arc::new(Mutex::new(OutputCap::new(s.max_output)));
        let stderr = Arc::new(Mutex::new(OutputCap::new(s.max_output)));
        let readers = [
            child
                .stdout
                .take()
                .map(|p| tokio::spawn(drain(p, stdout.clone()))),
            child
                .stderr
                .take()
                .map(|p| tokio::spawn(drain(p, stderr.clone()))),
        ];

        let deadline = tokio::time::Instant::now() + req.timeout;
        let mut timed_out = false;
        let mut cancelled = false;
        let status = tokio::select! {
            st = child.wait() => st.ok(),
            _ = tokio::time::sleep_until(deadline) => { timed_out = true; None }
            _ = cancel.cancelled() => { cancelled = true; None }
        };
        // Whatever happened, nothing the command started may outlive the call.
        tree.terminate(TERM_GRACE).await;
        let status = match status {
            Some(st) => Some(st),
            None => child.wait().await.ok(),
        };

        // Give the readers a moment to collect what is left in the pipes; an escaped
        // process may hold them open forever, so do not wait for EOF beyond that.
        let drain_deadline = tokio::time::Instant::now() + DRAIN_GRACE;
        for r in readers.into_iter().flatten() {
            let abort = r.abort_handle();
            if tokio::time::timeout_at(drain_deadline, r).await.is_err() {
                abort.abort();
            }
        }

        let (exit_code, signal) = match (timed_out || cancelled, status) {
            (false, Some(st)) => exit_of(&st),
            (_, Some(st)) => (-1, exit_of(&st).1),
            (_, None) => (-1, None),
        };
        let error = if timed_out {
            Some(format!(
                "command timed out after {} and was stopped with its whole process tree",
                humantime::format_duration(req.timeout)
            ))
        } else if cancelled {
            Some("command was cancelled and stopped with its whole process tree".to_string())
        } else {
            signal.map(|n| format!("command was ended by signal {n}"))
        };
        let lock = |m: &Arc<Mutex<OutputCap>>| m.lock().unwrap_or_else(|e| e.into_inner()).finish();
        ExecOutcome {
            stdout: lock(&stdout),
            stderr: lock(&stderr),
            exit_code,
            signal,
            duration: started.elapsed(),
            timed_out,
            cancelled,
            error,
        }
    }
}

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
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => into
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(&buf[..n]),
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
