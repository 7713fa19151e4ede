//! Built-in argument rules: the ways an allowed program runs other programs or code.
//!
//! Allowing `find` must not allow `find . -exec sh -c …`; allowing `git` must not allow
//! `git -c core.pager='sh -c …' log`. [`analyse`] looks at one argv and reports what it
//! runs: another argv (wrappers such as `xargs`, `env`, `timeout`, `sudo`, `find -exec` —
//! the engine then requires that argv to be allowed too), code the policy cannot read
//! (`sh -c`, `python -c`, `awk 'BEGIN{system(…)}'`, `sed e`) or an argument that is refused
//! outright. The programs covered follow the GTFOBins "shell", "command" and "sudo"
//! categories for programs an operator is likely to allow.

// One arm per program reads as a table; folding the condition into the pattern would not.
#![allow(clippy::collapsible_match)]

use super::rules::{basename, option_matches, Arg};

/// What an argv does beyond running its own program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Refused: rule id and reason.
    Deny { id: &'static str, reason: String },
    /// Runs this argv; `appended` = more, unknown arguments are added when it runs.
    Wrap { argv: Vec<Arg>, appended: bool },
    /// The next [`Finding::Wrap`] starts in this directory (`env -C DIR`, `sudo -D DIR`).
    Chdir { dir: Arg },
    /// Runs code the policy cannot verify. `shell` holds static shell code (for the
    /// blocklist, which parses it).
    Code {
        id: &'static str,
        reason: String,
        shell: Option<String>,
    },
}

fn deny(id: &'static str, reason: impl Into<String>) -> Finding {
    Finding::Deny {
        id,
        reason: reason.into(),
    }
}

fn code(prog: &str, how: &str) -> Finding {
    Finding::Code {
        id: "unverifiable:code",
        reason: format!("{prog} {how}: it runs code the policy cannot see, so it cannot be checked; run the program you need directly"),
        shell: None,
    }
}

pub(crate) const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "ash",
    "yash",
    "fish",
    "tcsh",
    "csh",
    "rbash",
    "posh",
    "ksh93",
    "busybox-sh",
];

/// Programs whose job is to run another program given after their own options.
/// (options that take a value, number of leading positionals before the command)
const WRAPPERS: &[(&str, &[&str], usize)] = &[
    ("nice", &["-n", "--adjustment"], 0),
    ("nohup", &[], 0),
    ("timeout", &["-s", "--signal", "-k", "--kill-after"], 1),
    (
        "stdbuf",
        &["-i", "-o", "-e", "--input", "--output", "--error"],
        0,
    ),
    ("setsid", &[], 0),
    ("chroot", &["--userspec", "--groups"], 1),
    ("ionice", &["-c", "-n", "--class", "--classdata"], 0),
    // taskset -c LIST cmd: -c changes how the mask positional is read, it takes no value.
    ("taskset", &[], 1),
    ("unbuffer", &[], 0),
    ("time", &["-f", "--format"], 0),
    ("command", &[], 0),
    ("builtin", &[], 0),
    ("exec", &["-a"], 0),
    ("coproc", &[], 0),
    ("busybox", &[], 0),
    ("toybox", &[], 0),
];

/// Programs that run other programs in ways this engine does not unpick.
const OPAQUE_RUNNERS: &[&str] = &[
    "rlwrap",
    "capsh",
    "logsave",
    "strace",
    "ltrace",
    "runuser",
    "pkexec",
    "systemd-run",
    "unshare",
    "nsenter",
    "chrt",
    "prlimit",
    "setpriv",
    "numactl",
    "firejail",
    "bwrap",
    "proot",
    "cpulimit",
    "parallel",
    "tmux",
    "screen",
    "dbus-run-session",
    "xvfb-run",
    "faketime",
    "fakeroot",
    "torsocks",
    "proxychains",
    "proxychains4",
    "catchsegv",
    "valgrind",
    "perf",
    "hyperfine",
    "entr",
    "watchexec",
    "nodemon",
    "sg",
    "newgrp",
    "ssh-agent",
    "xdg-open",
    "open",
    "at",
    "batch",
    "crontab",
    "script",
    "expect",
    "run-parts",
    "start-stop-daemon",
    "daemonize",
    "su",
    "eatmydata",
    "flatpak-spawn",
    "chpst",
    "softlimit",
    "setarch",
    "linux32",
    "linux64",
    // run0 runs its command as root through systemd with a fresh environment (like sudo),
    // machinectl shell/run in another machine, cgexec in a cgroup, ifne and chronic
    // (moreutils) after reading input or collecting output.
    "run0",
    "machinectl",
    "cgexec",
    "ifne",
    "chronic",
];

/// Environment names that make a program load code or run another program.
pub fn dangerous_env(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PATH",
        "IFS",
        "ENV",
        "BASH_ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "PROMPT_COMMAND",
        "HOME",
        "XDG_CONFIG_HOME",
        "PAGER",
        "MANPAGER",
        "SYSTEMD_PAGER",
        "EDITOR",
        "VISUAL",
        "SSH_ASKPASS",
        "SUDO_ASKPASS",
        "LESSOPEN",
        "LESSCLOSE",
        "PERL5OPT",
        "PERL5LIB",
        // perl -d loads the debugger PERL5DB names (`BEGIN{…}` is code) with PERLDB_OPTS.
        "PERL5DB",
        "PERLDB_OPTS",
        // python reads code from its input after the script, like -i.
        "PYTHONINSPECT",
        // openssl loads providers and engines (shared libraries) from these directories.
        "OPENSSL_MODULES",
        "OPENSSL_ENGINES",
        "PERLLIB",
        "PYTHONSTARTUP",
        "PYTHONPATH",
        "PYTHONHOME",
        "NODE_OPTIONS",
        "NODE_PATH",
        "RUBYOPT",
        "RUBYLIB",
        "RUSTC_WRAPPER",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WORKSPACE_WRAPPER",
        "SHELL",
        "TAR_OPTIONS",
        // tar reads its archive name from TAPE when -f is not given; host:path runs rsh.
        "TAPE",
        "BROWSER",
        "GCONV_PATH",
        "LOCPATH",
        "NLSPATH",
        "MAKEFLAGS",
        "MFLAGS",
        "MAKESHELL",
        "CDPATH",
        "GLOBIGNORE",
        "BASH_XTRACEFD",
        "TMOUT",
        "HISTFILE",
        "PROMPT",
        "ZDOTDIR",
        "LESSKEY",
        "LESS",
        "GREP_OPTIONS",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "CLASSPATH",
        "GEM_PATH",
        "GEM_HOME",
        "LUA_INIT",
        "LUA_PATH",
        "LUA_CPATH",
        "RUSTFLAGS",
        "PYTHONUSERBASE",
        "PYTHONEXECUTABLE",
        "PYTHONBREAKPOINT",
        "PYTHONWARNINGS",
        "PYTHONPLATLIBDIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "CC",
        "CXX",
        "LD",
        "AR",
        "CPP",
        "AS",
        "FC",
        "RANLIB",
        "GOFLAGS",
        "OPENSSL_CONF",
        "CURL_HOME",
        "WGETRC",
        "NPM_CONFIG_SCRIPT_SHELL",
        // GNU make reads its options (--eval) from GNUMAKEFLAGS and makefiles from MAKEFILES.
        "GNUMAKEFLAGS",
        "MAKEFILES",
        // less reads a lesskey file (which can set LESSOPEN) from LESSKEYIN.
        "LESSKEYIN",
        "LESSKEYIN_SYSTEM",
        "LESSKEY_SYSTEM",
        // cargo and rustup read configuration (rustc-wrapper, toolchains) from these homes.
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        // zip/unzip options from the environment (zip -TT runs a command).
        "ZIPOPT",
        "ZIP",
        "UNZIPOPT",
        "UNZIP",
        // ripgrep reads its options (--pre runs a program) from this file.
        "RIPGREP_CONFIG_PATH",
        "MANOPT",
        // psql runs its startup file and these programs (the pager, \\e); mysql reads option
        // files (pager=, plugin-dir=) from MYSQL_HOME.
        "PSQLRC",
        "PSQL_PAGER",
        "PSQL_EDITOR",
        "PSQL_EDITOR_LINENUMBER_ARG",
        "MYSQL_HOME",
        "PYTEST_ADDOPTS",
        "PYTEST_PLUGINS",
        // gcc looks for cc1, as and collect2 in these directories first.
        "COMPILER_PATH",
        "GCC_EXEC_PREFIX",
        // rsync's remote shell (like -e) and the program it connects to a daemon through.
        "RSYNC_RSH",
        "RSYNC_CONNECT_PROG",
        // pip re-runs itself under the PIP_PYTHON program (like --python), which a config
        // file (`python = …`) can name too.
        "PIP_PYTHON",
        "PIP_CONFIG_FILE",
        // Config files naming programs the client runs: a kubeconfig's `exec` credential
        // plugin, the AWS CLI's `credential_process`, docker's `cliPluginsExtraDirs` and
        // credential helpers, terraform's provider overrides; kubectl edit's editor.
        "KUBECONFIG",
        "KUBE_EDITOR",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "DOCKER_CONFIG",
        "TF_CLI_CONFIG_FILE",
        "TERRAFORM_CONFIG",
        // terraform runs providers found in its plugin cache (like `init -plugin-dir`).
        "TF_PLUGIN_CACHE_DIR",
        // gcc's lto-wrapper runs MAKE for `-flto=N`, and a makefile's `$(MAKE)` is MAKE
        // from make's command line or environment.
        "MAKE",
        // go runs the compiler and linker of GOROOT, reads GOFLAGS (-toolexec) from the
        // GOENV file, fetches and runs another toolchain for GOTOOLCHAIN, and hands the
        // CGO_*FLAGS to the C compiler (-wrapper, -fplugin) and PKG_CONFIG runs.
        "GOROOT",
        "GOENV",
        "GOTOOLCHAIN",
        "CGO_CFLAGS",
        "CGO_CPPFLAGS",
        "CGO_CXXFLAGS",
        "CGO_FFLAGS",
        "CGO_LDFLAGS",
        "PKG_CONFIG",
        // pkg-config reads the `.pc` files of these directories first, whose `Cflags:` and
        // `Libs:` a build hands to the compiler (`-fplugin=`, `-B`, `-Wl,-plugin`).
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        // gcc writes make-style dependencies into the file these name, the target the
        // line chooses first (`DEPENDENCIES_OUTPUT='.git/hooks/pre-commit id;'` writes
        // `id;: x.c`): a write no word of the compiler shows.
        "DEPENDENCIES_OUTPUT",
        "SUNPRO_DEPENDENCIES",
    ];
    const SAFE_GIT: &[&str] = &[
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
        "GIT_TERMINAL_PROMPT",
    ];
    if EXACT.contains(&name) {
        return true;
    }
    if name.starts_with("GIT_") {
        return !SAFE_GIT.contains(&name);
    }
    // Where cargo puts what it builds, and how many jobs it runs (like `--target-dir`,
    // `-j`); the other CARGO_BUILD_* / CARGO_TARGET_* settings name programs
    // (`CARGO_BUILD_RUSTC_WRAPPER`, `CARGO_TARGET_<triple>_LINKER`/`_RUNNER`) or a target
    // (`CARGO_BUILD_TARGET` may be a target-spec file naming a linker).
    if matches!(
        name,
        "CARGO_TARGET_DIR" | "CARGO_BUILD_TARGET_DIR" | "CARGO_BUILD_JOBS"
    ) {
        return false;
    }
    // The cc crate (Rust build scripts) runs the compiler and archiver that `CC`,
    // `TARGET_CC`, `HOST_CC` or `CC_<target>` name (also CXX, AR, RANLIB, NVCC), and puts
    // CROSS_COMPILE before each tool's name.
    let cc_tool = ["CC", "CXX", "AR", "RANLIB", "NVCC"].iter().any(|t| {
        let bare = name
            .strip_prefix("TARGET_")
            .or_else(|| name.strip_prefix("HOST_"));
        bare == Some(*t) || name.strip_prefix(t).is_some_and(|r| r.starts_with('_'))
    });
    cc_tool
        || make_program(name)
        || name == "CROSS_COMPILE"
        || [
            "LD_",
            "DYLD_",
            "BASH_FUNC_",
            "CARGO_BUILD_",
            "CARGO_TARGET_",
            // terraform's options from the environment (`TF_CLI_ARGS_init=-plugin-dir=…`).
            "TF_CLI_ARGS",
        ]
        .iter()
        .any(|p| name.starts_with(p))
        || name.contains("PRELOAD")
        // npm reads `npm_config_*` in any case (`npm_config_script_shell`).
        || name
            .get(..11)
            .is_some_and(|p| p.eq_ignore_ascii_case("NPM_CONFIG_"))
}

/// The command a variable hands to the programs that read it, run by a shell (`GIT_PAGER=cat
/// git log`, `GIT_EDITOR=true git rebase --continue`), and whether they add arguments to it
/// (an editor gets the file), when `value` is literal words the shell reads as written. An
/// allow list checks it like a command of the line; anything else in such a variable is
/// refused with the other settings that change which programs run.
pub fn program_setting(name: &str, value: &str) -> Option<(Vec<Arg>, bool)> {
    let appended = match name {
        "PAGER" | "GIT_PAGER" | "MANPAGER" | "SYSTEMD_PAGER" | "PSQL_PAGER" => false,
        "EDITOR" | "VISUAL" | "GIT_EDITOR" | "GIT_SEQUENCE_EDITOR" => true,
        _ => return None,
    };
    let plain = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_./+=,:@%-".contains(&b))
    };
    let words: Vec<&str> = value.split(' ').collect();
    words
        .iter()
        .all(|w| plain(w))
        .then(|| (words.into_iter().map(Arg::lit).collect(), appended))
}

/// A make command-line assignment that runs or loads something: `NAME!=cmd` (a shell
/// assignment), a dangerous name in any flavour (`SHELL:=…`, `MAKEFLAGS+=…`), or a value
/// calling `$(shell …)`, `$(eval …)`, `$(file …)` or `$(guile …)` (expanded at once by
/// `:=`, and whenever a recipe uses the variable otherwise).
fn make_assignment_runs(a: &str) -> bool {
    let Some(eq) = a.find('=') else {
        return false;
    };
    let (lhs, value) = (&a[..eq], &a[eq + 1..]);
    if lhs.ends_with('!') {
        return true;
    }
    let name = lhs.trim_end_matches([':', '+', '?']);
    let named = !name.is_empty()
        && name
            .bytes()
            .all(|c| c == b'_' || c == b'.' || c.is_ascii_alphanumeric());
    if !named {
        return false;
    }
    let calls = ["shell", "eval", "file", "guile"].iter().any(|f| {
        ["$(", "${"].iter().any(|open| {
            let call = format!("{open}{f}");
            value
                .match_indices(&call)
                .any(|(k, _)| value[k + call.len()..].starts_with(|c: char| c.is_whitespace()))
        })
    });
    // Recipes are shell text: a value a recipe uses (`$(ARGS)`) that holds shell syntax
    // runs it (`make test 'ARGS=; x'`).
    calls || dangerous_env(name) || compiler_flags_run(name, Some(value)) || recipe_code(value)
}

/// A variable naming a program that make's built-in rules run (`make 'RM=…' clean` runs
/// it where the Makefile's recipes say `$(RM)`, `YACC=… make x.c` with an `x.y`), also
/// from the environment, which overrides make's defaults: `YACC`, `LEX`, `RM`, `MAKE` …
/// and the commands its rules are made of (`COMPILE.c`, `LINK.o`, `YACC.y`).
fn make_program(name: &str) -> bool {
    const PROGRAMS: &[&str] = &[
        "CO",
        "CTANGLE",
        "CWEAVE",
        "F77",
        "GET",
        "LEX",
        "LINT",
        "M2C",
        "M4",
        "MAKE",
        "MAKE_COMMAND",
        "MAKEINFO",
        "OBJC",
        "PC",
        "RM",
        "TANGLE",
        "TEX",
        "TEXI2DVI",
        "WEAVE",
        "YACC",
        "CHECKOUT,v",
    ];
    const RULES: &[&str] = &["COMPILE.", "LINK.", "LEX.", "YACC.", "LINT.", "PREPROCESS."];
    PROGRAMS.contains(&name) || RULES.iter().any(|r| name.starts_with(r))
}

/// Text a shell reads as more than words (`;`, `|`, `&`, `` ` ``, `$(`, a redirection, a
/// newline): make's recipes are shell text, so a variable they use (`$(CFLAGS)`,
/// `$(ARGS)`) holding it runs what follows (`make 'CFLAGS=;x' f.o`). `$$(` is the shell's
/// `$(` (`$$ORIGIN` only a variable).
fn recipe_code(value: &str) -> bool {
    value.contains([';', '|', '&', '`', '<', '>', '\n', '\r']) || value.contains("$$(")
}

/// make's built-in rules hand CFLAGS, LDFLAGS … to the C compiler (`make x` with only x.c
/// runs `cc $(CFLAGS) … x.c -o x`), from its command line or the environment, and so do
/// the cc crate of cargo build scripts (which also reads `TARGET_CFLAGS`, `HOST_CFLAGS`
/// and `CFLAGS_<target>`) and pip's builds: a value holding a compiler option that runs or
/// loads a program (`-wrapper`, `-fplugin`, `-B`, `-specs`, `-Wl,-plugin`, `@FILE`) runs
/// it. `value` is `None` when it is only known when the line runs.
pub fn compiler_flags_run(name: &str, value: Option<&str>) -> bool {
    const FLAGS: &[&str] = &[
        "CFLAGS",
        "CXXFLAGS",
        "CPPFLAGS",
        "LDFLAGS",
        "LDLIBS",
        "LOADLIBES",
        "TARGET_ARCH",
        "FFLAGS",
        "ASFLAGS",
        "OUTPUT_OPTION",
        "TARGET_MACH",
        "F77FLAGS",
        "PFLAGS",
        "RFLAGS",
        "OBJCFLAGS",
        // make's built-in rules hand these to other tools (`$(AR) $(ARFLAGS) $@ $<`; ar's
        // `--plugin` loads a shared library).
        "ARFLAGS",
        "COFLAGS",
        "LFLAGS",
        "YFLAGS",
        "LINTFLAGS",
        "M2FLAGS",
        "MODFLAGS",
        "DEFFLAGS",
        "MAKEINFO_FLAGS",
        "TEXI2DVI_FLAGS",
    ];
    let base = name
        .strip_prefix("TARGET_")
        .or_else(|| name.strip_prefix("HOST_"))
        .unwrap_or(name);
    let flags = FLAGS.iter().any(|f| {
        name == *f
            || base == *f
            || name
                .strip_prefix(f)
                .is_some_and(|target| target.starts_with('_'))
    });
    if !flags {
        return false;
    }
    let Some(value) = value else {
        return true;
    };
    // Each is shell text in make's recipes; ar loads `--plugin` libraries and reads options
    // from an `@FILE`.
    if recipe_code(value)
        || (base == "ARFLAGS" && (value.contains("plugin") || value.contains('@')))
    {
        return true;
    }
    let mut argv = vec![Arg::lit("cc")];
    argv.extend(value.split_whitespace().map(Arg::lit));
    !analyse(&argv, false).is_empty()
}

/// `NAME=value` as env or sudo sets it for the command changes what programs run or load:
/// a [`dangerous_env`] name, or compiler flags that run a program ([`compiler_flags_run`]).
fn setting_runs(name: &str, arg: &Arg) -> bool {
    let value = arg
        .text
        .split_once('=')
        .map(|(_, v)| v)
        .filter(|_| arg.exact);
    dangerous_env(name) || compiler_flags_run(name, value)
}

/// The name of a `NAME=value` word: any word with `=` to GNU env, which sets whatever
/// comes before it (`env A-B=x rm -rf /` runs rm with `A-B` set, and so does `=x`).
fn env_assignment(a: &str) -> Option<&str> {
    a.split_once('=').map(|(name, _)| name)
}

/// A shell variable name (`_` or a letter, then `_`, letters and digits).
fn valid_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|c| c == b'_' || c.is_ascii_alphabetic())
        && name.bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric())
}

/// True when the program has built-in argument rules (so unknown arguments matter).
pub fn has_rules(prog: &str) -> bool {
    let p = basename(prog);
    is_interpreter(p)
        || pip_name(p)
        || SHELLS.contains(&p)
        || WRAPPERS.iter().any(|(w, _, _)| *w == p)
        || OPAQUE_RUNNERS.contains(&p)
        || matches!(
            p,
            "git"
                | "sqlite3"
                | "mysql"
                | "mariadb"
                | "psql"
                | "gcc"
                | "g++"
                | "cc"
                | "c++"
                | "clang"
                | "clang++"
                | "rustc"
                | "go"
                | "cpio"
                | "ip"
                | "tcpdump"
                | "nmap"
                | "openvpn"
                | "tshark"
                | "wireshark"
                | "find"
                | "xargs"
                | "env"
                | "sudo"
                | "doas"
                | "awk"
                | "gawk"
                | "mawk"
                | "nawk"
                | "sed"
                | "gsed"
                | "tar"
                | "gtar"
                | "bsdtar"
                | "rsync"
                | "ssh"
                | "scp"
                | "sftp"
                | "less"
                | "more"
                | "man"
                | "vim"
                | "vi"
                | "nvim"
                | "view"
                | "vimdiff"
                | "ex"
                | "rvim"
                | "rview"
                | "gvim"
                | "gview"
                | "evim"
                | "eview"
                | "gvimdiff"
                | "nvimdiff"
                | "vim.basic"
                | "vim.tiny"
                | "vim.nox"
                | "vim.gtk3"
                | "vimx"
                | "sqlite"
                | "diff3"
                | "sdiff"
                | "openssl"
                | "bunx"
                | "pnpx"
                | "ed"
                | "emacs"
                | "nano"
                | "gdb"
                | "sort"
                | "split"
                | "rg"
                | "ripgrep"
                | "zip"
                | "socat"
                | "nc"
                | "ncat"
                | "netcat"
                | "make"
                | "gmake"
                | "cargo"
                | "kubectl"
                | "pytest"
                | "py.test"
                | "npm"
                | "npx"
                | "pnpm"
                | "yarn"
                | "dc"
                | "test"
                | "read"
                | "getopts"
                | "["
                | "printf"
                | "apt"
                | "apt-get"
                | "wget"
                | "watch"
                | "flock"
                | "eval"
                | "source"
                | "."
                | "trap"
                | "hg"
                | "zsh"
        )
}

/// Programs that run a file they are given as code (shells, interpreters, `source`).
pub fn runs_files(p: &str) -> bool {
    SHELLS.contains(&p) || is_interpreter(p) || matches!(p, "source" | "." | "sudo" | "exec")
}

fn is_interpreter(p: &str) -> bool {
    let base = interpreter_base(p);
    matches!(
        base,
        "python"
            | "pypy"
            | "perl"
            | "ruby"
            | "node"
            | "nodejs"
            | "deno"
            | "bun"
            | "php"
            | "lua"
            | "luajit"
            | "Rscript"
            | "R"
            | "julia"
            | "tclsh"
            | "wish"
            | "osascript"
            | "pwsh"
            | "powershell"
            | "groovy"
            | "scala"
            | "erl"
            | "elixir"
            | "guile"
            | "racket"
            | "ghci"
            | "irb"
            | "jshell"
            | "jrunscript"
            | "jjs"
            | "qjs"
            | "rhino"
    )
}

