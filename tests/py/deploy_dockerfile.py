"""Dockerfile and .dockerignore, checked without a Docker engine: hadolint, the structure
the deployment relies on (multi-stage, non-root, EXPOSE, HEALTHCHECK through the binary,
the HTTP command line), and a build context that holds what cargo needs and nothing else.
The same CMD and HEALTHCHECK run against the built binary in deploy_snippets_http.py.
"""

import json
import re
import subprocess
import sys
import tempfile

from deploy_common import ROOT, run_checks, tool

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the venv is 3.11+
    raise AssertionError("Python 3.11+ is needed for tomllib")


def instructions(path=ROOT / "Dockerfile"):
    """(line, INSTRUCTION, arguments) with continuations joined and comments dropped."""
    out, cur, start = [], "", 0
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.rstrip()
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue
        if not cur:
            start = n
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        word, _, rest = cur.strip().partition(" ")
        out.append((start, word.upper(), rest.strip()))
        cur = ""
    return out


INS = instructions()


def stages():
    """Instructions grouped by stage: [(from_args, [(line, ins, args)])]."""
    result = []
    for item in INS:
        if item[1] == "FROM":
            result.append((item[2], []))
        elif result:
            result[-1][1].append(item)
    return result


def exec_form(args):
    """A JSON-array (exec form) instruction argument, or an assertion error."""
    try:
        v = json.loads(args)
    except json.JSONDecodeError:
        raise AssertionError(f"not exec form (JSON array): {args}")
    assert isinstance(v, list) and all(isinstance(x, str) for x in v), args
    return v


def healthcheck_cmd():
    (hc,) = [a for _, i, a in INS if i == "HEALTHCHECK"]
    opts, _, cmd = hc.partition("CMD ")
    return opts.split(), exec_form(cmd.strip())


def entrypoint_and_cmd():
    (ep,) = [a for _, i, a in INS if i == "ENTRYPOINT"]
    (cmd,) = [a for _, i, a in INS if i == "CMD"]
    return exec_form(ep), exec_form(cmd)


