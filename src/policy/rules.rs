//! The rule model: which argv a rule matches and which arguments veto it.
//!
//! A [`Rule`] names a program (by basename, which also matches the system-PATH copies such
//! as `/usr/bin/ls`, or by a pinned absolute path), an argv-prefix pattern whose words may
//! be alternatives (`status|log`), `*` (exactly one word) or `**` (any number of words), and
//! per-argument [`Veto`]es. Allow rules allow; a veto turns a matching allow rule into a
//! refusal; forbid rules refuse. The engine takes the strictest answer over every rule.

use super::parse::Word;

/// One argument as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The resolved text (expansions keep their source text).
    pub text: String,
    /// One known word in every shell.
    pub exact: bool,
    /// May become zero or several words (unquoted expansion).
    pub split: bool,
    /// Not known before it runs, beyond a glob whose shape is known.
    pub unknown: bool,
    /// bash and dash read it differently (`$'…'`, `$"…"`): the text is bash's reading.
    pub dependent: bool,
    /// Not known, but what it becomes cannot start with `-`: the names find hands to
    /// `-exec` when every start point is a literal (they all start with one).
    pub option_free: bool,
}

impl Arg {
    /// A known literal word.
    pub fn lit(s: impl Into<String>) -> Arg {
        Arg {
            text: s.into(),
            exact: true,
            split: false,
            unknown: false,
            dependent: false,
            option_free: false,
        }
    }

    /// An argument whose value is not known (appended by xargs, `{}` of find -exec).
    pub fn unknown(s: impl Into<String>) -> Arg {
        Arg {
            text: s.into(),
            exact: false,
            split: true,
            unknown: true,
            dependent: false,
            option_free: false,
        }
    }

    /// Names find hands to `-exec` in place of `{}` in `text`, which cannot start with `-`.
    pub fn found_name(text: impl Into<String>) -> Arg {
        Arg {
            option_free: true,
            ..Arg::unknown(text)
        }
    }

    /// From a parsed word.
    pub fn from_word(w: &Word) -> Arg {
        Arg {
            text: w.text.clone(),
            exact: w.is_static(),
            split: w.split || w.glob,
            unknown: w.dynamic || w.shell_dependent,
            dependent: w.shell_dependent,
            option_free: false,
        }
    }

    /// True when the shell may hand the program something that starts with `-` here
    /// although the text does not show it (an expansion, or a glob starting with a wildcard).
    pub fn may_hide_option(&self) -> bool {
        let t = self.text.as_str();
        if self.exact || self.option_free && !t.starts_with('-') {
            return false;
        }
        // `~/x`, `$HOME/x`, `$PWD/x` expand to absolute paths (HOME comes from the server's
        // environment; the line may not set it), so they cannot become options.
        let rest = ["~", "${HOME}", "$HOME", "${PWD}", "$PWD"]
            .iter()
            .find_map(|p| t.strip_prefix(p));
        if let Some(rest) = rest {
            let tail_safe = !rest.contains(['$', '`', '{', '*', '?', '['])
                && (rest.is_empty() || rest.starts_with('/'));
            if tail_safe {
                return false;
            }
        }
        if self.unknown || t.starts_with('-') {
            return true;
        }
        matches!(t.as_bytes().first(), Some(b'*' | b'?' | b'[' | b'{') | None)
    }
}

/// The basename of a program word.
pub fn basename(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

/// Directories whose copies of a program a bare rule name also matches.
pub const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/usr/bin",
    "/usr/local/bin",
    "/sbin",
    "/usr/sbin",
    "/usr/local/sbin",
];

/// True when `word` runs the program a bare `name` would: `name` itself or a system-PATH copy.
pub fn program_is(word: &str, name: &str) -> bool {
    if word == name {
        return true;
    }
    match word.rsplit_once('/') {
        Some((dir, base)) => base == name && SYSTEM_DIRS.contains(&dir),
        None => false,
    }
}

/// The program a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A bare name: matches `name` and its copies in the system directories.
    Name(String),
    /// A pinned absolute path: matches exactly that word.
    Path(String),
}

impl Program {
    pub fn parse(s: &str) -> Program {
        if s.starts_with('/') {
            Program::Path(s.to_string())
        } else {
            Program::Name(s.to_string())
        }
    }

    pub fn matches(&self, word: &str) -> bool {
        match self {
            Program::Name(n) => program_is(word, n),
            Program::Path(p) => word == p,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Program::Name(s) | Program::Path(s) => s,
        }
    }
}

/// One word of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatWord {
    /// One of these exact words.
    Lit(Vec<String>),
    /// `*`: exactly one word.
    One,
    /// `**`: any number of words.
    Rest,
}

