//! Shell command lines that programs which are not shells hand to a shell, for the default
//! blocklist: `sed 'e CMD'` and `s/…/CMD/e`, `vim -c '!CMD'`, `gdb -ex 'shell CMD'`,
//! `expect -c 'spawn CMD'`, `git -c alias.x='!CMD'` and command-valued git keys (also set
//! by `git config KEY VALUE`), tar's
//! `--to-command`/`--checkpoint-action=exec=`, `zip -TT`, `script -c`, `ssh -o
//! ProxyCommand=`, `rsync -e`, the job `at` and `batch` read, a makefile read from a here-document, GNU
//! parallel's jobs (`parallel 'rm -rf {}' ::: /`), piped text xargs makes a shell's `-c`
//! code (`echo … | xargs -0 sh -c`), and files that awk,
//! Perl, Python or Ruby code opens for writing (as `: > FILE`, so that the redirection
//! rules judge the path). Under an allow list these programs are refused as unverifiable
//! code anyway; here the text is what they would run, checked like a line of its own.

use super::blocklist::{self, Hit};
use super::rules::{basename, Arg};
use super::vectors;

/// Git configuration keys whose value is a command git runs.
const GIT_COMMAND_KEYS: &[&str] = &[
    "core.pager",
    "core.editor",
    "core.sshcommand",
    "core.fsmonitor",
    "core.hookspath",
    "sequence.editor",
    "diff.external",
    "credential.helper",
    "gpg.program",
    "pager.log",
    "pager.diff",
    "pager.show",
];

/// The shell command git runs for the configuration key `key` set to `value`: an alias
/// starting with `!`, a key of [`GIT_COMMAND_KEYS`], or a driver's command (`diff.X.command`
/// and `.textconv`, `filter.X.clean`/`.smudge`/`.process`, `merge.X.driver`).
pub(crate) fn git_key_command(key: &str, value: &str) -> Option<String> {
    let k = key.to_ascii_lowercase();
    let driver = ["diff.", "filter.", "merge."]
        .iter()
        .any(|p| k.starts_with(p))
        && [
            ".command",
            ".textconv",
            ".clean",
            ".smudge",
            ".process",
            ".driver",
        ]
        .iter()
        .any(|s| k.ends_with(s));
    if k.starts_with("alias.") {
        value.strip_prefix('!').map(str::to_string)
    } else if driver || GIT_COMMAND_KEYS.contains(&k.as_str()) {
        Some(value.trim_start_matches('!').to_string())
    } else {
        None
    }
}

/// `git config [--global|--file F …] [set] KEY VALUE` (also `--add`, `--replace-all`): the
/// file it names with `--file`/`-f`, the key and the value it sets. `None` for reading,
/// unsetting, renaming or listing, and for a key without a value.
pub(crate) fn git_config_set(argv: &[Arg]) -> Option<(Option<String>, String, String)> {
    if basename(&argv.first()?.text) != "git" {
        return None;
    }
    let at = argv.iter().position(|a| a.text == "config")?;
    let mut file = None;
    let mut positional: Vec<&str> = Vec::new();
    let mut args = argv[at + 1..].iter().map(|a| a.text.as_str());
    while let Some(t) = args.next() {
        // Options end at the key: what follows is its value (`x.rm '-rf /'`).
        if !positional.is_empty() {
            positional.push(t);
            continue;
        }
        match t {
            "-f" | "--file" => file = args.next(),
            "--comment" | "--type" | "--default" | "--value" | "--blob" => {
                args.next();
            }
            "set" | "add" => {}
            "get" | "unset" | "list" | "rename-section" | "remove-section" | "edit" => return None,
            _ if t.starts_with("--get")
                || t.starts_with("--unset")
                || t.ends_with("-section")
                || matches!(t, "-l" | "--list" | "-e" | "--edit") =>
            {
                return None
            }
            _ if t.starts_with("--file=") => file = Some(&t[7..]),
            _ if t.starts_with("-f") && !t.starts_with("--") => file = Some(&t[2..]),
            _ if t.starts_with('-') => {}
            _ => positional.push(t),
        }
    }
    let key = positional.first()?;
    let value = positional.get(1)?;
    Some((file.map(str::to_string), key.to_string(), value.to_string()))
}

