//! Arguments only known when the line runs that a program still cannot read as an option.
//!
//! Under an allow list, a word whose value is only known when it runs (`"$MSG"`,
//! `"$(cat msg.txt)"`) is refused for a program with argument rules, because it could turn
//! into an option those rules never saw (`git log "$X"` with `X=--output=.git/hooks/x`).
//! Some places cannot hold an option, and there the word is data whatever its value:
//!
//! * the value of an option that takes the next word (`git commit -m "$MSG"`) or an
//!   attached one (`--message="$(cat msg.txt)"`, `-p"$PKG"`), for options whose value no
//!   rule reads (any literal value would be allowed too);
//! * an operand after the `--` that ends the options, for programs whose operands no
//!   rule reads (`git diff -- "$f"`, `sort -- "$f"`);
//! * a word whose first character is written literally and is not `-` (`"v$VERSION"`,
//!   `"HEAD:$f"`), where the program reads such a word as an operand no rule reads.
//!
//! The options are known per program (and git or cargo subcommand) only as far as listed
//! here; an option the tables do not know may take the next word, so after one whose next
//! word could be an option nothing more is taken as data. The word must stay one word: an
//! unquoted expansion may become none or several (the next one then read as an option).

use super::rules::{basename, Arg};

/// What the tables say about one program's (or subcommand's) options.
struct Opts<'a> {
    /// Long options (without dashes) taking a value no rule reads: `--NAME VALUE`,
    /// `--NAME=VALUE`.
    values: &'a [&'a str],
    /// Long options taking no value.
    flags: &'a [&'a str],
    /// Short options taking a value no rule reads (`-m VALUE`, `-mVALUE`).
    short_values: &'a str,
    /// Short options taking no value (they bundle: `-am`).
    short_flags: &'a str,
    /// Options are written with one dash and no bundles (`go test -run X`, `find -name X`;
    /// go also takes `--run`).
    single_dash: bool,
    /// `--` ends the options and every later word is an operand no rule reads.
    dashdash: bool,
    /// Which words that cannot start with `-` are operands no rule reads.
    operand: fn(&str) -> bool,
}

fn no_operand(_: &str) -> bool {
    false
}

fn any_operand(_: &str) -> bool {
    true
}

/// `./x`, `../x`: a path below a literal directory (not an import path of another host).
fn local_path(t: &str) -> bool {
    t.starts_with("./") || t.starts_with("../")
}

/// The first character is written literally and is a letter, digit, `.`, `_` or `/`: the
/// shell hands the program a word starting with it, never `-`.
fn literal_start(a: &Arg) -> bool {
    !a.split
        && a.text
            .starts_with(|c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/'))
}

/// A word with an option name written literally and its value attached:
/// `--message=$(…)`, `-m"$MSG"`, `-am"$MSG"`, `-run=$T` (single-dash programs).
fn attached_value(a: &Arg, o: &Opts) -> bool {
    if a.split || a.dependent {
        return false;
    }
    let t = a.text.as_str();
    let literal = |s: &str| !s.contains(['$', '`', '\\', '*', '?', '[', '{', '~']);
    if o.single_dash {
        let Some(rest) = t.strip_prefix("--").or_else(|| t.strip_prefix('-')) else {
            return false;
        };
        return rest
            .split_once('=')
            .is_some_and(|(n, _)| literal(n) && o.values.contains(&n));
    }
    if let Some(rest) = t.strip_prefix("--") {
        return rest
            .split_once('=')
            .is_some_and(|(n, _)| literal(n) && o.values.contains(&n));
    }
    let Some(rest) = t.strip_prefix('-') else {
        return false;
    };
    for (k, c) in rest.char_indices() {
        if o.short_values.contains(c) {
            return k + 1 < rest.len() && literal(&rest[..k]);
        }
        if !o.short_flags.contains(c) {
            return false;
        }
    }
    false
}

/// After the previous word.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// An option or an operand: the next word is read on its own.
    Free,
    /// The next word is the value of a known option.
    Value,
    /// The next word may be the value of an option the tables do not know.
    Unsure,
}

