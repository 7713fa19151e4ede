//! The default blocklist: dangerous operations recognised on parsed, normalised argv.
//!
//! Rules look at what a simple command does, not at how it is spelled: quotes, escapes and
//! `$IFS` are already resolved by the parser, wrappers (`sudo`, `xargs`, `env` …) and code
//! strings (`sh -c '…'`, `eval`) are unwrapped by the engine before these rules see them,
//! flags are read the way getopt reads them (`-rf`, `-r -f`, `-fR`, `--recursive`, `--rec`),
//! and paths are normalised (`//`, `/./`, `/..`) and, after a `cd` or `pushd` of the line,
//! also read from the directory it changes to. Fork bombs and download-and-execute span
//! several commands, so they are checked on the parsed structure of the whole line, as is
//! a `cd` to the root or home directory (also one the line computes: `d=$HOME; cd $d`,
//! `cd "$(echo ~)"`) before a recursive rm of everything there. A deleting rsync of a
//! directory's contents onto the root or home (`rsync -a --delete /empty/ /`) is a
//! recursive rm of it.

use super::parse::{Loop, LoopKind, RedirKind, Script, SimpleCommand, Test, Word};
use super::rules::{basename, option_matches, Arg};

/// Rule ids and descriptions, for `list_blocked_commands`.
const RULES: &[(&str, &str)] = &[
    (
        "default:rm-root",
        "recursive rm of /, /*, ~ or $HOME (in any flag order or spelling)",
    ),
    (
        "default:mkfs",
        "mkfs*, mke2fs, mkdosfs, mkntfs, mkexfatfs, mkreiserfs, mkudffs, wipefs (formatting filesystems); bcachefs/integritysetup/veritysetup format, mformat, and image writers (mksquashfs, genisoimage, xorriso, partclone, ntfsclone, e2image) onto a device",
    ),
    (
        "default:dd-device",
        "dd (and sg_dd, ddrescue), shred, tee, cp, mv (also into /dev/ by the source's name), rsync --write-devices, blkdiscard or redirection onto a block device (any name under /dev except null, zero, random, the descriptors, terminals, serial lines, the console and /dev/shm files; names it does not know count as devices)",
    ),
    (
        "default:disk-tool",
        "partitioning, erasing or re-initialising a disk: mkswap, fdisk/sfdisk/cfdisk/gdisk/sgdisk/parted on a device (not their listing forms), cryptsetup luksFormat/erase/luksKillSlot/luksHeaderRestore, pvcreate/pvremove/vgcreate/vgremove/lvremove/lvreduce, mdadm --create/--build/--zero-superblock, hdparm --security-erase/--trim-sector-ranges, nvme format/sanitize, zpool create/destroy/labelclear, zfs destroy, zfs rollback (with or without -r/-R), badblocks -w, sg_format --format",
    ),
    (
        "default:power",
        "shutdown, reboot, halt, poweroff, init 0|6, telinit 0|6, a signal to pid 1 (kill -INT 1, kill -RTMIN+5 1), systemctl poweroff|reboot|halt|kexec|suspend|hibernate|rescue|emergency, systemctl start|isolate|set-default of reboot.target and the other power targets (runlevel0/1/6 too), init 1|S, kexec -e, rtcwake, pm-suspend, zzz, writes to /sys/power/state, logind PowerOff/Reboot/Suspend D-Bus calls",
    ),
    (
        "default:sysrq",
        "writing to /proc/sysrq-trigger (magic SysRq: reboots, crashes or powers off the host)",
    ),
    (
        "default:kill-all",
        "kill -9 -1 (every process), killall5, pkill/killall of a pattern matching everything, of a user, or inverted (-v), skill -u",
    ),
    (
        "default:chmod-root",
        "recursive chmod/chown/chgrp of /, /* or a top-level system directory (/etc, /usr, /var, /bin …)",
    ),
    (
        "default:fork-bomb",
        "fork bombs (a function that starts copies of itself, also through eval, a variable or $FUNCNAME; an endless loop, or a read loop fed by yes, tail -f or /dev/urandom, that starts background or detached jobs (setsid -f, coproc, sh -c '… &') and never waits or sleeps; xargs -P0 / parallel -j0 fed by input that never ends; a script the line writes that starts itself twice)",
    ),
    (
        "default:download-exec",
        "download-and-execute (curl … | sh, sh <(curl …), a downloaded file run; a file run from where the line unpacked a download or cloned a repository: curl … | tar -xz && ./bin/tool, git clone URL x && sh x/install.sh)",
    ),
    (
        "default:hidden-code",
        "running code decoded from input the line does not show (base64 -d FILE | sh, zcat x.gz | bash, eval \"$(openssl enc -d …)\"); decoded literal text is read like any other code",
    ),
];

/// Descriptions of the default rules.
pub fn describe() -> Vec<String> {
    RULES.iter().map(|(id, d)| format!("{id}: {d}")).collect()
}

/// A hit: rule id and reason.
pub type Hit = (&'static str, String);

fn hit(id: &'static str, why: &str) -> Option<Hit> {
    Some(hit_of(id, why))
}

/// A hit built outside this module (the engine's checks of interpreter code).
pub fn hit_of(id: &'static str, why: &str) -> Hit {
    (
        id,
        format!("{why}; blocked by the default blocklist (rule {id})"),
    )
}

/// Short-option letters and long options of an argv, read as getopt would (up to `--`).
struct Flags<'a> {
    short: String,
    long: Vec<&'a str>,
    operands: Vec<&'a str>,
}

fn flags(args: &[Arg]) -> Flags<'_> {
    let mut f = Flags {
        short: String::new(),
        long: Vec::new(),
        operands: Vec::new(),
    };
    let mut ended = false;
    for a in args {
        let t = a.text.as_str();
        if ended {
            f.operands.push(t);
        } else if t == "--" {
            ended = true;
        } else if let Some(l) = t.strip_prefix("--") {
            f.long.push(l);
        } else if t.starts_with('-') && t.len() > 1 {
            f.short.push_str(&t[1..]);
        } else {
            f.operands.push(t);
        }
    }
    f
}

impl Flags<'_> {
    fn has(&self, short: &str, long: &str) -> bool {
        self.short.contains(|c| short.contains(c))
            || self
                .long
                .iter()
                .any(|l| option_matches(&format!("--{long}"), &format!("--{l}")))
    }
}

/// True when a path names the root (or every entry of it), or the home directory.
pub fn is_root_target(t: &str) -> bool {
    is_root_target_n(t, 0)
}

/// `/{bin,etc}`, `/{,}`, `{/,x}`: the words of the first brace group.
fn brace_alternatives(t: &str) -> Option<Vec<String>> {
    let open = t.find('{')?;
    let mut depth = 0usize;
    let mut parts = Vec::new();
    let mut start = open + 1;
    for (i, c) in t[open..].char_indices().map(|(i, c)| (i + open, c)) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    parts.push(&t[start..i]);
                    // `{}` and `{x}` are literal text: brace expansion needs a comma.
                    if parts.len() < 2 {
                        return None;
                    }
                    let (pre, post) = (&t[..open], &t[i + 1..]);
                    return Some(parts.iter().map(|p| format!("{pre}{p}{post}")).collect());
                }
            }
            ',' if depth == 1 => {
                parts.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// An absolute path whose first component is a glob, a brace group or an expansion
/// (`/[a-z]*`, `/?*`, `/{bin,etc}`, `/$x`): it may name top-level directories.
fn root_level_pattern(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('/') else {
        return false;
    };
    let first = rest
        .split('/')
        .find(|c| !c.is_empty() && *c != ".")
        .unwrap_or("");
    first.contains(['*', '?', '[', '{', '$', '`'])
}

fn is_root_target_n(t: &str, depth: usize) -> bool {
    if depth < 4 {
        if let Some(alts) = brace_alternatives(t) {
            if alts.iter().any(|a| is_root_target_n(a, depth + 1)) {
                return true;
            }
        }
    }
    // `~user`, `~user/…`: another user's home directory.
    if let Some(rest) = t.strip_prefix('~') {
        let end = rest.find('/').unwrap_or(rest.len());
        let user = &rest[..end];
        if !user.is_empty()
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return normalise(&format!("/{}", &rest[end..]));
        }
    }
    if depth < 4 {
        if let Some(home) = home_expansion(t) {
            return is_root_target_n(&home, depth + 1);
        }
    }
    // `${x:-/}`, `${x-/}`, `${x:=/}`: the default when x is unset or empty; `${x:+/}`, what
    // it is when x is set.
    if let Some(body) = t.strip_prefix("${") {
        if let Some(close) = body.find('}') {
            let inner = &body[..close];
            let after = &body[close + 1..];
            for op in [":-", ":=", ":+", "-", "=", "+"] {
                if let Some((_, d)) = inner.split_once(op) {
                    let d = d.trim_matches('"');
                    if is_root_target_n(&format!("{d}{after}"), depth + 1) {
                        return true;
                    }
                    break;
                }
            }
        }
    }
    if root_level_pattern(t) {
        return true;
    }
    if home_part(t) {
        return true;
    }
    let mut t = t.to_string();
    for home in ["${HOME}", "$HOME", "\"$HOME\"", "${HOME:-}", "~"] {
        if let Some(rest) = t.strip_prefix(home) {
            if rest.is_empty() || rest.starts_with('/') {
                return normalise(&format!("/{rest}"));
            }
        }
    }
    // An unguarded expansion that may be empty: `$DIR/` or `$DIR/*` is `/` when DIR is unset,
    // `"$@"/` without arguments, `$(cmd)/` when cmd prints nothing.
    if let Some(rest) = empty_prefix(&t) {
        if rest.starts_with('/') && is_root_target_n(rest, depth + 1) {
            return true;
        }
    }
    if t.starts_with('$') && !t.contains(":?") {
        let end = if t.starts_with("${") {
            t.find('}').map(|i| i + 1)
        } else {
            Some(
                1 + t[1..]
                    .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                    .unwrap_or(t.len() - 1),
            )
        };
        if let Some(e) = end {
            let rest = &t[e..];
            if rest.starts_with('/') {
                t = rest.to_string();
            }
        }
    }
    t.starts_with('/') && (normalise(&t) || is_system_dir(&t))
}

/// `${HOME:?}`, `${HOME-x}`, `${HOME:=x}` … at the start of `t`: HOME is always set (the
/// server passes it on), so each is `$HOME` (and `${HOME:?}` never stops the shell), and
/// `${HOME:+x}` is `x`. `t` with that expansion so replaced.
fn home_expansion(t: &str) -> Option<String> {
    let body = t.strip_prefix("${HOME")?;
    let close = body.find('}')?;
    let (inner, after) = (&body[..close], &body[close + 1..]);
    [":?", ":-", ":=", ":+", "?", "-", "=", "+"]
        .iter()
        .find_map(|op| inner.strip_prefix(op).map(|word| (op, word)))
        .map(|(op, word)| match op.ends_with('+') {
            true => format!("{}{after}", word.trim_matches('"')),
            false => format!("$HOME{after}"),
        })
}

/// What follows a leading expansion that may be empty: a special parameter (`$@`, `$*`,
/// `$!`, `${@}`) or a command substitution (`$(…)`, `` `…` ``), whose output is only known
/// when it runs.
fn empty_prefix(t: &str) -> Option<&str> {
    for p in ["$@", "$*", "$!", "${@}", "${*}", "${!}"] {
        if let Some(rest) = t.strip_prefix(p) {
            return Some(rest);
        }
    }
    if let Some(body) = t.strip_prefix('`') {
        return body.find('`').map(|i| &body[i + 1..]);
    }
    let body = t.strip_prefix("$(")?;
    let mut depth = 1usize;
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[i + 1..]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The components of a path after lexical normalisation (`.` dropped, `..` pops). A
/// process's `/proc/<pid>/root` (`self`, `thread-self`) is the root directory it sees.
pub(crate) fn path_parts(p: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
        if let ["proc", who, "root"] = parts.as_slice() {
            if matches!(*who, "self" | "thread-self") || who.bytes().all(|b| b.is_ascii_digit()) {
                parts.clear();
            }
        }
    }
    parts
}

/// `/usr`, `/etc/`, `/var/*`: a top-level system directory, or everything in one. `/mnt`
/// and `/media` hold mounted volumes (an EFS volume under `/mnt` on ECS, a disk under
/// `/media`): everything in them is as much at stake as `/srv`.
fn is_system_dir(p: &str) -> bool {
    const DIRS: &[&str] = &[
        "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt",
        "opt", "proc", "root", "run", "sbin", "srv", "sys", "usr", "var", "snap",
    ];
    let parts = path_parts(p);
    match parts.as_slice() {
        [d] => DIRS.contains(d),
        [d, all] => DIRS.contains(d) && matches!(*all, "*" | ".*" | "{*,.*}" | "{}"),
        _ => false,
    }
}

/// Lexically normalises an absolute path; true when it is `/`, `/*` or `/.*` (or `/{}`,
/// every path find prints below the root, see [`found_paths`]).
fn normalise(p: &str) -> bool {
    let parts = path_parts(p);
    match parts.as_slice() {
        [] => true,
        [one] => matches!(*one, "*" | ".*" | "{*,.*}" | "{}"),
        _ => false,
    }
}

/// A write target that may be a disk: any path under `/dev` except the devices known to be
/// harmless to write (see [`harmless_device`]). Disks, partitions, volumes (`sda`,
/// `nvme0n1p1`, `mapper/x`, `disk/by-id/…`, `loop0`, `zd0`) and memory (`mem`, `kmem`,
/// `port`) are refused, and so is every name the list does not know (`/dev/vg0/root` is an
/// LVM volume, and a name alone cannot tell a disk from a character device): unknown names
/// fail closed. The path is read lexically normalised, so `//dev/sda`, `/dev/shm/../sda`
/// and `/proc/self/root/dev/sda` are the disk they name.
fn is_block_device(t: &str) -> bool {
    if !t.starts_with('/') {
        return false;
    }
    let mut parts = path_parts(t);
    // `/proc/self/root`, `/proc/thread-self/root`, `/proc/PID/root`: the root directory.
    while let ["proc", who, "root", ..] = parts.as_slice() {
        if !(matches!(*who, "self" | "thread-self") || who.bytes().all(|b| b.is_ascii_digit())) {
            break;
        }
        parts.drain(..3);
    }
    match parts.as_slice() {
        ["dev", rest @ ..] if !rest.is_empty() => !harmless_device(rest),
        _ => false,
    }
}

