//! Property tests on the parser and the engine.
//!
//! * The parser and `decide` never panic, on arbitrary strings and on generated shell-ish
//!   lines built from the tokens that matter (operators, quotes, substitutions, `$IFS`,
//!   here-documents, CR, globs, braces).
//! * On generated lines, `allow` never comes out when a real shell (dash, bash) with
//!   recorder stubs on `PATH` runs a program that is not on the allow list.

mod policy_support;

use std::cell::RefCell;

use mcp_commander::policy::{parse, Policy};
use policy_support::recorder::Recorder;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const ALLOWED: &[&str] = &["ls", "cat", "grep", "wc", "echo"];

fn policy() -> Policy {
    let allow: Vec<String> = ALLOWED.iter().map(|s| s.to_string()).collect();
    Policy::from_lists(&allow, &[], true).expect("policy")
}

fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "ls",
        "ls",
        "cat",
        "grep",
        "wc",
        "echo",
        "id",
        "whoami",
        "rm",
        "sh",
        "bash",
        " ",
        " ",
        " ",
        ";",
        "&&",
        "||",
        "|",
        "&",
        "\n",
        "\r",
        "\t",
        "(",
        ")",
        "{ ",
        " }",
        "$(",
        "`",
        "'",
        "\"",
        "\\",
        "$IFS",
        "${IFS}",
        "-l",
        "x",
        "/",
        ">",
        "/dev/null",
        "2>&1",
        "<",
        "<<'E'\nid\nE\n",
        "<<E\n$(id)\nE\n",
        "$'\\x69d'",
        "#",
        "*",
        "~",
        "X=",
        "$X",
        "{a,b}",
        "$((1))",
        "<(",
        "if ",
        "then ",
        "fi",
        " do ",
        "done",
        "for i in a; ",
        "case a in a) ",
        ";;",
        "esac",
        "!",
        "=",
        "\\\n",
        "'id'",
        "\"id\"",
        "i\\d",
        "l's'",
        "$'ls'",
        "f()",
        "${X:-",
        "}",
        "[[ ",
        " ]]",
        "$0",
        "$@",
        "[[ -n x || ",
        "[[ a < ",
        "((",
        "))",
        "$'\\''",
        "$\\\n(",
        "&\\\n&",
        "\"$\\\n(id)\"",
        "$[",
        "]",
        "<<<",
        "&>",
        "|&",
    ])
}

fn line() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 1..14).prop_map(|v| v.concat())
}

/// A program name: mostly allowed ones, some that are not, some in disguise.
fn program() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "ls", "cat", "grep", "wc", "echo", "ls", "cat", "id", "whoami", "l's'", "\\ls", "\"ls\"",
        "$'ls'", "{ls,id}", "$X", "i\\d", "'id'", "ls$IFS", "/bin/ls", "./ls", "LS", "ls\r",
    ])
    .prop_map(String::from)
}

/// A simple command inside a substitution.
fn inner() -> impl Strategy<Value = String> {
    (
        program(),
        prop::sample::select(vec!["", " -l", " x", " $(id)", " `whoami`"]),
    )
        .prop_map(|(p, a)| format!("{p}{a}"))
}

/// An argument word.
fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "-l",
            "x",
            "'a b'",
            "\"q\"",
            "$HOME",
            "*",
            "$IFS-l",
            "'$(id)'",
            "\\$(id)",
            "'; id'",
            "\"&& id\"",
            "{a,b}",
            "~",
            "$((1+2))",
            "\"`echo \\\"'\\\" ; id ; echo \\\"'\\\"`\"",
            "$'\\''",
            "\"$\\\n(id)\"",
            "$'\\' ; id ; echo \\''",
        ])
        .prop_map(String::from),
        inner().prop_map(|c| format!("$({c})")),
        inner().prop_map(|c| format!("\"$({c})\"")),
        inner().prop_map(|c| format!("`{c}`")),
        inner().prop_map(|c| format!("${{X:-$({c})}}")),
        inner().prop_map(|c| format!("<({c})")),
    ]
}

/// A simple command with arguments and maybe a redirection.
fn command() -> impl Strategy<Value = String> {
    (
        program(),
        prop::collection::vec(arg(), 0..3),
        prop::sample::select(vec![
            "",
            "",
            " >/dev/null",
            " 2>&1",
            " > out",
            " <<<x",
            " <<'E'\nid\nE\n",
            " &>/dev/null id",
            " &>/dev/null",
        ]),
    )
        .prop_map(|(p, args, r)| {
            let mut s = p;
            for a in args {
                s.push(' ');
                s.push_str(&a);
            }
            s + r
        })
}

/// A line: commands joined by operators, sometimes grouped.
fn shell_line() -> impl Strategy<Value = String> {
    (
        command(),
        prop::collection::vec(
            (
                prop::sample::select(vec!["; ", " && ", " || ", " | ", " & ", "\n", "\r\n", ";"]),
                command(),
            ),
            0..3,
        ),
        prop::sample::select(vec![
            "",
            "",
            "(",
            "{ ",
            "if true; then ",
            "for i in a; do ",
            "[[ x || ",
            "((",
        ]),
    )
        .prop_map(|(first, rest, wrap)| {
            let mut s = first;
            for (op, c) in rest {
                s.push_str(op);
                s.push_str(&c);
            }
            match wrap {
                "(" => format!("({s})"),
                "{ " => format!("{{ {s}; }}"),
                "if true; then " => format!("if true; then {s}; fi"),
                "for i in a; do " => format!("for i in a; do {s}; done"),
                "[[ x || " => format!("[[ x || {s} ]]"),
                "((" => format!("(({s}))"),
                _ => s,
            }
        })
}

#[test]
fn parser_never_panics_on_arbitrary_strings() {
    let pol = policy();
    let mut runner = TestRunner::new(Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&any::<String>(), |s| {
            let _ = parse::parse(&s);
            let _ = pol.decide(&s);
            Ok(())
        })
        .unwrap();
    runner
        .run(&line(), |s| {
            let _ = parse::parse(&s);
            let _ = pol.decide(&s);
            Ok(())
        })
        .unwrap();
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let pol = policy();
    for open in ["$(", "(", "`", "{ ", "\"$(", "${X:-"] {
        let line = open.repeat(5000);
        assert!(!pol.decide(&line).allowed());
    }
    let line = format!("{}ls{}", "$(".repeat(40), ")".repeat(40));
    let _ = pol.decide(&line);
}

#[test]
fn allow_never_comes_out_when_a_shell_runs_an_unlisted_program() {
    let pol = policy();
    let rec = RefCell::new(Recorder::new());
    let allowed_seen = RefCell::new(0usize);
    let mut runner = TestRunner::new(Config {
        // POLICY_PROP_CASES=50000 for a longer hunt.
        cases: std::env::var("POLICY_PROP_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4000),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop_oneof![line(), shell_line(), shell_line()], |l| {
            if !pol.decide(&l).allowed() {
                return Ok(());
            }
            *allowed_seen.borrow_mut() += 1;
            let mut rec = rec.borrow_mut();
            rec.stub_tokens(&l, &[]);
            for shell in ["/bin/sh", "/bin/bash"]
                .into_iter()
                .filter(|s| std::path::Path::new(s).exists())
            {
                for run in rec.run(shell, &l, 0) {
                    prop_assert!(
                        ALLOWED.contains(&run[0].as_str()),
                        "{shell} ran {run:?} for the allowed line {l:?}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "generated lines the engine allowed and the shells ran: {}",
        allowed_seen.borrow()
    );
}
