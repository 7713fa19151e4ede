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
//! programs are given by path (`/bin/ls` would run the real program), that call `kill`, or
//! that define functions are skipped — the skips are counted and printed. The work
//! directory holds the files the cases mention (`src/`, `x`, `input.txt`, `in.b64`) so the
//! commands that depend on them are reached.

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
        let Some(exp) = expected(&c.line) else {
            skipped.push(c.line.clone());
            continue;
        };
        let names: Vec<String> = exp.iter().filter_map(|e| e.program.clone()).collect();
        rec.stub_tokens(&c.line, &names);
        let mut all_runs: Vec<Vec<String>> = Vec::new();
        for shell in SHELLS {
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
