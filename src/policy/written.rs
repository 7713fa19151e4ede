//! Scripts the line writes and then runs (`echo 'rm -rf /' > x.sh; sh x.sh`, `printf
//! '$0&$0&' > b.sh; chmod +x b.sh; ./b.sh`): the literal text `echo`, `printf`, `cat <<EOF`
//! or `tee FILE <<< …` put into a file (also as a group or subshell redirected there: `{
//! echo …; } > a`; also through a program that writes its input into a file, piped or fed a
//! here-document: `tee FILE`, `cat > FILE`, `cat /dev/stdin > FILE`, `cp /dev/stdin FILE`,
//! `install`, `dd of=FILE`, `sponge FILE`) is checked as shell code where the same line
//! runs that file or a copy of it (`sh FILE`, `. FILE`, `./FILE`, `at -f FILE`, `sh < FILE`, `.
//! /dev/stdin < FILE`, `. /dev/fd/3 3< FILE`, `exec 3< FILE; sh <&3`, `exec < FILE; sh`
//! — after `exec < FILE` a command with no input of its own reads the file: `bash -s`,
//! `cat | sh`, `eval "$(cat)"` —, a shell reading its script from its input that runs
//! `exec < FILE` in it (`printf 'exec < FILE' | sh`: it reads on from the file), a name
//! the line links to `/dev/stdin` (`ln -s /dev/stdin x; sh x < FILE`), `cat FILE | sh`, `cp
//! FILE b; sh b`, a shell's startup file: `BASH_ENV=FILE bash -c …`, `export ENV=FILE; sh
//! -i`, `--rcfile FILE`, `~/.bashrc` for `bash -i`, `~/.profile` for `sh -l`,
//! [`startup_files`]; a file in a hooks directory — `.git/hooks`, `.husky`, `.githooks` …,
//! also reached through the line's `cd`s, or any file where the line names
//! `core.hooksPath` —, written or copied there, for any git command of the line, whichever
//! hook it is and whatever repository; a docker CLI plugin, `~/.docker/cli-plugins/docker-x`,
//! for any docker command of the line; the scripts of a written `package.json` for npm,
//! yarn, pnpm or bun; what `git config --file FILE KEY VALUE` writes
//! counts as written; a git config file it writes, `.git/config` or `~/.gitconfig`, is read
//! for the commands it sets, `alias.x = !CMD`, `core.pager` …, where git runs), and its recipe
//! lines where `make` reads it as a makefile (`make -f FILE`, a written `Makefile`). A
//! script that starts copies of itself (`$0 & $0`, `sh $0 | sh $0`) is a fork bomb.
//!
//! What a program on the way makes of the printer's text is what the file holds: `echo
//! cm0g… | base64 -d > FILE` (or `| tee FILE`, `| cat > FILE`) holds the decoded text,
//! followed as [`pipes`] follows it into `| sh` (other filters, `sed`, `grep` …, pass their
//! input's texts on as candidates), and what a decoder makes of text the line does not
//! show (`base64 -d x.b64 > FILE`, `echo "$P" | base64 -d | tee FILE`) cannot be read:
//! running the file is `default:hidden-code`. A file only decompressed (`gunzip -c x.gz >
//! FILE`) is read like one an archive unpacks: not shown, not refused.
//!
//! A file's literal pieces are also read joined in the line's order (`printf 'rm -rf' > a;
//! echo ' /' >> a`), also written through a descriptor (`exec 3> a; echo … >&3`); the file
//! also runs where a substitution prints it into shell code (`sh -c "$(cat a)"`, `eval`),
//! by a name that reaches it through the line's `cd`s (`echo … > /tmp/a; cd /tmp; sh a`),
//! and where `find -exec` or `xargs` runs names only known when they run, or prints files
//! or names into a shell's input (`find /tmp -exec cat {} \; | sh`): every file the line
//! wrote counts.
//!
//! Names are read with the line's own values of its variables (`f=/tmp/b; echo … > "$f"`,
//! `cp a "$f"`, `sh "$f"`, a function's `$1`; [`values::Paths`]). A name only known when
//! the line runs (`"$(date)"`, `$RANDOM`, a variable the line does not set, `${f%/*}`) is
//! the file of the same word only (`echo … > "$f"; sh "$f"`): taking it for any file
//! refused everyday lines (`echo "reboot required" > "$STATUS"; ./deploy.sh`), and this
//! blocklist refuses what it recognises (an allow list refuses such words itself). A glob
//! run (`sh /tmp/*`, `cat * | sh`, a loop variable over one: `for f in /tmp/*.sh; do sh
//! "$f"; done`) may be any file written, a copy into or from an unknown name may be any
//! name, and a piece written into one may be a piece of any file. After `exec > a` (or
//! `exec 1>&3`) what the shell's commands print goes into a until the next `exec >`; a
//! descriptor the shell holds without appending (`exec > a`, `exec 3> a`, `{ …; } > a`)
//! writes where its own last write ended, so after another write into the file it lands
//! over that one, and the file is not read (`default:hidden-code` when run). Shell text the
//! line runs (`sh -c 'sh a'`, nested deeper, a written script) runs the files of the lines
//! around it too, and what such text (`-c` code, `eval`'s literal words, a shell's input
//! the line shows: `echo … | sh`, `sh <<EOF`) writes and copies is the line's (`sh -c 'echo
//! … > a'; sh a`), each text's pieces joined on their own. Not followed: conditions (the
//! order is the line's text; a run before the write counts too), the end of a subshell
//! around `exec > a` (read as lasting), one file under two spellings beyond `~`/`$HOME`,
//! `$PWD`, `cd`s and copies (`$HOME/a` and `/root/a`), and a file's text read into a
//! variable that is then run (`read c < a; $c`, `while read l; do $l; done < a`,
//! `mapfile`).