/// The shell commands a git configuration file's text sets ([`git_key_command`]): `[alias]`
/// with `x = !CMD`, `[core]` with `pager = CMD`, …, a value's quotes taken off.
pub(crate) fn git_config_commands(text: &str) -> Vec<String> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(h) = line.strip_prefix('[') {
            let h = h.split(']').next().unwrap_or("");
            section = match h.split_once(' ') {
                Some((s, sub)) => format!("{s}.{}", sub.trim().trim_matches('"')),
                None => h.to_string(),
            };
            continue;
        }
        if let Some((name, value)) = line.split_once('=') {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            out.extend(git_key_command(
                &format!("{section}.{}", name.trim()),
                value,
            ));
        }
    }
    out
}

/// The shell lines `argv` hands to a shell; `input` is what it reads on its input.
pub(crate) fn shell_texts(argv: &[Arg], input: &[String]) -> Vec<String> {
    let Some(p) = argv.first() else {
        return Vec::new();
    };
    let texts: Vec<&str> = argv[1..].iter().map(|a| a.text.as_str()).collect();
    let values = |short: &[&str], long: &[&str]| option_values(&texts, short, long);
    let mut out: Vec<String> = Vec::new();
    match basename(&p.text) {
        "sed" | "gsed" => {
            let mut scripts = values(&["-e"], &["--expression"]);
            if scripts.is_empty() {
                scripts.extend(texts.iter().find(|t| !t.starts_with('-')).copied());
            }
            for s in scripts {
                out.extend(sed_commands(s));
            }
        }
        "vim" | "vi" | "nvim" | "ex" | "view" | "vimdiff" | "gvim" => {
            let mut cmds = values(&["-c", "--cmd"], &[]);
            cmds.extend(texts.iter().filter_map(|t| t.strip_prefix('+')));
            for c in cmds {
                let c = c.trim_start_matches([':', ' ']);
                out.extend(c.strip_prefix('!').map(str::to_string));
                out.extend(c.strip_prefix("call system(").map(strip_quotes));
            }
        }
        "gdb" => {
            for c in values(&["-ex", "-iex"], &["--eval-command", "--init-eval-command"]) {
                let c = c.trim_start();
                out.extend(
                    c.strip_prefix("shell ")
                        .or_else(|| c.strip_prefix('!'))
                        .map(str::to_string),
                );
            }
        }
        "expect" => {
            for c in values(&["-c"], &[]) {
                for stmt in c.split([';', '\n']) {
                    let stmt = stmt.trim();
                    out.extend(
                        stmt.strip_prefix("spawn ")
                            .or_else(|| stmt.strip_prefix("exec "))
                            .map(str::to_string),
                    );
                }
            }
        }
        "git" => {
            for kv in values(&["-c"], &[]) {
                if let Some((k, v)) = kv.split_once('=') {
                    out.extend(git_key_command(k, v));
                }
            }
            // `git config alias.x '!CMD'`, `git config --global core.pager CMD`: set for
            // the git commands that follow, in this line or the next.
            if let Some((_, k, v)) = git_config_set(argv) {
                out.extend(git_key_command(&k, &v));
            }
        }
        "tar" | "gtar" | "bsdtar" => {
            out.extend(
                values(
                    &["-I", "-F"],
                    &[
                        "--to-command",
                        "--use-compress-program",
                        "--info-script",
                        "--new-volume-script",
                    ],
                )
                .into_iter()
                .map(str::to_string),
            );
            for a in values(&[], &["--checkpoint-action"]) {
                out.extend(a.strip_prefix("exec=").map(str::to_string));
            }
        }
        "zip" => out.extend(
            values(&["-TT"], &["--unzip-command"])
                .into_iter()
                .map(str::to_string),
        ),
        "script" => out.extend(
            values(&["-c"], &["--command"])
                .into_iter()
                .map(str::to_string),
        ),
        "ssh" | "scp" | "sftp" => {
            for o in values(&["-o"], &[]) {
                if let Some((k, v)) = o.split_once(['=', ' ']) {
                    if matches!(
                        k.to_ascii_lowercase().as_str(),
                        "proxycommand" | "localcommand" | "knownhostscommand"
                    ) {
                        out.push(v.to_string());
                    }
                }
            }
        }
        "rsync" => out.extend(values(&["-e"], &["--rsh"]).into_iter().map(str::to_string)),
        // `at now <<< 'cmd'`, `echo cmd | batch`: the job is the shell text on the input.
        "at" | "batch" if values(&["-f"], &[]).is_empty() && !texts.contains(&"-l") => {
            out.extend(input.iter().cloned())
        }
        "make" | "gmake" => {
            let from_input = values(&["-f"], &["--file", "--makefile"])
                .iter()
                .any(|f| vectors::names_input(f));
            if from_input {
                for text in input {
                    out.extend(recipe_lines(text));
                }
            }
        }
        "parallel" => out.extend(parallel_jobs(&texts, input)),
        "xargs" => out.extend(xargs_shell_code(&texts, input)),
        "awk" | "gawk" | "mawk" | "nawk" | "busybox" => {
            for t in texts.iter().filter(|t| t.contains('>')) {
                out.extend(quoted_after(t, ">").into_iter().map(|f| written(&f)));
            }
        }
        _ => {}
    }
    // Interpreter code opening a file for writing: `open('/dev/sda','wb')`, `open F,">/dev/sda"`.
    if let Some((_, codes)) = vectors::inline_code(argv) {
        for code in codes {
            out.extend(opened_for_writing(&code).into_iter().map(|f| written(&f)));
            // `open(F, "|sh"); print F "…"`: what the code prints goes to a shell.
            let to_shell = ["|sh", "| sh", "|bash", "| bash", "|/bin/sh"]
                .iter()
                .any(|s| code.contains(&format!("\"{s}")) || code.contains(&format!("'{s}")));
            if to_shell {
                for q in ['"', '\''] {
                    out.extend(code.split(q).skip(1).step_by(2).map(str::to_string));
                }
            }
        }
    }
    out
}

