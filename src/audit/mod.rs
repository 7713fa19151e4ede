//! The audit trail: one line per event on stderr, JSON or `key=value` text.
//!
//! stdout belongs to the MCP stdio channel, and on ECS the awslogs driver reads stderr, so
//! audit lines never go to a file unless `--log-dir` asks for a copy. Each line carries
//! `timestamp` (UTC, RFC 3339, ms), `level`, `event` and a `message` starting with the event
//! name. Command output, token values and env values are never recorded; control
//! characters are escaped by both formats, so a command cannot forge a line.
//!
//! Diagnostics from tracing (ours and our dependencies') go through [`layer`] into the same
//! sink, so every stderr line has one shape.

mod layer;
mod sink;

use std::time::Duration;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::{Config, LogFormat, LogLevel};

pub use layer::AuditLayer;
pub use sink::{init, init_for_tests, Sink};

/// The longest command line an audit line holds whole (see [`Event::command`]).
pub const MAX_COMMAND_LOGGED: usize = 12 * 1024;
/// What a longer one keeps of its start and end.
const COMMAND_HEAD: usize = 8 * 1024;
const COMMAND_TAIL: usize = 2 * 1024;
/// The most names (env names, argument names) an audit line lists in one field, and the
/// most bytes they may take there as written, and of one name (see [`Event::names`]).
pub const MAX_NAMES_LOGGED: usize = 64;
pub const MAX_NAMES_BYTES: usize = 1024;
const MAX_NAME_LOGGED: usize = 128;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes a character takes in a log line, the larger of JSON (`\u0001`, `\"`) and
/// text (`escape_debug`: `\u{1b}`, `\u{200b}`).
fn written_len(c: char) -> usize {
    let json = match c {
        '"' | '\\' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    };
    json.max(c.escape_debug().map(char::len_utf8).sum())
}

/// `text` cut at `max` bytes (on a character boundary) and marked `…(cut)` when longer: for
/// client-chosen text that reaches a log line or an answer (a request id, a method name),
/// which would otherwise make a line of any size (CloudWatch splits events over 256 KB, and
/// the halves are no longer JSON).
pub fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("…(cut)");
    }
    text
}

/// Who made a call: `stdio`, or `token:` plus 8 hex digits of the token's SHA-256.
pub fn caller_for_token(token: &str) -> String {
    caller_for_digest(&Sha256::digest(token.as_bytes()).into())
}

