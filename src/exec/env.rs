//! The environment a command starts with, built from scratch.
//!
//! The server's own environment holds its auth token (`MCP_AUTH_TOKEN`) and, on ECS, cloud
//! credentials. go-mcp-commander handed all of it to every command. Here a command gets only
//! a short list of harmless variables, the operator's `--pass-env` names, and the call's
//! `env`, which may not set variables that make programs load code.

use std::collections::BTreeMap;

/// Server variables every command gets, when the server has them.
const BASE: &[&str] = &[
    "PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME", "TMPDIR", "TERM",
];

/// Used when the server itself has no `PATH`.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Exact names a call may not set.
const FORBIDDEN: &[&str] = &[
    "PATH",
    "BASH_ENV",
    "ENV",
    "IFS",
    "PS4",
    "SHELLOPTS",
    "BASHOPTS",
    "PROMPT_COMMAND",
    "HOME",
    "XDG_CONFIG_HOME",
    "ZDOTDIR",
    "INPUTRC",
    "CDPATH",
    "GLOBIGNORE",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PERL5LIB",
    "PERLLIB",
    "PERL5OPT",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "NODE_OPTIONS",
    "NODE_PATH",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "LESSOPEN",
    "LESSCLOSE",
    "PAGER",
    "MANPAGER",
    "EDITOR",
    "VISUAL",
    "BROWSER",
    "GCONV_PATH",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "RES_OPTIONS",
    "NLSPATH",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "MAILRC",
    "TERMINFO",
    "TERMINFO_DIRS",
    "LUA_INIT",
    "LUA_PATH",
    "LUA_CPATH",
    "RUSTC_WRAPPER",
    "RUSTC",
    "MAKEFLAGS",
    "MAKEFILES",
    "PROMPT",
    "PS0",
    "PS1",
    "PS2",
    "PS3",
    "TMPDIR",
    "OPENSSL_CONF",
    "SSL_CERT_FILE",
    "CURL_HOME",
    "WGETRC",
    "NPM_CONFIG_PREFIX",
    // Options variables that carry program arguments able to run code (tar's
    // --checkpoint-action, grep's old options), and other program/loader hooks.
    "TAR_OPTIONS",
    "GREP_OPTIONS",
    "AWKPATH",
    "AWKLIBPATH",
    "RSYNC_RSH",
    "RSYNC_CONNECT_PROG",
    "CVS_RSH",
    "SYSTEMD_PAGER",
    "SYSTEMD_EDITOR",
    "LESS",
    "LESSKEY",
    "LESSKEYIN",
    "VIMINIT",
    "EXINIT",
    "MYVIMRC",
    "EMACSLOADPATH",
    "FCEDIT",
    "FPATH",
    "SHELL",
    "MAKESHELL",
    "MFLAGS",
    "LOCPATH",
    "BASH_XTRACEFD",
    "HISTFILE",
    "CC",
    "CXX",
    "CPP",
    "LD",
    "AS",
    "AR",
    "FC",
    "RANLIB",
    "GOFLAGS",
    "RUSTFLAGS",
    "RUSTDOC",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "BOTO_CONFIG",
    "R_PROFILE_USER",
    "R_ENVIRON_USER",
];

/// Prefixes a call may not set.
const FORBIDDEN_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "GIT_",
    "BASH_FUNC_",
    "LUA_INIT_",
    "PYTHON",
    "NPM_CONFIG_",
    "CARGO_",
    "RUSTC_",
    "GEM_",
    "BUNDLE_",
    "DOCKER_",
    "KUBECONFIG",
    "MCP_",
];

/// Why a call's `env` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvError {
    #[error("env variable {0:?} may not be set by a call: it can make programs load other code or bypass the sandbox")]
    Forbidden(String),
    #[error("env variable name {0:?} is not valid (use letters, digits and _)")]
    BadName(String),
    #[error("env variable {0:?} has a value containing a NUL byte")]
    BadValue(String),
}

/// Checks one name a call wants to set.
pub fn check_call_var(name: &str, value: &str) -> Result<(), EnvError> {
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(EnvError::BadName(name.to_string()));
    }
    if value.contains('\0') {
        return Err(EnvError::BadValue(name.to_string()));
    }
    let upper = name.to_ascii_uppercase();
    if FORBIDDEN.contains(&upper.as_str())
        || FORBIDDEN_PREFIXES.iter().any(|p| upper.starts_with(p))
        || upper.contains("PRELOAD")
    {
        return Err(EnvError::Forbidden(name.to_string()));
    }
    Ok(())
}