use super::blocklist;
use super::download::{is_shell, reads_code, runs_as_code, runs_file};
use super::pipes;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use super::parse::{self, RedirKind, Script, SimpleCommand, Word};
use super::rules::{basename, Arg};
use super::{
    args_of, copy_reaches, copy_reaches_path, current_dir_ref, echo_option, here_document,
    input_files, normalised_path, piped_into, placeholder_values, printed_texts, runners,
    source_path, stdin_is_code, stdin_texts, target_directory, values, vectors, Lines, Outer,
    Policy, MAX_UNWRAP,
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
        // The files this line and the lines that run it as shell text write (`echo … >
        // a; sh -c 'sh a'`), each line's listed once.
        if lines.levels().all(|l| listed(l).files.is_empty()) {
            return None;
        }
        // `find . -name '*.sh' -exec {} \;`, `find /tmp -exec cat {} \; | sh`: names only
        // known when it runs may be any file the line wrote; each is checked once for the
        // whole line.
        let argvs: Vec<Vec<Arg>> = script.commands.iter().map(args_of).collect();
        let found = script
            .commands
            .iter()
            .zip(&argvs)
            .any(|(c, argv)| runs_found(script, c, argv, 0) || feeds_found(script, c, argv));
        // The names each command may run or read as a makefile, each asked once with no
        // answer given (so no `any` stops early): the files they hold are the ones to
        // check exactly.
        let held_fds = held_inputs(script);
        let links = |t: &str| {
            lines
                .levels()
                .find_map(|l| super::linked_descriptor(l.links, t))
        };
        let asked: Vec<Vec<String>> = script
            .commands
            .iter()
            .zip(&argvs)
            .enumerate()
            .map(|(i, (c, argv))| {
                let asked: RefCell<Vec<String>> = RefCell::default();
                let ask = |t: &str| {
                    asked.borrow_mut().push(t.to_string());
                    false
                };
                runs_written(script, &held_fds, &links, i, c, argv, &ask);
                reads_makefile(argv, &ask);
                let mut asked = asked.take();
                asked.sort_unstable();
                asked.dedup();
                asked
            })
            .collect();
        // `echo … > .git/hooks/pre-commit; git commit`: a file in a hooks directory
        // ([`in_hooks_dir`]; written or copied there, also by a name the line's `cd`s
        // reach: `cd .git/hooks; echo … > pre-commit`) is run by any git command of the
        // line; where the line names `core.hooksPath` (`git config core.hooksPath h`, `git
        // -c core.hooksPath=h commit`) any file it writes may be a hook.
        let levels: Vec<&Written> = lines.levels().map(listed).collect();
        let any_hook = levels.iter().any(|w| w.hooks_path);
        let git_runs = argvs.iter().any(|a| runs_program(a, "git", 0));
        // `echo … > ~/.docker/cli-plugins/docker-x; docker x`: docker runs its CLI plugins
        // (all of them for `docker --help`, each asked for its metadata).
        let docker_runs = argvs.iter().any(|a| runs_program(a, "docker", 0));
        // Only worked out where git or docker runs: a nested line (`sh f` of each file the
        // line writes) would otherwise read every file of the lines around it again.
        let hook_dirs = if git_runs || docker_runs {
            // A relative `cd` is read from a start standing for the unknown one too.
            let mut start = outer.cwds.to_vec();
            start.push(blocklist::Cwd::Dir("/".into()));
            blocklist::cd_dirs(script, &start)
        } else {
            Vec::new()
        };
        let is_hook = |p: &str| {
            if !git_runs && !docker_runs {
                return false;
            }
            let named = in_dirs(p, &hook_dirs);
            git_runs && (any_hook || named.iter().any(|q| in_hooks_dir(q)))
                || docker_runs
                    && named
                        .iter()
                        .any(|q| vectors::docker_reads_path(&blocklist::path_parts(q)))
        };
        // `printf '[alias]\n\tx = !rm -rf /\n' >> .git/config; git x`: a git config file
        // the line writes (a place git reads, [`vectors::git_reads_path`]) sets commands
        // its git commands run (`alias.x = !CMD`, `core.pager`, `core.fsmonitor` …).
        if git_runs {
            for f in levels.iter().flat_map(|w| &w.files) {
                let Some(text) = f.text.as_deref() else {
                    continue;
                };
                let config = in_dirs(&f.path, &hook_dirs)
                    .iter()
                    .any(|q| vectors::git_reads_path(&blocklist::path_parts(q)));
                if let Some(r) = runners::git_config_commands(text)
                    .iter()
                    .filter(|_| config)
                    .find_map(|c| self.refuse_shell_text(c, depth, outer))
                {
                    return Some(r);
                }
            }
        }
        // `printf '{"scripts":{"test":"rm -rf /"}}' > package.json; npm test`: a package
        // manager of the line runs the scripts of a package.json the line writes (`npm
        // run`, `test`, `start`, and the lifecycle scripts `install` runs).
        if argvs.iter().any(|a| {
            ["npm", "yarn", "pnpm", "bun", "npx"]
                .iter()
                .any(|p| runs_program(a, p, 0))
        }) {
            let scripts = levels
                .iter()
                .flat_map(|w| &w.files)
                .filter(|f| basename(&f.path) == "package.json")
                .filter_map(|f| f.text.as_deref())
                .flat_map(package_scripts);
            for t in scripts {
                if let Some(r) = self.refuse_shell_text(&t, depth, outer) {
                    return Some(r);
                }
            }
        }
        let hooked = (git_runs || docker_runs)
            && levels.iter().any(|w| {
                w.files.iter().any(|f| is_hook(&f.path))
                    || w.copies
                        .iter()
                        .any(|c| c.dest.as_deref().is_some_and(is_hook))
            });
        if !found && !hooked && asked.iter().all(Vec::is_empty) {
            return None;
        }
        // A file by its place in `levels`, flattened: `offsets[l] + i` is file i of level l.
        let offsets: Vec<usize> = levels
            .iter()
            .scan(0, |n, w| {
                let at = *n;
                *n += w.files.len();
                Some(at)
            })
            .collect();
        let file = |g: usize| -> (&Written, usize) {
            let l = offsets.partition_point(|&o| o <= g) - 1;
            (levels[l], g - offsets[l])
        };
        let total: usize = levels.iter().map(|w| w.files.len()).sum();
        // Written under a name only known when the line runs: any name may be it.
        let any_name: Vec<usize> = levels
            .iter()
            .zip(&offsets)
            .flat_map(|(w, o)| w.any_name.iter().map(move |i| o + i))
            .collect();
        // The copies of every level ([`Copy`]); the sources of those into a name only
        // known when the line runs (`cp a "$(mktemp)"`) may be any name, and past
        // [`MAX_DIRS`] of them (or with a source only known when it runs too) any name may
        // be any file.
        let copies: Vec<&Copy> = levels.iter().flat_map(|w| &w.copies).collect();
        let copied_anywhere: Option<Vec<String>> = copies
            .iter()
            .filter(|c| c.dest.is_none())
            .map(|c| c.src.clone())
            .collect::<Option<Vec<String>>>()
            .filter(|v| v.len() <= MAX_DIRS);
        // `echo … > /tmp/a; cd /tmp; sh a`: a relative name in each directory the line's
        // `cd`s may reach, on both sides; past [`MAX_DIRS`] directories a relative name the
        // line runs may be any file it wrote.
        let cwds = outer.cwds;
        let many_dirs = cwds.len() > MAX_DIRS;
        let dirs: &[blocklist::Cwd] = if many_dirs { &[] } else { cwds };
        let maps: Vec<Rc<ByName>> = levels.iter().map(|w| w.by_name(dirs)).collect();
        let paths = values::Paths::new(script);
        // The written files the names `ts` of `c` may be, beside those `also` holds: with
        // the line's values put in (`f=/tmp/a; sh "$f"`), and what copies made (`cp a
        // b`); a name only known when it runs (`sh "$x"`, `sh *`) may be any file.
        let files_named = |c: &SimpleCommand, ts: &[String], also: &[usize]| -> Vec<usize> {
            let mut any = false;
            let mut names: Vec<String> = Vec::new();
            // Names only known when the line runs (`sh "$x"`, `bash "$(dirname "$0")/b"`):
            // the files written under the same word (`echo … > "$f"; sh "$f"`). Taking
            // them for any file refused everyday lines (`echo "reboot required" >
            // "$STATUS"; ./deploy.sh`), and the default blocklist refuses what it
            // recognises, not what it cannot read (an allow list refuses those words).
            let mut unknown: Vec<&str> = Vec::new();
            for t in ts {
                let pattern = t.contains(['*', '?', '[']);
                let resolved = (!pattern).then(|| paths.of(Some(c), None, t)).flatten();
                let Some(ps) = resolved else {
                    if pattern {
                        // A pattern may match any file the line wrote.
                        any = true;
                        break;
                    }
                    unknown.push(t);
                    continue;
                };
                // `for f in /tmp/*.sh; do sh "$f"; done`: a value that is a pattern (a
                // loop's word) may match any file the line wrote, like the pattern itself.
                if ps.iter().any(|p| p.contains(['*', '?', '['])) {
                    any = true;
                    break;
                }
                for p in ps {
                    // `cd /tmp/x; sh ../a`: the name as written too, before `..` is read
                    // away.
                    let (from, anything) = origins(&copies, &p);
                    any |= anything;
                    for o in from.iter().chain([&p]) {
                        names.extend(in_dirs(o, dirs));
                    }
                }
            }
            if any || (many_dirs && names.iter().any(|n| !n.starts_with('/'))) {
                return (0..total).collect();
            }
            let mut h: Vec<usize> = any_name
                .iter()
                .filter(|&&g| {
                    let (w, i) = file(g);
                    unknown.iter().any(|t| w.files[i].path == *t)
                })
                .chain(also)
                .copied()
                .collect();
            for n in &names {
                for (l, m) in maps.iter().enumerate() {
                    h.extend(m.get(n).into_iter().flatten().map(|i| offsets[l] + i));
                }
            }
            h.sort_unstable();
            h.dedup();
            h
        };
        // What the sources of copies into names only known when the line runs (`cp a
        // "$(mktemp)"`) may be: any name may be such a copy. Looked up once.
        let anywhere: Vec<usize> = match (script.commands.first(), copied_anywhere) {
            (_, None) => (0..total).collect(),
            (Some(c), Some(srcs)) if !srcs.is_empty() => files_named(c, &srcs, &[]),
            _ => Vec::new(),
        };
        // Each name a command runs or reads is looked up once: the written files it may be.
        let known: RefCell<HashMap<Asked, Rc<Vec<usize>>>> = RefCell::default();
        let held = |c: &SimpleCommand, t: &str| -> Rc<Vec<usize>> {
            let key = (t.to_string(), c.function);
            if let Some(h) = known.borrow().get(&key) {
                return h.clone();
            }
            let h = Rc::new(files_named(c, &[t.to_string()], &anywhere));
            known.borrow_mut().insert(key, h.clone());
            h
        };
        // Each file's text is checked as run once for the line (and the lines it is
        // nested in), whichever commands run it; marked first, so a text that runs its
        // own file ends.
        let check = |g: usize| -> Option<Result<(), (String, String)>> {
            let (w, i) = file(g);
            if std::mem::replace(&mut w.passed.borrow_mut()[i], true) {
                return None;
            }
            Some(
                match self.refuse_run_text(script, &w.files[i], depth, outer) {
                    Some(r) => Err(r),
                    None => Ok(()),
                },
            )
        };
        if found {
            for g in 0..total {
                if let Some(Err(r)) = check(g) {
                    return Some(r);
                }
            }
        }
        if hooked {
            let sources: Vec<String> = copies
                .iter()
                .filter(|c| c.dest.as_deref().is_some_and(is_hook))
                .filter_map(|c| c.src.clone())
                .collect();
            let copied = match script.commands.first() {
                Some(c) if !sources.is_empty() => files_named(c, &sources, &[]),
                _ => Vec::new(),
            };
            let hooks = (0..total).filter(|&g| {
                let (w, i) = file(g);
                is_hook(&w.files[i].path)
            });
            for g in hooks.chain(copied) {
                if let Some(Err(r)) = check(g) {
                    return Some(r);
                }
            }
        }
        for (i, ((c, argv), asked)) in script.commands.iter().zip(&argvs).zip(&asked).enumerate() {
            if asked.is_empty() {
                continue;
            }
            // Files the asked names hold alike are decided alike: one check a group
            // (past [`MAX_DIRS`] every relative name holds every file).
            let mut groups: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
            let mut group_of: HashMap<Vec<bool>, usize> = HashMap::new();
            let mut candidates: Vec<usize> =
                asked.iter().flat_map(|t| held(c, t).to_vec()).collect();
            candidates.sort_unstable();
            candidates.dedup();
            // A file already checked as run needs no second look, unless make may read it.
            let make_reads = argv
                .first()
                .is_some_and(|p| matches!(basename(&p.text), "make" | "gmake"));
            candidates.retain(|&g| {
                let (w, i) = file(g);
                make_reads || !w.passed.borrow()[i]
            });
            for g in candidates {
                let sig: Vec<bool> = asked
                    .iter()
                    .map(|t| held(c, t).binary_search(&g).is_ok())
                    .collect();
                let k = *group_of.entry(sig.clone()).or_insert_with(|| {
                    groups.push((sig, Vec::new()));
                    groups.len() - 1
                });
                groups[k].1.push(g);
            }
            for (sig, group) in &groups {
                let first = group[0];
                let same = |t: &str| match asked.binary_search_by(|a| a.as_str().cmp(t)) {
                    Ok(k) => sig[k],
                    Err(_) => held(c, t).binary_search(&first).is_ok(),
                };
                let runs = runs_written(script, &held_fds, &links, i, c, argv, &same);
                let make = reads_makefile(argv, &same);
                for &g in group.iter().filter(|_| runs || make) {
                    if runs {
                        if let Some(Err(r)) = check(g) {
                            return Some(r);
                        }
                    }
                    // `printf 'x:\n\trm -rf /\n' > a; make -f a`: each recipe line is
                    // shell text.
                    if make {
                        let (w, i) = file(g);
                        let f = &w.files[i];
                        let Some(text) = f.text.as_deref() else {
                            return Some(unreadable(f));
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

    /// The refusal of running a written file `f`: a fork bomb, what its text does, or that
    /// it cannot be read ([`unreadable`]).
    fn refuse_run_text(
        &self,
        script: &Script,
        f: &File,
        depth: usize,
        outer: Outer<'_>,
    ) -> Option<(String, String)> {
        let Some(text) = f.text.as_deref() else {
            return Some(unreadable(f));
        };
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
        // `export x='rm -rf /'; echo '$x' > a; sh a`: the shell running it expands the
        // variables it was given (read here as any of the line's values).
        let cmd = script.commands.last()?;
        values::text_readings(script, cmd, text, false)
            .iter()
            .find_map(|t| self.refuse_shell_text(t, depth, outer))
    }
}

/// The files the line `l` writes, listed the first time they are asked for.
fn listed<'a>(l: Lines<'a>) -> &'a Written {
    l.written.get_or_init(|| Written::of(l.script, l.copies))
}

/// Most directories a relative name is read from ([`in_dirs`]).
const MAX_DIRS: usize = 32;

/// A file the line writes without a text the policy reads, and then runs: what a decoder
/// made of text the line does not show ([`File::hidden`]), or more pieces, or more text,
/// than the policy puts together ([`joined`]).
fn unreadable(f: &File) -> (String, String) {
    if f.hidden {
        let (id, why) = blocklist::hit_of(
            "default:hidden-code",
            "running a file the line writes with what a decoder makes of input the line does not show (base64 -d x.b64 > a; sh a): the default blocklist cannot read it; decode it in one call, read it, then run it",
        );
        return (id.to_string(), why);
    }
    let (id, why) = blocklist::hit_of(
        "default:hidden-code",
        &format!(
            "running a file the line writes in more than {MAX_JOINED_WRITES} pieces or {MAX_JOINED_TEXT} bytes (or with more readings than {MAX_READINGS}): the default blocklist cannot read what it runs; write it in one piece, read it, then run it"
        ),
    );
    (id.to_string(), why)
}

/// True when `c`, the command at `i`, runs a file `same` marks as shell code: by its path
/// or as a shell's script (`./a`, `sh a`, `. a`), fed to a shell (`sh < a`, `cat a | sh`),
/// through a descriptor opened on it (`. /dev/fd/3 3< a`, `exec 3< a; sh <&3`), or printed
/// into shell code (`sh -c "$(cat a)"`, `eval "`cat a`"`, `bash -c "$(< a)"`).
fn runs_written(
    script: &Script,
    held: &Held<'_>,
    links: &dyn Fn(&str) -> Option<u32>,
    i: usize,
    c: &SimpleCommand,
    argv: &[Arg],
    same: &dyn Fn(&str) -> bool,
) -> bool {
    // The descriptors it holds on the file: its own redirections (`< a`, `3< a`; any of
    // them may be made its input: `sh <&3 3< a`), and the last `exec 3< a` before it of
    // a descriptor it names (`. /dev/fd/3`) or reads (`<&3`).
    let mut opened: Vec<u32> = input_files_fds(c)
        .filter(|(_, w)| same(&w.text))
        .map(|(fd, _)| fd)
        .collect();
    let own = !opened.is_empty();
    let dup_in: Vec<u32> = c
        .redirects
        .iter()
        .filter(|r| r.kind == RedirKind::Dup && r.op == "<&" && r.fd.unwrap_or(0) == 0)
        .filter_map(|r| r.target.text.parse().ok())
        .collect();
    // `ln -s /dev/stdin x; sh x < a`: a name the line links to a descriptor's name.
    let descriptor_of = |t: &str| vectors::input_descriptor(t).or_else(|| links(t));
    // `exec < a; sh`: a command without input of its own reads the shell's, which the
    // last `exec < a` (or `exec <&3`) before it opened on the file.
    let on_shell_input = |k: usize| {
        shell_input(held, k).is_some_and(|w| same(&w.text))
            && takes_shell_input(&script.commands[k])
    };
    if !held.is_empty() {
        let named: RefCell<Vec<u32>> = RefCell::new(dup_in.clone());
        runs_file(
            argv,
            &|t| {
                named.borrow_mut().extend(descriptor_of(t));
                false
            },
            0,
        );
        for n in named.take() {
            let Some(opens) = held.get(&n) else { continue };
            let k = opens.partition_point(|&(j, _)| j < i);
            if k > 0 && same(&opens[k - 1].1.text) {
                opened.push(n);
            }
        }
    }
    let from_input = own
        || dup_in.iter().any(|n| opened.contains(n))
        || piped_from_file(script, c, same, &on_shell_input)
        || stdin_execs(script, c, argv, same);
    // `source /dev/stdin < a`, `. /dev/fd/3 3< a`: the script is a descriptor opened on
    // the file.
    let descriptor =
        |t: &str| descriptor_of(t).is_some_and(|n| opened.contains(&n) || n == 0 && from_input);
    (from_input && reads_code(argv, true, 0))
        // `exec < a; sh -c 'sh'`, not `exec < a; sh -c 'echo hi'`.
        || (on_shell_input(i) && runs_its_input(argv))
        || runs_file(argv, &descriptor, 0)
        || runs_file(argv, same, 0)
        || startup_files(c, argv, 0)
            .iter()
            .any(|f| same(f) || in_homes(script, f).iter().any(|h| same(h)))
        || (!c.words.is_empty()
            && runs_as_code(script, c, argv, false, &|w| {
                prints_file(script, w, same, &on_shell_input)
            }))
}

/// Whether `c` reads the shell's own input: it has no input of its own (a `<`
/// redirection or `<&` of its standard input, a here-document, a pipe before it).
fn takes_shell_input(c: &SimpleCommand) -> bool {
    !c.stdin_heredoc
        && !c.stages.iter().any(|&(_, j)| j > 0)
        && !c.redirects.iter().any(|r| {
            r.fd.unwrap_or(0) == 0
                && (r.kind == RedirKind::Input || r.kind == RedirKind::Dup && r.op == "<&")
        })
}

/// The file the shell's input is on at command `k`: the last `exec < a` before it (or
/// `exec <&3` of a descriptor held on a), [`Held`] as descriptor 0.
fn shell_input<'s>(held: &Held<'s>, k: usize) -> Option<&'s Word> {
    let opens = held.get(&0)?;
    let n = opens.partition_point(|&(j, _)| j < k);
    (n > 0).then(|| opens[n - 1].1)
}

/// `printf 'exec < a\n' | sh`, `bash <<< 'exec < a'`: a shell that reads its script from
/// its input reads the rest of it from the file `exec < a` makes its input (dash once the
/// text it already read is done, bash at once). Only what the line shows that input to be.
fn stdin_execs(
    script: &Script,
    c: &SimpleCommand,
    argv: &[Arg],
    same: &dyn Fn(&str) -> bool,
) -> bool {
    if !stdin_is_code(c) || vectors::stdin_language(argv) != Some("sh") {
        return false;
    }
    stdin_texts(script, c).iter().any(|text| {
        text.contains("exec")
            && parse::parse(text).is_ok_and(|sub| {
                sub.commands
                    .iter()
                    .filter(|d| is_exec_only(d))
                    .any(|d| input_files_fds(d).any(|(fd, w)| fd == 0 && same(&w.text)))
            })
    })
}

/// The startup files the shell `argv` (of `c`; also through wrappers: `sudo bash -i`)
/// runs before its script: the file `$BASH_ENV` or `$ENV` names (bash without a terminal,
/// an interactive `sh`; given to it, `BASH_ENV=a bash -c …`, `env ENV=a sh -i`, or set by
/// the line, `export BASH_ENV=a`), bash's `--rcfile`/`--init-file` FILE, an interactive
/// bash's `~/.bashrc`, a login shell's `~/.profile` (bash's `~/.bash_profile`,
/// `~/.bash_login` and `~/.bash_logout` too; each also in a home the line sets,
/// [`in_homes`]), and zsh's `~/.zshenv` (`~/.zshrc` interactive, `~/.zprofile` and
/// `~/.zlogin` at login). Any shell may read either variable's file: which one reads
/// which, and whether it is interactive, depends on what `sh` is and on its terminal.
fn startup_files(c: &SimpleCommand, argv: &[Arg], depth: usize) -> Vec<String> {
    let Some(p) = argv.first() else {
        return Vec::new();
    };
    // `env BASH_ENV=a bash`: wrappers pass it on.
    let mut out: Vec<String> = argv
        .iter()
        .filter_map(|a| setting_of(&a.text, &["BASH_ENV=", "ENV="]))
        .collect();
    if depth == 0 {
        out.extend(
            c.assignments
                .iter()
                .filter(|a| matches!(a.name.as_str(), "BASH_ENV" | "ENV"))
                .map(|a| a.value.text.clone()),
        );
    }
    if !is_shell(p) {
        if depth < MAX_UNWRAP {
            for f in vectors::analyse(argv, false) {
                if let vectors::Finding::Wrap { argv: inner, .. } = f {
                    out.extend(startup_files(c, &inner, depth + 1));
                }
            }
        }
        return out;
    }
    out.extend(["$BASH_ENV".to_string(), "$ENV".to_string()]);
    let (mut interactive, mut login, mut rc, mut profile) = (false, false, true, true);
    let mut args = argv[1..].iter().map(|a| a.text.as_str());
    while let Some(t) = args.next() {
        match t {
            "--login" => login = true,
            "--norc" => rc = false,
            "--noprofile" => profile = false,
            "--rcfile" | "--init-file" => out.extend(args.next().map(str::to_string)),
            _ if t.starts_with("--") && t.len() > 2 => {}
            _ if t.starts_with(['-', '+']) && t.len() > 1 => {
                if t.starts_with('-') {
                    interactive |= t.contains('i');
                    login |= t.contains('l');
                }
                // `-o vi`: the option's name.
                if t[1..].contains(['o', 'O']) {
                    args.next();
                }
            }
            _ => break,
        }
    }
    let name = basename(&p.text);
    let mut files: Vec<&str> = Vec::new();
    if name == "bash" && interactive && rc {
        files.push("~/.bashrc");
    }
    if login && profile {
        if name == "bash" {
            // `~/.bash_logout` when it leaves through `exit`.
            files.extend(["~/.bash_profile", "~/.bash_login", "~/.bash_logout"]);
        }
        files.push("~/.profile");
    }
    if name == "zsh" {
        files.push("~/.zshenv");
        if interactive {
            files.push("~/.zshrc");
        }
        if login {
            files.extend(["~/.zprofile", "~/.zlogin"]);
        }
    }
    out.extend(files.into_iter().map(str::to_string));
    out
}

/// The value a word `NAME=value` gives one of `names` (each with its `=`).
fn setting_of(t: &str, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| t.strip_prefix(n))
        .map(str::to_string)
}

