//! The HTTP transport: MCP Streamable HTTP on `/mcp`, go-mcp-commander's `POST /`,
//! `/health` and `/metrics`, behind the checks a network-facing server needs.
//!
//! A request passes, outermost first:
//!
//! * the connection: `TCP_NODELAY`, a header read timeout ([`listener`]);
//! * [`guard`]: foreign `Origin` → 403, foreign `Host` on a loopback bind → 403;
//! * with `--allowed-origins`, [`cors`]: preflights answered (before auth), CORS headers on
//!   every answer to an allowed origin;
//! * draining ([`drain`]): after SIGTERM every request gets 503;
//! * a 1 MiB body limit (413: at once from `Content-Length`, and while streaming a chunked
//!   body in rmcp and in [`compat`]) and a body read timeout;
//! * on the token-protected routes only (attached with `route_layer`, so an unknown path
//!   is 404, not 401): [`auth`] (401, caller identity; 429 for an address past its
//!   failed-authentication budget, [`auth_failures`]), [`limit`] (429), and a
//!   disconnect token that ends a command whose client went away;
//! * on `/mcp`: the message read whole and checked, [`sessions`] (cap, owner, repeated
//!   header), and every refusal answered as a JSON-RPC error ([`errors`]);
//! * the routes: [`rmcp`'s Streamable HTTP service](rmcp::transport::StreamableHttpService)
//!   at `/mcp` over [`handler::HttpTools`], [`compat`] at `/`, [`health`], [`metrics`].
//!
//! [`serve`] runs it until a shutdown signal, then drains: 503s, running calls get up to
//! `--shutdown-grace`, the rest are cancelled and answered with an error.

pub mod auth;
pub mod auth_failures;
pub mod compat;
pub mod cors;
pub mod drain;
pub mod errors;
pub mod guard;
pub mod handler;
pub mod health;
pub mod limit;
pub mod listener;
pub mod metrics;
pub mod sessions;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::{CancellationToken, DropGuard};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::config::is_loopback_host;
use crate::mcp::CommanderServer;
use crate::service::Commander;
use drain::Drain;
pub use errors::{rpc_error, too_large};
use handler::HttpTools;
use sessions::Sessions;
pub use sessions::MAX_SESSIONS;

/// Largest request body accepted (larger: 413).
pub const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take between two pieces of a request body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to send the request line and headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long cancelled calls get to end and answer before the server exits.
const CANCEL_WAIT: Duration = Duration::from_secs(10);
/// How long finished responses get to reach their clients before the server exits.
const FLUSH_WAIT: Duration = Duration::from_secs(3);

type CompatService = StreamableHttpService<HttpTools, NeverSessionManager>;

/// How long an idle MCP session lives: longer than the longest command may run (rmcp's
/// default of 5 minutes would close the session under a 10-minute command and lose its
/// result), plus rmcp's default on top.
pub fn session_keep_alive(max_timeout: Duration) -> Duration {
    max_timeout + Duration::from_secs(300)
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub commander: Arc<Commander>,
    pub drain: Drain,
    compat: CompatService,
}

/// Cancelled when the HTTP response of the request carrying it is dropped unfinished:
/// the client disconnected, so its command should end.
#[derive(Clone, Debug)]
pub struct Disconnect(pub CancellationToken);

/// The transport's router and the handles [`serve`] needs to shut it down.
pub struct App {
    pub router: Router,
    pub drain: Drain,
    /// Cancelling it closes MCP sessions and their streams.
    pub sessions: CancellationToken,
    /// Failed authentications not yet written to the log, reported at shutdown.
    pub auth_failures: auth_failures::AuthFailures,
}