/// Builds a command's environment from the server's variables (`server`), the operator's
/// pass-through names and the call's own variables (checked first).
pub fn build(
    server: impl IntoIterator<Item = (String, String)>,
    pass_env: &[String],
    call: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, EnvError> {
    with_call(&base(server, pass_env), call)
}

/// The part of a command's environment that comes from the server: its harmless variables
/// and the operator's pass-through names (`PATH` always). The server's environment does not
/// change once it serves, so this is computed once at start rather than per call.
pub fn base(
    server: impl IntoIterator<Item = (String, String)>,
    pass_env: &[String],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in server {
        let base = BASE.contains(&k.as_str()) || k.starts_with("LC_");
        if base || pass_env.iter().any(|p| p == &k) {
            out.insert(k, v);
        }
    }
    out.entry("PATH".to_string())
        .or_insert_with(|| FALLBACK_PATH.to_string());
    out
}

/// Which transports git may use in a command (see [`guard_git`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitTransports {
    /// No allow list: any transport, remote helpers included.
    Any,
    /// An allow list: local paths, `git://` and http(s); ssh only when the list allows `ssh`.
    /// Every other transport runs a program the list does not name (`ssh`, `git-remote-*`).
    Listed { ssh: bool },
}

/// Config entries for every command (`GIT_CONFIG_COUNT` form), and variables, that keep git
/// from starting programs a line does not name.
///
/// * `safe.bareRepository=explicit`: a bare repository committed inside a work tree
///   (`git clone URL r; git -C r/evil status`) carries its own config (aliases,
///   `core.fsmonitor`) that git would run; with this git uses a bare repository only when
///   `--git-dir` names it. Config given this way outranks every config file and is only
///   overridden by `git -c`, which the policy refuses for this key.
/// * `GIT_EDITOR` and `GIT_SEQUENCE_EDITOR` are `true` (they outrank `core.editor`,
///   `VISUAL` and `EDITOR`): stdin is `/dev/null`, so a real editor could only hang until
///   the timeout; `true` keeps the message or todo list git prepared, so `git merge
///   --continue`, `git rebase --continue`, `git revert` and `git rebase -i` finish with
///   git's own text, and `git commit` or `git tag -a` without a message stop at once
///   ("empty commit message", "no tag message").
/// * Under an allow list, `protocol.allow=never` with `file` (as git's default, `user`),
///   `git`, `http`, `https` allowed, and `ssh` only when the list allows `ssh`.
///
/// Values the operator passed through (`--pass-env GIT_CONFIG_COUNT …`) stay; these come
/// after them, so they win. A call's `env` may not set any `GIT_*` name.
pub fn guard_git(env: &mut BTreeMap<String, String>, transports: GitTransports) {
    let mut entries: Vec<(&str, &str)> = vec![("safe.bareRepository", "explicit")];
    if let GitTransports::Listed { ssh } = transports {
        entries.extend([
            ("protocol.allow", "never"),
            ("protocol.file.allow", "user"),
            ("protocol.git.allow", "always"),
            ("protocol.http.allow", "always"),
            ("protocol.https.allow", "always"),
            ("protocol.ssh.allow", if ssh { "always" } else { "never" }),
        ]);
    }
    let first: usize = env
        .get("GIT_CONFIG_COUNT")
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    for (k, (key, value)) in entries.iter().enumerate() {
        env.insert(format!("GIT_CONFIG_KEY_{}", first + k), key.to_string());
        env.insert(format!("GIT_CONFIG_VALUE_{}", first + k), value.to_string());
    }
    env.insert(
        "GIT_CONFIG_COUNT".to_string(),
        (first + entries.len()).to_string(),
    );
    for name in ["GIT_EDITOR", "GIT_SEQUENCE_EDITOR"] {
        env.insert(name.to_string(), "true".to_string());
    }
}

/// What [`guard_path`] did to the commands' `PATH`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathGuard {
    /// Entries taken out: relative ones (`.`, an empty entry, `bin`), which name the
    /// command's own working directory, and those inside a directory commands may write.
    pub dropped: Vec<String>,
    /// Entries kept that this user may write although they are outside those directories
    /// (reported, not dropped: as root without Landlock that is every entry).
    pub writable: Vec<String>,
}

