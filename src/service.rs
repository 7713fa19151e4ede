//! [`Commander`]: the one place where a call flows policy → exec → audit.
//!
//! Transports and the MCP adapter call into it with plain arguments; it validates them,
//! asks the policy, runs the command through the executor and records the audit line.

pub mod in_flight;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::audit::{self, CallContext, ExecRecord};
use crate::config::{parse_duration, Config};
use crate::exec::{self, ExecOutcome, ExecRequest, ExecSettings, Executor};
use crate::metrics;
use crate::policy::{Decision, Policy, PolicyError};

/// Arguments of `execute_command`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct ExecuteArgs {
    /// The shell command line to run, e.g. `ls -la` or `git status`.
    pub command: String,
    /// Directory to run in; relative paths are resolved against the server's workdir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Time limit such as "5s" or "2m" (default: the server's default timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<serde_json::Value>,
    /// Extra environment variables for this command (names that load code are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
}

/// The JSON result of `execute_command` (go-mcp-commander's keys plus ours).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct ExecuteResult {
    /// Standard output (head and tail kept when over the cap).
    pub stdout: String,
    /// Standard error (head and tail kept when over the cap).
    pub stderr: String,
    /// Exit status; -1 when the command did not exit on its own.
    pub exit_code: i32,
    /// Wall time, Go style ("1.2ms").
    pub duration: String,
    /// True when the timeout ended the command.
    pub timed_out: bool,
    /// True when output over the cap was dropped.
    pub truncated: bool,
    /// Bytes the command wrote to stdout in all.
    pub stdout_bytes: u64,
    /// Bytes the command wrote to stderr in all.
    pub stderr_bytes: u64,
    /// What went wrong, when something did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The signal that ended the command, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// How long the call waited for an execution slot before the command could start
    /// (Go style), when all were busy as it came; the wait counts against its timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<String>,
}

impl ExecuteResult {
    /// The result of `o`, its captured text moved, not copied (up to twice the output
    /// cap per call).
    fn from_outcome(o: ExecOutcome) -> Self {
        ExecuteResult {
            truncated: o.stdout.truncated || o.stderr.truncated,
            stdout_bytes: o.stdout.total,
            stderr_bytes: o.stderr.total,
            stdout: o.stdout.text,
            stderr: o.stderr.text,
            exit_code: o.exit_code,
            duration: exec::format_duration(o.duration),
            timed_out: o.timed_out,
            error: o.error,
            signal: o.signal,
            queued: o.queued.map(exec::format_duration),
        }
    }

    /// The same JSON object as `serde_json::to_value(&self)`, built by moving the output
    /// strings into it instead of copying them.
    pub fn into_value(self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("stdout".into(), self.stdout.into());
        m.insert("stderr".into(), self.stderr.into());
        m.insert("exit_code".into(), self.exit_code.into());
        m.insert("duration".into(), self.duration.into());
        m.insert("timed_out".into(), self.timed_out.into());
        m.insert("truncated".into(), self.truncated.into());
        m.insert("stdout_bytes".into(), self.stdout_bytes.into());
        m.insert("stderr_bytes".into(), self.stderr_bytes.into());
        if let Some(e) = self.error {
            m.insert("error".into(), e.into());
        }
        if let Some(s) = self.signal {
            m.insert("signal".into(), s.into());
        }
        if let Some(q) = self.queued {
            m.insert("queued".into(), q.into());
        }
        serde_json::Value::Object(m)
    }
}

/// What `execute_command` answers.
#[derive(Debug, Clone)]
pub enum ExecuteResponse {
    /// The command ran (whatever its exit status); `is_error` per the contract.
    Ran {
        result: ExecuteResult,
        is_error: bool,
    },
    /// The policy refused it; nothing ran.
    Refused(Decision),
    /// The arguments were invalid; nothing ran.
    Invalid(String),
}

/// Result of `list_allowed_commands`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AllowedList {
    pub allowed_commands: Vec<String>,
    pub allow_all: bool,
}

/// Result of `list_blocked_commands`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BlockedList {
    pub blocked_commands: Vec<String>,
    pub using_default_blocklist: bool,
}

/// Result of `get_shell_info`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ShellInfo {
    pub shell: String,
    pub shell_arg: String,
    pub default_timeout: String,
    pub max_timeout: String,
    pub max_output: String,
    pub sandbox: exec::SandboxReport,
}