/// `echo 'CMD' | xargs -0 sh -c`, `xargs -d '\n' bash -c`, `xargs -I{} sh -c {}`: a shell
/// whose `-c` code is what xargs reads on its input (the shell's `-c` is the last word, or
/// is followed only by `-I`'s string). Each item may be the code: the whole input with
/// `-0` (echo's text has no NUL), its lines with `-d` or `-I`, else its words as xargs
/// splits them, quotes kept together (`echo "'rm -rf /'" | xargs sh -c`).
fn xargs_shell_code(texts: &[&str], input: &[String]) -> Vec<String> {
    if input.is_empty() {
        return Vec::new();
    }
    let repl = option_values(texts, &["-I"], &["--replace"]);
    let Some(k) = texts
        .iter()
        .position(|t| vectors::SHELLS.contains(&basename(t)))
    else {
        return Vec::new();
    };
    let rest = &texts[k + 1..];
    let c_at = rest
        .iter()
        .position(|t| t.starts_with('-') && !t.starts_with("--") && t.contains('c'));
    let code_from_input = c_at.is_some_and(|i| match &rest[i + 1..] {
        [] => true,
        [w] => repl.contains(w) || (*w == "{}" && texts.iter().any(|t| t.starts_with("-i"))),
        _ => false,
    });
    if !code_from_input {
        return Vec::new();
    }
    let whole = texts[..k].iter().any(|t| {
        *t == "-0"
            || *t == "--null"
            || t.starts_with('-') && !t.starts_with("--") && t.contains('0')
    });
    let lines = !repl.is_empty()
        || texts[..k]
            .iter()
            .any(|t| t.starts_with("-d") || t.starts_with("--delimiter") || t.starts_with("-L"));
    let mut out = Vec::new();
    for text in input {
        if whole {
            out.push(text.clone());
        } else if lines {
            out.extend(text.lines().map(str::to_string));
        } else {
            out.extend(
                text.lines()
                    .flat_map(|l| shlex::split(l).unwrap_or_else(|| vec![l.to_string()])),
            );
        }
    }
    out.truncate(MAX_PARALLEL_JOBS);
    out
}

/// Most jobs of one `parallel` read ([`parallel_jobs`]).
const MAX_PARALLEL_JOBS: usize = 64;