/// Marks in `ok` (parallel to `args`) the words only known when they run that cannot be
/// read as an option.
fn scan(args: &[Arg], o: &Opts, ok: &mut [bool]) {
    let mut next = Next::Free;
    let mut ended = false;
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        if !a.exact {
            let one = !a.split;
            ok[i] = match next {
                Next::Value => one,
                Next::Unsure => false,
                Next::Free if ended => one && o.dashdash,
                Next::Free => {
                    (literal_start(a) && (o.operand)(t)) || (!a.dependent && attached_value(a, o))
                }
            };
            if !ok[i] {
                // Refused anyway; what it does to the next word is not known.
                next = Next::Unsure;
                continue;
            }
            next = Next::Free;
            continue;
        }
        match next {
            Next::Value => {
                next = Next::Free;
                continue;
            }
            // The word after an unknown option: its value, or an option of its own.
            Next::Unsure if t.starts_with('-') => return,
            Next::Unsure => {
                next = Next::Free;
                continue;
            }
            Next::Free => {}
        }
        if ended || !t.starts_with('-') || t == "-" {
            continue;
        }
        if t == "--" {
            ended = true;
            continue;
        }
        let long = if o.single_dash {
            Some(t.strip_prefix("--").unwrap_or(&t[1..]))
        } else {
            t.strip_prefix("--")
        };
        if let Some(name) = long {
            if name.contains('=') {
                continue;
            }
            if o.values.contains(&name) {
                next = Next::Value;
            } else if !o.flags.contains(&name) {
                next = Next::Unsure;
            }
            continue;
        }
        // A bundle of short options: the first that takes a value takes the rest of the
        // word, or the next word when it ends the bundle.
        for (k, c) in t[1..].char_indices() {
            if o.short_values.contains(c) {
                if k + 2 == t.len() {
                    next = Next::Value;
                }
                break;
            }
            if !o.short_flags.contains(c) {
                next = Next::Unsure;
                break;
            }
        }
    }
}

/// git subcommands whose operands (revisions, paths, patterns, names) no rule reads, with
/// the options the tables know.
fn git_opts(sub: &str) -> Option<Opts<'static>> {
    const LOG: &[&str] = &[
        "oneline",
        "stat",
        "shortstat",
        "numstat",
        "name-only",
        "name-status",
        "patch",
        "graph",
        "all",
        "follow",
        "reverse",
        "no-merges",
        "first-parent",
        "decorate",
        "no-decorate",
        "abbrev-commit",
        "cached",
        "staged",
        "no-color",
        "summary",
    ];
    let o = |values, flags, short_values, short_flags, dashdash| Opts {
        values,
        flags,
        short_values,
        short_flags,
        single_dash: false,
        dashdash,
        operand: any_operand,
    };
    Some(match sub {
        "commit" => o(
            &["message", "file", "reuse-message", "author", "date"],
            &[
                "all",
                "amend",
                "no-edit",
                "no-verify",
                "signoff",
                "quiet",
                "verbose",
                "allow-empty",
                "allow-empty-message",
                "only",
                "include",
                "dry-run",
            ],
            "mFC",
            "aqvsnio",
            true,
        ),
        "tag" => o(
            &["message", "file"],
            &["annotate", "force", "delete", "list"],
            "mF",
            "afdl",
            false,
        ),
        "log" | "show" | "diff" | "shortlog" | "whatchanged" => {
            o(&[], LOG, "", "p0123456789", true)
        }
        "add" => o(
            &[],
            &[
                "all",
                "update",
                "verbose",
                "dry-run",
                "force",
                "intent-to-add",
            ],
            "",
            "AuvnfN",
            true,
        ),
        "checkout" | "switch" => o(&[], &["force", "quiet", "detach"], "bBcC", "fq", true),
        "restore" => o(
            &["source"],
            &["staged", "worktree", "quiet"],
            "s",
            "SWq",
            true,
        ),
        "rev-parse" | "describe" | "blame" | "ls-files" | "status" => o(&[], &[], "", "", true),
        _ => return None,
    })
}

