"""ecs-task-definition.json: valid input for ECS RegisterTaskDefinition (botocore's bundled
service model, offline) and every property the deployment promises (ECS.md, CONTRACT §9).
"""

import json
import re

from deploy_common import ROOT, require, run_checks

PATH = ROOT / "ecs-task-definition.json"
TD = json.loads(PATH.read_text())
C = TD["containerDefinitions"][0]
ENV = {e["name"]: e["value"] for e in C.get("environment", [])}
SECRETS = {s["name"]: s["valueFrom"] for s in C.get("secrets", [])}


def seconds(humantime):
    """The few humantime forms the files use: 20s, 10m, 1h, or a bare number of seconds."""
    m = re.fullmatch(r"\s*(\d+)\s*(s|sec|m|min|h)?\s*", humantime)
    assert m, f"unexpected duration {humantime!r}"
    n, unit = int(m.group(1)), m.group(2) or "s"
    return n * {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]


def check_validates_against_the_ecs_api_model():
    session = require("botocore.session").get_session()
    validate = require("botocore.validate")
    model = session.get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = validate.ParamValidator().validate(TD, shape)
    assert not report.has_errors(), report.generate_report()
    # The validator ignores nothing silently: an unknown key is an error there too.
    bogus = dict(TD, notAField=1)
    assert validate.ParamValidator().validate(bogus, shape).has_errors()


def check_fargate_awsvpc_with_valid_size():
    assert TD["requiresCompatibilities"] == ["FARGATE"]
    assert TD["networkMode"] == "awsvpc"
    cpu, mem = int(TD["cpu"]), int(TD["memory"])
    valid = {256: [512, 1024, 2048], 512: list(range(1024, 4097, 1024)),
             1024: list(range(2048, 8193, 1024)), 2048: list(range(4096, 16385, 1024)),
             4096: list(range(8192, 30721, 1024))}
    assert mem in valid[cpu], f"cpu {cpu} / memory {mem} is not a Fargate combination"
    assert TD["runtimePlatform"]["operatingSystemFamily"] == "LINUX"


def check_single_essential_container():
    assert len(TD["containerDefinitions"]) == 1
    assert C["essential"] is True
    assert C["name"] == "mcp-commander"


def check_read_only_root_with_writable_tmp_volume():
    assert C["readonlyRootFilesystem"] is True
    mounts = {m["containerPath"]: m for m in C["mountPoints"]}
    assert "/tmp" in mounts, "a task volume must be mounted at /tmp"
    tmp = mounts["/tmp"]
    assert tmp.get("readOnly") is False
    volumes = {v["name"]: v for v in TD["volumes"]}
    assert tmp["sourceVolume"] in volumes, "the /tmp mount must name a task volume"
    # A bind-mount task volume (no host path on Fargate): task-local scratch storage.
    assert "host" not in volumes[tmp["sourceVolume"]]
    assert "efsVolumeConfiguration" not in volumes[tmp["sourceVolume"]]
    assert ENV.get("TMPDIR", "/tmp") == "/tmp"
    # ECS fills the volume from the image only where the image declares VOLUME at the
    # same path; otherwise the non-root user may find /tmp unwritable.
    assert re.search(r'^VOLUME \["/tmp"\]$', (ROOT / "Dockerfile").read_text(), re.M)
    assert "MCP_LOG_DIR" not in ENV, "logs go to stderr; nothing may need a writable root"


def check_init_process_and_stop_timeout_above_grace():
    assert C["linuxParameters"]["initProcessEnabled"] is True
    grace = seconds(ENV.get("MCP_SHUTDOWN_GRACE", "20s"))
    assert C["stopTimeout"] > grace, f"stopTimeout {C['stopTimeout']} must exceed the {grace}s grace"
    assert C["stopTimeout"] <= 120, "Fargate allows at most 120 s"


def check_non_root_user():
    user = C["user"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"user {user!r} must be a numeric non-root uid"
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] == user, f"task user {user!r} != Dockerfile USER {users}"


def check_token_and_allow_list_from_secrets_manager_only():
    assert "MCP_AUTH_TOKEN" in SECRETS
    assert "MCP_AUTH_TOKEN" not in ENV
    assert "MCP_AUTH_TOKEN_FILE" not in ENV
    for name, arn in SECRETS.items():
        assert re.match(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+", arn), (name, arn)
    # The allow list, when used, also comes from a secret, never from both places.
    assert not ({"MCP_ALLOWED_COMMANDS"} & set(ENV) & set(SECRETS))
    text = PATH.read_text().lower()
    for word in ("password", "bearer "):
        assert word not in text, f"{word!r} in the task definition looks like an inlined secret"
    # The execution role pulls the secrets; it must be set.
    assert TD["executionRoleArn"].startswith("arn:aws:iam::")


def check_no_task_role_so_commands_get_no_aws_credentials():
    assert "taskRoleArn" not in TD, "commands run in the task: give it no AWS credentials"


def check_http_command_and_port():
    assert C["command"] == ["--http", "--host", "0.0.0.0", "--port", "3000"]
    ports = C["portMappings"]
    assert [p["containerPort"] for p in ports] == [3000]
    assert ports[0]["protocol"] == "tcp"


def check_json_logs_stateless_and_timeouts():
    assert ENV["MCP_LOG_FORMAT"] == "json"
    assert ENV["MCP_STATELESS"] == "true"
    assert seconds(ENV.get("MCP_MAX_TIMEOUT", "10m")) >= seconds(ENV.get("MCP_DEFAULT_TIMEOUT", "30s"))


def check_awslogs():
    lc = C["logConfiguration"]
    assert lc["logDriver"] == "awslogs"
    opts = lc["options"]
    for k in ("awslogs-group", "awslogs-region", "awslogs-stream-prefix"):
        assert opts.get(k), f"awslogs option {k} missing"
    assert opts["awslogs-group"] == "/ecs/mcp-commander"
    # awslogs-create-group needs logs:CreateLogGroup, which the managed execution policy
    # does not grant; ECS.md creates the group instead.
    assert "awslogs-create-group" not in opts
    assert opts.get("mode", "blocking") == "blocking", "audit lines must not be dropped"


def check_health_check_uses_the_binary():
    hc = C["healthCheck"]
    assert hc["command"] == ["CMD", "mcp-commander", "healthcheck"]
    assert 2 <= hc["timeout"] < hc["interval"]
    assert hc["retries"] >= 1 and hc["startPeriod"] >= 5
    text = json.dumps(hc)
    assert "curl" not in text and "wget" not in text


def check_documented_in_ecs_md():
    doc = (ROOT / "ECS.md").read_text()
    assert "ecs-task-definition.json" in doc
    assert "register-task-definition --cli-input-json file://ecs-task-definition.json" in doc


if __name__ == "__main__":
    run_checks(globals())
