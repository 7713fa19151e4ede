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