/// Names under `/dev` that writing cannot harm a disk through: the memory-less character
/// devices (`null`, `zero`, `full`, `random`, `urandom`), the process's own descriptors
/// (`stdin`, `stdout`, `stderr`, `fd/N`), terminals (`tty`, `ttyN`, `ttyS0`, `ttyUSB0`,
/// `ttyACM0`, `console`, `ptmx`, `pts/N`), the `shm` tmpfs and files in it, the kernel log (`kmsg`), and bash's network
/// redirections (`tcp/HOST/PORT`, `udp/HOST/PORT`, which are not files at all).
fn harmless_device(rest: &[&str]) -> bool {
    match rest {
        [name] => {
            matches!(
                *name,
                "null"
                    | "zero"
                    | "full"
                    | "random"
                    | "urandom"
                    | "stdin"
                    | "stdout"
                    | "stderr"
                    | "tty"
                    | "console"
                    | "ptmx"
                    | "kmsg"
                    | "shm"
            ) || is_terminal_line(name)
        }
        ["pts", _] | ["shm", ..] | ["tcp" | "udp", _, _] => true,
        ["fd", n] => n.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// `tty1`, `ttyS0`, `ttyUSB0`, `ttyACM0`, `ttyAMA0`: a virtual console or a serial line
/// (`tty`, letters, a number).
fn is_terminal_line(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("tty") else {
        return false;
    };
    let digits = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Checks one simple command (program first).
pub fn check(argv: &[Arg]) -> Option<Hit> {
    let prog = basename(&argv.first()?.text);
    let args = &argv[1..];
    let f = flags(args);
    if asks_only_for_help(prog, args, &f) {
        return None;
    }
    // `python3 -m pytest …` is pytest.
    let first = args
        .iter()
        .position(|a| !a.text.starts_with('-') || a.text.starts_with("-m"));
    if let Some(k) = first.filter(|_| prog.starts_with("python")) {
        let module = match args[k].text.as_str() {
            "-m" => args.get(k + 1).map(|a| (a.text.as_str(), k + 2)),
            t => t.strip_prefix("-m").map(|m| (m, k + 1)),
        };
        if let Some(("pytest", rest)) = module {
            let mut inner = vec![Arg::unknown("pytest")];
            inner.extend(args[rest..].iter().cloned());
            return check(&inner);
        }
    }
    match prog {
        "rm" if f.has("rR", "recursive")
            && (f.operands.iter().any(|o| is_root_target(o))
                || f.long.iter().any(|l| l.starts_with("no-preserve-root"))) =>
        {
            hit(
                "default:rm-root",
                "recursive rm of the root or home directory",
            )
        }
        p if p.starts_with("mkfs") || is_formatter(p) => {
            hit("default:mkfs", "formatting a filesystem")
        }
        "wipefs" if (f.has("ao", "all") || f.has("", "offset")) && !f.has("n", "no-act") => {
            hit("default:mkfs", "wiping filesystem signatures")
        }
        "dd" | "dcfldd" | "dc3dd" if dd_targets(args).any(is_sysrq_trigger) => hit(
            "default:sysrq",
            "writing to /proc/sysrq-trigger (magic SysRq reboots, crashes or powers off the host)",
        ),
        "dd" | "dcfldd" | "dc3dd" if dd_targets(args).any(is_block_device) => {
            hit("default:dd-device", "dd onto a block device")
        }
        "tee" | "sponge" | "cp" | "mv" | "install"
            if f.operands.iter().any(|o| is_sysrq_trigger(o))
                && (matches!(prog, "tee" | "sponge")
                    || f.operands.last().is_some_and(|o| is_sysrq_trigger(o))) =>
        {
            hit(
                "default:sysrq",
                "writing to /proc/sysrq-trigger (magic SysRq reboots, crashes or powers off the host)",
            )
        }
        "shred" | "tee" | "sponge" | "cp" | "mv" | "blkdiscard"
            if f.operands.iter().any(|o| is_block_device(o))
                && (!matches!(prog, "cp" | "mv")
                    || f.operands.last().is_some_and(|o| is_block_device(o))) =>
        {
            hit("default:dd-device", "writing onto a block device")
        }
        "shutdown" | "reboot" | "halt" | "poweroff" => {
            hit("default:power", "shutting down or rebooting the machine")
        }
        // OpenRC's shutdown: `-p` powers off, `-r` reboots, `-H` halts, `-k` kexecs.
        "openrc-shutdown"
            if ["poweroff", "reboot", "halt", "kexec"]
                .iter()
                .any(|l| f.has("", l))
                || f.short.contains(['p', 'r', 'H', 'k']) =>
        {
            hit("default:power", "shutting down or rebooting the machine")
        }
        // pytest empties and removes its `--basetemp` directory before the run (it refuses
        // only the working directory and its parents).
        "pytest" | "py.test" if pytest_basetemp(args).is_some_and(is_root_target) => hit(
            "default:rm-root",
            "pytest --basetemp=DIR deletes DIR and everything in it",
        ),
        "rsync" if rsync_empties_root(&f) => hit(
            "default:rm-root",
            "rsync --delete of a directory's contents onto the root or home directory deletes everything there the source does not hold",
        ),
        "init" | "telinit" if f.operands.iter().any(|a| matches!(*a, "0" | "6")) => {
            hit("default:power", "changing the runlevel to halt or reboot")
        }
        "systemctl" | "loginctl" => systemctl_power(args).and_then(|why| hit("default:power", &why)),
        "find" if find_deletes_root(args) => hit(
            "default:rm-root",
            "deleting everything below the root or home directory with find",
        ),
        "killall5" => hit(
            "default:kill-all",
            "killall5 signals every process on the machine",
        ),
        "pkill" | "killall" if kills_by_pattern(prog, args) => hit(
            "default:kill-all",
            "signalling every process whose name matches a pattern that matches everything, or every process of a user",
        ),
        "kill" if kills_everything(args) => {
            hit("default:kill-all", "signalling every process (kill -9 -1)")
        }
        "kill" if signals_init(args) => hit(
            "default:power",
            "a signal to pid 1 (init): systemd reboots, halts or powers off on SIGINT and SIGRTMIN+n, and in a container pid 1 is the container",
        ),
        "chmod" | "chown" | "chgrp"
            if f.has("R", "recursive") && f.operands.iter().any(|o| is_root_dir(o)) =>
        {
            hit(
                "default:chmod-root",
                "recursive chmod/chown of the root directory or a system directory",
            )
        }
        _ => disk_tool(prog, args, &f)
            .and_then(|why| hit("default:disk-tool", why))
            .or_else(|| check_more(prog, args, &f)),
    }
}

/// `rsync -a --delete /empty/ /`: a deleting rsync (`--delete`, `--del`, `--delete-after`
/// …) whose destination is the root or home directory and a source its contents (`dir/`,
/// `.`, `dir/.`), so everything there the source does not hold is deleted. A source
/// without the slash (`rsync -a --delete build /`) is copied into `/build`, deleting only
/// below it.
/// The directory `pytest --basetemp=DIR` (or `--basetemp DIR`) is given, the last one.
fn pytest_basetemp(args: &[Arg]) -> Option<&str> {
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    let mut out = None;
    for (i, t) in texts.iter().enumerate() {
        if *t == "--" {
            break;
        }
        if let Some(d) = t.strip_prefix("--basetemp=") {
            out = Some(d);
        } else if *t == "--basetemp" {
            out = texts.get(i + 1).copied();
        }
    }
    out
}

fn rsync_empties_root(f: &Flags) -> bool {
    let deletes = f
        .long
        .iter()
        .any(|l| l.starts_with("del") && !l.starts_with("dela"));
    let Some((dest, sources)) = f.operands.split_last() else {
        return false;
    };
    deletes
        && !dest.contains(':')
        && is_root_target(dest)
        && sources
            .iter()
            .any(|s| s.ends_with('/') || *s == "." || s.ends_with("/."))
}

/// `mkfs.ext4 --help`, `shutdown --version`, `shutdown -c` (cancels a pending shutdown):
/// a formatter or a power command that only prints or cancels.
fn asks_only_for_help(prog: &str, args: &[Arg], f: &Flags) -> bool {
    let formats_or_powers = prog.starts_with("mkfs")
        || is_formatter(prog)
        || matches!(prog, "wipefs" | "shutdown" | "reboot" | "halt" | "poweroff");
    if !formats_or_powers || args.is_empty() {
        return false;
    }
    let info = args
        .iter()
        .all(|a| matches!(a.text.as_str(), "--help" | "--version" | "-h" | "-V"));
    // `shutdown -c ["message"]`: only `-c`/`--cancel` (and `--no-wall`) among the options.
    let cancel = prog == "shutdown"
        && f.has("c", "cancel")
        && f.short.chars().all(|c| c == 'c')
        && f.long.iter().all(|l| matches!(*l, "cancel" | "no-wall"));
    info || cancel
}

/// Values of an option (`-o X`, `-oX`, `--out X`, `--out=X`) among `names`.
fn option_values<'a>(args: &'a [Arg], names: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        for n in names {
            if t == *n {
                out.extend(args.get(i + 1).map(|v| v.text.as_str()));
            } else if let Some(v) = t.strip_prefix(n) {
                let attached = if n.starts_with("--") {
                    v.strip_prefix('=')
                } else {
                    (n.len() == 2).then_some(v)
                };
                out.extend(attached.filter(|v| !v.is_empty()));
            }
        }
    }
    out
}

/// systemd-logind and systemd's D-Bus methods that power off, reboot or suspend (what
/// `systemctl reboot` itself calls).
const POWER_METHODS: &[&str] = &[
    "PowerOff",
    "Reboot",
    "Halt",
    "KExec",
    "Suspend",
    "Hibernate",
    "HybridSleep",
    "SuspendThenHibernate",
    "SoftReboot",
    "RebootWithFlags",
    "PowerOffWithFlags",
    "HaltWithFlags",
    "SuspendWithFlags",
    "HibernateWithFlags",
];

/// The rules that [`check`]'s table does not hold: image writers and formatters not named
/// `mkfs`, dd's clones, copies into `/dev`, suspend/kexec/D-Bus power calls, rescue
/// runlevels, and killing by inverted match or by user.
fn check_more(prog: &str, args: &[Arg], f: &Flags) -> Option<Hit> {
    let any_device = |ts: &[&str]| ts.iter().any(|t| is_block_device(t));
    let last_device = f.operands.last().is_some_and(|o| is_block_device(o));
    let formats = match prog {
        "bcachefs" => f.operands.first() == Some(&"format") && any_device(&f.operands),
        "integritysetup" | "veritysetup" => {
            f.operands.first() == Some(&"format") && any_device(&f.operands)
        }
        "mformat" => any_device(&option_values(args, &["-i"])),
        "mksquashfs" | "mkcramfs" | "e2image" => last_device,
        "genisoimage" | "mkisofs" | "xorrisofs" => any_device(&option_values(args, &["-o"])),
        "xorriso" => any_device(&option_values(args, &["-outdev", "-dev"])),
        "ntfsclone" => any_device(&option_values(args, &["-O", "--overwrite"])),
        p if p.starts_with("partclone.") => any_device(&option_values(args, &["-o", "--output"])),
        _ => false,
    };
    if formats {
        return hit(
            "default:mkfs",
            "writing a filesystem or a disk image onto a device",
        );
    }
    let writes_device = match prog {
        "sg_dd" | "sgp_dd" | "sgm_dd" | "ddpt" => dd_targets(args).any(is_block_device),
        // `ddrescue INFILE OUTFILE [MAPFILE]`.
        "ddrescue" => f.operands.get(1).is_some_and(|o| is_block_device(o)),
        "rsync" => f.has("", "write-devices") && last_device,
        // `cp sda /dev/`, `cp -t /dev sda`: the copy lands on `/dev/sda`.
        "cp" | "mv" | "install" => copies_into_dev(args, f),
        _ => false,
    };
    if writes_device {
        return hit("default:dd-device", "writing onto a block device");
    }
    let power = match prog {
        "tee" | "sponge" => f.operands.iter().any(|o| is_power_state_file(o)),
        "pm-suspend" | "pm-hibernate" | "pm-suspend-hybrid" | "zzz" | "ZZZ" | "s2ram"
        | "s2disk" | "hibernate" => true,
        "kexec" => f.has("ef", "exec") || f.has("", "force"),
        // Without `-m`, rtcwake suspends to standby.
        "rtcwake" => {
            !f.has("n", "dry-run")
                && !option_values(args, &["-m", "--mode"])
                    .iter()
                    .any(|m| matches!(basename(m), "no" | "on" | "show" | "disable"))
        }
        "init" | "telinit" => f
            .operands
            .iter()
            .any(|a| matches!(*a, "1" | "s" | "S" | "single" | "emergency")),
        "busctl" | "dbus-send" | "gdbus" | "qdbus" => {
            let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
            texts
                .iter()
                .any(|t| t.contains("login1") || t.contains("systemd1"))
                && texts.iter().any(|t| {
                    let method = t.rsplit(['.', '/']).next().unwrap_or(t);
                    POWER_METHODS.contains(&method)
                })
        }
        _ => false,
    };
    if power {
        return hit(
            "default:power",
            "shutting down, rebooting, suspending or kexec-ing the machine",
        );
    }
    // `find / -exec chmod 000 {} +`: every file below the root, as chmod -R would.
    if prog == "find"
        && find_starts(args).iter().any(|s| is_root_dir(s))
        && !find_filters_by_name(args)
    {
        let execs = args.windows(2).any(|w| {
            matches!(w[0].text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")
                && matches!(basename(&w[1].text), "chmod" | "chown" | "chgrp")
        });
        if execs {
            return hit(
                "default:chmod-root",
                "chmod/chown of every file below the root directory with find -exec",
            );
        }
    }
    // `find / | xargs chmod 000`: `/{}` is every path find found below the root.
    if matches!(prog, "chmod" | "chown" | "chgrp")
        && f.operands.iter().any(|o| *o == "/{}" || *o == "//{}")
    {
        return hit(
            "default:chmod-root",
            "chmod/chown of every file below the root directory (find / | xargs)",
        );
    }
    let kills_all = match prog {
        // `-v` inverts the match: every process the pattern does not name.
        "pkill" => f.short.contains('v') || f.has("", "inverse"),
        "skill" | "snice" => args
            .iter()
            .any(|a| matches!(a.text.as_str(), "-u" | "--user") || a.text.starts_with("--user=")),
        _ => false,
    };
    if kills_all {
        return hit(
            "default:kill-all",
            "signalling every process but the ones named, or every process of a user",
        );
    }
    None
}

/// `cp SRC… /dev/`, `cp -t /dev SRC`, `cp --target-directory=/dev SRC`: the destination is
/// a directory under which each source lands by its own name.
fn copies_into_dev(args: &[Arg], f: &Flags) -> bool {
    let named = option_values(args, &["-t", "--target-directory"]);
    let (dir, sources): (&str, Vec<&str>) = match named.first() {
        Some(d) => (d, f.operands.iter().copied().filter(|o| o != d).collect()),
        None => match f.operands.split_last() {
            Some((d, srcs)) if !srcs.is_empty() => (d, srcs.to_vec()),
            _ => return false,
        },
    };
    let parts = path_parts(dir);
    dir.starts_with('/')
        && parts.last() == Some(&"dev")
        && sources
            .iter()
            .any(|s| is_block_device(&format!("{dir}/{}", basename(s))))
}

/// Formatters not named `mkfs*` (`mkfs.vfat` is `mkdosfs`, `mkfs.ntfs` is `mkntfs` …).
fn is_formatter(p: &str) -> bool {
    matches!(
        p,
        "mke2fs" | "mkdosfs" | "mkntfs" | "mkexfatfs" | "mkreiserfs" | "mkudffs" | "jfs_mkfs"
    )
}

/// The files `dd`, `dcfldd` and `dc3dd` write (`of=`, and dc3dd's `hof=`, `ofs=`, `hofs=`).
fn dd_targets<'a>(args: &'a [Arg]) -> impl Iterator<Item = &'a str> + 'a {
    args.iter().filter_map(|a| {
        ["of=", "hof=", "ofs=", "hofs="]
            .iter()
            .find_map(|k| a.text.strip_prefix(k))
    })
}

/// `/proc/sysrq-trigger` spelled any way (`/proc//sysrq-trigger`, `/proc/self/root/proc/…`,
/// `sysrq-trigger` after `cd /proc`, an absolute glob such as `/proc/sysrq-*`): writing a
/// letter to it reboots (`b`), crashes (`c`) or powers off (`o`) the host at once.
pub fn is_sysrq_trigger(t: &str) -> bool {
    if !(t.contains("sysrq-trigger") || t.starts_with('/') && t.contains(['*', '?', '['])) {
        return false;
    }
    let parts = path_parts(t);
    if parts.last() == Some(&"sysrq-trigger") {
        return true;
    }
    t.starts_with('/')
        && t.contains(['*', '?', '['])
        && parts.len() == 2
        && glob_matches(parts[0].as_bytes(), b"proc")
        && glob_matches(parts[1].as_bytes(), b"sysrq-trigger")
}

/// `/sys/power/state` (and `/sys/power/disk`): writing `mem`, `disk` or `freeze` there
/// suspends or hibernates the host at once.
fn is_power_state_file(t: &str) -> bool {
    t.starts_with('/') && matches!(path_parts(t).as_slice(), ["sys", "power", "state" | "disk"])
}

/// A shell glob (`*`, `?`, `[…]`) against one path component.
pub(super) fn glob_matches(pat: &[u8], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob_matches(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob_matches(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|&c| c == b']').map(|i| i + 1) else {
                return s.first() == Some(&b'[') && glob_matches(rest, &s[1..]);
            };
            let (set, after) = (&rest[..close], &rest[close + 1..]);
            let (neg, set) = match set.first() {
                Some(b'!' | b'^') => (true, &set[1..]),
                _ => (false, set),
            };
            let Some(&c) = s.first() else { return false };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != neg && glob_matches(after, &s[1..])
        }
        Some((&c, rest)) => s.first() == Some(&c) && glob_matches(rest, &s[1..]),
    }
}

