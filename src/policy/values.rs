//! What the line's own variables hold, for the default blocklist: the values a `$NAME`
//! may take when the line sets it itself, in any of the ways a shell lets it (`x=/`,
//! `export x=/`, `for x in / /etc`, `: ${x:=/}`, `printf -v x /`, `read x <<< /`,
//! `set -- /`, a function called as `f /`), and the argv a command has once those values
//! are put in and split into fields the way the shell splits an unquoted expansion
//! (`f='-rf /'; rm $f` is `rm -rf /`). A variable the line does not set keeps its `$NAME`,
//! which the rules read as "unknown".

use super::parse::{Script, SimpleCommand, Word};
use super::rules::{basename, Arg};
use std::sync::Arc;

/// How many readings of one command are checked (one a value of the variable with the
/// most); a command with more is not read at all and the line is refused
/// ([`Lookups::readings_cut`](super::lookups::Lookups::readings_cut)).
pub(crate) const MAX_READINGS: usize = 1024;

/// How many readings of all its commands a line may need: past this (a 128 KiB line of
/// `x=a1; echo $x; x=a2; echo $x; …` would need millions) the rest are not read and the
/// line is refused.
pub(crate) const MAX_LINE_READINGS: usize = 16 * 1024;

/// The names a word refers to with `$NAME`, `${NAME}`, `$1`, `$@`, `$*`, and where.
fn references(text: &str) -> Vec<(usize, usize, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let rest = &text[i + 1..];
        let (name, len) = if let Some(r) = rest.strip_prefix('{') {
            match r.find('}') {
                Some(e) if is_name(&r[..e]) => (&r[..e], e + 2),
                // `${a[0]}`, `${a[@]}`: an element of an array.
                Some(e) if r[..e].ends_with(']') => match r[..e].split_once('[') {
                    Some((n, _)) if is_name(n) => (n, e + 2),
                    _ => ("", 0),
                },
                _ => ("", 0),
            }
        } else if rest.starts_with(|c: char| c.is_ascii_digit() || c == '@' || c == '*') {
            (&rest[..1], 1)
        } else {
            let n = rest
                .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                .unwrap_or(rest.len());
            (&rest[..n], n)
        };
        if name.is_empty() || !is_name(name) {
            i += 1;
            continue;
        }
        out.push((i, i + 1 + len, name));
        i += 1 + len;
    }
    out
}

fn is_name(n: &str) -> bool {
    matches!(n, "@" | "*")
        || (!n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        || (n.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
            && n.bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric()))
}

/// What a word assigned to a variable stands for: its text when it is a literal, `$HOME`
/// or `~` (which the rules read), or what a literal `$(echo …)` prints.
fn assigned_text(script: &Script, w: &Word) -> Option<String> {
    if w.is_static() || w.text.starts_with(['~', '$']) && w.subs.is_empty() {
        return Some(w.text.clone());
    }
    super::substituted_text(script, w)
}

/// What a word stands for apart from its variables: the default of `${x:-V}` / `${x-V}`,
/// a word with what a literal `$(echo …)`, `` `printf …` `` or `$(dirname …)` in it
/// prints (`of=$(echo /dev/sda)`, `/tmp/$(echo ..)`), and a word that is one substitution
/// of literal text through known filters.
fn alternative(script: &Script, w: &Word) -> Option<String> {
    if let Some(inner) = w.text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
        let name_end = inner
            .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
            .unwrap_or(inner.len());
        let rest = &inner[name_end..];
        return rest
            .strip_prefix(":-")
            .or_else(|| rest.strip_prefix('-'))
            .filter(|v| !v.contains(['$', '`', '{']))
            .map(|v| v.trim_matches('"').to_string());
    }
    // `"$(echo cm0gLXJmIC8= | base64 -d)"`: a whole word of literal text through filters.
    if w.subs.len() > 1 {
        return super::substituted_text(script, w);
    }
    if w.subs.len() != 1 {
        return None;
    }
    let (start, end) = if let Some(s) = w.text.find("$(") {
        (s, s + 2 + substitution_len(&w.text[s + 2..])?)
    } else {
        let s = w.text.find('`')?;
        (s, s + 1 + w.text[s + 1..].find('`')? + 1)
    };
    let printed = super::printed_by(&script.commands[w.subs.start])?;
    Some(format!("{}{printed}{}", &w.text[..start], &w.text[end..]))
}

