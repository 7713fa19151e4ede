//! Scripts the line writes and then runs (`echo 'rm -rf /' > x.sh; sh x.sh`,
//! `printf '$0&$0&' > b.sh; chmod +x b.sh; ./b.sh`): the literal text `echo`, `printf` or
//! `cat <<EOF` put into a file is checked as shell code where the same line runs that file
//! (`sh FILE`, `. FILE`, `./FILE`, `sh < FILE`), and a script that starts copies of itself
//! (`$0 & $0`, `sh $0 | sh $0`) is a fork bomb.

use super::blocklist::{self, Cwd};
use super::download::{reads_code, runs_file};
use super::parse::{self, RedirKind, Script, SimpleCommand};
use super::rules::basename;
use super::{args_of, printed_texts, Policy};

impl Policy {
    /// The first refusal of a script the line writes and then runs.
    pub(super) fn written_then_run(
        &self,
        script: &Script,
        depth: usize,
        cwds: &[Cwd],
    ) -> Option<(String, String)> {
        let files = written_files(script);
        if files.is_empty() {
            return None;
        }
        for c in &script.commands {
            let argv = args_of(c);
            for (path, text) in &files {
                let same = |t: &str| t.trim_start_matches("./") == path;
                let from_input = c
                    .redirects
                    .iter()
                    .any(|r| r.kind == RedirKind::Input && !r.here && same(&r.target.text))
                    && reads_code(&argv, true, 0);
                if !(from_input || runs_file(&argv, &same, 0)) {
                    continue;
                }
                if spawns_itself(text) {
                    let (id, why) = blocklist::hit_of(
                        "default:fork-bomb",
                        "a script written by the line that starts copies of itself ($0 & $0)",
                    );
                    return Some((id.to_string(), why));
                }
                if let Some(r) = self.refuse_shell_text(text, depth, cwds) {
                    return Some(r);
                }
            }
        }
        None
    }
}

/// Files the line fills with literal text: `echo …`, `printf …` or `cat <<EOF` redirected
/// into them, or piped into `tee FILE`.
fn written_files(script: &Script) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in &script.commands {
        let Some(texts) = printed_texts(script, c) else {
            continue;
        };
        for text in texts {
            for r in c.redirects.iter().filter(|r| r.kind == RedirKind::Output) {
                out.push((
                    r.target.text.trim_start_matches("./").to_string(),
                    text.clone(),
                ));
            }
            for t in script.commands.iter().filter(|t| piped_into(c, t)) {
                let words: Vec<&str> = t.words.iter().map(|w| w.text.as_str()).collect();
                if words.first().is_some_and(|p| basename(p) == "tee") {
                    out.extend(
                        words[1..]
                            .iter()
                            .filter(|w| !w.starts_with('-'))
                            .map(|w| (w.trim_start_matches("./").to_string(), text.clone())),
                    );
                }
            }
        }
    }
    out
}

/// `to` is a later stage of a pipeline `from` is in.
fn piped_into(from: &SimpleCommand, to: &SimpleCommand) -> bool {
    to.stages
        .iter()
        .any(|&(p, j)| from.stages.iter().any(|&(q, k)| q == p && k < j))
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