/// Units whose start shuts down, reboots, suspends or isolates the machine.
const POWER_TARGETS: &[&str] = &[
    "poweroff",
    "reboot",
    "halt",
    "kexec",
    "soft-reboot",
    "ctrl-alt-del",
    "suspend",
    "hibernate",
    "hybrid-sleep",
    "suspend-then-hibernate",
    "sleep",
    "rescue",
    "emergency",
    "exit",
    // `runlevel0.target` is `poweroff.target`, 1 is rescue, 6 is reboot.
    "runlevel0",
    "runlevel1",
    "runlevel6",
];

/// `systemctl reboot`, `systemctl --force poweroff`, `systemctl start reboot.target`,
/// `systemctl isolate rescue`, `systemctl set-default poweroff.target`: the verb (the first
/// operand, after options and their values) acts on the machine's power state. Reading
/// verbs (`status`, `cat`, `show`, `list-dependencies` …) of the same targets are fine.
fn systemctl_power(args: &[Arg]) -> Option<String> {
    const WITH_VALUE: &[&str] = &[
        "-t",
        "-p",
        "-P",
        "-H",
        "-M",
        "-n",
        "-o",
        "-s",
        "--type",
        "--property",
        "--host",
        "--machine",
        "--lines",
        "--output",
        "--signal",
        "--kill-whom",
        "--kill-value",
        "--job-mode",
        "--root",
        "--image",
        "--state",
        "--what",
        "--message",
        "--reboot-argument",
        "--boot-loader-entry",
        "--boot-loader-menu",
        "--timestamp",
        "--when",
        "--preset-mode",
        "--check-inhibitors",
        "--drop-in",
    ];
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" {
            operands.extend(args[i + 1..].iter().map(|a| a.text.as_str()));
            break;
        }
        if t.starts_with('-') && t.len() > 1 {
            i += if WITH_VALUE.contains(&t) { 2 } else { 1 };
            continue;
        }
        operands.push(t);
        i += 1;
    }
    let (&verb, units) = operands.split_first()?;
    let power = |name: &str| POWER_TARGETS.contains(&name);
    if power(verb) {
        return Some(format!(
            "systemctl {verb} shuts down, reboots or suspends the machine"
        ));
    }
    // isolate and set-default add `.target` to a bare name; start and its kin need the suffix.
    let bare_ok = matches!(verb, "isolate" | "set-default");
    let starts = matches!(
        verb,
        "start"
            | "restart"
            | "try-restart"
            | "condrestart"
            | "reload-or-restart"
            | "try-reload-or-restart"
            | "force-reload"
            | "isolate"
            | "set-default"
    );
    let unit = units.iter().find(|u| {
        let name = match u.strip_suffix(".target") {
            Some(n) => n,
            None if bare_ok => u,
            None => {
                return u.contains(['*', '?', '['])
                    && POWER_TARGETS
                        .iter()
                        .any(|t| glob_matches(u.as_bytes(), format!("{t}.target").as_bytes()))
            }
        };
        power(name)
    })?;
    starts.then(|| format!("systemctl {verb} {unit} shuts down, reboots or suspends the machine"))
}

/// An operand that names a device, or whose value is only known when it runs.
fn may_be_device(o: &str) -> bool {
    is_block_device(o) || o.starts_with('$') || o.starts_with('`')
}

/// LVM commands that create or remove volumes (alone or as `lvm <verb>`).
const LVM_DESTRUCTIVE: &[&str] = &[
    "pvcreate", "pvremove", "vgcreate", "vgremove", "lvremove", "lvreduce",
];

/// Disk tools: why `prog` with these arguments destroys data on a disk, if it does.
/// Listing and read-only forms (`fdisk -l`, `sfdisk --dump`, `parted /dev/sda print`,
/// `sgdisk -p`, `cryptsetup luksDump`, `mdadm --detail`) are fine, and so are the partition
/// tools on image files (`sfdisk disk.img`, `mkswap /swapfile`).
fn disk_tool(prog: &str, args: &[Arg], f: &Flags) -> Option<&'static str> {
    let tool = matches!(
        prog,
        "mkswap"
            | "fdisk"
            | "gdisk"
            | "cfdisk"
            | "cgdisk"
            | "fixparts"
            | "sfdisk"
            | "parted"
            | "sgdisk"
            | "cryptsetup"
            | "pvcreate"
            | "pvremove"
            | "vgcreate"
            | "vgremove"
            | "lvremove"
            | "lvreduce"
            | "lvm"
            | "mdadm"
            | "hdparm"
            | "nvme"
            | "zpool"
            | "zfs"
            | "badblocks"
            | "sg_format"
            | "sg_sanitize"
            | "sg_unmap"
            | "flash_erase"
            | "flash_eraseall"
    );
    if !tool {
        return None;
    }
    let on_device = f.operands.iter().any(|o| may_be_device(o));
    let info_only = !args.is_empty()
        && args
            .iter()
            .all(|a| matches!(a.text.as_str(), "--help" | "--version" | "-h" | "-V"));
    if info_only {
        return None;
    }
    let first_operand = f.operands.first().copied().unwrap_or("");
    match prog {
        "mkswap" if on_device => Some("writing swap space onto a device (mkswap) erases it"),
        "fdisk" if on_device && !f.has("lxs", "list") && !f.has("", "list-details") => {
            Some("fdisk on a device edits its partition table")
        }
        "gdisk" if on_device && !f.has("l", "list") => {
            Some("gdisk on a device edits its partition table")
        }
        "cfdisk" | "cgdisk" | "fixparts" if on_device => {
            Some("editing a device's partition table")
        }
        "sfdisk" if on_device && !sfdisk_reads_only(f) => {
            Some("sfdisk writes or changes a device's partition table")
        }
        "parted" if on_device && parted_writes(f) => {
            Some("parted changes a device's partition table")
        }
        "sgdisk" if on_device && sgdisk_writes(args, f) => {
            Some("sgdisk changes or zaps a device's partition table")
        }
        "cryptsetup"
            if on_device
                && f.operands.iter().any(|o| {
                    matches!(
                        o.to_ascii_lowercase().as_str(),
                        "luksformat"
                            | "format"
                            | "erase"
                            | "lukserase"
                            | "lukskillslot"
                            | "luksheaderrestore"
                    )
                }) =>
        {
            Some("cryptsetup luksFormat/erase/luksKillSlot/luksHeaderRestore destroys the data or the keys of a device")
        }
        // `pvcreate …` and `lvm pvcreate …` alike.
        n if LVM_DESTRUCTIVE.contains(&n)
            || (n == "lvm" && LVM_DESTRUCTIVE.contains(&first_operand)) =>
        {
            Some("creating or removing LVM volumes destroys what was on them")
        }
        "mdadm"
            if f.has("CB", "create")
                || f.has("", "build")
                || f.has("", "zero-superblock") =>
        {
            Some("mdadm --create/--build/--zero-superblock overwrites the member devices")
        }
        "hdparm"
            if args.iter().any(|a| {
                [
                    "--security-erase",
                    "--trim-sector-ranges",
                    "--write-sector",
                    "--make-bad-sector",
                    "--fwdownload",
                    "--dco-restore",
                ]
                .iter()
                .any(|o| a.text.starts_with(o))
            }) =>
        {
            Some("hdparm --security-erase/--trim-sector-ranges/--write-sector erases a disk")
        }
        "nvme"
            if matches!(
                first_operand,
                "format" | "sanitize" | "delete-ns" | "write-zeroes" | "write-uncor" | "dsm"
            ) =>
        {
            Some("nvme format/sanitize/delete-ns erases an NVMe namespace")
        }
        "zpool" if matches!(first_operand, "create" | "destroy" | "labelclear") => {
            Some("zpool create/destroy/labelclear destroys the pool or the disks' contents")
        }
        // `zfs destroy -n` is a dry run.
        "zfs" if first_operand == "destroy" && !f.has("n", "") => {
            Some("zfs destroy deletes a dataset, volume or snapshot and its data")
        }
        "zfs" if first_operand == "rollback" && f.has("rR", "") => {
            Some("zfs rollback -r/-R deletes every snapshot (and with -R every clone) newer than the one rolled back to")
        }
        // Even without -r it throws away, beyond recovery, every write to the live
        // filesystem since the snapshot: the whole-filesystem data loss this rule is for,
        // and more than `zfs destroy tank/fs@snap` (refused above) loses.
        "zfs" if first_operand == "rollback" => Some(
            "zfs rollback discards everything written to the dataset since the snapshot",
        ),
        "badblocks" if on_device && f.has("w", "") => {
            Some("badblocks -w overwrites the whole device")
        }
        "sg_format" if on_device && f.has("F", "format") => {
            Some("sg_format --format low-level formats a disk")
        }
        "sg_sanitize" | "sg_unmap" | "flash_erase" | "flash_eraseall" if on_device => {
            Some("erasing a device")
        }
        _ => None,
    }
}

/// `sfdisk -l`, `--dump`, `--json`, `--show-size`, `--verify`, `--no-act` …: reads only.
fn sfdisk_reads_only(f: &Flags) -> bool {
    f.has("ldJsgFVTn", "list")
        || [
            "dump",
            "json",
            "show-size",
            "show-geometry",
            "show-pt-geometry",
            "list-free",
            "verify",
            "list-types",
            "no-act",
        ]
        .iter()
        .any(|l| f.has("", l))
}

/// `parted [options] DEVICE [COMMAND …]`: true unless it only lists (`-l`, `print`, `unit`,
/// `align-check`, `help`, `version`). Without commands parted reads them from its input.
fn parted_writes(f: &Flags) -> bool {
    if f.has("lhv", "list") || f.has("", "help") || f.has("", "version") {
        return false;
    }
    let Some(dev) = f.operands.iter().position(|o| may_be_device(o)) else {
        return false;
    };
    let cmds = &f.operands[dev + 1..];
    if cmds.is_empty() {
        return true;
    }
    // parted takes any unambiguous abbreviation of a command name.
    let is = |c: &str, name: &str| !c.is_empty() && name.starts_with(c);
    let mut i = 0;
    while i < cmds.len() {
        let c = cmds[i];
        if is(c, "print") {
            i += 1;
            if cmds
                .get(i)
                .is_some_and(|a| matches!(*a, "free" | "all" | "devices" | "list"))
            {
                i += 1;
            }
        } else if is(c, "unit") {
            i += 2;
        } else if is(c, "align-check") {
            i += 3;
        } else {
            // `help`, `version`, `quit` end the run; anything else may change the disk.
            return !(is(c, "help") || is(c, "version") || is(c, "quit"));
        }
    }
    false
}

/// sgdisk changes the disk unless every option only reads (`-p`, `-i`, `-v`, `-L`, `-O`,
/// `-D`, `-E`, `-f`, `-F`, `-b FILE`) or `-P`/`--pretend` keeps it from saving. A backup
/// (`-b`) written onto a device is a write.
fn sgdisk_writes(args: &[Arg], f: &Flags) -> bool {
    if f.has("P", "pretend") {
        return false;
    }
    let backup_onto_device = args.iter().enumerate().any(|(i, a)| {
        let t = a.text.as_str();
        let value = if t == "-b" || t == "--backup" {
            args.get(i + 1).map(|n| n.text.as_str())
        } else {
            t.strip_prefix("--backup=")
                .or_else(|| t.strip_prefix("-b").filter(|r| r.starts_with('/')))
        };
        value.is_some_and(may_be_device)
    });
    const READ_LONG: &[&str] = &[
        "print",
        "info",
        "verify",
        "list-types",
        "print-mbr",
        "backup",
        "display-alignment",
        "end-of-largest",
        "first-in-largest",
        "first-aligned-in-largest",
        "version",
        "help",
        "usage",
    ];
    backup_onto_device
        || f.short
            .chars()
            .any(|c| !("pivLObDEfF?".contains(c) || c.is_ascii_digit() || c == '/'))
        || f.long.iter().any(|l| {
            let name = l.split('=').next().unwrap_or(l);
            !READ_LONG.contains(&name)
        })
}

