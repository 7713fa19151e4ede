//! The command line: every go-mcp-commander flag under its old long name, plus ours.
//!
//! Values are kept as strings or options here; [`super::Config::resolve`] applies the
//! precedence (flag > env > `~/.mcp_env` > policy file > default) and validates them.

use clap::{Args, Parser, Subcommand};

/// Parsed command line, before resolution.
#[derive(Debug, Parser)]
#[command(
    name = "mcp-commander",
    version,
    about = "A sandboxed shell-command MCP server (stdio or Streamable HTTP)",
    long_about = "A sandboxed shell-command MCP server: a shell-aware policy engine decides, a \
                  timeout- and resource-bounded executor runs, over stdio (default) or MCP \
                  Streamable HTTP (--http)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub options: Options,
}

/// Subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dry-run the policy on a command line and print the decision as JSON. Runs nothing.
    /// Exit 0 allow, 1 deny, 2 usage error.
    Check {
        /// The command line, after `--`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        line: Vec<String>,
    },
    /// GET /health on a running server; exit 0 healthy, 1 not.
    Healthcheck {
        /// Health URL (default http://127.0.0.1:$PORT/health).
        #[arg(long)]
        url: Option<String>,
    },
    /// Internal: the per-command reaper shim (not for direct use).
    #[command(hide = true, name = "__reaper")]
    Reaper {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<String>,
    },
}

/// Every configuration flag. All are global so `check` accepts the policy flags too.
#[derive(Debug, Args, Default)]
pub struct Options {
    /// Comma list of allowed commands (argv-word prefixes); empty = everything not blocked.
    #[arg(long, global = true, env = "MCP_ALLOWED_COMMANDS")]
    pub allowed_commands: Option<String>,
    /// Comma list of extra blocked patterns (words; `re:` prefix = regex on the line).
    #[arg(long, global = true, env = "MCP_BLOCKED_COMMANDS")]
    pub blocked_commands: Option<String>,
    /// Use the built-in dangerous-command rules (`--use-default-blocklist=false` to turn off).
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true", require_equals = false)]
    pub use_default_blocklist: Option<String>,
    /// Policy file (TOML).
    #[arg(long, global = true, env = "MCP_POLICY_FILE")]
    pub policy: Option<String>,
    /// Default command timeout (humantime, e.g. 30s).
    #[arg(long, global = true, env = "MCP_DEFAULT_TIMEOUT")]
    pub timeout: Option<String>,
    /// Largest timeout a call may ask for.
    #[arg(long, global = true, env = "MCP_MAX_TIMEOUT")]
    pub max_timeout: Option<String>,
    /// Output kept per stream (e.g. 100KB); head and tail are kept.
    #[arg(long, global = true, env = "MCP_MAX_OUTPUT")]
    pub max_output: Option<String>,
    /// Commands running at once.
    #[arg(long, global = true, env = "MCP_MAX_CONCURRENCY")]
    pub max_concurrency: Option<String>,
    /// Shell used to run commands.
    #[arg(long, global = true, env = "MCP_SHELL")]
    pub shell: Option<String>,
    /// Argument that passes the command line to the shell.
    #[arg(long, global = true, env = "MCP_SHELL_ARG", allow_hyphen_values = true)]
    pub shell_arg: Option<String>,
    /// Base for relative working directories.
    #[arg(long, global = true, env = "MCP_WORKDIR")]
    pub workdir: Option<String>,
    /// Comma list of directories a working directory must resolve into.
    #[arg(long, global = true, env = "MCP_ALLOWED_DIRS")]
    pub allowed_dirs: Option<String>,
    /// Comma list of server environment variables passed to commands.
    #[arg(long, global = true, env = "MCP_PASS_ENV")]
    pub pass_env: Option<String>,
    /// off, error, warn, info, access, debug.
    #[arg(long, global = true, env = "MCP_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// json or text (default json with --http, else text).
    #[arg(long, global = true, env = "MCP_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Also append log lines to a dated file in this directory.
    #[arg(long, global = true, env = "MCP_LOG_DIR")]
    pub log_dir: Option<String>,
    /// Serve MCP Streamable HTTP instead of stdio.
    #[arg(long, global = true)]
    pub http: bool,
    /// HTTP listen host.
    #[arg(long, global = true, env = "MCP_HTTP_HOST")]
    pub host: Option<String>,
    /// HTTP listen port.
    #[arg(long, global = true, env = "MCP_HTTP_PORT")]
    pub port: Option<String>,
    /// File with HTTP token(s), one a line.
    #[arg(long, global = true, env = "MCP_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<String>,
    /// Serve HTTP without a token (loopback hosts only).
    #[arg(long, global = true)]
    pub no_auth: bool,
    /// Comma list of allowed Origin values.
    #[arg(long, global = true, env = "MCP_ALLOWED_ORIGINS")]
    pub allowed_origins: Option<String>,
    /// No server-side MCP sessions (for several replicas behind a load balancer).
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true", env = "MCP_STATELESS")]
    pub stateless: Option<String>,
    /// Per-token rate limit: N/s or N/m; 0 turns it off.
    #[arg(long, global = true, env = "MCP_RATE_LIMIT")]
    pub rate_limit: Option<String>,
    /// Serve Prometheus metrics at GET /metrics.
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true", env = "MCP_METRICS")]
    pub metrics: Option<String>,
    /// How long running calls may finish after SIGTERM.
    #[arg(long, global = true, env = "MCP_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<String>,
    #[command(flatten)]
    pub sandbox: SandboxOptions,
}

/// Sandbox layers and resource limits of commands (see `config::sandbox`).
#[derive(Debug, Args, Default)]
pub struct SandboxOptions {
    /// Comma list of sandbox layers to turn off: reaper, nproc, landlock, seccomp, cgroup, or all.
    #[arg(long, global = true, env = "MCP_SANDBOX_DISABLE")]
    pub sandbox_disable: Option<String>,
    /// Comma list of sandbox layers that must be active, or the server does not start.
    #[arg(long, global = true, env = "MCP_SANDBOX_REQUIRE")]
    pub sandbox_require: Option<String>,
    /// allow or deny: deny lets commands open only Unix sockets (needs seccomp).
    #[arg(long, global = true, env = "MCP_NETWORK")]
    pub network: Option<String>,
    /// Processes a command may add to the user's current count (RLIMIT_NPROC).
    #[arg(long, global = true, env = "MCP_NPROC_BUDGET")]
    pub nproc_budget: Option<String>,
    /// Memory per command process (RLIMIT_DATA on Linux), e.g. 4GB.
    #[arg(long, global = true, env = "MCP_MAX_MEMORY")]
    pub max_memory: Option<String>,
    /// Largest file a command may write (RLIMIT_FSIZE), e.g. 1GB.
    #[arg(long, global = true, env = "MCP_MAX_FILE_SIZE")]
    pub max_file_size: Option<String>,
    /// Open files per command process (RLIMIT_NOFILE).
    #[arg(long, global = true, env = "MCP_MAX_OPEN_FILES")]
    pub max_open_files: Option<String>,
}
