//! Configuration: the command line, the environment, `~/.mcp_env`, a policy file and the
//! built-in defaults, resolved once at start into an immutable [`Config`].
//!
//! Precedence is flag > environment variable > `~/.mcp_env` > policy file > default, and
//! [`Config::sources`] remembers where each value came from so `SERVER_START` can say so.
//! Anything wrong is a [`ConfigError`] whose one-line message the binary prints before
//! exiting with code 2.

pub mod cli;
pub mod env_file;
pub mod sandbox;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

pub use cli::{Cli, Command, Options};
pub use sandbox::SandboxConfig;

/// A configuration problem; the message is the one line printed before exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid {name} {value:?}: {why}")]
    Invalid {
        name: String,
        value: String,
        why: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// Where a configuration value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Flag,
    Env,
    File,
    Policy,
    Default,
}

/// Log verbosity, from quietest to loudest. `access` adds `TOOL_CALL` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Access,
    Debug,
}

impl LogLevel {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => Self::Off,
            "error" => Self::Error,
            "warn" | "warning" => Self::Warn,
            "info" => Self::Info,
            "access" => Self::Access,
            "debug" => Self::Debug,
            _ => return None,
        })
    }
}

/// Format of log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// A request budget: `per` seconds hold `count` requests. `None` in [`HttpConfig`] = off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = if self.per.as_secs() == 60 { "m" } else { "s" };
        write!(f, "{}/{}", self.count, unit)
    }
}

/// Settings of the HTTP transport.
#[derive(Clone)]
pub struct HttpConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// Accepted tokens (several during rotation). Never logged.
    pub tokens: Vec<String>,
    /// How many of them come from `--auth-token-file` as themselves (not `sha256:`
    /// digests): a file the server's user reads, so its commands can read it too.
    pub plain_tokens_in_file: usize,
    /// `--auth-token-file`, when given.
    pub token_file: Option<PathBuf>,
    pub no_auth: bool,
    /// Allowed `Origin` values; empty means loopback origins only.
    pub allowed_origins: Vec<String>,
    pub stateless: bool,
    pub rate_limit: Option<RateLimit>,
    pub metrics: bool,
    pub shutdown_grace: Duration,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("enabled", &self.enabled)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tokens", &format_args!("<{} redacted>", self.tokens.len()))
            .field("plain_tokens_in_file", &self.plain_tokens_in_file)
            .field("token_file", &self.token_file)
            .field("no_auth", &self.no_auth)
            .field("allowed_origins", &self.allowed_origins)
            .field("stateless", &self.stateless)
            .field("rate_limit", &self.rate_limit)
            .field("metrics", &self.metrics)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

/// The resolved, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub allowed_commands: Vec<String>,
    pub blocked_commands: Vec<String>,
    pub use_default_blocklist: bool,
    pub policy_file: Option<PathBuf>,
    /// The `[[rule]]`s of the policy file (always applied; see `policies/README.md`).
    pub policy_rules: Vec<crate::policy::rules::Rule>,
    pub default_timeout: Duration,
    pub max_timeout: Duration,
    pub max_output: usize,
    pub max_concurrency: usize,
    pub shell: String,
    pub shell_arg: String,
    pub workdir: PathBuf,
    pub allowed_dirs: Vec<PathBuf>,
    pub pass_env: Vec<String>,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub log_dir: Option<PathBuf>,
    pub http: HttpConfig,
    pub sandbox: SandboxConfig,
    /// Where each setting came from, by its environment-variable-like key.
    pub sources: BTreeMap<&'static str, Source>,
    /// Keys of `~/.mcp_env` it did not apply ([`ENV_FILE_REFUSED`]), for a warning.
    pub env_file_ignored: Vec<String>,
}

/// What the command line asked for, with the configuration it runs under.
#[derive(Debug)]
pub struct Invocation {
    pub command: Option<Command>,
    pub config: Config,
}

/// The env file's location: `$HOME/.mcp_env`.
pub fn default_env_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".mcp_env"))
}

/// Keys `~/.mcp_env` may not set: commands run as the server's user and, without
/// `--allowed-dirs`, can write that file, so a key there that turns the sandbox's layers
/// off would let one command switch them off for every later start. A flag or the
/// server's own environment still can. Keys not starting `MCP_` are not applied either
/// (see [`env_file_may_set`]).
pub const ENV_FILE_REFUSED: &[&str] = &["MCP_SANDBOX_DISABLE"];

