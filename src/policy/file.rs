//! Policy files (TOML): the flags' settings plus rules with vetoes, ids, justifications and
//! examples that are checked when the file loads.
//!
//! Pure like the rest of [`crate::policy`]: [`PolicyFile::parse`] takes the file's text and
//! its name (for messages); reading the file is the caller's job. Every problem — a TOML
//! syntax error, an unknown key, a bad regex, an example that does not behave as the file
//! says — is a [`PolicyError::File`] naming the file and the line. The format is documented
//! in `policies/README.md`.

use serde::Deserialize;
use toml::Spanned;

use super::rules::{
    Arg, LineRegex, PatWord, Pattern, Program, Rule, RuleDecision, RuleOutcome, Veto, VetoKind,
};
use super::{parse, Policy, PolicyError, Verdict};

/// A parsed, checked policy file.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    /// The file name used in messages.
    pub name: String,
    pub description: Option<String>,
    /// `allowed_commands`: like `--allowed-commands` (lower precedence than flag and env).
    pub allowed_commands: Option<Vec<String>>,
    /// `blocked_commands`: like `--blocked-commands`.
    pub blocked_commands: Option<Vec<String>>,
    /// `use_default_blocklist`: like `--use-default-blocklist`.
    pub use_default_blocklist: Option<bool>,
    /// `allowed_dirs`: like `--allowed-dirs`.
    pub allowed_dirs: Option<Vec<String>>,
    /// `pass_env`: like `--pass-env` (server variables passed to commands). Names that make
    /// programs load code (`LD_PRELOAD`, `PATH`, `GIT_*` …) are refused at load.
    pub pass_env: Option<Vec<String>>,
    /// The `[[rule]]` tables, always applied on top of the lists.
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    description: Option<String>,
    allowed_commands: Option<Vec<String>>,
    blocked_commands: Option<Vec<String>>,
    use_default_blocklist: Option<bool>,
    allowed_dirs: Option<Vec<String>>,
    pass_env: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    check: Vec<Spanned<RawCheck>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    decision: Option<String>,
    #[serde(rename = "match")]
    pattern: Option<RawPattern>,
    /// A regular expression on the whole line, in place of `match` (forbid rules only).
    line: Option<String>,
    #[serde(default)]
    exact: bool,
    #[serde(default)]
    justification: String,
    #[serde(default)]
    veto: Vec<RawVeto>,
    #[serde(default)]
    examples: Vec<Spanned<String>>,
    #[serde(default)]
    counter_examples: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPattern {
    Line(String),
    Words(Vec<RawWord>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawWord {
    One(String),
    Alts(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawVeto {
    Option(String),
    Table(RawVetoTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVetoTable {
    exact: Option<String>,
    prefix: Option<String>,
    regex: Option<String>,
    option: Option<String>,
    why: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    line: String,
    expect: String,
    rule: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}

impl PolicyFile {
    /// Parses and checks a policy file. `name` is used in error messages.
    pub fn parse(text: &str, name: &str) -> Result<PolicyFile, PolicyError> {
        let err = |offset: usize, message: String| PolicyError::File {
            file: name.to_string(),
            line: line_of(text, offset),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            err(at, e.message().trim().to_string())
        })?;
        let mut rules = Vec::new();
        for r in &raw.rule {
            let at = r.span().start;
            let rule = compile_rule(r.get_ref()).map_err(|m| err(at, m))?;
            if rules.iter().any(|x: &Rule| x.id == rule.id) {
                return Err(err(at, format!("duplicate rule id {:?}", rule.id)));
            }
            check_examples(&rule, r.get_ref(), &err)?;
            rules.push(rule);
        }
        if let Some(pe) = &raw.pass_env {
            if let Some(bad) = pe
                .get_ref()
                .iter()
                .find(|n| super::vectors::dangerous_env(n))
            {
                return Err(err(
                    pe.span().start,
                    format!("pass_env {bad:?} would let commands load code or change which programs run"),
                ));
            }
        }
        let file = PolicyFile {
            name: name.to_string(),
            description: raw.description,
            allowed_commands: raw.allowed_commands,
            blocked_commands: raw.blocked_commands,
            use_default_blocklist: raw.use_default_blocklist,
            allowed_dirs: raw.allowed_dirs,
            pass_env: raw.pass_env.map(|p| p.into_inner()),
            rules,
        };
        let policy = file.policy().map_err(|e| err(0, e.to_string()))?;
        for c in &raw.check {
            let at = c.span().start;
            let c = c.get_ref();
            let want = match c.expect.as_str() {
                "allow" => Verdict::Allow,
                "deny" => Verdict::Deny,
                other => {
                    return Err(err(
                        at,
                        format!("check expect must be \"allow\" or \"deny\", not {other:?}"),
                    ))
                }
            };
            let d = policy.decide(&c.line);
            let rule_ok = c
                .rule
                .as_ref()
                .is_none_or(|r| d.rule.as_deref().is_some_and(|x| x.starts_with(r.as_str())));
            if d.decision != want || !rule_ok {
                return Err(err(
                    at,
                    format!(
                        "check failed: {:?} should be {}{} but the policy says {} (rule {}): {}",
                        c.line,
                        c.expect,
                        c.rule
                            .as_ref()
                            .map(|r| format!(" by rule {r}"))
                            .unwrap_or_default(),
                        if d.allowed() { "allow" } else { "deny" },
                        d.rule.as_deref().unwrap_or("none"),
                        d.reason
                    ),
                ));
            }
        }
        Ok(file)
    }

    /// The policy this file describes on its own (missing settings take their defaults).
    pub fn policy(&self) -> Result<Policy, PolicyError> {
        Policy::build(
            self.allowed_commands.as_deref().unwrap_or(&[]),
            self.blocked_commands.as_deref().unwrap_or(&[]),
            self.use_default_blocklist.unwrap_or(true),
            self.rules.clone(),
        )
    }
}

fn compile_rule(r: &RawRule) -> Result<Rule, String> {
    if r.id.trim().is_empty() || r.id.contains(char::is_whitespace) {
        return Err(format!("rule id {:?} must be a non-empty word", r.id));
    }
    let decision = match r.decision.as_deref().unwrap_or("allow") {
        "allow" => RuleDecision::Allow,
        "forbid" | "deny" => RuleDecision::Forbid,
        other => {
            return Err(format!(
                "rule {}: decision must be \"allow\" or \"forbid\", not {other:?}",
                r.id
            ))
        }
    };
    if let Some(re) = &r.line {
        return compile_line_rule(r, decision, re);
    }
    let Some(pattern) = &r.pattern else {
        return Err(format!(
            "rule {}: a rule needs match (the argv it applies to) or line (a regular expression on the whole line)",
            r.id
        ));
    };
    let words: Vec<Vec<String>> = match pattern {
        RawPattern::Line(s) => s
            .split_whitespace()
            .map(|w| w.split('|').map(String::from).collect())
            .collect(),
        RawPattern::Words(ws) => ws
            .iter()
            .map(|w| match w {
                RawWord::One(s) => s.split('|').map(String::from).collect(),
                RawWord::Alts(a) => a.clone(),
            })
            .collect(),
    };
    let Some((prog, rest)) = words.split_first() else {
        return Err(format!("rule {}: match is empty", r.id));
    };
    if prog.iter().any(|p| p.is_empty() || p == "*" || p == "**") {
        return Err(format!(
            "rule {}: the first word of match must name a program",
            r.id
        ));
    }
    let args = rest
        .iter()
        .map(|alts| match alts.as_slice() {
            [one] => PatWord::parse(one),
            _ => PatWord::Lit(alts.clone()),
        })
        .collect();
    let mut vetoes = Vec::new();
    for v in &r.veto {
        vetoes.push(match v {
            RawVeto::Option(s) => Veto::option(s),
            RawVeto::Table(t) => {
                let kinds = [&t.exact, &t.prefix, &t.regex, &t.option]
                    .iter()
                    .filter(|k| k.is_some())
                    .count();
                if kinds != 1 {
                    return Err(format!(
                        "rule {}: a veto needs exactly one of exact, prefix, regex, option",
                        r.id
                    ));
                }
                let kind = if let Some(s) = &t.exact {
                    VetoKind::Exact(s.clone())
                } else if let Some(s) = &t.prefix {
                    VetoKind::Prefix(s.clone())
                } else if let Some(s) = &t.regex {
                    VetoKind::Regex(
                        regex::Regex::new(s)
                            .map_err(|e| format!("rule {}: veto regex {s:?}: {e}", r.id))?,
                    )
                } else {
                    VetoKind::Option(t.option.clone().unwrap_or_default())
                };
                Veto {
                    kind,
                    why: t.why.clone(),
                }
            }
        });
    }
    if decision == RuleDecision::Forbid && !vetoes.is_empty() {
        return Err(format!(
            "rule {}: vetoes belong on allow rules; a forbid rule refuses everything it matches",
            r.id
        ));
    }
    Ok(Rule {
        id: r.id.clone(),
        decision,
        pattern: Pattern {
            programs: prog.iter().map(|p| Program::parse(p)).collect(),
            args,
            exact: r.exact,
        },
        vetoes,
        justification: r.justification.clone(),
        line: None,
    })
}

/// A `line` rule: a forbid rule on the whole line's text.
fn compile_line_rule(r: &RawRule, decision: RuleDecision, re: &str) -> Result<Rule, String> {
    let id = &r.id;
    if r.pattern.is_some() {
        return Err(format!(
            "rule {id}: match and line exclude each other (line is a regular expression on the whole line)"
        ));
    }
    // An allow on the line's text would be the string match the policy exists to avoid
    // (`ls.*` allows `ls; rm -rf ~`).
    if decision != RuleDecision::Forbid {
        return Err(format!(
            "rule {id}: a line rule can only forbid (decision = \"forbid\"); allow commands with match"
        ));
    }
    if !r.veto.is_empty() || r.exact {
        return Err(format!(
            "rule {id}: veto and exact belong on match rules, not on a line rule"
        ));
    }
    let re = regex::Regex::new(re).map_err(|e| format!("rule {id}: line regex {re:?}: {e}"))?;
    Ok(Rule {
        id: id.clone(),
        decision,
        pattern: Pattern {
            programs: Vec::new(),
            args: Vec::new(),
            exact: false,
        },
        vetoes: Vec::new(),
        justification: r.justification.clone(),
        line: Some(LineRegex(re)),
    })
}

/// The single simple command an example line stands for.
fn example_argv(line: &str) -> Result<Vec<Arg>, String> {
    let script =
        parse::parse(line).map_err(|e| format!("example {line:?} does not parse: {}", e.0))?;
    match script.commands.as_slice() {
        [c] if !c.words.is_empty() => Ok(c.words.iter().map(Arg::from_word).collect()),
        _ => Err(format!("example {line:?} must be one simple command")),
    }
}

/// True when the rule says its own decision about this argv (allow rules: allowed, not vetoed).
fn rule_fires(rule: &Rule, argv: &[Arg]) -> bool {
    matches!(
        (rule.decision, rule.apply(argv)),
        (RuleDecision::Allow, RuleOutcome::Allow) | (RuleDecision::Forbid, RuleOutcome::Deny(_))
    )
}

fn check_examples(
    rule: &Rule,
    raw: &RawRule,
    err: &dyn Fn(usize, String) -> PolicyError,
) -> Result<(), PolicyError> {
    for ex in &raw.examples {
        let ok = match &rule.line {
            Some(re) => re.0.is_match(ex.get_ref()),
            None => {
                let argv = example_argv(ex.get_ref()).map_err(|m| err(ex.span().start, m))?;
                rule_fires(rule, &argv)
            }
        };
        if !ok {
            return Err(err(
                ex.span().start,
                format!(
                    "rule {}: example {:?} should match, but does not",
                    rule.id,
                    ex.get_ref()
                ),
            ));
        }
    }
    for ex in &raw.counter_examples {
        let matched = match &rule.line {
            Some(re) => re.0.is_match(ex.get_ref()),
            None => {
                let argv = example_argv(ex.get_ref()).map_err(|m| err(ex.span().start, m))?;
                rule_fires(rule, &argv)
            }
        };
        if matched {
            return Err(err(
                ex.span().start,
                format!(
                    "rule {}: counter-example {:?} should not match, but does",
                    rule.id,
                    ex.get_ref()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_examples_and_checks() {
        let text = r#"
allowed_commands = ["ls"]

[[rule]]
id = "git-read"
match = ["git", ["status", "log"]]
veto = ["--output", { regex = "^--ext" }]
examples = ["git log -p", "git status"]
counter_examples = ["git push", "git log --output=x", "git log --out=x"]

[[rule]]
id = "no-force"
decision = "forbid"
match = "git push ** --force|-f"
examples = ["git push origin main --force"]

[[check]]
line = "ls | git log"
expect = "allow"

[[check]]
line = "git log --output=/tmp/x"
expect = "deny"
rule = "git-read"
"#;
        let f = PolicyFile::parse(text, "t.toml").unwrap();
        assert_eq!(f.rules.len(), 2);
        let p = f.policy().unwrap();
        assert!(p.decide("git status").allowed());
        assert!(!p.decide("git push").allowed());
    }

    #[test]
    fn a_word_only_known_when_it_runs_is_not_said_to_match_a_veto() {
        let text = r#"
[[rule]]
id = "py"
match = "python3"
veto = [{ regex = "^-m(twine)", why = "publishing needs a human" }]
"#;
        let p = PolicyFile::parse(text, "t.toml").unwrap().policy().unwrap();
        let d = p.decide("python3 \"$S\"");
        assert_eq!(d.rule.as_deref(), Some("py"));
        assert!(
            d.reason
                .contains("only known when it runs, so it may be what rule py vetoes")
                && d.reason.contains("such as: publishing needs a human"),
            "{}",
            d.reason
        );
        let d = p.decide("python3 -mtwine upload");
        assert!(
            d.reason
                .contains("\"-mtwine\" is refused by rule py: publishing needs a human"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn failures_name_file_and_line() {
        let text = "\n[[rule]]\nid = \"x\"\nmatch = \"ls\"\nexamples = [\"lsblk\"]\n";
        let e = PolicyFile::parse(text, "p.toml").unwrap_err().to_string();
        assert!(e.starts_with("p.toml:5:"), "{e}");
        let e = PolicyFile::parse("a = [", "q.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("q.toml:1:"), "{e}");
        let e = PolicyFile::parse("\n\nunknown_key = 1\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:3:"), "{e}");
        let e = PolicyFile::parse("\npass_env = [\"LD_PRELOAD\"]\n", "e.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("e.toml:2:"), "{e}");
        let text = "[[check]]\nline = \"rm -rf /\"\nexpect = \"allow\"\n";
        let e = PolicyFile::parse(text, "s.toml").unwrap_err().to_string();
        assert!(e.starts_with("s.toml:1:"), "{e}");
    }
    #[test]
    fn line_rules_forbid_on_the_text_and_stay_under_flag_lists() {
        let text = r#"
blocked_commands = ["dd"]

[[rule]]
id = "no-input"
decision = "forbid"
line = "<\\s*/"
justification = "no input files"
examples = ["cat < /etc/shadow", "sort </x"]
counter_examples = ["echo 'a < b'", "ls"]
"#;
        let f = PolicyFile::parse(text, "l.toml").unwrap();
        let d = f.policy().unwrap().decide("cat < /etc/shadow");
        assert_eq!(d.rule.as_deref(), Some("no-input"), "{d:?}");
        assert!(d.reason.contains("no input files"), "{d:?}");
        assert!(f.policy().unwrap().decide("echo 'a < b'").allowed());
        // The flag's blocked_commands replaces the file's, not its rules.
        let flags = Policy::build(&[], &["rm".into()], true, f.rules.clone()).unwrap();
        assert!(!flags.decide("cat < /etc/shadow").allowed());
        assert!(flags.decide("dd if=/dev/zero of=/tmp/x count=1").allowed());
        assert!(flags
            .blocked_commands()
            .contains(&"re:<\\s*/ (rule no-input)".to_string()));
        // Under an allow list it refuses lines the list would allow.
        let listed = Policy::build(&["cat".into()], &[], true, f.rules).unwrap();
        assert!(listed.decide("cat /etc/hosts").allowed());
        assert!(!listed.decide("cat < /etc/shadow").allowed());
    }

    #[test]
    fn line_rules_are_checked_at_load() {
        let rule = |body: &str| format!("[[rule]]\nid = \"r\"\n{body}\n");
        for (body, want) in [
            (
                "decision = \"forbid\"\nline = \"x\"\nexamples = [\"y\"]",
                "example \"y\" should match",
            ),
            (
                "decision = \"forbid\"\nline = \"x\"\ncounter_examples = [\"ax\"]",
                "counter-example \"ax\"",
            ),
            ("line = \"x\"", "can only forbid"),
            (
                "decision = \"forbid\"\nline = \"x\"\nmatch = \"ls\"",
                "exclude each other",
            ),
            ("decision = \"forbid\"\nline = \"(\"", "line regex"),
            (
                "decision = \"forbid\"\nline = \"x\"\nexact = true",
                "veto and exact",
            ),
            ("decision = \"forbid\"", "needs match"),
        ] {
            let e = PolicyFile::parse(&rule(body), "b.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("b.toml:") && e.contains(want), "{body}: {e}");
        }
    }
}