/// [`caller_for_token`] from the token's SHA-256 digest, when it is already computed.
pub fn caller_for_digest(digest: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(14);
    out.push_str("token:");
    for b in &digest[..4] {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

/// One audit line under construction.
#[derive(Debug, Clone)]
pub struct Event {
    pub(crate) name: &'static str,
    pub(crate) level: LogLevel,
    pub(crate) message: String,
    pub(crate) fields: Map<String, Value>,
}

impl Event {
    /// A new event; `detail` follows the event name in the message.
    pub fn new(name: &'static str, level: LogLevel, detail: &str) -> Event {
        Event {
            name,
            level,
            message: format!("{name} {detail}"),
            fields: Map::new(),
        }
    }

    /// Adds a field.
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    /// Adds a command line as `command`: whole up to [`MAX_COMMAND_LOGGED`] bytes, else
    /// its head and tail around a marker, with `command_bytes` (its whole length) and
    /// `command_sha256` (of the whole line, to match it elsewhere). A line of up to 128 KiB
    /// runs (and a longer one is refused and logged), and log transports split long lines
    /// (Docker at 16 KiB), which could part a `CMD_EXEC` record from its command.
    pub fn command(self, command: &str) -> Event {
        // Counted as written: a control character takes six bytes escaped (`\u0001`), so
        // 12 KiB of them made a 72 KiB line.
        if command.chars().map(written_len).sum::<usize>() <= MAX_COMMAND_LOGGED {
            return self.field("command", command);
        }
        let mut head = 0;
        let mut written = 0;
        for (i, c) in command.char_indices() {
            written += written_len(c);
            if written > COMMAND_HEAD {
                break;
            }
            head = i + c.len_utf8();
        }
        let mut tail = command.len();
        written = 0;
        for (i, c) in command.char_indices().rev() {
            written += written_len(c);
            if written > COMMAND_TAIL {
                break;
            }
            tail = i;
        }
        let shown = format!(
            "{}…({} bytes cut)…{}",
            &command[..head],
            tail - head,
            &command[tail..]
        );
        let digest: [u8; 32] = Sha256::digest(command.as_bytes()).into();
        self.field("command", shown)
            .field("command_bytes", command.len())
            .field("command_sha256", hex(&digest))
    }

    /// Adds client-chosen names (env names, argument names) as the list `key`: all of them
    /// when they are at most [`MAX_NAMES_LOGGED`] and take at most [`MAX_NAMES_BYTES`] as
    /// written (each cut at 128 bytes). Otherwise the list holds those that fit, and
    /// `{key}_count` (how many there were) and `{key}_sha256` (of the compact JSON array of
    /// all of them) follow: one huge name, or thirty thousand, would otherwise make a line
    /// that log transports split (Docker at 16 KiB) into pieces that are no longer JSON
    /// and may contain the word a query looks for.
    pub fn names<S: AsRef<str>>(self, key: &str, names: &[S]) -> Event {
        let mut shown: Vec<String> = Vec::new();
        let mut bytes = 0;
        let mut whole = names.len() <= MAX_NAMES_LOGGED;
        for name in names.iter().take(MAX_NAMES_LOGGED) {
            let name = name.as_ref();
            let kept = cut(name.to_string(), MAX_NAME_LOGGED);
            whole &= kept.len() == name.len();
            // As written: JSON escapes control characters, up to six bytes each.
            bytes += serde_json::to_string(&kept).map_or(kept.len(), |w| w.len()) + 1;
            if bytes > MAX_NAMES_BYTES {
                whole = false;
                break;
            }
            shown.push(kept);
        }
        let e = self.field(key, shown);
        if whole {
            return e;
        }
        let all: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        let digest: [u8; 32] = Sha256::digest(Value::from(all).to_string().as_bytes()).into();
        e.field(&format!("{key}_count"), names.len())
            .field(&format!("{key}_sha256"), hex(&digest))
    }

    /// Adds a field when present.
    pub fn opt_field(self, key: &str, value: Option<impl Into<Value>>) -> Event {
        match value {
            Some(v) => self.field(key, v),
            None => self,
        }
    }

    /// Writes the event if its level is enabled.
    pub fn emit(self) {
        sink::emit(&self);
    }
}

/// Identity and transport of a call, for audit fields.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub caller: String,
    pub transport: &'static str,
    pub session: Option<String>,
    pub request: Option<String>,
}

impl CallContext {
    /// A call over stdio.
    pub fn stdio() -> CallContext {
        CallContext {
            caller: "stdio".into(),
            transport: "stdio",
            session: None,
            request: None,
        }
    }

    fn apply(&self, e: Event) -> Event {
        e.field("caller", self.caller.clone())
            .field("transport", self.transport)
            .opt_field("session", self.session.clone())
            .opt_field("request", self.request.clone())
    }
}

/// The facts of one finished command (no output, no env values).
#[derive(Debug, Clone)]
pub struct ExecRecord<'a> {
    pub command: &'a str,
    pub workdir: &'a str,
    pub exit_code: i32,
    pub duration: Duration,
    pub timed_out: bool,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    pub truncated: bool,
    pub env_keys: Vec<String>,
    /// False when the command never started (see [`crate::exec::ExecOutcome::started`]).
    pub started: bool,
    /// How long the call waited for an execution slot, when it had to.
    pub queued: Option<Duration>,
    /// The server's own account of why the command failed to run or was ended (never
    /// its output).
    pub reason: Option<&'a str>,
}

/// `CMD_EXEC`: an allowed command ran, or was to run and never started (`started` false).
pub fn cmd_exec(ctx: &CallContext, r: &ExecRecord<'_>) {
    let detail = if r.started {
        "command executed"
    } else {
        "command did not start"
    };
    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    let e = Event::new("CMD_EXEC", LogLevel::Info, detail)
        .command(r.command)
        .field("workdir", r.workdir)
        .field("exit_code", r.exit_code)
        .field("duration_ms", ms(r.duration))
        .field("timed_out", r.timed_out)
        .field("stdout_bytes", r.stdout_bytes)
        .field("stderr_bytes", r.stderr_bytes)
        .field("truncated", r.truncated)
        .names("env_keys", &r.env_keys)
        .field("started", r.started)
        .opt_field("queued_ms", r.queued.map(ms))
        .opt_field("reason", r.reason);
    ctx.apply(e).emit();
}

