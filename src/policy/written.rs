//! Scripts the line writes and then runs (`echo 'rm -rf /' > x.sh; sh x.sh`,
//! `printf '$0&$0&' > b.sh; chmod +x b.sh; ./b.sh`): the literal text `echo`, `printf` or
//! `cat <<EOF` put into a file (also as a group or subshell redirected there:
//! `{ echo …; } > a`) is checked as shell code where the same line runs that file or a
//! copy of it (`sh FILE`, `. FILE`, `./FILE`, `sh < FILE`, `cat FILE | sh`, `cp FILE b;
//! sh b`), and its recipe lines where `make` reads it as a makefile (`make -f FILE`, a
//! written `Makefile`). A script that starts copies of itself (`$0 & $0`, `sh $0 | sh $0`)
//! is a fork bomb.
//!
//! A file's literal pieces are also read joined in the line's order (`printf 'rm -rf' > a;
//! echo ' /' >> a`), also written through a descriptor (`exec 3> a; echo … >&3`); the file
//! also runs where a substitution prints it into shell code (`sh -c "$(cat a)"`, `eval`),
//! by a name that reaches it through the line's `cd`s (`echo … > /tmp/a; cd /tmp; sh a`),
//! and where `find -exec` or `xargs` runs names only known when they run (every file the
//! line wrote counts). Conditions are not followed: the order is the line's text.

use super::blocklist;
use super::download::{is_shell, reads_code, runs_as_code, runs_file};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use super::parse::{self, RedirKind, Script, SimpleCommand, Word};
use super::rules::{basename, Arg};
use super::{
    args_of, copy_reaches, current_dir_ref, echo_option, input_files, normalised_path, piped_into,
    placeholder_values, printed_texts, runners, source_path, vectors, Lines, Outer, Policy,
    MAX_UNWRAP,
};

