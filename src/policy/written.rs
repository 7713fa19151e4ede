//! Scripts the line writes and then runs (`echo 'rm -rf /' > x.sh; sh x.sh`,
//! `printf '$0&$0&' > b.sh; chmod +x b.sh; ./b.sh`): the literal text `echo`, `printf` or
//! `cat <<EOF` put into a file (also as a group or subshell redirected there:
//! `{ echo …; } > a`) is checked as shell code where the same line runs that file or a
//! copy of it (`sh FILE`, `. FILE`, `./FILE`, `sh < FILE`, `cat FILE | sh`, `cp FILE b;
//! sh b`), and its recipe lines where `make` reads it as a makefile (`make -f FILE`, a
//! written `Makefile`). A script that starts copies of itself (`$0 & $0`, `sh $0 | sh $0`)
//! is a fork bomb.

use super::blocklist;
use super::download::{reads_code, runs_file};
use std::cell::RefCell;
use std::collections::HashMap;

use super::parse::{self, RedirKind, Script, SimpleCommand, Word};
use super::rules::{basename, Arg};
use super::{
    args_of, copy_reaches, current_dir_ref, input_files, normalised_path, piped_into,
    printed_texts, runners, source_path, Lines, Outer, Policy,
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
        let files = written_files(script);
        if files.is_empty() {
            return None;
        }
        let copies: Vec<(&Word, String)> = lines
            .levels()
            .flat_map(|l| l.copies.iter().cloned())
            .collect();
        // Each name the line runs or reads is looked up once: the written files it may be.
        let known: RefCell<HashMap<String, Vec<usize>>> = RefCell::default();
        let held = |t: &str| -> Vec<usize> {
            if let Some(h) = known.borrow().get(t) {
                return h.clone();
            }
            let names = origins(&copies, t);
            let h: Vec<usize> = (0..files.len())
                .filter(|&i| names.contains(&files[i].0))
                .collect();
            known.borrow_mut().insert(t.to_string(), h.clone());
            h
        };
        for c in &script.commands {
            let argv = args_of(c);
            let any = |t: &str| !held(t).is_empty();
            let runs = runs_written(script, c, &argv, &any);
            let make = reads_makefile(&argv, &any);
            if !runs && !make {
                continue;
            }
            for (i, (_, text)) in files.iter().enumerate() {
                let same = |t: &str| held(t).contains(&i);
                if runs && runs_written(script, c, &argv, &same) {
                    if spawns_itself(text) {
                        let (id, why) = blocklist::hit_of(
                            "default:fork-bomb",
                            "a script written by the line that starts copies of itself ($0 & $0)",
                        );
                        return Some((id.to_string(), why));
                    }
                    if let Some(r) = self.refuse_shell_text(text, depth, outer) {
                        return Some(r);
                    }
                }
                // `printf 'x:\n\trm -rf /\n' > a; make -f a`: each recipe line is shell text.
                if make && reads_makefile(&argv, &same) {
                    if let Some(r) = runners::recipe_lines(text)
                        .iter()
                        .find_map(|l| self.refuse_shell_text(l, depth, outer))
                    {
                        return Some(r);
                    }
                }
            }
        }
        None
    }
}

/// True when `c` runs a file `same` marks as shell code: by its path or as a shell's
/// script (`./a`, `sh a`, `. a`), or fed to a shell (`sh < a`, `cat a | sh`).
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
    (from_input && reads_code(argv, true, 0)) || runs_file(argv, same, 0)
}

/// Files the line fills with literal text: `echo …`, `printf …` or `cat <<EOF` redirected
/// into them (alone or in a group or subshell: `{ echo …; } > FILE`), or piped into
/// `tee FILE`. Paths as [`normalised_path`] spells them.
fn written_files(script: &Script) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, c) in script.commands.iter().enumerate() {
        let Some(texts) = printed_texts(script, c) else {
            continue;
        };
        let group_outputs = script
            .compound_redirects
            .iter()
            .filter(|(range, _)| range.contains(&i))
            .map(|(_, r)| r);
        let outputs: Vec<&parse::Redirect> = c
            .redirects
            .iter()
            .chain(group_outputs)
            .filter(|r| r.kind == RedirKind::Output)
            .collect();
        for text in texts {
            for r in &outputs {
                out.push((normalised_path(&r.target.text), text.clone()));
            }
            for t in script.commands.iter().filter(|t| piped_into(c, t)) {
                let words: Vec<&str> = t.words.iter().map(|w| w.text.as_str()).collect();
                match words.split_first() {
                    Some((p, rest)) if basename(p) == "tee" => out.extend(
                        rest.iter()
                            .filter(|w| !w.starts_with('-'))
                            .map(|w| (normalised_path(w), text.clone())),
                    ),
                    // `echo … | cat > FILE`: a cat reading only its input passes it on.
                    Some((p, rest))
                        if basename(p) == "cat"
                            && rest.iter().all(|w| w.starts_with('-'))
                            && input_files(t).next().is_none() =>
                    {
                        out.extend(
                            t.redirects
                                .iter()
                                .filter(|r| r.kind == RedirKind::Output)
                                .map(|r| (normalised_path(&r.target.text), text.clone())),
                        )
                    }
                    _ => {}
                }
            }
        }
    }
    out
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
        written_files(&parse::parse(line).unwrap())
    }

    #[test]
    fn files_groups_and_subshells_write() {
        assert_eq!(files("echo hi > ./a"), [("a".into(), "hi".into())]);
        assert_eq!(
            files("{ echo a; printf b; } > x/../f"),
            [("f".into(), "a".into()), ("f".into(), "b".into())]
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