/// Builds the router for `commander`'s configuration.
pub fn app(commander: Arc<Commander>) -> App {
    let cfg = commander.config().http.clone();
    let drain = Drain::new();
    let sessions = CancellationToken::new();
    let tools = HttpTools::new(CommanderServer::new(commander.clone()), drain.clone());
    let factory = move || Ok(tools.clone());

    // Origin and Host are checked by `guard` for every route, so rmcp's own checks are off.
    let base = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(MAX_BODY)
        .with_cancellation_token(sessions.clone())
        .with_json_response(true);
    let mut session_manager = LocalSessionManager::default();
    session_manager.session_config.keep_alive =
        Some(session_keep_alive(commander.config().max_timeout));
    let session_manager = Arc::new(session_manager);
    let live = Sessions::new((!cfg.stateless).then(|| session_manager.clone()));
    let mcp = StreamableHttpService::new(
        factory.clone(),
        session_manager,
        base.clone().with_legacy_session_mode(!cfg.stateless),
    );
    let compat = StreamableHttpService::new(
        factory,
        Arc::new(NeverSessionManager::default()),
        base.with_legacy_session_mode(false),
    );
    let state = AppState {
        commander,
        drain: drain.clone(),
        compat,
    };

    let mut protected = Router::new()
        .route_service("/mcp", mcp)
        .route_layer(from_fn(mcp_response))
        .route_layer(from_fn_with_state(live, mcp_request))
        .route("/", post(compat::compat));
    if cfg.metrics {
        protected = protected.route("/metrics", get(metrics::metrics));
    }
    let mut protected = protected.route_layer(from_fn(cancel_on_disconnect));
    if let Some(budget) = limit::Budget::new(cfg.rate_limit) {
        protected = protected.route_layer(from_fn_with_state(budget, limit::enforce));
    }
    let auth_failures = auth_failures::AuthFailures::default();
    let protected = protected.route_layer(from_fn_with_state(
        auth::Gate {
            tokens: auth::Tokens::new(&cfg.tokens, !cfg.no_auth),
            failures: auth_failures.clone(),
            sessions: !cfg.stateless,
        },
        auth::require_token,
    ));
    let guard = guard::Guard::new(&cfg.allowed_origins, is_loopback_host(&cfg.host));
    let mut router = protected
        .route("/health", get(health::health))
        .with_state(state)
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(from_fn(reject_oversized))
        .layer(from_fn_with_state(drain.clone(), refuse_when_draining));
    if !cfg.allowed_origins.is_empty() {
        router = router
            .layer(cors::layer(guard.clone()))
            .layer(from_fn_with_state(
                cors::Routes {
                    metrics: cfg.metrics,
                },
                cors::preflight_no_content,
            ));
    }
    let router = router
        .layer(from_fn(errors::method_not_allowed_as_json))
        .layer(from_fn_with_state(guard, guard::check));
    App {
        router,
        drain,
        sessions,
        auth_failures,
    }
}

/// Middleware: after SIGTERM, 503 for everything (and `/health` says `draining`). The
/// connection is closed after the answer, so a client behind a load balancer reconnects
/// to a replica that is not going away.
async fn refuse_when_draining(State(drain): State<Drain>, req: Request, next: Next) -> Response {
    if drain.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::CONNECTION, "close")],
            Json(serde_json::json!({"status": "draining"})),
        )
            .into_response();
    }
    next.run(req).await
}

/// How long the answer to a `POST /mcp` in a session is held back to go out whole.
///
/// In a session rmcp answers every request with an SSE stream whose first event (the
/// "priming" event that lets a client resume) exists before the result does, so hyper
/// writes the head and that event at once and the result in a second write: two TCP
/// segments and two wake-ups of the client for every call. A call that finishes within
/// this window (`echo hi` takes well under a millisecond) goes out in one write with a
/// `Content-Length`; a longer one gets its head and priming event when the window ends and
/// the rest streamed as before.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(5);

/// Middleware on `/mcp`: a session `DELETE` answers 204 rather than rmcp's 202, which the
/// official Python SDK reports as "Session termination failed"; the SSE answer to a `POST`
/// is written whole when it is complete within [`COALESCE_WINDOW`].
async fn mcp_response(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let mut resp = next.run(req).await;
    if method == axum::http::Method::DELETE && resp.status() == StatusCode::ACCEPTED {
        *resp.status_mut() = StatusCode::NO_CONTENT;
    }
    let sse = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if method == axum::http::Method::POST && resp.status() == StatusCode::OK && sse {
        return coalesce(resp, COALESCE_WINDOW).await;
    }
    resp
}