/// Under an allow list, the `PATH` entries a command could fill with programs of its own:
/// `cp /usr/bin/touch ./ls; ls` would run touch under an allowed name (the policy reads
/// the name, the shell finds the file). Entries that are relative or inside `writable`
/// (the directories Landlock lets commands write: the allowed directories, the temp
/// directory, the working directory) are dropped; if none is left, `PATH` becomes
/// `/usr/bin:/bin` (an empty `PATH` would mean the working directory). Other entries this
/// user may write are kept and reported when `user_writable` is set (Landlock is off, or
/// any working directory may be asked for).
pub fn guard_path(
    env: &mut BTreeMap<String, String>,
    writable: &[std::path::PathBuf],
    user_writable: bool,
) -> PathGuard {
    let mut guard = PathGuard::default();
    let Some(path) = env.get("PATH") else {
        return guard;
    };
    let writable: Vec<std::path::PathBuf> = writable.iter().map(|d| real_path(d)).collect();
    let mut kept: Vec<&str> = Vec::new();
    for entry in path.split(':') {
        let p = std::path::Path::new(entry);
        let real = real_path(p);
        if !p.is_absolute()
            || writable
                .iter()
                .any(|w| real.starts_with(w) || p.starts_with(w))
        {
            if !guard.dropped.iter().any(|d| d == entry) {
                guard.dropped.push(entry.to_string());
            }
            continue;
        }
        if kept.contains(&entry) {
            continue;
        }
        if user_writable && may_write(&real) {
            guard.writable.push(entry.to_string());
        }
        kept.push(entry);
    }
    let value = if kept.is_empty() {
        "/usr/bin:/bin".to_string()
    } else {
        kept.join(":")
    };
    env.insert("PATH".to_string(), value);
    guard
}