impl Policy {
    /// The first refusal of a script the line writes and then runs. `outer`: what the
    /// script, run as nested shell text, inherits (this line among its lines).
    pub(super) fn written_then_run(
        &self,
        lines: &Lines<'_>,
        depth: usize,
        outer: Outer<'_>,
    ) -> Option<(String, String)> {
        let script = lines.script;
        let files = written_files(script, lines.copies);
        if files.is_empty() {
            return None;
        }
        let copies: Vec<(&Word, String)> = lines
            .levels()
            .flat_map(|l| l.copies.iter().cloned())
            .collect();
        // `echo … > /tmp/a; cd /tmp; sh a`: a relative name in each directory the line's
        // `cd`s may reach, on both sides; past [`MAX_DIRS`] directories a relative name the
        // line runs may be any file it wrote.
        let cwds = outer.cwds;
        let many_dirs = cwds.len() > MAX_DIRS;
        let dirs: &[blocklist::Cwd] = if many_dirs { &[] } else { cwds };
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (p, _)) in files.iter().enumerate() {
            for n in in_dirs(p, dirs) {
                let held = by_name.entry(n).or_default();
                if !held.contains(&i) {
                    held.push(i);
                }
            }
        }
        // Each name the line runs or reads is looked up once: the written files it may be.
        let known: RefCell<HashMap<String, Rc<Vec<usize>>>> = RefCell::default();
        let held = |t: &str| -> Rc<Vec<usize>> {
            if let Some(h) = known.borrow().get(t) {
                return h.clone();
            }
            // `cd /tmp/x; sh ../a`: the name as written too, before `..` is read away.
            let names: Vec<String> = origins(&copies, t)
                .iter()
                .chain([&t.to_string()])
                .flat_map(|n| in_dirs(n, dirs))
                .collect();
            let mut h: Vec<usize> = if many_dirs && names.iter().any(|n| !n.starts_with('/')) {
                (0..files.len()).collect()
            } else {
                names
                    .iter()
                    .filter_map(|n| by_name.get(n))
                    .flatten()
                    .copied()
                    .collect()
            };
            h.sort_unstable();
            h.dedup();
            let h = Rc::new(h);
            known.borrow_mut().insert(t.to_string(), h.clone());
            h
        };
        // `find . -name '*.sh' -exec {} \;`: names only known when it runs may be any
        // file the line wrote; each is checked once for the whole line.
        let found = script
            .commands
            .iter()
            .any(|c| runs_found(script, c, &args_of(c), 0));
        // Each file's text is checked as run once for the line, whichever commands run it.
        let mut passed = vec![false; files.len()];
        if found {
            for (i, (_, text)) in files.iter().enumerate() {
                if let Some(r) = self.refuse_run_text(text.as_deref(), depth, outer) {
                    return Some(r);
                }
                passed[i] = true;
            }
        }
        for c in &script.commands {
            let argv = args_of(c);
            // The names the command may run or read as a makefile, each asked once with
            // no answer given (so no `any` stops early): the files they hold are the ones
            // to check exactly.
            let asked: RefCell<Vec<String>> = RefCell::default();
            let ask = |t: &str| {
                asked.borrow_mut().push(t.to_string());
                false
            };
            runs_written(script, c, &argv, &ask);
            reads_makefile(&argv, &ask);
            let mut asked = asked.take();
            asked.sort_unstable();
            asked.dedup();
            // Files the asked names hold alike are decided alike: one check a group
            // (past [`MAX_DIRS`] every relative name holds every file).
            let mut groups: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
            let mut group_of: HashMap<Vec<bool>, usize> = HashMap::new();
            let mut candidates: Vec<usize> = asked.iter().flat_map(|t| held(t).to_vec()).collect();
            candidates.sort_unstable();
            candidates.dedup();
            for i in candidates {
                let sig: Vec<bool> = asked.iter().map(|t| held(t).contains(&i)).collect();
                let g = *group_of.entry(sig.clone()).or_insert_with(|| {
                    groups.push((sig, Vec::new()));
                    groups.len() - 1
                });
                groups[g].1.push(i);
            }
            for (sig, group) in &groups {
                let first = group[0];
                let same = |t: &str| match asked.binary_search_by(|a| a.as_str().cmp(t)) {
                    Ok(k) => sig[k],
                    Err(_) => held(t).contains(&first),
                };
                let runs = runs_written(script, c, &argv, &same);
                let make = reads_makefile(&argv, &same);
                for &i in group.iter().filter(|_| runs || make) {
                    let text = files[i].1.as_deref();
                    if runs && !passed[i] {
                        if let Some(r) = self.refuse_run_text(text, depth, outer) {
                            return Some(r);
                        }
                        passed[i] = true;
                    }
                    // `printf 'x:\n\trm -rf /\n' > a; make -f a`: each recipe line is
                    // shell text.
                    if make {
                        let Some(text) = text else {
                            return Some(too_many_pieces());
                        };
                        if let Some(r) = runners::recipe_lines(text)
                            .iter()
                            .find_map(|l| self.refuse_shell_text(l, depth, outer))
                        {
                            return Some(r);
                        }
                    }
                }
            }
        }
        None
    }

    /// The refusal of running a written file's `text`: a fork bomb, what the text does, or
    /// (`None`: more pieces than the policy joins) that it cannot be read.
    fn refuse_run_text(
        &self,
        text: Option<&str>,
        depth: usize,
        outer: Outer<'_>,
    ) -> Option<(String, String)> {
        let Some(text) = text else {
            return Some(too_many_pieces());
        };
        if spawns_itself(text) {
            let (id, why) = blocklist::hit_of(
                "default:fork-bomb",
                "a script written by the line that starts copies of itself ($0 & $0)",
            );
            return Some((id.to_string(), why));
        }
        self.refuse_shell_text(text, depth, outer)
    }
}

/// Most directories a relative name is read from ([`in_dirs`]).
const MAX_DIRS: usize = 32;

/// A file the line writes in more pieces, or more text, than the policy puts together
/// ([`joined`]) and then runs: what it runs cannot be read.
fn too_many_pieces() -> (String, String) {
    let (id, why) = blocklist::hit_of(
        "default:hidden-code",
        &format!(
            "running a file the line writes in more than {MAX_JOINED_WRITES} pieces or {MAX_JOINED_TEXT} bytes (or with more readings than {MAX_READINGS}): the default blocklist cannot read what it runs; write it in one piece, read it, then run it"
        ),
    );
    (id.to_string(), why)
}

/// True when `c` runs a file `same` marks as shell code: by its path or as a shell's
/// script (`./a`, `sh a`, `. a`), fed to a shell (`sh < a`, `cat a | sh`), or printed
/// into shell code (`sh -c "$(cat a)"`, `eval "`cat a`"`, `bash -c "$(< a)"`).
fn runs_written(
    script: &Script,
    c: &SimpleCommand,
    argv: &[Arg],
    same: &dyn Fn(&str) -> bool,
) -> bool {
    let from_input = c
        .redirects
        .iter()
        .any(|r| r.kind == RedirKind::Input && !r.here && same(&r.target.text))
        || piped_from_file(script, c, same);
    (from_input && reads_code(argv, true, 0))
        || runs_file(argv, same, 0)
        || (!c.words.is_empty()
            && runs_as_code(script, c, argv, false, &|w| prints_file(script, w, same)))
}