/// The length of a `$(…)` body up to and including its closing parenthesis: parentheses
/// in quotes (`$(echo 'f(){ f|f& };f')`) and nested ones do not close it.
fn substitution_len(body: &str) -> Option<usize> {
    let (mut depth, mut quote, mut escaped) = (1usize, None, false);
    for (i, c) in body.char_indices() {
        match (quote, c) {
            _ if escaped => escaped = false,
            (Some('\''), '\'') => quote = None,
            (Some('\''), _) => {}
            (_, '\\') => escaped = true,
            (Some('"'), '"') => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Every value the line gives `name` (in the order it does), as far as it shows them.
/// Asked once per line for each variable (and for `$1` … each function): the answer
/// depends on nothing else of `cmd` ([`Lookups::values`](super::lookups::Lookups::values)).
pub(crate) fn values(script: &Script, name: &str, cmd: &SimpleCommand) -> Arc<Vec<String>> {
    if let Some(words) = loop_words(script, name, cmd) {
        return Arc::new(words);
    }
    if let Some(value) = last_assignment(script, name, cmd) {
        return Arc::new(vec![value]);
    }
    let function = cmd.function.filter(|_| positional(name));
    script
        .lookups
        .values(name, function, || resolved(script, name, cmd, 0))
}

/// The line `eval` runs, when its words are literal (`eval "d=/"`), parsed.
pub(crate) fn eval_script(c: &SimpleCommand) -> Option<Script> {
    let (p, args) = effective_words(c).split_first()?;
    if p.text != "eval" || args.is_empty() || !args.iter().all(Word::is_static) {
        return None;
    }
    let text: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
    super::parse::parse(&text.join(" ")).ok()
}

/// The code `trap CODE SIGNAL…` sets, when literal, parsed: bash runs it whenever the
/// signal comes, `DEBUG` before every later command and `ERR` after each failing one
/// (`trap 'x=/' DEBUG; rm -rf "$x"` removes `/`).
pub(crate) fn trap_script(c: &SimpleCommand) -> Option<Script> {
    let words = effective_words(c);
    let (p, args) = words.split_first()?;
    let args = match args.first() {
        Some(w) if w.text == "--" => &args[1..],
        _ => args,
    };
    let code = args.first().filter(|w| w.is_static())?;
    if p.text != "trap" || args.len() < 2 || code.text.is_empty() || code.text.starts_with('-') {
        return None;
    }
    super::parse::parse(&code.text).ok()
}

/// The code `mapfile -C CODE` / `readarray -C CODE` runs after every few lines it reads
/// (`mapfile -c1 -C 'read x <<< /;:' a <<< q` sets x), when literal, parsed; `Err` when
/// the command has a callback the line does not show.
pub(crate) fn callback_script(c: &SimpleCommand) -> Result<Option<Script>, ()> {
    let words = effective_words(c);
    let Some(p) = words.first() else {
        return Ok(None);
    };
    if !matches!(p.text.as_str(), "mapfile" | "readarray") {
        return Ok(None);
    }
    let mut i = 1;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        if t == "--" || !t.starts_with('-') || t.len() < 2 {
            break;
        }
        for (k, ch) in t[1..].char_indices() {
            if !"dnOsuCc".contains(ch) {
                continue;
            }
            let attached = &t[1 + k + ch.len_utf8()..];
            let arg = if attached.is_empty() {
                i += 1;
                words.get(i).map(|w| (w.text.as_str(), w.is_static()))
            } else {
                Some((attached, w.is_static()))
            };
            if ch == 'C' {
                return match arg {
                    Some((code, true)) => Ok(super::parse::parse(code).ok()),
                    _ => Err(()),
                };
            }
            break;
        }
        i += 1;
    }
    Ok(None)
}

/// The code each literal `alias NAME=VALUE` of `c` stands for, parsed (dash expands
/// aliases in `-c` code: `alias s='x=/'⏎s` sets x); `Err` when a value is not literal.
pub(crate) fn alias_scripts(c: &SimpleCommand) -> Result<Vec<Script>, ()> {
    let words = effective_words(c);
    if words.first().is_none_or(|p| p.text != "alias") {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for w in &words[1..] {
        let Some((_, v)) = w.text.split_once('=') else {
            continue;
        };
        if !w.is_static() {
            return Err(());
        }
        out.extend(super::parse::parse(v).ok());
    }
    Ok(out)
}

/// The words of a builtin that sets variables (`export`, `readonly`, `local`, `declare`,
/// `typeset`, `printf`, `read`, `mapfile`, `readarray`, `unset`, `getopts`, `wait`)
/// that name the variables it sets, as written: option arguments given apart or attached
/// (`printf -vx`, `read -rax`, `wait -px`) read as bash reads them, and `NAME=VALUE` as
/// NAME. A name with `$` or `` ` `` in it is only known when the line runs.
pub(crate) fn set_names(words: &[Word]) -> Vec<&str> {
    let Some((p, args)) = words.split_first() else {
        return Vec::new();
    };
    // Options that take an argument, and the one whose argument is a name.
    let (with_arg, naming) = match p.text.as_str() {
        "printf" => ("v", 'v'),
        "read" => ("adinNptu", 'a'),
        "mapfile" | "readarray" => ("dnOsuCc", ' '),
        "wait" => ("p", 'p'),
        "export" | "readonly" | "local" | "declare" | "typeset" | "unset" => ("", ' '),
        "getopts" => return args.get(1).map(|w| w.text.as_str()).into_iter().collect(),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut i = 0;
    let mut options = true;
    while let Some(w) = args.get(i) {
        let t = w.text.as_str();
        i += 1;
        if options && t == "--" {
            options = false;
            continue;
        }
        if options && t.len() > 1 && t.starts_with(['-', '+']) {
            for (k, ch) in t[1..].char_indices() {
                if !with_arg.contains(ch) {
                    continue;
                }
                let attached = &t[1 + k + ch.len_utf8()..];
                let arg = if attached.is_empty() {
                    i += 1;
                    args.get(i - 1).map(|w| w.text.as_str())
                } else {
                    Some(attached)
                };
                if ch == naming {
                    out.extend(arg);
                }
                break;
            }
            continue;
        }
        // printf's and wait's other words are no names (its format, its arguments).
        if !matches!(p.text.as_str(), "printf" | "wait") {
            out.push(t.split_once('=').map_or(t, |(n, _)| n));
        }
        if p.text == "printf" {
            break;
        }
    }
    out
}

/// Whether a name word of [`set_names`] is only known when the line runs.
pub(crate) fn dynamic_name(n: &str) -> bool {
    n.contains(['$', '`'])
}

/// `c`'s words from the one that names what runs in the shell: past bash's `builtin`,
/// `command` and `time` with their options (`command -p`, `time -p`, `--`), which run the
/// next word as the same builtin (`command export x=/`, `builtin printf -v x /`, `time
/// read x`).
pub(crate) fn effective_words(c: &SimpleCommand) -> &[Word] {
    let mut words = &c.words[..];
    while let Some("builtin" | "command" | "time") = words.first().map(|w| w.text.as_str()) {
        let mut k = 1;
        while let Some(o) = words.get(k).map(|w| w.text.as_str()) {
            if o == "--" {
                k += 1;
                break;
            }
            if o.len() < 2 || !o.starts_with('-') {
                break;
            }
            k += 1;
        }
        words = &words[k..];
    }
    words
}

/// The variable a name word sets: `x` of `x[0]` (bash sets element 0, which `$x` reads).
pub(crate) fn base_name(word: &str) -> &str {
    word.split_once('[').map_or(word, |(n, _)| n)
}

/// The characters `getopts OPTSTRING NAME` may put in NAME: its options and `?`.
fn getopts_values(optstring: &str) -> Vec<String> {
    let mut out: Vec<String> = optstring
        .chars()
        .filter(|&c| c != ':')
        .map(String::from)
        .collect();
    out.push("?".into());
    out.sort();
    out.dedup();
    out
}

/// Whether `c` declares name references (`declare -n r=x`, `local -n`, `typeset -n`):
/// an assignment to such a name sets another variable.
pub(crate) fn declares_namerefs(c: &SimpleCommand) -> bool {
    let words = effective_words(c);
    words.first().is_some_and(|p| {
        matches!(p.text.as_str(), "declare" | "typeset" | "local")
            && words[1..].iter().any(|w| {
                w.text.starts_with('-') && !w.text.starts_with("--") && w.text.contains('n')
            })
    })
}

/// In the body of `for NAME in WORDS; do …; done` NAME holds one of WORDS (the innermost
/// such loop's), whatever the line gives it elsewhere (`for d in / /home; do df "$d";
/// done; for d in build dist; do rm -rf "$d"; done` removes no `/`) — unless the body sets
/// NAME itself, or the command is in a function defined there (which may be called later).
fn loop_words(script: &Script, name: &str, cmd: &SimpleCommand) -> Option<Vec<String>> {
    if cmd.function.is_some() || positional(name) {
        return None;
    }
    let at = index_of(script, cmd)?;
    let setters = script.lookups.setters(script);
    let innermost = setters
        .for_loops_of(name)
        .map(|l| &script.loops[l])
        .filter(|l| l.body.contains(&at))
        .min_by_key(|l| l.body.len())?;
    // Set in the body: by a command, or by a loop nested there (`for d in /; do :; done`
    // leaves d at `/`).
    let nested_loop = setters
        .for_loops_of(name)
        .map(|l| &script.loops[l])
        .any(|l| !std::ptr::eq(l, innermost) && innermost.body.contains(&l.body.start));
    if nested_loop || setters.of(name).any(|i| innermost.body.contains(&i)) {
        return None;
    }
    let (_, words) = innermost.var.as_ref()?;
    Some(words.iter().map(|w| w.text.clone()).collect())
}

/// After `NAME=V` runs unconditionally at the line's top level, NAME holds V until
/// something else may set it: `x=$HOME; …; x=tmp/out; rm -rf "$x"` removes tmp/out.
/// Only for a command outside loops, functions and background jobs, after an assignment
/// that is a simple command and a whole and-or list of the top level (or its first
/// pipeline: `x=tmp/out && …`; not in a group, `if` or `case`), with no substitution, and
/// where nothing between may set NAME (another setter, `eval`, `.`,
/// `source`); not where a function may set NAME (it may be called in between) or
/// `readonly`/`declare`/`typeset`/`local` names it (bash goes on after a failed
/// assignment to a readonly variable). Anything else: every value the line gives NAME.
fn last_assignment(script: &Script, name: &str, cmd: &SimpleCommand) -> Option<String> {
    last_assignment_n(script, name, cmd, 0)
}

/// The values bash's brace expansion of an assignment word `NAME=…{A,B}…` gives NAME
/// (the last of them wins, but any may be read): the word with each alternative of its
/// first list put in.
fn brace_alternatives(word: &str, name: &str) -> Vec<String> {
    let Some(value) = word.strip_prefix(name).and_then(|r| r.strip_prefix('=')) else {
        return Vec::new();
    };
    let Some(open) = value.find('{') else {
        return Vec::new();
    };
    let Some(close) = value[open..].find('}').map(|e| open + e) else {
        return Vec::new();
    };
    let inner = &value[open + 1..close];
    if !inner.contains(',') {
        return Vec::new();
    }
    inner
        .split(',')
        .map(|a| format!("{}{a}{}", &value[..open], &value[close + 1..]))
        .collect()
}

/// [`last_assignment`], `depth` assignments of one variable to another deep (`f=$x`: x's
/// value where that assignment runs).
fn last_assignment_n(
    script: &Script,
    name: &str,
    cmd: &SimpleCommand,
    depth: usize,
) -> Option<String> {
    // Set by the shell itself (`cd`, `read` without names, `getopts`, …).
    const SHELL_SET: &[&str] = &[
        "PWD",
        "OLDPWD",
        "REPLY",
        "OPTARG",
        "OPTIND",
        "MAPFILE",
        "RANDOM",
        "SRANDOM",
        "SECONDS",
        "LINENO",
        "BASHPID",
        "PPID",
        "UID",
        "EUID",
        "BASH_REMATCH",
        "PIPESTATUS",
        "_",
        "HISTCMD",
        "EPOCHSECONDS",
        "EPOCHREALTIME",
        "BASH_COMMAND",
        "FUNCNAME",
        "COLUMNS",
        "LINES",
        // Changed by `cd`/`pushd`, `alias`, `hash`, function calls, `source`, `coproc`.
        "DIRSTACK",
        "BASH_ALIASES",
        "BASH_CMDS",
        "BASH_ARGV",
        "BASH_ARGC",
        "BASH_SOURCE",
        "BASH_LINENO",
        "BASH_SUBSHELL",
        "COPROC",
        "GROUPS",
    ];
    if cmd.function.is_some() || positional(name) || SHELL_SET.contains(&name) {
        return None;
    }
    let setters = script.lookups.setters(script);
    // A `for`/`select` loop over NAME leaves its last word there; a name reference or a
    // trap may set it from anywhere.
    if setters.anything
        || !setters.namerefs.is_empty()
        || setters.unordered(name)
        || setters.loops_of(name).next().is_some()
        || setters.for_loops_of(name).next().is_some()
    {
        return None;
    }
    let at = index_of(script, cmd)?;
    let j = setters.last_before(name, at)?;
    let lookups = &script.lookups;
    if lookups.repeated_or_detached(script, at) || lookups.repeated_or_detached(script, j) {
        return None;
    }
    let (c, k) = lookups.link_of(script, j)?;
    let link = &script.chains[c][k];
    let setter = &script.commands[j];
    if k != 0
        || !link.simple
        || link.commands != (j..j + 1)
        || !setter.words.is_empty()
        || setter.forks
    {
        return None;
    }
    if ["eval", ".", "source"]
        .iter()
        .any(|w| setters.starts_between(w, j, at))
    {
        return None;
    }
    let value = setter.assignments.iter().rev().find(|a| a.name == name)?;
    if value.append {
        return None;
    }
    let text = assigned_text(script, &value.value)?;
    let other = text
        .strip_prefix('$')
        .map(|n| n.trim_start_matches('{').trim_end_matches('}'))
        .filter(|n| is_name(n) && *n != name && *n != "HOME" && !positional(n));
    if let Some(n) = other {
        return (depth < 3)
            .then(|| last_assignment_n(script, n, setter, depth + 1))
            .flatten();
    }
    let home = ["$HOME", "${HOME}"].iter().any(|h| {
        text.strip_prefix(h)
            .is_some_and(|rest| !rest.contains(['$', '`']))
    });
    (home || !text.contains(['$', '`', '('])).then_some(text)
}

/// Whether the assignments before `c`'s program stay after it: before a special builtin
/// (`x=/ :`, `x=/ eval …`, `x=/ export y`) dash and POSIX shells keep them.
pub(crate) fn assignments_persist(c: &SimpleCommand) -> bool {
    const SPECIAL: &[&str] = &[
        ":", ".", "break", "continue", "eval", "exec", "exit", "export", "readonly", "return",
        "set", "shift", "times", "trap", "unset",
    ];
    !c.assignments.is_empty()
        && c.words
            .first()
            .is_some_and(|p| SPECIAL.contains(&p.text.as_str()))
}

/// bash's assignment to an array element, `NAME[SUBSCRIPT]=VALUE` or `+=` (a command word
/// to the parser, as it is to dash): NAME and VALUE.
pub(crate) fn element_assignment(word: &str) -> Option<(&str, &str)> {
    let (name, rest) = word.split_once('[')?;
    let (_, value) = rest.split_once("]=").or_else(|| rest.split_once("]+="))?;
    is_name(name)
        .then_some((name, value))
        .filter(|_| !positional(name))
}

/// Where `cmd` is in [`Script::commands`] (it is one of them, or `None`).
fn index_of(script: &Script, cmd: &SimpleCommand) -> Option<usize> {
    let size = std::mem::size_of::<SimpleCommand>().max(1);
    let offset =
        (std::ptr::from_ref(cmd) as usize).checked_sub(script.commands.as_ptr() as usize)?;
    let i = offset / size;
    script
        .commands
        .get(i)
        .filter(|c| std::ptr::eq(*c, cmd))
        .map(|_| i)
}

/// `$1` …, `$@`, `$*`: the arguments of the function the command is in, or the line's.
fn positional(name: &str) -> bool {
    name.bytes().all(|c| c.is_ascii_digit()) || matches!(name, "@" | "*")
}

/// [`direct_values`], with an array literal split into its elements (`a=(/ /etc)`) and a
/// value that is another variable of the line replaced by that one's values (`e=$d`).
fn resolved(script: &Script, name: &str, cmd: &SimpleCommand, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    // Each other variable's values once, however many of these values name it (`x=aN;
    // f=$x` thousands of times made as many copies of all of x's values).
    let mut expanded: Vec<String> = Vec::new();
    for v in direct_values(script, name, cmd) {
        if let Some(inner) = v.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
            out.extend(
                inner
                    .split_whitespace()
                    .map(|e| e.trim_matches(['"', '\'']).to_string()),
            );
            continue;
        }
        let other = v
            .strip_prefix('$')
            .map(|n| n.trim_start_matches('{').trim_end_matches('}'))
            .filter(|n| is_name(n) && *n != name && *n != "HOME");
        if let Some(n) = other.filter(|_| depth < 3) {
            if expanded.iter().any(|e| e == n) {
                continue;
            }
            let inner = resolved(script, n, cmd, depth + 1);
            if !inner.is_empty() {
                expanded.push(n.to_string());
                out.extend(inner);
                continue;
            }
        }
        out.push(v);
    }
    out
}

/// The values the line's own commands give `name` directly.
fn direct_values(script: &Script, name: &str, cmd: &SimpleCommand) -> Vec<String> {
    let mut out = Vec::new();
    if positional(name) {
        positional_values(script, name, cmd, &mut out);
        return out;
    }
    let index = script.lookups.setters(script);
    // `: ${x:=/}`, `y=${x:=/}`, `case ${x=/} in`: assigns when x is unset (or empty);
    // `${!r:=/}` whichever variable r names.
    for (n, v) in &script.defaults {
        if n == name || n == "!" {
            out.push(v.clone());
        }
    }
    // `cd /` puts the directory it enters in DIRSTACK[0] (bash), which `$DIRSTACK` reads;
    // `alias 0=/` sets BASH_ALIASES[0].
    if name == "DIRSTACK" {
        out.push("$PWD".to_string());
    }
    if name == "BASH_ALIASES" {
        for c in index.starting("alias").map(|i| &script.commands[i]) {
            out.extend(
                c.words[1..]
                    .iter()
                    .filter_map(|w| w.text.strip_prefix("0=").map(|v| v.trim().to_string())),
            );
        }
    }
    // The commands that may set it, and those that set a name only known when they run.
    let mut setters: Vec<usize> = index
        .of(name)
        .chain(index.dynamic.iter().copied())
        .collect();
    setters.sort_unstable();
    setters.dedup();
    for c in setters.into_iter().map(|i| &script.commands[i]) {
        #[cfg(test)]
        super::lookups::work::step();
        for a in c.assignments.iter().filter(|a| a.name == name) {
            if !c.words.is_empty() && !assignments_persist(c) {
                continue;
            }
            match assigned_text(script, &a.value) {
                Some(t) => out.push(t),
                // bash `a=(/ /etc)` (the parser keeps the elements, joined by blanks) and
                // `a=$'…'`: their words.
                None if a.value.shell_dependent && !a.value.text.contains(['$', '`']) => {
                    out.extend(a.value.text.split_whitespace().map(str::to_string))
                }
                None => {}
            }
        }
        let words = effective_words(c);
        let Some(p) = words.first() else { continue };
        // `mapfile -C CODE`, `alias s=CODE`: what that code assigns.
        let code = callback_script(c)
            .ok()
            .flatten()
            .into_iter()
            .chain(alias_scripts(c).unwrap_or_default());
        for sub in code {
            if let Some(first) = sub.commands.first() {
                out.extend(direct_values(&sub, name, first));
            }
        }
        // bash `x[0]=/` (dash runs it as a command): `$x` is element 0.
        if let Some((_, v)) = element_assignment(&p.text).filter(|(n, _)| *n == name) {
            out.push(v.trim_matches(['"', '\'']).to_string());
            continue;
        }
        // `eval "d=/"`, `trap 'd=/' DEBUG`: what literal code run by eval or a trap assigns.
        if let Some(sub) = eval_script(c).or_else(|| trap_script(c)) {
            if let Some(first) = sub.commands.first() {
                out.extend(direct_values(&sub, name, first));
            }
            continue;
        }
        if !matches!(
            p.text.as_str(),
            "export"
                | "readonly"
                | "local"
                | "declare"
                | "typeset"
                | "printf"
                | "read"
                | "mapfile"
                | "readarray"
                | "getopts"
        ) {
            continue;
        }
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        // A name only known when it runs (`printf -v "$n"`) may be this one.
        let is_it = |t: &str| base_name(t) == name || dynamic_name(t);
        let names = |t: Option<&&str>| t.is_some_and(|t| is_it(t));
        match p.text.as_str() {
            "export" | "readonly" | "local" | "declare" | "typeset" => {
                for w in &words[1..] {
                    // `x=V`, and bash's `x[0]=V`.
                    let rest = w
                        .text
                        .strip_prefix(name)
                        .and_then(|r| match r.strip_prefix('[') {
                            Some(sub) => sub.find(']').map(|e| &sub[e + 1..]),
                            None => Some(r),
                        });
                    if let Some(v) = rest.and_then(|r| r.strip_prefix('=')) {
                        if w.is_static() || v.starts_with(['~', '$']) {
                            out.push(v.to_string());
                        }
                    } else if let Some((n, v)) = w.text.split_once('=') {
                        // `export "$n=/"`.
                        if dynamic_name(n) && !v.contains(['$', '`']) {
                            out.push(v.to_string());
                        }
                    }
                    // bash expands braces in these words (`export x={build,/}` is
                    // `export x=build x=/`): each alternative may be the value.
                    if w.shell_dependent {
                        out.extend(brace_alternatives(&w.text, name));
                    }
                }
            }
            // `printf -v x FORMAT ARGS`, `printf -vx -- FORMAT` (bash).
            "printf" if set_names(words).first().is_some_and(|n| is_it(n)) => {
                let start = if texts.get(1) == Some(&"-v") { 3 } else { 2 };
                out.extend(super::printf_text(texts.get(start..).unwrap_or_default()));
            }
            // `getopts OPTSTRING x`: one of its option characters, or `?`.
            "getopts" if names(texts.get(2)) => out.extend(getopts_values(texts[1])),
            // `read [-r] a b` fed by a here-document, a here-string or echo: the last name
            // takes the rest of the line (`read -a x`, `read -rax`: its first field).
            "read" => {
                let names = set_names(words);
                let Some(k) = names.iter().position(|n| is_it(n)) else {
                    continue;
                };
                for text in super::stdin_texts(script, c) {
                    let line = text.lines().next().unwrap_or("");
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    out.push(if k + 1 == names.len() {
                        fields.get(k..).unwrap_or_default().join(" ")
                    } else {
                        fields.get(k).copied().unwrap_or("").to_string()
                    });
                }
            }
            // `mapfile -t a <<< /` / `readarray`: the array's elements are the input's lines
            // (read here as one value, the lines joined by blanks).
            "mapfile" | "readarray" => {
                let array = set_names(words).first().copied().unwrap_or("MAPFILE");
                if !is_it(array) {
                    continue;
                }
                for text in super::stdin_texts(script, c) {
                    out.push(text.lines().collect::<Vec<_>>().join(" "));
                }
            }
            _ => {}
        }
    }
    for i in index.loops_of(name) {
        out.extend(script.loop_values[i].1.iter().map(|w| w.text.clone()));
    }
    // `declare -n r=x; r=/`: what is assigned to a name reference may be assigned to any
    // variable (a reference's own values are not followed further).
    if !index.namerefs.iter().any(|r| r == name) {
        for r in &index.namerefs {
            out.extend(direct_values(script, r, cmd));
        }
    }
    out
}

/// The files a word of the line names, for the written-then-run checks: its text, or with
/// the line's own values of its variables put in (`f=/tmp/b; echo … > "$f"` writes
/// /tmp/b), one path a value (up to [`MAX_READINGS`]).
pub(crate) struct Paths<'s> {
    script: &'s Script,
}

impl<'s> Paths<'s> {
    pub(crate) fn new(script: &'s Script) -> Self {
        Paths { script }
    }

    /// The paths `text` (a word of `cmd`, `word` where the caller has it) may name, or
    /// `None` where a part of it is only known when the line runs (`"$(date)"`, `$RANDOM`,
    /// `${f%/*}`, a variable the line does not set): a file whose name may be any name.
    /// `~`, `$HOME` and `$PWD` at the start are kept as written: the same spelling is the
    /// same file.
    pub(crate) fn of(
        &self,
        cmd: Option<&SimpleCommand>,
        word: Option<&Word>,
        text: &str,
    ) -> Option<Vec<String>> {
        self.of_at(cmd, word, text, 0)
    }

    /// [`Paths::of`], `depth` values deep (`d=/tmp; f=$d/b`: f's value names d's).
    fn of_at(
        &self,
        cmd: Option<&SimpleCommand>,
        word: Option<&Word>,
        text: &str,
        depth: usize,
    ) -> Option<Vec<String>> {
        if spelled(text) {
            return Some(vec![home_as_tilde(text)]);
        }
        // `"$(echo /tmp/b)"`: what a literal substitution prints.
        let alt = word
            .filter(|w| !w.subs.is_empty())
            .and_then(|w| alternative(self.script, w));
        let source = alt.as_deref().unwrap_or(text);
        let refs = references(source);
        let mut found: Vec<(&str, Arc<Vec<String>>)> = Vec::new();
        for (_, _, name) in &refs {
            if found.iter().any(|(n, _)| n == name) {
                continue;
            }
            // `$1` is the function's argument where the command is in one; a name's
            // values are the line's wherever it is read.
            let at = if positional(name) {
                cmd?
            } else {
                cmd.or(self.script.commands.first())?
            };
            let v = values(self.script, name, at);
            if v.is_empty() {
                return None;
            }
            found.push((name, v));
        }
        let most = found.iter().map(|(_, v)| v.len()).max().unwrap_or(1);
        let mut out = Vec::new();
        for k in 0..most.min(MAX_READINGS) {
            let mut t = String::new();
            let mut last = 0;
            for (s, e, n) in &refs {
                let Some((_, v)) = found.iter().find(|(m, _)| m == n) else {
                    continue;
                };
                t.push_str(&source[last..*s]);
                t.push_str(&v[k.min(v.len() - 1)]);
                last = *e;
            }
            t.push_str(&source[last..]);
            // A value that names other variables (`f=$d/b`), a few deep; past that, or one
            // only known when it runs (`f=$(date)`), any name.
            let ts = if spelled(&t) {
                vec![home_as_tilde(&t)]
            } else if depth < 3 {
                self.of_at(cmd, None, &t, depth + 1)?
            } else {
                return None;
            };
            for t in ts {
                if !out.contains(&t) {
                    if out.len() == MAX_READINGS {
                        return None;
                    }
                    out.push(t);
                }
            }
        }
        Some(out)
    }
}

/// `$HOME/a` and `${HOME}/a` spelled `~/a`: the same file by one name.
fn home_as_tilde(path: &str) -> String {
    for home in ["${HOME}", "$HOME"] {
        if let Some(rest) = path.strip_prefix(home) {
            if rest.is_empty() || rest.starts_with('/') {
                return format!("~{rest}");
            }
        }
    }
    path.to_string()
}

/// A path whose text names one file however the line runs: no expansion, or only `~`,
/// `$HOME`, `$PWD` or `$OLDPWD` at its start.
fn spelled(text: &str) -> bool {
    let rest = [
        "${HOME}",
        "$HOME",
        "${OLDPWD}",
        "$OLDPWD",
        "${PWD}",
        "$PWD",
        "~",
    ]
    .iter()
    .find_map(|p| {
        text.strip_prefix(p)
            .filter(|r| !r.starts_with(|c: char| c == '_' || c.is_ascii_alphanumeric()))
    })
    .unwrap_or(text);
    !rest.contains(['$', '`'])
}

/// `$1`, `$@` …: the words of `set -- …`, and for a command in a function's body the
/// arguments of the line's calls of that function.
fn positional_values(script: &Script, name: &str, cmd: &SimpleCommand, out: &mut Vec<String>) {
    let pick = |args: &[Word]| -> Option<String> {
        let texts: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
        match name {
            "@" | "*" => Some(texts.join(" ")),
            n => n
                .parse::<usize>()
                .ok()
                .filter(|&k| k > 0)
                .and_then(|k| texts.get(k - 1).map(|t| t.to_string())),
        }
    };
    let function = cmd
        .function
        .and_then(|f| script.functions.get(f))
        .map(|f| f.name.as_str());
    // The calls of the function the command is in, or outside one the line's `set`s.
    let first_word = function.unwrap_or("set");
    let index = script.lookups.setters(script);
    for c in index.starting(first_word).map(|i| &script.commands[i]) {
        let Some(p) = c.words.first() else { continue };
        let calls_function = function == Some(p.text.as_str());
        let sets = p.text == "set"
            && c.words
                .get(1)
                .is_some_and(|w| w.text == "--" || !w.text.starts_with(['-', '+']));
        if calls_function {
            out.extend(pick(&c.words[1..]));
        } else if sets && function.is_none() {
            let skip = usize::from(c.words[1].text == "--");
            out.extend(pick(&c.words[1 + skip..]));
        }
    }
}

/// `argv` with each variable that holds one known value where `cmd` runs (the last
/// assignment before it, [`last_assignment`]) put in, in the words that are one field
/// and have no substitution; `None` when there is none. Its text is what the shell hands
/// the program, so it stands in for the words as written (`x=build; rm -rf "$x"/` is not
/// `"$x"/`, which would be `/` with x unset).
pub(crate) fn settled(script: &Script, cmd: &SimpleCommand, argv: &[Arg]) -> Option<Vec<Arg>> {
    if argv.len() != cmd.words.len() {
        return None;
    }
    let mut changed = false;
    let out = argv
        .iter()
        .zip(&cmd.words)
        .map(|(a, w)| {
            if w.split || !w.subs.is_empty() || !w.text.contains('$') {
                return a.clone();
            }
            let mut text = String::new();
            let mut last = 0;
            for (s, e, name) in references(&w.text) {
                if let Some(v) = last_assignment(script, name, cmd) {
                    text.push_str(&w.text[last..s]);
                    text.push_str(&v);
                    last = e;
                }
            }
            if last == 0 {
                return a.clone();
            }
            text.push_str(&w.text[last..]);
            changed = true;
            Arg {
                exact: !text.contains(['$', '`']),
                text,
                ..a.clone()
            }
        })
        .collect();
    changed.then_some(out)
}

/// The readings of a command's argv with the line's own variables put in: one for each
/// value (up to [`MAX_READINGS`]), the fields of an unquoted expansion split on `$IFS` (the
/// line's own `IFS=…` or the default blanks). Empty when no word refers to such a variable.
pub(crate) fn readings(script: &Script, cmd: &SimpleCommand, argv: &[Arg]) -> Vec<Vec<Arg>> {
    if argv.len() != cmd.words.len() || !cmd.words.iter().any(|w| w.text.contains(['$', '`'])) {
        return Vec::new();
    }
    let alternatives: Vec<Option<String>> =
        cmd.words.iter().map(|w| alternative(script, w)).collect();
    let mut known: Vec<(&str, Arc<Vec<String>>)> = Vec::new();
    for (w, alt) in cmd.words.iter().zip(&alternatives) {
        for (_, _, name) in references(alt.as_deref().unwrap_or(&w.text)) {
            learn(script, cmd, name, true, &mut known);
        }
    }
    let Some(most) = known
        .iter()
        .map(|(_, v)| v.len())
        .chain(alternatives.iter().flatten().map(|_| 1))
        .max()
    else {
        return Vec::new();
    };
    if !script
        .lookups
        .take_readings(most, MAX_READINGS, MAX_LINE_READINGS)
    {
        return Vec::new();
    }
    let ifs = values(script, "IFS", cmd)
        .last()
        .cloned()
        .unwrap_or_else(|| " \t\n".to_string());
    (0..most)
        .map(|k| {
            let mut out = Vec::with_capacity(argv.len());
            for ((a, w), alt) in argv.iter().zip(&cmd.words).zip(&alternatives) {
                let source = alt.as_deref().unwrap_or(&w.text);
                let refs = references(source);
                if alt.is_none()
                    && !refs
                        .iter()
                        .any(|(_, _, n)| known.iter().any(|(m, _)| m == n))
                {
                    out.push(a.clone());
                    continue;
                }
                let mut text = put_in(source, &refs, &known, k);
                // `x=$PWD; rm -rf "$x"` is `rm -rf "$PWD"`: the working directory, which the
                // rules read as `.` from every directory the line may be in.
                if !w.split {
                    if let Some(rest) = super::current_dir_ref(&text) {
                        text = format!(".{rest}");
                    }
                }
                // Values the line wrote out are as known as literals.
                let exact = !text.contains(['$', '`']);
                if w.split {
                    out.extend(
                        text.split(|c| ifs.contains(c))
                            .filter(|f| !f.is_empty())
                            .map(|f| Arg {
                                exact,
                                ..Arg::unknown(f)
                            }),
                    );
                } else {
                    out.push(Arg {
                        text,
                        exact,
                        ..a.clone()
                    });
                }
            }
            out
        })
        .filter(|v| v.first().is_some_and(|p| !basename(&p.text).is_empty()))
        .collect()
}

/// Adds to `known` the values `name` may have where `cmd` runs ([`values`]), unless it is
/// there or has none. With `env`, also the value `cmd`'s own prefix assignment gives it,
/// which is in the environment of what `cmd` runs (`x='rm -rf /' sh -c '$x'`, and `x=/
/// eval …`, where it stays): a reading of `cmd`'s own words with it is one that may not
/// happen (`x=/ rm -rf $x` removes nothing), as every reading of a value the line gives
/// elsewhere may not.
fn learn<'t>(
    script: &Script,
    cmd: &SimpleCommand,
    name: &'t str,
    env: bool,
    known: &mut Vec<(&'t str, Arc<Vec<String>>)>,
) {
    if known.iter().any(|(n, _)| *n == name) {
        return;
    }
    let mut v = values(script, name, cmd);
    if env {
        let own = cmd
            .assignments
            .iter()
            .rev()
            .find(|a| a.name == name && a.value.is_static());
        if let Some(a) = own.filter(|a| !v.contains(&a.value.text)) {
            let mut more = (*v).clone();
            more.push(a.value.text.clone());
            v = Arc::new(more);
        }
    }
    if !v.is_empty() {
        known.push((name, v));
    }
}

/// `source` with reading `k` of the known values put in for its references `refs` (a
/// variable with fewer values keeps its last one).
fn put_in(
    source: &str,
    refs: &[(usize, usize, &str)],
    known: &[(&str, Arc<Vec<String>>)],
    k: usize,
) -> String {
    let mut text = String::new();
    let mut last = 0;
    for &(s, e, n) in refs {
        if let Some((_, v)) = known.iter().find(|(m, _)| *m == n) {
            text.push_str(&source[last..s]);
            text.push_str(&v[k.min(v.len() - 1)]);
            last = e;
        }
    }
    text.push_str(&source[last..]);
    text
}

/// The texts an expanding text of `cmd` (a here-document body, a here-string) has with the
/// line's own values of its variables put in, one a reading (up to [`MAX_READINGS`]):
/// `x='rm -rf /'; sh <<EOF⏎$x⏎EOF` runs `rm -rf /`. Empty when no variable of it has a
/// value on the line (or the line has used up its readings, which refuses it).
///
/// With `env` the text is code `cmd` runs (its input, a file it runs), whose `$NAME` the
/// shell running it reads from its environment: `cmd`'s prefix assignments count too
/// (`x='rm -rf /' sh <<< '$x'`). The line's variables count whether exported or not.
pub(crate) fn text_readings(
    script: &Script,
    cmd: &SimpleCommand,
    text: &str,
    env: bool,
) -> Vec<String> {
    let refs = references(text);
    let mut known: Vec<(&str, Arc<Vec<String>>)> = Vec::new();
    for &(_, _, name) in &refs {
        learn(script, cmd, name, env, &mut known);
    }
    let Some(most) = known.iter().map(|(_, v)| v.len()).max() else {
        return Vec::new();
    };
    if !script
        .lookups
        .take_readings(most, MAX_READINGS, MAX_LINE_READINGS)
    {
        return Vec::new();
    }
    (0..most).map(|k| put_in(text, &refs, &known, k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_variables_and_parameters() {
        let names = |t: &str| -> Vec<String> {
            references(t)
                .into_iter()
                .map(|(_, _, n)| n.to_string())
                .collect()
        };
        assert_eq!(names("$d/x"), ["d"]);
        assert_eq!(names("of=${dev}"), ["dev"]);
        assert_eq!(names("$1$@ $*"), ["1", "@", "*"]);
        // Operators and special parameters other than @ * are not plain references.
        assert!(names("${x:-/} $$ $? a$").is_empty());
    }

    #[test]
    fn paths_take_the_lines_values() {
        let script = super::super::parse::parse(
            "d=/tmp; f=$d/b; for g in x y; do :; done; echo \"$f\" \"$g\" $HOME/a \"$u\" \"$(date)\" \"${f%/*}\"",
        )
        .expect("parses");
        let c = script.commands.last().expect("echo");
        let paths = Paths::new(&script);
        let of = |t: &str| paths.of(Some(c), None, t);
        assert_eq!(of("$f"), Some(vec!["/tmp/b".to_string()]));
        assert_eq!(
            of("$g.sh"),
            Some(vec!["x.sh".to_string(), "y.sh".to_string()])
        );
        assert_eq!(of("$HOME/a"), Some(vec!["~/a".to_string()]));
        assert_eq!(of("${HOME}"), Some(vec!["~".to_string()]));
        // Only known when the line runs.
        for t in ["$u", "$(date)", "${f%/*}", "$RANDOM/x", "$HOMEDIR/a"] {
            assert_eq!(of(t), None, "{t}");
        }
    }

    #[test]
    fn readings_put_in_values_and_split_fields() {
        let script = super::super::parse::parse("x='-rf /'; for d in a b; do rm $x $d; done")
            .expect("parses");
        let c = script.commands.last().expect("rm");
        let argv: Vec<Arg> = c.words.iter().map(Arg::from_word).collect();
        let texts: Vec<Vec<String>> = readings(&script, c, &argv)
            .into_iter()
            .map(|v| v.into_iter().map(|a| a.text).collect())
            .collect();
        assert_eq!(texts, [["rm", "-rf", "/", "a"], ["rm", "-rf", "/", "b"]]);
    }
}
