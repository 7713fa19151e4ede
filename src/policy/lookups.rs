//! What the policy works out about a line once and then asks again and again: which
//! commands may set a variable, a variable's values, a pipeline stage's commands and what
//! it is fed, a command's top-level and-or list, the programs the line's copies make. Each
//! is made the first time it is asked for and kept with the parsed line
//! ([`Script::lookups`]).
//!
//! Without them every question scanned the whole line: a 128 KiB line of thousands of
//! commands (`echo $v1; echo $v2; …`, `x=a1; echo $x; x=a2; …`, `cat f1 | cat f2 | …`)
//! took from seconds to minutes of a CPU to decide (the pipeline, whose every stage asked
//! for its whole upstream again, grew with the cube of its length).

use super::parse::{Script, Word};
use super::pipes::Flow;
use super::values::base_name;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A variable's name and its values.
type Named = (String, Arc<Vec<String>>);

/// The line's lookups, each made when first needed.
#[derive(Default)]
pub(crate) struct Lookups {
    setters: OnceLock<Setters>,
    /// A variable's values by its name's hash and function, with the name (a name whose
    /// hash another has is worked out again, not cached).
    values: Mutex<HashMap<(u64, Option<usize>), Named>>,
    /// (pipeline, stage) and a command there, sorted.
    stages: OnceLock<Vec<((u32, u16), usize)>>,
    pipe_inputs: Mutex<HashMap<(u32, u16), Flow>>,
    copied: Mutex<HashMap<String, Arc<Vec<String>>>>,
    links: OnceLock<HashMap<usize, (usize, usize)>>,
    /// A word's address (compared, never followed) and its command.
    owners: OnceLock<HashMap<usize, usize>>,
    aliases: OnceLock<HashMap<String, (usize, usize)>>,
    /// A variable's last literal assignment, by name: (command, assignment or word).
    literals: Mutex<HashMap<String, Option<(usize, Literal)>>>,
    /// Per command: whether it is in a loop (body or condition) or a background job.
    repeated_or_detached: OnceLock<Vec<bool>>,
    /// Readings of commands with the line's values put in, handed out so far, and whether
    /// some were not ([`Lookups::take_readings`]).
    readings: Mutex<(usize, bool)>,
}

/// Where a command holds a literal it assigns: one of its assignments, or one of its words
/// (`export d=/`).
#[derive(Clone, Copy)]
pub(crate) enum Literal {
    Assignment(usize),
    Word(usize),
}

/// The commands that may give a variable a value, by name. Each list is kept as (hash of
/// the name, index) pairs sorted by hash: one allocation a list however many names, and a
/// name whose hash another shares gets both's entries, which is harmless (each command is
/// still read in full). Made for every line that asks for a value, so it must be cheap for
/// short ones.
#[derive(Default)]
pub(crate) struct Setters {
    /// The commands that may set a name: assignments of a command without words,
    /// `${x:=…}` / `${x=…}` in any word, any word of `export` `readonly` `local` `declare`
    /// `typeset` `printf` `read` `mapfile` `readarray` (its part before `=`; `MAPFILE` for
    /// the last two).
    commands: Vec<(u64, usize)>,
    /// The `for NAME in …` loops of [`Script::loop_values`] by name.
    loops: Vec<(u64, usize)>,
    /// The `for NAME in …` loops of [`Script::loops`] by name.
    for_loops: Vec<(u64, usize)>,
    /// The commands a first word (`set`, `alias`, a function's name, `eval`, `.`,
    /// `source`) begins.
    first_words: Vec<(u64, usize)>,
    /// Hashes of the names some command in a function body may set (the function may be
    /// called anywhere), and of those `readonly`, `declare`, `typeset` or `local` name
    /// (which may make a later assignment fail or mean something else).
    unordered: Vec<u64>,
    /// The names declared name references (`declare -n r=x`): an assignment to one sets
    /// another variable.
    pub namerefs: Vec<String>,
    /// Some command may set any variable at any time: a `trap`, `mapfile -C` callback or
    /// `alias` whose code the line does not show, a setting builtin whose name is only
    /// known when it runs (`export "$n=/"`), `${!REF:=V}`.
    pub anything: bool,
    /// The commands that set a variable whose name is only known when they run
    /// (`printf -v "$n" /`), in the line's order: they may set any name.
    pub dynamic: Vec<usize>,
}

