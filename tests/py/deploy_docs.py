"""Every snippet of INTEGRATION.md and ECS.md, exercised without an HTTP server:

* every fenced block is claimed by one of the checks below (an unrecognised block fails);
* JSON and YAML client configs parse and point at the right URL, headers and command;
  the stdio ones start the real binary through the official MCP client and run a command;
* `mcp-commander …` lines are accepted by the binary's own configuration parsing;
* `aws …` lines use operations and options that exist in botocore's service models, and
  agree with the task definition and the CloudFormation template;
* the Logs Insights queries parse and return exactly their events over real JSON log
  lines (CMD_EXEC, CMD_BLOCKED here; AUTH_FAILED needs HTTP, in deploy_snippets_http.py);
* relative links resolve.

The `curl` blocks and the remote configs run against a live server in
deploy_snippets_http.py.
"""

import asyncio
import fnmatch
import json
import os
import re
import shlex
import subprocess
import tempfile

from deploy_common import (
    ROOT,
    base_env,
    binary,
    code_blocks,
    expectations,
    load_template,
    require,
    run_checks,
    shell_commands,
)

yaml = require("yaml")
DOCS = [ROOT / "INTEGRATION.md", ROOT / "ECS.md"]
TD = json.loads((ROOT / "ecs-task-definition.json").read_text())
EXAMPLE_URL = "https://mcp.example.com/mcp"
KNOWN_PROGRAMS = {"export", "cargo", "mcp-commander", "docker", "claude", "aws", "curl"}


def all_blocks():
    return [b for d in DOCS for b in code_blocks(d)]


def server_entry(cfg, where):
    servers = cfg.get("mcpServers")
    if isinstance(servers, dict):
        assert len(servers) == 1, f"{where}: one server per snippet"
        (name, entry), = servers.items()
        return name, entry
    if isinstance(servers, list):
        assert len(servers) == 1, f"{where}: one server per snippet"
        return servers[0]["name"], servers[0]
    raise AssertionError(f"{where}: no mcpServers")


def classify(block):
    """The kind of a block; raises for a block no check exercises."""
    if block.lang == "json":
        cfg = json.loads(block.text)
        _, e = server_entry(cfg, block.where())
        if e.get("command") == "mcp-commander":
            return "stdio-json"
        if e.get("command") == "npx":
            return "mcp-remote-json"
        if "url" in e:
            return "http-json"
    elif block.lang == "yaml":
        cfg = yaml.safe_load(block.text)
        _, e = server_entry(cfg, block.where())
        return "continue-stdio" if "command" in e else "continue-remote"
    elif block.lang == "logs-insights":
        return "insights"
    elif block.lang == "" and "──" in block.text:
        return "diagram"
    elif block.lang == "sh":
        cmds = shell_commands(block.text)
        if any(re.match(r"^(\w+=\$\()?curl\b", c) for c in cmds):
            return "curl"
        for c in cmds:
            first = re.split(r"[\s=]", c, 1)[0]
            if first not in KNOWN_PROGRAMS and not re.match(r"^[A-Z_]+=", c):
                raise AssertionError(f"{block.where()}: no check knows the command {c!r}")
        return "commands"
    raise AssertionError(f"{block.where()}: no check exercises this block:\n{block.text}")


def blocks_of(kind):
    return [b for b in all_blocks() if classify(b) == kind]


def check_every_block_is_exercised():
    kinds = {}
    for b in all_blocks():
        kinds.setdefault(classify(b), []).append(b)
    for k in ("stdio-json", "mcp-remote-json", "http-json", "continue-stdio", "continue-remote", "insights", "curl", "commands"):
        assert k in kinds, f"no {k} snippet in the docs"
    print("   blocks:", {k: len(v) for k, v in sorted(kinds.items())})


# ---- client configurations ------------------------------------------------------------------


