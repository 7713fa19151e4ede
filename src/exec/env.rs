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