/// `p` with symlinks resolved: the deepest existing ancestor canonicalised, the rest as
/// written (a `PATH` entry need not exist yet to be created by a command).
fn real_path(p: &std::path::Path) -> std::path::PathBuf {
    let mut rest = Vec::new();
    let mut at = p;
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            return rest.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// Whether this user may create files in `dir`, or in its deepest existing ancestor.
fn may_write(dir: &std::path::Path) -> bool {
    let mut at = dir;
    loop {
        if at.exists() {
            return nix::unistd::access(at, nix::unistd::AccessFlags::W_OK).is_ok();
        }
        match at.parent() {
            Some(parent) => at = parent,
            None => return false,
        }
    }
}

/// A command's environment: [`base`] plus the call's own variables (checked first).
pub fn with_call(
    base: &BTreeMap<String, String>,
    call: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, EnvError> {
    for (k, v) in call {
        check_call_var(k, v)?;
    }
    let mut out = base.clone();
    for (k, v) in call {
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_loses_relative_and_writable_entries() {
        let top = tempfile::tempdir().unwrap();
        let inside = top.path().join("bin");
        let mut env = BTreeMap::new();
        env.insert(
            "PATH".to_string(),
            format!(
                "{}::.:bin:/usr/bin:{}/x/../bin:/usr/bin",
                inside.display(),
                top.path().display()
            ),
        );
        let g = guard_path(&mut env, &[top.path().to_path_buf()], false);
        assert_eq!(env["PATH"], "/usr/bin");
        assert_eq!(g.dropped.len(), 5, "{g:?}");
        assert!(g.dropped.contains(&String::new()) && g.dropped.contains(&".".to_string()));
        assert!(g.writable.is_empty());
        // Nothing left: not an empty PATH, which would mean the working directory.
        env.insert("PATH".to_string(), ".".to_string());
        guard_path(&mut env, &[], false);
        assert_eq!(env["PATH"], "/usr/bin:/bin");
        // Entries kept that this user may write are reported when asked.
        env.insert("PATH".to_string(), top.path().display().to_string());
        let g = guard_path(&mut env, &[], true);
        assert_eq!(g.writable, [top.path().display().to_string()]);
    }

    fn server() -> Vec<(String, String)> {
        [
            ("PATH", "/usr/bin"),
            ("HOME", "/root"),
            ("LC_ALL", "C"),
            ("MCP_AUTH_TOKEN", "secret"),
            ("AWS_SECRET_ACCESS_KEY", "aws"),
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2"),
            ("DATABASE_URL", "pg://"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn secrets_never_pass() {
        let env = build(server(), &[], &BTreeMap::new()).unwrap();
        assert_eq!(env.get("PATH").map(String::as_str), Some("/usr/bin"));
        assert_eq!(env.get("LC_ALL").map(String::as_str), Some("C"));
        assert!(!env.contains_key("MCP_AUTH_TOKEN"));
        assert!(!env.keys().any(|k| k.starts_with("AWS_")));
        assert!(!env.contains_key("DATABASE_URL"));
    }

    #[test]
    fn pass_env_and_call_env() {
        let mut call = BTreeMap::new();
        call.insert("FOO".to_string(), "bar".to_string());
        let env = build(server(), &["DATABASE_URL".into()], &call).unwrap();
        assert_eq!(env.get("DATABASE_URL").map(String::as_str), Some("pg://"));
        assert_eq!(env.get("FOO").map(String::as_str), Some("bar"));
    }

    fn config(env: &BTreeMap<String, String>) -> Vec<(String, String)> {
        let n: usize = env["GIT_CONFIG_COUNT"].parse().unwrap();
        (0..n)
            .map(|i| {
                (
                    env[&format!("GIT_CONFIG_KEY_{i}")].clone(),
                    env[&format!("GIT_CONFIG_VALUE_{i}")].clone(),
                )
            })
            .collect()
    }

    fn has(env: &BTreeMap<String, String>, key: &str, value: &str) -> bool {
        // git takes the last value of a key.
        config(env)
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            == Some(value)
    }

    #[test]
    fn git_guard_is_in_every_environment() {
        let mut base = base(server(), &[]);
        guard_git(&mut base, GitTransports::Any);
        let env = with_call(&base, &BTreeMap::new()).unwrap();
        assert!(has(&env, "safe.bareRepository", "explicit"), "{env:?}");
        assert_eq!(env["GIT_EDITOR"], "true");
        assert_eq!(env["GIT_SEQUENCE_EDITOR"], "true");
        // Without an allow list git may use any transport.
        assert!(!config(&env).iter().any(|(k, _)| k.starts_with("protocol.")));
    }

    #[test]
    fn git_transports_follow_the_allow_list() {
        for ssh in [false, true] {
            let mut env = base(server(), &[]);
            guard_git(&mut env, GitTransports::Listed { ssh });
            assert!(has(&env, "protocol.allow", "never"));
            assert!(has(&env, "protocol.https.allow", "always"));
            assert!(has(&env, "protocol.file.allow", "user"));
            let want = if ssh { "always" } else { "never" };
            assert!(has(&env, "protocol.ssh.allow", want), "{env:?}");
        }
    }

    #[test]
    fn git_guard_comes_after_passed_through_config() {
        let server = vec![
            ("GIT_CONFIG_COUNT".to_string(), "1".to_string()),
            (
                "GIT_CONFIG_KEY_0".to_string(),
                "safe.bareRepository".to_string(),
            ),
            ("GIT_CONFIG_VALUE_0".to_string(), "all".to_string()),
            ("GIT_EDITOR".to_string(), "vim".to_string()),
        ];
        let pass: Vec<String> = server.iter().map(|(k, _)| k.clone()).collect();
        let mut env = base(server, &pass);
        guard_git(&mut env, GitTransports::Any);
        assert_eq!(env["GIT_CONFIG_COUNT"], "2");
        assert_eq!(env["GIT_CONFIG_KEY_0"], "safe.bareRepository");
        assert!(has(&env, "safe.bareRepository", "explicit"), "{env:?}");
        assert_eq!(env["GIT_EDITOR"], "true");
    }

    #[test]
    fn a_call_cannot_undo_the_git_guard() {
        let mut base = base(server(), &[]);
        guard_git(&mut base, GitTransports::Listed { ssh: false });
        for name in [
            "GIT_CONFIG_COUNT",
            "GIT_CONFIG_KEY_1",
            "GIT_CONFIG_VALUE_0",
            "GIT_CONFIG_PARAMETERS",
            "GIT_CONFIG_GLOBAL",
            "GIT_EDITOR",
            "GIT_SEQUENCE_EDITOR",
            "GIT_ALLOW_PROTOCOL",
            "git_config_count",
        ] {
            let mut call = BTreeMap::new();
            call.insert(name.to_string(), "0".to_string());
            assert_eq!(
                with_call(&base, &call),
                Err(EnvError::Forbidden(name.to_string())),
                "{name}"
            );
        }
    }

    #[test]
    fn injection_variables_are_refused() {
        for name in [
            "PATH",
            "LD_PRELOAD",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "ENV",
            "IFS",
            "PS4",
            "SHELLOPTS",
            "BASHOPTS",
            "PROMPT_COMMAND",
            "GIT_SSH_COMMAND",
            "HOME",
            "XDG_CONFIG_HOME",
            "PYTHONPATH",
            "NODE_OPTIONS",
            "CDPATH",
            "ld_preload",
            "MCP_AUTH_TOKEN",
        ] {
            let mut call = BTreeMap::new();
            call.insert(name.to_string(), "x".to_string());
            assert_eq!(
                build(server(), &[], &call),
                Err(EnvError::Forbidden(name.to_string())),
                "{name}"
            );
        }
        let mut call = BTreeMap::new();
        call.insert("A=B".to_string(), "x".to_string());
        assert!(matches!(
            build(server(), &[], &call),
            Err(EnvError::BadName(_))
        ));
    }
}
