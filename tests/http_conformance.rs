//! The official MCP conformance suite (npm `@modelcontextprotocol/conformance`, installed
//! into `target/npm` by `.ci/install-test-tools`) against a started server, for the
//! scenarios that apply to a tools-only server. Its `--url` mode sends no token, so the
//! server runs with `--no-auth` on loopback.

mod common;
mod http_support;

use std::path::PathBuf;
use std::process::Command;

use http_support::HttpServer;

const SCENARIOS: &[&str] = &[
    "server-initialize",
    "ping",
    "tools-list",
    "server-sse-multiple-streams",
    "server-sse-polling",
    "dns-rebinding-protection",
];

/// The conformance CLI, installed with the other test tools on first use.
fn conformance() -> PathBuf {
    common::python();
    let bin = common::root().join("target/npm/node_modules/.bin/conformance");
    assert!(bin.exists(), "{} missing after install", bin.display());
    bin
}

/// Runs `scenarios` against a `--no-auth` server started with `args`; returns failures.
fn run(args: &[&str], scenarios: &[&str]) -> Vec<String> {
    let cli = conformance();
    let mut all = vec!["--no-auth"];
    all.extend_from_slice(args);
    let s = HttpServer::start_raw(&all, &[]);
    let url = format!("http://localhost:{}/mcp", s.port);
    let mut failures = Vec::new();
    for scenario in scenarios {
        let out = Command::new(&cli)
            .args(["server", "--url", &url, "--scenario", scenario])
            .env("NO_COLOR", "1")
            .output()
            .expect("run the conformance CLI");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // "Passed: 2/2, 0 failed": every check passed, and there was at least one.
        let all_passed = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Passed: "))
            .and_then(|l| l.split(',').next())
            .and_then(|frac| frac.split_once('/'))
            .is_some_and(|(a, b)| a == b && b != "0");
        if !(out.status.success() && all_passed && text.contains(", 0 failed")) {
            failures.push(format!("--- {scenario} {args:?} ({})\n{text}", out.status));
        }
    }
    failures
}

#[test]
fn official_conformance_scenarios_pass_with_sessions() {
    let failures = run(&[], SCENARIOS);
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn official_conformance_scenarios_pass_stateless() {
    // Without sessions there are no SSE streams to poll or multiply; the rest applies.
    let failures = run(
        &["--stateless"],
        &[
            "server-initialize",
            "ping",
            "tools-list",
            "dns-rebinding-protection",
        ],
    );
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}
