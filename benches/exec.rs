//! What the executor's layers cost: `sh -c true` spawned bare (the floor), through the
//! executor with only the always-on layers, and with every layer this machine has, in the
//! same run and interleaved so they share the noise. Prints p50/p95 and the added time.
//!
//! `cargo bench --bench exec` (optional argument: iterations, default 400).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mcp_commander::exec::sandbox::{Limits, Sandbox, SandboxSettings};
use mcp_commander::exec::{ExecRequest, ExecSettings, Executor};
use tokio_util::sync::CancellationToken;

fn executor(sandbox: Sandbox) -> Executor {
    Executor::new(
        ExecSettings {
            shell: "/bin/sh".into(),
            shell_arg: "-c".into(),
            max_output: 100 * 1024,
            max_concurrency: 4,
        },
        sandbox,
    )
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(400);
    let all = Sandbox::new(SandboxSettings {
        reaper_exe: Some(env!("CARGO_BIN_EXE_mcp-commander").into()),
        ..SandboxSettings::default()
    })
    .expect("sandbox");
    println!(
        "all layers: {}",
        serde_json::to_string(all.report()).unwrap_or_default()
    );
    let all = executor(all);
    let always = executor(Sandbox::always_on(Limits::default()));

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let env: BTreeMap<String, String> = [("PATH".to_string(), "/usr/bin:/bin".to_string())]
        .into_iter()
        .collect();
    let req = ExecRequest {
        command: "true".into(),
        workdir: std::env::temp_dir(),
        workdir_id: None,
        timeout: Duration::from_secs(10),
        env: env.clone(),
    };

    let bare = || async {
        let t = Instant::now();
        let out = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("true")
            .env_clear()
            .envs(&env)
            .current_dir(std::env::temp_dir())
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("bare spawn");
        assert!(out.status.success());
        t.elapsed()
    };
    let through = |e: &Executor| {
        let e = e.clone();
        let req = req.clone();
        async move {
            let t = Instant::now();
            let o = e.run(req, CancellationToken::new()).await;
            assert_eq!(o.exit_code, 0, "{o:?}");
            t.elapsed()
        }
    };

    let mut floor = Vec::with_capacity(n);
    let mut on = Vec::with_capacity(n);
    let mut full = Vec::with_capacity(n);
    rt.block_on(async {
        for _ in 0..20 {
            bare().await;
            through(&always).await;
            through(&all).await;
        }
        for _ in 0..n {
            floor.push(bare().await);
            on.push(through(&always).await);
            full.push(through(&all).await);
        }
    });
    for v in [&mut floor, &mut on, &mut full] {
        v.sort();
    }
    let (f50, f95) = (percentile(&floor, 50), percentile(&floor, 95));
    println!("{n} runs each of `sh -c true`\n");
    println!("| path | p50 ms | p95 ms | added p50 ms | added p95 ms |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| bare spawn (floor) | {:.3} | {:.3} | — | — |",
        ms(f50),
        ms(f95)
    );
    for (name, v) in [("always-on layers", &on), ("all layers", &full)] {
        let (p50, p95) = (percentile(v, 50), percentile(v, 95));
        println!(
            "| {name} | {:.3} | {:.3} | {:+.3} | {:+.3} |",
            ms(p50),
            ms(p95),
            ms(p50) - ms(f50),
            ms(p95) - ms(f95)
        );
    }
}
