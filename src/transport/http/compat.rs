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
use axum::http::{header, HeaderValue};
use axum::response::Response;

use super::AppState;

/// The `POST /` handler.
pub async fn compat(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let h = &mut parts.headers;
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    // One-shot calls: a session id from an /mcp session means nothing here.
    h.remove("mcp-session-id");
    state
        .compat
        .handle(Request::from_parts(parts, body))
        .await
        .map(Body::new)
}
