"""deploy/cloudformation.yaml: cfn-lint clean, and the properties the service depends on
(ECS.md's table): health check path, ALB idle timeout above the longest command,
deregistration delay and stopTimeout against the shutdown grace, the token secret
referenced (never inlined), security groups, scaling, logs and alarms.
"""

import json
import re
import subprocess
import tempfile

from deploy_common import ROOT, load_template, run_checks, tool

PATH = ROOT / "deploy" / "cloudformation.yaml"
T = load_template(PATH)
R = T["Resources"]
P = T["Parameters"]


def of_type(t):
    found = {k: v for k, v in R.items() if v["Type"] == t}
    assert found, f"no {t} in the template"
    return found


def one(t):
    found = of_type(t)
    assert len(found) == 1, f"expected one {t}, found {list(found)}"
    return next(iter(found.items()))


def props(t):
    return one(t)[1]["Properties"]


def ref(name):
    return {"Ref": name}


def seconds(humantime):
    m = re.fullmatch(r"\s*(\d+)\s*(s|m|h)?\s*", humantime)
    assert m, f"unexpected duration {humantime!r}"
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]


CONTAINER = props("AWS::ECS::TaskDefinition")["ContainerDefinitions"][0]
ENV = {e["Name"]: e["Value"] for e in CONTAINER["Environment"]}
GRACE = seconds(ENV.get("MCP_SHUTDOWN_GRACE", "20s"))
MAX_TIMEOUT = seconds(ENV.get("MCP_MAX_TIMEOUT", "10m"))


def attrs(p, key):
    return {a["Key"]: a["Value"] for a in p.get(key, [])}


def check_cfn_lint_passes():
    lint = tool("cfn-lint")
    r = subprocess.run([lint, "--include-checks", "I", "--", str(PATH)], capture_output=True, text=True)
    assert r.returncode == 0, f"cfn-lint found problems:\n{r.stdout}{r.stderr}"
    # And the linter really lints: a broken copy must fail.
    broken = PATH.read_text().replace("Type: AWS::ECS::Service", "Type: AWS::ECS::Servic", 1)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(broken)
        f.flush()
        r = subprocess.run([lint, "--", f.name], capture_output=True, text=True)
    assert r.returncode != 0, "cfn-lint accepted a template with an unknown resource type"