const SETTING_BUILTINS: [&str; 9] = [
    "export",
    "readonly",
    "local",
    "declare",
    "typeset",
    "printf",
    "read",
    "mapfile",
    "readarray",
];

/// FNV-1a: a name's key in the lists above (no allocation, no keyed hasher needed).
pub(crate) fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The indices listed under `name`'s hash, in the line's order (or the other way round).
fn listed<'a>(list: &'a [(u64, usize)], name: &str) -> impl DoubleEndedIterator<Item = usize> + 'a {
    let h = name_hash(name);
    let start = list.partition_point(|&(k, _)| k < h);
    let end = list.partition_point(|&(k, _)| k <= h);
    list[start..end].iter().map(|&(_, i)| i)
}

impl Setters {
    fn new(script: &Script) -> Self {
        let mut index = Setters::default();
        let functions: Vec<u64> = script
            .functions
            .iter()
            .map(|f| name_hash(&f.name))
            .collect();
        let mut names: Vec<&str> = Vec::new();
        for (i, c) in script.commands.iter().enumerate() {
            names.clear();
            if c.words.is_empty() || super::values::assignments_persist(c) {
                names.extend(c.assignments.iter().map(|a| a.name.as_str()));
            }
            // `eval "d=/"`: the names the literal text it runs may set.
            // What it defines stays: a function that sets a name (called later), a
            // readonly name (a later assignment fails), a name reference.
            if let Some(sub) = super::values::eval_script(c) {
                let inner = Setters::new(&sub);
                index
                    .commands
                    .extend(inner.commands.iter().map(|&(h, _)| (h, i)));
                index.unordered.extend(&inner.unordered);
                index.namerefs.extend(inner.namerefs);
                index.anything |= inner.anything || !inner.dynamic.is_empty();
            }
            for w in c.words.iter().filter(|w| w.text.contains("${")) {
                for (at, _) in w.text.match_indices("${") {
                    let rest = &w.text[at + 2..];
                    let end = rest
                        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                        .unwrap_or(rest.len());
                    if rest[end..].starts_with(":=") || rest[end..].starts_with('=') {
                        names.push(&rest[..end]);
                    }
                }
            }
            // `command export x=/`, `builtin printf -v x /`: the builtin after the wrappers.
            let words = super::values::effective_words(c);
            let trap = super::values::trap_script(c);
            if let Some(p) = words.first() {
                // bash `x[0]=/`, and `unset x` (which empties it).
                if let Some((n, _)) = super::values::element_assignment(&p.text) {
                    names.push(n);
                }
                if p.text == "unset" {
                    names.extend(words[1..].iter().map(|w| w.text.as_str()));
                }
                // `getopts OPTSTRING NAME` and `wait -p NAME` are read by `set_names` below.
                match p.text.as_str() {
                    // `let NAME=…` (bash).
                    "let" => names.extend(words[1..].iter().map(|w| {
                        let t = w.text.trim_start_matches(['+', '-', '(', ' ']);
                        let end = t
                            .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                            .unwrap_or(t.len());
                        &t[..end]
                    })),
                    "trap" if trap.is_none() => {
                        let args = match words.get(1) {
                            Some(w) if w.text == "--" => &words[2..],
                            _ => &words[1..],
                        };
                        index.anything |= args
                            .first()
                            .is_some_and(|w| !w.is_static() && !w.text.starts_with('-'));
                    }
                    _ => {}
                }
                // `printf -vx /`, `read -rax`, `wait -px`: attached option arguments; a
                // name only known when it runs (`export "$n=/"`) may be any name.
                let set = super::values::set_names(words);
                if set.iter().any(|n| super::values::dynamic_name(n)) {
                    index.anything = true;
                    index.dynamic.push(i);
                }
                names.extend(set.into_iter().map(base_name));
                // Only the first words asked for: `set`, `alias`, the line's functions.
                let h = name_hash(&p.text);
                if matches!(p.text.as_str(), "set" | "alias" | "eval" | "." | "source")
                    || functions.contains(&h)
                {
                    index.first_words.push((h, i));
                }
                if SETTING_BUILTINS.contains(&p.text.as_str()) {
                    // `x[0]=/` sets element 0 of x, which `$x` reads.
                    names.extend(words[1..].iter().map(|w| {
                        base_name(w.text.split_once('=').map_or(w.text.as_str(), |(n, _)| n))
                    }));
                    if super::values::declares_namerefs(c) {
                        index.namerefs.extend(
                            names
                                .iter()
                                .filter(|n| !n.starts_with('-'))
                                .map(|n| n.to_string()),
                        );
                    }
                    names.push("MAPFILE");
                    if matches!(
                        p.text.as_str(),
                        "readonly" | "declare" | "typeset" | "local"
                    ) {
                        index.unordered.extend(names.iter().map(|n| name_hash(n)));
                    }
                }
            }
            // `trap 'x=/' DEBUG`, `mapfile -C 'read x <<< /;:'`, `alias s='x=/'`: what
            // their code sets, whenever it runs.
            let callback = super::values::callback_script(c);
            let aliases = super::values::alias_scripts(c);
            index.anything |= callback.is_err() || aliases.is_err();
            let code = trap
                .into_iter()
                .chain(callback.ok().flatten())
                .chain(aliases.unwrap_or_default());
            for sub in code {
                let inner = Setters::new(&sub);
                index.anything |=
                    inner.anything || !inner.namerefs.is_empty() || !inner.dynamic.is_empty();
                for &(h, _) in &inner.commands {
                    index.commands.push((h, i));
                    index.unordered.push(h);
                }
                index.unordered.extend(&inner.unordered);
            }
            if c.function.is_some() {
                index.unordered.extend(names.iter().map(|n| name_hash(n)));
            }
            index
                .commands
                .extend(names.iter().map(|n| (name_hash(n), i)));
        }
        // `y=${x:=/}`, `case ${x:=/} in`, `: < "${x:=/}"`, a here-document's `${x:=/}`:
        // set where the line's commands do not show.
        for (n, _) in &script.defaults {
            if n == "!" {
                index.anything = true;
            } else {
                index.unordered.push(name_hash(n));
            }
        }
        index.unordered.sort_unstable();
        index.unordered.dedup();
        for (i, (n, _)) in script.loop_values.iter().enumerate() {
            index.loops.push((name_hash(n), i));
        }
        for (i, l) in script.loops.iter().enumerate() {
            if let Some((n, _)) = &l.var {
                index.for_loops.push((name_hash(n), i));
            }
        }
        // By hash, then index: the indices of one hash in the line's order, each once.
        for list in [
            &mut index.commands,
            &mut index.loops,
            &mut index.for_loops,
            &mut index.first_words,
        ] {
            list.sort_unstable();
            list.dedup();
        }
        index
    }

