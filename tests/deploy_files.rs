//! The deployment files, checked without AWS or a Docker engine: the ECS task definition
//! against botocore's RegisterTaskDefinition model, the CloudFormation template with
//! cfn-lint, the Dockerfile with hadolint, and the properties ECS.md promises. The checks
//! are Python scripts under `tests/py/deploy_*.py` (they need botocore, cfn-lint and
//! hadolint from `.ci/requirements.txt`); a missing tool fails the test, never skips it.

mod common;

fn run(script: &str) {
    let (ok, out) = common::run_python(script, &[], &[]);
    assert!(ok, "tests/py/{script} failed:\n{out}");
    // Print the per-check lines so `cargo test -- --nocapture` shows what ran.
    println!("{out}");
}

#[test]
fn ecs_task_definition_is_valid_and_hardened() {
    run("deploy_task_definition.py");
}

#[test]
fn cloudformation_template_lints_and_keeps_its_timing_rules() {
    run("deploy_cloudformation.py");
}

#[test]
fn dockerfile_lints_and_builds_from_a_lean_context() {
    run("deploy_dockerfile.py");
}

#[test]
fn guide_snippets_parse_and_stdio_configs_start_the_server() {
    // INTEGRATION.md and ECS.md: every block claimed by a check, client configs parsed,
    // stdio ones started through the official MCP client, aws lines checked against
    // botocore's models, Logs Insights queries run over real JSON log lines.
    run("deploy_docs.py");
}