/// `arg` as getopt_long reads it against the long option `--name`: `--P` or `--P=VALUE`
/// where `P` is a non-empty prefix of `name` (getopt_long accepts any unambiguous prefix;
/// an ambiguous one is an error, so counting it as a match fails closed). Returns the
/// attached value, if any.
pub(crate) fn long_opt<'a>(arg: &'a str, name: &str) -> Option<Option<&'a str>> {
    let given = arg.strip_prefix("--")?;
    let (n, v) = match given.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (given, None),
    };
    (!n.is_empty() && name.starts_with(n)).then_some(v)
}

/// The value of the option at `args[i]`: `attached` (`--chdir=/dev`, `-C/dev`) or the next
/// word, as unknown as the word it came from.
fn option_value(args: &[Arg], i: usize, attached: Option<&str>) -> Option<Arg> {
    match attached {
        Some(v) => Some(Arg {
            text: v.to_string(),
            ..args[i].clone()
        }),
        None => args.get(i + 1).cloned(),
    }
}

/// True when `argv` runs git (`git`, `git-*`), itself or through the wrappers around it
/// (`timeout 5 git …`), or may (a program only known when it runs).
fn runs_git(argv: &[Arg], depth: usize) -> bool {
    let Some(prog) = argv.first() else {
        return false;
    };
    let p = basename(&prog.text);
    if !prog.exact || p == "git" || p.starts_with("git-") || depth > 8 {
        return true;
    }
    analyse(argv, false)
        .iter()
        .any(|f| matches!(f, Finding::Wrap { argv, .. } if runs_git(argv, depth + 1)))
}

/// sudo and doas start the command with a reset environment, without the settings the
/// server gives git (see `exec::env::guard_git`).
fn env_reset_git(p: &str) -> Finding {
    deny(
        "vector:env",
        format!("{p} resets the environment, which drops the settings the server gives git (safe.bareRepository=explicit, GIT_EDITOR=true, allowed transports); run git without {p}"),
    )
}

/// `env -u NAME`: removing a variable the server sets for every command (`GIT_CONFIG_COUNT`,
/// `GIT_EDITOR` …: all `GIT_*`), or one only known when it runs, is refused.
fn env_unset(name: Option<Arg>, out: &mut Vec<Finding>) {
    let bad = name
        .as_ref()
        .is_none_or(|n| !n.exact || n.text.to_ascii_uppercase().starts_with("GIT_"));
    if bad {
        out.push(deny(
            "vector:env",
            format!(
                "env -u {:?} removes a variable the server sets so that git runs no program the line does not name (GIT_CONFIG_*, GIT_EDITOR …)",
                name.map(|n| n.text).unwrap_or_default()
            ),
        ));
    }
}

/// The directory sudo's options (`-D DIR`, `-DDIR`, `--chdir=DIR`, `-nD DIR`) start the
/// command in.
fn sudo_chdir(options: &[Arg]) -> Option<Arg> {
    let mut dir = None;
    for (i, a) in options.iter().enumerate() {
        let t = a.text.as_str();
        if let Some(v) = long_opt(t, "chdir") {
            dir = option_value(options, i, v);
        } else if t.starts_with('-') && !t.starts_with("--") {
            // A short bundle: a value-taking letter takes the rest of the word.
            for (k, ch) in t.char_indices().skip(1) {
                let rest = &t[k + 1..];
                if ch == 'D' {
                    dir = option_value(options, i, (!rest.is_empty()).then_some(rest));
                }
                if "ugCDhprtUT".contains(ch) {
                    break;
                }
            }
        }
    }
    dir
}

/// Splits leading options (with the given value-taking options) from the rest.
/// Returns the index of the first non-option argument.
fn skip_options(args: &[Arg], with_value: &[&str]) -> usize {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i].text;
        if a == "--" {
            return i + 1;
        }
        if !a.starts_with('-') || a == "-" {
            return i;
        }
        if with_value.contains(&a.as_str())
            || with_value
                .iter()
                .filter_map(|o| o.strip_prefix("--"))
                .any(|o| long_opt(a, o) == Some(None))
        {
            i += 2;
            continue;
        }
        // A bundle of short options (`-rE EOF`, `-nuUSER`): the first letter that takes a
        // value takes the rest of the word, or the next word when it ends the bundle.
        if !a.starts_with("--") {
            let letters: Vec<char> = a.chars().skip(1).collect();
            let takes = |c: char| {
                with_value
                    .iter()
                    .any(|o| o.len() == 2 && o.ends_with(c) && o.starts_with('-'))
            };
            if let Some(k) = letters.iter().position(|&c| takes(c)) {
                i += if k + 1 == letters.len() { 2 } else { 1 };
                continue;
            }
        }
        i += 1;
    }
    i
}

