//! Download-and-execute (`default:download-exec`): content the line fetches from the
//! network and then runs as code, through a pipe (`curl … | sh`), a substitution or a
//! process substitution (`sh <(curl …)`, `sh < <(curl …)`, `$(curl …)`), or a file it saved
//! (`curl -O …/a.sh && sh a.sh`, `curl … > a; sh < a`). Data handed to a program is not
//! code: `curl … | python3 -m json.tool`, `curl … -o data.json && python3 parse.py
//! data.json`, `curl … | bash -n` (syntax check only) are fine. An archive the line
//! downloads and unpacks, and a repository it clones, are downloaded code too: a script or
//! program run from where they went (`curl … | tar -xz && ./bin/tool`, `git clone URL x &&
//! sh x/install.sh`) is refused; reading them (`ls x`), building them (`make -C x`, `cargo
//! build`, `./configure`, `./gradlew`) and running what the build made (`./target/release/x`,
//! or anything once a build tool ran: it ran the download's code already) are not.

use super::blocklist::{self, Hit};
use super::parse::{RedirKind, Script, SimpleCommand, Word};
use super::rules::{basename, Arg};
use super::{
    args_of, pipes, runners, runs_downloader, saved_files, stdin_is_code, values, vectors,
    MAX_UNWRAP,
};

fn refused() -> Option<Hit> {
    Some((
        "default:download-exec",
        "running downloaded content as code (curl … | sh) is blocked by the default blocklist (rule default:download-exec)".into(),
    ))
}

/// The first download-and-execute of the line.
pub(crate) fn download_exec(script: &Script) -> Option<Hit> {
    let downloads = downloads(script);
    if downloads.is_empty() {
        if script
            .commands
            .iter()
            .any(|c| fetches_and_evaluates(&args_of(c)))
        {
            return refused();
        }
        return unpacked_then_run(script, &[], &[]);
    }
    let from_download = |w: &Word| downloads.iter().any(|d| w.subs.contains(d));
    for c in &script.commands {
        let argv = args_of(c);
        if argv.is_empty() {
            continue;
        }
        let piped = piped_from(script, c, &downloads);
        if runs_as_code(script, c, &argv, piped, &from_download) || fetches_and_evaluates(&argv) {
            return refused();
        }
    }
    // curl -o x.sh URL && sh x.sh, curl -O …/a.sh; bash a.sh, wget -O run URL; ./run
    let mut saved: Vec<String> = downloads
        .iter()
        .flat_map(|&d| saved_files(&script.commands[d]))
        .collect();
    for &d in &downloads {
        saved.extend(named_after_url(&script.commands[d]));
        saved.extend(bundled_output(&script.commands[d]));
        saved.extend(copied_here(&script.commands[d]));
    }
    saved.extend(teed_files(script, &downloads));
    let same = |t: &str| {
        let t = t.trim_start_matches("./");
        saved.iter().any(|f| f == t)
    };
    if !saved.is_empty() && runs_from(script, &same) {
        return refused();
    }
    unpacked_then_run(script, &downloads, &saved)
}

/// True when a command of the line runs a file `names` marks: as a script or a program
/// (`sh F`, `./F`, `sudo F`) or as the code a shell reads (`sh < F`).
fn runs_from(script: &Script, names: &dyn Fn(&str) -> bool) -> bool {
    script.commands.iter().any(|c| {
        let argv = args_of(c);
        let from_file = c
            .redirects
            .iter()
            .any(|r| r.kind == RedirKind::Input && !r.here && names(&r.target.text))
            && reads_code(&argv, true, 0);
        !argv.is_empty() && (from_file || runs_file(&argv, names, 0))
    })
}

