//! The built-in dangerous-operation rules, matched on argv words.

/// Rule ids and descriptions, for `list_blocked_commands`.
const RULES: &[(&str, &str)] = &[
    ("default:rm-root", "recursive rm of /, /*, ~ or $HOME"),
    (
        "default:mkfs",
        "mkfs*, mke2fs, wipefs (formatting filesystems)",
    ),
    ("default:dd-device", "dd onto a block device"),
    (
        "default:power",
        "shutdown, reboot, halt, poweroff, init 0|6, telinit, systemctl poweroff|reboot",
    ),
    ("default:kill-all", "kill -9 -1 (every process)"),
    ("default:chmod-root", "recursive chmod/chown of /"),
    ("default:fork-bomb", "fork bombs"),
    (
        "default:download-exec",
        "download-and-execute (curl … | sh)",
    ),
];

/// Descriptions of the default rules.
pub fn describe() -> Vec<String> {
    RULES.iter().map(|(id, d)| format!("{id}: {d}")).collect()
}

fn basename(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

fn has_flag(args: &[String], short: char, long: &str) -> bool {
    args.iter().any(|a| {
        a == long || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains(short))
    })
}

fn is_root_target(a: &str) -> bool {
    matches!(
        a,
        "/" | "/*" | "~" | "~/" | "$HOME" | "${HOME}" | "$HOME/" | "/." | "//"
    )
}

/// Checks one simple command. Returns the rule id and a reason.
pub fn check(argv: &[String]) -> Option<(String, String)> {
    let prog = basename(argv.first()?);
    let args = &argv[1..];
    let hit = |id: &str, why: &str| Some((id.to_string(), why.to_string()));
    match prog {
        "rm" if (has_flag(args, 'r', "--recursive") || has_flag(args, 'R', "--recursive"))
            && args.iter().any(|a| is_root_target(a)) =>
        {
            return hit(
                "default:rm-root",
                "recursive rm of the root or home directory is blocked by the default blocklist",
            );
        }
        p if p.starts_with("mkfs") || p == "mke2fs" || p == "wipefs" => {
            return hit(
                "default:mkfs",
                "formatting or wiping a filesystem is blocked by the default blocklist",
            );
        }
        "dd" if args
            .iter()
            .any(|a| a.starts_with("of=/dev/") && !a.starts_with("of=/dev/null")) =>
        {
            return hit(
                "default:dd-device",
                "dd onto a device is blocked by the default blocklist",
            );
        }
        "shutdown" | "reboot" | "halt" | "poweroff" => {
            return hit(
                "default:power",
                "shutting down or rebooting the machine is blocked by the default blocklist",
            );
        }
        "init" | "telinit" if args.iter().any(|a| a == "0" || a == "6") => {
            return hit(
                "default:power",
                "changing the runlevel to halt or reboot is blocked by the default blocklist",
            );
        }
        "systemctl"
            if args
                .iter()
                .any(|a| matches!(a.as_str(), "poweroff" | "reboot" | "halt" | "kexec")) =>
        {
            return hit(
                "default:power",
                "shutting down or rebooting the machine is blocked by the default blocklist",
            );
        }
        "kill" | "pkill"
            if args.iter().any(|a| a == "-1")
                && args
                    .iter()
                    .any(|a| a == "-9" || a == "-KILL" || a == "-SIGKILL" || a == "-s") =>
        {
            return hit(
                "default:kill-all",
                "killing every process (kill -9 -1) is blocked by the default blocklist",
            );
        }
        "chmod" | "chown" | "chgrp"
            if has_flag(args, 'R', "--recursive") && args.iter().any(|a| a == "/") =>
        {
            return hit(
                "default:chmod-root",
                "recursive chmod/chown of / is blocked by the default blocklist",
            );
        }
        _ => {}
    }
    None
}

/// Checks patterns that span simple commands: fork bombs and download-and-execute.
pub fn check_line(line: &str) -> Option<(String, String)> {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    // name(){ …name|name… } or name(){ …name&… }: a function that starts copies of itself.
    let def = regex::Regex::new(r"([A-Za-z_:.][\w:.]*)\(\)\{([^}]*)\}").expect("static regex");
    for c in def.captures_iter(&compact) {
        let (name, body) = (&c[1], &c[2]);
        let piped = format!("{name}|");
        let bg = format!("{name}&");
        if body.contains(&piped) || body.contains(&bg) {
            return Some(("default:fork-bomb".into(), "this looks like a fork bomb (a function that starts copies of itself); blocked by the default blocklist".into()));
        }
    }
    let dl = regex::Regex::new(r"(^|[;&|(`\s])(curl|wget)\b[^|]*\|\s*(sudo\s+)?(ba|da|z|k)?sh\b")
        .expect("static regex");
    if dl.is_match(line) {
        return Some((
            "default:download-exec".into(),
            "piping a download into a shell is blocked by the default blocklist".into(),
        ));
    }
    None
}