def check_remote_json_configs_point_at_mcp_with_a_bearer_header():
    for b in blocks_of("http-json"):
        _, e = server_entry(json.loads(b.text), b.where())
        assert e["url"] == EXAMPLE_URL, f"{b.where()}: url {e['url']}"
        assert e.get("type", "http") == "http", b.where()
        auth = e["headers"]["Authorization"]
        assert re.fullmatch(r"Bearer \$\{(env:)?[A-Z_]+\}", auth), f"{b.where()}: token not from the environment: {auth}"
        assert set(e) <= {"url", "headers", "type"}, b.where()


def check_mcp_remote_configs():
    for b in blocks_of("mcp-remote-json"):
        _, e = server_entry(json.loads(b.text), b.where())
        args, env = e["args"], e.get("env", {})
        assert args[:2] == ["-y", "mcp-remote"], f"{b.where()}: {args}"
        assert args[2] == EXAMPLE_URL, b.where()
        i = args.index("--header")
        header = args[i + 1]
        resolved = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], header)
        name, _, value = resolved.partition(":")
        assert name == "Authorization" and value.strip().startswith("Bearer "), f"{b.where()}: {resolved}"
        for var in re.findall(r"\$\{(\w+)\}", header):
            assert var in env, f"{b.where()}: ${{{var}}} is not set in env"


def check_continue_configs():
    for b in blocks_of("continue-stdio") + blocks_of("continue-remote"):
        cfg = yaml.safe_load(b.text)
        assert cfg["schema"] == "v1" and cfg["version"] and cfg["name"], b.where()
        _, e = server_entry(cfg, b.where())
        if "command" in e:
            assert e["command"] == "mcp-commander"
        else:
            assert e["type"] == "streamable-http" and e["url"] == EXAMPLE_URL, b.where()
            auth = e["requestOptions"]["headers"]["Authorization"]
            assert re.fullmatch(r"Bearer \$\{\{ secrets\.[A-Z_]+ \}\}", auth), auth


def claude_lines():
    out = []
    for b in blocks_of("commands"):
        for c in shell_commands(b.text):
            if c.startswith("claude "):
                out.append((b, shlex.split(c)))
    assert out, "no claude mcp add lines"
    return out


def check_claude_code_lines():
    kinds = set()
    for b, argv in claude_lines():
        assert argv[:3] == ["claude", "mcp", "add"], argv
        if "--transport" in argv:
            assert argv[argv.index("--transport") + 1] == "http"
            pos = [a for a in argv[3:] if not a.startswith("-")]
            # name and url after the options' values
            vals = {argv[argv.index(o) + 1] for o in ("--transport", "--header") if o in argv}
            pos = [a for a in pos if a not in vals]
            assert pos == ["commander", "$MCP_URL/mcp"], pos
            assert argv[argv.index("--header") + 1] == "Authorization: Bearer $MCP_TOKEN"
            kinds.add("http")
        else:
            i = argv.index("--")
            assert argv[3:i] == ["commander"], argv
            assert argv[i + 1] == "mcp-commander"
            kinds.add("stdio")
    assert kinds == {"http", "stdio"}


def stdio_configs():
    """(where, command, args, env) of every stdio configuration in the docs."""
    out = []
    for b in blocks_of("stdio-json") + blocks_of("continue-stdio"):
        cfg = json.loads(b.text) if b.lang == "json" else yaml.safe_load(b.text)
        _, e = server_entry(cfg, b.where())
        out.append((b.where(), e["command"], list(e.get("args", [])), dict(e.get("env", {}))))
    for b, argv in claude_lines():
        if "--" in argv:
            i = argv.index("--")
            out.append((b.where() + " claude", argv[i + 1], argv[i + 2:], {}))
    return out


async def stdio_roundtrip(command, args, env, cwd):
    mcp = require("mcp")
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command, args=args, env=env, cwd=cwd)
    with open(os.devnull, "w") as devnull:
        async with mcp.Client(stdio_client(params, errlog=devnull), mode="legacy") as client:
            tools = await client.list_tools()
            names = {t.name for t in tools.tools}
            result = await client.call_tool("execute_command", {"command": "ls"})
            return names, result