/// `curl … | tar -xz && ./bin/tool`, `git clone URL x && sh x/install.sh`: a file run
/// from a directory the line unpacked a download into or cloned a repository into
/// ([`unpacked_into`]). Only explicit runs count: building there (`make`, `cargo build`)
/// is not refused, as a download saved and built is not ([`runs_file`]).
fn unpacked_then_run(script: &Script, downloads: &[usize], saved: &[String]) -> Option<Hit> {
    let mut dirs: Vec<String> = script
        .commands
        .iter()
        .flat_map(|c| unpacked_into(script, c, downloads, saved))
        .collect();
    // A line that builds (`make && ./r`, `go build -o bin/r . && ./bin/r`, `cmake .. && make
    // && ./r`) already runs the download's code through the build tool, which is not
    // refused; running what it made, or another of its files, is no worse.
    if dirs.is_empty() || script.commands.iter().any(runs_build_tool) {
        return None;
    }
    // `git clone URL x && cd x && ./install.sh`: relative paths after a cd into one of
    // them are inside it too.
    let cds_into = script.commands.iter().any(|c| {
        let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
        matches!(words.as_slice(), ["cd" | "pushd", d] if dirs.iter().any(|u| within(u, d)))
    });
    if cds_into {
        dirs.push(".".into());
    }
    let inside = |t: &str| dirs.iter().any(|d| within(d, t) && !builds(d, t));
    runs_from(script, &inside).then(refused).flatten()
}

/// `make`, `cargo build`, `go build`, `npm install` …: a program that builds a source tree
/// by running the code in it.
fn runs_build_tool(c: &SimpleCommand) -> bool {
    const BUILD_TOOLS: [&str; 22] = [
        "make", "gmake", "cmake", "ninja", "meson", "cargo", "go", "gradle", "mvn", "ant", "npm",
        "yarn", "pnpm", "bun", "pip", "pip3", "bazel", "dotnet", "swift", "mix", "stack", "cabal",
    ];
    c.words
        .first()
        .is_some_and(|w| w.is_static() && BUILD_TOOLS.contains(&basename(&w.text)))
}

/// Whether `t`, inside the download's directory `dir`, is a source tree's build entry point
/// (`./configure`, `./gradlew`, `python3 setup.py`), or what a build put in its output
/// directory (`./target/release/tool`, `build/app`): running
/// them builds the download, or runs what was built from it, as `make` or `cargo build`
/// there does, which is not refused. A script or program shipped to be run as it is
/// (`./install.sh`, `./bin/tool`) is.
fn builds(dir: &str, t: &str) -> bool {
    const ENTRY_POINTS: [&str; 7] = [
        "configure",
        "autogen.sh",
        "bootstrap",
        "bootstrap.sh",
        "gradlew",
        "mvnw",
        "setup.py",
    ];
    const OUTPUT_DIRS: [&str; 8] = [
        "target",
        "build",
        "_build",
        ".build",
        "dist",
        "out",
        "bazel-bin",
        "node_modules",
    ];
    // The parts of `t` below `dir` (which [`within`] found it in).
    let parts = blocklist::path_parts(t);
    let skip = if dir == "." {
        0
    } else {
        blocklist::path_parts(dir).len()
    };
    let Some((name, dirs)) = parts.get(skip..).and_then(|p| p.split_last()) else {
        return false;
    };
    ENTRY_POINTS.contains(name) || dirs.iter().any(|d| OUTPUT_DIRS.contains(d))
}

/// True when the path `t` names something in directory `dir` ("." for the directory the
/// line starts in: any relative path).
fn within(dir: &str, t: &str) -> bool {
    if t.is_empty() || t.starts_with(['~', '$']) {
        return false;
    }
    if dir == "." {
        return !t.starts_with('/');
    }
    dir.starts_with('/') == t.starts_with('/')
        && blocklist::path_parts(t).starts_with(&blocklist::path_parts(dir))
}