/// True for `/` and `/*` spelled any way (not the home directory), or a pattern over the
/// top-level directories (`/[a-z]*`, `/{bin,etc}`).
/// The root, every entry of it, or a top-level system directory (`/usr`, `/etc/*`): a
/// recursive change of mode or owner there breaks the machine (sudo refuses a sudoers file
/// it does not own, sshd a key anyone can read). The home directory is not one.
fn is_root_dir(t: &str) -> bool {
    home_part(t)
        || t.starts_with('/') && (normalise(t) || root_level_pattern(t) || is_system_dir(t))
}

/// `${HOME%%[!/]*}`, `${HOME:0:1}`, `${HOME#/home}`: a part of the home path, which may be `/`.
fn home_part(t: &str) -> bool {
    t.strip_prefix("${HOME").is_some_and(|op| {
        op.starts_with(['%', '#'])
            || op.starts_with(':') && op[1..].starts_with(|c: char| c.is_ascii_digit() || c == ' ')
    })
}

/// `find / -delete`, `find ~ -exec rm -rf {} +`: the start points before the first
/// expression include the root or home, and the expression deletes.
fn find_deletes_root(args: &[Arg]) -> bool {
    let starts = find_starts(args);
    if !starts.iter().any(|a| is_root_target(a)) {
        return false;
    }
    find_deletes(args) && !find_filters_by_name(args)
}

/// The start points of `find [-H|-L|-P] [-D opts] [-Olevel] start… expression`.
fn find_starts(args: &[Arg]) -> Vec<&str> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.text.as_str() {
            "-H" | "-L" | "-P" => i += 1,
            "-D" => i += 2,
            t if t.starts_with("-O") || (t.starts_with("-D") && t.len() > 2) => i += 1,
            _ => break,
        }
    }
    args[i.min(args.len())..]
        .iter()
        .map(|a| a.text.as_str())
        .take_while(|t| !t.starts_with('-') && *t != "(" && *t != "!")
        .collect()
}

/// The expression deletes what it finds: `-delete`, `-exec rm …`.
fn find_deletes(args: &[Arg]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        a.text == "-delete"
            || (matches!(a.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")
                && args
                    .get(i + 1)
                    .is_some_and(|p| matches!(basename(&p.text), "rm" | "shred" | "unlink")))
    })
}

/// `find ~ -name '*.pyc' -delete`: the expression is a plain conjunction (no `-o`, `!`,
/// `-not`, `,`) with a name test whose pattern has a literal part, so it deletes only the
/// entries of that name, not the tree.
pub(crate) fn find_filters_by_name(args: &[Arg]) -> bool {
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    if texts
        .iter()
        .any(|t| matches!(*t, "-o" | "-or" | "!" | "-not" | ","))
    {
        return false;
    }
    // `find / -delete -name x` deletes before it tests: the test must come before the
    // first action.
    let first_action = texts
        .iter()
        .position(|t| {
            matches!(
                *t,
                "-delete" | "-exec" | "-execdir" | "-ok" | "-okdir" | "-print" | "-print0" | "-ls"
            ) || t.starts_with("-fprint")
        })
        .unwrap_or(texts.len());
    texts[..first_action].windows(2).any(|w| {
        matches!(
            w[0],
            "-name" | "-iname" | "-path" | "-ipath" | "-wholename" | "-iwholename"
        ) && !w[1].split('/').all(|c| c.is_empty() || matches_anything(c))
    })
}

/// A path component that matches every name: only wildcards, bracket expressions and
/// expansions (`*`, `?*`, `[a-z]*`, `.*`, `$X`, `{a,b}`), nothing literal to restrict it.
fn matches_anything(c: &str) -> bool {
    if c.contains(['$', '`', '{']) {
        return true;
    }
    let mut rest = c.strip_prefix('.').unwrap_or(c);
    let mut wild = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let Some(close) = r.get(1..).and_then(|x| x.find(']')) else {
                return false;
            };
            rest = &r[close + 2..];
            wild = true;
        } else if let Some(r) = rest.strip_prefix(['*', '?']) {
            rest = r;
            wild = true;
        } else {
            return false;
        }
    }
    wild || c.is_empty()
}

/// `pkill -9 .`, `pkill ''`, `pkill -u root`, `killall -r .`, `killall -u root`: a pattern
/// that matches every name (only regex operators, or empty), or selecting by user/group only.
fn kills_by_pattern(prog: &str, args: &[Arg]) -> bool {
    let matches_all = |p: &str| {
        p.is_empty()
            || p.chars().all(|c| ".*^$?+()|[]{}\\".contains(c))
            || (p.chars().count() == 2 && p.ends_with(['*', '?']))
            || matches_any_name(p)
    };
    let with_value: &[&str] = if prog == "pkill" {
        &[
            "-s",
            "-t",
            "-P",
            "-g",
            "-G",
            "-u",
            "-U",
            "-F",
            "-c",
            "--signal",
            "--session",
            "--terminal",
            "--parent",
            "--pgroup",
            "--group",
            "--euid",
            "--uid",
            "--pidfile",
            "--cgroup",
            "--ns",
            "--nslist",
        ]
    } else {
        &[
            "-s",
            "-u",
            "-o",
            "-y",
            "-n",
            "-V",
            "--signal",
            "--user",
            "--older-than",
            "--younger-than",
            "--ns",
            "--context",
        ]
    };
    let by_user = [
        "-u",
        "-U",
        "-G",
        "-g",
        "--user",
        "--uid",
        "--euid",
        "--group",
        "--pgroup",
        "-s",
        "--session",
    ];
    let mut patterns = Vec::new();
    let mut selected_by_user = false;
    let mut regex = prog == "pkill";
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        let bare = t.split('=').next().unwrap_or(t);
        if by_user.contains(&bare) && !(prog == "killall" && bare == "-s") {
            selected_by_user = true;
        }
        if t == "-r" || t == "--regexp" {
            regex = true;
        }
        if with_value.contains(&t) {
            i += 2;
            continue;
        }
        if t.starts_with('-') && t.len() > 1 {
            i += 1;
            continue;
        }
        patterns.push(t.trim_matches(['\'', '"']));
        i += 1;
    }
    if patterns.is_empty() {
        return selected_by_user;
    }
    regex && patterns.iter().any(|p| matches_all(p))
}

/// `pgrep ARGS` lists every process (`pgrep .`, `pgrep -v x`, `pgrep -u root`).
pub(crate) fn selects_every_process(args: &[Arg]) -> bool {
    kills_by_pattern("pkill", args)
        || args.iter().any(|a| {
            a.text == "--inverse"
                || a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains('v')
        })
}

/// `[a-z]`, `\w`, `[[:alpha:]]`, `[^x]`: one character class that every process name (and
/// every command line) has a character of.
fn matches_any_name(p: &str) -> bool {
    let p = p.trim_start_matches('^').trim_end_matches(['$', '+', '*']);
    matches!(
        p,
        "\\w"
            | "\\S"
            | "\\D"
            | "[[:alpha:]]"
            | "[[:alnum:]]"
            | "[[:print:]]"
            | "[[:graph:]]"
            | "[[:lower:]]"
    ) || (p.starts_with("[^") && p.ends_with(']') && p.len() <= 5)
        || (p.starts_with('[') && p.ends_with(']') && p.contains("a-z"))
}

/// `ps -e`, `ps -A`, `ps ax`, `ps -eo pid`: every process, with no selection narrowing it
/// (`ps -p 1234`, `ps -C nginx`, `ps -u www`).
pub(crate) fn lists_every_process(args: &[Arg]) -> bool {
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    let narrows = texts.iter().any(|t| {
        t.bytes().all(|b| b.is_ascii_digit())
            || [
                "-p",
                "-C",
                "-u",
                "-U",
                "-g",
                "-G",
                "-t",
                "-q",
                "-s",
                "--pid",
                "--ppid",
                "--ppid",
                "--user",
                "--group",
                "--sid",
                "--tty",
                "--quick-pid",
            ]
            .iter()
            .any(|o| t.starts_with(o))
    });
    let every = texts.iter().any(|t| match t.strip_prefix('-') {
        Some(short) if !short.starts_with('-') => short.contains(['e', 'A']),
        Some(long) => long == "-everyone",
        None => t.contains('a') && t.contains('x'),
    });
    every && !narrows
}

/// `kill [-SIG | -s SIG | -n N] … -1`: the pid -1 means every process the user may signal.
fn kills_everything(args: &[Arg]) -> bool {
    let mut i = 0;
    let mut signal_seen = false;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" {
            return args[i + 1..].iter().any(|a| pid_value(&a.text) == Some(-1));
        }
        if pid_value(t) == Some(-1) && (signal_seen || !t.starts_with('-')) {
            return true;
        }
        if matches!(t, "-s" | "-n" | "--signal") {
            signal_seen = true;
            i += 2;
            continue;
        }
        if t.starts_with('-') {
            signal_seen = true;
        }
        i += 1;
    }
    false
}

/// The number a pid operand of `kill` is, as the shell and kill read it: blanks around it,
/// leading zeros (`-01`), and an arithmetic expansion of a constant (`$((-1))`, `-$((1))`).
fn pid_value(t: &str) -> Option<i64> {
    let mut t = t.trim().to_string();
    while let Some(start) = t.find("$((") {
        let end = start + t[start..].find("))")?;
        let inner: String = t[start + 3..end]
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')'))
            .collect();
        let value = arith_value(&inner)?;
        t = format!("{}{value}{}", &t[..start], &t[end + 2..]);
    }
    let (mut negative, mut digits) = (false, t.as_str());
    while let Some(rest) = digits.strip_prefix(['-', '+']) {
        negative ^= digits.starts_with('-');
        digits = rest;
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.trim_start_matches('0').parse().unwrap_or(0);
    Some(if negative { -n } else { n })
}

/// A constant sum of integers (`-1`, `0-1`, `2-3`, `+1`), as `$(( … ))` evaluates it.
fn arith_value(expr: &str) -> Option<i64> {
    let (mut total, mut sign, mut digits) = (0i64, 1i64, String::new());
    for c in expr.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' | '-' => {
                if !digits.is_empty() {
                    total = total.checked_add(sign.checked_mul(digits.parse().ok()?)?)?;
                    digits.clear();
                    sign = 1;
                }
                if c == '-' {
                    sign = -sign;
                }
            }
            _ => return None,
        }
    }
    if digits.is_empty() {
        return None;
    }
    total.checked_add(sign.checked_mul(digits.parse().ok()?)?)
}

/// `kill -INT 1`, `kill -s RTMIN+5 1`: a signal to pid 1. systemd reboots on SIGINT
/// (ctrl-alt-del), halts, powers off or reboots on SIGRTMIN+3…+6 and +13…+16; in a
/// container pid 1 is the container. `kill -0 1` (a probe) and `kill -l` are not signals.
fn signals_init(args: &[Arg]) -> bool {
    let (mut probe, mut signal_seen) = (false, false);
    let mut i = 0;
    let mut pids = Vec::new();
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" {
            pids.extend(args[i + 1..].iter().map(|a| a.text.as_str()));
            break;
        }
        if matches!(t, "-l" | "-L" | "--list" | "--table") || t.starts_with("--list=") {
            return false;
        }
        if matches!(t, "-s" | "-n" | "--signal") && !signal_seen {
            probe = args.get(i + 1).is_some_and(|a| a.text == "0");
            signal_seen = true;
            i += 2;
            continue;
        }
        if t.starts_with('-') && !signal_seen {
            probe = matches!(t, "-0" | "-SIG0" | "-s0" | "-n0");
            signal_seen = true;
        } else {
            pids.push(t);
        }
        i += 1;
    }
    !probe && pids.iter().any(|p| pid_value(p) == Some(1))
}

/// A directory a `cd` or `pushd` of the line may change to, for reading relative paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cwd {
    /// A literal absolute directory, normalised (`/dev`, `/`).
    Dir(String),
    /// A directory only known when the line runs (`cd "$X"`, `cd ~`, `cd` alone).
    Unknown,
}

impl Cwd {
    /// The directory `path` names: normalised when absolute, unknown when relative.
    pub fn of(path: &str) -> Cwd {
        if path.starts_with('/') {
            Cwd::Dir(normalised_dir(path))
        } else {
            Cwd::Unknown
        }
    }
}

/// How many directories a relative `cd` is read from before the rest count as unknown.
const MAX_CWDS: usize = 16;

/// Stands for a directory only known when the line runs, in front of a relative operand;
/// an operand starting with `$` is one the disk tools treat as a possible device.
const UNKNOWN_DIR: &str = "$PWD";

/// The directories the `cd` and `pushd` commands of `script` may change to, after those
/// inherited from an enclosing line (`cd /dev && sh -c '…'`). The order of the commands
/// is not followed — loops repeat, functions run later, `cd -` and `popd` go back — so
/// every command is read from each of them, failing closed like [`cd_root_then_rm`]. A
/// relative target is read from each absolute one (`cd /; cd dev`).
///
/// Where the start is unknown, or the target climbs out of a directory only known when
/// it runs (`cd ~/../../dev`), see [`climbed`]; a line that sets `CDPATH` also reads a
/// relative target from each of its directories (`CDPATH=/ cd dev`).
pub fn cd_dirs(script: &Script, inherited: &[Cwd]) -> Vec<Cwd> {
    reached_dirs(script, inherited, true)
}

/// The directories a command of `script` that [`runs_after_cd`] may run in: those the
/// line's `cd`s reach from `inherited` (the start among them only when a `cd` leads back
/// to it, `cd build && cd ..`). `None` when the line starts nowhere known or may return
/// to where it started in a way this does not follow (see [`cd_is_followed`]).
pub fn cd_dirs_after_cd(script: &Script, inherited: &[Cwd]) -> Option<Vec<Cwd>> {
    (inherited.iter().any(|d| matches!(d, Cwd::Dir(_))) && cd_is_followed(script))
        .then(|| reached_dirs(script, inherited, false))
}

/// Whether the command at `index` runs only after a `cd DIR` of the line's top level
/// succeeded: the two are in one and-or list, joined by `&&` all the way (`cd build &&
/// make && rm -rf *`). After `cd build; rm -rf *` or `cd build || true && rm -rf *` a
/// failed `cd` leaves the command where the line started.
pub fn runs_after_cd(script: &Script, index: usize) -> bool {
    let Some((c, k)) = script.lookups.link_of(script, index) else {
        return false;
    };
    let chain = &script.chains[c];
    for j in (0..k).rev() {
        if !chain[j + 1].after_and {
            return false;
        }
        let link = &chain[j];
        if !link.negated
            && link.commands.len() == 1
            && cd_target(&script.commands[link.commands.start]).is_some()
        {
            return true;
        }
    }
    false
}

