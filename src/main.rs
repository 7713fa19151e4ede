//! The `mcp-commander` binary: parse, configure, run.

/// mimalloc: a third less CPU per call than glibc's malloc on the HTTP path, where
/// allocation was ~15% of the server's samples (TESTING.md, Benchmarks, change 29). Built
/// without its transparent-huge-page advice (`no_thp`), which took idle RSS from 8 to 18 MB.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mcp_commander::app::main()
}
