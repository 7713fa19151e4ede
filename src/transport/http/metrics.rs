//! `GET /metrics` (with `--metrics`, token required): the Prometheus text exposition of
//! [`crate::metrics`], plus the transport's in-flight gauge.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The `/metrics` handler.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut body = crate::metrics::global().render();
    // The registry ends with "# EOF"; the transport gauge goes before it.
    let eof = body.rfind("# EOF").unwrap_or(body.len());
    body.insert_str(
        eof,
        &format!(
            "# HELP mcp_commander_tool_calls_in_flight Tool calls being answered now.\n\
             # TYPE mcp_commander_tool_calls_in_flight gauge\n\
             mcp_commander_tool_calls_in_flight {}\n",
            state.drain.in_flight()
        ),
    );
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
