//! Secrets a command could read in the environment of a process that started the server.
//!
//! The server makes itself non-dumpable, so a command running as the same user cannot read
//! its `/proc/<pid>/environ`. The processes above it are another matter: an init or `tini`
//! (PID 1 of a container, which ECS gives the task's secrets as environment variables) or
//! the shell that launched it keep the environment they were started with, and a command of
//! the same user reads it with `cat /proc/1/environ` — unless Landlock is enforced, which
//! keeps a sandboxed process out of the `/proc` entries of processes outside its domain.
//! Nothing here changes what commands can do; it finds out, once at start, so that
//! `get_shell_info`, `/health` and an `ENV_EXPOSED` warning can say so.

/// How many processes above the server are looked at (a chain of launchers is short).
#[cfg(target_os = "linux")]
const MAX_DEPTH: usize = 32;

/// Parts of a name (split at `_`) that mark a variable as a secret (`GITHUB_TOKEN`,
/// `AWS_SECRET_ACCESS_KEY`, `SMTP_PASS`, `NPM_AUTH`, `SENTRY_DSN`).
const SECRET_PARTS: [&str; 13] = [
    "TOKEN",
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "AUTH",
    "CREDENTIAL",
    "CREDENTIALS",
    "KEY",
    "APIKEY",
    "DSN",
];

/// Endings of a name part that mark it too (`APITOKEN`, `DBPASSWORD`, `ACCESSKEY`).
const SECRET_ENDINGS: [&str; 4] = ["TOKEN", "SECRET", "PASSWORD", "KEY"];

/// Whether the variable `name=value` holds a secret: by the parts of its name, or a URL
/// with a password in its value (`postgres://user:pass@db/app`). A name for a file or
/// directory (`MCP_AUTH_TOKEN_FILE`) holds a path, `PWD`/`OLDPWD` a directory, and an
/// `MCP_AUTH_TOKEN` made only of `sha256:` digests nothing that authenticates.
pub fn is_secret(name: &str, value: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if ["_FILE", "_PATH", "_DIR"]
        .iter()
        .any(|s| upper.ends_with(s))
        || matches!(upper.as_str(), "PWD" | "OLDPWD")
    {
        return false;
    }
    if upper == "MCP_AUTH_TOKEN" {
        return !value
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .all(crate::config::is_token_digest);
    }
    upper.split('_').any(|part| {
        SECRET_PARTS.contains(&part) || SECRET_ENDINGS.iter().any(|e| part.ends_with(e))
    }) || url_with_password(value)
}

/// `scheme://user:password@host…`: a password in a URL's authority.
fn url_with_password(value: &str) -> bool {
    value.match_indices("://").any(|(i, _)| {
        let rest = &value[i + 3..];
        let authority = rest.split(['/', '?', '#', ' ']).next().unwrap_or_default();
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    })
}

/// One process above the server whose environment this user can read and that holds
/// secrets: `pid 1 (tini): MCP_AUTH_TOKEN`.
#[cfg(target_os = "linux")]
fn describe(pid: i32, comm: &str, names: &[String]) -> String {
    format!("pid {pid} ({comm}): {}", names.join(", "))
}

/// The secret names in an `environ` file's contents (`NAME=value` entries split by NULs).
#[cfg(target_os = "linux")]
fn secret_names(environ: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = environ
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (name, value) = kv.split_once('=')?;
            is_secret(name, value).then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The processes above this one (parent first) whose environment this user can read and
/// that hold secrets, described by [`describe`].
#[cfg(target_os = "linux")]
pub fn readable_ancestors() -> Vec<String> {
    let mut found = Vec::new();
    // SAFETY: getppid never fails.
    let mut pid = unsafe { libc::getppid() };
    for _ in 0..MAX_DEPTH {
        if pid <= 0 {
            break;
        }
        if let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) {
            let names = secret_names(&environ);
            if !names.is_empty() {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                found.push(describe(pid, comm.trim(), &names));
            }
        }
        pid = parent_of(pid).unwrap_or(0);
    }
    found
}

/// The parent of `pid`, from `/proc/<pid>/status`.
#[cfg(target_os = "linux")]
fn parent_of(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

/// The report's `ancestor_env`: `none`, `protected by landlock: …` or `exposed: …`.
#[cfg(not(target_os = "linux"))]
pub fn status(_landlock_enforced: bool) -> String {
    "not checked: Linux only".into()
}

/// The report's `ancestor_env`: `none`, `protected by landlock: …` or `exposed: …`.
#[cfg(target_os = "linux")]
pub fn status(landlock_enforced: bool) -> String {
    let found = readable_ancestors();
    if found.is_empty() {
        "none".into()
    } else if landlock_enforced {
        format!("protected by landlock: {}", found.join("; "))
    } else {
        format!("exposed: {}", found.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_by_name_not_paths_or_digests() {
        assert!(is_secret("MCP_AUTH_TOKEN", "abc"));
        assert!(is_secret("GITHUB_TOKEN", "ghp_x"));
        assert!(is_secret("AWS_SECRET_ACCESS_KEY", "x"));
        assert!(is_secret("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x"));
        assert!(!is_secret("MCP_AUTH_TOKEN_FILE", "/run/token"));
        assert!(!is_secret("PATH", "/usr/bin"));
        let d = format!("sha256:{}", "ab".repeat(32));
        assert!(!is_secret("MCP_AUTH_TOKEN", &d));
        assert!(!is_secret("MCP_AUTH_TOKEN", &format!("{d}, {d}")));
        assert!(is_secret("MCP_AUTH_TOKEN", &format!("{d},plain")));
        assert!(is_secret("SMTP_PASS", "x"));
        assert!(is_secret("NPM_AUTH", "x"));
        assert!(is_secret("STRIPE_KEY", "x"));
        assert!(is_secret("SENTRY_DSN", "x"));
        assert!(is_secret("DBPASSWORD", "x"));
        assert!(is_secret(
            "DATABASE_URL",
            "postgres://app:hunter2@db:5432/app"
        ));
        assert!(!is_secret("DATABASE_URL", "postgres://db:5432/app"));
        assert!(!is_secret("HOMEPAGE", "https://example.com/a:b@c"));
        assert!(!is_secret("PWD", "/tmp"));
        assert!(!is_secret("KEYBOARD_LAYOUT", "us"));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn names_from_an_environ_file() {
        let environ =
            b"PATH=/bin\0MCP_AUTH_TOKEN=t\0HOME=/root\0DB_PASSWORD=p=q\0MCP_AUTH_TOKEN=u\0";
        assert_eq!(secret_names(environ), vec!["DB_PASSWORD", "MCP_AUTH_TOKEN"]);
        assert!(secret_names(b"PATH=/bin\0").is_empty());
    }
}