/// cargo's built-in subcommands (an external `cargo-NAME` parses its own options), with
/// the options whose values name packages, targets, features or directories.
fn cargo_opts(sub: &str) -> Option<Opts<'static>> {
    const VALUES: &[&str] = &[
        "package",
        "test",
        "bin",
        "example",
        "bench",
        "features",
        "target-dir",
        "jobs",
        "profile",
        "message-format",
        "color",
        "exclude",
    ];
    const TREE_VALUES: &[&str] = &[
        "package",
        "features",
        "target-dir",
        "color",
        "exclude",
        "invert",
    ];
    const FLAGS: &[&str] = &[
        "release",
        "all-targets",
        "workspace",
        "all",
        "all-features",
        "no-default-features",
        "lib",
        "bins",
        "tests",
        "examples",
        "benches",
        "quiet",
        "verbose",
        "locked",
        "offline",
        "frozen",
        "no-run",
        "no-fail-fast",
        "doc",
    ];
    let tree = sub == "tree";
    let known = matches!(
        sub,
        "build"
            | "b"
            | "check"
            | "c"
            | "test"
            | "t"
            | "run"
            | "r"
            | "bench"
            | "doc"
            | "d"
            | "clippy"
            | "tree"
            | "clean"
            | "update"
            | "fetch"
            | "metadata"
    );
    known.then_some(Opts {
        values: if tree { TREE_VALUES } else { VALUES },
        flags: FLAGS,
        short_values: if tree { "pFi" } else { "pFj" },
        short_flags: "rqv",
        single_dash: false,
        dashdash: false,
        operand: no_operand,
    })
}

/// For each word of `argv` (program first), true when it is only known when it runs yet
/// cannot be read as an option (see the module documentation). Literal words are false.
/// `test`/`[` operators whose operand is a string or a file name, whatever it holds.
const TEST_UNARY: &[&str] = &[
    "-n", "-z", "-e", "-f", "-d", "-r", "-w", "-x", "-s", "-L", "-h", "-p", "-S", "-b", "-c", "-g",
    "-u", "-k", "-O", "-G", "-N",
];
const TEST_BINARY: &[&str] = &["=", "==", "!=", "-nt", "-ot", "-ef"];

/// `[ -d "$DIR" ]`, `test "$A" = "$B"`: a quoted expansion right after a literal string or
/// file operator, or on either side of a literal string comparison, is that operator's
/// operand whatever it holds (POSIX reads three and fewer words by their positions, and a
/// literal operator in the middle as binary). Not where a word of the test holds `[`: bash
/// evaluates a subscript named by `-v`, and an expansion that turned out `-v` would make
/// the next word one. Integer comparisons (`-eq` …) and `-v`/`-R` are left out.
fn test_operands(args: &[Arg], ok: &mut [bool]) {
    if args.iter().any(|a| a.text.contains('[')) {
        return;
    }
    let literal = |j: usize, set: &[&str]| {
        args.get(j)
            .is_some_and(|a| a.exact && set.contains(&a.text.as_str()))
    };
    for k in 0..args.len() {
        let operand = (k >= 1 && (literal(k - 1, TEST_UNARY) || literal(k - 1, TEST_BINARY)))
            || literal(k + 1, TEST_BINARY);
        if operand && !args[k].split {
            ok[k] = true;
        }
    }
}

fn is_python(p: &str) -> bool {
    p.strip_prefix("python")
        .is_some_and(|v| v.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
}

/// `python3 scripts/gen.py --out "$OUT"`, `python3 -m pytest -k "$K"`, `node build.js
/// "$X"`: the interpreter reads its own options only up to the script (or `-m MODULE`);
/// what follows is the script's, data to the interpreter. Its options before that must be
/// literal; code (`-c`, `-e`, `-p`) is left to the interpreter rules.
fn script_arguments(python: bool, args: &[Arg], ok: &mut [bool]) {
    let takes_value: &[&str] = if python {
        &["-W", "-X", "--check-hash-based-pycs"]
    } else {
        &[
            "-r",
            "--require",
            "--import",
            "--loader",
            "--env-file",
            "--conditions",
            "-C",
        ]
    };
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !a.exact {
            return;
        }
        let t = a.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        if takes_value.contains(&t) {
            i += 2;
            continue;
        }
        if python && !t.starts_with("--") {
            // A bundle: `-c` ends it with code, `-m` with the module (attached or next),
            // `-W`/`-X` take the rest or the next word.
            let letters = &t[1..];
            match letters.find(['c', 'm', 'W', 'X']) {
                Some(at) if letters.as_bytes()[at] == b'c' => return,
                Some(at) if letters.as_bytes()[at] == b'm' => {
                    let attached = at + 1 < letters.len();
                    let module = if attached { i } else { i + 1 };
                    if !args.get(module).is_some_and(|m| m.exact) {
                        return;
                    }
                    mark_from(module + 1, ok);
                    return;
                }
                Some(at) => i += if at + 1 < letters.len() { 1 } else { 2 },
                None => i += 1,
            }
            continue;
        }
        if !python && matches!(t, "-e" | "-p" | "--eval" | "--print") {
            return;
        }
        i += 1;
    }
    // The script: what follows it is its own.
    if args.get(i).is_some_and(|s| s.exact) {
        mark_from(i + 1, ok);
    }
}