/// Whether `~/.mcp_env` may set `key`: the server's own settings (`MCP_*`) except
/// [`ENV_FILE_REFUSED`]. Anything else would change the server's process environment for
/// no setting of it, and some of it the sandbox: `TMPDIR=/` made the whole file system
/// the writable temp dir, `PATH` the programs commands find.
pub fn env_file_may_set(key: &str) -> bool {
    key.starts_with("MCP_") && !ENV_FILE_REFUSED.contains(&key)
}

/// What [`apply_env_file`] did.
#[derive(Debug, Default)]
pub struct EnvFileApplied {
    /// The names it set.
    pub set: Vec<String>,
    /// The names it would have set but may not ([`env_file_may_set`]).
    pub ignored: Vec<String>,
}

/// Loads `~/.mcp_env` into the process environment (never overwriting). Must run before any
/// thread starts.
pub fn apply_env_file(path: Option<&Path>) -> Result<EnvFileApplied, ConfigError> {
    let mut applied = EnvFileApplied::default();
    let Some(path) = path else {
        return Ok(applied);
    };
    let entries = env_file::read(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    for e in entries {
        if !env_file_may_set(&e.key) {
            applied.ignored.push(e.key);
        } else if std::env::var_os(&e.key).is_none() {
            std::env::set_var(&e.key, &e.value);
            applied.set.push(e.key);
        }
    }
    Ok(applied)
}

/// Parses the command line (clap prints help/version/usage errors and exits itself) and
/// resolves the configuration. `from_file` lists variables that `~/.mcp_env` supplied.
pub fn parse_invocation<I, T>(args: I, from_file: &[String]) -> Result<Invocation, ConfigError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Cli::command().get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let mut r = Resolver {
        matches: &matches,
        from_file,
        sources: BTreeMap::new(),
    };
    let config = Config::resolve(&cli.options, &mut r)?;
    Ok(Invocation {
        command: cli.command,
        config,
    })
}

struct Resolver<'a> {
    matches: &'a clap::ArgMatches,
    from_file: &'a [String],
    sources: BTreeMap<&'static str, Source>,
}

impl Resolver<'_> {
    /// Records and returns where the option `id` (clap id) with env name `key` came from.
    fn source(&mut self, id: &str, key: &'static str, present: bool) -> Source {
        let src = if !present {
            Source::Default
        } else {
            match self.matches.value_source(id) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) if self.from_file.iter().any(|k| k == key) => {
                    Source::File
                }
                Some(ValueSource::EnvVariable) => Source::Env,
                _ => Source::Default,
            }
        };
        self.sources.insert(key, src);
        src
    }

    fn value<'v>(&mut self, id: &str, key: &'static str, v: &'v Option<String>) -> Option<&'v str> {
        self.source(id, key, v.is_some());
        v.as_deref()
    }
}

/// Reads and checks a policy file; any problem is one line naming the file (and line).
fn read_policy_file(path: &Path) -> Result<crate::policy::file::PolicyFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    crate::policy::file::PolicyFile::parse(&text, &path.display().to_string()).map_err(|e| {
        ConfigError::Refused(format!("policy file {}", e.to_string().replace('\n', " ")))
    })
}

fn invalid(name: &str, value: &str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_string(),
        value: value.to_string(),
        why: why.into(),
    }
}

/// A token given by its digest: `sha256:` (any case) and the SHA-256 of the token in 64
/// hex digits; the digest's bytes.
pub fn token_digest(t: &str) -> Option<[u8; 32]> {
    let hex = t.get(DIGEST_PREFIX.len()..).filter(|_| names_digest(t))?;
    if hex.len() != 64 {
        return None;
    }
    let mut d = [0u8; 32];
    for (i, b) in d.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(d)
}

const DIGEST_PREFIX: &str = "sha256:";

/// Whether `t` starts the way a token given by its digest does (`sha256:`, any case).
fn names_digest(t: &str) -> bool {
    t.get(..DIGEST_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(DIGEST_PREFIX))
}

/// Whether `t` gives a token by its digest ([`token_digest`]).
pub fn is_token_digest(t: &str) -> bool {
    token_digest(t).is_some()
}

/// Parses a humantime duration (`30s`, `2m`, `1h 30m`); a bare number means seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t).map_err(|e| format!("{e} (write it like 30s, 2m or 1h)"))
}

/// Parses a byte size: `100KB`, `1MiB`, `4096`. K/KB/KiB = 1024 bytes, M/MB/MiB = 1024².
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| "expected a number with an optional unit such as 100KB or 1MB".to_string())?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown unit {other:?} (use B, KB, MB or GB)")),
    };
    n.checked_mul(mult).ok_or_else(|| "too large".to_string())
}

fn parse_bool(name: &'static str, s: &str) -> Result<bool, ConfigError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(name, s, "expected true or false")),
    }
}