/// Where `c` puts downloaded files it unpacks or clones: `tar -x` of what a download pipes
/// to it or of a file the line `saved` (into `-C DIR`, else the directory it runs in),
/// `unzip SAVED [-d DIR]`, `git clone URL [DIR]` (DIR defaults to the repository's name).
fn unpacked_into(
    script: &Script,
    c: &SimpleCommand,
    downloads: &[usize],
    saved: &[String],
) -> Vec<String> {
    let unpacks = c.words.first().is_some_and(|p| {
        matches!(
            basename(&p.text),
            "tar" | "bsdtar" | "gtar" | "unzip" | "git"
        )
    });
    if !unpacks {
        return Vec::new();
    }
    let texts: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    let Some((p, args)) = texts.split_first() else {
        return Vec::new();
    };
    let archive = || {
        piped_from(script, c, downloads)
            || args
                .iter()
                .any(|a| saved.iter().any(|f| f == a.trim_start_matches("./")))
    };
    let into = |short: &str, long: &[&str]| {
        let dir = runners::option_values(args, &[short], long)
            .last()
            .map_or(".".to_string(), |d| d.to_string());
        vec![dir]
    };
    match basename(p) {
        "tar" | "bsdtar" | "gtar" if vectors::tar_extracts(args) && archive() => {
            into("-C", &["--directory"])
        }
        "unzip" if archive() => into("-d", &[]),
        "git" => cloned_into(args).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// The directory `git clone [OPTIONS] URL [DIR]` makes: DIR, or the last part of the URL
/// without `.git`.
fn cloned_into(args: &[&str]) -> Option<String> {
    // git's own options before the subcommand (`git -c k=v clone`, `git -C dir clone`).
    let clone = vectors::git_sub_index(args)?;
    if args[clone] != "clone" {
        return None;
    }
    let base = args[..clone]
        .windows(2)
        .filter(|w| w[0] == "-C")
        .map(|w| w[1])
        .next_back();
    const VALUED: &[&str] = &[
        "-b",
        "--branch",
        "-o",
        "--origin",
        "-c",
        "--config",
        "--depth",
        "--reference",
        "--reference-if-able",
        "-j",
        "--jobs",
        "-u",
        "--upload-pack",
        "--template",
        "--separate-git-dir",
        "--shallow-since",
        "--shallow-exclude",
        "--filter",
        "--bundle-uri",
        "--server-option",
    ];
    let mut operands = Vec::new();
    let mut rest = args[clone + 1..].iter();
    while let Some(a) = rest.next() {
        if *a == "--" {
            operands.extend(rest.by_ref());
        } else if VALUED.contains(a) {
            rest.next();
        } else if !a.starts_with('-') {
            operands.push(a);
        }
    }
    let dir = match operands.as_slice() {
        [_, dir, ..] => dir.to_string(),
        [url] => {
            let name = url.trim_end_matches('/').rsplit(['/', ':']).next()?;
            name.strip_suffix(".git").unwrap_or(name).to_string()
        }
        [] => return None,
    };
    match base {
        _ if dir.is_empty() => None,
        Some(b) if !dir.starts_with('/') => Some(format!("{b}/{dir}")),
        _ => Some(dir),
    }
}

/// Code the line decodes and runs (`default:hidden-code`): what `base64 -d`, `xxd -r`,
/// `gunzip`, `openssl enc -d`, `rev` or `tr` make of input the line does not show, piped
/// into a shell or an interpreter (`base64 -d x.b64 | sh`), fed to it (`sh < <(zcat x.gz)`),
/// substituted into code (`bash -c "$(base64 -d x)"`, `eval "$(…)"`) or run as the command
/// (`$(base64 -d x)`). The blocklist cannot read such code; literal input is decoded and
/// read instead ([`pipes`]).
pub(crate) fn hidden_exec(script: &Script) -> Option<Hit> {
    if !script.commands.iter().any(pipes::may_hide) {
        return None;
    }
    for c in &script.commands {
        let argv = args_of(c);
        if argv.is_empty() {
            continue;
        }
        // `gunzip -c dump.sql.gz | psql db`: a database client restoring a compressed dump
        // reads no more hidden code than `psql db < dump.sql` does; only text decoded on
        // the way (`base64 -d`, `xxd -r`) is hidden from it.
        let restore = sql_client(&argv, 0);
        let hides = |f: pipes::Flow| f.hidden && (f.decoded || !restore);
        let hidden = |w: &Word| {
            !w.subs.is_empty() && hides(pipes::substitution_output(script, w.subs.clone()))
        };
        let piped = c
            .stages
            .iter()
            .any(|&(p, j)| j > 0 && hides(pipes::pipe_input(script, p, j)));
        if runs_as_code(script, c, &argv, piped, &hidden) {
            return Some((
                "default:hidden-code",
                "running code the line decodes from input it does not show (base64 -d FILE | sh, zcat x.gz | bash, eval \"$(xxd -r …)\"): the default blocklist cannot read it; decode it in one call, read it, then run it (rule default:hidden-code)".into(),
            ));
        }
    }
    None
}

/// A database client (`psql`, `mysql`, `mariadb`, `sqlite3`), also run through a wrapper
/// (`sudo -u postgres psql`): what it reads is SQL, the form dumps are restored in.
fn sql_client(argv: &[Arg], depth: usize) -> bool {
    let Some(p) = argv.first() else { return false };
    matches!(basename(&p.text), "psql" | "mysql" | "mariadb" | "sqlite3")
        || depth < MAX_UNWRAP
            && vectors::analyse(argv, false).into_iter().any(|f| match f {
                vectors::Finding::Wrap { argv, .. } => sql_client(&argv, depth + 1),
                _ => false,
            })
}

/// True when what `from` marks reaches `c` as code: a substitution as the command
/// (`$(curl …)`, its output split into words and run), piped (`piped`) or fed
/// (`sh < <(curl …)`, `bash <<< "$(curl …)"`) into a program that runs its input, or
/// substituted into the words of one that runs code (`bash -c "$(…)"`, `eval "$(…)"`).
pub(super) fn runs_as_code(
    script: &Script,
    c: &SimpleCommand,
    argv: &[Arg],
    piped: bool,
    from: &dyn Fn(&Word) -> bool,
) -> bool {
    let fed = c
        .redirects
        .iter()
        .any(|r| r.kind == RedirKind::Input && from(&r.target));
    from(&c.words[0])
        || ((piped || fed) && (reads_code(argv, stdin_is_code(c), 0) || calls_runner(script, c)))
        || (c.words[1..].iter().any(from) && super::runs_code(argv, stdin_is_code(c), 0))
}

/// The commands that fetch: downloaders (also named through a variable of the line, as
/// in `c=curl; $c …`), network clients whose output is the peer's (`nc`, `socat`,
/// `openssl s_client`, `ssh HOST cmd`), `< /dev/tcp/…`, and calls of a function whose body
/// fetches.
fn downloads(script: &Script) -> Vec<usize> {
    let fetches = |c: &SimpleCommand| {
        let argv = args_of(c);
        runs_downloader(&argv, 0)
            || network_client(&argv)
            || c.redirects.iter().any(|r| {
                r.kind == RedirKind::Input
                    && matches!(
                        blocklist::path_parts(&r.target.text).as_slice(),
                        ["dev", "tcp" | "udp", ..]
                    )
            })
            || values::readings(script, c, &argv)
                .iter()
                .any(|v| runs_downloader(v, 0) || network_client(v))
    };
    let mut out: Vec<usize> = Vec::new();
    let mut fetching_functions = Vec::new();
    for (i, c) in script.commands.iter().enumerate() {
        if fetches(c) {
            out.push(i);
            fetching_functions.extend(c.function);
        }
    }
    for (i, c) in script.commands.iter().enumerate() {
        let calls = c.words.first().is_some_and(|w| {
            fetching_functions
                .iter()
                .any(|&f| script.functions.get(f).is_some_and(|f| f.name == w.text))
        });
        if calls && !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// `nc HOST PORT`, `ncat`, `socat - TCP:…`, `openssl s_client -connect …`, `ssh HOST cmd`:
/// what they print is what the other end sends.
fn network_client(argv: &[Arg]) -> bool {
    let Some(p) = argv.first() else { return false };
    match basename(&p.text) {
        "nc" | "ncat" | "netcat" | "socat" | "telnet" => true,
        "openssl" => argv.iter().any(|a| a.text == "s_client"),
        "ssh" => argv.len() > 2,
        "scp" => argv.iter().skip(1).any(|a| a.text.contains(':')),
        _ => false,
    }
}

/// A call of a function of the line whose body runs code from its input
/// (`f(){ sh; }; curl … | f`).
fn calls_runner(script: &Script, c: &SimpleCommand) -> bool {
    let Some(name) = c.words.first() else {
        return false;
    };
    let Some(f) = script.functions.iter().position(|f| f.name == name.text) else {
        return false;
    };
    script.commands.iter().any(|b| {
        b.function == Some(f)
            && !b.stdin_heredoc
            && !b.stages.iter().any(|&(_, k)| k > 0)
            && reads_code(&args_of(b), true, 0)
    })
}

/// A shell (`sh` and its kin), as opposed to the other interpreters.
pub(super) fn is_shell(p: &Arg) -> bool {
    vectors::stdin_language(std::slice::from_ref(p)) == Some("sh")
}

/// `bash -n`, `sh -o noexec`: reads the script but runs nothing.
fn noexec(args: &[Arg]) -> bool {
    let mut it = args.iter().map(|a| a.text.as_str());
    while let Some(t) = it.next() {
        if t == "--" || !t.starts_with(['-', '+']) || t.len() < 2 {
            return false;
        }
        if t.starts_with("--") {
            if t == "--noexec" {
                return true;
            }
            continue;
        }
        if t[1..].contains('n') && t.starts_with('-') {
            return true;
        }
        if t[1..].contains('o') && it.next() == Some("noexec") {
            return true;
        }
    }
    false
}

/// Code in an interpreter's `-c`/`-e` that may run what it reads (`exec(sys.stdin.read())`,
/// `eval`, `system`): the input is then code, not data.
fn may_run_input(code: &str) -> bool {
    const RUNS: &[&str] = &[
        "exec",
        "eval",
        "system",
        "popen",
        "subprocess",
        "spawn",
        "source",
        "compile",
        "Function",
        "child_process",
        "runpy",
        "`",
        "vm.",
    ];
    RUNS.iter().any(|r| code.contains(r))
}

/// True when the program runs code it reads on its input (`sh`, `python3 -`, `perl`,
/// `awk '{system($0)}'`, `sed e`), as opposed to reading data there (`python3 -m json.tool`,
/// `perl -ne 'print if /x/'`, `bash -n`).
pub(super) fn reads_code(argv: &[Arg], stdin_code: bool, depth: usize) -> bool {
    let Some(p) = argv.first() else { return false };
    if let Some(lang) = vectors::stdin_language(argv) {
        return !(lang == "sh" && noexec(&argv[1..]));
    }
    if let Some((_, codes)) = vectors::inline_code(argv) {
        return codes.iter().any(|c| may_run_input(c));
    }
    if is_shell(p) {
        // `sh -c '…'` may hand its input to a shell; `sh script.sh` runs a local file.
        return !noexec(&argv[1..])
            && argv[1..]
                .iter()
                .take_while(|a| a.text.starts_with('-'))
                .any(|a| !a.text.starts_with("--") && a.text.contains('c'));
    }
    if vectors::runs_files(basename(&p.text)) && !matches!(basename(&p.text), "sudo" | "exec") {
        return false;
    }
    if runs_its_lines(argv) {
        return true;
    }
    depth < MAX_UNWRAP
        && vectors::analyse(argv, stdin_code)
            .into_iter()
            .any(|f| match f {
                vectors::Finding::Code { .. } => true,
                vectors::Finding::Wrap { argv, .. } => reads_code(&argv, stdin_code, depth + 1),
                _ => false,
            })
}

/// The file a shell or an interpreter runs as its script (not `-c` code, not a module,
/// not with `-n`), and a program run by its path; through wrappers (`sudo sh a.sh`).
pub(super) fn runs_file(argv: &[Arg], same: &dyn Fn(&str) -> bool, depth: usize) -> bool {
    let Some(p) = argv.first() else { return false };
    if p.text.contains('/') && same(&p.text) {
        return true;
    }
    let args = &argv[1..];
    let name = basename(&p.text);
    if matches!(name, "source" | ".") {
        return args.first().is_some_and(|a| same(&a.text));
    }
    if is_shell(p) {
        let mut i = 0;
        while let Some(t) = args.get(i).map(|a| a.text.as_str()) {
            if t == "--" {
                i += 1;
                break;
            }
            if !t.starts_with(['-', '+']) || t.len() < 2 {
                break;
            }
            if !t.starts_with("--") && t[1..].contains(['c', 'n', 's']) {
                return false;
            }
            i += if !t.starts_with("--") && t[1..].contains(['o', 'O']) {
                2
            } else {
                1
            };
        }
        return args.get(i).is_some_and(|a| same(&a.text));
    }
    // `at -f FILE now`, `batch -f FILE`: the job is the file's text, run by sh.
    if matches!(name, "at" | "batch") {
        let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        return super::runners::option_values(&texts, &["-f"], &[])
            .iter()
            .any(|f| same(f));
    }
    if vectors::runs_files(name) && !matches!(name, "sudo" | "exec") {
        if vectors::inline_code(argv).is_some() || args.iter().any(|a| a.text.starts_with("-m")) {
            return false;
        }
        return args
            .iter()
            .find(|a| !a.text.starts_with('-'))
            .is_some_and(|a| same(&a.text));
    }
    depth < MAX_UNWRAP
        && vectors::analyse(argv, false).into_iter().any(|f| match f {
            vectors::Finding::Wrap { argv, .. } => runs_file(&argv, same, depth + 1),
            _ => false,
        })
}

/// `curl -O …/a.sh`, `curl -fsSLO …`, `wget …/a.sh`: the file is named after the URL.
fn named_after_url(c: &SimpleCommand) -> Vec<String> {
    let texts: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    let Some((p, args)) = texts.split_first() else {
        return Vec::new();
    };
    let urls = args
        .iter()
        .filter(|a| a.contains("://") || a.contains('.') && !a.starts_with('-'));
    let remote_name = match basename(p) {
        "curl" => args.iter().any(|a| {
            *a == "--remote-name"
                || *a == "--remote-name-all"
                || (a.starts_with('-') && !a.starts_with("--") && a.contains('O'))
        }),
        // wget saves under the URL's name unless -O names the file.
        "wget" | "wget2" => !args.iter().any(|a| {
            a.starts_with("--output-document")
                || a.starts_with('-') && !a.starts_with("--") && a.contains('O')
        }),
        _ => false,
    };
    if !remote_name {
        return Vec::new();
    }
    urls.filter_map(|u| {
        let path = u.split(['?', '#']).next().unwrap_or(u);
        let name = path.rsplit('/').next().unwrap_or(path);
        (!name.is_empty()).then(|| name.to_string())
    })
    .collect()
}

/// `curl … | tee a.sh`: files a later pipeline stage copies the download into.
fn teed_files(script: &Script, downloads: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    for c in &script.commands {
        let argv = args_of(c);
        if argv.first().is_none_or(|p| basename(&p.text) != "tee") {
            continue;
        }
        let after = piped_from(script, c, downloads);
        if after {
            out.extend(
                argv[1..]
                    .iter()
                    .filter(|a| !a.text.starts_with('-'))
                    .map(|a| a.text.trim_start_matches("./").to_string()),
            );
        }
    }
    out
}

/// `awk '{system($0)}'`, `awk '{print | "sh"}'`, `sed e`, `sed 's/^/x/e'`: line editors
/// that run what they read as commands.
fn runs_its_lines(argv: &[Arg]) -> bool {
    let Some(p) = argv.first() else { return false };
    let programs = argv[1..].iter().map(|a| a.text.as_str());
    match basename(&p.text) {
        "awk" | "gawk" | "mawk" | "nawk" => programs
            .filter(|t| !t.starts_with('-'))
            .any(|t| t.contains("system") || t.contains('|')),
        "sed" | "gsed" => programs.filter(|t| !t.starts_with('-')).any(|t| {
            t.split([';', '\n']).any(|cmd| {
                let cmd =
                    cmd.trim_start_matches(|c: char| c.is_ascii_digit() || c == '$' || c == ' ');
                cmd == "e" || cmd.starts_with("e ") || (cmd.starts_with('s') && cmd.ends_with('e'))
            })
        }),
        _ => false,
    }
}

/// `curl -so FILE`, `curl -fsSLo FILE`, `wget -qO FILE`: the output option at the end of
/// a bundle of short options takes the next word.
fn bundled_output(c: &SimpleCommand) -> Vec<String> {
    let texts: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    texts
        .windows(2)
        .filter(|w| {
            w[0].len() > 2
                && w[0].starts_with('-')
                && !w[0].starts_with("--")
                && w[0].ends_with(['o', 'O'])
        })
        .map(|w| w[1].trim_start_matches("./").to_string())
        .filter(|f| f != "-")
        .collect()
}

/// `scp HOST:a.sh .`, `tftp HOST -c get a.sh`: the local file a copy from a host makes.
fn copied_here(c: &SimpleCommand) -> Vec<String> {
    let texts: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    let Some((p, args)) = texts.split_first() else {
        return Vec::new();
    };
    let operands: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    match basename(p) {
        "scp" => match operands.split_last() {
            Some((dest, sources)) if !dest.contains(':') => {
                let into_dir = matches!(*dest, "." | "./") || dest.ends_with('/');
                sources
                    .iter()
                    .filter(|s| s.contains(':'))
                    .map(|s| {
                        if into_dir {
                            let name = s.rsplit(['/', ':']).next().unwrap_or(s);
                            format!(
                                "{}{name}",
                                dest.trim_start_matches("./").trim_start_matches('.')
                            )
                        } else {
                            dest.trim_start_matches("./").to_string()
                        }
                    })
                    .collect()
            }
            _ => Vec::new(),
        },
        "tftp" => match args.iter().position(|a| *a == "get") {
            Some(i) => args[i + 1..]
                .last()
                .map(|f| vec![f.trim_start_matches("./").to_string()])
                .unwrap_or_default(),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Interpreter code that fetches a URL and evaluates what it got
/// (`exec(urlopen(…).read())`, `eval get "http://…"`, `eval(file_get_contents("http…"))`).
fn fetches_and_evaluates(argv: &[Arg]) -> bool {
    let Some((_, codes)) = vectors::inline_code(argv) else {
        return false;
    };
    const FETCH: &[&str] = &[
        "urlopen",
        "urllib",
        "requests.",
        "http.client",
        "LWP",
        "HTTP::Tiny",
        "open-uri",
        "URI.open",
        "Net::HTTP",
        "file_get_contents(\"http",
        "curl_exec",
        "fetch(",
        "http.get",
        "https.get",
        "get \"http",
        "get('http",
        "get(\"http",
    ];
    let options: Vec<&str> = argv[1..].iter().map(|a| a.text.as_str()).collect();
    let fetches = |code: &str| {
        FETCH.iter().any(|f| code.contains(f))
            || options.iter().any(|o| {
                o.starts_with("-MLWP") || o.starts_with("-ropen-uri") || o.contains("HTTP")
            })
    };
    codes.iter().any(|c| {
        fetches(c)
            && ["exec", "eval", "system", "Function", "load"]
                .iter()
                .any(|e| c.contains(e))
    })
}

/// `c` reads, through a pipe, what one of the `downloads` commands writes.
fn piped_from(script: &Script, c: &SimpleCommand, downloads: &[usize]) -> bool {
    c.stages.iter().any(|&(p, j)| {
        downloads.iter().any(|&d| {
            script.commands[d]
                .stages
                .iter()
                .any(|&(q, k)| q == p && k < j)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_within_an_unpacked_directory() {
        assert!(within(".", "bin/tool"));
        assert!(within(".", "./x/run.sh"));
        assert!(!within(".", "/usr/bin/env"));
        assert!(!within(".", "~/bin/x"));
        assert!(within("x", "x/install.sh"));
        assert!(within("x", "./x/./bin/../run"));
        assert!(!within("x", "x/../run.sh"));
        assert!(!within("x", "xy/run.sh"));
        assert!(within("/tmp/x", "/tmp//x/run.sh"));
        assert!(!within("/tmp/x", "tmp/x/run.sh"));
    }

    #[test]
    fn where_git_clone_puts_the_repository() {
        let dir = |line: &str| cloned_into(&line.split(' ').collect::<Vec<_>>());
        assert_eq!(dir("clone https://h/o/repo.git").as_deref(), Some("repo"));
        assert_eq!(dir("clone https://h/o/repo/").as_deref(), Some("repo"));
        assert_eq!(dir("clone git@h:tool.git").as_deref(), Some("tool"));
        assert_eq!(dir("clone --depth 1 -b main URL x").as_deref(), Some("x"));
        assert_eq!(dir("clone -- URL -x").as_deref(), Some("-x"));
        assert_eq!(dir("-c a=b -C /tmp clone URL/r").as_deref(), Some("/tmp/r"));
        assert_eq!(dir("-C /tmp clone URL /opt/r").as_deref(), Some("/opt/r"));
        assert_eq!(dir("log --grep clone"), None);
        assert_eq!(dir("clone"), None);
    }

    #[test]
    fn tar_modes_that_extract() {
        let x = |line: &str| vectors::tar_extracts(&line.split(' ').collect::<Vec<_>>());
        assert!(x("xzf a.tgz"));
        assert!(x("-xz"));
        assert!(x("--extract -f a.tar"));
        assert!(!x("tzf a.tgz"));
        assert!(!x("-czf a.tgz x"));
    }
}