fn mark_from(start: usize, ok: &mut [bool]) {
    for o in ok.iter_mut().skip(start) {
        *o = true;
    }
}

pub fn data_words(argv: &[Arg]) -> Vec<bool> {
    let mut ok = vec![false; argv.len()];
    let Some(prog) = argv.first() else {
        return ok;
    };
    let args = &argv[1..];
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    match basename(&prog.text) {
        "git" => {
            let Some(i) = super::vectors::git_sub_index(&texts) else {
                return ok;
            };
            // Everything before the subcommand (`-C DIR`, `-c K=V`) must be literal.
            if !args[..=i].iter().all(|a| a.exact) {
                return ok;
            }
            if let Some(o) = git_opts(texts[i]) {
                scan(&args[i + 1..], &o, &mut ok[i + 2..]);
            }
        }
        "cargo" => {
            // `cargo +toolchain SUB`.
            let i = usize::from(texts.first().is_some_and(|t| t.starts_with('+')));
            if !args.get(..=i).is_some_and(|g| g.iter().all(|a| a.exact)) {
                return ok;
            }
            if let Some(o) = cargo_opts(texts[i]) {
                scan(&args[i + 1..], &o, &mut ok[i + 2..]);
            }
        }
        "go" if args.first().is_some_and(|a| a.exact)
            && matches!(texts[0], "test" | "build" | "vet") =>
        {
            let o = Opts {
                values: &[
                    "run",
                    "bench",
                    "skip",
                    "count",
                    "timeout",
                    "tags",
                    "parallel",
                    "p",
                    "cpu",
                    "benchtime",
                    "list",
                    "covermode",
                    "coverpkg",
                ],
                flags: &[
                    "v", "race", "cover", "short", "failfast", "json", "trimpath", "x", "n", "a",
                ],
                short_values: "",
                short_flags: "",
                single_dash: true,
                dashdash: false,
                operand: local_path,
            };
            scan(&args[1..], &o, &mut ok[2..]);
        }
        // Test paths, node ids and the values of pytest's options that run nothing
        // (`pytest -k "$K"`); `-p`, `-o` and `--tx` are read by pytest's rule.
        "pytest" | "py.test" => {
            let o = Opts {
                values: &[
                    "rootdir",
                    "basetemp",
                    "junitxml",
                    "junit-prefix",
                    "durations",
                    "durations-min",
                    "maxfail",
                    "deselect",
                    "ignore",
                    "ignore-glob",
                    "confcutdir",
                    "capture",
                    "tb",
                    "import-mode",
                    "log-level",
                    "log-file",
                    "log-cli-level",
                    "log-format",
                    "log-date-format",
                    "dist",
                    "numprocesses",
                    "maxprocesses",
                    "cov",
                    "cov-report",
                    "cov-fail-under",
                    "timeout",
                    "color",
                    "show-capture",
                    "doctest-glob",
                    "config-file",
                ],
                flags: &[
                    "verbose",
                    "quiet",
                    "exitfirst",
                    "showlocals",
                    "lf",
                    "last-failed",
                    "ff",
                    "failed-first",
                    "nf",
                    "new-first",
                    "sw",
                    "stepwise",
                    "co",
                    "collect-only",
                    "strict-markers",
                    "strict-config",
                    "runxfail",
                    "disable-warnings",
                    "no-header",
                    "no-summary",
                    "setup-show",
                    "doctest-modules",
                    "pyargs",
                    "cache-clear",
                    "full-trace",
                    "no-cov",
                ],
                short_values: "kmrWnc",
                short_flags: "qvxslfd",
                single_dash: false,
                dashdash: true,
                operand: any_operand,
            };
            scan(args, &o, &mut ok[1..]);
        }
        "find" => find_values(args, &mut ok[1..]),
        "test" | "[" => test_operands(args, &mut ok[1..]),
        p if is_python(p) || p == "node" || p == "nodejs" => {
            script_arguments(p != "node" && p != "nodejs", args, &mut ok[1..])
        }
        "awk" | "gawk" | "mawk" | "nawk" => {
            let o = Opts {
                values: &["assign", "field-separator"],
                flags: &[],
                short_values: "vF",
                short_flags: "",
                single_dash: false,
                dashdash: false,
                operand: no_operand,
            };
            // Only the options before the program text: it ends them.
            let end = args
                .iter()
                .enumerate()
                .position(|(k, a)| {
                    a.exact
                        && (!a.text.starts_with('-') || a.text == "-" || a.text == "--")
                        && !matches!(
                            k.checked_sub(1).map(|j| args[j].text.as_str()),
                            Some("-v" | "-F" | "--assign" | "--field-separator")
                        )
                })
                .unwrap_or(args.len());
            scan(&args[..end], &o, &mut ok[1..=end]);
        }
        "sort" => {
            let o = Opts {
                values: &[
                    "key",
                    "field-separator",
                    "buffer-size",
                    "temporary-directory",
                    "parallel",
                    "batch-size",
                ],
                flags: &[
                    "reverse",
                    "numeric-sort",
                    "general-numeric-sort",
                    "human-numeric-sort",
                    "version-sort",
                    "month-sort",
                    "unique",
                    "ignore-case",
                    "ignore-leading-blanks",
                    "dictionary-order",
                    "stable",
                    "zero-terminated",
                ],
                short_values: "ktST",
                short_flags: "rnghVMufbdsz",
                single_dash: false,
                dashdash: true,
                operand: any_operand,
            };
            scan(args, &o, &mut ok[1..]);
        }
        // GNU tar permutes its arguments, so an operand is only data with a literal first
        // character; the archive of `-f` is read by tar's rule (a local path needs a
        // literal `/` before any `:`), which refuses one that could be remote.
        "tar" => {
            let o = Opts {
                values: &["file"],
                flags: &[
                    "create",
                    "extract",
                    "get",
                    "list",
                    "append",
                    "update",
                    "verbose",
                    "gzip",
                    "gunzip",
                    "bzip2",
                    "xz",
                    "zstd",
                    "auto-compress",
                    "force-local",
                    "keep-old-files",
                    "to-stdout",
                    "preserve-permissions",
                    "touch",
                    "dereference",
                ],
                short_values: "f",
                short_flags: "cxtruvzjJaOkpmh",
                single_dash: false,
                dashdash: true,
                operand: any_operand,
            };
            scan(args, &o, &mut ok[1..]);
        }
        // make's `-j`, `-l` and `-O` take an optional value, which is only ever attached
        // (`-j"$(nproc)"`, `--jobs="$N"`); make reads `-j 4` only when the next word starts
        // with a digit, so a separate word is not taken.
        "make" | "gmake" => {
            for (a, d) in args.iter().zip(&mut ok[1..]) {
                let t = a.text.as_str();
                let value = [
                    "-j",
                    "-l",
                    "-O",
                    "--jobs=",
                    "--load-average=",
                    "--output-sync=",
                ]
                .iter()
                .find_map(|o| t.strip_prefix(o));
                *d = !a.exact && !a.split && !a.dependent && value.is_some_and(|v| !v.is_empty());
            }
        }
        // bash's printf reads options only before the format; every word after a literal
        // format is data (`printf -v NAME` is the one that assigns).
        "printf" => {
            let f = usize::from(texts.first() == Some(&"--"));
            let literal_format = args
                .get(f)
                .is_some_and(|a| a.exact && !a.text.starts_with('-'));
            if literal_format {
                ok.iter_mut().skip(f + 2).for_each(|d| *d = true);
            }
        }
        _ => {}
    }
    ok
}