/// The shell lines GNU parallel runs: its command (the words before the first `:::`,
/// `:::+`, `::::` or `::::+`, joined as shell text) with each argument of the `:::`
/// groups, or each line of its input where it has none, quoted as one word where `{}`
/// (`{.}`, `{/}`, `{1}` …, or `-I`'s string) stands, else appended: `parallel 'rm -rf {}'
/// ::: /` runs `rm -rf '/'`. Without a command each argument is a command line itself
/// (`parallel ::: 'cmd'`, `echo cmd | parallel`). The command may start at any of the
/// first three words that are not options (the values of its options are not known here).
fn parallel_jobs(texts: &[&str], input: &[String]) -> Vec<String> {
    let sep = |t: &&str| matches!(*t, ":::" | ":::+" | "::::" | "::::+");
    let head_len = texts.iter().position(sep).unwrap_or(texts.len());
    let head = &texts[..head_len];
    // The arguments of `:::` groups (`::::` names files, which are not known here).
    let mut args: Vec<String> = Vec::new();
    let mut listed = true;
    for t in &texts[head_len..] {
        if sep(t) {
            listed = matches!(*t, ":::" | ":::+");
        } else if listed {
            args.push(t.to_string());
        }
    }
    let from_file = !option_values(head, &["-a"], &["--arg-file", "--a"]).is_empty();
    if head_len == texts.len() && !from_file {
        args.extend(input.iter().flat_map(|t| t.lines().map(str::to_string)));
    }
    args.retain(|a| !a.trim().is_empty());
    args.truncate(MAX_PARALLEL_JOBS);
    let mut repls: Vec<&str> = option_values(head, &["-I"], &["--replace", "-i"]);
    repls.push("{}");
    // Where the command may start: each of the first three words that are not options,
    // and its end when every such word may be an option's value (no command at all).
    let words: Vec<usize> = (0..head.len())
        .filter(|&i| !head[i].starts_with('-'))
        .collect();
    let mut starts: Vec<usize> = words.iter().copied().take(3).collect();
    if words
        .iter()
        .all(|&i| i > 0 && head[i - 1].starts_with('-') && !head[i - 1].contains('='))
    {
        starts.push(head.len());
    }
    let quoted = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let mut out = Vec::new();
    for k in starts {
        let command = head[k..].join(" ");
        for a in &args {
            if command.is_empty() {
                out.push(a.clone());
                continue;
            }
            let mut job = command.clone();
            let mut placed = false;
            for r in &repls {
                if job.contains(r) {
                    job = job.replace(r, &quoted(a));
                    placed = true;
                }
            }
            // `{.}`, `{/}`, `{//}`, `{/.}`, `{1}`, `{2.}` …: the argument or a part of it.
            let mut from = 0;
            while let Some(at) = job[from..].find('{').map(|i| from + i) {
                let Some(len) = job[at + 1..].find('}') else {
                    break;
                };
                let inner = &job[at + 1..at + 1 + len];
                if inner
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'/'))
                {
                    let q = quoted(a);
                    job.replace_range(at..at + len + 2, &q);
                    from = at + q.len();
                    placed = true;
                } else {
                    from = at + 1;
                }
            }
            if !placed {
                job = format!("{job} {}", quoted(a));
            }
            out.push(job);
        }
    }
    out
}

/// A shell line that writes `path` (`: > 'path'`), for the redirection rules.
fn written(path: &str) -> String {
    format!(": > '{}'", path.replace('\'', r"'\''"))
}

/// The makefiles `make ARGS` reads: those `-f`, `--file` or `--makefile` name, or else
/// `GNUmakefile`, `makefile` and `Makefile` in the directory `-C` names (each `-C` relative
/// to the one before).
pub(crate) fn makefiles(argv: &[Arg]) -> Vec<String> {
    let texts: Vec<&str> = argv.iter().skip(1).map(|a| a.text.as_str()).collect();
    let named = option_values(&texts, &["-f"], &["--file", "--makefile"]);
    if !named.is_empty() {
        return named.into_iter().map(str::to_string).collect();
    }
    let dir = option_values(&texts, &["-C"], &["--directory"]).join("/");
    ["GNUmakefile", "makefile", "Makefile"]
        .iter()
        .map(|f| {
            if dir.is_empty() {
                f.to_string()
            } else {
                format!("{dir}/{f}")
            }
        })
        .collect()
}

/// The shell lines of a makefile's recipes: lines after a tab, and after the `;` of a rule
/// line (`x: ; cmd`), without the `@`, `-`, `+` prefixes, `$$` read as the `$` make passes
/// on.
pub(crate) fn recipe_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| match l.strip_prefix('\t') {
            Some(recipe) => Some(recipe),
            None => l
                .split_once(';')
                .filter(|(rule, _)| rule.contains(':'))
                .map(|(_, recipe)| recipe),
        })
        .map(|l| {
            l.trim_start()
                .trim_start_matches(['@', '-', '+'])
                .replace("$$", "$")
        })
        .collect()
}

