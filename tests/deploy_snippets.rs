//! The deployment files and guides against a live server on loopback (the HTTP transport):
//! the Dockerfile's CMD and HEALTHCHECK, the ECS task definition and the CloudFormation
//! task run as their containers would (read-only root, writable /tmp, uid 10001); every
//! `curl` block of INTEGRATION.md and ECS.md with the output the guide shows; every remote
//! client configuration connected with its URL and headers (the mcp-remote one through the
//! real `npx mcp-remote`); the Logs Insights queries and metric filters over the log lines
//! those servers wrote. The checks live in `tests/py/deploy_snippets_http.py`.

mod common;

fn run(checks: &str) {
    let (ok, out) = common::run_python("deploy_snippets_http.py", &[], &[("DEPLOY_CHECK", checks)]);
    assert!(
        ok,
        "tests/py/deploy_snippets_http.py ({checks}) failed:\n{out}"
    );
    println!("{out}");
}

#[test]
fn dockerfile_cmd_and_healthcheck_start_a_healthy_read_only_server() {
    run("check_dockerfile_");
}

#[test]
fn ecs_task_definition_and_template_task_start_healthy_and_answer_the_guide() {
    run("check_ecs_task_definition_,check_cloudformation_task_");
}

#[test]
fn integration_guide_curl_blocks_and_client_configs_work_against_the_server() {
    run("check_integration_,check_remote_,check_claude_desktop_,check_logs_,check_zz_");
}
