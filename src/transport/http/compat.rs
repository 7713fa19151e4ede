//! `POST /`: go-mcp-commander's HTTP mode, kept working for its existing clients.
//!
//! Its documented calls are plain JSON-RPC posts without `Accept`, without `initialize`
//! and without a session, answered with plain JSON:
//!
//! ```text
//! curl -X POST http://host:3000/ -H "Content-Type: application/json" \
//!   -H "X-MCP-Auth-Token: …" -d '{"jsonrpc":"2.0","method":"tools/list","id":1}'
//! ```
//!
//! Rather than a second implementation of the tools, the request is handed to a stateless,
//! JSON-answering instance of the same rmcp Streamable HTTP service, with the headers that
//! service requires filled in. So `tools/list` and `tools/call` behave exactly as on
//! `/mcp`, through the same policy, executor and audit trail.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::AppState;

/// A JSON-RPC error answered before the request reaches the MCP service.
fn rpc_error(status: StatusCode, code: i64, message: String) -> Response {
    super::rpc_error(status, code, &message)
}

/// The `POST /` handler.
pub async fn compat(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = match super::read_body(body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    // go-mcp-commander answered malformed input with JSON-RPC errors; so do we.
    match serde_json::from_slice::<Value>(&bytes) {
        Err(e) => {
            return rpc_error(StatusCode::BAD_REQUEST, -32700, format!("Parse error: {e}"));
        }
        Ok(v) if v.get("jsonrpc") != Some(&json!("2.0")) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                -32600,
                "Invalid Request: expected a JSON-RPC 2.0 object with \"jsonrpc\": \"2.0\"".into(),
            );
        }
        Ok(_) => {}
    }
    let h = &mut parts.headers;
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    // One-shot calls: a session id from an /mcp session means nothing here, and is not
    // audited either (any text a client sends would otherwise be recorded as its session).
    h.remove("mcp-session-id");
    if let Some(ctx) = parts.extensions.get_mut::<crate::audit::CallContext>() {
        ctx.session = None;
    }
    let resp = state
        .compat
        .handle(Request::from_parts(parts, Body::from(bytes.clone())))
        .await
        .map(Body::new);
    let resp = super::errors::json_not_a_message(resp);
    super::errors::as_json_rpc(resp, Some(&bytes)).await
}