/// Values of options among `short` (`-c X`, `-cX`; a bundle ending in the letter) and
/// `long` (`--x=V`, `--x V`).
pub(crate) fn option_values<'a>(texts: &[&'a str], short: &[&str], long: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let next = texts.get(i + 1).copied();
        for s in short {
            if t == s {
                out.extend(next);
            } else if let Some(v) = t.strip_prefix(s).filter(|v| !v.is_empty()) {
                if s.len() == 2 {
                    out.push(v);
                }
            } else if s.len() == 2
                && t.starts_with('-')
                && !t.starts_with("--")
                && t.ends_with(&s[1..])
                && t[1..t.len() - 1].bytes().all(|b| b.is_ascii_alphabetic())
            {
                // `script -qc CMD`.
                out.extend(next);
            }
        }
        for l in long {
            if t == l {
                out.extend(next);
            } else if let Some(v) = t.strip_prefix(l).and_then(|r| r.strip_prefix('=')) {
                out.push(v);
            }
        }
    }
    out
}

/// `e CMD`, `1e CMD`, `$e CMD`, `s/x/CMD/e` of a sed script: the commands sed runs.
fn sed_commands(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cmd in script.split(['\n', ';']) {
        let cmd = cmd
            .trim_start()
            .trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '$' | ',' | ' '));
        if let Some(rest) = cmd.strip_prefix('e') {
            if rest.is_empty() || rest.starts_with(' ') {
                out.push(rest.trim().to_string());
                continue;
            }
        }
        let Some(rest) = cmd.strip_prefix('s') else {
            continue;
        };
        let Some(d) = rest
            .chars()
            .next()
            .filter(|d| !d.is_alphanumeric() && *d != '\\')
        else {
            continue;
        };
        let parts = split_unescaped(&rest[d.len_utf8()..], d);
        if let [_, repl, flags] = parts.as_slice() {
            if flags.contains('e') {
                out.push(repl.replace(&format!("\\{d}"), &d.to_string()));
            }
        }
    }
    out
}

/// `a/b\/c/d` split on unescaped `d`.
fn split_unescaped(s: &str, d: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let last = out.last_mut().expect("non-empty");
            last.push(c);
            last.extend(chars.next());
        } else if c == d {
            out.push(String::new());
        } else {
            out.last_mut().expect("non-empty").push(c);
        }
    }
    out
}

fn strip_quotes(s: &str) -> String {
    s.trim_end_matches(')')
        .trim_matches(['\'', '"'])
        .to_string()
}

/// The quoted strings right after `op` (`> "/dev/sda"`, `>"x"`).
fn quoted_after(text: &str, op: &str) -> Vec<String> {
    text.match_indices(op)
        .filter_map(|(i, _)| {
            let rest = text[i + op.len()..].trim_start_matches(['>', ' ']);
            let q = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
            let body = &rest[1..];
            body.find(q).map(|e| body[..e].to_string())
        })
        .collect()
}

/// Paths interpreter code opens for writing: Python/Ruby `open('P', 'w…')` (`a`, `r+`,
/// `File.open`, `File.write('P'`), Perl `open(F, ">P")` and `open F, '>', 'P'`.
fn opened_for_writing(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("open") {
        let args = code[i + 4..].trim_start_matches(['(', ' ']);
        let lits = literals(args, 3);
        match lits.as_slice() {
            // Perl: open F, ">/dev/sda" / open(F, '>', '/dev/sda').
            [mode, path, ..] if matches!(mode.as_str(), ">" | ">>" | "+<" | "+>") => {
                out.push(path.clone())
            }
            [one, ..] if one.starts_with(['>', '+']) => {
                out.push(one.trim_start_matches(['>', '+', '<', ' ']).to_string())
            }
            [path, mode, ..] if mode.contains(['w', 'a', '+']) => out.push(path.clone()),
            _ => {}
        }
    }
    for (i, _) in code.match_indices("write(") {
        out.extend(
            literals(&code[i + 6..], 1)
                .into_iter()
                .filter(|p| p.starts_with('/')),
        );
    }
    out.retain(|p| p.starts_with('/'));
    out
}