/// find's tests that take the next word as their value (without the dash).
pub(crate) const FIND_VALUE_TESTS: &[&str] = &[
    "name",
    "iname",
    "path",
    "ipath",
    "wholename",
    "iwholename",
    "regex",
    "iregex",
    "lname",
    "ilname",
    "newer",
    "anewer",
    "cnewer",
    "samefile",
    "type",
    "xtype",
    "user",
    "group",
    "size",
    "mtime",
    "mmin",
    "atime",
    "amin",
    "ctime",
    "cmin",
    "perm",
    "maxdepth",
    "mindepth",
    "uid",
    "gid",
    "links",
    "inum",
];

/// find's expression: the value of a test that takes a name, pattern, file or number
/// (`-name "$NAME"`, `-newer "$REF"`). Nothing inside `-exec … ;` (a word there that
/// turns into `;` would end it early), and nothing after one that holds such a word.
fn find_values(args: &[Arg], ok: &mut [bool]) {
    const VALUES: &[&str] = FIND_VALUE_TESTS;
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if !args[i].exact {
            return;
        }
        if matches!(t, "-exec" | "-execdir" | "-ok" | "-okdir") {
            let end = super::vectors::find_command_end(args, i + 1, t);
            if args[i + 1..end.min(args.len())].iter().any(|a| !a.exact)
                || args.get(end).is_some_and(|a| !a.exact)
            {
                return;
            }
            i = end + 1;
            continue;
        }
        let takes = t.strip_prefix('-').is_some_and(|n| VALUES.contains(&n));
        if takes {
            if let Some(v) = args.get(i + 1) {
                if !v.exact {
                    ok[i + 1] = !v.split;
                }
            }
            i += 2;
            continue;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;

    fn data(line: &str) -> Vec<String> {
        let script = parse::parse(line).expect("parses");
        // The command itself, not one its substitutions run.
        let c = script
            .commands
            .iter()
            .max_by_key(|c| c.words.len())
            .expect("a command");
        let argv: Vec<Arg> = c.words.iter().map(Arg::from_word).collect();
        data_words(&argv)
            .into_iter()
            .zip(argv)
            .filter(|(ok, _)| *ok)
            .map(|(_, a)| a.text)
            .collect()
    }

    #[test]
    fn option_values_are_data() {
        assert_eq!(data(r#"git commit -m "$MSG""#), ["$MSG"]);
        assert_eq!(data(r#"git commit -am "$MSG""#), ["$MSG"]);
        assert_eq!(
            data(r#"git commit --message="$(cat m)""#),
            ["--message=$(cat m)"]
        );
        assert_eq!(data(r#"git -C sub commit -F "$F""#), ["$F"]);
        assert_eq!(data(r#"cargo test --package "$P" -p"$Q""#), ["$P", "-p$Q"]);
        assert_eq!(
            data(r#"go test -run "$T" -run="$U" ./..."#),
            ["$T", "-run=$U"]
        );
        assert_eq!(data(r#"find . -name "$N" -type f"#), ["$N"]);
        assert_eq!(data(r#"awk -v p="$P" '$0 ~ p' f"#), ["p=$P"]);
        // Unquoted: may become no word or several.
        assert!(data("git commit -m $MSG").is_empty());
        // Not a known value option, or the subcommand is not known.
        assert!(data(r#"git log "$X""#).is_empty());
        assert!(data(r#"git commit "$MSG""#).is_empty());
        assert!(data(r#"git push -m "$X""#).is_empty());
        assert!(data(r#"cargo foo -p "$X""#).is_empty());
        // An option the tables do not know may take the next word: `-m` could be its value.
        assert!(data(r#"git commit --unknown -m "$X""#).is_empty());
        assert!(data(r#"git log --grep -- "$X""#).is_empty());
        // bash reads $'-m'… as an option, dash as an operand.
        assert!(data(r#"awk $'-v'"x=$Y" 1"#).is_empty());
    }

    #[test]
    fn operands_after_dashdash_or_a_literal_start_are_data() {
        assert_eq!(data(r#"git log --oneline -- "$F""#), ["$F"]);
        assert_eq!(data(r#"git show "HEAD:$f""#), ["HEAD:$f"]);
        assert_eq!(
            data(r#"git tag -a "v$V" -m "Release v$V""#),
            ["v$V", "Release v$V"]
        );
        assert_eq!(data(r#"go test "./$P/...""#), ["./$P/..."]);
        assert_eq!(data(r#"sort -- "$f""#), ["$f"]);
        assert!(data(r#"go test "g$P""#).is_empty());
        assert!(data(r#"cargo test -- "$F""#).is_empty());
        assert!(data(r#"find . -exec grep -name "$X" ; -name "$Y""#).is_empty());
        assert!(data(r#"git clone "h$X""#).is_empty());
    }
}
