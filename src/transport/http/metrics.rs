//! `GET /metrics` (with `--metrics`, token required): Prometheus text exposition.
//!
//! For now it exposes the gauges the transport already knows; richer counters belong here.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The `/metrics` handler.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let body = format!(
        "# HELP mcp_commander_commands_running Commands running now.\n\
         # TYPE mcp_commander_commands_running gauge\n\
         mcp_commander_commands_running {}\n\
         # HELP mcp_commander_tool_calls_in_flight Tool calls being answered now.\n\
         # TYPE mcp_commander_tool_calls_in_flight gauge\n\
         mcp_commander_tool_calls_in_flight {}\n",
        state.commander.executor().running(),
        state.drain.in_flight(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