def check_stdio_configs_start_the_server_and_run_a_command():
    configs = stdio_configs()
    assert len(configs) >= 4, configs
    for where, command, args, env in configs:
        assert command == "mcp-commander", where
        allowed = args[args.index("--allowed-commands") + 1].split(",") if "--allowed-commands" in args else []
        assert "ls" in allowed, f"{where}: the example allow list should show a harmless command like ls"
        with tempfile.TemporaryDirectory() as cwd:
            open(os.path.join(cwd, "marker-file"), "w").close()
            full_env = base_env(env)
            names, result = asyncio.run(asyncio.wait_for(stdio_roundtrip(binary(), args, full_env, cwd), 60))
        assert {"execute_command", "check_command", "get_shell_info"} <= names, f"{where}: tools {names}"
        assert not result.is_error, f"{where}: {result}"
        text = result.content[0].text
        assert "marker-file" in text, f"{where}: ls output missing: {text}"


# ---- command lines ---------------------------------------------------------------------------


def command_lines(program):
    out = []
    for b in blocks_of("commands"):
        for c in shell_commands(b.text):
            for part in re.split(r"\s+\|\s+", c):
                if part.startswith(program + " "):
                    out.append((b, part))
            for inner in re.findall(r"\$\((" + re.escape(program) + r" [^)]*)\)", c):
                out.append((b, inner))
    return out


def check_mcp_commander_lines_are_valid_configurations():
    lines = command_lines("mcp-commander")
    assert lines
    for b, line in lines:
        argv = shlex.split(line)[1:]
        env = base_env({"MCP_AUTH_TOKEN": "doc-test-token"})
        if argv == ["--version"]:
            r = subprocess.run([binary(), *argv], env=env, capture_output=True, text=True, timeout=30)
            assert r.returncode == 0 and "mcp-commander" in r.stdout, r
            continue
        # `check` resolves the whole configuration (token rule included) without serving.
        r = subprocess.run([binary(), *argv, "check", "--", "ls"], env=env, capture_output=True, text=True, timeout=30)
        assert r.returncode in (0, 1), f"{b.where()}: {line!r} is not a valid configuration:\n{r.stderr}"
        # And without a token an --http line is refused, as the docs say.
        if "--http" in argv:
            env.pop("MCP_AUTH_TOKEN")
            r = subprocess.run([binary(), *argv, "check", "--", "ls"], env=env, capture_output=True, text=True, timeout=30)
            assert r.returncode == 2 and "token" in r.stderr, r.stderr


def check_docker_lines_match_the_dockerfile():
    lines = command_lines("docker")
    runs = [shlex.split(l) for _, l in lines if l.startswith("docker run")]
    assert runs
    for argv in runs:
        assert "--read-only" in argv and argv[argv.index("--tmpfs") + 1] == "/tmp", argv
        p = argv[argv.index("-p") + 1]
        assert p.startswith("127.0.0.1:") and p.endswith(":3000"), p
        assert argv[argv.index("-e") + 1] == "MCP_AUTH_TOKEN", argv
        assert argv[-1] == "mcp-commander"
    builds = [shlex.split(l) for _, l in lines if l.startswith("docker build")]
    assert builds and all(a[-1] == "." for a in builds)


GLOBAL_AWS_OPTIONS = {"region", "query", "output", "profile", "no-cli-pager", "cli-input-json", "debug", "endpoint-url"}
CUSTOM_AWS = {
    ("cloudformation", "deploy"): {"stack-name", "template-file", "capabilities", "parameter-overrides", "tags", "no-fail-on-empty-changeset"},
    ("ecr", "get-login-password"): set(),
}


def aws_commands():
    out = []
    for b, line in command_lines("aws"):
        argv = shlex.split(line)
        out.append((b, argv))
    assert len(out) >= 15, len(out)
    return out


def options_of(argv):
    """{option: [values]} of an aws command line (values up to the next option)."""
    opts, cur = {}, None
    for a in argv[3:]:
        if a.startswith("--"):
            cur = a[2:]
            opts.setdefault(cur, [])
        elif cur is not None:
            opts[cur].append(a)
        else:
            raise AssertionError(f"positional argument {a!r} in {argv}")
    return opts


