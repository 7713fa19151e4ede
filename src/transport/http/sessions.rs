//! MCP sessions on `/mcp` (2025 revisions, without `--stateless`): how many may be open,
//! and who may use each.
//!
//! rmcp keeps the sessions; this module watches the requests that name one:
//!
//! * at most [`MAX_SESSIONS`] are open at once (an `initialize` past it gets 503);
//! * a session belongs to the token that opened it ([`Principal`]): a request naming a
//!   session opened under another token is answered exactly as one naming no session that
//!   exists (404), so a session id seen in a log or a proxy does not let another token
//!   holder into that conversation, and whether the id exists is not revealed. A rotated
//!   token therefore means a new session: the client initializes again;
//! * `DELETE` of a session that does not exist is 404 (rmcp accepts any id);
//! * a request with more than one `Mcp-Session-Id` header is 400 (which one it meant is
//!   unknowable);
//! * `DELETE` of a session ends the calls still running in it at once, their commands'
//!   process trees included, and each is answered with a JSON-RPC error on its own open
//!   stream before rmcp closes the session (rmcp would leave them running for its 5 s
//!   drain and end their streams without an answer).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::Principal;
use super::rpc_error;
use crate::audit::CallContext;

/// Most MCP sessions (2025 revisions) alive at once. Each holds ~50 KB until it is deleted
/// or idle for longer than [`super::session_keep_alive`]; without a cap one token could open
/// them until the task runs out of memory. Past it, `initialize` answers 503 with
/// `Retry-After` while the sessions already open go on.
pub const MAX_SESSIONS: usize = 2048;

/// The header naming a session.
const SESSION_HEADER: &str = "mcp-session-id";

/// How long a `DELETE` waits for the session's ended calls to be answered before rmcp
/// closes the session (their commands end at once; this bounds a stuck client stream).
const END_WAIT: Duration = Duration::from_secs(5);

/// Cancelled when the MCP session a request belongs to is deleted: the calls it carries
/// end their commands and answer with [`SESSION_ENDED`]. In the request's extensions.
#[derive(Clone, Debug)]
pub struct SessionEnded(pub CancellationToken);

/// The error a call gets when its session is deleted while it runs.
pub const SESSION_ENDED: &str = "The MCP session was ended (DELETE /mcp) while this call ran; its command was stopped with its whole process tree";

/// A session's owner, and what ends its running calls.
#[derive(Clone)]
struct Open {
    owner: Principal,
    ended: CancellationToken,
    /// The session's `POST`s whose answers are not yet sent.
    posts: TaskTracker,
}

/// What a request in a session holds: the session's [`SessionEnded`] token, and a place
/// among its unanswered `POST`s (carried by the answer's body, see [`super::Carried`]).
pub struct InSession {
    pub ended: SessionEnded,
    pub post: tokio_util::task::task_tracker::TaskTrackerToken,
}

impl super::Carried for tokio_util::task::task_tracker::TaskTrackerToken {}

/// The session store of the stateful `/mcp` service (`None` with `--stateless`) and the
/// token each of its sessions was opened with.
#[derive(Clone)]
pub struct Sessions {
    manager: Option<Arc<LocalSessionManager>>,
    owners: Arc<Mutex<HashMap<Arc<str>, Open>>>,
}

impl Sessions {
    /// Watches `manager`'s sessions; `None` under `--stateless`.
    pub fn new(manager: Option<Arc<LocalSessionManager>>) -> Sessions {
        Sessions {
            manager,
            owners: Arc::default(),
        }
    }

    /// True when no further session may be opened.
    pub async fn full(&self) -> bool {
        match &self.manager {
            Some(m) => m.sessions.read().await.len() >= MAX_SESSIONS,
            None => false,
        }
    }

    /// `Err` with the answer when the request (its head) may not go on to rmcp: a repeated
    /// `Mcp-Session-Id`, a session opened under another token, or a `DELETE` of a session
    /// that does not exist. A request in a session gets what ties it to the session; a
    /// `DELETE` first ends the session's running calls and waits (up to 5 s) for their
    /// answers to be sent.
    pub async fn admit(&self, parts: &Parts) -> Result<Option<InSession>, Response> {
        let mut ids = parts.headers.get_all(SESSION_HEADER).iter();
        let (Some(id), None) = (ids.next(), ids.next()) else {
            return match parts.headers.contains_key(SESSION_HEADER) {
                true => Err(rpc_error(
                    StatusCode::BAD_REQUEST,
                    -32600,
                    "Bad Request: more than one Mcp-Session-Id header; send the session id once",
                )),
                false => Ok(None),
            };
        };
        let Some(manager) = &self.manager else {
            return Ok(None);
        };
        // An id that is not text names no session rmcp could have made: rmcp answers it.
        let Ok(id) = id.to_str() else {
            return Ok(None);
        };
        let caller = parts.extensions.get::<Principal>();
        let session = self
            .owners
            .lock()
            .map(|o| o.get(id).cloned())
            .ok()
            .flatten();
        let session = match session {
            Some(s) if Some(&s.owner) == caller => s,
            Some(_) => {
                foreign_session(parts, id);
                return Err(session_not_found());
            }
            None => return Err(session_not_found()),
        };
        if parts.method == Method::DELETE {
            let open = manager.sessions.read().await.contains_key(id);
            self.forget(id);
            if !open {
                return Err(session_not_found());
            }
            session.ended.cancel();
            session.posts.close();
            let _ = tokio::time::timeout(END_WAIT, session.posts.wait()).await;
            return Ok(None);
        }
        Ok(Some(InSession {
            ended: SessionEnded(session.ended.clone()),
            post: session.posts.token(),
        }))
    }

    /// Notes `owner` as the owner of the session rmcp has just opened, if `answer` (to an
    /// `initialize` that named no session) names one.
    pub async fn opened(&self, owner: Principal, answer: &HeaderMap) {
        if self.manager.is_none() {
            return;
        }
        let Some(id) = answer.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) else {
            return;
        };
        let open = self.open_ids().await;
        if let Ok(mut owners) = self.owners.lock() {
            // Sessions rmcp has closed (idle past the keep-alive) leave their owner behind:
            // drop those whenever the table is as large as the sessions could be.
            if owners.len() >= MAX_SESSIONS {
                owners.retain(|k, _| open.contains(k));
            }
            owners.insert(
                Arc::from(id),
                Open {
                    owner,
                    ended: CancellationToken::new(),
                    posts: TaskTracker::new(),
                },
            );
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut owners) = self.owners.lock() {
            owners.remove(id);
        }
    }

    /// The ids of the sessions rmcp has open.
    async fn open_ids(&self) -> HashSet<Arc<str>> {
        match &self.manager {
            Some(m) => m.sessions.read().await.keys().cloned().collect(),
            None => HashSet::new(),
        }
    }
}

/// rmcp's own answer for a session it does not have, as a JSON-RPC error.
fn session_not_found() -> Response {
    rpc_error(
        StatusCode::NOT_FOUND,
        -32600,
        "Not Found: Session not found",
    )
}

/// The warning for a request naming a session another token opened: the caller and the
/// address it came from, and the start of the session id (enough to find it in the trail).
fn foreign_session(parts: &Parts, id: &str) {
    let caller = parts
        .extensions
        .get::<CallContext>()
        .map(|c| c.caller.as_str())
        .unwrap_or("unknown");
    let remote = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into());
    let session: String = id.chars().take(8).collect();
    tracing::warn!(
        caller,
        remote_addr = remote.as_str(),
        session = session.as_str(),
        "SESSION refused: the request names an MCP session opened with another token; answered as an unknown session"
    );
}
