//! Differential test against real shells: every case the engine allows is run under
//! `/bin/sh` (dash) and `bash` with `PATH` pointing at recorder stubs, and the programs the
//! shells actually ran are compared with the simple commands the engine reported.
//!
//! * Soundness (the direction every bypass lives in): each program a shell ran must be one
//!   the engine reported — same program, and the same arguments wherever the engine knew
//!   them (words without expansions, globs or shell-dependent quoting).
//! * Completeness: each program the engine reported must have been run by some shell in some
//!   run. Stubs exit 0 in one run and 1 in another so both sides of `&&`/`||`/`if` run.
//!
//! Shell builtins (`echo`, `cd`, `test` …) never reach a stub and are left out; lines whose
//! programs are given by path (`/bin/ls` would run the real program), that call `kill`,
//! that define functions, or whose reason says `[not executed]` (a redirection onto this
//! machine's terminals or network) are skipped — the skips are counted and printed. The work
//! directory holds the files the cases mention (`src/`, `x`, `input.txt`, `in.b64`) so the
//! commands that depend on them are reached.
//!
//! A second test runs the real wrappers (`env`, `nice`, `timeout`, `xargs`, `find -exec` …)
//! with stubs for what they start, and checks that the program each one started is the one
//! the engine's built-in rules unwrapped — the argument positions those rules assume are
//! the ones the real programs use.

mod policy_support;

use mcp_commander::policy::parse;
use policy_support::recorder::Recorder;
use policy_support::{load_cases, Expect};

/// Builtins of dash or bash: the shell runs them itself, so no stub records them.
const BUILTINS: &[&str] = &[
    "echo", "printf", "test", "[", "true", "false", "cd", "pwd", "kill", "read", "export", "unset",
    "readonly", "set", "shift", "wait", "umask", "ulimit", "getopts", "times", "jobs", "type",
    "command", "exit", "return", "break", "continue", ":", "pushd", "popd", "dirs", "time",
    "local", "alias", "hash", "trap", "eval", "exec", ".", "source",
];

const SHELLS: &[&str] = &["/bin/sh", "/bin/bash"];

/// What the engine says a command runs: program and, when fully known, the arguments.
struct Expected {
    program: Option<String>,
    args: Option<Vec<String>>,
}

impl Expected {
    fn matches(&self, run: &[String]) -> bool {
        let prog_ok = self.program.as_deref().is_none_or(|p| p == run[0]);
        prog_ok && self.args.as_ref().is_none_or(|a| a.as_slice() == &run[1..])
    }
}

fn expected(line: &str) -> Option<Vec<Expected>> {
    let script = parse::parse(line).ok()?;
    if !script.functions.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for c in &script.commands {
        let Some(p) = c.words.first() else { continue };
        if p.is_static() && (p.text.contains('/') || p.text == "kill") {
            return None;
        }
        if p.is_static() && BUILTINS.contains(&p.text.as_str()) {
            continue;
        }
        out.push(Expected {
            program: p.is_static().then(|| p.text.clone()),
            // An unquoted expansion may vanish or split and shift every later word.
            args: c
                .words
                .iter()
                .all(|w| w.is_static())
                .then(|| c.words[1..].iter().map(|w| w.text.clone()).collect()),
        });
    }
    Some(out)
}

