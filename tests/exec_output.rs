//! Output capture (CONTRACT §6): a command printing without end is drained, not stored —
//! the totals are exact, the kept text stays within the cap, the server's memory barely
//! moves — and one that never stops is ended on time.
//!
//! Linux only: they read `/proc` and switch to uid 65534.
#![cfg(target_os = "linux")]

mod common;
mod exec_support;

use std::time::Duration;

use exec_support::{peak_rss_kib, run, server, NobodyDir};
use serde_json::json;

#[test]
fn fifty_megabytes_are_counted_capped_and_drained() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &["--max-output", "100KB"], &[]);
    // Warm up, so the baseline includes the runtime's steady state.
    let (r, _) = run(&mut s, "yes | head -c 1000000", "30s");
    assert_eq!(r["stdout_bytes"], json!(1_000_000), "{r}");
    let before = peak_rss_kib(s.child.id());
    assert!(before > 0, "cannot read the server's VmHWM");

    let (r, _) = run(&mut s, "yes | head -c 50000000", "60s");
    assert_eq!(r["exit_code"], json!(0), "{r}");
    assert_eq!(r["stdout_bytes"], json!(50_000_000u64), "{r}");
    assert_eq!(r["truncated"], json!(true), "{r}");
    let kept = r["stdout"].as_str().expect("stdout").len();
    // The cap plus the one-line marker where the middle was dropped.
    assert!(kept <= 100 * 1024 + 200, "kept {kept} bytes");
    assert!(
        r["stdout"].as_str().unwrap().contains("bytes omitted"),
        "no marker"
    );

    let after = peak_rss_kib(s.child.id());
    let grew = after.saturating_sub(before);
    assert!(
        grew < 20 * 1024,
        "server peak RSS grew by {grew} KiB ({before} -> {after})"
    );
}

#[test]
fn endless_output_under_a_timeout_returns_on_time() {
    let dir = NobodyDir::new();
    let mut s = server(dir.path(), &[], &[]);
    let (r, took) = run(&mut s, "yes", "500ms");
    assert_eq!(r["timed_out"], json!(true), "{r}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert!(r["stdout_bytes"].as_u64().unwrap_or(0) > 0, "{r}");
    assert_eq!(r["truncated"], json!(true), "{r}");
}
