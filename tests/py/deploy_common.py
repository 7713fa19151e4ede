"""Shared helpers for the deployment-file checks (tests/py/deploy_*.py).

Each check script defines `check_*` functions and ends with `run_checks(globals())`,
which runs them all, prints one line per check and a closing "N passed, N failed" line,
and exits non-zero if any failed. The Rust tests in tests/deploy_*.rs run the scripts
through tests/common::run_python and assert on the exit status, so `cargo test` runs
everything. A missing tool or package is a failure with an explanation, never a skip.
"""

import atexit
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def binary():
    """The mcp-commander binary under test (set by tests/common::run_python)."""
    b = os.environ.get("MCP_COMMANDER_BIN")
    if not b or not Path(b).exists():
        raise AssertionError(
            f"MCP_COMMANDER_BIN is not set to a built binary ({b!r}); run through cargo test"
        )
    return b


def require(module):
    """Imports a module or fails with how to get it."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as e:
        raise AssertionError(
            f"Python package for {module!r} is missing ({e}); it is listed in "
            ".ci/requirements.txt: run `bash .ci/install-test-tools`"
        )


def tool(name):
    """Path of a console tool installed into the test venv (e.g. cfn-lint, hadolint)."""
    p = VENV_BIN / name
    if not p.exists():
        raise AssertionError(
            f"{name} is not installed in {VENV_BIN}; it comes from .ci/requirements.txt: "
            "run `bash .ci/install-test-tools`"
        )
    return str(p)


def run_checks(namespace):
    """Runs every check_* function in `namespace`; exits 1 when one fails."""
    only = os.environ.get("DEPLOY_CHECK")
    module = namespace["__name__"]
    checks = [
        (n, f)
        for n, f in namespace.items()
        if n.startswith("check_") and callable(f) and getattr(f, "__module__", None) == module
    ]
    if only:
        wanted = [w.strip() for w in only.split(",") if w.strip()]
        checks = [(n, f) for n, f in checks if any(w in n for w in wanted)]
    if not checks:
        print("no checks selected")
        sys.exit(1)
    passed = failed = 0
    for name, fn in checks:
        t = time.monotonic()
        try:
            fn()
        except Exception:  # noqa: BLE001 - every failure is reported the same way
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - t:.1f}s)")
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print(f"ok   {name} ({time.monotonic() - t:.1f}s)")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


# ---- markdown ----------------------------------------------------------------------------

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`\n]*)$")


class Block:
    """A fenced code block of a markdown file."""

    def __init__(self, path, line, lang, text):
        self.path, self.line, self.lang, self.text = path, line, lang, text

    def where(self):
        return f"{Path(self.path).name}:{self.line} ({self.lang or 'no language'})"

    def __repr__(self):
        return f"<Block {self.where()}>"


def code_blocks(path):
    """Every fenced block of a markdown file, indentation of list items removed."""
    lines = Path(path).read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group("indent"), m.group("fence"), m.group("info").strip()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        if i >= len(lines):
            raise AssertionError(f"{path}:{start}: unclosed code fence")
        blocks.append(Block(path, start, info.split()[0] if info else "", "\n".join(body) + "\n"))
        i += 1
    return blocks


def shell_commands(text):
    """Logical lines of a shell block: continuations joined, comments and blanks dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        out.append(cur.strip())
        cur = ""
    if cur:
        out.append(cur.strip())
    return out


def expectations(text):
    """The `#=>` lines of a shell block, each split into fragments on `…`."""
    exp = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#=>"):
            frags = [f for f in s[3:].strip().split("…") if f.strip()]
            exp.append((s, frags))
    return exp


def squash(s):
    return re.sub(r"\s+", "", s)


def check_expectations(block, output):
    """Every `#=>` line's fragments appear in the output, in order (whitespace ignored)."""
    flat = squash(output)
    pos = 0
    for line, frags in expectations(block.text):
        for f in frags:
            k = flat.find(squash(f), pos)
            if k < 0:
                raise AssertionError(
                    f"{block.where()}: expected {f!r} (from {line!r}) in the output after "
                    f"position {pos}:\n{output}"
                )
            pos = k + len(squash(f))