/// Analyses one argv (program first). `stdin_code` = its stdin comes from a pipe or here-doc.
pub fn analyse(argv: &[Arg], stdin_code: bool) -> Vec<Finding> {
    let Some(prog) = argv.first() else {
        return Vec::new();
    };
    let p = basename(&prog.text);
    let args = &argv[1..];
    let mut out = Vec::new();
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();

    if SHELLS.contains(&p) {
        shell(p, args, stdin_code, &mut out);
        return out;
    }
    if is_interpreter(p) {
        interpreter(p, args, stdin_code, &mut out);
        return out;
    }
    if OPAQUE_RUNNERS.contains(&p) {
        out.push(deny(
            "vector:runs-program",
            format!("{p} runs other programs or code in ways the policy does not check; allow the program it should run directly instead"),
        ));
        // For the blocklist (`strace rm -rf /`, `unshare -r rm -rf /`): the command may start
        // at any of the first few non-option words (options' values are not known here);
        // not at or after parallel's `:::`, which begins its arguments (`parallel echo :::
        // reboot`; [`super::runners`] reads its jobs).
        let end = match p {
            "parallel" => texts
                .iter()
                .position(|t| t.starts_with(":::"))
                .unwrap_or(args.len()),
            _ => args.len(),
        };
        for k in args[..end]
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.text.starts_with('-'))
            .map(|(k, _)| k)
            .take(3)
        {
            out.push(Finding::Wrap {
                argv: args[k..].to_vec(),
                appended: false,
            });
        }
        // su -c, runuser -c, script -c: a shell string the blocklist can still read.
        if let Some(i) = texts
            .iter()
            .position(|a| *a == "-c" || long_opt(a, "command") == Some(None))
        {
            if let Some(a) = args.get(i + 1).filter(|a| a.exact) {
                out.push(Finding::Code {
                    id: "unverifiable:code",
                    reason: format!("{p} -c runs a shell string"),
                    shell: Some(a.text.clone()),
                });
            }
        } else if let Some(c) = texts.iter().find_map(|a| long_opt(a, "command").flatten()) {
            out.push(Finding::Code {
                id: "unverifiable:code",
                reason: format!("{p} --command runs a shell string"),
                shell: Some(c.to_string()),
            });
        }
        return out;
    }
    if let Some((_, with_value, positional)) = WRAPPERS.iter().find(|(w, _, _)| *w == p) {
        if p == "command" && texts.iter().any(|a| *a == "-v" || *a == "-V") {
            return out;
        }
        if p == "time"
            && texts
                .iter()
                .any(|a| *a == "-o" || long_opt(a, "output").is_some())
        {
            out.push(deny("vector:writes-file", "time -o writes a file"));
        }
        let start = skip_options(args, with_value) + positional;
        if matches!(p, "busybox" | "toybox") && args.is_empty() {
            return out;
        }
        match args.get(start..) {
            Some(inner) if !inner.is_empty() => out.push(Finding::Wrap {
                argv: inner.to_vec(),
                appended: false,
            }),
            _ if p == "chroot" || p == "exec" && args.is_empty() => {
                if p == "chroot" {
                    out.push(code(p, "without a command starts a shell"));
                }
            }
            _ => {}
        }
        return out;
    }
    match p {
        "eval" => out.push(Finding::Code {
            id: "unverifiable:eval",
            reason: "eval runs its arguments as shell code, which the policy cannot verify; run the command directly".into(),
            shell: args.iter().all(|a| a.exact).then(|| texts.join(" ")),
        }),
        "source" | "." => out.push(code(p, "runs a file as shell code")),
        "trap" => out.push(Finding::Code {
            id: "unverifiable:code",
            reason: "trap sets shell code to run later".into(),
            shell: args.first().filter(|a| a.exact).map(|a| a.text.clone()),
        }),
        "xargs" => {
            // `--eof`, `--replace` and `--max-lines` (like `-e`, `-i`, `-l`) take a value
            // only attached (`--eof=X`): the next word is the command.
            let with_value = [
                "-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file", "--delimiter",
                "--max-args", "--max-procs", "--max-chars", "--process-slot-var",
            ];
            let start = skip_options(args, &with_value);
            // `--process-slot-var=NAME` sets NAME in the command's environment.
            for (k, a) in args[..start.min(args.len())].iter().enumerate() {
                let Some(v) = long_opt(&a.text, "process-slot-var") else {
                    continue;
                };
                let name = option_value(args, k, v);
                if name.as_ref().is_none_or(|n| !n.exact || dangerous_env(&n.text)) {
                    out.push(deny(
                        "vector:env",
                        format!(
                            "xargs --process-slot-var sets {} in the command's environment, which changes what it runs",
                            name.map(|n| n.text).unwrap_or_default()
                        ),
                    ));
                    return out;
                }
            }
            let inner = if start < args.len() {
                args[start..].to_vec()
            } else {
                vec![Arg::lit("echo")]
            };
            out.push(Finding::Wrap {
                argv: inner,
                appended: true,
            });
        }
        "env" => {
            let mut i = 0;
            // `-i`, `-`, `--ignore-environment`: the command starts without the variables the
            // server sets for every command (git's safe.bareRepository, GIT_EDITOR …).
            let mut clears = false;
            while i < args.len() {
                let a = args[i].text.as_str();
                if a == "--" {
                    i += 1;
                    break;
                }
                if a == "-" {
                    clears = true;
                    i += 1;
                    continue;
                }
                if a.starts_with("--") {
                    clears |= long_opt(a, "ignore-environment").is_some();
                    if let Some(v) = long_opt(a, "unset") {
                        env_unset(option_value(args, i, v), &mut out);
                    }
                    // getopt_long: any unambiguous prefix of a long option (`--sp=…`).
                    if let Some(attached) = long_opt(a, "split-string") {
                        out.push(Finding::Code {
                            id: "unverifiable:code",
                            reason: "env -S/--split-string splits a string into a command line, which the policy cannot verify".into(),
                            // Read as shell words, close enough for the blocklist.
                            shell: attached.map(String::from).or_else(|| args.get(i + 1).filter(|x| x.exact).map(|x| x.text.clone())),
                        });
                        return out;
                    }
                    let chdir = long_opt(a, "chdir");
                    if let Some(dir) = chdir.and_then(|v| option_value(args, i, v)) {
                        out.push(Finding::Chdir { dir });
                    }
                    // `--argv0=ARG` (coreutils 9.7+): the command's argv[0], not the command.
                    let takes_value = long_opt(a, "unset").or(chdir).or(long_opt(a, "argv0"));
                    i += if takes_value == Some(None) { 2 } else { 1 };
                    continue;
                }
                if a.starts_with('-') && a != "-" {
                    // A short bundle, read like getopt: `u`, `C` and `a` (argv[0]) take the
                    // rest or the next word; `S` takes the rest or the next word as a command
                    // line.
                    let mut step = 1;
                    for (k, ch) in a.char_indices().skip(1) {
                        let rest = &a[k + ch.len_utf8()..];
                        match ch {
                            'S' => {
                                out.push(Finding::Code {
                                    id: "unverifiable:code",
                                    reason: "env -S splits a string into a command line, which the policy cannot verify".into(),
                                    shell: if rest.is_empty() { args.get(i + 1).filter(|x| x.exact).map(|x| x.text.clone()) } else { Some(rest.to_string()) },
                                });
                                return out;
                            }
                            'i' => clears = true,
                            'u' | 'C' | 'a' => {
                                let value = (!rest.is_empty()).then_some(rest);
                                if let Some(dir) = option_value(args, i, value).filter(|_| ch == 'C') {
                                    out.push(Finding::Chdir { dir });
                                }
                                if ch == 'u' {
                                    env_unset(option_value(args, i, value), &mut out);
                                }
                                if rest.is_empty() {
                                    step = 2;
                                }
                                break;
                            }
                            _ => {}
                        }
                    }
                    i += step;
                    continue;
                }
                if let Some(name) = env_assignment(a) {
                    if setting_runs(name, &args[i]) {
                        out.push(deny("vector:env", format!("env sets {name}, which changes what programs run or load")));
                    }
                    i += 1;
                    continue;
                }
                break;
            }
            while i < args.len() {
                match env_assignment(&args[i].text) {
                    Some(name) => {
                        if setting_runs(name, &args[i]) {
                            out.push(deny("vector:env", format!("env sets {name}, which changes what programs run or load")));
                        }
                        i += 1;
                    }
                    None => break,
                }
            }
            if i < args.len() {
                if clears {
                    out.push(deny(
                        "vector:env",
                        "env -i starts the command without the environment the server gives every command (it keeps git from running a bare repository's config, editors and ssh); run the command without -i",
                    ));
                }
                out.push(Finding::Wrap {
                    argv: args[i..].to_vec(),
                    appended: false,
                });
            }
        }
        "sudo" => {
            let with_value = SUDO_WITH_VALUE;
            if texts.iter().any(|a| *a == "-e" || long_opt(a, "edit").is_some()) {
                out.push(deny("vector:sudo", "sudo -e runs an editor as another user"));
                return out;
            }
            let shell_mode = sudo_shell_mode(&texts, &with_value);
            let mut start = skip_options(args, &with_value);
            if let Some(dir) = sudo_chdir(&args[..start]) {
                out.push(Finding::Chdir { dir });
            }
            while start < args.len() {
                match env_assignment(&args[start].text) {
                    // Whether sudo takes `A-B=x` for a setting or a program is not read here.
                    Some(name) if !valid_name(name) => {
                        out.push(deny("vector:sudo", format!("sudo argument {:?} has = but no variable name: it may be a setting or the program", args[start].text)));
                        return out;
                    }
                    Some(name) => {
                        if setting_runs(name, &args[start]) {
                            out.push(deny("vector:env", format!("sudo sets {name}, which changes what programs run or load")));
                        }
                        start += 1;
                    }
                    None => break,
                }
            }
            if shell_mode {
                out.push(Finding::Code {
                    id: "unverifiable:code",
                    reason: "sudo -s/-i runs its command through a shell, which the policy cannot verify".into(),
                    shell: args.get(start..).filter(|r| !r.is_empty() && r.iter().all(|a| a.exact)).map(|r| r.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ")),
                });
            } else if start < args.len() {
                if runs_git(&args[start..], 0) {
                    out.push(env_reset_git("sudo"));
                }
                out.push(Finding::Wrap {
                    argv: args[start..].to_vec(),
                    appended: false,
                });
            }
        }
        "doas" => {
            // `doas [-Lns] [-a style] [-C config] [-u user] command`: `-s` runs a shell
            // (SHELL or the user's), `-C` only checks a config file, `-L` only forgets the
            // login; the command runs with doas's reset environment.
            let start = skip_options(args, &DOAS_WITH_VALUE);
            let has = |letter: char| doas_has(&texts[..start.min(texts.len())], letter);
            if has('s') {
                out.push(code(p, "-s starts a shell"));
            } else if !has('C') && !has('L') {
                match args.get(start..).filter(|r| !r.is_empty()) {
                    Some(inner) => {
                        if runs_git(inner, 0) {
                            out.push(env_reset_git("doas"));
                        }
                        out.push(Finding::Wrap {
                            argv: inner.to_vec(),
                            appended: false,
                        });
                    }
                    None => out.push(code(p, "without a command starts a shell")),
                }
            }
        }
        "watch" => {
            let start = skip_options(args, &["-n", "--interval", "-q", "--equexit"]);
            if texts.iter().take(start).any(|a| *a == "-x" || *a == "--exec") {
                if start < args.len() {
                    out.push(Finding::Wrap {
                        argv: args[start..].to_vec(),
                        appended: false,
                    });
                }
            } else if start < args.len() {
                out.push(Finding::Code {
                    id: "unverifiable:code",
                    reason: "watch runs its arguments through sh -c, which the policy cannot verify".into(),
                    shell: args[start..].iter().all(|a| a.exact).then(|| texts[start..].join(" ")),
                });
            }
        }
        "flock" => {
            if let Some(i) = texts
                .iter()
                .position(|a| *a == "-c" || long_opt(a, "command").is_some())
            {
                out.push(Finding::Code {
                    id: "unverifiable:code",
                    reason: "flock -c runs a shell command string".into(),
                    shell: long_opt(texts[i], "command")
                        .flatten()
                        .map(String::from)
                        .or_else(|| args.get(i + 1).filter(|a| a.exact).map(|a| a.text.clone())),
                });
            } else {
                let start = skip_options(args, &["-w", "--timeout", "-E", "--conflict-exit-code"]) + 1;
                if start < args.len() {
                    out.push(Finding::Wrap {
                        argv: args[start..].to_vec(),
                        appended: false,
                    });
                }
            }
        }
        "find" => find(args, &mut out),
        "git" => git(args, &mut out),
        "awk" | "gawk" | "mawk" | "nawk" => awk(p, args, &mut out),
        "sed" | "gsed" => sed(p, args, &mut out),
        "tar" | "gtar" | "bsdtar" => {
            let longs = [
                "--to-command", "--checkpoint-action", "--use-compress-program", "--info-script",
                "--new-volume-script", "--rsh-command", "--rmt-command", "--index-file",
            ];
            for (i, a) in texts.iter().enumerate() {
                // --checkpoint[=N] is an option of its own, not an abbreviation.
                if *a == "--checkpoint" || a.starts_with("--checkpoint=") {
                    continue;
                }
                let old_style = i == 0 && !a.starts_with('-') && (a.contains('I') || a.contains('F'));
                if longs.iter().any(|l| option_matches(l, a)) || old_style || option_matches("-I", a) || option_matches("-F", a) {
                    out.push(deny("vector:tar", format!("tar option {a:?} runs another program (--to-command, --checkpoint-action, --use-compress-program/-I, -F)")));
                }
            }
            tar_remote_archive(args, &mut out);
        }
        "rsync" => {
            for a in &texts {
                if option_matches("--rsh", a) || option_matches("--rsync-path", a) || option_matches("-e", a) {
                    out.push(deny("vector:rsync", format!("rsync option {a:?} chooses the program rsync runs (-e/--rsh, --rsync-path)")));
                }
                // A daemon runs the `pre-xfer exec`/`post-xfer exec` commands of its config
                // file (--config, or --dparam overrides of the system one).
                if option_matches("--daemon", a) || option_matches("--config", a) || option_matches("--dparam", a) {
                    out.push(deny("vector:rsync", format!("rsync option {a:?} starts a daemon, whose configuration runs commands (pre-xfer exec, post-xfer exec)")));
                }
            }
        }
        "ssh" | "scp" | "sftp" => {
            for (k, a) in texts.iter().enumerate() {
                let l = a.to_ascii_lowercase();
                // Options given with -o (`-oInclude=f`, `-o 'XAuthLocation x'`).
                let o_value = a.starts_with("-o") || k > 0 && texts[k - 1] == "-o";
                if ["proxycommand", "localcommand", "knownhostscommand", "pkcs11provider", "securitykeyprovider"].iter().any(|k| l.contains(k))
                    || o_value && ["xauthlocation", "include", "match"].iter().any(|k| l.contains(k))
                {
                    out.push(deny("vector:ssh", format!("{p} option {a:?} runs a local command")));
                }
            }
            // Short options as getopt reads them (`-vF cfg`, `-Ilib.so`): a value letter
            // takes the rest of the word or the next word. ssh -F (config), -I (PKCS#11
            // library); scp/sftp -F, -S (the ssh program), -D (the sftp server program);
            // sftp -b (a batch file, whose `!cmd` lines run commands). ssh's own options end
            // at the remote command (the second word that is not an option).
            let (bad, values): (&str, &str) = match p {
                "ssh" => ("FI", "bceilmopBDEFIJLOPQRSwW"),
                "scp" => ("FSD", "cDFiJlNoPSX"),
                _ => ("FSDb", "bBcDFiJloPRsSX"),
            };
            let mut words = 0;
            let mut i = 0;
            while i < texts.len() {
                let a = texts[i];
                i += 1;
                if !a.starts_with('-') || a == "-" {
                    words += 1;
                    if p == "ssh" && words == 2 {
                        break;
                    }
                    continue;
                }
                if a == "--" {
                    continue;
                }
                for (k, ch) in a.char_indices().skip(1) {
                    if bad.contains(ch) {
                        out.push(deny("vector:ssh", format!("{p} option {a:?} loads a config file or library, or runs a program of its choosing")));
                        return out;
                    }
                    if values.contains(ch) {
                        if k + 1 == a.len() {
                            i += 1;
                        }
                        break;
                    }
                }
            }
            if p == "sftp" && stdin_code {
                out.push(code(p, "reads commands (`!cmd` runs a local shell command) from its input"));
            }
        }
        "less" | "more" => {
            for a in &texts {
                // -o/-O FILE (log), -k FILE (lesskey), attached or in a bundle.
                let short = a.starts_with('-') && !a.starts_with("--");
                if (a.starts_with('+') && (a.contains('!') || a.contains('|'))) || option_matches("--log-file", a) || option_matches("--LOG-FILE", a) || (short && a.contains(['o', 'O', 'k'])) || option_matches("--lesskey-src", a) || option_matches("--lesskey-file", a) || option_matches("--lesskey-content", a) {
                    out.push(deny("vector:pager", format!("{p} argument {a:?} runs a shell command or writes a file")));
                }
            }
        }
        "man" => {
            for a in &texts {
                if option_matches("--pager", a) || option_matches("--html", a) || option_matches("--browser", a) || (a.starts_with("-P") || a.starts_with("-H")) && !a.starts_with("--") {
                    out.push(deny("vector:pager", format!("man option {a:?} chooses a program to run")));
                }
                // -C/--config-file FILE: a man-db config whose DEFINE lines name the
                // programs (tbl, nroff, pager …) man runs. Read in a short bundle up to the
                // first letter that takes a value (`-lC/dev/stdin`, `-aC f`).
                let bundle_c = a.starts_with('-') && !a.starts_with("--") && {
                    let mut found = false;
                    for ch in a.chars().skip(1) {
                        if matches!(ch, 'C' | 'P' | 'H') {
                            found = true;
                            break;
                        }
                        if "LmMprRSseETX".contains(ch) {
                            break;
                        }
                    }
                    found
                };
                if option_matches("--config-file", a) || bundle_c {
                    out.push(deny("vector:man-config", format!("man option {a:?} reads a config file, whose DEFINE lines choose the programs man runs")));
                }
            }
        }
        "vim" | "vi" | "nvim" | "view" | "vimdiff" | "ex" | "rvim" | "rview" | "gvim" | "gview"
        | "evim" | "eview" | "gvimdiff" | "nvimdiff" | "vim.basic" | "vim.tiny" | "vim.nox"
        | "vim.gtk3" | "vimx" | "emacs" | "nano" | "ed" | "gdb" => {
            let vim = !matches!(p, "emacs" | "nano" | "ed" | "gdb");
            let bad = texts.iter().find(|a| {
                a.starts_with('+')
                    || matches!(**a, "-c" | "--cmd" | "-S" | "-u" | "-s" | "-x" | "-l" | "-f" | "-ex" | "-batch" | "--batch" | "-eval" | "--eval" | "--load" | "--funcall" | "--script" | "--speller" | "--command" | "--eval-command")
                    || a.starts_with("--eval") || a.starts_with("--load=") || a.starts_with("--speller=") || a.starts_with("--command=")
                    // Emacs and gdb accept abbreviated long options (`--ev`, `--eval-c`).
                    || ["cmd", "eval", "load", "funcall", "script", "speller", "command", "eval-command", "init-command", "init-eval-command", "batch", "execute", "exec", "python", "lisp"].iter().any(|l| long_opt(a, l).is_some())
                    // gdb reads `-eval-command`, `-ex`, `-iex` with one dash (getopt_long_only).
                    || (p == "gdb" && a.len() > 1 && a.starts_with('-') && !a.starts_with("--") && {
                        let n = a[1..].split('=').next().unwrap_or("");
                        ["ex", "x", "iex", "ix", "batch", "eval-command", "init-command", "init-eval-command", "command"].iter().any(|l| l.starts_with(n))
                    })
            });
            // vim reads `-Nes`, `-Ns FILE`, `-Nc CMD` as bundles: -s (script of Normal-mode
            // keys, or silent Ex mode), -S (a file of Ex commands), -c, -u/-U (vimrc files).
            let bundled = vim
                .then(|| texts.iter().find(|a| a.starts_with('-') && !a.starts_with("--") && a.len() > 2 && a[1..].contains(['s', 'S', 'c', 'u', 'U'])))
                .flatten();
            if let Some(a) = bad.or(bundled) {
                out.push(code(p, &format!("given {a:?} runs editor/debugger commands")));
            } else if stdin_code {
                // vim reads Normal-mode keys or Ex commands (`:!cmd`) from a pipe or a
                // here-document, with or without -e/-s; ed, ex and gdb read commands.
                out.push(code(p, "reads commands from its input"));
            }
        }
        "rg" | "ripgrep" => {
            // --pre runs a program on every file searched.
            if texts.iter().any(|a| *a == "--pre" || a.starts_with("--pre=")) {
                out.push(deny("vector:rg", "rg --pre runs a program on every file it searches"));
            }
        }
        // bash's `jobs -x COMMAND ARGS` runs COMMAND with job specs replaced by pids.
        "jobs" => {
            let options = args.iter().take_while(|a| a.text.starts_with('-') && a.text != "--");
            let n = options.clone().count();
            if options.clone().any(|a| a.text.contains('x')) {
                let skip = n + usize::from(args.get(n).is_some_and(|a| a.text == "--"));
                if args.len() > skip {
                    out.push(Finding::Wrap {
                        argv: args[skip..].to_vec(),
                        appended: false,
                    });
                }
            }
        }
        "sort" => {
            if texts.iter().any(|a| option_matches("--compress-program", a)) {
                out.push(deny("vector:sort", "sort --compress-program runs another program"));
            }
        }
        "install" | "ginstall" => {
            // `--strip-program=PROG` (any prefix; `--strip` alone is another option) runs
            // PROG on the installed file.
            if texts
                .iter()
                .any(|a| *a != "--strip" && option_matches("--strip-program", a))
            {
                out.push(deny(
                    "vector:install",
                    "install --strip-program runs another program",
                ));
            }
        }
        "split" => {
            if texts.iter().any(|a| option_matches("--filter", a)) {
                out.push(deny("vector:split", "split --filter runs a shell command"));
            }
        }
        "zip" => {
            // `-TT cmd`, `-TTcmd`, `-TT=cmd`, or inside a bundle (`-qTT`).
            if texts.iter().any(|a| (a.starts_with('-') && !a.starts_with("--") && a.contains("TT")) || option_matches("--unzip-command", a)) {
                out.push(deny("vector:zip", "zip -TT/--unzip-command runs another program"));
            }
        }
        "socat" => {
            if texts.iter().any(|a| {
                let l = a.to_ascii_lowercase();
                l.contains("exec:") || l.contains("system:")
            }) {
                out.push(deny("vector:socat", "socat EXEC:/SYSTEM: addresses run programs"));
            }
        }
        "nc" | "ncat" | "netcat" => {
            if texts.iter().any(|a| matches!(*a, "-e" | "-c") || a.starts_with("--exec") || a.starts_with("--sh-exec") || a.starts_with("--lua-exec") || (a.starts_with('-') && !a.starts_with("--") && (a.contains('e') || a.contains('c')))) {
                out.push(deny("vector:nc", format!("{p} -e/-c runs a program on a connection")));
            }
        }
        "make" | "gmake" => {
            for a in &texts {
                if option_matches("--eval", a) || *a == "-E" || a.starts_with(".SHELLFLAGS") || make_assignment_runs(a) {
                    out.push(deny("vector:make", format!("make argument {a:?} injects recipe code or a shell")));
                }
            }
            // `-f -`, `-f/dev/stdin`, `--file=/dev/fd/0`, `--makefile /proc/self/fd/3`.
            let makefiles = texts.iter().enumerate().filter_map(|(k, a)| {
                let long = ["--file", "--makefile"].iter().find_map(|o| long_opt(a, o.trim_start_matches('-')));
                match long {
                    Some(Some(v)) => Some(v),
                    Some(None) => texts.get(k + 1).copied(),
                    None if *a == "-f" => texts.get(k + 1).copied(),
                    None => a.strip_prefix("-f").filter(|v| !v.is_empty() && !a.starts_with("--")),
                }
            });
            if stdin_code && makefiles.into_iter().any(names_input) {
                out.push(code(p, "reads a makefile from its input"));
            }
        }
        "cargo" => {
            toolchain_path(p, &texts, &mut out);
            for a in &texts {
                if option_matches("--config", a) || *a == "-Z" || a.starts_with("-Zunstable-options") {
                    out.push(deny("vector:cargo", format!("cargo option {a:?} can set a wrapper or runner program")));
                }
            }
        }
        "npm" | "npx" | "pnpm" | "yarn" | "bunx" | "pnpx" => {
            // Options naming programs npm runs (scripts' shell, node-gyp, git, the editor,
            // browser or pager) or config files that can. `--no` (npx: do not install) is
            // not read as an abbreviation of --node-options.
            const PROGRAM_OPTIONS: &[&str] = &[
                "--call", "--script-shell", "--node-options", "--node-gyp", "--userconfig",
                "--globalconfig", "--git", "--shell", "--editor", "--browser", "--viewer",
                "--init-module",
                // yarn 1 reads this .yarnrc, whose `yarn-path` names the file every yarn runs.
                "--use-yarnrc",
            ];
            // Words after `--` are the program's or script's own arguments.
            for a in texts.iter().take_while(|a| **a != "--") {
                if *a == "-c" || (*a != "--no" && PROGRAM_OPTIONS.iter().any(|o| option_matches(o, a))) {
                    out.push(deny("vector:npm", format!("{p} option {a:?} runs a shell command or changes the programs it runs")));
                    return out;
                }
            }
            // `--registry URL` (`--@scope:registry=…`) for a command that runs a package's
            // program: the registry chooses the code that runs.
            let registry = texts
                .iter()
                .take_while(|a| **a != "--")
                .any(|a| long_opt(a, "registry").is_some() || a.split('=').next().is_some_and(|n| n.starts_with("--@") && n.ends_with(":registry")));
            let registry_refused = |what: &str, out: &mut Vec<Finding>| {
                out.push(deny("vector:npm", format!("{what} --registry: the registry chooses the package whose program runs")));
            };
            // npx ARGS, bunx ARGS, npm exec|x, pnpm exec|dlx, yarn exec|dlx: the program
            // named runs (npm abbreviates commands: `npm exe`).
            if matches!(p, "npx" | "bunx" | "pnpx") {
                if registry {
                    registry_refused(p, &mut out);
                    return out;
                }
                package_exec(p, args, false, &mut out);
                return out;
            }
            if let Some(f) = package_manager_runs(p, args) {
                out.push(f);
                return out;
            }
            for k in package_subcommands(&texts) {
                let sub = texts[k];
                // `yarn workspace NAME CMD …` runs `yarn CMD …` in that workspace, and `yarn
                // workspaces foreach [OPTIONS] CMD …` in each of them (`exec`, `dlx`, `node`
                // among them): read as that yarn command.
                let inner = match (p, sub, texts.get(k + 1)) {
                    ("yarn", "workspace", Some(_)) | ("yarn", "workspaces", Some(&"foreach")) => Some(k + 2),
                    _ => None,
                };
                if let Some(start) = inner {
                    let mut argv = vec![prog.clone()];
                    argv.extend(args[start..].iter().cloned());
                    out.push(Finding::Wrap { argv, appended: false });
                    return out;
                }
                // `yarn plugin import ./plugin.js`, a URL, or `from sources --repository URL`:
                // every later yarn loads that code. Yarn's own plugins go by name (`exec`,
                // `@yarnpkg/plugin-exec`).
                if p == "yarn" && sub == "plugin" && texts.get(k + 1) == Some(&"import") {
                    let official = |a: &Arg| {
                        let name = a.text.strip_prefix("@yarnpkg/").unwrap_or(&a.text);
                        a.exact && !name.is_empty() && name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                    };
                    if let Some(a) = args[k + 2..].iter().find(|a| a.text.starts_with("--repository") || a.text.starts_with("--path") || !a.text.starts_with('-') && !official(a)) {
                        out.push(deny("vector:npm", format!("yarn plugin import {:?}: a plugin given by path or URL (or built from another repository) is code every later yarn loads; import Yarn's own plugins by name", a.text)));
                        return out;
                    }
                }
                let exec = match p {
                    "npm" => matches!(sub, "exec" | "exe" | "ex" | "x"),
                    "pnpm" => matches!(sub, "exec" | "dlx"),
                    _ => matches!(sub, "exec" | "dlx"),
                };
                if p == "npm" && ["explore", "edit"].iter().any(|c| sub.len() >= 4 && c.starts_with(sub) || *c == sub) {
                    out.push(deny("vector:npm", format!("npm {sub} runs a shell or an editor")));
                    return out;
                }
                if exec {
                    let what = format!("{p} {sub}");
                    if registry {
                        registry_refused(&what, &mut out);
                        return out;
                    }
                    let rest = &args[k + 1..];
                    // `npm exec CMD --flag`: npm itself reads options after the program
                    // unless they follow `--`.
                    if p == "npm" && !texts[k + 1..].contains(&"--") && texts[k + 1..].iter().skip_while(|a| a.starts_with('-')).any(|a| a.starts_with('-')) {
                        out.push(deny("vector:npm", format!("{what}: npm reads the options after the program as its own; put the program and its arguments after --")));
                        return out;
                    }
                    package_exec(&what, rest, p == "yarn" && sub == "exec", &mut out);
                    return out;
                }
            }
            // `npm config set script-shell …` would change what every later `npm run` runs;
            // `npm set KEY VALUE` and `npm c set` are the same command. Keys in any case
            // (`yarnPath`), and the program paths node-gyp, viewer and yarn-path name.
            let config = texts.iter().any(|a| matches!(*a, "config" | "c")) && texts.iter().any(|a| matches!(*a, "set" | "edit"));
            if config || package_subcommands(&texts).iter().any(|&k| texts[k] == "set") {
                let risky = ["shell", "node-options", "editor", "browser", "git", "onload-script", "prefix", "userconfig", "globalconfig", "init-module", "init.module", "node-gyp", "viewer", "yarn-path", "yarnpath"];
                if texts.iter().any(|a| risky.iter().any(|k| a.to_ascii_lowercase().contains(k))) || texts.contains(&"edit") {
                    out.push(deny("vector:npm", format!("{p} config set/edit of a key that chooses programs to run")));
                }
                // `yarn set version ./release.cjs` (or a URL) makes every later yarn run that file.
                if p == "yarn" && texts.contains(&"version") && texts.iter().any(|a| a.contains(['/', ':'])) {
                    out.push(deny("vector:npm", "yarn set version with a path or URL makes every later yarn run that file"));
                }
            }
        }
        "dc" => {
            if texts.iter().any(|a| a.contains('!')) || stdin_code {
                out.push(code(p, "with ! runs shell commands"));
            }
        }
        "test" | "[" | "printf" | "read" | "getopts" | "wait" => {
            for (i, a) in texts.iter().enumerate() {
                let sub = a.find('[').is_some_and(|i| {
                    i > 0 && a[..i].bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric()) && a[i..].contains(['$', '`'])
                });
                // `test -v 'b[y]'`, `wait -p b[y]`: the name's subscript is arithmetic, and a
                // variable in it is read as arithmetic too (`y='a[$(id)]'` runs id).
                let named = match p {
                    "test" | "[" => i > 0 && matches!(texts[i - 1], "-v" | "-R"),
                    "getopts" | "wait" => true,
                    _ => false,
                };
                // printf's `-v NAME`, also attached (`-v'a[$(id)]'`, its first word only).
                let printf_v = p == "printf" && (*a == "-v" || (i == 0 && a.starts_with("-v")));
                if sub || (named && subscript_reads_names(a)) || printf_v {
                    out.push(deny("vector:subscript", format!("{p} argument {a:?} can evaluate an array subscript, which runs $(…) in bash")));
                }
            }
        }
        "apt" | "apt-get" => {
            if texts.iter().any(|a| *a == "-o" || a.starts_with("-o") && a.len() > 2 || option_matches("--option", a) || *a == "-c" || option_matches("--config-file", a)) {
                out.push(deny("vector:apt", "apt -o/-c can set hooks that run commands"));
            }
        }
        "wget" => {
            // Short bundles as getopt reads them: `-qe CMD`, `-euse_askpass=…`; value letters
            // take the rest of the word; -n takes the next letter (-nv, -nc, -nH).
            let short_e = |a: &str| {
                if !a.starts_with('-') || a.starts_with("--") {
                    return false;
                }
                let mut chars = a.chars().skip(1);
                while let Some(c) = chars.next() {
                    match c {
                        'e' => return true,
                        'n' => {
                            chars.next();
                        }
                        c if "oaiBOtTwQPlARDIXUY".contains(c) => return false,
                        _ => {}
                    }
                }
                false
            };
            if texts.iter().any(|a| short_e(a) || option_matches("--execute", a) || option_matches("--use-askpass", a) || option_matches("--config", a)) {
                out.push(deny("vector:wget", "wget -e/--execute, --use-askpass and --config run commands or read a configuration (use_askpass = PROGRAM) that does"));
            }
        }
        "diff3" | "sdiff" => {
            if texts.iter().any(|a| option_matches("--diff-program", a)) {
                out.push(deny("vector:diff-program", format!("{p} --diff-program runs the program it names")));
            } else if p == "sdiff" && stdin_code && texts.iter().any(|a| option_matches("--output", a) || (a.starts_with('-') && !a.starts_with("--") && a.contains('o'))) {
                // sdiff -o reads merge commands from its input; `e` starts an editor that
                // reads the same input.
                out.push(code(p, "-o reads commands (which start an editor) from its input"));
            }
        }
        "openssl" => {
            // Engines and providers are shared libraries; a config file can load them.
            const LOADS: &[&str] = &[
                "engine", "provider", "provider-path", "provider_path", "config", "keygen_engine",
                "ssl_client_engine", "client_engine", "pre", "post",
            ];
            for (k, a) in texts.iter().enumerate() {
                let name = a.strip_prefix("--").or_else(|| a.strip_prefix('-'));
                let name = name.map(|n| n.split('=').next().unwrap_or(n));
                if name.is_some_and(|n| LOADS.contains(&n)) || (k == 0 && *a == "engine") {
                    out.push(deny("vector:openssl", format!("openssl {a:?} loads a shared library (engine, provider) or a config file that can")));
                    break;
                }
            }
        }
        "sqlite3" | "sqlite" => sqlite(p, args, stdin_code, &mut out),
        "psql" => psql(args, stdin_code, &mut out),
        "mysql" | "mariadb" => mysql(p, args, stdin_code, &mut out),
        "gcc" | "g++" | "cc" | "c++" | "clang" | "clang++" => {
            // `--prefix DIR` is `-B DIR`; clang also loads `-fpass-plugin=x.so` and runs the
            // linker and assembler of `--gcc-toolchain`, `--gcc-install-dir` and
            // `-ccc-install-dir`.
            const RUNS: &[&str] = &[
                "-wrapper", "-fplugin", "-fpass-plugin", "-specs", "--specs", "-B", "--prefix", "--ld-path",
                "-fuse-ld=/", "--gcc-toolchain", "-gcc-toolchain", "--gcc-install-dir", "-ccc-install-dir",
            ];
            for (i, a) in texts.iter().enumerate() {
                if RUNS.iter().any(|o| a.starts_with(o)) {
                    out.push(deny("vector:compiler", format!("{p} option {a:?} runs or loads a program of its choosing")));
                }
                // Options handed on to the preprocessor, assembler or linker: `-Wl,-plugin,x.so`
                // and `-Xlinker --plugin=x.so` make ld load a shared library, `-Wp,-fplugin=…`
                // makes cc1 load one, and `-Wl,@FILE` reads more linker options from a file.
                let passed: Vec<&str> = match a.split_once(',') {
                    Some(("-Wl" | "-Wp" | "-Wa", rest)) => rest.split(',').collect(),
                    _ if i > 0 && matches!(texts[i - 1], "-Xlinker" | "-Xpreprocessor" | "-Xassembler" | "-Xclang") => vec![*a],
                    _ => Vec::new(),
                };
                // `-Xclang -load -Xclang x.so`: clang's compiler loads the shared library.
                if passed.iter().any(|o| o.contains("plugin") || o.starts_with('@') || *o == "-load") {
                    out.push(deny("vector:compiler", format!("{p} passes {a:?} on to the linker or preprocessor, where it loads a plugin (a shared library) or reads options from a file")));
                }
            }
            response_files(p, args, &mut out);
        }
        "rustc" => {
            toolchain_path(p, &texts, &mut out);
            response_files(p, args, &mut out);
            for (i, a) in texts.iter().enumerate() {
                let cg = if *a == "-C" || *a == "--codegen" { texts.get(i + 1).copied() } else { a.strip_prefix("-C").or_else(|| a.strip_prefix("--codegen=")) };
                if cg.is_some_and(|v| v.starts_with("linker") || v.starts_with("link-arg")) || a.starts_with("-Zunstable") {
                    out.push(deny("vector:compiler", format!("rustc option {a:?} chooses the linker program")));
                }
            }
        }
        "go" => {
            for a in &texts {
                if option_matches("-exec", a) || option_matches("-toolexec", a) || option_matches("--exec", a) || option_matches("--toolexec", a) {
                    out.push(deny("vector:go", format!("go option {a:?} runs a program of its choosing")));
                }
            }
            go_programs(&texts, &mut out);
            // `go tool link -extld=./x`, `go tool pprof -tools=DIR`, `go tool test2json ./x`
            // run a program of the line's choosing; the tools that only read files (or
            // print a coverage summary) are kept.
            if texts.first() == Some(&"tool") {
                let reads_only = match texts.get(1).copied() {
                    Some("nm" | "objdump" | "addr2line" | "buildid" | "doc") => true,
                    Some("cover") => {
                        !texts.iter().any(|a| a.starts_with("-html") || a.starts_with("--html"))
                    }
                    _ => false,
                };
                if !reads_only {
                    out.push(deny("vector:go", format!("go tool {} may run a program of the line's choosing (link -extld, pprof -tools, test2json, cgo's compiler); only nm, objdump, addr2line, buildid, doc and cover without -html are allowed", texts.get(1).unwrap_or(&""))));
                }
            }
            if texts.first() == Some(&"generate") {
                out.push(deny("vector:go", "go generate runs the commands written in source files"));
            }
        }
        "tcpdump" => {
            if texts.iter().any(|a| a.starts_with("-z") || a.starts_with("-Z")) {
                out.push(deny("vector:runs-program", "tcpdump -z runs a program on every saved file"));
            }
        }
        "nmap" => {
            if texts.iter().any(|a| option_matches("--script", a) || a.starts_with("-sC") || *a == "-A") {
                out.push(deny("vector:runs-program", "nmap scripts are code (--script, -sC, -A)"));
            }
        }
        "openvpn" => {
            if texts.iter().any(|a| ["--up", "--down", "--route-up", "--ipchange", "--client-connect", "--learn-address", "--tls-verify", "--auth-user-pass-verify", "--config", "--plugin"].iter().any(|o| option_matches(o, a))) {
                out.push(deny("vector:runs-program", "openvpn script options run programs"));
            }
        }
        "tshark" | "wireshark" => {
            if texts.iter().any(|a| a.starts_with("-X")) {
                out.push(deny("vector:runs-program", "tshark -X lua_script runs code"));
            }
        }
        "cpio" => {
            if texts.iter().any(|a| option_matches("--rsh-command", a) || option_matches("--rmt-command", a)) {
                out.push(deny("vector:cpio", "cpio --rsh-command runs a program"));
            }
        }
        "ip" => {
            if texts.contains(&"exec") {
                out.push(deny("vector:runs-program", "ip netns exec runs another program"));
            }
        }
        "hg" => {
            if texts.iter().any(|a| option_matches("--config", a) || option_matches("--debugger", a)) {
                out.push(deny("vector:hg", "hg --config can set hooks and aliases that run commands"));
            }
        }
        "curl" => {
            // `--engine PATH` loads an OpenSSL engine (a shared library; `list` only lists),
            // and `-K/--config FILE` reads more options (engine, output …) from a file.
            for (i, a) in texts.iter().enumerate() {
                let engine = long_opt(a, "engine").map(|v| v.or(texts.get(i + 1).copied()));
                if engine.is_some_and(|v| v != Some("list")) {
                    out.push(deny("vector:openssl", format!("curl {a:?} loads an OpenSSL engine, a shared library")));
                    return out;
                }
                // In a bundle up to the first letter that takes a value (`-sK f`, not `-oK.txt`).
                let short_k = a.starts_with('-') && !a.starts_with("--") && a[1..].chars().take_while(|c| !"AbcCdDeEFHmoPQrtTuUwxXyYz".contains(*c)).any(|c| c == 'K');
                if short_k || long_opt(a, "config").is_some() {
                    out.push(deny("unverifiable:argument-file", format!("curl {a:?} reads more options (engine, output, …) from a file, which the policy cannot check")));
                    return out;
                }
            }
        }
        // `terraform init -plugin-dir=DIR` installs providers, the programs every later
        // terraform command runs, from DIR (Go flags: one dash or two, `=` or the next word).
        "terraform" => {
            let plugin_dir = |a: &&&str| {
                let name = a.strip_prefix("--").or_else(|| a.strip_prefix('-'));
                name.is_some_and(|n| n.split('=').next() == Some("plugin-dir"))
            };
            if let Some(a) = texts.iter().find(plugin_dir) {
                out.push(deny("vector:terraform", format!("terraform option {a:?} installs providers (programs terraform runs) from a directory of the line's choosing; let terraform init install them from the registry")));
            }
        }
        "pytest" | "py.test" => pytest(p, args, stdin_code, &mut out),
        "kubectl" => kubectl(&texts, &mut out),
        "docker" => docker(args, &mut out),
        "aws" => aws(&texts, &mut out),
        _ if pip_name(p) => pip(p, args, &mut out),
        _ => {}
    }
    out
}

