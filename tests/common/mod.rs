//! Shared helpers for the behaviour tests: the real binary over stdio, the Python/npm test
//! tools under `target/`, and process polling.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mcp-commander"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command for the binary with a clean, predictable environment.
pub fn command() -> Command {
    let mut c = Command::new(bin());
    c.env_clear()
        .env(
            "PATH",
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        )
        .env("HOME", "/nonexistent-home-for-tests")
        .env("LANG", "C.UTF-8");
    c
}

/// A running server spoken to over stdio.
pub struct StdioServer {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    pending: Vec<Value>,
    pub stderr_path: PathBuf,
    _dir: tempfile::TempDir,
    next_id: i64,
}

impl StdioServer {
    /// Starts the server with extra arguments and environment variables.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> StdioServer {
        let mut c = command();
        for (k, v) in env {
            c.env(k, v);
        }
        Self::start_with(c, args)
    }

    /// Starts a prepared command (e.g. with a uid set).
    pub fn start_with(mut c: Command, args: &[&str]) -> StdioServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut child = c
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start mcp-commander");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        StdioServer {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            pending: Vec::new(),
            stderr_path,
            _dir: dir,
            next_id: 100,
        }
    }

    /// Starts and completes the 2025-06-18 handshake.
    pub fn initialized(args: &[&str], env: &[(&str, &str)]) -> StdioServer {
        let mut s = Self::start(args, env);
        s.handshake("2025-06-18");
        s
    }

    /// `initialize` + `notifications/initialized`; returns the initialize result.
    pub fn handshake(&mut self, version: &str) -> Value {
        let r = self.request(
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "tests", "version": "0"}}),
        );
        self.send_raw(
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        );
        r
    }

    /// Writes one raw line.
    pub fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    }

    /// Sends a request and returns its id.
    pub fn send(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        self.send_raw(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        );
        id
    }

    /// Next message from the server (any), within `timeout`.
    pub fn next_message(&mut self, timeout: Duration) -> Option<Value> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        let line = self.lines.recv_timeout(timeout).ok()?;
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}")),
        )
    }

    /// Waits for the response with `id` (30 s at most).
    pub fn response(&mut self, id: i64) -> Value {
        self.response_within(id, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no response for id {id}"))
    }

    /// Waits for the response with `id` up to `timeout`.
    pub fn response_within(&mut self, id: i64, timeout: Duration) -> Option<Value> {
        if let Some(i) = self.pending.iter().position(|m| m["id"] == json!(id)) {
            return Some(self.pending.remove(i));
        }
        let until = Instant::now() + timeout;
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            if v["id"] == json!(id) {
                return Some(v);
            }
            self.pending.push(v);
        }
    }

    /// Sends a request and waits for its response.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        self.response(id)
    }

    /// Calls a tool and returns the `result` object.
    pub fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        assert!(r.get("error").is_none(), "tools/call {tool} failed: {r}");
        r["result"].clone()
    }

    /// Closes stdin and waits (10 s at most) for the exit status.
    pub fn close(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let until = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st.code();
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        (code, stderr)
    }

    /// The stderr written so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The structured JSON of an `execute_command` result (its text content, parsed).
/// The first line of `log` that contains `needle`, or an empty string.
pub fn line_with(log: &str, needle: &str) -> String {
    log.lines()
        .find(|l| l.contains(needle))
        .map(String::from)
        .unwrap_or_default()
}

pub fn result_json(result: &Value) -> Value {
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content: {result}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("text is not JSON ({e}): {text}"))
}

/// The text content of a result.
pub fn result_text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// PIDs of processes whose command line contains `marker` (excluding this test process).
pub fn pids_with(marker: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        // Zombies have an empty cmdline and do not count.
        if cmd.contains(marker) {
            out.push(pid);
        }
    }
    out
}

/// Polls up to `within` for no process to carry `marker`; returns the survivors otherwise.
pub fn wait_gone(marker: &str, within: Duration) -> Vec<u32> {
    let until = Instant::now() + within;
    loop {
        let left = pids_with(marker);
        if left.is_empty() || Instant::now() > until {
            return left;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A marker unique to this test run, to find processes a command started.
pub fn marker(tag: &str) -> String {
    format!(
        "mcpc-{tag}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_u32()
    )
}

fn rand_u32() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u128)
        .unwrap_or(7)
}

/// Runs `.ci/install-test-tools` (under a lock) whenever it or `.ci/requirements.txt`
/// changed since the last install, and returns the venv's interpreter. Panics with the
/// installer's output if it fails: a test that needs the tools never skips silently.
pub fn python() -> PathBuf {
    static READY: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let py = root().join("target/test-venv/bin/python");
    READY.get_or_init(|| {
        std::fs::create_dir_all(root().join("target")).expect("target dir");
        let script = format!(
            "cd {root} && want=$(cat .ci/install-test-tools .ci/requirements.txt | sha256sum) && \
             if [ \"$(cat target/.test-tools.stamp 2>/dev/null)\" != \"$want\" ]; then \
               bash .ci/install-test-tools && echo \"$want\" > target/.test-tools.stamp; fi",
            root = root().display()
        );
        let out = Command::new("flock")
            .arg(root().join("target/.test-tools.lock"))
            .args(["bash", "-c", &script])
            .output()
            .expect("run .ci/install-test-tools");
        assert!(
            out.status.success(),
            "installing the test tools failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
    assert!(py.exists(), "{} missing after install", py.display());
    py
}

/// Runs a Python test script from `tests/py/` with the venv; returns (success, stdout+stderr).
pub fn run_python(script: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let py = python();
    let mut c = Command::new(py);
    c.arg(root().join("tests/py").join(script)).args(args);
    c.env("MCP_COMMANDER_BIN", bin());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Path of a file under the repository.
pub fn repo_file(rel: &str) -> PathBuf {
    root().join(rel)
}

/// True when `p` exists.
pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// A `sleep` whose command line carries `marker` (a symlink named after it), so a test can
/// see whether that very process survived. Keep the returned dir alive while it is used.
pub fn marked_sleep(marker: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sleep binary");
    let link = dir.path().join(format!("sleep-{marker}"));
    std::os::unix::fs::symlink(sleep, &link).expect("symlink");
    let path = link.to_string_lossy().into_owned();
    (dir, path)
}