    /// The commands that may set `name`, in the line's order.
    pub fn of<'a>(&'a self, name: &str) -> impl DoubleEndedIterator<Item = usize> + 'a {
        listed(&self.commands, name)
    }

    /// The `for name in …` loops of [`Script::loop_values`], in the line's order.
    pub fn loops_of<'a>(&'a self, name: &str) -> impl Iterator<Item = usize> + 'a {
        listed(&self.loops, name)
    }

    /// The `for name in …` loops (indices of [`Script::loops`]).
    pub fn for_loops_of<'a>(&'a self, name: &str) -> impl Iterator<Item = usize> + 'a {
        listed(&self.for_loops, name)
    }

    /// The commands whose first word is `word` (`set`, `alias`, a function's name, `eval`,
    /// `.` or `source`), in the line's order.
    pub fn starting<'a>(&'a self, word: &str) -> impl Iterator<Item = usize> + 'a {
        listed(&self.first_words, word)
    }

    /// The last command before `at` that may set `name`.
    pub fn last_before(&self, name: &str, at: usize) -> Option<usize> {
        last_listed_before(&self.commands, name, at)
    }

    /// Whether a command whose first word is `word` lies strictly between `from` and `to`.
    pub fn starts_between(&self, word: &str, from: usize, to: usize) -> bool {
        last_listed_before(&self.first_words, word, to).is_some_and(|i| i > from)
    }

    /// Whether a function body may set `name`, or `readonly`/`declare`/`typeset`/`local`
    /// names it: where a setter stands in the line does not say when it runs or whether
    /// a later assignment takes.
    pub fn unordered(&self, name: &str) -> bool {
        self.unordered.binary_search(&name_hash(name)).is_ok()
    }
}