/// `pip`, `pip3`, `pip3.11`.
fn pip_name(p: &str) -> bool {
    p.strip_prefix("pip")
        .is_some_and(|v| v.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
}

/// pip re-runs itself under the program `--python` names (any file: pip only checks that
/// it exists), and `pip config set global.python PROG` makes every later pip do so;
/// `pip config edit` starts an editor.
fn pip(p: &str, args: &[Arg], out: &mut Vec<Finding>) {
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    let texts: Vec<&str> = texts.into_iter().take_while(|a| *a != "--").collect();
    if let Some(a) = texts.iter().find(|a| long_opt(a, "python").is_some()) {
        out.push(deny(
            "vector:pip",
            format!("{p} {a:?} runs pip again under the program it names"),
        ));
        return;
    }
    let Some(k) = texts.iter().position(|a| *a == "config") else {
        return;
    };
    let words: Vec<&Arg> = args[k + 1..]
        .iter()
        .filter(|a| !a.text.starts_with('-'))
        .collect();
    let risky = |key: &Arg| {
        !key.exact
            || matches!(
                key.text.rsplit('.').next(),
                Some("python" | "keyring-provider" | "keyring_provider" | "editor")
            )
    };
    let bad = texts[k + 1..]
        .iter()
        .any(|a| long_opt(a, "editor").is_some())
        || words.first().is_some_and(|w| w.text == "edit")
        || words.first().is_some_and(|w| w.text == "set")
            && words.get(1).is_none_or(|key| risky(key));
    if bad {
        out.push(deny(
            "vector:pip",
            format!("{p} config: an editor, or a setting (python, keyring-provider) that makes every later pip run another program"),
        ));
    }
}

/// pytest's ways of running a program or code the line gives: pytest-xdist's `--tx` starts
/// its workers with the program a `python=` (or `ssh=`, `socket=` …) part names (`--tx
/// 'popen//python=sh -c …'`), `-o addopts=…` adds such options (like PYTEST_ADDOPTS),
/// `@FILE` reads more arguments from a file (pytest 8.2+), `-p antigravity` starts a
/// browser, and `--pdb`/`--trace` start the debugger, which reads Python code from a pipe or
/// here-document. pytest takes no abbreviated long options. `args` are the words after the
/// program (or after `python3 -m pytest`).
fn pytest(p: &str, args: &[Arg], stdin_code: bool, out: &mut Vec<Finding>) {
    let mut debugger = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        i += 1;
        if t == "--" {
            break;
        }
        if t.starts_with('@') {
            out.push(deny(
                "unverifiable:argument-file",
                format!("{p} reads more arguments from the file {t:?}, which the policy cannot check; give the options on the command line"),
            ));
            return;
        }
        // The option and its value (attached, or the next word), as argparse reads them.
        let (opt, value) = if let Some(long) = t.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            debugger |= matches!(name, "pdb" | "trace");
            if !matches!(name, "tx" | "override-ini") {
                continue;
            }
            (name, attached)
        } else if let Some(letters) = t.strip_prefix('-').filter(|l| !l.is_empty()) {
            // A bundle of flags ends at the first letter that takes a value (`-qpNAME`).
            let Some(k) = letters.find(['k', 'm', 'p', 'o', 'c', 'r', 'W', 'n']) else {
                continue;
            };
            let rest = &letters[k + 1..];
            (&letters[k..=k], (!rest.is_empty()).then_some(rest))
        } else {
            continue;
        };
        let value = match value {
            Some(v) => Some(Arg {
                text: v.to_string(),
                ..a.clone()
            }),
            None => {
                i += 1;
                args.get(i - 1).cloned()
            }
        };
        let Some(value) = value else {
            continue;
        };
        let v = value.text.as_str();
        let refused = match opt {
            "tx" => {
                // Workers started as pytest's own python, here: `3*popen`, `popen//chdir=…`.
                let own = |part: &str| {
                    let n = part.split_once('*').map_or(part, |(count, rest)| {
                        if count.bytes().all(|c| c.is_ascii_digit()) {
                            rest
                        } else {
                            part
                        }
                    });
                    n == "popen"
                        || n == "dont_write_bytecode"
                        || ["id=", "chdir=", "nice="].iter().any(|o| n.starts_with(o))
                };
                (!value.exact || !v.split("//").all(own))
                    .then(|| format!("{p} --tx {v:?}: pytest-xdist starts its workers with the program a python=, ssh=, socket= or env: part names; only popen workers (3*popen, popen//chdir=DIR) are allowed"))
            }
            "o" | "override-ini" => {
                let (key, setting) = v.split_once('=').unwrap_or((v, ""));
                (!value.exact || matches!(key.trim(), "addopts" | "env") && !setting.trim().is_empty())
                    .then(|| format!("{p} -o {v:?}: addopts adds options (--tx, -p) and pytest-env's env sets variables (LD_PRELOAD) the policy does not read; give them on the command line"))
            }
            "p" => (v == "antigravity").then(|| format!("{p} -p antigravity starts a web browser")),
            _ => None,
        };
        if let Some(reason) = refused {
            out.push(deny("vector:pytest", reason));
            return;
        }
    }
    if debugger && stdin_code {
        out.push(code(
            p,
            "--pdb/--trace start the debugger, which reads Python code from its input",
        ));
    }
}

/// kubectl runs the `exec` credential plugin of the kubeconfig it reads (`--kubeconfig`,
/// `config set-credentials --exec-command`), an editor (`edit`, `--edit`), and helm or
/// exec functions for `kustomize --enable-helm/--helm-command/--enable-exec`.
fn kubectl(texts: &[&str], out: &mut Vec<Finding>) {
    let texts: Vec<&str> = texts.iter().copied().take_while(|a| *a != "--").collect();
    let flag =
        |a: &str, name: &str| a == name || a.strip_prefix(name).is_some_and(|r| r.starts_with('='));
    for a in &texts {
        let why = if flag(a, "--kubeconfig") {
            "names a kubeconfig, whose exec credential plugin is a program kubectl runs"
        } else if flag(a, "--edit") || *a == "edit" {
            "starts an editor"
        } else if [
            "--enable-helm",
            "--helm-command",
            "--enable-exec",
            "--enable-alpha-plugins",
        ]
        .iter()
        .any(|n| flag(a, n))
        {
            "makes kustomize run helm or the programs a kustomization names"
        } else if texts.contains(&"config")
            && ["exec", "cmd-path", "auth-provider"]
                .iter()
                .any(|k| a.contains(k))
        {
            "writes a credential plugin (a program every later kubectl runs) into the kubeconfig"
        } else {
            continue;
        };
        out.push(deny("vector:kubectl", format!("kubectl {a:?} {why}")));
        return;
    }
}

/// docker's `--config DIR` (before the command) names a config.json whose
/// `cliPluginsExtraDirs` and credential helpers are programs docker runs. A word there
/// that is only known when it runs may be that option.
fn docker(args: &[Arg], out: &mut Vec<Finding>) {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if !a.exact {
            out.push(deny(
                "unverifiable:argument",
                format!("docker option {t:?} is only known when it runs (it may be --config, whose config.json names programs docker runs)"),
            ));
            return;
        }
        if !t.starts_with('-') {
            return;
        }
        if t == "--config" || t.starts_with("--config=") {
            out.push(deny(
                "vector:docker",
                format!("docker {t:?} names a config directory, whose config.json names plugin directories and credential helpers (programs docker runs)"),
            ));
            return;
        }
        let valued = [
            "-c",
            "--context",
            "-H",
            "--host",
            "-l",
            "--log-level",
            "--tlscacert",
            "--tlscert",
            "--tlskey",
        ];
        i += if valued.contains(&t) { 2 } else { 1 };
    }
}

/// `aws configure set` of a key naming a program: `credential_process` (run for
/// credentials), `cli_pager`, `plugins.*` (Python modules the CLI imports).
fn aws(texts: &[&str], out: &mut Vec<Finding>) {
    let Some(k) = texts.iter().position(|a| *a == "configure") else {
        return;
    };
    let Some(s) = texts[k + 1..].iter().position(|a| *a == "set") else {
        return;
    };
    // The key is the first word that is neither an option nor an option's value
    // (`aws configure set --profile p credential_process …`); the AWS CLI reads keys in
    // any case (`CREDENTIAL_PROCESS`). Any other word naming such a key counts as well, as
    // options this list does not know may take a value.
    const VALUED: [&str; 8] = [
        "--profile",
        "--region",
        "--output",
        "--endpoint-url",
        "--query",
        "--color",
        "--ca-bundle",
        "--cli-binary-format",
    ];
    let rest = &texts[k + 1 + s + 1..];
    let mut words = Vec::new();
    let mut j = 0;
    while let Some(a) = rest.get(j) {
        j += if VALUED.contains(a) { 2 } else { 1 };
        if !a.starts_with('-') {
            words.push(*a);
        }
    }
    let key = words.first().copied().unwrap_or("");
    let names_program = |w: &str| {
        let w = w.to_ascii_lowercase();
        let last = w.rsplit('.').next().unwrap_or(&w);
        matches!(last, "credential_process" | "cli_pager") || w.starts_with("plugins")
    };
    if rest.iter().any(|w| names_program(w)) || key.contains('$') || key.is_empty() {
        out.push(deny(
            "vector:aws",
            format!(
                "aws configure set {key:?} names a program or module every later aws command runs"
            ),
        ));
    }
}

/// go's other ways of running a program of the line's choosing: `-vettool`, an external
/// linker or archiver in `-ldflags` (`-extld`, `-extar`), `-gccgoflags` (gcc options such
/// as -wrapper), and `go env -w` of a setting every later go command reads (GOFLAGS, CC …).
fn go_programs(texts: &[&str], out: &mut Vec<Finding>) {
    for (i, a) in texts.iter().enumerate() {
        let name = a.trim_start_matches('-');
        let (name, attached) = name
            .split_once('=')
            .map_or((name, None), |(n, v)| (n, Some(v)));
        if !a.starts_with('-') {
            continue;
        }
        let value = attached.or_else(|| texts.get(i + 1).copied()).unwrap_or("");
        let bad = match name {
            "vettool" | "gccgoflags" => true,
            "ldflags" => value.contains("extld") || value.contains("extar"),
            _ => false,
        };
        if bad {
            out.push(deny(
                "vector:go",
                format!("go option {a:?} runs a program of its choosing"),
            ));
            return;
        }
    }
    if texts.first() == Some(&"env") && texts.iter().any(|a| *a == "-w" || a.starts_with("-w=")) {
        const SAFE: &[&str] = &[
            "GOPRIVATE",
            "GONOPROXY",
            "GONOSUMDB",
            "GOPROXY",
            "GO111MODULE",
            "GOOS",
            "GOARCH",
            "GOAMD64",
            "GOARM",
            "GOARM64",
            "GOEXPERIMENT",
            "GOTELEMETRY",
            "CGO_ENABLED",
        ];
        let unsafe_key = texts[1..]
            .iter()
            .filter(|a| !a.starts_with('-') || a.starts_with("-w="))
            .map(|a| a.trim_start_matches("-w="))
            .any(|a| !a.split_once('=').is_some_and(|(k, _)| SAFE.contains(&k)));
        if unsafe_key {
            out.push(deny("vector:go", "go env -w writes a setting every later go command reads (GOFLAGS=-toolexec=…, CC, GOTOOLCHAIN …); only GOPRIVATE, GOPROXY, GOOS and similar settings are allowed"));
        }
    }
}

/// `gcc @FILE`, `rustc @FILE`: the compiler reads more arguments from the file
/// (`-wrapper`, `-fplugin`, `-C linker=…`), so its real argv is not known before it runs.
fn response_files(p: &str, args: &[Arg], out: &mut Vec<Finding>) {
    if let Some(a) = args.iter().find(|a| a.text.starts_with('@')) {
        out.push(deny(
            "unverifiable:argument-file",
            format!("{p} reads more arguments from the file {:?} (a response file), which the policy cannot check; give the options on the command line", a.text),
        ));
    }
}

/// rustup's proxies (`cargo`, `rustc`) take `+TOOLCHAIN` as their first argument, and a
/// toolchain written as a path (`+/tmp/tc`, `+./tc`) runs that directory's `bin/cargo` or
/// `bin/rustc`, whatever they are (`RUSTUP_TOOLCHAIN` is refused for the same reason).
fn toolchain_path(p: &str, texts: &[&str], out: &mut Vec<Finding>) {
    if let Some(t) = texts
        .first()
        .filter(|a| a.starts_with('+') && a.contains(['/', '\\']))
    {
        out.push(deny(
            "vector:toolchain",
            format!("{p} {t:?}: a toolchain given as a path runs the programs in that directory; name an installed toolchain (+stable, +nightly)"),
        ));
    }
}

/// psql's meta-commands run programs: `\\!` (a shell command), an argument in backquotes
/// (`\\echo `cmd``, run by the shell), an output that starts with `|` (`\\o |cmd`,
/// `\\g |cmd`, `\\w '|cmd'`, `-o '|cmd'`), `\\copy … program` (and SQL `COPY … PROGRAM`,
/// which a local server runs on this machine), the editor (`\\e`, `\\ef`, `\\ev`), and
/// `\\setenv` (PAGER, the shell's environment). Refused wherever they appear in the
/// arguments, and commands read from a pipe or here-document. Script files (`-f FILE`,
/// `\\i FILE`) are the project's own code, like `sh ./script.sh`.
fn psql(args: &[Arg], stdin_code: bool, out: &mut Vec<Finding>) {
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        // `-o '|cmd'`, `-Ao|cmd`, `--output=|cmd`, `--out '|cmd'`: a word starting with `|`
        // is never a database or user name; an output only known when it runs may be one.
        let short_o = t.starts_with('-') && !t.starts_with("--") && t.ends_with('o');
        let unknown_output = (long_opt(t, "output") == Some(None) || short_o)
            && args.get(i + 1).is_some_and(|v| !v.exact);
        let piped = t.trim_start().starts_with('|')
            || long_opt(t, "output")
                .flatten()
                .is_some_and(|v| v.trim_start().starts_with('|'))
            || (t.starts_with('-') && !t.starts_with("--") && t.contains("o|"));
        if piped || unknown_output || (!a.exact && a.text.contains('|')) {
            out.push(deny(
                "vector:sql-shell",
                format!("psql output {t:?} is a pipe into a shell command (or may be)"),
            ));
            return;
        }
        if let Some(why) = psql_meta_runs(t) {
            out.push(deny(
                "vector:sql-shell",
                format!("psql argument {t:?} {why}"),
            ));
            return;
        }
    }
    if stdin_code {
        out.push(code(
            "psql",
            "reads commands (which can include \\! or \\o |cmd) from its input",
        ));
    }
}

/// Why psql text (a `-c` command, or any argument) runs a program, if it does: see [`psql`].
fn psql_meta_runs(t: &str) -> Option<&'static str> {
    if t.contains('`') {
        return Some("holds a backquoted command, which psql runs in a shell");
    }
    let lower = t.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    if words.contains(&"copy") && words.contains(&"program") {
        return Some("copies to or from a program (COPY … PROGRAM, \\copy … program)");
    }
    // Each meta-command: a backslash, its name (letters, or one other character), then its
    // arguments up to the next backslash.
    for (k, _) in t.match_indices('\\') {
        let rest = &t[k + 1..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(rest.len());
        let (name, args) = match name_len {
            0 => rest.split_at(rest.chars().next().map_or(0, char::len_utf8)),
            n => rest.split_at(n),
        };
        if matches!(name, "!" | "e" | "edit" | "ef" | "ev" | "setenv") {
            return Some("runs a shell command or an editor (\\!, \\e, \\ef, \\ev), or sets their environment (\\setenv)");
        }
        let arg = args.trim_start().trim_start_matches(['\'', '"']);
        if !name.is_empty() && name != "\\" && arg.starts_with('|') {
            return Some("sends output into a shell command (\\o |cmd, \\g |cmd, \\w |cmd)");
        }
    }
    None
}

/// The mysql/mariadb client runs programs through its own commands: `system CMD` / `\\!`,
/// `pager CMD` / `\\P`, `edit` / `\\e`, and writes files with `tee` / `\\T` (at the start of
/// a statement, or the backslash forms anywhere); options load libraries or option files
/// (`--plugin-dir`, `--default-auth`, `--defaults-file`, `--defaults-extra-file`, which can
/// set a pager) or choose a pager (`--pager`) or log file (`--tee`). Commands read from a
/// pipe or here-document are refused as well.
fn mysql(p: &str, args: &[Arg], stdin_code: bool, out: &mut Vec<Finding>) {
    const OPTIONS: &[&str] = &[
        "--pager",
        "--plugin-dir",
        "--default-auth",
        "--defaults-file",
        "--defaults-extra-file",
        "--tee",
        "--init-command",
        "--init-command-add",
    ];
    for a in args {
        let t = a.text.as_str();
        // my_getopt takes any unambiguous prefix and `_` for `-`.
        let dashed = t.replace('_', "-");
        if let Some(o) = OPTIONS.iter().find(|o| option_matches(o, &dashed)) {
            out.push(deny(
                "vector:sql-shell",
                format!("{p} {o} runs or loads a program (a pager, a plugin, an option file that can name one) or writes a file"),
            ));
            return;
        }
        if ["\\!", "\\P", "\\e", "\\T"].iter().any(|c| t.contains(c)) || mysql_statement_runs(t) {
            out.push(deny(
                "vector:sql-shell",
                format!("{p} argument {t:?} runs a shell command, pager or editor (system, \\!, pager, edit) or writes a file (tee)"),
            ));
            return;
        }
    }
    if stdin_code {
        out.push(code(
            p,
            "reads commands (which can include system or \\!) from its input",
        ));
    }
}

/// A statement (after the start, `;` or a newline) that begins with one of the client's
/// commands that run programs or write files, followed by its argument.
fn mysql_statement_runs(t: &str) -> bool {
    t.split([';', '\n']).any(|stmt| {
        let mut words = stmt.split_whitespace();
        let first = words.next().unwrap_or("").to_ascii_lowercase();
        matches!(first.as_str(), "system" | "pager" | "edit" | "tee")
            && (first == "edit" || words.next().is_some())
    })
}

/// sqlite3's command-line shell: SQL and dot-command arguments are read as code. Refused:
/// `-cmd`/`-init` (commands from a value or a file), `-A` (archive mode, which writes
/// files), the shell's `edit()` (runs an editor program), `load_extension()`, `writefile()`,
/// dot commands that run programs, load libraries or write files (`.shell`, `.system`,
/// `.once`, `.output`, `.excel`, `.import`, `.load`, … by any prefix: sqlite accepts
/// abbreviations), a `|` in a dot command (`.once |cmd`, `.read |cmd`), and commands read
/// from a pipe or here-document.
fn sqlite(p: &str, args: &[Arg], stdin_code: bool, out: &mut Vec<Finding>) {
    const DOT: &[&str] = &[
        "shell", "system", "once", "output", "excel", "import", "load", "archive", "backup",
        "save", "log", "trace", "www", "dbconfig", "testctrl",
    ];
    for a in args {
        let t = a.text.as_str();
        if !a.exact {
            out.push(code(p, "is given an argument only known when it runs"));
            return;
        }
        let opt = t.trim_start_matches('-');
        if t.starts_with('-') && (matches!(opt, "cmd" | "init") || opt.starts_with('A')) {
            out.push(deny(
                "vector:sql-shell",
                format!("{p} option {t:?} runs commands from a value or file, or writes files"),
            ));
            return;
        }
        // SQL as the parser reads it: no case, quotes, brackets, comments or blanks between
        // a function's name and its `(`.
        let mut flat = String::new();
        let mut rest = t.to_ascii_lowercase();
        while let Some(k) = rest.find("/*") {
            flat.push_str(&rest[..k]);
            rest = rest[k + 2..]
                .split_once("*/")
                .map_or(String::new(), |(_, r)| r.to_string());
        }
        flat.push_str(&rest);
        let flat: String = flat
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<String>()
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '`' | '[' | ']'))
            .collect();
        if ["edit(", "load_extension", "writefile("]
            .iter()
            .any(|f| flat.contains(f))
        {
            out.push(deny(
                "vector:sql-shell",
                format!(
                    "{p} argument {t:?} runs a program (edit()), loads a library or writes a file"
                ),
            ));
            return;
        }
        for line in t.lines() {
            let Some(cmd) = line.trim_start().strip_prefix('.') else {
                continue;
            };
            // The dot command's name: blanks skipped, quotes removed (`. 'sh' id`).
            let cmd = cmd.trim_start();
            let name: String = cmd
                .trim_start_matches(['\'', '"'])
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '\'' && *c != '"')
                .collect::<String>()
                .to_ascii_lowercase();
            if (!name.is_empty() && DOT.iter().any(|d| d.starts_with(name.as_str())))
                || cmd.contains('|')
            {
                out.push(deny(
                    "vector:sql-shell",
                    format!(
                        "{p} dot command {line:?} runs a program, loads a library or writes a file"
                    ),
                ));
                return;
            }
        }
    }
    if stdin_code {
        out.push(code(
            p,
            "reads commands (which can include .shell or .system) from its input",
        ));
    }
}