/// `$(cat a)`, `` `cat ./a` ``, `$(< a)`: a command substitution whose output is the
/// file `same` marks, read by `cat` or from its input.
fn prints_file(script: &Script, w: &Word, same: &dyn Fn(&str) -> bool) -> bool {
    script.commands[w.subs.clone()].iter().any(|d| {
        let cat = d.words.first().is_some_and(|p| basename(&p.text) == "cat");
        (cat && d.words[1..].iter().any(|o| same(&o.text))) || input_files(d).any(|f| same(&f.text))
    })
}

/// `path`, and where it is relative, the path it names from each directory the line's
/// `cd`s may reach ([`blocklist::cd_dirs`]): `a` after `cd /tmp` is also `/tmp/a`.
fn in_dirs(path: &str, cwds: &[blocklist::Cwd]) -> Vec<String> {
    let mut out = vec![normalised_path(path)];
    if path.is_empty() || path.starts_with('/') {
        return out;
    }
    for d in cwds {
        if let blocklist::Cwd::Dir(d) = d {
            let p = normalised_path(&format!("{d}/{path}"));
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// `find . -name '*.sh' -exec {} \;`, `find . -exec sh {} +`, `ls | xargs -n1 sh`,
/// `xargs -I% ./%`: find or xargs runs files by names only known when it runs (what it
/// finds, what it reads), as programs or as a shell's script; also through a wrapper
/// (`sudo find …`).
fn runs_found(script: &Script, c: &SimpleCommand, argv: &[Arg], depth: usize) -> bool {
    let Some(p) = argv.first() else {
        return false;
    };
    let finds = matches!(basename(&p.text), "find" | "xargs");
    // xargs's `-I R`: R stands for each name it reads.
    let replaced = if basename(&p.text) == "xargs" {
        placeholder_values(argv, script, c).0
    } else {
        String::new()
    };
    let unnamed = |t: &str| t.contains("{}") || (!replaced.is_empty() && t.contains(&replaced));
    depth < MAX_UNWRAP
        && vectors::analyse(argv, false).into_iter().any(|f| match f {
            vectors::Finding::Wrap {
                argv: mut inner,
                appended,
            } if finds => {
                if appended {
                    inner.push(Arg::unknown("{}"));
                }
                inner.first().is_some_and(|p| unnamed(&p.text))
                    || runs_file(&inner, &unnamed, 0)
                    || code_runs_found(&inner, &unnamed)
            }
            vectors::Finding::Wrap { argv: inner, .. } => runs_found(script, c, &inner, depth + 1),
            _ => false,
        })
}

/// `find . -exec sh -c 'sh {}' \;`, `find . -exec sh -c './"$1"' _ {} \;`, `xargs sh -c
/// 'sh "$0"'`: a shell given code that runs a found name (`unnamed`), or an argument after
/// the code where one follows, as a program or a shell's script. Code that only uses the
/// name (`echo {}`) runs none; code that cannot be read counts as running one.
fn code_runs_found(inner: &[Arg], unnamed: &dyn Fn(&str) -> bool) -> bool {
    if !inner.first().is_some_and(is_shell) {
        return false;
    }
    let Some(at) = inner[1..].iter().position(|a| {
        let t = a.text.as_str();
        t.starts_with('-') && !t.starts_with("--") && t[1..].contains('c')
    }) else {
        return false;
    };
    let Some(code) = inner.get(at + 2) else {
        return false;
    };
    // `$0`, `"$1"`, `$@`, `${1}`: the arguments after the code, when a found name is one.
    let passed = inner[at + 3..].iter().any(|a| unnamed(&a.text));
    let runs = |t: &str| {
        unnamed(t)
            || (passed
                && [
                    "$0", "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$@", "$*", "${",
                ]
                .iter()
                .any(|v| t.contains(v)))
    };
    let Ok(sub) = parse::parse(&code.text) else {
        return true;
    };
    sub.commands.iter().any(|c| {
        let argv = args_of(c);
        argv.first().is_some_and(|p| runs(&p.text)) || runs_file(&argv, &runs, 0)
    })
}

/// Files the line fills with literal text, each with one text it may hold: what `echo …`,
/// `printf …` or `cat <<EOF` write into them (alone or in a group or subshell: `{ echo …;
/// } > FILE`; through a descriptor: `exec 3> FILE; echo … >&3`), or pipe into `tee FILE`,
/// each write on its own; and, where every write into a file is one of those ([`Write`]),
/// what they make together in the line's order (`printf 'rm -rf' > a; echo ' /' >> a`),
/// or `None` where that is more than the policy puts together ([`Joined::TooMany`]).
/// Each path as the line names it, or for joined texts as [`normalised_path`] spells it.
fn written_files(script: &Script, copies: &[(&Word, String)]) -> Vec<(String, Option<String>)> {
    let writes = writes(script);
    let mut out: Vec<(String, Option<String>)> = writes
        .iter()
        .flat_map(|w| {
            w.texts
                .iter()
                .flatten()
                .filter(|t| !t.is_empty())
                .map(|t| (w.path.clone(), Some(t.clone())))
        })
        .collect();
    out.dedup();
    // The writes into each file, files in the order the line first names them.
    let mut order: Vec<String> = Vec::new();
    let mut into_file: HashMap<String, Vec<&Write>> = HashMap::new();
    for w in &writes {
        let path = normalised_path(&w.path);
        let into = into_file.entry(path.clone()).or_default();
        if into.is_empty() {
            order.push(path);
        }
        into.push(w);
    }
    let mut budget = MAX_JOINED_BUDGET;
    for path in order {
        let into = &into_file[&path];
        // One write of text (beside emptying the file: `exec 3> a`) is already read on its
        // own; a copy onto the file (`cp x a`) is text the line does not show.
        let with_text = into
            .iter()
            .filter(|w| {
                w.texts
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| !t.is_empty()))
            })
            .count();
        if with_text < 2
            || copies
                .iter()
                .any(|(src, dest)| copy_reaches(src, dest, &path))
        {
            continue;
        }
        match joined(into, &mut budget) {
            Joined::Texts(texts) => out.extend(texts.into_iter().map(|t| (path.clone(), Some(t)))),
            Joined::TooMany => out.push((path, None)),
            Joined::NotShown => {}
        }
    }
    out
}

/// Most readings of a file's joined text ([`joined`]); echo's readings (dash's and bash's,
/// escapes, `-n`) multiply with each write.
const MAX_READINGS: usize = 64;
/// Most writes into one file, and bytes of one reading, put together ([`joined`]).
const MAX_JOINED_WRITES: usize = 32;
const MAX_JOINED_TEXT: usize = 8 * 1024;
/// Bytes of joined text made for the whole line: what the checks read stays bounded
/// however many files it writes.
const MAX_JOINED_BUDGET: usize = 1024 * 1024;

/// One write of the line into a file, in the order of the line's commands.
struct Write {
    /// The file, as the line names it.
    path: String,
    /// What the command writes, one text a reading ([`printed_texts`]); `None` when the
    /// line does not show it (`ls > a`, `exec > a`).
    texts: Option<Vec<String>>,
    /// What follows each text: echo's newline, or nothing after `echo -n` or `\c`.
    ends: &'static [&'static str],
    /// The text lands in the file as written, after the writes before it: none of them
    /// runs in a loop, a function or the background, and it is the command's standard
    /// output, not `2>` or output a redirection of its own takes elsewhere.
    ordered: bool,
    /// Keeps what the file held (`>>`, `tee -a`, a descriptor opened before).
    append: bool,
    /// Lands over what the file held, from its start (`<>`): not put together.
    in_place: bool,
}