/// `CMD_BLOCKED`: the policy refused a command; nothing ran.
pub fn cmd_blocked(ctx: &CallContext, command: &str, reason: &str, rule: Option<&str>) {
    let e = Event::new("CMD_BLOCKED", LogLevel::Info, "command blocked by policy")
        .command(command)
        .field("reason", reason)
        .field("rule", rule.unwrap_or("none"));
    ctx.apply(e).emit();
}

/// `AUTH_FAILED`: an HTTP request without a valid token got 401.
pub fn auth_failed(remote_addr: &str, reason: &str) {
    Event::new("AUTH_FAILED", LogLevel::Warn, "401 unauthorized request")
        .field("status", 401)
        .field("remote_addr", remote_addr)
        .field("reason", reason)
        .emit();
}

/// `AUTH_FAILED`, summed up: `count` requests from `remote_addr` without a valid token were
/// answered 429 (the address is past its failed-authentication budget) and not written one
/// by one; one such line per address per `window`, and at shutdown.
pub fn auth_failures_suppressed(remote_addr: &str, count: u64, window: Duration) {
    let detail = format!(
        "401 unauthorized requests from one address: {count} more since the last line, answered 429 \
         and not written one by one (too many failed authentications; summed every {} s)",
        window.as_secs()
    );
    Event::new("AUTH_FAILED", LogLevel::Warn, &detail)
        .field("status", 401)
        .field("remote_addr", remote_addr)
        .field("reason", "too many failed authentications")
        .field("suppressed", count)
        .emit();
}

/// `TOOL_CALL`: a tool was called (argument names only). Below the default level, so
/// nothing is built unless `access` (or `debug`) is on: it comes with every call.
pub fn tool_call<'a>(
    ctx: &CallContext,
    tool: &str,
    arg_keys: impl IntoIterator<Item = &'a String>,
) {
    if !sink::enabled(LogLevel::Access) {
        return;
    }
    let keys: Vec<&String> = arg_keys.into_iter().collect();
    let e = Event::new("TOOL_CALL", LogLevel::Access, "tool called")
        .field("tool", tool)
        .names("arg_keys", &keys);
    ctx.apply(e).emit();
}