/// A shell's options: (index of the first operand, `-c` given, `-s`/`-i` given).
fn shell_opts(args: &[Arg]) -> (usize, bool, bool) {
    let mut i = 0;
    let mut c_flag = false;
    let mut s_flag = false;
    while i < args.len() {
        let a = &args[i].text;
        if a == "--" || a == "-" {
            i += 1;
            break;
        }
        if a.starts_with("--") {
            if matches!(a.as_str(), "--rcfile" | "--init-file") {
                i += 1;
            }
            i += 1;
            continue;
        }
        if (a.starts_with('-') || a.starts_with('+')) && a.len() > 1 {
            let letters = &a[1..];
            if letters.contains('c') {
                c_flag = true;
            }
            if letters.contains('s') || letters.contains('i') {
                s_flag = true;
            }
            if letters.contains('o') || letters.contains('O') {
                i += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    if !args.iter().all(|a| a.exact || !a.may_hide_option()) {
        c_flag = true;
    }
    (i, c_flag, s_flag)
}

/// A script operand that names the standard input or another descriptor the program
/// inherits (`-`, `/dev/stdin`, `/dev/fd/3`, `/proc/self/fd/0`): the code comes from the
/// line's pipe or here-document (`sh /dev/stdin <<EOF`), not from a file.
pub fn names_input(t: &str) -> bool {
    input_descriptor(t).is_some()
}

/// The descriptor a name of one the program inherits reads ([`names_input`]): 0 for `-`
/// and `/dev/stdin`, N for `/dev/fd/N` and `/proc/self/fd/N`.
pub fn input_descriptor(t: &str) -> Option<u32> {
    if t == "-" {
        return Some(0);
    }
    if !t.starts_with('/') {
        return None;
    }
    let parts = super::blocklist::path_parts(t);
    let number = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    let fd = match parts.as_slice() {
        ["dev", "stdin"] => "0",
        ["dev", "fd", n] => n,
        ["proc", who, "fd", n] if matches!(*who, "self" | "thread-self") || number(who) => n,
        _ => return None,
    };
    // A number too long for a descriptor is still one's name.
    number(fd).then(|| fd.parse().unwrap_or(u32::MAX))
}

/// `sh -c CODE NAME ARG…`: the words after the code, which it reads as `$0`, `$1`, … (and
/// `$@`). Empty for any other argv.
pub fn shell_c_params(argv: &[Arg]) -> Vec<&Arg> {
    let Some(p) = argv.first() else {
        return Vec::new();
    };
    if !SHELLS.contains(&basename(&p.text)) {
        return Vec::new();
    }
    let (i, c_flag, _) = shell_opts(&argv[1..]);
    if !c_flag {
        return Vec::new();
    }
    argv[1..].iter().skip(i + 1).collect()
}

fn shell(p: &str, args: &[Arg], stdin_code: bool, out: &mut Vec<Finding>) {
    let (i, c_flag, s_flag) = shell_opts(args);
    if c_flag {
        out.push(Finding::Code {
            id: "unverifiable:shell-c",
            reason: format!("{p} -c runs a string as shell code, which the policy cannot verify under an allow list; run the commands directly"),
            shell: args.get(i).filter(|a| a.exact).map(|a| a.text.clone()),
        });
    } else if args.len() == 1 && matches!(args[0].text.as_str(), "--version" | "--help") {
        // `bash --version`: prints and exits.
    } else if i >= args.len() || s_flag || names_input(&args[i].text) {
        if stdin_code || s_flag {
            out.push(code(p, "reads shell code from its input"));
        } else if i < args.len() {
            out.push(code(
                p,
                &format!(
                    "reads its script from {:?}, a descriptor it inherits",
                    args[i].text
                ),
            ));
        } else {
            out.push(code(p, "without a script starts an interactive shell"));
        }
    }
}

/// How an interpreter's arguments read.
enum InterpScan {
    /// An argument's value is only known when it runs.
    Unknown,
    /// Code on the command line: how it was given, the index of that option and, for a
    /// short-option word, the byte offset of the letter that takes the code.
    Code(String, usize, Option<usize>),
    /// Refused outright: rule id and reason.
    Deny(&'static str, String),
    /// `python -m module`: the module (`None` when it is only known when it runs).
    Module(Option<String>),
    /// The options end here (at the script, if any).
    Rest(usize),
}

/// Options an interpreter was given that make it read code from its standard input.
#[derive(Default, Clone, Copy)]
struct InterpFlags {
    /// `python -i`: an interactive prompt after the script (reading stdin).
    interactive: bool,
    /// `perl -d`: the debugger, which reads commands (Perl code) from stdin.
    debugger: bool,
}

/// Python modules that run code given on their command line or read from their input
/// (`-m timeit CODE`, `-m pdb -c CMD`, `-m code` reading stdin), or that run another module
/// or script by name (`-m runpy`, `-m cProfile -m …`), unpickle a file, or start a browser.
const PY_CODE_MODULES: &[&str] = &[
    "timeit",
    "pdb",
    "code",
    "profile",
    "cProfile",
    "trace",
    "idlelib",
    "asyncio",
    "runpy",
    "pickle",
    "webbrowser",
    "antigravity",
    "coverage",
    "IPython",
    "ipdb",
    "pudb",
    "bdb",
];

/// The letters of an interpreter's options that take code (or a file or setting that runs
/// code).
fn code_letters(base: &str) -> &'static [char] {
    match base {
        "python" | "pypy" => &['c'],
        "perl" => &['e', 'E'],
        // php -c/-d: an ini file or setting (auto_prepend_file) runs code.
        "php" => &['r', 'B', 'R', 'E', 'F', 'c', 'd'],
        "node" | "nodejs" | "bun" => &['e', 'p', 'r'],
        // lua -l loads a library, which is code.
        "lua" | "luajit" => &['e', 'E', 'l'],
        "Rscript" | "R" | "julia" | "ruby" | "osascript" | "elixir" | "groovy" | "scala"
        | "racket" => &['e', 'E'],
        "guile" => &['c'],
        "pwsh" | "powershell" => &['c', 'C', 'e', 'E'],
        _ => &['c', 'e'],
    }
}

/// How one short-option word (`-Wignore::x`, `-MFile::Temp`, `-de0`) of python or perl reads.
enum Bundle {
    /// Options only; the next option is this many words on.
    Next(usize),
    /// The letter at this byte offset takes code.
    Code(usize),
    /// `python -m`: the module (None: only known when it runs).
    Module(Option<String>),
    Deny(&'static str, String),
}

/// A `perl -M`/`-m`/`-d:` value: perl pastes it into `use …;`, so only a module name with
/// `=a,b` import arguments is taken.
fn perl_module_ok(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    !v.is_empty()
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_:=,.".contains(&c))
}

/// Reads one python or perl short-option word the way the interpreter does: letters that take
/// a value take the rest of the word (or the next word), so a letter inside a value
/// (`-MFile::Temp`, `-Wignore::DeprecationWarning`) is not an option.
fn interp_bundle(base: &str, t: &str, next: Option<&Arg>, flags: &mut InterpFlags) -> Bundle {
    let b = t.as_bytes();
    // The next word as an option's value, when the rest of this word is empty.
    let value = |rest: &str| -> (Option<String>, usize) {
        if rest.is_empty() {
            (next.filter(|a| a.exact).map(|a| a.text.clone()), 2)
        } else {
            (Some(rest.to_string()), 1)
        }
    };
    if base == "python" || base == "pypy" {
        for (k, ch) in t.char_indices().skip(1) {
            let rest = &t[k + ch.len_utf8()..];
            match ch {
                'c' => return Bundle::Code(k),
                'm' => return Bundle::Module(value(rest).0),
                'W' | 'X' | 'Q' => return Bundle::Next(value(rest).1),
                'i' => flags.interactive = true,
                _ => {}
            }
        }
        return Bundle::Next(1);
    }
    // perl: after -D (debugging flags, read differently by a -DDEBUGGING perl) the rest of
    // the word is read both as flags and as switches: a value letter does not end it.
    let mut unsure = false;
    let mut k = 1;
    while k < b.len() {
        let ch = b[k];
        let rest = t.get(k + 1..).unwrap_or("");
        match ch {
            b'e' | b'E' => return Bundle::Code(k),
            b'M' | b'm' => {
                let (v, step) = value(rest);
                if !v.as_deref().is_some_and(perl_module_ok) {
                    return Bundle::Deny(
                        "unverifiable:code",
                        format!("perl -{} {:?}: perl pastes the value into `use …;`, so anything but a module name (with =a,b arguments) is code", ch as char, v.unwrap_or_default()),
                    );
                }
                if !unsure {
                    return Bundle::Next(step);
                }
            }
            b'd' => {
                let mut j = k + 1;
                if b.get(j) == Some(&b't')
                    && !b
                        .get(j + 1)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    j += 1;
                }
                if matches!(b.get(j), Some(b':' | b'=')) {
                    let v = &t[j + 1..];
                    if !perl_module_ok(v) {
                        return Bundle::Deny(
                            "unverifiable:code",
                            format!("perl -d:{v:?}: perl pastes the value into `use Devel::…;`, so anything but a module name is code"),
                        );
                    }
                    if !unsure {
                        return Bundle::Next(1);
                    }
                } else {
                    flags.debugger = true;
                    k = j;
                    continue;
                }
            }
            b'I' if !unsure => return Bundle::Next(value(rest).1),
            b'F' | b'i' | b'x' | b'V' | b'C' if !unsure => return Bundle::Next(1),
            b'D' => unsure = true,
            // -l[octal], -0[octal] or -0x[hex]: digits, then more switches.
            b'l' | b'0' => {
                let hex = ch == b'0' && b.get(k + 1) == Some(&b'x');
                if hex {
                    k += 1;
                }
                while b.get(k + 1).is_some_and(|c| {
                    if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        (b'0'..=b'7').contains(c)
                    }
                }) {
                    k += 1;
                }
            }
            _ => {}
        }
        k += 1;
    }
    Bundle::Next(1)
}

fn interpreter_scan(base: &str, args: &[Arg]) -> InterpScan {
    interpreter_scan_flags(base, args).0
}

fn interpreter_scan_flags(base: &str, args: &[Arg]) -> (InterpScan, InterpFlags) {
    let code_letters = code_letters(base);
    let mut flags = InterpFlags::default();
    // Options that take the next word as their value (so it is not the script).
    let with_value: &[&str] = match base {
        "python" | "pypy" => &["-W", "-X", "-Q", "--check-hash-based-pycs"],
        "perl" => &["-I", "-M", "-m", "-C"],
        "ruby" => &["-I", "-r", "-C", "-F", "-K", "-T", "-W"],
        "node" | "nodejs" | "bun" | "deno" => &[
            "-C",
            "--conditions",
            "--input-type",
            "--title",
            "--stack-size",
        ],
        _ => &[],
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if !a.exact && a.may_hide_option() {
            return (InterpScan::Unknown, flags);
        }
        if with_value.contains(&a.text.as_str()) {
            i += 2;
            continue;
        }
        let t = a.text.as_str();
        if t == "--" || !t.starts_with('-') || t == "-" {
            break;
        }
        if t.starts_with("--") {
            if [
                "--eval",
                "--print",
                "--require",
                "--command",
                "--import",
                "--loader",
                "--experimental-loader",
                "-eval",
            ]
            .iter()
            .any(|o| option_matches(o, t))
            {
                return (InterpScan::Code(t.to_string(), i, None), flags);
            }
            // `--inspect`, `--inspect-brk`, `--inspect-wait`, `--inspect-port`: a debugger port
            // through which any local process can run code in the program.
            if matches!(base, "node" | "nodejs" | "bun" | "deno")
                && ["--inspect", "--debug-port"]
                    .iter()
                    .any(|o| t.starts_with(o))
            {
                return (
                    InterpScan::Deny(
                        "vector:inspector",
                        format!("{base} {t:?} opens a debugger port through which any local process can run code; it is not allowed under an allow list"),
                    ),
                    flags,
                );
            }
            // node --openssl-config=FILE: its nodejs_conf section loads OpenSSL providers and
            // engines, shared libraries (OPENSSL_CONF is refused for the same reason).
            if matches!(base, "node" | "nodejs") && t.starts_with("--openssl-config") {
                return (
                    InterpScan::Deny(
                        "vector:openssl",
                        format!("{base} option {t:?} reads an OpenSSL config, which loads shared libraries (providers, engines)"),
                    ),
                    flags,
                );
            }
            // node/bun/deno --env-file(-if-exists)=FILE: the file may set NODE_OPTIONS
            // (--import=data:…, --require), which runs code; a config file likewise.
            if matches!(base, "node" | "nodejs" | "bun" | "deno")
                && [
                    "--env-file",
                    "--experimental-config-file",
                    "--experimental-default-config-file",
                ]
                .iter()
                .any(|o| t.starts_with(o))
            {
                return (
                    InterpScan::Deny(
                        "vector:env",
                        format!("{base} option {t:?} reads environment variables or options (NODE_OPTIONS) from a file, which can make it run code"),
                    ),
                    flags,
                );
            }
            i += 1;
            continue;
        }
        if matches!(base, "python" | "pypy" | "perl") {
            match interp_bundle(base, t, args.get(i + 1), &mut flags) {
                Bundle::Next(n) => {
                    i += n;
                    continue;
                }
                Bundle::Code(k) => {
                    return (
                        InterpScan::Code(format!("{t} (code on the command line)"), i, Some(k)),
                        flags,
                    )
                }
                Bundle::Module(m) => return (InterpScan::Module(m), flags),
                Bundle::Deny(id, why) => return (InterpScan::Deny(id, why), flags),
            }
        }
        if let Some(k) = t[1..].find(code_letters) {
            return (
                InterpScan::Code(format!("{t} (code on the command line)"), i, Some(k + 1)),
                flags,
            );
        }
        if base == "deno" && t == "eval" {
            return (
                InterpScan::Code(format!("{t} (code on the command line)"), i, None),
                flags,
            );
        }
        i += 1;
    }
    (InterpScan::Rest(i), flags)
}

/// True for `python -m` modules that run code from their arguments or input (see
/// [`PY_CODE_MODULES`]), by the module's top-level package.
fn py_code_module(m: Option<&str>) -> bool {
    m.is_none_or(|m| {
        let top = m.split('.').next().unwrap_or(m);
        PY_CODE_MODULES.contains(&top)
    })
}

/// `node -v`, `python3 --version`: prints and exits.
fn interpreter_info_only(base: &str, args: &[Arg]) -> bool {
    let info = ["--version", "-V", "--help", "-h"];
    !args.is_empty()
        && args.iter().all(|a| {
            info.contains(&a.text.as_str())
                || (a.text == "-v"
                    && matches!(
                        base,
                        "node" | "nodejs" | "deno" | "bun" | "ruby" | "php" | "perl" | "lua"
                    ))
        })
}

fn interpreter_base(p: &str) -> &str {
    p.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
}

/// Options of the package runners (`npx`, `npm exec`, `pnpm exec`/`dlx`, `yarn dlx`,
/// `bunx`) that take no value.
const RUNNER_FLAGS: &[&str] = &[
    "yes",
    "no",
    "no-yes",
    "no-install",
    "install",
    "quiet",
    "silent",
    "ignore-existing",
    "prefer-offline",
    "prefer-online",
    "offline",
    "workspaces",
    "ws",
    "include-workspace-root",
    "if-present",
    "recursive",
    "parallel",
    "no-bail",
    "bail",
    "verbose",
    "force",
    "legacy-peer-deps",
    "report-summary",
    "workspace-root",
    "stream",
    "aggregate-output",
    "reverse",
    "color",
    "no-color",
    "bun",
    "no-reporter-hide-prefix",
];
/// Their options that take the next word as a value (unless given as `--opt=value`).
const RUNNER_VALUES: &[&str] = &[
    "workspace",
    "registry",
    "cache",
    "prefix",
    "loglevel",
    "filter",
    "resume-from",
    "dir",
    "workspace-dir",
    "reporter",
    "allow-build",
    "tag",
];

/// A package manager's exec-like subcommand: `args` are the words after it (or after `npx`,
/// `bunx`). The program named after the options (and `--`) runs with the rest as its
/// arguments, so it must itself be allowed ([`Finding::Wrap`]). Refused: choosing the package
/// the program comes from (`-p/--package`, a path, URL or git spec), running a shell string
/// (`-c/--call`, pnpm `--shell-mode`, no program at all), options whose meaning is not known
/// here (they might take the next word, which would then not be the program).
/// `shell_words`: the runner joins the words into a shell command (`yarn exec`).
fn package_exec(what: &str, args: &[Arg], shell_words: bool, out: &mut Vec<Finding>) {
    let mut i = 0;
    let start = loop {
        let Some(a) = args.get(i) else {
            out.push(code(what, "without a program runs a shell"));
            return;
        };
        let t = a.text.as_str();
        if !a.exact {
            out.push(code(what, "is given a word only known when it runs"));
            return;
        }
        if t == "--" {
            break i + 1;
        }
        if !t.starts_with('-') || t == "-" {
            break i;
        }
        let name = t.trim_start_matches('-');
        let (name, attached) = match name.split_once('=') {
            Some((n, _)) => (n, true),
            None => (name, false),
        };
        if t.starts_with("--") {
            if ["package", "call", "shell-mode"]
                .iter()
                .any(|o| o.starts_with(name))
            {
                out.push(deny(
                    "vector:npm",
                    format!("{what} option {t:?} runs a shell string or chooses the package the program comes from"),
                ));
                return;
            }
            if RUNNER_FLAGS.contains(&name) || (attached && !name.is_empty()) {
                i += 1;
                continue;
            }
            if RUNNER_VALUES.contains(&name) {
                i += 2;
                continue;
            }
        } else {
            // Short options: -y -q -s -r -d -f (flags), -w/-F/-C VALUE; -p, -c refused.
            let letters = &t[1..];
            if letters.contains(['p', 'c']) {
                out.push(deny(
                    "vector:npm",
                    format!("{what} option {t:?} runs a shell string or chooses the package the program comes from"),
                ));
                return;
            }
            if letters.chars().all(|c| "yqsrdf".contains(c)) {
                i += 1;
                continue;
            }
            if matches!(letters, "w" | "F" | "C") {
                i += 2;
                continue;
            }
        }
        out.push(deny(
            "vector:npm",
            format!("{what} option {t:?} is not one the policy knows, so it cannot tell which program runs; put the program after --"),
        ));
        return;
    };
    let Some(prog) = args.get(start) else {
        out.push(code(what, "without a program runs a shell"));
        return;
    };
    // `eslint@8`, `@scope/pkg@1`: the package name without its version.
    let t = prog.text.as_str();
    let name = match t.strip_prefix('@') {
        Some(r) => &t[..r.find('@').map_or(t.len(), |k| k + 1)],
        None => t.split('@').next().unwrap_or(t),
    };
    let scoped = name.starts_with('@') && name.matches('/').count() == 1;
    let plain = !name.is_empty()
        && !name.starts_with(['.', '-'])
        && (!name.contains('/') || scoped)
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._@/".contains(&c));
    if !plain {
        out.push(deny(
            "vector:npm",
            format!("{what} {t:?} names a package by path, URL or git spec, or a command the runner passes through a shell; run an allowed program by its name"),
        ));
        return;
    }
    if shell_words
        && args[start..].iter().any(|a| {
            !a.exact
                || a.text.is_empty()
                || !a
                    .text
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-._@/=:,+%".contains(&c))
        })
    {
        out.push(code(what, "runs its arguments as a shell command"));
        return;
    }
    let mut argv = vec![Arg {
        text: name.to_string(),
        ..prog.clone()
    }];
    argv.extend(args[start + 1..].iter().cloned());
    out.push(Finding::Wrap {
        argv,
        appended: false,
    });
}

/// pnpm's own commands (with their aliases). pnpm runs any other first word as a script of
/// package.json or, when there is none, as a program (`pnpm perl -e …`).
const PNPM_COMMANDS: &[&str] = &[
    "add",
    "install",
    "i",
    "update",
    "up",
    "upgrade",
    "remove",
    "rm",
    "uninstall",
    "un",
    "link",
    "ln",
    "unlink",
    "import",
    "rebuild",
    "rb",
    "prune",
    "fetch",
    "install-test",
    "it",
    "patch",
    "patch-commit",
    "patch-remove",
    "audit",
    "list",
    "ls",
    "ll",
    "la",
    "outdated",
    "why",
    "licenses",
    "run",
    "run-script",
    "test",
    "t",
    "tst",
    "exec",
    "dlx",
    "create",
    "start",
    "publish",
    "pack",
    "recursive",
    "m",
    "multi",
    "server",
    "store",
    "root",
    "bin",
    "env",
    "setup",
    "init",
    "deploy",
    "doctor",
    "config",
    "c",
    "get",
    "set",
    "help",
    "approve-builds",
    "ignored-builds",
    "dedupe",
    "self-update",
    "cat-file",
    "cat-index",
    "find-hash",
    "login",
    "logout",
    "whoami",
    "owner",
    "dist-tag",
    "version",
    "view",
    "info",
    "search",
    "ping",
    "cache",
    "stop",
    "restart",
    "sbom",
];

/// Package-manager commands that run a program other than a project script, found by the
/// subcommand: `npm init NAME` / `npm create NAME` / `yarn create` / `pnpm create` (the
/// `create-NAME` package's program, downloaded), `npm help TOPIC` (man), `npm docs|home|
/// bugs|repo` (a browser), `yarn node …` (node), and pnpm's fallback of an unknown first
/// word to a program.
fn package_manager_runs(p: &str, args: &[Arg]) -> Option<Finding> {
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    // The subcommand: the first candidate that is not the value of an option known to take
    // one (`pnpm --filter web run build`).
    let takes_value = |o: &str| {
        matches!(o, "-C" | "-F" | "-w")
            || o.strip_prefix("--")
                .is_some_and(|n| RUNNER_VALUES.contains(&n))
    };
    let k = package_subcommands(&texts)
        .into_iter()
        .find(|&k| k == 0 || !takes_value(texts[k - 1]))?;
    let sub = texts[k];
    let rest = &texts[k + 1..];
    // The first operand, skipping options and the values of `-w`/`--workspace`.
    let mut operand = None;
    let mut j = 0;
    while let Some(a) = rest.get(j) {
        if *a == "--" {
            operand = rest.get(j + 1).copied();
            break;
        }
        if matches!(*a, "-w" | "--workspace") {
            j += 2;
            continue;
        }
        if !a.starts_with('-') {
            operand = Some(*a);
            break;
        }
        j += 1;
    }
    let initializer = match p {
        "npm" => matches!(
            sub,
            "init" | "ini" | "innit" | "create" | "creat" | "crea" | "cre"
        ),
        _ => sub == "create",
    };
    if initializer && (operand.is_some() || p != "npm") {
        return Some(deny(
            "vector:npm",
            format!("{p} {sub} {} runs the program of a create-… package it downloads; run an allowed program directly", operand.unwrap_or("")),
        ));
    }
    match (p, sub) {
        ("npm", "help" | "hel" | "he" | "hlep") if operand.is_some() => Some(Finding::Wrap {
            argv: vec![Arg::lit("man"), Arg::lit(format!("npm-{}", operand.unwrap_or("")))],
            appended: false,
        }),
        ("npm", "docs" | "home" | "bugs" | "issues" | "repo") => Some(deny(
            "vector:npm",
            format!("npm {sub} opens a web browser"),
        )),
        ("yarn", "node") => {
            let mut argv = vec![Arg::lit("node")];
            argv.extend(args[k + 1..].iter().cloned());
            Some(Finding::Wrap {
                argv,
                appended: false,
            })
        }
        ("pnpm", _) if !PNPM_COMMANDS.contains(&sub) => Some(deny(
            "vector:npm",
            format!("pnpm {sub}: pnpm runs a first word it does not know as a package.json script or, without one, as a program; write pnpm run {sub} for a script or pnpm exec {sub} for a program"),
        )),
        _ => None,
    }
}

/// The subcommand words of a package manager (`npm --loglevel x exec …`): the first word
/// that is not an option, and each later word while every word before it may be the value
/// of an option (an option written without `=` directly before it), as an option whose
/// meaning is not known here may take one.
fn package_subcommands(texts: &[&str]) -> Vec<usize> {
    let mut out = Vec::new();
    for (k, t) in texts.iter().enumerate() {
        if *t == "--" {
            break;
        }
        if t.starts_with('-') {
            continue;
        }
        out.push(k);
        let value_of_option = k > 0 && {
            let prev = texts[k - 1];
            prev.starts_with('-') && !prev.contains('=') && prev != "--"
        };
        if !value_of_option {
            break;
        }
    }
    out
}

fn interpreter(p: &str, args: &[Arg], stdin_code: bool, out: &mut Vec<Finding>) {
    let base = interpreter_base(p);
    let (scan, flags) = interpreter_scan_flags(base, args);
    if stdin_code && (flags.interactive || flags.debugger) {
        out.push(code(
            p,
            if flags.interactive {
                "-i reads Python code from its input after the script"
            } else {
                "-d starts the debugger, which reads Perl code from its input"
            },
        ));
        return;
    }
    let i = match scan {
        InterpScan::Unknown => {
            out.push(code(
                p,
                "is given arguments whose value is only known when it runs",
            ));
            return;
        }
        InterpScan::Code(how, _, _) => {
            out.push(code(p, &how));
            return;
        }
        InterpScan::Deny(id, why) => {
            out.push(deny(id, why));
            return;
        }
        InterpScan::Module(m) => {
            // `python3 -m pip …` is pip, with pip's rules on the words after the module.
            // The words after `-m MODULE` (or `-mMODULE`).
            let after = |module: &str| {
                let k = args
                    .iter()
                    .position(|a| a.text.ends_with(module))
                    .map_or(args.len(), |k| k + 1);
                &args[k..]
            };
            match m.as_deref() {
                Some(m @ ("pip" | "pip.__main__")) => pip(p, after(m), out),
                // `python3 -m pytest …` is pytest, with pytest's rules.
                Some("pytest") => pytest(p, after("pytest"), stdin_code, out),
                // `--cgi` (any prefix: argparse) runs the files in cgi-bin/ when asked for
                // (a copy of any program, the request's query its argument); `pydoc -b`
                // starts a web browser.
                Some(m @ ("http.server" | "pydoc")) => {
                    let texts = after(m).iter().map(|a| a.text.as_str());
                    if texts.take_while(|t| *t != "--").any(|t| {
                        if m == "pydoc" {
                            t.starts_with('-') && !t.starts_with("--") && t.contains('b')
                        } else {
                            option_matches("--cgi", t)
                        }
                    }) {
                        out.push(deny("vector:runs-program", format!("{p} -m {m}: --cgi runs the programs in cgi-bin/ with the request's query as their argument, and pydoc -b starts a web browser")));
                    }
                }
                _ => {}
            }
            // python -m runs a module by name, an ordinary program run, unless the module
            // runs code it is given (timeit, pdb, code, cProfile …).
            if py_code_module(m.as_deref()) {
                out.push(code(
                    p,
                    &format!(
                        "-m {} runs code given on its command line or read from its input (or another module by name)",
                        m.unwrap_or_default()
                    ),
                ));
            }
            return;
        }
        InterpScan::Rest(i) => i,
    };
    // `node inspect SCRIPT`: the debugger client, which reads commands (`exec EXPR`) from
    // its input and starts the script with the inspector open.
    if matches!(base, "node" | "nodejs")
        && args
            .get(i)
            .is_some_and(|a| a.text == "inspect" || a.text == "debug")
    {
        out.push(deny(
            "vector:inspector",
            format!("{p} inspect starts the debugger, which runs code it is given"),
        ));
        return;
    }
    if base == "deno" && args.first().is_some_and(|a| a.text == "eval") {
        out.push(code(p, "eval"));
        return;
    }
    let script = args.get(i);
    if interpreter_info_only(base, args) {
        return;
    }
    // `bun x CMD` runs a package's program like bunx; `bun exec` runs a Bun Shell script.
    if base == "bun" {
        match script.map(|s| s.text.as_str()) {
            Some("x") => {
                package_exec("bun x", &args[i + 1..], false, out);
                return;
            }
            Some("exec") => {
                out.push(code(p, "exec runs a shell script"));
                return;
            }
            _ => {}
        }
    }
    if script.is_none_or(|s| names_input(&s.text)) {
        if stdin_code {
            out.push(code(p, "reads a program from its input"));
        } else {
            out.push(code(
                p,
                "without a script starts an interactive interpreter",
            ));
        }
    }
}

/// What a program reads as code from its standard input (a pipe or a here-document):
/// `Some("sh")` for shell code (`sh`, `bash -s`), `Some(language)` for an interpreter
/// reading its program (`python3`, `perl -`), `None` when its input is data.
pub fn stdin_language(argv: &[Arg]) -> Option<&str> {
    let p = basename(&argv.first()?.text);
    let args = &argv[1..];
    if p == "sudo" {
        // `sudo -s` / `sudo -i` without a command: the shell reads its commands from the
        // input (`sudo -u root -i <<EOF … EOF`).
        let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        let bare = skip_options(args, &SUDO_WITH_VALUE) >= args.len();
        return (bare && sudo_shell_mode(&texts, &SUDO_WITH_VALUE)).then_some("sh");
    }
    if p == "doas" {
        // `doas -s`: the shell reads its commands from the input.
        let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        let start = skip_options(args, &DOAS_WITH_VALUE);
        return doas_has(&texts[..start.min(texts.len())], 's').then_some("sh");
    }
    // `echo … | . /dev/stdin`: the builtin reads its input as the script.
    if matches!(p, "." | "source") {
        let script = args.iter().find(|a| a.text != "--");
        return script
            .is_some_and(|s| input_descriptor(&s.text) == Some(0))
            .then_some("sh");
    }
    if SHELLS.contains(&p) {
        let (i, c_flag, s_flag) = shell_opts(args);
        let info = args.len() == 1 && matches!(args[0].text.as_str(), "--version" | "--help");
        let from_input = i >= args.len() || s_flag || names_input(&args[i].text);
        return (!c_flag && !info && from_input).then_some("sh");
    }
    if !is_interpreter(p) {
        return None;
    }
    let base = interpreter_base(p);
    let (scan, flags) = interpreter_scan_flags(base, args);
    // `python -i script`, `perl -d script`, `python -m code`: the script runs, then code is
    // read from the input.
    if flags.interactive || flags.debugger {
        return Some(base);
    }
    match scan {
        InterpScan::Module(m) if py_code_module(m.as_deref()) => Some(base),
        InterpScan::Rest(i)
            if !(interpreter_info_only(base, args)
                || base == "deno" && args.first().is_some_and(|a| a.text == "eval"))
                && args.get(i).is_none_or(|s| names_input(&s.text)) =>
        {
            Some(base)
        }
        _ => None,
    }
}

/// The code an interpreter is given on its command line (`python3 -c CODE`, `perl -le CODE
/// -e CODE`, `node --eval=CODE`, `php -r CODE`), with its language, for the blocklist.
pub fn inline_code(argv: &[Arg]) -> Option<(&str, Vec<String>)> {
    let p = basename(&argv.first()?.text);
    if !is_interpreter(p) {
        return None;
    }
    let base = interpreter_base(p);
    let args = &argv[1..];
    let InterpScan::Code(_, i, offset) = interpreter_scan(base, args) else {
        return None;
    };
    let letters = code_letters(base);
    let value_of = |k: usize, offset: Option<usize>| -> Option<String> {
        let t = args.get(k)?.text.as_str();
        if let Some(long) = t.strip_prefix("--") {
            return match long.split_once('=') {
                Some((_, v)) => Some(v.to_string()),
                None => args.get(k + 1).filter(|a| a.exact).map(|a| a.text.clone()),
            };
        }
        let at = match offset {
            Some(at) => at,
            None => t[1..].find(letters)? + 1,
        };
        let rest = &t[at + 1..];
        if rest.is_empty() {
            args.get(k + 1).filter(|a| a.exact).map(|a| a.text.clone())
        } else {
            Some(rest.to_string())
        }
    };
    let mut codes: Vec<String> = value_of(i, offset).into_iter().collect();
    // perl -e A -e B, ruby -e A -e B: every -e adds a line.
    for (k, a) in args.iter().enumerate().skip(i + 1) {
        if matches!(a.text.as_str(), "-e" | "-E") {
            codes.extend(value_of(k, None));
        }
    }
    Some((base, codes))
}

/// Where the command of find's `-exec` (`action`) that starts at `start` ends: at `;`, or
/// at a `+` right after a word with `{}` in it (GNU find: elsewhere `+` is an argument,
/// so `-exec uniq + .git/config ;` runs `uniq + .git/config`); `-ok` and `-okdir` end only
/// at `;`.
pub(crate) fn find_command_end(args: &[Arg], start: usize, action: &str) -> usize {
    let plus_ends = matches!(action, "-exec" | "-execdir");
    let mut end = start;
    while end < args.len() {
        let t = args[end].text.as_str();
        if t == ";" || (t == "+" && plus_ends && end > start && args[end - 1].text.contains("{}")) {
            break;
        }
        end += 1;
    }
    end
}

/// True when no name find hands to `-exec`/`-ok` can start with `-`: every start point is
/// written literally (find reads a word starting with `-` as its expression, so none can),
/// or the action is `-execdir`/`-okdir` (`./NAME`). Not with `-files0-from`, whose start
/// points come from a file (`find -files0-from l -exec echo {} ;` prints `-rf`), nor where a
/// word only known when it runs could be that option or a start point (the value of a test
/// such as `-name "$N"`, and the command of an `-exec`, cannot).
fn found_names_option_free(args: &[Arg], action: &str) -> bool {
    // Beyond the tests operands reads values of: these take the next word too.
    const MORE_VALUES: &[&str] = &["regextype", "used", "fstype", "context", "printf"];
    if matches!(action, "-execdir" | "-okdir") {
        return true;
    }
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t == "-files0-from" || !a.exact {
            return false;
        }
        i += match t {
            "-exec" | "-execdir" | "-ok" | "-okdir" => find_command_end(args, i + 1, t) - i + 1,
            "-D" => 2,
            _ if t.starts_with("-newer")
                || t.strip_prefix('-').is_some_and(|n| {
                    super::operands::FIND_VALUE_TESTS.contains(&n) || MORE_VALUES.contains(&n)
                }) =>
            {
                2
            }
            _ => 1,
        };
    }
    true
}

/// A word of find's `-exec` command as it runs: with `{}`, a name find found (an unknown
/// word, which cannot start with `-` when the names cannot, or when literal text other than
/// `-` comes first: `x{}`), else the word as written.
fn found_in_word(x: &Arg, names_option_free: bool) -> Arg {
    match x.text.find("{}") {
        Some(0) if names_option_free => Arg::found_name(x.text.clone()),
        Some(k) if k > 0 && x.exact && !x.text.starts_with('-') => Arg::found_name(x.text.clone()),
        Some(_) => Arg::unknown(x.text.clone()),
        None => x.clone(),
    }
}

fn find(args: &[Arg], out: &mut Vec<Finding>) {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].text.as_str();
        match a {
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let start = i + 1;
                let end = find_command_end(args, start, a);
                let names_option_free = found_names_option_free(args, a);
                let inner: Vec<Arg> = args[start..end]
                    .iter()
                    .map(|x| found_in_word(x, names_option_free))
                    .collect();
                if inner.is_empty() {
                    out.push(deny("vector:find", format!("find {a} without a command")));
                } else {
                    // `-exec CMD … ;` runs CMD with its words as written, `{}` (an unknown
                    // word) in place — or none, `-execdir cargo check ;`. `-exec CMD … {} +`
                    // puts many names where the last word `{}` stands (find allows it
                    // nowhere else): appended arguments, which are only option-free when
                    // the names are. A command without a terminator is read as appended to,
                    // failing closed.
                    let terminated = args.get(end).is_some_and(|t| t.text == ";");
                    let names_last = args.get(end).is_some_and(|t| t.text == "+")
                        && inner.last().is_some_and(|x| x.option_free);
                    out.push(Finding::Wrap {
                        argv: inner,
                        appended: !terminated && !names_last,
                    });
                }
                i = end + 1;
                continue;
            }
            // Removes each file and empty directory it finds, as `-exec rm -d {} +` would:
            // allowed where that is.
            "-delete" => out.push(Finding::Wrap {
                argv: vec![Arg::lit("rm"), Arg::lit("-d"), Arg::unknown("{}")],
                appended: true,
            }),
            "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                out.push(deny("vector:find", format!("find {a} writes a file")))
            }
            _ => {}
        }
        i += 1;
    }
}