/// The literal directory of a plain `cd DIR` or `pushd DIR` (options before it allowed).
fn cd_target(c: &SimpleCommand) -> Option<&str> {
    let (p, args) = c.words.split_first()?;
    if !p.is_static() || !matches!(p.text.as_str(), "cd" | "pushd") {
        return None;
    }
    let w = &args[cd_operand(args)?];
    (w.is_static() && w.text != "-" && !w.text.starts_with('+')).then_some(w.text.as_str())
}

/// Where the directory operand of `cd`/`pushd` is among `args`: the first word that is not
/// an option (`-` alone is one: `cd -`).
fn cd_operand(args: &[Word]) -> Option<usize> {
    args.iter()
        .position(|w| !(w.text.starts_with('-') && w.text.len() > 1))
}

/// Whether every change of directory in `script` is one the policy reads: none goes back
/// (`cd -`, `popd`, `pushd` alone or rotating, `cd "$OLDPWD"`, `cd` alone to a home that
/// may be the start), none is hidden (`eval`, `source`, `trap`, a program name only known
/// when it runs, `builtin cd`, `command cd`), and `cd` is the shell's (no function, alias
/// or `enable -n` replaces it).
pub fn cd_is_followed(script: &Script) -> bool {
    if script
        .functions
        .iter()
        .any(|f| matches!(f.name.as_str(), "cd" | "pushd"))
    {
        return false;
    }
    script.commands.iter().all(|c| {
        let Some(p) = c.words.first() else {
            return true;
        };
        if !p.is_static() || c.words.iter().any(|w| w.text.contains("OLDPWD")) {
            return false;
        }
        match p.text.as_str() {
            "cd" | "pushd" => cd_target(c).is_some(),
            "popd" | "eval" | "source" | "." | "trap" | "builtin" | "command" | "alias"
            | "enable" => false,
            _ => true,
        }
    })
}

/// [`cd_dirs`], with the `inherited` directories themselves in the result only when
/// `keep_start` (they are still the bases relative targets are read from).
fn reached_dirs(script: &Script, inherited: &[Cwd], keep_start: bool) -> Vec<Cwd> {
    let mut out = if keep_start {
        inherited.to_vec()
    } else {
        Vec::new()
    };
    let starts: Vec<String> = inherited
        .iter()
        .filter_map(|d| match d {
            Cwd::Dir(d) => Some(d.clone()),
            Cwd::Unknown => None,
        })
        .collect();
    let mut relative: Vec<String> = Vec::new();
    let unknown_start = starts.is_empty();
    let cdpath = cdpath_dirs(script);
    let cdable = script_mentions(script, "cdable_vars");
    for c in &script.commands {
        let Some((p, args)) = c.words.split_first() else {
            continue;
        };
        if !p.is_static() || !matches!(p.text.as_str(), "cd" | "pushd") {
            continue;
        }
        let at = cd_operand(args);
        let targets: Vec<String> = match at.map(|i| &args[i]) {
            // `cd -`, `pushd +1`: back to a directory the line named before.
            Some(w) if w.is_static() && (w.text == "-" || w.text.starts_with('+')) => continue,
            // `pushd -1` rotates the stack.
            None if p.text == "pushd" && !args.is_empty() => continue,
            // `cd` alone goes to $HOME: the line's own value when it sets one.
            None => {
                push_new(&mut out, Some(Cwd::Unknown));
                super::values::values(script, "HOME", c)
                    .iter()
                    .filter(|v| !v.contains(['$', '`']))
                    .cloned()
                    .collect()
            }
            Some(w) if w.is_static() => vec![w.text.clone()],
            Some(w) => {
                push_new(&mut out, climbed(&w.text, false));
                push_new(&mut out, Some(Cwd::Unknown));
                // `d=/; cd $d`, `for d in /; do cd $d`, `cd $(dirname /etc)`: what the
                // line's own values make of it.
                known_targets(script, c, 1 + at.unwrap_or(0))
            }
        };
        for t in &targets {
            if t.starts_with('/') {
                push_new(&mut out, Some(Cwd::Dir(normalised_dir(t))));
                continue;
            }
            if unknown_start {
                push_new(&mut out, climbed(t, true));
            }
            for base in &cdpath {
                push_new(
                    &mut out,
                    Some(match base {
                        Cwd::Dir(b) => Cwd::Dir(normalised_dir(&format!("{b}/{t}"))),
                        Cwd::Unknown => Cwd::Unknown,
                    }),
                );
            }
            // bash's `shopt -s cdable_vars`: a name that is no directory is read as a
            // variable holding one (`x=/; cd x`).
            if cdable {
                push_new(&mut out, Some(Cwd::Unknown));
                for v in super::values::values(script, t, c).iter() {
                    push_new(&mut out, climbed(v, false));
                    push_new(&mut out, Some(Cwd::of(v)));
                }
            }
            relative.push(t.clone());
        }
    }
    // Two rounds read `cd /; cd usr; cd lib` from every directory the first round found.
    if relative.is_empty() {
        return out;
    }
    for _ in 0..2 {
        let mut bases = starts.clone();
        for d in &out {
            if let Cwd::Dir(d) = d {
                if !bases.contains(d) {
                    bases.push(d.clone());
                }
            }
        }
        for base in &bases {
            for r in &relative {
                let dir = Cwd::Dir(normalised_dir(&format!("{base}/{r}")));
                if out.contains(&dir) {
                    continue;
                }
                if out.len() >= MAX_CWDS {
                    if !out.contains(&Cwd::Unknown) {
                        out.push(Cwd::Unknown);
                    }
                    return out;
                }
                out.push(dir);
            }
        }
    }
    out
}

/// The literal values word `index` of the `cd` command `c` takes once the line's own
/// assignments, loop words and simple substitutions are put in.
fn known_targets(script: &Script, c: &SimpleCommand, index: usize) -> Vec<String> {
    let argv = super::blocklist_args(script, c);
    let readings = super::values::readings(script, c, &argv);
    let mut out: Vec<String> = Vec::new();
    for v in std::iter::once(argv).chain(readings) {
        let Some(a) = v.get(index).filter(|_| v.len() == c.words.len()) else {
            continue;
        };
        let literal = !a.text.is_empty() && !a.text.contains(['$', '`', '*', '?', '[', '~']);
        if literal && !out.contains(&a.text) {
            out.push(a.text.clone());
        }
    }
    out
}

/// Whether any word or assigned value of the line contains `text`.
fn script_mentions(script: &Script, text: &str) -> bool {
    script.commands.iter().any(|c| {
        c.words.iter().any(|w| w.text.contains(text))
            || c.assignments.iter().any(|a| a.value.text.contains(text))
    })
}

fn push_new(out: &mut Vec<Cwd>, dir: Option<Cwd>) {
    if let Some(d) = dir.filter(|d| !out.contains(d)) {
        out.push(d);
    }
}

/// The directory `target` reaches from the root when it climbs with `..` out of a directory
/// only known when the line runs: its unknown part (`~`, `$X`) or, when `from_start`, the
/// unknown directory the line starts in. Climbing from an unknown directory may reach any of
/// its ancestors, the root among them, so `cd ~/../../dev` may be `cd /dev` and is read like
/// it. Consistent with `cd "$X"`: that is any directory, where a disk tool's relative
/// operand may be a device but `dd of=sda` is not refused (it would refuse every relative
/// dd output after an unknown cd); a name reached from the root is as known as `/dev` is.
fn climbed(target: &str, from_start: bool) -> Option<Cwd> {
    let parts: Vec<&str> = target.split('/').collect();
    let unknown = |p: &&str| p.contains(['$', '`', '~', '*', '?', '[', '{', '(']);
    let rest = match parts.iter().rposition(unknown) {
        Some(i) => &parts[i + 1..],
        None if from_start => &parts[..],
        None => return None,
    };
    let (mut kept, mut climbs) = (Vec::new(), 0);
    for p in rest {
        match *p {
            "" | "." => {}
            ".." if kept.is_empty() => climbs += 1,
            ".." => {
                kept.pop();
            }
            p => kept.push(p),
        }
    }
    (climbs > 0).then(|| Cwd::Dir(normalised_dir(&kept.join("/"))))
}

/// The directories a `CDPATH` the line sets sends a relative `cd` to: each absolute entry,
/// and [`Cwd::Unknown`] for a value only known when it runs or a relative entry. Empty when
/// the line does not mention `CDPATH`.
fn cdpath_dirs(script: &Script) -> Vec<Cwd> {
    let mut values: Vec<Option<&str>> = Vec::new();
    for c in &script.commands {
        for a in c.assignments.iter().filter(|a| a.name == "CDPATH") {
            values.push(a.value.is_static().then_some(a.value.text.as_str()));
        }
        // `export CDPATH=/`, `declare -x CDPATH=/`, `read CDPATH`.
        for w in c.words.iter().filter(|w| w.text.contains("CDPATH")) {
            values.push(w.text.strip_prefix("CDPATH=").filter(|_| w.is_static()));
        }
    }
    let mut out = Vec::new();
    for v in values {
        let dirs: Vec<Cwd> = match v {
            None => vec![Cwd::Unknown],
            Some(v) => v
                .split(':')
                .filter(|e| !e.is_empty() && *e != ".")
                .map(Cwd::of)
                .collect(),
        };
        for d in dirs {
            push_new(&mut out, Some(d));
        }
    }
    out
}

/// The directories a wrapped command starts in after `env -C DIR` / `sudo -D DIR` run
/// from one of `cwds`: read like the target of a `cd`.
pub fn chdir_dirs(dir: &Arg, cwds: &[Cwd]) -> Vec<Cwd> {
    let t = dir.text.as_str();
    if !dir.exact {
        let mut out = vec![Cwd::Unknown];
        push_new(&mut out, climbed(t, false));
        return out;
    }
    if t.starts_with('/') {
        return vec![Cwd::Dir(normalised_dir(t))];
    }
    let mut out = Vec::new();
    if !cwds.iter().any(|d| matches!(d, Cwd::Dir(_))) {
        push_new(&mut out, climbed(t, true));
    }
    for d in cwds {
        push_new(
            &mut out,
            Some(match d {
                Cwd::Dir(b) => Cwd::Dir(normalised_dir(&format!("{b}/{t}"))),
                Cwd::Unknown => Cwd::Unknown,
            }),
        );
    }
    out
}

/// What `{}` of `find START… -exec CMD {} ;` (and a later `| xargs CMD`) may stand for: a
/// path below each start point (`.` when none is given), `START/{}`. Below the root that
/// includes every device, so a root start yields `/dev/{}` too.
pub fn found_paths(find_args: &[Arg]) -> Vec<String> {
    let starts: Vec<&str> = find_args
        .iter()
        .map(|a| a.text.as_str())
        .filter(|t| {
            !matches!(*t, "-H" | "-L" | "-P") && !t.starts_with("-O") && !t.starts_with("-D")
        })
        .take_while(|t| !t.starts_with('-') && !matches!(*t, "(" | "!" | ","))
        .collect();
    let starts = if starts.is_empty() { vec!["."] } else { starts };
    let mut out = Vec::new();
    for s in starts {
        out.push(format!("{}/{{}}", s.trim_end_matches('/')));
        if s.starts_with('/') && path_parts(s).is_empty() {
            out.push("/dev/{}".into());
        }
    }
    out
}

/// `/dev/./shm/..` → `/dev`.
fn normalised_dir(p: &str) -> String {
    format!("/{}", path_parts(p).join("/"))
}

/// `t` read from `dir` when it is a relative path (not an option, an expansion or `~`).
fn from_dir(dir: &str, t: &str) -> Option<String> {
    (!t.is_empty() && !t.starts_with(['/', '-', '$', '`', '~']))
        .then(|| format!("{}/{t}", dir.trim_end_matches('/')))
}

/// The arguments of `argv` read from `dir` (`sda` → `/dev/sda`, dd's `of=sda` →
/// `of=/dev/sda`), or `None` when none of them is a relative path.
fn args_from_dir(argv: &[Arg], dir: &str) -> Option<Vec<Arg>> {
    let mut changed = false;
    // `parted sda print`: after the device come parted's own commands, not paths.
    let first_operand_only = argv.first().is_some_and(|p| basename(&p.text) == "parted");
    let mut operands = 0;
    let out = argv
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let t = a.text.as_str();
            let keyed = t
                .split_once('=')
                .filter(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase()));
            if i > 0 && !t.starts_with('-') {
                operands += 1;
            }
            let text = match keyed {
                _ if i == 0 => None,
                _ if first_operand_only && operands > 1 => None,
                Some((k, v)) => from_dir(dir, v).map(|v| format!("{k}={v}")),
                None => from_dir(dir, t),
            };
            changed |= text.is_some();
            Arg {
                text: text.unwrap_or_else(|| a.text.clone()),
                ..a.clone()
            }
        })
        .collect();
    changed.then_some(out)
}

/// [`check`] of `argv`, and of `argv` read from each directory a `cd` of the line may have
/// changed to (`cd /dev && mkswap sda2` is `mkswap /dev/sda2`). From a directory only
/// known when it runs, a relative operand of a disk tool may be a device, as `$X` is; the
/// other rules treat it as they treat `$X/name` (dd's `of=$X` is not a device).
pub fn check_in(argv: &[Arg], cwds: &[Cwd]) -> Option<Hit> {
    check(argv).or_else(|| {
        cwds.iter().find_map(|d| match d {
            Cwd::Dir(dir) => args_from_dir(argv, dir).and_then(|a| check(&a)),
            Cwd::Unknown => {
                let args = args_from_dir(argv, UNKNOWN_DIR)?;
                let prog = basename(&args.first()?.text);
                disk_tool(prog, &args[1..], &flags(&args[1..]))
                    .and_then(|why| hit("default:disk-tool", why))
            }
        })
    })
}

