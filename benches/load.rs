//! `cargo bench --bench load`: the end-to-end cost of a call, measured against the spawn
//! floor in the same run (issue: "published numbers against the spawn floor").
//!
//! It starts the real server binary and measures: the floor (`/bin/sh -c "echo hi"` spawned
//! directly with pipes, which std does with posix_spawn), stdio latency and throughput,
//! overlap of 8 concurrent `sleep 0.2` calls, server CPU per call, cold start, idle and
//! peak RSS, 50 MB of output, and policy decisions per second; every figure also as a ratio
//! to the floor. HTTP figures come from `benches/http_load.rs` when the HTTP transport is
//! built. Bounded: every loop has a fixed count and every wait a deadline.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-commander");
const N: usize = 400;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn spawn_once() -> Duration {
    let t = Instant::now();
    let out = Command::new("/bin/sh")
        .args(["-c", "echo hi"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("spawn");
    assert_eq!(out.stdout, b"hi\n");
    t.elapsed()
}

fn floor_throughput(threads: usize, secs: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < until && n < 100_000 {
                    spawn_once();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / secs
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
    id: i64,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(args)
            .env("MCP_LOG_LEVEL", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server");
        let stdin = child.stdin.take().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut s = Server {
            child,
            stdin,
            out,
            id: 0,
        };
        s.request("initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}));
        s.send_raw(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string());
        s
    }
    fn send_raw(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
    }
    fn send(&mut self, method: &str, params: Value) -> i64 {
        self.id += 1;
        let id = self.id;
        self.send_raw(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        );
        id
    }
    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        loop {
            let v = self.read();
            if v["id"] == json!(id) {
                return v;
            }
        }
    }
    fn exec(&mut self, cmd: &str) -> Value {
        let r = self.request(
            "tools/call",
            json!({"name": "execute_command", "arguments": {"command": cmd}}),
        );
        assert!(r["result"]["isError"] == false, "{r}");
        r
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kb(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let hz = unsafe { libc_sysconf_clk_tck() };
    ticks * 1000.0 / hz
}

unsafe fn libc_sysconf_clk_tck() -> f64 {
    extern "C" {
        fn sysconf(name: i32) -> i64;
    }
    // _SC_CLK_TCK is 2 on Linux.
    sysconf(2) as f64
}

fn main() {
    // `cargo bench` passes --bench; ignore all arguments.
    println!(
        "mcp-commander load benchmark ({} samples per latency figure)\n",
        N
    );

    // Floor.
    for _ in 0..20 {
        spawn_once();
    }
    let mut floor: Vec<f64> = (0..N).map(|_| ms(spawn_once())).collect();
    let floor_p50 = pct(&mut floor, 0.5);
    let floor_p95 = pct(&mut floor, 0.95);
    let floor_tput = floor_throughput(2, 2.0);
    println!("floor  spawn /bin/sh -c 'echo hi'     p50 {floor_p50:.3} ms  p95 {floor_p95:.3} ms  2 threads {floor_tput:.0} calls/s");

    // stdio sequential.
    let mut s = Server::start(&[]);
    let idle_rss = status_kb(s.pid(), "VmRSS:") / 1024.0;
    for _ in 0..20 {
        s.exec("echo hi");
    }
    let cpu0 = cpu_ms(s.pid());
    let mut lat: Vec<f64> = (0..N)
        .map(|_| {
            let t = Instant::now();
            s.exec("echo hi");
            ms(t.elapsed())
        })
        .collect();
    let cpu_per_call = (cpu_ms(s.pid()) - cpu0) / N as f64;
    let (p50, p95, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.95), pct(&mut lat, 0.99));
    println!(
        "stdio  sequential echo hi            p50 {p50:.3} ms  p95 {p95:.3} ms  p99 {p99:.3} ms  ({:.2}x floor p50, +{:.3} ms)",
        p50 / floor_p50,
        p50 - floor_p50
    );
    println!("stdio  server CPU per call           {cpu_per_call:.3} ms (server process only; the command's own CPU is the child's)");

    // stdio throughput with 8 in flight.
    let t = Instant::now();
    let total = 800;
    let mut sent = 0;
    let mut got = 0;
    while sent < 8 {
        s.send(
            "tools/call",
            json!({"name": "execute_command", "arguments": {"command": "echo hi"}}),
        );
        sent += 1;
    }
    while got < total {
        let v = s.read();
        if v.get("id").is_some() {
            got += 1;
            if sent < total {
                s.send(
                    "tools/call",
                    json!({"name": "execute_command", "arguments": {"command": "echo hi"}}),
                );
                sent += 1;
            }
        }
    }
    let tput = total as f64 / t.elapsed().as_secs_f64();
    println!(
        "stdio  8 in flight echo hi           {tput:.0} calls/s  ({:.2}x two-thread floor)",
        tput / floor_tput
    );
    let peak_rss = status_kb(s.pid(), "VmHWM:") / 1024.0;

    // Overlap of 8 concurrent sleep 0.2.
    let t = Instant::now();
    for _ in 0..8 {
        s.send(
            "tools/call",
            json!({"name": "execute_command", "arguments": {"command": "sleep 0.2"}}),
        );
    }
    let mut n = 0;
    while n < 8 {
        if s.read().get("id").is_some() {
            n += 1;
        }
    }
    let wall = t.elapsed().as_secs_f64();
    let overlap = ((8.0 * 0.2) / wall).min(8.0);
    println!(
        "stdio  8 x sleep 0.2                 wall {:.0} ms  => {overlap:.1} of 8 overlap",
        wall * 1000.0
    );
    println!("stdio  server RSS                    idle {idle_rss:.1} MB  peak under load {peak_rss:.1} MB");
    drop(s);

    // Big output.
    let mut s = Server::start(&[]);
    let base = status_kb(s.pid(), "VmHWM:") / 1024.0;
    let t = Instant::now();
    let r = s.exec("yes | head -c 50000000");
    let wall = t.elapsed();
    let body: Value =
        serde_json::from_str(r["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    let peak = status_kb(s.pid(), "VmHWM:") / 1024.0;
    println!(
        "stdio  yes | head -c 50000000        {:.0} ms  stdout_bytes {}  returned {} bytes  server peak RSS {peak:.1} MB (before {base:.1} MB)",
        ms(wall),
        body["stdout_bytes"],
        body["stdout"].as_str().unwrap().len()
    );
    drop(s);

    // Cold start: exec to first initialize answer.
    let mut cold: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let s = Server::start(&[]);
            let d = ms(t.elapsed());
            drop(s);
            d
        })
        .collect();
    println!(
        "stdio  cold start to initialize      p50 {:.2} ms  ({:.1}x floor p50)",
        pct(&mut cold, 0.5),
        pct(&mut cold, 0.5) / floor_p50
    );

    // Policy decisions per second (in-process, the policy engine alone).
    let policy = mcp_commander::policy::Policy::from_lists(
        &[
            "ls".into(),
            "cat".into(),
            "grep".into(),
            "git status".into(),
            "git log".into(),
            "echo".into(),
        ],
        &[],
        true,
    )
    .unwrap();
    let corpus = [
        "ls -la /var/log",
        "git status -s",
        "cat README.md | grep -n policy",
        "git log --oneline -n 20",
        "echo hello world > /dev/null",
        "rm -rf /",
        "ls; id",
        "grep -r --include='*.rs' 'fn main' src",
    ];
    let iters = 200_000;
    let t = Instant::now();
    let mut allowed = 0usize;
    for i in 0..iters {
        if policy.decide(corpus[i % corpus.len()]).allowed() {
            allowed += 1;
        }
    }
    let dps = iters as f64 / t.elapsed().as_secs_f64();
    println!(
        "policy decisions                     {dps:.0} decisions/s on one core ({allowed} allowed)  => {:.4} ms each, {:.3}% of the floor",
        1000.0 / dps,
        100.0 * (1000.0 / dps) / floor_p50
    );
}