impl PatWord {
    pub fn parse(s: &str) -> PatWord {
        match s {
            "*" => PatWord::One,
            "**" => PatWord::Rest,
            _ => PatWord::Lit(s.split('|').map(String::from).collect()),
        }
    }
}

/// A program plus an argv pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Alternatives for the program word (`argv[0]`).
    pub programs: Vec<Program>,
    pub args: Vec<PatWord>,
    /// Without `exact`, the pattern is a prefix (an implicit trailing `**`).
    pub exact: bool,
}

impl Pattern {
    /// True when the argv matches. Unknown words never match a literal; a word that may
    /// split matches only `**`.
    pub fn matches(&self, argv: &[Arg]) -> bool {
        self.matches_with(argv, false)
    }

    /// Like [`Pattern::matches`], but the program word matches by its basename wherever
    /// it lives: for forbid rules, which must not be dodged by `//usr/bin/git`,
    /// `/usr/bin/./git`, a copy elsewhere, or plain `git` against a pinned `/usr/bin/git`.
    pub fn matches_anywhere(&self, argv: &[Arg]) -> bool {
        self.matches_with(argv, true)
    }

    fn matches_with(&self, argv: &[Arg], anywhere: bool) -> bool {
        let Some(prog) = argv.first() else {
            return false;
        };
        let named = |p: &Program| {
            if anywhere {
                basename(&prog.text) == basename(p.text())
            } else {
                p.matches(&prog.text)
            }
        };
        if !prog.exact || !self.programs.iter().any(named) {
            return false;
        }
        match_words(&self.args, &argv[1..], !self.exact)
    }

    /// The pattern as text (`git status|log **`).
    pub fn text(&self) -> String {
        let mut out = vec![self
            .programs
            .iter()
            .map(Program::text)
            .collect::<Vec<_>>()
            .join("|")];
        for a in &self.args {
            out.push(match a {
                PatWord::Lit(alts) => alts.join("|"),
                PatWord::One => "*".into(),
                PatWord::Rest => "**".into(),
            });
        }
        out.join(" ")
    }
}

fn match_words(pat: &[PatWord], args: &[Arg], prefix: bool) -> bool {
    match pat.split_first() {
        None => prefix || args.is_empty(),
        Some((PatWord::Rest, rest)) => {
            (0..=args.len()).any(|i| match_words(rest, &args[i..], prefix))
        }
        Some((PatWord::One, rest)) => match args.split_first() {
            Some((a, tail)) if !a.split => match_words(rest, tail, prefix),
            _ => false,
        },
        Some((PatWord::Lit(alts), rest)) => match args.split_first() {
            Some((a, tail)) if a.exact && alts.contains(&a.text) => match_words(rest, tail, prefix),
            _ => false,
        },
    }
}

/// How a veto recognises an argument.
#[derive(Debug, Clone)]
pub enum VetoKind {
    /// The argument equals this.
    Exact(String),
    /// The argument starts with this.
    Prefix(String),
    /// The regex matches the argument.
    Regex(regex::Regex),
    /// An option, recognised the way programs parse it: `--long` also as `--long=value` and
    /// as any abbreviation (`--to-com`); `-x` also inside bundles (`-vx`) and with an
    /// attached value (`-xVALUE`); `-word` (find style) also as `-word=…`.
    Option(String),
}

/// A per-argument veto on an allow rule.
#[derive(Debug, Clone)]
pub struct Veto {
    pub kind: VetoKind,
    /// Why this argument is refused.
    pub why: Option<String>,
}

impl PartialEq for Veto {
    fn eq(&self, other: &Veto) -> bool {
        self.text() == other.text() && self.why == other.why
    }
}

impl Veto {
    /// A veto written as a string in a flag or policy file: an option when it starts with `-`.
    pub fn option(s: &str) -> Veto {
        Veto {
            kind: if s.starts_with('-') {
                VetoKind::Option(s.to_string())
            } else {
                VetoKind::Exact(s.to_string())
            },
            why: None,
        }
    }

    /// The veto as text, for messages.
    pub fn text(&self) -> String {
        match &self.kind {
            VetoKind::Exact(s) => s.clone(),
            VetoKind::Prefix(s) => format!("{s}…"),
            VetoKind::Regex(r) => format!("/{}/", r.as_str()),
            VetoKind::Option(s) => s.clone(),
        }
    }

