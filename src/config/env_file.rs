//! The `~/.mcp_env` file: `KEY=VALUE` lines that fill in environment variables the
//! process was not started with.
//!
//! go-mcp-commander users keep their token and allow list there. A variable already present
//! in the environment always wins; a missing file is fine. Values loaded here never reach
//! executed commands, because the executor builds every command's environment from scratch.

use std::path::Path;

/// One `KEY=VALUE` pair read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub key: String,
    pub value: String,
}

/// Parses the text of an env file: `#` comments, blank lines, optional `export `,
/// optional single or double quotes around the value. Malformed lines are skipped.
pub fn parse(text: &str) -> Vec<EnvEntry> {
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = unquote(value.trim());
        out.push(EnvEntry {
            key: key.to_string(),
            value,
        });
    }
    out
}

fn unquote(v: &str) -> String {
    let bytes = v.as_bytes();
    if bytes.len() >= 2 {
        let (first, last) = (bytes[0], bytes[bytes.len() - 1]);
        if (first == b'"' || first == b'\'') && first == last {
            return v[1..v.len() - 1].to_string();
        }
    }
    // An unquoted value may carry a trailing ` # comment`.
    match v.find(" #") {
        Some(i) => v[..i].trim_end().to_string(),
        None => v.to_string(),
    }
}

/// Reads the file if it exists. An unreadable existing file is reported, a missing one is not.
pub fn read(path: &Path) -> std::io::Result<Vec<EnvEntry>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comments_quotes_and_export() {
        let got = parse(
            "# comment\n\nexport MCP_AUTH_TOKEN=\"abc def\"\nMCP_LOG_LEVEL='debug'\nBAD LINE\nMCP_TIMEOUT=5s # trailing\n=x\n",
        );
        assert_eq!(
            got,
            vec![
                EnvEntry {
                    key: "MCP_AUTH_TOKEN".into(),
                    value: "abc def".into()
                },
                EnvEntry {
                    key: "MCP_LOG_LEVEL".into(),
                    value: "debug".into()
                },
                EnvEntry {
                    key: "MCP_TIMEOUT".into(),
                    value: "5s".into()
                },
            ]
        );
    }

    #[test]
    fn missing_file_is_empty() {
        assert!(read(Path::new("/nonexistent/.mcp_env")).unwrap().is_empty());
    }
}