/// Config keys a `git -c` may set without running anything.
/// (`commit.gpgSign`, `tag.gpgSign` and `log.showSignature` run gpg: not listed.)
fn git_safe_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    ["color.", "advice.", "i18n."]
        .iter()
        .any(|p| k.starts_with(p))
        || matches!(
            k.as_str(),
            "core.quotepath"
                | "user.name"
                | "user.email"
                | "init.defaultbranch"
                | "pull.rebase"
                | "pull.ff"
                | "push.default"
                | "diff.noprefix"
                | "merge.conflictstyle"
                | "format.pretty"
                | "column.ui"
                | "core.autocrlf"
                | "core.filemode"
                | "log.date"
                | "log.decorate"
                | "log.abbrevcommit"
                | "log.follow"
                | "log.showroot"
                | "log.mailmap"
                | "log.graphcolors"
                | "log.excludedecoration"
                | "log.initialdecorationset"
                | "log.diffmerges"
        )
}

/// A `git -c KEY=VALUE` / `git config KEY VALUE` setting that runs nothing: a safe key, and
/// no `%G` signature placeholder (which runs gpg) in a pretty format.
fn git_safe_setting(key: &str, value: Option<&str>) -> bool {
    git_safe_key(key)
        && !(key.eq_ignore_ascii_case("format.pretty") && value.is_none_or(git_runs_gpg_format))
}

/// A pretty format or for-each-ref format that verifies signatures, which runs gpg: `%G?`,
/// `%GS`, `%GK` … or `%(signature…)`.
fn git_runs_gpg_format(v: &str) -> bool {
    v.contains("%G") || v.contains("%(signature")
}

/// True when a short-option word of git (`-aS`, `-sm msg`) holds one of `letters` before a
/// letter that takes the rest of the word as its value (`value_letters`).
fn git_short_has(a: &str, letters: &str, value_letters: &str) -> bool {
    if !a.starts_with('-') || a.starts_with("--") {
        return false;
    }
    for c in a.chars().skip(1) {
        if letters.contains(c) {
            return true;
        }
        if value_letters.contains(c) {
            return false;
        }
    }
    false
}

/// The manual page git shows with `man`: `git help TOPIC`, `git help -m TOPIC`,
/// `git TOPIC --help`, `git --help TOPIC` (git execs `man git-TOPIC`). `global` are git's
/// options before the subcommand, `cmd` the subcommand and its arguments. `None` when git
/// only prints (`git help`, `git help -a`, `git log -h`); `--web`/`--info` are refused apart.
fn git_help_page(global: &[Arg], cmd: &[Arg]) -> Option<Arg> {
    let (sub, rest) = cmd.split_first()?;
    let page = |topic: &Arg| Arg {
        text: format!("git-{}", topic.text),
        ..topic.clone()
    };
    if global.iter().any(|a| a.text == "--help") {
        return Some(page(sub));
    }
    let mut options = rest.iter().take_while(|a| a.text != "--");
    if sub.text == "help" {
        return rest
            .iter()
            .find(|a| !a.exact || !a.text.starts_with('-'))
            .map(page);
    }
    options.any(|a| a.text == "--help").then(|| page(sub))
}

/// Signing and signature checks, which run gpg (or gpg.program, ssh-keygen): `commit -S`,
/// `tag -s/-u/-v`, `--gpg-sign`, `--show-signature`, `--verify-signatures`, `push --signed`,
/// `verify-commit`, `verify-tag`, `%G?` formats.
fn git_gpg(sub: &str, rest: &[&str]) -> Option<String> {
    if matches!(sub, "verify-commit" | "verify-tag") {
        return Some(format!("git {sub} checks signatures with gpg"));
    }
    for a in rest {
        if long_opt(a, "gpg-sign").is_some()
            || long_opt(a, "show-signature").is_some()
            || long_opt(a, "verify-signatures").is_some() && *a != "--verify"
            || git_runs_gpg_format(a)
        {
            return Some(format!(
                "git option {a:?} signs or checks signatures, which runs gpg"
            ));
        }
        let short = match sub {
            "commit" | "merge" | "rebase" | "cherry-pick" | "revert" | "am" | "commit-tree"
            | "pull" => git_short_has(a, "S", "mFCctuXsS"),
            "tag" => git_short_has(a, "suv", "mFn"),
            _ => false,
        };
        let long = match sub {
            "tag" => ["sign", "local-user", "verify"]
                .iter()
                .any(|o| long_opt(a, o).is_some()),
            "push" => long_opt(a, "signed").is_some(),
            _ => false,
        };
        if short || long {
            return Some(format!(
                "git {sub} {a:?} signs or checks a signature, which runs gpg"
            ));
        }
    }
    None
}

/// doas's options that take a value.
const DOAS_WITH_VALUE: [&str; 3] = ["-a", "-C", "-u"];

/// Whether doas's options `opts` hold `letter`: in a bundle, up to the first letter that
/// takes a value (`-nu`, `-su`).
fn doas_has(opts: &[&str], letter: char) -> bool {
    opts.iter().any(|a| {
        let bundle = a.starts_with('-') && !a.starts_with("--");
        let mut seen = false;
        for c in a.chars().skip(1).filter(|_| bundle) {
            seen |= c == letter;
            if "aCu".contains(c) {
                break;
            }
        }
        seen
    })
}

/// sudo's options that take a value.
const SUDO_WITH_VALUE: [&str; 20] = [
    "-u",
    "-g",
    "-C",
    "-D",
    "-h",
    "-p",
    "-r",
    "-t",
    "-U",
    "-T",
    "--user",
    "--group",
    "--chdir",
    "--prompt",
    "--role",
    "--type",
    "--other-user",
    "--close-from",
    "--host",
    "--command-timeout",
];

/// Whether sudo's options (up to its command) ask for a shell: `-s`/`-i`, alone or in a
/// bundle before any letter that takes a value (`-nsu root`, but not `-ugit`, whose `i`
/// is the user's name), or `--shell`/`--login`. The values of `with_value` options are
/// skipped, so `-u root -i` is seen.
fn sudo_shell_mode(texts: &[&str], with_value: &[&str]) -> bool {
    let mut i = 0;
    while let Some(a) = texts.get(i) {
        if *a == "--" || !a.starts_with('-') || *a == "-" {
            return false;
        }
        if let Some(long) = a.strip_prefix("--") {
            if long_opt(a, "shell").is_some() || long_opt(a, "login").is_some() {
                return true;
            }
            if !long.contains('=') && with_value.iter().any(|o| option_matches(o, a)) {
                i += 1;
            }
        } else {
            for (k, c) in a[1..].char_indices() {
                if c == 's' || c == 'i' {
                    return true;
                }
                if with_value.contains(&format!("-{c}").as_str()) {
                    // The rest of the bundle is the value; without a rest, the next word.
                    if k + c.len_utf8() == a[1..].len() {
                        i += 1;
                    }
                    break;
                }
            }
        }
        i += 1;
    }
    false
}

fn git(args: &[Arg], out: &mut Vec<Finding>) {
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    // Files written or a work tree placed inside a `.git` directory (`checkout-index
    // --prefix=.git/hooks/`, `archive -o .git/hooks/x`, `--work-tree=.git`) can plant a
    // hook or a config that the next git command runs; a value only known when it runs
    // may be one.
    for (j, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        let attached = [
            "--prefix",
            "--output",
            "--output-directory",
            "--work-tree",
            "--git-dir",
        ]
        .iter()
        .find_map(|o| long_opt(t, o.trim_start_matches("--")).map(|v| (*o, v)));
        let value = match attached {
            Some((_, Some(v))) => Some((v.to_string(), a.exact)),
            Some((_, None)) => args.get(j + 1).map(|x| (x.text.clone(), x.exact)),
            None if t == "-o" || t == "-C" => args.get(j + 1).map(|x| (x.text.clone(), x.exact)),
            None if t.starts_with("-o") && !t.starts_with("--") => {
                Some((t[2..].to_string(), a.exact))
            }
            None => None,
        };
        let Some((v, exact)) = value else { continue };
        let writes = attached.is_some_and(|(o, _)| o != "--git-dir") || t.starts_with("-o");
        // Also a config git reads wherever it runs (`--output=~/.gitconfig` with a format
        // that prints `[core] fsmonitor = …`: the next `git status` runs it).
        let into_git = v.split('/').any(|c| c == ".git" || c == "hooks")
            || (writes && git_reads_path(&v.split('/').collect::<Vec<_>>()));
        // `--git-dir=DIR`: a repository whose config and hooks are files the line may have
        // written (or a tracked directory laid out like one); only a `.git` is taken.
        let other_repo = attached.is_some_and(|(o, _)| o == "--git-dir")
            && (!exact || v.trim_end_matches('/').rsplit('/').next() != Some(".git"));
        if into_git && (writes || t == "-C")
            || other_repo
            || (!exact && attached.is_some_and(|(o, _)| o == "--prefix" || o == "--work-tree"))
        {
            out.push(deny(
                "vector:git-hooks",
                format!("git {t} {v:?} places files or a work tree inside a .git directory, where a hook or config would run programs"),
            ));
            return;
        }
    }
    // `git log --output=F`, `git diff --output F`: what `> F` does, which an allow list
    // refuses. (`format-patch -o DIR` and `archive -o F` write what they are for.)
    let sub = git_sub_index(&texts).map(|k| texts[k]);
    if !matches!(sub, Some("format-patch" | "archive")) {
        if let Some(a) = texts.iter().find(|a| long_opt(a, "output").is_some()) {
            out.push(deny(
                "vector:writes-file",
                format!("git {a:?} writes its output into a file, as a > redirection would, which is not allowed under an allow list; let it print, or write the file in a separate step the policy allows"),
            ));
        }
    }
    // `git --bare SUB` takes the directory it runs in as a repository named explicitly, so
    // `safe.bareRepository=explicit` (set for every command) does not stop a bare repository
    // tracked inside a cloned project from supplying the config (aliases, core.fsmonitor)
    // and hooks. (`git init --bare` / `clone --bare` are the subcommand's own option.)
    let globals = &texts[..git_sub_index(&texts).unwrap_or(texts.len())];
    if globals.contains(&"--bare") {
        out.push(deny(
            "vector:git-hooks",
            "git --bare takes the current directory as a repository, whose config and hooks (a bare repository tracked inside a project) would run programs".to_string(),
        ));
        return;
    }
    for a in &texts {
        if a.contains("ext::") || a.starts_with("fd::") {
            out.push(deny(
                "vector:git-ext",
                format!("git argument {a:?} uses the ext:: transport, which runs a command"),
            ));
        }
        for o in [
            "--upload-pack",
            "--receive-pack",
            "--exec",
            "--config-env",
            "--template",
            "--open-files-in-pager",
            "--extcmd",
            "--sendmail-cmd",
            "--smtp-server",
        ] {
            // An exact option name is never an abbreviation of a longer one.
            let name = a.split('=').next().unwrap_or(a);
            let exact_other = matches!(name, "--exec-path" | "--config" | "--template-dir");
            if option_matches(o, a) && !(exact_other && name != o) {
                out.push(deny(
                    "vector:git-exec",
                    format!("git option {a:?} runs a program of its choosing"),
                ));
            }
        }
    }
    // Global options before the subcommand.
    let mut i = 0;
    while i < texts.len() {
        let a = texts[i];
        if a == "-c" || (a.starts_with("-c") && !a.starts_with("--")) {
            let kv = if a == "-c" {
                texts.get(i + 1).copied().unwrap_or("")
            } else {
                &a[2..]
            };
            let key = kv.split('=').next().unwrap_or("");
            if !args
                .get(if a == "-c" { i + 1 } else { i })
                .is_some_and(|x| x.exact)
                || !git_safe_setting(key, Some(kv.split_once('=').map_or("", |(_, v)| v)))
            {
                out.push(deny("vector:git-config", format!("git -c {kv:?} can set a pager, editor, alias, hook or ssh command that runs programs; only harmless keys (color.*, user.name, …) are allowed")));
            }
            i += if a == "-c" { 2 } else { 1 };
            continue;
        }
        if a.starts_with("--exec-path=") {
            out.push(deny(
                "vector:git-exec",
                "git --exec-path=… changes where git finds the programs it runs",
            ));
        }
        if matches!(
            a,
            "-C" | "--git-dir" | "--work-tree" | "--namespace" | "--super-prefix" | "--attr-source"
        ) {
            i += 2;
            continue;
        }
        if a.starts_with('-') {
            i += 1;
            continue;
        }
        break;
    }
    let Some(sub) = texts.get(i).copied() else {
        return;
    };
    // git runs a subcommand it does not have as the program `git-SUB` (found on PATH), and
    // a `/` in SUB makes that a path: `git ./x` runs the file `git-./x`.
    if (!args[i].exact && !args[i].may_hide_option()) || sub.contains('/') {
        out.push(deny(
            "vector:git-exec",
            format!("git subcommand {sub:?} is only known when it runs or names a file: git runs a subcommand it does not have as the program git-{sub}"),
        ));
        return;
    }
    let rest = &texts[i + 1..];
    if let Some(page) = git_help_page(&args[..i], &args[i..]) {
        out.push(Finding::Wrap {
            argv: vec![Arg::lit("man"), page],
            appended: false,
        });
    }
    if let Some(why) = git_gpg(sub, rest) {
        out.push(deny("vector:git-gpg", why));
        return;
    }
    match sub {
        "difftool" | "mergetool"
            if rest.iter().any(|a| {
                *a == "-x"
                    || *a == "-t"
                    || option_matches("--extcmd", a)
                    || option_matches("--tool", a)
            }) =>
        {
            out.push(deny(
                "vector:git-exec",
                format!("git {sub} -x/--tool runs a program"),
            ))
        }
        "difftool" | "mergetool" => out.push(deny(
            "vector:git-tool",
            format!("git {sub} runs a diff or merge tool (vimdiff, meld …) that is not on the allow list"),
        )),
        "apply" | "am" if rest.iter().any(|a| long_opt(a, "unsafe-paths").is_some()) => out.push(deny(
            "vector:git-apply",
            "git apply --unsafe-paths writes files outside the work tree (~/.gitconfig, ~/.manpath …)",
        )),
        "submodule" if rest.contains(&"foreach") => out.push(deny(
            "vector:git-exec",
            "git submodule foreach runs a shell command",
        )),
        "bisect" if rest.first() == Some(&"run") => {
            out.push(deny("vector:git-exec", "git bisect run runs a command"))
        }
        "filter-branch" => out.push(deny(
            "vector:git-exec",
            "git filter-branch runs shell filters",
        )),
        "rebase"
            if rest.iter().any(|a| {
                *a == "-x"
                    || option_matches("--exec", a)
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('x'))
            }) =>
        {
            out.push(deny(
                "vector:git-exec",
                "git rebase --exec runs a shell command",
            ))
        }
        "grep"
            if rest
                .iter()
                .any(|a| a.starts_with("-O") || option_matches("--open-files-in-pager", a)) =>
        {
            out.push(deny("vector:git-exec", "git grep -O runs a pager program"))
        }
        "clone" | "ls-remote" | "fetch" | "pull" | "archive"
            if rest
                .iter()
                .any(|a| *a == "-u" || (sub == "clone" && a.starts_with("-u")))
                && sub != "fetch"
                && sub != "pull" =>
        {
            out.push(deny(
                "vector:git-exec",
                format!("git {sub} -u sets the upload-pack program"),
            ))
        }
        "config" => {
            // The words that are not options nor their values (`--comment C`, `-f FILE`,
            // `--type T`…): the key comes first among them.
            const WITH_VALUE: &[&str] = &["comment", "file", "blob", "type", "default", "value", "url"];
            let mut pos: Vec<&str> = Vec::new();
            let mut j = 0;
            while j < rest.len() {
                let a = rest[j];
                let separate = a == "-f"
                    || WITH_VALUE.iter().any(|o| long_opt(a, o) == Some(None));
                if separate {
                    j += 2;
                    continue;
                }
                if !a.starts_with('-') {
                    pos.push(a);
                }
                j += 1;
            }
            // `--rename-section old new` (any prefix) and the `rename-section` subcommand
            // (git 2.46) move keys of a harmless section (`color.x.fsmonitor`) into any
            // other (`core`, `alias`); `edit` opens an editor.
            if rest.iter().any(|a| long_opt(a, "rename-section").is_some())
                || matches!(pos.first(), Some(&"rename-section") | Some(&"edit"))
            {
                out.push(deny("vector:git-config", "git config rename-section moves keys into any section (core, alias …), and edit opens an editor: both can make git run programs"));
                return;
            }
            // git's parse-options accepts any unambiguous prefix (`--ed`, `--rep`).
            let writes = rest.iter().any(|a| {
                *a == "-e"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('e'))
                    || [
                        "add",
                        "replace-all",
                        "edit",
                        "rename-section",
                        "unset",
                        "unset-all",
                        "remove-section",
                    ]
                    .iter()
                    .any(|o| long_opt(a, o).is_some())
            }) || pos.first() == Some(&"set")
                || (pos.len() >= 2 && !matches!(pos[0], "get" | "list" | "--get"));
            if writes {
                let at = usize::from(pos.first() == Some(&"set"));
                let key = pos.get(at);
                if !key.is_some_and(|k| git_safe_setting(k, pos.get(at + 1).copied())) {
                    out.push(deny("vector:git-config", format!("git config writes {:?}, which may make later git commands run programs; only harmless keys are allowed", key.copied().unwrap_or(""))));
                }
            }
        }
        "clone" | "submodule" if rest.iter().enumerate().any(|(j, a)| {
            let kv = match *a {
                "-c" => rest.get(j + 1).copied(),
                _ if long_opt(a, "config") == Some(None) => rest.get(j + 1).copied(),
                _ => long_opt(a, "config").flatten().or_else(|| a.strip_prefix("-c").filter(|r| !r.is_empty() && !a.starts_with("--"))),
            };
            kv.is_some_and(|kv| !git_safe_key(kv.split('=').next().unwrap_or("")))
        }) => out.push(deny(
            "vector:git-config",
            format!("git {sub} -c/--config sets configuration (a pager, ssh command, hook path …) that runs programs during the {sub}"),
        )),
        "help" if rest.iter().any(|a| matches!(*a, "-w" | "-i") || long_opt(a, "web").is_some() || long_opt(a, "info").is_some()) => out.push(deny(
            "vector:git-exec",
            "git help --web/--info starts a browser or info program",
        )),
        // `git maintenance start|stop|register|unregister` edit the user's crontab or systemd
        // timers (running crontab/systemctl), which later run git outside the call and the
        // sandbox; `run` does the work in place.
        "maintenance"
            if rest
                .iter()
                .any(|a| matches!(*a, "start" | "stop" | "register" | "unregister")) =>
        {
            out.push(deny(
                "vector:git-exec",
                "git maintenance start/stop/register schedules git runs through crontab or systemd, outside the call and its sandbox; use git maintenance run",
            ))
        }
        // Bridges to other version-control systems run their programs (svn, p4, cvs, tla).
        "svn" | "p4" | "cvsimport" | "cvsexportcommit" | "cvsserver" | "archimport" => out
            .push(deny(
                "vector:git-exec",
                format!("git {sub} runs another version-control system's programs"),
            )),
        "send-email" | "instaweb" | "daemon" | "credential" | "upload-pack" | "receive-pack"
        | "web--browse" => out
            .push(deny(
                "vector:git-exec",
                format!("git {sub} runs or serves programs"),
            )),
        _ => {}
    }
}