/// A problem building the service from configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Sandbox(#[from] exec::sandbox::SandboxError),
}

/// An ssh command line no allow entry narrower than "ssh to anywhere" matches; see
/// [`exec::env::guard_git`].
pub const GIT_SSH_PROBE: &str =
    "ssh -o BatchMode=yes git@mcp-commander-probe.invalid git-upload-pack 'probe.git'";

/// Lines up to this many bytes are decided on the async worker that received the call
/// (a typical line takes microseconds). Longer ones are decided on a blocking thread: the
/// written-then-run checks grow with a line's length (a 79 KB line of `cd`s and writes
/// takes seconds), and a worker held that long would stall other calls and `/health`.
pub const INLINE_DECISION_MAX: usize = 1024;

/// The service behind every transport.
#[derive(Clone)]
pub struct Commander {
    config: Arc<Config>,
    policy: Arc<Policy>,
    /// Long lines decided at once (one per CPU): a flood of them queues here instead of
    /// taking every CPU from the calls that run.
    long_decisions: Arc<Semaphore>,
    executor: Executor,
    /// What every command's environment starts from (see [`exec::env::base`]).
    base_env: Arc<BTreeMap<String, String>>,
    /// `execute_command` calls not yet audited.
    calls: in_flight::InFlight,
}

/// The directory `working_directory` `wd` names: resolved against the server's workdir,
/// symlinks followed. The policy reads relative names from it — in `execute_command`,
/// `check_command` and the `check` subcommand alike — whether or not a command may start
/// there ([`inside_allowed`] decides that).
pub fn real_workdir(c: &Config, wd: Option<&str>) -> Result<PathBuf, String> {
    let base = match wd {
        None | Some("") => c.workdir.clone(),
        Some(d) => c.workdir.join(d),
    };
    let real = std::fs::canonicalize(&base).map_err(|e| {
        format!(
            "working_directory {:?} cannot be used: {e}",
            base.display().to_string()
        )
    })?;
    if !real.is_dir() {
        return Err(format!(
            "working_directory {:?} is not a directory",
            real.display().to_string()
        ));
    }
    Ok(real)
}