def check_hadolint_passes():
    hadolint = tool("hadolint")
    r = subprocess.run([hadolint, "--failure-threshold", "info", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert r.returncode == 0, f"hadolint:\n{r.stdout}{r.stderr}"
    # And hadolint really lints: a Dockerfile with known problems must fail.
    with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile") as f:
        f.write("FROM debian:latest\nRUN cd /tmp && apt-get install git\n")
        f.flush()
        r = subprocess.run([hadolint, f.name], capture_output=True, text=True)
    assert r.returncode != 0 and "DL3007" in r.stdout, r.stdout


def check_multi_stage_official_rust_then_slim_debian():
    st = stages()
    assert len(st) >= 2, "multi-stage: a build stage and a runtime stage"
    build, runtime = st[0][0], st[-1][0]
    assert re.match(r"rust:\$\{RUST_VERSION\}-slim-\$\{DEBIAN_RELEASE\} AS build$", build), build
    assert re.match(r"debian:\$\{DEBIAN_RELEASE\}-slim AS runtime$", runtime), runtime
    args = {a.split("=")[0]: a.split("=")[1] for _, i, a in INS if i == "ARG" and "=" in a}
    assert re.fullmatch(r"1\.\d+", args["RUST_VERSION"])
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    msrv = cargo["package"].get("rust-version", "1.0")
    assert tuple(map(int, args["RUST_VERSION"].split("."))) >= tuple(map(int, msrv.split(".")[:2])), (
        f"RUST_VERSION {args['RUST_VERSION']} is below the crate's rust-version {msrv}"
    )


def check_build_is_locked_release_with_dependency_caching():
    runs = " ".join(a for _, i, a in stages()[0][1] if i == "RUN")
    assert "cargo build --release --locked --bin mcp-commander" in runs
    for target in ("/usr/local/cargo/registry", "/src/target"):
        assert f"--mount=type=cache" in runs and f"target={target}" in runs, f"no cache mount for {target}"


def check_runtime_has_shell_tools_and_clean_apt():
    st = stages()[-1][1]
    runs = " ".join(a for _, i, a in st if i == "RUN")
    for pkg in ("ca-certificates", "git", "tini"):
        assert re.search(rf"\b{re.escape(pkg)}\b", runs), f"runtime lacks {pkg}"
    assert "--no-install-recommends" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs
    copies = [a for _, i, a in st if i == "COPY"]
    assert any(a.startswith("--from=build") and a.endswith("/usr/local/bin/mcp-commander") for a in copies), copies


def check_non_root_user():
    st = stages()[-1][1]
    users = [a for _, i, a in st if i == "USER"]
    assert users, "the runtime stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, users[-1]
    order = [i for _, i, _ in st]
    assert order.index("USER") < order.index("ENTRYPOINT")
    runs = " ".join(a for _, i, a in st if i == "RUN")
    assert f"--uid {uid}" in runs and f"--gid {gid}" in runs, "the user must exist in /etc/passwd"


def check_expose_healthcheck_entrypoint_cmd():
    assert [a for _, i, a in INS if i == "EXPOSE"] == ["3000"]
    opts, cmd = healthcheck_cmd()
    assert cmd == ["mcp-commander", "healthcheck"], cmd
    o = dict(x.lstrip("-").split("=") for x in opts)
    assert set(o) >= {"interval", "timeout", "retries"}, o
    ep, cmd = entrypoint_and_cmd()
    assert ep[-1] == "mcp-commander", ep
    assert ep in (["mcp-commander"], ["tini", "-s", "--", "mcp-commander"]), ep
    assert cmd == ["--http", "--host", "0.0.0.0", "--port", "3000"], cmd
    stop = [a for _, i, a in INS if i == "STOPSIGNAL"]
    assert stop in ([], ["SIGTERM"])


def check_no_secrets_or_writable_state_baked_in():
    for _, i, a in INS:
        if i in ("ENV", "ARG", "LABEL"):
            assert "TOKEN" not in a.upper(), f"{i} {a}: tokens come from the runtime, never the image"
    volumes = [exec_form(a) for _, i, a in INS if i == "VOLUME"]
    assert volumes == [["/tmp"]], f"exactly VOLUME [\"/tmp\"], the task volume's mount point: {volumes}"
    runs = " ".join(a for _, i, a in stages()[-1][1] if i == "RUN")
    assert "chmod 1777 /tmp" in runs, "the non-root user must be able to write /tmp"
    env = " ".join(a for _, i, a in INS if i == "ENV")
    assert "MCP_LOG_DIR" not in env, "logs go to stderr so the root filesystem can be read-only"
    assert "TMPDIR=/tmp" in env


# ---- .dockerignore ---------------------------------------------------------------------------


def ignore_patterns():
    pats = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        neg = s.startswith("!")
        s = s[1:] if neg else s
        s = s.strip("/")
        pats.append((neg, s))
    return pats


def _regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out + "$")


def ignored(path, pats):
    """Docker's rule: the last matching pattern wins; a pattern matching a parent directory
    matches everything below it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    result = False
    for neg, p in pats:
        rx = _regex(p)
        if any(rx.match(x) for x in prefixes):
            result = not neg
    return result


def context_files():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    # Files not committed yet count too (the check runs before commits as well).
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    pats = ignore_patterns()
    every = sorted(set(files + untracked))
    return every, [f for f in every if not ignored(f, pats)]


def check_dockerignore_matcher_semantics():
    pats = [(False, "target"), (False, "**/*.pyc"), (False, "*.md"), (True, "README.md")]
    assert ignored("target/debug/x", pats)
    assert ignored("a/b/c.pyc", pats)
    assert ignored("ECS.md", pats) and not ignored("README.md", pats)
    assert not ignored("src/main.rs", pats)


def check_build_context_has_what_cargo_needs():
    _, kept = context_files()
    kept_set = set(kept)
    for f in ("Cargo.toml", "Cargo.lock", "src/main.rs", "src/lib.rs"):
        assert f in kept_set, f"{f} is excluded from the build context"
    assert any(f.startswith("src/") and f.endswith(".rs") for f in kept)
    # Every target the manifest names must be there, or cargo refuses to load it.
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    for kind, folder in (("bench", "benches"), ("test", "tests"), ("example", "examples"), ("bin", "src/bin")):
        for t in cargo.get(kind, []):
            path = t.get("path") or f"{folder}/{t['name']}.rs"
            if kind == "bin" and "path" not in t and t["name"] == cargo["package"]["name"]:
                path = "src/main.rs"
            assert path in kept_set or any(k.startswith(path.rsplit(".", 1)[0] + "/") for k in kept), (
                f"Cargo.toml names {kind} {t['name']!r} at {path}, which .dockerignore excludes or does not exist"
            )
    # Files the source includes at compile time.
    for rs in [f for f in kept if f.endswith(".rs")]:
        text = (ROOT / rs).read_text(errors="replace")
        for inc in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', text):
            target = (ROOT / rs).parent.joinpath(inc).resolve().relative_to(ROOT).as_posix()
            assert target in kept_set, f"{rs} includes {inc}, excluded from the build context"
    if any(f.startswith("policies/") for f in context_files()[0]):
        assert any(f.startswith("policies/") for f in kept), "policies/ must reach the image"


def check_build_context_leaves_out_bulk_and_secrets():
    every, kept = context_files()
    pats = ignore_patterns()
    for f in ("target/debug/mcp-commander", ".git/HEAD", ".env", ".mcp_env", "x/node_modules/y.js", "server.pem"):
        assert ignored(f, pats), f"{f} would be sent to the Docker daemon"
    assert not any(f.startswith(("target/", ".git/")) for f in kept)


if __name__ == "__main__":
    run_checks(globals())