/// True when this argv (not the programs it wraps) may write or replace files: copies,
/// moves, links, in-place edits, archive extraction, decompression, `git … --output`.
/// Used to refuse a line that writes files and also runs git, which runs programs named
/// in `.git/config` (`core.fsmonitor`, hooks, …).
pub fn writes_files(argv: &[Arg]) -> bool {
    let Some(prog) = argv.first() else {
        return false;
    };
    let p = basename(&prog.text);
    let args = &argv[1..];
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    let short = |c: char| {
        texts
            .iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains(c))
    };
    let long = |name: &str| texts.iter().any(|a| long_opt(a, name).is_some());
    match p {
        "cp" | "mv" | "ln" | "install" | "tee" | "dd" | "rsync" | "scp" | "patch" | "unzip"
        | "7z" | "7za" | "cpio" | "split" | "csplit" | "gunzip" | "bunzip2" | "unxz" | "unzstd"
        | "unlzma" | "uncompress" | "truncate" | "shred" | "chmod" | "chown" | "wget" | "curl"
        | "ar" | "rename" | "mkfifo" | "xxd" => true,
        // Database shells write files of their input's choosing (psql `\o FILE`, `\copy … to`,
        // `-o`; mysql `tee`, `INTO OUTFILE`; sqlite3 `.output`, `.save`, `VACUUM INTO`),
        // from `-c`/`-e` text, a script file or stdin alike.
        "psql" | "mysql" | "mariadb" | "sqlite3" => true,
        "sed" | "gsed" | "perl" | "ruby" => short('i') || long("in-place"),
        "gzip" | "bzip2" | "xz" | "zstd" | "lzma" => short('d') || long("decompress"),
        "tar" | "gtar" | "bsdtar" => {
            tar_extracts(&texts) || output_rule(p).is_some_and(|o| o.writes(&texts))
        }
        "sort" => short('o') || long("output"),
        // `uniq IN OUT`; `-` (stdin) and words after `--` are operands too, and the
        // values of `-f`/`-s`/`-w` are not told apart: any operand may be the output.
        "uniq" => texts.iter().any(|a| !a.starts_with('-') || *a == "-") || texts.contains(&"--"),
        "git" => texts.iter().any(|a| long_opt(a, "output").is_some()) || git_writes(&texts),
        _ => output_rule(p).is_some_and(|o| o.writes(&texts)),
    }
}

/// When a program writes files through options naming them, beside its input and output
/// streams: a compiler's `-o`, `-MF`, `-Wl,-Map=`, tree's `-o`, ssh's `-E` log, tar's
/// archive, cargo's `--artifact-dir`, pip's `--target`, a cloud CLI's copies. Where the
/// rule calls for it, [`writes_files`] counts the program as a writer, and
/// [`named_written_paths`] takes every word as a path it may write, unless [`OutputRule::trees`]
/// says it copies a tree it does not name.
struct OutputRule {
    programs: &'static [&'static str],
    /// Writes on every run (a compiler's `a.out` or `-o`, `-MF`, `-save-temps`, `-dumpdir` …;
    /// go's `-o` and test profiles; aws's downloads to a path after the source).
    always: bool,
    /// One-letter options (in a bundle too; for tar also in a first word without a dash).
    short: &'static str,
    /// Long options, by any prefix git-style parsers accept.
    long: &'static [&'static str],
    /// Words that are the subcommand or its mode (`cp`, `sync`, `new`).
    words: &'static [&'static str],
    /// Text anywhere in a word, case ignored: ssh's `-o UserKnownHostsFile=…`.
    settings: &'static [&'static str],
    /// Words, long options and (`-x`) one-letter options after which it writes a tree
    /// whose names the line does not show (`docker cp c:/src/. .`, `aws s3 sync`, `pip install --target`: a package or a
    /// container's directory may hold a `.git`), like `cp -r`.
    trees: &'static [&'static str],
}

impl OutputRule {
    const NONE: OutputRule = OutputRule {
        programs: &[],
        always: false,
        short: "",
        long: &[],
        words: &[],
        settings: &[],
        trees: &[],
    };

    fn writes(&self, texts: &[&str]) -> bool {
        self.always
            || self.matches(texts, self.short, self.long, self.words)
            || texts.iter().any(|a| {
                let a = a.to_ascii_lowercase();
                self.settings.iter().any(|s| a.contains(s))
            })
    }

    /// The run copies a tree: one of [`Self::trees`] as a word, a long option or, written
    /// `-x`, a one-letter option.
    fn copies_tree(&self, texts: &[&str]) -> bool {
        let short: String = self
            .trees
            .iter()
            .filter_map(|t| t.strip_prefix('-'))
            .collect();
        self.matches(texts, &short, self.trees, self.trees)
    }

    fn matches(&self, texts: &[&str], short: &str, long: &[&str], words: &[&str]) -> bool {
        let tar = self.programs.contains(&"tar");
        texts.iter().enumerate().any(|(i, a)| {
            let bundle = match a.strip_prefix('-') {
                Some(b) if !b.starts_with('-') => Some(b),
                // tar's old form: `tar czf x.tgz src`.
                None if tar && i == 0 => Some(*a),
                _ => None,
            };
            bundle.is_some_and(|b| b.chars().any(|c| short.contains(c)))
                || long.iter().any(|o| long_opt(a, o).is_some())
                || words.contains(a)
        })
    }
}

/// The programs [`writes_files`] knows by their output options, beside those it matches
/// itself.
const OUTPUT_RULES: &[OutputRule] = &[
    OutputRule {
        programs: &[
            "gcc", "g++", "cc", "c++", "clang", "clang++", "rustc", "go", "aws", "zip",
        ],
        always: true,
        trees: &["sync", "recursive"],
        ..OutputRule::NONE
    },
    OutputRule {
        programs: &["tree"],
        short: "o",
        ..OutputRule::NONE
    },
    // The archive tar creates, appends to or updates (`-cf FILE`), its snapshot and index
    // files; extraction is matched before ([`tar_extracts`]).
    OutputRule {
        programs: &["tar", "gtar", "bsdtar"],
        short: "cruAg",
        long: &[
            "create",
            "append",
            "update",
            "catenate",
            "concatenate",
            "delete",
            "listed-incremental",
            "index-file",
            "volno-file",
        ],
        ..OutputRule::NONE
    },
    // `-E FILE` appends ssh's log; known-hosts files take the host's name and key.
    OutputRule {
        programs: &["ssh"],
        short: "E",
        settings: &["knownhostsfile"],
        ..OutputRule::NONE
    },
    OutputRule {
        programs: &["cargo"],
        long: &[
            "artifact-dir",
            "out-dir",
            "target-dir",
            "root",
            "lockfile-path",
        ],
        words: &["new", "init", "vendor"],
        ..OutputRule::NONE
    },
    // `pip download -d`, `pip wheel -w`, `pip install --target/--root/--prefix` (a
    // package's files, which may hold any name), `--log`, `--report`.
    OutputRule {
        programs: &["pip"],
        short: "dtw",
        long: &[
            "dest",
            "target",
            "root",
            "prefix",
            "src",
            "log",
            "log-file",
            "report",
            "wheel-dir",
        ],
        trees: &["-t", "target", "root", "prefix"],
        ..OutputRule::NONE
    },
    // `docker cp`, `save -o`, `export -o`, `build -o` (the image's files), and the host
    // directories a container may write (`run -v .:/src`).
    OutputRule {
        programs: &["docker"],
        short: "ov",
        long: &["output", "volume", "mount"],
        words: &["cp", "save", "export"],
        trees: &[
            "cp", "save", "export", "-o", "-v", "output", "volume", "mount",
        ],
        ..OutputRule::NONE
    },
    // `kubectl cp` (a tar of the pod's files), `cluster-info dump --output-directory`, and
    // the kubeconfig `config set-*` writes.
    OutputRule {
        programs: &["kubectl"],
        long: &["output-directory", "kubeconfig"],
        words: &["cp", "config"],
        trees: &["cp", "output-directory"],
        ..OutputRule::NONE
    },
    // terraform's one-dash options: `plan -out=FILE`, `-state-out=`, `-backup=`.
    OutputRule {
        programs: &["terraform"],
        settings: &["-out", "-state", "-backup"],
        ..OutputRule::NONE
    },
    OutputRule {
        programs: &["npm"],
        long: &["pack-destination", "prefix"],
        ..OutputRule::NONE
    },
    OutputRule {
        programs: &["yarn"],
        short: "o",
        long: &["out", "filename"],
        ..OutputRule::NONE
    },
];

/// The [`OUTPUT_RULES`] entry of a program (`pip3.11` is pip's).
fn output_rule(p: &str) -> Option<&'static OutputRule> {
    let p = if pip_name(p) { "pip" } else { p };
    OUTPUT_RULES.iter().find(|o| o.programs.contains(&p))
}

/// tar's arguments select the mode that writes the archive's files: `tar x…` (the old
/// form, a first word without a dash), `-xzf`, `--extract`, `--get` (or a prefix).
pub(crate) fn tar_extracts(texts: &[&str]) -> bool {
    let old = texts
        .first()
        .is_some_and(|a| !a.starts_with('-') && a.contains('x'));
    old || texts.iter().any(|a| {
        (a.starts_with('-') && !a.starts_with("--") && a[1..].contains('x'))
            || long_opt(a, "extract").is_some()
            || long_opt(a, "get").is_some()
    })
}

/// The words naming what this writer (one [`writes_files`] reports) writes, when it writes
/// only files the line names literally: a top-level `cp`, `mv`, `install`, `tee`,
/// `truncate`, `chmod`, `chown`, `sed -i`, `sort -o`, `dd`, `uniq` or a program of
/// [`OUTPUT_RULES`] (`gcc -o`, `tar -cf`, `tree -o`, `ssh -E`) whose words are all
/// literal and that copies or changes no tree (`cp -r`, `chmod -R`, `docker cp`). Every
/// word but sed's scripts and chown's owner is returned, split at `=` and `,` (`of=F`,
/// `--suffix=S`, `-Wl,-Map=F`, `-i.bak`),
/// and with `sed -iSUFFIX` each operand's backup name (`Cargo.toml.bak`): the caller
/// checks each against [`git_reads_path`] from every directory the line may be in. `None` for everything else that writes (extracted archives, downloads, patches, database
/// shells, links, wrapped writers): what it writes is not known.
pub fn named_written_paths(argv: &[Arg]) -> Option<Vec<String>> {
    let (prog, args) = argv.split_first()?;
    let p = basename(&prog.text);
    if !prog.exact
        || args
            .iter()
            .any(|a| !a.exact && !plain_glob(a) && !home_path(a))
    {
        return None;
    }
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    let options_end = texts.iter().position(|a| *a == "--").unwrap_or(texts.len());
    let short = |c: char| {
        texts[..options_end]
            .iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains(c))
    };
    let long = |name: &str| {
        texts[..options_end]
            .iter()
            .any(|a| long_opt(a, name).is_some())
    };
    // Words that are not paths: sed's scripts, chown's owner (`chown git f`). A mode
    // (`+x`, `-w,u+x`, `755`) is read as a path: it cannot spell a name git reads.
    let mut skip: Vec<usize> = Vec::new();
    // sed's backup suffixes (`-i.bak`).
    let mut suffixes: Vec<&str> = Vec::new();
    // A backup is written under a name no word shows: `cp -b -S g x .gitconfi` keeps the
    // old `.gitconfi` as `.gitconfig`.
    if matches!(p, "cp" | "mv" | "install")
        && (short('b') || short('S') || long("backup") || long("suffix"))
    {
        return None;
    }
    match p {
        "cp" => {
            // `-s` makes symbolic links, which a later write in the line may go through.
            if short('r')
                || short('R')
                || short('a')
                || short('s')
                || long("recursive")
                || long("archive")
                || long("symbolic-link")
            {
                return None;
            }
        }
        "chmod" | "chown" => {
            if short('R') || long("recursive") {
                return None;
            }
            // The first operand is the owner, unless --reference names one instead.
            if p == "chown" && !long("reference") {
                skip.extend(texts.iter().position(|a| !a.starts_with('-')));
            }
        }
        "sed" | "gsed" => {
            // `-iSUFFIX` keeps a backup named by the suffix: the file's name with the
            // suffix appended (`-i.bak`: `Cargo.toml.bak`), read below beside the file.
            // A `*` in it stands for the file's name and a `/` makes it a directory
            // (`-i'.gi*/config'`): not read, nor backups of globbed or `~/` names.
            for a in &texts[..options_end] {
                let suffix = match long_opt(a, "in-place") {
                    Some(Some(v)) => Some(v),
                    Some(None) => None,
                    None => (a.starts_with('-') && !a.starts_with("--"))
                        .then(|| a[1..].split_once('i'))
                        .flatten()
                        .filter(|(before, suffix)| {
                            !before.contains(['e', 'f', 'l']) && !suffix.is_empty()
                        })
                        .map(|(_, suffix)| suffix),
                };
                if let Some(suffix) = suffix {
                    if suffix.is_empty()
                        || suffix.contains(['*', '/'])
                        || args.iter().any(|a| !a.exact)
                    {
                        return None;
                    }
                    suffixes.push(suffix);
                }
            }
            // `--follow-symlinks` writes a link's target, and names the backup after it
            // (`cp -s ~/.gitconfi l; sed --follow-symlinks -ig … l` leaves `~/.gitconfig`).
            if long("follow-symlinks") {
                return None;
            }
            skip = sed_scripts(args).ok()?.1;
        }
        "mv" | "install" | "tee" | "truncate" | "sort" | "dd" | "uniq" => {}
        // An archive tar extracts names its own files.
        "tar" | "gtar" | "bsdtar" if tar_extracts(&texts) => return None,
        _ => match output_rule(p) {
            Some(o) if !o.copies_tree(&texts) => {}
            _ => return None,
        },
    }
    let mut paths: Vec<String> = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        // `of=F`, `--out-dir=D`, `-Wl,-Map=F`.
        paths.extend(t.split(['=', ',']).map(String::from));
        // A value attached to a short option (`-t.git`, `-o.git/config`, `-i'.git/*'`, in a
        // bundle `-vt.git`): every tail of the word may be one.
        if i < options_end && t.starts_with('-') && !t.starts_with("--") {
            paths.extend(t.char_indices().skip(1).map(|(k, _)| t[k..].to_string()));
        } else {
            // Each operand's backup (`lefthook` with `-i.yml` leaves `lefthook.yml`).
            paths.extend(suffixes.iter().map(|s| format!("{t}{s}")));
        }
    }
    Some(paths)
}

/// `~/bin/app`: a literal path under the home directory (which an allow list does not let
/// the line change: `HOME=` is refused), not climbing out of it. The caller reads it from the home directory,
/// which is not git's, so `~/.gitconfig` and `~/.config/…` still count.
fn home_path(a: &Arg) -> bool {
    !a.dependent
        && a.text.strip_prefix("~/").is_some_and(|rest| {
            !rest.contains(['$', '`', '~', '*', '?', '[', ']', '{', '}', '\\'])
                && !rest.split('/').any(|c| c == "..")
        })
}

/// A glob whose matches cannot be a place git reads ([`git_reads_path`]) other than by
/// its literal directory, which the caller checks: `src/*.rs`, `scripts/*.sh`,
/// `./*.md`. It cannot turn into an option (`*.sh` could: write `./*.sh`), its directory
/// part is literal, and its last part has no leading dot (a wildcard matches no dot
/// file) and ends in a literal extension of source or text files ([`GLOB_EXTS`]), which
/// no hook manager's file has (`lefthook.jsonc` would match `*.jsonc`, `hk.pkl` `*.pkl`).
fn plain_glob(a: &Arg) -> bool {
    const GLOB_EXTS: [&str; 34] = [
        "rs", "py", "go", "c", "h", "cc", "cpp", "hpp", "cs", "java", "kt", "swift", "rb", "php",
        "sh", "bash", "md", "rst", "txt", "adoc", "html", "css", "scss", "sql", "proto", "tsx",
        "jsx", "vue", "svelte", "lua", "ex", "exs", "scala", "tf",
    ];
    if a.unknown || a.may_hide_option() {
        return false;
    }
    let t = a.text.as_str();
    let (dir, last) = t.rsplit_once('/').unwrap_or(("", t));
    let Some((_, ext)) = last.rsplit_once('.') else {
        return false;
    };
    !dir.contains(['*', '?', '[', ']'])
        && !last.starts_with('.')
        && last
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.*?[]!^".contains(&b))
        && GLOB_EXTS.iter().any(|e| ext.eq_ignore_ascii_case(e))
}

/// Whether a path (split into its parts) may be, or be inside, a place git reads config
/// or hooks from: a `.git` (a repository, or a `.git` file pointing at one), `.gitconfig`,
/// `gitconfig` (`/etc/gitconfig`), anything in a `.config` (`~/.config/git/config`,
/// `~/.config/husky/init.sh` that husky 9's hooks source, a project's
/// `.config/lefthook.yml`), git's templates and programs (`git-core`, `.git-templates`:
/// `git init` and `git clone` copy hooks from there), the usual
/// `core.hooksPath` directories (`.husky`, `.githooks`, `git-hooks`, …), the files hook
/// managers run commands from ([`HOOK_MANAGER_FILES`]) and a file named `HEAD` (which
/// makes its directory a repository). Anything under `/proc` or `/dev`
/// counts too: `/proc/self/fd/3` or `/dev/fd/3` is whatever a redirect opened (`3<.git`),
/// `/proc/self/cwd` wherever the shell is. Case is ignored, as some file systems do. A
/// hooks directory the project configured under another name, and `package.json` (which
/// can configure husky 4, lint-staged and simple-git-hooks), are the project's code, like
/// its Makefile (README, "What an allow list covers").
pub fn git_reads_path(parts: &[&str]) -> bool {
    let is = |c: &str, n: &str| c.eq_ignore_ascii_case(n);
    if parts
        .iter()
        .find(|c| !c.is_empty())
        .is_some_and(|c| *c == "proc" || *c == "dev")
    {
        return true;
    }
    // A directory with `HEAD`, `objects/` and `refs/` is a repository to git, which then
    // reads its `config` (`mkdir -p g/objects g/refs; tee g/HEAD; tee g/config; git -C g
    // fetch`); without a `HEAD` it is not one.
    if parts
        .iter()
        .rev()
        .find(|c| !c.is_empty())
        .is_some_and(|c| is(c, "HEAD"))
    {
        return true;
    }
    parts.iter().any(|c| {
        [
            ".git",
            ".gitconfig",
            "gitconfig",
            ".husky",
            ".config",
            "git-core",
        ]
        .iter()
        .any(|n| is(c, n))
            || {
                let c = c.to_ascii_lowercase();
                (c.contains("git") && (c.contains("hook") || c.contains("templ")))
                    || HOOK_MANAGER_FILES.iter().any(|f| c.starts_with(f))
            }
    })
}

