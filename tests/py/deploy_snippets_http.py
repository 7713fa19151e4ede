"""The deployment's HTTP side, run for real on loopback:

* the Dockerfile's ENTRYPOINT + CMD and its HEALTHCHECK, run as the image would (read-only
  root filesystem, a fresh writable /tmp, uid 10001): a healthy server that refuses
  nothing it should run and writes nowhere but /tmp;
* the ECS task definition (ecs-task-definition.json) and the CloudFormation task
  definition the same way, with their environment, command and health check;
* every `curl` block of INTEGRATION.md (against the server INTEGRATION.md tells you to
  start) and of ECS.md (against the template's task), with their `#=>` outputs checked;
* every remote client configuration (Cursor, Claude Code, Continue, mcp-remote) connected
  with the URL and headers it names, through the official MCP client — and the Claude
  Desktop mcp-remote config through the real `npx mcp-remote`;
* the Logs Insights queries and the template's metric filters over the log lines these
  servers wrote, AUTH_FAILED included.

Host 0.0.0.0 and port 3000 are replaced by 127.0.0.1 and a free port; nothing else is.
"""

import asyncio
import atexit
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time

from deploy_common import (
    ROOT,
    Server,
    base_env,
    binary,
    check_expectations,
    code_blocks,
    free_port,
    http,
    load_template,
    read_only_argv,
    require,
    run_checks,
    shell_commands,
)
from deploy_dockerfile import INS, entrypoint_and_cmd, healthcheck_cmd

TOKEN = "deploy-test-" + secrets.token_hex(12)
INTEGRATION = ROOT / "INTEGRATION.md"
ECS = ROOT / "ECS.md"
LOGS = []  # JSON log lines of every server started here, for the query checks


def loopback(argv, port):
    """The image's argv with the bind address and port made safe for a test machine."""
    out = []
    for a in argv:
        if a == "0.0.0.0":
            a = "127.0.0.1"
        elif a == "3000":
            a = str(port)
        out.append(a)
    assert "--host" in out and "--port" in out, out
    return out


def run_ro(argv, env, timeout=30):
    """Runs a short command like the container would (read-only root, uid 10001)."""
    wrapped, extra = read_only_argv(argv)
    env = dict(env, **extra)
    return subprocess.run(wrapped, env=env, capture_output=True, text=True, timeout=timeout, cwd="/tmp")