def check_aws_lines_use_real_operations_and_options():
    session = require("botocore.session").get_session()
    from botocore import xform_name

    services = set(session.get_available_services())
    for b, argv in aws_commands():
        svc, op = argv[1], argv[2]
        opts = options_of(argv)
        names = set(opts) - GLOBAL_AWS_OPTIONS
        if (svc, op) in CUSTOM_AWS:
            unknown = names - CUSTOM_AWS[(svc, op)]
            assert not unknown, f"{b.where()}: aws {svc} {op}: unknown options {unknown}"
            continue
        assert svc in services, f"{b.where()}: unknown service {svc}"
        model = session.get_service_model(svc)
        ops = {xform_name(n, "-"): n for n in model.operation_names}
        assert op in ops, f"{b.where()}: aws {svc} has no operation {op}"
        shape = model.operation_model(ops[op]).input_shape
        members = {xform_name(m, "-"): m for m in shape.members} if shape else {}
        for n in names:
            base = n[3:] if n.startswith("no-") and n[3:] in members else n
            assert base in members, f"{b.where()}: aws {svc} {op} has no option --{n}"
        if "cli-input-json" not in opts:
            for req in shape.required_members if shape else []:
                assert xform_name(req, "-") in names, f"{b.where()}: aws {svc} {op} needs --{xform_name(req, '-')}"
        for n, vals in opts.items():
            if n.endswith("policy-document"):
                json.loads(vals[0])


def template():
    return load_template()


def check_cloudformation_deploy_line_fills_the_template():
    deploys = [(b, a) for b, a in aws_commands() if a[1:3] == ["cloudformation", "deploy"]]
    assert len(deploys) == 1
    b, argv = deploys[0]
    opts = options_of(argv)
    assert opts["template-file"] == ["deploy/cloudformation.yaml"]
    assert (ROOT / "deploy/cloudformation.yaml").exists()
    assert "CAPABILITY_IAM" in opts["capabilities"]
    t = template()
    params = t["Parameters"]
    given = dict(kv.split("=", 1) for kv in opts["parameter-overrides"])
    unknown = set(given) - set(params)
    assert not unknown, f"{b.where()}: not template parameters: {unknown}"
    required = {k for k, p in params.items() if "Default" not in p}
    assert required <= set(given), f"{b.where()}: missing required parameters {required - set(given)}"
    for k, v in given.items():
        p = params[k]
        if "AllowedValues" in p:
            assert v in [str(x) for x in p["AllowedValues"]], (k, v)
        if "AllowedPattern" in p:
            assert re.fullmatch(p["AllowedPattern"], v), (k, v, p["AllowedPattern"])
        if p["Type"].startswith("List<"):
            assert all(x for x in v.split(",")), (k, v)
    # The token the guide reads afterwards is the stack's secret.
    stack = opts["stack-name"][0]
    secret_name = t["Resources"]["AuthTokenSecret"]["Properties"]["Name"]["Fn::Sub"].replace("${AWS::StackName}", stack)
    reads = [a for _, a in aws_commands() if a[1:3] == ["secretsmanager", "get-secret-value"]]
    assert any(options_of(a)["secret-id"] == [secret_name] for a in reads), secret_name


