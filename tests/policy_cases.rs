//! The policy case table (`tests/data/policy_cases.txt`): every line is a command, the
//! policy it is checked under, the expected decision (and rule id) and why.
//!
//! Shared by `tests/policy_differential.rs`, which runs the allowed cases under real shells.

mod policy_support;

use policy_support::{load_cases, Expect};

#[test]
fn case_table() {
    let cases = load_cases();
    assert!(
        cases.len() >= 400,
        "the table must hold at least 400 cases, has {}",
        cases.len()
    );
    let everyday = cases
        .iter()
        .filter(|c| c.expect == Expect::Allow && c.config.starts_with("allow="))
        .count();
    assert!(
        everyday >= 100,
        "at least 100 allowed everyday commands, have {everyday}"
    );
    let mut failures = Vec::new();
    // Every case is decided as a bare line and again as the server decides it, started in
    // the call's working directory (relative operands are also read from there); a case
    // that names its working directory (`cwd=/`) is decided there only.
    let workdir = std::path::Path::new("/home/dev/project");
    let runs = cases.iter().flat_map(|c| match c.cwd() {
        Some(dir) => vec![(c, Some(dir))],
        None => vec![(c, None), (c, Some(workdir))],
    });
    for (c, cwd) in runs {
        let d = c.policy().decide_in(&c.line, cwd);
        let ok = match &c.expect {
            Expect::Allow => d.allowed(),
            Expect::Deny(rule) => {
                !d.allowed()
                    && d.rule.is_some()
                    && rule.as_ref().is_none_or(|r| {
                        d.rule.as_deref().is_some_and(|x| x.starts_with(r.as_str()))
                    })
            }
        };
        if !ok {
            failures.push(format!(
                "line {}{}: [{}] {:?}: expected {:?}, got {} by {:?}: {} ({})",
                c.source_line,
                if cwd.is_some() { " (in a workdir)" } else { "" },
                c.config,
                c.line,
                c.expect,
                if d.allowed() { "allow" } else { "deny" },
                d.rule,
                d.reason,
                c.why
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_refusal_names_a_rule_and_a_reason() {
    for c in load_cases() {
        let d = c.policy().decide(&c.line);
        if !d.allowed() {
            assert!(
                d.rule.as_deref().is_some_and(|r| !r.is_empty()),
                "{:?}",
                c.line
            );
            assert!(d.reason.len() > 10, "{:?}: {}", c.line, d.reason);
        }
    }
}

#[test]
fn default_preset_is_exactly_the_built_in_behaviour() {
    let preset = policy_support::preset("default");
    let builtin = mcp_commander::policy::Policy::from_lists(&[], &[], true).expect("builtin");
    for c in load_cases() {
        assert_eq!(
            preset.decide(&c.line),
            builtin.decide(&c.line),
            "{:?}",
            c.line
        );
    }
}