/// `cd / && rm -rf *`, `cd ~; rm -r .`: a line that changes to the root or home directory
/// and recursively removes everything in the current directory.
pub fn cd_root_then_rm(script: &Script) -> Option<Hit> {
    let words =
        |c: &SimpleCommand| -> Vec<String> { c.words.iter().map(|w| w.text.clone()).collect() };
    // Asked only of a line that removes everything where it is, once.
    let to_root = std::cell::OnceCell::new();
    let cd_root = || {
        script.commands.iter().any(|c| {
            let w = words(c);
            let to_root = |w: &[String]| match w
                .iter()
                .skip(1)
                .find(|a| !a.starts_with('-') || a.as_str() == "-")
            {
                None => true,
                Some(d) => is_root_target(d),
            };
            w.first()
                .is_some_and(|p| matches!(p.as_str(), "cd" | "pushd"))
                && (to_root(&w)
                    // `d=$HOME; cd $d`, `cd "$(echo ~)"`: the line's values of the
                    // operand.
                    || c.words[1..]
                        .iter()
                        .find(|w| !w.text.starts_with('-') || w.text == "-")
                        .is_some_and(|w| {
                            w.dynamic
                                && operand_values(script, c, w)
                                    .iter()
                                    .any(|v| is_root_target(v))
                        }))
        })
    };
    // `*`, `.`, `~+` (bash: the current directory), `$X`, `*/*`: every entry; `*.log`,
    // `*/node_modules`, `"$P"/build` name some.
    let everything = |o: &str| {
        let o = match o.strip_prefix("~+") {
            Some("") => ".",
            Some(r) if r.starts_with('/') => &r[1..],
            _ => o,
        };
        let o = o.trim_start_matches("./");
        o.is_empty()
            || matches!(o, "." | "..")
            || o.split('/')
                .all(|c| c.is_empty() || c == "." || matches_anything(c))
    };
    script.commands.iter().find_map(|c| {
        let argv: Vec<Arg> = c.words.iter().map(Arg::from_word).collect();
        let p = basename(&argv.first()?.text);
        let f = flags(&argv[1..]);
        // `"$x"`: one quoted expansion is one name (or nothing), never a glob of them all.
        let quoted_name = |o: &str| {
            argv.iter().any(|a| a.text == o && !a.split)
                && o.strip_prefix('$').is_some_and(|n| {
                    let n = n.trim_start_matches('{').trim_end_matches('}');
                    !n.is_empty() && n.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
                })
        };
        let rm_all = p == "rm"
            && f.has("rR", "recursive")
            && f.operands.iter().any(|o| everything(o) && !quoted_name(o));
        // `cd / && find -delete`: without a start point find starts at `.`.
        let find_all = p == "find"
            && find_deletes(&argv[1..])
            && !find_filters_by_name(&argv[1..])
            && find_starts(&argv[1..]).iter().all(|s| everything(s));
        if !(rm_all || find_all) || !*to_root.get_or_init(cd_root) {
            return None;
        }
        hit(
            "default:rm-root",
            "cd to the root or home directory, then a recursive rm of everything in it",
        )
    })
}

/// What the line shows a `cd` operand `w` of `c` to be: what a literal substitution
/// prints (`"$(echo ~)"`), or the values the line gives the variable the word is
/// (`$d`, `"${d}"`, `$d/`). Empty when the line does not show it.
fn operand_values(script: &Script, c: &SimpleCommand, w: &Word) -> Vec<String> {
    if let Some(t) = super::substituted_text(script, w) {
        return vec![t];
    }
    let t = w.text.trim_end_matches('/');
    let name = t
        .strip_prefix("${")
        .and_then(|n| n.strip_suffix('}'))
        .or_else(|| t.strip_prefix('$'));
    match name {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) => {
            super::values::values(script, n, c).to_vec()
        }
        _ => Vec::new(),
    }
}

/// Output redirection onto a block device or into `/proc/sysrq-trigger`. `resolve` gives
/// the literal a `$NAME` target was assigned earlier in the line, if any; `cwds` are the
/// directories the line may have changed to ([`cd_dirs`]).
pub fn check_redirects<'a>(
    script: &'a Script,
    resolve: impl Fn(&str) -> Option<&'a str>,
    cwds: &[Cwd],
) -> Option<Hit> {
    let written = script
        .commands
        .iter()
        .flat_map(|c| &c.redirects)
        .filter(|r| r.kind == RedirKind::Output)
        .map(|r| {
            let t = r.target.text.as_str();
            resolve(t).unwrap_or(t)
        });
    // `cd /dev && echo x > sda`: a relative target read from each directory of the line.
    let targets = written.flat_map(|t| {
        let dirs = cwds.iter().filter_map(move |d| match d {
            Cwd::Dir(dir) => from_dir(dir, t),
            Cwd::Unknown => None,
        });
        std::iter::once(t.to_string()).chain(dirs)
    });
    let mut device = false;
    for t in targets {
        let t = t.as_str();
        if is_sysrq_trigger(t) {
            return hit(
                "default:sysrq",
                "writing to /proc/sysrq-trigger (magic SysRq reboots, crashes or powers off the host)",
            );
        }
        if is_power_state_file(t) {
            return hit(
                "default:power",
                "writing to /sys/power/state suspends or hibernates the machine",
            );
        }
        device |= is_block_device(t);
    }
    device
        .then(|| {
            hit(
                "default:dd-device",
                "redirecting output onto a block device",
            )
        })
        .flatten()
}

/// `ln -s /dev/sda d; dd if=x of=d`, `ln -sf /dev/sda /tmp/d; cat x > /tmp/d`: a symbolic
/// link the line makes to a disk, then writes through (by dd, tee, cp, shred or a
/// redirection), is a write onto the disk.
pub fn writes_through_device_link(script: &Script) -> Option<Hit> {
    let mut links: Vec<(&str, &str)> = Vec::new();
    for c in &script.commands {
        let argv: Vec<Arg> = c.words.iter().map(Arg::from_word).collect();
        if argv.first().is_none_or(|p| basename(&p.text) != "ln") {
            continue;
        }
        let f = flags(&argv[1..]);
        if let [target, link] = f.operands.as_slice() {
            if f.has("s", "symbolic") && is_block_device(target) {
                let link = c.words.iter().rev().find(|w| w.text == *link);
                let target = c.words.iter().find(|w| w.text == *target);
                if let (Some(l), Some(t)) = (link, target) {
                    links.push((l.text.as_str(), t.text.as_str()));
                }
            }
        }
    }
    if links.is_empty() {
        return None;
    }
    let through = |t: &str| {
        let t = t.trim_start_matches("./");
        links
            .iter()
            .find(|(l, _)| l.trim_start_matches("./") == t)
            .map(|(_, target)| *target)
    };
    for c in &script.commands {
        if c.words.first().is_some_and(|w| basename(&w.text) == "ln") {
            continue;
        }
        let redirected = c
            .redirects
            .iter()
            .any(|r| r.kind == RedirKind::Output && through(&r.target.text).is_some());
        let argv: Vec<Arg> = c
            .words
            .iter()
            .map(|w| {
                let text = match w.text.split_once('=') {
                    Some((k, v)) if k.bytes().all(|b| b.is_ascii_lowercase()) => {
                        through(v).map(|t| format!("{k}={t}"))
                    }
                    _ => through(&w.text).map(str::to_string),
                };
                Arg {
                    text: text.unwrap_or_else(|| w.text.clone()),
                    ..Arg::from_word(w)
                }
            })
            .collect();
        if redirected || check(&argv).is_some_and(|(id, _)| id == "default:dd-device") {
            return hit(
                "default:dd-device",
                "writing onto a block device through a symbolic link the line makes to it",
            );
        }
    }
    None
}

/// A function that starts copies of itself in a pipeline, in the background or in a
/// subshell — directly or through other functions of the line.
pub fn fork_bomb(script: &Script) -> Option<Hit> {
    let names: Vec<&str> = script.functions.iter().map(|f| f.name.as_str()).collect();
    // edges[f] = (callee index, forks)
    let mut edges: Vec<Vec<(usize, bool)>> = vec![Vec::new(); names.len()];
    for c in &script.commands {
        let (Some(f), Some(w)) = (c.function, c.words.first()) else {
            continue;
        };
        if let Some(g) = names.iter().position(|n| *n == w.text) {
            edges[f].push((g, c.forks));
        }
        edges[f].extend(indirect_calls(script, c, &names));
    }
    if let Some(h) = loop_fork_bomb(script, &names, &edges) {
        return Some(h);
    }
    if let Some(h) = parallel_bomb(script) {
        return Some(h);
    }
    for start in 0..names.len() {
        // DFS for a cycle back to `start` that contains a forking call.
        let mut stack = vec![(start, false)];
        let mut seen = vec![[false; 2]; names.len()];
        while let Some((f, forked)) = stack.pop() {
            for &(g, forks) in &edges[f] {
                let fk = forked || forks;
                if g == start && fk {
                    return hit(
                        "default:fork-bomb",
                        &format!(
                            "this is a fork bomb: function {:?} starts copies of itself",
                            names[start]
                        ),
                    );
                }
                if !seen[g][usize::from(fk)] {
                    seen[g][usize::from(fk)] = true;
                    stack.push((g, fk));
                }
            }
        }
    }
    None
}

/// Calls a command of a function's body makes without naming the function: bash's
/// `$FUNCNAME`, a variable the line sets to a function's name (`x=f; $x & $x`), and the
/// commands of `eval` text (`eval f\&f`). Each is (callee, forks).
fn indirect_calls(script: &Script, c: &SimpleCommand, names: &[&str]) -> Vec<(usize, bool)> {
    let mut out = Vec::new();
    let Some((w, args)) = c.words.split_first() else {
        return out;
    };
    let by_name = |n: &str| names.iter().position(|m| *m == n);
    if matches!(
        w.text.as_str(),
        "$FUNCNAME" | "${FUNCNAME}" | "${FUNCNAME[0]}"
    ) {
        out.extend(c.function.map(|f| (f, c.forks)));
    } else if w.text.starts_with('$') {
        let name = w
            .text
            .trim_start_matches("${")
            .trim_start_matches('$')
            .trim_end_matches('}');
        for v in super::values::values(script, name, c).iter() {
            out.extend(by_name(v.trim()).map(|g| (g, c.forks)));
        }
    } else if w.text == "eval" {
        let text: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        if let Ok(sub) = super::parse::parse(&text.join(" ")) {
            for e in &sub.commands {
                if let Some(g) = e.words.first().and_then(|x| by_name(&x.text)) {
                    out.push((g, c.forks || e.forks));
                }
            }
        }
    }
    out
}

/// `while :; do sleep 1 & setsid -f x; done`: a body command that leaves a process running
/// without `&`: `setsid -f`, `coproc`, `daemonize`, `start-stop-daemon -b`, or a shell
/// whose `-c` code ends in a background job.
fn detaches(c: &SimpleCommand) -> bool {
    let Some(w) = static_texts(&c.words) else {
        return false;
    };
    let Some((&prog, args)) = w.split_first() else {
        return false;
    };
    let short = |letter: char| {
        args.iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains(letter))
    };
    match basename(prog) {
        "setsid" => short('f') || args.contains(&"--fork"),
        "coproc" | "daemonize" => true,
        "start-stop-daemon" => short('b') || args.contains(&"--background"),
        "sh" | "bash" | "dash" | "zsh" | "ksh" => args
            .iter()
            .position(|a| a.starts_with('-') && a.contains('c'))
            .and_then(|i| args.get(i + 1))
            .and_then(|code| super::parse::parse(code).ok())
            .is_some_and(|sub| !sub.background.is_empty()),
        _ => false,
    }
}

/// `sleep 0`, `sleep 0.0`: no pause at all.
fn sleeps_zero(args: &[&str]) -> bool {
    !args.is_empty()
        && args.iter().all(|a| {
            a.trim_end_matches(['s', 'm', 'h', 'd'])
                .parse::<f64>()
                .is_ok_and(|n| n == 0.0)
        })
}

/// `seq inf | xargs -P0 -n1 sleep`, `yes | xargs -P 0 …`, `yes | parallel -j0 …`: unlimited
/// parallel jobs fed by input that never ends.
fn parallel_bomb(script: &Script) -> Option<Hit> {
    for c in &script.commands {
        let Some(w) = static_texts(&c.words) else {
            continue;
        };
        let Some((&prog, args)) = w.split_first() else {
            continue;
        };
        let unlimited = match basename(prog) {
            "xargs" => args.iter().enumerate().any(|(i, a)| {
                matches!(*a, "-P0" | "--max-procs=0")
                    || (matches!(*a, "-P" | "--max-procs") && args.get(i + 1) == Some(&"0"))
            }),
            "parallel" => args.iter().enumerate().any(|(i, a)| {
                matches!(*a, "-j0" | "--jobs=0" | "-j+0")
                    || (matches!(*a, "-j" | "--jobs") && args.get(i + 1) == Some(&"0"))
            }),
            _ => false,
        };
        if !unlimited {
            continue;
        }
        let fed_forever = c.stages.iter().any(|&(p, j)| {
            j > 0
                && script
                    .commands
                    .iter()
                    .any(|d| d.stages.last() == Some(&(p, j - 1)) && endless_producer(d))
        });
        if fed_forever {
            return hit(
                "default:fork-bomb",
                "this is a fork bomb: unlimited parallel jobs (xargs -P0, parallel -j0) fed by input that never ends",
            );
        }
    }
    None
}