/// Collects `resp`'s body for up to `window`: complete by then, it is answered in one
/// piece; otherwise what arrived is sent first and the rest streams after it.
async fn coalesce(resp: Response, window: Duration) -> Response {
    use http_body_util::BodyExt;
    let (mut parts, mut body) = resp.into_parts();
    let mut got: Vec<Bytes> = Vec::new();
    let deadline = tokio::time::sleep(window);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            biased;
            frame = body.frame() => match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => got.push(data),
                    // Trailers: not something an SSE answer has; stream from here on.
                    Err(_) => break,
                },
                Some(Err(e)) => {
                    let rest = futures::stream::once(async move { Err::<Bytes, _>(e) });
                    let head = futures::stream::iter(got.into_iter().map(Ok));
                    return Response::from_parts(parts, Body::from_stream(head.chain(rest)));
                }
                None => {
                    let whole: Bytes = got.concat().into();
                    parts.headers.remove(axum::http::header::TRANSFER_ENCODING);
                    parts.headers.insert(
                        axum::http::header::CONTENT_LENGTH,
                        axum::http::HeaderValue::from(whole.len()),
                    );
                    return Response::from_parts(parts, Body::from(whole));
                }
            },
            _ = &mut deadline => break,
        }
    }
    let head = futures::stream::iter(got.into_iter().map(Ok::<Bytes, axum::Error>));
    Response::from_parts(
        parts,
        Body::from_stream(head.chain(body.into_data_stream())),
    )
}

/// A request body read whole, within [`MAX_BODY`] and within [`BODY_READ_TIMEOUT`] in all
/// (the body layer's timeout only bounds the pause between two pieces, so a client
/// sending a byte every few seconds would otherwise hold the request open for good).
pub async fn read_body(body: Body) -> Result<Bytes, Response> {
    match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let inner = e.into_inner();
            if inner
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Err(too_large());
            }
            Err(rpc_error(
                StatusCode::REQUEST_TIMEOUT,
                -32600,
                &format!("Request body not received completely: {inner}"),
            ))
        }
        Err(_) => Err(rpc_error(
            StatusCode::REQUEST_TIMEOUT,
            -32600,
            &format!(
                "Request body not received completely within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Middleware on `/mcp`: a `POST` body is read whole (see [`read_body`]) and must be one
/// JSON value that is a JSON-RPC message: malformed JSON anywhere in it is answered with a
/// JSON-RPC parse error (-32700), a batch or a non-object with -32600, and JSON that rmcp
/// cannot read as a message (an id that is null, a float or an object, a repeated key)
/// with 400 and -32600 instead of rmcp's 415 ([`errors::json_not_a_message`]). An
/// `initialize` that would open a session past [`MAX_SESSIONS`] gets 503. Requests naming
/// a session go through [`Sessions::admit`]; every refusal rmcp makes is answered as a
/// JSON-RPC error ([`errors::as_json_rpc`]).
async fn mcp_request(State(sessions): State<Sessions>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method != axum::http::Method::POST {
        if let Err(mut refused) = sessions.admit(&parts).await {
            // A body (unusual on GET and DELETE) is left unread.
            refused.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return refused;
        }
        let resp = next.run(Request::from_parts(parts, body)).await;
        return errors::as_json_rpc(resp, None).await;
    }
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let parse_error = |e: serde_json::Error| {
        rpc_error(
            StatusCode::BAD_REQUEST,
            -32700,
            &format!("Parse error: {e}"),
        )
    };
    if bytes.trim_ascii_start().first() == Some(&b'[') {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
            return parse_error(e);
        }
        return rpc_error(
            StatusCode::BAD_REQUEST,
            -32600,
            "Invalid Request: JSON-RPC batches are not supported; send one message per POST",
        );
    }
    // Parsed whole, so an error inside a value nothing here reads (bad UTF-8, a lone
    // surrogate, nesting past the limit) is still a parse error.
    let message = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) => v,
        Err(e) => return parse_error(e),
    };
    if !message.is_object() {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            -32600,
            "Invalid Request: expected a JSON-RPC message object",
        );
    }
    let method = message.get("method").and_then(serde_json::Value::as_str);
    let in_session = match sessions.admit(&parts).await {
        Ok(s) => s,
        Err(refused) => return errors::as_json_rpc(refused, Some(&bytes)).await,
    };
    if method == Some("initialize")
        && !parts.headers.contains_key("mcp-session-id")
        && sessions.full().await
    {
        let mut resp = rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            -32000,
            &format!("Too many open MCP sessions (the limit is {MAX_SESSIONS}); end unused sessions with DELETE /mcp, or retry later"),
        );
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("60"),
        );
        tracing::warn!(limit = MAX_SESSIONS, "LIMIT sessions: initialize refused");
        return resp;
    }
    // The token an `initialize` opening a session comes with: the session's owner.
    let opener = match method == Some("initialize") && !parts.headers.contains_key("mcp-session-id")
    {
        true => parts.extensions.get::<auth::Principal>().copied(),
        false => None,
    };
    let mut parts = parts;
    let post = in_session.map(|s| {
        parts.extensions.insert(s.ended);
        s.post
    });
    let sent_json = errors::declares_json(&parts.headers);
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    if let Some(owner) = opener {
        sessions.opened(owner, resp.headers()).await;
    }
    let resp = match sent_json {
        true => errors::json_not_a_message(resp),
        false => resp,
    };
    let resp = errors::as_json_rpc(resp, Some(&bytes)).await;
    match post {
        // Counted among the session's open POSTs until its answer is sent, so a DELETE
        // waits for the answers of the calls it ends.
        Some(post) => resp.map(|body| Body::new(Carrying::new(body, post))),
        None => resp,
    }
}