/// Up to `n` quoted literals at the start of a call's argument list, up to its `)` or `;`.
fn literals(args: &str, n: usize) -> Vec<String> {
    let end = args.find([')', ';', '\n']).unwrap_or(args.len());
    let mut out = Vec::new();
    let mut rest = &args[..end];
    while out.len() < n {
        let Some(start) = rest.find(['"', '\'']) else {
            break;
        };
        let q = rest.as_bytes()[start] as char;
        let body = &rest[start + 1..];
        let Some(e) = body.find(q) else { break };
        out.push(body[..e].to_string());
        rest = &body[e + 1..];
    }
    out
}

/// Interpreter code that forks in an endless loop (`fork while fork`, `loop { fork }`,
/// `while True: os.fork()`) or signals every process (`kill 9, -1`, `os.kill(-1, 9)`,
/// `process.kill(-1)`): the fork-bomb and kill-all rules in another language.
pub(crate) fn code_forks_or_kills_all(lang: &str, code: &str) -> Option<Hit> {
    const ENDLESS: &[&str] = &[
        "while fork",
        "while 1",
        "while(1)",
        "while (1)",
        "while True",
        "while true",
        "while(true)",
        "while (true)",
        "loop {",
        "loop do",
        "iter(int,1)",
        "iter(int, 1)",
        "for(;;)",
        "for (;;)",
        "until 0",
        "itertools.count",
    ];
    if code.contains("fork") && ENDLESS.iter().any(|e| code.contains(e)) {
        return Some(blocklist::hit_of(
            "default:fork-bomb",
            &format!("this is a fork bomb: {lang} code forks in an endless loop"),
        ));
    }
    // `kill(…, -1)`, `kill 9, -1`, `kill(-1, 9)`: a pid of -1 among the call's arguments.
    let kills_all = code.match_indices("kill").any(|(i, _)| {
        let args = code[i + 4..].trim_start_matches(['(', ' ']);
        let end = args.find([')', ';', '\n']).unwrap_or(args.len());
        args[..end]
            .split(',')
            .any(|a| a.trim().trim_start_matches('(').trim() == "-1")
    });
    kills_all.then(|| {
        blocklist::hit_of(
            "default:kill-all",
            &format!("{lang} code signalling every process (pid -1)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &[&str]) -> Vec<String> {
        let argv: Vec<Arg> = line.iter().map(|t| Arg::lit(*t)).collect();
        shell_texts(&argv, &[])
    }

    #[test]
    fn commands_programs_hand_to_a_shell() {
        assert_eq!(texts(&["sed", "1e rm -rf /", "f"]), ["rm -rf /"]);
        assert_eq!(texts(&["sed", r"s/x/rm -rf \//e"]), ["rm -rf /"]);
        assert!(texts(&["sed", "s/e/E/g"]).is_empty());
        assert_eq!(texts(&["vim", "-c", ":!reboot", "-c", "q"]), ["reboot"]);
        assert_eq!(texts(&["git", "-c", "alias.x=!reboot", "x"]), ["reboot"]);
        assert!(texts(&["git", "-c", "color.ui=never", "log"]).is_empty());
        assert_eq!(texts(&["script", "-qc", "reboot", "/dev/null"]), ["reboot"]);
        assert_eq!(
            texts(&["python3", "-c", "open('/dev/sda','wb').write(b'0')"]),
            [": > '/dev/sda'"]
        );
        assert!(texts(&["python3", "-c", "open('/dev/sda').read()"]).is_empty());
    }

    #[test]
    fn makefiles_make_reads() {
        let files = |line: &[&str]| {
            let argv: Vec<Arg> = line.iter().map(|t| Arg::lit(*t)).collect();
            makefiles(&argv)
        };
        assert_eq!(files(&["make", "-f", "a", "all"]), ["a"]);
        assert_eq!(files(&["make", "-fa"]), ["a"]);
        assert_eq!(files(&["make", "--file=a", "--makefile", "b"]), ["a", "b"]);
        assert_eq!(files(&["make"]), ["GNUmakefile", "makefile", "Makefile"]);
        assert_eq!(
            files(&["make", "-C", "d", "-C", "e", "test"]),
            ["d/e/GNUmakefile", "d/e/makefile", "d/e/Makefile"]
        );
    }

    #[test]
    fn recipe_lines_are_shell_text() {
        let text = "X := 1\nall: dep\n\t@echo $$HOME\n\t-+rm -f x\ndep: ; touch dep\n";
        assert_eq!(recipe_lines(text), ["echo $HOME", "rm -f x", "touch dep"]);
        assert!(recipe_lines("all: dep\nX = a;b\n").is_empty());
    }
}