/// `while :; do sh & done`, `for ((;;)); do $0 & done`: an endless loop whose body starts
/// a background job (directly or through a function of the line) and never waits for one
/// or sleeps in the foreground, so processes pile up until the machine runs out of them.
fn loop_fork_bomb(script: &Script, names: &[&str], edges: &[Vec<(usize, bool)>]) -> Option<Hit> {
    if script.background.is_empty() && !script.commands.iter().any(detaches) {
        return None;
    }
    // Functions whose body starts a background job, directly or through another function.
    let mut spawns = vec![false; names.len()];
    for r in &script.background {
        for c in &script.commands[r.clone()] {
            if let Some(f) = c.function {
                spawns[f] = true;
            }
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for f in 0..names.len() {
            if !spawns[f] && edges[f].iter().any(|&(g, _)| spawns[g]) {
                spawns[f] = true;
                changed = true;
            }
        }
    }
    for l in &script.loops {
        if !endless(script, l) {
            continue;
        }
        let jobs: Vec<_> = script
            .background
            .iter()
            .filter(|r| !r.is_empty() && r.start >= l.body.start && r.end <= l.body.end)
            .collect();
        let body = || (l.body.clone()).map(|i| (i, &script.commands[i]));
        let calls_spawner = body().any(|(_, c)| {
            c.words
                .first()
                .and_then(|w| names.iter().position(|n| *n == w.text))
                .is_some_and(|f| spawns[f])
        });
        let detached = body().any(|(_, c)| detaches(c));
        if jobs.is_empty() && !calls_spawner && !detached {
            continue;
        }
        let throttled = body().any(|(i, c)| {
            let w: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
            !jobs.iter().any(|r| r.contains(&i))
                && w.first().is_some_and(|p| match basename(p) {
                    "wait" => true,
                    "sleep" => !sleeps_zero(&w[1..]),
                    _ => false,
                })
        });
        if !throttled {
            return hit(
                "default:fork-bomb",
                "this is a fork bomb: an endless loop starts background jobs and never waits for them",
            );
        }
    }
    None
}

/// A loop whose condition never ends it: `while :`, `while true`, `while [ 1 ]`,
/// `while ((1))`, `while [[ 1 ]]`, `until false`, `while ! false`, `for ((;;))`,
/// `for ((;1;))` — or a `while read` whose input never runs out (`yes | while read l`).
fn endless(script: &Script, l: &Loop) -> bool {
    let until = match &l.kind {
        LoopKind::Arith(cond) => {
            return cond.is_empty() || arith_status(cond) == Some(true);
        }
        LoopKind::Words => return false,
        LoopKind::While => false,
        LoopKind::Until => true,
    };
    let status = match &l.cond_test {
        Some(Test::Arith(expr)) => arith_status(expr),
        Some(Test::Bracket(words)) => static_texts(words).and_then(|w| test_status(&w)),
        None => {
            let Some(last) = script.commands[l.cond.clone()].last() else {
                return false;
            };
            constant_status(last)
                .or_else(|| (!until && reads_forever(script, l, last)).then_some(true))
        }
    };
    // `while` runs while the condition succeeds, `until` while it fails; `!` inverts it.
    status.is_some_and(|ok| (ok != l.cond_negated) != until)
}

/// The exit status of `(( expr ))` when `expr` is an integer literal: true unless it is 0.
fn arith_status(expr: &str) -> Option<bool> {
    expr.trim().parse::<i64>().ok().map(|n| n != 0)
}

/// The texts of words that are known before the line runs.
fn static_texts(words: &[Word]) -> Option<Vec<&str>> {
    words
        .iter()
        .map(|w| w.is_static().then_some(w.text.as_str()))
        .collect()
}

/// The exit status of a command that always succeeds (`Some(true)`: `:`, `true`, `[ 1 ]`,
/// `test x = x`) or always fails (`Some(false)`: `false`, `[ ]`, `[ "" ]`).
fn constant_status(c: &SimpleCommand) -> Option<bool> {
    let w = static_texts(&c.words)?;
    let (&prog, args) = w.split_first()?;
    let args = match basename(prog) {
        ":" | "true" | "echo" | "printf" => return Some(true),
        "sleep" if sleeps_zero(args) => return Some(true),
        "false" => return Some(false),
        "[" => args.strip_suffix(&["]"])?,
        "test" => args,
        _ => return None,
    };
    test_status(args)
}

/// The status of `test ARGS` (and of `[[ ARGS ]]`) when the arguments decide it alone.
fn test_status(args: &[&str]) -> Option<bool> {
    match args {
        [] => Some(false),
        [a] => Some(!a.is_empty()),
        [a, op, b] if a == b && matches!(*op, "=" | "==" | "-eq") => Some(true),
        _ => None,
    }
}

/// `yes | while read l`, `while read l; do …; done < /dev/urandom`, `while yes | read l`:
/// the condition is `read` from standard input, and that input never ends.
fn reads_forever(script: &Script, l: &Loop, read: &SimpleCommand) -> bool {
    let Some(w) = static_texts(&read.words) else {
        return false;
    };
    // `read -u N` reads another descriptor.
    if w.first().map(|p| basename(p)) != Some("read") || w[1..].iter().any(|a| a.starts_with("-u"))
    {
        return false;
    }
    let own = read
        .redirects
        .iter()
        .rev()
        .find(|r| r.kind == RedirKind::Input && !r.here);
    if let Some(input) = own.map(|r| &r.target).or(l.input.as_ref()) {
        return input.is_static() && endless_file(&input.text);
    }
    // The nearest enclosing pipeline stage that is not the first feeds it.
    let Some(&(p, j)) = read.stages.iter().rev().find(|&&(_, j)| j > 0) else {
        return false;
    };
    let feeder = (p, j - 1);
    script.commands.iter().enumerate().any(|(i, c)| {
        let producer = c.stages.last() == Some(&feeder) && endless_producer(c);
        // A loop of an earlier stage (it ends before this one starts) that never ends.
        let endless_loop = || {
            c.stages.contains(&feeder)
                && script.loops.iter().any(|f| {
                    f.body.contains(&i) && f.body.end <= l.cond.start && endless(script, f)
                })
        };
        producer || endless_loop()
    })
}

/// Files whose reading never ends with lines in them (`/dev/zero` has no newline, so
/// `read` blocks on it instead).
fn endless_file(t: &str) -> bool {
    matches!(path_parts(t).as_slice(), ["dev", "urandom" | "random"])
}

/// Programs whose output never ends: `yes`, `tail -f`, and readers of `/dev/urandom`
/// other than `head` and `dd`, which stop after a count.
fn endless_producer(c: &SimpleCommand) -> bool {
    let Some(w) = static_texts(&c.words) else {
        return false;
    };
    let Some((&prog, args)) = w.split_first() else {
        return false;
    };
    match basename(prog) {
        "yes" => true,
        "seq" => args
            .iter()
            .any(|a| matches!(a.to_ascii_lowercase().as_str(), "inf" | "infinity")),
        "tail" => args.iter().any(|a| {
            a.starts_with("--follow")
                || (a.starts_with('-') && !a.starts_with("--") && a.contains(['f', 'F']))
        }),
        "head" | "dd" => false,
        _ => {
            args.iter().any(|a| endless_file(a))
                || c.redirects.iter().any(|r| {
                    r.kind == RedirKind::Input
                        && !r.here
                        && r.target.is_static()
                        && endless_file(&r.target.text)
                })
        }
    }
}

/// Functions of Python, Perl, Ruby, Node and PHP that hand a string to a shell or run a
/// program from a list of words.
const RUNNERS: &[&str] = &[
    "system",
    "popen",
    "popen2",
    "popen3",
    "exec",
    "execl",
    "execlp",
    "execv",
    "execvp",
    "execvpe",
    "spawn",
    "spawnSync",
    "execSync",
    "execFile",
    "execFileSync",
    "spawnl",
    "spawnlp",
    "spawnv",
    "spawnvp",
    "run",
    "call",
    "check_call",
    "check_output",
    "getoutput",
    "getstatusoutput",
    "Popen",
    "shell_exec",
    "passthru",
    "proc_open",
    "pcntl_exec",
    "capture2",
    "capture2e",
    "capture3",
    "qx",
    // Lua's `os.execute("…")`.
    "execute",
];

/// Functions that delete a directory tree (`shutil.rmtree`, `File::Path::remove_tree`,
/// `FileUtils.rm_rf`, `fs.rmSync`).
const TREE_REMOVERS: &[&str] = &[
    "rmtree",
    "remove_tree",
    "rm_rf",
    "rm_r",
    "remove_dir_all",
    "rmSync",
    "rmdirSync",
    "rimraf",
];

/// One string literal of interpreter code: its text with the common escapes resolved.
fn literal_at(code: &[u8], start: usize) -> Option<(String, usize)> {
    let q = code[start];
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < code.len() {
        match code[i] {
            c if c == q => return Some((String::from_utf8_lossy(&out).into_owned(), i + 1)),
            b'\\' if q != b'\'' || code.get(i + 1) == Some(&b'\'') => {
                let e = *code.get(i + 1)?;
                out.push(match e {
                    b'n' => b'\n',
                    b't' => b'\t',
                    e => e,
                });
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

/// Shell command lines in interpreter code: the string given to a function that runs a
/// shell or a program (`os.system("…")`, `subprocess.run(["rm", "-rf", "/"])`, `system
/// "…"`, `execSync('…')`), backquotes and `qx{…}` / `%x(…)` in Perl, Ruby and PHP. Several
/// literals in one call are the words of one command; a `cwd`/`chdir` option is a `cd` in
/// front of it and `env` values are no words at all. Best effort: a literal built at run
/// time is not seen.
pub fn code_shell_lines(lang: &str, code: &str) -> Vec<String> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let backquote_runs = matches!(lang, "perl" | "ruby" | "php");
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b'\'' | b'"') || (c == b'`' && backquote_runs) {
            match literal_at(b, i) {
                Some((lit, next)) => {
                    if c == b'`' {
                        out.push(lit);
                    }
                    i = next;
                }
                None => break,
            }
            continue;
        }
        if !(c == b'_' || c == b'%' || c.is_ascii_alphabetic()) {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
            i += 1;
        }
        let name = &code[start..i];
        // qx{…}, qx(…), %x(…): the text up to the closing delimiter is a shell line.
        if matches!(name, "qx" | "%x") && backquote_runs {
            if let Some(&open) = b.get(i) {
                let close = match open {
                    b'(' => b')',
                    b'{' => b'}',
                    b'[' => b']',
                    b'<' => b'>',
                    c if c.is_ascii_punctuation() => c,
                    _ => continue,
                };
                if let Some(end) = b[i + 1..].iter().position(|&x| x == close) {
                    out.push(code[i + 1..i + 1 + end].to_string());
                    i += end + 2;
                }
            }
            continue;
        }
        if !RUNNERS.contains(&name) {
            continue;
        }
        let call = call_literals(b, i);
        let line = match call.words.as_slice() {
            [] => continue,
            [one] => one.clone(),
            words => words
                .iter()
                .map(|w| sh_quote(w))
                .collect::<Vec<_>>()
                .join(" "),
        };
        // `subprocess.run(…, cwd='/dev')` runs the command there: `cd /dev && …`.
        out.push(match call.cwd {
            Some(dir) => format!("cd {dir} && {line}"),
            None => line,
        });
    }
    out
}

/// `it's` → `'it'\''s'`: one shell word with the text `t`.
fn sh_quote(t: &str) -> String {
    format!("'{}'", t.replace('\'', r"'\''"))
}

/// The arguments of an interpreter's call, as far as they name the command it runs.
struct CallLiterals {
    /// The string literals among the arguments, in order: the words of the command.
    words: Vec<String>,
    /// The directory a `cwd=` / `chdir:` option names, as a shell word (`"$cwd"` when it
    /// is not a literal).
    cwd: Option<String>,
    /// The program an `executable=` option names (`"$executable"` when not a literal).
    program: Option<String>,
    /// `shell=True`: the words are a shell line, `executable` is the shell.
    shell: bool,
}

/// Options of the functions in [`RUNNERS`] whose values say where and with which
/// environment the command runs, not what it runs (`cwd='/'` is not a word of the command).
const WHERE_OPTIONS: &[&str] = &["cwd", "chdir", "env", "executable", "shell"];

/// After an option's name: the position of its value (`name=v`, `name: v`, `name => v`;
/// not `==` or `::`).
fn option_value(b: &[u8], mut i: usize) -> Option<usize> {
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    match (b.get(i), b.get(i + 1)) {
        (Some(b'='), Some(b'>')) => Some(i + 2),
        (Some(b'='), Some(b'=')) | (Some(b':'), Some(b':')) => None,
        (Some(b'=' | b':'), _) => Some(i + 1),
        _ => None,
    }
    .map(|mut v| {
        while b.get(v) == Some(&b' ') {
            v += 1;
        }
        v
    })
}

/// The end of the argument value starting at `i`: the next `,` outside brackets and
/// strings, or the bracket (or, for `paren == false`, the `;` or newline) that closes the
/// argument list.
fn value_end(b: &[u8], mut i: usize, paren: bool) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => match literal_at(b, i) {
                Some((_, next)) => {
                    i = next;
                    continue;
                }
                None => return b.len(),
            },
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth > 0 => depth -= 1,
            b')' | b']' | b'}' | b',' => return i,
            b';' | b'\n' if !paren && depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The string literals among the arguments of a call whose name ends at `i`: inside
/// `( … )`, or up to `;` or the end of the line for Perl's and Ruby's `system "…"`. The
/// values of [`WHERE_OPTIONS`] are not words of the command; `cwd`/`chdir` is kept apart.
fn call_literals(b: &[u8], mut i: usize) -> CallLiterals {
    let call = CallLiterals {
        words: Vec::new(),
        cwd: None,
        program: None,
        shell: false,
    };
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    // Perl's `system { "rm" } "ls", "-rf", "/"`: the block names the program, the list
    // after it is its argv (whose first word is only the name the program is given).
    let mut program = None;
    if b.get(i) == Some(&b'{') {
        let Some(close) = b[i..].iter().position(|&c| c == b'}') else {
            return call;
        };
        let inside = &b[i + 1..i + close];
        let lit = inside
            .iter()
            .position(|&c| matches!(c, b'\'' | b'"'))
            .and_then(|at| literal_at(inside, at));
        program = Some(lit.map(|(p, _)| p));
        i += close + 1;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
    }
    let mut call = call_words(b, i, call);
    match program {
        Some(Some(p)) if !call.words.is_empty() => call.words[0] = p,
        // The block is not a literal: the program cannot be known.
        Some(None) => call.words.clear(),
        _ => {}
    }
    if let Some(p) = call.program.take() {
        // `executable=` (Python's subprocess): the program run, argv[0] only its name.
        match call.words.first_mut() {
            Some(first) if !call.shell => *first = p,
            _ => {}
        }
    }
    call
}

/// [`call_literals`] from the argument list starting at `i`.
fn call_words(b: &[u8], mut i: usize, mut call: CallLiterals) -> CallLiterals {
    let paren = b.get(i) == Some(&b'(');
    if !paren && !matches!(b.get(i), Some(b'\'' | b'"')) {
        return call;
    }
    if paren {
        i += 1;
    }
    let mut depth = 0usize;
    while i < b.len() {
        // An option's name: a word (`cwd=`, `chdir:`, `:chdir =>`) or a string (`'cwd':`).
        let name = match b[i] {
            b'\'' | b'"' => match literal_at(b, i) {
                Some((lit, next)) => Some((lit, next)),
                None => break,
            },
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let start = i;
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                let word = String::from_utf8_lossy(&b[start..i]).into_owned();
                let value = option_value(b, i).filter(|_| WHERE_OPTIONS.contains(&word.as_str()));
                if value.is_none() {
                    continue;
                }
                Some((word, i))
            }
            _ => None,
        };
        if let Some((text, next)) = name {
            let value = option_value(b, next).filter(|_| WHERE_OPTIONS.contains(&text.as_str()));
            let Some(v) = value else {
                call.words.push(text);
                i = next;
                continue;
            };
            let end = value_end(b, v, paren);
            let literal = matches!(b.get(v), Some(b'\'' | b'"'))
                .then(|| literal_at(b, v))
                .flatten()
                .filter(|&(_, after)| after == end || b[after..end].iter().all(|&c| c == b' '));
            match text.as_str() {
                "env" => {}
                "shell" => call.shell = !b[v..end].starts_with(b"False"),
                "executable" => {
                    call.program = Some(match literal {
                        Some((p, _)) => p,
                        None => "$executable".to_string(),
                    })
                }
                _ => {
                    call.cwd = Some(match literal {
                        Some((dir, _)) => sh_quote(&dir),
                        None => "\"$cwd\"".to_string(),
                    })
                }
            }
            i = end;
            continue;
        }
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth > 0 => depth -= 1,
            b')' if paren => break,
            b';' | b'\n' if !paren => break,
            _ => {}
        }
        i += 1;
    }
    call
}