    /// True when the argument text triggers the veto. An `exact`, `prefix` or `regex` veto
    /// also sees the other spellings of a path in the argument ([`path_spellings`]), so
    /// `/run/./secrets/x`, `/run//secrets/x` and `/run/x/../secrets/x` meet a veto on
    /// `/run/secrets` as the kernel would resolve them.
    pub fn matches(&self, arg: &str) -> bool {
        let one = |a: &str| match &self.kind {
            VetoKind::Exact(s) => a == s,
            VetoKind::Prefix(s) => a.starts_with(s.as_str()),
            VetoKind::Regex(r) => r.is_match(a),
            VetoKind::Option(o) => option_matches(o, a),
        };
        one(arg)
            || (!matches!(self.kind, VetoKind::Option(_))
                && path_spellings(arg).iter().any(|p| one(p)))
    }

    /// True when the argument triggers the veto or may (its value is not known).
    pub fn could_match(&self, arg: &Arg) -> bool {
        if arg.exact {
            return self.matches(&arg.text);
        }
        match &self.kind {
            VetoKind::Option(_) => arg.may_hide_option() || self.matches(&arg.text),
            _ => arg.unknown || self.matches(&arg.text) || arg.may_hide_option(),
        }
    }
}

/// The other spellings of the path in `arg` (its text split at `/`, so a value such as
/// `--file=/run/./x` or `@/run//x` counts too): without `.` segments and doubled slashes,
/// and that with each `dir/..` pair taken out as well (`/run/x/../secrets` is
/// `/run/secrets` unless `x` is a symbolic link; the form that keeps `..` is offered
/// too, so a veto sees both). A `..` with nothing before it to take out stays. Empty when
/// `arg` has no `/` or is spelled that way already.
pub fn path_spellings(arg: &str) -> Vec<String> {
    if !arg.contains('/') {
        return Vec::new();
    }
    let absolute = arg.starts_with('/');
    let trailing = arg.len() > 1 && arg.ends_with('/');
    let join = |parts: &[&str]| {
        let mut out = parts.join("/");
        if absolute {
            out.insert(0, '/');
        }
        if trailing && !parts.is_empty() {
            out.push('/');
        }
        out
    };
    let kept: Vec<&str> = arg
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let mut resolved: Vec<&str> = Vec::new();
    for c in &kept {
        match *c {
            ".." if resolved.last().is_some_and(|l| *l != "..") => {
                resolved.pop();
            }
            ".." if absolute => {}
            c => resolved.push(c),
        }
    }
    let mut out: Vec<String> = Vec::new();
    for p in [join(&kept), join(&resolved)] {
        if p != arg && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Option matching as getopt would see it; see [`VetoKind::Option`].
pub fn option_matches(opt: &str, arg: &str) -> bool {
    if let Some(long) = opt.strip_prefix("--") {
        let Some(given) = arg.strip_prefix("--") else {
            return false;
        };
        let name = given.split('=').next().unwrap_or(given);
        !name.is_empty() && long.starts_with(name)
    } else if let Some(short) = opt.strip_prefix('-') {
        if short.chars().count() == 1 {
            arg.starts_with('-') && !arg.starts_with("--") && arg[1..].contains(short)
        } else {
            arg == opt || arg.strip_prefix(opt).is_some_and(|r| r.starts_with('='))
        }
    } else {
        arg == opt
    }
}

/// Allow or forbid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleDecision {
    Allow,
    Forbid,
}

/// A rule with its stable id and justification.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub decision: RuleDecision,
    pub pattern: Pattern,
    pub vetoes: Vec<Veto>,
    pub justification: String,
    /// A policy file's `line` rule: a forbid rule on the whole line's text (like a
    /// `re:` entry of `blocked_commands`, but a rule: no flag replaces it). Its `pattern`
    /// names no program, so it never matches an argv.
    pub line: Option<LineRegex>,
}

/// The regular expression of a `line` rule (equal when its text is).
#[derive(Debug, Clone)]
pub struct LineRegex(pub regex::Regex);

impl PartialEq for LineRegex {
    fn eq(&self, other: &LineRegex) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// What one rule says about one argv.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleOutcome {
    /// The rule does not apply.
    NoMatch,
    /// An allow rule matched and no veto fired.
    Allow,
    /// A forbid rule matched, or a veto fired on an allow rule: the reason.
    Deny(String),
}