#[test]
fn allowed_lines_run_exactly_the_reported_programs() {
    let cases = load_cases();
    let mut rec = Recorder::new();
    std::fs::create_dir_all(rec.work.join("src")).unwrap();
    for f in ["x", "input.txt", "in.b64"] {
        std::fs::write(rec.work.join(f), "data\n").unwrap();
    }
    let mut checked = 0;
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for c in &cases {
        if c.expect != Expect::Allow || !c.policy().decide(&c.line).allowed() {
            continue;
        }
        // The redirections would really happen: onto this machine's terminals, console or network.
        if c.why.contains("[not executed]") {
            skipped.push(c.line.clone());
            continue;
        }
        let Some(exp) = expected(&c.line) else {
            skipped.push(c.line.clone());
            continue;
        };
        let names: Vec<String> = exp.iter().filter_map(|e| e.program.clone()).collect();
        rec.stub_tokens(&c.line, &names);
        let mut all_runs: Vec<Vec<String>> = Vec::new();
        for shell in SHELLS.iter().filter(|s| std::path::Path::new(s).exists()) {
            for stub_exit in [0, 1] {
                for run in rec.run(shell, &c.line, stub_exit) {
                    if !exp.iter().any(|e| e.matches(&run)) {
                        failures.push(format!(
                            "line {}: {shell} ran {run:?}, which the engine did not report, for {:?}",
                            c.source_line, c.line
                        ));
                    }
                    all_runs.push(run);
                }
            }
        }
        // Cases marked "[not run]" have commands that real runs cannot reach (a loop whose
        // condition is the builtin false, a `${X:?}` that stops the shell).
        let reachable = !c.why.contains("[not run]");
        for e in &exp {
            if reachable && e.program.is_some() && !all_runs.iter().any(|r| e.matches(r)) {
                failures.push(format!(
                    "line {}: the engine reported {:?} {:?} but no shell ran it, for {:?} (runs: {all_runs:?})",
                    c.source_line, e.program, e.args, c.line
                ));
            }
        }
        checked += 1;
    }
    eprintln!(
        "differential: {checked} allowed cases run under {} shells, {} skipped: {:?}",
        SHELLS.len(),
        skipped.len(),
        skipped
    );
    assert!(checked >= 100, "too few cases checked: {checked}");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Wrappers: the real `env`, `nice`, `timeout`, `xargs`, `find` … run with stubs for the
/// programs they start, and the program each one actually started must be the one the
/// engine's built-in rules unwrapped (and checked against the allow list).
#[test]
#[cfg(target_os = "linux")]
fn wrappers_run_the_program_the_engine_unwraps() {
    use mcp_commander::policy::rules::Arg;
    use mcp_commander::policy::vectors::{analyse, Finding};

    let lines = [
        "env id -u",
        "env -u LANG A=1 B=2 id -u",
        "env -u HOME id",
        "env -C / id",
        "env -- id",
        "nice id",
        "nice -n 5 id -u",
        "nice -5 id",
        "nice --adjustment=3 id",
        "nohup id -g",
        "timeout 5 id",
        "timeout -s KILL 5 id -u",
        "timeout --signal=TERM 5s id",
        "timeout -k 1 5 id",
        "timeout --preserve-status 5 id",
        "stdbuf -oL id",
        "stdbuf -o L -e 0 id",
        "setsid id",
        "setsid -w id -u",
        "taskset -c 0 id",
        "taskset 0x1 id",
        "ionice -c 3 id",
        "ionice -c3 -n7 id",
        "chroot / id",
        "flock lk id",
        "flock -w 5 lk id -u",
        "echo a b | xargs id",
        "echo a b | xargs -n 1 id -u",
        "echo a | xargs -I{} id {}",
        "echo a | xargs -0 -r id",
        "find . -maxdepth 0 -exec id {} \\;",
        "find . -maxdepth 0 -execdir id -u {} +",
        "nice timeout 5 env A=1 id",
        "env nice -n 2 timeout 3 id -g",
    ];
    let mut rec = Recorder::new();
    rec.always_settle = true;
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in lines {
        let script = parse::parse(line).expect("parses");
        let cmd = script.commands.last().expect("a command");
        let wrapper = cmd.words[0].text.clone();
        if !rec.real(&wrapper) {
            eprintln!("skipped (no {wrapper} here): {line}");
            continue;
        }
        // Unwrap as the engine does, down to the innermost program.
        let mut argv: Vec<Arg> = cmd.words.iter().map(Arg::from_word).collect();
        let mut appended = false;
        loop {
            let inner = analyse(&argv, false).into_iter().find_map(|f| match f {
                Finding::Wrap { argv, appended } => Some((argv, appended)),
                _ => None,
            });
            match inner {
                Some((a, more)) => {
                    appended |= more;
                    argv = a;
                }
                None => break,
            }
        }
        rec.stub_tokens(line, &[]);
        for w in [
            "env", "nice", "timeout", "nohup", "stdbuf", "setsid", "taskset", "ionice", "chroot",
            "flock", "xargs", "find",
        ] {
            if line.split_whitespace().any(|t| t == w) {
                rec.real(w);
            }
        }
        let runs = rec.run("/bin/sh", line, 0);
        let expected_prog = &argv[0].text;
        // An unknown word (find's `{}` in place) stands for exactly one word of any text.
        let expected_args: Option<Vec<Option<String>>> = (!appended).then(|| {
            argv[1..]
                .iter()
                .map(|a| (!a.unknown).then(|| a.text.clone()))
                .collect()
        });
        let ok = !runs.is_empty()
            && runs.iter().all(|r| {
                &r[0] == expected_prog
                    && expected_args.as_ref().is_none_or(|a| {
                        a.len() == r.len() - 1
                            && a.iter()
                                .zip(&r[1..])
                                .all(|(e, got)| e.as_ref().is_none_or(|e| e == got))
                    })
            });
        if !ok {
            failures.push(format!(
                "{line:?}: engine unwrapped {expected_prog} {expected_args:?}, the wrapper ran {runs:?}"
            ));
        }
        checked += 1;
    }
    eprintln!("wrappers: {checked} lines checked against the real wrappers");
    assert!(checked >= 20, "too few wrappers available: {checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