/// Parses `N/s`, `N/m` or `0` (off).
pub fn parse_rate_limit(s: &str) -> Result<Option<RateLimit>, String> {
    let t = s.trim();
    if t == "0" {
        return Ok(None);
    }
    let (n, unit) = t
        .split_once('/')
        .ok_or("write it as N/s or N/m, or 0 to turn it off")?;
    let count: u32 = n
        .trim()
        .parse()
        .map_err(|_| "the count must be a whole number")?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        _ => return Err("the unit must be s or m".into()),
    };
    if count == 0 {
        return Ok(None);
    }
    Ok(Some(RateLimit { count, per }))
}

/// Splits a comma list, trimming blanks and dropping empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// True for `127.0.0.1`, `::1`, `localhost` and the rest of 127/8.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

impl Config {
    fn resolve(o: &Options, r: &mut Resolver<'_>) -> Result<Config, ConfigError> {
        // The policy file comes first: its settings fill in whatever flags, environment and
        // ~/.mcp_env leave unset (precedence: flag > env > ~/.mcp_env > policy file > default).
        let policy_file = r
            .value("policy", "MCP_POLICY_FILE", &o.policy)
            .map(PathBuf::from);
        let file = policy_file.as_deref().map(read_policy_file).transpose()?;
        let from_policy = |r: &mut Resolver<'_>, key: &'static str, v: Option<Vec<String>>| {
            if v.is_some() {
                r.sources.insert(key, Source::Policy);
            }
            v
        };
        let allowed_commands = match r.value(
            "allowed_commands",
            "MCP_ALLOWED_COMMANDS",
            &o.allowed_commands,
        ) {
            Some(v) => split_list(v),
            None => from_policy(
                r,
                "MCP_ALLOWED_COMMANDS",
                file.as_ref().and_then(|f| f.allowed_commands.clone()),
            )
            .unwrap_or_default(),
        };
        let blocked_commands = match r.value(
            "blocked_commands",
            "MCP_BLOCKED_COMMANDS",
            &o.blocked_commands,
        ) {
            Some(v) => split_list(v),
            None => from_policy(
                r,
                "MCP_BLOCKED_COMMANDS",
                file.as_ref().and_then(|f| f.blocked_commands.clone()),
            )
            .unwrap_or_default(),
        };
        let use_default_blocklist = match r.value(
            "use_default_blocklist",
            "use_default_blocklist",
            &o.use_default_blocklist,
        ) {
            Some(v) => parse_bool("--use-default-blocklist", v)?,
            None => match file.as_ref().and_then(|f| f.use_default_blocklist) {
                Some(b) => {
                    r.sources.insert("use_default_blocklist", Source::Policy);
                    b
                }
                None => true,
            },
        };
        let policy_rules = file.as_ref().map(|f| f.rules.clone()).unwrap_or_default();

        let dur = |r: &mut Resolver<'_>, id, key, name, v: &Option<String>, d: u64| match r
            .value(id, key, v)
        {
            Some(s) => parse_duration(s).map_err(|why| invalid(name, s, why)),
            None => Ok(Duration::from_secs(d)),
        };
        let default_timeout = dur(
            r,
            "timeout",
            "MCP_DEFAULT_TIMEOUT",
            "--timeout",
            &o.timeout,
            30,
        )?;
        let max_timeout = dur(
            r,
            "max_timeout",
            "MCP_MAX_TIMEOUT",
            "--max-timeout",
            &o.max_timeout,
            600,
        )?;
        if default_timeout.is_zero() {
            return Err(invalid("--timeout", "0", "must be more than zero"));
        }
        if default_timeout > max_timeout {
            return Err(ConfigError::Refused(format!(
                "--timeout {} is larger than --max-timeout {}",
                humantime::format_duration(default_timeout),
                humantime::format_duration(max_timeout)
            )));
        }
        let max_output = match r.value("max_output", "MCP_MAX_OUTPUT", &o.max_output) {
            Some(s) => parse_size(s).map_err(|why| invalid("--max-output", s, why))?,
            None => 100 * 1024,
        };
        if max_output < 64 {
            return Err(invalid(
                "--max-output",
                &max_output.to_string(),
                "must be at least 64 bytes",
            ));
        }
        let max_concurrency =
            match r.value("max_concurrency", "MCP_MAX_CONCURRENCY", &o.max_concurrency) {
                Some(s) => match s.trim().parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        return Err(invalid(
                            "--max-concurrency",
                            s,
                            "expected a whole number of at least 1",
                        ))
                    }
                },
                None => 8,
            };
        let shell = r
            .value("shell", "MCP_SHELL", &o.shell)
            .unwrap_or("/bin/sh")
            .to_string();
        if shell.trim().is_empty() {
            return Err(invalid("--shell", &shell, "must not be empty"));
        }
        // MCP_SHELL alone implies -c; an explicitly empty shell arg is honoured.
        let shell_arg = r
            .value("shell_arg", "MCP_SHELL_ARG", &o.shell_arg)
            .unwrap_or("-c")
            .to_string();

        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let workdir = match r.value("workdir", "MCP_WORKDIR", &o.workdir) {
            Some(s) => {
                let p = cwd.join(s);
                if !p.is_dir() {
                    return Err(invalid("--workdir", s, "is not an existing directory"));
                }
                p
            }
            None => cwd,
        };
        let dirs = match r.value("allowed_dirs", "MCP_ALLOWED_DIRS", &o.allowed_dirs) {
            Some(s) => Some(split_list(s)),
            None => from_policy(
                r,
                "MCP_ALLOWED_DIRS",
                file.as_ref().and_then(|f| f.allowed_dirs.clone()),
            ),
        };
        // Named after where the list came from: the flag (or its variable) or the file.
        let dirs_option = match (r.sources.get("MCP_ALLOWED_DIRS"), &policy_file) {
            (Some(Source::Policy), Some(f)) => {
                format!("allowed_dirs of policy file {}", f.display())
            }
            _ => "--allowed-dirs".to_string(),
        };
        let allowed_dirs = match dirs {
            Some(list) => list
                .into_iter()
                .map(|d| {
                    std::fs::canonicalize(workdir.join(&d))
                        .map_err(|e| invalid(&dirs_option, &d, format!("cannot resolve: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let pass_env = match r.value("pass_env", "MCP_PASS_ENV", &o.pass_env) {
            Some(v) => split_list(v),
            None => from_policy(
                r,
                "MCP_PASS_ENV",
                file.as_ref().and_then(|f| f.pass_env.clone()),
            )
            .unwrap_or_default(),
        };
        if let Some(bad) = pass_env.iter().find(|n| overrides_git_guard(n)) {
            return Err(ConfigError::Refused(format!(
                "--pass-env {bad}: the server sets git's editor and configuration for every command (safe.bareRepository, protocol.allow; see README, The command environment), and {bad} would override them or be overridden; put git settings in a gitconfig file instead"
            )));
        }

        let log_level = match r.value("log_level", "MCP_LOG_LEVEL", &o.log_level) {
            Some(s) => LogLevel::parse(s).ok_or_else(|| {
                invalid(
                    "--log-level",
                    s,
                    "expected one of off, error, warn, info, access, debug",
                )
            })?,
            None => LogLevel::Info,
        };
        let log_format = match r.value("log_format", "MCP_LOG_FORMAT", &o.log_format) {
            Some(s) => match s.trim().to_ascii_lowercase().as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                _ => return Err(invalid("--log-format", s, "expected json or text")),
            },
            None if o.http => LogFormat::Json,
            None => LogFormat::Text,
        };
        let log_dir = r
            .value("log_dir", "MCP_LOG_DIR", &o.log_dir)
            .map(PathBuf::from);

        let http = resolve_http(o, r)?;
        let sandbox = SandboxConfig::resolve(&o.sandbox, r)?;

        Ok(Config {
            allowed_commands,
            blocked_commands,
            use_default_blocklist,
            policy_file,
            policy_rules,
            default_timeout,
            max_timeout,
            max_output,
            max_concurrency,
            shell,
            shell_arg,
            workdir,
            allowed_dirs,
            pass_env,
            log_level,
            log_format,
            log_dir,
            env_file_ignored: Vec::new(),
            http,
            sandbox,
            sources: std::mem::take(&mut r.sources),
        })
    }

    /// A configuration with every default, for tests and embedding.
    pub fn defaults() -> Config {
        let matches = Cli::command().get_matches_from(["mcp-commander"]);
        let mut r = Resolver {
            matches: &matches,
            from_file: &[],
            sources: BTreeMap::new(),
        };
        Config::resolve(&Options::default(), &mut r).expect("defaults are valid")
    }
}

fn resolve_http(o: &Options, r: &mut Resolver<'_>) -> Result<HttpConfig, ConfigError> {
    let host = r
        .value("host", "MCP_HTTP_HOST", &o.host)
        .unwrap_or("127.0.0.1")
        .to_string();
    let port = match r.value("port", "MCP_HTTP_PORT", &o.port) {
        Some(s) => s
            .trim()
            .parse::<u16>()
            .map_err(|_| invalid("--port", s, "expected a port number 0-65535"))?,
        None => 3000,
    };
    // Where the tokens of MCP_AUTH_TOKEN came from (never what they are): one that
    // ~/.mcp_env added beside a token file shows in SERVER_START.
    if std::env::var_os("MCP_AUTH_TOKEN").is_some() {
        let src = if r.from_file.iter().any(|k| k == "MCP_AUTH_TOKEN") {
            Source::File
        } else {
            Source::Env
        };
        r.sources.insert("MCP_AUTH_TOKEN", src);
    }
    let mut tokens = std::env::var("MCP_AUTH_TOKEN")
        .map(|v| split_list(&v))
        .unwrap_or_default();
    let mut plain_tokens_in_file = 0;
    let token_file = r
        .value("auth_token_file", "MCP_AUTH_TOKEN_FILE", &o.auth_token_file)
        .map(PathBuf::from);
    if let Some(path) = &token_file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let from_file: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        plain_tokens_in_file = from_file.iter().filter(|t| !is_token_digest(t)).count();
        tokens.extend(from_file);
    }
    // `sha256:HEX` stands for a token by its digest (kept where commands might read it).
    if tokens
        .iter()
        .any(|t| names_digest(t) && !is_token_digest(t))
    {
        return Err(ConfigError::Refused(
            "a token given as sha256:… must be the token's SHA-256 digest in 64 hex digits (printf %s \"$TOKEN\" | sha256sum)".into(),
        ));
    }
    let allowed_origins = r
        .value("allowed_origins", "MCP_ALLOWED_ORIGINS", &o.allowed_origins)
        .map(split_list)
        .unwrap_or_default();
    let stateless = match r.value("stateless", "MCP_STATELESS", &o.stateless) {
        Some(v) => parse_bool("--stateless", v)?,
        None => false,
    };
    let rate_limit = match r.value("rate_limit", "MCP_RATE_LIMIT", &o.rate_limit) {
        Some(s) => parse_rate_limit(s).map_err(|why| invalid("--rate-limit", s, why))?,
        None => Some(RateLimit {
            count: 50,
            per: Duration::from_secs(1),
        }),
    };
    let metrics = match r.value("metrics", "MCP_METRICS", &o.metrics) {
        Some(v) => parse_bool("--metrics", v)?,
        None => false,
    };
    let shutdown_grace = match r.value("shutdown_grace", "MCP_SHUTDOWN_GRACE", &o.shutdown_grace) {
        Some(s) => parse_duration(s).map_err(|why| invalid("--shutdown-grace", s, why))?,
        None => Duration::from_secs(20),
    };
    if o.http {
        if tokens.is_empty() && !o.no_auth {
            return Err(ConfigError::Refused(
                "--http needs a token: set MCP_AUTH_TOKEN or --auth-token-file, or pass --no-auth on a loopback host".into(),
            ));
        }
        if o.no_auth && !is_loopback_host(&host) {
            return Err(ConfigError::Refused(format!(
                "--no-auth is only allowed on a loopback host, not {host}"
            )));
        }
    }
    Ok(HttpConfig {
        enabled: o.http,
        host,
        port,
        tokens,
        plain_tokens_in_file,
        token_file,
        no_auth: o.no_auth,
        allowed_origins,
        stateless,
        rate_limit,
        metrics,
        shutdown_grace,
    })
}

/// Server variables `--pass-env` may not pass: `GIT_CONFIG_PARAMETERS` is read after the
/// `GIT_CONFIG_COUNT` entries the executor adds ([`crate::exec::env::guard_git`]), so it
/// would override them; `GIT_EDITOR`/`GIT_SEQUENCE_EDITOR` are always set to `true`, so
/// passing them would silently do nothing.
fn overrides_git_guard(name: &str) -> bool {
    matches!(
        name,
        "GIT_CONFIG_PARAMETERS" | "GIT_EDITOR" | "GIT_SEQUENCE_EDITOR"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("100KB").unwrap(), 102_400);
        assert_eq!(parse_size("2MiB").unwrap(), 2 * 1024 * 1024);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("12XB").is_err());
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn rate_limits() {
        assert_eq!(parse_rate_limit("0").unwrap(), None);
        assert_eq!(
            parse_rate_limit("10/m").unwrap(),
            Some(RateLimit {
                count: 10,
                per: Duration::from_secs(60)
            })
        );
        assert!(parse_rate_limit("10").is_err());
    }

    #[test]
    fn loopback() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("127.3.4.5"));
        assert!(is_loopback_host("::1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("localhost"));
        assert!(!is_loopback_host("0.0.0.0"));
        assert!(!is_loopback_host("10.0.0.1"));
    }
}
