//! The `mcp-commander` binary: parse, configure, run.

fn main() -> std::process::ExitCode {
    mcp_commander::app::main()
}
