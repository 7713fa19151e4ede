//! The official Python MCP SDK client (PyPI `mcp` 2.x) drives the real binary over stdio:
//! handshake, discovery, the 2026-07-28 stateless revision, tools, output-schema checks.

mod common;

#[test]
fn python_sdk_client_over_stdio() {
    let (ok, out) = common::run_python("stdio_sdk.py", &[], &[]);
    assert!(ok, "Python SDK session failed:\n{out}");
    for mode in ["legacy", "auto", "2026-07-28"] {
        assert!(
            out.contains(&format!("ok: stdio session in mode {mode}")),
            "{out}"
        );
    }
}