/// `real` (a [`real_workdir`]) when a command may start there: inside the allowed
/// directories, or there are none; else why not.
fn inside_allowed(c: &Config, real: PathBuf) -> Result<PathBuf, String> {
    if !c.allowed_dirs.is_empty() && !c.allowed_dirs.iter().any(|d| real.starts_with(d)) {
        return Err(format!(
            "working_directory {:?} is outside the allowed directories ({})",
            real.display().to_string(),
            c.allowed_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(real)
}

/// `real` (a [`real_workdir`]) when a command may start there ([`inside_allowed`]), with
/// the identity of the directory it names now: the command runs in that directory and
/// only that one is made writable for it, whatever `real` names by the time it starts (a
/// concurrent command may swap it for a symlink). The identity is read from a descriptor
/// opened without following symlinks, so it is the directory at the checked path itself.
fn checked_workdir(c: &Config, real: PathBuf) -> Result<(PathBuf, exec::sandbox::DirId), String> {
    let real = inside_allowed(c, real)?;
    let id = exec::sandbox::DirId::of_real(&real).map_err(|e| {
        format!(
            "working_directory {:?} changed while it was being checked ({e}); try again",
            real.display().to_string()
        )
    })?;
    Ok((real, id))
}

/// Takes out of the commands' `PATH` the entries a command could fill with programs of
/// its own (see [`exec::env::guard_path`]), and says so: `PATH_GUARD` for entries dropped,
/// `PATH_WRITABLE` for entries kept that commands may still write. The directories
/// commands may write are the working directory, the allowed directories and the temp
/// directory (under Landlock; without it, anything this user may write) — a root `/`
/// among them is left to the warning, or nothing would be left.
fn guard_path(config: &Config, executor: &Executor, env: &mut BTreeMap<String, String>) {
    let landlock = executor
        .sandbox_report()
        .landlock
        .status
        .contains("enforced");
    let mut writable: Vec<PathBuf> = config.allowed_dirs.clone();
    writable.push(config.workdir.clone());
    writable.push(std::env::temp_dir());
    writable.retain(|d| {
        std::fs::canonicalize(d).map_or(d.as_path() != Path::new("/"), |r| r != Path::new("/"))
    });
    let user_writable = !landlock || config.allowed_dirs.is_empty();
    let guard = exec::env::guard_path(env, &writable, user_writable);
    if !guard.dropped.is_empty() {
        tracing::warn!(
            dropped = guard.dropped.join(":"),
            "PATH_GUARD commands run without these PATH entries: they are relative or inside a directory commands may write, so a command could put a program there under an allowed name"
        );
    }
    if !guard.writable.is_empty() {
        tracing::warn!(
            writable = guard.writable.join(":"),
            "PATH_WRITABLE commands may write these PATH entries (Landlock is off, or working_directory is not limited by --allowed-dirs), so a command allowed to copy files could replace an allowed program there"
        );
    }
}

/// The policy the configuration describes (what `check` needs, without the sandbox).
pub fn policy_for(config: &Config) -> Result<Policy, PolicyError> {
    Policy::build(
        &config.allowed_commands,
        &config.blocked_commands,
        config.use_default_blocklist,
        config.policy_rules.clone(),
    )
}

impl Commander {
    /// Builds the policy and the executor from the configuration.
    pub fn new(config: Config) -> Result<Commander, BuildError> {
        let policy = policy_for(&config)?;
        let executor = Executor::new(
            ExecSettings {
                shell: config.shell.clone(),
                shell_arg: config.shell_arg.clone(),
                max_output: config.max_output,
                max_concurrency: config.max_concurrency,
            },
            exec::sandbox::Sandbox::new(exec::sandbox::SandboxSettings {
                disabled: config.sandbox.disabled.clone(),
                required: config.sandbox.required.clone(),
                network: config.sandbox.network,
                limits: config.sandbox.limits.clone(),
                writable_dirs: config.allowed_dirs.clone(),
                reaper_exe: None,
            })?,
        );
        let mut base_env = exec::env::base(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            &config.pass_env,
        );
        // git starts ssh for `host:path` URLs, and remote helpers for others, behind the
        // allow list's back (a URL in `.gitmodules` or a remote's config is not in the line).
        let transports = if policy.allow_all() {
            exec::env::GitTransports::Any
        } else {
            exec::env::GitTransports::Listed {
                // git's ssh runs `ssh [options] [user@]HOST git-upload-pack 'PATH'` for any
                // host a URL names, so ssh is allowed for git only when the list allows ssh
                // to any host with any command: an entry narrowed to one host (`ssh
                // git@github.com`) does not cover what git would run.
                ssh: policy.decide(GIT_SSH_PROBE).allowed(),
            }
        };
        exec::env::guard_git(&mut base_env, transports);
        if !policy.allow_all() {
            guard_path(&config, &executor, &mut base_env);
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Commander {
            config: Arc::new(config),
            policy: Arc::new(policy),
            long_decisions: Arc::new(Semaphore::new(cpus)),
            executor,
            base_env: Arc::new(base_env),
            calls: in_flight::InFlight::default(),
        })
    }

    /// The configuration it runs under.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The executor (for status and metrics).
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Ends every running command's process tree now, and ends or refuses every call
    /// waiting for a slot or still to come, each with an error starting with `reason`
    /// (and its audit line saying so). For a server that stops.
    pub fn stop_calls(&self, reason: &str) {
        self.executor.stop(reason);
    }

    /// Waits until every `execute_command` call has ended and written its audit line, or
    /// `limit` passed; true when none is left.
    pub async fn wait_calls(&self, limit: Duration) -> bool {
        self.calls.wait_idle(limit).await
    }

    /// The policy decision for a line, without running anything.
    pub async fn check(&self, line: &str) -> Decision {
        let cwd = real_workdir(&self.config, None).ok();
        self.decide(line, cwd).await
    }

    /// The policy's decision on `line` starting in `cwd`: inline for a short line, on a
    /// blocking thread (at most one per CPU at once) for one longer than
    /// [`INLINE_DECISION_MAX`].
    async fn decide(&self, line: &str, cwd: Option<PathBuf>) -> Decision {
        if line.len() <= INLINE_DECISION_MAX {
            return self.policy.decide_in(line, cwd.as_deref());
        }
        // The semaphore is never closed, so acquiring fails only if it were.
        let permit = self.long_decisions.clone().acquire_owned().await;
        let policy = Arc::clone(&self.policy);
        let owned = line.to_owned();
        let decided = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            policy.decide_in(&owned, cwd.as_deref())
        })
        .await;
        decided.unwrap_or_else(|e| {
            // A panic in the policy refuses the line (fail closed) instead of ending the call.
            tracing::error!(event = "POLICY_PANIC", error = %e, "the policy decision failed");
            Decision::deny(
                "the policy could not decide on this line (internal error); it was not run",
                "policy-error",
                Vec::new(),
            )
        })
    }

    /// `list_allowed_commands`.
    pub fn allowed(&self) -> AllowedList {
        AllowedList {
            allowed_commands: self.policy.allowed_commands(),
            allow_all: self.policy.allow_all(),
        }
    }

    /// `list_blocked_commands`.
    pub fn blocked(&self) -> BlockedList {
        BlockedList {
            blocked_commands: self.policy.blocked_commands(),
            using_default_blocklist: self.policy.uses_default_blocklist(),
        }
    }

    /// `get_shell_info`.
    pub fn shell_info(&self) -> ShellInfo {
        let c = &self.config;
        ShellInfo {
            shell: c.shell.clone(),
            shell_arg: c.shell_arg.clone(),
            default_timeout: humantime::format_duration(c.default_timeout).to_string(),
            max_timeout: humantime::format_duration(c.max_timeout).to_string(),
            max_output: format!("{} bytes per stream", c.max_output),
            sandbox: self.executor.sandbox_report().clone(),
        }
    }

    /// `execute_command`: validate, decide, run, record.
    pub async fn execute(
        &self,
        ctx: &CallContext,
        args: ExecuteArgs,
        cancel: CancellationToken,
    ) -> ExecuteResponse {
        let _counted = self.calls.track();
        // The policy reads relative names from where the command will start (an invalid
        // directory is reported below, after a refusal).
        let real = real_workdir(&self.config, args.working_directory.as_deref());
        let decision = self
            .decide(&args.command, real.as_ref().ok().cloned())
            .await;
        let workdir = real.and_then(|r| checked_workdir(&self.config, r));
        if !decision.allowed() {
            audit::cmd_blocked(
                ctx,
                &args.command,
                &decision.reason,
                decision.rule.as_deref(),
            );
            metrics::global().refusal(decision.rule.as_deref().unwrap_or("none"));
            return ExecuteResponse::Refused(decision);
        }
        let req = match self.prepare(&args, workdir) {
            Ok(r) => r,
            Err(msg) => return ExecuteResponse::Invalid(msg),
        };
        let env_keys: Vec<String> = args
            .env
            .as_ref()
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default();
        metrics::global().running(1);
        let outcome = self.executor.run(req.clone(), cancel).await;
        metrics::global().running(-1);
        let kind = if outcome.timed_out {
            metrics::Outcome::Timeout
        } else if outcome.exit_code == 0 && outcome.error.is_none() {
            metrics::Outcome::Ok
        } else if outcome.exit_code > 0 {
            metrics::Outcome::NonZero
        } else {
            metrics::Outcome::Error
        };
        metrics::global().command(kind, Some(outcome.duration.as_secs_f64()));
        audit::cmd_exec(
            ctx,
            &ExecRecord {
                command: &args.command,
                workdir: &req.workdir.display().to_string(),
                exit_code: outcome.exit_code,
                duration: outcome.duration,
                timed_out: outcome.timed_out,
                stdout_bytes: outcome.stdout.total,
                stderr_bytes: outcome.stderr.total,
                truncated: outcome.stdout.truncated || outcome.stderr.truncated,
                env_keys,
                started: outcome.started,
                queued: outcome.queued,
                reason: outcome.error.as_deref(),
            },
        );
        ExecuteResponse::Ran {
            is_error: outcome.is_error(),
            result: ExecuteResult::from_outcome(outcome),
        }
    }

    /// Turns call arguments into an executor request, or a clear error.
    fn prepare(
        &self,
        args: &ExecuteArgs,
        workdir: Result<(PathBuf, exec::sandbox::DirId), String>,
    ) -> Result<ExecRequest, String> {
        let c = &self.config;
        let timeout = match &args.timeout {
            None | Some(serde_json::Value::Null) => c.default_timeout,
            Some(v) => parse_call_timeout(v)?,
        };
        if timeout.is_zero() {
            return Err("timeout must be more than zero".into());
        }
        if timeout > c.max_timeout {
            return Err(format!(
                "timeout {} is over the server's maximum of {}; ask for less",
                humantime::format_duration(timeout),
                humantime::format_duration(c.max_timeout)
            ));
        }
        let (workdir, workdir_id) = workdir?;
        // The policy knows which names make the programs it allows run other code (the
        // same list it applies to `NAME=value cmd` in the line); the executor's own list
        // is a second, independent fence.
        if let Some(name) = args.env.iter().flatten().map(|(k, _)| k).find(|k| {
            crate::policy::vectors::dangerous_env(k)
                || crate::policy::vectors::dangerous_env(&k.to_ascii_uppercase())
        }) {
            return Err(exec::env::EnvError::Forbidden(name.clone()).to_string());
        }
        let env = exec::env::with_call(
            &self.base_env,
            args.env.as_ref().unwrap_or(&BTreeMap::new()),
        )
        .map_err(|e| e.to_string())?;
        Ok(ExecRequest {
            command: args.command.clone(),
            workdir,
            workdir_id: Some(workdir_id),
            timeout,
            env,
        })
    }
}

fn parse_call_timeout(v: &serde_json::Value) -> Result<Duration, String> {
    match v {
        serde_json::Value::String(s) => {
            parse_duration(s).map_err(|e| format!("invalid timeout {s:?}: {e}"))
        }
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
                Ok(Duration::from_secs_f64(secs))
            }
            _ => Err(format!(
                "invalid timeout {n}: give a duration such as \"5s\" or \"2m\""
            )),
        },
        other => Err(format!(
            "invalid timeout {other}: give a duration such as \"5s\" or \"2m\""
        )),
    }
}

