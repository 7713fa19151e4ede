//! [`HttpTools`]: the MCP tools as the HTTP transport serves them.
//!
//! It delegates everything to [`CommanderServer`] and adds what only HTTP needs around a
//! tool call: the call is counted for graceful shutdown, its command ends when the client
//! goes away, its MCP session is deleted or the shutdown grace runs out (not only on
//! `notifications/cancelled`), and the audit context learns the JSON-RPC request id.

use std::future::Future;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ListToolsResult,
    PaginatedRequestParams, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use super::drain::Drain;
use super::sessions::{SessionEnded, SESSION_ENDED};
use super::Disconnect;
use crate::mcp::{call_context, CommanderServer};

/// The tools over HTTP.
#[derive(Clone)]
pub struct HttpTools {
    inner: CommanderServer,
    drain: Drain,
}

impl HttpTools {
    /// Wraps the MCP handler for one HTTP server.
    pub fn new(inner: CommanderServer, drain: Drain) -> HttpTools {
        HttpTools { inner, drain }
    }
}

/// The client's [`Disconnect`] token, when the request came through the HTTP middleware.
fn disconnect_token(ctx: &RequestContext<RoleServer>) -> Option<CancellationToken> {
    ctx.extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<Disconnect>())
        .map(|d| d.0.clone())
}

/// The token cancelled when the request's MCP session is deleted, in a session.
fn session_ended_token(ctx: &RequestContext<RoleServer>) -> Option<CancellationToken> {
    ctx.extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<SessionEnded>())
        .map(|d| d.0.clone())
}

/// Resolves when `token` is cancelled; never without one.
async fn cancelled(token: Option<CancellationToken>) {
    match token {
        Some(t) => t.cancelled().await,
        None => std::future::pending().await,
    }
}

/// Runs `call` to its end, cancelling `token` (the one its command listens to) as soon as
/// the MCP request's own token, the client's disconnect token or the session's end is
/// cancelled; the end of the shutdown grace reaches `token` as its parent. Polled in the
/// call's own task, so no watcher task is spawned per call.
async fn run_cancelling<F: Future>(
    call: F,
    token: &CancellationToken,
    request: CancellationToken,
    disconnect: Option<CancellationToken>,
    session_ended: Option<CancellationToken>,
) -> F::Output {
    let mut call = std::pin::pin!(call);
    tokio::select! {
        biased;
        out = &mut call => return out,
        _ = request.cancelled() => {}
        _ = cancelled(disconnect) => {}
        _ = cancelled(session_ended) => {}
    }
    token.cancel();
    call.await
}

impl ServerHandler for HttpTools {
    crate::answer_unserved_methods!();

    fn get_info(&self) -> ServerConfig {
        self.inner.get_info()
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.get_tool(name)
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.inner.list_tools(request, context).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let _counted = self.drain.track();
        // The command listens to a token cancelled by the MCP request's own token, by the
        // client disconnecting, or by the end of the shutdown grace — whichever comes first.
        let token = self.drain.cancel_token().child_token();
        let request_ct = std::mem::replace(&mut context.ct, token.clone());
        let disconnect = disconnect_token(&context);
        let session_ended = session_ended_token(&context);
        let mut caller = call_context(&context);
        caller.request = Some(audited_id(context.id.to_string()));
        context.extensions.insert(caller);
        let call = self.inner.call_tool(request, context);
        let response =
            run_cancelling(call, &token, request_ct, disconnect, session_ended.clone()).await?;
        if self.drain.cancel_token().is_cancelled() {
            return Ok(explain_shutdown(response));
        }
        if session_ended.is_some_and(|t| t.is_cancelled()) {
            // A protocol-level end, not the tool's failure: the session is gone.
            return Err(ErrorData::new(
                rmcp::model::ErrorCode(-32000),
                SESSION_ENDED,
                None,
            ));
        }
        Ok(response)
    }
}

/// Says why a command cancelled by the end of the shutdown grace stopped, so the caller
/// does not read it as an ordinary cancellation.
fn explain_shutdown(response: CallToolResponse) -> CallToolResponse {
    let CallToolResponse::Complete(result) = &response else {
        return response;
    };
    let Some(mut v) = result.structured_content.clone() else {
        return response;
    };
    let cancelled = v["error"].as_str().is_some_and(|e| e.contains("cancelled"));
    if !cancelled {
        return response;
    }
    v["error"] = SHUTDOWN_ERROR.into();
    CallToolResult::structured_error(v).into()
}

/// The error of a call still running when the shutdown grace ran out.
pub const SHUTDOWN_ERROR: &str = "the server is shutting down: the command was still running when the shutdown grace ran out and was stopped with its whole process tree";

/// The longest JSON-RPC request id written into an audit line, in bytes.
pub const MAX_AUDITED_ID: usize = 128;

/// A request id as the audit log records it: the client chooses it, so one longer than
/// [`MAX_AUDITED_ID`] is cut there (and marked) rather than making a line of any size
/// (CloudWatch splits events over 256 KB, and the halves are no longer JSON).
fn audited_id(id: String) -> String {
    crate::audit::cut(id, MAX_AUDITED_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_request_ids_are_cut_for_the_audit_line() {
        assert_eq!(audited_id("42".into()), "42");
        let long = "é".repeat(200);
        let cut = audited_id(long);
        assert!(cut.ends_with("…(cut)"), "{cut}");
        assert!(
            cut.len() <= MAX_AUDITED_ID + "…(cut)".len(),
            "{}",
            cut.len()
        );
        assert!(cut.starts_with("éé"));
    }
}