/// The last index listed under `name`'s hash that is below `at`.
fn last_listed_before(list: &[(u64, usize)], name: &str, at: usize) -> Option<usize> {
    let h = name_hash(name);
    let start = list.partition_point(|&(k, _)| k < h);
    let end = list.partition_point(|&(k, i)| k < h || (k == h && i < at));
    (end > start).then(|| list[end - 1].1)
}

impl Lookups {
    /// Which commands may set which variable.
    pub(crate) fn setters(&self, script: &Script) -> &Setters {
        self.setters.get_or_init(|| Setters::new(script))
    }

    /// The values of `name` (for `$1` … in `function`), worked out by `make` the first
    /// time.
    pub(crate) fn values(
        &self,
        name: &str,
        function: Option<usize>,
        make: impl FnOnce() -> Vec<String>,
    ) -> Arc<Vec<String>> {
        let key = (name_hash(name), function);
        match lock(&self.values).get(&key) {
            Some((n, v)) if n == name => return v.clone(),
            Some(_) => return Arc::new(make()),
            None => {}
        }
        // Not held while making: `make` asks for other variables' values.
        let v = Arc::new(make());
        lock(&self.values)
            .entry(key)
            .or_insert_with(|| (name.to_string(), v.clone()));
        v
    }

    /// The programs the line's copies and links make a file named `name` ([`copied_programs`](super::copied_programs)),
    /// worked out by `make` the first time.
    pub(crate) fn copied_programs(
        &self,
        name: &str,
        make: impl FnOnce() -> Vec<String>,
    ) -> Arc<Vec<String>> {
        memo(&self.copied, name.to_string(), || Arc::new(make()))
    }

    /// The top-level and-or list and the pipeline in it that hold command `index`
    /// ([`Script::chains`]), if it is at the top level.
    pub(crate) fn link_of(&self, script: &Script, index: usize) -> Option<(usize, usize)> {
        self.links
            .get_or_init(|| {
                let mut links = HashMap::new();
                for (c, chain) in script.chains.iter().enumerate() {
                    for (k, link) in chain.iter().enumerate() {
                        for i in link.commands.clone() {
                            links.entry(i).or_insert((c, k));
                        }
                    }
                }
                links
            })
            .get(&index)
            .copied()
    }

