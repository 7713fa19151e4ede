//! What the binary does once the command line is parsed: serve, check or healthcheck.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::audit;
use crate::config::{self, Command, Config, ConfigError};
use crate::mcp::CommanderServer;
use crate::service::Commander;

/// Exit code for bad configuration or usage.
pub const EXIT_CONFIG: u8 = 2;

/// Prints one line (multi-line messages such as regex errors are folded) and exits 2.
fn fail(msg: impl std::fmt::Display) -> ExitCode {
    let text = msg.to_string();
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("mcp-commander: {one_line}");
    ExitCode::from(EXIT_CONFIG)
}

/// Runs the binary with the process's arguments.
pub fn main() -> ExitCode {
    // The per-command reaper shim starts on every call: dispatch it before any config,
    // thread or runtime exists (it must stay single-threaded).
    let mut args = std::env::args_os();
    if args
        .nth(1)
        .is_some_and(|a| a == crate::exec::reaper::SUBCOMMAND)
    {
        return ExitCode::from(crate::exec::reaper::main(args.collect()));
    }
    // Nothing the server inherited (beyond stdin, stdout, stderr) reaches a command.
    #[cfg(target_os = "linux")]
    crate::exec::linux::cloexec_inherited();
    // ~/.mcp_env fills in variables before any thread exists (set_var is not thread-safe).
    let from_file = match config::apply_env_file(config::default_env_file().as_deref()) {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let mut inv = match config::parse_invocation(std::env::args_os(), &from_file.set) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    inv.config.env_file_ignored = from_file.ignored;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // A call's work is short bursts between waits on its process: with one worker thread
    // those bursts stay on one thread instead of bouncing between parked workers (stdio:
    // server CPU per call 0.18 -> 0.16 ms, p50 0.55 -> 0.51 ms for `echo hi`,
    // benches/load.rs). Over stdio there is one client; over HTTP this runtime only accepts
    // connections and handles signals, and the connections are served by one
    // single-threaded runtime per core (`transport::http::listener::Workers`).
    // TOKIO_WORKER_THREADS still wins when set.
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    match inv.command {
        Some(Command::Check { line }) => check(inv.config, &line.join(" ")),
        Some(Command::Healthcheck { url }) => {
            let url =
                url.unwrap_or_else(|| format!("http://127.0.0.1:{}/health", inv.config.http.port));
            match rt.block_on(crate::healthcheck::check(&url)) {
                Ok(status) => {
                    println!("healthy: {status}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mcp-commander healthcheck {url}: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Reaper { argv }) => ExitCode::from(crate::exec::reaper::main(
            argv.into_iter().map(Into::into).collect(),
        )),
        None => rt.block_on(serve(inv.config)),
    }
}

/// `check`: the policy alone decides; no sandbox probe, no process is started.
fn check(config: Config, line: &str) -> ExitCode {
    let policy = match crate::service::policy_for(&config) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    // As `check_command` does: relative names read from the server's working directory,
    // resolved as a command's would be (symlinks followed).
    let cwd = crate::service::real_workdir(&config, None).ok();
    let d = policy.decide_in(line, cwd.as_deref());
    println!("{}", serde_json::to_string(&d).unwrap_or_default());
    if d.allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn init_logging(config: &Config) -> Result<(), ConfigError> {
    audit::init(
        config.log_level,
        config.log_format,
        config.log_dir.as_deref(),
    )
    .map_err(ConfigError::Refused)?;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::WARN)
        .with_target("mcp_commander", tracing::Level::TRACE);
    let _ = tracing_subscriber::registry()
        .with(audit::AuditLayer.with_filter(filter))
        .try_init();
    Ok(())
}

use tracing_subscriber::Layer as _;

async fn serve(config: Config) -> ExitCode {
    if let Err(e) = init_logging(&config) {
        return fail(e);
    }
    let started = Instant::now();
    let http = config.http.enabled;
    let commander = match Commander::new(config) {
        Ok(c) => Arc::new(c),
        Err(e) => return fail(e),
    };
    let sandbox = serde_json::to_value(commander.executor().sandbox_report()).unwrap_or_default();
    audit::server_start(
        commander.config(),
        if http { "http" } else { "stdio" },
        sandbox,
    );
    warn_exposed_env(&commander.executor().sandbox_report().ancestor_env);
    warn_writable_config(&commander);
    if !commander.config().env_file_ignored.is_empty() {
        audit::Event::new(
            "CONFIG_IGNORED",
            crate::config::LogLevel::Warn,
            "~/.mcp_env sets only the server's own MCP_* settings and may not turn sandbox layers off (commands can write that file); these keys were ignored: give them as flags or in the server's environment",
        )
        .field("keys", commander.config().env_file_ignored.join(","))
        .emit();
    }
    if http {
        warn_weak_tokens(&commander.config().http);
    }
    let reason = if http {
        match crate::transport::http::serve(commander, shutdown_signal).await {
            Ok(reason) => reason,
            Err(e) => {
                let reason = e.to_string();
                audit::server_stop(&reason, started.elapsed());
                eprintln!("mcp-commander: {reason}");
                return ExitCode::from(1);
            }
        }
    } else {
        serve_stdio(commander).await
    };
    audit::server_stop(&reason, started.elapsed());
    ExitCode::SUCCESS
}

/// Tokens shorter than this get a warning at start.
pub const SHORT_TOKEN: usize = 16;

/// Warnings (never the tokens) about tokens that are easy to get: `TOKEN_FILE_READABLE`
/// when the token file holds tokens as themselves (commands can read it as the server
/// did), and `WEAK_TOKEN` when some are short: the failed-login throttle bounds the log and
/// the load, not guessing, so a token must be long and random to be safe. Not refusals:
/// go-mcp-commander accepted any token, and switching must not stop a service; the
/// operator sees them in the first lines and in CloudWatch.
fn warn_weak_tokens(http: &crate::config::HttpConfig) {
    if http.no_auth {
        return;
    }
    let short = http
        .tokens
        .iter()
        .filter(|t| !crate::config::is_token_digest(t) && t.chars().count() < SHORT_TOKEN)
        .count();
    if http.plain_tokens_in_file > 0 {
        audit::Event::new(
            "TOKEN_FILE_READABLE",
            crate::config::LogLevel::Warn,
            "the token file holds tokens as themselves, and commands run as the server's user can read it as the server did; store their sha256: digests there instead (README, Secrets above the server)",
        )
        .field("tokens", http.plain_tokens_in_file)
        .emit();
    }
    if short > 0 {
        tracing::warn!(
            short,
            configured = http.tokens.len(),
            "WEAK_TOKEN {short} of {} configured tokens are shorter than {SHORT_TOKEN} characters; use long random ones (for example `openssl rand -hex 32`)",
            http.tokens.len()
        );
    }
}

/// `ENV_EXPOSED` (a warning, names only, never values) when commands can read secrets in
/// the environment of a process above the server: on ECS without Landlock (Fargate's
/// kernel has none), the task's init holds `MCP_AUTH_TOKEN`. README, "Secrets above the
/// server", says what to do.
fn warn_exposed_env(status: &str) {
    if let Some(processes) = status.strip_prefix("exposed: ") {
        audit::Event::new(
            "ENV_EXPOSED",
            crate::config::LogLevel::Warn,
            "commands can read secrets in the environment of a process that started the server (Landlock, which would keep them out, is not enforced); give the token as a sha256: digest or start the server without it above (README, Secrets above the server)",
        )
        .field("processes", processes)
        .emit();
    }
}

/// `CONFIG_WRITABLE` (a warning) naming the files that configure the server which its
/// commands could write: `~/.mcp_env` (also where it does not exist yet: a command could
/// create it), the policy file, the token file and the `--log-dir` directory. A command
/// that rewrites `~/.mcp_env` configures the next start (`MCP_SANDBOX_DISABLE`,
/// `MCP_PASS_ENV=MCP_AUTH_TOKEN`, its own token); one that writes the log directory can
/// forge lines in its file (stderr lines it cannot). Commands can write a file when the
/// server's user can and either Landlock is not enforced, or no `--allowed-dirs` bounds
/// `working_directory` (the call's directory is writable), or the file is below an
/// allowed directory or the temp directory.
fn warn_writable_config(commander: &Commander) {
    let c = commander.config();
    let report = commander.executor().sandbox_report();
    let landlock = report.landlock.status.ends_with("enforced");
    let mut writable_dirs = c.allowed_dirs.clone();
    writable_dirs.push(std::env::temp_dir());
    let files = [
        ("~/.mcp_env", crate::config::default_env_file()),
        ("policy file", c.policy_file.clone()),
        ("token file", c.http.token_file.clone()),
        ("log dir", c.log_dir.clone()),
    ];
    let found: Vec<String> = files
        .into_iter()
        .filter_map(|(what, path)| {
            let path = path?;
            let bounded = landlock && !c.allowed_dirs.is_empty();
            writable_by_commands(&path, bounded, &writable_dirs)
                .then(|| format!("{what} {}", path.display()))
        })
        .collect();
    if !found.is_empty() {
        audit::Event::new(
            "CONFIG_WRITABLE",
            crate::config::LogLevel::Warn,
            "commands can write files that configure this server (a rewritten ~/.mcp_env can turn the sandbox off or pass secrets to commands at the next start); use --allowed-dirs that do not contain them, or give them to another owner (root) in a directory the server's user cannot write",
        )
        .field("files", found.join(", "))
        .emit();
    }
}

/// Whether a command could write `path` (or create it, when it does not exist): the
/// server's user may, and either nothing bounds where commands write (`bounded` false:
/// Landlock off, or no allowed dirs) or `path` is below one of `writable_dirs`.
pub fn writable_by_commands(path: &Path, bounded: bool, writable_dirs: &[PathBuf]) -> bool {
    let real = std::fs::canonicalize(path).ok();
    let target = match &real {
        Some(p) => p.clone(),
        // Not there yet: whoever may write its directory may create it.
        None => match path.parent().and_then(|d| std::fs::canonicalize(d).ok()) {
            Some(d) => d,
            None => return false,
        },
    };
    if !user_may_change(&target, real.is_some()) {
        return false;
    }
    !bounded
        || writable_dirs.iter().any(|d| {
            let d = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
            target.starts_with(&d)
        })
}

/// Whether the server's user may change `path`: write it, or (when `exists`, for a file
/// or directory there) make it writable again (`chmod`, as its owner) or replace it (its
/// directory is writable, and not sticky against another owner's file). A read-only
/// `~/.mcp_env` of the server's own user is no protection.
fn user_may_change(path: &Path, exists: bool) -> bool {
    use nix::unistd::{access, AccessFlags};
    use std::os::unix::fs::MetadataExt;
    if access(path, AccessFlags::W_OK).is_ok() {
        return true;
    }
    if !exists {
        return false;
    }
    let me = nix::unistd::geteuid().as_raw();
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if meta.uid() == me {
        return true;
    }
    let Some(dir) = path.parent() else {
        return false;
    };
    let sticky = std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o1000 != 0);
    access(dir, AccessFlags::W_OK).is_ok() && !sticky
}

/// How long a stopping stdio server waits for the calls it ended to be answered and
/// audited (their process trees end within a second: TERM, 200 ms, KILL, the pipes'
/// last 300 ms).
const STDIO_STOP_WAIT: Duration = Duration::from_secs(3);

/// How long calls running when stdin closed may go on to be answered: a second less than
/// rmcp's own drain of in-flight answers after EOF (5 s, after which it cancels them as
/// plain cancellations), so that what is still running is ended with the reason and its
/// answer still goes out.
const STDIN_CLOSED_GRACE: Duration = Duration::from_secs(4);

/// The stop reason the calls running when the client closed stdin are ended with.
pub const STDIN_CLOSED: &str =
    "the client closed stdin (it quit or restarted the server), so the server is stopping";

/// Serves MCP over stdin/stdout until the client closes stdin or a signal comes, then
/// stops: on a signal every running command's process tree is ended at once; after stdin
/// closed, calls that end within [`STDIN_CLOSED_GRACE`] are answered and the rest ended.
/// Each call is answered (where stdout is still read) and audited with the reason, and only
/// then does the server return (SERVER_STOP follows).
async fn serve_stdio(commander: Arc<Commander>) -> String {
    let (transport, writer) = crate::transport::stdio::stdio();
    let stdin_closed = transport.closed();
    let server = CommanderServer::new(commander.clone());
    let reason = match server.serve(transport).await {
        Ok(running) => {
            let service = running.cancellation_token();
            let waiting = running.waiting();
            tokio::pin!(waiting);
            let (reason, stop, ended) = tokio::select! {
                r = &mut waiting => {
                    let reason = match r {
                        Ok(_) => "stdin closed".to_string(),
                        Err(e) => format!("service ended: {e}"),
                    };
                    (reason, "the MCP service ended, so the server is stopping".to_string(), true)
                }
                _ = stdin_closed.cancelled() => ("stdin closed".to_string(), STDIN_CLOSED.to_string(), false),
                s = shutdown_signal() => {
                    let stop = format!("the server is shutting down on {s}");
                    (s, stop, false)
                }
            };
            let mut ended = ended;
            if reason == "stdin closed" && !ended {
                // A client that piped its requests in and reads the answers (`printf … |
                // mcp-commander`) still gets those that end within rmcp's drain after EOF;
                // what still runs then is ended and audited.
                ended = tokio::time::timeout(STDIN_CLOSED_GRACE, &mut waiting)
                    .await
                    .is_ok();
            }
            commander.stop_calls(&stop);
            if !ended {
                // Closing the service answers the calls that end now (rmcp lets them
                // finish for up to 2 s after a cancel, 5 s after EOF); their commands
                // are already being ended.
                service.cancel();
                let _ = tokio::time::timeout(STDIO_STOP_WAIT, &mut waiting).await;
            }
            reason
        }
        Err(e) => format!("initialization failed: {e}"),
    };
    // A call whose answer could not be sent (stdout is gone) may still be writing its
    // audit line.
    commander.wait_calls(STDIO_STOP_WAIT).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer).await;
    reason
}

/// Resolves on SIGTERM or SIGINT with the signal's name.
pub async fn shutdown_signal() -> String {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM".into(),
            _ = tokio::signal::ctrl_c() => "SIGINT".into(),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT".into()
    }
}