/// Middleware: 413 before reading a body whose `Content-Length` is over [`MAX_BODY`].
/// (A chunked body is counted while it streams, by rmcp on `/mcp` and by [`compat`].)
async fn reject_oversized(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    next.run(req).await
}

/// Middleware: give the request a [`Disconnect`] token, cancelled if the request is
/// dropped before its answer exists, or its answer before it was sent completely.
async fn cancel_on_disconnect(mut req: Request, next: Next) -> Response {
    let token = CancellationToken::new();
    req.extensions_mut().insert(Disconnect(token.clone()));
    let guard = token.drop_guard();
    let resp = next.run(req).await;
    resp.map(|body| Body::new(Carrying::new(body, Some(guard))))
}

/// What a response body carries along: dropped with the body, and told when the body
/// has been sent to its end.
pub trait Carried: Send + Unpin + 'static {
    /// The body has been sent completely.
    fn sent(&mut self) {}
}

/// A [`Disconnect`] guard: disarmed once the answer is sent, so only an answer dropped
/// unfinished cancels its token.
impl Carried for Option<DropGuard> {
    fn sent(&mut self) {
        if let Some(g) = self.take() {
            g.disarm();
        }
    }
}

/// A response body with something it carries (see [`Carried`]).
pub struct Carrying<C> {
    inner: Body,
    carried: C,
}

impl<C: Carried> Carrying<C> {
    /// `body`, carrying `carried`.
    pub fn new(body: Body, carried: C) -> Carrying<C> {
        Carrying {
            inner: body,
            carried,
        }
    }
}

impl<C: Carried> http_body::Body for Carrying<C> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // Sent completely (hyper stops polling a body of known length after its last
        // bytes, so the end is also seen through `is_end_stream`).
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if ended {
            self.carried.sent();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `commander` over HTTP until a `shutdown()` future resolves, then drains; returns
/// the reason the server stopped. A second `shutdown()` during the drain (a second SIGTERM
/// or Ctrl-C) ends the running commands at once instead of waiting out the grace.
pub async fn serve<F, Fut>(commander: Arc<Commander>, shutdown: F) -> std::io::Result<String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = String>,
{
    let cfg = commander.config().http.clone();
    let listener = listener::bind(&cfg.host, cfg.port).await?;
    let grace = cfg.shutdown_grace;
    let App {
        router,
        drain,
        sessions,
        auth_failures,
    } = app(commander.clone());
    let workers = listener::Workers::per_core()?;
    let mut server = listener::Server::new(listener, router, workers);

    let reason = server.accept_until(shutdown()).await;
    drain.start();
    let cut_short = server
        .accept_until(async {
            tokio::select! {
                idle = drain.wait_idle(grace) => (!idle).then_some("the shutdown grace ran out"),
                _ = shutdown() => Some("a second signal cut the shutdown grace short"),
            }
        })
        .await;
    if let Some(why) = cut_short {
        // The calls' errors and audit lines give this reason, not a plain cancellation.
        commander.stop_calls(&format!(
            "the server is shutting down on {reason} and {why}"
        ));
        drain.cancel_running();
        server.accept_until(drain.wait_idle(CANCEL_WAIT)).await;
    }
    let workers = server.close(sessions, FLUSH_WAIT).await;
    // Throttled failures counted since the last summary still go into the trail.
    auth_failures.report();
    // Joining the worker threads blocks: off the runtime's own threads.
    let _ = tokio::task::spawn_blocking(move || workers.stop()).await;
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_outlive_the_longest_command() {
        let max = Duration::from_secs(600);
        assert!(session_keep_alive(max) > max);
        assert!(session_keep_alive(Duration::from_secs(1)) >= Duration::from_secs(300));
    }
}