def check_service_fargate_two_tasks_private_subnets():
    s = props("AWS::ECS::Service")
    assert s["LaunchType"] == "FARGATE"
    assert s["DesiredCount"] == 2
    net = s["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert net["AssignPublicIp"] == "DISABLED"
    assert net["Subnets"] == ref("PrivateSubnetIds")
    assert P["PrivateSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    lb = s["LoadBalancers"][0]
    assert lb["ContainerPort"] == 3000 and lb["ContainerName"] == CONTAINER["Name"]
    assert s["DeploymentConfiguration"]["DeploymentCircuitBreaker"]["Rollback"] is True
    assert s.get("EnableExecuteCommand") is False


def check_alb_https_with_certificate_parameter():
    lb = props("AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert lb["Type"] == "application"
    listeners = of_type("AWS::ElasticLoadBalancingV2::Listener")
    https = [v["Properties"] for v in listeners.values() if v["Properties"]["Protocol"] == "HTTPS"]
    assert len(https) == 1
    assert https[0]["Port"] == 443
    assert https[0]["Certificates"] == [{"CertificateArn": ref("CertificateArn")}]
    assert "CertificateArn" in P and "Default" not in P["CertificateArn"]
    assert "TLS13" in https[0]["SslPolicy"]
    # No plain-HTTP listener forwards traffic (the token must travel over TLS only).
    for v in listeners.values():
        p = v["Properties"]
        if p["Protocol"] == "HTTP":
            assert all(a["Type"] == "redirect" for a in p["DefaultActions"])


def check_idle_timeout_covers_the_longest_command():
    lb = attrs(props("AWS::ElasticLoadBalancingV2::LoadBalancer"), "LoadBalancerAttributes")
    idle = int(lb["idle_timeout.timeout_seconds"])
    assert idle >= MAX_TIMEOUT, f"ALB idle timeout {idle}s < MCP_MAX_TIMEOUT {MAX_TIMEOUT}s"
    assert idle <= 4000, "ALB idle timeout maximum is 4000 s"
    assert MAX_TIMEOUT == 600, "the template documents the 10m default"


def check_target_group_health_and_deregistration():
    tg = props("AWS::ElasticLoadBalancingV2::TargetGroup")
    assert tg["HealthCheckPath"] == "/health"
    assert tg["Matcher"]["HttpCode"] == "200"
    assert tg["TargetType"] == "ip" and tg["Port"] == 3000 and tg["Protocol"] == "HTTP"
    a = attrs(tg, "TargetGroupAttributes")
    delay = int(a["deregistration_delay.timeout_seconds"])
    assert delay >= GRACE, f"deregistration delay {delay}s < shutdown grace {GRACE}s"
    assert a.get("stickiness.enabled", "false") == "false", "stateless: no sticky sessions"


def check_container_read_only_init_non_root_stop_timeout():
    c = CONTAINER
    assert c["ReadonlyRootFilesystem"] is True
    assert c["LinuxParameters"]["InitProcessEnabled"] is True
    assert c["StopTimeout"] > GRACE
    uid = c["User"].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    mounts = {m["ContainerPath"]: m for m in c["MountPoints"]}
    assert mounts["/tmp"]["ReadOnly"] is False
    vols = {v["Name"] for v in props("AWS::ECS::TaskDefinition")["Volumes"]}
    assert mounts["/tmp"]["SourceVolume"] in vols
    assert c["HealthCheck"]["Command"] == ["CMD", "mcp-commander", "healthcheck"]
    assert c["Command"] == ["--http", "--host", "0.0.0.0", "--port", "3000"]
    assert ENV["MCP_LOG_FORMAT"] == "json" and ENV["MCP_STATELESS"] == "true"
    td = props("AWS::ECS::TaskDefinition")
    assert td["RequiresCompatibilities"] == ["FARGATE"] and td["NetworkMode"] == "awsvpc"
    assert "TaskRoleArn" not in td, "commands run in the task: no AWS credentials for them"


def check_matches_the_standalone_task_definition():
    sa = json.loads((ROOT / "ecs-task-definition.json").read_text())["containerDefinitions"][0]
    c = CONTAINER
    assert c["User"] == sa["user"]
    assert c["StopTimeout"] == sa["stopTimeout"]
    assert c["Command"] == sa["command"]
    assert c["HealthCheck"]["Command"] == sa["healthCheck"]["command"]
    sa_env = {e["name"]: e["value"] for e in sa["environment"]}
    for k in ("MCP_LOG_FORMAT", "MCP_STATELESS", "MCP_SHUTDOWN_GRACE", "MCP_MAX_TIMEOUT", "TMPDIR"):
        assert ENV.get(k) == sa_env.get(k), f"{k}: template {ENV.get(k)!r} vs task definition {sa_env.get(k)!r}"


def check_token_secret_referenced_not_inlined():
    name, secret = one("AWS::SecretsManager::Secret")
    sp = secret["Properties"]
    # Either the digest of the clients' token (a parameter), or a generated token: never a
    # token written into the template.
    cond = "HasAuthTokenDigest"
    assert T["Conditions"][cond] == {"Fn::Not": [{"Fn::Equals": [ref("AuthTokenSha256"), ""]}]}
    no_value = ref("AWS::NoValue")
    assert sp["SecretString"] == {"Fn::If": [cond, {"Fn::Sub": "sha256:${AuthTokenSha256}"}, no_value]}, sp
    generated = sp["GenerateSecretString"]
    assert generated["Fn::If"][:2] == [cond, no_value], generated
    assert generated["Fn::If"][2]["PasswordLength"] >= 32, generated
    digest = P["AuthTokenSha256"]
    assert digest["Default"] == "" and "NoEcho" not in digest, "the digest is no secret; empty generates a token"
    pattern = digest["AllowedPattern"]
    assert re.fullmatch(pattern, "ab" * 32) and re.fullmatch(pattern, "")
    for bad in ("ab" * 31, "sha256:" + "ab" * 32, "x" * 64, "ab" * 33):
        assert not re.fullmatch(pattern, bad), bad
    secrets = {s["Name"]: s["ValueFrom"] for s in CONTAINER["Secrets"]}
    assert secrets["MCP_AUTH_TOKEN"] == ref(name)
    assert "MCP_AUTH_TOKEN" not in ENV and "MCP_AUTH_TOKEN_FILE" not in ENV
    for pname, p in P.items():
        if pname != "AuthTokenSha256":
            assert "token" not in pname.lower() or "Default" not in p, f"parameter {pname} carries a token default"
    # The execution role may read exactly that secret.
    role = props("AWS::IAM::Role")
    stmts = [s for pol in role["Policies"] for s in pol["PolicyDocument"]["Statement"]]
    assert any(s["Action"] == "secretsmanager:GetSecretValue" and s["Resource"] == ref(name) for s in stmts)
    td = props("AWS::ECS::TaskDefinition")
    assert td["ExecutionRoleArn"] == {"Fn::GetAtt": [one("AWS::IAM::Role")[0], "Arn"]}


def check_security_groups_alb_to_tasks_only():
    sgs = of_type("AWS::EC2::SecurityGroup")
    task_sg = one_sg = None
    for k, v in sgs.items():
        if "task" in k.lower():
            task_sg = k
        else:
            one_sg = k
    assert task_sg and one_sg, f"expected a task and a load balancer security group: {list(sgs)}"
    task = sgs[task_sg]["Properties"]
    assert not task.get("SecurityGroupIngress"), "task ingress only through the ALB rule"
    ingress = [v["Properties"] for v in of_type("AWS::EC2::SecurityGroupIngress").values()]
    to_task = [i for i in ingress if i["GroupId"] == ref(task_sg)]
    assert to_task and all(
        i["SourceSecurityGroupId"] == ref(one_sg) and i["FromPort"] == i["ToPort"] == 3000 and "CidrIp" not in i
        for i in to_task
    ), to_task
    lb = sgs[one_sg]["Properties"]
    egress = lb["SecurityGroupEgress"]
    assert all(e["DestinationSecurityGroupId"] == ref(task_sg) and e["FromPort"] == e["ToPort"] == 3000 for e in egress)
    assert [i["FromPort"] for i in lb["SecurityGroupIngress"]] == [443]
    svc = props("AWS::ECS::Service")["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert svc["SecurityGroups"] == [ref(task_sg)]
    assert props("AWS::ElasticLoadBalancingV2::LoadBalancer")["SecurityGroups"] == [ref(one_sg)]


def check_cpu_target_tracking():
    target_name, target = one("AWS::ApplicationAutoScaling::ScalableTarget")
    tp = target["Properties"]
    assert tp["ScalableDimension"] == "ecs:service:DesiredCount"
    assert tp["MinCapacity"] == ref("MinTasks") and P["MinTasks"]["Default"] >= 2
    assert P["MaxTasks"]["Default"] > P["MinTasks"]["Default"]
    pol = props("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert pol["PolicyType"] == "TargetTrackingScaling"
    assert pol["ScalingTargetId"] == ref(target_name)
    cfg = pol["TargetTrackingScalingPolicyConfiguration"]
    assert cfg["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"


def check_log_group_retention_and_awslogs():
    name, lg = one("AWS::Logs::LogGroup")
    assert lg["Properties"]["RetentionInDays"] == ref("LogRetentionDays")
    assert isinstance(P["LogRetentionDays"]["Default"], int)
    opts = CONTAINER["LogConfiguration"]["Options"]
    assert CONTAINER["LogConfiguration"]["LogDriver"] == "awslogs"
    assert opts["awslogs-group"] == ref(name)
    assert opts.get("mode", "blocking") == "blocking"


def check_metric_filters_and_alarms_on_audit_events():
    lg = one("AWS::Logs::LogGroup")[0]
    filters = {v["Properties"]["FilterPattern"]: v["Properties"] for v in of_type("AWS::Logs::MetricFilter").values()}
    alarms = [v["Properties"] for v in of_type("AWS::CloudWatch::Alarm").values()]
    for event in ("AUTH_FAILED", "CMD_BLOCKED"):
        pattern = '{ $.event = "%s" }' % event
        assert pattern in filters, f"no metric filter {pattern}; have {list(filters)}"
        f = filters[pattern]
        assert f["LogGroupName"] == ref(lg)
        mt = f["MetricTransformations"][0]
        assert mt["MetricValue"] == "1"
        matching = [a for a in alarms if a["MetricName"] == mt["MetricName"] and a["Namespace"] == mt["MetricNamespace"]]
        assert matching, f"no alarm on {mt['MetricName']}"
        assert matching[0]["Statistic"] == "Sum"
        assert matching[0]["TreatMissingData"] == "notBreaching"


def check_parameters_documented_in_ecs_md():
    doc = (ROOT / "ECS.md").read_text()
    assert "deploy/cloudformation.yaml" in doc
    for p in ("AuthFailedThreshold", "CmdBlockedThreshold", "AlarmTopicArn", "AuthTokenSha256"):
        assert p in doc, f"ECS.md does not mention parameter {p}"


if __name__ == "__main__":
    run_checks(globals())