/// True when `p` is inside one of `dirs` (both already canonical).
pub fn inside_any(p: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| p.starts_with(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    /// A line the written-then-run checks take long over (300 `cd`s, writes and runs:
    /// most of a second in a debug build), far above [`INLINE_DECISION_MAX`]. Run, it
    /// stops at its first word (`exit`), before it writes anything.
    fn slow_line() -> String {
        let mut parts = vec!["exit 3".to_string()];
        parts.extend((0..300).map(|i| format!("cd /nonexistent-{i}")));
        parts.extend((0..300).map(|i| format!("echo x > f{i}")));
        parts.extend((0..300).map(|i| format!("sh g{i}")));
        parts.join("; ")
    }

    /// Runs `decide` on a single-threaded runtime beside a task that ticks every 2 ms,
    /// and returns the decision, how long it took and how often the other task ran
    /// meanwhile. Decided inline, the decision would hold the only thread: 0 ticks.
    async fn beside_a_ticker<F>(decide: F) -> (bool, Duration, usize)
    where
        F: std::future::Future<Output = bool>,
    {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ticks);
        let ticker = tokio::spawn(async move {
            for _ in 0..100_000 {
                tokio::time::sleep(Duration::from_millis(2)).await;
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        tokio::task::yield_now().await;
        let start = Instant::now();
        let ran = decide.await;
        let took = start.elapsed();
        ticker.abort();
        (ran, took, ticks.load(Ordering::Relaxed))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_long_line_is_decided_off_the_runtime_thread() {
        let commander = Commander::new(Config::defaults()).expect("commander");
        let line = slow_line();
        assert!(line.len() > INLINE_DECISION_MAX);
        let (allowed, took, ticks) =
            beside_a_ticker(async { commander.check(&line).await.allowed() }).await;
        assert!(allowed, "the slow line is harmless");
        assert!(
            took >= Duration::from_millis(30),
            "too fast to show: {took:?}"
        );
        assert!(
            ticks >= 3,
            "other tasks ran {ticks} times during a {took:?} decision"
        );

        // execute_command goes the same way (the line then runs: `exit 3` at once), in a
        // directory of its own all the same.
        let dir = tempfile::tempdir().expect("tempdir");
        let args = ExecuteArgs {
            command: line.clone(),
            working_directory: Some(dir.path().display().to_string()),
            ..Default::default()
        };
        let (ran, took, ticks) = beside_a_ticker(async {
            let r = commander
                .execute(&CallContext::stdio(), args, CancellationToken::new())
                .await;
            matches!(r, ExecuteResponse::Ran { result, .. } if result.exit_code == 3)
        })
        .await;
        assert!(ran, "the line ran and exited 3");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(
            took >= Duration::from_millis(30),
            "too fast to show: {took:?}"
        );
        assert!(ticks >= 3, "other tasks ran {ticks} times during {took:?}");

        // A short line is decided inline, as before.
        assert!(!commander.check("rm -rf /").await.allowed());
    }
}
