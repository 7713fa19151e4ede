//! Where audit lines go: stderr always, plus a dated file under `--log-dir` when asked.

use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

use super::Event;
use crate::config::{LogFormat, LogLevel};

/// The process-wide line writer.
pub struct Sink {
    level: LogLevel,
    format: LogFormat,
    file: Option<Mutex<tracing_appender::rolling::RollingFileAppender>>,
    capture: Option<Mutex<Vec<String>>>,
}

static SINK: OnceLock<Sink> = OnceLock::new();
static STDERR: Mutex<()> = Mutex::new(());

/// Installs the sink. `log_dir`, when set, must be writable.
pub fn init(level: LogLevel, format: LogFormat, log_dir: Option<&Path>) -> Result<(), String> {
    let file = match log_dir {
        Some(dir) => {
            // A directory made here is the server's user's alone (the lines name commands,
            // which may hold secrets; the file is created with the default mode).
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(dir)
                .map_err(|e| format!("--log-dir {}: {e}", dir.display()))?;
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("mcp-commander")
                .filename_suffix("log")
                .build(dir)
                .map_err(|e| format!("--log-dir {}: {e}", dir.display()))?;
            Some(Mutex::new(appender))
        }
        None => None,
    };
    let _ = SINK.set(Sink {
        level,
        format,
        file,
        capture: None,
    });
    Ok(())
}

/// Installs a sink that keeps lines in memory (unit tests of the formats).
pub fn init_for_tests(level: LogLevel, format: LogFormat) {
    let _ = SINK.set(Sink {
        level,
        format,
        file: None,
        capture: Some(Mutex::new(Vec::new())),
    });
}

/// Lines captured by [`init_for_tests`].
#[allow(dead_code)]
pub fn captured() -> Vec<String> {
    SINK.get()
        .and_then(|s| s.capture.as_ref())
        .map(|c| c.lock().unwrap_or_else(|e| e.into_inner()).clone())
        .unwrap_or_default()
}

/// True when events of `level` are written.
#[allow(dead_code)]
pub fn enabled(level: LogLevel) -> bool {
    match SINK.get() {
        Some(s) => s.level != LogLevel::Off && level <= s.level,
        None => false,
    }
}

pub(crate) fn emit(e: &Event) {
    let Some(s) = SINK.get() else { return };
    if s.level == LogLevel::Off || e.level > s.level {
        return;
    }
    let mut line = match s.format {
        LogFormat::Json => json_line(e),
        LogFormat::Text => text_line(e),
    };
    line.push('\n');
    if let Some(c) = &s.capture {
        c.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        return;
    }
    {
        let _g = STDERR.lock().unwrap_or_else(|e| e.into_inner());
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    if let Some(f) = &s.file {
        let _ = f
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(line.as_bytes());
    }
}

/// Flushes the file copy (stderr is unbuffered).
pub fn flush() {
    if let Some(f) = SINK.get().and_then(|s| s.file.as_ref()) {
        let _ = f.lock().unwrap_or_else(|e| e.into_inner()).flush();
    }
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt).unwrap_or_default()
}

fn level_name(l: LogLevel) -> &'static str {
    match l {
        LogLevel::Off => "off",
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Access => "access",
        LogLevel::Debug => "debug",
    }
}

fn json_line(e: &Event) -> String {
    let mut m = Map::new();
    m.insert("timestamp".into(), timestamp().into());
    m.insert("level".into(), level_name(e.level).into());
    m.insert("event".into(), e.name.into());
    m.insert("message".into(), e.message.clone().into());
    for (k, v) in &e.fields {
        m.insert(k.clone(), v.clone());
    }
    // serde_json escapes every control character, so the line stays one line.
    serde_json::to_string(&Value::Object(m)).unwrap_or_default()
}

fn text_value(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => quote(&v.to_string()),
        other => other.to_string(),
    }
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\\' && c != '=');
    if plain {
        s.to_string()
    } else {
        // escape_debug turns newlines, ESC and other control characters into visible escapes.
        format!("\"{}\"", s.escape_debug())
    }
}

fn text_line(e: &Event) -> String {
    let mut out = format!(
        "{} level={} event={} message={}",
        timestamp(),
        level_name(e.level),
        e.name,
        quote(&e.message)
    );
    for (k, v) in &e.fields {
        out.push(' ');
        out.push_str(k);
        out.push('=');
        out.push_str(&text_value(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(cmd: &str) -> Event {
        Event::new("CMD_EXEC", LogLevel::Info, "command executed").field("command", cmd)
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        let cmd = "echo hi\n2026-01-01T00:00:00.000Z level=info event=CMD_EXEC \u{1b}[31mred";
        for line in [json_line(&ev(cmd)), text_line(&ev(cmd))] {
            assert!(!line.contains('\n'), "{line}");
            assert!(!line.contains('\u{1b}'), "{line}");
        }
        let v: Value = serde_json::from_str(&json_line(&ev(cmd))).unwrap();
        assert_eq!(v["command"], cmd);
        assert_eq!(v["event"], "CMD_EXEC");
        assert!(v["message"].as_str().unwrap().starts_with("CMD_EXEC"));
    }

    #[test]
    fn long_commands_keep_head_tail_length_and_digest() {
        use sha2::{Digest, Sha256};
        // Multi-byte characters across both cut points.
        let cmd = format!("echo START{}END", "é".repeat(50_000));
        let e = Event::new("CMD_EXEC", LogLevel::Info, "command executed").command(&cmd);
        let line = json_line(&e);
        assert!(line.len() < 16 * 1024, "{}", line.len());
        let v: Value = serde_json::from_str(&line).unwrap();
        let shown = v["command"].as_str().unwrap();
        assert!(
            shown.starts_with("echo START") && shown.ends_with("END"),
            "{shown}"
        );
        assert!(shown.contains(" bytes cut)…"), "{shown}");
        assert_eq!(v["command_bytes"], cmd.len());
        let digest: String = Sha256::digest(cmd.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(v["command_sha256"], digest);
        // Up to the limit a command is whole, without the extra fields.
        let whole = "x".repeat(super::super::MAX_COMMAND_LOGGED);
        let e = Event::new("CMD_EXEC", LogLevel::Info, "command executed").command(&whole);
        let v: Value = serde_json::from_str(&json_line(&e)).unwrap();
        assert_eq!(v["command"], whole);
        assert!(v.get("command_bytes").is_none());
    }

    #[test]
    fn commands_are_cut_by_what_they_take_written() {
        // 10 KiB of control characters and zero-width spaces, which both formats escape
        // (6 to 8 bytes each): a 60–80 KiB line when counted in raw bytes.
        for filler in ["\u{1}", "\u{200b}", "\\\""] {
            let cmd = format!("echo START{}END", filler.repeat(10 * 1024 / filler.len()));
            let e = Event::new("CMD_EXEC", LogLevel::Info, "command executed").command(&cmd);
            for line in [json_line(&e), text_line(&e)] {
                assert!(line.len() < 16 * 1024, "{filler:?}: {}", line.len());
                assert!(line.contains("START") && line.contains("END"), "{line}");
                assert!(line.contains("bytes cut)"), "{filler:?}");
            }
        }
    }

    #[test]
    fn timestamps_are_utc_millis() {
        let t = timestamp();
        assert_eq!(t.len(), "2026-11-21T05:40:12.123Z".len(), "{t}");
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn text_format_is_key_value() {
        let line = text_line(&ev("ls -la").field("exit_code", 0));
        assert!(line.contains(" event=CMD_EXEC message=\"CMD_EXEC command executed\" command=\"ls -la\" exit_code=0"), "{line}");
    }
}
