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
//! tower-http's [`CorsLayer`] does the work; [`preflight_no_content`] lets only a real
//! preflight for a known route reach it, and turns its 200 into the customary 204.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
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

/// The routes a page may send a preflight for (`/metrics` only where it is served).
#[derive(Clone, Copy)]
pub struct Routes {
    pub metrics: bool,
}

impl Routes {
    /// The methods the route at `path` answers, or `None` where there is no route.
    fn methods(self, path: &str) -> Option<&'static str> {
        match path {
            "/mcp" => Some("GET, POST, DELETE"),
            "/" => Some("POST"),
            "/health" => Some("GET, HEAD"),
            "/metrics" if self.metrics => Some("GET, HEAD"),
            _ => None,
        }
    }
}

/// Middleware outside [`layer`], which answers every `OPTIONS` itself: only a preflight
/// (an `Origin` and `Access-Control-Request-Method`) for a route this server has reaches
/// it, answered 204 rather than 200. Any other `OPTIONS` is answered as the routes would
/// answer it: 404 on an unknown path (as every other method is, contract §7), 405 on a
/// known one.
pub async fn preflight_no_content(
    axum::extract::State(routes): axum::extract::State<Routes>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::OPTIONS {
        return next.run(req).await;
    }
    let Some(methods) = routes.methods(req.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let h = req.headers();
    if !(h.contains_key(header::ORIGIN) && h.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)) {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, methods)]).into_response();
    }
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::NO_CONTENT;
    }
    resp
}