/// `SERVER_START`: the effective configuration (no secrets) and where each value came from.
pub fn server_start(config: &Config, transport: &str, sandbox: Value) {
    let h = &config.http;
    let mut cfg = Map::new();
    cfg.insert(
        "allowed_commands".into(),
        config.allowed_commands.clone().into(),
    );
    // Named "blocklist", not "blocked…", so `like /blocked/` finds only refusals.
    cfg.insert(
        "extra_blocklist".into(),
        config.blocked_commands.clone().into(),
    );
    cfg.insert(
        "default_blocklist".into(),
        config.use_default_blocklist.into(),
    );
    cfg.insert(
        "policy_file".into(),
        config
            .policy_file
            .as_ref()
            .map(|p| p.display().to_string())
            .into(),
    );
    cfg.insert(
        "default_timeout".into(),
        humantime::format_duration(config.default_timeout)
            .to_string()
            .into(),
    );
    cfg.insert(
        "max_timeout".into(),
        humantime::format_duration(config.max_timeout)
            .to_string()
            .into(),
    );
    cfg.insert("max_output".into(), config.max_output.into());
    cfg.insert("max_concurrency".into(), config.max_concurrency.into());
    cfg.insert("shell".into(), config.shell.clone().into());
    cfg.insert("shell_arg".into(), config.shell_arg.clone().into());
    cfg.insert(
        "workdir".into(),
        config.workdir.display().to_string().into(),
    );
    cfg.insert(
        "allowed_dirs".into(),
        config
            .allowed_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .into(),
    );
    cfg.insert("pass_env".into(), config.pass_env.clone().into());
    cfg.insert(
        "log_level".into(),
        serde_json::to_value(config.log_level).unwrap_or_default(),
    );
    cfg.insert(
        "log_format".into(),
        serde_json::to_value(config.log_format).unwrap_or_default(),
    );
    cfg.insert(
        "log_dir".into(),
        config
            .log_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .into(),
    );
    if h.enabled {
        cfg.insert("host".into(), h.host.clone().into());
        cfg.insert("port".into(), h.port.into());
        cfg.insert(
            "auth".into(),
            if h.no_auth {
                "none".into()
            } else {
                format!("{} token(s)", h.tokens.len()).into()
            },
        );
        cfg.insert("allowed_origins".into(), h.allowed_origins.clone().into());
        cfg.insert("stateless".into(), h.stateless.into());
        cfg.insert(
            "rate_limit".into(),
            h.rate_limit
                .map(|r| r.to_string())
                .unwrap_or_else(|| "off".into())
                .into(),
        );
        cfg.insert("metrics".into(), h.metrics.into());
        cfg.insert(
            "shutdown_grace".into(),
            humantime::format_duration(h.shutdown_grace)
                .to_string()
                .into(),
        );
    }
    let sources: Map<String, Value> = config
        .sources
        .iter()
        .map(|(k, s)| (k.to_string(), serde_json::to_value(s).unwrap_or_default()))
        .collect();
    Event::new("SERVER_START", LogLevel::Info, "mcp-commander starting")
        .field("version", env!("CARGO_PKG_VERSION"))
        .field("transport", transport)
        .field("config", Value::Object(cfg))
        .field("sources", Value::Object(sources))
        .field("sandbox", sandbox)
        .emit();
}

/// `SERVER_STOP`: why and after how long.
pub fn server_stop(reason: &str, uptime: Duration) {
    Event::new("SERVER_STOP", LogLevel::Info, "mcp-commander stopping")
        .field("reason", reason)
        .field("uptime_s", (uptime.as_secs_f64() * 1000.0).round() / 1000.0)
        .emit();
    sink::flush();
}

/// The default line format for a transport.
pub fn default_format(http: bool) -> LogFormat {
    if http {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_of(names: &[String]) -> Map<String, Value> {
        Event::new("X", LogLevel::Info, "x")
            .names("env_keys", names)
            .fields
    }

    #[test]
    fn few_short_names_are_listed_whole() {
        let f = names_of(&["A".into(), "B_2".into()]);
        assert_eq!(f["env_keys"], serde_json::json!(["A", "B_2"]));
        assert!(!f.contains_key("env_keys_count"));
        assert!(!f.contains_key("env_keys_sha256"));
    }

    #[test]
    fn many_or_long_names_are_bounded_with_count_and_digest() {
        let many: Vec<String> = (0..30_000).map(|i| format!("K{i:05}_blocked")).collect();
        let huge = vec![format!("X{}", "blocked".repeat(110_000))];
        let control = vec!["\u{1}".repeat(120); 40];
        for names in [many, huge, control] {
            let f = names_of(&names);
            let written = Value::Object(f.clone()).to_string();
            assert!(written.len() < 2 * MAX_NAMES_BYTES, "{}", written.len());
            assert_eq!(f["env_keys_count"], names.len());
            let all = Value::from(names.clone()).to_string();
            let digest: [u8; 32] = Sha256::digest(all.as_bytes()).into();
            assert_eq!(f["env_keys_sha256"], hex(&digest));
            let shown = f["env_keys"].as_array().unwrap();
            assert!(shown.len() <= MAX_NAMES_LOGGED);
        }
    }

    #[test]
    fn caller_is_a_hash_prefix() {
        let c = caller_for_token("secret-token");
        assert!(c.starts_with("token:"));
        assert_eq!(c.len(), "token:".len() + 8);
        assert!(!c.contains("secret"));
        assert_ne!(c, caller_for_token("other"));
        let d = Sha256::digest(b"secret-token");
        let hex: String = d.iter().take(4).map(|b| format!("{b:02x}")).collect();
        assert_eq!(c, format!("token:{hex}"));
    }
}
