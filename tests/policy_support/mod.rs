//! Loading the policy case table and the presets, shared by the policy tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use mcp_commander::policy::file::PolicyFile;
use mcp_commander::policy::Policy;

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Allow,
    /// Deny, optionally by a rule whose id starts with this.
    Deny(Option<String>),
}

/// One case of the table.
#[derive(Debug, Clone)]
pub struct Case {
    pub config: String,
    pub expect: Expect,
    pub line: String,
    pub why: String,
    pub source_line: usize,
    sets: BTreeMap<String, String>,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A preset from `policies/NAME.toml`, compiled on its own.
pub fn preset(name: &str) -> Policy {
    let path = root().join("policies").join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).expect("preset file");
    PolicyFile::parse(&text, &path.display().to_string())
        .unwrap_or_else(|e| panic!("{e}"))
        .policy()
        .expect("preset policy")
}

impl Case {
    /// The working directory the case is decided in (`cwd=/`), when it names one.
    pub fn cwd(&self) -> Option<&std::path::Path> {
        self.config
            .split(';')
            .find_map(|p| p.trim().strip_prefix("cwd="))
            .map(std::path::Path::new)
    }

    /// The policy the case is checked under.
    pub fn policy(&self) -> Policy {
        let mut allow: Vec<String> = Vec::new();
        let mut block: Vec<String> = Vec::new();
        let mut default_blocklist = true;
        for part in self.config.split(';') {
            let part = part.trim();
            if let Some(list) = part.strip_prefix("allow=") {
                for e in list.split(',') {
                    match e.strip_prefix('@') {
                        Some(set) => {
                            allow.extend(self.sets[set].split(',').map(|s| s.trim().to_string()))
                        }
                        None => allow.push(e.trim().to_string()),
                    }
                }
            } else if let Some(list) = part.strip_prefix("block=") {
                block.extend(list.split(',').map(|s| s.trim().to_string()));
            } else if part == "noblocklist" {
                default_blocklist = false;
            } else if let Some(name) = part.strip_prefix("preset=") {
                return preset(name);
            } else if part.starts_with("cwd=") {
                // Read by `cwd()`.
            } else if part != "default" {
                panic!("unknown case config {part:?}");
            }
        }
        Policy::from_lists(&allow, &block, default_blocklist).expect("case policy")
    }
}

/// Reads `tests/data/policy_cases.txt`.
pub fn load_cases() -> Vec<Case> {
    let text =
        std::fs::read_to_string(root().join("tests/data/policy_cases.txt")).expect("case table");
    let mut sets = BTreeMap::new();
    let mut cases = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        if let Some(def) = raw.strip_prefix("@set ") {
            let (name, list) = def.split_once('=').expect("@set name = list");
            sets.insert(name.trim().to_string(), list.trim().to_string());
            continue;
        }
        let fields: Vec<&str> = raw.split(" ¦ ").collect();
        assert_eq!(fields.len(), 4, "line {}: need 4 fields: {raw}", i + 1);
        let expect = match fields[1].trim() {
            "allow" => Expect::Allow,
            "deny" => Expect::Deny(None),
            d => Expect::Deny(Some(
                d.strip_prefix("deny:")
                    .unwrap_or_else(|| panic!("line {}: bad expectation {d}", i + 1))
                    .to_string(),
            )),
        };
        let line = fields[2]
            .replace('⏎', "\n")
            .replace('␍', "\r")
            .replace('⇥', "\t");
        cases.push(Case {
            config: fields[0].trim().to_string(),
            expect,
            line,
            why: fields[3].trim().to_string(),
            source_line: i + 1,
            sets: sets.clone(),
        });
    }
    cases
}

/// Runs lines under real shells with `PATH` pointing at recorder stubs: every stub logs its
/// argv to its own file (named by pid, so concurrent pipeline stages cannot interleave) and
/// does nothing else. Runs are bounded in time and in the number of recorded programs.
pub mod recorder {
    use std::collections::BTreeSet;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// Longest a single shell run may take before its process group is killed.
    pub const RUN_LIMIT: Duration = Duration::from_secs(3);
    /// Most programs one run may record before it is stopped (bounds loops).
    pub const MAX_RECORDS: usize = 200;

