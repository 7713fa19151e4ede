//! The MCP surface: five tools over [`Commander`], as a thin rmcp adapter.
//!
//! Each method translates MCP arguments into a call on the service and its answer into a
//! `CallToolResult` whose text is the same JSON as its `structuredContent`. Requests the
//! tools cannot serve get the errors of [`rpc_errors`].

pub mod rpc_errors;

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::schema_for_type;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, JsonObject, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, RoleServer, ServerHandler};
use serde::{Deserialize, Serialize};

use crate::audit::{self, CallContext};
use crate::policy::Decision;
use crate::service::{
    AllowedList, BlockedList, Commander, ExecuteArgs, ExecuteResponse, ExecuteResult, ShellInfo,
};

/// Arguments of `check_command`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct CheckArgs {
    /// The command line to check.
    pub command: String,
}

/// Finds who is calling from the request's extensions (HTTP puts a [`CallContext`] there).
pub fn call_context(ctx: &RequestContext<RoleServer>) -> CallContext {
    if let Some(c) = ctx.extensions.get::<CallContext>() {
        return c.clone();
    }
    if let Some(parts) = ctx.extensions.get::<http::request::Parts>() {
        if let Some(c) = parts.extensions.get::<CallContext>() {
            return c.clone();
        }
    }
    CallContext::stdio()
}

/// The MCP server handler.
#[derive(Clone)]
pub struct CommanderServer {
    commander: Arc<Commander>,
    tool_router: ToolRouter<CommanderServer>,
}

fn json_result<T: Serialize>(value: &T, is_error: bool) -> CallToolResult {
    let v = serde_json::to_value(value).unwrap_or_default();
    if is_error {
        CallToolResult::structured_error(v)
    } else {
        CallToolResult::structured(v)
    }
}