/// What a file holds after the line's writes into it ([`joined`]).
enum Joined {
    /// Each reading of their texts put together.
    Texts(Vec<String>),
    /// A write is not shown or not in order ([`Write`]): only each write's own text is
    /// known.
    NotShown,
    /// More writes, readings or text than [`MAX_JOINED_WRITES`], [`MAX_READINGS`],
    /// [`MAX_JOINED_TEXT`] or what is left of the line's budget, or a write over what the
    /// file held (`<>`): not read.
    TooMany,
}

/// What a file holds after `writes` (all into it, in order): each reading of their texts
/// put together, `>` starting over and `>>` adding. Takes what it makes from `budget`.
fn joined(writes: &[&Write], budget: &mut usize) -> Joined {
    if writes.len() > MAX_JOINED_WRITES {
        return Joined::TooMany;
    }
    let mut texts = vec![String::new()];
    for w in writes {
        if w.in_place {
            return Joined::TooMany;
        }
        let Some(pieces) = w.texts.as_ref().filter(|_| w.ordered) else {
            return Joined::NotShown;
        };
        let before = if w.append { texts } else { vec![String::new()] };
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        texts = Vec::new();
        for b in &before {
            for t in pieces {
                for end in w.ends {
                    let len = b.len() + t.len() + end.len();
                    if len > MAX_JOINED_TEXT || len > *budget {
                        return Joined::TooMany;
                    }
                    let text = format!("{b}{t}{end}");
                    if seen.insert(text.clone()) {
                        if texts.len() == MAX_READINGS {
                            return Joined::TooMany;
                        }
                        *budget -= len;
                        texts.push(text);
                    }
                }
            }
        }
    }
    Joined::Texts(texts)
}

