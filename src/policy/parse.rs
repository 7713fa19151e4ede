//! A focused parser for the POSIX sh grammar plus the bash extensions agents send.
//!
//! Its only job is to find every simple command a line would run, with its words resolved
//! as far as they can be known before the line runs, and to note every construct whose
//! effect cannot be known ("issues"). It never executes or expands anything.
//!
//! Output is flat: [`Script::commands`] lists every simple command in the line — top level,
//! inside subshells, groups, compound commands, function bodies and command/process
//! substitutions (also nested, in double quotes, in `${x:-…}` and arithmetic) — in the
//! order they end in the source. Anything the parser does not understand is an error, so
//! the policy fails closed.

use std::ops::Range;

/// Deepest nesting accepted (substitutions, groups, quotes); deeper is refused, not parsed.
const MAX_DEPTH: usize = 48;

/// How far a glob or brace check looks ahead inside a word.
const LOOKAHEAD: usize = 256;

/// One word of a simple command as the shell would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes and escapes resolved; expansions keep their source text (`$HOME`).
    pub text: String,
    /// Contains a parameter, command or arithmetic expansion, or `~`: the value is unknown.
    pub dynamic: bool,
    /// Contains an unquoted expansion, so field splitting may turn it into 0..n words.
    pub split: bool,
    /// Contains an unquoted glob character (`*` `?` `[`) or brace expansion.
    pub glob: bool,
    /// bash and dash read it differently (`$'…'`, `$"…"`, `{a,b}`).
    pub shell_dependent: bool,
    /// Indices into [`Script::commands`] of the commands run by substitutions in this word.
    pub subs: Range<usize>,
}

impl Word {
    /// True when the word is one known string in every shell.
    pub fn is_static(&self) -> bool {
        !self.dynamic && !self.split && !self.glob && !self.shell_dependent
    }
}

/// A redirection operator class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirKind {
    /// `<`, `<<<`, `<&N`, here-documents.
    Input,
    /// `>`, `>>`, `>|`, `&>`, `&>>`, `<>`, `>&file`: writes a file.
    Output,
    /// `>&N`, `N<&M`, `>&-`: duplicates or closes a descriptor.
    Dup,
}

/// One redirection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub kind: RedirKind,
    /// The operator as written (`>`, `>>`, `<>`, `>&`, `&>` …).
    pub op: &'static str,
    /// The descriptor number written before the operator (`2>`, `3>>`), if any.
    pub fd: Option<u32>,
    pub target: Word,
    /// A here-document or here-string (`<<`, `<<-`, `<<<`).
    pub here: bool,
    /// A here-document's body: an index into [`Script::heredocs`].
    pub heredoc: Option<usize>,
    /// A here-string, or a here-document whose delimiter is not quoted: the shell expands
    /// `$NAME` in its text.
    pub expands: bool,
}

impl Redirect {
    /// `>>`, `&>>`: writes after what the file holds instead of truncating it.
    pub fn appends(&self) -> bool {
        matches!(self.op, ">>" | "&>>")
    }

    /// Applies to the command's standard output: no descriptor or 1 (`>`, `1>>`, `>&3`),
    /// or both outputs (`&>`, `>&FILE`). A bare `<>` opens standard input.
    pub fn on_stdout(&self) -> bool {
        match self.fd {
            None => self.op != "<>",
            Some(fd) => fd == 1 || self.op.starts_with('&'),
        }
    }

    /// `<>`: opens the file for reading and writing without emptying it, so what is
    /// written lands over what it held.
    pub fn overwrites_in_place(&self) -> bool {
        self.op == "<>"
    }
}

/// A `NAME=value` assignment (before a command or alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    pub value: Word,
    /// `NAME+=VALUE` (bash appends).
    pub append: bool,
}

/// A simple command: assignments, words, redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    pub assignments: Vec<Assignment>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    /// Runs in a separate process from its caller: pipeline member, `&`, subshell, substitution.
    pub forks: bool,
    /// The innermost function definition whose body holds it.
    pub function: Option<usize>,
    /// (pipeline id, stage index) for every enclosing pipeline of two or more stages.
    pub stages: Vec<(u32, u16)>,
    /// Stdin comes from a here-document or here-string.
    pub stdin_heredoc: bool,
}

impl SimpleCommand {
    /// The program word, if any.
    pub fn program(&self) -> Option<&Word> {
        self.words.first()
    }
}

/// A function definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
}

/// A construct whose effect cannot be known before the line runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Stable rule id, e.g. `unverifiable:heredoc`.
    pub id: &'static str,
    /// Why, for a model to act on.
    pub reason: String,
}

/// What kind of loop a [`Loop`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopKind {
    While,
    Until,
    /// `for ((init; cond; step))`: the condition expression's source text.
    Arith(String),
    /// `for x in …`, `select …`: runs once per word.
    Words,
}

/// A bash test command (`(( … ))`, `[[ … ]]`), which records no simple command of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// `(( expr ))`: the expression's source text, trimmed.
    Arith(String),
    /// `[[ … ]]` without `!`, `&&`, `||`, `<`, `>` or parentheses: its words.
    Bracket(Vec<Word>),
}

/// A loop: its condition and body as ranges of [`Script::commands`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loop {
    pub kind: LoopKind,
    /// The commands of a `while`/`until` condition.
    pub cond: Range<usize>,
    /// The condition's last pipeline is negated with `!`.
    pub cond_negated: bool,
    /// The condition's last pipeline is one bash test command.
    pub cond_test: Option<Test>,
    /// The commands of the body (nested loops, groups and substitutions included).
    pub body: Range<usize>,
    /// Where the loop's input comes from: the target of a `<` after `done`.
    pub input: Option<Word>,
    /// `for NAME in WORDS`: the variable and the words it takes in turn.
    pub var: Option<(String, Vec<Word>)>,
}

/// The parsed line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<SimpleCommand>,
    pub functions: Vec<Function>,
    pub issues: Vec<Issue>,
    pub loops: Vec<Loop>,
    /// Commands started asynchronously: each range is one list element ended by `&` (or
    /// the `a` of `a &>f`, which dash reads as `a &`).
    pub background: Vec<Range<usize>>,
    /// Here-document bodies as written (before expansion), in the order they were opened.
    pub heredocs: Vec<String>,
    /// `${NAME:=V}` and `${NAME=V}` anywhere in the line (a word, an assignment's value, a
    /// redirection's target, a here-document, a `case` or `for` word, `[[ … ]]`), which
    /// set NAME when it runs: NAME and V as written. `${!REF:=V}` sets the variable REF
    /// names, and is listed with the name `!`.
    pub defaults: Vec<(String, String)>,
    /// `for NAME in WORDS`: the loop variable and the words it takes in turn.
    pub loop_values: Vec<(String, Vec<Word>)>,
    /// The and-or lists of the line's top level (outside any group, loop, function,
    /// subshell or substitution), each pipeline with how it is joined to the one before.
    pub chains: Vec<Vec<Link>>,
    /// Redirections of compound commands (`{ …; } > f`, `( … ) > f`, `while …; done < f`),
    /// each with the commands it applies to (a range of [`Script::commands`]).
    pub compound_redirects: Vec<(Range<usize>, Redirect)>,
    /// Indexes and answers the policy works out once per line ([`super::lookups`]).
    pub(crate) lookups: super::lookups::Lookups,
}

/// One pipeline of a top-level and-or list (`a && b || c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Its commands, as a range of [`Script::commands`] (substitutions included).
    pub commands: Range<usize>,
    /// Joined to the pipeline before by `&&`: it runs only if that one succeeded.
    pub after_and: bool,
    /// Starts with `!`.
    pub negated: bool,
    /// Is one simple command (no group, loop, `if`, `case` or subshell around it).
    pub simple: bool,
}

/// The line is not shell the parser understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

/// Parses a command line.
pub fn parse(line: &str) -> Result<Script, ParseError> {
    check_continuations(line.as_bytes())?;
    let mut script = Script::default();
    let mut next_pipeline = 0u32;
    let mut p = Parser {
        s: line.as_bytes(),
        pos: 0,
        depth: 0,
        out: &mut script,
        pending: Vec::new(),
        next_pipeline: &mut next_pipeline,
        posix: false,
        negated: false,
        test: None,
        last_test: None,
        simple: false,
    };
    let ctx = Ctx::default();
    p.list(&ctx, Term::Eof)?;
    if p.pos < p.s.len() {
        return Err(p.err("unexpected text"));
    }
    if !p.pending.is_empty() {
        p.read_heredocs(&ctx)?;
    }
    Ok(script)
}