# ---- processes and HTTP --------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_HOME = None


def scratch_home():
    """One empty HOME for the servers of this run, removed at exit."""
    global _HOME
    if _HOME is None:
        _HOME = tempfile.mkdtemp(prefix="mcpc-home-")
        atexit.register(shutil.rmtree, _HOME, True)
    return _HOME


def base_env(extra=None):
    """A clean environment like a container's: PATH, HOME, LANG plus `extra`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": scratch_home(),
        "LANG": "C.UTF-8",
    }
    env.update(extra or {})
    return env


def http(method, url, body=None, headers=None, timeout=30):
    """One HTTP request; returns (status, headers, body text). Never raises on 4xx/5xx."""
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def read_only_argv(argv, uid=10001):
    """Wraps argv to run like the container: a private mount namespace whose every mount is
    read-only except a fresh tmpfs on /tmp, as a non-root uid (no supplementary groups)."""
    script = r"""
set -e
# Remount every mount read-only (deepest first is not needed: each is its own mount).
awk '{print $2}' /proc/self/mounts | while read -r m; do
  case "$m" in /proc*|/sys*|/dev*) continue ;; esac
  m=$(printf '%b' "$m")
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
# The binary may live under /tmp (a CI checkout there): keep it open on fd 3 so the
# tmpfs below cannot hide it, and start it through that descriptor.
exec 3< "$1"
shift
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec setpriv --reuid "$UID_RO" --regid "$UID_RO" --clear-groups --inh-caps=-all -- /proc/self/fd/3 "$@"
"""
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "ro", *argv], {
        "UID_RO": str(uid)
    }


class Server:
    """mcp-commander --http on loopback, started and stopped by a check."""

    def __init__(self, args, env=None, read_only=False, ready_path="/health"):
        self.port = None
        for a, b in zip(args, args[1:]):
            if a == "--port":
                self.port = int(b)
        if self.port is None:
            raise AssertionError(f"Server args need --port: {args}")
        self.log = tempfile.NamedTemporaryFile(prefix="mcpc-stderr-", suffix=".log", delete=False)
        argv = [binary(), *args]
        env = dict(env or base_env())
        if read_only:
            for p in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
                if p not in env.get("PATH", ""):
                    env["PATH"] = env.get("PATH", "") + ":" + p
            argv, extra = read_only_argv(argv)
            env.update(extra)
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            cwd="/tmp" if read_only else None,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        until = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.proc.returncode} before answering:\n"
                    f"argv: {argv}\n{self.stderr()}"
                )
            try:
                status, _, _ = http("GET", self.url + ready_path, timeout=2)
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > until:
                self.stop()
                raise AssertionError(f"server not healthy within 20s:\n{self.stderr()}")
            time.sleep(0.05)

    def stderr(self):
        return Path(self.log.name).read_text(errors="replace")

    def lines(self):
        """The JSON log lines written so far, parsed."""
        out = []
        for line in self.stderr().splitlines():
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def stop(self, timeout=15):
        """SIGTERM, then wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"server ignored SIGTERM for {timeout}s:\n{self.stderr()}")
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def split_cli(line):
    """shlex-split a command line with $VAR references left as written."""
    return shlex.split(line)


def load_template(path=None):
    """deploy/cloudformation.yaml as data, short-form intrinsics (!Ref, !Sub …) expanded to
    their long form ({"Ref": …}, {"Fn::Sub": …})."""
    yaml = require("yaml")

    class CfnLoader(yaml.SafeLoader):
        pass

    def intrinsic(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {"Fn::" + suffix: value}

    CfnLoader.add_multi_constructor("!", intrinsic)
    path = path or ROOT / "deploy" / "cloudformation.yaml"
    return yaml.load(Path(path).read_text(), Loader=CfnLoader)