/// `shutil.rmtree("/")`, `FileUtils.rm_rf("~")`, `fs.rmSync("/", …)`: interpreter code
/// deleting the root, home or a top-level system directory.
pub fn code_deletes_root(code: &str) -> bool {
    let b = code.as_bytes();
    TREE_REMOVERS.iter().any(|f| {
        code.match_indices(f).any(|(at, _)| {
            let before_ok = at == 0 || !(b[at - 1] == b'_' || b[at - 1].is_ascii_alphanumeric());
            let after = at + f.len();
            let target = joined_path(b, after)
                .or_else(|| home_expression(b, after))
                .or_else(|| call_literals(b, after).words.into_iter().next());
            before_ok && target.is_some_and(|t| is_root_target(&t))
        })
    })
}

/// `~` when a call's first argument is the home directory spelled the interpreter's way:
/// `os.environ["HOME"]`, `os.getenv("HOME")`, `Path.home()`, `$ENV{HOME}`, `ENV["HOME"]`,
/// `Dir.home`, `os.homedir()`, `process.env.HOME` (with or without the call's parenthesis).
fn home_expression(b: &[u8], mut i: usize) -> Option<String> {
    while matches!(b.get(i), Some(b' ' | b'(')) {
        i += 1;
    }
    let rest = String::from_utf8_lossy(&b[i..b.len().min(i + 40)]).replace('\'', "\"");
    const HOME: &[&str] = &[
        "os.environ[\"HOME\"]",
        "os.environ.get(\"HOME\"",
        "os.getenv(\"HOME\"",
        "environ[\"HOME\"]",
        "getenv(\"HOME\"",
        "pathlib.Path.home()",
        "Path.home()",
        "$ENV{HOME}",
        "$ENV{\"HOME\"}",
        "ENV[\"HOME\"]",
        "Dir.home",
        "os.homedir()",
        "require(\"os\").homedir()",
        "homedir()",
        "process.env.HOME",
        "process.env[\"HOME\"]",
    ];
    HOME.iter()
        .any(|h| {
            rest.starts_with(h)
                && !rest[h.len()..].starts_with(|c: char| c == '_' || c.is_ascii_alphanumeric())
        })
        .then(|| "~".to_string())
}

/// The path a call's first argument builds with `os.path.join(…)` (or `path.join`,
/// `posixpath.join`), when it does: literals as written, anything else as `$x` (like a
/// shell variable), an absolute part starting the path anew. `rmtree(os.path.join('/',
/// 'tmp', 'b'))` deletes `/tmp/b`, not the root its first literal names.
fn joined_path(b: &[u8], mut i: usize) -> Option<String> {
    let skip = |b: &[u8], mut i: usize| {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    i = skip(b, i);
    if b.get(i) != Some(&b'(') {
        return None;
    }
    i = skip(b, i + 1);
    let rest = &b[i..];
    let name = ["os.path.join(", "posixpath.join(", "path.join("]
        .into_iter()
        .find(|n| rest.starts_with(n.as_bytes()))?;
    i += name.len();
    let mut path = String::new();
    loop {
        i = skip(b, i);
        let end = value_end(b, i, true);
        let part = match literal_at(b, i).filter(|&(_, after)| skip(b, after) == end) {
            Some((lit, _)) if matches!(b.get(i), Some(b'\'' | b'"')) => lit,
            _ => "$x".to_string(),
        };
        if part.starts_with('/') || path.is_empty() {
            path = part;
        } else {
            path = format!("{}/{part}", path.trim_end_matches('/'));
        }
        match b.get(end) {
            Some(b',') => i = end + 1,
            _ => return Some(path),
        }
    }
}

/// Programs that fetch from the network.
pub fn is_downloader(prog: &str) -> bool {
    matches!(
        basename(prog),
        "curl"
            | "wget"
            | "fetch"
            | "aria2c"
            | "http"
            | "https"
            | "xh"
            | "lynx"
            | "links"
            | "ftp"
            | "tftp"
            | "lwp-download"
            | "lwp-request"
            | "GET"
            | "wget2"
            | "curlie"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse::parse;

    #[test]
    fn commands_that_run_only_after_a_cd() {
        // The index of each command whose program is `rm`, and whether it is pinned.
        let pinned = |line: &str| -> Vec<bool> {
            let s = parse(line).unwrap();
            (0..s.commands.len())
                .filter(|&i| s.commands[i].words.first().is_some_and(|w| w.text == "rm"))
                .map(|i| runs_after_cd(&s, i))
                .collect()
        };
        assert_eq!(pinned("cd b && rm x"), [true]);
        assert_eq!(pinned("cd b && make && rm x || rm y"), [true, false]);
        assert_eq!(pinned("cd b; rm x"), [false]);
        assert_eq!(pinned("cd b || true && rm x"), [false]);
        assert_eq!(pinned("! cd b && rm x"), [false]);
        assert_eq!(pinned("cd - && rm x"), [false]);
        assert_eq!(pinned("cd \"$D\" && rm x"), [false]);
        assert_eq!(pinned("cd b | cat && rm x"), [false]);
        assert_eq!(pinned("{ cd b && rm x; }"), [false]);
        assert_eq!(pinned("cd b && (rm x) && y=$(rm z)"), [true, true]);
        // The start is left out of the directories only while every cd is followed.
        let dir = |d: &str| Cwd::Dir(d.into());
        let after = |line: &str| cd_dirs_after_cd(&parse(line).unwrap(), &[dir("/")]);
        let found = after("cd b && rm x").unwrap();
        assert!(found.contains(&dir("/b")) && !found.contains(&dir("/")));
        assert!(after("cd b && cd .. && rm x").unwrap().contains(&dir("/")));
        assert_eq!(after("cd b && cd - && rm x"), None);
        assert_eq!(after("cd b && popd && rm x"), None);
        assert_eq!(after("cd() { :; }; cd b && rm x"), None);
        assert_eq!(cd_dirs_after_cd(&parse("cd b").unwrap(), &[]), None);
    }

    #[test]
    fn directories_a_line_changes_to() {
        let dirs = |line: &str| cd_dirs(&parse(line).unwrap(), &[]);
        let dir = |d: &str| Cwd::Dir(d.into());
        assert_eq!(dirs("ls; cd -; pushd +1; pushd -0"), []);
        // Relative targets are read from every directory found so far, twice over.
        let found = dirs("cd -P /dev//shm/..; cd /; cd ..; cd usr");
        assert_eq!(
            found[..4],
            [dir("/dev"), dir("/"), dir("/dev/usr"), dir("/usr")]
        );
        assert!(found.contains(&dir("/usr/usr")) && !found.contains(&Cwd::Unknown));
        assert_eq!(dirs("cd \"$X\""), [Cwd::Unknown]);
        assert_eq!(dirs("cd"), [Cwd::Unknown]);
        assert_eq!(dirs("cd ~/src"), [Cwd::Unknown]);
        // An enclosing line's directories come first; a relative cd is read from them.
        let found = cd_dirs(&parse("cd mapper").unwrap(), &[dir("/dev")]);
        assert_eq!(found[..2], [dir("/dev"), dir("/dev/mapper")]);
        // `..` out of an unknown directory may reach the root; CDPATH adds its directories.
        assert_eq!(dirs("cd ~/../../dev"), [dir("/dev"), Cwd::Unknown]);
        assert_eq!(dirs("cd ~/src/../dev"), [Cwd::Unknown]);
        assert_eq!(dirs("cd ../dev"), [dir("/dev")]);
        assert_eq!(dirs("CDPATH=/ cd dev")[0], dir("/dev"));
        assert_eq!(dirs("CDPATH=$X cd dev"), [Cwd::Unknown]);
        assert_eq!(
            chdir_dirs(&Arg::lit("mapper"), &[dir("/dev")]),
            [dir("/dev/mapper")]
        );
        let many: String = (0..40).map(|i| format!("cd /d{i}; ")).collect();
        let found = dirs(&format!("{many} cd sub"));
        assert!(found.contains(&Cwd::Unknown) && found.len() == 41);
    }

    #[test]
    fn where_a_call_runs_is_not_a_word_of_its_command() {
        let lines = |lang: &str, code: &str| code_shell_lines(lang, code);
        assert_eq!(
            lines("python", "run(['rm', '-rf', 'build'], cwd='/', check=True)"),
            ["cd '/' && 'rm' '-rf' 'build'"]
        );
        assert_eq!(
            lines("python", "run('ls', env={'HOME': '/'}, cwd=d)"),
            ["cd \"$cwd\" && ls"]
        );
        assert_eq!(
            lines("python", "run('ls', **{'cwd': '/t', 'env': {}})"),
            ["cd '/t' && ls"]
        );
        assert_eq!(
            lines("node", "execSync('make', {cwd: '/src', env: {A: '1'}})"),
            ["cd '/src' && make"]
        );
        assert_eq!(
            lines("ruby", "system('rm', '-rf', 'x', :chdir => '/tmp')"),
            ["cd '/tmp' && 'rm' '-rf' 'x'"]
        );
        // Other options and keyword arguments are read as before.
        assert_eq!(lines("python", "run(args='id', shell=True)"), ["id"]);
        assert_eq!(lines("python", "run(['echo', 'cwd'])"), ["'echo' 'cwd'"]);
        assert_eq!(
            lines("perl", "system \"rm\", \"-rf\", \"/\"; print 1"),
            ["'rm' '-rf' '/'"]
        );
        // Reading `/` is not running anything.
        assert!(lines("python", "print(os.listdir('/'))").is_empty());
    }

    #[test]
    fn the_program_a_call_names_apart_from_its_argv() {
        let lines = |lang: &str, code: &str| code_shell_lines(lang, code);
        // Perl's indirect object: the block is the program, the list its argv.
        assert_eq!(
            lines("perl", "system { \"rm\" } \"ls\", \"-rf\", \"/\"; 1"),
            ["'rm' '-rf' '/'"]
        );
        assert_eq!(lines("perl", "exec {'rm'} 'x -rf /'"), ["rm"]);
        assert!(lines("perl", "system { $p } 'ls', '/'").is_empty());
        // Python's executable=: the program; argv[0] is only its name. With shell=True
        // the words stay a shell line (the executable is the shell).
        assert_eq!(
            lines("python", "run(['ls', '-rf', '/'], executable='rm')"),
            ["'rm' '-rf' '/'"]
        );
        assert_eq!(
            lines("python", "run('ls /', shell=True, executable='/bin/bash')"),
            ["ls /"]
        );
        assert_eq!(
            lines("python", "run(['ls', '/'], executable=prog)"),
            ["'$executable' '/'"]
        );
    }

    #[test]
    fn a_joined_path_is_the_tree_deleted() {
        assert!(!code_deletes_root(
            "shutil.rmtree(os.path.join('/', 'tmp', 'build'))"
        ));
        assert!(!code_deletes_root(
            "shutil.rmtree(os.path.join('/tmp', name))"
        ));
        assert!(code_deletes_root("shutil.rmtree(os.path.join('/', 'etc'))"));
        for home in [
            "shutil.rmtree(os.environ['HOME'])",
            "shutil.rmtree( os.getenv(\"HOME\") )",
            "shutil.rmtree(pathlib.Path.home())",
            "remove_tree($ENV{HOME})",
            "FileUtils.rm_rf(ENV['HOME'])",
            "FileUtils.rm_rf Dir.home",
            "fs.rmSync(os.homedir(), {recursive: true})",
            "fs.rmSync(process.env.HOME, {recursive: true})",
        ] {
            assert!(code_deletes_root(home), "{home}");
        }
        assert!(!code_deletes_root(
            "shutil.rmtree(os.path.join(os.environ['HOME'], 'build'))"
        ));
        assert!(!code_deletes_root(
            "shutil.rmtree(os.environ['HOMEDIR_BUILD'])"
        ));
        assert!(!code_deletes_root(
            "fs.rmSync(process.env.HOMEPATH_X, {recursive: true})"
        ));
        assert!(code_deletes_root(
            "shutil.rmtree(os.path.join('/tmp', '/'))"
        ));
        assert!(code_deletes_root("shutil.rmtree(os.path.join('/', name))"));
        assert!(code_deletes_root("shutil.rmtree( os.path.join( \"/\" ) )"));
        assert!(code_deletes_root("shutil.rmtree('/')"));
        assert!(!code_deletes_root("shutil.rmtree('build')"));
    }

    #[test]
    fn block_devices_and_harmless_character_devices() {
        for disk in [
            "/dev/sda",
            "/dev/sda1",
            "/dev/nvme0n1p1",
            "/dev/vda",
            "/dev/xvdb",
            "/dev/hda",
            "/dev/mmcblk0",
            "/dev/md0",
            "/dev/dm-0",
            "/dev/mapper/vg0-root",
            "/dev/disk/by-id/ata-DISK",
            "/dev/loop0",
            "/dev/sr0",
            "/dev/nbd0",
            "/dev/zd0",
            "/dev/rbd0",
            "/dev/mem",
            "/dev/kmem",
            "/dev/port",
            "/dev/fd0",
            "/dev/vg0/root",
            "/dev/sd*",
            "/dev/tty*",
            "/dev/fd/x",
            "//dev/sda",
            "/dev//sda",
            "/dev/./sda",
            "/dev/shm/../sda",
            "/dev/pts/../sda",
            "/dev/fd/../sda",
            "/tmp/../dev/sda",
            "/proc/self/root/dev/sda",
            "/proc/1/root/dev/sda",
            "/proc/thread-self/root/proc/self/root/dev/sda",
        ] {
            assert!(is_block_device(disk), "{disk}");
        }
        for harmless in [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/urandom",
            "/dev/stdout",
            "/dev/stderr",
            "/dev/fd/1",
            "/dev/fd/10",
            "/dev/tty",
            "/dev/tty1",
            "/dev/tty63",
            "/dev/ttyS0",
            "/dev/ttyUSB0",
            "/dev/ttyACM1",
            "/dev/ttyAMA0",
            "/dev/console",
            "/dev/ptmx",
            "/dev/pts/0",
            "/dev/pts/ptmx",
            "/dev/shm/x",
            "/dev/shm/a/b",
            "/dev/tcp/127.0.0.1/9",
            "/dev/udp/host/53",
            "/dev",
            "/dev/",
            "/tmp/dev/sda",
            "dev/sda",
            "sda",
            "/proc/self/root/dev/null",
            "/proc/x/root/dev/sda",
        ] {
            assert!(!is_block_device(harmless), "{harmless}");
        }
    }
}