impl Rule {
    /// Applies the rule to an argv.
    pub fn apply(&self, argv: &[Arg]) -> RuleOutcome {
        let hit = match self.decision {
            RuleDecision::Forbid => self.pattern.matches_anywhere(argv),
            RuleDecision::Allow => self.pattern.matches(argv),
        };
        if !hit {
            return RuleOutcome::NoMatch;
        }
        match self.decision {
            RuleDecision::Forbid => RuleOutcome::Deny(if self.justification.is_empty() {
                format!("`{}` is forbidden by rule {}", self.pattern.text(), self.id)
            } else {
                format!(
                    "`{}` is forbidden by rule {}: {}",
                    self.pattern.text(),
                    self.id,
                    self.justification
                )
            }),
            RuleDecision::Allow => {
                for a in &argv[1..] {
                    if let Some(v) = self.vetoes.iter().find(|v| v.could_match(a)) {
                        let why = v.why.clone().unwrap_or_else(|| {
                            format!("the argument {} is vetoed for this program", v.text())
                        });
                        // Refused for what it may become, not for what it shows: say so
                        // rather than give one veto's reason as if it had matched.
                        if !a.exact && !v.matches(&a.text) {
                            return RuleOutcome::Deny(format!(
                                "argument {:?} is only known when it runs, so it may be what rule {} vetoes (such as: {why}); write it literally",
                                a.text, self.id
                            ));
                        }
                        let shown = if a.exact {
                            format!("{:?}", a.text)
                        } else {
                            format!("{:?} (whose value is only known when it runs)", a.text)
                        };
                        return RuleOutcome::Deny(format!(
                            "argument {shown} is refused by rule {}: {why}",
                            self.id
                        ));
                    }
                }
                RuleOutcome::Allow
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Arg> {
        s.split_whitespace().map(Arg::lit).collect()
    }

    fn pat(s: &str, exact: bool) -> Pattern {
        let mut w = s.split_whitespace();
        Pattern {
            programs: w.next().unwrap().split('|').map(Program::parse).collect(),
            args: w.map(PatWord::parse).collect(),
            exact,
        }
    }

    #[test]
    fn patterns() {
        assert!(pat("git status|log", false).matches(&argv("git log -p")));
        assert!(!pat("git status|log", false).matches(&argv("git push")));
        assert!(pat("git * --force", true).matches(&argv("git push --force")));
        assert!(!pat("git * --force", true).matches(&argv("git push x --force")));
        assert!(pat("git ** --force", true).matches(&argv("git push x --force")));
        assert!(pat("ls", false).matches(&argv("/usr/bin/ls -l")));
        assert!(!pat("ls", false).matches(&argv("./ls")));
        assert!(pat("/opt/x/ls", false).matches(&argv("/opt/x/ls")));
        assert!(!pat("/opt/x/ls", false).matches(&argv("ls")));
    }

    #[test]
    fn path_spellings_resolve_dot_slash_and_dotdot() {
        assert_eq!(path_spellings("/run/./secrets/x"), vec!["/run/secrets/x"]);
        assert_eq!(
            path_spellings("/run/.//secrets/db"),
            vec!["/run/secrets/db"]
        );
        assert_eq!(path_spellings("/run/x/../secrets"), vec!["/run/secrets"]);
        assert_eq!(
            path_spellings("/run/./x/../secrets/"),
            vec!["/run/x/../secrets/", "/run/secrets/"]
        );
        assert_eq!(path_spellings("/../run/secrets"), vec!["/run/secrets"]);
        assert_eq!(path_spellings("../../x"), Vec::<String>::new());
        assert_eq!(path_spellings("a/../../x"), vec!["../x"]);
        assert_eq!(
            path_spellings("--file=/run/./secrets"),
            vec!["--file=/run/secrets"]
        );
        assert!(path_spellings("/run/secrets/x").is_empty());
        assert!(path_spellings("plain").is_empty());
        assert!(path_spellings("/").is_empty());
    }

    #[test]
    fn vetoes_see_the_resolved_path() {
        let prefix = Veto {
            kind: VetoKind::Prefix("/run/secrets".into()),
            why: None,
        };
        for a in [
            "/run/./secrets/x",
            "/run//secrets",
            "/run/x/../secrets/db",
            "/./run/secrets",
        ] {
            assert!(prefix.matches(a), "{a}");
        }
        assert!(!prefix.matches("/run/x/../y"));
        assert!(!prefix.matches("/tmp/run/secrets"));
        let regex = Veto {
            kind: VetoKind::Regex(regex::Regex::new("run/+secrets").unwrap()),
            why: None,
        };
        assert!(regex.matches("/run/./secrets"));
        let exact = Veto {
            kind: VetoKind::Exact(".git/config".into()),
            why: None,
        };
        assert!(exact.matches("./.git//config"));
    }

    #[test]
    fn options() {
        assert!(option_matches("--to-command", "--to-com=sh"));
        assert!(option_matches("--to-command", "--to-command"));
        assert!(!option_matches("--to-command", "--"));
        assert!(option_matches("-c", "-vc"));
        assert!(!option_matches("-c", "--color"));
        assert!(option_matches("-exec", "-exec"));
        assert!(!option_matches("-exec", "-executable"));
    }
}