    /// The commands at stage `j` of pipeline `p` (more than one where the stage is a group
    /// or a loop).
    pub(crate) fn stage<'a>(
        &'a self,
        script: &Script,
        p: u32,
        j: u16,
    ) -> impl Iterator<Item = usize> + 'a {
        let stages = self.stages.get_or_init(|| {
            let mut stages: Vec<((u32, u16), usize)> = script
                .commands
                .iter()
                .enumerate()
                .flat_map(|(i, c)| c.stages.iter().map(move |&s| (s, i)))
                .collect();
            stages.sort_unstable();
            stages.dedup();
            stages
        });
        let start = stages.partition_point(|&(s, _)| s < (p, j));
        stages[start..]
            .iter()
            .take_while(move |&&(s, _)| s == (p, j))
            .map(|&(_, i)| i)
    }

    /// The commands at the stages of pipeline `p` in `range` (`stage` for each, at once).
    pub(crate) fn stages_in<'a>(
        &'a self,
        script: &Script,
        p: u32,
        range: std::ops::Range<u16>,
    ) -> impl Iterator<Item = usize> + 'a {
        // Made by `stage`, which the first call makes.
        let _ = self.stage(script, p, range.start).next();
        let stages = self.stages.get().map_or(&[][..], Vec::as_slice);
        let start = stages.partition_point(|&(s, _)| s < (p, range.start));
        stages[start..]
            .iter()
            .take_while(move |&&((q, j), _)| q == p && range.contains(&j))
            .map(|&(_, i)| i)
    }

    /// The index of the command that has the word `w` (an operand or a redirection's
    /// target; the word itself, not an equal one).
    pub(crate) fn owner_of(&self, script: &Script, w: &Word) -> Option<usize> {
        self.owners
            .get_or_init(|| {
                let mut owners = HashMap::new();
                for (i, c) in script.commands.iter().enumerate() {
                    let words = c.words.iter().chain(c.redirects.iter().map(|r| &r.target));
                    for x in words {
                        owners.entry(address(x)).or_insert(i);
                    }
                }
                owners
            })
            .get(&address(w))
            .copied()
    }

    /// Where the line's last `alias NAME=…` is: the command and the word.
    pub(crate) fn alias(&self, script: &Script, name: &str) -> Option<(usize, usize)> {
        self.aliases
            .get_or_init(|| {
                let mut aliases = HashMap::new();
                for i in self.setters(script).starting("alias") {
                    for (k, w) in script.commands[i].words.iter().enumerate().skip(1) {
                        if let Some((n, _)) = w.text.split_once('=') {
                            aliases.insert(n.to_string(), (i, k));
                        }
                    }
                }
                aliases
            })
            .get(name)
            .copied()
    }

    /// Where the literal last assigned to `name` is, worked out by `make` the first time.
    pub(crate) fn literal(
        &self,
        name: &str,
        make: impl FnOnce() -> Option<(usize, Literal)>,
    ) -> Option<(usize, Literal)> {
        memo(&self.literals, name.to_string(), make)
    }

    /// Whether command `index` is in a loop (where it may run again after the commands
    /// that follow it) or in a background job (a subshell of its own).
    pub(crate) fn repeated_or_detached(&self, script: &Script, index: usize) -> bool {
        self.repeated_or_detached
            .get_or_init(|| {
                let mut flags = vec![false; script.commands.len()];
                let ranges = script.loops.iter().flat_map(|l| [&l.cond, &l.body]);
                for r in ranges.chain(&script.background) {
                    for f in flags.get_mut(r.clone()).into_iter().flatten() {
                        *f = true;
                    }
                }
                flags
            })
            .get(index)
            .copied()
            .unwrap_or(true)
    }

    /// Whether `n` more readings of a command may be made: at most `per_command`, and
    /// `per_line` in all. When not, the line is marked ([`Lookups::readings_cut`]).
    pub(crate) fn take_readings(&self, n: usize, per_command: usize, per_line: usize) -> bool {
        let mut taken = lock(&self.readings);
        if n > per_command || taken.0 + n > per_line {
            taken.1 = true;
            return false;
        }
        taken.0 += n;
        true
    }

    /// Some command's readings were not made: more values than the policy reads.
    pub(crate) fn readings_cut(&self) -> bool {
        lock(&self.readings).1
    }

    /// Whether what stage `j` of pipeline `p` is fed is worked out already.
    pub(crate) fn knows_pipe_input(&self, p: u32, j: u16) -> bool {
        lock(&self.pipe_inputs).contains_key(&(p, j))
    }

    /// What stage `j` of pipeline `p` is fed, worked out by `make` the first time.
    pub(crate) fn pipe_input(&self, p: u32, j: u16, make: impl FnOnce() -> Flow) -> Flow {
        memo(&self.pipe_inputs, (p, j), make)
    }
}