/// A startup file `~/NAME` in each home the line gives its shells (`HOME=/tmp/h sh -l`,
/// `export HOME=/tmp/h`, `env HOME=. bash -i`, zsh's `ZDOTDIR=.`): `/tmp/h/NAME`. Any
/// such value in the line counts, wherever it is set.
fn in_homes(script: &Script, file: &str) -> Vec<String> {
    let Some(rest) = file.strip_prefix("~/") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for c in &script.commands {
        let values = c
            .assignments
            .iter()
            .filter(|a| matches!(a.name.as_str(), "HOME" | "ZDOTDIR"))
            .map(|a| a.value.text.clone())
            .chain(
                c.words
                    .iter()
                    .filter_map(|w| setting_of(&w.text, &["HOME=", "ZDOTDIR="])),
            );
        for v in values {
            let h = format!("{}/{rest}", v.trim_end_matches('/'));
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

/// The shell lines of the `scripts` of a package.json's text (none where it is not JSON).
fn package_scripts(text: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    v.get("scripts")
        .and_then(|s| s.as_object())
        .map(|o| {
            o.values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `git …` (or `docker …`: `program`), also through a wrapper (`sudo git commit`): a git
/// command, which may run the repository's hooks, or a docker command, which may run its
/// CLI plugins.
fn runs_program(argv: &[Arg], program: &str, depth: usize) -> bool {
    argv.first().is_some_and(|p| basename(&p.text) == program)
        || depth < MAX_UNWRAP
            && vectors::analyse(argv, false).into_iter().any(|f| match f {
                vectors::Finding::Wrap { argv, .. } => runs_program(&argv, program, depth + 1),
                _ => false,
            })
}

/// A path in (or naming) a hooks directory, case ignored as some file systems do: a
/// `.git/hooks`, or one of the usual `core.hooksPath` directories a project sets (husky's
/// `.husky`, whose `_/` hooks run `.husky/pre-commit`; `.githooks`, `git-hooks`, …).
fn in_hooks_dir(path: &str) -> bool {
    let parts = blocklist::path_parts(path);
    parts
        .windows(2)
        .any(|w| w[0].eq_ignore_ascii_case(".git") && w[1].eq_ignore_ascii_case("hooks"))
        || parts.iter().any(|c| {
            let c = c.to_ascii_lowercase();
            c == ".husky" || c.contains("git") && c.contains("hook")
        })
}

/// Whether the line's text names git's `core.hooksPath` (case ignored, as git does): in
/// a word or assignment (`git config core.hooksPath h`, `-c core.hooksPath=h`,
/// `GIT_CONFIG_KEY_0=core.hooksPath`, shell text given to `sh -c`), a here-document, or
/// a file it writes (`printf '[core]\n\thooksPath = h' > ~/.gitconfig`).
fn names_hooks_path(script: &Script, files: &[File]) -> bool {
    let has = |t: &str| t.to_ascii_lowercase().contains("hookspath");
    script.commands.iter().any(|c| {
        c.words.iter().any(|w| has(&w.text))
            || c.assignments.iter().any(|a| has(&a.value.text))
            || c.redirects.iter().any(|r| has(&r.target.text))
    }) || script.heredocs.iter().any(|h| has(h))
        || files.iter().any(|f| f.text.as_deref().is_some_and(has))
}

/// `git config --file F KEY VALUE` (`-f F`, `--file=F`, after `--add`, `set`, …): the file
/// and the text git writes into it, `[SECTION "SUB"]` and `⇥NAME = VALUE` (quoted where
/// git quotes it), which a shell runs as the command NAME (`git config -f
/// .git/hooks/pre-commit x.rm '-rf /'` writes `rm = -rf /`; confirmed with git 2.47,
/// whose hooks run a file without `#!` with `/bin/sh`).
fn git_config_file(argv: &[Arg]) -> Option<(String, String)> {
    let (file, key, value) = runners::git_config_set(argv)?;
    let (file, key, value) = (file?, key.as_str(), value.as_str());
    let (section, rest) = key.split_once('.')?;
    let header = match rest.rsplit_once('.') {
        Some((sub, _)) => format!("[{section} \"{sub}\"]"),
        None => format!("[{section}]"),
    };
    let name = rest.rsplit('.').next().unwrap_or(rest);
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\t', "\\t");
    let quoted = value.starts_with(' ') || value.ends_with(' ') || value.contains([';', '#']);
    let value = if quoted {
        format!("\"{escaped}\"")
    } else {
        escaped
    };
    Some((file.to_string(), format!("{header}\n\t{name} = {value}\n")))
}

/// The descriptors `exec` opens on files for the rest of the line (`exec 3< a`): by
/// descriptor, the index of each command that opens it and the file, in the line's order.
type Held<'s> = HashMap<u32, Vec<(usize, &'s Word)>>;

/// The line's [`Held`] descriptors.
fn held_inputs(script: &Script) -> Held<'_> {
    let mut out: Held = HashMap::new();
    for (i, c) in script.commands.iter().enumerate() {
        if is_exec_only(c) {
            for (fd, w) in input_files_fds(c) {
                out.entry(fd).or_default().push((i, w));
            }
            // `exec 3< a; exec <&3`: the shell's input is on a too.
            for r in c
                .redirects
                .iter()
                .filter(|r| r.kind == RedirKind::Dup && r.op == "<&" && r.fd.unwrap_or(0) == 0)
            {
                let from = r.target.text.parse().ok().and_then(|n: u32| out.get(&n));
                if let Some(&(_, w)) = from.and_then(|opens| opens.last()) {
                    out.entry(0).or_default().push((i, w));
                }
            }
        }
    }
    out
}

/// The files redirected into a command's descriptors (`< a`, `3< a`; not here-documents),
/// each with its descriptor.
fn input_files_fds(c: &SimpleCommand) -> impl Iterator<Item = (u32, &Word)> {
    c.redirects
        .iter()
        .filter(|r| r.kind == RedirKind::Input && !r.here)
        .map(|r| (r.fd.unwrap_or(0), &r.target))
}

/// `$(cat a)`, `` `cat ./a` ``, `$(< a)`: a command substitution whose output is the
/// file `same` marks, read by `cat` or from its input (also the shell's input after `exec
/// < a`: `$(cat)`).
fn prints_file(
    script: &Script,
    w: &Word,
    same: &dyn Fn(&str) -> bool,
    on_shell_input: &dyn Fn(usize) -> bool,
) -> bool {
    let start = w.subs.start;
    script.commands[w.subs.clone()]
        .iter()
        .enumerate()
        .any(|(k, d)| {
            let cat = d.words.first().is_some_and(|p| basename(&p.text) == "cat");
            (cat && d.words[1..].iter().any(|o| same(&o.text)))
                || input_files(d).any(|f| same(&f.text))
                // `exec < a; eval "$(cat)"`.
                || (cat && d.words.len() == 1 && on_shell_input(start + k))
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

/// A name a command asks for, with the function the command is in (`$1` is its argument).
type Asked = (String, Option<usize>);

/// The files each name may be: their places in a [`Written`]'s list.
type ByName = HashMap<String, Vec<usize>>;

/// The files one line writes ([`written_files`]), listed once for the line and for the
/// shell text it runs, which may run them (`echo … > a; sh -c 'sh a'`).
#[derive(Default)]
pub(super) struct Written {
    files: Vec<File>,
    /// The files written under a name only known when the line runs.
    any_name: Vec<usize>,
    /// The line's copies ([`Copy`]).
    copies: Vec<Copy>,
    /// The line names `core.hooksPath` ([`names_hooks_path`]): any file may be a hook.
    hooks_path: bool,
    /// Which files' texts were already checked as run.
    passed: RefCell<Vec<bool>>,
    /// The files each name may be, from the directories they were last looked up in
    /// ([`Written::by_name`]).
    names: RefCell<Option<(Vec<blocklist::Cwd>, Rc<ByName>)>>,
}

impl Written {
    /// The files the line `script` writes.
    pub(super) fn of(script: &Script, copies: &[(&Word, String)]) -> Written {
        Written::at(script, copies, 0)
    }

    /// [`Written::of`] for a line run as shell text `depth` levels down.
    fn at(script: &Script, copies: &[(&Word, String)], depth: usize) -> Written {
        let paths = values::Paths::new(script);
        let mut files = written_files(script, copies, &paths);
        // `git config -f .git/hooks/pre-commit x.rm '-rf /'`: the text git writes.
        files.extend(
            script
                .commands
                .iter()
                .filter_map(|c| git_config_file(&args_of(c)))
                .map(|(path, text)| File {
                    path,
                    text: Some(text),
                    any_name: false,
                    hidden: false,
                }),
        );
        let mut hooks_path = names_hooks_path(script, &files);
        let mut copies = copied(script, copies, &paths);
        // `sh -c 'echo … > a'; sh a`, `eval '…'`, `echo '…' | sh`: what shell text the line
        // runs writes and copies, the line has written and copied (each text's writes
        // joined on their own, not with the line's).
        if depth < MAX_UNWRAP {
            for text in shell_texts(script) {
                let Ok(sub) = parse::parse(&text) else {
                    continue;
                };
                let inner = Written::at(&sub, &super::copies(&sub), depth + 1);
                hooks_path |= inner.hooks_path;
                files.extend(inner.files);
                copies.extend(inner.copies);
            }
        }
        Written {
            passed: RefCell::new(vec![false; files.len()]),
            any_name: (0..files.len()).filter(|&i| files[i].any_name).collect(),
            hooks_path,
            copies,
            files,
            names: RefCell::default(),
        }
    }

    /// The files each name may be ([`in_dirs`] of their paths from `dirs`); a file whose
    /// name is only known when the line runs is under no name. Made again only when the
    /// directories differ from the last time's.
    fn by_name(&self, dirs: &[blocklist::Cwd]) -> Rc<ByName> {
        if let Some((d, m)) = self.names.borrow().as_ref() {
            if d.as_slice() == dirs {
                return m.clone();
            }
        }
        let mut by_name: ByName = HashMap::new();
        for (i, f) in self.files.iter().enumerate().filter(|(_, f)| !f.any_name) {
            for n in in_dirs(&f.path, dirs) {
                let held = by_name.entry(n).or_default();
                if !held.contains(&i) {
                    held.push(i);
                }
            }
        }
        let m = Rc::new(by_name);
        *self.names.borrow_mut() = Some((dirs.to_vec(), m.clone()));
        m
    }
}

/// The shell text the line's commands run: a shell's `-c` code and `eval`'s literal words
/// (also through wrappers: `sudo sh -c …`), and what the line shows a shell reads on its
/// input (`echo '…' | sh`, `sh <<EOF`).
fn shell_texts(script: &Script) -> Vec<String> {
    fn codes(argv: &[Arg], stdin_code: bool, depth: usize, out: &mut Vec<String>) {
        for f in vectors::analyse(argv, stdin_code) {
            match f {
                vectors::Finding::Code {
                    shell: Some(code), ..
                } => out.push(code),
                vectors::Finding::Wrap { argv, .. } if depth < MAX_UNWRAP => {
                    codes(&argv, stdin_code, depth + 1, out)
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for c in &script.commands {
        let argv = args_of(c);
        if argv.is_empty() {
            continue;
        }
        let stdin_code = stdin_is_code(c);
        codes(&argv, stdin_code, 0, &mut out);
        if stdin_code && vectors::stdin_language(&argv) == Some("sh") {
            out.extend(stdin_texts(script, c));
        }
    }
    out
}

/// A file the line fills with literal text ([`written_files`]), with one text it may hold.
#[derive(Debug, Clone, PartialEq)]
struct File {
    /// As the line names it, or for joined texts as [`normalised_path`] spells it; for a
    /// name only known when the line runs, the word as written.
    path: String,
    /// `None` where that is more than the policy puts together ([`Joined::TooMany`]).
    text: Option<String>,
    /// Its name is only known when the line runs (`> "$(date)"`, `> $RANDOM`, `> "$x"`
    /// where the line does not set x): it may be any file the line runs.
    any_name: bool,
    /// What a decoder made of text the line does not show (`base64 -d x.b64 > a`, `curl …
    /// | base64 -d | tee a`): its text cannot be read (`default:hidden-code` where it runs).
    /// Not what is only decompressed ([`pipes::Flow::decoded`]).
    hidden: bool,
}

/// Files the line fills with literal text, each with one text it may hold: what `echo …`,
/// `printf …` or `cat <<EOF` write into them (alone or in a group or subshell: `{ echo …;
/// } > FILE`; through a descriptor: `exec 3> FILE; echo … >&3`; after `exec > FILE`), or
/// pipe into `tee FILE`, each write on its own; and, where every write into a file is one
/// of those ([`Write`]), what they make together in the line's order (`printf 'rm -rf' >
/// a; echo ' /' >> a`), or `None` where that is more than the policy puts together
/// ([`Joined::TooMany`]). A write into a name only known when the line runs may be a
/// piece of any file.
fn written_files(
    script: &Script,
    copies: &[(&Word, String)],
    paths: &values::Paths<'_>,
) -> Vec<File> {
    let writes = writes(script, paths);
    let mut out: Vec<File> = Vec::new();
    for w in writes.iter().filter(|w| w.hidden) {
        out.push(File {
            path: w.path.clone(),
            text: None,
            any_name: w.any_name,
            hidden: true,
        });
    }
    for w in &writes {
        for t in w.texts.iter().flatten().filter(|t| !t.is_empty()) {
            let f = File {
                path: w.path.clone(),
                text: Some(t.clone()),
                any_name: w.any_name,
                hidden: false,
            };
            if out.last() != Some(&f) {
                out.push(f);
            }
        }
    }
    // The writes into each file, files in the order the line first names them.
    let mut order: Vec<(String, bool)> = Vec::new();
    let mut into_file: HashMap<String, Vec<usize>> = HashMap::new();
    for (k, w) in writes.iter().enumerate() {
        let path = normalised_path(&w.path);
        let into = into_file.entry(path.clone()).or_default();
        if into.is_empty() {
            order.push((path, w.any_name));
        }
        into.push(k);
    }
    // Writes into a name only known when the line runs, that may add text to any file
    // (or land over what it held).
    let anywhere: Vec<usize> = (0..writes.len())
        .filter(|&k| {
            let w = &writes[k];
            w.any_name && (w.in_place || w.texts.iter().flatten().any(|t| !t.is_empty()))
        })
        .collect();
    let mut budget = MAX_JOINED_BUDGET;
    for (path, any_name) in order {
        let own = &into_file[&path];
        let others: Vec<usize> = anywhere
            .iter()
            .copied()
            .filter(|k| own.binary_search(k).is_err())
            .collect();
        // One write of text (beside emptying the file: `exec 3> a`) is already read on its
        // own; a copy onto the file (`cp x a`) is text the line does not show.
        let with_text = own
            .iter()
            .filter(|&&k| {
                writes[k]
                    .texts
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| !t.is_empty()))
            })
            .count()
            + others.len();
        if with_text < 2
            || copies
                .iter()
                .any(|(src, dest)| copy_reaches(src, dest, &path))
        {
            continue;
        }
        if own.len() + others.len() > MAX_JOINED_WRITES {
            out.push(File {
                path,
                text: None,
                any_name,
                hidden: false,
            });
            continue;
        }
        // In the line's order; the others may land elsewhere.
        let mut into: Vec<(usize, bool)> = own
            .iter()
            .map(|&k| (k, false))
            .chain(others.iter().map(|&k| (k, true)))
            .collect();
        into.sort_unstable();
        let into: Vec<(&Write, bool)> = into.iter().map(|&(k, m)| (&writes[k], m)).collect();
        match joined(&into, &mut budget) {
            Joined::Texts(texts) => out.extend(texts.into_iter().map(|t| File {
                path: path.clone(),
                text: Some(t),
                any_name,
                hidden: false,
            })),
            Joined::TooMany => out.push(File {
                path,
                text: None,
                any_name,
                hidden: false,
            }),
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
    /// The file, as the line names it (with the line's values of its variables put in);
    /// the word as written where its name is only known when the line runs.
    path: String,
    /// The name is only known when the line runs: the write may be into any file.
    any_name: bool,
    /// The name has several values (`for f in a b; do … > $f`): the write may be into
    /// another file.
    maybe: bool,
    /// What the command writes, one text a reading ([`printed_texts`], or what a program on
    /// the way made of it: [`pipes::written_output`]); `None` when the line does not show
    /// it (`ls > a`).
    texts: Option<Vec<String>>,
    /// It is what a decoder made of text the line does not show ([`File::hidden`]).
    hidden: bool,
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
    /// Written through a descriptor the shell holds open without appending (`exec > a`,
    /// `exec 3> a`, `{ …; } > a`): one number for each opening. It writes where its own
    /// last write ended, so after another opening's write (`>> a`) it lands over that.
    opening: Option<usize>,
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
    /// file held (`<>`, a held descriptor after another write): not read.
    TooMany,
}

/// What a file holds after `writes` (all into it, in order; with `true`, a write that
/// may land elsewhere): each reading of their texts put together, `>` starting over and
/// `>>` adding. Takes what it makes from `budget`.
fn joined(writes: &[(&Write, bool)], budget: &mut usize) -> Joined {
    if writes.len() > MAX_JOINED_WRITES {
        return Joined::TooMany;
    }
    let mut texts = vec![String::new()];
    for (k, &(w, elsewhere)) in writes.iter().enumerate() {
        let maybe = elsewhere || w.maybe;
        if w.in_place || lands_over(writes, k) {
            return Joined::TooMany;
        }
        let Some(pieces) = w.texts.as_ref().filter(|_| w.ordered) else {
            // The reading where it went elsewhere is still one.
            if maybe {
                continue;
            }
            return Joined::NotShown;
        };
        let before = if w.append || maybe {
            texts
        } else {
            vec![String::new()]
        };
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        texts = Vec::new();
        if maybe {
            for b in &before {
                if seen.insert(b.clone()) {
                    texts.push(b.clone());
                }
            }
        }
        let starts: &[String] = if w.append { &before } else { &[String::new()] };
        for b in starts {
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

/// True when `writes[k]` goes through a held descriptor ([`Write::opening`]) and another
/// write reached the file since that descriptor's last write: it lands over that one
/// (`{ printf 'rm -rf '; printf XXX >> a; printf '/ '; } > a` leaves `rm -rf / X`).
fn lands_over(writes: &[(&Write, bool)], k: usize) -> bool {
    let Some(o) = writes[k].0.opening else {
        return false;
    };
    writes[..k]
        .iter()
        .rev()
        .take_while(|(w, _)| w.opening != Some(o))
        .next()
        .is_some()
        && writes[..k].iter().any(|(w, _)| w.opening == Some(o))
}

/// Where a word sends what is written: a file, with whether its name is only known when
/// the line runs, and whether the write may go elsewhere (the name has several values).
#[derive(Clone)]
struct Dest {
    path: String,
    any_name: bool,
    maybe: bool,
}

/// The files the word `w` of `c` writes into ([`values::Paths`]): each file its name may
/// be; for a name only known when the line runs (`"$(date)"`, `$RANDOM`, a glob), the word
/// as written, as any name.
fn dests(paths: &values::Paths<'_>, c: &SimpleCommand, w: &Word) -> Vec<Dest> {
    match (!w.glob)
        .then(|| paths.of(Some(c), Some(w), &w.text))
        .flatten()
    {
        Some(ps) => {
            let maybe = ps.len() > 1;
            ps.into_iter()
                .map(|p| Dest {
                    // `> "$PWD/a"` is `./a`.
                    path: match current_dir_ref(&p) {
                        Some(rest) => format!(".{rest}"),
                        None => p,
                    },
                    any_name: false,
                    maybe,
                })
                .collect()
        }
        None => vec![Dest {
            path: w.text.clone(),
            any_name: true,
            maybe: false,
        }],
    }
}

/// How a command's output reaches a file: where, whether the command's standard output
/// goes there, whether it adds to the file, lands over what it held, and the held
/// descriptor it goes through ([`Write::opening`]).
struct Target {
    dests: Vec<Dest>,
    stdout: bool,
    append: bool,
    in_place: bool,
    opening: Option<usize>,
}

/// The writes of the line into files ([`Write`]), in the order of its commands. Cheap for
/// a line that redirects no output and runs no `tee`.
fn writes(script: &Script, paths: &values::Paths<'_>) -> Vec<Write> {
    let writes_somewhere = !script.compound_redirects.is_empty()
        || script.commands.iter().any(|c| {
            c.redirects.iter().any(|r| r.kind != RedirKind::Input)
                || passer(c).is_some_and(|p| !p.into.is_empty())
        });
    if !writes_somewhere {
        return Vec::new();
    }
    let opened = opened_descriptors(script, paths);
    // After `exec > a`, a command's output goes to a unless it is in a substitution.
    let in_substitution: Vec<bool> = if opened.iter().any(|o| o.fd == 1) {
        let mut subs = vec![false; script.commands.len()];
        for c in &script.commands {
            let words = c
                .words
                .iter()
                .chain(c.assignments.iter().map(|a| &a.value))
                .chain(c.redirects.iter().map(|r| &r.target));
            for w in words {
                for k in w.subs.clone() {
                    subs[k] = true;
                }
            }
        }
        subs
    } else {
        Vec::new()
    };
    // The held descriptors of `{ …; } > a`, numbered after those `opened` holds.
    let group_opening = |g: usize, r: &parse::Redirect| (!r.appends()).then_some(opened.len() + g);
    let write = |d: Dest, texts: Option<Vec<String>>, ends, ordered, t: &Target| Write {
        path: d.path,
        any_name: d.any_name,
        maybe: d.maybe,
        texts,
        hidden: false,
        ends,
        ordered,
        append: t.append,
        in_place: t.in_place,
        opening: t.opening,
    };
    let mut out = Vec::new();
    for (i, c) in script.commands.iter().enumerate() {
        let in_order = c.function.is_none()
            && !script
                .loops
                .iter()
                .any(|l| l.body.contains(&i) || l.cond.contains(&i))
            && !script.background.iter().any(|b| b.contains(&i));
        // `{ …; } > a` empties the file once, before the group's first command.
        for (g, (_, r)) in script
            .compound_redirects
            .iter()
            .enumerate()
            .filter(|(_, (range, r))| range.start == i && r.kind == RedirKind::Output)
        {
            let t = Target {
                dests: dests(paths, c, &r.target),
                stdout: true,
                append: r.appends(),
                in_place: r.overwrites_in_place(),
                opening: group_opening(g, r),
            };
            for d in t.dests.clone() {
                out.push(write(d, Some(vec![String::new()]), &[""], in_order, &t));
            }
        }
        // `exec 3> a`, `exec > a` open (and empty) the file; `exec 2> a` empties it.
        if is_exec_only(c) {
            for o in opened.iter().filter(|o| o.opens && o.at == Scope::After(i)) {
                for d in o.target.dests.clone() {
                    out.push(write(
                        d,
                        Some(vec![String::new()]),
                        &[""],
                        in_order,
                        &o.target,
                    ));
                }
            }
            for r in c
                .redirects
                .iter()
                .filter(|r| r.kind == RedirKind::Output && r.fd == Some(2))
            {
                let t = Target {
                    dests: dests(paths, c, &r.target),
                    stdout: false,
                    append: r.appends(),
                    in_place: r.overwrites_in_place(),
                    opening: None,
                };
                for d in t.dests.clone() {
                    out.push(write(d, Some(vec![String::new()]), &[""], in_order, &t));
                }
            }
            continue;
        }
        // A passer fed a here-document (`tee a <<< …`, `cp /dev/stdin a <<EOF`, `cat - <<EOF
        // > a`) writes its text; one fed by a printer is that printer's write (below).
        let passes = passer(c);
        let here = passes
            .as_ref()
            .filter(|_| c.stdin_heredoc)
            .map(|_| here_document(script, c));
        let printed = if prints_nothing(c) {
            Some(vec![String::new()])
        } else {
            printed_texts(script, c).or(here)
        };
        // `echo cm0g… | base64 -d | tee a`: what reaches a passer after a program that
        // changes its input is that program's output, not the printer's text.
        let mut filtered = None;
        if printed.is_none() && passes_on(script, c) {
            filtered = pipes::written_output(script, c, true);
            if filtered.is_none() {
                continue;
            }
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
        // (file, the command's standard output goes there, adds to it, lands over what
        // the file held): its own redirections, then those of the groups it is in, then
        // the file `exec > a` sent the shell's output to.
        let mut targets: Vec<Target> = Vec::new();
        for r in &c.redirects {
            if r.kind == RedirKind::Output {
                targets.push(Target {
                    dests: dests(paths, c, &r.target),
                    stdout: r.on_stdout(),
                    append: r.appends(),
                    in_place: r.overwrites_in_place(),
                    opening: None,
                });
            } else if let Some(o) = descriptor(&opened, r, i) {
                targets.push(o.through());
            }
        }
        let mut group_stdout = false;
        for (g, (range, r)) in script.compound_redirects.iter().enumerate() {
            if !range.contains(&i) {
                continue;
            }
            group_stdout |= r.kind != RedirKind::Input && r.on_stdout();
            // `{ …; } 3> a` only opens a descriptor ([`opened_descriptors`]).
            if r.kind == RedirKind::Output && r.fd.is_none_or(|fd| fd <= 2) {
                targets.push(Target {
                    dests: dests(paths, c, &r.target),
                    stdout: r.on_stdout() && !own_stdout,
                    append: true,
                    in_place: r.overwrites_in_place(),
                    opening: group_opening(g, r),
                });
            } else if let Some(o) = descriptor(&opened, r, i) {
                let mut t = o.through();
                t.stdout = !own_stdout;
                targets.push(t);
            }
        }
        // `exec > a; echo …`: what a command prints goes to a, unless its output goes
        // elsewhere (its own or a group's redirection, a pipe, a substitution).
        let to_shell_output = |t: &SimpleCommand, k: usize| {
            !t.redirects
                .iter()
                .any(|r| r.kind != RedirKind::Input && r.on_stdout())
                && !script.compound_redirects.iter().any(|(range, r)| {
                    range.contains(&k) && r.kind != RedirKind::Input && r.on_stdout()
                })
                && !in_substitution.get(k).copied().unwrap_or(false)
        };
        if let Some(o) = shell_output(&opened, i) {
            let piped = !c.stages.is_empty() && script.commands.iter().any(|t| piped_into(c, t));
            if !piped && !group_stdout && to_shell_output(c, i) {
                targets.push(o.through());
            }
        }
        let operands: Vec<Target> = passes
            .iter()
            .flat_map(|p| operand_targets(paths, c, p))
            .collect();
        // `echo cm0g… | base64 -d > a`, `base64 -d x.b64 > a`: a filter's output, decoded
        // where the line shows its input, hidden where it does not. Only decompressed
        // (`gunzip -c x.gz > a`, `zcat dump.sql.gz > d.sql`), it is read as a file the
        // line unpacks, as `tar xzf a.tgz` unpacks them: not shown, not hidden.
        if printed.is_none() && filtered.is_none() && !(targets.is_empty() && operands.is_empty()) {
            filtered = pipes::written_output(script, c, passes.is_some());
        }
        let hidden = filtered.as_ref().is_some_and(|f| f.hidden && f.decoded);
        let shown = match &filtered {
            Some(f) if !f.hidden => Some(f.texts.clone()),
            _ => printed.clone(),
        };
        let mut put = |w: Write| {
            out.push(Write { hidden, ..w });
        };
        for t in &targets {
            for d in t.dests.clone() {
                put(write(d, shown.clone(), ends, in_order && t.stdout, t));
            }
        }
        // `tee a <<< '…'`: the here-string's text; `ls | tee a`: text the line does not
        // show.
        for t in &operands {
            for d in t.dests.clone() {
                put(write(d, shown.clone(), &[""], in_order, t));
            }
        }
        if printed.is_none() {
            continue;
        }
        for k in reached_by(script, c) {
            let t = &script.commands[k];
            let Some(p) = passer(t) else { continue };
            let mut through: Vec<Target> = operand_targets(paths, t, &p);
            // `echo … | cat > FILE`: a cat reading only its input passes it on (not `cp
            // /dev/stdin a > log`, which writes only a).
            through.extend(
                t.redirects
                    .iter()
                    .filter(|r| p.stdout && r.kind == RedirKind::Output)
                    .map(|r| Target {
                        dests: dests(paths, t, &r.target),
                        stdout: r.on_stdout(),
                        append: r.appends(),
                        in_place: r.overwrites_in_place(),
                        opening: None,
                    }),
            );
            // `exec > a; echo … | cat`: the last stage prints into the shell's output.
            if let Some(o) = shell_output(&opened, k).filter(|_| p.stdout) {
                let last = t.stages.iter().all(|&(q, j)| {
                    script
                        .lookups
                        .stages_in(script, q, j + 1..j + 2)
                        .next()
                        .is_none()
                });
                if last && to_shell_output(t, k) {
                    through.push(o.through());
                }
            }
            for tt in &through {
                for d in tt.dests.clone() {
                    out.push(write(d, printed.clone(), ends, in_order && tt.stdout, tt));
                }
            }
        }
    }
    out
}

/// The files a [`Passer`] `t` writes its input into, as [`Target`]s.
fn operand_targets(paths: &values::Paths<'_>, t: &SimpleCommand, p: &Passer<'_>) -> Vec<Target> {
    p.into
        .iter()
        .map(|(w, append, in_place)| Target {
            dests: dests(paths, t, w),
            stdout: true,
            append: *append,
            in_place: *in_place,
            opening: None,
        })
        .collect()
}

/// `exec` with redirections only: they stay for the rest of the shell.
fn is_exec_only(c: &SimpleCommand) -> bool {
    c.words.len() == 1 && c.words[0].text == "exec"
}

/// A descriptor the line opens onto a file (or, with no file, onto none: `exec >&2`).
struct Opened {
    fd: u32,
    target: Target,
    /// The redirection opens the file itself (not a copy of another descriptor: `exec
    /// 4>&3`), which empties it unless it appends.
    opens: bool,
    at: Scope,
}

impl Opened {
    /// Descriptor `fd` opened on the file of the output redirection `r` of `c`, as the
    /// `index`th opening of the line.
    fn on(
        paths: &values::Paths<'_>,
        c: &SimpleCommand,
        r: &parse::Redirect,
        fd: u32,
        index: usize,
        at: Scope,
    ) -> Opened {
        Opened {
            fd,
            target: Target {
                dests: dests(paths, c, &r.target),
                stdout: true,
                append: r.appends(),
                in_place: r.overwrites_in_place(),
                opening: (!r.appends()).then_some(index),
            },
            opens: true,
            at,
        }
    }

    /// What a write through the descriptor does.
    fn through(&self) -> Target {
        Target {
            dests: self.target.dests.clone(),
            stdout: true,
            append: true,
            in_place: self.target.in_place,
            opening: self.target.opening,
        }
    }
}

/// Which commands write through an [`Opened`] descriptor.
#[derive(PartialEq)]
enum Scope {
    /// Those after the `exec 3> a` at this command index (until it is opened again).
    After(usize),
    /// Those of a group (`{ …; } 3> a`).
    Group(Range<usize>),
}

/// The descriptors the line opens onto files: by `exec` (`exec 3> a`, `exec > a`, `exec
/// 4>&3`, `exec >&-`), and for a group (`{ …; } 3> a`).
fn opened_descriptors(script: &Script, paths: &values::Paths<'_>) -> Vec<Opened> {
    let mut out: Vec<Opened> = Vec::new();
    for (k, c) in script.commands.iter().enumerate() {
        if !is_exec_only(c) {
            continue;
        }
        for r in &c.redirects {
            let fd = r.fd.unwrap_or(1);
            if r.kind == RedirKind::Output && (fd > 2 || r.on_stdout()) {
                let fd = if r.on_stdout() { 1 } else { fd };
                out.push(Opened::on(paths, c, r, fd, out.len(), Scope::After(k)));
            } else if r.kind == RedirKind::Dup && fd != 2 {
                // `exec 4>&3`: the file 3 was opened on (none for 2, or a closed one).
                let from: Option<u32> = r.target.text.parse().ok();
                let same = from.and_then(|m| {
                    out.iter()
                        .rev()
                        .find(|o| o.fd == m && matches!(o.at, Scope::After(_)))
                });
                let target = match same {
                    Some(o) => Target {
                        dests: o.target.dests.clone(),
                        ..o.through()
                    },
                    None => Target {
                        dests: Vec::new(),
                        stdout: true,
                        append: true,
                        in_place: false,
                        opening: None,
                    },
                };
                out.push(Opened {
                    fd,
                    target,
                    opens: false,
                    at: Scope::After(k),
                });
            }
        }
    }
    for (range, r) in &script.compound_redirects {
        if let Some(fd) = r.fd.filter(|&fd| fd > 2 && r.kind == RedirKind::Output) {
            let c = &script.commands[range.start.min(script.commands.len() - 1)];
            out.push(Opened::on(
                paths,
                c,
                r,
                fd,
                out.len(),
                Scope::Group(range.clone()),
            ));
        }
    }
    out
}

/// `>&3` of the command at `i` where the line opened 3 onto a file: the descriptor of the
/// innermost group around the command that opens 3, else of the last `exec 3>` before it.
fn descriptor<'o>(opened: &'o [Opened], r: &parse::Redirect, i: usize) -> Option<&'o Opened> {
    let n: u32 = r.target.text.parse().ok()?;
    if r.kind != RedirKind::Dup || !r.on_stdout() {
        return None;
    }
    let mut mine = opened.iter().filter(|o| o.fd == n);
    let group = mine
        .clone()
        .filter_map(|o| match &o.at {
            Scope::Group(range) if range.contains(&i) => Some((range.len(), o)),
            _ => None,
        })
        .min_by_key(|(len, _)| *len)
        .map(|(_, o)| o);
    group.or_else(|| mine.rfind(|o| matches!(o.at, Scope::After(k) if k < i)))
}

/// Where the shell's own output goes for the command at `i`: the file of the last `exec >
/// a` (or `exec 1>&3`) before it.
fn shell_output(opened: &[Opened], i: usize) -> Option<&Opened> {
    opened
        .iter()
        .rfind(|o| o.fd == 1 && matches!(o.at, Scope::After(k) if k < i))
}

/// `tee a b`, `tee -a log`: the files tee writes what it reads into, and whether it adds
/// to them.
fn tee_operands(t: &SimpleCommand) -> impl Iterator<Item = (&Word, bool)> + '_ {
    let append = t.words[1..].iter().any(|w| {
        w.text == "--append"
            || (w.text.starts_with('-') && !w.text.starts_with("--") && w.text.contains('a'))
    });
    t.words[1..]
        .iter()
        .filter(|w| !w.text.starts_with('-'))
        .map(move |w| (w, append))
}

/// `find /tmp -exec cat {} \; | sh`, `ls | xargs cat | bash`, `find . -name '*.sh' | sh`:
/// a shell reads its code from a pipeline where find or xargs (also through a wrapper:
/// `sudo find …`) prints files, or names, only known when it runs.
fn feeds_found(script: &Script, c: &SimpleCommand, argv: &[Arg]) -> bool {
    fn lists(argv: &[Arg], depth: usize) -> bool {
        argv.first()
            .is_some_and(|p| matches!(basename(&p.text), "find" | "xargs"))
            || (depth < MAX_UNWRAP
                && vectors::analyse(argv, false).into_iter().any(
                    |f| matches!(f, vectors::Finding::Wrap { argv, .. } if lists(&argv, depth + 1)),
                ))
    }
    c.stages.iter().any(|&(_, j)| j > 0)
        && runs_its_input(argv)
        && piped_on(script, c, false)
            .into_iter()
            .any(|i| lists(&args_of(&script.commands[i]), 0))
}

/// Whether `argv` runs what it reads on its input as code ([`reads_code`]); for `sh -c
/// CODE`, only where CODE does (`sh -c 'sh'`, `sh -c '. /dev/stdin'`, `eval`): a loop
/// reading names from it (`sh -c 'while read f; do bash -n "$f"; done'`) does not. Code
/// that does not parse counts as running it.
fn runs_its_input(argv: &[Arg]) -> bool {
    if !reads_code(argv, true, 0) {
        return false;
    }
    if !argv.first().is_some_and(is_shell) {
        return true;
    }
    let codes: Vec<String> = vectors::analyse(argv, true)
        .into_iter()
        .filter_map(|f| match f {
            vectors::Finding::Code { shell: Some(s), .. } => Some(s),
            _ => None,
        })
        .collect();
    codes.is_empty()
        || codes.iter().any(|code| match parse::parse(code) {
            Err(_) => true,
            Ok(inner) => inner.commands.iter().any(|c| {
                let a = args_of(c);
                reads_code(&a, true, 1)
                    || a.first()
                        .is_some_and(|p| matches!(p.text.as_str(), "eval" | "." | "source"))
            }),
        })
}

/// The command of `script` that has the word `w` (an operand or a redirection's target).
fn command_of<'s>(script: &'s Script, w: &Word) -> Option<&'s SimpleCommand> {
    let i = script.lookups.owner_of(script, w)?;
    Some(&script.commands[i])
}

/// A command that prints nothing on its standard output: assignments alone, `:`, `true`,
/// `unset` …; what it writes into a file is nothing (`: > a` empties a).
fn prints_nothing(c: &SimpleCommand) -> bool {
    let Some((p, args)) = c.words.split_first() else {
        return true;
    };
    match p.text.as_str() {
        ":" | "true" | "false" | "unset" | "shift" => true,
        "export" | "readonly" | "local" | "declare" | "typeset" => {
            !args.is_empty() && args.iter().all(|a| !a.text.starts_with(['-', '+']))
        }
        _ => false,
    }
}

/// A command that writes what it reads on its input: into files it names (`tee FILE`,
/// `cp /dev/stdin FILE`, `install -m 755 - FILE`, `dd of=FILE`, `sponge FILE`), on its
/// output (`cat`, `cat -`, `cat /dev/stdin`, `dd`, `sponge`), or both (`tee`).
struct Passer<'c> {
    /// The files it writes its input into ([`Target`]'s `append` and `in_place`).
    into: Vec<(Cow<'c, Word>, bool, bool)>,
    /// Its output is its input too.
    stdout: bool,
}

/// Whether `t` is a [`Passer`], and what it writes into. A name of the input
/// (`/dev/stdin`, `/dev/fd/0`, `/proc/self/fd/0`; `-` to cat) is read as the input.
fn passer(t: &SimpleCommand) -> Option<Passer<'_>> {
    let (p, rest) = t.words.split_first()?;
    let stdin = |w: &Word| vectors::input_descriptor(&w.text) == Some(0);
    let operands = || rest.iter().filter(|w| !w.text.starts_with('-') || stdin(w));
    match basename(&p.text) {
        "tee" => Some(Passer {
            into: tee_operands(t)
                .map(|(w, append)| (Cow::Borrowed(w), append, false))
                .collect(),
            stdout: true,
        }),
        "cat" if operands().all(stdin) && input_files(t).next().is_none() => Some(Passer {
            into: Vec::new(),
            stdout: true,
        }),
        // `cp /dev/stdin a`, `install -m 755 /dev/stdin a`: the last operand is a copy
        // of the input (`-t DIR` names no file of it; to cp and dd `-` is a file).
        "cp" | "install" if target_directory(rest).is_none() => {
            let words: Vec<&Word> = operands().collect();
            let (dest, sources) = words.split_last()?;
            sources
                .iter()
                .any(|w| w.text != "-" && stdin(w))
                .then(|| Passer {
                    into: vec![(Cow::Borrowed(*dest), false, false)],
                    stdout: false,
                })
        }
        // `dd of=a`: reads its input without `if=` (or one naming it); `oflag=append`
        // adds, `conv=notrunc` writes over what the file held.
        "dd" => {
            let value = |k: &str| rest.iter().find_map(|w| w.text.strip_prefix(k));
            if value("if=").is_some_and(|f| f == "-" || vectors::input_descriptor(f) != Some(0)) {
                return None;
            }
            let append = value("oflag=").is_some_and(|f| f.contains("append"));
            let notrunc = value("conv=").is_some_and(|f| f.contains("notrunc"));
            let into: Vec<(Cow<Word>, bool, bool)> = rest
                .iter()
                .filter_map(|w| {
                    let path = w.text.strip_prefix("of=")?;
                    let mut w = w.clone();
                    w.text = path.to_string();
                    Some((Cow::Owned(w), append, notrunc && !append))
                })
                .collect();
            Some(Passer {
                stdout: into.is_empty(),
                into,
            })
        }
        // moreutils' `sponge [-a] FILE`: the file after the input ends, or its output.
        "sponge" => {
            let append = rest.iter().any(|w| w.text == "-a");
            let into: Vec<(Cow<Word>, bool, bool)> = operands()
                .map(|w| (Cow::Borrowed(w), append, false))
                .collect();
            Some(Passer {
                stdout: into.is_empty(),
                into,
            })
        }
        _ => None,
    }
}

/// A [`Passer`] in a pipeline after a printer, with only programs that pass their input
/// on unchanged between ([`reached_by`]): what it writes is the printer's text, a write of
/// the printer ([`writes`]).
fn passes_on(script: &Script, t: &SimpleCommand) -> bool {
    passer(t).is_some()
        && t.stages.iter().any(|&(p, j)| {
            for k in (0..j).rev() {
                let stage: Vec<usize> = script.lookups.stages_in(script, p, k..k + 1).collect();
                match stage.as_slice() {
                    [i] if printed_texts(script, &script.commands[*i]).is_some() => return true,
                    [i] if passes_unchanged(&script.commands[*i]) => {}
                    _ => return false,
                }
            }
            false
        })
}

/// `cat` or `tee` writing what it reads on, unchanged, to the next stage of the pipe.
fn passes_unchanged(t: &SimpleCommand) -> bool {
    t.words
        .first()
        .is_some_and(|p| matches!(basename(&p.text), "cat" | "tee"))
        && passer(t).is_some_and(|p| p.stdout)
        && !t
            .redirects
            .iter()
            .any(|r| r.kind != RedirKind::Input && r.on_stdout())
}

/// The passers the printer `c`'s text reaches: the later stages of its pipelines up to and
/// with the first that is not a `cat` or `tee` passing it on ([`passes_unchanged`]);
/// `echo … | tee a | base64 -d | tee b` writes the text into a only (b holds what base64
/// makes of it, a write of its own). Walked stage by stage, so a pipeline of thousands of
/// printers and passers is read once, not once for each printer.
fn reached_by(script: &Script, c: &SimpleCommand) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for &(p, j) in &c.stages {
        for k in j + 1..u16::MAX {
            let stage: Vec<usize> = script.lookups.stages_in(script, p, k..k + 1).collect();
            out.extend(
                stage
                    .iter()
                    .copied()
                    .filter(|&i| passer(&script.commands[i]).is_some()),
            );
            if !matches!(stage.as_slice(), [i] if passes_unchanged(&script.commands[*i])) {
                break;
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The commands of the later (`later`) or earlier stages of the pipelines `c` is in: those
/// [`piped_into`] from it, or into it. Looked up by stage, not by scanning the line.
fn piped_on(script: &Script, c: &SimpleCommand, later: bool) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for &(p, j) in &c.stages {
        let range = if later { j + 1..u16::MAX } else { 0..j };
        out.extend(script.lookups.stages_in(script, p, range));
    }
    out.sort_unstable();
    out.dedup();
    out
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

/// A copy the line makes ([`copies`]), its paths ([`normalised_path`]) with the line's
/// values of its variables put in (`f=/tmp/b; cp a "$f"`): `None` for a name only known
/// when the line runs (`cp a "$(mktemp)"`), which may be any.
struct Copy {
    src: Option<String>,
    dest: Option<String>,
}

/// The line's copies as [`Copy`]s: one for each value of a name (past [`MAX_DIRS`]
/// values, any name).
fn copied(script: &Script, copies: &[(&Word, String)], paths: &values::Paths<'_>) -> Vec<Copy> {
    let mut out = Vec::new();
    for (src, dest) in copies {
        let src_text = source_path(src);
        let dynamic = |t: &str| t.contains(['$', '`']);
        let cmd = (dynamic(src_text) || dynamic(dest))
            .then(|| command_of(script, src))
            .flatten();
        let named = |t: &str| -> Vec<Option<String>> {
            if !dynamic(t) {
                return vec![Some(t.to_string())];
            }
            match cmd.and_then(|c| paths.of(Some(c), None, t)) {
                Some(ps) if ps.len() <= MAX_DIRS => {
                    ps.iter().map(|p| Some(normalised_path(p))).collect()
                }
                _ => vec![None],
            }
        };
        let srcs = named(src_text);
        for d in named(dest) {
            out.extend(srcs.iter().map(|s| Copy {
                src: s.clone().map(|s| normalised_path(&s)),
                dest: d.clone(),
            }));
        }
    }
    out
}

/// The paths ([`normalised_path`]) `name` may be: itself, and the sources of the copies
/// the lines made that it may be, also of a copy of a copy (`cp a b; mv b c`: c may be b
/// and a; the copy lookup of programs, [`copy_reaches`]); and whether it may be a copy of
/// a file named only when the line runs (`cp "$x" b`), so any file. Each path is looked
/// up once, so copies that go round (`cp a b; cp b a`) end.
fn origins(copies: &[&Copy], name: &str) -> (Vec<String>, bool) {
    // `sh "$PWD/a"`: a file in the working directory.
    let name = match current_dir_ref(name) {
        Some(rest) => format!(".{rest}"),
        None => name.to_string(),
    };
    let mut names = vec![normalised_path(&name)];
    let mut any = false;
    let mut i = 0;
    while let Some(n) = names.get(i) {
        let mut sources: Vec<String> = Vec::new();
        for c in copies {
            let Some(dest) = c.dest.as_deref() else {
                continue;
            };
            if n.is_empty() || !copy_reaches_path(c.src.as_deref(), dest, n) {
                continue;
            }
            match &c.src {
                Some(s) => sources.push(s.clone()),
                None => any = true,
            }
        }
        for src in sources {
            if !names.contains(&src) {
                names.push(src);
            }
        }
        i += 1;
    }
    (names, any)
}

/// `cat FILE | sh`, `cat FILE | tr -d '\r' | bash`, `cat < FILE | sh`: an earlier stage of
/// a pipeline `c` is in names the file (`same`) as an operand or its input, or reads the
/// shell's input that `exec < FILE` put on it (`on_shell_input`: `exec < a; cat | sh`),
/// and passes it on.
fn piped_from_file(
    script: &Script,
    c: &SimpleCommand,
    same: &dyn Fn(&str) -> bool,
    on_shell_input: &dyn Fn(usize) -> bool,
) -> bool {
    c.stages.iter().any(|&(_, j)| j > 0)
        && piped_on(script, c, false).into_iter().any(|i| {
            let d = &script.commands[i];
            d.words
                .iter()
                .skip(1)
                .chain(input_files(d))
                .any(|w| same(&w.text))
                // `exec < a; cat | sh`.
                || on_shell_input(i)
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
        written_files(&script, &copies(&script), &values::Paths::new(&script))
            .into_iter()
            .map(|f| {
                (
                    normalised_path(&f.path),
                    f.text.unwrap_or_else(|| TOO_MANY.into()),
                )
            })
            .collect()
    }

    /// Stands for [`Joined::TooMany`] in the tests.
    const TOO_MANY: &str = "<too many>";

    /// The texts the line's writes into `path` make together, when it reads them so.
    fn joined_in(line: &str, path: &str) -> Option<Vec<String>> {
        let script = parse::parse(line).unwrap();
        let writes = writes(&script, &values::Paths::new(&script));
        let into: Vec<(&Write, bool)> = writes
            .iter()
            .filter(|w| normalised_path(&w.path) == path)
            .map(|w| (w, false))
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
        // A descriptor the shell holds writes where it last ended, over a write between.
        for line in [
            "exec > f; printf a; printf b >> f; printf c",
            "exec 3> f; printf a >&3; printf b >> f; printf c >&3",
            "{ printf a; printf b >> f; printf c; } > f",
        ] {
            assert_eq!(joined_in(line, "f"), too_many, "{line}");
        }
        assert_eq!(
            joined_in("exec 3>> f; printf a >&3; printf b >> f; printf c >&3", "f"),
            Some(vec!["abc".to_string()])
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
        // `exec > f`: what the shell prints next goes into f, until it goes elsewhere.
        assert_eq!(joined_in("exec > f; printf a >> f", "f"), one("a"));
        assert_eq!(
            joined_in("exec > f; printf a; x=1; echo b; exec >&-; echo c", "f"),
            one("ab\n")
        );
        assert_eq!(
            joined_in(
                "exec > f; printf a; echo b > g; echo c | cat; echo $(echo d)",
                "f"
            ),
            // The substitution as written, and what it prints.
            Some(vec!["ac\n$(echo d)\n".into(), "ac\nd\n".into()])
        );
        assert_eq!(
            joined_in("{ printf a; true; printf b; } > f", "f"),
            one("ab")
        );
        // A write into a name only known when it runs may be a piece of f, or not.
        let script = parse::parse("printf a > f; printf b >> \"$x\"; printf c >> f").unwrap();
        let ws = writes(&script, &values::Paths::new(&script));
        let into: Vec<(&Write, bool)> = vec![(&ws[0], false), (&ws[1], true), (&ws[2], false)];
        match joined(&into, &mut MAX_JOINED_BUDGET.clone()) {
            Joined::Texts(t) => assert_eq!(t, ["ac", "abc"]),
            _ => panic!("not joined"),
        }
        // Text the line does not show, or not in order: no joined reading.
        for line in [
            "printf a > f; ls >> f",
            "printf a > f; echo b 2>> f",
            "exec > f; printf a; ls; printf b",
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
    fn written_names_take_the_lines_values() {
        assert_eq!(
            files("f=/tmp/b; echo hi > \"$f\""),
            [("/tmp/b".into(), "hi".into())]
        );
        assert_eq!(
            files("d=/tmp; printf x | tee \"$d/a\""),
            [("/tmp/a".into(), "x".into())]
        );
        assert_eq!(
            files("for f in a b; do echo x > $f; done"),
            [("a".into(), "x".into()), ("b".into(), "x".into())]
        );
        assert_eq!(files("echo x > \"$PWD/a\""), [("a".into(), "x".into())]);
        assert_eq!(files("echo x > ~/a"), [("~/a".into(), "x".into())]);
        // Names only known when the line runs: any name.
        for line in [
            "echo x > \"$(date)\"",
            "echo x > $RANDOM",
            "echo x > \"$unset\"",
            "echo x > *.sh",
            "f=$(mktemp); echo x > \"$f\"",
            "exec 3> \"${f%/*}\"; echo x >&3",
        ] {
            let script = parse::parse(line).unwrap();
            let any: Vec<bool> = written_files(&script, &[], &values::Paths::new(&script))
                .iter()
                .map(|f| f.any_name)
                .collect();
            assert_eq!(any, [true], "{line}");
        }
    }

    #[test]
    fn copies_of_a_written_file() {
        let holds_in = |line: &str, name: &str| {
            let script = parse::parse(line).unwrap();
            let paths = values::Paths::new(&script);
            let copied = copied(&script, &copies(&script), &paths);
            let copied: Vec<&Copy> = copied.iter().collect();
            origins(&copied, name).0.contains(&"a".to_string())
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