/// The writes of the line into files ([`Write`]), in the order of its commands. Cheap for
/// a line that redirects no output and runs no `tee`.
fn writes(script: &Script) -> Vec<Write> {
    let writes_somewhere = !script.compound_redirects.is_empty()
        || script.commands.iter().any(|c| {
            c.redirects.iter().any(|r| r.kind != RedirKind::Input)
                || c.words.first().is_some_and(|p| basename(&p.text) == "tee")
        });
    if !writes_somewhere {
        return Vec::new();
    }
    let opened = opened_descriptors(script);
    let mut out = Vec::new();
    for (i, c) in script.commands.iter().enumerate() {
        let in_order = c.function.is_none()
            && !script
                .loops
                .iter()
                .any(|l| l.body.contains(&i) || l.cond.contains(&i))
            && !script.background.iter().any(|b| b.contains(&i));
        // `{ …; } > a` empties the file once, before the group's first command.
        for (_, r) in script
            .compound_redirects
            .iter()
            .filter(|(range, r)| range.start == i && r.kind == RedirKind::Output)
        {
            out.push(Write {
                path: r.target.text.clone(),
                texts: Some(vec![String::new()]),
                ends: &[""],
                ordered: in_order,
                append: r.appends(),
                in_place: r.overwrites_in_place(),
            });
        }
        // `exec 3> a` opens (and empties) the file; `exec > a` sends what follows there.
        if c.words.len() == 1 && c.words[0].text == "exec" {
            for r in c.redirects.iter().filter(|r| r.kind == RedirKind::Output) {
                out.push(Write {
                    path: r.target.text.clone(),
                    texts: (!r.on_stdout()).then(|| vec![String::new()]),
                    ends: &[""],
                    ordered: in_order,
                    append: r.appends(),
                    in_place: r.overwrites_in_place(),
                });
            }
            continue;
        }
        let printed = printed_texts(script, c);
        if printed.is_none() && passes_on(script, c) {
            continue;
        }
        let ends = if printed.is_some() {
            echo_ends(c)
        } else {
            &[""]
        };
        let own_stdout = c
            .redirects
            .iter()
            .any(|r| r.kind != RedirKind::Input && r.on_stdout());
        // `>&3` where the line opened 3 onto a file: the file of the innermost group
        // around the command that opens 3, else of the last `exec 3>` before it.
        let descriptor = |r: &parse::Redirect| {
            let n: u32 = r.target.text.parse().ok()?;
            if r.kind != RedirKind::Dup || !r.on_stdout() {
                return None;
            }
            let mine = opened.iter().filter(|o| o.fd == n);
            let group = mine
                .clone()
                .filter_map(|o| match &o.scope {
                    Scope::Group(range) if range.contains(&i) => Some((range.len(), o)),
                    _ => None,
                })
                .min_by_key(|(len, _)| *len)
                .map(|(_, o)| o);
            let exec = mine
                .filter(|o| matches!(o.scope, Scope::After(k) if k < i))
                .max_by_key(|o| match o.scope {
                    Scope::After(k) => k,
                    Scope::Group(_) => 0,
                });
            group.or(exec).map(|o| (o.path.clone(), o.in_place))
        };
        // (file, the command's standard output goes there, adds to it, lands over what
        // the file held): its own redirections, then those of the groups it is in.
        let mut dests: Vec<(String, bool, bool, bool)> = Vec::new();
        for r in &c.redirects {
            if r.kind == RedirKind::Output {
                dests.push((
                    r.target.text.clone(),
                    r.on_stdout(),
                    r.appends(),
                    r.overwrites_in_place(),
                ));
            } else if let Some((path, in_place)) = descriptor(r) {
                dests.push((path, true, true, in_place));
            }
        }
        for (range, r) in &script.compound_redirects {
            if !range.contains(&i) {
                continue;
            }
            // `{ …; } 3> a` only opens a descriptor ([`opened_descriptors`]).
            if r.kind == RedirKind::Output && r.fd.is_none_or(|fd| fd <= 2) {
                dests.push((
                    r.target.text.clone(),
                    r.on_stdout() && !own_stdout,
                    true,
                    r.overwrites_in_place(),
                ));
            } else if let Some((path, in_place)) = descriptor(r) {
                dests.push((path, !own_stdout, true, in_place));
            }
        }
        for (path, stdout, append, in_place) in dests {
            out.push(Write {
                path,
                texts: printed.clone(),
                ends,
                ordered: in_order && stdout,
                append,
                in_place,
            });
        }
        if printed.is_none() {
            // `ls | tee a`: text the line does not show.
            if c.words.first().is_some_and(|p| basename(&p.text) == "tee") {
                out.extend(tee_operands(c).map(|(path, append)| Write {
                    path,
                    texts: None,
                    ends: &[""],
                    ordered: in_order,
                    append,
                    in_place: false,
                }));
            }
            continue;
        }
        for t in script.commands.iter().filter(|t| piped_into(c, t)) {
            match passer(t) {
                Some(Passer::Tee) => out.extend(tee_operands(t).map(|(path, append)| Write {
                    path,
                    texts: printed.clone(),
                    ends,
                    ordered: in_order,
                    append,
                    in_place: false,
                })),
                // `echo … | cat > FILE`: a cat reading only its input passes it on.
                Some(Passer::Cat) => out.extend(
                    t.redirects
                        .iter()
                        .filter(|r| r.kind == RedirKind::Output)
                        .map(|r| Write {
                            path: r.target.text.clone(),
                            texts: printed.clone(),
                            ends,
                            ordered: in_order && r.on_stdout(),
                            append: r.appends(),
                            in_place: r.overwrites_in_place(),
                        }),
                ),
                None => {}
            }
        }
    }
    out
}