/// The answer for `key`, made by `make` the first time. The lock is not held while making:
/// `make` asks other questions of the same kind (another variable's values, the stage
/// before).
fn memo<K: Eq + std::hash::Hash, V: Clone>(
    answers: &Mutex<HashMap<K, V>>,
    key: K,
    make: impl FnOnce() -> V,
) -> V {
    if let Some(v) = lock(answers).get(&key) {
        return v.clone();
    }
    let v = make();
    lock(answers).insert(key, v.clone());
    v
}

/// Where a word of the line is: the same word, not an equal one.
fn address(w: &Word) -> usize {
    std::ptr::from_ref(w) as usize
}

/// A poisoned lock (a panic while deciding) holds only answers already complete.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The lookups are a cache of what the rest of the line says: two lines with the same
/// commands are equal whether or not either has made them yet.
impl PartialEq for Lookups {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Lookups {}

/// A copy starts without lookups (it makes its own).
impl Clone for Lookups {
    fn clone(&self) -> Self {
        Lookups::default()
    }
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookups")
    }
}

/// Steps of work the tests count: a command read for a variable's values, a pipeline
/// stage's output worked out.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;

    thread_local! {
        static STEPS: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn step() {
        STEPS.with(|s| s.set(s.get() + 1));
    }

    /// The steps since the last call.
    pub(crate) fn take() -> usize {
        STEPS.with(|s| s.replace(0))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::super::{pipes, values};
    use super::work;

    #[test]
    fn a_long_pipeline_works_each_stage_out_once() {
        // On a small stack: a stage asking the one before, and that one the one before it,
        // recursed once a stage.
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(each_stage_once)
            .unwrap()
            .join()
            .unwrap();
    }

    fn each_stage_once() {
        // The longest pipeline the parser reads: n * (n + 1) / 2 would be 496.
        let n = super::super::parse::MAX_PIPELINE_STAGES - 1;
        let line: String = (0..n).map(|i| format!("cat f{i} | ")).collect::<String>() + "cat";
        let script = parse(&line).unwrap();
        let last = script.commands.last().unwrap();
        let &(p, j) = last.stages.last().unwrap();
        assert_eq!(usize::from(j), n);
        work::take();
        // The policy asks each stage what it is fed, the last one first.
        for k in (1..=j).rev() {
            let fed = pipes::pipe_input(&script, p, k);
            assert!(fed.texts.is_empty());
        }
        // Once a stage (the first four, cheaper worked out again, a few times more): it was
        // n * (n + 1) / 2 when each asked its whole upstream again.
        let steps = work::take();
        assert!((n..=n + 20).contains(&steps), "{steps}");
    }

    #[test]
    fn each_variables_values_are_made_once_from_the_commands_that_set_it() {
        let n = 1000;
        let line: String = (0..n)
            // In a group, so the reading is every value (not only the last assignment's).
            .map(|i| format!("{{ x=a{i}; }}; echo $x; echo $v{i}; "))
            .collect();
        let script = parse(&line).unwrap();
        work::take();
        for c in &script.commands {
            for w in c.words.iter().skip(1) {
                let name = w.text.trim_start_matches('$');
                let v = values::values(&script, name, c);
                assert_eq!(v.len(), if name == "x" { n } else { 0 }, "{name}");
            }
        }
        // The n commands that set x, read once: every name was looked for in all 3 * n
        // commands, each time it was asked for (6,000,000 steps).
        assert_eq!(work::take(), n);
    }

    #[test]
    fn a_copy_of_a_line_starts_without_its_lookups_and_compares_equal() {
        let script = parse("{ x=/; }; echo $x").unwrap();
        let v = values::values(&script, "x", &script.commands[1]);
        assert_eq!(v.as_slice(), ["/"]);
        let copy = script.clone();
        assert_eq!(copy, script);
        work::take();
        let again = values::values(&copy, "x", &copy.commands[1]);
        assert_eq!(again.as_slice(), ["/"]);
        assert_eq!(work::take(), 1, "the copy makes its own answer");
    }
}