/// Shells remove backslash-newline before they split tokens, so `$\<newline>(id)` is `$(id)`
/// and `&\<newline>&` is `&&`. The parser removes continuations inside words and between
/// them; one that splits an operator or an expansion is refused rather than modelled.
fn check_continuations(s: &[u8]) -> Result<(), ParseError> {
    let mut i = 0;
    while i + 1 < s.len() {
        if s[i] != b'\\' {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < s.len() && s[i] == b'\\' {
            i += 1;
        }
        let odd = (i - run_start) % 2 == 1;
        if odd && s.get(i) == Some(&b'\n') {
            let prev = (i - run_start == 1 && run_start > 0).then(|| s[run_start - 1]);
            let next = s.get(i + 1).copied();
            let splits = |c: Option<u8>, set: &[u8]| c.is_some_and(|c| set.contains(&c));
            // `&\⏎&`, `$\⏎(`; a word character next to an operator joins nothing, except
            // a descriptor number (`2\⏎>x` is `2>x`).
            if splits(prev, b"$&|;<>()")
                || (splits(next, b"&|;<>()") && prev.is_some_and(|c| c.is_ascii_digit()))
            {
                return Err(ParseError(
                    "a line continuation (backslash-newline) splits an operator or an expansion; put it between words".into(),
                ));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
struct Ctx {
    forks: bool,
    function: Option<usize>,
    stages: Vec<(u32, u16)>,
}

/// Where a backquote substitution sits, which decides what `\"` means inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bq {
    Dq,
    Unquoted,
    Unsure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Eof,
    Paren,
    Reserved,
}

struct Pending {
    /// Index into [`Script::heredocs`].
    index: usize,
    delim: String,
    strip_tabs: bool,
    expand: bool,
}

struct Parser<'a, 's> {
    s: &'s [u8],
    pos: usize,
    depth: usize,
    out: &'a mut Script,
    pending: Vec<Pending>,
    next_pipeline: &'a mut u32,
    /// Read `[[` and `((` the way dash does (a command, nested subshells).
    posix: bool,
    /// The last pipeline parsed started with `!`.
    negated: bool,
    /// The command just parsed was a bash test (taken by the pipeline that holds it).
    test: Option<Test>,
    /// The last pipeline parsed was one bash test command.
    last_test: Option<Test>,
    /// The command just parsed was a simple command (no group, loop, `if`, `case` or
    /// subshell around it).
    simple: bool,
}

/// The most commands one pipeline may have. What a stage is fed is followed through every
/// stage before it, and what the line's files hold through each of them: a 16 KiB pipeline
/// of `echo x | tee aN | …` took 98 s of a CPU to decide. Real pipelines are a few stages.
pub const MAX_PIPELINE_STAGES: usize = 32;

/// What a [`ParseError`] says of shell the shells would run but the policy does not read.
const TOO_COMPLEX: &str = "more than the policy reads";

impl ParseError {
    /// The shells would run it, but the policy does not read that much (not a syntax error,
    /// which stops the shells too).
    pub fn too_complex(&self) -> bool {
        self.0.contains(TOO_COMPLEX)
    }
}

const CLOSERS: &[&str] = &["}", "then", "elif", "else", "fi", "do", "done", "esac"];

fn is_meta(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_name(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// Accumulates one word (or several, when an unquoted `$IFS` splits it).
#[derive(Default)]
struct WordBuf {
    text: Vec<u8>,
    dynamic: bool,
    split: bool,
    glob: bool,
    shell_dependent: bool,
    quoted: bool,
    started: bool,
}

impl WordBuf {
    fn finish(self, subs: Range<usize>) -> Word {
        Word {
            text: String::from_utf8_lossy(&self.text).into_owned(),
            dynamic: self.dynamic,
            split: self.split,
            glob: self.glob,
            shell_dependent: self.shell_dependent,
            subs,
        }
    }
}

impl<'s> Parser<'_, 's> {
    fn err(&self, what: &str) -> ParseError {
        let near: String = String::from_utf8_lossy(&self.s[self.pos.min(self.s.len())..])
            .chars()
            .take(20)
            .collect();
        if near.is_empty() {
            ParseError(format!("{what} at the end of the line"))
        } else {
            ParseError(format!("{what} near {near:?}"))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.s.get(self.pos + n).copied()
    }

    fn starts(&self, t: &str) -> bool {
        self.s[self.pos..].starts_with(t.as_bytes())
    }

    fn issue(&mut self, id: &'static str, reason: impl Into<String>) {
        let reason = reason.into();
        if !self.out.issues.iter().any(|i| i.id == id) {
            self.out.issues.push(Issue { id, reason });
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError("the line nests too deeply to be checked".into()));
        }
        Ok(())
    }

    /// Skips blanks, line continuations and comments (not newlines).
    fn blanks(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\\') if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                Some(b'#') => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Consumes one newline and then any pending here-document bodies.
    fn newline(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        self.pos += 1;
        if !self.pending.is_empty() {
            self.read_heredocs(ctx)?;
        }
        Ok(())
    }

    fn blanks_newlines(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        loop {
            self.blanks();
            if self.peek() == Some(b'\n') {
                self.newline(ctx)?;
            } else {
                return Ok(());
            }
        }
    }

    fn read_heredocs(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        for h in std::mem::take(&mut self.pending) {
            let mut body = Vec::new();
            loop {
                if self.pos >= self.s.len() {
                    break;
                }
                let end = self.s[self.pos..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map(|i| self.pos + i)
                    .unwrap_or(self.s.len());
                let mut line = &self.s[self.pos..end];
                self.pos = (end + 1).min(self.s.len());
                if h.strip_tabs {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                if line == h.delim.as_bytes() {
                    break;
                }
                // Inside `$( … )` bash also ends the body at `DELIM)`.
                if line.starts_with(h.delim.as_bytes())
                    && line[h.delim.len()..].first() == Some(&b')')
                {
                    self.issue(
                        "unverifiable:heredoc",
                        "a here-document line starts with its delimiter followed by `)`, where bash ends the here-document inside $( … ) and dash does not",
                    );
                }
                body.extend_from_slice(line);
                body.push(b'\n');
            }
            if let Some(slot) = self.out.heredocs.get_mut(h.index) {
                *slot = String::from_utf8_lossy(&body).into_owned();
            }
            if h.expand && body.iter().any(|&c| c == b'$' || c == b'`' || c == b'\\') {
                self.issue(
                    "unverifiable:heredoc",
                    "a here-document without a quoted delimiter expands $variables and $(commands) in its body; quote the delimiter (<<'EOF') so the body is plain text",
                );
                self.sub_parse_text(&body, ctx, true)?;
            }
        }
        Ok(())
    }

    /// Parses `text` as the inside of double quotes (here-document bodies) or as a list
    /// (backquotes), recording the commands it runs.
    fn sub_parse_text(&mut self, text: &[u8], ctx: &Ctx, dq: bool) -> Result<(), ParseError> {
        self.enter()?;
        let r = self.sub_parse_text_inner(text, ctx, dq);
        self.depth -= 1;
        r
    }

    fn sub_parse_text_inner(&mut self, text: &[u8], ctx: &Ctx, dq: bool) -> Result<(), ParseError> {
        let mut sub = Parser {
            s: text,
            pos: 0,
            depth: self.depth,
            out: &mut *self.out,
            pending: Vec::new(),
            next_pipeline: &mut *self.next_pipeline,
            posix: self.posix,
            negated: false,
            test: None,
            last_test: None,
            simple: false,
        };
        if dq {
            let mut wb = WordBuf::default();
            while sub.pos < sub.s.len() {
                sub.dq_char(&mut wb, ctx, Bq::Unsure)?;
            }
        } else {
            let mut c = ctx.clone();
            c.forks = true;
            sub.list(&c, Term::Eof)?;
            if sub.pos < sub.s.len() {
                return Err(sub.err("unexpected text in backquotes"));
            }
            if !sub.pending.is_empty() {
                sub.read_heredocs(&c)?;
            }
        }
        Ok(())
    }

    /// Parses `text` the way dash reads it (`[[` a command, `((` nested subshells) and records
    /// the commands it would run there. A text dash cannot parse runs nothing, so errors are
    /// ignored.
    fn sub_parse_posix(&mut self, text: &[u8], ctx: &Ctx) -> Result<(), ParseError> {
        self.enter()?;
        let mut sub = Parser {
            s: text,
            pos: 0,
            depth: self.depth,
            out: &mut *self.out,
            pending: Vec::new(),
            next_pipeline: &mut *self.next_pipeline,
            posix: true,
            negated: false,
            test: None,
            last_test: None,
            simple: false,
        };
        let mut c = ctx.clone();
        c.forks = true;
        let _ = sub.list(&c, Term::Eof);
        self.depth -= 1;
        Ok(())
    }

    /// The next word if it is a plain unquoted literal followed by a delimiter.
    fn peek_reserved(&self) -> Option<&'s str> {
        let start = self.pos;
        let mut end = start;
        while end < self.s.len() && !is_meta(self.s[end]) {
            let c = self.s[end];
            if matches!(c, b'\'' | b'"' | b'\\' | b'$' | b'`') {
                return None;
            }
            end += 1;
        }
        if end == start {
            return None;
        }
        std::str::from_utf8(&self.s[start..end]).ok()
    }

    fn at_reserved(&self, w: &str) -> bool {
        self.peek_reserved() == Some(w)
    }

    fn expect_reserved(&mut self, w: &str, ctx: &Ctx) -> Result<(), ParseError> {
        self.blanks_newlines(ctx)?;
        if self.at_reserved(w) {
            self.pos += w.len();
            Ok(())
        } else {
            Err(self.err(&format!("expected `{w}`")))
        }
    }

    /// list := and_or ((';' | '&' | newline) and_or)*
    fn list(&mut self, ctx: &Ctx, term: Term) -> Result<(), ParseError> {
        self.enter()?;
        loop {
            self.blanks_newlines(ctx)?;
            match self.peek() {
                None => break,
                Some(b')') => {
                    if term == Term::Eof {
                        return Err(self.err("unexpected `)`"));
                    }
                    break;
                }
                Some(b';') if self.peek_at(1) == Some(b';') || self.peek_at(1) == Some(b'&') => {
                    if term == Term::Eof {
                        return Err(self.err("unexpected `;;`"));
                    }
                    break;
                }
                _ => {}
            }
            if let Some(w) = self.peek_reserved() {
                if CLOSERS.contains(&w) {
                    if term == Term::Eof {
                        return Err(self.err(&format!("unexpected `{w}`")));
                    }
                    break;
                }
            }
            let start = self.out.commands.len();
            self.and_or(ctx)?;
            self.blanks();
            let bg = match self.peek() {
                Some(b'&') if self.peek_at(1) != Some(b'&') => {
                    self.pos += 1;
                    true
                }
                Some(b';') if self.peek_at(1) != Some(b';') && self.peek_at(1) != Some(b'&') => {
                    self.pos += 1;
                    false
                }
                Some(b'\n') => {
                    self.newline(ctx)?;
                    false
                }
                None | Some(b')' | b';') => false,
                _ if self.peek_reserved().is_some_and(|w| CLOSERS.contains(&w)) => false,
                _ => return Err(self.err("unexpected text after a command")),
            };
            if bg {
                for c in &mut self.out.commands[start..] {
                    c.forks = true;
                }
                let end = self.out.commands.len();
                self.out.background.push(start..end);
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// and_or := pipeline (('&&' | '||') newline* pipeline)*
    fn and_or(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        // Only the line's own list is recorded: nested lists run in a group, a loop, a
        // function or a subshell, which the chains' readers do not follow.
        let top = self.depth == 1 && !ctx.forks && ctx.function.is_none();
        let mut chain = Vec::new();
        let mut after_and = false;
        loop {
            let start = self.out.commands.len();
            self.simple = false;
            self.pipeline(ctx)?;
            chain.push(Link {
                commands: start..self.out.commands.len(),
                after_and,
                negated: self.negated,
                simple: self.simple,
            });
            self.blanks();
            if self.starts("&&") || self.starts("||") {
                after_and = self.starts("&&");
                self.pos += 2;
                self.blanks_newlines(ctx)?;
            } else {
                if top {
                    self.out.chains.push(chain);
                }
                return Ok(());
            }
        }
    }

    /// pipeline := ['!'] command (('|' | '|&') newline* command)*
    fn pipeline(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        self.blanks();
        let negated = self.at_reserved("!");
        if negated {
            self.pos += 1;
            self.blanks();
        }
        // Parse the first stage, then decide whether this is a real pipeline.
        let id = *self.next_pipeline;
        *self.next_pipeline += 1;
        let mut stage: u16 = 0;
        let mut starts = vec![self.out.commands.len()];
        loop {
            let mut c = ctx.clone();
            c.stages.push((id, stage));
            self.command(&c)?;
            self.blanks();
            if self.peek() == Some(b'|') && self.peek_at(1) != Some(b'|') {
                self.pos += 1;
                if self.peek() == Some(b'&') {
                    self.pos += 1;
                }
                self.blanks_newlines(ctx)?;
                stage = stage.saturating_add(1);
                if usize::from(stage) >= MAX_PIPELINE_STAGES {
                    return Err(self.err(&format!(
                        "a pipeline of more than {MAX_PIPELINE_STAGES} commands, {TOO_COMPLEX}"
                    )));
                }
                starts.push(self.out.commands.len());
            } else {
                break;
            }
        }
        self.negated = negated;
        let test = self.test.take();
        self.last_test = test.filter(|_| stage == 0);
        let cmds = &mut self.out.commands[starts[0]..];
        if stage == 0 {
            for c in cmds {
                c.stages.retain(|&(p, _)| p != id);
            }
        } else {
            for c in cmds {
                c.forks = true;
            }
        }
        Ok(())
    }

    fn command(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        self.enter()?;
        self.blanks();
        let simple = self.at_simple();
        let r = self.command_inner(ctx);
        // Set after the substitutions inside it, which are commands of their own.
        self.simple = simple;
        self.depth -= 1;
        r
    }

    /// Whether the command that starts here is a simple one (not `(`, `((`, or a reserved
    /// word that opens a compound command).
    fn at_simple(&self) -> bool {
        self.peek() != Some(b'(')
            && !matches!(
                self.peek_reserved(),
                Some(
                    "{" | "if" | "while" | "until" | "for" | "select" | "case" | "function" | "[["
                )
            )
    }

    fn command_inner(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        let start = self.out.commands.len();
        match self.peek() {
            None => return Err(self.err("expected a command")),
            Some(b'(') if self.peek_at(1) == Some(b'(') && !self.posix => {
                // bash: arithmetic; dash: two nested subshells — `((rm -rf /))` runs rm there.
                let start = self.pos;
                self.pos += 2;
                self.arith_body(ctx)?;
                let text = self.s[start..self.pos].to_vec();
                self.sub_parse_posix(&text, ctx)?;
                self.trailing_redirects(ctx, start)?;
                let expr = String::from_utf8_lossy(&text[2..text.len() - 2]);
                self.test = Some(Test::Arith(expr.trim().to_string()));
                return Ok(());
            }
            Some(b'(') => {
                self.pos += 1;
                let mut c = ctx.clone();
                c.forks = true;
                self.list(&c, Term::Paren)?;
                if self.peek() != Some(b')') {
                    return Err(self.err("expected `)`"));
                }
                self.pos += 1;
                self.trailing_redirects(ctx, start)?;
                return Ok(());
            }
            Some(b')' | b';' | b'&' | b'|') => return Err(self.err("expected a command")),
            _ => {}
        }
        let Some(w) = self.peek_reserved() else {
            return self.simple(ctx);
        };
        match w {
            "{" => {
                self.pos += 1;
                self.list(ctx, Term::Reserved)?;
                self.expect_reserved("}", ctx)?;
            }
            "if" => {
                self.pos += 2;
                self.list(ctx, Term::Reserved)?;
                self.expect_reserved("then", ctx)?;
                self.list(ctx, Term::Reserved)?;
                loop {
                    self.blanks_newlines(ctx)?;
                    if self.at_reserved("elif") {
                        self.pos += 4;
                        self.list(ctx, Term::Reserved)?;
                        self.expect_reserved("then", ctx)?;
                        self.list(ctx, Term::Reserved)?;
                    } else if self.at_reserved("else") {
                        self.pos += 4;
                        self.list(ctx, Term::Reserved)?;
                    } else {
                        break;
                    }
                }
                self.expect_reserved("fi", ctx)?;
            }
            "while" | "until" => {
                self.pos += w.len();
                let c0 = self.out.commands.len();
                self.list(ctx, Term::Reserved)?;
                let cond = c0..self.out.commands.len();
                let cond_negated = self.negated;
                let cond_test = self.last_test.take();
                let b0 = self.out.commands.len();
                self.do_group(ctx)?;
                self.out.loops.push(Loop {
                    kind: if w == "while" {
                        LoopKind::While
                    } else {
                        LoopKind::Until
                    },
                    cond,
                    cond_negated,
                    cond_test,
                    body: b0..self.out.commands.len(),
                    input: None,
                    var: None,
                });
            }
            "for" | "select" => {
                self.pos += w.len();
                self.blanks();
                let mut kind = LoopKind::Words;
                let mut var = None;
                if self.starts("((") {
                    self.pos += 2;
                    let start = self.pos;
                    self.arith_body(ctx)?;
                    let text = &self.s[start..self.pos - 2];
                    let cond = text.split(|&c| c == b';').nth(1).unwrap_or(b"");
                    kind = LoopKind::Arith(String::from_utf8_lossy(cond).trim().to_string());
                } else {
                    let name = self.one_word(ctx)?;
                    if !name.is_static() {
                        return Err(self.err("expected a loop variable name"));
                    }
                    self.blanks_newlines(ctx)?;
                    if self.at_reserved("in") {
                        self.pos += 2;
                        let words = self.words_until_delim(ctx)?;
                        var = Some((name.text.clone(), words.clone()));
                        self.out.loop_values.push((name.text.clone(), words));
                    }
                }
                self.blanks();
                if matches!(self.peek(), Some(b';')) {
                    self.pos += 1;
                }
                let b0 = self.out.commands.len();
                self.do_group(ctx)?;
                self.out.loops.push(Loop {
                    kind,
                    cond: b0..b0,
                    cond_negated: false,
                    cond_test: None,
                    body: b0..self.out.commands.len(),
                    input: None,
                    var,
                });
            }
            "case" => {
                self.pos += 4;
                self.blanks();
                self.one_word(ctx)?;
                self.expect_reserved("in", ctx)?;
                loop {
                    self.blanks_newlines(ctx)?;
                    if self.at_reserved("esac") {
                        self.pos += 4;
                        break;
                    }
                    if self.peek() == Some(b'(') {
                        self.pos += 1;
                    }
                    loop {
                        self.blanks();
                        self.one_word(ctx)?;
                        self.blanks();
                        match self.peek() {
                            Some(b'|') => self.pos += 1,
                            Some(b')') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.err("expected `)` after a case pattern")),
                        }
                    }
                    self.list(ctx, Term::Reserved)?;
                    self.blanks_newlines(ctx)?;
                    if self.starts(";;&") {
                        self.pos += 3;
                    } else if self.starts(";;") || self.starts(";&") {
                        self.pos += 2;
                    } else if !self.at_reserved("esac") {
                        return Err(self.err("expected `;;` or `esac`"));
                    }
                }
            }
            "function" => {
                self.pos += 8;
                self.blanks();
                let name = self.one_word(ctx)?;
                self.blanks();
                if self.starts("()") {
                    self.pos += 2;
                } else if self.peek() == Some(b'(') {
                    self.pos += 1;
                    self.blanks();
                    if self.peek() != Some(b')') {
                        return Err(self.err("expected `)`"));
                    }
                    self.pos += 1;
                }
                return self.function_body(name, ctx);
            }
            "[[" if !self.posix => {
                self.pos += 2;
                let words = self.double_bracket(ctx)?;
                self.trailing_redirects(ctx, start)?;
                self.test = words.map(Test::Bracket);
                return Ok(());
            }
            "then" | "elif" | "else" | "fi" | "do" | "done" | "esac" | "}" | "in" => {
                return Err(self.err(&format!("unexpected `{w}`")));
            }
            _ => return self.simple(ctx),
        }
        let input = self.trailing_redirects(ctx, start)?;
        if matches!(w, "while" | "until" | "for" | "select") {
            if let Some(l) = self.out.loops.last_mut() {
                l.input = input;
            }
        }
        Ok(())
    }

    fn do_group(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        self.blanks_newlines(ctx)?;
        if self.at_reserved("do") {
            self.pos += 2;
            self.list(ctx, Term::Reserved)?;
            self.expect_reserved("done", ctx)
        } else if self.at_reserved("{") {
            self.pos += 1;
            self.list(ctx, Term::Reserved)?;
            self.expect_reserved("}", ctx)
        } else {
            Err(self.err("expected `do`"))
        }
    }

    fn function_body(&mut self, name: Word, ctx: &Ctx) -> Result<(), ParseError> {
        self.blanks_newlines(ctx)?;
        self.issue(
            "unverifiable:function",
            "the line defines a shell function; what a function call runs is not checked, so run the commands directly",
        );
        let idx = self.out.functions.len();
        self.out.functions.push(Function { name: name.text });
        let mut c = ctx.clone();
        c.function = Some(idx);
        c.stages.clear();
        c.forks = false;
        let before = self.out.commands.len();
        self.command(&c)?;
        // A body like `f() [[ 1 ]]` is a test the definition does not run.
        self.test = None;
        // The body's commands run when the function is called, not here.
        for cmd in &mut self.out.commands[before..] {
            cmd.function.get_or_insert(idx);
        }
        Ok(())
    }

    /// Redirections after a compound command; they apply to all its commands (from `start`
    /// on). Returns the file its standard input is read from (the last plain `<` or `0<`),
    /// if any.
    fn trailing_redirects(&mut self, ctx: &Ctx, start: usize) -> Result<Option<Word>, ParseError> {
        let mut input = None;
        let end = self.out.commands.len();
        loop {
            self.blanks();
            if !self.at_redirect() {
                return Ok(input);
            }
            let r = self.redirect(ctx)?;
            self.check_redirect(&r);
            self.out.compound_redirects.push((start..end, r.clone()));
            if r.kind == RedirKind::Input && !r.here && matches!(r.fd, None | Some(0)) {
                input = Some(r.target);
            }
        }
    }

    fn at_redirect(&self) -> bool {
        let mut i = self.pos;
        while i < self.s.len() && self.s[i].is_ascii_digit() {
            i += 1;
        }
        match self.s.get(i) {
            Some(b'<' | b'>') => self.s.get(i + 1) != Some(&b'('),
            Some(b'&') => i == self.pos && self.s.get(i + 1) == Some(&b'>'),
            _ => false,
        }
    }

    fn redirect(&mut self, ctx: &Ctx) -> Result<Redirect, ParseError> {
        let fd_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let fd = std::str::from_utf8(&self.s[fd_start..self.pos])
            .ok()
            .and_then(|d| d.parse().ok());
        let ops: &[(&'static str, RedirKind)] = &[
            ("&>>", RedirKind::Output),
            ("&>", RedirKind::Output),
            ("<<<", RedirKind::Input),
            ("<<-", RedirKind::Input),
            ("<<", RedirKind::Input),
            ("<>", RedirKind::Output),
            ("<&", RedirKind::Dup),
            (">&", RedirKind::Dup),
            (">>", RedirKind::Output),
            (">|", RedirKind::Output),
            ("<", RedirKind::Input),
            (">", RedirKind::Output),
        ];
        let (op, mut kind) = *ops
            .iter()
            .find(|(o, _)| self.starts(o))
            .ok_or_else(|| self.err("expected a redirection"))?;
        self.pos += op.len();
        self.blanks();
        if op == "<<" || op == "<<-" {
            let start = self.pos;
            let w = self.one_word(ctx)?;
            let raw = &self.s[start..self.pos];
            let quoted = raw.iter().any(|&c| matches!(c, b'\'' | b'"' | b'\\'));
            if w.dynamic && !quoted {
                return Err(self.err("unsupported here-document delimiter"));
            }
            // dash and bash disagree on `$'E'` / `$"E"`; a backslash-newline is removed, not
            // a quote (the body is then expanded); a delimiter spanning lines is matched
            // across body lines by dash. None of these is read the way every shell reads it.
            if w.shell_dependent || w.text.contains('\n') || raw.windows(2).any(|p| p == b"\\\n") {
                return Err(self.err("unsupported here-document delimiter"));
            }
            let index = self.out.heredocs.len();
            self.out.heredocs.push(String::new());
            self.pending.push(Pending {
                index,
                delim: w.text.clone(),
                strip_tabs: op == "<<-",
                expand: !quoted,
            });
            return Ok(Redirect {
                kind,
                op,
                fd,
                target: w,
                here: true,
                heredoc: Some(index),
                expands: !quoted,
            });
        }
        let target = self.one_word(ctx)?;
        if kind == RedirKind::Dup {
            let t = target.text.as_str();
            let fd_like = target.is_static()
                && (t == "-" || (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit())));
            if !fd_like {
                kind = if op == "<&" {
                    RedirKind::Input
                } else {
                    RedirKind::Output
                };
            }
        }
        Ok(Redirect {
            kind,
            op,
            fd,
            target,
            here: op == "<<<",
            heredoc: None,
            expands: op == "<<<",
        })
    }

    fn check_redirect(&mut self, r: &Redirect) {
        if r.kind != RedirKind::Output {
            return;
        }
        let t = r.target.text.as_str();
        let harmless =
            r.target.is_static() && matches!(t, "/dev/null" | "/dev/stdout" | "/dev/stderr");
        if !harmless {
            self.issue(
                "unverifiable:redirect",
                format!("output redirection into {t:?} writes a file; only /dev/null and descriptor duplication (2>&1) are allowed under an allow list"),
            );
        }
    }

    /// Words up to `;`, `&`, newline or another operator (for `for … in`).
    fn words_until_delim(&mut self, ctx: &Ctx) -> Result<Vec<Word>, ParseError> {
        let mut out = Vec::new();
        loop {
            self.blanks();
            match self.peek() {
                None => return Ok(out),
                Some(c) if is_meta(c) => return Ok(out),
                _ => out.extend(self.word(ctx)?),
            }
        }
    }

    fn one_word(&mut self, ctx: &Ctx) -> Result<Word, ParseError> {
        let mut ws = self.word(ctx)?;
        match ws.len() {
            1 => Ok(ws.pop().expect("one word")),
            _ => Err(self.err("expected a word")),
        }
    }

    /// `[[ … ]]` after the `[[`; returns its words when it is one plain test (no `!`,
    /// `&&`, `||`, `<`, `>` or parentheses, which would change what the words mean).
    fn double_bracket(&mut self, ctx: &Ctx) -> Result<Option<Vec<Word>>, ParseError> {
        let start = self.pos - 2;
        let mut operators = false;
        let mut bang = false;
        let mut words: Vec<Word> = Vec::new();
        loop {
            self.blanks_newlines(ctx)?;
            if self.at_reserved("]]") {
                self.pos += 2;
                break;
            }
            match self.peek() {
                None => return Err(self.err("expected `]]`")),
                Some(b'&' | b'|' | b'(' | b')' | b'<' | b'>' | b'!') => {
                    let c = self.peek().unwrap_or(b' ');
                    operators |= c != b'!';
                    bang |= c == b'!';
                    self.pos += 1;
                    if self.peek() == Some(c) && matches!(c, b'&' | b'|') {
                        self.pos += 1;
                    }
                }
                Some(b';') => return Err(self.err("unexpected `;` in [[ ]]")),
                _ => words.extend(self.word(ctx)?),
            }
        }
        let tested_name = |i: usize| i > 0 && matches!(words[i - 1].text.as_str(), "-v" | "-R");
        if words.iter().enumerate().any(|(i, w)| {
            w.text.find('[').is_some_and(|i| {
                let t = &w.text.as_bytes()[i..];
                t.windows(2).any(|p| {
                    p[0] == b'`'
                        || (p[0] == b'$' && (p[1] == b'(' || p[1] == b'{' || is_name_start(p[1])))
                })
            }) || (tested_name(i) && super::vectors::subscript_reads_names(&w.text))
        }) {
            self.issue("unverifiable:arithmetic", "[[ … ]] evaluates array subscripts (-v a[…], a[…] -eq …), and a subscript with $(…) runs a command in bash");
        }
        if operators {
            // dash has no [[: it runs `[[ a` and then, after || or &&, whatever follows.
            self.issue("unverifiable:shell-dependent", "[[ … ]] with &&, ||, <, >, ( or ) inside is read by sh (dash) as separate commands and redirections; use [ … ] && [ … ] instead");
            let text = self.s[start..self.pos].to_vec();
            self.sub_parse_posix(&text, ctx)?;
        }
        let arith = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];
        for (i, w) in words.iter().enumerate() {
            if arith.contains(&w.text.as_str()) && w.is_static() {
                let around = [i.checked_sub(1), Some(i + 1)];
                if around
                    .iter()
                    .flatten()
                    .filter_map(|&j| words.get(j))
                    .any(|o| !o.is_static() || o.text.bytes().any(|c| c.is_ascii_alphabetic()))
                {
                    self.issue("unverifiable:arithmetic", "[[ … -eq … ]] evaluates its operands as arithmetic, and bash arithmetic on variable values can run commands (a[$(cmd)]); compare with = or use literal numbers");
                }
            }
            // `[[ -v $y ]]` with y='a[$(cmd)]': bash evaluates the subscript of the name the
            // value gives, running the command (as `-R` may).
            if matches!(w.text.as_str(), "-v" | "-R")
                && w.is_static()
                && words.get(i + 1).is_some_and(|o| o.dynamic)
            {
                self.issue("unverifiable:arithmetic", "[[ -v NAME ]] with a NAME known only when it runs evaluates the array subscript in it, and a subscript with $(…) runs a command in bash; name the variable literally");
            }
        }
        Ok((!operators && !bang).then_some(words))
    }

    /// Arithmetic (after `((` or `$((`): records substitutions; variables make it unverifiable.
    fn arith_body(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        let mut depth = 0usize;
        let mut has_vars = false;
        loop {
            match self.peek() {
                None => return Err(self.err("expected `))`")),
                Some(b')') if depth == 0 => {
                    if self.peek_at(1) == Some(b')') {
                        self.pos += 2;
                        break;
                    }
                    return Err(self.err("expected `))`"));
                }
                Some(b'(') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b')') => {
                    depth -= 1;
                    self.pos += 1;
                }
                Some(b'$' | b'`' | b'"' | b'\'' | b'\\') => {
                    has_vars = true;
                    let mut wb = WordBuf::default();
                    self.dq_char(&mut wb, ctx, Bq::Unsure)?;
                }
                Some(c) => {
                    if is_name_start(c) {
                        // 0x1f, 16#ff, 2#101: letters inside a number literal
                        let in_number = self.pos > 0
                            && (self.s[self.pos - 1].is_ascii_digit()
                                || self.s[self.pos - 1] == b'#');
                        if in_number {
                            while self.peek().is_some_and(is_name) {
                                self.pos += 1;
                            }
                            continue;
                        }
                        has_vars = true;
                    }
                    self.pos += 1;
                }
            }
        }
        if has_vars {
            self.issue("unverifiable:arithmetic", "arithmetic on variables or substitutions can run commands in bash (a[$(cmd)] in a value); use literal numbers");
        }
        Ok(())
    }

    fn simple(&mut self, ctx: &Ctx) -> Result<(), ParseError> {
        let mut cmd = SimpleCommand {
            assignments: Vec::new(),
            words: Vec::new(),
            redirects: Vec::new(),
            forks: ctx.forks,
            function: ctx.function,
            stages: ctx.stages.clone(),
            stdin_heredoc: false,
        };
        let mut amp_split: Option<usize> = None;
        loop {
            self.blanks();
            let Some(c) = self.peek() else { break };
            if self.at_redirect() {
                // dash has no &>: `a &>/dev/null b` is `a &` and then `b >/dev/null`.
                if self.starts("&>") && amp_split.is_none() {
                    amp_split = Some(cmd.words.len());
                }
                let r = self.redirect(ctx)?;
                cmd.stdin_heredoc |= r.here;
                self.check_redirect(&r);
                cmd.redirects.push(r);
                continue;
            }
            if matches!(c, b'<' | b'>') && self.peek_at(1) == Some(b'(') {
                let ws = self.word(ctx)?;
                cmd.words.extend(ws);
                continue;
            }
            if is_meta(c) {
                if c == b'('
                    && cmd.words.len() == 1
                    && cmd.assignments.is_empty()
                    && cmd.redirects.is_empty()
                {
                    // name ( ) compound-command
                    self.pos += 1;
                    self.blanks();
                    if self.peek() != Some(b')') {
                        return Err(self.err("expected `)` in a function definition"));
                    }
                    self.pos += 1;
                    let name = cmd.words.pop().expect("one word");
                    return self.function_body(name, ctx);
                }
                break;
            }
            if cmd.words.is_empty() {
                if self.assignment_name().is_none() && self.continued_assignment() {
                    return Err(self.err("a line continuation (backslash-newline) inside an assignment's name: the shell joins it into an assignment; write the name and `=` on one line"));
                }
                if let Some((name, plus)) = self.assignment_name() {
                    self.pos += name.len() + if plus { 2 } else { 1 };
                    let value = if self.peek() == Some(b'(') {
                        // bash array: name=( words )
                        self.pos += 1;
                        let mut parts = Vec::new();
                        loop {
                            self.blanks_newlines(ctx)?;
                            match self.peek() {
                                Some(b')') => {
                                    self.pos += 1;
                                    break;
                                }
                                None => return Err(self.err("expected `)` closing an array")),
                                Some(c) if is_meta(c) => {
                                    return Err(self.err("unexpected operator in an array"))
                                }
                                _ => parts.extend(self.word(ctx)?),
                            }
                        }
                        // `b=([y]=1)`: each `[…]=` is arithmetic, and a name in it is read
                        // as arithmetic too (`y='a[$(id)]'` runs id).
                        if parts.iter().any(|w| {
                            w.text.starts_with('[')
                                && w.text.split_once("]=").is_some_and(|(sub, _)| {
                                    super::vectors::subscript_reads_names(&format!("{sub}]"))
                                })
                        }) {
                            self.issue("unverifiable:arithmetic", "an array element's [subscript]= names a variable or holds code; bash evaluates it as arithmetic, and a value such as a[$(cmd)] in that variable runs cmd");
                        }
                        let start = parts
                            .first()
                            .map(|w| w.subs.start)
                            .unwrap_or(self.out.commands.len());
                        Word {
                            text: parts
                                .iter()
                                .map(|w| w.text.as_str())
                                .collect::<Vec<_>>()
                                .join(" "),
                            dynamic: true,
                            split: false,
                            glob: false,
                            shell_dependent: true,
                            subs: start..self.out.commands.len(),
                        }
                    } else if self.peek().is_none_or(is_meta) {
                        Word {
                            text: String::new(),
                            dynamic: false,
                            split: false,
                            glob: false,
                            shell_dependent: false,
                            subs: self.out.commands.len()..self.out.commands.len(),
                        }
                    } else {
                        let mut ws = self.word_opts(ctx, true)?;
                        if ws.len() != 1 {
                            return Err(self.err("unsupported assignment"));
                        }
                        let mut w = ws.pop().expect("one word");
                        w.split = false;
                        w.glob = false;
                        w
                    };
                    cmd.assignments.push(Assignment {
                        name: name.to_string(),
                        value,
                        append: plus,
                    });
                    continue;
                }
            }
            let ws = self.word(ctx)?;
            cmd.words.extend(ws);
        }
        if cmd.words.is_empty() && cmd.assignments.is_empty() && cmd.redirects.is_empty() {
            return Err(self.err("expected a command"));
        }
        if let Some(k) = amp_split.filter(|&k| k > 0 && k < cmd.words.len()) {
            let mut dash = cmd.clone();
            dash.words = cmd.words[k..].to_vec();
            dash.assignments.clear();
            dash.forks = true;
            self.out.commands.push(dash);
        }
        if amp_split.is_some_and(|k| k > 0) {
            let i = self.out.commands.len();
            self.out.background.push(i..i + 1);
        }
        self.out.commands.push(cmd);
        Ok(())
    }

    /// Whether `NAME=` or `NAME+=` is at the cursor once line continuations are taken out
    /// of it (`x\⏎=/`, `\⏎x=/`), which the shells read as an assignment.
    fn continued_assignment(&self) -> bool {
        let s = &self.s[self.pos..];
        let (mut i, mut joined, mut name) = (0, false, 0);
        loop {
            match (s.get(i), s.get(i + 1)) {
                (Some(b'\\'), Some(b'\n')) => {
                    joined = true;
                    i += 2;
                }
                (Some(&c), _) if (name == 0 && is_name_start(c)) || (name > 0 && is_name(c)) => {
                    name += 1;
                    i += 1;
                }
                (Some(b'='), _) | (Some(b'+'), Some(b'=')) => return joined && name > 0,
                _ => return false,
            }
        }
    }

    /// `NAME=` or `NAME+=` at the cursor: the name and whether it is `+=`.
    fn assignment_name(&self) -> Option<(&'s str, bool)> {
        let s = &self.s[self.pos..];
        if !s.first().copied().is_some_and(is_name_start) {
            return None;
        }
        let mut i = 1;
        while i < s.len() && is_name(s[i]) {
            i += 1;
        }
        let name = std::str::from_utf8(&s[..i]).ok()?;
        match s.get(i) {
            Some(b'=') => Some((name, false)),
            Some(b'+') if s.get(i + 1) == Some(&b'=') => Some((name, true)),
            _ => None,
        }
    }

    fn word(&mut self, ctx: &Ctx) -> Result<Vec<Word>, ParseError> {
        self.word_opts(ctx, false)
    }

    /// Reads one shell word (several if an unquoted `$IFS` splits it).
    fn word_opts(&mut self, ctx: &Ctx, assignment: bool) -> Result<Vec<Word>, ParseError> {
        self.enter()?;
        let mut out = Vec::new();
        let mut wb = WordBuf::default();
        let mut sub_start = self.out.commands.len();
        let first = self.pos;
        // Process substitution <( … ) or >( … ) as a whole word (bash).
        if matches!(self.peek(), Some(b'<' | b'>')) && self.peek_at(1) == Some(b'(') {
            self.pos += 2;
            let mut c = ctx.clone();
            c.forks = true;
            self.list(&c, Term::Paren)?;
            if self.peek() != Some(b')') {
                return Err(self.err("expected `)` closing a process substitution"));
            }
            self.pos += 1;
            wb.text.extend_from_slice(&self.s[first..self.pos]);
            wb.dynamic = true;
            wb.started = true;
        }
        while let Some(c) = self.peek() {
            if is_meta(c) {
                break;
            }
            match c {
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\n') => self.pos += 1,
                        Some(n) => {
                            wb.text.push(n);
                            wb.quoted = true;
                            wb.started = true;
                            self.pos += 1;
                        }
                        None => {
                            wb.text.push(b'\\');
                            wb.started = true;
                        }
                    }
                }
                b'\'' => {
                    self.pos += 1;
                    let end = self.s[self.pos..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .ok_or_else(|| self.err("unterminated single quote"))?;
                    wb.text.extend_from_slice(&self.s[self.pos..self.pos + end]);
                    self.pos += end + 1;
                    wb.quoted = true;
                    wb.started = true;
                }
                b'"' => {
                    self.pos += 1;
                    wb.quoted = true;
                    wb.started = true;
                    loop {
                        match self.peek() {
                            None => return Err(self.err("unterminated double quote")),
                            Some(b'"') => {
                                self.pos += 1;
                                break;
                            }
                            _ => self.dq_char(&mut wb, ctx, Bq::Dq)?,
                        }
                    }
                }
                b'$' => {
                    wb.started = true;
                    if self.dollar(&mut wb, ctx, false)? {
                        // unquoted $IFS: a field boundary
                        if !wb.text.is_empty() || wb.quoted {
                            let done = std::mem::take(&mut wb);
                            out.push(done.finish(sub_start..self.out.commands.len()));
                            sub_start = self.out.commands.len();
                        }
                        wb.started = true;
                    }
                }
                b'`' => {
                    wb.started = true;
                    self.backquote(&mut wb, ctx, Bq::Unquoted)?;
                    wb.split = true;
                }
                b'*' | b'?' | b'[' => {
                    // `[` opens a bracket expression only when a `]` follows in the word.
                    // (Looking at most LOOKAHEAD bytes keeps long words linear; beyond it
                    // the word counts as a glob, which is the stricter reading.)
                    let ahead = &self.s[self.pos + 1..(self.pos + 1 + LOOKAHEAD).min(self.s.len())];
                    let bracket = c != b'['
                        || ahead.len() == LOOKAHEAD
                        || ahead
                            .iter()
                            .take_while(|&&x| !is_meta(x))
                            .any(|&x| x == b']');
                    if !assignment && bracket {
                        wb.glob = true;
                    }
                    wb.text.push(c);
                    wb.started = true;
                    self.pos += 1;
                }
                b'{' if !assignment => {
                    // bash brace expansion {a,b} / {1..3}: shell-dependent
                    let rest = &self.s[self.pos..(self.pos + LOOKAHEAD).min(self.s.len())];
                    if rest.len() == LOOKAHEAD {
                        wb.glob = true;
                        wb.shell_dependent = true;
                    } else if let Some(close) = rest.iter().position(|&c| c == b'}' || is_meta(c)) {
                        let inner = &rest[1..close];
                        if rest[close] == b'}'
                            && (inner.contains(&b',') || inner.windows(2).any(|w| w == b".."))
                        {
                            wb.glob = true;
                            wb.shell_dependent = true;
                        }
                    }
                    wb.text.push(c);
                    wb.started = true;
                    self.pos += 1;
                }
                b'~' if self.pos == first
                    || (assignment && matches!(wb.text.last(), Some(b'=' | b':'))) =>
                {
                    wb.dynamic = true;
                    wb.text.push(c);
                    wb.started = true;
                    self.pos += 1;
                }
                _ => {
                    wb.text.push(c);
                    wb.started = true;
                    self.pos += 1;
                }
            }
        }
        if wb.started && (!wb.text.is_empty() || wb.quoted || wb.dynamic || out.is_empty()) {
            out.push(wb.finish(sub_start..self.out.commands.len()));
        }
        if out.is_empty() && self.pos == first {
            return Err(self.err("expected a word"));
        }
        self.depth -= 1;
        Ok(out)
    }

    /// One element inside double quotes (or a here-document body when `heredoc`).
    fn dq_char(&mut self, wb: &mut WordBuf, ctx: &Ctx, mode: Bq) -> Result<(), ParseError> {
        let c = self.peek().ok_or_else(|| self.err("unterminated quote"))?;
        match c {
            b'\\' => {
                self.pos += 1;
                match self.peek() {
                    Some(b'\n') => self.pos += 1,
                    Some(n @ (b'$' | b'`' | b'\\')) => {
                        wb.text.push(n);
                        self.pos += 1;
                    }
                    Some(b'"') if mode == Bq::Dq => {
                        wb.text.push(b'"');
                        self.pos += 1;
                    }
                    _ => wb.text.push(b'\\'),
                }
            }
            b'$' => {
                self.dollar(wb, ctx, true)?;
            }
            b'`' => self.backquote(wb, ctx, mode)?,
            _ => {
                wb.text.push(c);
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// `$…` at the cursor. Returns true for an unquoted `$IFS` (a field separator).
    fn dollar(&mut self, wb: &mut WordBuf, ctx: &Ctx, quoted: bool) -> Result<bool, ParseError> {
        self.enter()?;
        let r = self.dollar_inner(wb, ctx, quoted);
        self.depth -= 1;
        r
    }

    fn dollar_inner(
        &mut self,
        wb: &mut WordBuf,
        ctx: &Ctx,
        quoted: bool,
    ) -> Result<bool, ParseError> {
        let start = self.pos;
        self.pos += 1;
        match self.peek() {
            Some(b'(') if self.peek_at(1) == Some(b'(') => {
                self.pos += 2;
                self.arith_body(ctx)?;
            }
            Some(b'(') => {
                self.pos += 1;
                let mut c = ctx.clone();
                c.forks = true;
                self.list(&c, Term::Paren)?;
                if self.peek() != Some(b')') {
                    return Err(self.err("expected `)` closing $("));
                }
                self.pos += 1;
            }
            Some(b'[') => {
                // $[ … ]: bash's old arithmetic expansion (dash reads a literal $).
                self.pos += 1;
                let mut depth = 0usize;
                let mut has_vars = false;
                loop {
                    match self.peek() {
                        None => return Err(self.err("unterminated $[")),
                        Some(b']') if depth == 0 => {
                            self.pos += 1;
                            break;
                        }
                        Some(b']') => {
                            depth -= 1;
                            self.pos += 1;
                        }
                        Some(b'[') => {
                            depth += 1;
                            self.pos += 1;
                        }
                        Some(b'$' | b'`' | b'\\' | b'"' | b'\'') => {
                            has_vars = true;
                            let mut inner = WordBuf::default();
                            self.dq_char(&mut inner, ctx, Bq::Unsure)?;
                        }
                        Some(c) => {
                            has_vars |= is_name_start(c);
                            self.pos += 1;
                        }
                    }
                }
                if has_vars {
                    self.issue("unverifiable:arithmetic", "arithmetic on variables or substitutions can run commands in bash (a[$(cmd)] in a value); use literal numbers");
                }
                wb.shell_dependent = true;
            }
            Some(b'{') => {
                self.pos += 1;
                let name_start = self.pos;
                let mut depth = 0usize;
                loop {
                    match self.peek() {
                        None => return Err(self.err("unterminated ${")),
                        Some(b'}') if depth == 0 => {
                            self.pos += 1;
                            break;
                        }
                        Some(b'}') => {
                            depth -= 1;
                            self.pos += 1;
                        }
                        Some(b'{') => {
                            depth += 1;
                            self.pos += 1;
                        }
                        Some(b'\'') if !quoted => {
                            self.pos += 1;
                            let end = self.s[self.pos..]
                                .iter()
                                .position(|&c| c == b'\'')
                                .ok_or_else(|| self.err("unterminated single quote"))?;
                            self.pos += end + 1;
                        }
                        Some(b'"') => {
                            self.pos += 1;
                            let mut inner = WordBuf::default();
                            loop {
                                match self.peek() {
                                    None => return Err(self.err("unterminated double quote")),
                                    Some(b'"') => {
                                        self.pos += 1;
                                        break;
                                    }
                                    _ => self.dq_char(&mut inner, ctx, Bq::Dq)?,
                                }
                            }
                        }
                        Some(b'@') => {
                            self.issue("unverifiable:expansion", "${var@…} transformations (such as @P) can run commands held in a variable");
                            self.pos += 1;
                        }
                        _ => {
                            let mut inner = WordBuf::default();
                            self.dq_char(&mut inner, ctx, Bq::Unsure)?;
                        }
                    }
                }
                let inner = &self.s[name_start..self.pos - 1];
                if let Some(d) = assigned_default(inner) {
                    self.out.defaults.push(d);
                }
                if let Some(why) = brace_arithmetic(inner) {
                    self.issue("unverifiable:arithmetic", format!("{why}: bash evaluates subscripts and offsets as arithmetic, which can run commands (a[$(cmd)]); use literal numbers"));
                }
                if inner == b"IFS" && !quoted {
                    return Ok(true);
                }
            }
            Some(b'\'') if !quoted => {
                // $'…' (bash ANSI-C quoting; dash reads a literal $)
                self.pos += 1;
                self.ansi_c(wb)?;
                wb.shell_dependent = true;
                wb.quoted = true;
                return Ok(false);
            }
            Some(b'"') if !quoted => {
                wb.shell_dependent = true;
                wb.quoted = true;
                self.pos += 1;
                loop {
                    match self.peek() {
                        None => return Err(self.err("unterminated double quote")),
                        Some(b'"') => {
                            self.pos += 1;
                            break;
                        }
                        _ => self.dq_char(wb, ctx, Bq::Dq)?,
                    }
                }
                return Ok(false);
            }
            Some(c) if is_name_start(c) => {
                let name_start = self.pos;
                while self.peek().is_some_and(is_name) {
                    self.pos += 1;
                }
                if &self.s[name_start..self.pos] == b"IFS" && !quoted {
                    return Ok(true);
                }
            }
            Some(c) if c.is_ascii_digit() || b"@*#?-$!".contains(&c) => {
                self.pos += 1;
            }
            _ => {
                wb.text.push(b'$');
                return Ok(false);
            }
        }
        wb.text.extend_from_slice(&self.s[start..self.pos]);
        wb.dynamic = true;
        if !quoted {
            wb.split = true;
        }
        Ok(false)
    }

    /// The body of `$'…'` after the opening quote.
    fn ansi_c(&mut self, wb: &mut WordBuf) -> Result<(), ParseError> {
        loop {
            let c = self.peek().ok_or_else(|| self.err("unterminated $'"))?;
            self.pos += 1;
            match c {
                b'\'' => return Ok(()),
                b'\\' => {
                    let e = self.peek().ok_or_else(|| self.err("unterminated $'"))?;
                    if e == b'\'' {
                        // bash: an escaped quote; dash: the end of '…' — the shells disagree
                        // on where the string ends and on every word after it.
                        return Err(
                            self.err("$'…' containing \\' ends at different places in sh and bash")
                        );
                    }
                    self.pos += 1;
                    let simple = match e {
                        b'n' => Some(b'\n'),
                        b't' => Some(b'\t'),
                        b'r' => Some(b'\r'),
                        b'a' => Some(7),
                        b'b' => Some(8),
                        b'e' | b'E' => Some(27),
                        b'f' => Some(12),
                        b'v' => Some(11),
                        b'\\' | b'\'' | b'"' | b'?' => Some(e),
                        _ => None,
                    };
                    if let Some(b) = simple {
                        wb.text.push(b);
                        continue;
                    }
                    match e {
                        b'x' => {
                            let v = self.hex_digits(2);
                            match v {
                                Some(v) => wb.text.push(v as u8),
                                None => wb.text.extend_from_slice(b"\\x"),
                            }
                        }
                        b'u' | b'U' => {
                            let n = if e == b'u' { 4 } else { 8 };
                            match self.hex_digits(n).and_then(char::from_u32) {
                                Some(ch) => {
                                    let mut buf = [0u8; 4];
                                    wb.text
                                        .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                                }
                                None => {
                                    wb.text.push(b'\\');
                                    wb.text.push(e);
                                }
                            }
                        }
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            wb.text.push((v & 0xff) as u8);
                        }
                        b'c' => {
                            let ch = self.peek().ok_or_else(|| self.err("unterminated $'"))?;
                            self.pos += 1;
                            wb.text.push(ch & 0x1f);
                        }
                        other => {
                            wb.text.push(b'\\');
                            wb.text.push(other);
                        }
                    }
                }
                other => wb.text.push(other),
            }
        }
    }

    fn hex_digits(&mut self, max: usize) -> Option<u32> {
        let mut v = 0u32;
        let mut n = 0;
        while n < max {
            match self.peek().and_then(|c| (c as char).to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.pos += 1;
                    n += 1;
                }
                None => break,
            }
        }
        (n > 0).then_some(v)
    }

    /// `` `…` ``: unescapes the body and parses it as a list.
    fn backquote(&mut self, wb: &mut WordBuf, ctx: &Ctx, mode: Bq) -> Result<(), ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut body = Vec::new();
        // Inside double quotes `\"` in backquotes is `"`; outside it stays `\"`.
        let mut body_dq = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated backquote")),
                Some(b'`') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(n @ (b'$' | b'`' | b'\\')) => {
                            body.push(n);
                            body_dq.push(n);
                            self.pos += 1;
                        }
                        Some(b'"') => {
                            body.extend_from_slice(b"\\\"");
                            body_dq.push(b'"');
                            self.pos += 1;
                        }
                        _ => {
                            body.push(b'\\');
                            body_dq.push(b'\\');
                        }
                    }
                }
                Some(c) => {
                    body.push(c);
                    body_dq.push(c);
                    self.pos += 1;
                }
            }
        }
        match mode {
            Bq::Unquoted => self.sub_parse_text(&body, ctx, false)?,
            Bq::Dq => self.sub_parse_text(&body_dq, ctx, false)?,
            Bq::Unsure if body == body_dq => self.sub_parse_text(&body, ctx, false)?,
            Bq::Unsure => {
                // Which reading the shell uses is not certain here: record both.
                let a = self.sub_parse_text(&body, ctx, false);
                let b = self.sub_parse_text(&body_dq, ctx, false);
                if a.is_err() && b.is_err() {
                    return a;
                }
            }
        }
        wb.text.extend_from_slice(&self.s[start..self.pos]);
        wb.dynamic = true;
        Ok(())
    }
}

/// The variable `${INNER}` assigns and the value it assigns, when INNER is `NAME:=V`,
/// `NAME=V` (`NAME[…]` for an element) or `!REF:=V` / `!REF=V` (the name `!`: whichever
/// variable REF names).
fn assigned_default(inner: &[u8]) -> Option<(String, String)> {
    let (indirect, rest) = match inner.split_first() {
        Some((b'!', rest)) => (true, rest),
        _ => (false, inner),
    };
    if !rest.first().is_some_and(|&c| is_name_start(c)) {
        return None;
    }
    let mut i = rest.iter().position(|&c| !is_name(c)).unwrap_or(rest.len());
    if rest.get(i) == Some(&b'[') {
        i += rest[i..].iter().position(|&c| c == b']')? + 1;
    }
    let after = &rest[i..];
    let value = after
        .strip_prefix(b":=")
        .or_else(|| after.strip_prefix(b"="))?;
    let name = if indirect {
        "!".to_string()
    } else {
        String::from_utf8_lossy(
            &rest[..rest.iter().position(|&c| !is_name(c)).unwrap_or(rest.len())],
        )
        .into_owned()
    };
    let value = String::from_utf8_lossy(value);
    Some((name, value.trim_matches(['"', '\'']).to_string()))
}

/// The parts of a `${…}` expansion (its inner text) that bash evaluates as arithmetic:
/// `${!name}` indirection, a subscript that is not a literal number, `@` or `*`, and
/// substring operands (`${x:off:len}`) that are not literal decimals. `${x:-d}`, `${x:=v}`,
/// `${x:+v}`, `${x:?m}` are not substrings.
fn brace_arithmetic(inner: &[u8]) -> Option<&'static str> {
    let mut i = 0;
    match inner.first() {
        Some(b'!') if inner.len() > 1 => {
            return Some("${!name} indirection expands a name that may carry a subscript")
        }
        Some(b'#') if inner.len() > 1 => i = 1,
        _ => {}
    }
    let name_start = i;
    match inner.get(i) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            while inner
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
        }
        Some(c) if c.is_ascii_digit() => {
            while inner.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        Some(b'@' | b'*' | b'#' | b'?' | b'-' | b'$' | b'!') => i += 1,
        _ => {}
    }
    if i == name_start {
        return None;
    }
    if inner.get(i) == Some(&b'[') {
        let Some(end) = inner[i..].iter().position(|&c| c == b']') else {
            return Some("a subscript the policy cannot read");
        };
        let sub = &inner[i + 1..i + end];
        let plain =
            sub == b"@" || sub == b"*" || (!sub.is_empty() && sub.iter().all(u8::is_ascii_digit));
        if !plain {
            return Some("an array subscript that is not a literal number");
        }
        i += end + 1;
    }
    if inner.get(i) == Some(&b':') && !matches!(inner.get(i + 1), Some(b'-' | b'=' | b'+' | b'?')) {
        let literal = |t: &[u8]| {
            let t = t.trim_ascii();
            let t = t.strip_prefix(b"-").unwrap_or(t);
            !t.is_empty() && t.iter().all(u8::is_ascii_digit)
        };
        let ops = &inner[i + 1..];
        let ok = match ops.iter().position(|&c| c == b':') {
            Some(k) => literal(&ops[..k]) && literal(&ops[k + 1..]),
            None => literal(ops),
        };
        if !ok {
            return Some("a substring offset or length that is not a literal number");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(line: &str) -> Vec<Vec<String>> {
        parse(line)
            .unwrap()
            .commands
            .iter()
            .filter(|c| !c.words.is_empty())
            .map(|c| c.words.iter().map(|w| w.text.clone()).collect())
            .collect()
    }

    #[test]
    fn lists_pipelines_and_substitutions() {
        assert_eq!(
            argvs("ls -la; id && whoami || true"),
            vec![vec!["ls", "-la"], vec!["id"], vec!["whoami"], vec!["true"]]
        );
        assert_eq!(
            argvs("a | b |& c & d"),
            vec![vec!["a"], vec!["b"], vec!["c"], vec!["d"]]
        );
        assert_eq!(
            argvs("echo \"$(id -u)\" `whoami`"),
            vec![
                vec!["id", "-u"],
                vec!["whoami"],
                vec!["echo", "$(id -u)", "`whoami`"]
            ]
        );
        assert_eq!(
            argvs("echo ${X:-$(a $(b))}"),
            vec![
                vec!["b"],
                vec!["a", "$(b)"],
                vec!["echo", "${X:-$(a $(b))}"]
            ]
        );
        assert_eq!(
            argvs("(a; { b; }) > /dev/null 2>&1"),
            vec![vec!["a"], vec!["b"]]
        );
        assert_eq!(
            argvs("diff <(ls a) <(ls b)"),
            vec![
                vec!["ls", "a"],
                vec!["ls", "b"],
                vec!["diff", "<(ls a)", "<(ls b)"]
            ]
        );
    }

    #[test]
    fn quotes_and_escapes_resolve() {
        assert_eq!(argvs(r#"l's' "-l"a \-x"#), vec![vec!["ls", "-la", "-x"]]);
        assert_eq!(argvs("echo $'a\\x41\\n'"), vec![vec!["echo", "aA\n"]]);
        assert_eq!(argvs("rm${IFS}-rf${IFS}/"), vec![vec!["rm", "-rf", "/"]]);
        assert_eq!(argvs("ls \\\n -l"), vec![vec!["ls", "-l"]]);
        assert_eq!(argvs("ls # comment; rm"), vec![vec!["ls"]]);
        assert_eq!(argvs("ls\r\nid"), vec![vec!["ls\r"], vec!["id"]]);
    }

    #[test]
    fn compound_commands() {
        assert_eq!(
            argvs("if a; then b; elif c; then d; else e; fi; for x in 1 2; do f $x; done; while g; do h; done; case $x in a|b) i;; *) j;; esac"),
            vec![vec!["a"], vec!["b"], vec!["c"], vec!["d"], vec!["e"], vec!["f", "$x"], vec!["g"], vec!["h"], vec!["i"], vec!["j"]]
        );
        assert_eq!(argvs("[[ -n $(a) ]] && b"), vec![vec!["a"], vec!["b"]]);
        // dash has no [[ ]]: it runs `[[ x` and then `y ]]`.
        assert_eq!(
            argvs("[[ x || y ]]"),
            vec![vec!["[[", "x"], vec!["y", "]]"]]
        );
        assert_eq!(argvs("((a b))"), vec![vec!["a", "b"]]);
    }

    #[test]
    fn heredocs() {
        let s = parse("cat <<'EOF'\n$(rm -rf /)\nEOF\nls").unwrap();
        assert!(s.issues.is_empty());
        assert_eq!(
            argvs("cat <<'EOF'\n$(x)\nEOF\nls"),
            vec![vec!["cat"], vec!["ls"]]
        );
        let s = parse("cat <<EOF\n$(x)\nEOF").unwrap();
        assert_eq!(s.issues[0].id, "unverifiable:heredoc");
        assert_eq!(s.commands.len(), 2);
    }

    #[test]
    fn functions_and_forking() {
        let s = parse(":(){ :|:& };:").unwrap();
        assert_eq!(s.functions.len(), 1);
        assert!(s.commands.iter().any(|c| c.function == Some(0) && c.forks));
    }

    #[test]
    fn loops_and_background_jobs() {
        let s = parse("while ! false; do a & b; done; for ((;;)); do c; done").unwrap();
        assert_eq!(s.loops.len(), 2);
        let w = &s.loops[0];
        assert_eq!((w.kind.clone(), w.cond_negated), (LoopKind::While, true));
        assert_eq!((w.cond.clone(), w.body.clone()), (0..1, 1..3));
        assert_eq!(s.background, vec![1..2]);
        assert_eq!(s.loops[1].kind, LoopKind::Arith(String::new()));
        let s = parse("for ((i=0; i<3; i++)); do x; done; for a in 1 2; do y; done").unwrap();
        assert_eq!(s.loops[0].kind, LoopKind::Arith("i<3".into()));
        assert_eq!(s.loops[1].kind, LoopKind::Words);
        // dash reads `a &>/dev/null` as `a &` and then `>/dev/null`.
        assert_eq!(parse("a &>/dev/null").unwrap().background, vec![0..1]);
        assert!(parse("a 2>&1").unwrap().background.is_empty());
    }

    #[test]
    fn loop_tests_and_input() {
        let s = parse("while ((1)); do a; done; until [[ x ]]; do b; done < in").unwrap();
        assert_eq!(s.loops[0].cond_test, Some(Test::Arith("1".into())));
        assert_eq!(s.loops[0].input, None);
        let Some(Test::Bracket(words)) = &s.loops[1].cond_test else {
            panic!("{:?}", s.loops[1]);
        };
        assert_eq!(words.iter().map(|w| &w.text).collect::<Vec<_>>(), ["x"]);
        assert_eq!(
            s.loops[1].input.as_ref().map(|w| w.text.as_str()),
            Some("in")
        );
        // The condition's status is its last pipeline's; `!` changes what the words mean.
        for line in [
            "while [[ 1 ]]; a; do b; done",
            "while [[ ! 1 ]]; do b; done",
            "while ((1)) | a; do b; done",
            "while f() [[ 1 ]]; do b; done",
        ] {
            assert_eq!(parse(line).unwrap().loops[0].cond_test, None, "{line}");
        }
        // Only standard input counts.
        let s = parse("while read -u 3 l; do b; done 3< f <<< x").unwrap();
        assert_eq!(s.loops[0].input, None);
    }

    #[test]
    fn errors_fail_closed() {
        for bad in [
            "ls '",
            "echo \"",
            "a &&",
            "(ls",
            "ls )",
            "if a; then b",
            "$(",
            "`ls",
            "a | | b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