/// A descriptor the line opens onto a file.
struct Opened {
    fd: u32,
    path: String,
    /// Opened with `<>`: writes land over what the file held.
    in_place: bool,
    scope: Scope,
}

/// Which commands write through an [`Opened`] descriptor.
enum Scope {
    /// Those after the `exec 3> a` at this command index (until it is opened again).
    After(usize),
    /// Those of a group (`{ …; } 3> a`).
    Group(Range<usize>),
}

/// The descriptors the line opens onto files.
fn opened_descriptors(script: &Script) -> Vec<Opened> {
    let mut out = Vec::new();
    for (k, c) in script.commands.iter().enumerate() {
        if c.words.len() == 1 && c.words[0].text == "exec" {
            for r in c.redirects.iter().filter(|r| r.kind == RedirKind::Output) {
                if let Some(fd) = r.fd.filter(|&fd| fd > 2) {
                    out.push(Opened {
                        fd,
                        path: r.target.text.clone(),
                        in_place: r.overwrites_in_place(),
                        scope: Scope::After(k),
                    });
                }
            }
        }
    }
    for (range, r) in &script.compound_redirects {
        if let Some(fd) = r.fd.filter(|&fd| fd > 2 && r.kind == RedirKind::Output) {
            out.push(Opened {
                fd,
                path: r.target.text.clone(),
                in_place: r.overwrites_in_place(),
                scope: Scope::Group(range.clone()),
            });
        }
    }
    out
}

/// `tee a b`, `tee -a log`: the files tee writes what it reads into, and whether it adds
/// to them.
fn tee_operands(t: &SimpleCommand) -> impl Iterator<Item = (String, bool)> + '_ {
    let append = t.words[1..].iter().any(|w| {
        w.text == "--append"
            || (w.text.starts_with('-') && !w.text.starts_with("--") && w.text.contains('a'))
    });
    t.words[1..]
        .iter()
        .filter(|w| !w.text.starts_with('-'))
        .map(move |w| (w.text.clone(), append))
}

/// A command that writes what it reads: `tee`, or a `cat` reading only its input.
enum Passer {
    Tee,
    Cat,
}

/// Whether `t` is a [`Passer`], and which.
fn passer(t: &SimpleCommand) -> Option<Passer> {
    let (p, rest) = t.words.split_first()?;
    match basename(&p.text) {
        "tee" => Some(Passer::Tee),
        "cat"
            if rest.iter().all(|w| w.text.starts_with('-')) && input_files(t).next().is_none() =>
        {
            Some(Passer::Cat)
        }
        _ => None,
    }
}

/// A [`Passer`] in a pipeline after a printer: what it writes is the printer's text, a
/// write of the printer ([`writes`]).
fn passes_on(script: &Script, t: &SimpleCommand) -> bool {
    passer(t).is_some()
        && script
            .commands
            .iter()
            .any(|c| piped_into(c, t) && printed_texts(script, c).is_some())
}