def tool_call(url, tool, args, token=TOKEN, rid=1):
    status, _, body = http(
        "POST",
        url + "/",
        {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": tool, "arguments": args}},
        {"Content-Type": "application/json", "X-MCP-Auth-Token": token},
    )
    assert status == 200, (status, body)
    return json.loads(body)["result"]


def result_json(result):
    return json.loads(result["content"][0]["text"])


def keep_log(server):
    LOGS.extend(l for l in server.stderr().splitlines() if l.strip())


# ---- Dockerfile ----------------------------------------------------------------------------


def dockerfile_env():
    env = {}
    for _, ins, args in INS:
        if ins == "ENV":
            for part in shlex.split(args):
                k, _, v = part.partition("=")
                env[k] = v
    return env


def image_argv(port):
    ep, cmd = entrypoint_and_cmd()
    # tini only forwards signals and reaps; the program after `--` is what it runs.
    if "--" in ep:
        ep = ep[ep.index("--") + 1:]
    assert ep[0] == "mcp-commander"
    return [binary(), *loopback(ep[1:] + cmd, port)]


def check_dockerfile_cmd_without_a_token_refuses_to_start():
    _, cmd = entrypoint_and_cmd()
    env = base_env(dockerfile_env())
    r = subprocess.run([binary(), *cmd, "check", "--", "ls"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "token" in r.stderr, f"the image must refuse to serve without a token: {r}"
    # The exact CMD (0.0.0.0:3000) is an accepted configuration once a token is given.
    env["MCP_AUTH_TOKEN"] = TOKEN
    r = subprocess.run([binary(), *cmd, "check", "--", "ls"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r


def check_dockerfile_cmd_and_healthcheck_serve_healthy_read_only_as_non_root():
    port = free_port()
    env = base_env(dockerfile_env())
    env["MCP_AUTH_TOKEN"] = TOKEN  # docker run -e MCP_AUTH_TOKEN, as INTEGRATION.md shows
    argv = image_argv(port)
    with Server(argv[1:], env=env, read_only=True) as s:
        # HEALTHCHECK CMD ["mcp-commander", "healthcheck"], default port via MCP_HTTP_PORT.
        _, hc = healthcheck_cmd()
        assert hc[0] == "mcp-commander"
        r = run_ro([binary(), *hc[1:]], dict(env, MCP_HTTP_PORT=str(port)))
        assert r.returncode == 0 and "healthy" in r.stdout, f"HEALTHCHECK failed: {r}\n{s.stderr()}"
        status, _, body = http("GET", s.url + "/health")
        assert status == 200 and json.loads(body)["status"] == "healthy"
        # Commands run as the image user, with /tmp writable and the rest read-only.
        out = result_json(tool_call(s.url, "execute_command", {"command": "id -u; echo scratch > /tmp/x && cat /tmp/x"}))
        assert out["exit_code"] == 0 and out["stdout"] == "10001\nscratch\n", out
        out = result_json(tool_call(s.url, "execute_command", {"command": "touch /usr/local/should-fail"}))
        assert out["exit_code"] != 0 and "Read-only file system" in out["stderr"], out
        # The server itself wrote nothing but stderr: no log files appeared under /tmp.
        out = result_json(tool_call(s.url, "execute_command", {"command": "ls -A /tmp"}))
        assert out["stdout"].split() == ["x"], f"unexpected files in /tmp: {out['stdout']}"
        code = s.stop()
        assert code == 0, f"STOPSIGNAL SIGTERM must end the server cleanly, got {code}\n{s.stderr()}"
        keep_log(s)
        # With the server gone the health check reports unhealthy.
        r = run_ro([binary(), *hc[1:]], dict(env, MCP_HTTP_PORT=str(port)))
        assert r.returncode == 1, r


# ---- ECS task definitions --------------------------------------------------------------------


def ecs_doc_secret(name):
    """The value ECS.md stores in Secrets Manager under `name`."""
    for b in code_blocks(ECS):
        for c in shell_commands(b.text):
            if c.startswith("aws secretsmanager create-secret") and f"--name {name} " in c + " ":
                argv = shlex.split(c)
                return argv[argv.index("--secret-string") + 1]
    raise AssertionError(f"ECS.md creates no secret {name}")


def check_ecs_task_definition_starts_healthy_and_applies_its_secrets():
    td = json.loads((ROOT / "ecs-task-definition.json").read_text())
    c = td["containerDefinitions"][0]
    port = free_port()
    env = base_env({e["name"]: e["value"] for e in c["environment"]})
    for s in c["secrets"]:
        name = s["valueFrom"].split(":secret:")[1]
        env[s["name"]] = TOKEN if s["name"] == "MCP_AUTH_TOKEN" else ecs_doc_secret(name)
    assert c["user"] == "10001:10001"
    argv = loopback(c["command"], port)
    with Server(argv, env=env, read_only=True) as s:
        hc = c["healthCheck"]["command"]
        assert hc[0] == "CMD" and hc[1] == "mcp-commander"
        r = run_ro([binary(), *hc[2:]], dict(env, MCP_HTTP_PORT=str(port)), timeout=c["healthCheck"]["timeout"] + 5)
        assert r.returncode == 0, f"task healthCheck failed: {r}\n{s.stderr()}"
        out = result_json(tool_call(s.url, "execute_command", {"command": "ls /"}))
        assert out["exit_code"] == 0, out
        # The allow list from the secret is in force.
        refused = tool_call(s.url, "execute_command", {"command": "echo not-on-the-list"})
        assert refused["isError"] and "Command validation failed" in refused["content"][0]["text"], refused
        lines = s.lines()
        start = [l for l in lines if l.get("event") == "SERVER_START"]
        assert start and start[0]["config"]["stateless"] is True and start[0]["config"]["log_format"] == "json"
        assert TOKEN not in s.stderr(), "the token must never be logged"
        t = time.monotonic()
        code = s.stop(timeout=c["stopTimeout"])
        took = time.monotonic() - t
        assert code == 0 and took < c["stopTimeout"], (code, took)
        keep_log(s)


def cfn_container_env(params):
    t = load_template()
    c = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    env = {}
    for e in c["Environment"]:
        v = e["Value"]
        if isinstance(v, dict):
            v = params.get(v["Ref"], t["Parameters"][v["Ref"]].get("Default"))
        env[e["Name"]] = str(v)
    for s in c["Secrets"]:
        assert s["Name"] == "MCP_AUTH_TOKEN"
        env[s["Name"]] = TOKEN
    return c, env


def ecs_deploy_parameters():
    for b in code_blocks(ECS):
        for c in shell_commands(b.text):
            if c.startswith("aws cloudformation deploy"):
                argv = shlex.split(c)
                i = argv.index("--parameter-overrides")
                return dict(a.split("=", 1) for a in argv[i + 1:] if not a.startswith("--"))
    raise AssertionError("ECS.md has no aws cloudformation deploy line")


def run_block(block, url, token):
    script = "set -euo pipefail\n" + block.text
    env = base_env({"MCP_URL": url, "MCP_TOKEN": token})
    r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{block.where()} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    check_expectations(block, r.stdout)
    for msg in jsonrpc_messages(r.stdout):
        assert "error" not in msg, f"{block.where()}: a JSON-RPC error: {msg}"
        assert not msg.get("result", {}).get("isError"), f"{block.where()}: a call failed: {msg}"
    return r.stdout


def jsonrpc_messages(output):
    """The JSON-RPC messages in curl output: plain JSON bodies (possibly back to back on
    one line) and server-sent-event `data:` lines."""
    dec = json.JSONDecoder()
    out = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("data:"):
            line = line[5:].strip()
        i = 0
        while i < len(line):
            if line[i] != "{":
                i += 1
                continue
            try:
                obj, end = dec.raw_decode(line, i)
            except json.JSONDecodeError:
                i += 1
                continue
            if isinstance(obj, dict) and obj.get("jsonrpc") == "2.0":
                out.append(obj)
            i = end
    return out


def curl_blocks(path):
    return [b for b in code_blocks(path) if b.lang == "sh" and any(c.startswith("curl") or "$(curl" in c for c in shell_commands(b.text))]


def check_cloudformation_task_serves_the_ecs_md_curl_calls():
    c, env = cfn_container_env(ecs_deploy_parameters())
    port = free_port()
    with Server(loopback(c["Command"], port), env=env, read_only=True) as s:
        hc = c["HealthCheck"]["Command"]
        r = run_ro([binary(), *hc[2:]], dict(env, MCP_HTTP_PORT=str(port)))
        assert r.returncode == 0, r
        blocks = curl_blocks(ECS)
        assert blocks, "ECS.md has no curl block"
        for b in blocks:
            run_block(b, s.url, TOKEN)
        assert s.stop(timeout=c["StopTimeout"]) == 0
        keep_log(s)


# ---- INTEGRATION.md ------------------------------------------------------------------------


def integration_server_args(port):
    """The `mcp-commander --http …` line INTEGRATION.md tells users to run."""
    for b in code_blocks(INTEGRATION):
        if b.lang != "sh":
            continue
        for c in shell_commands(b.text):
            if c.startswith("mcp-commander --http"):
                argv = shlex.split(c)[1:]
                return [str(port) if a == "3000" else a for a in argv]
    raise AssertionError("INTEGRATION.md shows no mcp-commander --http line")


class DocServer:
    """INTEGRATION.md's server, shared by the checks below."""

    server = None

    @classmethod
    def get(cls):
        if cls.server is None:
            port = free_port()
            cls.server = Server(integration_server_args(port), env=base_env({"MCP_AUTH_TOKEN": TOKEN}))
            # Whatever happens to the checks, the server does not outlive this script.
            atexit.register(cls.server.__exit__, None, None, None)
        return cls.server


def check_integration_curl_blocks_run_and_print_what_the_guide_shows():
    s = DocServer.get()
    blocks = curl_blocks(INTEGRATION)
    assert len(blocks) >= 4, blocks
    for b in blocks:
        run_block(b, s.url, TOKEN)
    # The guide says the same commands work against a --stateless server (ECS).
    port = free_port()
    with Server(integration_server_args(port) + ["--stateless"], env=base_env({"MCP_AUTH_TOKEN": TOKEN})) as st:
        for b in blocks:
            run_block(b, st.url, TOKEN)
        assert st.stop() == 0
        keep_log(st)


def resolve_header(value, env):
    """A header value as the client would send it: ${env:X}, ${X}, ${{ secrets.X }}, $X."""
    value = re.sub(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", lambda m: env[m.group(1)], value)
    value = re.sub(r"\$\{(?:env:)?(\w+)\}", lambda m: env[m.group(1)], value)
    return re.sub(r"\$(\w+)", lambda m: env[m.group(1)], value)


def remote_configs(server_url):
    """(where, url, headers) of every remote client configuration in INTEGRATION.md."""
    yaml = require("yaml")
    client_env = {"MCP_COMMANDER_TOKEN": TOKEN, "MCP_TOKEN": TOKEN, "MCP_URL": server_url}
    out = []

    def url_of(u):
        return u.replace("https://mcp.example.com", server_url).replace("$MCP_URL", server_url)

    for b in code_blocks(INTEGRATION):
        if b.lang in ("json", "yaml"):
            cfg = json.loads(b.text) if b.lang == "json" else yaml.safe_load(b.text)
            servers = cfg["mcpServers"]
            e = next(iter(servers.values())) if isinstance(servers, dict) else servers[0]
            if "url" in e:
                headers = e.get("headers") or e.get("requestOptions", {}).get("headers", {})
                out.append((b.where(), url_of(e["url"]), {k: resolve_header(v, client_env) for k, v in headers.items()}))
        elif b.lang == "sh":
            for c in shell_commands(b.text):
                argv = shlex.split(c)
                if argv[:3] == ["claude", "mcp", "add"] and "--transport" in argv:
                    h = argv[argv.index("--header") + 1]
                    name, _, value = h.partition(":")
                    url = next(a for a in argv if "MCP_URL" in a)
                    out.append((b.where(), url_of(url), {name: resolve_header(value.strip(), client_env)}))
    return out


async def http_roundtrip(url, headers):
    mcp = require("mcp")
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with create_mcp_http_client(headers=headers) as hc:
        async with mcp.Client(streamable_http_client(url, http_client=hc), mode="legacy") as client:
            tools = await client.list_tools()
            result = await client.call_tool("execute_command", {"command": "echo remote-config-ok"})
            return {t.name for t in tools.tools}, result


def check_remote_client_configs_connect_with_their_url_and_headers():
    s = DocServer.get()
    configs = remote_configs(s.url)
    assert len(configs) >= 4, configs
    for where, url, headers in configs:
        assert url == s.url + "/mcp", (where, url)
        assert headers == {"Authorization": f"Bearer {TOKEN}"}, (where, headers)
        names, result = asyncio.run(asyncio.wait_for(http_roundtrip(url, headers), 60))
        assert "execute_command" in names, where
        assert not result.is_error and "remote-config-ok" in result.content[0].text, (where, result)
    # And a wrong token in the same place is refused.
    try:
        asyncio.run(asyncio.wait_for(http_roundtrip(s.url + "/mcp", {"Authorization": "Bearer wrong"}), 60))
    except BaseException as e:  # noqa: BLE001 - the SDK raises an exception group
        assert "401" in repr(e) or "Unauthorized" in repr(e), repr(e)
    else:
        raise AssertionError("a wrong token connected")


def check_claude_desktop_mcp_remote_config_through_real_npx():
    npx = shutil.which("npx")
    assert npx, "npx (Node.js) is needed to run the mcp-remote snippet"
    mcp = require("mcp")
    from mcp.client.stdio import StdioServerParameters, stdio_client

    s = DocServer.get()
    ran = 0
    for b in code_blocks(INTEGRATION):
        if b.lang != "json" or '"mcp-remote"' not in b.text:
            continue
        e = next(iter(json.loads(b.text)["mcpServers"].values()))
        args = [a.replace("https://mcp.example.com", s.url) for a in e["args"]]
        env = {k: v.replace("paste-the-token-here", TOKEN) for k, v in e["env"].items()}
        home = tempfile.mkdtemp(prefix="mcpc-npx-home-")
        full_env = base_env(env)
        full_env["HOME"] = home
        # Reuse one npm cache across runs (and with the developer's), so npx downloads once.
        full_env["npm_config_cache"] = str(ROOT / "target" / "npm-cache")
        full_env["npm_config_update_notifier"] = "false"

        async def roundtrip():
            params = StdioServerParameters(command=npx, args=args, env=full_env)
            with open(os.devnull, "w") as devnull:
                async with mcp.Client(stdio_client(params, errlog=devnull), mode="legacy") as client:
                    return await client.call_tool("execute_command", {"command": "echo via-mcp-remote"})

        result = asyncio.run(asyncio.wait_for(roundtrip(), 180))
        assert not result.is_error and "via-mcp-remote" in result.content[0].text, (b.where(), result)
        shutil.rmtree(home, ignore_errors=True)
        ran += 1
    assert ran >= 2, ran


# ---- logs ------------------------------------------------------------------------------------


def check_logs_insights_queries_and_metric_filters_over_http_logs():
    from deploy_insights import doc_queries, metric_filter_matches, records, verify

    s = DocServer.get()
    # Make sure each event is there: a command, a failing one, a refused one, a wrong token.
    tool_call(s.url, "execute_command", {"command": "ls /nonexistent-for-audit"})
    refused = tool_call(s.url, "execute_command", {"command": "rm -rf /"})
    assert refused["isError"]
    status, _, _ = http("POST", s.url + "/", {"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, {"X-MCP-Auth-Token": "wrong"})
    assert status == 401
    time.sleep(0.2)
    recs = records(LOGS + [l for l in s.stderr().splitlines() if l.strip()])
    events = {r.get("event") for r in recs}
    assert {"CMD_EXEC", "CMD_BLOCKED", "AUTH_FAILED", "SERVER_START"} <= events, events
    queries = doc_queries(ECS)
    checked = [q.where for q in queries if verify(q, recs, events)]
    assert len(checked) == len(queries), f"unchecked queries: {set(q.where for q in queries) - set(checked)}"
    t = load_template()
    filters = [r["Properties"] for r in t["Resources"].values() if r["Type"] == "AWS::Logs::MetricFilter"]
    assert len(filters) == 2
    for f in filters:
        ev = re.search(r'"(\w+)"', f["FilterPattern"]).group(1)
        hit = [r for r in recs if metric_filter_matches(f["FilterPattern"], r)]
        assert hit and all(r.get("event") == ev for r in hit), (f["FilterPattern"], hit)
        assert len(hit) == sum(1 for r in recs if r.get("event") == ev)
    assert TOKEN not in "\n".join(r["@message"] for r in recs), "a token reached the log"


def check_zz_doc_server_stops_cleanly():
    s = DocServer.get()
    assert s.stop() == 0, s.stderr()
    stops = [l for l in s.lines() if l.get("event") == "SERVER_STOP"]
    assert stops, f"no SERVER_STOP line:\n{s.stderr()[-2000:]}"
    s.__exit__(None, None, None)


if __name__ == "__main__":
    run_checks(globals())