/// `execute_command`'s answer: like [`json_result`], but the output moves into the
/// structured content rather than being copied, and its text is written into a buffer
/// sized for it (not grown by doubling), so a call that returns the full output cap
/// holds fewer copies of it at once.
fn exec_result(result: ExecuteResult, is_error: bool) -> CallToolResult {
    let room = result.stdout.len() + result.stderr.len();
    let v = result.into_value();
    let mut text = Vec::with_capacity(room + room / 4 + 256);
    // A `Value` always serializes.
    let _ = serde_json::to_writer(&mut text, &v);
    let text = String::from_utf8(text).unwrap_or_default();
    let mut r = if is_error {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    r.structured_content = Some(v);
    r
}

fn error_text(text: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
}

const EXECUTE_DESCRIPTION: &str = "Run a shell command line on the server and return its stdout, stderr and exit code as JSON \
({stdout, stderr, exit_code, duration, timed_out, truncated, stdout_bytes, stderr_bytes}). \
The line runs under the server's shell (see get_shell_info) with stdin closed, a clean environment, \
resource limits and a timeout; everything it starts is stopped when the call ends, so background jobs do not survive. \
A policy checks the line first: commands outside the allow list (see list_allowed_commands), dangerous operations \
(recursive rm of /, mkfs, shutdown, fork bombs, curl | sh, …; see list_blocked_commands) and, under an allow list, \
shell constructs whose programs cannot be known in advance (eval, sh -c, variables in command position, output \
redirection into files) are refused with 'Command validation failed: <reason>' and nothing runs. \
Use check_command to test a line without running it. \
Arguments: command (required); working_directory (relative to the server's workdir; must exist and be inside the \
allowed directories); timeout (a duration such as \"5s\" or \"2m\", at most the server's max_timeout; a command still \
running then is stopped and timed_out is true); env (extra variables; PATH, LD_*, HOME, GIT_* and other code-loading \
names are refused). Output over the cap keeps its head and tail and sets truncated.";

#[tool_router]
impl CommanderServer {
    /// A handler over the service.
    pub fn new(commander: Arc<Commander>) -> Self {
        CommanderServer {
            commander,
            tool_router: Self::tool_router(),
        }
    }

    /// The service behind the tools.
    pub fn commander(&self) -> &Arc<Commander> {
        &self.commander
    }

    #[tool(
        name = "execute_command",
        description = EXECUTE_DESCRIPTION,
        input_schema = input_schema::<ExecuteArgs>(),
        output_schema = schema_for_type::<ExecuteResult>(),
        annotations(title = "Execute shell command", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn execute_command(
        &self,
        Parameters(args): Parameters<JsonObject>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let caller = call_context(&ctx);
        audit::tool_call(&caller, "execute_command", args.keys());
        let parsed: ExecuteArgs = match parse_args(args) {
            Ok(a) => a,
            Err(e) => return error_text(format!("Invalid arguments: {e}")),
        };
        if parsed.command.trim().is_empty() {
            return error_text("Invalid arguments: command must not be empty".into());
        }
        match self
            .commander
            .execute(&caller, parsed, ctx.ct.clone())
            .await
        {
            ExecuteResponse::Ran { result, is_error } => exec_result(result, is_error),
            ExecuteResponse::Refused(d) => error_text(refusal_text(&d)),
            ExecuteResponse::Invalid(msg) => error_text(format!("Invalid arguments: {msg}")),
        }
    }

    #[tool(
        name = "check_command",
        description = "Check whether a command line would be allowed, without running it. Returns {decision: \"allow\"|\"deny\", reason, rule, commands}: the rule that decided and the programs (argv) the line would run. Use it to find an allowed way to do something before calling execute_command.",
        input_schema = input_schema::<CheckArgs>(),
        output_schema = schema_for_type::<Decision>(),
        annotations(title = "Check a command against the policy", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn check_command(
        &self,
        Parameters(args): Parameters<JsonObject>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let caller = call_context(&ctx);
        audit::tool_call(&caller, "check_command", args.keys());
        match parse_args::<CheckArgs>(args) {
            Ok(a) => json_result(&self.commander.check(&a.command).await, false),
            Err(e) => error_text(format!("Invalid arguments: {e}")),
        }
    }

    #[tool(
        name = "list_allowed_commands",
        description = "List the commands the allow list permits. allow_all is true when there is no allow list (everything not blocked may run). An entry allows a program and the argument words after it, e.g. 'git status' allows 'git status -s' but not 'git push'.",
        output_schema = schema_for_type::<AllowedList>(),
        annotations(title = "List allowed commands", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_allowed_commands(&self, ctx: RequestContext<RoleServer>) -> CallToolResult {
        audit::tool_call(&call_context(&ctx), "list_allowed_commands", []);
        json_result(&self.commander.allowed(), false)
    }

    #[tool(
        name = "list_blocked_commands",
        description = "List the block rules: the operator's extra entries and, when using_default_blocklist is true, the built-in rules against dangerous operations (recursive rm of /, mkfs, dd to devices, shutdown/reboot, kill -9 -1, fork bombs, curl | sh).",
        output_schema = schema_for_type::<BlockedList>(),
        annotations(title = "List blocked commands", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_blocked_commands(&self, ctx: RequestContext<RoleServer>) -> CallToolResult {
        audit::tool_call(&call_context(&ctx), "list_blocked_commands", []);
        json_result(&self.commander.blocked(), false)
    }

    #[tool(
        name = "get_shell_info",
        description = "Describe how commands run: the shell and its argument, the default and maximum timeout, the output cap per stream, and which sandbox layers are active.",
        output_schema = schema_for_type::<ShellInfo>(),
        annotations(title = "Get shell info", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_shell_info(&self, ctx: RequestContext<RoleServer>) -> CallToolResult {
        audit::tool_call(&call_context(&ctx), "get_shell_info", []);
        json_result(&self.commander.shell_info(), false)
    }
}

/// The text of a refusal: `Command validation failed: ` and the reason with its rule.
pub fn refusal_text(d: &Decision) -> String {
    match &d.rule {
        // A reason that names its rule already ("… (rule default:rm-root)") is not followed
        // by the same rule again.
        Some(rule) if !d.reason.contains(rule.as_str()) => {
            format!("Command validation failed: {} (rule: {rule})", d.reason)
        }
        _ => format!("Command validation failed: {}", d.reason),
    }
}

fn parse_args<T: serde::de::DeserializeOwned>(args: JsonObject) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::Object(args)).map_err(|e| e.to_string())
}

fn input_schema<T: schemars::JsonSchema + 'static>() -> Arc<JsonObject> {
    rmcp::handler::server::common::schema_for_type::<T>()
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CommanderServer {
    crate::answer_unserved_methods!();

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mcp-commander", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Runs shell commands on this machine under a policy and a sandbox. Use check_command to test a line, \
                 execute_command to run it, list_allowed_commands / list_blocked_commands to see the policy.",
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(stdout: &str, error: Option<&str>, signal: Option<i32>) -> ExecuteResult {
        ExecuteResult {
            stdout: stdout.into(),
            stderr: "warn: \"quoted\"\n\u{1b}[0m".into(),
            exit_code: if signal.is_some() { -1 } else { 3 },
            duration: "1.5ms".into(),
            timed_out: signal.is_some(),
            truncated: true,
            stdout_bytes: 123_456,
            stderr_bytes: 17,
            error: error.map(String::from),
            signal,
            queued: signal.map(|_| "2.5s".into()),
        }
    }

    /// Every refusal names its rule, once.
    #[test]
    fn a_refusal_names_its_rule_once() {
        let d = |reason: &str, rule: Option<&str>| Decision {
            decision: crate::policy::Verdict::Deny,
            reason: reason.into(),
            rule: rule.map(String::from),
            commands: Vec::new(),
        };
        assert_eq!(
            refusal_text(&d("x is not allowed", Some("not-allowed"))),
            "Command validation failed: x is not allowed (rule: not-allowed)"
        );
        let named = "recursive rm of /; blocked by the default blocklist (rule default:rm-root)";
        assert_eq!(
            refusal_text(&d(named, Some("default:rm-root"))),
            format!("Command validation failed: {named}")
        );
        assert_eq!(
            refusal_text(&d("empty", None)),
            "Command validation failed: empty"
        );
    }

    /// `exec_result` moves instead of copying; what it answers is exactly what
    /// `json_result` (serde's own serialization) answers.
    #[test]
    fn exec_result_answers_as_the_serde_serialization_does() {
        for r in [
            sample("hi\n", None, None),
            sample(&"y\n".repeat(50_000), Some("timed out after 1s"), Some(9)),
            sample("", Some("cancelled"), None),
        ] {
            for is_error in [false, true] {
                assert_eq!(
                    exec_result(r.clone(), is_error),
                    json_result(&r, is_error),
                    "{r:?}"
                );
            }
            assert_eq!(r.clone().into_value(), serde_json::to_value(&r).unwrap());
        }
    }
}