/// What may follow the text of `c` ([`printed_texts`]): echo's newline, also nothing
/// where a reading takes `-n` (bash: any leading option bundle with an n; dash: a first
/// `-n`) or `\c` stops it.
fn echo_ends(c: &SimpleCommand) -> &'static [&'static str] {
    let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    match words.split_first() {
        Some((p, args)) if basename(p) == "echo" => {
            let no_newline = args
                .iter()
                .take_while(|a| echo_option(a))
                .any(|a| a.contains('n'))
                || args.iter().any(|a| a.contains("\\c"));
            if no_newline {
                &["\n", ""]
            } else {
                &["\n"]
            }
        }
        _ => &[""],
    }
}

/// The paths ([`normalised_path`]) `name` may be: itself, and the sources of the copies
/// the lines made that it may be, also of a copy of a copy (`cp a b; mv b c`: c may be b
/// and a; the copy lookup of programs, [`copy_reaches`]). Each path is looked up once, so
/// copies that go round (`cp a b; cp b a`) end.
fn origins(copies: &[(&Word, String)], name: &str) -> Vec<String> {
    // `sh "$PWD/a"`: a file in the working directory.
    let name = match current_dir_ref(name) {
        Some(rest) => format!(".{rest}"),
        None => name.to_string(),
    };
    let mut names = vec![normalised_path(&name)];
    let mut i = 0;
    while let Some(n) = names.get(i) {
        let sources: Vec<String> = copies
            .iter()
            .filter(|(src, dest)| !n.is_empty() && copy_reaches(src, dest, n))
            .map(|(src, _)| normalised_path(source_path(src)))
            .collect();
        for src in sources {
            if !names.contains(&src) {
                names.push(src);
            }
        }
        i += 1;
    }
    names
}

/// `cat FILE | sh`, `cat FILE | tr -d '\r' | bash`, `cat < FILE | sh`: an earlier stage of
/// a pipeline `c` is in names the file (`same`) as an operand or its input, and passes it
/// on.
fn piped_from_file(script: &Script, c: &SimpleCommand, same: &dyn Fn(&str) -> bool) -> bool {
    c.stages.iter().any(|&(_, j)| j > 0)
        && script
            .commands
            .iter()
            .filter(|d| piped_into(d, c))
            .any(|d| {
                d.words
                    .iter()
                    .skip(1)
                    .chain(input_files(d))
                    .any(|w| same(&w.text))
            })
}

/// `make -f FILE`, `make --file=FILE`, `make -C DIR` (DIR/Makefile): `make` reads a
/// makefile the line names (`same`).
fn reads_makefile(argv: &[Arg], same: &dyn Fn(&str) -> bool) -> bool {
    argv.first()
        .is_some_and(|p| matches!(basename(&p.text), "make" | "gmake"))
        && runners::makefiles(argv).iter().any(|f| same(f))
}

/// Shell text that starts itself again in a separate process: `$0 &`, `sh $0 | sh $0`.
fn spawns_itself(text: &str) -> bool {
    let Ok(sub) = parse::parse(text) else {
        return false;
    };
    sub.commands.iter().any(|c| {
        let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
        let runs_self = match words.split_first() {
            Some((&"$0", _)) => true,
            Some((p, rest)) => {
                matches!(basename(p), "sh" | "bash" | "dash" | "zsh" | "ksh")
                    && rest.contains(&"$0")
            }
            None => false,
        };
        runs_self && c.forks
    })
}

#[cfg(test)]
mod tests {
    use super::super::copies;
    use super::*;

    fn files(line: &str) -> Vec<(String, String)> {
        let script = parse::parse(line).unwrap();
        written_files(&script, &copies(&script))
            .into_iter()
            .map(|(p, t)| (normalised_path(&p), t.unwrap_or_else(|| TOO_MANY.into())))
            .collect()
    }

    /// Stands for [`Joined::TooMany`] in the tests.
    const TOO_MANY: &str = "<too many>";

    /// The texts the line's writes into `path` make together, when it reads them so.
    fn joined_in(line: &str, path: &str) -> Option<Vec<String>> {
        let script = parse::parse(line).unwrap();
        let writes = writes(&script);
        let into: Vec<&Write> = writes
            .iter()
            .filter(|w| normalised_path(&w.path) == path)
            .collect();
        match joined(&into, &mut MAX_JOINED_BUDGET.clone()) {
            Joined::Texts(t) => Some(t),
            Joined::NotShown => None,
            Joined::TooMany => Some(vec![TOO_MANY.into()]),
        }
    }