    pub struct Recorder {
        _dir: tempfile::TempDir,
        pub bin: PathBuf,
        pub work: PathBuf,
        pub home: PathBuf,
        log_root: PathBuf,
        stubs: BTreeSet<String>,
        runs: usize,
        /// Wait for the recorded count to settle after every run (for programs that fork
        /// into the background, such as setsid).
        pub always_settle: bool,
    }

    const STUB: &str = "#!/bin/sh\nprintf '%s\\037' \"${0##*/}\" \"$@\" > \"$RECORD_DIR/$$\"\nexit \"${STUB_EXIT:-0}\"\n";

    impl Recorder {
        pub fn new() -> Recorder {
            let dir = tempfile::tempdir().expect("tempdir");
            let bin = dir.path().join("bin");
            let work = dir.path().join("work");
            let home = dir.path().join("home");
            let log_root = dir.path().join("logs");
            for d in [&bin, &work, &home, &log_root] {
                std::fs::create_dir_all(d).expect("mkdir");
            }
            Recorder {
                _dir: dir,
                bin,
                work,
                home,
                log_root,
                stubs: BTreeSet::new(),
                runs: 0,
                always_settle: false,
            }
        }

        /// Makes sure a stub exists for every program-like token of the line (so a program
        /// the engine missed is recorded, not "not found") and for the given names.
        pub fn stub_tokens(&mut self, line: &str, extra: &[String]) {
            let tokens = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')))
                .map(String::from)
                .chain(extra.iter().cloned());
            for t in tokens {
                if t.is_empty() || t.len() > 60 || t.starts_with('-') || t == "." || t == ".." {
                    continue;
                }
                if self.stubs.insert(t.clone()) {
                    let p = self.bin.join(&t);
                    std::fs::write(&p, STUB).expect("write stub");
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                        .expect("chmod stub");
                }
            }
        }

        /// Puts the real program `name` (found in the system directories) among the stubs, so
        /// that it runs and execs the stubs; false when it is not installed.
        pub fn real(&mut self, name: &str) -> bool {
            let found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
                .iter()
                .map(|d| Path::new(d).join(name))
                .find(|p| p.is_file());
            let Some(real) = found else { return false };
            let link = self.bin.join(name);
            let _ = std::fs::remove_file(&link);
            self.stubs.insert(name.to_string());
            std::os::unix::fs::symlink(real, link).is_ok()
        }

        /// Runs `line` with `shell -c`; returns the argv of every program the stubs recorded.
        pub fn run(&mut self, shell: &str, line: &str, stub_exit: i32) -> Vec<Vec<String>> {
            self.runs += 1;
            let logs = self.log_root.join(format!("run{}", self.runs));
            std::fs::create_dir_all(&logs).expect("mkdir logs");
            let mut child = Command::new(shell)
                .arg("-c")
                .arg(line)
                .env_clear()
                .env("PATH", &self.bin)
                .env("HOME", &self.home)
                .env("RECORD_DIR", &logs)
                .env("STUB_EXIT", stub_exit.to_string())
                .current_dir(&self.work)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("spawn shell");
            let start = Instant::now();
            let pgid = child.id() as i32;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) => {}
                    Err(_) => break,
                }
                let many = std::fs::read_dir(&logs).map(|d| d.count()).unwrap_or(0) > MAX_RECORDS;
                if start.elapsed() > RUN_LIMIT || many {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            // Background jobs and process substitutions may still be finishing.
            if self.always_settle || line.contains('&') || line.contains('(') {
                // Settled when the count holds for two polls in a row (bounded to ~1 s, so a
                // loaded machine makes the test slower, not flaky).
                let mut last = usize::MAX;
                let mut stable = 0;
                for _ in 0..50 {
                    let n = std::fs::read_dir(&logs).map(|d| d.count()).unwrap_or(0);
                    stable = if n == last { stable + 1 } else { 0 };
                    if stable >= 2 {
                        break;
                    }
                    last = n;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            read_records(&logs)
        }
    }

    fn read_records(dir: &Path) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            let mut argv: Vec<String> = text.split('\u{1f}').map(String::from).collect();
            if argv.last().is_some_and(|s| s.is_empty()) {
                argv.pop();
            }
            if !argv.is_empty() {
                out.push(argv);
            }
        }
        out
    }
}