/// Where the hook managers an installed git hook runs read the commands it runs from
/// (pre-commit, lefthook, overcommit, lint-staged, husky 4, simple-git-hooks, hk,
/// CaptainHook, GrumPHP, rusty-hook, and commitlint, which husky's commit-msg hooks run
/// and which loads its config as code), matched as a name's start (`.lintstagedrc.json`,
/// `lefthook-local.yml`).
const HOOK_MANAGER_FILES: [&str; 17] = [
    "commitlint",
    ".commitlintrc",
    "hk.pkl",
    "captainhook",
    "husky.config",
    "grumphp",
    "rusty-hook",
    ".rusty-hook",
    ".pre-commit-config",
    "lefthook",
    ".lefthook",
    ".overcommit",
    ".lintstagedrc",
    "lint-staged.config",
    ".huskyrc",
    ".simple-git-hooks",
    "simple-git-hooks",
];

/// Whether docker may read a path (split into parts) as a CLI plugin or its config: a
/// `.docker` (`~/.docker/cli-plugins/docker-NAME`, `~/.docker/config.json`, whose
/// `cliPluginsExtraDirs` names more plugin directories), a `cli-plugins` directory
/// (`/usr/local/lib/docker/cli-plugins`, or `cli-plugins/x` after `cd ~/.docker`), and,
/// as for git, anything under `/proc` or `/dev` (a descriptor a redirect opened).
pub fn docker_reads_path(parts: &[&str]) -> bool {
    parts
        .iter()
        .find(|c| !c.is_empty())
        .is_some_and(|c| *c == "proc" || *c == "dev")
        || parts
            .iter()
            .any(|c| c.eq_ignore_ascii_case(".docker") || c.eq_ignore_ascii_case("cli-plugins"))
}

/// True when this git command writes no work-tree file and makes no repository: git's own
/// files (a symlink checked out of a blob the line made, `--separate-git-dir`, a bare
/// clone) would put a place git reads under a name no path of the line shows. A line that
/// runs any other git subcommand gets no exemption for named writes.
pub fn git_keeps_work_tree(argv: &[Arg]) -> bool {
    const KEEPS: [&str; 26] = [
        "status",
        "diff",
        "log",
        "show",
        "add",
        "commit",
        "push",
        "fetch",
        "branch",
        "tag",
        "rev-parse",
        "rev-list",
        "ls-files",
        "ls-tree",
        "blame",
        "grep",
        "describe",
        "shortlog",
        "remote",
        "rm",
        "reflog",
        "cat-file",
        "show-ref",
        "for-each-ref",
        "whatchanged",
        "version",
    ];
    let texts: Vec<&str> = argv.iter().skip(1).map(|a| a.text.as_str()).collect();
    argv.iter().all(|a| a.exact) && git_sub_index(&texts).is_some_and(|i| KEEPS.contains(&texts[i]))
}

/// The index of git's subcommand in its arguments (after `-c K=V`, `-C DIR`, `--git-dir X` …).
pub(crate) fn git_sub_index(texts: &[&str]) -> Option<usize> {
    let mut i = 0;
    while let Some(a) = texts.get(i) {
        if matches!(
            *a,
            "-c" | "-C"
                | "--git-dir"
                | "--work-tree"
                | "--namespace"
                | "--super-prefix"
                | "--attr-source"
                | "--config-env"
        ) {
            i += 2;
            continue;
        }
        if a.starts_with('-') {
            i += 1;
            continue;
        }
        return Some(i);
    }
    None
}

/// git subcommands that write files of the patch's or caller's choosing: `apply` (unless it
/// only checks or reports), `am`, `checkout-index --prefix`, `archive -o`, `format-patch -o`.
fn git_writes(texts: &[&str]) -> bool {
    let Some(i) = git_sub_index(texts) else {
        return false;
    };
    let rest = &texts[i + 1..];
    let has = |name: &str| rest.iter().any(|a| long_opt(a, name).is_some());
    let short = |c: char| {
        rest.iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].starts_with(c))
    };
    match texts[i] {
        "apply" => {
            let report_only = ["check", "stat", "numstat", "summary"]
                .iter()
                .any(|o| has(o));
            !report_only || has("apply")
        }
        "am" => true,
        "checkout-index" => has("prefix"),
        "archive" => has("output") || short('o'),
        "format-patch" => has("output-directory") || short('o'),
        _ => false,
    }
}

/// `tar -f host:path` (a colon before the first slash) reaches a remote archive by running
/// `rsh` (or `--rsh-command`), unless `--force-local` is given.
fn tar_remote_archive(args: &[Arg], out: &mut Vec<Finding>) {
    // Short options of GNU tar that take a value.
    const SHORT_VALUE: &str = "bCfFgHIKLNTVX";
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    if texts.iter().any(|a| long_opt(a, "force-local").is_some()) {
        return;
    }
    let mut archives: Vec<&Arg> = Vec::new();
    let mut attached: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = texts[i];
        if a == "--" {
            break;
        }
        let old_style = i == 0 && !a.starts_with('-');
        if a.starts_with("--") {
            if let Some(v) = long_opt(a, "file") {
                match v {
                    Some(v) => attached.push(v.to_string()),
                    None => {
                        archives.extend(args.get(i + 1));
                        i += 1;
                    }
                }
            }
        } else if old_style {
            // `tar cvf ARCHIVE …`: each value letter takes the next word in turn.
            let mut next = i + 1;
            for ch in a.chars() {
                if SHORT_VALUE.contains(ch) {
                    if ch == 'f' {
                        archives.extend(args.get(next));
                    }
                    next += 1;
                }
            }
            i = next;
            continue;
        } else if a.starts_with('-') && a.len() > 1 {
            for (k, ch) in a.char_indices().skip(1) {
                if SHORT_VALUE.contains(ch) {
                    let rest = &a[k + ch.len_utf8()..];
                    if rest.is_empty() {
                        if ch == 'f' {
                            archives.extend(args.get(i + 1));
                        }
                        i += 1;
                    } else if ch == 'f' {
                        attached.push(rest.to_string());
                    }
                    break;
                }
            }
        }
        i += 1;
    }
    let remote = |t: &str| {
        t.find(':')
            .is_some_and(|c| t.find('/').is_none_or(|s| c < s))
    };
    // A word only known when it runs is local when it stays one word and its literal
    // start has a `/` before any `:` (`"./x-$(date +%F).tgz"`).
    let local_start = |a: &Arg| {
        let end = a.text.find(['$', '`', '\\', '*', '?', '[', '{', '~']);
        !a.split
            && !a.dependent
            && !remote(&a.text[..end.unwrap_or(a.text.len())])
            && a.text[..end.unwrap_or(0)].contains('/')
    };
    for a in archives {
        if (!a.exact && !local_start(a)) || (a.exact && remote(&a.text)) {
            let local = if a.text.starts_with("./") {
                String::new()
            } else {
                format!(" such as \"./{}\"", a.text)
            };
            out.push(deny("vector:tar", format!("tar archive {:?} may name a remote host:path, which makes tar run rsh (or --rsh-command); give a local path{local} (quoted, with a literal / before any expansion), or add --force-local", a.text)));
            return;
        }
    }
    for t in attached {
        if remote(&t) {
            out.push(deny("vector:tar", format!("tar archive {t:?} names a remote host:path, which makes tar run rsh (or --rsh-command); give a local path, or add --force-local")));
            return;
        }
    }
}

fn awk(p: &str, args: &[Arg], out: &mut Vec<Finding>) {
    // Options as getopt_long reads them: short bundles with attached values (`-vX=1`,
    // `-We`), gawk long options by any unambiguous prefix (`--ex`, `--fi=`, `--so=`), mawk
    // and gawk `-W LONG-OPTION`. A program from a file or an extension is unverifiable.
    const FROM_FILE: &[&str] = &["file", "exec", "include", "load"];
    const WRITES: &[&str] = &["dump-variables", "profile", "pretty-print", "debug"];
    let mut i = 0;
    let mut programs: Vec<Arg> = Vec::new();
    // None: refused (the finding is pushed).
    let long = |name: &str, out: &mut Vec<Finding>| -> Option<()> {
        let arg = format!("--{name}");
        if FROM_FILE.iter().any(|o| long_opt(&arg, o).is_some()) {
            out.push(code(p, "runs a program from a file or loads an extension"));
            return None;
        }
        if WRITES.iter().any(|o| long_opt(&arg, o).is_some()) {
            out.push(deny(
                "vector:awk",
                format!("{p} --{name} writes a file or starts the debugger"),
            ));
            return None;
        }
        Some(())
    };
    while i < args.len() {
        let arg = &args[i];
        let a = arg.text.as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if !arg.exact && arg.may_hide_option() {
            out.push(code(
                p,
                "is given an argument that may turn into an option when it runs",
            ));
            return;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if let Some(given) = a.strip_prefix("--") {
            let name = given.split('=').next().unwrap_or(given);
            let value = given.split_once('=').map(|(_, v)| v);
            if long_opt(a, "source").is_some() {
                match value {
                    Some(v) => programs.push(Arg::lit(v)),
                    None => {
                        programs.extend(args.get(i + 1).cloned());
                        i += 1;
                    }
                }
            } else if name.split(',').any(|part| long(part, out).is_none()) {
                // mawk reads `-W a,b` (and `--a,b`) as several options.
                return;
            } else if value.is_none()
                && (long_opt(a, "assign").is_some() || long_opt(a, "field-separator").is_some())
            {
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut step = 1;
        for (k, ch) in a.char_indices().skip(1) {
            let rest = &a[k + ch.len_utf8()..];
            let value = if rest.is_empty() {
                step = 2;
                args.get(i + 1).map(|x| (x.text.as_str(), x.exact))
            } else {
                Some((rest, true))
            };
            match ch {
                'f' | 'E' | 'i' | 'l' => {
                    out.push(code(p, "runs a program from a file or loads an extension"));
                    return;
                }
                // gawk -d[FILE], -p[FILE], -o[FILE], -D[FILE]: --dump-variables,
                // --profile, --pretty-print, --debug.
                'd' | 'p' | 'o' | 'D' => {
                    out.push(deny(
                        "vector:awk",
                        format!("{p} -{ch} writes a file or starts the debugger"),
                    ));
                    return;
                }
                'e' => {
                    if rest.is_empty() {
                        programs.extend(args.get(i + 1).cloned());
                    } else {
                        programs.push(Arg::lit(rest));
                    }
                    break;
                }
                'W' => {
                    let Some((w, true)) = value else {
                        out.push(code(p, "is given a -W option the policy cannot read"));
                        return;
                    };
                    // mawk: -W exec FILE, abbreviated to -We / -Wex, and several options
                    // joined by commas (`-W posix,e`); gawk: -W long-option.
                    for part in w.split(',') {
                        let name = part.split('=').next().unwrap_or(part);
                        if name.is_empty() {
                            out.push(code(p, "is given a -W option the policy cannot read"));
                            return;
                        }
                        if long(name, out).is_none() {
                            return;
                        }
                        if long_opt(&format!("--{name}"), "source").is_some() {
                            out.push(code(
                                p,
                                "is given a program in a form the policy does not read",
                            ));
                            return;
                        }
                    }
                    break;
                }
                'F' | 'v' => break,
                _ => {
                    step = 1;
                }
            }
        }
        i += step;
    }
    if programs.is_empty() {
        programs.extend(args.get(i).cloned());
    }
    for prog in &programs {
        awk_program(p, prog, out);
    }
}

fn awk_program(p: &str, prog: &Arg, out: &mut Vec<Finding>) {
    if !prog.exact {
        out.push(code(
            p,
            "is given a program whose text is only known when it runs",
        ));
        return;
    }
    let t = prog.text.replace("||", "");
    // Any `>` after the first print/printf counts as a redirection: string literals such as
    // `print "}" > "f"` would end a statement-by-statement reading too early.
    let write = t.find("print").is_some_and(|i| t[i..].contains('>'));
    // `@`: gawk @load/@include/@namespace and indirect calls (`f="sys" "tem"; @f("id")`).
    if t.contains("system") || t.contains('|') || t.contains('@') || write {
        out.push(deny(
            "vector:awk",
            format!(
                "{p} program runs commands (system(), | pipes, |&) or writes files (print > file)"
            ),
        ));
    }
}

fn sed(p: &str, args: &[Arg], out: &mut Vec<Finding>) {
    let scripts = match sed_scripts(args) {
        Ok((scripts, _)) => scripts,
        Err(why) => {
            out.push(code(p, why));
            return;
        }
    };
    for s in &scripts {
        if !s.exact {
            out.push(code(
                p,
                "is given a script whose text is only known when it runs",
            ));
            return;
        }
        if let Some(why) = sed_danger(&s.text) {
            out.push(deny("vector:sed", format!("sed script {:?} {why}", s.text)));
            return;
        }
    }
}

/// sed's scripts among `args`, and the indices of the words that hold them, read like
/// GNU sed's getopt_long does: short bundles (`-ne'1p'`, `-i.bak`, `-l 80`), long
/// options by any unambiguous prefix (`--expr=…`), and options anywhere before `--`
/// (arguments are permuted). Without `-e` the first operand is the script. `Err` says why
/// the script cannot be read: it comes from a file, or a word may turn into an option.
fn sed_scripts(args: &[Arg]) -> Result<(Vec<Arg>, Vec<usize>), &'static str> {
    let mut scripts: Vec<Arg> = Vec::new();
    let mut at: Vec<usize> = Vec::new();
    let mut i = 0;
    let mut first_pos = None;
    let mut options_done = false;
    while i < args.len() {
        let arg = &args[i];
        let a = arg.text.as_str();
        if options_done || a == "-" || !a.starts_with('-') {
            if !options_done && arg.may_hide_option() {
                return Err("is given an argument that may turn into an option when it runs (a script or a script file)");
            }
            if first_pos.is_none() {
                first_pos = Some(i);
            }
            i += 1;
            continue;
        }
        if a == "--" {
            options_done = true;
            i += 1;
            continue;
        }
        if !arg.exact {
            return Err("is given an option whose text is only known when it runs");
        }
        if a.starts_with("--") {
            if let Some(v) = long_opt(a, "expression") {
                match v {
                    Some(v) => {
                        scripts.push(Arg::lit(v));
                        at.push(i);
                    }
                    None => {
                        if let Some(s) = args.get(i + 1) {
                            scripts.push(s.clone());
                            at.push(i + 1);
                        }
                        i += 1;
                    }
                }
            } else if long_opt(a, "file").is_some() {
                return Err("runs a script from a file");
            } else if long_opt(a, "line-length") == Some(None) {
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut step = 1;
        for (k, ch) in a.char_indices().skip(1) {
            let rest = &a[k + ch.len_utf8()..];
            match ch {
                'e' => {
                    if rest.is_empty() {
                        if let Some(s) = args.get(i + 1) {
                            scripts.push(s.clone());
                            at.push(i + 1);
                        }
                        step = 2;
                    } else {
                        scripts.push(Arg::lit(rest));
                        at.push(i);
                    }
                    break;
                }
                'f' => return Err("runs a script from a file"),
                'l' => {
                    if rest.is_empty() {
                        step = 2;
                    }
                    break;
                }
                // -i[SUFFIX]: the rest of the word is the suffix.
                'i' => break,
                _ => {}
            }
        }
        i += step;
    }
    if scripts.is_empty() {
        if let Some(f) = first_pos {
            scripts.push(args[f].clone());
            at.push(f);
        }
    }
    Ok((scripts, at))
}

/// Reads a sed script and reports `e`, `w`, `W`, `s///e` and `s///w`, or text it cannot read.
fn sed_danger(script: &str) -> Option<&'static str> {
    let b = script.as_bytes();
    let mut i = 0;
    // `brackets`: a regex (addresses, the first part of s): GNU sed does not end it at a
    // delimiter inside a bracket expression (`s/[/]/x/`). A delimiter or newline inside a
    // bracket expression is refused, so both readings of the script agree.
    let skip_regex = |i: &mut usize, delim: u8, brackets: bool| -> bool {
        while *i < b.len() {
            if b[*i] == b'\\' {
                *i += 2;
                continue;
            }
            if b[*i] == delim {
                *i += 1;
                return true;
            }
            if b[*i] == b'\n' && delim != b'\n' {
                return false;
            }
            if brackets && b[*i] == b'[' {
                let mut j = *i + 1;
                if b.get(j) == Some(&b'^') {
                    j += 1;
                }
                if b.get(j) == Some(&b']') {
                    j += 1;
                }
                loop {
                    match b.get(j) {
                        None => return false,
                        Some(&c) if c == delim || c == b'\n' => return false,
                        Some(b'[') if matches!(b.get(j + 1), Some(b':' | b'.' | b'=')) => {
                            let kind = b[j + 1];
                            j += 2;
                            loop {
                                match b.get(j) {
                                    None => return false,
                                    Some(&c) if c == delim || c == b'\n' => return false,
                                    Some(&c) if c == kind && b.get(j + 1) == Some(&b']') => {
                                        j += 2;
                                        break;
                                    }
                                    _ => j += 1,
                                }
                            }
                        }
                        Some(b']') => {
                            j += 1;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                *i = j;
                continue;
            }
            *i += 1;
        }
        false
    };
    loop {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b';' | b'}') {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        // addresses
        for _ in 0..2 {
            match b.get(i) {
                Some(b'/') => {
                    i += 1;
                    if !skip_regex(&mut i, b'/', true) {
                        return Some("is not a script the policy can read");
                    }
                    while matches!(b.get(i), Some(b'I' | b'M')) {
                        i += 1;
                    }
                }
                Some(b'\\') => {
                    let Some(&d) = b.get(i + 1) else {
                        return Some("is not a script the policy can read");
                    };
                    i += 2;
                    if !skip_regex(&mut i, d, true) {
                        return Some("is not a script the policy can read");
                    }
                }
                Some(c) if c.is_ascii_digit() || matches!(*c, b'$' | b'+' | b'~') => {
                    while i < b.len()
                        && (b[i].is_ascii_digit() || matches!(b[i], b'$' | b'~' | b'+'))
                    {
                        i += 1;
                    }
                }
                _ => {}
            }
            if b.get(i) == Some(&b',') {
                i += 1;
                continue;
            }
            break;
        }
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'!') {
            i += 1;
        }
        let &c = b.get(i)?;
        i += 1;
        match c {
            b'e' => return Some("uses the e command, which runs a shell command"),
            b'w' | b'W' => return Some("uses w/W, which writes a file"),
            b'{' | b'}' | b'd' | b'D' | b'g' | b'G' | b'h' | b'H' | b'n' | b'N' | b'p' | b'P'
            | b'x' | b'z' | b'=' | b'F' | b'l' | b'q' | b'Q' => {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            b'a' | b'i' | b'c' | b'r' | b'R' | b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            // GNU sed 4.9 ends a label at `;`, a blank or a newline (older versions read to
            // the end of the line; reading the rest as commands checks more, never less).
            // Leading blanks, then the label up to `;`, a blank, `}` or a newline (ending it
            // early checks more of the script as commands, never less).
            b':' | b'b' | b't' | b'T' => {
                while i < b.len() && matches!(b[i], b' ' | b'\t') {
                    i += 1;
                }
                while i < b.len() && !matches!(b[i], b'\n' | b';' | b' ' | b'\t' | b'}') {
                    i += 1;
                }
            }
            b's' | b'y' => {
                let Some(&d) = b.get(i) else {
                    return Some("is not a script the policy can read");
                };
                if d == b'\\' || d == b'\n' {
                    return Some("is not a script the policy can read");
                }
                i += 1;
                if !skip_regex(&mut i, d, c == b's') || !skip_regex(&mut i, d, false) {
                    return Some("is not a script the policy can read");
                }
                if c == b's' {
                    while i < b.len() && !matches!(b[i], b';' | b'\n' | b'}' | b' ') {
                        match b[i] {
                            b'e' => return Some(
                                "uses the s///e flag, which runs the pattern space as a command",
                            ),
                            b'w' => return Some("uses the s///w flag, which writes a file"),
                            b'g' | b'p' | b'i' | b'I' | b'm' | b'M' => {}
                            d if d.is_ascii_digit() => {}
                            _ => return Some("is not a script the policy can read"),
                        }
                        i += 1;
                    }
                }
            }
            _ => return Some("is not a script the policy can read"),
        }
    }
}

/// Whether a word holds an array subscript that bash reads names or code in (`b[y]`,
/// `b[$x]`, `` b[`id`] ``): where bash takes the word for a variable (`test -v`, `wait -p`,
/// `[[ -v ]]`, `b=([y]=1)`) it evaluates the subscript as arithmetic, and a variable named
/// there is read as arithmetic in turn, so `y='a[$(id)]'` runs `id`. Digits, blanks,
/// operators, `@` and `*` read no names.
pub(crate) fn subscript_reads_names(word: &str) -> bool {
    word.match_indices('[').any(|(i, _)| {
        let rest = &word[i + 1..];
        let inside = rest.find(']').map_or(rest, |e| &rest[..e]);
        inside
            .bytes()
            .any(|c| c == b'$' || c == b'`' || c == b'_' || c.is_ascii_alphabetic())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Vec<Arg> {
        s.split_whitespace().map(Arg::lit).collect()
    }

    #[test]
    fn sed_scripts() {
        assert_eq!(sed_danger("s/a/b/g"), None);
        assert_eq!(sed_danger("1,5p;/x/d"), None);
        assert!(sed_danger("1e id").is_some());
        assert!(sed_danger("s/x/id/e").is_some());
        assert!(sed_danger("w /tmp/x").is_some());
        assert!(sed_danger("s|a|b|w out").is_some());
        assert_eq!(sed_danger("s/a\\/e/b/"), None);
    }

    #[test]
    fn wrappers_unwrap() {
        assert_eq!(
            analyse(&a("timeout 5 ls -l"), false),
            vec![Finding::Wrap {
                argv: a("ls -l"),
                appended: false
            }]
        );
        assert_eq!(
            analyse(&a("nice -n 5 ls"), false),
            vec![Finding::Wrap {
                argv: a("ls"),
                appended: false
            }]
        );
        assert_eq!(
            analyse(&a("env A=1 ls"), false),
            vec![Finding::Wrap {
                argv: a("ls"),
                appended: false
            }]
        );
        assert!(matches!(
            analyse(&a("env LD_PRELOAD=x ls"), false)[0],
            Finding::Deny { .. }
        ));
        assert!(matches!(
            analyse(&a("sh -c ls"), false)[0],
            Finding::Code { .. }
        ));
        assert!(analyse(&a("sh script.sh"), false).is_empty());
        assert!(matches!(
            analyse(&a("git -c core.pager=x log"), false)[0],
            Finding::Deny { .. }
        ));
        assert!(analyse(&a("git -c color.ui=never log"), false).is_empty());
    }
}
