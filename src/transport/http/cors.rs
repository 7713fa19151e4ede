//! CORS for the browser origins of `--allowed-origins`.
//!
//! Without CORS headers a browser page on an allowed origin could send requests but never
//! read an answer, and its preflight (`OPTIONS`, which carries no token) would get a 401.
//! With `--allowed-origins` set, the routes answer a preflight from an allowed origin
//! before authentication (204 with the methods and headers an MCP client uses), and every
//! answer to an allowed origin, 401s and 429s included, names that origin so the page can
//! read it. A foreign origin never gets here: [`guard`](super::guard) answers it 403 first,
//! preflight included. Without `--allowed-origins` (loopback origins only) no CORS headers
//! are sent: a page needs the operator to name its origin before it can read an answer.
//!
//! tower-http's [`CorsLayer`] does the work; [`preflight_no_content`] only turns its 200 to
//! a preflight into the customary 204.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::guard::Guard;

/// How long a browser may reuse a preflight answer.
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// The request headers an MCP client (or a go-mcp-commander one) sends from a page.
const ALLOW_HEADERS: [&str; 7] = [
    "authorization",
    "content-type",
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
    "x-mcp-auth-token",
];

/// The answer headers the page must be able to read: to keep a session, to know that a
/// 401 wants a Bearer token, and how long to wait after a 429.
const EXPOSE_HEADERS: [&str; 4] = [
    "mcp-session-id",
    "mcp-protocol-version",
    "www-authenticate",
    "retry-after",
];

/// The CORS layer for the origins `guard` allows.
pub fn layer(guard: Guard) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin.to_str().is_ok_and(|o| guard.origin_allowed(o))
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers(ALLOW_HEADERS.map(HeaderName::from_static))
        .expose_headers(EXPOSE_HEADERS.map(HeaderName::from_static))
        .max_age(MAX_AGE)
        .vary([header::ORIGIN])
}

/// Middleware outside [`layer`]: its answer to an `OPTIONS` (a preflight: it answers every
/// `OPTIONS` itself, with no body) is 204 rather than 200.
pub async fn preflight_no_content(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut resp = next.run(req).await;
    if preflight && resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::NO_CONTENT;
    }
    resp
}
