//! `GET`/`HEAD /health`: the unauthenticated liveness answer for load balancers, Docker
//! `HEALTHCHECK` and ECS. It names the server, its version and the sandbox layers (no
//! configuration, no secrets), and turns `503 {"status":"draining"}` once shutdown began,
//! so a load balancer stops sending new work before the process exits.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::AppState;

/// The `/health` handler (axum answers `HEAD` from it without the body).
pub async fn health(State(state): State<AppState>) -> Response {
    if state.drain.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
            .into_response();
    }
    // Which processes above the server hold which secrets is for the operator (the log,
    // `get_shell_info`), not for anyone who can reach the port: only the verdict here.
    let mut sandbox = state.commander.executor().sandbox_report().clone();
    if let Some((verdict, _)) = sandbox.ancestor_env.split_once(':') {
        sandbox.ancestor_env = verdict.to_string();
    }
    Json(json!({
        "status": "healthy",
        "server": "mcp-commander",
        "version": env!("CARGO_PKG_VERSION"),
        "sandbox": sandbox,
    }))
    .into_response()
}