def check_cli_deployment_agrees_with_the_task_definition():
    cmds = aws_commands()
    c = TD["containerDefinitions"][0]

    def first(svc, op):
        found = [options_of(a) for _, a in cmds if a[1:3] == [svc, op]]
        assert found, f"no aws {svc} {op} line"
        return found

    reg = first("ecs", "register-task-definition")[0]
    path = reg["cli-input-json"][0]
    assert path == "file://ecs-task-definition.json" and (ROOT / path[7:]).exists()
    svc = first("ecs", "create-service")[0]
    assert svc["task-definition"] == [TD["family"]]
    assert svc["launch-type"] == ["FARGATE"]
    lb = svc["load-balancers"][0]
    assert f"containerName={c['name']}" in lb and "containerPort=3000" in lb
    assert "assignPublicIp=DISABLED" in svc["network-configuration"][0]
    groups = {o["log-group-name"][0] for o in first("logs", "create-log-group")}
    assert c["logConfiguration"]["options"]["awslogs-group"] in groups
    secrets = {o["name"][0] for o in first("secretsmanager", "create-secret")}
    for s in c["secrets"]:
        assert s["valueFrom"].split(":secret:")[1] in secrets, s
    role = first("iam", "create-role")[0]["role-name"][0]
    assert TD["executionRoleArn"].endswith(":role/" + role)
    policy = json.loads(first("iam", "put-role-policy")[0]["policy-document"][0])
    allowed = policy["Statement"][0]["Resource"]
    for s in c["secrets"]:
        assert fnmatch.fnmatch(s["valueFrom"], allowed), (s["valueFrom"], allowed)
    for o in first("logs", "put-metric-filter"):
        assert re.fullmatch(r'\{ \$\.event = "(AUTH_FAILED|CMD_BLOCKED)" \}', o["filter-pattern"][0])


def check_curl_blocks_use_variables_and_show_output():
    for b in blocks_of("curl"):
        assert expectations(b.text), f"{b.where()}: a curl block must show its output with #=> lines"
        for c in shell_commands(b.text):
            assert "$MCP_URL" in c or "curl" not in c, f"{b.where()}: hard-coded URL in {c!r}"
            if "Bearer" in c or "X-MCP-Auth-Token" in c:
                assert "$MCP_TOKEN" in c or "not-the-token" in c, f"{b.where()}: hard-coded token in {c!r}"


# ---- queries ---------------------------------------------------------------------------------


def check_logs_insights_queries_over_real_stdio_log_lines():
    from deploy_insights import doc_queries, records, verify

    mcp = require("mcp")
    from mcp.client.stdio import StdioServerParameters

    err = tempfile.NamedTemporaryFile("w+", suffix=".log")

    # The SDK sends the server's stderr to errlog; capture it through a Client with a transport.
    from mcp.client.stdio import stdio_client

    async def session_with_log():
        params = StdioServerParameters(command=binary(), args=["--log-format", "json"], env=base_env(), cwd=tempfile.gettempdir())
        async with mcp.Client(stdio_client(params, errlog=err), mode="legacy") as client:
            await client.call_tool("execute_command", {"command": "echo audit-ok"})
            await client.call_tool("execute_command", {"command": "ls /nonexistent-dir-for-audit"})
            r = await client.call_tool("execute_command", {"command": "rm -rf /"})
            assert r.is_error, "rm -rf / must be refused for this check"

    asyncio.run(asyncio.wait_for(session_with_log(), 60))
    err.flush()
    err.seek(0)
    lines = err.read().splitlines()
    recs = records(lines)
    events = {r.get("event") for r in recs}
    assert {"CMD_EXEC", "CMD_BLOCKED"} <= events, lines
    queries = doc_queries(ROOT / "ECS.md")
    assert len(queries) >= 6
    done = [q.where for q in queries if verify(q, recs, {"CMD_EXEC", "CMD_BLOCKED"})]
    assert len(done) >= 4, done
    assert {q.event() for q in queries} == {"CMD_EXEC", "CMD_BLOCKED", "AUTH_FAILED"}
    for needed in ("like /CMD_EXEC/", "like /blocked/", "like /401/"):
        assert any(needed in q.text for q in queries), needed


# ---- links -----------------------------------------------------------------------------------


def anchors(path):
    out = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            out.add(slug)
    return out


def check_relative_links_resolve():
    for doc in DOCS:
        text = doc.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, frag = target.partition("#")
            file = (doc.parent / path) if path else doc
            assert file.exists(), f"{doc.name}: link to missing {target}"
            if frag:
                assert frag in anchors(file), f"{doc.name}: link to missing anchor {target}"


if __name__ == "__main__":
    run_checks(globals())