    #[test]
    fn past_the_limits_a_file_is_not_read() {
        let too_many = Some(vec![TOO_MANY.to_string()]);
        let pieces = |n: usize| {
            let mut line = "printf a > f".to_string();
            for _ in 1..n {
                line.push_str("; printf a >> f");
            }
            line
        };
        assert_eq!(
            joined_in(&pieces(MAX_JOINED_WRITES), "f"),
            Some(vec!["a".repeat(MAX_JOINED_WRITES)])
        );
        assert_eq!(joined_in(&pieces(MAX_JOINED_WRITES + 1), "f"), too_many);
        // Seven `echo -n` pieces have 128 readings (newline or not, each).
        let echoes = "echo -n a > f".to_string() + &"; echo -n a >> f".repeat(6);
        assert_eq!(joined_in(&echoes, "f"), too_many);
        // `<>` writes over what the file held.
        assert_eq!(joined_in("printf 'ab' > f; printf x 1<> f", "f"), too_many);
        assert_eq!(
            joined_in("printf 'ab' > f; exec 3<> f; printf x >&3", "f"),
            too_many
        );
        let long = format!("printf a > f; printf {} >> f", "b".repeat(MAX_JOINED_TEXT));
        assert_eq!(joined_in(&long, "f"), too_many);
    }

    #[test]
    fn writes_join_in_order() {
        let one = |t: &str| Some(vec![t.to_string()]);
        assert_eq!(joined_in("printf a > f; echo b >> f", "f"), one("ab\n"));
        assert_eq!(joined_in("echo a > f; printf b > f", "f"), one("b"));
        assert_eq!(
            joined_in("echo -n a > f; echo b >> f", "f"),
            Some(vec!["a\nb\n".into(), "ab\n".into()])
        );
        assert_eq!(joined_in("{ printf a; echo b; } > f", "f"), one("ab\n"));
        assert_eq!(
            joined_in("exec 3> f; printf a >&3; echo b 1>&3", "f"),
            one("ab\n")
        );
        assert_eq!(joined_in("{ printf a >&4; } 4>> f", "f"), one("a"));
        assert_eq!(
            joined_in("printf a | tee f; printf b | tee -a f", "f"),
            one("ab")
        );
        // Text the line does not show, or not in order: no joined reading.
        for line in [
            "printf a > f; ls >> f",
            "printf a > f; echo b 2>> f",
            "exec > f; printf a >> f",
            "printf a > f; for i in 1; do echo b >> f; done",
            "printf a > f; echo b >> f &",
            "printf a > f; ls | tee -a f",
            "{ printf a > g; echo b; } > f; printf c >> f",
        ] {
            assert_eq!(joined_in(line, "f"), None, "{line}");
        }
    }

    #[test]
    fn files_groups_and_subshells_write() {
        assert_eq!(files("echo hi > ./a"), [("a".into(), "hi".into())]);
        assert_eq!(
            files("{ echo a; printf b; } > x/../f"),
            [
                ("f".into(), "a".into()),
                ("f".into(), "b".into()),
                ("f".into(), "a\nb".into())
            ]
        );
        assert_eq!(
            files("( echo a ) >> /tmp//f"),
            [("/tmp/f".into(), "a".into())]
        );
        assert!(files("{ echo a; } < f").is_empty());
        assert!(files("{ ls; } > f").is_empty());
    }

    #[test]
    fn copies_of_a_written_file() {
        let holds_in = |line: &str, name: &str| {
            let script = parse::parse(line).unwrap();
            origins(&copies(&script), name).contains(&"a".to_string())
        };
        assert!(holds_in("cp a b", "./b"));
        assert!(holds_in("cp a b; mv b c; cat c > d", "d"));
        assert!(holds_in("cp a /tmp/", "/tmp/a"));
        assert!(holds_in("cp b a; cp a b", "b"));
        // Into a `-t DIR`, through dd, tee and `cat < a`, and `$PWD/a`.
        for (line, name) in [
            ("cp -t /tmp a", "/tmp/a"),
            ("install -vt /tmp a", "/tmp/a"),
            ("mv --target-directory /tmp a", "/tmp/a"),
            ("dd if=a of=b", "b"),
            ("tee b < a", "b"),
            ("cat -- a | tee -a b", "b"),
            ("cat < a > b", "b"),
            ("cp b c", "$PWD/a"),
        ] {
            assert!(holds_in(line, name), "{line}: {name}");
        }
        assert!(!holds_in("cp -t /tmp b", "/tmp/a"));
        assert!(!holds_in("cp b c", "c"));
        assert!(!holds_in("cp b a; cp a b; cp x c", "c"));
    }
}
